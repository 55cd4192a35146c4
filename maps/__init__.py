"""Offline, bilingual, safe maps and figures of sinkplan result folders.

maps/ reads result folders only (never raw inputs):

- :func:`sinkplan.maps.build.build_map` / :func:`sinkplan.maps.build.write_map`: one self-contained HTML page
  (Leaflet from the ``django-js-lib-leaflet`` package, inlined; images as ``data:`` URIs; a
  Content-Security-Policy that allows nothing from the network unless an online basemap is
  asked for) with raster overlays (block-averaged to a pixel budget), vector layers
  (simplified, rounded), legends, a scale bar and cursor coordinates; ``basemap="gaode"``
  shifts every overlay to GCJ-02 (:mod:`sinkplan.maps.gcj02`).
- :func:`sinkplan.maps.figures.write_figures`: PNG charts and maps with a CJK font (:mod:`sinkplan.maps.fonts`).

User data reaches the page only as JSON data (:func:`sinkplan.maps.escape.json_for_script`) and the
page's script shows it as text nodes.
"""

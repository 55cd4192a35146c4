"""The HTML map in headless Chromium: offline, no console error, layers and legends, no script injection."""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from browser import Browser, chromium, screenshot  # noqa: F401 - chromium is a fixture
import synthetic
from sinkplan.maps.build import build_map

XSS_ZONE = "<img src=x onerror=alert(1)>"
XSS_FIELD = "${alert(1)} and a `backtick` </script><script>alert(2)</script>"

OPEN_ALL = """(() => {
  const out = {popups: [], tooltips: []};
  for (const layer of window.sinkplanLayers) {
    if (!layer.eachLayer) continue;
    if (!window.sinkplanMap.hasLayer(layer)) layer.addTo(window.sinkplanMap);
    layer.eachLayer(l => {
      if (l.getPopup && l.getPopup()) {
        l.openPopup();
        const e = l.getPopup().getElement(), c = e && e.querySelector('.leaflet-popup-content');
        out.popups.push(c ? c.textContent : null);
        l.closePopup();
      }
      if (l.getTooltip && l.getTooltip()) {
        l.openTooltip();
        const t = l.getTooltip().getElement();
        out.tooltips.push(t ? t.textContent : null);
        l.closeTooltip();
      }
    });
  }
  return out;
})()"""

PWNED = "document.querySelectorAll('img[src=\"x\"]').length + (window.__pwned ? 1000 : 0)"


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    base = tmp_path_factory.mktemp("browser")
    names = [XSS_ZONE, "呼和浩特市", "${alert(1)}`x`", "</script><script>window.__pwned=1</script>"]
    return {
        "carbon": synthetic.carbon_folder(base / "carbon", size=150, n_zones=4, names=names, extra_field=XSS_FIELD),
        "coverage": synthetic.coverage_folder(base / "coverage", names=names),
        "site": synthetic.site_folder(base / "site", size=150, names=names),
        "base": base,
    }


def _local_only(urls):
    return [u for u in urls if not (u.startswith("file://") or u.startswith("data:"))]


def test_map_opens_offline_without_errors_and_shows_layers_and_legends(chromium, results):
    page = results["base"] / "map.html"
    page.write_text(build_map([results["carbon"], results["site"]], lang="en"), encoding="utf-8")
    with Browser(chromium) as b:
        b.open(page)
        b.settle(0.5)
        assert b.errors == []
        assert _local_only(b.requests) == []
        assert b.dialogs == []
        control = b.evaluate("document.querySelector('.leaflet-control-layers').textContent")
        for name in ("Carbon density", "Zone carbon stock density", "Eligible land", "Exclusion: slope",
                     "Candidate parcels (by score)", "Substations"):
            assert name in control
        # two results on one map: each layer and legend says whose it is (the site folder names no tech)
        CARBON, ELIGIBLE = "Carbon stock · Carbon density (Mg C/ha)", "Siting · Eligible land"
        legends = b.evaluate("Array.from(document.querySelectorAll('.sp-legend-title')).map(e => e.textContent)")
        # one thematic layer on at a time: the first (carbon density); eligible land waits in the list
        assert CARBON in legends and ELIGIBLE not in legends
        b.evaluate("Array.from(document.querySelectorAll('.leaflet-control-layers-overlays label'))"
                   ".find(l => l.textContent.trim() === '" + ELIGIBLE + "').querySelector('input').click()")
        legends = b.evaluate("Array.from(document.querySelectorAll('.sp-legend-title')).map(e => e.textContent)")
        assert CARBON in legends and ELIGIBLE in legends
        assert b.evaluate("document.querySelectorAll('.leaflet-image-layer').length") >= 2
        assert b.evaluate("document.querySelectorAll('path.leaflet-interactive').length") >= 10
        assert b.evaluate("!!document.querySelector('.leaflet-control-scale-line')")
        # legends follow the layer switches
        b.evaluate("document.querySelectorAll('.leaflet-control-layers-overlays input')[1].click()")
        legends2 = b.evaluate("Array.from(document.querySelectorAll('.sp-legend-title')).map(e => e.textContent)")
        assert CARBON not in legends2
        b.settle(0.1)
        assert b.errors == []


def test_screenshot_is_not_blank(chromium, results, tmp_path):
    page = results["base"] / "shot.html"
    page.write_text(build_map([results["carbon"]], lang="zh"), encoding="utf-8")
    png = screenshot(chromium, page, tmp_path / "shot.png", width=1000, height=700)
    img = np.asarray(Image.open(io.BytesIO(png.read_bytes())).convert("RGB"))
    assert img.shape == (700, 1000, 3)
    colours = np.unique(img.reshape(-1, 3), axis=0)
    assert len(colours) > 50  # raster overlay, legend ramp, text: far from a blank page
    # the centre of the map shows the carbon-density overlay (greens), not the empty background
    centre = img[300:400, 400:600].reshape(-1, 3).astype(int)
    assert (centre[:, 1] > centre[:, 0]).mean() > 0.5


@pytest.mark.parametrize("csp", [False, True], ids=["escaping-alone", "with-csp"])
def test_user_values_are_text_not_script(chromium, results, csp):
    page = results["base"] / f"xss_{csp}.html"
    page.write_text(build_map([results["carbon"], results["coverage"], results["site"]], csp=csp,
                              title=XSS_ZONE + " ${alert(9)} `t`"), encoding="utf-8")
    with Browser(chromium) as b:
        b.open(page)
        got = b.evaluate(OPEN_ALL)
        b.settle(0.3)
        assert b.dialogs == []
        assert b.evaluate(PWNED) == 0
        assert b.errors == []
        assert _local_only(b.requests) == []
        popups = "\n".join(p or "" for p in got["popups"])
        tips = "\n".join(t or "" for t in got["tooltips"])
        assert XSS_ZONE in popups and XSS_ZONE in tips
        assert "${alert(1)} and a `backtick`" in popups
        assert "</script><script>window.__pwned=1</script>" in popups
        assert b.evaluate("document.getElementById('sp-title').textContent") == XSS_ZONE + " ${alert(9)} `t`"
        assert b.evaluate("document.title") == XSS_ZONE + " ${alert(9)} `t`"


def test_detector_catches_injected_script(chromium, tmp_path):
    """The checks above can fail: the same payload put in as HTML does run."""
    page = tmp_path / "bad.html"
    page.write_text("<!DOCTYPE html><html><body><div id=p></div><script>"
                    f"document.getElementById('p').innerHTML = {XSS_ZONE!r};"
                    "document.body.setAttribute('data-sinkplan-ready', '1');</script></body></html>", encoding="utf-8")
    with Browser(chromium) as b:
        b.open(page)
        b.settle(0.5)
        assert b.dialogs == ["1"]
        assert b.evaluate(PWNED) == 1

"""What a map holds, independent of HTML: layers, legends, shared geometries."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["Legend", "RasterLayer", "VectorLayer", "MapSpec", "BASEMAPS"]

#: Basemaps: none (offline), Tianditu (CGCS2000 ≈ WGS84), GaoDe (GCJ-02), OpenStreetMap.
BASEMAPS = ("none", "tianditu", "gaode", "osm")


@dataclass
class Legend:
    """A legend: ``continuous`` (colour ramp, min, max, units) or ``categorical`` (items)."""

    kind: str
    title: str
    units: str = ""
    colors: list[str] = field(default_factory=list)
    vmin: float | None = None
    vmax: float | None = None
    items: list[tuple[str, str]] = field(default_factory=list)  # (#rrggbb, label)
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "title": self.title, "units": self.units, "colors": self.colors,
                "vmin": self.vmin, "vmax": self.vmax, "items": [list(i) for i in self.items], "note": self.note}


@dataclass
class RasterLayer:
    """An image overlay: PNG data URI on a Web-Mercator grid with its lon/lat bounds."""

    name: str
    png: str
    bounds: tuple[float, float, float, float]  # west, south, east, north (display lon/lat)
    legend: Legend | None = None
    visible: bool = True
    opacity: float = 0.8
    thematic: bool = False  # a layer that colours the map by a result (one of them is on at a time)

    def to_json(self) -> dict[str, Any]:
        w, s, e, n = self.bounds
        return {"type": "raster", "name": self.name, "png": self.png, "bounds": [[s, w], [n, e]],
                "legend": self.legend.to_json() if self.legend else None, "visible": self.visible,
                "opacity": self.opacity}


@dataclass
class VectorLayer:
    """Features drawn from a shared geometry table (``geometry_key``).

    ``features`` holds one dict per geometry: ``c`` fill/line colour (#rrggbb or None for the
    layer's colour), ``t`` tooltip text, ``p`` popup rows [[label, value], ...] — all plain
    text, put into the page as text nodes. ``labels`` are [lat, lon, text] drawn on the map
    (zone names) while the layer is on.
    """

    name: str
    geometry_key: str
    features: list[dict[str, Any]]
    style: dict[str, Any]
    legend: Legend | None = None
    visible: bool = True
    thematic: bool = False  # a layer that colours the map by a result (one of them is on at a time)
    labels: list[list[Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"type": "vector", "name": self.name, "geom": self.geometry_key, "features": self.features,
                "style": self.style, "legend": self.legend.to_json() if self.legend else None,
                "visible": self.visible, "labels": self.labels}


@dataclass
class MapSpec:
    """Everything one HTML map shows."""

    title: str
    lang: str
    basemap: str = "none"
    tianditu_key: str | None = None
    layers: list[RasterLayer | VectorLayer] = field(default_factory=list)
    geometries: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    bounds: tuple[float, float, float, float] | None = None  # west, south, east, north
    notes: list[str] = field(default_factory=list)
    label_field: str | None = None  # field of the zone layers written on the map (else name_<lang>, else zone)

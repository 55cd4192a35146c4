"""Print-ready thematic maps (专题图): one A4 or A3 sheet per result, PNG and PDF.

A sheet holds what a bureau expects on a map it hands on: a title that names the result,
the technology and the years; the map with a graticule (degree labels); a legend
(a colour bar for continuous values, one box per class for categories); a scale bar; a
north arrow; the data sources and the dates (of the result and of the drawing).

The map is drawn in longitude/latitude with the aspect ratio 1 / cos(φ₀) at the map's
middle latitude φ₀ (an equirectangular projection with its standard parallel there):
meridians are vertical, so north is straight up everywhere on the sheet, and the horizontal
scale is exact on φ₀ and off by cos(φ₀)/cos(φ) elsewhere. The scale bar is therefore
measured on the ground where it is drawn: its end points are placed so that the geodesic
distance between them on the WGS84 ellipsoid (:class:`pyproj.Geod`) equals the length in
its label, on the parallel it sits on; its caption says which parallel that is. A naive bar
in degrees would be wrong by cos φ.

Pure functions over arrays and GeoDataFrames; :mod:`sinkplan.maps.figures` reads the folders.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass, field
from typing import Any, Sequence

import numpy as np
from matplotlib.figure import Figure

__all__ = ["PAPER_IN", "ThematicSpec", "thematic_map", "scale_bar_length_m", "nice_length_m", "bar_end_lon",
           "graticule_step"]

#: Landscape sheet sizes in inches (ISO 216: A4 297 × 210 mm, A3 420 × 297 mm).
PAPER_IN = {"a4": (297 / 25.4, 210 / 25.4), "a3": (420 / 25.4, 297 / 25.4)}

_WORDS = {
    "zh": {"north": "北", "km": "千米", "m": "米", "scale_at": "比例尺（沿北纬 {lat:.2f}° 量算）",
           "sources": "数据来源", "made": "制图", "result_date": "成果生成", "lon": "经度", "lat": "纬度",
           "legend": "图例"},
    "en": {"north": "N", "km": "km", "m": "m", "scale_at": "scale measured along {lat:.2f}°N",
           "sources": "Data", "made": "Drawn", "result_date": "result of", "lon": "Longitude", "lat": "Latitude",
           "legend": "Legend"},
}


@dataclass
class ThematicSpec:
    """What one thematic sheet shows.

    ``classes`` (categorical raster) maps a code to (label, #rrggbb); otherwise the raster is
    continuous with ``cmap``, ``units`` and optional ``vmin``/``vmax``/``symmetric``.
    ``zones`` is a GeoDataFrame (lon/lat) drawn as outlines, labelled with ``zone_labels``;
    ``choropleth`` colours the zones instead of a raster: a list of #rrggbb per zone, with
    ``classes`` giving the legend boxes.
    """

    title: str
    lang: str = "zh"
    subtitle: str = ""
    values: np.ndarray | None = None
    extent: tuple[float, float, float, float] | None = None  # west, east, south, north (lon/lat)
    classes: dict[int, tuple[str, str]] | None = None
    cmap: str = "YlGn"
    units: str = ""
    vmin: float | None = None
    vmax: float | None = None
    symmetric: bool = False
    legend_title: str = ""
    zones: Any = None
    zone_labels: Sequence[str] | None = None
    choropleth: Sequence[str] | None = None
    overlays: list[tuple[Any, dict[str, Any], str]] = field(default_factory=list)  # (gdf, style, legend label)
    sources: Sequence[str] = ()
    result_date: str = ""
    software: str = "sinkplan"
    paper: str = "a4"


def nice_length_m(target_m: float) -> float:
    """The largest 1, 2 or 5 × 10^k metres not above ``target_m``.

    Examples
    --------
    >>> nice_length_m(43_000), nice_length_m(9_999), nice_length_m(120)
    (20000.0, 5000.0, 100.0)
    """
    if not target_m > 0:
        raise ValueError(f"scale-bar length must be > 0, got {target_m}")
    k = 10 ** math.floor(math.log10(target_m))
    for m in (5, 2, 1):
        if m * k <= target_m:
            return float(m * k)
    return float(k)


def bar_end_lon(lon0: float, lat: float, length_m: float) -> float:
    """Longitude east of ``lon0`` on parallel ``lat`` at geodesic distance ``length_m`` (WGS84).

    Solved by Newton steps on the distance along the parallel's chord (the geodesic between
    two points of one parallel); converges to well under a millimetre in three steps.
    """
    from pyproj import Geod

    geod = Geod(ellps="WGS84")
    _, _, per_deg = geod.inv(lon0, lat, lon0 + 1.0, lat)  # metres for one degree, a first guess
    dlon = length_m / per_deg
    for _ in range(6):
        _, _, d = geod.inv(lon0, lat, lon0 + dlon, lat)
        if abs(d - length_m) < 1e-4:
            break
        dlon *= length_m / d
    return lon0 + dlon


def scale_bar_length_m(west: float, east: float, lat: float, *, share: float = 0.25) -> float:
    """A round bar length of about ``share`` of the map's width on parallel ``lat``."""
    from pyproj import Geod

    _, _, width = Geod(ellps="WGS84").inv(west, lat, east, lat)
    return nice_length_m(max(width * share, 1.0))


def graticule_step(span_deg: float) -> float:
    """Graticule interval (degrees) giving 3 to 8 lines over ``span_deg``.

    Examples
    --------
    >>> graticule_step(2.4), graticule_step(0.3), graticule_step(16)
    (0.5, 0.05, 2.0)
    """
    for step in (0.01, 0.02, 0.05, 0.1, 0.2, 0.25, 0.5, 1.0, 2.0, 5.0, 10.0, 15.0, 30.0):
        if span_deg / step <= 6:
            return step
    return 30.0


def _deg_label(v: float, pos: str, lang: str) -> str:
    hemi = {"lon": ("E", "W"), "lat": ("N", "S")}[pos]
    text = f"{abs(v):.2f}".rstrip("0").rstrip(".")
    h = hemi[0] if v >= 0 else hemi[1]
    if lang == "zh":
        word = {"E": "东经", "W": "西经", "N": "北纬", "S": "南纬"}[h]
        return f"{word}{text}°"
    return f"{text}°{h}"


def _length_text(m: float, lang: str) -> tuple[float, str]:
    w = _WORDS[lang]
    return (m / 1000.0, w["km"]) if m >= 1000 else (m, w["m"])


def _fmt(v: float) -> str:
    return f"{v:g}"


def add_scale_bar(ax, *, west: float, east: float, south: float, north: float, lang: str) -> dict[str, float]:
    """Draw a 4-segment scale bar in the map's lower left; returns its geometry (for tests).

    Returns
    -------
    dict
        ``lon0``, ``lon1``, ``lat`` (data coordinates of the bar's ends) and ``length_m``.
    """
    from matplotlib.patches import Rectangle

    lat = south + 0.07 * (north - south)
    lon0 = west + 0.05 * (east - west)
    length = scale_bar_length_m(lon0, east, lat, share=0.3)
    lon1 = bar_end_lon(lon0, lat, length)
    h = 0.012 * (north - south)
    n = 4
    xs = np.linspace(lon0, lon1, n + 1)
    ax.add_patch(Rectangle((lon0 - 0.01 * (east - west), lat - 1.2 * h), (lon1 - lon0) + 0.05 * (east - west),
                           5.6 * h, facecolor="white", edgecolor="none", alpha=0.8, zorder=9, gid="scalebar-box"))
    for i in range(n):
        ax.add_patch(Rectangle((xs[i], lat), xs[i + 1] - xs[i], h, facecolor="black" if i % 2 == 0 else "white",
                               edgecolor="black", linewidth=0.6, zorder=10, gid=f"scalebar-{i}"))
    value, unit = _length_text(length, lang)
    for x, v in ((lon0, 0.0), ((lon0 + lon1) / 2, value / 2), (lon1, value)):
        ax.text(x, lat + 1.4 * h, _fmt(v), ha="center", va="bottom", fontsize=7, zorder=11)
    ax.text(lon1 + 0.01 * (east - west), lat + 0.5 * h, unit, ha="left", va="center", fontsize=7, zorder=11,
            gid="scalebar-unit")
    ax.text(lon0, lat - 0.6 * h, _WORDS[lang]["scale_at"].format(lat=lat), ha="left", va="top", fontsize=6,
            color="#333333", zorder=11)
    return {"lon0": lon0, "lon1": float(lon1), "lat": lat, "length_m": length}


def add_north_arrow(ax, *, lang: str) -> None:
    """A north arrow in the map's upper right (meridians are vertical on this projection)."""
    ax.annotate("", xy=(0.95, 0.90), xytext=(0.95, 0.80), xycoords="axes fraction",
                arrowprops={"facecolor": "black", "edgecolor": "black", "width": 3, "headwidth": 10, "headlength": 10},
                zorder=12, gid="north-arrow")
    ax.text(0.95, 0.915, _WORDS[lang]["north"], transform=ax.transAxes, ha="center", va="bottom", fontsize=11,
            zorder=12, gid="north-arrow-label")


def _graticule(ax, west: float, east: float, south: float, north: float, lang: str) -> None:
    from matplotlib.ticker import FixedLocator, FuncFormatter

    step = graticule_step(max(east - west, north - south))
    lons = np.arange(math.ceil(west / step) * step, east + 1e-9, step)
    lats = np.arange(math.ceil(south / step) * step, north + 1e-9, step)
    ax.xaxis.set_major_locator(FixedLocator(lons))
    ax.yaxis.set_major_locator(FixedLocator(lats))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _deg_label(v, "lon", lang)))
    ax.yaxis.set_major_formatter(FuncFormatter(lambda v, _: _deg_label(v, "lat", lang)))
    ax.tick_params(labelsize=7, top=True, right=True, labeltop=True, labelright=False, direction="in")
    ax.grid(True, color="#777777", linewidth=0.4, linestyle=(0, (4, 3)), alpha=0.7, gid="graticule")


def thematic_map(spec: ThematicSpec) -> tuple[Figure, dict[str, Any]]:
    """Draw one sheet. Returns (figure, info) where ``info`` has the ``scale_bar`` geometry and
    the map ``axes`` (so a test can read the figure's transform)."""
    from matplotlib.colors import BoundaryNorm, ListedColormap, Normalize
    from matplotlib.patches import Patch

    if spec.paper not in PAPER_IN:
        raise ValueError(f"paper {spec.paper!r}: choose one of {', '.join(PAPER_IN)}")
    lang = spec.lang if spec.lang in _WORDS else "en"
    w_in, h_in = PAPER_IN[spec.paper]
    fig = Figure(figsize=(w_in, h_in), dpi=150)
    big = spec.paper == "a3"
    fig.text(0.5, 0.955, spec.title, ha="center", va="center", fontsize=20 if big else 16)
    if spec.subtitle:
        fig.text(0.5, 0.918, spec.subtitle, ha="center", va="center", fontsize=11 if big else 9, color="#333333")
    ax = fig.add_axes((0.06, 0.11, 0.64, 0.76))
    legend_ax = fig.add_axes((0.73, 0.11, 0.24, 0.76))
    legend_ax.set_axis_off()

    bounds = _bounds(spec)
    west, east, south, north = bounds
    handles: list[Any] = []
    if spec.values is not None and spec.extent is not None:
        v = np.ma.masked_invalid(np.ma.asarray(spec.values, dtype=float))
        if spec.classes:
            codes = sorted(spec.classes)
            lut = {c: i for i, c in enumerate(codes)}
            idx = np.full(v.shape, np.nan)
            data = np.ma.getdata(v)
            ok = ~np.ma.getmaskarray(v)
            for c, i in lut.items():
                idx[ok & (data == c)] = i
            cmap = ListedColormap([spec.classes[c][1] for c in codes])
            norm = BoundaryNorm(np.arange(len(codes) + 1) - 0.5, len(codes))
            ax.imshow(np.ma.masked_invalid(idx), extent=spec.extent, cmap=cmap, norm=norm, interpolation="nearest",
                      zorder=1)
            present = set(np.unique(data[ok]).astype(int).tolist()) if ok.any() else set()
            handles += [Patch(facecolor=spec.classes[c][1], edgecolor="#555555", label=spec.classes[c][0])
                        for c in codes if c in present]
        else:
            finite = v.compressed()
            if spec.symmetric and finite.size:
                hi = float(np.percentile(np.abs(finite), 98)) or 1.0
                lo = -hi
            else:
                lo = spec.vmin if spec.vmin is not None else (float(finite.min()) if finite.size else 0.0)
                hi = spec.vmax if spec.vmax is not None else (float(np.percentile(finite, 98)) if finite.size else 1.0)
            hi = hi if hi > lo else lo + 1.0
            im = ax.imshow(v, extent=spec.extent, cmap=spec.cmap, norm=Normalize(lo, hi), interpolation="nearest",
                           zorder=1)
            cax = fig.add_axes((0.75, 0.55, 0.025, 0.30))
            cb = fig.colorbar(im, cax=cax, extend="max" if not spec.symmetric else "both")
            cb.set_label(spec.units, fontsize=9)
            cb.ax.tick_params(labelsize=8)
            fig.text(0.75, 0.87, _wrap(spec.legend_title or _WORDS[lang]["legend"], lang), fontsize=10,
                     va="bottom")
    if spec.zones is not None and len(spec.zones):
        if spec.choropleth is not None:
            spec.zones.plot(ax=ax, color=list(spec.choropleth), edgecolor="#333333", linewidth=0.6, zorder=2)
            if spec.classes:
                handles += [Patch(facecolor=c, edgecolor="#555555", label=lab) for lab, c in spec.classes.values()]
        spec.zones.boundary.plot(ax=ax, color="#222222", linewidth=0.7, zorder=4)
        labels = spec.zone_labels or []
        pts = spec.zones.geometry.representative_point()
        for name, pt in zip(labels, pts):
            if name:
                ax.text(pt.x, pt.y, str(name), ha="center", va="center", fontsize=8 if big else 7, zorder=8,
                        color="#111111", bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.6,
                                               "edgecolor": "none"})
    for gdf, style, lab in spec.overlays:
        if gdf is None or not len(gdf):
            continue
        kind = gdf.geometry.iloc[0].geom_type
        if "Polygon" in kind:
            gdf.boundary.plot(ax=ax, zorder=5, **style)
            handles.append(Patch(facecolor="none", edgecolor=style.get("color", "#000000"), label=lab))
        else:
            gdf.plot(ax=ax, zorder=6, **style)
            from matplotlib.lines import Line2D

            handles.append(Line2D([0], [0], color=style.get("color", "#000000"), lw=style.get("linewidth", 1),
                                  label=lab))
    ax.set_xlim(west, east)
    ax.set_ylim(south, north)
    ax.set_xlabel("")  # the graticule labels say 东经/北纬 (geopandas would write its CRS axis names)
    ax.set_ylabel("")
    ax.set_aspect(1 / math.cos(math.radians((south + north) / 2)))  # equal ground scale at the middle latitude
    _graticule(ax, west, east, south, north, lang)
    bar = add_scale_bar(ax, west=west, east=east, south=south, north=north, lang=lang)
    add_north_arrow(ax, lang=lang)
    for s in ax.spines.values():
        s.set_linewidth(1.2)
    if handles:
        top = 0.50 if (spec.values is not None and not spec.classes) else 0.98
        legend_ax.legend(handles=handles, loc="upper left", bbox_to_anchor=(0.0, top), frameon=False, fontsize=9,
                         title=_wrap(spec.legend_title or _WORDS[lang]["legend"], lang) if top > 0.9 else None,
                         title_fontproperties={"size": 10})
    w = _WORDS[lang]
    today = dt.date.today().isoformat()
    foot = []
    if spec.sources:
        foot.append(f"{w['sources']}: " + "; ".join(spec.sources))
    dates = ([f"{w['result_date']} {spec.result_date}"] if spec.result_date else []) + [f"{w['made']} {today} ({spec.software})"]
    foot.append(" · ".join(dates))
    fig.text(0.06, 0.045, "\n".join(foot), fontsize=7, va="center", ha="left", color="#333333", wrap=True)
    return fig, {"axes": ax, "scale_bar": bar}


def _wrap(text: str, lang: str) -> str:
    """A legend title broken to fit the legend panel (14 characters of Chinese, 28 of English)."""
    import textwrap

    if lang == "zh":
        return "\n".join(text[i:i + 14] for i in range(0, len(text), 14))
    return textwrap.fill(text, 28)


def _bounds(spec: ThematicSpec) -> tuple[float, float, float, float]:
    boxes = []
    if spec.extent is not None:
        w, e, s, n = spec.extent
        boxes.append((min(w, e), max(w, e), min(s, n), max(s, n)))
    if spec.zones is not None and len(spec.zones):
        b = spec.zones.total_bounds
        boxes.append((b[0], b[2], b[1], b[3]))
    if not boxes:
        raise ValueError("a thematic map needs a raster extent or zones")
    w = min(b[0] for b in boxes)
    e = max(b[1] for b in boxes)
    s = min(b[2] for b in boxes)
    n = max(b[3] for b in boxes)
    pad = 0.03 if spec.extent is not None else 0.12  # room for the scale bar and north arrow round small zones
    pad_x, pad_y = pad * (e - w), pad * (n - s)
    return w - pad_x, e + pad_x, s - pad_y, n + pad_y

"""Print-ready thematic maps (专题图): one A4 or A3 sheet per result, PNG and PDF.

A sheet holds what a bureau expects on a map it hands on: a title that names the result,
the technology and the years; the map with a graticule (degree labels); a legend
(a colour bar for continuous values, one box per class for categories); a scale bar; a
north arrow; the data sources and the dates (of the result and of the drawing).

Two projections, chosen by the extent (``projection="auto"``):

* A small extent (a banner, a city: no side over :data:`EQUAL_AREA_SPAN_DEG` degrees) is drawn
  in longitude/latitude with the aspect ratio 1 / cos(φ₀) at the map's middle latitude φ₀ (an
  equirectangular projection with its standard parallel there): meridians are vertical, so
  north is straight up everywhere on the sheet, and the horizontal scale is exact on φ₀ and
  off by cos(φ₀)/cos(φ) elsewhere (under 2.7 % within 3° of latitude at 45°N).
* A large extent (a league, a province) is drawn in an Albers equal-area conic projection on
  the CGCS2000 ellipsoid (EPSG:4490's datum, the frame of Chinese survey data), as Chinese
  bureaus print provinces: central meridian at the middle longitude and standard parallels
  one sixth of the latitude range inside its limits (the rule of Snyder 1987, *Map
  Projections: A Working Manual*, USGS PP 1395, for conics), rounded to 0.5°. Areas on the
  sheet are proportional to areas on the ground, so a choropleth is not inflated toward the
  north; meridians converge, so the graticule is drawn as curves with degree labels on the
  frame and the north arrow points along the meridian where it stands.

Either way the scale bar is measured on the ground where it is drawn: its end points are
placed so that the geodesic distance between them on the ellipsoid (:class:`pyproj.Geod`)
equals the length in its label; its caption says where it holds. A naive bar in degrees would
be wrong by cos φ.

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
           "graticule_step", "sheet_crs", "albers_crs", "albers_parameters", "cylindrical_crs", "EQUAL_AREA_SPAN_DEG", "PROJECTIONS"]

#: An extent wider or taller than this (degrees) is drawn in an equal-area projection.
EQUAL_AREA_SPAN_DEG = 3.0
#: Values of ``ThematicSpec.projection`` (and ``sinkplan figures --projection``).
PROJECTIONS = ("auto", "lonlat", "albers")

#: Landscape sheet sizes in inches (ISO 216: A4 297 × 210 mm, A3 420 × 297 mm).
PAPER_IN = {"a4": (297 / 25.4, 210 / 25.4), "a3": (420 / 25.4, 297 / 25.4)}

_WORDS = {
    "zh": {"north": "北", "km": "千米", "m": "米", "scale_at": "比例尺（沿北纬 {lat:.2f}° 量算）",
           "sources": "数据来源", "made": "制图", "result_date": "成果生成", "lon": "经度", "lat": "纬度",
           "legend": "图例", "scale_here": "比例尺（在比例尺所在处量算）",
           "albers": "投影：Albers 等积圆锥投影（CGCS2000），中央经线 {lon0}，标准纬线 {lat1}、{lat2}",
           "lonlat": "投影：等距圆柱投影（经纬度），标准纬线 {lat0}",
           "cea": "投影：兰勃特等积圆柱投影（CGCS2000），中央经线 {lon0}"},
    "en": {"north": "N", "km": "km", "m": "m", "scale_at": "scale measured along {lat:.2f}°N",
           "sources": "Data", "made": "Drawn", "result_date": "result of", "lon": "Longitude", "lat": "Latitude",
           "legend": "Legend", "scale_here": "scale measured where the bar stands",
           "albers": "Projection: Albers equal-area conic (CGCS2000), central meridian {lon0}, "
                     "standard parallels {lat1} and {lat2}",
           "lonlat": "Projection: equirectangular (longitude/latitude), standard parallel {lat0}",
           "cea": "Projection: Lambert cylindrical equal-area (CGCS2000), central meridian {lon0}"},
}


@dataclass
class ThematicSpec:
    """What one thematic sheet shows.

    ``classes`` (categorical raster) maps a code to (label, #rrggbb); otherwise the raster is
    continuous with ``cmap``, ``units`` and optional ``vmin``/``vmax``/``symmetric``.
    ``zones`` is a GeoDataFrame (lon/lat) drawn as outlines, labelled with ``zone_labels``;
    ``choropleth`` colours the zones instead of a raster: a list of #rrggbb per zone, with
    ``classes`` giving the legend boxes. ``projection`` is ``auto`` (Albers equal-area for an
    extent over :data:`EQUAL_AREA_SPAN_DEG` degrees, else longitude/latitude), ``lonlat`` or
    ``albers``; every input is in longitude/latitude whatever the projection.
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
    projection: str = "auto"  # one of PROJECTIONS


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
    """Graticule interval (degrees) giving at most 6 intervals over ``span_deg``.

    Examples
    --------
    >>> graticule_step(2.4), graticule_step(0.3), graticule_step(16)
    (0.5, 0.05, 5.0)
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
    """Draw a 4-segment scale bar in the map's lower left (lon/lat sheet); returns its geometry (for tests).

    Returns
    -------
    dict
        ``lon0``, ``lon1``, ``lat`` (data coordinates of the bar's ends) and ``length_m``.
    """
    lat = south + 0.07 * (north - south)
    lon0 = west + 0.05 * (east - west)
    length = scale_bar_length_m(lon0, east, lat, share=0.3)
    lon1 = bar_end_lon(lon0, lat, length)
    _draw_bar(ax, x0=lon0, x1=lon1, y=lat, h=0.012 * (north - south), span_x=east - west, length=length, lang=lang,
              caption=_WORDS[lang]["scale_at"].format(lat=lat))
    return {"lon0": lon0, "lon1": float(lon1), "lat": lat, "length_m": length}


def add_north_arrow(ax, *, lang: str) -> None:
    """A north arrow in the map's upper right (meridians are vertical on this projection)."""
    ax.annotate("", xy=(0.95, 0.90), xytext=(0.95, 0.80), xycoords="axes fraction",
                arrowprops={"facecolor": "black", "edgecolor": "black", "width": 3, "headwidth": 10, "headlength": 10},
                zorder=12, gid="north-arrow")
    ax.text(0.95, 0.925, _WORDS[lang]["north"], transform=ax.transAxes, ha="center", va="bottom", fontsize=11,
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


def albers_crs(west: float, east: float, south: float, north: float):
    """The Albers equal-area conic of a sheet on the CGCS2000 ellipsoid: central meridian at the
    extent's middle longitude, standard parallels one sixth of the latitude range inside its
    limits (Snyder 1987, USGS PP 1395), each rounded to 0.5°.

    Examples
    --------
    >>> albers_parameters(albers_crs(97.2, 126.1, 37.4, 53.3))  # Inner Mongolia's box
    (111.5, 40.0, 50.5)
    """
    from pyproj import CRS
    from pyproj.crs import ProjectedCRS
    from pyproj.crs.coordinate_operation import AlbersEqualAreaConversion

    def half(v: float) -> float:
        return round(v * 2.0) / 2.0

    span = north - south
    lat1, lat2 = half(south + span / 6.0), half(north - span / 6.0)
    if lat1 == lat2:  # a narrow band: keep two distinct parallels half a degree apart
        lat1, lat2 = lat1 - 0.25, lat2 + 0.25
    lon0 = half((west + east) / 2.0)
    conv = AlbersEqualAreaConversion(lat1, lat2, latitude_false_origin=0.0, longitude_false_origin=lon0)
    return ProjectedCRS(conv, name=f"CGCS2000 / Albers equal-area (lon_0={lon0:g}, lat_1={lat1:g}, lat_2={lat2:g})",
                        geodetic_crs=CRS.from_epsg(4490))


def albers_parameters(crs) -> tuple[float, float, float]:
    """(central meridian, first and second standard parallel) of an Albers CRS, in degrees."""
    by_name = {p.name.lower(): float(p.value) for p in crs.coordinate_operation.params}
    return (by_name["longitude of false origin"], by_name["latitude of 1st standard parallel"],
            by_name["latitude of 2nd standard parallel"])


def sheet_crs(west: float, east: float, south: float, north: float, projection: str = "auto"):
    """The projected CRS a sheet of this lon/lat extent is drawn in, or None for longitude/latitude.

    Examples
    --------
    >>> sheet_crs(111.0, 112.0, 41.0, 42.0) is None  # a banner: plate carrée at its latitude
    True
    >>> sheet_crs(97.2, 126.1, 37.4, 53.3).name.startswith("CGCS2000 / Albers")  # a province
    True
    """
    if projection not in PROJECTIONS:
        raise ValueError(f"projection {projection!r}: choose one of {', '.join(PROJECTIONS)}")
    big = max(east - west, north - south) > EQUAL_AREA_SPAN_DEG
    if projection == "lonlat" or (projection == "auto" and not big):
        return None
    crs = albers_crs(west, east, south, north)
    _, lat1, lat2 = albers_parameters(crs)
    if lat1 * lat2 <= 0 or east - west > 180:
        # standard parallels on both sides of the equator (a cone constant near 0: the conic
        # degenerates) or more than half the globe: the equal-area cylinder instead
        return cylindrical_crs(west, east)
    return crs


def cylindrical_crs(west: float, east: float):
    """Lambert's cylindrical equal-area projection on CGCS2000 with its central meridian at the
    extent's middle (rounded to 0.5°): the equal-area sheet of an extent across the equator."""
    from pyproj import CRS
    from pyproj.crs import ProjectedCRS
    from pyproj.crs.coordinate_operation import LambertCylindricalEqualAreaConversion

    lon0 = round((west + east)) / 2.0
    return ProjectedCRS(LambertCylindricalEqualAreaConversion(0.0, lon0),
                        name=f"CGCS2000 / Lambert cylindrical equal-area (lon_0={lon0:g})",
                        geodetic_crs=CRS.from_epsg(4490))


def _draw_bar(ax, *, x0: float, x1: float, y: float, h: float, span_x: float, length: float, lang: str,
              caption: str) -> None:
    """The bar's patches and labels between data x0 and x1 at height y (h: bar height in data units)."""
    from matplotlib.patches import Rectangle

    n = 4
    xs = np.linspace(x0, x1, n + 1)
    ax.add_patch(Rectangle((x0 - 0.01 * span_x, y - 1.2 * h), (x1 - x0) + 0.05 * span_x, 5.6 * h,
                           facecolor="white", edgecolor="none", alpha=0.8, zorder=9, gid="scalebar-box"))
    for i in range(n):
        ax.add_patch(Rectangle((xs[i], y), xs[i + 1] - xs[i], h, facecolor="black" if i % 2 == 0 else "white",
                               edgecolor="black", linewidth=0.6, zorder=10, gid=f"scalebar-{i}"))
    value, unit = _length_text(length, lang)
    for x, v in ((x0, 0.0), ((x0 + x1) / 2, value / 2), (x1, value)):
        ax.text(x, y + 1.4 * h, _fmt(v), ha="center", va="bottom", fontsize=7, zorder=11)
    ax.text(x1 + 0.01 * span_x, y + 0.5 * h, unit, ha="left", va="center", fontsize=7, zorder=11, gid="scalebar-unit")
    ax.text(x0, y - 0.6 * h, caption, ha="left", va="top", fontsize=6, color="#333333", zorder=11)


def add_scale_bar_projected(ax, *, view: tuple[float, float, float, float], crs, lang: str) -> dict[str, float]:
    """A scale bar on a projected sheet: horizontal on the sheet, its projected length solved
    (secant steps) so that the geodesic between its ends on the CRS's ellipsoid equals its label.

    Returns ``x0``, ``x1``, ``y`` (data coordinates, metres of the projection) and ``length_m``.
    """
    from pyproj import Transformer

    xmin, xmax, ymin, ymax = view
    inv = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    geod = crs.geodetic_crs.get_geod()
    y = ymin + 0.07 * (ymax - ymin)
    x0 = xmin + 0.05 * (xmax - xmin)
    lon0, lat0 = inv.transform(x0, y)

    def ground(dx: float) -> float:
        lon1, lat1 = inv.transform(x0 + dx, y)
        return float(geod.inv(lon0, lat0, lon1, lat1)[2])

    length = nice_length_m(max(ground(xmax - x0) * 0.3, 1.0))
    dx = length  # an Albers sheet's scale is within a few % of 1
    for _ in range(8):
        d = ground(dx)
        if abs(d - length) < 1e-4:
            break
        dx *= length / d
    _draw_bar(ax, x0=x0, x1=x0 + dx, y=y, h=0.012 * (ymax - ymin), span_x=xmax - xmin, length=length, lang=lang,
              caption=_WORDS[lang]["scale_here"])
    return {"x0": x0, "x1": x0 + dx, "y": y, "length_m": length}


def add_north_arrow_projected(ax, *, view: tuple[float, float, float, float], crs, lang: str) -> dict[str, float]:
    """A north arrow along the meridian where it stands (meridians converge on a conic sheet).

    Returns the arrow's ``lon``, ``lat`` and ``angle_deg`` (anticlockwise from the sheet's up).
    """
    from pyproj import Transformer

    xmin, xmax, ymin, ymax = view
    fwd = Transformer.from_crs(crs.geodetic_crs, crs, always_xy=True)
    tx, ty = xmin + 0.93 * (xmax - xmin), ymin + 0.78 * (ymax - ymin)
    lon, lat = fwd.transform(tx, ty, direction="INVERSE")
    nx, ny = fwd.transform(lon, lat + 0.01)  # a hundredth of a degree north, on the sheet
    ux, uy = nx - tx, ny - ty
    norm = math.hypot(ux, uy)
    ux, uy = ux / norm, uy / norm
    size = 0.10 * (ymax - ymin)  # the sheet has equal x and y scales: one length in both directions
    head = (tx + size * ux, ty + size * uy)
    ax.annotate("", xy=head, xytext=(tx, ty), xycoords="data",
                arrowprops={"facecolor": "black", "edgecolor": "black", "width": 3, "headwidth": 10, "headlength": 10},
                zorder=12, gid="north-arrow")
    angle = math.degrees(math.atan2(-ux, uy))
    ax.text(head[0] + 0.025 * (ymax - ymin) * ux, head[1] + 0.025 * (ymax - ymin) * uy, _WORDS[lang]["north"],
            ha="center", va="bottom", rotation=angle, rotation_mode="anchor", fontsize=11, zorder=12,
            gid="north-arrow-label")
    return {"lon": float(lon), "lat": float(lat), "angle_deg": angle}


def _graticule_projected(ax, *, view: tuple[float, float, float, float], crs, lang: str) -> None:
    """Meridians and parallels drawn as projected curves, labelled where they cross the frame
    (meridians on the bottom and top edges, parallels on the left edge)."""
    from pyproj import Transformer

    xmin, xmax, ymin, ymax = view
    fwd = Transformer.from_crs(crs.geodetic_crs, crs, always_xy=True)
    lon_lo, lat_lo, lon_hi, lat_hi = fwd.transform_bounds(xmin, ymin, xmax, ymax, densify_pts=51,
                                                          direction="INVERSE")
    step = graticule_step(max(lon_hi - lon_lo, lat_hi - lat_lo))
    style = {"color": "#777777", "linewidth": 0.4, "linestyle": (0, (4, 3)), "alpha": 0.7, "zorder": 3}
    lats = np.linspace(max(lat_lo - step, -89.9), min(lat_hi + step, 89.9), 240)
    for lon in np.arange(math.ceil(lon_lo / step) * step, lon_hi + 1e-9, step):
        x, y = fwd.transform(np.full_like(lats, lon), lats)
        ax.plot(x, y, gid=f"graticule-lon-{lon:g}", **style)
        for edge, va, dy in ((ymin, "top", -3), (ymax, "bottom", 3)):
            xe = float(np.interp(edge, y, x))  # northward along a meridian y grows
            if xmin <= xe <= xmax:
                ax.annotate(_deg_label(lon, "lon", lang), xy=(xe, edge), xytext=(0, dy), textcoords="offset points",
                            ha="center", va=va, fontsize=7, annotation_clip=False, gid="graticule-label")
    lons = np.linspace(lon_lo - step, lon_hi + step, 480)
    for lat in np.arange(math.ceil(lat_lo / step) * step, lat_hi + 1e-9, step):
        x, y = fwd.transform(lons, np.full_like(lons, lat))
        ax.plot(x, y, gid=f"graticule-lat-{lat:g}", **style)
        ye = float(np.interp(xmin, x, y))  # eastward along a parallel x grows
        if ymin <= ye <= ymax:
            ax.annotate(_deg_label(lat, "lat", lang), xy=(xmin, ye), xytext=(-3, 0), textcoords="offset points",
                        ha="right", va="center", fontsize=7, annotation_clip=False, gid="graticule-label")
    ax.set_xticks([])
    ax.set_yticks([])


def _warp(values: np.ndarray, extent: tuple[float, float, float, float], crs):
    """A lon/lat raster (rows north to south over ``extent`` west, east, south, north) on the
    sheet's projection, nearest neighbour (categories stay categories; the raster is already
    reduced to the sheet's resolution); returns (array, projected extent)."""
    from rasterio.crs import CRS as RioCRS
    from rasterio.transform import from_bounds
    from rasterio.warp import Resampling, calculate_default_transform, reproject

    w, e, s, n = extent
    rows, cols = values.shape
    src = np.ma.filled(np.ma.masked_invalid(np.ma.asarray(values, dtype="float64")), np.nan)
    src_crs, dst_crs = RioCRS.from_epsg(4490), RioCRS.from_wkt(crs.to_wkt())
    t, dw, dh = calculate_default_transform(src_crs, dst_crs, cols, rows, left=min(w, e), bottom=min(s, n),
                                            right=max(w, e), top=max(s, n))
    dst = np.full((dh, dw), np.nan)
    reproject(src, dst, src_transform=from_bounds(min(w, e), min(s, n), max(w, e), max(s, n), cols, rows),
              src_crs=src_crs, dst_transform=t, dst_crs=dst_crs, resampling=Resampling.nearest, src_nodata=np.nan,
              dst_nodata=np.nan)
    return dst, (t.c, t.c + t.a * dw, t.f + t.e * dh, t.f)


def _to_sheet(gdf, crs):
    """A GeoDataFrame in the sheet's CRS (lon/lat assumed when it has none)."""
    if gdf is None or crs is None or not len(gdf):
        return gdf
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    return gdf.to_crs(crs)


def thematic_map(spec: ThematicSpec) -> tuple[Figure, dict[str, Any]]:
    """Draw one sheet. Returns (figure, info) where ``info`` has the ``scale_bar`` geometry, the
    map ``axes`` (so a test can read the figure's transform), the sheet's ``crs`` (None for
    longitude/latitude) and, on a projected sheet, the ``north_arrow``'s place and angle."""
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
    crs = sheet_crs(west, east, south, north, spec.projection)
    zones = _to_sheet(spec.zones, crs)
    values, extent = spec.values, spec.extent
    if crs is not None and values is not None and extent is not None:
        values, extent = _warp(values, extent, crs)
    handles: list[Any] = []
    if values is not None and extent is not None:
        v = np.ma.masked_invalid(np.ma.asarray(values, dtype=float))
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
            ax.imshow(np.ma.masked_invalid(idx), extent=extent, cmap=cmap, norm=norm, interpolation="nearest",
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
            im = ax.imshow(v, extent=extent, cmap=spec.cmap, norm=Normalize(lo, hi), interpolation="nearest",
                           zorder=1)
            cax = fig.add_axes((0.75, 0.55, 0.025, 0.30))
            cb = fig.colorbar(im, cax=cax, extend="max" if not spec.symmetric else "both")
            cb.set_label(spec.units, fontsize=9)
            cb.ax.tick_params(labelsize=8)
            fig.text(0.75, 0.87, _wrap(spec.legend_title or _WORDS[lang]["legend"], lang), fontsize=10,
                     va="bottom")
    if zones is not None and len(zones):
        if spec.choropleth is not None:
            zones.plot(ax=ax, color=list(spec.choropleth), edgecolor="#333333", linewidth=0.6, zorder=2)
            if spec.classes:
                handles += [Patch(facecolor=c, edgecolor="#555555", label=lab) for lab, c in spec.classes.values()]
        zones.boundary.plot(ax=ax, color="#222222", linewidth=0.7, zorder=4)
        ax.collections[-1].set_gid("zones")
        labels = spec.zone_labels or []
        pts = zones.geometry.representative_point()
        for name, pt in zip(labels, pts):
            if name:
                ax.text(pt.x, pt.y, str(name), ha="center", va="center", fontsize=8 if big else 7, zorder=8,
                        color="#111111", bbox={"boxstyle": "round,pad=0.15", "facecolor": "white", "alpha": 0.6,
                                               "edgecolor": "none"})
    for gdf, style, lab in spec.overlays:
        if gdf is None or not len(gdf):
            continue
        gdf = _to_sheet(gdf, crs)
        kind = gdf.geometry.iloc[0].geom_type
        if "Polygon" in kind:
            gdf.boundary.plot(ax=ax, zorder=5, **style)
            handles.append(Patch(facecolor="none", edgecolor=style.get("color", "#000000"), label=lab))
        else:
            gdf.plot(ax=ax, zorder=6, **style)
            from matplotlib.lines import Line2D

            handles.append(Line2D([0], [0], color=style.get("color", "#000000"), lw=style.get("linewidth", 1),
                                  label=lab))
    ax.set_xlabel("")  # the graticule labels say 东经/北纬 (geopandas would write its CRS axis names)
    ax.set_ylabel("")
    north_arrow: dict[str, float] = {}
    if crs is None:
        ax.set_xlim(west, east)
        ax.set_ylim(south, north)
        ax.set_aspect(1 / math.cos(math.radians((south + north) / 2)))  # equal ground scale at the middle latitude
        _graticule(ax, west, east, south, north, lang)
        bar = add_scale_bar(ax, west=west, east=east, south=south, north=north, lang=lang)
        add_north_arrow(ax, lang=lang)
        projection = _WORDS[lang]["lonlat"].format(lat0=_deg_label((south + north) / 2, "lat", lang))
    else:
        from pyproj import Transformer

        xmin, ymin, xmax, ymax = Transformer.from_crs(crs.geodetic_crs, crs, always_xy=True).transform_bounds(
            west, south, east, north, densify_pts=51)
        view = (xmin, xmax, ymin, ymax)
        ax.set_xlim(xmin, xmax)
        ax.set_ylim(ymin, ymax)
        ax.set_aspect("equal")  # metres both ways
        _graticule_projected(ax, view=view, crs=crs, lang=lang)
        bar = add_scale_bar_projected(ax, view=view, crs=crs, lang=lang)
        north_arrow = add_north_arrow_projected(ax, view=view, crs=crs, lang=lang)
        if "albers" in crs.coordinate_operation.method_name.lower():
            lon0, lat1, lat2 = albers_parameters(crs)
            projection = _WORDS[lang]["albers"].format(lon0=_deg_label(lon0, "lon", lang),
                                                       lat1=_deg_label(lat1, "lat", lang),
                                                       lat2=_deg_label(lat2, "lat", lang))
        else:
            lon0 = {p.name.lower(): p.value for p in crs.coordinate_operation.params}["longitude of natural origin"]
            projection = _WORDS[lang]["cea"].format(lon0=_deg_label(lon0, "lon", lang))
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
    foot.append(" · ".join(dates) + " · " + projection)
    fig.text(0.06, 0.045, "\n".join(foot), fontsize=7, va="center", ha="left", color="#333333", wrap=True)
    return fig, {"axes": ax, "scale_bar": bar, "crs": crs, "north_arrow": north_arrow}


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

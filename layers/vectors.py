"""Vector inputs: :func:`read_vector` reads, decodes, repairs and reprojects a layer.

Chinese shapefiles without a ``.cpg`` are decoded by detection (GB18030, see
:mod:`sinkplan.layers.encoding`); zones become ids on the grid in :mod:`sinkplan.layers.zones`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import geopandas as gpd
import numpy as np
import pyogrio
import pyogrio.errors
import shapely
from pyproj import CRS

from sinkplan.layers.errors import FieldError, InputError, InputFileError, MissingCRS
from sinkplan.layers.warnings import LayerChoiceWarning, RepairedGeometryWarning, warn
from sinkplan.layers.encoding import encoding_label, shapefile_encoding
from sinkplan.layers.files import check_utf8_path
from sinkplan.layers.grid import crs_fix_hint

__all__ = ["VectorReport", "VectorLayer", "read_vector", "require_polygons", "fit_longitudes", "POLYGONAL",
           "several_layers_message"]

logger = logging.getLogger(__name__)

_READ_ERRORS = (pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError, OSError, RuntimeError)


@dataclass(frozen=True)
class VectorReport:
    """What :func:`read_vector` read and did; ``n_read == n_features + n_dropped_empty``."""

    path: str
    layer: str
    driver: str
    encoding: str  # codec that decoded the text, e.g. 'UTF-8' or 'GB18030'
    encoding_source: str  # 'user', 'cpg', 'detected', 'utf-8' (shapefile, ASCII only), 'driver'
    crs: str  # the layer's own CRS, before any reprojection
    n_read: int
    n_repaired: int  # invalid geometries fixed with shapely.make_valid
    n_dropped_empty: int  # null or empty geometries, and those a repair left empty
    n_features: int
    fields: tuple[str, ...]
    to_crs: str | None = None  # CRS of ``gdf`` when reprojected


@dataclass(frozen=True)
class VectorLayer:
    """A cleaned layer (``gdf``) and the :class:`VectorReport` of how it was read."""

    gdf: gpd.GeoDataFrame
    report: VectorReport


def read_vector(
    path: str | os.PathLike, *, layer: str | int | None = None, encoding: str | None = None,
    to_crs: Any = None, field: str | None = None, layer_param: str | None = None, what: str = "layer",
) -> VectorLayer:
    """Read a vector layer, decode its text, repair its geometries, optionally reproject.

    Parameters
    ----------
    path : str or os.PathLike
        GeoPackage, Shapefile, GeoJSON or FileGDB (``.gdb`` folder).
    layer : str or int, optional
        Layer name or index; default the first layer with geometries.
    encoding : str, optional
        Text encoding; wins over the ``.cpg`` and detection. A shapefile without a usable
        ``.cpg`` is detected from its .dbf bytes: UTF-8 if they decode as UTF-8, else
        GB18030 if they decode as plausible Chinese, else what charset-normalizer says.
    to_crs : pyproj.CRS or str or int, optional
        Reproject to this CRS (anything ``CRS.from_user_input`` takes).
    field : str, optional
        A field that must exist (e.g. the zone name field).
    layer_param : str, optional
        The parameter that names ``layer`` to the caller (``zone_layer``). Given, a file of
        several layers with geometry and no ``layer`` is refused, listing its layers, instead of
        read at its first with a warning: another layer's polygons (a GeoPackage of a whole
        planning database) would be taken for the zones. ``""``: refused as well, where the
        caller has no parameter for a layer (the fix is then a file of that one layer).
    what : str
        What the layer is (``zones``), for that message.

    Returns
    -------
    VectorLayer
        ``gdf``: valid, non-empty geometries (a repaired polygon keeps only its polygonal
        parts, a line its linear parts); ``report``.

    Raises
    ------
    InputFileError
        The file is missing, unreadable, or has no such layer.
    MissingCRS
        The layer has no CRS.
    FieldError
        ``field`` is not a field of the layer.
    InputError
        Bad ``encoding`` or ``to_crs``, undecodable text, non-finite coordinates, no
        geometry column, or no feature left after cleaning; with ``layer_param``, several
        layers and none named.

    Examples
    --------
    >>> banners = read_vector("banners.shp", to_crs="EPSG:4326", field="name")  # doctest: +SKIP
    >>> banners.report.encoding, banners.report.encoding_source  # doctest: +SKIP
    ('GB18030', 'detected')
    """
    p = Path(path)
    check_utf8_path(p)  # GDAL takes names as UTF-8: a GBK name from a Windows zip is said, not a traceback
    if not p.exists():
        raise InputFileError(f"{p}: file not found; check the path")
    target = _as_crs(to_crs) if to_crs is not None else None
    layer = _pick_layer(p, layer, layer_param=layer_param, what=what, field=field)
    base = _shapefile_base(p, layer)
    if encoding is not None:
        enc, source = encoding_label(encoding, user=True), "user"
    elif base is not None:
        enc, source = shapefile_encoding(base)
    else:
        enc, source = None, "driver"
    try:
        info = pyogrio.read_info(p, layer=layer, encoding=enc)
        if info["geometry_type"] is None:
            raise InputError(f"{p}: layer '{info['layer_name']}' has no geometry column; give a layer with geometries")
        gdf = pyogrio.read_dataframe(p, layer=layer, encoding=enc)
    except UnicodeDecodeError as exc:
        raise InputError(
            f"{p}: text does not decode as {enc or 'UTF-8'} ({exc.reason} at byte {exc.start}); "
            "pass encoding= with the file's real encoding, e.g. 'GB18030' or 'UTF-8'"
        ) from exc
    except _READ_ERRORS as exc:
        raise _unreadable(p, exc) from exc
    name, enc = str(info["layer_name"]), enc or str(info.get("encoding") or "UTF-8")
    if gdf.crs is None:
        raise MissingCRS(f"{p}: layer '{name}' has no CRS; {crs_fix_hint(p)}")
    fields = tuple(str(c) for c in gdf.columns if c != gdf.geometry.name)
    if field is not None and field not in fields:
        raise FieldError(f"{p}: field '{field}' not found in layer '{name}'; available fields: {', '.join(fields)}")
    n_read, src_crs = len(gdf), gdf.crs
    if n_read == 0:
        raise InputError(f"{p}: layer '{name}' has no features")
    geoms = np.asarray(gdf.geometry.values)
    gdf = gdf.loc[~(shapely.is_missing(geoms) | shapely.is_empty(geoms))].reset_index(drop=True)
    if src_crs.is_geographic and len(gdf):
        _check_degrees(np.asarray(gdf.geometry.values), src_crs, f"{p}: layer '{name}'")
    if target is not None and not src_crs.equals(target, ignore_axis_order=True):
        gdf = gdf.to_crs(target)
    geoms = np.array(gdf.geometry.values, dtype=object)
    check_finite(geoms, f"{p}: layer '{name}'")
    bad = np.flatnonzero(~shapely.is_valid(geoms))
    for i in bad:
        geoms[i] = _repair(geoms[i])
    kept = ~shapely.is_missing(geoms)
    n_repaired = int(kept[bad].sum())
    gdf = gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs, name=gdf.geometry.name))
    gdf = gdf.loc[kept].reset_index(drop=True)
    n_dropped = n_read - len(gdf)
    if len(gdf) == 0:
        raise InputError(f"{p}: layer '{name}' has no features left after dropping {n_dropped} null or empty geometries")
    if n_repaired or n_dropped:
        warn(RepairedGeometryWarning, f"{p}: repaired {n_repaired} invalid geometries, dropped {n_dropped} null or empty "
             "ones", logger=__name__)
    report = VectorReport(
        str(p), name, str(info["driver"]), enc, source, src_crs.to_string(), n_read, n_repaired, n_dropped,
        len(gdf), fields, None if target is None else gdf.crs.to_string(),
    )
    logger.info("read %s: %d features, encoding %s (%s), CRS %s", p, len(gdf), enc, source, report.crs)
    return VectorLayer(gdf, report)


def _unreadable(p: Path, exc: BaseException) -> InputFileError:
    cause = " ".join(str(exc).split())  # one line
    return InputFileError(f"{p}: cannot read as a vector layer ({cause}); give a GeoPackage, Shapefile, GeoJSON or FileGDB")


def _as_crs(value: Any) -> CRS:
    try:
        return CRS.from_user_input(value)
    except Exception as exc:  # pyproj's CRSError is a plain Exception subclass
        raise InputError(f"to_crs={value!r} is not a CRS ({exc}); give e.g. 'EPSG:4326' or a pyproj.CRS") from exc


#: Geometry types that are areas.
POLYGONAL = frozenset({"Polygon", "MultiPolygon"})


def require_polygons(gdf: gpd.GeoDataFrame, what: str, *, fix: str = "", params: tuple[str, ...] = (),
                     notes: list[str] | None = None) -> gpd.GeoDataFrame:
    """``gdf`` when every feature is an area; a GeometryCollection keeps its polygonal parts.

    Zones, a redline, farmland or desert polygons are areas: a point zone got the one pixel
    under it, a redline drawn as lines counted the pixels its lines crossed as "inside".
    The points and lines a GeometryCollection drops are said in a
    :class:`~sinkplan.layers.warnings.RepairedGeometryWarning` naming ``what`` (the file), how
    many members of which kind, and the first feature; with ``notes`` (a result's summary notes)
    the same sentence is appended there too.

    Raises
    ------
    InputError
        Points or lines found; the message gives their count by kind, the first one, and
        ``fix`` (default: draw or buffer them as polygons); ``params``: parameters the message names.
    """
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    kinds = np.array([g.geom_type if g is not None else "None" for g in geoms], dtype=object)
    changed = False
    dropped: dict[str, int] = {}
    first = None
    for i in np.flatnonzero(kinds == "GeometryCollection"):
        parts = _flat_parts(geoms[i])
        polys = [p for p in parts if p.geom_type in POLYGONAL and not p.is_empty]
        if polys:
            for p in parts:
                if p.geom_type not in POLYGONAL and not p.is_empty:
                    k = "points" if p.geom_type.endswith("Point") else "lines"
                    dropped[k] = dropped.get(k, 0) + 1
                    first = i if first is None else first
            geoms[i] = shapely.union_all(polys)
            kinds[i] = geoms[i].geom_type
            changed = True
    bad = np.flatnonzero(~np.isin(kinds, list(POLYGONAL)))
    if bad.size:
        label = {"Point": "points", "MultiPoint": "points", "LineString": "lines", "MultiLineString": "lines",
                 "LinearRing": "lines"}
        counts: dict[str, int] = {}
        for i in bad:
            k = kinds[i]
            if k == "GeometryCollection":  # no polygonal part: named by what it holds
                k = {0: "Point", 1: "LineString"}.get(int(shapely.get_dimensions(geoms[i])), k)
            counts[label.get(k, str(k))] = counts.get(label.get(k, str(k)), 0) + 1
        listed = ", ".join(f"{n} {k}" for k, n in sorted(counts.items(), key=lambda kv: -kv[1]))
        raise InputError(
            f"{what}: {bad.size} of {len(gdf)} features are not polygons ({listed}; first: feature {int(bad[0]) + 1}); "
            + (fix or "zones and the redline are areas: draw them as polygons, or buffer the points and lines into "
               "polygons in a GIS (QGIS: Vector > Geoprocessing > Buffer)"), params=params
        )
    if dropped:
        listed = " and ".join(f"{n} {k if n != 1 else k[:-1]}" for k, n in sorted(dropped.items(), key=lambda kv: -kv[1]))
        text = (f"{what}: geometry collections hold points and lines beside their polygons: {listed} dropped, the "
                f"polygons kept (first: feature {int(first) + 1}); an area counts only its polygons")
        warn(RepairedGeometryWarning, text, logger=__name__, params=params)
        if notes is not None:
            notes.append(text)
    if not changed:
        return gdf
    return gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs, name=gdf.geometry.name))


def _flat_parts(geom) -> list:
    """The single-part members of a (nested) GeometryCollection: polygons, lines, points."""
    out, todo = [], [geom]
    while todo:
        g = todo.pop(0)
        if g.geom_type.startswith("Multi") or g.geom_type == "GeometryCollection":
            todo[:0] = list(shapely.get_parts(g))
        else:
            out.append(g)
    return out


def fit_longitudes(gdf: gpd.GeoDataFrame, grid) -> gpd.GeoDataFrame:
    """Geometries of a lon/lat layer moved by whole turns (±360°) onto ``grid``'s longitudes.

    A raster across the antimeridian runs past 180°E (e.g. 179–181°E) while a zone there is
    often written at −180…−179.9 (GeoJSON splits such polygons in two): it missed the
    raster and got 0 ha. Each part of each feature is shifted by −360, 0 or +360° to the
    position that overlaps the grid most (unchanged when none does); a part written across
    the antimeridian the long way round (spanning more than 180°) is unwrapped first.
    Nothing changes for a projected grid or a layer already inside the grid's longitudes.
    """
    if not grid.is_geographic or len(gdf) == 0:
        return gdf
    left, _, right, _ = grid.bounds
    geoms = np.asarray(gdf.geometry.values, dtype=object)
    b = shapely.bounds(geoms)
    outside = ~((b[:, 0] >= left) & (b[:, 2] <= right)) & np.isfinite(b).all(axis=1)
    if not outside.any():
        return gdf

    def unwrap(xy: np.ndarray) -> np.ndarray:
        out = xy.copy()
        out[:, 0] = np.where(out[:, 0] < 0, out[:, 0] + 360.0, out[:, 0])
        return out

    def best(part):
        x0, _, x1, _ = part.bounds
        if x1 - x0 > 180.0:  # drawn the long way round across the antimeridian
            part = shapely.transform(part, unwrap)
            x0, _, x1, _ = part.bounds
        overlap = {k: min(x1 + k, right) - max(x0 + k, left) for k in (0.0, -360.0, 360.0)}
        k = max(overlap, key=lambda kk: (overlap[kk], kk == 0.0))
        if k == 0.0 or overlap[k] < 0:
            return part
        return shapely.transform(part, lambda xy: xy + np.array([k, 0.0]))

    moved = 0
    for i in np.flatnonzero(outside):
        parts = shapely.get_parts(geoms[i])
        new = [best(p) for p in parts]
        if any(not n.equals_exact(p, 0.0) for n, p in zip(new, parts)):
            geoms[i] = new[0] if len(new) == 1 else type(geoms[i])(new) if geoms[i].geom_type.startswith("Multi") \
                else shapely.union_all(new)
            moved += 1
    if not moved:
        return gdf
    logger.info("%d features moved by 360° onto the raster's longitudes (%g to %g)", moved, left, right)
    return gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs, name=gdf.geometry.name))


def _check_degrees(geoms: np.ndarray, crs: CRS, what: str) -> None:
    """Refuse coordinates no lon/lat can have in a layer whose CRS says lon/lat: metres of a
    projected CRS written without their CRS (a GeoJSON is WGS84 lon/lat by definition, and GDAL
    writes no CRS it cannot express), which reprojected to inf or to the wrong place."""
    xmin, ymin, xmax, ymax = shapely.total_bounds(geoms)
    if not all(np.isfinite((xmin, ymin, xmax, ymax))):
        return  # check_finite names them
    # beyond what any slip of degrees gives (longitudes 0…360 or a little past ±180, latitudes a
    # little past a pole are check_finite's and fit_longitudes' business)
    if max(abs(xmin), abs(xmax)) > 540.0 or max(abs(ymin), abs(ymax)) > 180.0:
        raise InputError(
            f"{what}: coordinates span x {xmin:.10g}…{xmax:.10g}, y {ymin:.10g}…{ymax:.10g}, which are not degrees, "
            f"yet the layer's CRS is {crs.to_string()} (longitude/latitude); the file was probably written in a "
            "projected CRS that it does not record: save it again with its real CRS (a GeoPackage keeps any CRS; "
            "a GeoJSON must be in EPSG:4326)")


def check_finite(geoms: np.ndarray, what: str) -> None:
    coords, index = shapely.get_coordinates(geoms, return_index=True)
    bad = np.unique(index[~np.isfinite(coords).all(axis=1)])
    if bad.size:
        raise InputError(
            f"{what}: {bad.size} features have non-finite coordinates (first: feature {int(bad[0])}), "
            "e.g. outside the valid area of the CRS; fix or delete them"
        )


def _repair(geom: Any) -> Any:
    """make_valid, keeping only parts of the original's dimension; None if none is left."""
    fixed = shapely.make_valid(geom)
    if geom.geom_type == "GeometryCollection":
        return None if fixed.is_empty else fixed
    dim, parts, todo = shapely.get_dimensions(geom), [], [fixed]
    while todo:
        g = todo.pop(0)
        if g.geom_type.startswith("Multi") or g.geom_type == "GeometryCollection":
            todo[:0] = list(shapely.get_parts(g))
        elif not g.is_empty and shapely.get_dimensions(g) == dim:
            parts.append(g)
    if not parts or (len(parts) == 1 and not geom.geom_type.startswith("Multi")):
        return parts[0] if parts else None
    return {2: shapely.MultiPolygon, 1: shapely.MultiLineString, 0: shapely.MultiPoint}[int(dim)](parts)


def several_layers_message(path: str | os.PathLike, layers: list[str], what: str, how: str) -> str:
    """One line for a file of several layers with none named: ``layers`` (at most 8 shown),
    the question which one is ``what``, and ``how`` to name it."""
    shown = ", ".join(layers[:8]) + (f" and {len(layers) - 8} more" if len(layers) > 8 else "")
    return f"{path} ({what}): {len(layers)} layers ({shown}) and none named: which one is the {what} layer? {how}"


def _pick_layer(p: Path, layer: str | int | None, *, layer_param: str | None = None,
                what: str = "layer", field: str | None = None) -> str | int | None:
    try:
        layers = pyogrio.list_layers(p)
    except _READ_ERRORS as exc:
        raise _unreadable(p, exc) from exc
    names = [str(n) for n, _ in layers]
    if layer is None and layer_param is not None:
        spatial = [str(n) for n, g in layers if g is not None]
        if len(spatial) > 1:
            example = next((n for n in spatial if what.lower() in n.lower()), None) or _layer_with(p, spatial, field)
            if not layer_param:
                raise InputError(several_layers_message(p, spatial, what, "give a file of that one layer, e.g. "
                                                        f"ogr2ogr {what}.gpkg {p} {example}"))
            raise InputError(several_layers_message(p, spatial, what, f"name it with {layer_param}, e.g. "
                                                    f"{layer_param} {example!r}, or give a file of that one layer"),
                             params=(layer_param, f"{layer_param}#2"))
    if layer is None:
        chosen = ([str(n) for n, g in layers if g is not None] or names or [None])[0]
        if len(names) > 1:
            warn(LayerChoiceWarning, f"{p} has {len(names)} layers ({', '.join(names)}); reading '{chosen}' (name a layer "
                 "to read another)", logger=__name__)
        return chosen
    if (isinstance(layer, str) and layer not in names) or (isinstance(layer, int) and not 0 <= layer < len(names)):
        raise InputFileError(f"{p}: no layer {layer!r}; layers: {', '.join(names)}")
    return layer


def _layer_with(p: Path, layers: list[str], field: str | None) -> str:
    """The first of ``layers`` that has ``field`` (the zone name field), else the first layer."""
    for n in layers if field is not None else ():
        try:
            if field in pyogrio.read_info(p, layer=n)["fields"]:
                return n
        except _READ_ERRORS:
            continue
    return layers[0]


def _shapefile_base(p: Path, layer: str | int | None) -> Path | None:
    """The shapefile's path without suffix, or None when the input is not a shapefile."""
    if p.is_file() and p.suffix.lower() in {".shp", ".dbf", ".shx"}:
        return p.with_suffix("")
    if p.is_dir() and p.suffix.lower() != ".gdb" and isinstance(layer, str) and any(p.glob(f"{layer}.[sS][hH][pP]")):
        return p / layer
    return None

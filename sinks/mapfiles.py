"""Map files of the sinks result folders: zones, redline, land-cover preview, scheme.

``sinkplan map`` (package ``maps``) reads result folders only, never the raw inputs, so
``carbon``, ``coverage`` and ``change`` leave in their folders what a map needs:

``zones.gpkg``
    One (multi)polygon per zone, dissolved by zone name, in EPSG:4326, field ``zone``
    (the name exactly as in the zone layer) and the zone's figures of the result table
    as fields (per year ``<figure>_<year>`` for coverage).
``redline.gpkg`` (carbon)
    The redline polygons as read (invalid ones repaired), in EPSG:4326.
``projects.gpkg`` (change with a control ring: the restoration effect)
    Layer ``projects``: one (multi)polygon per project, field ``project``, the project's own
    attributes (status, start year …) and its row of ``restoration_effect.csv``; layer
    ``rings``: the control ring of each project (field ``project``), in EPSG:4326.
``landcover_preview.tif`` + ``scheme.csv`` (carbon)
    The land cover reduced to at most :data:`PREVIEW_MAX_PIXELS` pixels by the mode of each
    block of factor × factor pixels (GDAL's mode through decimated ``out_shape`` reads, one
    bounded tile at a time; GDAL uses the file's overviews when it has them), with the
    scheme's colour table; ``scheme.csv`` is the class scheme in the shipped CSV format.

Geometries are kept exact unless a layer has more than :data:`MAX_VECTOR_COORDS`
coordinates; then they are simplified (topology preserved) from half a pixel of the grid
upwards until they fit. The maps simplify again for display.
"""

from __future__ import annotations

import csv
import io
import logging
import math
import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import shapely
from affine import Affine

from sinkplan.layers import resultspec as rs
from sinkplan.layers.grid import Grid
from sinkplan.layers.grid import open_raster
from sinkplan.layers.reading import read_window

__all__ = [
    "MAX_VECTOR_COORDS",
    "PREVIEW_MAX_PIXELS",
    "carbon_map_files",
    "change_map_files",
    "coverage_map_files",
    "restoration_map_files",
    "lonlat_layer",
    "preview_nodata",
    "PreviewRead",
    "read_landcover_preview",
    "scheme_csv_text",
    "wide_by_year",
    "write_gpkg",
    "write_landcover_preview",
    "zones_layer",
]

logger = logging.getLogger(__name__)

#: Pixel bound of ``landcover_preview.tif`` (a map shows about 1 Mpx per overlay).
PREVIEW_MAX_PIXELS = 4_000_000
#: Coordinates of one vector layer above which its geometries are simplified.
MAX_VECTOR_COORDS = 1_000_000

Progress = Callable[[float, str], None] | None


# ------------------------------------------------------------------ vectors (pure)
def _polygonal(geom):
    """The polygonal part of a geometry as a MultiPolygon (empty MultiPolygon if none)."""
    if geom is None or geom.is_empty:
        return shapely.MultiPolygon()
    if geom.geom_type == "MultiPolygon":
        return geom
    if geom.geom_type == "Polygon":
        return shapely.MultiPolygon([geom])
    parts = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon")]
    polys = [q for p in parts for q in (p.geoms if p.geom_type == "MultiPolygon" else [p])]
    return shapely.MultiPolygon(polys)


def _simplify_if_huge(geoms: np.ndarray, *, pixel: float, max_coords: int) -> tuple[np.ndarray, float]:
    """Geometries unchanged if they hold ≤ ``max_coords`` coordinates, else simplified from
    ``pixel / 2`` (grid units) upwards, doubling, until they do. Returns (geoms, tolerance)."""
    n = int(shapely.get_num_coordinates(geoms).sum())
    if n <= max_coords:
        return geoms, 0.0
    tol = pixel / 2
    for _ in range(40):
        out = shapely.simplify(geoms, tol, preserve_topology=True)
        m = int(shapely.get_num_coordinates(out).sum())
        if m <= max_coords:
            break
        tol *= 2
    logger.info("simplified %d → %d coordinates (tolerance %.3g grid units) for the map files", n, m, tol)
    return out, tol


def lonlat_layer(gdf, *, grid: Grid, max_coords: int = MAX_VECTOR_COORDS):
    """A GeoDataFrame in the grid's CRS → polygonal, EPSG:4326, simplified only if huge.

    On a projected grid long edges are first divided into pieces of at most 1/512 of the
    grid's extent, so straight edges keep their shape once in lon/lat.
    """
    geoms = np.array([_polygonal(g) for g in gdf.geometry.values], dtype=object)
    pixel = float(min(abs(grid.res[0]), abs(grid.res[1])))
    geoms, tol = _simplify_if_huge(geoms, pixel=pixel, max_coords=max_coords)
    out = gdf.set_geometry(list(geoms), crs=gdf.crs)
    if not grid.is_geographic:
        w, s, e, n = grid.bounds
        out = out.set_geometry(shapely.segmentize(np.asarray(out.geometry.values), max(e - w, n - s) / 512), crs=gdf.crs)
    out = out.to_crs(4326)
    out = out.set_geometry([_polygonal(g) for g in out.geometry.values], crs=4326)
    out.attrs["simplify_tolerance"] = tol
    return out


def zones_layer(zones_gdf, table: pd.DataFrame | None, *, grid: Grid, max_coords: int = MAX_VECTOR_COORDS):
    """Zones (``zone_id``, ``zone``, geometry) joined with a per-zone table on ``zone``.

    Parameters
    ----------
    zones_gdf : geopandas.GeoDataFrame
        :attr:`sinkplan.layers.zones.ZoneRasterizer.zones_gdf` (one dissolved row per zone, grid CRS).
    table : pandas.DataFrame or None
        One row per zone name (column ``zone``); rows of names not in ``zones_gdf`` (the
        outside-zones row) are dropped, zones without a row get empty fields.
    grid : Grid
        The working grid (pixel size for simplification, CRS).

    Returns
    -------
    geopandas.GeoDataFrame
        EPSG:4326, one MultiPolygon per zone, in zone-id order.
    """
    base = zones_gdf[["zone_id", "zone", zones_gdf.geometry.name]].copy()
    base["zone"] = base["zone"].astype(str)
    if table is not None and len(table):
        t = table.copy()
        if "zone_level" in t.columns:  # --group-by: group and region rows have no polygon of their own
            t = t[t["zone_level"] == "zone"].drop(columns=["zone_level"])
        t["zone"] = t["zone"].astype(str)
        t = t.drop(columns=[c for c in t.columns if c in ("zone_id", "geometry")]).drop_duplicates("zone")
        base = base.merge(t, on="zone", how="left", sort=False)
    # the zone layer's own fields (name_en, league …) as layer_<field>, for map labels (--label-field)
    extra = [c for c in zones_gdf.columns if c not in ("zone_id", "zone") and c != zones_gdf.geometry.name]
    for pos, c in enumerate(extra, start=2):
        base.insert(pos, f"layer_{c}", zones_gdf[c].to_numpy())
    return lonlat_layer(base, grid=grid, max_coords=max_coords)


def wide_by_year(df: pd.DataFrame, columns: list[str], *, key: str = "zone", year: str = "year") -> pd.DataFrame:
    """One row per ``key``: each of ``columns`` per year as ``<column>_<year>``.

    Rows without a year (one undated raster) keep the plain column names.

    Examples
    --------
    >>> df = pd.DataFrame({"zone": ["a", "a"], "year": [2015, 2020], "coverage": [0.1, 0.2]})
    >>> list(wide_by_year(df, ["coverage"]).columns)
    ['zone', 'coverage_2015', 'coverage_2020']
    """
    out = pd.DataFrame({key: list(dict.fromkeys(df[key].astype(str)))})
    for y, sub in df.groupby(year, sort=True, dropna=False):
        suffix = "" if y is None or (isinstance(y, float) and math.isnan(y)) else f"_{int(y)}"
        part = sub[[key, *columns]].copy()
        part[key] = part[key].astype(str)
        out = out.merge(part.rename(columns={c: f"{c}{suffix}" for c in columns}), on=key, how="left")
    return out


def write_gpkg(path: Path, gdf, *, layer: str) -> Path:
    """Write a GeoDataFrame as a one-layer GeoPackage (UTF-8 field values)."""
    gdf.to_file(path, driver="GPKG", layer=layer, engine="pyogrio")
    return path


# ------------------------------------------------------------------ land cover
def scheme_csv_text(scheme) -> str:
    """A :class:`~sinkplan.layers.schemes.ClassScheme` as the shipped scheme CSV (``# key: value`` header).

    Class names are formula-guarded as every result table's text (:func:`~sinkplan.layers.resultfolder.guard_cell`:
    a custom class named ``=HYPERLINK(...)`` is not run by a spreadsheet); the ``# guard: formula`` header
    line tells :meth:`~sinkplan.layers.schemes.ClassScheme.from_csv` to undo it, so the names read back exactly.
    """
    from sinkplan.layers.resultfolder import guard_cell

    buf = io.StringIO()
    buf.write(f"# scheme: {' '.join(str(scheme.name).split())}\n")
    buf.write("# guard: formula\n")
    for key, value in (("source", scheme.source), ("licence", scheme.licence)):
        if value:
            buf.write(f"# {key}: {' '.join(str(value).split())}\n")
    if scheme.nodata is not None:
        buf.write(f"# nodata: {scheme.nodata}\n")
    w = csv.writer(buf, lineterminator="\n")
    w.writerow(["code", "name_en", "name_zh", "group", "color"])
    for c in scheme.classes:
        w.writerow([c.code, guard_cell(c.name_en), guard_cell(c.name_zh), c.group, c.color])
    return buf.getvalue()


def preview_nodata(codes: tuple[int, ...], source_nodata: float | None) -> tuple[str, int] | None:
    """(dtype, nodata) of the preview: uint8 when codes and nodata fit, else uint16; None if no fit.

    The nodata is the source's when it is not a class code, else 0, else the dtype's maximum,
    else the first free value.
    """
    used = {int(c) for c in codes}
    for dtype in ("uint8", "uint16"):
        top = int(np.iinfo(dtype).max)
        if max(used) > top:
            continue
        cands = ([] if source_nodata is None or not float(source_nodata).is_integer() else [int(source_nodata)]) + [0, top]
        for v in cands:
            if 0 <= v <= top and v not in used:
                return dtype, v
        free = next((v for v in range(top + 1) if v not in used), None)
        if free is not None:
            return dtype, free
    return None


def _decimation_factor(height: int, width: int, max_pixels: int) -> int:
    """Smallest integer f with ceil(h/f) · ceil(w/f) ≤ max_pixels."""
    f = max(1, int(math.sqrt(height * width / max_pixels)))
    while math.ceil(height / f) * math.ceil(width / f) > max_pixels:
        f += 1
    return f


def _spans(start: int, n_out: int, f: int, size: int) -> list[tuple[int, int, int, int]]:
    """Along one axis, output cells ``start .. start + n_out`` of factor ``f`` over ``size`` source
    pixels as reads (source offset, source length, output offset, output length): the whole
    cells together, then the last, partial cell alone.

    Examples
    --------
    >>> _spans(2, 3, 4, 19)  # cells 2, 3 whole (source 8..16), cell 4 partial (16..19)
    [(8, 8, 0, 2), (16, 3, 2, 1)]
    """
    s0, end = start * f, min((start + n_out) * f, size)
    whole = min(n_out, (end - s0) // f)
    spans = [(s0, whole * f, 0, whole)] if whole else []
    if whole < n_out:
        spans.append((s0 + whole * f, end - s0 - whole * f, whole, n_out - whole))
    return spans


def _mode_cells(codes: np.ndarray, nodata: int | None, f: int, nrows: int, ncols: int) -> np.ma.MaskedArray:
    """The most frequent code of each ``f × f`` cell of ``codes``, nodata pixels left out (a cell of
    only nodata is masked), as GDAL's mode resampling decides it for a file: of codes equally
    frequent, the one that reached that count first scanning the cell row by row (GDAL keeps the
    first value whose count exceeds the running maximum), i.e. whose last pixel comes first.

    Examples
    --------
    >>> _mode_cells(np.array([[1, 2, 5, 5], [2, 0, 5, 1]]), 0, 2, 1, 2).tolist()
    [[2, 5]]
    >>> _mode_cells(np.array([[3, 1], [1, 3]]), None, 2, 1, 1).tolist()  # 1 reaches 2 at the 3rd pixel, 3 at the 4th
    [[1]]
    """
    h, w = codes.shape
    rr, cc = np.arange(h), np.arange(w)
    r = np.minimum(rr // f, nrows - 1)
    c = np.minimum(cc // f, ncols - 1)
    cell = (r[:, None] * ncols + c[None, :]).ravel()
    scan = ((rr - r * f)[:, None] * f + (cc - c * f)[None, :]).ravel()  # row-major order inside the cell
    k = codes.astype(np.int64).ravel()
    ok = k != nodata if nodata is not None else np.ones(k.size, dtype=bool)
    out = np.zeros(nrows * ncols, dtype=np.int64)
    mask = np.ones(nrows * ncols, dtype=bool)
    if ok.any():
        lo = int(k[ok].min())
        span = int(k[ok].max()) - lo + 1
        key, sidx = cell[ok] * span + (k[ok] - lo), scan[ok]
        order = np.lexsort((sidx, key))
        key, sidx = key[order], sidx[order]
        last = np.r_[key[1:] != key[:-1], True]  # the last pixel of each (cell, code)
        ends = np.flatnonzero(last)
        counts = np.diff(np.r_[-1, ends])
        keys, last_scan = key[ends], sidx[ends]
        cells, vals = keys // span, keys % span + lo
        pick = np.lexsort((last_scan, -counts, cells))  # per cell: highest count, then reached first
        first = pick[np.r_[True, cells[pick][1:] != cells[pick][:-1]]]
        out[cells[first]] = vals[first]
        mask[cells[first]] = False
    return np.ma.MaskedArray(out.reshape(nrows, ncols), mask=mask.reshape(nrows, ncols))


class _PreviewTiles:
    """The layout of ``lc``'s preview (factor, size, output tiles) and the read of one tile: the
    mode of each cell from GDAL's decimated read of the file (its overviews when it has them),
    from a land cover given as an array, or copied from a :class:`Preview` already computed."""

    def __init__(self, lc, max_pixels: int, max_cells: int, computed=None) -> None:
        self.lc, self.computed = lc, computed
        g = lc.grid
        self.f = f = _decimation_factor(g.height, g.width, max_pixels)
        self.nrows, self.ncols = math.ceil(g.height / f), math.ceil(g.width / f)
        if computed is not None and computed.factor != f:
            raise ValueError(f"preview computed with factor {computed.factor}, the file needs {f}")
        self.array = getattr(lc, "source", None)  # a land cover given as an array: the mode computed here
        # Output tiles of (tr, tc) preview pixels read (tr·f, tc·f) ≤ max_cells source cells, or of
        # the overview GDAL reads instead (the largest factor ≤ f): at 6 Gpx, 1 477 one-row reads of
        # the 32× overview took 0.5 s, in their call overhead.
        ov = 1
        if computed is None and self.array is None:
            with open_raster(lc.path) as src:
                ov = max([o for o in src.overviews(1) if o <= f], default=1)
        self.tc = tc = max(1, min(self.ncols, max_cells * ov * ov // (f * f)))
        self.tr = tr = max(1, min(self.nrows, max_cells * ov * ov // (f * f * tc)))
        self.tiles = [(r, c) for r in range(0, self.nrows, tr) for c in range(0, self.ncols, tc)]
        self._local, self._opened, self._lock = threading.local(), [], threading.Lock()

    def _dataset(self):  # one per thread: a GDAL dataset is not thread-safe
        if getattr(self._local, "ds", None) is None:
            self._local.ds = open_raster(self.lc.path)
            with self._lock:
                self._opened.append(self._local.ds)
        return self._local.ds

    def close(self) -> None:
        with self._lock:
            while self._opened:
                self._opened.pop().close()

    def read(self, rc: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
        """(codes as int64, True where the cell holds only nodata) of the tile at ``rc``."""
        from rasterio.enums import Resampling
        from rasterio.windows import Window

        r, c = rc
        f, g, lc, array, computed = self.f, self.lc.grid, self.lc, self.array, self.computed
        kr, kc = min(self.tr, self.nrows - r), min(self.tc, self.ncols - c)
        codes = np.zeros((kr, kc), dtype=np.int64)
        masked = np.ones((kr, kc), dtype=bool)
        if computed is not None:  # the same modes, taken in the pass or read before it
            codes[:] = computed.codes[r:r + kr, c:c + kc]
            masked[:] = computed.mask[r:r + kr, c:c + kc]
            return codes, masked
        # Whole factor × factor cells in one read; the last row/column of cells (fewer source
        # pixels) in their own reads, so every cell is the mode of exactly its own pixels.
        src = self._dataset() if array is None else None
        for sr, nr, orow, onr in _spans(r, kr, f, g.height):
            for sc, nc, ocol, onc in _spans(c, kc, f, g.width):
                win = Window(sc, sr, nc, nr)
                if array is not None:
                    block = _mode_cells(array.read(win), lc.nodata, f, onr, onc)
                elif f == 1:
                    block = read_window(src, win, masked=True)
                else:
                    block = read_window(src, win, out_shape=(onr, onc), resampling=Resampling.mode, masked=True)
                codes[orow:orow + onr, ocol:ocol + onc] = np.ma.getdata(block)
                masked[orow:orow + onr, ocol:ocol + onc] = np.ma.getmaskarray(block)
        return codes, masked


def read_landcover_preview(lc, *, max_pixels: int = PREVIEW_MAX_PIXELS, max_cells: int = 4 * 1024 * 1024,
                           stop: threading.Event | None = None):
    """The modes :func:`write_landcover_preview` would read from the file, read now, in this
    thread and in the same tiles (so the same values), as a :class:`sinkplan.sinks.preview.Preview`
    (codes int64) to write later with ``computed=``; None when ``stop`` is set before the end."""
    from sinkplan.sinks.preview import Preview

    tiles = _PreviewTiles(lc, max_pixels, max_cells)
    codes = np.zeros((tiles.nrows, tiles.ncols), dtype=np.int64)
    mask = np.ones((tiles.nrows, tiles.ncols), dtype=bool)
    try:
        for r, c in tiles.tiles:
            if stop is not None and stop.is_set():
                return None
            tc, tm = tiles.read((r, c))
            codes[r:r + tc.shape[0], c:c + tc.shape[1]] = tc
            mask[r:r + tc.shape[0], c:c + tc.shape[1]] = tm
    finally:
        tiles.close()
    return Preview(codes, mask, tiles.f)


class PreviewRead:
    """``lc``'s land-cover preview read from its file in a background thread, started before the
    pass: the read is GDAL decoding (no GIL), so it runs on the core the command's start-up
    leaves idle (imports, numba's first kernel, reading the zones hold the GIL and one core).
    After the pass the read cost 0.18 s of a 1.7 s ``carbon`` of 100 Mpx, all of it waited for.

    :meth:`result` waits for it and gives the :class:`~sinkplan.sinks.preview.Preview` (or
    raises what the read raised, e.g. a corrupt overview); :meth:`cancel` stops it between
    two tiles (a run that fails before writing the preview cancels it).
    """

    def __init__(self, lc, *, max_pixels: int = PREVIEW_MAX_PIXELS, max_cells: int = 4 * 1024 * 1024) -> None:
        from sinkplan.layers.background import BackgroundCall

        self._call = BackgroundCall(read_landcover_preview, lc, max_pixels=max_pixels, max_cells=max_cells,
                                    name="sinkplan-preview")

    def result(self):
        """The preview (waits for the read); raises what the read raised."""
        return self._call.result()

    def cancel(self) -> None:
        """Stop the read at the next tile and wait for it."""
        self._call.cancel()


def write_landcover_preview(
    path: Path,
    lc,
    *,
    max_pixels: int = PREVIEW_MAX_PIXELS,
    max_cells: int = 4 * 1024 * 1024,
    progress: Progress = None,
    computed=None,
) -> Path | None:
    """Write ``lc`` reduced to ≤ ``max_pixels`` pixels (mode of factor × factor blocks) as a COG.

    Codes outside the scheme and nodata become the preview's nodata. Returns ``path``, or
    None (and a log line) when the scheme's codes fit neither uint8 nor uint16. ``computed``:
    the modes already taken (a :class:`sinkplan.sinks.preview.Preview` of the same factor: from
    the counting pass, or :func:`read_landcover_preview` / :class:`PreviewRead` before it), or a
    :class:`PreviewRead`, written instead of reading the raster again.
    """
    from rasterio.windows import Window

    from sinkplan.layers.outputs import BlockWriter
    from sinkplan.layers.parallel import pass_threads, threaded_imap

    if isinstance(computed, PreviewRead):
        computed = computed.result()
    scheme = lc.scheme
    kind = preview_nodata(scheme.codes, lc.nodata)
    if kind is None:
        logger.warning("scheme %s: codes do not fit uint16: no land-cover preview", scheme.name)
        return None
    dtype, nodata = kind
    g = lc.grid
    tiles = _PreviewTiles(lc, max_pixels, max_cells, computed)
    f, nrows, ncols = tiles.f, tiles.nrows, tiles.ncols
    pgrid = Grid(g.crs, g.transform @ Affine.scale(f, f), ncols, nrows)
    keep = np.zeros(max(scheme.codes) + 1, dtype=bool)
    keep[list(scheme.codes)] = True
    cmap = scheme.colormap()
    tags = {"source": Path(lc.path).name, "factor": str(f), "resampling": "mode", "scheme": scheme.name,
            "classes": rs.SCHEME_CSV.name}

    def tile(rc: tuple[int, int]) -> np.ndarray:
        codes, masked = tiles.read(rc)
        ok = ~masked & (codes >= 0) & (codes < keep.size)
        ok[ok] = keep[codes[ok]]
        return np.where(ok, codes, nodata).astype(dtype)

    # GDAL's decimated reads in threads, each with its own dataset and its own run of
    # consecutive tiles (so no two threads decode the same overview tiles).
    threads = 1 if computed is not None or tiles.array is not None else pass_threads()
    k = min(len(tiles.tiles), 4 * threads)
    runs = [tiles.tiles[len(tiles.tiles) * i // k:len(tiles.tiles) * (i + 1) // k] for i in range(k)]
    try:
        with BlockWriter(path, pgrid, dtype, nodata=nodata, resampling="mode", colormap=cmap,
                         tags=tags, band_description="land-cover class (preview)") as out:
            done = 0
            for run, blocks in zip(runs, threaded_imap(lambda run: [tile(rc) for rc in run], runs, threads)):
                for (r, c), block in zip(run, blocks):
                    out.write(block, Window(c, r, block.shape[1], block.shape[0]))
                done += len(run)
                if progress is not None:
                    progress(done / len(tiles.tiles), "land-cover preview")
    finally:
        tiles.close()
    logger.info("land-cover preview: %d × %d px (1/%d of %s)", ncols, nrows, f, lc.path)
    return path


# ------------------------------------------------------------------ per command
def _timed(rf, t0: float) -> None:
    rf.extra_manifest.setdefault("timings_s", {})["map_files"] = time.perf_counter() - t0


def _zones(rf, strata, table, grid: Grid, fs) -> list[Path]:
    if strata.zones_gdf is None:
        return []
    z = zones_layer(strata.zones_gdf, table, grid=grid)
    return [rf.write_gpkg(fs, z)]


def carbon_map_files(rf, *, strata, by_zone: pd.DataFrame, lc, max_cells: int, progress: Progress = None,
                     preview=None) -> list[Path]:
    """zones.gpkg (with the stocks_by_zone figures and density), redline.gpkg, preview (``preview``:
    the one the pass computed or a :class:`PreviewRead` started before it, else read now), scheme."""
    t0 = time.perf_counter()
    table = by_zone.copy()
    if {"stock_mgc", "area_ha"} <= set(table.columns):  # Mg C ÷ ha = Mg C/ha
        table["density_mgc_per_ha"] = table["stock_mgc"] / table["area_ha"].where(table["area_ha"] > 0)
    written = _zones(rf, strata, table, lc.grid, rs.CARBON_ZONES)
    red = getattr(strata, "redline_gdf", None)
    if red is not None:
        written.append(rf.write_gpkg(rs.REDLINE_GPKG, lonlat_layer(red, grid=lc.grid)))
    p = write_landcover_preview(rf.path(rs.LANDCOVER_PREVIEW), lc, max_pixels=PREVIEW_MAX_PIXELS, max_cells=max_cells,
                                progress=progress, computed=preview)
    if p is not None:
        written += [p, rf.write_text(rs.SCHEME_CSV, scheme_csv_text(lc.scheme))]
    _timed(rf, t0)
    return written


def coverage_map_files(rf, *, strata, by_zone: pd.DataFrame, trend_rows: list[dict], grid: Grid) -> list[Path]:
    """zones.gpkg with land area, each year's forest area, coverage and gap, and the trend."""
    t0 = time.perf_counter()
    table = None
    if len(by_zone):
        table = wide_by_year(by_zone, [c for c in ("forest_area_ha", "coverage", "coverage_trees_only", "coverage_all_shrub",
                                                   "gap_ha") if c in by_zone.columns])
        land = by_zone.drop_duplicates("zone")[["zone", "land_area_ha", "land_area_source"]].astype({"zone": str})
        table = land.merge(table, on="zone", how="left")
        if trend_rows:
            table = table.merge(pd.DataFrame(trend_rows).astype({"zone": str}), on="zone", how="left")
    written = _zones(rf, strata, table, grid, rs.COVERAGE_ZONES)
    _timed(rf, t0)
    return written


def change_map_files(rf, *, strata, by_zone: pd.DataFrame | None, grid: Grid) -> list[Path]:
    """zones.gpkg with the change_by_zone figures."""
    t0 = time.perf_counter()
    written = _zones(rf, strata, by_zone, grid, rs.CHANGE_ZONES)
    _timed(rf, t0)
    return written


def restoration_map_files(rf, *, projects, rings, effect: pd.DataFrame, grid: Grid) -> list[Path]:
    """projects.gpkg: the projects with their attributes and effect (layer ``projects``) and
    their control rings (layer ``rings``), so a map shows where each project is and what it did."""
    t0 = time.perf_counter()
    import geopandas as gpd

    base = projects[["project", projects.geometry.name]].copy()
    base["project"] = base["project"].astype(str)
    t = effect.copy()
    t["project"] = t["project"].astype(str)
    base = base.merge(t.drop_duplicates("project"), on="project", how="left", sort=False)
    path = rf.write_gpkg(rs.PROJECTS_GPKG, lonlat_layer(gpd.GeoDataFrame(base, geometry=projects.geometry.name,
                                                                         crs=projects.crs), grid=grid))
    ring_gdf = gpd.GeoDataFrame({"project": base["project"].tolist()}, geometry=list(rings.values), crs=projects.crs)
    lonlat_layer(ring_gdf, grid=grid).to_file(path, driver="GPKG", layer="rings", engine="pyogrio", mode="a")
    _timed(rf, t0)
    return [path]

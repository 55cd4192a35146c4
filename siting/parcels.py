"""Second pass and parcel geometry: final rasters, polygons, compactness, distance to the grid.

After :class:`~sinkplan.siting.components.Joiner` has decided which components are parcels,
:func:`finish_rasters` streams the scratch rasters of the first pass once more: it maps each
block's labels to parcel ids, sets the ``small_parcel`` bit on eligible pixels outside every
parcel, writes ``exclusions.tif``, ``eligible.tif`` (each parcel pixel's own zone code: a
parcel may span zone types) and ``parcels.tif`` and vectorises the
parcels of the block (:func:`rasterio.features.shapes`, 8-connected), blocks in a thread pool,
written and collected in window order. Pieces are traced in
pixel coordinates of the whole grid (integers, exact in floating point), so the pieces of a
parcel cut at block edges share their edges exactly and dissolve into one outline
(:func:`dissolve_pixel_pieces`); only then are they moved to the grid's CRS. A parcel's
outline, perimeter and compactness therefore do not depend on the block size.

Distances are geodesic: the nearest grid feature is found in a region-centred azimuthal
equidistant projection, then the distance between the two nearest points is measured on
the ellipsoid (:func:`distance_to_features_km`). Compactness is Polsby–Popper,
4πA/P², with A the exact parcel area and P the geodesic perimeter of its pixel outline.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial

import numpy as np
import shapely
from affine import Affine
from pyproj import CRS, Transformer
from rasterio import features as rfeatures
from rasterio.windows import Window

from sinkplan.layers.resultspec import eligible_colormap
from sinkplan.layers.geodesy import geod_for
from sinkplan.layers.grid import Grid
from sinkplan.layers.outputs import BlockWriter
from sinkplan.layers.parallel import pass_threads, threaded_imap
from sinkplan.siting.blocks import Rule
from sinkplan.siting.components import Joined
from sinkplan.siting.inputs import ScratchRaster

__all__ = ["finish_rasters", "dissolve_pixel_pieces", "dissolve_all", "compactness", "distance_to_features_km", "nearest_features_km", "region_aeqd", "ELIGIBLE_COLORS"]

#: Colours of eligible.tif: 0 excluded (transparent), 1 desert, 2 border, 3 mine, 4 other — from
#: the result spec, the one source the map legend and the figures use too.
ELIGIBLE_COLORS = eligible_colormap()


@dataclass(frozen=True)
class _Finished:
    """One block of the second pass: its three rasters, the area newly flagged ``small_parcel``
    and its parcel pieces in the order :func:`rasterio.features.shapes` traced them."""

    bits: np.ndarray
    eligible: np.ndarray
    pid: np.ndarray
    small_m2: float
    pieces: list[tuple[int, object]]


def _finish_block(item: tuple[Window, int], *, grid: Grid, lut: np.ndarray, small_bit: int, bits_dtype: str,
                  scratch_bits: ScratchRaster, scratch_labels: ScratchRaster,
                  scratch_zones: ScratchRaster) -> _Finished:
    """Read one block's scratch rasters, map its labels to parcel ids and trace its parcels."""
    w, off = item
    bits = scratch_bits.read(w).astype(bits_dtype, copy=False)
    lab = scratch_labels.read(w)  # this block's own labels 1..k (uint32), 0 background
    top = int(lab.max()) if lab.size else 0
    if top > 0:
        sub = lut[off:off + top + 1].astype(np.uint32)  # label → parcel id for this block (global label off + k)
        sub[0] = 0
        pid = sub[lab]
    else:
        pid = np.zeros(lab.shape, dtype=np.uint32)
    has = pid > 0
    small = (bits == 0) & ~has
    small_m2 = 0.0
    if small.any():
        if grid.is_geographic:
            small_m2 = float(small.sum(axis=1) @ grid.row_areas_m2(w))
        else:
            small_m2 = float(np.asarray(grid.pixel_areas_m2(w))[small].sum())
        np.bitwise_or(bits, bits.dtype.type(1 << small_bit), out=bits, where=small)
    pieces: list[tuple[int, object]] = []
    if has.any():
        eligible = scratch_zones.read(w).astype(np.uint8, copy=False)
        eligible[~has] = 0
        # trace only the rows and columns that hold a parcel pixel; in pixel coordinates of the
        # whole grid (integers), so pieces from two blocks meet exactly
        rows, cols = np.flatnonzero(has.any(axis=1)), np.flatnonzero(has.any(axis=0))
        r0, r1, c0, c1 = int(rows[0]), int(rows[-1]) + 1, int(cols[0]), int(cols[-1]) + 1
        px = Affine(1.0, 0.0, float(w.col_off + c0), 0.0, 1.0, float(w.row_off + r0))
        ids = pid[r0:r1, c0:c1].view(np.int32)  # parcel ids < 2**31: the same bits (shapes takes no uint32)
        pieces = _polygons(rfeatures.shapes(ids, mask=has[r0:r1, c0:c1], connectivity=8, transform=px))
    else:
        eligible = np.zeros(lab.shape, dtype=np.uint8)
    return _Finished(bits, eligible, pid, small_m2, pieces)


def _polygons(traced) -> list[tuple[int, object]]:
    """(value, Polygon) of each GeoJSON polygon :func:`rasterio.features.shapes` yields, built
    in one call over all their rings (``shape()`` per polygon cost 80 µs, most of the tracing)."""
    coords: list = []
    ring_sizes: list[int] = []
    ring_poly: list[int] = []
    values: list[int] = []
    for k, (geom, value) in enumerate(traced):
        for ring in geom["coordinates"]:  # the shell, then the holes
            coords += ring
            ring_sizes.append(len(ring))
            ring_poly.append(k)
        values.append(int(value))
    if not values:
        return []
    rings = shapely.linearrings(np.asarray(coords, dtype=np.float64),
                                indices=np.repeat(np.arange(len(ring_sizes)), ring_sizes))
    return list(zip(values, shapely.polygons(rings, indices=np.asarray(ring_poly)).tolist()))


def finish_rasters(
    grid: Grid, windows: Sequence[Window], joined: Joined, rules: Sequence[Rule],
    bits_dtype: str, small_bit: int, scratch_bits: ScratchRaster, scratch_labels: ScratchRaster,
    scratch_zones: ScratchRaster, *,
    exclusions_path, eligible_path, parcels_path, tags: dict[str, str],
    progress: Callable[[float, str], None] | None = None, threads: int | None = None,
) -> tuple[dict[int, object], float]:
    """Write the final rasters and vectorise parcels (see the module docstring).

    ``scratch_bits``, ``scratch_labels`` and ``scratch_zones`` hold the first pass's
    exclusion bits, local component labels and zone code (0..4) of every pixel.

    Blocks are read, mapped and traced in ``threads`` threads (default
    :func:`~sinkplan.layers.parallel.pass_threads`; GDAL, numpy and GEOS release the GIL);
    the rasters are written, the small-parcel area summed and the pieces collected in window
    order in this thread, so the result does not depend on the thread count.

    Returns
    -------
    geoms : dict parcel id → shapely geometry (grid CRS)
    small_area_m2 : float
        Eligible area outside every parcel (components below the minimum area), now
        flagged ``small_parcel``.
    """
    threads = pass_threads() if threads is None else threads
    pieces: dict[int, list] = defaultdict(list)
    small_area_m2 = 0.0
    legend = {f"bit_{r.bit}": f"{r.name}: {r.description}" for r in rules}
    func = partial(_finish_block, grid=grid, lut=joined.label_to_parcel, small_bit=small_bit, bits_dtype=bits_dtype,
                   scratch_bits=scratch_bits, scratch_labels=scratch_labels, scratch_zones=scratch_zones)
    items = list(zip(windows, joined.offsets))
    with BlockWriter(exclusions_path, grid, bits_dtype, nodata=None, resampling="nearest",
                     tags={**tags, **legend}, band_description="exclusion bit flags") as ex_out, \
         BlockWriter(eligible_path, grid, "uint8", nodata=None, resampling="mode", colormap=ELIGIBLE_COLORS,
                     tags={**tags, "codes": "0 excluded, 1 desert, 2 border, 3 mine, 4 other eligible"},
                     band_description="eligible zone code") as el_out, \
         BlockWriter(parcels_path, grid, "uint32", nodata=None, resampling="nearest",
                     tags={**tags, "values": "parcel_id of parcels.gpkg, 0 none"}, band_description="parcel id") as pa_out:
        done = threaded_imap(func, items, threads, progress=progress, label="writing rasters and parcel outlines")
        for (w, _), res in zip(items, done):  # window order: the same sums and pieces whatever the threads
            small_area_m2 += res.small_m2
            ex_out.write(res.bits, w)
            el_out.write(res.eligible, w)
            pa_out.write(res.pid, w)
            for value, piece in res.pieces:
                pieces[value].append(piece)
    t = grid.transform
    ids = sorted(pieces)
    outlines = dissolve_all([pieces.pop(p) for p in ids])
    outlines = shapely.transform(outlines, lambda xy: np.column_stack(t @ (xy[:, 0], xy[:, 1])))  # pixel → grid CRS
    return dict(zip(ids, outlines.tolist())), small_area_m2


def dissolve_pixel_pieces(parts: list) -> object:
    """One outline from the pieces of a parcel traced in pixel coordinates.

    The pieces meet along shared pixel edges with identical (integer) coordinates, so their
    union has no internal edge left; collinear vertices (where block edges cut an outline)
    are removed and the result normalised, so the outline is the same whatever the blocks.

    Examples
    --------
    >>> from shapely.geometry import box
    >>> g = dissolve_pixel_pieces([box(0, 0, 2, 1), box(2, 0, 3, 1)])
    >>> g.geom_type, g.length  # one 3 × 1 rectangle, perimeter 8
    ('Polygon', 8.0)
    """
    g = parts[0] if len(parts) == 1 else shapely.union_all(parts)
    if not shapely.is_valid(g):
        g = shapely.make_valid(g)
    return shapely.normalize(shapely.simplify(g, 0.0, preserve_topology=True))


def dissolve_all(parcels: Sequence[list]) -> np.ndarray:
    """:func:`dissolve_pixel_pieces` of each parcel's pieces, the same outlines, with the
    validity check, simplification and normalisation run once over all parcels (most parcels
    are one piece: no union is needed for them).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> [g.area for g in dissolve_all([[box(0, 0, 2, 1), box(2, 0, 3, 1)], [box(5, 5, 6, 6)]])]
    [3.0, 1.0]
    """
    out = np.empty(len(parcels), dtype=object)
    for k, parts in enumerate(parcels):
        out[k] = parts[0] if len(parts) == 1 else shapely.union_all(parts)
    if len(out) == 0:
        return out
    bad = ~shapely.is_valid(out)
    if bad.any():
        out[bad] = shapely.make_valid(out[bad])
    return shapely.normalize(shapely.simplify(out, 0.0, preserve_topology=True))


def _to_lonlat(geoms: np.ndarray, crs: CRS) -> np.ndarray:
    if crs.is_geographic:
        return geoms
    tr = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
    return shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def compactness(geoms: np.ndarray, area_m2: np.ndarray, crs: CRS) -> tuple[np.ndarray, np.ndarray]:
    """Polsby–Popper compactness 4πA/P² and geodesic perimeter P (m) of each geometry."""
    ll = _to_lonlat(np.asarray(geoms, dtype=object), crs)
    geod = geod_for(crs.geodetic_crs if not crs.is_geographic else crs)
    per = np.array([abs(geod.geometry_area_perimeter(g)[1]) for g in ll])
    with np.errstate(divide="ignore", invalid="ignore"):
        pp = np.where(per > 0, 4.0 * math.pi * np.asarray(area_m2) / per ** 2, np.nan)
    return pp, per


def region_aeqd(grid: Grid) -> CRS:
    """Azimuthal equidistant CRS centred on the grid (metres) on the grid's ellipsoid."""
    l, b, r, t = grid.bounds
    tr = Transformer.from_crs(grid.crs, grid.crs.geodetic_crs, always_xy=True)
    lon, lat = tr.transform((l + r) / 2, (b + t) / 2)
    return CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +ellps=WGS84 +units=m +no_defs")


def to_crs(geoms: np.ndarray, src: CRS, dst: CRS) -> np.ndarray:
    """Geometries transformed vertex by vertex."""
    tr = Transformer.from_crs(src, dst, always_xy=True)
    return shapely.transform(np.asarray(geoms, dtype=object), lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))


def distance_to_features_km(geoms: np.ndarray, features: np.ndarray, crs: CRS, aeqd: CRS) -> np.ndarray:
    """Geodesic distance (km) from each geometry to the nearest feature (0 when touching).

    Both are in ``crs``. The nearest feature and the nearest pair of points are found in
    ``aeqd``; their distance is then measured on the ellipsoid.
    """
    out = np.full(len(geoms), np.nan)
    if len(geoms) == 0 or len(features) == 0:
        return out
    gm = to_crs(geoms, crs, aeqd)
    fm = to_crs(features, crs, aeqd)
    tree = shapely.STRtree(fm)
    gi, fi = tree.query_nearest(gm, all_matches=False)
    lines = shapely.shortest_line(gm[gi], fm[fi])
    xy = shapely.get_coordinates(lines).reshape(-1, 2, 2)
    inv = Transformer.from_crs(aeqd, aeqd.geodetic_crs, always_xy=True)
    lon1, lat1 = inv.transform(xy[:, 0, 0], xy[:, 0, 1])
    lon2, lat2 = inv.transform(xy[:, 1, 0], xy[:, 1, 1])
    geod = geod_for(crs.geodetic_crs if not crs.is_geographic else crs)
    _, _, d = geod.inv(lon1, lat1, lon2, lat2)
    out[gi] = np.where(shapely.intersects(gm[gi], fm[fi]), 0.0, d / 1000.0)  # m → km
    return out


def nearest_features_km(geoms: np.ndarray, features: np.ndarray, crs: CRS, aeqd: CRS) -> tuple[np.ndarray, np.ndarray]:
    """Geodesic distance (km) from each geometry to its nearest feature, and that feature's index (−1: none)."""
    out = np.full(len(geoms), np.nan)
    idx = np.full(len(geoms), -1, dtype=np.int64)
    if len(geoms) == 0 or len(features) == 0:
        return out, idx
    gm = to_crs(geoms, crs, aeqd)
    fm = to_crs(features, crs, aeqd)
    gi, fi = shapely.STRtree(fm).query_nearest(gm, all_matches=False)
    lines = shapely.shortest_line(gm[gi], fm[fi])
    xy = shapely.get_coordinates(lines).reshape(-1, 2, 2)
    inv = Transformer.from_crs(aeqd, aeqd.geodetic_crs, always_xy=True)
    lon1, lat1 = inv.transform(xy[:, 0, 0], xy[:, 0, 1])
    lon2, lat2 = inv.transform(xy[:, 1, 0], xy[:, 1, 1])
    geod = geod_for(crs.geodetic_crs if not crs.is_geographic else crs)
    _, _, d = geod.inv(lon1, lat1, lon2, lat2)
    out[gi] = np.where(shapely.intersects(gm[gi], fm[fi]), 0.0, d / 1000.0)  # m → km
    idx[gi] = fi
    return out, idx

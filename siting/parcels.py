"""Second pass and parcel geometry: final rasters, polygons, compactness, distance to the grid.

After :class:`~sinkplan.siting.components.Joiner` has decided which components are parcels,
:func:`finish_rasters` streams the scratch rasters of the first pass once more: it maps each
block's labels to parcel ids, sets the ``small_parcel`` bit on eligible pixels outside every
parcel, writes ``exclusions.tif``, ``eligible.tif`` (each parcel pixel's own zone code: a
parcel may span zone types) and ``parcels.tif`` and vectorises the
parcels of the block (:func:`rasterio.features.shapes`, 8-connected). Pieces are traced in
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

import numpy as np
import shapely
from affine import Affine
from pyproj import CRS, Transformer
from rasterio import features as rfeatures
from rasterio.windows import Window
from shapely.geometry import shape

from sinkplan.layers.resultspec import eligible_colormap
from sinkplan.layers.geodesy import geod_for
from sinkplan.layers.grid import Grid
from sinkplan.layers.outputs import BlockWriter
from sinkplan.siting.blocks import Rule
from sinkplan.siting.components import Joined
from sinkplan.siting.inputs import ScratchRaster

__all__ = ["finish_rasters", "dissolve_pixel_pieces", "compactness", "distance_to_features_km", "nearest_features_km", "region_aeqd", "ELIGIBLE_COLORS"]

#: Colours of eligible.tif: 0 excluded (transparent), 1 desert, 2 border, 3 mine, 4 other — from
#: the result spec, the one source the map legend and the figures use too.
ELIGIBLE_COLORS = eligible_colormap()


def finish_rasters(
    grid: Grid, windows: Sequence[Window], joined: Joined, rules: Sequence[Rule],
    bits_dtype: str, small_bit: int, scratch_bits: ScratchRaster, scratch_labels: ScratchRaster,
    scratch_zones: ScratchRaster, *,
    exclusions_path, eligible_path, parcels_path, tags: dict[str, str],
    progress: Callable[[float, str], None] | None = None,
) -> tuple[dict[int, object], float]:
    """Write the final rasters and vectorise parcels (see the module docstring).

    ``scratch_bits``, ``scratch_labels`` and ``scratch_zones`` hold the first pass's
    exclusion bits, local component labels and zone code (0..4) of every pixel.

    Returns
    -------
    geoms : dict parcel id → shapely geometry (grid CRS)
    small_area_m2 : float
        Eligible area outside every parcel (components below the minimum area), now
        flagged ``small_parcel``.
    """
    lut = joined.label_to_parcel
    pieces: dict[int, list] = defaultdict(list)
    small_area_m2 = 0.0
    legend = {f"bit_{r.bit}": f"{r.name}: {r.description}" for r in rules}
    with BlockWriter(exclusions_path, grid, bits_dtype, nodata=None, resampling="nearest",
                     tags={**tags, **legend}, band_description="exclusion bit flags") as ex_out, \
         BlockWriter(eligible_path, grid, "uint8", nodata=None, resampling="mode", colormap=ELIGIBLE_COLORS,
                     tags={**tags, "codes": "0 excluded, 1 desert, 2 border, 3 mine, 4 other eligible"},
                     band_description="eligible zone code") as el_out, \
         BlockWriter(parcels_path, grid, "uint32", nodata=None, resampling="nearest",
                     tags={**tags, "values": "parcel_id of parcels.gpkg, 0 none"}, band_description="parcel id") as pa_out:
        for i, (w, off) in enumerate(zip(windows, joined.offsets)):
            bits = scratch_bits.read(w)
            lab = scratch_labels.read(w).astype(np.int64)
            pid = np.where(lab > 0, lut[np.where(lab > 0, lab + off, 0)], 0)
            small = (bits == 0) & (pid == 0)
            if small.any():
                if grid.is_geographic:
                    small_area_m2 += float(small.sum(axis=1) @ grid.row_areas_m2(w))
                else:
                    small_area_m2 += float(np.asarray(grid.pixel_areas_m2(w))[small].sum())
                bits = bits | np.where(small, 1 << small_bit, 0).astype(bits.dtype)
            eligible = np.where(pid > 0, scratch_zones.read(w), 0).astype(np.uint8)
            ex_out.write(bits.astype(bits_dtype), w)
            el_out.write(eligible, w)
            pa_out.write(pid.astype(np.uint32), w)
            if (pid > 0).any():
                # pixel coordinates of the whole grid: integers, so pieces from two blocks meet exactly
                px = Affine(1.0, 0.0, float(w.col_off), 0.0, 1.0, float(w.row_off))
                for geom, value in rfeatures.shapes(pid.astype(np.int32), mask=pid > 0, connectivity=8, transform=px):
                    pieces[int(value)].append(shape(geom))
            if progress:
                progress((i + 1) / len(windows), "writing rasters and parcel outlines")
    t = grid.transform
    to_crs_ = lambda xy: np.column_stack(t @ (xy[:, 0], xy[:, 1]))  # noqa: E731
    geoms = {p: shapely.transform(dissolve_pixel_pieces(pieces.pop(p)), to_crs_) for p in sorted(pieces)}
    return geoms, small_area_m2


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

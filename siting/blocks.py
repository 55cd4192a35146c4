"""The screen's first pass over one block: exclusion bits, zone of interest, local parcels.

:func:`screen_block` is a module-level function of a picklable :class:`ScreenSpec` and a
window, so it runs in this process or on Dask (:mod:`sinkplan.layers.parallel`). For one block it

1. reads land cover with a halo of ``ceil(largest land-cover buffer / pixel size) + 1``
   pixels, sets one bit per rule (:class:`Rule`) in a uint16/uint32 array: nodata,
   excluded groups/codes, Euclidean buffers around groups (:func:`~sinkplan.siting.geometry.within_distance`),
   vector layers with their buffers in metres, slope above the limit, DEM nodata, outside
   every zone of interest;
2. gives each pixel the enabled zone of interest of highest priority (1 desert, 2 border,
   3 mine, 4 other);
3. labels 8-connected components of eligible pixels, whatever their zone code (a parcel is
   connected eligible land; a desert strip touching a border strip is one parcel), with
   exact pixel areas per zone code, carbon at stake, slope and admin-zone areas per
   component. Components that touch no block edge and are below the minimum parcel area
   are dropped here (they cannot grow); the others are joined across block edges later
   (:mod:`sinkplan.siting.components`).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import shapely
from affine import Affine
from pyproj import Transformer
from rasterio import features as rfeatures
from rasterio.windows import Window
from scipy import ndimage

from sinkplan.layers.grid import Grid
from sinkplan.layers.zones import ZoneRasterizer
from sinkplan.siting.geometry import buffer_geometries, metres_to_crs_units, row_metric, slope_deg, within_distance
from sinkplan.siting.inputs import GeomLayer, LayerStore, haloed, pad_to, read_codes, read_dem

__all__ = ["Rule", "ZoneSpec", "ScreenSpec", "BlockResult", "screen_block", "vector_mask", "local_components"]

#: 8-connectivity.
EIGHT = np.ones((3, 3), dtype=bool)


@dataclass(frozen=True)
class Rule:
    """One exclusion rule and its bit in ``exclusions.tif`` (value ``1 << bit``)."""

    name: str
    bit: int
    description: str

    @property
    def value(self) -> int:
        return 1 << self.bit


@dataclass(frozen=True)
class ZoneSpec:
    """A zone of interest: its eligible code and how its mask is made."""

    code: int
    kind: str  # desert | border | mine
    priority: float
    layer: str | None = None  # vector layer name in the store
    buffer_m: float = 0.0
    lc_lut: np.ndarray | None = field(default=None, compare=False)  # desert: code → in zone


@dataclass(frozen=True)
class ScreenSpec:
    """Everything a block needs; small and picklable (paths, lookup tables, rules)."""

    grid: Grid
    landcover: str
    nodata_codes: tuple[int, ...]
    group_lut: np.ndarray
    lc_bits_lut: np.ndarray
    lc_buffers: tuple[tuple[int, np.ndarray, float], ...]
    vector_rules: tuple[tuple[str, int, float], ...]
    zones: tuple[ZoneSpec, ...]
    other_enabled: bool
    density_lut: np.ndarray
    min_area_m2: float
    bits_dtype: str
    nodata_bit: int
    outside_bit: int
    dem: str | None = None
    dem_same_grid: bool = True
    max_slope_deg: float = 90.0
    slope_bit: int = 0
    dem_nodata_bit: int = 0
    store: LayerStore | None = None
    admin: ZoneRasterizer | None = None
    keep_rasters: bool = True
    nbits: int = 16
    edt_strips: tuple = ()
    #: Bit set where a pixel lies outside every --zones unit (the study area); None: no zones.
    outside_admin_bit: int | None = None

    @property
    def halo_px(self) -> int:
        """Halo (pixels) that the land-cover buffers need: largest radius ÷ smallest pixel side."""
        if not self.lc_buffers:
            return 0
        g = self.grid
        if g.is_geographic:  # the column width is smallest on the row nearest a pole
            ends = (row_metric(g, 0, 1).dx_m[0], row_metric(g, g.height - 1, 1).dx_m[0])
            px_m = min(min(ends), abs(g.transform.e) * 110_574.0)  # 110 574 m: a degree of latitude at the equator
        else:
            unit = g.crs.axis_info[0].unit_conversion_factor if g.crs.axis_info else 1.0
            px_m = min(g.res) * unit / 1.02  # allow a projection scale factor up to 1.02
        r = max(b[2] for b in self.lc_buffers)
        return int(math.ceil(r / px_m)) + 1


@dataclass
class BlockResult:
    """What :func:`screen_block` returns for one window."""

    window: Window
    bits: np.ndarray | None
    labels: np.ndarray | None
    n_labels: int
    zone_area_m2: np.ndarray  # (n + 1, 4): area per zone code 1..4 of each local label (row 0 unused)
    area_m2: np.ndarray
    pixels: np.ndarray
    slope_sum: np.ndarray  # Σ slope × area over pixels with a slope
    slope_area_m2: np.ndarray
    slope_max: np.ndarray
    stock_mgc: np.ndarray
    first_px: np.ndarray  # row-major grid index of each label's first pixel
    admin: np.ndarray  # (k, 3) rows: local label, admin zone id, area m²
    edges: tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]  # top, bottom, left, right labels
    bit_area_m2: np.ndarray  # area with each bit set, (nbits,)
    eligible_area_m2: np.ndarray  # by zone code 0..4 before the parcel-size filter (0 = excluded)
    total_area_m2: float
    unknown: dict[int, int]
    #: Zone code of each pixel (0 excluded), kept for eligible.tif when rasters are kept.
    zone: np.ndarray | None = None


def _lut_index(raw: np.ndarray, size: int) -> np.ndarray:
    """Codes as indices into lookup tables of ``size`` entries; the last entry is the bucket
    for negative or too large codes (unknown in every table)."""
    idx = raw.astype(np.intp)
    idx[(idx < 0) | (idx >= size - 1)] = size - 1
    return idx


def _masked_area(mask: np.ndarray, areas: np.ndarray, row_areas: np.ndarray | None) -> float:
    if row_areas is not None:
        return float(mask.sum(axis=1) @ row_areas)
    return float(areas[mask].sum())


#: Side (pixels) of the grid-anchored tiles whose centres the local buffer projections use.
BUFFER_TILE = 512


def _burn(geoms: np.ndarray, grid: Grid, window: Window) -> np.ndarray:
    """Pixel-centre rasterization of geometries (grid CRS) into a window, as a bool mask.

    Geometries are moved to the grid's pixel frame first and the window is an integer shift
    of it, so a pixel's answer does not depend on which window it is rasterized in.
    """
    h, w = int(window.height), int(window.width)
    inv = ~grid.transform
    pix = shapely.transform(geoms, lambda xy: np.column_stack(inv @ (xy[:, 0], xy[:, 1])) * np.array([1.0, -1.0]))
    c, r = int(window.col_off), int(window.row_off)
    burned = rfeatures.rasterize(((g, 1) for g in pix), out_shape=(h, w), fill=0, all_touched=False, dtype="uint8",
                                 transform=Affine(1.0, 0.0, float(c), 0.0, -1.0, -float(r)))
    return burned.astype(bool)


def vector_mask(layer: GeomLayer | None, buffer_m: float, grid: Grid, window: Window) -> np.ndarray:
    """Pixels of ``window`` whose centre lies inside the layer or within ``buffer_m`` metres of it.

    Buffers are made in an azimuthal equidistant projection centred on each grid-anchored
    tile of :data:`BUFFER_TILE` pixels the window meets (true metres to ~1e-5 within a tile
    and its buffer, and the same for a pixel whatever block it is in).
    """
    h, w = int(window.height), int(window.width)
    out = np.zeros((h, w), dtype=bool)
    if layer is None:
        return out
    px_x, px_y = grid.res
    r0, c0 = int(window.row_off), int(window.col_off)
    if buffer_m <= 0:
        l, b, r, t = grid.window_bounds(window)
        geoms = layer.near((l - 2 * px_x, b - 2 * px_y, r + 2 * px_x, t + 2 * px_y))
        return _burn(geoms, grid, window) if geoms.size else out
    T = BUFFER_TILE
    tr = Transformer.from_crs(grid.crs, grid.crs.geodetic_crs, always_xy=True)
    for tr0 in range(r0 // T * T, r0 + h, T):
        for tc0 in range(c0 // T * T, c0 + w, T):
            sr0, sc0 = max(r0, tr0), max(c0, tc0)
            sr1, sc1 = min(r0 + h, tr0 + T, grid.height), min(c0 + w, tc0 + T, grid.width)
            sub = Window(sc0, sr0, sc1 - sc0, sr1 - sr0)
            l, b, r, t = grid.window_bounds(sub)
            mx, my = metres_to_crs_units(grid, buffer_m, (l, b, r, t))
            mx, my = mx + 2 * px_x, my + 2 * px_y
            geoms = layer.near((l - mx, b - my, r + mx, t + my))
            if geoms.size == 0:
                continue
            cx, cy = grid.transform @ (tc0 + T / 2, tr0 + T / 2)
            lon, lat = tr.transform(cx, cy)
            met = row_metric(grid, min(tr0 + T // 2, grid.height - 1), 2)
            px_m = float(min(met.dx_m[0], abs(met.y_m[0] - met.y_m[1])))
            geoms = buffer_geometries(geoms, buffer_m, grid.crs, (lon, lat), step_m=4 * px_m,
                                      step_crs=4 * min(px_x, px_y))
            out[sr0 - r0:sr1 - r0, sc0 - c0:sc1 - c0] |= _burn(geoms, grid, sub)
    return out


def _zone_codes(spec: ScreenSpec, codes: np.ndarray, valid: np.ndarray, window: Window) -> np.ndarray:
    zone = np.zeros(codes.shape, dtype=np.uint8)
    if spec.other_enabled:
        zone[valid] = 4
    # drawn by increasing priority, so the highest wins; ties: mine > border > desert
    for z in sorted(spec.zones, key=lambda z: (z.priority, z.code)):
        if z.kind == "desert":
            m = np.zeros(codes.shape, bool) if z.lc_lut is None else z.lc_lut[codes]
            if z.layer is not None:
                m |= vector_mask(spec.store.get(z.layer), 0.0, spec.grid, window)
        else:
            m = vector_mask(spec.store.get(z.layer), z.buffer_m, spec.grid, window)
        zone[m & valid] = z.code
    return zone


def screen_block(spec: ScreenSpec, window: Window) -> BlockResult:
    """Exclusions, zones and local parcels of one block (see the module docstring)."""
    g = spec.grid
    halo = spec.halo_px
    hw, core = haloed(g, window, halo)
    raw_h = read_codes(spec.landcover, hw)
    codes_h = _lut_index(raw_h, len(spec.group_lut))
    codes = codes_h[core]
    h, w = codes.shape
    raw = raw_h[core]
    nod = np.zeros(codes.shape, bool)
    for nd in spec.nodata_codes:
        nod |= raw == nd
    grp = spec.group_lut[codes]
    unknown_mask = (grp < 0) & ~nod
    unknown = {}
    if unknown_mask.any():
        vals, cnt = np.unique(raw[unknown_mask], return_counts=True)
        unknown = {int(v): int(c) for v, c in zip(vals, cnt)}
    valid = ~nod & ~unknown_mask
    bits = spec.lc_bits_lut[codes].astype(spec.bits_dtype)
    bits[~valid] = 1 << spec.nodata_bit
    if spec.lc_buffers and valid.any():
        metric = row_metric(g, int(hw.row_off), int(hw.height), col_centre=int(hw.col_off) + hw.width / 2)
        for bit, lut, radius in spec.lc_buffers:
            near = within_distance(lut[codes_h], radius, metric, core=core, strips=spec.edt_strips or None)
            bits[near & valid] |= 1 << bit
    for name, bit, buf in spec.vector_rules:
        m = vector_mask(spec.store.get(name), buf, g, window)
        bits[m & valid] |= 1 << bit
    slope = None
    if spec.dem is not None:
        sw, score_ = haloed(g, window, 1)
        z = pad_to(read_dem(spec.dem, g, sw, same_grid=spec.dem_same_grid), sw, score_, 1)
        slope = slope_deg(z, row_metric(g, int(window.row_off) - 1, h + 2, col_centre=int(window.col_off) + w / 2))
        bits[(slope > spec.max_slope_deg) & valid] |= 1 << spec.slope_bit
        bits[~np.isfinite(slope) & valid] |= 1 << spec.dem_nodata_bit
    zid = spec.admin.rasterize(window) if spec.admin is not None else None
    if zid is not None and spec.outside_admin_bit is not None:
        bits[(zid == 0) & valid] |= 1 << spec.outside_admin_bit
    zone = _zone_codes(spec, codes, valid, window)
    if not spec.other_enabled:
        bits[(zone == 0) & valid] |= 1 << spec.outside_bit
    eligible = np.where(bits == 0, zone, 0).astype(np.uint8)

    # ---------------------------------------------------------------- areas and labels
    row_areas = g.row_areas_m2(window) if g.is_geographic else None
    areas = g.pixel_areas_m2(window)
    bit_area = np.array([_masked_area((bits >> b) & 1 == 1, areas, row_areas) if (bits >> b & 1).any() else 0.0
                         for b in range(spec.nbits)])
    elig_area = np.array([_masked_area(eligible == z, areas, row_areas) if z else 0.0 for z in range(5)])
    total = float(row_areas.sum() * w) if row_areas is not None else float(areas.sum())
    density = spec.density_lut[codes]
    comp = local_components(eligible, areas=np.ascontiguousarray(areas), density_mgc_per_ha=density, slope=slope,
                            min_area_m2=spec.min_area_m2, admin_ids=zid,
                            n_admin=spec.admin.n_zones if spec.admin is not None else 0,
                            inner_edges=(int(window.row_off) > 0, int(window.row_off) + h < g.height,
                                         int(window.col_off) > 0, int(window.col_off) + w < g.width),
                            origin=(int(window.row_off), int(window.col_off)), grid_width=g.width)
    labels = comp.pop("labels")
    keep = spec.keep_rasters
    return BlockResult(
        window=window, bits=bits if keep else None, labels=labels if keep else None,
        **comp, bit_area_m2=bit_area, eligible_area_m2=elig_area, total_area_m2=total, unknown=unknown,
        zone=eligible if keep else None,
    )


def local_components(eligible: np.ndarray, *, areas: np.ndarray, density_mgc_per_ha: np.ndarray | None = None,
                     slope: np.ndarray | None = None, min_area_m2: float = 0.0, admin_ids: np.ndarray | None = None,
                     n_admin: int = 0, inner_edges: tuple[bool, bool, bool, bool] = (True, True, True, True),
                     origin: tuple[int, int] = (0, 0), grid_width: int | None = None) -> dict:
    """8-connected components of eligible (non-zero) pixels in one block, with their statistics.

    Pixels of different zone codes join: a component is connected eligible land, and keeps
    its area per zone code (``zone_area_m2``) so its parts can be accounted for exactly.
    Components that touch no inner block edge (top, bottom, left, right as flagged in
    ``inner_edges``) and are smaller than ``min_area_m2`` are dropped (label 0); the kept
    ones are numbered 1..n in label order.

    Parameters
    ----------
    eligible : ndarray of uint8, shape (h, w)
        Zone code of each eligible pixel, 0 elsewhere.
    areas : ndarray of float64, shape (h, w)
        Pixel areas in m².
    density_mgc_per_ha, slope : ndarray, optional
        Carbon density at stake (Mg C/ha) and slope (degrees) per pixel.

    Returns
    -------
    dict
        ``labels`` (int32, h × w), ``n_labels``, and per label 0..n: ``zone_area_m2`` (rows
        of 4: m² of zone codes 1..4, i.e. desert, border, mine, other), ``area_m2``,
        ``pixels``, ``slope_sum``, ``slope_area_m2``, ``slope_max``, ``stock_mgc``, ``first_px``
        (row-major index in the grid of the first pixel; ``origin`` is the block's (row, col)
        and ``grid_width`` the grid's width); ``admin``
        rows (label, admin id, m²); ``edges`` (top, bottom, left, right label lines).

    Examples
    --------
    >>> e = np.array([[1, 0, 1], [0, 1, 0], [2, 0, 0]], dtype=np.uint8)
    >>> c = local_components(e, areas=np.full((3, 3), 100.0))
    >>> c["n_labels"], c["area_m2"].tolist()  # the diagonal 1s and the 2 are one component of 4 px
    (1, [0.0, 400.0])
    >>> c["zone_area_m2"][1].tolist()  # 3 px of code 1, 1 px of code 2
    [300.0, 100.0, 0.0, 0.0]
    """
    h, w = eligible.shape
    lab, n = ndimage.label(eligible > 0, structure=EIGHT)
    labels = lab.astype(np.int32, copy=False)
    flat = labels.ravel()
    nz = np.flatnonzero(flat)  # pixels in a component
    a = np.broadcast_to(areas, (h, w)).ravel()
    area = np.bincount(flat, weights=a, minlength=n + 1)
    # area per (label, zone code): one bincount over the combined key label × 5 + code
    zkey = flat.astype(np.int64) * 5 + np.minimum(eligible.ravel(), 4)
    zone_area = np.bincount(zkey, weights=a, minlength=(n + 1) * 5).reshape(n + 1, 5)[:, 1:]
    pixels = np.bincount(flat, minlength=n + 1)
    if density_mgc_per_ha is not None:
        # Mg C/ha × ha = Mg C (pixel area m² / 10 000 = ha)
        stock = np.bincount(flat, weights=np.ravel(density_mgc_per_ha) * a / 1e4, minlength=n + 1)
    else:
        stock = np.zeros(n + 1)
    if slope is not None and n:
        fin = np.isfinite(slope).ravel()
        s = np.where(fin, slope.ravel(), 0.0)
        slope_sum = np.bincount(flat, weights=s * a, minlength=n + 1)
        slope_area = np.bincount(flat, weights=a * fin, minlength=n + 1)
        mx = np.full(n + 1, -np.inf)
        np.fmax.at(mx, flat[nz], slope.ravel()[nz])  # NaN slopes are ignored by fmax
        smax = np.where(np.isfinite(mx), mx, np.nan)
    else:
        slope_sum = slope_area = np.zeros(n + 1)
        smax = np.full(n + 1, np.nan)
    # keep components that can still grow across an inner block edge, or are large enough
    on_edge = np.zeros(n + 1, bool)
    for line, inner in zip((labels[0], labels[-1], labels[:, 0], labels[:, -1]), inner_edges):
        if inner:
            on_edge[line] = True
    keep = (area >= min_area_m2) | on_edge
    keep[0] = False
    area[0] = stock[0] = pixels[0] = 0  # label 0 is the background, not a component
    zone_area[0] = 0
    new = np.zeros(n + 1, dtype=np.int32)
    new[keep] = np.arange(1, int(keep.sum()) + 1, dtype=np.int32)
    labels = new[labels]
    sel = np.concatenate([[0], np.flatnonzero(keep)])
    first = np.zeros(n + 1, dtype=np.int64)  # first occurrence (row-major) of each label
    if n:
        f1 = np.full(n + 1, flat.size, dtype=np.int64)
        np.minimum.at(f1, flat[nz], nz)
        first[1:] = f1[1:]
    gw = w if grid_width is None else grid_width
    first_px = (origin[0] + first // w) * gw + origin[1] + first % w
    admin = np.zeros((0, 3))
    if admin_ids is not None and len(sel) > 1:
        m = labels > 0
        key = labels[m].astype(np.int64) * (n_admin + 1) + admin_ids[m]
        uk, inv = np.unique(key, return_inverse=True)
        za = np.bincount(inv, weights=np.broadcast_to(areas, (h, w))[m])
        admin = np.column_stack([uk // (n_admin + 1), uk % (n_admin + 1), za])
    return {
        "labels": labels, "n_labels": int(len(sel) - 1), "zone_area_m2": zone_area[sel],
        "area_m2": area[sel], "pixels": pixels[sel].astype(np.int64), "slope_sum": slope_sum[sel],
        "slope_area_m2": slope_area[sel], "slope_max": smax[sel], "stock_mgc": stock[sel], "admin": admin,
        "first_px": first_px[sel].astype(np.int64),
        "edges": (labels[0].copy(), labels[-1].copy(), labels[:, 0].copy(), labels[:, -1].copy()),
    }

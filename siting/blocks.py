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

The per-pixel loops (slope, PV density, flag areas, every per-component sum) are compiled
(:mod:`sinkplan.siting.kernels`, numba, releasing the GIL), so ``pass_threads()`` blocks run
at once in one process (:func:`sinkplan.layers.parallel.map_blocks`).
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
from sinkplan.siting.geometry import (buffer_geometries, metres_to_crs_units, north_angle, row_metric, slope_and_descent,
                                     within_distance)
from sinkplan.siting.kernels import (flag_areas, label_admin_areas, label_class_areas, label_product_sum, label_stats,
                                     label_sum, renumber_first)
from sinkplan.siting.inputs import (GeomLayer, LayerStore, check_resource, haloed, pad_to, read_codes, read_dem,
                                    read_values)

__all__ = ["Rule", "ZoneSpec", "ScreenSpec", "BlockResult", "screen_block", "vector_mask", "local_components",
           "pixel_latitudes"]

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
    #: Capacity per pixel: MW/km² of ground, or (with ``layout``, a PvLayout) the row-spacing rule.
    density_mw_per_km2: float = 0.0
    layout: object | None = None
    #: North-facing slopes: bit and the steepest north–south descent allowed (degrees).
    north_bit: int | None = None
    max_north_slope_deg: float = 90.0
    #: TD/T 1075-2023 terrain classes: (class I max slope, class II max slope, class II max relief m).
    terrain: tuple[float, float, float] | None = None
    relief_px: int = 0
    #: Shrub rule: (bit, code → shrubland, max precipitation mm, max cover fraction, cover raster scale).
    shrub: tuple | None = None
    #: Border-belt presumption: (bit, code → forest or shrub, store layer of features graded not Class I or None).
    border_class1: tuple | None = None
    #: Rasters read per block: name → (path, same grid); names ghi, pvout, wind_speed,
    #: weibull_k, precipitation, shrub_cover, claimed.
    rasters: tuple[tuple[str, str, bool], ...] = ()
    pv_table: object | None = None
    wind_table: object | None = None
    wind_k: float = 2.0
    #: Bit for land already taken by another technology's parcels (``claimed`` raster > 0).
    claimed_bit: int | None = None
    #: (rows, columns) of one maximum-size cell; parcels never cross cell lines. None: no limit.
    cells: tuple[int, int] | None = None

    def raster(self, name: str) -> tuple[str, bool] | None:
        for n, path, same in self.rasters:
            if n == name:
                return path, same
        return None

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
    #: Per label: sums of per-pixel values (capacity_mw, energy_mwh_per_yr, area_m2_terrain_1..3, ...).
    sums: dict = field(default_factory=dict)


def _lut_index(raw: np.ndarray, size: int) -> np.ndarray:
    """Codes as indices into lookup tables of ``size`` entries; the last entry is the bucket
    for negative or too large codes (unknown in every table)."""
    if raw.dtype.kind == "u" and size - 1 <= np.iinfo(raw.dtype).max:
        return np.minimum(raw, raw.dtype.type(size - 1))  # stays uint8/uint16: a quarter of intp's bytes
    idx = raw.astype(np.intp)
    idx[(idx < 0) | (idx >= size - 1)] = size - 1
    return idx


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


def _zone_codes(spec: ScreenSpec, codes: np.ndarray, valid: np.ndarray, window: Window,
                masks: dict | None = None) -> np.ndarray:
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
        if masks is not None:
            masks[z.kind] = m
        zone[m & valid] = z.code
    return zone


def pixel_latitudes(grid: Grid, window: Window, *, spacing_m: float = 5000.0) -> np.ndarray:
    """Latitude (degrees) of each pixel centre of ``window``.

    On a lon/lat grid one value per row, exact (shape (h, 1)). On a projected grid a row is not
    a parallel (an Albers row 1 000 km from the central meridian of Inner Mongolia's CLCD grid
    runs about a degree of latitude away from it), so the latitude is exact at columns about
    ``spacing_m`` apart (and the last) and linear between them (shape (h, w)); over 5 km the
    linear error is below 1e-5°.
    """
    h, w = int(window.height), int(window.width)
    r0, c0 = int(window.row_off), int(window.col_off)
    t = grid.transform
    rows = np.arange(r0, r0 + h, dtype=np.float64) + 0.5
    if grid.is_geographic:
        return (t.f + rows * t.e)[:, None]
    unit = grid.crs.axis_info[0].unit_conversion_factor if grid.crs.axis_info else 1.0
    step = max(1, int(spacing_m // max(abs(t.a) * unit, 1e-9)))
    cs = np.unique(np.r_[np.arange(0, w, step), w - 1])
    xs, ys = np.meshgrid(t.c + (c0 + cs + 0.5) * t.a, t.f + rows * t.e)
    tr = Transformer.from_crs(grid.crs, grid.crs.geodetic_crs, always_xy=True)
    lat_s = np.asarray(tr.transform(xs, ys)[1]).reshape(h, len(cs))
    if len(cs) == 1:
        return lat_s
    j = np.arange(w)
    k = np.clip(np.searchsorted(cs, j, side="right") - 1, 0, len(cs) - 2)
    f = (j - cs[k]) / (cs[k + 1] - cs[k])
    return lat_s[:, k] * (1.0 - f) + lat_s[:, k + 1] * f


def terrain_class(slope: np.ndarray, relief: np.ndarray | None, limits: tuple[float, float, float]) -> np.ndarray:
    """TD/T 1075-2023 terrain class per pixel: 1 (slope ≤ Ⅰ limit), 2 (slope ≤ Ⅱ limit and
    relief < Ⅱ relief limit), 3 otherwise; 0 where the slope is unknown.

    Examples
    --------
    >>> terrain_class(np.array([2.0, 10.0, 10.0, 25.0, np.nan]), np.array([50, 50, 250, 50, 0.0]), (3, 20, 200)).tolist()
    [1, 2, 3, 3, 0]
    """
    i_max, ii_max, ii_relief = limits
    r = np.zeros_like(slope) if relief is None else relief
    out = np.full(slope.shape, 3, dtype=np.uint8)
    out[(slope <= ii_max) & (r < ii_relief)] = 2
    out[slope <= i_max] = 1
    out[~np.isfinite(slope)] = 0
    return out


def _flag(bits: np.ndarray, mask: np.ndarray, bit: int) -> None:
    """Set ``bit`` where ``mask`` (in place; a masked ufunc, without gathering the pixels)."""
    np.bitwise_or(bits, bits.dtype.type(1 << bit), out=bits, where=mask)


def _terrain_classes(spec: ScreenSpec, slope: np.ndarray, zH: np.ndarray, H: int, h: int, w: int) -> np.ndarray:
    """TD/T 1075-2023 terrain class of each pixel from its slope and the relief within
    ``spec.relief_px`` (max − min elevation of the haloed DEM ``zH``, halo ``H``)."""
    relief = None
    if spec.relief_px > 0:
        size = 2 * spec.relief_px + 1
        # float32 elevations (a DEM's own precision): the filters' bytes halved, ~70 MB less per block
        z32 = zH.astype(np.float32)
        hole = np.isnan(z32)
        z32[hole] = -np.inf
        hi = ndimage.maximum_filter(z32, size=size, mode="nearest")[H:H + h, H:H + w]
        z32[hole] = np.inf
        relief = ndimage.minimum_filter(z32, size=size, mode="nearest")[H:H + h, H:H + w]
        del z32, hole
        np.subtract(hi, relief, out=relief)  # max − min
        relief[~np.isfinite(relief)] = np.nan
    return terrain_class(slope, relief, spec.terrain)


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
    bits[...] = np.where(valid, bits, bits.dtype.type(1 << spec.nodata_bit))
    if spec.lc_buffers and valid.any():
        metric = row_metric(g, int(hw.row_off), int(hw.height), col_centre=int(hw.col_off) + hw.width / 2)
        for bit, lut, radius in spec.lc_buffers:
            near = within_distance(lut[codes_h], radius, metric, core=core, strips=spec.edt_strips or None)
            _flag(bits, near & valid, bit)
    for name, bit, buf in spec.vector_rules:
        m = vector_mask(spec.store.get(name), buf, g, window)
        _flag(bits, m & valid, bit)
    slope = ns_descent = tclass = None
    if spec.dem is not None:
        H = max(1, spec.relief_px)
        sw, score_ = haloed(g, window, H)
        zH = pad_to(read_dem(spec.dem, g, sw, same_grid=spec.dem_same_grid), sw, score_, H)
        z = zH[H - 1:zH.shape[0] - H + 1, H - 1:zH.shape[1] - H + 1]
        met = row_metric(g, int(window.row_off) - 1, h + 2, col_centre=int(window.col_off) + w / 2)
        slope, ns_descent = slope_and_descent(z, met, north_angle=north_angle(g, window))
        _flag(bits, (slope > spec.max_slope_deg) & valid, spec.slope_bit)
        _flag(bits, ~np.isfinite(slope) & valid, spec.dem_nodata_bit)
        if spec.north_bit is not None:
            north = ns_descent > math.tan(math.radians(spec.max_north_slope_deg))
            _flag(bits, north & valid, spec.north_bit)
    zid = spec.admin.rasterize(window) if spec.admin is not None else None
    if zid is not None and spec.outside_admin_bit is not None:
        _flag(bits, (zid == 0) & valid, spec.outside_admin_bit)
    masks: dict = {}
    zone = _zone_codes(spec, codes, valid, window, masks)
    values = {name: read_values(path, g, window, same_grid=same, resampling="nearest" if name == "claimed" else "bilinear")
              for name, path, same in spec.rasters}
    for name, path, _same in spec.rasters:
        check_resource(name, path, values[name], window)
    if spec.claimed_bit is not None and "claimed" in values:
        _flag(bits, (values["claimed"] > 0) & valid, spec.claimed_bit)
    if spec.shrub is not None:
        bit, shrub_lut, max_p, max_c, cover_scale = spec.shrub
        shrub = shrub_lut[codes] & valid
        if shrub.any():
            ok = np.zeros(codes.shape, bool)
            if "precipitation" in values:
                ok |= values["precipitation"] < max_p  # NaN compares False: unknown is not allowed
            if "shrub_cover" in values:
                ok |= values["shrub_cover"] * cover_scale < max_c  # percent × 0.01 = fraction (one scale per raster)
            _flag(bits, shrub & ~ok, bit)
    if spec.border_class1 is not None and "border" in masks:
        bit, fs_lut, other_layer = spec.border_class1
        cand = masks["border"] & fs_lut[codes] & valid
        if cand.any():
            if other_layer is not None:
                cand &= ~vector_mask(spec.store.get(other_layer), 0.0, g, window)
            _flag(bits, cand, bit)
    if not spec.other_enabled:
        _flag(bits, (zone == 0) & valid, spec.outside_bit)
    eligible = np.where(bits == 0, zone, 0).astype(np.uint8)
    any_eligible = bool(eligible.any())
    if spec.dem is not None and spec.terrain is not None and any_eligible:
        # terrain classes are only ever summed over eligible land (parcel areas per class)
        tclass = _terrain_classes(spec, slope, zH, H, h, w)

    # ---------------------------------------------------------------- areas and labels
    row_areas = g.row_areas_m2(window) if g.is_geographic else None
    areas = g.pixel_areas_m2(window)
    bit_area, elig_area = flag_areas(bits, spec.nbits, eligible, np.broadcast_to(areas, (h, w)))
    total = float(row_areas.sum() * w) if row_areas is not None else float(areas.sum())
    density = spec.density_lut[codes] if any_eligible else None  # carbon at stake: summed over components only
    sums = _pixel_sums(spec, window, np.broadcast_to(areas, (h, w)), eligible > 0, ns_descent, tclass, values) \
        if any_eligible else {}  # no component: every label sum is of label 0, the background
    comp = local_components(eligible, areas=areas, density_mgc_per_ha=density, slope=slope,
                            min_area_m2=spec.min_area_m2, admin_ids=zid, cells=spec.cells, sums=sums,
                            n_admin=spec.admin.n_zones if spec.admin is not None else 0,
                            inner_edges=(int(window.row_off) > 0, int(window.row_off) + h < g.height,
                                         int(window.col_off) > 0, int(window.col_off) + w < g.width),
                            origin=(int(window.row_off), int(window.col_off)), grid_width=g.width)
    labels = comp.pop("labels")
    label_sums = comp.pop("sums")
    keep = spec.keep_rasters
    return BlockResult(
        window=window, bits=bits if keep else None, labels=labels if keep else None,
        **comp, bit_area_m2=bit_area, eligible_area_m2=elig_area, total_area_m2=total, unknown=unknown,
        zone=eligible if keep else None, sums=label_sums,
    )


def cell_labels(mask: np.ndarray, cells: tuple[int, int] | None, origin: tuple[int, int] = (0, 0)) -> tuple[np.ndarray, int]:
    """8-connected labels of ``mask`` that never cross the lines of a grid of cells.

    ``cells`` = (rows, columns) of one cell, anchored at the grid's pixel (0, 0), so a pixel's
    cell does not depend on the block it is in (``origin`` = the block's (row, col)). Cells of
    the same parity class (cell row mod 2, cell column mod 2) never touch, so labelling each
    of the four classes apart keeps every label inside one cell. ``None``: plain labels.

    Examples
    --------
    >>> m = np.ones((2, 4), dtype=bool)
    >>> cell_labels(m, (2, 2))[0].tolist()  # two 2 × 2 cells: two labels
    [[1, 1, 2, 2], [1, 1, 2, 2]]
    """
    if cells is None:
        lab, n = ndimage.label(mask, structure=EIGHT)
        return lab.astype(np.int32, copy=False), int(n)
    h, w = mask.shape
    ch, cw = cells
    cr = ((origin[0] + np.arange(h)) // ch) % 2
    cc = ((origin[1] + np.arange(w)) // cw) % 2
    cls = (cr[:, None] * 2 + cc[None, :]).astype(np.int8)
    out = np.zeros((h, w), dtype=np.int32)
    n = 0
    for k in range(4):
        lab, nk = ndimage.label(mask & (cls == k), structure=EIGHT, output=np.int32)
        if nk:
            np.add(lab, n, out=out, where=lab > 0)
            n += int(nk)
    if n:  # renumber in row-major order of first pixels (as ndimage.label numbers)
        renumber_first(out, n)
    return out, n


def _pixel_sums(spec: ScreenSpec, window: Window, areas: np.ndarray, elig: np.ndarray, ns_descent, tclass,
                values: dict) -> dict[str, np.ndarray]:
    """Per-pixel capacity (MW), energy (MWh/yr), terrain-class areas and resource sums."""
    g = spec.grid
    h, w = areas.shape
    if spec.layout is not None and getattr(spec.layout, "method", "fixed") == "row_spacing":
        from sinkplan.siting.energy import pv_density_mw_per_km2

        lat = pixel_latitudes(g, window)
        nd = 0.0 if ns_descent is None else np.nan_to_num(ns_descent, nan=0.0)
        dens = pv_density_mw_per_km2(lat, spec.layout, nd)
    else:
        dens = np.full((h, w), spec.density_mw_per_km2)
    dens2 = np.broadcast_to(dens, (h, w))
    # per label in the labelling pass (siting.kernels): MW/km² × m² / 1e6 = MW; pixels outside
    # every component fall to label 0, which is not summed
    out: dict = {"capacity_mw": lambda labels, n: label_product_sum(labels, dens2, areas, 1e6, n)}
    yld = None  # MWh per MW per year
    if "pvout" in values:
        yld = values["pvout"]
    elif "ghi" in values and spec.pv_table is not None:
        yld = spec.pv_table(np.broadcast_to(pixel_latitudes(g, window), (h, w)), np.where(elig, values["ghi"], np.nan))
    elif "wind_speed" in values and spec.wind_table is not None:
        k = values.get("weibull_k")
        yld = spec.wind_table(values["wind_speed"], k) * 8760.0  # capacity factor × hours
    if yld is not None:
        cap = np.where(elig, dens2 * areas / 1e6, 0.0)  # MW/km² × km² = MW
        known = elig & np.isfinite(yld)
        out["energy_mwh_per_yr"] = np.where(known, cap * np.where(known, yld, 0.0), 0.0)  # MW × MWh/MW
        out["resource_area_m2"] = np.where(known, areas, 0.0)
        out["resource_capacity_mw"] = np.where(known, cap, 0.0)
        res = values.get("pvout", values.get("ghi", values.get("wind_speed")))
        out["resource_sum"] = np.where(known, res * areas, 0.0)  # area-weighted resource
    if tclass is not None:
        by_class = {}

        def terrain(k):
            def f(labels, n):
                if "t" not in by_class:
                    by_class["t"] = label_class_areas(labels, tclass, areas, 3, n)
                return by_class["t"][:, k - 1].copy()
            return f

        for k in (1, 2, 3):
            out[f"area_m2_terrain_{k}"] = terrain(k)
    return out


def local_components(eligible: np.ndarray, *, areas: np.ndarray, density_mgc_per_ha: np.ndarray | None = None,
                     slope: np.ndarray | None = None, min_area_m2: float = 0.0, admin_ids: np.ndarray | None = None,
                     n_admin: int = 0, inner_edges: tuple[bool, bool, bool, bool] = (True, True, True, True),
                     origin: tuple[int, int] = (0, 0), grid_width: int | None = None,
                     cells: tuple[int, int] | None = None, sums: dict[str, np.ndarray] | None = None) -> dict:
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
        rows (label, admin id, m²); ``edges`` (top, bottom, left, right label lines);
        ``sums``: per label, the sum over its pixels of each array of ``sums`` (e.g. MW,
        MWh/yr per pixel), or what a callable of ``sums`` returns for ``(labels, n)`` (an
        array of n + 1 sums: label 0, the background, is ignored). With ``cells`` (rows, columns of a maximum-size cell), components
        are cut along the cell lines (:func:`cell_labels`).

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
    gw = w if grid_width is None else grid_width
    if not eligible.any():  # most blocks of a province: nothing to label
        zero = np.zeros(1)
        labels = np.zeros((h, w), np.int32)
        return {"sums": {name: np.zeros(1) for name in (sums or {})}, "labels": labels, "n_labels": 0,
                "zone_area_m2": np.zeros((1, 4)), "area_m2": zero, "pixels": np.zeros(1, np.int64),
                "slope_sum": zero.copy(), "slope_area_m2": zero.copy(), "slope_max": np.full(1, np.nan),
                "stock_mgc": zero.copy(), "admin": np.zeros((0, 3)),
                "first_px": np.array([origin[0] * gw + origin[1]], np.int64),
                "edges": (labels[0].copy(), labels[-1].copy(), labels[:, 0].copy(), labels[:, -1].copy())}
    labels, n = cell_labels(eligible > 0, cells, origin)
    a2 = np.broadcast_to(areas, (h, w))
    dummy = np.zeros((1, 1))
    has_slope = slope is not None and n > 0
    # one compiled pass in row-major order: the sums np.bincount gave, bit for bit (siting.kernels)
    area, zone_area, pixels, stock, slope_sum, slope_area, smax, first = label_stats(
        labels, eligible, a2, dummy if density_mgc_per_ha is None else np.broadcast_to(density_mgc_per_ha, (h, w)),
        density_mgc_per_ha is not None, slope if has_slope else dummy, has_slope, n)
    if not has_slope:
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
    sums_by_label = {name: v(labels, n) if callable(v) else label_sum(labels, np.broadcast_to(v, (h, w)), n)
                     for name, v in (sums or {}).items()}
    labels = new[labels]
    sel = np.concatenate([[0], np.flatnonzero(keep)])
    first_px = (origin[0] + first // w) * gw + origin[1] + first % w
    admin = np.zeros((0, 3))
    nk = len(sel) - 1
    if admin_ids is not None and nk and (nk + 1) * (n_admin + 1) <= 8_000_000:
        # dense (label, admin) sums in pixel order: the rows np.unique + bincount gave, sorted
        za, seen = label_admin_areas(labels, admin_ids, a2, nk, n_admin)
        li, ai = np.nonzero(seen)
        admin = np.column_stack([li.astype(np.float64), ai.astype(np.float64), za[li, ai]])
    elif admin_ids is not None and nk:
        m = labels > 0
        key = labels[m].astype(np.int64) * (n_admin + 1) + admin_ids[m]
        uk, inv = np.unique(key, return_inverse=True)
        za = np.bincount(inv, weights=np.broadcast_to(areas, (h, w))[m])
        admin = np.column_stack([uk // (n_admin + 1), uk % (n_admin + 1), za])
    extra = {}
    for name, by_label in sums_by_label.items():
        extra[name] = by_label[sel]
        extra[name][0] = 0.0
    return {
        "sums": extra,
        "labels": labels, "n_labels": int(len(sel) - 1), "zone_area_m2": zone_area[sel],
        "area_m2": area[sel], "pixels": pixels[sel].astype(np.int64), "slope_sum": slope_sum[sel],
        "slope_area_m2": slope_area[sel], "slope_max": smax[sel], "stock_mgc": stock[sel], "admin": admin,
        "first_px": first_px[sel].astype(np.int64),
        "edges": (labels[0].copy(), labels[-1].copy(), labels[:, 0].copy(), labels[:, -1].copy()),
    }

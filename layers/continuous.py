"""Continuous rasters (precipitation, temperature, shrub cover, volume) read onto the working grid.

A continuous input on the land-cover grid is read window by window as it is; on any other
grid (a 1 km climate raster, another CRS) each window is resampled **bilinearly** through a
:class:`rasterio.vrt.WarpedVRT` onto exactly that window of the working grid, so nothing is
resampled to disk and memory stays bounded. Bilinear resampling is right for continuous
quantities and wrong for classes: class rasters never come through here (DESIGN.md).

:class:`ContinuousRaster` is a small picklable record (path, grid, nodata handling), so a
Dask worker can read its own windows.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from sinkplan.layers.errors import InputError
from sinkplan.layers.grid import Grid, open_raster
from sinkplan.layers.reading import read_window

__all__ = ["ContinuousRaster", "open_continuous", "overlaps_grid", "read_resampled", "sample_values", "apply_scale", "cover_scale",
           "check_precipitation_mm"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ContinuousRaster:
    """A continuous raster and how to read it onto ``grid``.

    Attributes
    ----------
    path : str
    grid : Grid
        The working grid.
    same_grid : bool
        True when the file shares the grid exactly (read directly); else warped bilinearly.
    what : str
        What it holds, for messages ("precipitation (mm/yr)").
    valid_range : (float, float) or None
        Values outside are treated as nodata (e.g. a cover raster must lie in [0, 100]).
    """

    path: str
    grid: Grid
    same_grid: bool
    what: str = "raster"
    valid_range: tuple[float, float] | None = None

    def read(self, window: Window) -> np.ndarray:
        """Values (float64) of one window of the working grid; NaN where the file has no value.

        Raises
        ------
        InputFileError
            The block cannot be read (damaged file).
        """
        with open_raster(self.path) as src:
            out = read_window(src, window, masked=True) if self.same_grid else None
            if out is None:
                out = read_resampled(src, self.grid, window, name=self.path)
            else:
                out = np.ma.filled(out.astype(np.float64), np.nan)
            out = apply_scale(out, src)
        if self.valid_range is not None:
            lo, hi = self.valid_range
            out[(out < lo) | (out > hi)] = np.nan
        return out


def open_continuous(path: str | os.PathLike, grid: Grid, *, what: str,
                    valid_range: tuple[float, float] | None = None) -> ContinuousRaster:
    """Check a continuous raster can be read onto ``grid`` and say how.

    Raises
    ------
    InputFileError, MissingCRS
        Unreadable file or no CRS (from :meth:`Grid.from_raster`).
    InputError
        The raster does not overlap the land cover, or has more than one band.
    """
    own = Grid.from_raster(path)
    with open_raster(path) as src:
        if src.count != 1:
            raise InputError(f"{path}: {what} raster has {src.count} bands; give a single-band raster")
    same = own.same_as(grid)
    if not same:
        if not overlaps_grid(own, grid):
            raise InputError(f"{path}: the {what} raster does not overlap the land cover (its bounds {own.bounds} in "
                             f"{own.crs.to_string()}); give a raster of the same region")
        logger.info("%s (%s) is on another grid: each block is resampled bilinearly onto the land-cover grid", path, what)
    return ContinuousRaster(str(path), grid, same, what, valid_range)


def overlaps_grid(own: Grid, grid: Grid) -> bool:
    """Whether the raster on grid ``own`` overlaps ``grid``'s extent (``grid``'s bounds taken
    into ``own``'s CRS, densified along the edges by :meth:`pyproj.Transformer.transform_bounds`)."""
    from pyproj import Transformer

    tr = Transformer.from_crs(grid.crs, own.crs, always_xy=True)
    left, bottom, right, top = tr.transform_bounds(*grid.bounds)
    lft, btm, rgt, tp = own.bounds
    return not (right <= lft or left >= rgt or top <= btm or bottom >= tp)


def read_resampled(src, grid: Grid, window: Window, *, resampling: str = "bilinear",
                   name: str | os.PathLike | None = None) -> np.ndarray:
    """Values (float64, NaN where none) of the open single-band raster ``src`` resampled onto
    ``window`` of ``grid``, as GDAL's warper gives them.

    When ``src`` shares the grid's CRS, neither is rotated, and (bilinear) its pixels are at
    least as large as the grid's (the usual case: a 90 m DEM or 1 km climate raster under
    30 m land cover), the window is computed here from the few source pixels it covers, in one
    compiled loop per output pixel: GDAL's bilinear rule (weights of the 2 × 2 neighbours of
    the pixel centre, renormalised over those with a value; no value where the source pixel
    holding the centre has none or the centre lies outside the raster) or nearest (the
    source pixel holding the centre). A :class:`rasterio.vrt.WarpedVRT` per window took
    0.33 s per 4 Mpx block, this 0.02 s; they agree to float32 rounding (tested). Elsewhere
    (another CRS, a rotation, or bilinear *down*sampling, where GDAL widens its kernel) the
    window is read through a WarpedVRT.

    Raises
    ------
    InputFileError
        The source cannot be read (damaged file).
    """
    import rasterio.crs

    S, T = src.transform, grid.transform
    aligned = (src.count == 1 and S.b == 0 and S.d == 0 and T.b == 0 and T.d == 0 and src.crs is not None
               and grid.crs.equals(src.crs.to_wkt(), ignore_axis_order=True))
    if aligned and resampling == "bilinear":
        aligned = abs(S.a) >= abs(T.a) * (1 - 1e-9) and abs(S.e) >= abs(T.e) * (1 - 1e-9)
    if not aligned or resampling not in ("bilinear", "nearest"):
        with WarpedVRT(src, crs=rasterio.crs.CRS.from_wkt(grid.crs.to_wkt()), transform=T, width=grid.width,
                       height=grid.height, resampling=Resampling[resampling], src_nodata=src.nodata, nodata=np.nan,
                       dtype="float32") as vrt:
            return np.ma.filled(read_window(vrt, window, masked=True, name=name or src.name).astype(np.float64), np.nan)
    c0, r0, w, h = int(window.col_off), int(window.row_off), int(window.width), int(window.height)
    # pixel centres of the window in the source's continuous pixel coordinates
    cx = (T.c + T.a * (c0 + np.arange(w) + 0.5) - S.c) / S.a
    cy = (T.f + T.e * (r0 + np.arange(h) + 0.5) - S.f) / S.e
    lo_c, hi_c = max(int(np.floor(cx.min())) - 1, 0), min(int(np.floor(cx.max())) + 2, src.width)
    lo_r, hi_r = max(int(np.floor(cy.min())) - 1, 0), min(int(np.floor(cy.max())) + 2, src.height)
    out = np.full((h, w), np.nan)
    if hi_c <= lo_c or hi_r <= lo_r:
        return out  # the window lies outside the raster
    z = read_window(src, Window(lo_c, lo_r, hi_c - lo_c, hi_r - lo_r), masked=True, name=name)
    z = np.ma.filled(z.astype(np.float64), np.nan)
    from sinkplan.layers._resample import resample_aligned

    resample_aligned(z, np.ascontiguousarray(cx - lo_c), np.ascontiguousarray(cy - lo_r), resampling == "bilinear", out)
    return out


def apply_scale(values: np.ndarray, src) -> np.ndarray:
    """``values × scale + offset`` of band 1 when the raster declares them (GDAL's scale/offset,
    e.g. precipitation stored in 0.1 mm as int16 with scale 0.1): rasterio returns raw values,
    which were read as the quantity itself (3500 for 350 mm). Linear, so it commutes with the
    bilinear resampling."""
    scale = float(src.scales[0]) if src.scales and src.scales[0] is not None else 1.0
    offset = float(src.offsets[0]) if src.offsets and src.offsets[0] is not None else 0.0
    if scale == 1.0 and offset == 0.0:
        return values
    return values * scale + offset  # raw × scale + offset = the quantity (NaN stays NaN)


def sample_values(path: str | os.PathLike, *, max_side: int = 1024) -> np.ndarray:
    """Valid values (float64, nodata and non-finite left out) of up to ``max_side`` ×
    ``max_side`` nearest-neighbour samples of a raster's first band: enough to tell its units
    (fraction or percent, mm or m) once for the whole raster, never pixel by pixel."""
    with open_raster(path) as src:
        shape = (min(src.height, max_side), min(src.width, max_side))
        data = src.read(1, out_shape=shape, masked=True, resampling=Resampling.nearest).astype(np.float64)
        vals = apply_scale(np.ma.compressed(data), src)
    return vals[np.isfinite(vals)]


def cover_scale(path: str | os.PathLike) -> float:
    """1.0 for a cover raster in fractions (0–1), 0.01 for one in percent (any value above 1),
    decided from up to 1024 × 1024 samples of the whole raster (nearest).

    Raises
    ------
    InputError
        Values below 0 or above 100: not a cover.
    """
    vals = sample_values(path)
    if vals.size and (vals.min() < 0 or vals.max() > 100):
        raise InputError(f"{path}: shrub_cover values run from {vals.min():g} to {vals.max():g}; give cover as a "
                         "fraction 0–1 or a percent 0–100 (set nodata for other values)", params=("shrub_cover",))
    return 0.01 if vals.size and vals.max() > 1.0 else 1.0


#: Highest mean annual precipitation (mm/yr) a raster may hold: the wettest places on Earth
#: average about 11,900 mm (Mawsynram, India); more is a unit slip (0.1 mm, as CHELSA stores it).
MAX_PRECIP_MM = 15_000.0


def check_precipitation_mm(path: str | os.PathLike) -> None:
    """Refuse a precipitation raster whose values cannot be mean annual millimetres.

    Negative values are an undeclared nodata (-9999, -3.4e38): read as "below 400 mm" they made
    shrubland special; values above :data:`MAX_PRECIP_MM` are in other units. A raster whose
    largest value is below 10 mm/yr is most likely in metres: that is warned (a true desert
    can be that dry).

    Raises
    ------
    InputError
        Values outside what mm/yr can be.
    """
    vals = sample_values(path)
    if not vals.size:
        return
    lo, hi = float(vals.min()), float(vals.max())
    if lo < 0:
        raise InputError(f"{path}: precipitation values go down to {lo:g}; mean annual precipitation is ≥ 0 mm: declare "
                         "the raster's nodata value (gdal_translate -a_nodata on a copy) or mask those pixels",
                         params=("precip",))
    if hi > MAX_PRECIP_MM:
        raise InputError(f"{path}: precipitation values reach {hi:g}, more than any place on Earth receives in mm/yr "
                         f"(at most about 11,900); give mean annual precipitation in mm (a raster in 0.1 mm: divide by "
                         "10)", params=("precip",))
    if hi < 10.0:
        from sinkplan.layers.warnings import AssumptionWarning, warn

        warn(AssumptionWarning, f"{path}: precipitation values are all below 10 mm/yr (largest {hi:g}): read as mm/yr, "
             "so all shrubland there is below 400 mm; if the raster is in metres, multiply it by 1000",
             logger=__name__, params=("precip",))

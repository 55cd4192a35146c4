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

__all__ = ["ContinuousRaster", "open_continuous", "overlaps_grid"]

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
            if self.same_grid:
                data = read_window(src, window, masked=True)
            else:
                import rasterio.crs

                with WarpedVRT(src, crs=rasterio.crs.CRS.from_wkt(self.grid.crs.to_wkt()), transform=self.grid.transform,
                               width=self.grid.width, height=self.grid.height, resampling=Resampling.bilinear,
                               src_nodata=src.nodata, nodata=np.nan, dtype="float32") as vrt:
                    data = read_window(vrt, window, masked=True, name=self.path)
        out = np.ma.filled(data.astype(np.float64), np.nan)
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

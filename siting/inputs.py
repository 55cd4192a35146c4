"""Reading the screen's inputs block by block (the only file I/O of the siting package).

- :func:`haloed` gives the window grown by a halo and clipped to the grid, and where the
  core lies inside it.
- :func:`read_codes` reads land-cover codes of a window.
- :func:`read_dem` reads elevation on the working grid: directly when the DEM shares the
  grid, otherwise bilinearly resampled for just that window
  (:func:`sinkplan.layers.continuous.read_resampled`).
- :class:`LayerStore`: vector layers already read by :func:`sinkplan.layers.vectors.read_vector`,
  reprojected to the grid CRS; they travel with the block function, which the executor
  sends to each Dask worker once (no file of this process is read by a worker).
- :class:`ScratchRaster`: a tiled, compressed scratch GeoTIFF for the screen's first pass.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import rasterio
import shapely
from rasterio.windows import Window

from sinkplan.layers.errors import InputError
from sinkplan.layers.grid import Grid, open_raster
from sinkplan.layers.reading import read_window

__all__ = ["haloed", "read_codes", "read_dem", "read_values", "check_dem", "check_raster", "LayerStore", "GeomLayer", "ScratchRaster"]

logger = logging.getLogger(__name__)


def haloed(grid: Grid, window: Window, halo: int) -> tuple[Window, tuple[slice, slice]]:
    """The window grown by ``halo`` pixels (clipped to the grid) and the core's slices in it."""
    r0, c0 = int(window.row_off), int(window.col_off)
    r1, c1 = r0 + int(window.height), c0 + int(window.width)
    R0, C0 = max(0, r0 - halo), max(0, c0 - halo)
    R1, C1 = min(grid.height, r1 + halo), min(grid.width, c1 + halo)
    return Window(C0, R0, C1 - C0, R1 - R0), (slice(r0 - R0, r1 - R0), slice(c0 - C0, c1 - C0))


def read_codes(path: str | os.PathLike, window: Window) -> np.ndarray:
    """Land-cover codes of a window."""
    with open_raster(path) as src:
        return read_window(src, window)


def check_dem(path: str | os.PathLike, grid: Grid) -> bool:
    """Check a DEM can be read onto ``grid``; True when it shares the grid exactly.

    Raises
    ------
    InputFileError, MissingCRS
        Unreadable file or no CRS.
    InputError
        The DEM does not overlap the land-cover grid.
    """
    dem_grid = Grid.from_raster(path)
    if dem_grid.same_as(grid):
        return True
    from sinkplan.layers.continuous import overlaps_grid

    if not overlaps_grid(dem_grid, grid):
        raise InputError(f"{path}: the DEM does not overlap the land cover (DEM bounds {dem_grid.bounds} "
                         f"in {dem_grid.crs.to_string()}); give a DEM of the same region")
    logger.info("%s is on another grid; it is resampled bilinearly onto the land-cover grid per block", path)
    return False


def check_raster(path: str | os.PathLike, grid: Grid, *, option: str) -> bool:
    """Like :func:`check_dem` for any raster given with ``option``; True when it shares the grid."""
    try:
        return check_dem(path, grid)
    except InputError as exc:
        raise InputError(str(exc).replace("the DEM", f"{option}").replace("DEM bounds", "raster bounds")
                         .replace("give a DEM", "give a raster")) from None


#: Elevations below this are no land surface anywhere (the lowest, the Dead Sea shore, is about
#: −430 m, −1 412 ft in a DEM in feet): such a value is a no-data sentinel the file does not
#: declare (SRTM voids −32768, −9999), which would otherwise read as flat, eligible ground.
LOWEST_LAND_ELEVATION_M = -1500.0


def read_dem(path: str | os.PathLike, grid: Grid, window: Window, *, same_grid: bool) -> np.ndarray:
    """Elevation (float64, NaN where unknown) of a window of ``grid``.

    Raises
    ------
    InputError
        A value below :data:`LOWEST_LAND_ELEVATION_M`: an undeclared no-data value (e.g. −32768
        voids in a DEM without a nodata tag); the message names the value, where it is and how
        to declare it.
    """
    z = read_values(path, grid, window, same_grid=same_grid)
    low = z < LOWEST_LAND_ELEVATION_M
    if low.any():
        r, c = (int(v[0]) for v in np.nonzero(low))
        with open_raster(path) as src:
            nodata = src.nodata
        v = float(z[r, c])
        sentinel = f"{v:.0f}" if same_grid else "-32768"
        declared = "declares no nodata value" if nodata is None else f"declares nodata {nodata:g}"
        raise InputError(
            f"{path}: elevation {v:.6g} m at row {int(window.row_off) + r}, column {int(window.col_off) + c} of the "
            f"land-cover grid is below any land surface (lowest: -430 m) and the file {declared}: it is a no-data "
            f"value, which would read as flat ground; declare it on a copy, e.g. gdal_translate -a_nodata {sentinel} "
            f"{path} dem_fixed.tif, and use dem_fixed.tif as the DEM")
    return z


def read_values(path: str | os.PathLike, grid: Grid, window: Window, *, same_grid: bool,
                resampling: str = "bilinear") -> np.ndarray:
    """Values of a continuous raster (float64, NaN where unknown) on a window of ``grid``:
    read directly when it shares the grid, else resampled (bilinear by default; ``nearest``
    for codes) for just that window (:func:`sinkplan.layers.continuous.read_resampled`)."""
    from sinkplan.layers.continuous import read_resampled

    with open_raster(path) as src:
        if same_grid:
            data = read_window(src, window, masked=True)
            return np.ma.filled(data.astype(np.float64), np.nan)
        return read_resampled(src, grid, window, resampling=resampling, name=path)


#: Values a resource raster can hold (inclusive) in the units the screen reads, and the likely
#: mistake behind a value outside them. A daily GHI (kWh/m²/day, as Global Solar Atlas also
#: ships it) read as yearly made the yield 365 times too small; a mean wind speed in km/h, a
#: nodata of -9999 without its tag or k = 0 went into the power curve all the same.
RESOURCE_RANGES: dict[str, tuple[float, float, str, str]] = {
    "ghi": (200.0, 3000.0, "kWh/m²/yr", "yearly GHI on Earth is about 700-2 700 kWh/m²: a daily mean × 365, "
            "or MJ/m² ÷ 3.6, gives it"),
    "pvout": (200.0, 2600.0, "kWh/kWp/yr", "yearly PV output is about 700-2 300 kWh/kWp: a daily mean × 365 gives it"),
    "wind_speed": (0.0, 20.0, "m/s", "a mean wind speed in km/h ÷ 3.6 gives m/s"),
    "weibull_k": (0.5, 10.0, "", "the Weibull shape of wind speeds is about 1.2-3.5"),
}


#: Median (m/s) of a mean wind speed raster above which it is not in m/s. The windiest land
#: regions average about 9-11 m/s at 100 m (Global Wind Atlas 3: Patagonia, the Southern Ocean
#: islands, exposed ridges); a few points reach more, a whole raster's median does not, except
#: a raster cut to an Antarctic katabatic coast (Cape Denison, about 20 m/s), which the per-pixel
#: bound of RESOURCE_RANGES (20 m/s) refuses already. The per-pixel bound catches a raster in km/h
#: only where some pixel is above 20 km/h (5.6 m/s); the median also catches calmer regions in
#: km/h whose median is above 15 km/h (4.2 m/s).
MAX_MEDIAN_WIND_M_S = 15.0


def check_wind_speed_units(path: str | os.PathLike) -> None:
    """Refuse a mean wind speed raster whose median (of up to 1024 × 1024 nearest samples of the
    whole raster, nodata left out) exceeds :data:`MAX_MEDIAN_WIND_M_S`: it is in km/h (or knots).

    Raises
    ------
    InputError
        One line: the raster, its median, the bound and the fix (÷ 3.6).
    """
    from sinkplan.layers.continuous import sample_values

    vals = sample_values(path)
    if not vals.size:
        return
    med = float(np.median(vals))
    if med > MAX_MEDIAN_WIND_M_S:
        raise InputError(
            f"{path} (wind_speed): the median wind speed of the raster is {med:.4g}, above {MAX_MEDIAN_WIND_M_S:g} m/s, "
            "more than any region's mean wind speed on Earth (the windiest average about 9-11 m/s at 100 m); it is "
            "probably in km/h: give it in m/s (divide it by 3.6, e.g. with gdal_calc.py)", params=("wind_speed",))


def check_resource(name: str, path: str | os.PathLike, values: np.ndarray, window: Window) -> None:
    """Refuse a resource value outside :data:`RESOURCE_RANGES` (NaN, no data, is allowed).

    Raises
    ------
    InputError
        A value outside the range: the message names the raster, the value, the pixel of the
        working grid, the range and the likely fix.
    """
    if name not in RESOURCE_RANGES:
        return
    lo, hi, units, hint = RESOURCE_RANGES[name]
    bad = np.isfinite(values) & ((values < lo) | (values > hi))
    if bad.any():
        r, c = (int(v[0]) for v in np.nonzero(bad))
        u = f" {units}" if units else ""
        raise InputError(f"{path} ({name}): value {float(values[r, c]):.6g}{u} at row {int(window.row_off) + r}, column "
                         f"{int(window.col_off) + c} of the land-cover grid is outside {lo:g}-{hi:g}{u}; {hint} (or "
                         "declare the raster's nodata value)", params=(name,))


def pad_to(data: np.ndarray, hw: Window, core: tuple[slice, slice], halo: int, fill: str = "edge") -> np.ndarray:
    """Pad a haloed read so the core has exactly ``halo`` pixels on every side (edge replicated)."""
    top = halo - core[0].start
    left = halo - core[1].start
    bottom = halo - (data.shape[0] - core[0].stop)
    right = halo - (data.shape[1] - core[1].stop)
    if top or left or bottom or right:
        data = np.pad(data, ((top, bottom), (left, right)), mode=fill)
    return data


@dataclass
class GeomLayer:
    """Geometries of one layer in the grid CRS, with a spatial index."""

    name: str
    geoms: np.ndarray
    tree: shapely.STRtree | None = field(default=None, repr=False)

    def near(self, bounds: tuple[float, float, float, float]) -> np.ndarray:
        """Geometries whose envelope meets ``bounds``, clipped to ``bounds``."""
        if self.tree is None:
            self.tree = shapely.STRtree(self.geoms)
        idx = np.sort(self.tree.query(shapely.box(*bounds)))
        if idx.size == 0:
            return np.empty(0, dtype=object)
        g = shapely.clip_by_rect(self.geoms[idx], *bounds)
        return g[~shapely.is_empty(g)]


class LayerStore:
    """Vector layers by name, kept for the block functions.

    A store holds its geometries and a pickled store carries them: the executor sends a block
    function to each Dask worker once (:class:`sinkplan.layers.parallel.BlockExecutor`), and a
    remote worker shares no file with this process but the data. No file is written and
    nothing is cached by name, so two stores never share geometry (a store once saved as
    ``layers-{pid}-{id(profile)}.pkl`` and loaded through a cache keyed by that path returned
    the first store's geometry for a second store written there).
    """

    def __init__(self, layers: dict[str, np.ndarray] | None = None) -> None:
        self._raw = {k: np.asarray(v, dtype=object) for k, v in (layers or {}).items()}
        self._layers: dict[str, GeomLayer] | None = None

    def __getstate__(self) -> dict:
        return {"raw": self._raw}

    def __setstate__(self, state: dict) -> None:
        self._raw = state["raw"]
        self._layers = None

    def get(self, name: str) -> GeomLayer | None:
        """The layer ``name`` or None when it was not given."""
        if self._layers is None:  # a benign race between threads builds two equal indexes
            self._layers = {k: GeomLayer(k, v) for k, v in self._raw.items()}
        return self._layers.get(name)


class ScratchRaster:
    """A tiled, compressed single-band GeoTIFF written and read back block by block.

    ZSTD level 1 without a predictor: on the three scratch rasters of the 460 Mpx site
    benchmark (exclusion bits, labels, zone codes) writing and reading them back took 2.5 s
    where DEFLATE level 1 with the horizontal predictor took 13.8 s, and the files are smaller
    (10.9 MB against 17.9 MB; benchmarks/bench_finish.py).
    """

    def __init__(self, path: str | os.PathLike, grid: Grid, dtype: str) -> None:
        self.path = Path(path)
        self.grid = grid
        self.dtype = dtype
        self._ds = rasterio.open(
            self.path, "w", driver="GTiff", width=grid.width, height=grid.height, count=1, dtype=dtype,
            crs=grid.crs.to_wkt(), transform=grid.transform, tiled=True, blockxsize=512, blockysize=512,
            compress="zstd", zstd_level=1, BIGTIFF="IF_SAFER",
        )

    def write(self, data: np.ndarray, window: Window) -> None:
        self._ds.write(data.astype(self.dtype, copy=False), 1, window=window)

    def close(self) -> None:
        if not self._ds.closed:
            self._ds.close()

    def read(self, window: Window) -> np.ndarray:
        with rasterio.open(self.path) as src:
            return read_window(src, window)

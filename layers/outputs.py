"""Writing rasters block by block, as Cloud-Optimized GeoTIFFs, atomically.

Library code in ``sinks/`` and ``siting/`` writes its rasters through :class:`BlockWriter`:
blocks go to a tiled temporary GeoTIFF beside the target; :meth:`BlockWriter.close`
converts it to a COG (GDAL's COG driver, DEFLATE, overviews built with the resampling
the caller names: ``nearest``/``mode`` for classes, ``average`` for densities) and renames
it into place. A failure leaves no file behind.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Callable
from pathlib import Path

import numpy as np
import rasterio
import rasterio.shutil
from rasterio.windows import Window

from sinkplan.layers.grid import Grid

#: Receives each block of an output raster with its window, in window order
#: (:meth:`BlockWriter.write` is one).
RasterSink = Callable[[np.ndarray, Window], None]

__all__ = ["BlockWriter", "RasterSink", "atomic_path", "FILE_MODE", "DIR_MODE"]

_UMASK = os.umask(0o022)
os.umask(_UMASK)  # read once at import: os.umask can only be read by setting it
#: Permissions of a new output file and folder, as open() / mkdir() would give them
#: (tempfile's private 0600 / 0700 would hide results from colleagues and web servers).
FILE_MODE = 0o666 & ~_UMASK
DIR_MODE = 0o777 & ~_UMASK


def atomic_path(target: str | os.PathLike, suffix: str = "") -> Path:
    """A fresh temporary path in the target's folder (same filesystem, so os.replace is atomic)."""
    target = Path(target)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=suffix or ".part", dir=target.parent)
    os.fchmod(fd, FILE_MODE)
    os.close(fd)
    return Path(tmp)


class BlockWriter:
    """Write a single-band raster on ``grid`` block by block; COG on close.

    Parameters
    ----------
    path : path-like
        Final file name.
    grid : Grid
        The working grid.
    dtype : str
        e.g. ``"float32"``, ``"uint8"``.
    nodata : number or None
        Nodata value (checked against ``dtype``).
    resampling : str
        Overview resampling: ``nearest`` or ``mode`` for categorical data.
    colormap : dict, optional
        GDAL colour table {value: (r, g, b, a)} for uint8/uint16 rasters.
    tags : dict, optional
        Metadata (units, description) written to the file.

    Examples
    --------
    >>> with BlockWriter(path, grid, "float32", nodata=-1.0) as out:  # doctest: +SKIP
    ...     for w in grid.blocks():
    ...         out.write(values_for(w), w)
    """

    def __init__(
        self,
        path: str | os.PathLike,
        grid: Grid,
        dtype: str,
        *,
        nodata: float | int | None = None,
        resampling: str = "nearest",
        colormap: dict[int, tuple[int, int, int, int]] | None = None,
        tags: dict[str, str] | None = None,
        band_description: str | None = None,
    ) -> None:
        self.path = Path(path)
        self.grid = grid
        self.resampling = resampling
        if nodata is not None and np.issubdtype(np.dtype(dtype), np.integer):
            info = np.iinfo(dtype)
            if not info.min <= nodata <= info.max:
                raise ValueError(f"nodata {nodata} does not fit dtype {dtype}")
        self._tmp = atomic_path(self.path, ".tif")
        profile = dict(
            driver="GTiff", width=grid.width, height=grid.height, count=1, dtype=dtype,
            crs=grid.crs.to_wkt(), transform=grid.transform, nodata=nodata, tiled=True,
            blockxsize=512, blockysize=512, compress="deflate", BIGTIFF="IF_SAFER",
        )
        self._ds = rasterio.open(self._tmp, "w", **profile)
        if colormap:
            self._ds.write_colormap(1, colormap)
        if tags:
            self._ds.update_tags(**{k: str(v) for k, v in tags.items()})
        if band_description:
            self._ds.set_band_description(1, band_description)
        self._closed = False

    def write(self, data: np.ndarray, window: Window) -> None:
        """Write one block."""
        self._ds.write(data, 1, window=window)

    def close(self) -> Path:
        """Finish: convert to COG and move into place. Returns the final path."""
        if self._closed:
            return self.path
        self._ds.close()
        self._closed = True
        cog = atomic_path(self.path, ".cog.tif")
        try:
            rasterio.shutil.copy(
                self._tmp, cog, driver="COG", compress="DEFLATE", overview_resampling=self.resampling.upper(),
                BIGTIFF="IF_SAFER", NUM_THREADS="ALL_CPUS",
            )
            os.replace(cog, self.path)
        finally:
            for p in (self._tmp, cog):
                Path(p).unlink(missing_ok=True)
                Path(str(p) + ".aux.xml").unlink(missing_ok=True)
        return self.path

    def abort(self) -> None:
        """Drop everything written; the target is not touched."""
        if not self._closed:
            self._ds.close()
            self._closed = True
        self._tmp.unlink(missing_ok=True)

    def __enter__(self) -> "BlockWriter":
        return self

    def __exit__(self, exc_type, exc, tb) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()

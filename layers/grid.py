"""The working grid: CRS, transform and shape, block iteration and pixel areas.

Every raster of a run is aligned to one :class:`Grid` (the land-cover raster's). Library
code iterates it block by block (:meth:`Grid.blocks`) with a bounded number of cells per
block, so memory does not grow with the raster's size.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from pyproj import CRS
from rasterio.windows import Window

from sinkplan.layers import areas
from sinkplan.layers.errors import GridMismatch, InputError, InputFileError, MissingCRS
from sinkplan.layers.files import check_utf8_path
from sinkplan.layers.reading import check_vrt_sources

__all__ = ["Grid", "DEFAULT_MAX_CELLS", "open_raster", "crs_fix_hint", "crs_label"]

from sinkplan.layers.limits import DEFAULT_MAX_CELLS  # noqa: E402  (re-exported: the cell budget of one block)


def crs_fix_hint(path: str | os.PathLike) -> str:
    """The sentence that tells a user how to give a file a CRS."""
    suffix = Path(path).suffix.lower()
    if suffix in {".tif", ".tiff", ".img", ".vrt", ".nc"}:
        return f"set it with: gdal_edit.py -a_srs EPSG:4326 {path} (use the raster's real CRS)"
    return (
        f"add a .prj or set it with: ogr2ogr -a_srs EPSG:4490 fixed.gpkg {path} "
        "(use the layer's real CRS)"
    )


def crs_label(crs: CRS) -> str:
    """A short name of a CRS for messages: ``EPSG:4326``, its name, or its PROJ string."""
    epsg = crs.to_epsg()
    if epsg is not None:
        return f"EPSG:{epsg}"
    if crs.name and crs.name.lower() != "unknown":
        return crs.name
    import warnings

    with warnings.catch_warnings():  # to_proj4 warns that it drops datum details: fine for a label
        warnings.simplefilter("ignore", UserWarning)
        return crs.to_proj4()


def open_raster(path: str | os.PathLike) -> rasterio.io.DatasetReader:
    """Open a raster for reading with an error that names the file on failure."""
    p = Path(path)
    check_utf8_path(p)  # GDAL takes names as UTF-8: a GBK name from a Windows zip is said, not a traceback
    if not p.exists():
        raise InputFileError(f"{p}: file not found; check the path")
    try:
        # A VRT mosaic is read with one thread, so that a tile's read error is reported
        # (see sinkplan.layers.reading), and its tiles must exist.
        if p.suffix.lower() == ".vrt":
            check_vrt_sources(p)
            return rasterio.open(p, NUM_THREADS="1")
        src = rasterio.open(p)
        if src.driver == "VRT":  # a VRT under another name
            src.close()
            check_vrt_sources(p)
            src = rasterio.open(p, NUM_THREADS="1")
        return src
    except rasterio.errors.RasterioIOError as exc:
        raise InputFileError(f"{p}: not a readable raster ({exc}); give a GeoTIFF or another GDAL raster") from exc


@dataclass(frozen=True)
class Grid:
    """A raster grid: CRS, affine transform (pixel corner → map) and shape.

    Parameters
    ----------
    crs : pyproj.CRS
        Coordinate reference system; never guessed.
    transform : affine.Affine
        Maps (col, row) of pixel corners to map coordinates.
    width, height : int
        Columns and rows.
    block_shape : (int, int)
        Internal block (rows, cols) of the source file; blocks are aligned to it.

    Examples
    --------
    >>> from affine import Affine
    >>> g = Grid(CRS.from_epsg(4326), Affine(0.5, 0, 100, 0, -0.5, 50), 4, 2)
    >>> g.bounds
    (100.0, 49.0, 102.0, 50.0)
    """

    crs: CRS
    transform: Affine
    width: int
    height: int
    block_shape: tuple[int, int] = (1, 1)

    def __post_init__(self) -> None:
        if self.width <= 0 or self.height <= 0:
            raise InputError(f"grid shape {self.height}×{self.width} is empty")
        if not isinstance(self.crs, CRS):
            object.__setattr__(self, "crs", CRS.from_user_input(self.crs))

    # ------------------------------------------------------------------ construction
    @classmethod
    def from_raster(cls, path: str | os.PathLike) -> "Grid":
        """Read the grid of a raster file; a missing CRS is an error naming the file."""
        with open_raster(path) as src:
            return cls.from_dataset(src, name=str(path))

    @classmethod
    def from_dataset(cls, src: rasterio.io.DatasetReader, *, name: str | None = None) -> "Grid":
        """Grid of an open rasterio dataset."""
        name = name or src.name
        if src.crs is None:
            raise MissingCRS(f"{name}: raster has no CRS; {crs_fix_hint(name)}")
        try:
            crs = CRS.from_user_input(src.crs.to_wkt())
        except Exception as exc:  # pyproj raises CRSError, a plain Exception subclass
            raise MissingCRS(f"{name}: CRS cannot be read ({exc}); {crs_fix_hint(name)}") from exc
        if src.transform.is_identity:
            raise MissingCRS(f"{name}: raster has no geotransform; georeference it first")
        bh, bw = src.block_shapes[0] if src.block_shapes else (1, src.width)
        return cls(crs, src.transform, src.width, src.height, (int(bh), int(bw)))

    # ------------------------------------------------------------------ properties
    @property
    def shape(self) -> tuple[int, int]:
        """(rows, cols)."""
        return (self.height, self.width)

    @property
    def size(self) -> int:
        """Number of pixels."""
        return self.width * self.height

    @property
    def is_geographic(self) -> bool:
        """True for a lon/lat grid."""
        return bool(self.crs.is_geographic)

    @property
    def res(self) -> tuple[float, float]:
        """Pixel size (x, y) in CRS units, both positive."""
        return (math.hypot(self.transform.a, self.transform.d), math.hypot(self.transform.b, self.transform.e))

    @property
    def bounds(self) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) in CRS units."""
        return _bounds(self.transform, self.height, self.width)

    def window_transform(self, window: Window) -> Affine:
        """Transform of a window's top-left corner."""
        return rasterio.windows.transform(window, self.transform)

    def window_bounds(self, window: Window) -> tuple[float, float, float, float]:
        """(left, bottom, right, top) of a window."""
        return _bounds(self.window_transform(window), int(window.height), int(window.width))

    def full_window(self) -> Window:
        """The window covering the whole grid."""
        return Window(0, 0, self.width, self.height)

    # ------------------------------------------------------------------ comparison
    def same_as(self, other: "Grid", *, rtol: float = 1e-9) -> bool:
        """True when both grids have the same CRS, shape and transform (to ``rtol`` of a pixel)."""
        if (self.width, self.height) != (other.width, other.height):
            return False
        if not self.crs.equals(other.crs, ignore_axis_order=True):
            return False
        tol = rtol * max(self.res)
        return all(abs(a - b) <= max(tol, 1e-12) for a, b in zip(self.transform[:6], other.transform[:6]))

    def check_same(self, other: "Grid", *, names: tuple[str, str] = ("first", "second"),
                   resampling: str = "near") -> None:
        """Raise :class:`GridMismatch` naming what differs when ``other`` is another grid.

        ``resampling`` is the gdalwarp method the message advises for the second raster:
        ``near`` for classes (land cover), ``bilinear`` for continuous values (densities,
        stock volume)."""
        if self.same_as(other):
            return
        parts = []
        if (self.width, self.height) != (other.width, other.height):
            parts.append(f"shape {self.height}×{self.width} vs {other.height}×{other.width}")
        if not self.crs.equals(other.crs, ignore_axis_order=True):
            parts.append(f"CRS {crs_label(self.crs)} vs {crs_label(other.crs)}")
        if not parts:
            parts.append(f"transform {tuple(self.transform)[:6]} vs {tuple(other.transform)[:6]}")
        raise GridMismatch(
            f"{names[0]} and {names[1]} are not on the same grid ({'; '.join(parts)}); "
            + ("warp one onto the other with nearest-neighbour resampling (gdalwarp -r near -tr/-te/-t_srs of the first)"
               if resampling == "near" else
               f"warp the second onto the first (gdalwarp -r {resampling} -tr/-te/-t_srs of the first: its values are "
               "continuous, not classes)")
        )

    # ------------------------------------------------------------------ blocks
    def blocks(self, max_cells: int = DEFAULT_MAX_CELLS, *, square: bool = False) -> Iterator[Window]:
        """Windows that cover every pixel exactly once, each with at most ``max_cells`` cells.

        Blocks are full-width strips when a strip of the internal block height fits the
        budget, otherwise tiles; their edges fall on the file's internal block edges when
        the budget allows, so each internal block is decoded once. ``square``: tiles as near
        square as the internal blocks allow (see :meth:`block_shape_for`).
        """
        bh, bw = self.block_shape_for(max_cells, square=square)
        for row in range(0, self.height, bh):
            h = min(bh, self.height - row)
            for col in range(0, self.width, bw):
                yield Window(col, row, min(bw, self.width - col), h)

    def block_shape_for(self, max_cells: int, *, square: bool = False) -> tuple[int, int]:
        """(rows, cols) of the blocks :meth:`blocks` yields for a cell budget.

        ``square``: about ``sqrt(max_cells)`` on a side, on the internal block edges, for a
        tiled file wider than the budget's side (a striped file keeps strips). Whoever writes
        COG overviews from the blocks gains: a 1024 × 1024 block's 2 × 2 reduction fills whole
        512-pixel tiles, where a 512-row strip leaves each overview tile half filled until the
        next block row, and the writer holds a full-width row of them
        (:class:`~sinkplan.layers.outputs.BlockWriter`).
        """
        if max_cells < 1:
            raise InputError(f"max_cells must be ≥ 1, got {max_cells}", params=("max_cells",))
        ibh, ibw = (max(1, self.block_shape[0]), max(1, self.block_shape[1]))
        if ibh * ibw > max_cells:
            ibh, ibw = 1, 1  # budget below one internal block: ignore the alignment
        side = math.isqrt(max_cells)
        if square and ibw < self.width and ibh <= side and ibw <= side and self.width > side:
            bh = max(ibh, side // ibh * ibh)
            bw = max(ibw, (max_cells // bh) // ibw * ibw)
            return (min(bh, self.height), min(bw, self.width))
        if self.width * ibh <= max_cells:
            bw = self.width
            bh = max(ibh, (max_cells // self.width) // ibh * ibh)
        else:
            bw = max(ibw, (max_cells // ibh) // ibw * ibw)
            bw = min(bw, self.width)
            bh = ibh
            # Spend any budget left on taller tiles.
            bh = max(ibh, (max_cells // bw) // ibh * ibh)
        return (min(bh, self.height), min(bw, self.width))

    def n_blocks(self, max_cells: int = DEFAULT_MAX_CELLS, *, square: bool = False) -> int:
        """How many windows :meth:`blocks` yields."""
        bh, bw = self.block_shape_for(max_cells, square=square)
        return math.ceil(self.height / bh) * math.ceil(self.width / bw)

    # ------------------------------------------------------------------ areas
    @cached_property
    def equal_area(self) -> bool:
        """True when the grid's CRS is an equal-area projection (areal scale 1)."""
        return (not self.is_geographic) and areas.is_equal_area(self.crs, self.bounds)

    def row_areas_m2(self, window: Window) -> np.ndarray:
        """Pixel area (m²) per row of a window of a lon/lat grid, shape (rows,)."""
        if not self.is_geographic:
            raise InputError("row_areas_m2 is for lon/lat grids; use pixel_areas_m2")
        return areas.geographic_row_areas_m2(
            self.transform, int(window.row_off), int(window.height), crs=self.crs
        )

    def pixel_areas_m2(self, window: Window | None = None) -> np.ndarray:
        """Ground area (m²) of each pixel of a window, shape (rows, cols), float64.

        For a lon/lat grid this is a read-only broadcast view of one value per row;
        for an equal-area projection a read-only constant view.
        """
        window = window or self.full_window()
        h, w = int(window.height), int(window.width)
        if self.is_geographic:
            return np.broadcast_to(self.row_areas_m2(window)[:, None], (h, w))
        if self.equal_area:
            unit = self.crs.axis_info[0].unit_conversion_factor if self.crs.axis_info else 1.0
            t = self.transform
            nominal = abs(t.a * t.e - t.b * t.d) * unit * unit
            return np.broadcast_to(np.float64(nominal), (h, w))
        return areas.projected_pixel_areas_m2(
            self.transform, int(window.row_off), int(window.col_off), h, w, crs=self.crs
        )

    def total_area_m2(self, max_cells: int = DEFAULT_MAX_CELLS) -> float:
        """Ground area (m²) of the whole grid, summed block by block."""
        if self.is_geographic:
            return float(self.row_areas_m2(self.full_window()).sum() * self.width)
        return float(sum(self.pixel_areas_m2(w).sum() for w in self.blocks(max_cells)))


def _bounds(transform: Affine, height: int, width: int) -> tuple[float, float, float, float]:
    xs, ys = zip(*(transform @ (c, r) for c, r in ((0, 0), (width, 0), (0, height), (width, height))))
    return (min(xs), min(ys), max(xs), max(ys))

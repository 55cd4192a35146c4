"""Land-cover rasters read with a class scheme, block by block.

A :class:`LandCover` couples a raster path, its :class:`~sinkplan.layers.grid.Grid` and a
:class:`~sinkplan.layers.schemes.ClassScheme`. :func:`class_table` streams it once and returns
pixels and area per code; codes the scheme does not know raise
:class:`~sinkplan.layers.errors.UnknownClassCode` listing codes and pixel counts.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from rasterio.windows import Window

from pyproj import CRS

from sinkplan.layers.errors import InputError, UnknownClassCode
from sinkplan.layers.grid import DEFAULT_MAX_CELLS, Grid, open_raster
from sinkplan.layers.reading import read_window
from sinkplan.layers.schemes import ClassScheme, load_scheme
from sinkplan.layers.tally import area_by_key
from sinkplan.layers.parallel import Progress

__all__ = ["LandCover", "ArrayBlocks", "open_landcover", "open_landcover_array", "class_table", "check_codes", "Progress"]

logger = logging.getLogger(__name__)


#: Largest code a land-cover raster may hold (codes are counted with a bincount).
MAX_CODE = 65535


@dataclass(frozen=True, eq=False)
class ArrayBlocks:
    """Blocks of a land cover given as an array (an ``xarray.DataArray``, lazy or not), one
    window at a time: only the window's chunks are computed, never the whole array.

    Picklable (the DataArray and its Dask graph travel with a task), so a Dask worker computes
    its own block; a rioxarray array reads its file there, which must be on the shared data path.

    Parameters
    ----------
    data : xarray.DataArray
        Two dimensions, (y, x), of class codes.
    name : str
        What messages call it.
    fill : int, optional
        Code written where the array holds NaN (a masked read: ``rioxarray.open_rasterio(...,
        masked=True)``); ``dtype`` is then the integer type the codes are cast to.
    dtype : str
        Dtype of the blocks :meth:`read` returns.
    """

    data: Any = field(repr=False)
    name: str
    dtype: str
    fill: int | None = None

    def read(self, window: Window) -> np.ndarray:
        """Codes of ``window`` (rows × cols, :attr:`dtype`)."""
        r0, c0 = int(window.row_off), int(window.col_off)
        y, x = self.data.dims
        sub = self.data.isel({y: slice(r0, r0 + int(window.height)), x: slice(c0, c0 + int(window.width))}).data
        if hasattr(sub, "compute"):  # dask: this block's chunks only, in this thread (the pass runs blocks in parallel)
            sub = sub.compute(scheduler="synchronous")
        return self.codes(np.asarray(sub))

    def codes(self, block: np.ndarray) -> np.ndarray:
        """A block of the array as class codes: NaN of a masked read → ``fill``, cast to :attr:`dtype`."""
        if self.fill is not None:
            block = np.where(np.isnan(block), self.fill, block)
        return block.astype(self.dtype, copy=False)


@dataclass(frozen=True)
class LandCover:
    """A categorical land-cover raster and the scheme its codes follow.

    ``source`` is set for a land cover given as an array (:func:`open_landcover_array`): blocks are
    read from it, and ``path`` is the file it came from (rioxarray's ``encoding["source"]``) or
    a label.
    """

    path: Path
    grid: Grid
    scheme: ClassScheme
    nodata: int | None
    dtype: str
    source: ArrayBlocks | None = field(default=None, compare=False, repr=False)

    @property
    def pass_input(self) -> "str | ArrayBlocks":
        """What a block pass reads: the file's path, or the array's blocks."""
        return str(self.path) if self.source is None else self.source

    @property
    def input_file(self) -> str | None:
        """The file to record (with its SHA-256) in a manifest: the raster, or the file an array
        was read from when that is known and exists; None for an array of other origin."""
        if self.source is None or self.path.is_file():
            return str(self.path)
        return None

    def read(self, window: Window | None = None) -> np.ndarray:
        """Codes of a window (the whole raster when None), in the file's dtype."""
        if self.source is not None:
            return self.source.read(window or self.grid.full_window())
        with open_raster(self.path) as src:
            return read_window(src, window or self.grid.full_window())

    def blocks(self, max_cells: int = DEFAULT_MAX_CELLS) -> Iterator[tuple[Window, np.ndarray]]:
        """(window, codes) for every block, reading through one open dataset."""
        if self.source is not None:
            for w in self.grid.blocks(max_cells):
                yield w, self.source.read(w)
            return
        with open_raster(self.path) as src:
            for w in self.grid.blocks(max_cells):
                yield w, read_window(src, w)

    def valid_mask(self, codes: np.ndarray) -> np.ndarray:
        """True where a pixel holds a land-cover class (not the raster's or scheme's nodata)."""
        mask = np.ones(codes.shape, dtype=bool)
        for nd in {self.nodata, self.scheme.nodata} - {None}:
            mask &= codes != nd
        return mask


def open_landcover(
    path: str | os.PathLike, scheme: str | os.PathLike | ClassScheme = "clcd", *, mapping: dict[int, int | str] | None = None
) -> LandCover:
    """Open a land-cover raster with a class scheme (shipped name, CSV/TOML path or object).

    Raises
    ------
    InputFileError, MissingCRS
        The file is missing, unreadable or has no CRS.
    InputError
        The raster is not single-band integer (a categorical raster must be).
    """
    p = Path(path)
    with open_raster(p) as src:
        grid = Grid.from_dataset(src, name=str(p))
        dtype = src.dtypes[0]
        if src.count != 1:
            logger.info("%s has %d bands; band 1 is read as land cover", p, src.count)
        if not np.issubdtype(np.dtype(dtype), np.integer):
            raise InputError(
                f"{p}: land cover must hold integer class codes, found {dtype}; "
                "convert with gdal_translate -ot Byte (or UInt16)"
            )
        nodata = None if src.nodata is None else int(src.nodata)
    sch = load_scheme(scheme, mapping=mapping)
    _warn_nodata_is_a_class(p, nodata, sch)
    return LandCover(p, grid, sch, nodata, dtype)


def _warn_nodata_is_a_class(path: Path, nodata: int | None, scheme: ClassScheme) -> None:
    """Say so when the raster's declared nodata is a land class of the scheme: GDAL's rule makes
    every pixel of that class nodata, so the class would drop out of every table unseen."""
    cl = scheme.by_code.get(nodata) if nodata is not None else None
    if cl is not None and cl.group != "nodata":
        from sinkplan.layers.warnings import AssumptionWarning, warn

        warn(AssumptionWarning, f"{path}: the raster declares nodata = {nodata}, which is class {nodata} "
             f"({cl.name_en}, {cl.group}) of scheme {scheme.name!r}: its pixels are read as nodata and counted "
             f"nowhere; if they are {cl.name_en}, remove the declaration from a copy (gdal_translate -a_nodata none)",
             logger=__name__)


def open_landcover_array(
    data: Any, scheme: str | os.PathLike | ClassScheme = "clcd", *, mapping: dict[int, int | str] | None = None,
    name: str | None = None,
) -> LandCover:
    """A land cover given as an ``xarray.DataArray`` with rioxarray's georeferencing.

    The array stays lazy: a pass computes one block at a time (a Dask-backed array from
    ``rioxarray.open_rasterio(path, chunks=...)`` reads only that block's chunks), with blocks
    aligned to the chunks. Same grid, nodata and codes as the file, so the same results.

    Parameters
    ----------
    data : xarray.DataArray
        Class codes on dimensions (y, x), optionally with a ``band`` dimension (band 1 is read,
        as from a file); CRS and transform from ``data.rio``; nodata ``data.rio.nodata`` (or, for
        a masked read, NaN with ``data.rio.encoded_nodata``).
    scheme : str, path or ClassScheme
        Class scheme of the codes.
    mapping : dict, optional
        Codes the scheme lacks.
    name : str, optional
        What messages call the array (default: the file it was read from, or its name).

    Raises
    ------
    MissingCRS
        No CRS (``data.rio.write_crs(...)`` sets one).
    InputError
        Not a DataArray, dimensions other than band/y/x, or values that are not integer codes.

    Examples
    --------
    >>> import numpy as np, xarray as xr, rioxarray  # noqa: F401  (registers .rio)
    >>> da = xr.DataArray(np.array([[2, 4], [4, 0]], dtype="uint8"), dims=("y", "x"),
    ...                   coords={"y": [41.995, 41.985], "x": [110.005, 110.015]})
    >>> lc = open_landcover_array(da.rio.write_crs("EPSG:4326").rio.write_nodata(0), name="lc")
    >>> lc.grid.shape, lc.nodata, lc.read().tolist()
    ((2, 2), 0, [[2, 4], [4, 0]])
    """
    from sinkplan.layers.errors import MissingCRS

    try:
        import xarray as xr
    except ImportError:  # pragma: no cover - xarray is a dependency
        raise InputError("a land-cover array needs xarray and rioxarray (pip install rioxarray)") from None
    if not isinstance(data, xr.DataArray):
        raise InputError(f"land cover: expected a path or an xarray.DataArray, got {type(data).__name__}")
    import rioxarray  # noqa: F401  (registers the .rio accessor)

    src = data.encoding.get("source")
    label = name or (str(src) if src else f"xarray.DataArray {data.name or ''}".strip())
    try:
        ydim, xdim = data.rio.y_dim, data.rio.x_dim
    except Exception as exc:  # rioxarray's DimensionError
        raise InputError(f"{label}: no spatial dimensions ({exc}); name them y and x (or set them with "
                         "data.rio.set_spatial_dims(x_dim=..., y_dim=...))") from None
    for dim in data.dims:
        if dim in (ydim, xdim):
            continue
        if dim == "band":
            if data.sizes["band"] > 1:
                logger.info("%s has %d bands; band 1 is read as land cover", label, data.sizes["band"])
            data = data.isel(band=0)
        else:
            raise InputError(f"{label}: dimension {dim!r} ({data.sizes[dim]}) besides {ydim}/{xdim}; give one map "
                             f"per DataArray, e.g. data.sel({dim}=...)")
    data = data.transpose(ydim, xdim)
    if data.rio.crs is None:
        raise MissingCRS(f"{label}: the DataArray has no CRS; set it with data.rio.write_crs('EPSG:4326') (use its real CRS)")
    crs = CRS.from_user_input(data.rio.crs.to_wkt())
    transform = _array_transform(data, label)
    dtype = np.dtype(data.dtype)
    fill = None
    if np.issubdtype(dtype, np.integer):
        nodata = data.rio.nodata
    else:
        enc_dtype = data.encoding.get("dtype")
        encoded = data.rio.encoded_nodata
        if enc_dtype is None or not np.issubdtype(np.dtype(enc_dtype), np.integer):
            raise InputError(f"{label}: land cover must hold integer class codes, found {dtype}; open it with "
                             "rioxarray.open_rasterio(path, chunks=...) without masked=True, or cast it (data.astype('uint8'))")
        dtype = np.dtype(enc_dtype)  # a masked read of an integer file: NaN is the file's nodata
        nodata = encoded
        fill = None if encoded is None else int(encoded)
        if fill is None:
            raise InputError(f"{label}: masked land cover without its nodata value (rio.encoded_nodata); open it "
                             "without masked=True")
    if nodata is not None and not np.isfinite(nodata):
        nodata = None
    chunks = data.chunks
    if chunks:
        block = (int(chunks[0][0]), int(chunks[1][0]))
    else:  # not Dask: the file's own blocks when rioxarray recorded them
        pref = data.encoding.get("preferred_chunks") or {}
        block = (int(pref.get(ydim, 1)), int(pref.get(xdim, 1)))
    grid = Grid(crs, transform, int(data.sizes[xdim]), int(data.sizes[ydim]), block)
    blocks = ArrayBlocks(data, label, dtype.name, fill)
    return LandCover(Path(label), grid, load_scheme(scheme, mapping=mapping), None if nodata is None else int(nodata),
                     dtype.name, blocks)


def _array_transform(data: Any, label: str):
    """The array's transform: the one stored with it (the file's, exact) when its coordinates
    agree with it to 1e-6 of a pixel, else the one its coordinates give (a slice of the array)."""
    from sinkplan.layers.errors import MissingCRS

    stored = data.rio.transform()
    try:
        coords = data.rio.transform(recalc=True)
    except Exception:  # one row or column: the spacing comes from the stored transform only
        coords = stored
    if coords.is_identity:
        raise MissingCRS(f"{label}: the DataArray has no x/y coordinates or transform; georeference it first")
    px = max(abs(coords.a), abs(coords.e), abs(coords.b), abs(coords.d))
    if all(abs(u - v) <= 1e-6 * px for u, v in zip(tuple(stored)[:6], tuple(coords)[:6])):
        return stored
    return coords


def class_table(
    lc: LandCover,
    *,
    max_cells: int = DEFAULT_MAX_CELLS,
    progress: Progress | None = None,
    strict: bool = True,
) -> pd.DataFrame:
    """Pixels and ground area per code over the whole raster, in one streamed pass.

    Returns a DataFrame with columns ``code, name_en, name_zh, group, pixels, area_ha``
    for every code present (nodata pixels are not listed; known codes absent from the
    raster are listed with zero), sorted by code. ``attrs`` carries ``nodata_pixels``.

    Raises
    ------
    UnknownClassCode
        When ``strict`` and the raster holds codes the scheme lacks.
    """
    # one bin per possible code, one for negative / too large codes (n - 1), and one (n) for
    # nodata values outside the code range (an int16 raster's -1, an int32 raster's -9999)
    n = (256 if np.dtype(lc.dtype).itemsize == 1 else MAX_CODE + 1) + 1
    far = [nd for nd in {lc.nodata, lc.scheme.nodata} - {None} if not 0 <= nd < n - 1]
    pixels = np.zeros(n + 1, dtype=np.int64)
    area_m2 = np.zeros(n + 1, dtype=np.float64)
    total = lc.grid.n_blocks(max_cells)
    for i, (w, codes) in enumerate(lc.blocks(max_cells)):
        k = codes.astype(np.int64)
        out_of_range = (k < 0) | (k >= n - 1)
        if far and out_of_range.any():
            is_far = np.isin(k, far)
            k[is_far] = n
            out_of_range &= ~is_far
        k[out_of_range] = n - 1
        px, ar = area_by_key(k, n + 1, lc.grid, w)
        pixels += px
        area_m2 += ar
        if progress:
            progress((i + 1) / total, f"counting classes of {lc.path.name}")
    nodata_px = int(pixels[n])
    pixels[n] = 0
    for nd in {lc.nodata, lc.scheme.nodata} - {None}:
        if 0 <= nd <= MAX_CODE:
            nodata_px += int(pixels[nd])
            pixels[nd] = 0
            area_m2[nd] = 0.0
    if pixels[n - 1]:
        raise InputError(
            f"{lc.path}: {pixels[n - 1]} px hold codes below 0 or above {MAX_CODE}; "
            "a land-cover raster holds small non-negative class codes"
        )
    present = {int(c): int(pixels[c]) for c in np.flatnonzero(pixels)}
    if strict:
        check_codes(present, lc.scheme, lc.path)
    rows = []
    for c in sorted(set(present) | {cl.code for cl in lc.scheme.classes if cl.group != "nodata"}):
        cl = lc.scheme.by_code.get(c)
        rows.append({
            "code": c,
            "name_en": cl.name_en if cl else "",
            "name_zh": cl.name_zh if cl else "",
            "group": cl.group if cl else "",
            "pixels": int(pixels[c]),
            "area_ha": float(area_m2[c]) / 10_000.0,  # m² → ha
        })
    df = pd.DataFrame(rows, columns=["code", "name_en", "name_zh", "group", "pixels", "area_ha"])
    df.attrs["nodata_pixels"] = nodata_px
    return df


def check_codes(counts: dict[int, int], scheme: ClassScheme, path: str | os.PathLike) -> None:
    """Raise :class:`UnknownClassCode` when ``counts`` holds codes not in ``scheme``.

    ``counts`` maps code → pixels (nodata already removed).
    """
    unknown = {c: n for c, n in sorted(counts.items()) if c not in scheme and n > 0}
    if unknown:
        listed = ", ".join(f"{c} ({n:,} px)" for c, n in list(unknown.items())[:20])
        more = f" and {len(unknown) - 20} more" if len(unknown) > 20 else ""
        first = next(iter(unknown))
        raise UnknownClassCode(
            f"{path}: codes {listed}{more} are not in scheme {scheme.name!r}; map them "
            f"(e.g. map_codes {first}=grassland or {first}=<known code>) or use a scheme that has them",
            counts=unknown, params=("map_codes",))

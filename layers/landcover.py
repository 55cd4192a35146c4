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
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from rasterio.windows import Window

from sinkplan.layers.errors import InputError, UnknownClassCode
from sinkplan.layers.grid import DEFAULT_MAX_CELLS, Grid, open_raster
from sinkplan.layers.reading import read_window
from sinkplan.layers.schemes import ClassScheme, load_scheme
from sinkplan.layers.tally import area_by_key
from sinkplan.layers.parallel import Progress

__all__ = ["LandCover", "open_landcover", "class_table", "check_codes", "Progress"]

logger = logging.getLogger(__name__)


#: Largest code a land-cover raster may hold (codes are counted with a bincount).
MAX_CODE = 65535


@dataclass(frozen=True)
class LandCover:
    """A categorical land-cover raster and the scheme its codes follow."""

    path: Path
    grid: Grid
    scheme: ClassScheme
    nodata: int | None
    dtype: str

    def read(self, window: Window | None = None) -> np.ndarray:
        """Codes of a window (the whole raster when None), in the file's dtype."""
        with open_raster(self.path) as src:
            return read_window(src, window or self.grid.full_window())

    def blocks(self, max_cells: int = DEFAULT_MAX_CELLS) -> Iterator[tuple[Window, np.ndarray]]:
        """(window, codes) for every block, reading through one open dataset."""
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
    return LandCover(p, grid, load_scheme(scheme, mapping=mapping), nodata, dtype)


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
    # one bin per possible code, and one for negative / too large codes
    n = (256 if np.dtype(lc.dtype).itemsize == 1 else MAX_CODE + 1) + 1
    pixels = np.zeros(n, dtype=np.int64)
    area_m2 = np.zeros(n, dtype=np.float64)
    total = lc.grid.n_blocks(max_cells)
    for i, (w, codes) in enumerate(lc.blocks(max_cells)):
        k = codes.astype(np.int64)
        k[(k < 0) | (k >= n - 1)] = n - 1
        px, ar = area_by_key(k, n, lc.grid, w)
        pixels += px
        area_m2 += ar
        if progress:
            progress((i + 1) / total, f"counting classes of {lc.path.name}")
    nodata_px = 0
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
            f"(e.g. --map-codes {first}=grassland or {first}=<known code>) or use a scheme that has them",
            counts=unknown,
        )

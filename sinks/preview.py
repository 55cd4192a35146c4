"""The land-cover preview computed inside the counting pass, from the blocks it decodes anyway.

``landcover_preview.tif`` (what ``sinkplan map`` draws under the zones) is the land cover
reduced to at most :data:`sinkplan.sinks.mapfiles.PREVIEW_MAX_PIXELS` pixels: each preview
pixel (a *cell*) is the mode of its ``f × f`` source pixels. After the pass it costs a second
decode of the whole raster by GDAL's mode resampling, unless the file has overviews that GDAL
reads instead: 2.27 s for a 460 Mpx tiled GeoTIFF without overviews (the pass itself: 1.6 s),
0.25 s with them. So :func:`stream_factor` streams it only for rasters without overviews;
with overviews the post-pass read stays (cheaper than any per-pixel work in the pass).

Per block, :func:`preview_piece` computes the mode of every cell lying wholly inside the
block and hands back the pixels of the cells a block edge cuts (strips less than ``f`` wide);
:class:`PreviewBuilder`, in the process that combines the blocks, fills those cells' pixels
in from the neighbouring blocks and takes their mode once complete. Either way each cell is
the mode of exactly its own pixels, scanned row by row, with GDAL's tie rule (of codes equally
frequent, the first to reach that count wins: GDAL keeps a value when its count *exceeds*
the running maximum), nodata left out and a cell of only nodata masked: the same preview
as :func:`sinkplan.sinks.mapfiles._mode_cells` and as GDAL's mode read of a file without
overviews (tested against both).

Memory: the finished preview (≤ 4 Mpx) and the cut cells' pixels: the cells along one row
boundary of blocks (``f`` rows × the raster's width) plus those along the column boundaries
of one row of blocks, whatever the raster's size.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass, field

import numpy as np
from rasterio.windows import Window

__all__ = ["PreviewPiece", "PreviewBuilder", "Preview", "preview_piece", "stream_factor", "mode_of_cells"]

logger = logging.getLogger(__name__)

try:  # pragma: no cover - depends on the environment
    import numba
except ImportError:  # pragma: no cover
    numba = None


@dataclass(frozen=True)
class Preview:
    """The mode of every cell: ``codes`` (integers, shape (rows, cols) of cells: int32 from the
    pass, int64 from :func:`sinkplan.sinks.mapfiles.read_landcover_preview`), ``mask`` (True:
    the cell holds only nodata) and the reduction ``factor``."""

    codes: np.ndarray = field(repr=False)
    mask: np.ndarray = field(repr=False)
    factor: int


@dataclass
class PreviewPiece:
    """One block's part of the preview (picklable: a Dask worker returns it).

    Attributes
    ----------
    cells : tuple
        ``(cell_row, cell_col, codes, mask)`` of the cells wholly inside the block.
    rows : list
        ``(cell_row, first_row_in_cell, col, pixels)``: the block's pixels in a cell row that
        a block's top or bottom edge cuts (all the block's columns).
    cols : list
        ``(cell_row_start, cell_row_stop, cell_col, first_col_in_cell, pixels)``: the block's
        pixels in a cell column a block's left or right edge cuts, over the cell rows the
        block holds whole.
    """

    cells: tuple
    rows: list
    cols: list


def stream_factor(lc, max_pixels: int) -> int:
    """The reduction factor to compute the preview of ``lc`` in the pass, or 0 to leave it to
    the read after the pass: a file with overviews (GDAL's decimated read of an overview is
    cheaper than any work in the pass), codes other than uint8/uint16, or no numba."""
    from sinkplan.sinks.mapfiles import _decimation_factor

    if numba is None or str(lc.dtype) not in ("uint8", "uint16"):
        return 0
    if getattr(lc, "source", None) is None:  # a file: GDAL reads overviews for a decimated read
        from sinkplan.layers.grid import open_raster

        with open_raster(lc.path) as src:
            if src.overviews(1):
                return 0
    g = lc.grid
    return _decimation_factor(g.height, g.width, max_pixels)


if numba is not None:  # pragma: no branch

    @numba.njit(nogil=True, cache=True)
    def _modes(codes, r0, c0, nodata, use_nodata, f, H, W, cr0, cr1, cc0, cc1, counts, seen, out, mask):  # pragma: no cover
        """out[cr - cr0, cc - cc0] = the mode of cell (cr, cc) for cr0 <= cr < cr1, cc0 <= cc < cc1;
        ``codes`` holds grid pixels from (r0, c0) and every cell wholly. ``seen[v]`` is the
        number (from 1) of the last cell that counted code v: a count left by an earlier cell
        is restarted, so nothing is cleared between cells."""
        cell = 0
        for cr in range(cr0, cr1):
            top = cr * f - r0
            bottom = min((cr + 1) * f, H) - r0
            for cc in range(cc0, cc1):
                left = cc * f - c0
                right = min((cc + 1) * f, W) - c0
                cell += 1
                best = 0
                best_n = 0
                for i in range(top, bottom):
                    for j in range(left, right):
                        v = np.intp(codes[i, j])
                        if use_nodata and v == nodata:
                            continue
                        if seen[v] != cell:
                            seen[v] = cell
                            counts[v] = 0
                        n = counts[v] + 1
                        counts[v] = n
                        if n > best_n:  # GDAL's rule: only a count above the maximum takes over
                            best_n = n
                            best = v
                out[cr - cr0, cc - cc0] = best
                mask[cr - cr0, cc - cc0] = best_n == 0


def mode_of_cells(codes: np.ndarray, origin: tuple[int, int], cells: tuple[int, int, int, int], *, factor: int,
                  shape: tuple[int, int], nodata: int | None) -> tuple[np.ndarray, np.ndarray]:
    """The mode of cells ``(cr0, cr1, cc0, cc1)`` (half-open) of a grid of ``shape`` pixels,
    from ``codes`` (uint8/uint16) holding the grid's pixels from ``origin`` (row, col) and
    every pixel of those cells. Returns (int32 codes, bool mask) of shape (cr1-cr0, cc1-cc0)."""
    cr0, cr1, cc0, cc1 = cells
    out = np.zeros((cr1 - cr0, cc1 - cc0), dtype=np.int32)
    mask = np.ones(out.shape, dtype=bool)
    if out.size == 0:
        return out, mask
    size = 256 if codes.dtype == np.uint8 else 65536
    counts, seen = np.zeros(size, dtype=np.int64), np.zeros(size, dtype=np.int64)
    nd = -1 if nodata is None else int(nodata)
    use = nodata is not None and 0 <= nd < size
    if factor == 1:  # each cell one pixel: the code itself
        r, c = cr0 - int(origin[0]), cc0 - int(origin[1])
        out[:] = codes[r:r + out.shape[0], c:c + out.shape[1]]
        mask[:] = (out == nd) if use else False
        return out, mask
    _modes(codes, int(origin[0]), int(origin[1]), nd if use else 0, use, int(factor), int(shape[0]), int(shape[1]),
           cr0, cr1, cc0, cc1, counts, seen, out, mask)
    return out, mask


def _whole(start: int, stop: int, f: int, size: int) -> tuple[int, int]:
    """Cells (half-open) wholly inside pixels [start, stop) of an axis of ``size`` pixels."""
    first = -(-start // f)
    last = stop // f if stop < size else math.ceil(size / f)  # the grid's last cell may be short
    return first, max(first, last)


def preview_piece(codes: np.ndarray, window: Window, *, factor: int, shape: tuple[int, int],
                  nodata: int | None) -> PreviewPiece:
    """The part of the preview one block of land-cover codes gives (see :class:`PreviewPiece`)."""
    f, (H, W) = factor, shape
    r, c, h, w = int(window.row_off), int(window.col_off), int(window.height), int(window.width)
    kr0, kr1 = _whole(r, r + h, f, H)
    kc0, kc1 = _whole(c, c + w, f, W)
    cells = (kr0, kc0, *mode_of_cells(codes, (r, c), (kr0, kr1, kc0, kc1), factor=f, shape=shape, nodata=nodata))
    rows = []
    for k in sorted({r // f, (r + h - 1) // f} - set(range(kr0, kr1))):  # cell rows cut by the top or bottom edge
        a, b = max(k * f, r), min((k + 1) * f, H, r + h)
        rows.append((k, a - k * f, c, codes[a - r:b - r].copy()))
    cols = []
    if kr1 > kr0:
        a, b = kr0 * f, min(kr1 * f, H)
        for k in sorted({c // f, (c + w - 1) // f} - set(range(kc0, kc1))):  # cut by the left or right edge
            x, y = max(k * f, c), min((k + 1) * f, W, c + w)
            cols.append((kr0, kr1, k, x - k * f, codes[a - r:b - r, x - c:y - c].copy()))
    return PreviewPiece(cells, rows, cols)


class PreviewBuilder:
    """Assembles the pieces of every block (any order) into the :class:`Preview`."""

    def __init__(self, shape: tuple[int, int], factor: int, nodata: int | None, dtype) -> None:
        self.shape, self.factor, self.nodata, self.dtype = shape, int(factor), nodata, np.dtype(dtype)
        H, W = shape
        self._n = (math.ceil(H / self.factor), math.ceil(W / self.factor))
        self.codes = np.zeros(self._n, dtype=np.int32)
        self.mask = np.ones(self._n, dtype=bool)
        self._done = np.zeros(self._n, dtype=bool)
        self._rows: dict[int, list] = {}  # cell row → [pixels (rows of the cell row, W), pixels still missing]
        self._cols: dict[tuple[int, int, int], list] = {}  # (cell rows, cell col) → [pixels, missing]

    def _cell_rows(self, k: int) -> tuple[int, int]:
        f, H = self.factor, self.shape[0]
        return k * f, min((k + 1) * f, H)

    def _cell_cols(self, k: int) -> tuple[int, int]:
        f, W = self.factor, self.shape[1]
        return k * f, min((k + 1) * f, W)

    def add(self, piece: PreviewPiece) -> None:
        kr, kc, codes, mask = piece.cells
        self._put(kr, kc, codes, mask)
        f, (H, W) = self.factor, self.shape
        for k, dr, col, px in piece.rows:
            entry = self._rows.get(k)
            if entry is None:
                a, b = self._cell_rows(k)
                entry = self._rows[k] = [np.zeros((b - a, W), dtype=self.dtype), (b - a) * W]
            entry[0][dr:dr + px.shape[0], col:col + px.shape[1]] = px
            entry[1] -= px.size
            if entry[1] == 0:
                del self._rows[k]
                a, _ = self._cell_rows(k)
                self._put(k, 0, *mode_of_cells(entry[0], (a, 0), (k, k + 1, 0, self._n[1]), factor=f, shape=self.shape,
                                               nodata=self.nodata))
        for k0, k1, k, dc, px in piece.cols:
            key = (k0, k1, k)
            entry = self._cols.get(key)
            if entry is None:
                x, y = self._cell_cols(k)
                rows = min(k1 * f, H) - k0 * f
                entry = self._cols[key] = [np.zeros((rows, y - x), dtype=self.dtype), rows * (y - x)]
            entry[0][:, dc:dc + px.shape[1]] = px
            entry[1] -= px.size
            if entry[1] == 0:
                del self._cols[key]
                self._put(k0, k, *mode_of_cells(entry[0], (k0 * f, k * f), (k0, k1, k, k + 1), factor=f,
                                                shape=self.shape, nodata=self.nodata))

    def _put(self, kr: int, kc: int, codes: np.ndarray, mask: np.ndarray) -> None:
        h, w = codes.shape
        if h and w:
            self.codes[kr:kr + h, kc:kc + w] = codes
            self.mask[kr:kr + h, kc:kc + w] = mask
            self._done[kr:kr + h, kc:kc + w] = True

    def result(self) -> Preview:
        """The preview; every cell must have been completed (else RuntimeError: a block is missing)."""
        if self._rows or self._cols or not self._done.all():
            raise RuntimeError(f"preview incomplete: {int((~self._done).sum())} cells without all their pixels")
        return Preview(self.codes, self.mask, self.factor)

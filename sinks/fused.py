"""Optional fused counting kernel (numba) for lon/lat grids; the arithmetic of ``area_by_key``.

:func:`sinkplan.layers.tally.area_by_key` on a lon/lat grid counts pixels per (row, key) with one
bincount and multiplies the per-row counts by the per-row pixel areas. Building the keys
and counting take five numpy passes over the block (lookup, multiply-add, int64 cast,
row offset, bincount) and a matrix product; this kernel does it in one loop over the
pixels and adds ``count × row area`` row by row. Pixel counts are identical to
``area_by_key``; areas agree to the last bits (the sum runs in row order rather than in
BLAS's order; tested to 1e-12). Every executor runs the same kernel, so one process and
Dask still agree bit for bit. Used only for lon/lat grids with uint8/uint16 codes and
only when numba is installed; otherwise :mod:`sinkplan.sinks.blocks` uses ``area_by_key``.
"""

from __future__ import annotations

import logging

import numpy as np

__all__ = ["HAVE_NUMBA", "fused_applies", "count_rows"]

logger = logging.getLogger(__name__)

try:  # pragma: no cover - depends on the environment
    import numba

    HAVE_NUMBA = True
except ImportError:  # pragma: no cover
    numba = None
    HAVE_NUMBA = False


def fused_applies(grid, nkeys: int, h: int, w: int) -> bool:
    """True when the kernel applies: numba present, a lon/lat grid (one pixel area per row) or an
    equal-area projection (one pixel area), at most 2 keys per pixel of a row."""
    return HAVE_NUMBA and (grid.is_geographic or grid.equal_area) and nkeys + 1 <= 2 * w


if HAVE_NUMBA:  # pragma: no branch

    @numba.njit(nogil=True, cache=True)
    def _count(strata, codes, lut, slots, top, row_area, pixels, area):  # pragma: no cover - compiled
        """pixels[k] += n and area[k] += n × row_area[i] for the n pixels of row i with key k,
        k = min(strata, top) × slots + lut[code].

        Four interleaved sub-histograms per row break the store-to-load dependency of
        runs of equal keys (land cover comes in patches): about twice as fast on maps.
        """
        h, w = codes.shape
        n = pixels.shape[0]
        tmp = np.zeros((4, n), np.int64)
        for i in range(h):
            tmp[:] = 0
            j = 0
            while j + 4 <= w:
                for u in range(4):
                    st = np.intp(strata[i, j + u])
                    if st > top:
                        st = top
                    tmp[u, st * slots + np.intp(lut[codes[i, j + u]])] += 1
                j += 4
            while j < w:
                st = np.intp(strata[i, j])
                if st > top:
                    st = top
                tmp[0, st * slots + np.intp(lut[codes[i, j]])] += 1
                j += 1
            a = row_area[i]
            for k in range(n):
                c = tmp[0, k] + tmp[1, k] + tmp[2, k] + tmp[3, k]
                if c:
                    pixels[k] += c
                    area[k] += c * a  # pixels × m² per pixel of this row


def count_rows(strata: np.ndarray | None, codes: np.ndarray, lut: np.ndarray, slots: int, nkeys: int,
               row_area_m2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels and area (m²) per key ``strata * slots + lut[codes]`` over one lon/lat block.

    Parameters
    ----------
    strata : ndarray of int or None
        Stratum per pixel; ids above the last stratum count as the last, negative as 0
        (as :func:`sinkplan.sinks.blocks.tally_block` clips them). None: a single stratum.
    codes : ndarray of uint8 or uint16
        Land-cover codes (every code indexes ``lut``).
    lut : ndarray
        Code → class slot.
    slots : int
        Slots per stratum.
    nkeys : int
        Number of keys (strata × slots).
    row_area_m2 : ndarray, shape (rows,)
        Pixel area of each row.

    Examples
    --------
    >>> lut = (np.arange(256) % 5).astype(np.uint16)
    >>> count_rows(None, np.array([[1, 2, 1], [1, 1, 1]], np.uint8), lut, 5, 5, np.array([1.0, 2.0]))
    (array([0, 5, 1, 0, 0]), array([0., 8., 1., 0., 0.]))
    """
    if codes.dtype not in (np.uint8, np.uint16) or len(lut) < (256 if codes.dtype == np.uint8 else 65536):
        raise ValueError("codes must be uint8 or uint16 and the lookup table cover every value")
    if strata is None:
        strata = np.broadcast_to(np.zeros((1, 1), dtype=np.uint8), codes.shape)
    elif strata.dtype.kind != "u":
        strata = np.clip(strata, 0, None).astype(np.uint32)
    pixels = np.zeros(nkeys, dtype=np.int64)
    area = np.zeros(nkeys, dtype=np.float64)
    _count(strata, codes, lut, slots, nkeys // slots - 1, np.ascontiguousarray(row_area_m2, dtype=np.float64), pixels, area)
    return pixels, area

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

__all__ = ["HAVE_NUMBA", "fused_applies", "count_rows", "count_rows2", "lookup", "lookup2", "warm_kernels"]

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
    _check_codes(codes, lut)
    strata = _strata_u(strata, codes.shape)
    pixels = np.zeros(nkeys, dtype=np.int64)
    area = np.zeros(nkeys, dtype=np.float64)
    _count(strata, codes, lut, slots, nkeys // slots - 1, np.ascontiguousarray(row_area_m2, dtype=np.float64), pixels, area)
    return pixels, area


if HAVE_NUMBA:  # pragma: no branch

    @numba.njit(nogil=True, cache=True)
    def _count2(strata, c0, c1, lut0, lut1, slots0, slots1, top, row_area, pixels, area):  # pragma: no cover - compiled
        """pixels[k] += n and area[k] += n × row_area[i] for the n pixels of row i with key
        k = (min(strata, top) × slots0 + lut0[c0]) × slots1 + lut1[c1].

        Two maps give many keys (zones × classes²), so a row's counts are kept for the keys the
        row touches only (in the order it first touches them) rather than swept over all keys.
        Per key, rows are still added in row order with ``count × row area``: the same sums as
        :func:`_count` would give.
        """
        h, w = c0.shape
        tmp = np.zeros(pixels.shape[0], np.int64)
        touched = np.empty(w, np.intp)
        for i in range(h):
            nt = 0
            for j in range(w):
                st = np.intp(strata[i, j])
                if st > top:
                    st = top
                k = (st * slots0 + np.intp(lut0[c0[i, j]])) * slots1 + np.intp(lut1[c1[i, j]])
                if tmp[k] == 0:
                    touched[nt] = k
                    nt += 1
                tmp[k] += 1
            a = row_area[i]
            for t in range(nt):
                k = touched[t]
                c = tmp[k]
                pixels[k] += c
                area[k] += c * a  # pixels × m² per pixel of this row
                tmp[k] = 0

    @numba.njit(nogil=True, cache=True)
    def _lookup1(codes, table, out):  # pragma: no cover - compiled
        """out = table[codes] pixel by pixel."""
        h, w = codes.shape
        for i in range(h):
            for j in range(w):
                out[i, j] = table[codes[i, j]]

    @numba.njit(nogil=True, cache=True)
    def _lookup2(c0, c1, lut0, lut1, table, out):  # pragma: no cover - compiled
        """out = table[lut0[c0], lut1[c1]] pixel by pixel."""
        h, w = c0.shape
        for i in range(h):
            for j in range(w):
                out[i, j] = table[lut0[c0[i, j]], lut1[c1[i, j]]]


def _strata_u(strata: np.ndarray | None, shape: tuple[int, int]) -> np.ndarray:
    if strata is None:
        return np.broadcast_to(np.zeros((1, 1), dtype=np.uint8), shape)
    if strata.dtype.kind != "u":
        return np.clip(strata, 0, None).astype(np.uint32)
    return strata


def _check_codes(codes: np.ndarray, lut: np.ndarray) -> None:
    if codes.dtype not in (np.uint8, np.uint16) or len(lut) < (256 if codes.dtype == np.uint8 else 65536):
        raise ValueError("codes must be uint8 or uint16 and the lookup table cover every value")


def count_rows2(strata: np.ndarray | None, before: np.ndarray, after: np.ndarray, lut0: np.ndarray, lut1: np.ndarray,
                slots0: int, slots1: int, nkeys: int, row_area_m2: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pixels and area (m²) per key ``(strata * slots0 + lut0[before]) * slots1 + lut1[after]``
    over one block whose pixels of a row share one area (lon/lat or equal-area grid).

    The two-map form of :func:`count_rows` (``sinkplan change``): ``strata`` as there;
    ``nkeys`` = strata × slots0 × slots1.

    Examples
    --------
    >>> lut = (np.arange(256) % 3).astype(np.uint16)
    >>> b = np.array([[0, 1], [2, 1]], np.uint8); a = np.array([[1, 1], [2, 0]], np.uint8)
    >>> px, ar = count_rows2(None, b, a, lut, lut, 3, 3, 9, np.array([1.0, 10.0]))
    >>> px.tolist(), ar.tolist()  # keys 0·3+1, 1·3+1, 2·3+2, 1·3+0
    ([0, 1, 0, 1, 1, 0, 0, 0, 1], [0.0, 1.0, 0.0, 10.0, 1.0, 0.0, 0.0, 0.0, 10.0])
    """
    _check_codes(before, lut0)
    _check_codes(after, lut1)
    if before.shape != after.shape:
        raise ValueError(f"maps of shapes {before.shape} and {after.shape}")
    strata = _strata_u(strata, before.shape)
    pixels = np.zeros(nkeys, dtype=np.int64)
    area = np.zeros(nkeys, dtype=np.float64)
    _count2(strata, before, after, lut0, lut1, slots0, slots1, nkeys // (slots0 * slots1) - 1,
            np.ascontiguousarray(row_area_m2, dtype=np.float64), pixels, area)
    return pixels, area


def lookup(codes: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[codes]`` for uint8/uint16 codes in one loop: 1.0 ms for a 2048 × 2048 block of
    uint8 into float32, against 9.0 ms for numpy's fancy index and 8.2 ms for ``np.take`` (which
    first cast the codes to an int64 index array); it was 8 % of a 100 Mpx ``carbon`` run's CPU.

    Examples
    --------
    >>> lookup(np.array([[0, 2], [1, 2]], np.uint8), np.arange(256, dtype=np.float32) / 2).tolist()
    [[0.0, 1.0], [0.5, 1.0]]
    """
    _check_codes(codes, table)
    out = np.empty(codes.shape, dtype=table.dtype)
    _lookup1(codes, np.ascontiguousarray(table), out)
    return out


def lookup2(before: np.ndarray, after: np.ndarray, lut0: np.ndarray, lut1: np.ndarray, table: np.ndarray) -> np.ndarray:
    """``table[lut0[before], lut1[after]]`` in one loop (numpy's two-array fancy index takes
    several passes and an int64 index array per axis).

    Examples
    --------
    >>> lut = (np.arange(256) % 2).astype(np.uint16)
    >>> lookup2(np.array([[0, 1]], np.uint8), np.array([[1, 1]], np.uint8), lut, lut,
    ...         np.array([[0.5, 1.5], [2.5, 3.5]], np.float32)).tolist()
    [[1.5, 3.5]]
    """
    _check_codes(before, lut0)
    _check_codes(after, lut1)
    out = np.empty(before.shape, dtype=table.dtype)
    _lookup2(before, after, lut0, lut1, np.ascontiguousarray(table), out)
    return out


def warm_kernels() -> int:
    """Load the compiled kernels of the common cases into this process; returns how many.

    numba compiles a kernel once per machine (``cache=True``), but every process then loads
    it on its first call: 0.25 s for the first kernel (numba's own start) and about 3 ms for
    each further one. A Dask worker calls this as it starts
    (:mod:`sinkplan.layers.dask_worker`), so its first block costs what the others do, as in
    one process whose kernels load while the zones are read. Cases: uint8 land cover with a
    uint8 or uint16 zone raster or none (``carbon``, ``coverage``), two uint8 maps
    (``change``), the uint8 → float32 lookup of the density raster, and the zone burner
    (:func:`sinkplan.layers.burn.warm_burner`). Others load on first use.
    """
    if not HAVE_NUMBA:
        return 0
    lut = np.zeros(256, dtype=np.uint16)
    codes = np.zeros((1, 4), dtype=np.uint8)
    area = np.ones(1)
    n = 0
    for strata in (None, np.zeros((1, 4), np.uint8), np.zeros((1, 4), np.uint16)):
        count_rows(strata, codes, lut, 2, 4, area)
        count_rows2(strata, codes, codes, lut, lut, 2, 2, 8, area)
        n += 2
    lookup(codes, np.zeros(256, dtype=np.float32))
    from sinkplan.layers.burn import warm_burner

    return n + 1 + warm_burner()

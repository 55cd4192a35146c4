"""Compiled loops of the siting first pass (numba): per-label statistics in one pass.

:func:`sinkplan.siting.blocks.local_components` summed a dozen per-label quantities with one
``np.bincount`` each and took maxima and first pixels with ``ufunc.at`` (slow, and each
bincount of weights built a float64 copy of the block): 0.7 s of each 4 Mpx block, the
largest part of ``sinkplan site``. These loops visit the pixels once, in row-major order, and
add in that order, which is the order ``np.bincount`` adds in: the sums are the same to the
last bit (tested against the numpy arithmetic).
"""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["renumber_first", "label_stats", "label_sum"]


@numba.njit(nogil=True, cache=True)
def renumber_first(labels, n):  # pragma: no cover - compiled
    """Labels 1..n renumbered in row-major order of their first pixel (0 stays 0), in place."""
    new = np.zeros(n + 1, np.int32)
    nxt = 1
    h, w = labels.shape
    for i in range(h):
        for j in range(w):
            v = labels[i, j]
            if v:
                if new[v] == 0:
                    new[v] = nxt
                    nxt += 1
                labels[i, j] = new[v]
    return labels


@numba.njit(nogil=True, cache=True)
def label_stats(labels, eligible, areas, density, has_density, slope, has_slope, n):  # pragma: no cover - compiled
    """Per label 0..n: area, area per zone code 1..4, pixels, carbon stock (Mg C, density Mg C/ha ×
    area m² / 1e4), area-weighted slope sum and the area with a slope, maximum slope (NaN slopes
    ignored; NaN when none) and the row-major index of the first pixel (labels > 0)."""
    h, w = labels.shape
    area = np.zeros(n + 1)
    zone = np.zeros((n + 1, 4))
    pixels = np.zeros(n + 1, np.int64)
    stock = np.zeros(n + 1)
    ssum = np.zeros(n + 1)
    sarea = np.zeros(n + 1)
    smax = np.full(n + 1, -np.inf)
    first = np.full(n + 1, -1, np.int64)
    for i in range(h):
        for j in range(w):
            k = labels[i, j]
            a = areas[i, j]
            area[k] += a
            pixels[k] += 1
            if has_density:
                stock[k] += density[i, j] * a / 1e4
            s = np.nan
            if has_slope:
                s = slope[i, j]
                if np.isfinite(s):
                    ssum[k] += s * a
                    sarea[k] += a
            if k == 0:
                continue
            z = eligible[i, j]
            if z > 4:
                z = 4
            if z > 0:
                zone[k, z - 1] += a
            if first[k] < 0:
                first[k] = i * w + j
            if s == s and s > smax[k]:
                smax[k] = s
    for k in range(n + 1):
        if not np.isfinite(smax[k]):
            smax[k] = np.nan
    first[0] = 0
    return area, zone, pixels, stock, ssum, sarea, smax, first


@numba.njit(nogil=True, cache=True)
def label_sum(labels, values, n):  # pragma: no cover - compiled
    """Sum of ``values`` per label 0..n, NaN as 0 and ±inf as the largest finite float (as
    ``np.nan_to_num`` then ``np.bincount`` give)."""
    out = np.zeros(n + 1)
    big = np.finfo(np.float64).max
    h, w = labels.shape
    for i in range(h):
        for j in range(w):
            v = np.float64(values[i, j])
            if v != v:
                v = 0.0
            elif v == np.inf:
                v = big
            elif v == -np.inf:
                v = -big
            out[labels[i, j]] += v
    return out


@numba.njit(nogil=True, cache=True)
def horn_slope_descent(z, dx, dy, sin_th, cos_th, rotated, slope, descent):  # pragma: no cover - compiled
    """Horn's 3 × 3 gradient of ``z`` (rows + 2, cols + 2) at every inner pixel: slope (degrees)
    and the descent towards true north (``-(dzdx sin θ + dzdy cos θ)``; ``-dzdy`` unless
    ``rotated``). ``dx``, ``dy``: metres per column and per row, per output row. The gradient is
    the arithmetic, in the same order, of the numpy form it replaced (the slope's float32 value
    agrees with it to an ulp); NaN where a neighbour is NaN."""
    h, w = slope.shape
    for r in range(h):
        ex = 8.0 * dx[r]
        ey = 8.0 * dy[r]
        for c in range(w):
            a = z[r, c]
            b = z[r, c + 1]
            cc = z[r, c + 2]
            d = z[r + 1, c]
            f = z[r + 1, c + 2]
            g = z[r + 2, c]
            hh = z[r + 2, c + 1]
            i = z[r + 2, c + 2]
            dzdx = ((cc + 2 * f + i) - (a + 2 * d + g)) / ex
            dzdy = ((a + 2 * b + cc) - (g + 2 * hh + i)) / ey
            rise = dzdx * sin_th[r, c] + dzdy * cos_th[r, c] if rotated else dzdy
            # sqrt(x² + y²), not hypot: gradients never overflow, and hypot was a third of the loop
            slope[r, c] = np.degrees(np.arctan(np.sqrt(dzdx * dzdx + dzdy * dzdy)))
            descent[r, c] = -rise


@numba.njit(nogil=True, cache=True)
def flag_areas(bits, nbits, eligible, areas):  # pragma: no cover - compiled
    """Area (m²) of the pixels with each exclusion bit set, and of each eligible zone code 1..4
    (index 0 unused), row by row: one pass instead of three array operations per bit."""
    h, w = bits.shape
    bit_area = np.zeros(nbits)
    zone_area = np.zeros(5)
    row_bits = np.zeros(nbits)
    row_zone = np.zeros(5)
    for i in range(h):
        row_bits[:] = 0.0
        row_zone[:] = 0.0
        for j in range(w):
            a = areas[i, j]
            v = np.int64(bits[i, j])
            b = 0
            while v:
                if v & 1:
                    row_bits[b] += a
                v >>= 1
                b += 1
            e = eligible[i, j]
            if e:
                row_zone[e] += a
        bit_area += row_bits
        zone_area += row_zone
    zone_area[0] = 0.0
    return bit_area, zone_area


@numba.njit(nogil=True, cache=True)
def label_product_sum(labels, x, a, divisor, n):  # pragma: no cover - compiled
    """Per label 0..n: the sum of ``x × a / divisor`` over its pixels (NaN as 0), the values
    ``np.bincount`` gave for ``np.nan_to_num(x * a / divisor)``."""
    out = np.zeros(n + 1)
    h, w = labels.shape
    for i in range(h):
        for j in range(w):
            v = x[i, j] * a[i, j] / divisor
            if v == v:
                out[labels[i, j]] += v
    return out


@numba.njit(nogil=True, cache=True)
def label_class_areas(labels, cls, a, nclasses, n):  # pragma: no cover - compiled
    """Per label 0..n and class 1..nclasses: the area of its pixels of that class (column k - 1)."""
    out = np.zeros((n + 1, nclasses))
    h, w = labels.shape
    for i in range(h):
        for j in range(w):
            k = cls[i, j]
            if 1 <= k <= nclasses:
                out[labels[i, j], k - 1] += a[i, j]
    return out


@numba.njit(nogil=True, cache=True)
def label_admin_areas(labels, admin, a, n, n_admin):  # pragma: no cover - compiled
    """Area per (label 1..n, admin id 0..n_admin) and whether the pair occurs, dense:
    ``(n + 1, n_admin + 1)`` arrays."""
    area = np.zeros((n + 1, n_admin + 1))
    seen = np.zeros((n + 1, n_admin + 1), np.bool_)
    h, w = labels.shape
    for i in range(h):
        for j in range(w):
            k = labels[i, j]
            if k > 0:
                z = admin[i, j]
                area[k, z] += a[i, j]
                seen[k, z] = True
    return area, seen


@numba.njit(nogil=True, cache=True)
def pv_density_pixels(nd, k, cos_b, sin_b, w_per_m2, land_share, out):  # pragma: no cover - compiled
    """MW/km² per pixel: ``w_per_m2 × gcr × land_share`` with the ground-cover ratio
    ``gcr = (1 − nd·k) / (cos β + k·sin β)`` kept in (0, 1] (0 where not finite or ≤ 0), the
    arithmetic of :func:`sinkplan.siting.energy.ground_cover_ratio` in one pass."""
    h, w = out.shape
    for i in range(h):
        for j in range(w):
            kk = k[i, j]
            g = (1.0 - nd[i, j] * kk) / (cos_b[i, j] + kk * sin_b[i, j])
            if np.isfinite(g) and g > 0:
                g = min(g, 1.0)
            else:
                g = 0.0
            out[i, j] = w_per_m2 * g * land_share

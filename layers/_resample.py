"""Compiled kernel of :func:`sinkplan.layers.continuous.read_resampled` (needs numba)."""

from __future__ import annotations

import numba
import numpy as np

__all__ = ["resample_aligned"]


@numba.njit(nogil=True, cache=True)
def resample_aligned(z, cx, cy, bilinear, out):  # pragma: no cover - compiled
    """out[i, j] from source ``z`` at continuous pixel coordinates (cx[j], cy[i]) (0 = the
    left / top edge of z's first pixel): GDAL's warper rule. No value (NaN, left as is in
    ``out``) where the centre is outside ``z`` or its source pixel has none; nearest: that
    pixel; bilinear: the 2 × 2 neighbours of the centre weighted by distance, renormalised
    over those with a value (and inside z)."""
    H, W = z.shape
    for i in range(cy.shape[0]):
        y = cy[i]
        ri = int(np.floor(y))
        if ri < 0 or ri >= H:
            continue
        y0 = int(np.floor(y - 0.5))
        ay = y - 0.5 - y0
        for j in range(cx.shape[0]):
            x = cx[j]
            ci = int(np.floor(x))
            if ci < 0 or ci >= W:
                continue
            centre = z[ri, ci]
            if centre != centre:
                continue
            if not bilinear:
                out[i, j] = centre
                continue
            x0 = int(np.floor(x - 0.5))
            ax = x - 0.5 - x0
            s = 0.0
            wsum = 0.0
            for dy in range(2):
                r = y0 + dy
                if r < 0 or r >= H:
                    continue
                wy = ay if dy == 1 else 1.0 - ay
                for dx in range(2):
                    c = x0 + dx
                    if c < 0 or c >= W:
                        continue
                    v = z[r, c]
                    if v != v:
                        continue
                    wgt = wy * (ax if dx == 1 else 1.0 - ax)
                    s += wgt * v
                    wsum += wgt
            if wsum > 1e-5:
                out[i, j] = s / wsum

"""Fused per-block counting: pixels and ground area per integer key.

The reductions of every command (area per class, per zone × class, per transition) are
one bincount over a combined key per block; for a lon/lat grid the per-row pixel areas
are applied after counting (one bincount over ``row * nkeys + key``), which is exact and
avoids materialising an area per pixel.
"""

from __future__ import annotations

import numpy as np
from rasterio.windows import Window

from sinkplan.layers.grid import Grid

__all__ = ["area_by_key"]


def area_by_key(
    keys: np.ndarray,
    nkeys: int,
    grid: Grid,
    window: Window,
    *,
    valid: np.ndarray | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Pixel count and ground area (m²) per key over one block.

    Parameters
    ----------
    keys : ndarray of int, shape (rows, cols)
        Key of each pixel, ``0 <= key < nkeys`` where ``valid``.
    nkeys : int
        Number of distinct keys (length of the outputs).
    grid, window : Grid, Window
        Where the block lies (for its pixel areas).
    valid : ndarray of bool, optional
        Pixels to count; all by default.

    Returns
    -------
    pixels : ndarray of int64, shape (nkeys,)
    area_m2 : ndarray of float64, shape (nkeys,)

    Examples
    --------
    >>> from affine import Affine
    >>> g = Grid("EPSG:6933", Affine(10, 0, 0, 0, -10, 0), 2, 2)  # equal-area, 100 m² pixels
    >>> area_by_key(np.array([[0, 1], [1, 1]]), 2, g, g.full_window())
    (array([1, 3]), array([100., 300.]))
    """
    keys = np.asarray(keys)
    h, w = keys.shape
    if valid is not None:
        if not valid.all():
            keys = np.where(valid, keys, nkeys)  # an overflow bin, dropped below
    k = keys.astype(np.int64, copy=False)
    if grid.is_geographic and (nkeys + 1) * h <= 2 * keys.size:
        row_area = grid.row_areas_m2(window)
        rows = np.arange(h, dtype=np.int64)[:, None] * (nkeys + 1)
        per_row = np.bincount((rows + k).ravel(), minlength=h * (nkeys + 1)).reshape(h, nkeys + 1)
        pixels = per_row.sum(axis=0)[:nkeys]
        # pixels per (row, key) × m² per pixel of that row, summed over rows
        area = (row_area @ per_row)[:nkeys]
        return pixels.astype(np.int64), area.astype(np.float64)
    pixels = np.bincount(k.ravel(), minlength=nkeys + 1)[:nkeys].astype(np.int64)
    if not grid.is_geographic and grid.equal_area:
        px_area = float(grid.pixel_areas_m2(Window(0, 0, 1, 1))[0, 0])
        return pixels, pixels * px_area
    areas = grid.pixel_areas_m2(window)
    area = np.bincount(k.ravel(), weights=areas.ravel(), minlength=nkeys + 1)[:nkeys]
    return pixels, area

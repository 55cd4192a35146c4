"""Carbon stocks from an area table: area (ha) × density (Mg C/ha) per class and pool.

This is what the InVEST carbon model computes per pixel (Σ density × pixel area), grouped
by class first: the per-class area is the exact sum of the pixels' ellipsoidal areas, so
the two agree up to floating-point rounding.

Exact conservation: every additive figure (areas in ha, stocks in Mg C per zone × redline
side × class × pool) is rounded to a common binary quantum, 2⁻⁵² of the largest possible
sum (:func:`common_quantum`). Multiples of that quantum add up exactly in float64 in any
order, so zones add up to the whole, redline inside + outside equals the total and the
pools add up to the total stock bit for bit, whoever sums them. The rounding is below the
last bit of the totals.
"""

from __future__ import annotations

import math

import numpy as np

from sinkplan.sinks.blocks import PassResult

__all__ = [
    "CO2_PER_C",
    "common_quantum",
    "quantize",
    "class_area_ha",
    "stocks_mgc",
    "exact_sum",
]

#: Mass ratio CO2 / C = 44.0095 / 12.011 ≈ 44/12 (IPCC convention: 44/12).
CO2_PER_C = 44.0 / 12.0


def common_quantum(bound: float) -> float:
    """The power of two q such that multiples of q summing (in absolute value) to at most
    ``bound`` add up exactly in float64: q = 2^(e − 52) with bound < 2^e.

    Returns 0 (no rounding) for a bound of 0.

    Examples
    --------
    >>> common_quantum(1.0)  # 1 < 2**1 → 2**-51
    4.440892098500626e-16
    """
    if not bound > 0 or not math.isfinite(bound):
        return 0.0
    e = math.frexp(bound)[1]  # bound < 2**e
    return math.ldexp(1.0, e - 52)


def quantize(values: np.ndarray, quantum: float) -> np.ndarray:
    """``values`` rounded to multiples of ``quantum`` (a power of two; 0: unchanged)."""
    values = np.asarray(values, dtype=np.float64)
    if quantum == 0.0:
        return values.copy()
    # x / 2^k and n * 2^k are exact in binary floating point.
    return np.round(values / quantum) * quantum


def exact_sum(values: np.ndarray, axis=None) -> np.ndarray | float:
    """Sum of quantized values (exact, so any order gives this result)."""
    return np.sum(values, axis=axis)


def class_area_ha(result: PassResult) -> np.ndarray:
    """Ground area (ha) per (zone, side, land class[, land class]), quantized.

    The unknown and nodata slots are dropped; the result has shape
    ``(zones + 1, sides, n[, n])``.
    """
    area_ha = result.area_m2 / 10_000.0  # m² → ha
    index = tuple(slice(None, s.n) for s in result.spec.slots)
    area_ha = area_ha[(slice(None), slice(None), *index)]
    return quantize(area_ha, common_quantum(float(np.abs(area_ha).sum()) * 2.0))


def stocks_mgc(area_ha: np.ndarray, density_mgc_per_ha: np.ndarray) -> np.ndarray:
    """Stock (Mg C) per cell and pool, quantized so every sum of them is exact.

    Parameters
    ----------
    area_ha : ndarray, shape (..., n)
        Area per class (last axis).
    density_mgc_per_ha : ndarray, shape (n, 4)
        Density per class and pool; a class with zero area may have NaN density.

    Returns
    -------
    ndarray, shape (..., n, 4)

    Examples
    --------
    >>> stocks_mgc(np.array([2.0]), np.array([[15.0, 10.0, 60.0, 1.0]]))  # 2 ha × 86 Mg C/ha
    array([[ 30.,  20., 120.,   2.]])
    """
    area_ha = np.asarray(area_ha, dtype=np.float64)
    dens = np.asarray(density_mgc_per_ha, dtype=np.float64)
    with np.errstate(invalid="ignore"):
        stock = area_ha[..., None] * dens  # ha × Mg C/ha = Mg C
    stock = np.where(area_ha[..., None] == 0, 0.0, stock)  # a missing density on no area is no stock
    return quantize(stock, common_quantum(float(np.abs(stock).sum()) * 2.0))

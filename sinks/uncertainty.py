"""Monte Carlo over carbon densities, applied to an area table (no second raster pass).

In each draw every row of the density table (a code or a group) gets one value per pool,
used for every pixel of that class everywhere: the error of a density is shared by all the
hectares it applies to, which is what makes a total uncertain (independent per-pixel
errors would average out). Distributions per value:

* ``*_sd`` given: normal(value, sd) truncated at 0 (inverse-CDF sampling, so exactly
  reproducible);
* ``*_low`` / ``*_high`` given: triangular(low, mode=value, high), or uniform(low, high)
  when the table's header says ``# distribution: uniform``;
* neither: fixed at the value.

Draws come from ``numpy.random.default_rng(seed)`` in a fixed order (draw × row × pool),
so a seed reproduces the figures exactly.
"""

from __future__ import annotations

import numpy as np
from scipy import stats

from sinks.densities import ClassDensities, DensityTable

__all__ = ["draw_densities", "monte_carlo_stocks", "interval", "PERCENTILES"]

#: Reported percentiles of the Monte Carlo distribution (a 95 % interval).
PERCENTILES = (2.5, 97.5)


def draw_densities(table: DensityTable, n: int, *, seed: int | None = None) -> np.ndarray:
    """``n`` draws of every table value, shape (n, rows, 4), Mg C/ha, all ≥ 0.

    Examples
    --------
    >>> t = DensityTable.from_csv("t.csv", text="lucode,c_above,c_above_low,c_above_high,c_below,c_soil,c_dead\\n"
    ...                           "1,10,5,20,1,2,0\\n")
    >>> d = draw_densities(t, 1000, seed=1)
    >>> bool(d[:, 0, 0].min() >= 5 and d[:, 0, 0].max() <= 20), float(d[:, 0, 1].std())
    (True, 0.0)
    """
    if n < 1:
        raise ValueError(f"number of draws must be ≥ 1, got {n}")
    rng = np.random.default_rng(seed)
    mean = table.density_mgc_per_ha
    u = rng.random((n, *mean.shape))  # one uniform per (draw, row, pool), always drawn
    out = np.broadcast_to(mean, u.shape).copy()
    sd = table.sd
    has_sd = np.isfinite(sd) & (sd > 0)
    has_range = np.isfinite(table.low) & np.isfinite(table.high) & (table.high > table.low)
    for r, p in zip(*np.nonzero(has_sd)):
        m, s = mean[r, p], sd[r, p]
        a = (0.0 - m) / s  # truncation at 0 in standard units
        out[:, r, p] = stats.truncnorm.ppf(u[:, r, p], a, np.inf, loc=m, scale=s)
    for r, p in zip(*np.nonzero(has_range)):
        lo, hi, mode = table.low[r, p], table.high[r, p], mean[r, p]
        if table.distribution == "uniform":
            out[:, r, p] = lo + u[:, r, p] * (hi - lo)
        else:
            c = (mode - lo) / (hi - lo)
            out[:, r, p] = stats.triang.ppf(u[:, r, p], c, loc=lo, scale=hi - lo)
    return np.maximum(out, 0.0)


def monte_carlo_stocks(area_ha: np.ndarray, densities: ClassDensities, n: int, *, seed: int | None = None) -> np.ndarray:
    """Stock draws (Mg C) per pool for every cell of an area table except the class axis.

    Parameters
    ----------
    area_ha : ndarray, shape (..., nclasses)
        Area per class (last axis), e.g. (zones, sides, nclasses).
    densities : ClassDensities
        The table resolved to the classes.
    n : int
        Number of draws.
    seed : int, optional
        Random seed.

    Returns
    -------
    ndarray, shape (n, ..., 4)
        Stock per draw, cell and pool.
    """
    draws = draw_densities(densities.table, n, seed=seed)  # (n, rows, 4)
    per_class = densities.per_class(draws)  # (n, nclasses, 4)
    present = np.asarray(area_ha).reshape(-1, np.shape(area_ha)[-1]).sum(axis=0) > 0
    per_class = np.where(present[None, :, None], np.nan_to_num(per_class), 0.0)
    lead = np.asarray(area_ha, dtype=np.float64)
    # Σ_c area[..., c] × density[draw, c, pool]  (ha × Mg C/ha = Mg C)
    return np.einsum("...c,ncp->n...p", lead, per_class)


def interval(draws: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean and the 2.5 / 97.5 percentiles along ``axis``."""
    lo, hi = np.percentile(draws, PERCENTILES, axis=axis)
    return draws.mean(axis=axis), lo, hi

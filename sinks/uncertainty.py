"""Monte Carlo over carbon densities, applied to an area table (no second raster pass).

In each draw every row of the density table (a code or a group) gets one value per pool,
used for every pixel of that class everywhere: the error of a density is shared by all the
hectares it applies to, which is what makes a total uncertain (independent per-pixel
errors would average out).

The table values are best estimates of the mean density, so each value is drawn from a
lognormal distribution whose MEAN is the table value (the point estimate and the centre of
the draws then agree; a mode or median would sit below the mean of these right-skewed
densities). Its standard deviation is

* ``*_sd`` when given;
* ``(high - low) / 3.92`` for ``*_low`` / ``*_high``: the range read as a 95 % interval
  (± 1.96 sd);
* neither, an sd of 0 or a value of 0: the value is fixed.

A lognormal is ≥ 0, as densities are. Draws come from ``numpy.random.default_rng(seed)`` by
inverse CDF of one uniform per (draw, row, pool), in that order, so a seed reproduces the
figures exactly.
"""

from __future__ import annotations

import logging
import secrets

import numpy as np

from sinkplan.layers.errors import InputError
from sinkplan.layers.warnings import FewDrawsWarning, warn as _warn
from sinkplan.sinks.densities import ClassDensities, DensityTable

__all__ = ["MIN_DRAWS", "ADVISED_DRAWS", "MAX_DRAWS", "resolve_seed", "check_draws", "draw_densities", "monte_carlo_stocks", "interval", "lognormal_params", "table_sd", "PERCENTILES",
           "DISTRIBUTION", "Z_95"]

logger = logging.getLogger(__name__)

#: Reported percentiles of the Monte Carlo distribution (a 95 % interval).
PERCENTILES = (2.5, 97.5)
#: Fewest draws accepted: a 2.5 % percentile needs at least 40 draws to lie between two of
#: them (1 / 0.025 = 40); with fewer it is simply the smallest draw.
MIN_DRAWS = 40
#: Below this many draws the percentiles still move noticeably from seed to seed (warned).
ADVISED_DRAWS = 200
#: Most draws accepted. The draws are held in memory as (draws, zones, sides, pools) float64:
#: 100,000 draws of 103 banners inside/outside a redline are 0.66 GB, while 1e9 draws asked
#: for 268 GiB and ended in a MemoryError after the whole pass. The Monte Carlo error of a
#: 2.5 % percentile falls as 1/sqrt(draws): at 100,000 draws it is a fraction of a percent of
#: the interval's width, far below the spread of the densities themselves.
MAX_DRAWS = 100_000
#: Width of a 95 % normal interval in standard deviations (2 × 1.96): a low/high range
#: read as such an interval gives sd = (high - low) / 3.92.
Z_95 = 3.92
#: How the draws are made, as recorded in summary.json.
DISTRIBUTION = "lognormal, mean = table value, sd = (high-low)/3.92 or *_sd"


def resolve_seed(seed: int | None, n: int) -> int | None:
    """The seed to use: ``seed``, or with draws and no seed a fresh 32-bit one (logged), so
    that every Monte Carlo run can be reproduced from its summary.json / manifest."""
    if seed is not None or not n:
        return seed
    seed = secrets.randbits(32)
    logger.info("Monte Carlo seed %d (drawn at random; pass seed %d to reproduce these figures)", seed, seed,
                extra={"params": ("seed",)})
    return seed


def check_draws(n: int, table: DensityTable, *, option: str = "uncertainty", warn: bool = True) -> None:
    """Refuse a Monte Carlo run that cannot mean anything.

    Raises
    ------
    InputError
        ``table`` gives no uncertainty (every draw would equal the point estimate),
        ``n`` < 0, 0 < ``n`` < :data:`MIN_DRAWS` or ``n`` > :data:`MAX_DRAWS`. Fewer than :data:`ADVISED_DRAWS` draws are logged
        (``warn``; the CLI checks early with ``warn=False`` and the API logs once).
    """
    if n < 0:
        raise InputError(f"{option} {n}: give a number of draws ≥ 0 (0: no Monte Carlo)", params=(option,))
    if n > MAX_DRAWS:
        raise InputError(f"{option} {n:,}: at most {MAX_DRAWS:,} draws (they are held in memory; 1000 are enough for "
                         "figures you report)", params=(option,))
    if 0 < n < MIN_DRAWS:
        raise InputError(f"{option} {n}: a 95 % percentile interval needs at least {MIN_DRAWS} draws; "
                         f"give {ADVISED_DRAWS} or more (1000 for figures you report)", params=(option,))
    if warn and MIN_DRAWS <= n < ADVISED_DRAWS:
        _warn(FewDrawsWarning, f"{n} Monte Carlo draws: percentiles from fewer than {ADVISED_DRAWS} draws move from seed "
              f"to seed; use {ADVISED_DRAWS} or more (1000 for figures you report)", logger=__name__)
    if n and not table.has_uncertainty:
        raise InputError(
            f"{option} {n}: density table {table.origin} has no uncertainty columns, so every draw would equal the "
            "point estimate; add c_<pool>_sd or c_<pool>_low and c_<pool>_high columns (pools above, below, soil, dead) "
            "or leave out the uncertainty option", params=(option,)
        )


def table_sd(table: DensityTable) -> np.ndarray:
    """Standard deviation (Mg C/ha) of every table value, shape (rows, 4); 0 where fixed."""
    from_range = np.where(np.isfinite(table.low) & np.isfinite(table.high), (table.high - table.low) / Z_95, np.nan)
    sd = np.where(np.isfinite(table.sd), table.sd, from_range)
    return np.where(np.isfinite(sd), sd, 0.0)


def lognormal_params(mean: np.ndarray, sd: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """``(mu, sigma)`` of the log of a lognormal with the given mean and sd (mean > 0).

    sigma² = ln(1 + sd²/mean²), mu = ln(mean) - sigma²/2, so that exp(mu + sigma²/2) = mean.
    """
    mean = np.asarray(mean, dtype=np.float64)
    sigma2 = np.log1p((np.asarray(sd, dtype=np.float64) / mean) ** 2)
    return np.log(mean) - sigma2 / 2, np.sqrt(sigma2)


def draw_densities(table: DensityTable, n: int, *, seed: int | None = None) -> np.ndarray:
    """``n`` draws of every table value, shape (n, rows, 4), Mg C/ha, all ≥ 0.

    Each value is lognormal with mean = the table value (see the module docstring).

    Examples
    --------
    >>> t = DensityTable.from_csv("t.csv", text="lucode,c_above,c_above_low,c_above_high,c_below,c_soil,c_dead\\n"
    ...                           "1,10,5,20,1,2,0\\n")
    >>> d = draw_densities(t, 20000, seed=1)
    >>> round(float(d[:, 0, 0].mean()), 1), float(d[:, 0, 1].std())  # mean ≈ 10; a fixed value
    (10.0, 0.0)
    """
    if n < 1:
        raise ValueError(f"number of draws must be ≥ 1, got {n}")
    rng = np.random.default_rng(seed)
    mean = table.density_mgc_per_ha
    u = rng.random((n, *mean.shape))  # one uniform per (draw, row, pool), always drawn
    out = np.broadcast_to(mean, u.shape).copy()
    sd = table_sd(table)
    varies = (mean > 0) & (sd > 0)
    if varies.any():
        mu, sigma = lognormal_params(np.where(varies, mean, 1.0), np.where(varies, sd, 0.0))
        from scipy import special  # here, not at import: scipy.special costs ~0.3 s of every command's start

        z = special.ndtri(np.clip(u, 1e-300, None))  # standard normal quantile of each uniform
        out = np.where(varies, np.exp(mu + sigma * z), out)
    return out


def monte_carlo_stocks(area_ha: np.ndarray, densities: ClassDensities, n: int, *, seed: int | None = None,
                       area_by_pool: np.ndarray | None = None) -> np.ndarray:
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
    area_by_pool : ndarray, shape (..., nclasses, 4), optional
        Area per pool weighted by a correction factor (climate), instead of ``area_ha``.

    Returns
    -------
    ndarray, shape (n, ..., 4)
        Stock per draw, cell and pool. With densities resolved per zone (region-keyed),
        ``area_ha`` must have the zone axis first: (zones + 1, sides, nclasses).
    """
    draws = draw_densities(densities.table, n, seed=seed)  # (n, rows, 4)
    per_class = densities.per_class(draws)  # (n, nclasses, 4), or (n, zones + 1, nclasses, 4) per zone
    present = np.asarray(area_ha).reshape(-1, np.shape(area_ha)[-1]).sum(axis=0) > 0
    per_class = np.where(present[..., :, None], np.nan_to_num(per_class), 0.0)
    lead = np.asarray(area_ha, dtype=np.float64)
    if area_by_pool is not None:
        w = np.asarray(area_by_pool, dtype=np.float64)
        if per_class.ndim == 4:
            return np.einsum("zscp,nzcp->nzsp", w, per_class)
        return np.einsum("...cp,ncp->n...p", w, per_class)
    if per_class.ndim == 4:  # densities per zone: Σ_c area[z, s, c] × density[draw, z, c, pool]
        return np.einsum("zsc,nzcp->nzsp", lead, per_class)
    # Σ_c area[..., c] × density[draw, c, pool]  (ha × Mg C/ha = Mg C)
    return np.einsum("...c,ncp->n...p", lead, per_class)


def interval(draws: np.ndarray, axis: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Mean of the draws and their 2.5 / 97.5 percentiles along ``axis``.

    The figure to report is the point estimate (table densities × areas) with these
    percentiles; the mean of the draws only checks that the draws are centred on it.
    """
    lo, hi = np.percentile(draws, PERCENTILES, axis=axis)
    return draws.mean(axis=axis), lo, hi

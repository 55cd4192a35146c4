"""Forest coverage (森林覆盖率) and growing stock volume from land-cover area tables.

Coverage = forest area ÷ land area, by the national definition: tree forest (the ``forest``
group) plus the shrubland that meets the special-shrubland rule (国家特别规定的灌木林地,
:mod:`sinkplan.sinks.shrub_rule`; in Inner Mongolia most shrubland qualifies, and the choice
moves the figure by several points), :func:`shrub_split`. The land area is a choice the caller
makes (the official figure differs from a polygon's area): see :mod:`sinkplan.sinks.coverage_api`.
Stock volume tables live in :mod:`sinkplan.sinks.volume`.

Pure functions over arrays: ``area_ha`` has shape (zones + 1, sides, nclasses) as produced
by :func:`sinkplan.sinks.stocks.class_area_ha`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sinkplan.sinks.volume import VolumeTable

__all__ = ["forest_groups", "forest_area_ha", "coverage", "gap_ha", "Trend", "trend", "VolumeTable", "NOT_AT_THIS_RATE",
           "shrub_split", "ALREADY_MET", "MET", "AT_THIS_RATE", "TARGET_STATUSES"]

#: What :func:`trend` reports when coverage does not rise towards the target.
NOT_AT_THIS_RATE = "not at this rate"
#: ``target_status`` of a trend: the target met in the first year already, met by the last year,
#: reached later at this rate (``target_year_at_this_rate`` says when), or never at this rate.
ALREADY_MET, MET, AT_THIS_RATE = "already met", "met", "at this rate"
TARGET_STATUSES = (ALREADY_MET, MET, AT_THIS_RATE, NOT_AT_THIS_RATE)


def forest_groups(*, count_shrub: bool) -> tuple[str, ...]:
    """Groups counted as forest."""
    return ("forest", "shrubland") if count_shrub else ("forest",)


def forest_area_ha(area_ha: np.ndarray, groups: tuple[str, ...], *, count_shrub: bool) -> np.ndarray:
    """Forest area (ha) per zone: the class axis (last) summed over forest classes, sides summed.

    Examples
    --------
    >>> a = np.array([[[10.0, 5.0, 85.0]]])  # one zone, one side: forest, shrub, grass
    >>> forest_area_ha(a, ("forest", "shrubland", "grassland"), count_shrub=True)
    array([15.])
    """
    keep = np.array([g in forest_groups(count_shrub=count_shrub) for g in groups])
    a = np.asarray(area_ha)
    return a[..., keep].sum(axis=-1).reshape(a.shape[0], -1).sum(axis=1)


def coverage(forest_ha: np.ndarray, land_ha: np.ndarray) -> np.ndarray:
    """Forest area ÷ land area (NaN where the land area is 0)."""
    forest_ha = np.asarray(forest_ha, dtype=float)
    land_ha = np.asarray(land_ha, dtype=float)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(land_ha > 0, forest_ha / np.where(land_ha > 0, land_ha, 1.0), np.nan)


def gap_ha(forest_ha: np.ndarray, land_ha: np.ndarray, target: float) -> np.ndarray:
    """Forest area still missing to reach ``target`` coverage (0 when reached)."""
    return np.maximum(0.0, target * np.asarray(land_ha, dtype=float) - np.asarray(forest_ha, dtype=float))


@dataclass(frozen=True)
class Trend:
    """Coverage change between the first and the last year, and where it leads.

    ``target_year`` is a year or None, and ``status`` says which: :data:`MET` (met by the last
    year, which ``target_year`` is), :data:`AT_THIS_RATE` (the first whole year after the last
    one in which the target is met at that rate), :data:`ALREADY_MET` (met in the first year
    already: no year the rate "reached" it; None) or :data:`NOT_AT_THIS_RATE` (None).
    """

    first_year: int
    last_year: int
    annual_change: float  # coverage fraction per year
    annual_forest_change_ha: float
    target_year: int | None
    status: str = AT_THIS_RATE


def trend(years: list[int], cov: list[float], forest_ha: list[float], target: float) -> Trend:
    """Linear rate between the first and last year and the year the target is reached.

    Examples
    --------
    >>> t = trend([2015, 2020], [0.20, 0.21], [200.0, 210.0], 0.235)  # +0.002/yr: 0.025 more → 12.5 yr
    >>> round(t.annual_change, 6), t.annual_forest_change_ha, t.target_year, t.status
    (0.002, 2.0, 2033, 'at this rate')
    >>> t = trend([2015, 2020], [0.54, 0.64], [54.0, 64.0], 0.235)  # above the target in 2015 already
    >>> t.target_year, t.status
    (None, 'already met')
    """
    if len(years) < 2:
        raise ValueError("a trend needs at least two years")
    order = np.argsort(years)
    y0, y1 = int(years[order[0]]), int(years[order[-1]])
    if y1 == y0:
        raise ValueError("a trend needs two different years")
    c0, c1 = cov[order[0]], cov[order[-1]]
    rate = (c1 - c0) / (y1 - y0)
    dforest = (forest_ha[order[-1]] - forest_ha[order[0]]) / (y1 - y0)
    reached: int | None
    if c0 >= target:
        reached, status = None, ALREADY_MET
    elif c1 >= target:
        reached, status = y1, MET
    elif rate > 0 and math.isfinite(rate):
        reached, status = y1 + math.ceil((target - c1) / rate - 1e-9), AT_THIS_RATE
    else:
        reached, status = None, NOT_AT_THIS_RATE
    return Trend(y0, y1, float(rate), float(dforest), reached, status)


def shrub_split(shrub_ha: np.ndarray, levels_ha: np.ndarray | None, zone_precip: list | None, *,
                mode: str) -> tuple[np.ndarray, np.ndarray]:
    """Special shrubland and undecided shrubland (ha) per zone id.

    Parameters
    ----------
    shrub_ha : ndarray, shape (zones + 1,)
        Area of the ``shrubland`` group.
    levels_ha : ndarray, shape (zones + 1, 3), or None
        Shrub area by the per-pixel rule outcome (:data:`~sinkplan.sinks.shrub_rule.NO`,
        ``YES``, ``UNKNOWN``), when a precipitation / cover raster or a designated layer was read.
    zone_precip : list or None
        The precipitation criterion per zone id from the county mean (``YES``, ``NO``,
        ``UNKNOWN``; :func:`~sinkplan.sinks.shrub_rule.zone_qualifies`), or None.
    mode : {'rule', 'all', 'none', 'missing'}
        Decide by the data; count all shrub; count none; no data (all shrub undecided).

    Returns
    -------
    (special_ha, undecided_ha)

    Examples
    --------
    >>> levels = np.array([[0.0, 0.0, 0.0], [2.0, 5.0, 1.0]])  # zone 1: 2 ha fail, 5 ha qualify, 1 ha unknown
    >>> shrub_split(np.array([0.0, 8.0]), levels, None, mode="rule")
    (array([0., 5.]), array([0., 1.]))
    """
    from sinkplan.sinks.shrub_rule import UNKNOWN, YES

    shrub = np.asarray(shrub_ha, dtype=np.float64)
    zero = np.zeros_like(shrub)
    if mode == "all":
        return shrub.copy(), zero
    if mode == "none":
        return zero, zero.copy()
    if mode == "missing":
        return zero, shrub.copy()
    if levels_ha is None:  # county precipitation only
        status = np.array(zone_precip)
        return np.where(status == YES, shrub, 0.0), np.where(status == UNKNOWN, shrub, 0.0)
    lv = np.asarray(levels_ha, dtype=np.float64)
    yes, unk = lv[:, YES], lv[:, UNKNOWN]
    if zone_precip is None:
        return yes.copy(), unk.copy()
    status = np.array(zone_precip)
    # cover raster per pixel, precipitation per county: both must hold
    return np.where(status == YES, yes, 0.0), np.where(status == YES, unk, np.where(status == UNKNOWN, yes + unk, 0.0))

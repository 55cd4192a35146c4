"""Is a classified map's share of each class plausible? Two checks a run reports on the terminal.

- :func:`share_departures`: a map's class shares against those of another land-cover map of
  the same area (the input the user trusts, e.g. last year's CLCD): a class whose area is off
  by more than a factor ``ratio`` and by more than ``min_points`` percentage points of the
  map is named. A classifier trained on balanced samples (the same number per class) tends to
  over-predict rare classes: the demo's classifier maps 5.6 × the cropland of its land cover
  at an overall accuracy of 0.89, which no accuracy figure shows.
- :func:`outside_reference_ci`: a map's area of each class against the error-adjusted
  estimate from a reference sample (Olofsson et al. 2014): a class whose mapped area lies
  outside the estimate's 95 % confidence interval is biased beyond sampling error, and the
  adjusted area is the one to report.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import pandas as pd

__all__ = ["ShareDeparture", "share_departures", "outside_reference_ci", "DEFAULT_RATIO", "DEFAULT_MIN_POINTS"]

#: A class counts as far off when its areas differ by more than this factor ...
DEFAULT_RATIO = 2.0
#: ... and by more than this many percentage points of the map's area.
DEFAULT_MIN_POINTS = 1.0


@dataclass(frozen=True)
class ShareDeparture:
    """A class whose share of the map is far from its share of the comparison."""

    code: int
    map_share: float  # fraction of the mapped area
    compare_share: float  # fraction of the comparison's area
    ratio: float  # map_share / compare_share (inf when the comparison has none)


def share_departures(map_ha: Mapping[int, float], compare_ha: Mapping[int, float], *, ratio: float = DEFAULT_RATIO,
                     min_points: float = DEFAULT_MIN_POINTS) -> list[ShareDeparture]:
    """Classes whose share of ``map_ha`` differs from their share of ``compare_ha`` by more than a
    factor ``ratio`` and by more than ``min_points`` percentage points, largest departure first.

    Shares are of each map's own total (so two maps of slightly different extents compare).

    Examples
    --------
    >>> d = share_departures({1: 308_202, 4: 1_489_532, 7: 700_000}, {1: 54_615, 4: 1_771_794, 7: 681_000})
    >>> [(x.code, round(x.ratio, 1)) for x in d]
    [(1, 5.7)]
    """
    if not ratio > 1:
        raise ValueError(f"ratio must be > 1, got {ratio}")
    total_m = float(sum(v for v in map_ha.values() if v > 0))
    total_c = float(sum(v for v in compare_ha.values() if v > 0))
    if total_m <= 0 or total_c <= 0:
        return []
    out = []
    for code in sorted(set(map_ha) | set(compare_ha)):
        m = max(float(map_ha.get(code, 0.0)), 0.0) / total_m
        c = max(float(compare_ha.get(code, 0.0)), 0.0) / total_c
        if abs(m - c) * 100 <= min_points:
            continue
        r = m / c if c > 0 else float("inf")
        if r > ratio or r < 1 / ratio:
            out.append(ShareDeparture(int(code), m, c, r))
    out.sort(key=lambda d: -abs(d.map_share - d.compare_share))
    return out


def outside_reference_ci(classes: pd.DataFrame) -> pd.DataFrame:
    """Rows of an area-estimate ``classes`` table whose ``map_area_ha`` lies outside
    [``ci95_low_ha``, ``ci95_high_ha``] of the error-adjusted area.

    Examples
    --------
    >>> t = pd.DataFrame({"code": [1, 2], "map_area_ha": [308_202.0, 532_223.0], "adjusted_area_ha": [68_752.0, 514_142.0],
    ...                   "ci95_low_ha": [43_874.0, 488_614.0], "ci95_high_ha": [93_629.0, 539_670.0]})
    >>> outside_reference_ci(t)["code"].tolist()
    [1]
    """
    need = {"map_area_ha", "ci95_low_ha", "ci95_high_ha"}
    if not need <= set(classes.columns):
        return classes.iloc[0:0]
    m = classes["map_area_ha"].astype(float)
    return classes[(m < classes["ci95_low_ha"].astype(float)) | (m > classes["ci95_high_ha"].astype(float))]

"""Forest coverage (森林覆盖率) and growing stock volume from land-cover area tables.

Coverage = forest area ÷ land area. Forest area is the area of the ``forest`` group, plus
the ``shrubland`` group when shrubland is counted as specially designated shrub forest
(国家特别规定的灌木林地; in Inner Mongolia most shrubland qualifies, and the choice moves
the figure by several points). The land area is a choice the caller makes (the official
figure differs from a polygon's area): see :mod:`sinkplan.cmd_coverage`.

Pure functions over arrays: ``area_ha`` has shape (zones + 1, sides, nclasses) as produced
by :func:`sinkplan.sinks.stocks.class_area_ha`.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

from sinkplan.layers.errors import SchemeError
from sinkplan.layers.schemes import GROUP_INDEX, ClassScheme

__all__ = ["forest_groups", "forest_area_ha", "coverage", "gap_ha", "Trend", "trend", "VolumeTable", "NOT_AT_THIS_RATE"]

#: What :func:`trend` reports when coverage does not rise towards the target.
NOT_AT_THIS_RATE = "not at this rate"


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

    ``target_year`` is the first whole year in which the target is met at that rate: an
    int, the last year itself when already met, or :data:`NOT_AT_THIS_RATE`.
    """

    first_year: int
    last_year: int
    annual_change: float  # coverage fraction per year
    annual_forest_change_ha: float
    target_year: int | str


def trend(years: list[int], cov: list[float], forest_ha: list[float], target: float) -> Trend:
    """Linear rate between the first and last year and the year the target is reached.

    Examples
    --------
    >>> t = trend([2015, 2020], [0.20, 0.21], [200.0, 210.0], 0.235)  # +0.002/yr: 0.025 more → 12.5 yr
    >>> round(t.annual_change, 6), t.annual_forest_change_ha, t.target_year
    (0.002, 2.0, 2033)
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
    if c1 >= target:
        reached: int | str = y1
    elif rate > 0 and math.isfinite(rate):
        reached = y1 + math.ceil((target - c1) / rate - 1e-9)
    else:
        reached = NOT_AT_THIS_RATE
    return Trend(y0, y1, float(rate), float(dforest), reached)


@dataclass(frozen=True)
class VolumeTable:
    """Growing stock volume per hectare (m³/ha) by land-cover code or group."""

    keyed_by: str
    volume_m3_per_ha: dict
    origin: str
    meta: dict

    @classmethod
    def from_csv(cls, path: str | os.PathLike, *, text: str | None = None) -> "VolumeTable":
        """Read ``group|lucode|code, volume_m3_per_ha`` (``# key: value`` header lines allowed)."""
        from sinkplan.sinks.densities import _text_of, read_keyed_csv

        origin = str(path)
        meta, cols, rows = read_keyed_csv(_text_of(path) if text is None else text, origin)
        key = next((c for c in ("group", "lucode", "code") if c in cols), None)
        if key is None or "volume_m3_per_ha" not in cols:
            raise SchemeError(f"{origin}: a volume table needs columns group (or lucode) and volume_m3_per_ha; found {cols}")
        values: dict = {}
        for i, row in enumerate(rows, start=2):
            k = row[key].strip().lower() if key == "group" else row[key]
            if key == "group" and k not in GROUP_INDEX:
                raise SchemeError(f"{origin} line {i}: group {row[key]!r} is not a land-cover group")
            if key != "group":
                try:
                    k = int(k)
                except ValueError:
                    raise SchemeError(f"{origin} line {i}: {key} {row[key]!r} is not an integer code") from None
            try:
                v = float(row["volume_m3_per_ha"])
            except ValueError:
                raise SchemeError(f"{origin} line {i}: volume {row['volume_m3_per_ha']!r} is not a number") from None
            if not math.isfinite(v) or v < 0:
                raise SchemeError(f"{origin} line {i}: volume {v} must be ≥ 0 m³/ha")
            if k in values:
                raise SchemeError(f"{origin}: {key} {k!r} listed twice")
            values[k] = v
        return cls("group" if key == "group" else "lucode", values, origin, meta)

    def per_class(self, scheme: ClassScheme, codes: tuple[int, ...]) -> np.ndarray:
        """m³/ha per class (0 for classes without a row: no growing stock)."""
        by = scheme.by_code
        return np.array([self.volume_m3_per_ha.get(by[c].group if self.keyed_by == "group" else c, 0.0) for c in codes])

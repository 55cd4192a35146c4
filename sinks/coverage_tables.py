"""Tables of ``sinkplan coverage``: rows per zone and year, trends, stock volume by stratum.

Pure arithmetic on the per-year area arrays of :func:`sinkplan.sinks.coverage_api.forest_coverage`
(tree forest, shrubland, special and undecided shrubland per zone id), summed over each
:class:`~sinkplan.sinks.hierarchy.ReportUnit`'s zone ids, so group rows are exact sums.
"""

from __future__ import annotations

import logging
import math

import numpy as np

from sinkplan.layers.errors import InputError
from sinkplan.sinks.volume import VolumeTable

__all__ = ["ShrubData", "shrub_mode", "mode_note", "year_account", "coverage_row", "trend_of", "volume_tables", "clean",
           "pct"]

logger = logging.getLogger(__name__)

from dataclasses import dataclass


@dataclass(frozen=True)
class ShrubData:
    """What decides the special-shrubland rule (see :mod:`sinkplan.sinks.shrub_rule`)."""

    precip: str | None = None
    precip_field: str | None = None
    shrub_cover: str | None = None
    special_shrub: str | None = None
    special_shrub_layer: str | None = None

    @property
    def given(self) -> bool:
        return any((self.precip, self.precip_field, self.special_shrub))

    def describe(self) -> str:
        if self.special_shrub:
            return f"designated special-shrubland layer {self.special_shrub}"
        parts = []
        if self.precip:
            parts.append(f"precipitation raster {self.precip} (< 400 mm)")
        if self.precip_field:
            parts.append(f"county mean precipitation in zone field {self.precip_field!r} (< 400 mm)")
        if self.shrub_cover:
            parts.append(f"shrub cover raster {self.shrub_cover} (> 30 %)")
        return " and ".join(parts)


def _f(x) -> float | None:
    return None if x is None or not math.isfinite(float(x)) else float(x)


def pct(v) -> str:
    return "-" if v is None else f"{v:.2%}"


def clean(obj):
    """NaN → None for JSON."""
    if isinstance(obj, dict):
        return {k: clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [clean(v) for v in obj]
    if isinstance(obj, float) and obj != obj:
        return None
    if isinstance(obj, np.generic):
        return clean(obj.item())
    return obj


def shrub_mode(count_shrub: bool, trees_only: bool, data: ShrubData) -> str:
    """'all', 'none', 'rule' (decided from data) or 'missing' (no data: bounds only).

    Raises
    ------
    InputError
        Contradictory options.
    """
    if count_shrub and trees_only:
        raise InputError("count_shrub and trees_only contradict each other; give one (or neither, to apply the rule)",
                         params=("count_shrub", "trees_only"))
    if (count_shrub or trees_only) and (data.given or data.shrub_cover):
        which = "count_shrub" if count_shrub else "trees_only"
        raise InputError(f"{which} with special-shrubland data ({data.describe()}): the option replaces the rule; give "
                         "one or the other", params=(which,))
    if data.shrub_cover and not (data.precip or data.precip_field) and not data.special_shrub:
        raise InputError("shrub_cover needs precip or precip_field: the rule is precipitation < 400 mm and cover > 30 %",
                         params=("shrub_cover", "precip", "precip_field"))
    if data.special_shrub and (data.precip or data.precip_field or data.shrub_cover):
        logger.info("a designated special-shrubland layer is given: it replaces the precipitation / cover rule")
    return "all" if count_shrub else "none" if trees_only else "rule" if data.given else "missing"


def mode_note(mode: str, data: ShrubData) -> str:
    if mode == "all":
        return "--count-shrub: all shrubland counted as special shrubland; the coverage is the upper bound"
    if mode == "none":
        return "--trees-only: no shrubland counted; the coverage is the lower bound (tree forest only)"
    if mode == "missing":
        return ("no precipitation, county precipitation or designated layer given: the rule cannot be applied where there "
                "is shrubland; coverage_trees_only and coverage_all_shrub are the bounds")
    if data.special_shrub:
        return "shrubland inside the designated layer counted, the rest not"
    if not data.shrub_cover:
        return ("cover > 30 % not checked (no --shrub-cover): every shrub pixel meeting the precipitation criterion counts, "
                "so special shrubland may be overstated where shrub cover is sparse")
    return "precipitation and cover criteria both applied"


def year_account(a: np.ndarray, has_levels: bool, is_forest, is_shrub, zone_precip, mode: str) -> dict:
    """Per zone id: tree forest, shrubland, special shrubland, undecided shrubland, mapped area (ha)."""
    from sinkplan.sinks.coverage import shrub_split

    by_class = a.sum(axis=-1) if has_levels else a  # (zones + 1, n)
    shrub = by_class[:, is_shrub].sum(axis=1)
    levels = a[:, is_shrub, :].sum(axis=1) if has_levels else None  # (zones + 1, 3): no, yes, unknown
    special, undecided = shrub_split(shrub, levels, zone_precip, mode=mode)
    return {"by_class": by_class, "tree": by_class[:, is_forest].sum(axis=1), "shrub": shrub, "special": special,
            "undecided": undecided, "mapped": by_class.sum(axis=1), "mode": mode}


def _rule_status(shrub: float, undecided: float, mode: str, data: ShrubData) -> str:
    if mode == "all":
        return "all shrubland counted (--count-shrub, upper bound)"
    if mode == "none":
        return "trees only (--trees-only, lower bound)"
    if shrub == 0:
        return "no shrubland: rule not needed"
    if mode == "missing":
        return "not applied: no precipitation or designation data (coverage given as bounds)"
    if undecided > 0:
        return f"not applied to {undecided:.6g} of {shrub:.6g} ha of shrubland: no data there (coverage given as bounds)"
    return f"applied: {data.describe()}"


def coverage_row(u, year, p: dict, land: np.ndarray, extra: np.ndarray, land_source: list[str],
                  target: tuple[float | None, str], data: ShrubData, *, land_total: float | None = None) -> dict:
    from sinkplan.sinks.coverage import coverage

    ids = list(u.ids)
    tree, shrub = float(p["tree"][ids].sum()), float(p["shrub"][ids].sum())
    special, undecided = float(p["special"][ids].sum()), float(p["undecided"][ids].sum())
    ex = float(extra[ids].sum())
    land_ha = float(land[ids].sum()) if land_total is None else land_total
    counted = tree + special + ex
    decided = undecided == 0
    cov = _f(coverage(counted, land_ha)) if decided else None
    value, tsource = target
    row = {"zone": u.name, "year": year, "land_area_ha": land_ha, "forest_area_ha": tree,
           "special_shrub_area_ha": special if decided else None, "shrub_area_ha": shrub, "extra_forest_ha": ex,
           "counted_forest_ha": counted if decided else None, "coverage": cov,
           "coverage_trees_only": _f(coverage(tree + ex, land_ha)), "coverage_all_shrub": _f(coverage(tree + shrub + ex, land_ha)),
           "special_shrub_rule": _rule_status(shrub, undecided, p["mode"], data),
           "target": value, "target_source": tsource,
           "gap_ha": None if value is None or cov is None else max(0.0, value * land_ha - counted),
           "mapped_area_ha": float(p["mapped"][ids].sum()),
           "land_area_source": land_source[ids[0]] if len(ids) == 1 else "sum of zones"}
    return row


def trend_of(rows: list[dict], years: list, target: float | None) -> dict:
    """Trend of a unit's coverage (None figures when coverage is undecided in some year)."""
    from sinkplan.sinks.coverage import trend

    cov = [r["coverage"] for r in rows]
    if any(c is None for c in cov):
        counted = [r["counted_forest_ha"] for r in rows]
        order = np.argsort(years)
        y0, y1 = years[order[0]], years[order[-1]]
        dforest = None if counted[order[0]] is None or counted[order[-1]] is None else \
            (counted[order[-1]] - counted[order[0]]) / (y1 - y0)
        no_land = all(r["land_area_ha"] == 0 for r in rows)
        return {"first_year": y0, "last_year": y1, "annual_change": None, "annual_forest_change_ha": dforest,
                "target_year_at_this_rate": None, "target_status": None, "target": target,
                "note": "the raster maps none of this zone: no coverage, no rate" if no_land else
                        "coverage undecided in some year (special-shrubland rule not applied): no trend"}
    t = trend(list(years), cov, [r["counted_forest_ha"] for r in rows], target if target is not None else 2.0)
    out = {"first_year": t.first_year, "last_year": t.last_year, "annual_change": t.annual_change,
           "annual_forest_change_ha": t.annual_forest_change_ha, "target_year_at_this_rate": t.target_year,
           "target_status": t.status}
    out["target"] = target
    if target is None:
        out["target_year_at_this_rate"] = out["target_status"] = None
        out["note"] = "no target applies here (see target_source)"
    return out


def volume_tables(per_year, years, units, total_unit, table: VolumeTable, rasters, sums, scheme, codes, is_forest,
                   keys) -> tuple[list[dict], list[dict], list[dict]]:
    """Volume per unit and year, its change split into area and growth effects, and the run totals."""
    from sinkplan.sinks.stocks import common_quantum, quantize
    from sinkplan.sinks.volume import volume_effects

    per_zone_v, per_zone_vol, srcs = [], [], []
    for year, p, s in zip(years, per_year, sums):
        a = p["by_class"]  # (zones + 1, n)
        if s is None:
            v = np.array([table.per_class(scheme, codes, zone_key=k, year=year) for k in keys])  # m³/ha per zone, class
            srcs.append([f"table {table.origin}: " + (table.provenance(scheme, codes, zone_key=k, year=year) or "no volume")
                         for k in keys])
            vol = (a * v).sum(axis=1)  # ha × m³/ha
        else:
            forest = (a * is_forest).sum(axis=1)
            with np.errstate(invalid="ignore", divide="ignore"):
                mean = np.where(forest > 0, s / np.where(forest > 0, forest, 1.0), 0.0)
            v = np.where(is_forest[None, :], mean[:, None], 0.0)  # the raster's mean per ha of tree forest, per zone
            srcs.append([f"raster {rasters[year]}"] * len(keys))
            vol = np.asarray(s, dtype=np.float64)
        per_zone_v.append(v)
        per_zone_vol.append(vol)
    q = common_quantum(2.0 * max(float(np.abs(v).sum()) for v in per_zone_vol) if per_zone_vol else 0.0)
    per_zone_vol = [quantize(v, q) for v in per_zone_vol]  # groups then sum their zones exactly
    rows, totals = [], []
    for k, year in enumerate(years):
        forest = (per_year[k]["by_class"] * is_forest).sum(axis=1)
        for u in [*units, total_unit]:
            ids = list(u.ids)
            f_ha, vol = float(forest[ids].sum()), float(per_zone_vol[k][ids].sum())
            rec = {"zone": u.name, "year": year, "forest_area_ha": f_ha, "volume_m3": vol,
                   "volume_m3_per_ha": vol / f_ha if f_ha > 0 else None,
                   "source": srcs[k][ids[0]] if len({srcs[k][z] for z in ids}) == 1 else "; ".join(dict.fromkeys(srcs[k][z] for z in ids))}
            (totals if u is total_unit else rows).append(rec)
    changes = []
    for k in range(1, len(years)):
        a0, a1 = per_year[k - 1]["by_class"], per_year[k]["by_class"]
        dv, area_eff, growth_eff = volume_effects(a0 * is_forest, a1 * is_forest, per_zone_v[k - 1], per_zone_v[k])
        for u in units:
            ids = list(u.ids)
            changes.append({"zone": u.name, "from_year": years[k - 1], "to_year": years[k],
                            "volume_change_m3": float(per_zone_vol[k][ids].sum() - per_zone_vol[k - 1][ids].sum()),
                            "area_effect_m3": float(area_eff[ids].sum()), "growth_effect_m3": float(growth_eff[ids].sum())})
    for t in totals:
        t.pop("zone")
    return rows, changes, totals

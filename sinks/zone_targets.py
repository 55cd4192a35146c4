"""Which target a zone's figure is compared with.

A provincial target (Inner Mongolia's 23.5 % coverage, 1.55e9 m³ of stock volume by 2025) is
a figure for the whole province: a banner at 21 % has not "missed" it, and five banners hold a
sliver of the provincial volume. So:

* the seeded (provincial) target applies to the whole-run total only when the run covers
  the province: its total land area is at least :data:`PROVINCE_COVER_SHARE` of the
  province's official land area (``region_land_area_ha`` in ``seeds/targets.toml``), or the
  user says so (``--provincial-target``);
* ``--target X`` is the user's own target for every zone and the total (they said so);
* ``--targets FILE.csv`` gives per-zone targets in the project's one table format
  (:mod:`sinkplan.seeds.zone_targets`: ``zone, indicator, value, year[, source]``); coverage reads
  its ``forest_coverage`` and ``forest_stock_volume`` rows.

Everything else is compared with nothing, and the tables say so (``target_source``).
"""

from __future__ import annotations

from sinkplan.seeds.zone_targets import INDICATORS, ZoneTarget, is_zone_table, load_zone_targets

__all__ = ["INDICATORS", "PROVINCE_COVER_SHARE", "ZoneTarget", "load_zone_targets", "provincial_applies", "is_zone_table"]

#: Share of the province's land area a run must cover for the provincial target to apply.
PROVINCE_COVER_SHARE = 0.95


def provincial_applies(region_land_area_ha: float | None, run_land_area_ha: float, *, forced: bool) -> tuple[bool, str]:
    """Whether a provincial target applies to this run's total, and why (for summary.json).

    Examples
    --------
    >>> provincial_applies(118.3e6, 3.3e6, forced=False)[0]
    False
    >>> provincial_applies(118.3e6, 117.0e6, forced=False)[0]
    True
    """
    if forced:
        return True, "applied to the run total because --provincial-target was given"
    if region_land_area_ha is None:
        return False, "the target file gives no region_land_area_ha, so whether the run covers its region is unknown"
    share = run_land_area_ha / region_land_area_ha
    if share >= PROVINCE_COVER_SHARE:
        return True, f"the run covers {share:.1%} of the target's region"
    return False, (f"the run covers {share:.1%} of the target's region (its land area {region_land_area_ha:,.0f} ha); a "
                   "provincial target is not a target for part of the province: give per-zone targets "
                   "(--targets zones.csv) or --provincial-target")

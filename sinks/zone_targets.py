"""Which target a zone's figure is compared with.

A provincial target (Inner Mongolia's 23.5 % coverage, 1.55e9 m³ of stock volume by 2025) is
a figure for the whole province: a banner at 21 % has not "missed" it, and five banners hold a
sliver of the provincial volume. So:

* the seeded (provincial) target applies to the whole-run total only when the run covers
  the province: its total land area is at least :data:`PROVINCE_COVER_SHARE` of the
  province's official land area (``region_land_area_ha`` in ``seeds/targets.toml``), or the
  user says so (``--provincial-target``);
* ``--target X`` is the user's own target for every zone and the total (they said so);
* ``--targets FILE.csv`` gives per-zone targets: columns ``zone, indicator, value, year``
  (and optionally ``source``); ``indicator`` is ``forest_coverage`` (a fraction, or a percent
  written ``23.5%``) or ``forest_stock_volume`` (m³); ``zone`` is a zone name, a group name
  (with ``--group-by``) or ``(region total)``.

Everything else is compared with nothing, and the tables say so (``target_source``).
"""

from __future__ import annotations

import csv
import io
import math
import os
from dataclasses import dataclass
from pathlib import Path

from sinkplan.layers.errors import InputError
from sinkplan.layers.files import decode_user_text

__all__ = ["INDICATORS", "PROVINCE_COVER_SHARE", "ZoneTarget", "load_zone_targets", "provincial_applies", "is_zone_table"]

#: Indicators a per-zone target may name.
INDICATORS = ("forest_coverage", "forest_stock_volume")
#: Share of the province's land area a run must cover for the provincial target to apply.
PROVINCE_COVER_SHARE = 0.95


@dataclass(frozen=True)
class ZoneTarget:
    """One per-zone target."""

    zone: str
    indicator: str
    value: float
    year: int | None
    source: str

    def record(self) -> dict:
        """A JSON-able record."""
        return {"zone": self.zone, "key": self.indicator, "value": self.value, "year": self.year,
                "source": self.source or "--targets"}


def is_zone_table(path: str | os.PathLike | None) -> bool:
    """True for a per-zone targets table (CSV), False for a policy targets file (TOML) or None."""
    return path is not None and Path(path).suffix.lower() in (".csv", ".txt")


def load_zone_targets(path: str | os.PathLike, names: set[str]) -> list[ZoneTarget]:
    """Read per-zone targets.

    Parameters
    ----------
    path : path
        CSV with ``zone, indicator, value, year[, source]``.
    names : set of str
        Zone, group and region names a target may name.

    Raises
    ------
    InputError
        A missing file or column, an unknown zone or indicator, a value that is not a number
        (or a coverage outside (0, 1]), a year that is not a year, a zone and indicator twice.
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"--targets {p}: file not found")
    text = decode_user_text(p.read_bytes(), path=p)
    reader = csv.DictReader(io.StringIO(text))
    cols = [c.strip() for c in (reader.fieldnames or [])]
    need = {"zone", "indicator", "value"}
    if not need <= set(cols):
        raise InputError(f"--targets {p}: a per-zone targets table needs columns zone, indicator, value, year; found {cols}")
    out: list[ZoneTarget] = []
    seen = set()
    for i, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        where = f"--targets {p} line {i}"
        zone, ind = row["zone"], row["indicator"].lower()
        if zone not in names:
            raise InputError(f"{where}: zone {zone!r} is not a zone, group or '(region total)' of this run; "
                             f"names: {', '.join(sorted(names))}")
        if ind not in INDICATORS:
            raise InputError(f"{where}: indicator {row['indicator']!r} is not one of {', '.join(INDICATORS)}")
        text_v = row["value"]
        try:
            value = float(text_v[:-1]) / 100 if text_v.endswith("%") else float(text_v)
        except ValueError:
            raise InputError(f"{where}: value {text_v!r} is not a number") from None
        if ind == "forest_coverage" and not text_v.endswith("%") and value > 1:
            value /= 100.0  # 23.5 means 23.5 %
        if not math.isfinite(value) or value <= 0 or (ind == "forest_coverage" and value > 1):
            raise InputError(f"{where}: {ind} target {text_v!r} is out of range")
        year = None
        if row.get("year"):
            try:
                year = int(float(row["year"]))
            except ValueError:
                raise InputError(f"{where}: year {row['year']!r} is not a year") from None
        if (zone, ind) in seen:
            raise InputError(f"{where}: zone {zone!r} has two {ind} targets; keep one")
        seen.add((zone, ind))
        out.append(ZoneTarget(zone, ind, value, year, row.get("source", "")))
    return out


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

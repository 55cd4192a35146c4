"""Per-zone targets: one table format for the whole project (``--targets FILE.csv``).

A provincial target (Inner Mongolia's 23.5 % forest coverage, > 200 GW of wind and solar by
2030) is a figure for the whole province: five banners hold a sliver of it. A user who has
targets for their zones (a banner's share of the provincial new-energy plan, a league's
coverage target) writes them in one CSV::

    zone,indicator,value,year,source
    达拉特旗,new_energy_capacity,12000,2030,盟市分解方案 (example)
    达拉特旗,forest_coverage,25%,2025,旗县林长制目标 (example)
    (region total),new_energy_capacity,40000,2030,

Columns ``zone, indicator, value, year`` and optionally ``source``. ``zone`` is a zone name
of the run's zone layer (a group name with ``--group-by``), or ``(region total)`` for the
whole run. ``indicator`` is one of :data:`INDICATORS`:

* ``forest_coverage``: a fraction (0.235), a percent written ``23.5%``, or a number above 1
  read as percent (23.5);
* ``forest_stock_volume``: m³;
* ``new_energy_capacity``: MW of wind and solar; ``GW`` or ``MW`` may follow the number.

One file may hold every indicator: each command reads the rows of the indicators it compares
(``indicators=``) and skips the others, so ``sinkplan coverage`` and ``sinkplan site`` can share
it. An indicator no command knows is an error. A ``.csv`` (or ``.txt``) ``--targets`` is such a
table; a ``.toml`` one is a policy targets file (:mod:`sinkplan.seeds.targets`).
"""

from __future__ import annotations

import csv
import io
import math
import os
import re
from dataclasses import dataclass
from pathlib import Path

from sinkplan.layers.errors import InputError
from sinkplan.layers.files import decode_user_text

__all__ = ["INDICATORS", "UNITS", "REGION_TOTAL", "ZoneTarget", "load_zone_targets", "is_zone_table"]

#: Indicators a per-zone target may name, and the unit its value is read in.
UNITS = {"forest_coverage": "fraction", "forest_stock_volume": "m3", "new_energy_capacity": "MW"}
INDICATORS = tuple(UNITS)
#: The zone name of a target for the whole run.
REGION_TOTAL = "(region total)"

_CAPACITY = re.compile(r"^\s*([-+0-9.eE]+)\s*(GW|MW)?\s*$", re.IGNORECASE)


@dataclass(frozen=True)
class ZoneTarget:
    """One per-zone target (``value`` in :data:`UNITS` of its indicator)."""

    zone: str
    indicator: str
    value: float
    year: int | None
    source: str

    @property
    def unit(self) -> str:
        return UNITS[self.indicator]

    def record(self) -> dict:
        """A JSON-able record (as issue 10's coverage summaries write it; the unit is :attr:`unit`)."""
        return {"zone": self.zone, "key": self.indicator, "value": self.value, "year": self.year,
                "source": self.source or "--targets"}


def is_zone_table(path: str | os.PathLike | None) -> bool:
    """True for a per-zone targets table (CSV), False for a policy targets file (TOML) or None."""
    return path is not None and Path(path).suffix.lower() in (".csv", ".txt")


def _value(indicator: str, text: str, where: str) -> float:
    try:
        if indicator == "forest_coverage":
            value = float(text[:-1]) / 100 if text.endswith("%") else float(text)
            if not text.endswith("%") and value > 1:
                value /= 100.0  # 23.5 means 23.5 %
        elif indicator == "new_energy_capacity":
            m = _CAPACITY.match(text)
            if m is None:
                raise ValueError(text)
            value = float(m.group(1)) * (1000.0 if (m.group(2) or "").upper() == "GW" else 1.0)  # GW → MW
        else:
            value = float(text)
    except ValueError:
        raise InputError(f"{where}: value {text!r} is not a number"
                         + (" (MW, or a number followed by GW)" if indicator == "new_energy_capacity" else ""), params=("targets",)) from None
    if not math.isfinite(value) or value <= 0 or (indicator == "forest_coverage" and value > 1):
        raise InputError(f"{where}: {indicator} target {text!r} is out of range", params=("targets",))
    return value


def load_zone_targets(path: str | os.PathLike, names: set[str] | frozenset[str], *,
                      indicators: tuple[str, ...] | None = None) -> list[ZoneTarget]:
    """Read per-zone targets.

    Parameters
    ----------
    path : path
        CSV with ``zone, indicator, value, year[, source]`` (UTF-8 or GB18030).
    names : set of str
        Zone, group and region names a target of ``indicators`` may name.
    indicators : tuple of str, optional
        The indicators the caller compares; rows of the other known indicators are skipped
        (not checked against ``names``). Default: every indicator.

    Returns
    -------
    list of ZoneTarget
        In file order.

    Raises
    ------
    InputError
        A missing file or column, an unknown zone or indicator, a value that is not a number
        (or a coverage outside (0, 1]), a year that is not a year, a zone and indicator twice.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> p = pathlib.Path(tempfile.mkdtemp()) / "t.csv"
    >>> _ = p.write_text("zone,indicator,value,year\\nA,new_energy_capacity,1.5 GW,2030\\nA,forest_coverage,25%,2025\\n")
    >>> [(t.zone, t.value) for t in load_zone_targets(p, {"A"}, indicators=("new_energy_capacity",))]
    [('A', 1500.0)]
    """
    p = Path(path)
    if not p.is_file():
        raise InputError(f"targets {p}: file not found", params=("targets",))
    want = INDICATORS if indicators is None else tuple(indicators)
    text = decode_user_text(p.read_bytes(), path=p)
    reader = csv.DictReader(io.StringIO(text))
    cols = [c.strip() for c in (reader.fieldnames or [])]
    need = {"zone", "indicator", "value"}
    if not need <= set(cols):
        raise InputError(f"targets {p}: a per-zone targets table needs columns zone, indicator, value, year; found {cols}", params=("targets",))
    out: list[ZoneTarget] = []
    seen = set()
    for i, raw in enumerate(reader, start=2):
        row = {(k or "").strip(): (v or "").strip() for k, v in raw.items()}
        where = f"targets {p} line {i}"
        zone, ind = row["zone"], row["indicator"].lower()
        if ind not in INDICATORS:
            raise InputError(f"{where}: indicator {row['indicator']!r} is not one of {', '.join(INDICATORS)}", params=("targets",))
        if ind not in want:
            continue
        if zone not in names:
            raise InputError(f"{where}: zone {zone!r} is not a zone, group or {REGION_TOTAL!r} of this run; "
                             f"names: {', '.join(sorted(names))}", params=("targets",))
        value = _value(ind, row["value"], where)
        year = None
        if row.get("year"):
            try:
                year = int(float(row["year"]))
            except ValueError:
                raise InputError(f"{where}: year {row['year']!r} is not a year", params=("targets",)) from None
            if not 1900 <= year <= 2200:
                raise InputError(f"{where}: year {year} is implausible", params=("targets",))
        if (zone, ind) in seen:
            raise InputError(f"{where}: zone {zone!r} has two {ind} targets; keep one", params=("targets",))
        seen.add((zone, ind))
        out.append(ZoneTarget(zone, ind, value, year, row.get("source", "")))
    return out

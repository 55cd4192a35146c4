"""Policy targets (carbon-peak plan) loaded from a TOML file.

The packaged file ``seeds/targets.toml`` holds Inner Mongolia's targets, each with the clause
it comes from and its source. Users can pass their own file with the same layout::

    [[target]]
    key = "forest_coverage"
    value = 0.235
    unit = "fraction"
    year = 2025
    comparison = ">="
    clause = "到2025年，森林覆盖率达到23.5%……"
    source = "内蒙古自治区碳达峰实施方案, 2022"
"""

from __future__ import annotations

import logging
import math
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from sinkplan.layers.errors import ConfigError

__all__ = ["Target", "load_targets", "COMPARISONS"]

logger = logging.getLogger(__name__)

#: Comparisons a target may use: the result must be at least / more than the value.
COMPARISONS = (">=", ">")

_FIELDS: dict[str, tuple[type, ...]] = {
    "key": (str,),
    "value": (int, float),
    "unit": (str,),
    "year": (int,),
    "comparison": (str,),
    "clause": (str,),
    "source": (str,),
}
#: Optional fields: the region a target is set for and its official land area (ha), so a run
#: can tell whether it covers that region (a provincial target is not a banner's target).
_OPTIONAL: dict[str, tuple[type, ...]] = {"region": (str,), "region_land_area_ha": (int, float)}
_PACKAGED = "targets.toml"


@dataclass(frozen=True)
class Target:
    """One policy target.

    Attributes
    ----------
    key : str
        Identifier used by reports, e.g. ``"forest_coverage"``.
    value : float
        Target value in ``unit``.
    unit : str
        Unit of ``value`` (``"fraction"``, ``"m3"``, ``"MW"`` ...).
    year : int
        Year by which the target applies.
    comparison : str
        ``">="`` (at least) or ``">"`` (more than).
    clause : str
        The plan's wording of the target.
    source : str
        Document (and year) the clause comes from.
    region : str or None
        The region the target is set for (optional).
    region_land_area_ha : float or None
        Its official land area, ha (optional): a run covering less of it does not compare
        its total with the target unless told to (:mod:`sinkplan.sinks.zone_targets`).
    """

    key: str
    value: float
    unit: str
    year: int
    comparison: str
    clause: str
    source: str
    region: str | None = None
    region_land_area_ha: float | None = None

    def is_met(self, achieved: float) -> bool:
        """Return whether ``achieved`` (in ``unit``) satisfies the target.

        Parameters
        ----------
        achieved : float
            The value reached.

        Returns
        -------
        bool
        """
        return achieved >= self.value if self.comparison == ">=" else achieved > self.value


def _check_entry(entry: object, index: int, where: str) -> Target:
    if not isinstance(entry, dict):
        raise ConfigError(f"{where}: target #{index + 1} is not a table; write it as [[target]]")
    name = entry.get("key", f"#{index + 1}")
    unknown = sorted(set(entry) - set(_FIELDS) - set(_OPTIONAL))
    if unknown:
        raise ConfigError(
            f"{where}: target {name!r} has unknown field(s) {unknown}; allowed: {list(_FIELDS) + list(_OPTIONAL)}"
        )
    for field, types in _OPTIONAL.items():
        val = entry.get(field)
        if val is not None and (isinstance(val, bool) or not isinstance(val, types)):
            raise ConfigError(f"{where}: target {name!r} field {field!r} is {val!r}; expected "
                              + " or ".join(t.__name__ for t in types))
    area = entry.get("region_land_area_ha")
    if area is not None and not (math.isfinite(float(area)) and area > 0):
        raise ConfigError(f"{where}: target {name!r} region_land_area_ha {area!r} must be a positive area in ha")
    missing = [f for f in _FIELDS if f not in entry]
    if missing:
        raise ConfigError(f"{where}: target {name!r} lacks field(s) {missing}")
    for field, types in _FIELDS.items():
        val = entry[field]
        if isinstance(val, bool) or not isinstance(val, types):
            want = " or ".join(t.__name__ for t in types)
            raise ConfigError(
                f"{where}: target {name!r} field {field!r} is {val!r} "
                f"({type(val).__name__}); expected {want}"
            )
        if isinstance(val, str) and not val.strip():
            raise ConfigError(f"{where}: target {name!r} field {field!r} is empty")
    if not math.isfinite(float(entry["value"])):
        raise ConfigError(f"{where}: target {name!r} value {entry['value']!r} is not finite")
    if entry["comparison"] not in COMPARISONS:
        raise ConfigError(
            f"{where}: target {name!r} comparison {entry['comparison']!r} is not one of "
            f"{list(COMPARISONS)}"
        )
    if not 1900 <= entry["year"] <= 2200:
        raise ConfigError(f"{where}: target {name!r} year {entry['year']} is implausible")
    return Target(
        key=entry["key"],
        value=float(entry["value"]),
        unit=entry["unit"],
        year=entry["year"],
        comparison=entry["comparison"],
        clause=entry["clause"],
        source=entry["source"],
        region=entry.get("region"),
        region_land_area_ha=None if area is None else float(area),
    )


def load_targets(path: str | Path | None = None) -> dict[str, Target]:
    """Load and validate policy targets.

    Parameters
    ----------
    path : str or Path, optional
        A TOML file with ``[[target]]`` tables. Default: the packaged
        ``seeds/targets.toml`` (Inner Mongolia's carbon-peak plan).

    Returns
    -------
    dict of str to Target
        Targets by key, in file order.

    Raises
    ------
    layers.errors.ConfigError
        If the file is missing, is not valid TOML, or an entry has a missing, unknown,
        mistyped or duplicated field; the message names the file and the target key.
    """
    if path is None:
        where = f"seeds/{_PACKAGED} (packaged)"
        raw = resources.files("sinkplan.seeds").joinpath(_PACKAGED).read_bytes()
    else:
        where = str(path)
        try:
            raw = Path(path).read_bytes()
        except OSError as exc:
            raise ConfigError(f"{where}: cannot read targets file ({exc.strerror or exc})") from exc
    try:
        doc = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise ConfigError(f"{where}: not a valid UTF-8 TOML file: {exc}") from exc
    extra = sorted(set(doc) - {"target"})
    if extra:
        raise ConfigError(f"{where}: unknown top-level key(s) {extra}; only [[target]] tables")
    entries = doc.get("target")
    if not isinstance(entries, list) or not entries:
        raise ConfigError(f"{where}: no [[target]] tables found")
    out: dict[str, Target] = {}
    for i, entry in enumerate(entries):
        target = _check_entry(entry, i, where)
        if target.key in out:
            raise ConfigError(f"{where}: target key {target.key!r} appears more than once")
        out[target.key] = target
    logger.debug("loaded %d targets from %s", len(out), where)
    return out

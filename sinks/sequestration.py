"""Sequestration between land-cover maps with transition periods (IPCC 2006 Tier 1).

The stock-difference of two class-mean maps (:mod:`sinkplan.sinks.change`) books the whole
difference of the equilibrium densities the moment a pixel changes class: grassland that
becomes forest jumps at once to the forest's soil carbon and standing biomass. That figure
is the *potential at equilibrium* (``equilibrium_change_mgc``). What the land actually
gained or lost between the two map years follows the IPCC 2006 Guidelines, Vol. 4, Tier 1:

* **conversion time**: a change seen between the map years y0 and y1 happened at the start,
  the middle (default) or the end of the interval (``timing``); the land has been in its new
  class for ``e`` = span, span/2 or 0 years at y1 (:func:`elapsed_years`).
* **soil** (Vol. 4 ch. 2.3.3.1, Eq. 2.25; default transition period D = 20 years): soil
  carbon moves linearly from the old class's stock to the new one's over D years, gains and
  losses alike: ``Δsoil × min(e, D) / D``.
* **biomass** (above + below ground; ch. 2.3.1.2, Eq. 2.16): a loss is immediate (the
  biomass of the old class is removed at conversion, what remains is the new class's);
  a gain grows from the old class's biomass at the new group's rate or curve
  (:class:`GrowthTable`, a sourced table in ``seeds/growth``), capped at the new class's
  equilibrium. Above and below ground share the growth in proportion to their equilibrium
  differences.
* **dead organic matter** (ch. 2.3.2.2, Eq. 2.23): losses immediate (T_off = 1 year);
  gains linear over D years (T_on, default 20 years).

So over a 5-year interval with mid-interval conversion (e = 2.5) and D = 20, the soil part
of a conversion counts 2.5 / 20 of its equilibrium difference. What is left of the
equilibrium difference after y1 (``remaining_to_equilibrium_mgc``) accrues later if the land
stays in its class.

Everything here is arithmetic on densities per class (no pixels): per (class before, class
after) a sequestration per hectare and pool, which the transition-area table of one pass
multiplies (:func:`sinkplan.sinks.change.change_account`). The same per-pixel rules drive the annual series
(:mod:`sinkplan.sinks.series`), where each pixel's years since conversion are tracked.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from importlib import resources

import numpy as np

from sinkplan.layers.errors import InputError, SchemeError
from sinkplan.layers.schemes import GROUP_INDEX

__all__ = [
    "TIMINGS",
    "DEFAULT_TIMING",
    "DEFAULT_TRANSITION_YEARS",
    "CURVES",
    "METHOD_TRANSITION",
    "METHOD_EQUILIBRIUM",
    "GrowthCurve",
    "GrowthTable",
    "load_growth",
    "shipped_growth_tables",
    "TransitionMethod",
    "elapsed_years",
    "biomass_at_age",
    "soil_fraction",
    "sequestration_per_ha",
    "check_growth_present",
    "equilibrium_per_ha",
]

#: When a change seen between two map years happened.
TIMINGS = ("start", "mid", "end")
DEFAULT_TIMING = "mid"
#: IPCC 2006 Vol. 4 ch. 2.3.3.1: default time for soil stocks to reach a new equilibrium.
DEFAULT_TRANSITION_YEARS = 20.0
#: Growth curves a group may follow after conversion.
CURVES = ("linear", "chapman_richards", "one_year")
#: Names of the methods, as written in summary.json.
METHOD_TRANSITION = "transition periods (IPCC 2006 Tier 1)"
METHOD_EQUILIBRIUM = "stock difference at equilibrium (potential)"
#: Name of the shipped default growth table.
DEFAULT_GROWTH = "biomass_growth"

_REFERENCES = (
    "IPCC 2006 Guidelines for National GHG Inventories, Vol. 4, ch. 2: Eq. 2.16 (biomass of converted land: "
    "losses at conversion, then growth), Eq. 2.23 (dead organic matter: T_on = 20 yr for gains, T_off = 1 yr "
    "for losses), Eq. 2.25 and section 2.3.3.1 (soil: linear change over a transition period D, default 20 yr)"
)


@dataclass(frozen=True)
class GrowthCurve:
    """How the biomass (above + below ground) of land that became ``group`` grows.

    Attributes
    ----------
    group : str
    curve : {'linear', 'chapman_richards', 'one_year'}
        ``linear``: ``rate`` Mg C/ha/yr until the equilibrium; ``chapman_richards``:
        ``B(a) = B0 + (Beq - B0) (1 - exp(-k a))^p``; ``one_year``: the equilibrium is
        reached linearly within the first year (annual vegetation: IPCC Tier 1 for cropland
        and grassland).
    rate_mgc_per_ha_per_yr : float or None
    k_per_yr, p : float or None
    source, note : str
    """

    group: str
    curve: str
    rate_mgc_per_ha_per_yr: float | None = None
    k_per_yr: float | None = None
    p: float | None = None
    source: str = ""
    note: str = ""

    def record(self) -> dict:
        """A JSON-able record (summary.json)."""
        return {"group": self.group, "curve": self.curve, "rate_mgc_per_ha_per_yr": self.rate_mgc_per_ha_per_yr,
                "k_per_yr": self.k_per_yr, "p": self.p, "source": self.source, "note": self.note,
                "assumption": "[check]" in self.note or "assum" in self.note.lower()}


@dataclass(frozen=True)
class GrowthTable:
    """Biomass growth after conversion, one :class:`GrowthCurve` per land-cover group.

    Read from a CSV with columns ``group, curve, rate_mgc_per_ha_per_yr, k_per_yr, p,
    source[, note]`` (``# key: value`` header lines allowed). Every group of the scheme that
    gains biomass on a map must have a row.

    Examples
    --------
    >>> t = GrowthTable.from_csv("g.csv", text="group,curve,rate_mgc_per_ha_per_yr,k_per_yr,p,source\\n"
    ...                          "forest,linear,1.5,,,study X\\n")
    >>> t.curves["forest"].rate_mgc_per_ha_per_yr
    1.5
    """

    curves: dict[str, GrowthCurve]
    origin: str = ""
    meta: dict = field(default_factory=dict, compare=False)

    @classmethod
    def from_csv(cls, path: str | os.PathLike, *, text: str | None = None) -> "GrowthTable":
        """Read and check a growth table.

        Raises
        ------
        SchemeError
            Missing columns, unknown groups or curves, a curve without its parameters,
            negative or non-numeric values, a group listed twice, a row without a source.
        """
        from sinkplan.sinks.densities import _text_of, read_keyed_csv

        origin = str(path)
        meta, cols, rows = read_keyed_csv(_text_of(path) if text is None else text, origin)
        need = {"group", "curve", "source"}
        if not need <= set(cols):
            raise SchemeError(f"{origin}: a growth table needs columns group, curve, rate_mgc_per_ha_per_yr, k_per_yr, p, "
                              f"source; found {cols}")
        curves: dict[str, GrowthCurve] = {}
        for i, row in enumerate(rows, start=2):
            where = f"{origin} line {i}"
            group = row["group"].strip().lower()
            if group not in GROUP_INDEX or group == "nodata":
                raise SchemeError(f"{where}: group {row['group']!r} is not a land-cover group")
            if group in curves:
                raise SchemeError(f"{origin}: group {group!r} listed twice; keep one row per group")
            curve = row["curve"].strip().lower()
            if curve not in CURVES:
                raise SchemeError(f"{where}: curve {row['curve']!r} is not one of {', '.join(CURVES)}")
            vals = {c: _optional(row.get(c, ""), f"{where} column {c}") for c in ("rate_mgc_per_ha_per_yr", "k_per_yr", "p")}
            if curve == "linear" and vals["rate_mgc_per_ha_per_yr"] is None:
                raise SchemeError(f"{where}: curve 'linear' needs rate_mgc_per_ha_per_yr (Mg C/ha/yr of above + below ground biomass)")
            if curve == "chapman_richards" and (vals["k_per_yr"] is None or vals["p"] is None):
                raise SchemeError(f"{where}: curve 'chapman_richards' needs k_per_yr and p")
            if not row.get("source", "").strip():
                raise SchemeError(f"{where}: empty source; every growth value needs its source")
            curves[group] = GrowthCurve(group, curve, vals["rate_mgc_per_ha_per_yr"], vals["k_per_yr"], vals["p"],
                                        row["source"].strip(), row.get("note", "").strip())
        if not curves:
            raise SchemeError(f"{origin}: no rows")
        return cls(curves, origin, meta)

    def curve_of(self, group: str, *, where: str = "") -> GrowthCurve:
        """The curve of ``group``.

        Raises
        ------
        SchemeError
            The table has no row for ``group``.
        """
        try:
            return self.curves[group]
        except KeyError:
            raise SchemeError(f"growth table {self.origin}: no row for group {group!r}{where}; add "
                              f"'{group},linear,RATE,,,SOURCE' (or curve one_year) to the table") from None

    def records(self) -> list[dict]:
        """The rows as JSON-able records."""
        return [c.record() for c in self.curves.values()]


def _optional(raw: str, where: str) -> float | None:
    if raw is None or raw.strip() == "":
        return None
    try:
        v = float(raw)
    except ValueError:
        raise SchemeError(f"{where}: {raw!r} is not a number") from None
    if not math.isfinite(v) or v < 0:
        raise SchemeError(f"{where}: {raw!r} must be a finite number ≥ 0")
    return v


def shipped_growth_tables() -> tuple[str, ...]:
    """Names of the growth tables in ``seeds/growth``."""
    files = resources.files("sinkplan.seeds").joinpath("growth").iterdir()
    return tuple(sorted(f.name[:-4] for f in files if f.name.endswith(".csv")))


def load_growth(name_or_path: str | os.PathLike | GrowthTable | None = None) -> GrowthTable:
    """A growth table: given, shipped by name (default ``biomass_growth``) or read from a CSV path."""
    if isinstance(name_or_path, GrowthTable):
        return name_or_path
    key = DEFAULT_GROWTH if name_or_path is None else str(name_or_path)
    if key in shipped_growth_tables():
        res = resources.files("sinkplan.seeds").joinpath("growth", f"{key}.csv")
        return GrowthTable.from_csv(f"seeds/growth/{key}.csv", text=res.read_text("utf-8"))
    return GrowthTable.from_csv(key)


@dataclass(frozen=True)
class TransitionMethod:
    """The transition-period rules of one run (what summary.json records as the method).

    Parameters
    ----------
    timing : {'start', 'mid', 'end'}
        When a change seen between two maps happened.
    transition_years : float
        D: years for soil (and dead-matter gains) to reach the new class's stock (> 0).
    growth : GrowthTable
        Biomass growth of land that gained a class with more biomass.
    """

    timing: str = DEFAULT_TIMING
    transition_years: float = DEFAULT_TRANSITION_YEARS
    growth: GrowthTable | None = None

    def __post_init__(self) -> None:
        if self.timing not in TIMINGS:
            raise InputError(f"conversion_timing {self.timing!r}: give one of {', '.join(TIMINGS)}", params=("conversion_timing",))
        if not (math.isfinite(self.transition_years) and self.transition_years > 0):
            raise InputError(f"transition_years {self.transition_years}: give a number of years > 0 (IPCC default 20)", params=("transition_years",))
        if self.growth is None:
            object.__setattr__(self, "growth", load_growth())

    @property
    def timing_fraction(self) -> float:
        """Where in the interval a conversion happens: 0 start, 0.5 mid, 1 end."""
        return {"start": 0.0, "mid": 0.5, "end": 1.0}[self.timing]

    def record(self) -> dict:
        """summary.json's ``method`` record: name, reference, parameters and the growth table."""
        return {
            "sequestration": METHOD_TRANSITION,
            "equilibrium_change": METHOD_EQUILIBRIUM,
            "source": _REFERENCES,
            "conversion_timing": self.timing,
            "transition_years": self.transition_years,
            "rules": {
                "soil": "linear over transition_years, gains and losses (Δsoil × min(e, D) / D)",
                "biomass": "losses at conversion; gains grow from the old class's biomass along the group's curve, "
                           "capped at the new class's equilibrium",
                "dead": "losses at conversion; gains linear over transition_years",
                "elapsed_years": "e = years in the new class at the end of the interval: span (start), span/2 (mid), 0 (end)",
            },
            "growth_table": self.growth.origin,
            "growth": self.growth.records(),
        }


def elapsed_years(span_years: float, timing: str) -> float:
    """Years the land has been in its new class at the end of an interval of ``span_years``.

    Examples
    --------
    >>> elapsed_years(5, "mid"), elapsed_years(5, "start"), elapsed_years(5, "end")
    (2.5, 5.0, 0.0)
    """
    if timing not in TIMINGS:
        raise InputError(f"conversion timing {timing!r}: give one of {', '.join(TIMINGS)}")
    return float(span_years) * {"start": 1.0, "mid": 0.5, "end": 0.0}[timing]


def soil_fraction(age_years, transition_years: float):
    """Share of a soil (or dead-matter gain) change reached ``age_years`` after conversion: min(a, D) / D."""
    a = np.clip(np.asarray(age_years, dtype=np.float64), 0.0, None)
    return np.minimum(a, transition_years) / transition_years


def biomass_at_age(b0, b_eq, age_years, curve: GrowthCurve):
    """Biomass (Mg C/ha, above + below) ``age_years`` after a conversion that started at ``b0``.

    Only for gains (``b_eq >= b0``; where ``b_eq < b0`` the loss is immediate and the result
    is ``b_eq``). Arrays broadcast.

    Examples
    --------
    >>> lin = GrowthCurve("forest", "linear", rate_mgc_per_ha_per_yr=1.5)
    >>> float(biomass_at_age(4.5, 37.4, 2.5, lin))  # 4.5 + 1.5 × 2.5
    8.25
    >>> float(biomass_at_age(4.5, 37.4, 40, lin))  # capped at the equilibrium
    37.4
    """
    b0 = np.asarray(b0, dtype=np.float64)
    b_eq = np.asarray(b_eq, dtype=np.float64)
    a = np.clip(np.asarray(age_years, dtype=np.float64), 0.0, None)
    if curve.curve == "linear":
        grown = b0 + curve.rate_mgc_per_ha_per_yr * a  # Mg C/ha/yr × yr
    elif curve.curve == "one_year":
        grown = b0 + (b_eq - b0) * np.minimum(a, 1.0)
    elif curve.curve == "chapman_richards":
        grown = b0 + (b_eq - b0) * (1.0 - np.exp(-curve.k_per_yr * a)) ** curve.p
    else:  # pragma: no cover - checked on load
        raise ValueError(curve.curve)
    return np.where(b_eq >= b0, np.minimum(grown, b_eq), b_eq)


def equilibrium_per_ha(density: np.ndarray) -> np.ndarray:
    """Stock difference per hectare, shape (..., n, n, 4): after class (axis -2) minus before (axis -3)."""
    d = np.nan_to_num(np.asarray(density, dtype=np.float64))
    return d[..., None, :, :] - d[..., :, None, :]


def sequestration_per_ha(density: np.ndarray, groups: tuple[str, ...], method: TransitionMethod, *,
                         span_years: float, missing: str = "raise") -> np.ndarray:
    """Sequestration (Mg C/ha) per (class before, class after, pool) over one interval.

    Parameters
    ----------
    density : ndarray, shape (..., n, 4)
        Equilibrium densities per class and pool (:data:`~sinkplan.sinks.densities.POOLS`),
        optionally with leading axes (Monte Carlo draws).
    groups : tuple of str
        Group of each class (the growth curve of the class a pixel becomes).
    method : TransitionMethod
    span_years : float
        Years between the two maps.
    missing : {'raise', 'nan'}
        A class that gains biomass from another class but whose group has no growth curve:
        raise, or give NaN biomass for those transitions (the caller raises if they have area:
        :func:`check_growth_present`).

    Returns
    -------
    ndarray, shape (..., n, n, 4)
        Zero on the diagonal (no conversion).

    Raises
    ------
    SchemeError
        A class that gains biomass belongs to a group the growth table lacks (``missing='raise'``).
    """
    d = np.nan_to_num(np.asarray(density, dtype=np.float64))
    n = d.shape[-2]
    e = elapsed_years(span_years, method.timing)
    eq = equilibrium_per_ha(d)  # (..., n, n, 4)
    out = np.zeros_like(eq)
    # soil: linear over D years, gains and losses
    out[..., 2] = eq[..., 2] * float(soil_fraction(e, method.transition_years))
    # dead organic matter: losses at once, gains over D (T_on)
    dd = eq[..., 3]
    out[..., 3] = np.where(dd < 0, dd, dd * float(soil_fraction(e, method.transition_years)))
    # biomass (above + below): losses at once; gains along the new group's curve, capped
    b = d[..., 0] + d[..., 1]  # (..., n)
    b_before = np.broadcast_to(b[..., :, None], eq.shape[:-1])
    b_after = np.broadcast_to(b[..., None, :], eq.shape[:-1])
    gained = np.zeros(eq.shape[:-1])
    for j in range(n):
        gains = b_after[..., :, j] > b_before[..., :, j]
        if not np.any(gains):
            continue
        if missing == "nan" and groups[j] not in method.growth.curves:
            gained[..., :, j] = np.where(gains, np.nan, 0.0)
            continue
        curve = method.growth.curve_of(groups[j], where=f" (land that became {groups[j]} gains biomass)")
        gained[..., :, j] = biomass_at_age(b_before[..., :, j], b_after[..., :, j], e, curve) - b_before[..., :, j]
    db = b_after - b_before
    with np.errstate(invalid="ignore", divide="ignore"):
        share = np.where(db > 0, gained / np.where(db > 0, db, 1.0), 1.0)  # of the equilibrium gain reached
    out[..., 0] = eq[..., 0] * share
    out[..., 1] = eq[..., 1] * share
    idx = np.arange(n)
    out[..., idx, idx, :] = 0.0
    return out


def check_growth_present(per_ha: np.ndarray, area_ha: np.ndarray, groups: tuple[str, ...], growth: GrowthTable) -> None:
    """Raise when a transition with area gains biomass into a group the growth table lacks.

    ``per_ha`` comes from :func:`sequestration_per_ha` with ``missing='nan'``; ``area_ha``
    has shape (..., n, n).

    Raises
    ------
    SchemeError
        Naming the group and the area concerned.
    """
    bad = np.isnan(per_ha).any(axis=-1) & (np.asarray(area_ha) > 0)  # (..., n, n)
    if bad.any():
        cols = np.flatnonzero(bad.reshape(-1, *bad.shape[-2:]).any(axis=(0, 1)))
        area = float(np.asarray(area_ha)[..., cols].sum())
        group = groups[int(cols[0])]
        growth.curve_of(group, where=f" (land that became {group} gains biomass on {area:.6g} ha)")

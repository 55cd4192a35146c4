"""Carbon change between two land-cover years: transitions, sequestration, equilibrium change.

Two figures from the transition-area table ``area_ha[zone, side, before, after]`` (one pass
over both rasters):

* ``sequestration_mgc``: what the land gained or lost between the two map years by the
  IPCC 2006 Tier 1 transition-period rules (:mod:`sinkplan.sinks.sequestration`: soil over
  D years, biomass growth at a sourced rate, losses immediate). This is the default figure.
* ``equilibrium_change_mgc``: the stock difference of the two class-mean maps,
  ``area × (density_after − density_before)`` per pool, i.e. the change once every converted
  pixel has reached its new class's equilibrium (the potential at equilibrium).

Stocks before and after, sequestration and equilibrium change are rounded to one common
binary quantum (see :mod:`sinkplan.sinks.stocks`), so ``gain − loss = change`` holds exactly
for both, ``equilibrium_change = stock_after − stock_before`` and the remainder still to come
(``remaining_to_equilibrium_mgc``) is exact, and zones add up to the whole.

Only pixels with a land class in both years count.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sinkplan.layers.errors import InputError
from sinkplan.layers.schemes import ClassScheme
from sinkplan.sinks.densities import POOLS
from sinkplan.sinks.hierarchy import ReportUnit
from sinkplan.sinks.sequestration import (
    TransitionMethod,
    check_growth_present,
    equilibrium_per_ha,
    sequestration_per_ha,
)
from sinkplan.sinks.stocks import CO2_PER_C, common_quantum, quantize

__all__ = ["ChangeAccount", "change_account", "change_lut", "zone_change", "total_change", "transitions_by_code",
           "transitions_by_group", "group_matrix", "ChangeMonteCarlo", "change_monte_carlo"]


@dataclass(frozen=True)
class ChangeAccount:
    """Stocks before and after, and sequestration, per transition.

    Attributes
    ----------
    area_ha : ndarray, shape (zones + 1, sides, n, n)
    before_mgc, after_mgc : ndarray, shape (zones + 1, sides, n, n, 4)
        Equilibrium stocks of the before and after class of each transition.
    years : (int, int) or None
    sequestration_mgc : ndarray, shape (zones + 1, sides, n, n, 4), or None
        By the transition-period rules (None without years: no span to spread it over).
    method : TransitionMethod or None
    groups : tuple of str
        Group of each class.
    """

    codes: tuple[int, ...]
    scheme: ClassScheme
    area_ha: np.ndarray
    before_mgc: np.ndarray
    after_mgc: np.ndarray
    years: tuple[int, int] | None
    sequestration_mgc: np.ndarray | None = None
    method: TransitionMethod | None = None

    @property
    def delta_mgc(self) -> np.ndarray:
        """Equilibrium stock change per transition and pool (exact: both terms share one quantum)."""
        return self.after_mgc - self.before_mgc

    @property
    def span_years(self) -> int | None:
        """Years between the two maps."""
        return None if self.years is None else self.years[1] - self.years[0]

    @property
    def groups(self) -> tuple[str, ...]:
        """Group of each class."""
        return tuple(self.scheme.by_code[c].group for c in self.codes)


def change_account(area_ha: np.ndarray, density_mgc_per_ha: np.ndarray, scheme: ClassScheme, codes: tuple[int, ...], *,
                   years: tuple[int, int] | None = None, method: TransitionMethod | None = None,
                   sequestration_mgc: np.ndarray | None = None) -> ChangeAccount:
    """Stocks before and after, and the sequestration, for a transition area table.

    Parameters
    ----------
    area_ha : ndarray, shape (..., n, n)
        Area per (class before, class after).
    density_mgc_per_ha : ndarray, shape (n, 4)
        Equilibrium density per class and pool.
    scheme, codes
        The class scheme and the code of each class.
    years : (int, int), optional
        Map years; with them (and ``method``) the sequestration is computed.
    method : TransitionMethod, optional
        Transition-period rules (default :class:`TransitionMethod` ()) when ``years`` are given.
    sequestration_mgc : ndarray, shape (..., n, n, 4), optional
        Sequestration per transition computed elsewhere (the annual series, where each pixel's
        age is tracked: :mod:`sinkplan.sinks.series`) instead of the two-map rule.

    Examples
    --------
    >>> from sinkplan.layers.schemes import load_scheme
    >>> a = np.zeros((1, 1, 2, 2)); a[0, 0, 0, 1] = 2.0  # 2 ha from class 0 to class 1
    >>> acc = change_account(a, np.array([[10, 0, 0, 0], [4, 0, 0, 0.0]]), load_scheme("clcd"), (1, 2))
    >>> float(acc.delta_mgc.sum())  # 2 ha × (4 − 10) Mg C/ha
    -12.0
    """
    a = np.asarray(area_ha, dtype=np.float64)
    d = np.nan_to_num(np.asarray(density_mgc_per_ha, dtype=np.float64))
    if years is not None and years[1] <= years[0]:
        raise InputError(f"years: the second year must come after the first, got {years}", params=("years",))
    before = a[..., None] * d[:, None, :]  # density of the 'before' class: axis -3
    after = a[..., None] * d[None, :, :]  # density of the 'after' class: axis -2
    seq = None
    if sequestration_mgc is not None:
        method = method if method is not None else TransitionMethod()
        seq = np.asarray(sequestration_mgc, dtype=np.float64)
    elif years is not None:
        method = method if method is not None else TransitionMethod()
        groups = tuple(scheme.by_code[c].group for c in codes)
        per_ha = sequestration_per_ha(d, groups, method, span_years=years[1] - years[0], missing="nan")
        check_growth_present(per_ha, a, groups, method.growth)
        seq = a[..., None] * np.nan_to_num(per_ha)  # ha × Mg C/ha
    else:
        method = None
    bound = np.abs(before).sum() + np.abs(after).sum() + (0.0 if seq is None else np.abs(seq).sum())
    q = common_quantum(2.0 * bound)
    return ChangeAccount(tuple(codes), scheme, a, quantize(before, q), quantize(after, q), years,
                         None if seq is None else quantize(seq, q), method)


def change_lut(density_total: np.ndarray, slots: int, per_ha: np.ndarray | None = None) -> np.ndarray:
    """Change (Mg C/ha) per (slot before, slot after) for the change raster; NaN off classes.

    ``per_ha`` (shape (n, n, 4): sequestration per hectare and pool) replaces the
    equilibrium difference of ``density_total``.
    """
    n = len(density_total)
    lut = np.full((slots, slots), np.nan, dtype=np.float32)
    lut[:n, :n] = density_total[None, :] - density_total[:, None] if per_ha is None else np.asarray(per_ha).sum(axis=-1)
    return lut


def _gain_loss(per_transition: np.ndarray) -> tuple[float, float]:
    return float(per_transition[per_transition > 0].sum()), float(-per_transition[per_transition < 0].sum())


def _zone_row(acc: ChangeAccount, sel) -> dict:
    area = acc.area_ha[sel]
    before, after = acc.before_mgc[sel], acc.after_mgc[sel]
    delta = after - before  # (..., n, n, 4)
    changed = np.ones(acc.area_ha.shape[-2:], dtype=bool)
    np.fill_diagonal(changed, False)
    area_ha = float(area.sum())
    row = {
        "area_ha": area_ha,
        "changed_area_ha": float(area[..., changed].sum()),
        "stock_before_mgc": float(before.sum()),
        "stock_after_mgc": float(after.sum()),
    }
    span = acc.span_years
    if acc.sequestration_mgc is not None:
        seq = acc.sequestration_mgc[sel]
        total = float(seq.sum())
        gain, loss = _gain_loss(seq.sum(axis=-1))
        row.update(sequestration_mgc=total, sequestration_gain_mgc=gain, sequestration_loss_mgc=loss)
        row.update({f"sequestration_mgc_{p}": float(v) for p, v in zip(POOLS, seq.reshape(-1, 4).sum(axis=0))})
        row["annual_sequestration_mgc_per_yr"] = total / span
        row["annual_sequestration_mt_co2e_per_yr"] = total / span * CO2_PER_C / 1e6  # Mg C → Mt CO2e
        row["sequestration_mgc_per_ha"] = total / area_ha if area_ha > 0 else None
    eq_total = float(after.sum() - before.sum())
    gain, loss = _gain_loss(delta.sum(axis=-1))
    row.update(equilibrium_change_mgc=eq_total, equilibrium_gain_mgc=gain, equilibrium_loss_mgc=loss)
    row.update({f"equilibrium_change_mgc_{p}": float(v) for p, v in zip(POOLS, delta.reshape(-1, 4).sum(axis=0))})
    if span:
        row["annual_equilibrium_change_mgc_per_yr"] = eq_total / span
    row["equilibrium_change_mgc_per_ha"] = eq_total / area_ha if area_ha > 0 else None
    if acc.sequestration_mgc is not None:
        row["remaining_to_equilibrium_mgc"] = eq_total - row["sequestration_mgc"]  # exact: one quantum
    return row


def zone_change(acc: ChangeAccount, units: list[ReportUnit]) -> pd.DataFrame:
    """One row per unit (zone, group, region): stocks before/after, sequestration and equilibrium
    change (gains, losses, pools, per year), summed over the unit's zone ids."""
    return pd.DataFrame([{"zone": u.name, **_zone_row(acc, (list(u.ids),))} for u in units])


def total_change(acc: ChangeAccount, sel=(slice(None),)) -> dict:
    """The change summed over a selection of (zone[, side]) (default: everything)."""
    return _zone_row(acc, sel)


def transitions_by_code(acc: ChangeAccount, units: list[ReportUnit]) -> pd.DataFrame:
    """Area, sequestration and equilibrium change of every (unit, code before, code after) with area."""
    by = acc.scheme.by_code
    rows = []
    for u in units:
        ids = list(u.ids)
        a = acc.area_ha[ids].sum(axis=(0, 1))
        d = acc.delta_mgc[ids].sum(axis=(0, 1, -1))
        s = None if acc.sequestration_mgc is None else acc.sequestration_mgc[ids].sum(axis=(0, 1, -1))
        for i, j in zip(*np.nonzero(a)):
            ci, cj = acc.codes[i], acc.codes[j]
            row = {"zone": u.name, "zone_level": u.level, "zone_group": u.group, "code_before": ci, "code_after": cj,
                   "name_before": by[ci].name_en,
                   "name_after": by[cj].name_en, "name_zh_before": by[ci].name_zh, "name_zh_after": by[cj].name_zh,
                   "area_ha": float(a[i, j])}
            if s is not None:
                row["sequestration_mgc"] = float(s[i, j])
            row["equilibrium_change_mgc"] = float(d[i, j])
            rows.append(row)
    return pd.DataFrame(rows)


def transitions_by_group(acc: ChangeAccount, units: list[ReportUnit]) -> pd.DataFrame:
    """Area, sequestration and equilibrium change per (unit, group before, group after)."""
    df = transitions_by_code(acc, units)
    values = (["sequestration_mgc"] if acc.sequestration_mgc is not None else []) + ["equilibrium_change_mgc"]
    keys = ["zone", "zone_level", "zone_group", "group_before", "group_after"]
    if df.empty:
        return pd.DataFrame(columns=[*keys, "area_ha", *values])
    by = acc.scheme.by_code
    df["group_before"] = [by[c].group for c in df.code_before]
    df["group_after"] = [by[c].group for c in df.code_after]
    df["zone_group"] = df["zone_group"].astype(object).where(df["zone_group"].notna(), "")
    out = df.groupby(keys, sort=False, as_index=False)[["area_ha", *values]].sum()
    out["zone_group"] = out["zone_group"].replace("", None)
    return out


def group_matrix(acc: ChangeAccount, zone_ids: list[int]) -> pd.DataFrame:
    """Transition matrix of area (ha) by group over the given zones: rows before, columns after."""
    groups = [acc.scheme.by_code[c].group for c in acc.codes]
    order = list(dict.fromkeys(groups))
    a = acc.area_ha[zone_ids].sum(axis=(0, 1))
    m = pd.DataFrame(0.0, index=pd.Index(order, name="before \\ after"), columns=order)
    for i, gi in enumerate(groups):
        for j, gj in enumerate(groups):
            m.loc[gi, gj] += a[i, j]
    return m


@dataclass(frozen=True)
class ChangeMonteCarlo:
    """Monte Carlo draws of the change (Mg C), densities resampled, areas fixed.

    ``sequestration`` and ``equilibrium`` have shape (draws, zones + 1, sides).
    """

    draws: int
    seed: int | None
    sequestration: np.ndarray | None
    equilibrium: np.ndarray


def change_monte_carlo(acc: ChangeAccount, densities, n: int, *, seed: int | None) -> ChangeMonteCarlo:
    """``n`` draws of sequestration and equilibrium change per zone and side.

    Each draw takes one density per table row and pool (lognormal, mean = table value:
    :func:`sinkplan.sinks.uncertainty.draw_densities`), the same for both years, and applies
    the same transition-period rules to it.
    """
    from sinkplan.sinks.uncertainty import draw_densities

    draws = draw_densities(densities.table, n, seed=seed)  # (n, rows, 4)
    per_class = np.nan_to_num(densities.per_class(draws))  # (n, classes, 4)
    area = acc.area_ha  # (zones + 1, sides, n, n)
    eq = np.einsum("zsij,dijp->dzs", area, equilibrium_per_ha(per_class))  # ha × Mg C/ha
    seq = None
    if acc.sequestration_mgc is not None:
        per_ha = sequestration_per_ha(per_class, acc.groups, acc.method, span_years=acc.span_years, missing="nan")
        seq = np.einsum("zsij,dijp->dzs", area, np.nan_to_num(per_ha))  # transitions without a curve have no area
    return ChangeMonteCarlo(n, seed, seq, eq)

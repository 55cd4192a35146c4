"""Carbon change between two land-cover years: transitions, gross gains and losses, net.

Stock-difference method on the transition area table ``area_ha[zone, side, before, after]``
(from one pass over both rasters): each transition's stock change per pool is
``area × (density_after − density_before)``. Before and after stocks are rounded to one
common binary quantum (see :mod:`sinkplan.sinks.stocks`), so
``gross_gain − gross_loss = net = stock_after − stock_before`` holds exactly.

Only pixels with a land class in both years count; soil carbon change is counted in full
between the two years (IPCC Tier 1 would spread it over 20 years), so the annual figure
from a short interval is an upper bound for soil.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sinkplan.layers.schemes import ClassScheme
from sinkplan.sinks.densities import POOLS
from sinkplan.sinks.stocks import CO2_PER_C, common_quantum, quantize

__all__ = ["ChangeAccount", "change_account", "change_lut", "zone_change", "transitions_by_code", "transitions_by_group"]


@dataclass(frozen=True)
class ChangeAccount:
    """Stocks before and after per transition.

    Attributes
    ----------
    area_ha : ndarray, shape (zones + 1, sides, n, n)
    before_mgc, after_mgc : ndarray, shape (zones + 1, sides, n, n, 4)
    years : (int, int) or None
    """

    codes: tuple[int, ...]
    scheme: ClassScheme
    area_ha: np.ndarray
    before_mgc: np.ndarray
    after_mgc: np.ndarray
    years: tuple[int, int] | None

    @property
    def delta_mgc(self) -> np.ndarray:
        """Stock change per transition and pool (exact: both terms share one quantum)."""
        return self.after_mgc - self.before_mgc

    @property
    def span_years(self) -> int | None:
        """Years between the two maps."""
        return None if self.years is None else self.years[1] - self.years[0]


def change_account(area_ha: np.ndarray, density_mgc_per_ha: np.ndarray, scheme: ClassScheme, codes: tuple[int, ...], *,
                   years: tuple[int, int] | None = None) -> ChangeAccount:
    """Stocks before and after for a transition area table.

    Examples
    --------
    >>> from layers.schemes import load_scheme
    >>> a = np.zeros((1, 1, 2, 2)); a[0, 0, 0, 1] = 2.0  # 2 ha from class 0 to class 1
    >>> acc = change_account(a, np.array([[10, 0, 0, 0], [4, 0, 0, 0.0]]), load_scheme("clcd"), (1, 2))
    >>> float(acc.delta_mgc.sum())  # 2 ha × (4 − 10) Mg C/ha
    -12.0
    """
    a = np.asarray(area_ha, dtype=np.float64)
    d = np.nan_to_num(np.asarray(density_mgc_per_ha, dtype=np.float64))
    before = a[..., None] * d[:, None, :]  # density of the 'before' class: axis -3
    after = a[..., None] * d[None, :, :]  # density of the 'after' class: axis -2
    q = common_quantum(2.0 * (np.abs(before).sum() + np.abs(after).sum()))
    if years is not None and years[1] <= years[0]:
        raise ValueError(f"the second year must come after the first, got {years}")
    return ChangeAccount(tuple(codes), scheme, a, quantize(before, q), quantize(after, q), years)


def change_lut(density_total: np.ndarray, slots: int) -> np.ndarray:
    """Density change (Mg C/ha) per (slot before, slot after) for the change raster; NaN off classes."""
    n = len(density_total)
    lut = np.full((slots, slots), np.nan, dtype=np.float32)
    lut[:n, :n] = density_total[None, :] - density_total[:, None]
    return lut


def _zone_row(acc: ChangeAccount, sel) -> dict:
    area = acc.area_ha[sel]
    before, after = acc.before_mgc[sel], acc.after_mgc[sel]
    delta = after - before  # (..., n, n, 4)
    per_transition = delta.sum(axis=-1)
    gain = float(per_transition[per_transition > 0].sum())
    loss = float(-per_transition[per_transition < 0].sum())
    changed = np.ones(acc.area_ha.shape[-2:], dtype=bool)
    np.fill_diagonal(changed, False)
    row = {
        "area_ha": float(area.sum()),
        "changed_area_ha": float(area[..., changed].sum()),
        "stock_before_mgc": float(before.sum()),
        "stock_after_mgc": float(after.sum()),
        "gross_gain_mgc": gain,
        "gross_loss_mgc": loss,
        "net_change_mgc": float(after.sum() - before.sum()),
    }
    row.update({f"net_change_mgc_{p}": float(v) for p, v in zip(POOLS, delta.reshape(-1, 4).sum(axis=0))})
    if acc.span_years:
        row["annual_net_change_mgc_per_yr"] = row["net_change_mgc"] / acc.span_years
        row["annual_sequestration_mt_co2e_per_yr"] = row["annual_net_change_mgc_per_yr"] * CO2_PER_C / 1e6
    row["net_change_mgc_per_ha"] = row["net_change_mgc"] / row["area_ha"] if row["area_ha"] > 0 else None
    return row


def zone_change(acc: ChangeAccount, zone_ids: list[int], zone_names: tuple[str, ...]) -> pd.DataFrame:
    """One row per zone: stocks before/after, gross gain/loss, net (and annual) change."""
    return pd.DataFrame([{"zone": zone_names[z], **_zone_row(acc, (z,))} for z in zone_ids])


def total_change(acc: ChangeAccount, sel=(slice(None),)) -> dict:
    """The change summed over a selection of (zone[, side]) (default: everything)."""
    return _zone_row(acc, sel)


def transitions_by_code(acc: ChangeAccount, zone_ids: list[int], zone_names: tuple[str, ...]) -> pd.DataFrame:
    """Area and stock change of every (zone, code before, code after) with area."""
    by = acc.scheme.by_code
    rows = []
    for z in zone_ids:
        a = acc.area_ha[z].sum(axis=0)
        d = acc.delta_mgc[z].sum(axis=(0, -1))
        for i, j in zip(*np.nonzero(a)):
            ci, cj = acc.codes[i], acc.codes[j]
            rows.append({"zone": zone_names[z], "code_before": ci, "code_after": cj, "name_before": by[ci].name_en,
                         "name_after": by[cj].name_en, "name_zh_before": by[ci].name_zh, "name_zh_after": by[cj].name_zh,
                         "area_ha": float(a[i, j]), "stock_change_mgc": float(d[i, j])})
    return pd.DataFrame(rows)


def transitions_by_group(acc: ChangeAccount, zone_ids: list[int], zone_names: tuple[str, ...]) -> pd.DataFrame:
    """Area and stock change per (zone, group before, group after)."""
    df = transitions_by_code(acc, zone_ids, zone_names)
    if df.empty:
        return pd.DataFrame(columns=["zone", "group_before", "group_after", "area_ha", "stock_change_mgc"])
    by = acc.scheme.by_code
    df["group_before"] = [by[c].group for c in df.code_before]
    df["group_after"] = [by[c].group for c in df.code_after]
    return df.groupby(["zone", "group_before", "group_after"], sort=False, as_index=False)[["area_ha", "stock_change_mgc"]].sum()


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

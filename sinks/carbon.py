"""Carbon account: stocks per zone × redline side × class × pool, its tables and summary.

Pure arithmetic on the area table of one pass (:mod:`sinkplan.sinks.blocks`); see
:mod:`sinkplan.sinks.stocks` for why the sums are exact.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from sinkplan.layers.schemes import ClassScheme
from sinkplan.sinks.densities import POOLS, ClassDensities
from sinkplan.sinks.stocks import CO2_PER_C, stocks_mgc
from sinkplan.sinks.uncertainty import DISTRIBUTION, PERCENTILES, interval, monte_carlo_stocks

__all__ = ["CarbonAccount", "carbon_account", "zone_table", "class_table", "carbon_summary", "density_lut",
           "MonteCarlo", "run_monte_carlo", "DENSITY_NODATA"]

#: Nodata of ``carbon_density.tif``: densities are ≥ 0, so -1 can never be a value
#: (the InVEST carbon model's convention).
DENSITY_NODATA = -1.0

MG_PER_MT = 1e6  # 1 Mt = 10⁶ Mg


@dataclass(frozen=True)
class CarbonAccount:
    """Areas and stocks of one land-cover map.

    Attributes
    ----------
    zone_names : tuple of str
        Name of zone id i (index 0: pixels outside every zone, or the whole map without zones).
    has_zones, has_redline : bool
    area_ha : ndarray, shape (zones + 1, sides, nclasses)
    density_mgc_per_ha : ndarray, shape (nclasses, 4)
    stock_mgc : ndarray, shape (zones + 1, sides, nclasses, 4)
    """

    zone_names: tuple[str, ...]
    has_zones: bool
    has_redline: bool
    codes: tuple[int, ...]
    scheme: ClassScheme
    area_ha: np.ndarray
    density_mgc_per_ha: np.ndarray
    stock_mgc: np.ndarray
    area_by_pool: np.ndarray | None = None

    def zone_rows(self) -> list[int]:
        """Zone ids listed in tables: every zone, and id 0 when it holds land (or there are no zones)."""
        ids = list(range(1, len(self.zone_names))) if self.has_zones else []
        if not self.has_zones or self.area_ha[0].sum() > 0:
            ids.append(0)
        return ids


def carbon_account(area_ha: np.ndarray, densities: ClassDensities, scheme: ClassScheme, *,
                   zone_names: tuple[str, ...], has_zones: bool, has_redline: bool,
                   area_by_pool: np.ndarray | None = None) -> CarbonAccount:
    """Stocks from areas (ha) per (zone, side, class) and densities resolved to the classes.

    ``area_by_pool`` (shape (zones + 1, sides, n, 4)) replaces the area of each pool by an
    area weighted with a per-pixel correction factor (Σ area × K: climate correction,
    :mod:`sinkplan.sinks.climate`); a table resolved per zone (region-keyed) gives each zone
    its own densities.
    """
    dens = densities.per_class()  # (n, 4), or (zones + 1, n, 4) per zone
    d = dens[:, None] if dens.ndim == 3 else dens  # broadcast over the redline sides
    if area_by_pool is None:
        stock = stocks_mgc(area_ha, d)
    else:
        from sinkplan.sinks.stocks import common_quantum, quantize

        raw = np.where(np.asarray(area_ha)[..., None] == 0, 0.0, np.asarray(area_by_pool) * np.nan_to_num(d))  # ha × Mg C/ha
        stock = quantize(raw, common_quantum(2.0 * float(np.abs(raw).sum())))
    if area_by_pool is not None or dens.ndim == 3:  # densities vary within a class: report stock ÷ area per zone
        with np.errstate(invalid="ignore", divide="ignore"):
            a = np.asarray(area_ha).sum(axis=1)[..., None]
            dens = np.where(a > 0, stock.sum(axis=1) / np.where(a > 0, a, 1.0), np.nan)
    return CarbonAccount(tuple(zone_names), has_zones, has_redline, densities.codes, scheme,
                         np.asarray(area_ha), dens, stock, area_by_pool)


def density_lut(densities: ClassDensities, slots: int) -> np.ndarray:
    """Total density (Mg C/ha) per class slot for the density raster; nodata elsewhere."""
    lut = np.full(slots, DENSITY_NODATA, dtype=np.float32)
    total = densities.per_class().sum(axis=1)
    lut[: len(total)] = np.where(np.isfinite(total), total, DENSITY_NODATA)
    return lut


@dataclass(frozen=True)
class MonteCarlo:
    """Monte Carlo totals (Mg C): ``by_zone`` (draws, zones + 1), ``by_side`` (draws, sides)."""

    draws: int
    seed: int | None
    by_zone: np.ndarray
    by_side: np.ndarray
    by_pool: np.ndarray

    @property
    def total(self) -> np.ndarray:
        """Total stock per draw."""
        return self.by_zone.sum(axis=1)


def run_monte_carlo(acc: CarbonAccount, densities: ClassDensities, n: int, *, seed: int | None) -> MonteCarlo:
    """``n`` Monte Carlo draws of the account's stocks (densities resampled, areas fixed)."""
    draws = monte_carlo_stocks(acc.area_ha, densities, n, seed=seed, area_by_pool=acc.area_by_pool)  # (n, zones, sides, pools)
    return MonteCarlo(n, seed, draws.sum(axis=(2, 3)), draws.sum(axis=(1, 3)), draws.sum(axis=(1, 2)))


def _class_info(acc: CarbonAccount) -> list[tuple[int, str, str, str]]:
    by = acc.scheme.by_code
    return [(c, by[c].name_en, by[c].name_zh, by[c].group) for c in acc.codes]


def _fraction(mapped_fraction: np.ndarray | None, z: int) -> float | None:
    if mapped_fraction is None or not np.isfinite(mapped_fraction[z]):
        return None
    return float(mapped_fraction[z])


def _units(acc: CarbonAccount, units) -> list:
    from sinkplan.sinks.hierarchy import ReportUnit

    if units is not None:
        return units
    return [ReportUnit(acc.zone_names[z], (z,), "zone", None) for z in acc.zone_rows()]


def zone_table(acc: CarbonAccount, mc: MonteCarlo | None = None, *, mapped_fraction: np.ndarray | None = None,
               units: list | None = None, unit_mapped_fraction: list | None = None) -> pd.DataFrame:
    """One row per zone (or per :class:`~sinkplan.sinks.hierarchy.ReportUnit`: zone, group, region):
    area, stock per pool, total, Mt CO2e (and the 95 % interval).

    ``mapped_fraction`` (indexed by zone id, 0 outside the zones:
    :func:`sinkplan.sinks.mapped.mapped_fractions`) or ``unit_mapped_fraction`` (one value per unit,
    in the order of ``units``: :func:`sinkplan.sinks.hierarchy.unit_fractions`) adds the share of
    each zone polygon the raster maps (empty outside the zones). The two are separate arguments:
    with the "(outside zones)" row there are as many units as zone ids, so the length of one
    array cannot say how it is indexed. A unit's interval comes from the same draws summed over
    its zones.
    """
    rows = []
    units = _units(acc, units)
    if unit_mapped_fraction is not None and len(unit_mapped_fraction) != len(units):
        raise ValueError(f"unit_mapped_fraction has {len(unit_mapped_fraction)} values for {len(units)} units")
    for k, u in enumerate(units):
        ids = list(u.ids)
        pools = acc.stock_mgc[ids].sum(axis=(0, 1, 2))  # exact: quantized
        total = float(pools.sum())
        if unit_mapped_fraction is not None:
            frac = unit_mapped_fraction[k]
        else:
            frac = _fraction(mapped_fraction, ids[0]) if len(ids) == 1 else None
        row = {"zone": u.name, "area_ha": float(acc.area_ha[ids].sum()), "mapped_fraction": frac}
        row.update({f"stock_mgc_{p}": float(v) for p, v in zip(POOLS, pools)})
        row["stock_mgc"] = total
        row["stock_mt_co2e"] = total * CO2_PER_C / MG_PER_MT
        if mc is not None:
            # the point estimate (stock_mgc) is the figure; the draws give its interval
            mean, lo, hi = interval(mc.by_zone[:, ids].sum(axis=1))
            row.update(stock_mgc_p2_5=float(lo), stock_mgc_p97_5=float(hi), stock_mgc_draws_mean=float(mean))
        if acc.has_redline:
            row["inside_redline_area_ha"] = float(acc.area_ha[ids, 1].sum())
            row["inside_redline_stock_mgc"] = float(acc.stock_mgc[ids, 1].sum())
        rows.append(row)
    return pd.DataFrame(rows)


def class_table(acc: CarbonAccount, units: list | None = None) -> pd.DataFrame:
    """One row per (zone or unit, class) with area, densities and stocks; classes with no area omitted."""
    info = _class_info(acc)
    rows = []
    for u in _units(acc, units):
        ids = list(u.ids)
        for i, (code, name_en, name_zh, group) in enumerate(info):
            area = float(acc.area_ha[ids][:, :, i].sum())
            if area == 0:
                continue
            pools = acc.stock_mgc[ids][:, :, i].sum(axis=(0, 1))
            row = {"zone": u.name, "code": code, "name_en": name_en, "name_zh": name_zh, "group": group, "area_ha": area}
            if units is not None and any(x.level != "zone" for x in units):
                row = {"zone": u.name, "zone_level": u.level, "zone_group": u.group, **{k: v for k, v in row.items() if k != "zone"}}
            row.update({f"density_mgc_per_ha_{p}": float(v) for p, v in zip(POOLS, _density_of(acc, ids, i))})  # noqa: E501
            row.update({f"stock_mgc_{p}": float(v) for p, v in zip(POOLS, pools)})
            row["stock_mgc"] = float(pools.sum())
            if acc.has_redline:
                row["inside_redline_area_ha"] = float(acc.area_ha[ids][:, 1, i].sum())
            rows.append(row)
    return pd.DataFrame(rows)


def _density_of(acc: CarbonAccount, ids: list[int], i: int) -> np.ndarray:
    """Density per pool of class i over zones ``ids``: the table's, or stock ÷ area where it varies by zone."""
    d = np.asarray(acc.density_mgc_per_ha)
    if d.ndim == 2:
        return d[i]
    area = float(acc.area_ha[ids][:, :, i].sum())
    return acc.stock_mgc[ids][:, :, i].sum(axis=(0, 1)) / area if area > 0 else np.full(4, np.nan)


def carbon_summary(acc: CarbonAccount, mc: MonteCarlo | None = None, *, mapped_fraction: np.ndarray | None = None) -> dict:
    """Headline figures: totals, pools, zones, redline and the Monte Carlo interval."""
    pools = acc.stock_mgc.sum(axis=(0, 1, 2))
    total = float(pools.sum())
    out: dict = {
        "area_ha": float(acc.area_ha.sum()),
        "stock_mgc": total,
        "stock_tgc": total / 1e6,  # 1 Tg = 10⁶ Mg
        "stock_mt_co2e": total * CO2_PER_C / MG_PER_MT,
        "stock_mgc_by_pool": {p: float(v) for p, v in zip(POOLS, pools)},
        "zones": [
            {"zone": acc.zone_names[z], "area_ha": float(acc.area_ha[z].sum()),
             "stock_mgc": float(acc.stock_mgc[z].sum()), "mapped_fraction": _fraction(mapped_fraction, z),
             **({"in_zone_layer": z != 0} if acc.has_zones else {})}
            for z in acc.zone_rows()
        ],
    }
    if acc.has_redline:
        out["redline"] = {
            "inside_area_ha": float(acc.area_ha[:, 1].sum()),
            "inside_stock_mgc": float(acc.stock_mgc[:, 1].sum()),
            "outside_area_ha": float(acc.area_ha[:, 0].sum()),
            "outside_stock_mgc": float(acc.stock_mgc[:, 0].sum()),
        }
    if mc is not None:
        mean, lo, hi = interval(mc.total)
        by_pool = {}
        for j, p in enumerate(POOLS):
            m_p, lo_p, hi_p = interval(mc.by_pool[:, j])
            by_pool[p] = {"stock_mgc": float(pools[j]), "p2_5": float(lo_p), "p97_5": float(hi_p), "draws_mean": float(m_p)}
        # The point estimate with the percentiles of the draws; the draws' mean is reported
        # only as a check that they are centred on it (lognormal with mean = table value).
        out["uncertainty"] = {
            "draws": mc.draws, "seed": mc.seed, "distribution": DISTRIBUTION, "percentiles": list(PERCENTILES),
            "stock_mgc": total, "stock_mgc_p2_5": float(lo), "stock_mgc_p97_5": float(hi),
            "stock_mgc_draws_mean": float(mean), "stock_mgc_by_pool": by_pool,
        }
        for z_obj, z in zip(out["zones"], acc.zone_rows()):
            m, lo_z, hi_z = interval(mc.by_zone[:, z])
            z_obj.update(stock_mgc_p2_5=float(lo_z), stock_mgc_p97_5=float(hi_z), stock_mgc_draws_mean=float(m))
        if acc.has_redline:
            for side, name in ((1, "inside"), (0, "outside")):
                m, lo_s, hi_s = interval(mc.by_side[:, side])
                out["redline"].update({f"{name}_stock_mgc_p2_5": float(lo_s), f"{name}_stock_mgc_p97_5": float(hi_s)})
    return out

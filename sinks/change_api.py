"""Land-cover change and carbon change between two years, and the restoration effect
(what ``sinkplan change`` writes, without and with ``--control-ring-km``).

One pass over both rasters counts the area of every (zone × redline side × class before ×
class after) transition; see :mod:`sinkplan.sinks.change` for the arithmetic.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sinkplan.layers.errors import InputError
from sinkplan.layers.warnings import NotReportedWarning, warn
from sinkplan.layers.grid import DEFAULT_MAX_CELLS
from sinkplan.layers.landcover import LandCover
from sinkplan.layers.parallel import BlockExecutor
from sinkplan.sinks.change import ChangeAccount
from sinkplan.sinks.densities import DensityTable
from sinkplan.sinks.inputs import LandCoverInput, open_landcovers, pass_threads
from sinkplan.sinks.hierarchy import (
    ReportUnit,
    ZoneHierarchy,
    level_columns,
    report_units,
    resolve_hierarchy,
    split_summary,
    unit_fractions,
)
from sinkplan.sinks.mapped import strata_mapped_fractions
from sinkplan.sinks.restoration import RestorationZones
from sinkplan.sinks.sequestration import TransitionMethod
from sinkplan.sinks.valuation import Valuation
from sinkplan.sinks.strata import ALL_ZONES, Strata, using_strata
from sinkplan.layers.parallel import Progress
from sinkplan.layers.outputs import RasterSink

__all__ = ["ChangeResult", "RestorationResult", "land_change", "restoration_effect"]

logger = logging.getLogger(__name__)



@dataclass(frozen=True)
class ChangeResult:
    """Transitions and carbon change per zone (the tables ``sinkplan change`` writes).

    Attributes
    ----------
    by_zone : DataFrame
        ``change_by_zone.csv``: stocks before / after, gross gain and loss, net (and annual) change.
    transitions_by_code, transitions_by_group : DataFrame
        ``transitions_by_code.csv``, ``transitions_by_group.csv``: area and stock change per
        (zone, class or group before, after).
    transition_matrix : DataFrame
        Area (ha) by group, rows before, columns after (``transition_matrix_group_ha.csv``
        is its ``reset_index()``).
    summary : dict
        ``summary.json`` (NaN as None).
    account : ChangeAccount
        Areas and stocks per (zone, side, class before, class after[, pool]).
    strata : Strata
        Zones and redline as rasterized.
    landcovers : tuple of LandCover
        Before and after.
    densities : DensityTable
        The density table used.
    method : TransitionMethod
        The transition-period rules of the sequestration.
    parameters : dict
        What the result was computed with (recorded in the manifest by
        :func:`sinkplan.sinks.folders.write_change`).
    """

    by_zone: pd.DataFrame
    transitions_by_code: pd.DataFrame
    transitions_by_group: pd.DataFrame
    transition_matrix: pd.DataFrame
    summary: dict
    account: ChangeAccount
    strata: Strata
    landcovers: tuple[LandCover, LandCover]
    densities: DensityTable | None = None
    parameters: dict = field(default_factory=dict)
    method: TransitionMethod | None = None

    @property
    def inputs(self) -> list[str]:
        """Input files (recorded with their SHA-256 in the manifest)."""
        return _inputs(self.parameters)


@dataclass(frozen=True)
class RestorationResult:
    """Each project's carbon change against its control ring (``sinkplan change --control-ring-km``).

    Attributes
    ----------
    effect : DataFrame
        ``restoration_effect.csv``: per project the change per ha inside and in the ring and
        their difference (per year with years).
    transitions_by_code, transitions_by_group, transition_matrix : DataFrame
        Over the whole map, as in :class:`ChangeResult`.
    summary : dict
        ``summary.json``.
    account : ChangeAccount
        Per piece of the projects and rings (zone id k + 1 = piece k).
    zones : RestorationZones
        Projects, rings and pieces.
    strata : Strata
    landcovers : tuple of LandCover
    densities : DensityTable
    parameters : dict
        What the result was computed with (recorded in the manifest by
        :func:`sinkplan.sinks.folders.write_restoration`).
    """

    effect: pd.DataFrame
    transitions_by_code: pd.DataFrame
    transitions_by_group: pd.DataFrame
    transition_matrix: pd.DataFrame
    summary: dict
    account: ChangeAccount
    zones: RestorationZones
    strata: Strata
    landcovers: tuple[LandCover, LandCover]
    densities: DensityTable | None = None
    parameters: dict = field(default_factory=dict)
    method: TransitionMethod | None = None

    @property
    def inputs(self) -> list[str]:
        """Input files (recorded with their SHA-256 in the manifest)."""
        return _inputs(self.parameters)


def _inputs(p: dict) -> list[str]:
    return [x for x in (p.get("before"), p.get("after"), p.get("zones"), p.get("redline"), p.get("densities_file")) if x]


def _parameters(lcs, table: DensityTable, st: Strata, years, max_cells: int, method: TransitionMethod, **extra) -> dict:
    return {"before": str(lcs[0].path), "after": str(lcs[1].path), "years": years, "scheme": lcs[0].scheme.name,
            "densities": table.origin, "densities_file": table.origin if os.path.isfile(table.origin) else None,
            "soil_depth_cm": table.soil_depth_cm, "zones": st.zone_source, "zone_field": st.zone_field,
            "redline": st.redline_source, "conversion_timing": method.timing,
            "transition_years": method.transition_years, "growth": method.growth.origin, **extra,
            "max_cells": max_cells}


def change_raster_lut(landcovers, table: DensityTable, years, method: TransitionMethod) -> np.ndarray:
    """The change raster's value (Mg C/ha) per (class slot before, class slot after): the default
    figure, sequestration by transition periods with years, else the equilibrium stock difference."""
    from sinkplan.sinks.blocks import ClassSlots
    from sinkplan.sinks.change import change_lut
    from sinkplan.sinks.sequestration import sequestration_per_ha

    densities = table.resolve(landcovers[0].scheme)
    slots = ClassSlots.build(landcovers[0].scheme, dtype=landcovers[0].dtype, nodata=(landcovers[0].nodata,))
    dens = np.nan_to_num(densities.per_class())
    per_ha = None if years is None else np.nan_to_num(sequestration_per_ha(
        dens, densities.groups, method, span_years=years[1] - years[0], missing="nan"))  # checked after the pass
    return change_lut(dens.sum(axis=1), slots.slots, per_ha)


def transitions_lut(slots) -> np.ndarray | None:
    """``transitions.tif``'s value per (class slot before, class slot after): ``code_before × 100 +
    code_after`` (uint16), 0 where either year has no land class (unknown or nodata slots).

    Raises
    ------
    ValueError
        A code is 100 or more: the encoding needs codes < 100 (:func:`transitions_encodable`).
    """
    s0, s1 = slots
    if not transitions_encodable(slots):
        raise ValueError("codes ≥ 100 cannot be encoded as code_before × 100 + code_after")
    lut = np.zeros((s0.slots, s1.slots), dtype=np.uint16)
    for i, a in enumerate(s0.codes):
        for j, b in enumerate(s1.codes):
            lut[i, j] = a * 100 + b
    return lut


def transitions_encodable(slots) -> bool:
    """True when every class code of both maps is below 100 (``transitions.tif`` can be written)."""
    return all(max(s.codes, default=0) < 100 for s in slots)


def change_raster_tags(table: DensityTable, years, method: TransitionMethod) -> dict[str, str]:
    """Tags of ``carbon_change.tif``: units and the quantity it shows."""
    quantity = ("sequestration over the interval by transition periods (IPCC 2006 Tier 1), "
                f"conversion {method.timing} of interval, D = {method.transition_years:g} yr"
                if years is not None else "carbon density after minus before (equilibrium stock difference)")
    return {"units": "Mg C/ha", "quantity": quantity, "years": str(years), "densities": table.origin,
            "growth": method.growth.origin}


def _clean(obj):
    """NaN → None for JSON."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and obj != obj:
        return None
    if isinstance(obj, np.generic):
        return _clean(obj.item())
    return obj


def _years(years) -> tuple[int, int] | None:
    if years is None:
        return None
    y0, y1 = (int(y) for y in years)
    if y1 <= y0:
        raise InputError(f"the after year {y1} must be later than the before year {y0}")
    return y0, y1


def _change_pass(lcs, table, st: Strata, years, method: TransitionMethod, *, max_cells, executor, progress, on_raster,
                 threads, on_transitions=None):
    from sinkplan.layers.landcover import check_codes
    from sinkplan.sinks.blocks import ClassSlots, PassSpec, run_pass
    from sinkplan.sinks.change import change_account
    from sinkplan.sinks.stocks import class_area_ha

    if table.regions:
        raise InputError(f"density table {table.origin} keys rows by region: change uses one density per class; "
                         "give a table without a region column (region-keyed tables serve carbon region_field)", params=("region_field",))
    densities = table.resolve(lcs[0].scheme)
    slots = tuple(ClassSlots.build(lc.scheme, dtype=lc.dtype, nodata=(lc.nodata,)) for lc in lcs)
    # the raster shows the default figure: sequestration with years, else the equilibrium
    luts, sinks = [], []
    if on_raster is not None:
        luts.append(change_raster_lut(lcs, table, years, method))
        sinks.append(on_raster)
    if on_transitions is not None:
        luts.append(transitions_lut(slots))
        sinks.append(on_transitions)

    def fan_out(blocks, window):
        for sink, block in zip(sinks, blocks):
            sink(block, window)

    spec = PassSpec(lcs[0].grid, tuple(lc.pass_input for lc in lcs), slots, st.source,
                    st.nzones, st.sides, raster_lut=tuple(luts) if luts else None)
    res = run_pass(spec, max_cells=max_cells, executor=executor, progress=progress, label="change",
                   on_raster=fan_out if sinks else None, threads=pass_threads() if threads is None else threads)
    for lc, unknown in zip(lcs, res.unknown):
        check_codes(unknown, lc.scheme, lc.path)
    _warn_one_year_only(res, slots, lcs, years)
    px = res.pixels[:, :, : slots[0].n, : slots[1].n]
    densities.check_present(px.sum(axis=(0, 1, 3)) + px.sum(axis=(0, 1, 2)), path=f"{lcs[0].path} / {lcs[1].path}")
    acc = change_account(class_area_ha(res), densities.per_class(), lcs[0].scheme, slots[0].codes, years=years,
                         method=method)
    return acc, densities


def _warn_one_year_only(res, slots, lcs, years) -> None:
    """Name the land mapped in one map only (a class in one, nodata in the other): the change is
    counted where both maps have a class, so those hectares are in neither stock, which a
    comparison with ``carbon`` of either year would otherwise find unexplained."""
    a = res.area_m2  # (zones + 1, sides, slots0, slots1)
    n0, n1, nd0, nd1 = slots[0].n, slots[1].n, slots[0].nodata, slots[1].nodata
    before_only = float(a[:, :, :n0, nd1].sum()) / 1e4  # m² → ha
    after_only = float(a[:, :, nd0, :n1].sum()) / 1e4
    if before_only > 0 or after_only > 0:
        y0, y1 = (years if years and years[0] is not None else (None, None))
        first = f"{lcs[0].path.name}" + (f" ({y0})" if y0 else "")
        second = f"{lcs[1].path.name}" + (f" ({y1})" if y1 else "")
        parts = ([f"{before_only:,.6g} ha mapped in {first} are nodata in {second}"] if before_only > 0 else []) + \
                ([f"{after_only:,.6g} ha mapped in {second} are nodata in {first}"] if after_only > 0 else [])
        warn(NotReportedWarning, f"change: {'; '.join(parts)}: that land is left out of both stocks and of the change "
             "(only land with a class in every map is counted)", logger=__name__)


def _summary(acc: ChangeAccount, table: DensityTable, years, method: TransitionMethod) -> dict:
    from sinkplan.sinks.change import total_change

    summary = {"years": years, "method": _method_record(acc, method),
               "densities": {"table": table.origin, "soil_depth_cm": table.soil_depth_cm},
               "units": {"area": "ha", "stock": "Mg C", "annual": "Mg C/yr; Mt CO2e/yr (× 44/12)"}}
    summary.update(total_change(acc))
    return summary


def _method_record(acc: ChangeAccount, method: TransitionMethod) -> dict:
    rec = method.record()
    if acc.sequestration_mgc is None:
        rec["sequestration"] = None
        rec["why_not"] = ("the maps have no years, so there is no interval to spread the change over; give YEAR=PATH "
                          "to get sequestration_mgc")
        warn(NotReportedWarning, "no map years: only the equilibrium stock difference is reported "
             "(equilibrium_change_mgc); give years for sequestration by transition periods", logger=__name__,
             params=("years",))
    return rec


def _monte_carlo(summary: dict, zt: pd.DataFrame | None, acc: ChangeAccount, densities, units, n: int, seed) -> None:
    """Add 95 % intervals of sequestration and equilibrium change to the summary (and zone table)."""
    from sinkplan.sinks.change import change_monte_carlo
    from sinkplan.sinks.uncertainty import DISTRIBUTION, PERCENTILES, interval

    mc = change_monte_carlo(acc, densities, n, seed=seed)
    rec = {"draws": n, "seed": seed, "distribution": DISTRIBUTION, "percentiles": list(PERCENTILES)}
    for name, draws in (("sequestration_mgc", mc.sequestration), ("equilibrium_change_mgc", mc.equilibrium)):
        if draws is None:
            continue
        mean, lo, hi = interval(draws.sum(axis=(1, 2)))
        rec.update({f"{name}_p2_5": float(lo), f"{name}_p97_5": float(hi), f"{name}_draws_mean": float(mean)})
        if zt is not None:
            per_zone = [interval(draws[:, list(u.ids)].sum(axis=(1, 2))) for u in units]  # same draws for every unit
            zt[f"{name}_p2_5"] = [float(lo_z) for _, lo_z, _ in per_zone]
            zt[f"{name}_p97_5"] = [float(hi_z) for _, _, hi_z in per_zone]
    summary["uncertainty"] = rec


def _redline(summary: dict, acc: ChangeAccount, st: Strata) -> None:
    from sinkplan.sinks.change import total_change

    if st.sides == 2:
        summary["redline"] = {"inside": total_change(acc, (slice(None), 1)), "outside": total_change(acc, (slice(None), 0))}


def land_change(
    before: LandCoverInput,
    after: LandCoverInput,
    *,
    years: tuple[int, int] | None = None,
    scheme: str = "clcd",
    map_codes: str | None = None,
    densities: str | os.PathLike | DensityTable | None = None,
    zones: str | os.PathLike | None = None,
    zone_field: str | None = None,
    zone_layer: str | None = None,
    redline: str | os.PathLike | None = None,
    strata: Strata | None = None,
    max_cells: int = DEFAULT_MAX_CELLS,
    executor: BlockExecutor | None = None,
    progress: Progress | None = None,
    on_raster: RasterSink | None = None,
    on_transitions: RasterSink | None = None,
    threads: int | None = None,
    method: TransitionMethod | None = None,
    uncertainty: int = 0,
    seed: int | None = None,
    group_by: str | ZoneHierarchy | None = None,
    valuation: Valuation | None = None,
) -> ChangeResult:
    """Transition matrices, sequestration (transition periods) and equilibrium change per zone.

    Parameters
    ----------
    before, after : path or LandCover
        Land-cover rasters on one grid.
    years : (int, int), optional
        Years of the two maps: needed for the sequestration (transition periods spread the
        change over the interval) and the annual figures; without them only the equilibrium
        stock difference is reported (with a warning).
    scheme, map_codes, densities, zones, zone_field, zone_layer, redline, strata
        As for :func:`sinkplan.sinks.api.carbon_stocks`.
    max_cells, executor, progress, threads
        As for :func:`sinkplan.sinks.api.carbon_stocks`.
    on_raster : callable, optional
        Receives ``(block, window)`` of the change raster (float32, Mg C/ha over the interval:
        sequestration with years, else the equilibrium difference; NaN where either year has no
        land class).
    on_transitions : callable, optional
        Receives ``(block, window)`` of the transition codes (uint16, ``code_before × 100 +
        code_after``, 0 where either year has no land class; codes must be below 100), in the
        same pass.
    method : TransitionMethod, optional
        Conversion timing, transition period D and growth table (default: mid-interval,
        D = 20 years, ``seeds/growth/biomass_growth.csv``).
    uncertainty : int
        Monte Carlo draws over the densities (0: none): 95 % intervals of sequestration and
        equilibrium change, per zone and in total.
    seed : int, optional
        Seed of the draws.
    group_by : str or ZoneHierarchy, optional
        Field of the zone layer holding each zone's group (league): every table gets a row
        per group and one for the whole region (:mod:`sinkplan.sinks.hierarchy`).
    valuation : Valuation, optional
        Carbon price and discounting: adds ``npv`` (the net present value of
        ``sequestration_mgc``, InVEST's formula, :mod:`sinkplan.sinks.valuation`) per zone.

    Returns
    -------
    ChangeResult

    Raises
    ------
    InputError
        ``years`` not increasing, a bad method or draw count.
    GridMismatch, UnknownClassCode, SchemeError
        Rasters off one grid, codes the scheme lacks, classes without density or growth curve.

    Examples
    --------
    >>> res = land_change("lc2015.tif", "lc2020.tif", years=(2015, 2020), zones="banners.gpkg")  # doctest: +SKIP
    >>> res.by_zone[["zone", "sequestration_mgc", "equilibrium_change_mgc"]]  # doctest: +SKIP
    """
    from sinkplan.sinks.densities import as_density_table
    from sinkplan.sinks.change import (
        group_matrix,
        transitions_by_code,
        transitions_by_group,
        zone_change,
    )
    from sinkplan.sinks.uncertainty import check_draws, resolve_seed

    years = _years(years)
    method = method if method is not None else TransitionMethod()
    lcs = open_landcovers([before, after], scheme=scheme, map_codes=map_codes)
    table = as_density_table(densities)
    check_draws(uncertainty, table, option="uncertainty")
    seed = resolve_seed(seed, uncertainty)
    with using_strata(lcs[0].grid, strata=strata, zones=zones, zone_field=zone_field, zone_layer=zone_layer,
                      redline=redline, max_cells=max_cells, progress=progress) as st:
        hierarchy = resolve_hierarchy(group_by, st, zones=zones, zone_field=zone_field, zone_layer=zone_layer)
        acc, dens = _change_pass(lcs, table, st, years, method, max_cells=max_cells, executor=executor, progress=progress,
                                 on_raster=on_raster, on_transitions=on_transitions, threads=threads)
    ids = list(range(1, len(st.names))) if st.has_zones else []
    if not st.has_zones or acc.area_ha[0].sum() > 0:
        ids.append(0)
    names = st.names if st.has_zones else (ALL_ZONES,) * len(st.names)
    units = report_units(names, ids, hierarchy)
    summary = _summary(acc, table, years, method)
    zt = zone_change(acc, units)
    # mapped area = pixels with a land class in both years (what the change covers)
    mapped = acc.area_ha.sum(axis=(1, 2, 3))
    strata_mapped_fractions(st, mapped, what=f"change {lcs[0].path.name} → {lcs[1].path.name}")  # warns
    poly = st.polygon_area_ha
    zt.insert(zt.columns.get_loc("area_ha") + 1, "mapped_fraction", unit_fractions(units, mapped, poly))
    if uncertainty:
        _monte_carlo(summary, zt, acc, dens, units, uncertainty, seed)
    if valuation is not None:
        add_valuation(zt, summary, valuation, [(acc.years[0], acc.years[1])] if acc.years else [])
    tc, tg = transitions_by_code(acc, units), transitions_by_group(acc, units)
    if hierarchy is not None:
        zt = level_columns(zt, units)
    else:
        tc, tg = (t.drop(columns=["zone_level", "zone_group"]) for t in (tc, tg))
    split_summary(zt.to_dict("records"), units, summary, hierarchy)
    _redline(summary, acc, st)
    params = _parameters(lcs, table, st, years, max_cells, method, uncertainty=uncertainty, seed=seed,
                         group_by=None if hierarchy is None else hierarchy.field,
                         valuation=None if valuation is None else valuation.record(None))
    return ChangeResult(zt, tc, tg, group_matrix(acc, list(range(len(st.names)))), _clean(summary), acc, st,
                        (lcs[0], lcs[1]), table, params, method)


def add_valuation(zt: pd.DataFrame, summary: dict, valuation: Valuation, intervals: list[tuple[int, int]],
                  per_interval: list[pd.DataFrame] | None = None) -> None:
    """``npv`` per row of ``zt`` and in the summary: sequestration valued by InVEST's formula.

    For a series (``per_interval``: each interval's table, rows in ``zt``'s order), each interval's
    sequestration is discounted from the first year.

    Raises
    ------
    InputError
        No map years (nothing to discount over).
    """
    if not intervals or "sequestration_mgc" not in zt.columns:
        raise InputError("valuation needs the map years (years): the NPV discounts year by year",
                         params=("valuation", "years"))
    y0 = intervals[0][0]
    if per_interval is None:
        (a, b), = intervals
        zt["npv"] = [valuation.npv(v, b - a) for v in zt["sequestration_mgc"]]
        total = valuation.npv(summary["sequestration_mgc"], b - a)
    else:
        zt["npv"] = np.sum([[valuation.npv_interval(v, a - y0, b - a) for v in t["sequestration_mgc"]]
                            for t, (a, b) in zip(per_interval, intervals)], axis=0)
        total = sum(valuation.npv_interval(iv["sequestration_mgc"], a - y0, b - a)
                    for iv, (a, b) in zip(summary["intervals"], intervals))
    summary["npv"] = total
    summary["valuation"] = valuation.record(intervals[-1][1] - y0 if per_interval is not None else intervals[0][1] - y0)


def _per_ha(rec: dict | None) -> tuple[float | None, float | None]:
    """(default figure per ha: sequestration, else equilibrium; equilibrium per ha) of a change record."""
    if rec is None:
        return None, None
    eq = rec["equilibrium_change_mgc_per_ha"]
    return rec.get("sequestration_mgc_per_ha", eq), eq


def _diff(a: float | None, b: float | None) -> float | None:
    return None if a is None or b is None else a - b


def _restoration_table(acc: ChangeAccount, rz: RestorationZones) -> pd.DataFrame:
    """Per project: change per ha inside and in the ring, by the run's method (sequestration with
    years) and at equilibrium, and their differences."""
    from sinkplan.sinks.change import total_change

    pieces, projects = rz.pieces, rz.projects
    n = len(projects)
    attrs = [c for c in projects.columns if c not in ("project", projects.geometry.name)]
    has_seq = acc.sequestration_mgc is not None
    figure = "sequestration_mgc" if has_seq else "equilibrium_change_mgc"
    rows = []
    for i, name in enumerate(projects["project"]):
        inside = [k + 1 for k in np.flatnonzero(pieces.member[:, i])]  # zone id = piece index + 1
        ring = [k + 1 for k in np.flatnonzero(pieces.member[:, n + i])]
        a = total_change(acc, (inside,)) if inside else None
        b = total_change(acc, (ring,)) if ring else None
        (a_ha, a_eq), (b_ha, b_eq) = _per_ha(a), _per_ha(b)
        row = {"project": name, "area_ha": a["area_ha"] if a else 0.0, figure: a[figure] if a else 0.0,
               "change_mgc_per_ha": a_ha, "ring_area_ha": b["area_ha"] if b else 0.0,
               f"ring_{figure}": b[figure] if b else 0.0, "ring_change_mgc_per_ha": b_ha,
               "difference_mgc_per_ha": _diff(a_ha, b_ha)}
        if acc.span_years and row["difference_mgc_per_ha"] is not None:
            row["difference_mgc_per_ha_per_yr"] = row["difference_mgc_per_ha"] / acc.span_years
        if has_seq:
            row.update(equilibrium_change_mgc=a["equilibrium_change_mgc"] if a else 0.0,
                       equilibrium_change_mgc_per_ha=a_eq, ring_equilibrium_change_mgc_per_ha=b_eq,
                       equilibrium_difference_mgc_per_ha=_diff(a_eq, b_eq))
        rows.append(row)
    table = pd.DataFrame(rows)
    # the project's own attributes (status, start year, type …) right after its name; a field
    # named like a result column is kept as attr_<name> so it cannot replace a figure
    for pos, c in enumerate(attrs, start=1):
        name = c if c not in table.columns else f"attr_{c}"
        values = projects[c].to_numpy()
        table.insert(pos, name, [None if isinstance(v, float) and np.isnan(v) else v for v in values])
    return table


def _warn_empty_projects(effect, *, what: str) -> None:
    """Name the projects the rasters map no pixel of, and those whose ring holds no mapped land:
    their rows are empty (no effect, NaN difference), which a table alone does not explain."""
    from sinkplan.layers.warnings import PartlyMappedZoneWarning

    unmapped = [str(p) for p, a in zip(effect["project"], effect["area_ha"]) if not a > 0]
    no_ring = [str(p) for p, a, r in zip(effect["project"], effect["area_ha"], effect["ring_area_ha"]) if a > 0 and not r > 0]
    if unmapped:
        warn(PartlyMappedZoneWarning, f"{what}: the land-cover rasters map no pixel of {len(unmapped)} project(s) "
             f"({', '.join(unmapped)}): no effect can be given for them; check that they lie on the maps (CRS, extent)",
             logger=__name__)
    if no_ring:
        warn(PartlyMappedZoneWarning, f"{what}: the control ring of {len(no_ring)} project(s) ({', '.join(no_ring)}) holds "
             "no mapped land outside the projects: their difference from the control is not given; widen the ring "
             "(control_ring_km) or give maps that reach around them", logger=__name__, params=("control_ring_km",))


def restoration_effect(
    before: LandCoverInput,
    after: LandCoverInput,
    *,
    projects: str | os.PathLike | RestorationZones,
    control_ring_km: float | None = None,
    project_field: str | None = None,
    project_layer: str | None = None,
    years: tuple[int, int] | None = None,
    scheme: str = "clcd",
    map_codes: str | None = None,
    densities: str | os.PathLike | DensityTable | None = None,
    redline: str | os.PathLike | None = None,
    strata: Strata | None = None,
    max_cells: int = DEFAULT_MAX_CELLS,
    executor: BlockExecutor | None = None,
    progress: Progress | None = None,
    on_raster: RasterSink | None = None,
    on_transitions: RasterSink | None = None,
    threads: int | None = None,
    method: TransitionMethod | None = None,
) -> RestorationResult:
    """Carbon change of each restoration project against a ring of surrounding land.

    Parameters
    ----------
    before, after : path or LandCover
        Land-cover rasters on one grid.
    projects : path or RestorationZones
        Project polygons, or projects and rings from :func:`sinkplan.sinks.restoration.restoration_zones`.
    control_ring_km : float
        Ring width on the ground, km (required with a path); other projects are never control land.
    project_field, project_layer : str, optional
        Field naming the projects (features of one name are dissolved) and the layer.
    years, scheme, map_codes, densities, redline, max_cells, executor, progress, on_raster, on_transitions, threads, method
        As for :func:`land_change`: with years, each project's change per hectare is its
        sequestration by transition periods (``change_mgc_per_ha``), the equilibrium
        difference is beside it (``equilibrium_change_mgc_per_ha``).
    strata : Strata, optional
        Strata prepared from ``projects.rasterizer`` (with ``projects`` a RestorationZones).

    Returns
    -------
    RestorationResult

    Raises
    ------
    InputError
        No ring width, a ring width ≤ 0, ``years`` not increasing.

    Examples
    --------
    >>> res = restoration_effect("lc2015.tif", "lc2020.tif", projects="projects.gpkg",  # doctest: +SKIP
    ...                          project_field="project", control_ring_km=2, years=(2015, 2020))
    >>> res.effect[["project", "change_mgc_per_ha", "ring_change_mgc_per_ha", "difference_mgc_per_ha"]]  # doctest: +SKIP
    """
    from sinkplan.sinks.densities import as_density_table
    from sinkplan.sinks.change import (
        change_account,
        group_matrix,
        transitions_by_code,
        transitions_by_group,
    )
    from sinkplan.sinks.restoration import restoration_zones

    years = _years(years)
    method = method if method is not None else TransitionMethod()
    lcs = open_landcovers([before, after], scheme=scheme, map_codes=map_codes)
    table = as_density_table(densities)
    if isinstance(projects, RestorationZones):
        rz = projects
    else:
        if control_ring_km is None:
            raise InputError("restoration effect: give control_ring_km, the width of the control ring in km")
        rz = restoration_zones(projects, lcs[0].grid, ring_km=control_ring_km, field=project_field, layer=project_layer)
    source = None if strata is not None or isinstance(projects, RestorationZones) else str(projects)
    with using_strata(lcs[0].grid, strata=strata, zones=source,
                      zone_field=project_field, zone_layer=project_layer, redline=redline,
                      zone_rasterizer=None if strata is not None else rz.rasterizer, max_cells=max_cells,
                      progress=progress) as st:
        acc, densities_ = _change_pass(lcs, table, st, years, method, max_cells=max_cells, executor=executor,
                                       progress=progress, on_raster=on_raster, on_transitions=on_transitions, threads=threads)
    summary = _summary(acc, table, years, method)
    effect = _restoration_table(acc, rz)
    _warn_empty_projects(effect, what=f"restoration effect {lcs[0].path.name} → {lcs[1].path.name}")
    summary["control_ring_km"] = rz.ring_m / 1000.0 if control_ring_km is None else float(control_ring_km)
    summary["restoration"] = effect.to_dict("records")
    whole = change_account(acc.area_ha.sum(axis=0, keepdims=True), densities_.per_class(), lcs[0].scheme, acc.codes,
                           years=years, method=method)
    whole_unit = [ReportUnit(ALL_ZONES, (0,), "zone", None)]
    tc = transitions_by_code(whole, whole_unit).drop(columns=["zone_level", "zone_group"])
    tg = transitions_by_group(whole, whole_unit).drop(columns=["zone_level", "zone_group"])
    _redline(summary, acc, st)
    params = _parameters(lcs, table, st, years, max_cells, method, control_ring_km=summary["control_ring_km"])
    params["zones"] = params["zones"] or (None if isinstance(projects, RestorationZones) else str(projects))
    return RestorationResult(effect, tc, tg, group_matrix(acc, list(range(len(st.names)))), _clean(summary), acc, rz, st,
                             (lcs[0], lcs[1]), table, params, method)

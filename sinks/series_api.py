"""Change over an annual series of land-cover maps (``sinkplan change`` with more than two years).

One streamed pass over all years (:mod:`sinkplan.sinks.series`) gives, per interval and for the
whole period, the area and the sequestration of every (zone × redline side × class before ×
class after); the tables are the same arithmetic as for two maps
(:mod:`sinkplan.sinks.change`), with the sequestration taken from the pixels' tracked ages
instead of the two-map rule. ``change_by_zone`` covers the whole period (first map → last
map), ``change_by_interval`` each pair of consecutive maps.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sinkplan.layers.errors import InputError
from sinkplan.layers.grid import DEFAULT_MAX_CELLS
from sinkplan.layers.outputs import RasterSink
from sinkplan.layers.parallel import BlockExecutor, Progress
from sinkplan.sinks.change import ChangeAccount
from sinkplan.sinks.densities import DensityTable
from sinkplan.sinks.hierarchy import ZoneHierarchy
from sinkplan.sinks.inputs import LandCoverInput, open_landcovers
from sinkplan.sinks.sequestration import TransitionMethod
from sinkplan.sinks.strata import ALL_ZONES, Strata, using_strata
from sinkplan.sinks.valuation import Valuation

__all__ = ["ChangeSeriesResult", "land_change_series"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ChangeSeriesResult:
    """Change over a series of maps (the tables ``sinkplan change Y1=A Y2=B Y3=C ...`` writes).

    Attributes
    ----------
    by_zone : DataFrame
        ``change_by_zone.csv``: the whole period per zone (sequestration summed over the intervals,
        equilibrium change first map → last map).
    by_interval : DataFrame
        ``change_by_interval.csv``: the same per zone and interval (``from_year``, ``to_year``).
    transitions_by_code, transitions_by_group, transition_matrix : DataFrame
        First map → last map.
    summary : dict
    account : ChangeAccount
        The whole period.
    intervals : list of ChangeAccount
        One per pair of consecutive maps.
    strata : Strata
    landcovers : tuple of LandCover
    densities : DensityTable
    parameters : dict
        What the result was computed with (recorded in the manifest).
    method : TransitionMethod
    series_spec : SeriesSpec
        The pass's block specification (the writer reruns it per block for the raster).
    """

    by_zone: pd.DataFrame
    by_interval: pd.DataFrame
    transitions_by_code: pd.DataFrame
    transitions_by_group: pd.DataFrame
    transition_matrix: pd.DataFrame
    summary: dict
    account: ChangeAccount
    intervals: list
    strata: Strata
    landcovers: tuple = ()
    densities: DensityTable | None = None
    parameters: dict = field(default_factory=dict)
    method: TransitionMethod | None = None
    series_spec: object | None = None

    @property
    def inputs(self) -> list[str]:
        """Input files (recorded with their SHA-256 in the manifest)."""
        p = self.parameters
        return [x for x in (*p.get("maps", {}).values(), p.get("zones"), p.get("redline"), p.get("densities_file")) if x]


def land_change_series(
    years: Mapping[int, LandCoverInput],
    *,
    scheme: str = "clcd",
    map_codes: str | None = None,
    densities: str | os.PathLike | DensityTable | None = None,
    zones: str | os.PathLike | None = None,
    zone_field: str | None = None,
    zone_layer: str | None = None,
    redline: str | os.PathLike | None = None,
    strata: Strata | None = None,
    method: TransitionMethod | None = None,
    group_by: str | ZoneHierarchy | None = None,
    max_cells: int = DEFAULT_MAX_CELLS,
    executor: BlockExecutor | None = None,
    progress: Progress | None = None,
    on_raster: RasterSink | None = None,
    valuation: Valuation | None = None,
) -> ChangeSeriesResult:
    """Sequestration per interval and in total over a series of maps, each pixel's age tracked.

    Parameters
    ----------
    years : mapping of year to path or LandCover
        Two or more maps on one grid, e.g. ``{2000: "lc2000.tif", 2005: ..., 2010: ...}``.
    scheme, map_codes, densities, zones, zone_field, zone_layer, redline, strata, group_by
        As for :func:`sinkplan.sinks.change_api.land_change`.
    method : TransitionMethod, optional
        Conversion timing, D and growth curves (default :class:`TransitionMethod` ()).
    max_cells, executor, progress
        As for :func:`sinkplan.sinks.api.carbon_stocks`.
    on_raster : callable, optional
        ``(block, window)`` of the whole period's sequestration per hectare (float32, Mg C/ha).
    valuation : Valuation, optional
        Adds ``npv`` per zone: each interval's sequestration discounted from the first year.

    Returns
    -------
    ChangeSeriesResult

    Raises
    ------
    InputError
        Fewer than two years, years not increasing.
    GridMismatch, UnknownClassCode, SchemeError
        Maps off one grid, codes the scheme lacks, classes without density or growth curve.

    Examples
    --------
    >>> res = land_change_series({2000: "a.tif", 2010: "b.tif", 2020: "c.tif"}, zones="banners.gpkg")  # doctest: +SKIP
    >>> res.by_interval[["zone", "from_year", "to_year", "sequestration_mgc"]]  # doctest: +SKIP
    """
    from sinkplan.layers.landcover import check_codes
    from sinkplan.sinks.densities import as_density_table
    from sinkplan.sinks.blocks import ClassSlots
    from sinkplan.sinks.change import change_account, group_matrix, transitions_by_code, transitions_by_group, zone_change
    from sinkplan.sinks.change_api import _clean, _method_record
    from sinkplan.sinks.hierarchy import level_columns, report_units, resolve_hierarchy, split_summary
    from sinkplan.sinks.series import SeriesSpec, series_pass
    from sinkplan.sinks.stocks import common_quantum, quantize

    ys = [int(y) for y in years]
    if len(ys) < 2:
        raise InputError("a change needs at least two maps (YEAR=PATH ...)")
    if any(b <= a for a, b in zip(ys, ys[1:])):
        raise InputError(f"the years must increase: {ys}")
    method = method if method is not None else TransitionMethod()
    lcs = open_landcovers(list(years.values()), scheme=scheme, map_codes=map_codes)
    table = as_density_table(densities)
    dens = table.resolve(lcs[0].scheme)
    slots = ClassSlots.build(lcs[0].scheme, dtype=lcs[0].dtype, nodata=(lcs[0].nodata,))
    groups = dens.groups
    curves = tuple(method.growth.curves.get(g) for g in groups)
    with using_strata(lcs[0].grid, strata=strata, zones=zones, zone_field=zone_field, zone_layer=zone_layer,
                      redline=redline, max_cells=max_cells, progress=progress) as st:
        hierarchy = resolve_hierarchy(group_by, st, zones=zones, zone_field=zone_field, zone_layer=zone_layer)
        spec = SeriesSpec(lcs[0].grid, tuple(lc.pass_input for lc in lcs), tuple(ys), slots, dens.per_class(), curves,
                          method.timing_fraction, method.transition_years, st.source,
                          st.nzones, st.sides, raster=on_raster is not None, groups=groups)
        res = series_pass(spec, max_cells=max_cells, executor=executor, progress=progress, on_raster=on_raster)
    for lc, unknown in zip(lcs, res.unknown):
        check_codes(unknown, lc.scheme, lc.path)
    shape = (st.nzones + 1, st.sides)
    n = slots.n

    def area_ha(a):  # m² → ha, quantized so zones add up exactly
        a = a.reshape(*shape, n, n) / 1e4
        return quantize(a, common_quantum(2.0 * float(np.abs(a).sum())))

    d = dens.per_class()
    total = change_account(area_ha(res.total_area_m2), d, lcs[0].scheme, slots.codes, years=(ys[0], ys[-1]), method=method,
                           sequestration_mgc=res.total_seq_mgc.reshape(*shape, n, n, 4))
    intervals = [change_account(area_ha(res.area_m2[k]), d, lcs[0].scheme, slots.codes, years=(ys[k], ys[k + 1]),
                                method=method, sequestration_mgc=res.seq_mgc[k].reshape(*shape, n, n, 4))
                 for k in range(len(ys) - 1)]
    ids = list(range(1, len(st.names))) if st.has_zones else []
    if not st.has_zones or total.area_ha[0].sum() > 0:
        ids.append(0)
    names = st.names if st.has_zones else (ALL_ZONES,) * len(st.names)
    units = report_units(names, ids, hierarchy)
    by_zone = zone_change(total, units)
    parts = []
    for acc in intervals:
        t = zone_change(acc, units)
        t.insert(1, "from_year", acc.years[0])
        t.insert(2, "to_year", acc.years[1])
        parts.append(t)
    by_interval = pd.concat(parts, ignore_index=True)
    tc, tg = transitions_by_code(total, units), transitions_by_group(total, units)
    if hierarchy is not None:
        by_zone = level_columns(by_zone, units)
        by_interval = level_columns(by_interval, [u for _ in intervals for u in units])
    else:
        tc, tg = (t.drop(columns=["zone_level", "zone_group"]) for t in (tc, tg))
    summary = {"years": ys, "method": _method_record(total, method),
               "densities": {"table": table.origin, "soil_depth_cm": table.soil_depth_cm},
               "units": {"area": "ha", "stock": "Mg C", "annual": "Mg C/yr; Mt CO2e/yr (× 44/12)"},
               "series": {"maps": len(ys), "pixel_ages": "tracked per pixel through every map (sinkplan.sinks.series)",
                          "pixels_counted": "pixels with a land class in every year"}}
    from sinkplan.sinks.change import total_change

    summary.update(total_change(total))
    summary["intervals"] = [{"from_year": a.years[0], "to_year": a.years[1], **total_change(a)} for a in intervals]
    if valuation is not None:
        from sinkplan.sinks.change_api import add_valuation

        add_valuation(by_zone, summary, valuation, [a.years for a in intervals], per_interval=parts)
    split_summary(by_zone.to_dict("records"), units, summary, hierarchy)
    params = {"maps": {str(y): str(lc.path) for y, lc in zip(ys, lcs)}, "years": ys, "scheme": lcs[0].scheme.name,
              "densities": table.origin, "densities_file": table.origin if os.path.isfile(table.origin) else None,
              "soil_depth_cm": table.soil_depth_cm, "zones": st.zone_source, "zone_field": st.zone_field,
              "redline": st.redline_source, "conversion_timing": method.timing, "transition_years": method.transition_years,
              "growth": method.growth.origin, "group_by": None if hierarchy is None else hierarchy.field,
              "valuation": None if valuation is None else valuation.record(None), "max_cells": max_cells}
    return ChangeSeriesResult(by_zone, by_interval, tc, tg, group_matrix(total, list(range(len(st.names)))),
                              _clean(summary), total, intervals, st, tuple(lcs), table, params, method, spec)


"""``sinkplan change BEFORE AFTER``: transitions, gross and net carbon change, restoration effect.

Rasters written: ``carbon_change.tif`` (float32, Mg C/ha, density after − density before,
NaN where either year is nodata) and, when every code is below 100, ``transitions.tif``
(uint16, code_before × 100 + code_after, nodata 0).

Parse → validate → run → write: this module parses the options and checks the inputs before the
result folder is claimed; :func:`sinkplan.sinks.change_api.land_change` and
:func:`sinkplan.sinks.change_api.restoration_effect` compute, :func:`sinkplan.sinks.folders.write_change`
and :func:`sinkplan.sinks.folders.write_restoration` write every file of the folder.
"""

from __future__ import annotations

import argparse
import logging

from sinkplan.layers.errors import InputError
from sinkplan.context import RunContext
from sinkplan.layers.resultfolder import ResultFolder
from sinkplan.sinks_inputs import (
    add_common_options,
    cache_dir,
    executor,
    hierarchy_from,
    open_landcovers,
    parse_years,
    pass_threads,
    prepare_strata,
)

logger = logging.getLogger(__name__)


def register(sub, common) -> None:
    p = sub.add_parser(
        "change", parents=[common], help="land-cover transitions and carbon change between years; restoration effect",
        description="Transition matrices (ha) by group and code, gross carbon gains and losses, net change and mean "
        "annual sequestration (with YEAR=PATH), per zone. With --control-ring-km, --zones are restoration "
        "projects compared with a ring of surrounding land.",
    )
    p.add_argument("maps", nargs="+", metavar="[YEAR=]MAP",
                   help="two or more land-cover rasters on one grid, earliest first, e.g. 2015=lc2015.tif 2020=lc2020.tif; "
                   "with more than two each pixel's years since conversion are tracked through the series")
    p.add_argument("--densities", default=None, metavar="TABLE", help="density table (default inner_mongolia_30cm)")
    p.add_argument("--control-ring-km", type=float, default=None, metavar="K",
                   help="restoration mode: compare each zone (project) with a ring of K km around it, other projects excluded")
    p.add_argument("--no-raster", action="store_true", help="do not write the change rasters")
    add_method_options(p)
    add_density_options(p)
    v = p.add_argument_group("valuation (the InVEST carbon model's formula, applied to sequestration_mgc)")
    v.add_argument("--carbon-price", type=float, default=None, metavar="P",
                   help="price of a tonne of CO2e (a Mg C is 44/12 t CO2e); adds the net present value per zone")
    v.add_argument("--currency", default="CNY", help="currency of --carbon-price (default CNY)")
    v.add_argument("--discount-rate", type=float, default=0.0, metavar="PCT",
                   help="annual discount rate in percent (5 means 5 %%/yr), as InVEST")
    v.add_argument("--price-change", type=float, default=0.0, metavar="PCT",
                   help="annual rate of change of the carbon value in percent, as InVEST's rate_change (it discounts: a "
                   "positive value lowers the NPV; give a negative one for a rising price)")
    p.add_argument("--uncertainty", type=int, default=0, metavar="N",
                   help="Monte Carlo draws over the densities (0: none; at least 40): 95 %% intervals of sequestration "
                   "and equilibrium change")
    p.add_argument("--seed", type=int, default=None, help="random seed of the Monte Carlo draws (default: drawn, logged)")
    add_common_options(p, zones_help="zone polygons, or restoration projects with --control-ring-km")
    p.set_defaults(func=run)


def add_method_options(p: argparse.ArgumentParser) -> None:
    """--conversion-timing, --transition-years, --growth: the transition-period rules of sequestration."""
    from sinkplan.sinks.sequestration import DEFAULT_TRANSITION_YEARS, TIMINGS

    g = p.add_argument_group("sequestration by transition periods (IPCC 2006 Tier 1; the default figure)")
    g.add_argument("--conversion-timing", choices=TIMINGS, default="mid",
                   help="when a change seen between two maps happened: start, mid (default) or end of the interval")
    g.add_argument("--transition-years", type=float, default=DEFAULT_TRANSITION_YEARS, metavar="D",
                   help="years over which soil carbon (and dead-matter gains) move to the new class's stock "
                   "(default 20, IPCC Tier 1); biomass and dead-matter losses are immediate")
    g.add_argument("--growth", default=None, metavar="TABLE",
                   help="biomass growth after conversion per group (CSV: group,curve,rate_mgc_per_ha_per_yr,k_per_yr,p,"
                   "source; or a shipped name: biomass_growth (default, linear), biomass_growth_chapman_richards)")


def add_density_options(p: argparse.ArgumentParser) -> None:
    """--ipcc-fallback and the management classes: IPCC Tier 1 defaults for groups a density table lacks."""
    from sinkplan.sinks.ipcc import CROPLAND_MANAGEMENT, GRASSLAND_MANAGEMENT

    g = p.add_argument_group("IPCC 2006 Tier 1 defaults for groups the density table lacks")
    g.add_argument("--ipcc-fallback", default=None, metavar="CLIMATE,SOIL",
                   help="fill missing groups from IPCC Tier 1 (climate zone, soil type), e.g. cold_temperate_dry,sandy: "
                   "soil SOC_REF × F_LU × F_MG × F_I (0-30 cm), biomass and dead matter defaults")
    g.add_argument("--grassland-management", choices=GRASSLAND_MANAGEMENT, default="nominal",
                   help="IPCC grassland management class of the fallback (F_MG, F_I; default nominal)")
    g.add_argument("--cropland-management", choices=CROPLAND_MANAGEMENT, default="nominal",
                   help="IPCC cropland management of the fallback (default nominal: long-term cultivated, full tillage)")


def density_table_from(args: argparse.Namespace, scheme):
    """The density table of ``--densities``, filled from IPCC Tier 1 with ``--ipcc-fallback`` (checked before any output)."""
    from sinkplan.sinks.densities import load_densities

    table = load_densities(args.densities)
    added: list = []
    if getattr(args, "ipcc_fallback", None):
        from sinkplan.sinks.ipcc import Tier1Site, with_tier1_fallback

        site = Tier1Site.parse(args.ipcc_fallback, grassland=args.grassland_management, cropland=args.cropland_management)
        table, added = with_tier1_fallback(table, scheme, site)
    table.resolve(scheme)
    return table, added


def valuation_from(args: argparse.Namespace, years):
    """The :class:`~sinkplan.sinks.valuation.Valuation` of ``--carbon-price`` (None without it)."""
    from sinkplan.sinks.valuation import Valuation

    if args.carbon_price is None:
        return None
    if years is None:
        raise InputError("--carbon-price needs the map years (YEAR=PATH): the NPV discounts year by year")
    return Valuation(args.carbon_price, args.currency, args.discount_rate, args.price_change)


def method_from(args: argparse.Namespace):
    """The :class:`~sinkplan.sinks.sequestration.TransitionMethod` of the options (checked before any output)."""
    from sinkplan.sinks.sequestration import TransitionMethod, load_growth

    return TransitionMethod(args.conversion_timing, args.transition_years, load_growth(args.growth))


def run(args: argparse.Namespace, ctx: RunContext) -> int:
    from sinkplan.sinks.change_api import land_change, restoration_effect
    from sinkplan.sinks.folders import change_rasters, streamed_rasters, write_change, write_restoration
    from sinkplan.sinks.restoration import restoration_zones

    specs = parse_years(args.maps)
    if len(specs) < 2:
        raise InputError("change needs at least two land-cover maps: BEFORE AFTER (or a series YEAR=MAP ...)")
    if len(specs) > 2:
        return _run_series(args, ctx, specs)
    years = None if specs[0][0] is None else (specs[0][0], specs[1][0])
    if years is not None and years[1] <= years[0]:
        raise InputError(f"the after year {years[1]} must be later than the before year {years[0]}")
    lcs = open_landcovers([p for _, p in specs], args)
    grid = lcs[0].grid
    table, tier1 = density_table_from(args, lcs[0].scheme)
    method = method_from(args)
    valuation = valuation_from(args, years)
    from sinkplan.sinks.uncertainty import check_draws, resolve_seed

    check_draws(args.uncertainty, table, warn=False)
    seed = resolve_seed(args.seed, args.uncertainty)
    restoration = args.control_ring_km is not None
    if restoration and args.zones is None:
        raise InputError("--control-ring-km needs --zones with the restoration project polygons")
    if restoration and args.group_by:
        raise InputError("--group-by with --control-ring-km: restoration projects are compared with their rings, "
                         "not grouped; run without --control-ring-km for group totals")
    if restoration and valuation is not None:
        raise InputError("--carbon-price with --control-ring-km: the NPV is given per zone; run without --control-ring-km")
    if restoration and args.uncertainty:
        raise InputError("--uncertainty with --control-ring-km: Monte Carlo intervals are computed for zones, not for "
                         "project-versus-ring differences; run without --control-ring-km for the intervals")
    with cache_dir() as folder:
        rz = None
        if restoration:
            rz = restoration_zones(args.zones, grid, ring_km=args.control_ring_km, field=args.zone_field, layer=args.zone_layer)
        with ctx.progress("rasterizing zones") as progress:
            strata = prepare_strata(grid, zones=args.zones, zone_field=args.zone_field, redline=args.redline,
                                    zone_layer=args.zone_layer, folder=folder, zone_rasterizer=None if rz is None else rz.rasterizer,
                                    max_cells=ctx.max_cells, progress=progress)
        hierarchy = None if restoration else hierarchy_from(args, strata)
        # claimed before the run: a second run with the same --out fails at once
        with ResultFolder(args.out, lang=ctx.lang, kind="restoration" if restoration else "change", command="change", parameters={},
                          inputs=[lcs[0].path, lcs[1].path, args.zones, args.redline, args.densities],
                          overwrite=ctx.overwrite) as rf:
            options = {"years": years, "densities": table, "strata": strata, "max_cells": ctx.max_cells,
                       "threads": pass_threads(), "method": method}
            # carbon_change.tif and transitions.tif are written while the pass reads the maps
            rasters = [] if args.no_raster else change_rasters(lcs, table, years, method)
            with executor(ctx) as ex, ctx.progress("change") as progress, \
                    streamed_rasters(rf, rasters, grid) as sinks:
                options.update(zip(("on_raster", "on_transitions"), sinks))
                if restoration:
                    res = restoration_effect(lcs[0], lcs[1], projects=rz, control_ring_km=args.control_ring_km,
                                             executor=ex, progress=progress, **options)
                else:
                    res = land_change(lcs[0], lcs[1], executor=ex, progress=progress, uncertainty=args.uncertainty,
                                      seed=seed, group_by=hierarchy, valuation=valuation, **options)
            if tier1:
                res.summary["densities"]["tier1_fallback"] = tier1
            rf.extra_manifest["execution"] = {"workers": ctx.workers, "scheduler": ctx.scheduler}
            write = write_restoration if restoration else write_change
            with ctx.progress("writing") as progress:  # tables, change rasters, map files
                write(res, rf, rasters=not args.no_raster, max_cells=ctx.max_cells, progress=progress)
    return 0


def _run_series(args: argparse.Namespace, ctx: RunContext, specs) -> int:
    """More than two maps: each pixel's age tracked through the series (:mod:`sinkplan.sinks.series`)."""
    from sinkplan.sinks.folders import write_change_series
    from sinkplan.sinks.series_api import land_change_series

    if any(y is None for y, _ in specs):
        raise InputError("a series of maps needs a year for each: YEAR=PATH ...")
    ys = [y for y, _ in specs]
    if any(b <= a for a, b in zip(ys, ys[1:])):
        raise InputError(f"the years of a series must increase: {ys}")
    if args.control_ring_km is not None or args.uncertainty:
        raise InputError("--control-ring-km and --uncertainty take two maps; a series gives sequestration per interval")
    lcs = open_landcovers([p for _, p in specs], args)
    grid = lcs[0].grid
    table, tier1 = density_table_from(args, lcs[0].scheme)
    method = method_from(args)
    valuation = valuation_from(args, (ys[0], ys[-1]))
    with cache_dir() as folder:
        with ctx.progress("rasterizing zones") as progress:
            strata = prepare_strata(grid, zones=args.zones, zone_field=args.zone_field, redline=args.redline,
                                    zone_layer=args.zone_layer, folder=folder, max_cells=ctx.max_cells, progress=progress)
        hierarchy = hierarchy_from(args, strata)
        # claimed before the run: a second run with the same --out fails at once
        with ResultFolder(args.out, kind="change", command="change", parameters={}, inputs=[],
                          overwrite=ctx.overwrite) as rf:
            with executor(ctx) as ex, ctx.progress("annual series") as progress:
                res = land_change_series(dict(zip(ys, lcs)), densities=table, strata=strata, method=method,
                                         group_by=hierarchy, valuation=valuation, max_cells=ctx.max_cells, executor=ex,
                                         progress=progress)
            if tier1:
                res.summary["densities"]["tier1_fallback"] = tier1
            rf.extra_manifest["execution"] = {"workers": ctx.workers, "scheduler": ctx.scheduler}
            with ctx.progress("writing") as progress:
                write_change_series(res, rf, rasters=not args.no_raster, max_cells=ctx.max_cells, progress=progress
)
    return 0

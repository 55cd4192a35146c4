"""``sinkplan change BEFORE AFTER``: transitions, gross and net carbon change, restoration effect.

Rasters written: ``carbon_change.tif`` (float32, Mg C/ha, density after − density before,
NaN where either year is nodata) and, when every code is below 100, ``transitions.tif``
(uint16, code_before × 100 + code_after, nodata 0).

The arithmetic is :func:`sinkplan.sinks.change_api.land_change` and
:func:`sinkplan.sinks.change_api.restoration_effect`; this module parses the options, checks the
inputs before the result folder is opened and writes the tables, rasters and map files.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np

from sinkplan.layers.errors import InputError
from sinkplan.layers.outputs import BlockWriter
from sinkplan.context import RunContext
from sinkplan.layers import resultspec as rs
from sinkplan.results import ResultFolder
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
from sinkplan.sinks_mapfiles import change_map_files, restoration_map_files

logger = logging.getLogger(__name__)


def register(sub, common) -> None:
    p = sub.add_parser(
        "change", parents=[common], help="land-cover transitions and carbon change between two years; restoration effect",
        description="Transition matrices (ha) by group and code, gross carbon gains and losses, net change and mean "
        "annual sequestration (with YEAR=PATH), per zone. With --control-ring-km, --zones are restoration "
        "projects compared with a ring of surrounding land.",
    )
    p.add_argument("before", metavar="[YEAR=]BEFORE", help="earlier land-cover raster, e.g. 2015=lc2015.tif")
    p.add_argument("after", metavar="[YEAR=]AFTER", help="later land-cover raster on the same grid")
    p.add_argument("--densities", default=None, metavar="TABLE", help="density table (default inner_mongolia_30cm)")
    p.add_argument("--control-ring-km", type=float, default=None, metavar="K",
                   help="restoration mode: compare each zone (project) with a ring of K km around it, other projects excluded")
    p.add_argument("--no-raster", action="store_true", help="do not write the change rasters")
    add_method_options(p)
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


def method_from(args: argparse.Namespace):
    """The :class:`~sinkplan.sinks.sequestration.TransitionMethod` of the options (checked before any output)."""
    from sinkplan.sinks.sequestration import TransitionMethod, load_growth

    return TransitionMethod(args.conversion_timing, args.transition_years, load_growth(args.growth))


def run(args: argparse.Namespace, ctx: RunContext) -> int:
    from sinkplan.sinks.blocks import ClassSlots
    from sinkplan.sinks.change_api import land_change, restoration_effect
    from sinkplan.sinks.densities import load_densities
    from sinkplan.sinks.restoration import restoration_zones

    specs = parse_years([args.before, args.after])
    years = None if specs[0][0] is None else (specs[0][0], specs[1][0])
    if years is not None and years[1] <= years[0]:
        raise InputError(f"the after year {years[1]} must be later than the before year {years[0]}")
    lcs = open_landcovers([p for _, p in specs], args)
    grid = lcs[0].grid
    table = load_densities(args.densities)
    table.resolve(lcs[0].scheme)
    method = method_from(args)
    from sinkplan.sinks.uncertainty import check_draws, resolve_seed

    check_draws(args.uncertainty, table, warn=False)
    seed = resolve_seed(args.seed, args.uncertainty)
    slots = tuple(ClassSlots.build(lc.scheme, dtype=lc.dtype, nodata=(lc.nodata,)) for lc in lcs)
    restoration = args.control_ring_km is not None
    if restoration and args.zones is None:
        raise InputError("--control-ring-km needs --zones with the restoration project polygons")
    if restoration and args.group_by:
        raise InputError("--group-by with --control-ring-km: restoration projects are compared with their rings, "
                         "not grouped; run without --control-ring-km for group totals")
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
        params = {"before": str(lcs[0].path), "after": str(lcs[1].path), "years": years, "scheme": lcs[0].scheme.name,
                  "densities": table.origin, "soil_depth_cm": table.soil_depth_cm, "zones": args.zones,
                  "zone_field": args.zone_field, "redline": args.redline, "group_by": args.group_by,
                  "control_ring_km": args.control_ring_km,
                  "conversion_timing": method.timing, "transition_years": method.transition_years,
                  "growth": method.growth.origin, "uncertainty": args.uncertainty, "seed": seed,
                  "workers": ctx.workers, "scheduler": ctx.scheduler}
        with ResultFolder(args.out, kind="restoration" if restoration else "change", command="change", parameters=params,
                          inputs=[lcs[0].path, lcs[1].path, args.zones, args.redline], overwrite=ctx.overwrite) as rf:
            writer = None
            if not args.no_raster:
                quantity = ("sequestration over the interval by transition periods (IPCC 2006 Tier 1), "
                            f"conversion {method.timing} of interval, D = {method.transition_years:g} yr"
                            if years is not None else "carbon density after minus before (equilibrium stock difference)")
                writer = BlockWriter(rf.path(rs.CARBON_CHANGE), grid, "float32", nodata=float("nan"), resampling="average",
                                     tags={"units": "Mg C/ha", "quantity": quantity,
                                           "years": str(years), "densities": table.origin, "growth": method.growth.origin},
                                     band_description="carbon change (Mg C/ha)")
            options = {"years": years, "densities": table, "strata": strata, "max_cells": ctx.max_cells,
                       "on_raster": writer.write if writer else None, "threads": pass_threads(), "method": method}
            try:
                with executor(ctx) as ex, ctx.progress("change") as progress:
                    if restoration:
                        res = restoration_effect(lcs[0], lcs[1], projects=rz, control_ring_km=args.control_ring_km,
                                                 executor=ex, progress=progress, **options)
                    else:
                        res = land_change(lcs[0], lcs[1], executor=ex, progress=progress, uncertainty=args.uncertainty,
                                          seed=seed, group_by=hierarchy, **options)
            except BaseException:
                if writer is not None:
                    writer.abort()
                raise
            if writer is not None:
                writer.close()
            if max(slots[0].codes) < 100 and not args.no_raster:
                _write_transitions(rf.path(rs.TRANSITIONS_TIF), grid, slots, lcs, ctx)
            sheets = {}
            if restoration:
                rf.write_csv(rs.RESTORATION_EFFECT, res.effect)
                from sinkplan.sinks.restoration import control_rings

                restoration_map_files(rf, projects=rz.projects, rings=control_rings(rz.projects, rz.ring_m),
                                      effect=res.effect, grid=grid)
                sheets["restoration_effect"] = res.effect
            else:
                rf.write_csv(rs.CHANGE_BY_ZONE, res.by_zone)
                change_map_files(rf, strata=strata, by_zone=res.by_zone, grid=grid)
                sheets["change_by_zone"] = res.by_zone
            tc, tg, matrix = res.transitions_by_code, res.transitions_by_group, res.transition_matrix
            rf.write_csv(rs.TRANSITIONS_BY_CODE, tc)
            rf.write_csv(rs.TRANSITIONS_BY_GROUP, tg)
            rf.write_csv(rs.TRANSITION_MATRIX, matrix.reset_index())
            sheets.update(transitions_by_group=tg, transitions_by_code=tc, transition_matrix=matrix.reset_index())
            rf.write_xlsx(rs.RESTORATION_XLSX if restoration else rs.CHANGE_XLSX, sheets)
            rf.write_summary(res.summary)
    return 0


def _write_transitions(path: Path, grid, slots, lcs, ctx) -> None:
    """code_before × 100 + code_after (uint16), 0 where either year has no land class."""
    from sinkplan.layers.grid import open_raster
    from sinkplan.layers.reading import read_window

    valid = [set(s.codes) for s in slots]
    with BlockWriter(path, grid, "uint16", nodata=0, resampling="mode",
                     tags={"encoding": "code_before * 100 + code_after", "nodata": "0: no land class in either year"},
                     band_description="land-cover transition") as out, \
            open_raster(lcs[0].path) as a_src, open_raster(lcs[1].path) as b_src:
        for w in grid.blocks(ctx.max_cells):
            a = read_window(a_src, w).astype(np.uint16)
            b = read_window(b_src, w).astype(np.uint16)
            ok = np.isin(a, list(valid[0])) & np.isin(b, list(valid[1]))
            out.write(np.where(ok, a * 100 + b, 0).astype(np.uint16), w)

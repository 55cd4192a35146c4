"""``sinkplan carbon LANDCOVER``: carbon stocks per zone, class and pool, with uncertainty.

Parse → validate → run → write: this module parses the options and checks the inputs before
the result folder is claimed; :func:`sinkplan.sinks.api.carbon_stocks` computes,
:func:`sinkplan.sinks.folders.write_carbon` writes every file of the folder.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

from sinkplan.context import RunContext
from sinkplan.layers.resultfolder import ResultFolder
from sinkplan.sinks_inputs import (
    add_common_options,
    cache_dir,
    executor,
    hierarchy_from,
    open_landcovers,
    pass_threads,
    prepare_strata,
)

logger = logging.getLogger(__name__)


def register(sub, common) -> None:
    p = sub.add_parser(
        "carbon", parents=[common], help="carbon stocks per zone, class and pool (Mg C), with uncertainty",
        description="Carbon stocks from a land-cover raster and a density table (InVEST biophysical format or "
        "keyed by group): area on the ellipsoid × density per class and pool, per zone and inside/outside "
        "the redline; Monte Carlo over the densities with --uncertainty.",
    )
    p.add_argument("landcover", help="land-cover raster (class codes)")
    p.add_argument("--densities", default=None, metavar="TABLE",
                   help="density table CSV (lucode or group, c_above, c_below, c_soil, c_dead in Mg C/ha) or a "
                   "shipped name: inner_mongolia_30cm (default, soil 0-30 cm), inner_mongolia_100cm")
    p.add_argument("--uncertainty", type=int, default=0, metavar="N",
                   help="Monte Carlo draws over the densities (0: none; at least 40, 200 or more advised); each table "
                   "value is drawn lognormal with mean = the value and sd = *_sd or (high-low)/3.92; the stock is "
                   "reported with the 2.5/97.5 percentiles")
    p.add_argument("--seed", type=int, default=None,
                   help="random seed of the Monte Carlo draws (default: drawn at random, logged and recorded in "
                   "summary.json and manifest.json)")
    p.add_argument("--no-raster", action="store_true", help="do not write carbon_density.tif")
    p.add_argument("--density-raster", default=None, metavar="FILE",
                   help="density map from sinkplan density-model, used for the pools in its POOLS tag instead of the "
                   "table; pixels without a value (outside the model's domain) use the table and are counted")
    p.add_argument("--density-raster-units", default=None, metavar="UNITS",
                   help="units of a --density-raster that lacks the POOLS and UNITS tags density-model writes: "
                   "'Mg C/ha' (t C/ha), 'kg C/m2' or 'g C/m2' (converted); its pools are then above,below")
    c = p.add_argument_group("densities by region and climate")
    c.add_argument("--region-field", default=None, metavar="FIELD",
                   help="zone attribute matched to the density table's region column (each zone takes its region's rows)")
    c.add_argument("--precip", default=None, metavar="RASTER",
                   help="mean annual precipitation (mm): corrects biomass and soil densities per pixel by the relations "
                   "used in CLCD-InVEST studies of China (Alam et al. 2013); resampled bilinearly onto the grid")
    c.add_argument("--temperature", default=None, metavar="RASTER",
                   help="mean annual temperature (°C): corrects biomass densities per pixel (Chen Guangshui et al. 2007)")
    c.add_argument("--climate-reference", default=None, metavar="MAP,MAT",
                   help="mean annual precipitation (mm) and temperature (°C) where the table's densities were measured "
                   "(default: the table's reference_map_mm / reference_mat_c header lines)")
    from sinkplan.cmd_change import add_density_options

    add_density_options(p)
    add_common_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: RunContext) -> int:
    if args.uncertainty < 0:
        raise _input_error(f"--uncertainty {args.uncertainty}: give a number of draws ≥ 0")
    (lc,) = open_landcovers([Path(args.landcover)], args)
    from sinkplan.sinks.mapfiles import PREVIEW_MAX_PIXELS, PreviewRead
    from sinkplan.sinks.preview import stream_factor

    # The preview the pass does not build (a file with overviews) is read from the overviews
    # from now on, on the core that the imports and numba's first kernel below leave idle.
    preview = (None if stream_factor(lc, PREVIEW_MAX_PIXELS)
               else PreviewRead(lc, max_pixels=PREVIEW_MAX_PIXELS, max_cells=ctx.max_cells))
    try:
        return _run(args, ctx, lc, preview)
    finally:
        if preview is not None:
            preview.cancel()  # a no-op once written; on an error, the read stops at its next tile


def _run(args: argparse.Namespace, ctx: RunContext, lc, preview) -> int:
    from sinkplan.sinks.api import carbon_stocks
    from sinkplan.sinks.folders import carbon_rasters, streamed_rasters, write_carbon
    from sinkplan.sinks.uncertainty import check_draws, resolve_seed

    from sinkplan.cmd_change import density_table_from

    table, tier1 = density_table_from(args, lc.scheme)
    climate = _climate(args, lc.grid, table)
    if (climate is not None or table.regions) and not args.no_raster:
        logger.warning("carbon_density.tif is not written: with %s the density varies within a class",
                       "climate correction" if climate is not None else "a region-keyed table")
        args.no_raster = True
    check_draws(args.uncertainty, table, warn=False)  # before any output; carbon_stocks warns about few draws
    seed = resolve_seed(args.seed, args.uncertainty)  # recorded in the manifest and summary.json
    raster = None
    if args.density_raster:  # checked before any output; see sinks.learning.carbon_raster
        from sinkplan.sinks.learning.carbon_raster import check_density_raster
        if args.uncertainty:
            raise _input_error("--density-raster with --uncertainty: the Monte Carlo draws table densities only; run them separately")
        raster = check_density_raster(args.density_raster, lc, units=args.density_raster_units)
        args.no_raster = True  # carbon_density.tif would show the table's densities, not the raster's
    t0 = time.perf_counter()
    with cache_dir() as folder:
        with ctx.progress("rasterizing zones") as progress:
            strata = prepare_strata(lc.grid, zones=args.zones, zone_field=args.zone_field, redline=args.redline,
                                    zone_layer=args.zone_layer, folder=folder, max_cells=ctx.max_cells, progress=progress)
        hierarchy = hierarchy_from(args, strata)
        t_zones = time.perf_counter() - t0
        # claimed before the run: a second run with the same --out fails at once
        with ResultFolder(args.out, lang=ctx.lang, kind="carbon", command="carbon", parameters={},
                          inputs=[lc.path, args.zones, args.redline, args.densities, args.density_raster],
                          overwrite=ctx.overwrite) as rf:
            t_start = time.perf_counter()
            # carbon_density.tif is written while the pass reads the land cover
            rasters = [] if args.no_raster else carbon_rasters(lc, table)
            with executor(ctx) as ex, ctx.progress("carbon") as progress, \
                    streamed_rasters(rf, rasters, lc.grid) as sinks:
                res = carbon_stocks(lc, densities=table, strata=strata, density_raster=raster, group_by=hierarchy,
                                    climate=climate, region_field=args.region_field, uncertainty=args.uncertainty,
                                    seed=seed, max_cells=ctx.max_cells, executor=ex, progress=progress,
                                    threads=pass_threads(), on_raster=sinks[0] if sinks else None)
            t_run = time.perf_counter() - t_start
            if tier1:
                res.summary["densities"]["tier1_fallback"] = tier1
            rf.extra_manifest["execution"] = {"workers": ctx.workers, "scheduler": ctx.scheduler}
            with ctx.progress("writing") as progress:  # tables, carbon_density.tif, map files
                write_carbon(res, rf, raster=not args.no_raster, max_cells=ctx.max_cells, progress=progress,
                             preview=preview)
            rf.extra_manifest.setdefault("timings_s", {}).update(
                zones=t_zones, **{"pass": res.timings_s["pass"]},
                executor_start_stop_and_raster_finish=t_run - sum(res.timings_s.values()),
                tables_and_map_files=time.perf_counter() - t_start - t_run, total=time.perf_counter() - t0, blocks=res.nblocks)
    return 0


def _climate(args: argparse.Namespace, grid, table):
    """The climate correction of --precip / --temperature (None without them), checked before any output."""
    if args.precip is None and args.temperature is None:
        if args.climate_reference:
            raise _input_error("--climate-reference without --precip or --temperature: nothing to correct")
        return None
    from sinkplan.layers.continuous import open_continuous
    from sinkplan.sinks.climate import ClimateReference, ClimateWeights

    ref = ClimateReference.parse(args.climate_reference, table)
    return ClimateWeights(None if args.precip is None else open_continuous(args.precip, grid, what="precipitation (mm/yr)"),
                          None if args.temperature is None else open_continuous(args.temperature, grid,
                                                                                what="temperature (°C)"), ref)


def _input_error(msg: str):
    from sinkplan.layers.errors import InputError

    return InputError(msg)

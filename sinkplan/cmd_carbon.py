"""``sinkplan carbon LANDCOVER``: carbon stocks per zone, class and pool, with uncertainty.

The arithmetic is :func:`sinkplan.sinks.api.carbon_stocks`; this module parses the options, checks
the inputs before the result folder is opened, and writes the tables, the raster and the
map files.
"""

from __future__ import annotations

import argparse
import logging
import time
from pathlib import Path

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
    pass_threads,
    prepare_strata,
)
from sinkplan.sinks_mapfiles import carbon_map_files

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
    add_common_options(p)
    p.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: RunContext) -> int:
    from sinkplan.sinks.api import carbon_stocks
    from sinkplan.sinks.carbon import DENSITY_NODATA
    from sinkplan.sinks.densities import load_densities
    from sinkplan.sinks.uncertainty import check_draws, resolve_seed

    if args.uncertainty < 0:
        raise _input_error(f"--uncertainty {args.uncertainty}: give a number of draws ≥ 0")
    (lc,) = open_landcovers([Path(args.landcover)], args)
    table = load_densities(args.densities)
    table.resolve(lc.scheme)
    check_draws(args.uncertainty, table, warn=False)  # before any output; carbon_stocks warns about few draws
    seed = resolve_seed(args.seed, args.uncertainty)  # recorded in the manifest and summary.json
    raster = None
    if args.density_raster:  # checked before any output; see sinks.learning.carbon_raster
        from sinkplan.sinks.learning.carbon_raster import check_density_raster
        if args.uncertainty:
            raise _input_error("--density-raster with --uncertainty: the Monte Carlo draws table densities only; run them separately")
        raster = check_density_raster(args.density_raster, lc)
        args.no_raster = True  # carbon_density.tif would show the table's densities, not the raster's
    t0 = time.perf_counter()
    with cache_dir() as folder:
        with ctx.progress("rasterizing zones") as progress:
            strata = prepare_strata(lc.grid, zones=args.zones, zone_field=args.zone_field, redline=args.redline,
                                    zone_layer=args.zone_layer, folder=folder, max_cells=ctx.max_cells, progress=progress)
        hierarchy = hierarchy_from(args, strata)
        t_zones = time.perf_counter() - t0
        params = {"landcover": str(lc.path), "scheme": lc.scheme.name, "densities": table.origin,
                  "soil_depth_cm": table.soil_depth_cm, "zones": args.zones, "zone_field": args.zone_field,
                  "redline": args.redline, "group_by": args.group_by, "uncertainty": args.uncertainty, "seed": seed,
                  "max_cells": ctx.max_cells, "workers": ctx.workers, "scheduler": ctx.scheduler}
        inputs = [lc.path, args.zones, args.redline, args.densities if args.densities and Path(args.densities).exists() else None]
        params["density_raster"], inputs = args.density_raster, inputs + [args.density_raster]
        with ResultFolder(args.out, kind="carbon", command="carbon", parameters=params, inputs=inputs, overwrite=ctx.overwrite) as rf:
            writer = None
            if not args.no_raster:
                writer = BlockWriter(rf.path(rs.CARBON_DENSITY), lc.grid, "float32", nodata=DENSITY_NODATA,
                                     resampling="average", tags={"units": "Mg C/ha", "quantity": "carbon density, all pools",
                                                                 "densities": table.origin, "soil_depth_cm": str(table.soil_depth_cm)},
                                     band_description="carbon density (Mg C/ha)")
            try:
                t_start = time.perf_counter()
                with executor(ctx) as ex, ctx.progress("carbon") as progress:
                    res = carbon_stocks(lc, densities=table, strata=strata, density_raster=raster, group_by=hierarchy,
                                        uncertainty=args.uncertainty, seed=seed, max_cells=ctx.max_cells, executor=ex,
                                        progress=progress, on_raster=writer.write if writer else None, threads=pass_threads())
                t_run = time.perf_counter() - t_start
            except BaseException:
                if writer is not None:
                    writer.abort()
                raise
            if writer is not None:
                writer.close()
            t_raster = time.perf_counter() - t_start - t_run
            rf.write_csv(rs.STOCKS_BY_ZONE, res.by_zone)
            rf.write_csv(rs.STOCKS_BY_CLASS, res.by_class)
            rf.write_xlsx(rs.STOCKS_XLSX, {"stocks_by_zone": res.by_zone, "stocks_by_class": res.by_class})
            rf.write_summary(res.summary)
            t_pass = res.timings_s["pass"]
            rf.extra_manifest["timings_s"] = {"zones": t_zones, "pass": t_pass, "executor_start_stop": t_run - sum(res.timings_s.values()),
                                              "raster_cog": t_raster, "total": time.perf_counter() - t0, "blocks": res.nblocks}
            with ctx.progress("map files") as progress:  # zones, redline, land-cover preview for sinkplan map
                carbon_map_files(rf, strata=strata, by_zone=res.by_zone, lc=lc, max_cells=ctx.max_cells, progress=progress)
    return 0


def _input_error(msg: str):
    from sinkplan.layers.errors import InputError

    return InputError(msg)

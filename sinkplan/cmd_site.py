"""``sinkplan site``: screen land for PV or wind bases and rank the parcels.

Writes ``eligible.tif`` (0 excluded; each parcel pixel's own zone code: 1 desert, 2 border,
3 mine, 4 other eligible), ``exclusions.tif`` (one bit per rule; legend in its tags and in
``summary.json``), ``parcels.tif`` (parcel ids), ``parcels.gpkg`` / ``.csv`` / ``.xlsx``
(a parcel is 8-connected eligible land of any zone types: ``area_ha_desert``,
``area_ha_border``, ``area_ha_mine``, ``area_ha_other`` give its parts, ``zone_type`` is the
type of its largest part), ``bases.gpkg``,
``summary.json``, ``sweep.csv`` with ``--sweep`` and ``manifest.json``; for the siting map
(``sinkplan map`` reads result folders only) ``border_belt.gpkg`` (the belt screened, with
``--border`` and the border zone enabled), ``grid_lines.gpkg`` and ``substations.gpkg`` (from
``--grid-lines``), all in EPSG:4326.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path
from typing import Any

import pandas as pd

from sinkplan.layers.errors import ConfigError, InputFileError
from sinkplan.layers.parallel import BlockExecutor
from sinkplan.layers.schemes import parse_code_mapping
from sinkplan.context import RunContext
from sinkplan.layers import resultspec as rs
from sinkplan.results import ResultFolder
from sinkplan.siting.mapfiles import belt_frame, border_belt, split_grid_features
from sinkplan.siting.prepare import Prepared, ScreenInputs, VectorCache, prepare
from sinkplan.siting.profile import load_profile, parse_assignment, with_overrides
from sinkplan.siting.screen import PARCEL_COLUMNS, run_screen, screen_capacity

logger = logging.getLogger(__name__)


def register(sub, common) -> None:
    p = sub.add_parser(
        "site", parents=[common], help="screen land for PV or wind bases (exclusions, parcels, ranking)",
        description="Screen desert/gobi, border-belt and mine-restoration land for PV or wind: exclusions with "
        "buffers in metres, slope from the DEM, 8-connected parcels with exact areas, capacity, score and rank, "
        "candidate bases, and capacity against the 2030 target.")
    p.add_argument("--landcover", required=True, help="land-cover raster (defines the working grid)")
    p.add_argument("--tech", choices=("pv", "wind"), help="technology (default: the profile's; pv without --profile)")
    p.add_argument("--profile", help="siting profile TOML (default: the shipped profile of --tech)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                   help="override one profile value, e.g. pv.max_slope_deg=5 (repeatable)")
    p.add_argument("--sweep", action="append", default=[], metavar="KEY=V1,V2,...",
                   help="rerun the screen for each value and tabulate capacity, e.g. pv.max_slope_deg=3,5,10")
    p.add_argument("--scheme", default="clcd", help="class scheme of the land cover (default clcd)")
    p.add_argument("--map-codes", metavar="CODE=CODE|GROUP,...", help="map extra codes, e.g. 200=7")
    p.add_argument("--dem", help="elevation raster in metres (any grid; resampled bilinearly)")
    p.add_argument("--redline", help="ecological protection redline polygons")
    p.add_argument("--farmland", help="permanent basic farmland polygons")
    p.add_argument("--border", help="border line (the border zone is a belt of zones.border.width_m)")
    p.add_argument("--deserts", help="desert / gobi / sand-control polygons")
    p.add_argument("--mines", help="mine-restoration polygons")
    p.add_argument("--grid-lines", nargs="+", action="extend", default=[], metavar="FILE",
                   help="transmission lines and/or substations (one or more layers)")
    p.add_argument("--zones", help="admin zones (banners) to name each parcel's zone")
    p.add_argument("--zone-field", help="name field of --zones (default: feature number)")
    p.add_argument("--targets", help="targets TOML (default seeds/targets.toml)")
    p.add_argument("--out", required=True, help="result folder")
    p.add_argument("--workers", type=int, default=0, help="local Dask workers (0: one process)")
    p.add_argument("--scheduler", help="address of a running Dask scheduler")
    p.add_argument("--overwrite", action="store_true", help="replace an existing result folder")
    p.set_defaults(func=run)


def _inputs(args: argparse.Namespace) -> ScreenInputs:
    def path(flag: str, value: str | None) -> Path | None:
        if value is None:
            return None
        p = Path(value)
        if not p.exists():
            raise InputFileError(f"{p}: file not found (--{flag}); check the path")
        return p

    mapping = parse_code_mapping(args.map_codes) if args.map_codes else None
    return ScreenInputs(
        landcover=path("landcover", args.landcover), scheme=args.scheme, map_codes=mapping,
        dem=path("dem", args.dem), redline=path("redline", args.redline), farmland=path("farmland", args.farmland),
        border=path("border", args.border), deserts=path("deserts", args.deserts), mines=path("mines", args.mines),
        grid_lines=tuple(path("grid-lines", g) for g in args.grid_lines), zones=path("zones", args.zones),
        zone_field=args.zone_field, targets=path("targets", args.targets),
    )


def _profile(args: argparse.Namespace):
    overrides: dict[str, Any] = {}
    for text in args.set:
        key, vals = parse_assignment(text, many=False)
        overrides[key] = vals[0]
    prof = load_profile(args.profile or args.tech or "pv", overrides=overrides)
    if args.tech and prof.tech != args.tech:
        raise ConfigError(f"{prof.origin}: tech = {prof.tech!r} but --tech {args.tech}; drop --tech or use a {args.tech} profile")
    return prof


def run(args: argparse.Namespace, ctx: RunContext) -> int:
    profile = _profile(args)
    inputs = _inputs(args)
    sweeps = [parse_assignment(s) for s in args.sweep]
    sweep_profiles = [(k, v, with_overrides(profile, {k: v}, flag="--sweep")) for k, vals in sweeps for v in vals]
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    cache = VectorCache()
    with tempfile.TemporaryDirectory(prefix=".site-work-", dir=out.parent) as work:
        prep = prepare(inputs, profile, workdir=work, cache=cache)  # validate before any output exists
        sweep_preps = [(k, v, prepare(inputs, p, workdir=work, keep_rasters=False, cache=cache)) for k, v, p in sweep_profiles]
        params = {"tech": profile.tech, "profile": profile.origin, "set": args.set, "sweep": args.sweep,
                  "scheme": args.scheme, "map_codes": args.map_codes, "zone_field": args.zone_field,
                  "max_cells": ctx.max_cells, "workers": ctx.workers}
        with ResultFolder(out, kind="site", command="site", parameters=params, inputs=inputs.files(), overwrite=ctx.overwrite) as rf, \
                BlockExecutor(workers=ctx.workers, scheduler=ctx.scheduler) as ex:
            summary = screen_into(rf, prep, sweep_preps, work=work, ctx=ctx, executor=ex)
    logger.info("%s: %d parcels, %.0f MW, %.2f %% of the target", out, summary["parcels"], summary["capacity_mw"],
                100 * summary["share_of_target"])
    return 0


def screen_into(rf: ResultFolder, prep: Prepared, sweep_preps, *, work: str, ctx: RunContext,
                executor: BlockExecutor | None = None) -> dict:
    """Run the screen (and sweeps) and write every output into an open result folder."""
    with ctx.progress(f"siting {prep.profile.tech}") as progress:
        res = run_screen(prep, workdir=work, exclusions_path=rf.path(rs.EXCLUSIONS),
                         eligible_path=rf.path(rs.ELIGIBLE), parcels_raster_path=rf.path(rs.PARCELS_TIF),
                         max_cells=ctx.max_cells, executor=executor, progress=progress)
    summary = res.summary
    rf.write_gpkg(rs.PARCELS_GPKG, res.parcels)
    rf.write_gpkg(rs.BASES_GPKG, res.bases)
    table = pd.DataFrame(res.parcels.drop(columns="geometry"))[list(PARCEL_COLUMNS)].sort_values("rank")
    bases = pd.DataFrame(res.bases.drop(columns="geometry"))
    rf.write_csv(rs.PARCELS_CSV, table)
    sheets = {"parcels": table, "bases": bases,
              "by_zone_type": pd.DataFrame(summary["by_zone_type"]).T.rename_axis("zone_type").reset_index(),
              "exclusions": pd.DataFrame(summary["exclusion_bits"])}
    if sweep_preps:
        rows = []
        for key, value, sp in sweep_preps:
            if sp.profile.model_dump() == prep.profile.model_dump():  # the run's own value: reuse it
                cap = {**{k: summary[k] for k in ("parcels", "eligible_area_ha", "capacity_mw", "target_mw",
                                                   "share_of_target")}, "by_zone_type": summary["by_zone_type"]}
            else:
                with ctx.progress(f"sweep {key}={value}") as progress:
                    cap = screen_capacity(sp, max_cells=ctx.max_cells, executor=executor, progress=progress)
            row = {"key": key, "value": value if not isinstance(value, list) else ",".join(map(str, value)),
                   **{k: cap[k] for k in ("parcels", "eligible_area_ha", "capacity_mw", "target_mw", "share_of_target")}}
            for z, d in cap["by_zone_type"].items():
                row[f"capacity_mw_{z}"] = d["capacity_mw"]
            rows.append(row)
        sweep = pd.DataFrame(rows)
        rf.write_csv(rs.SWEEP_CSV, sweep)
        sheets["sweep"] = sweep
        summary["sweep"] = rows
    rf.write_xlsx(rs.PARCELS_XLSX, sheets)
    rf.extra_manifest["map_layers"] = write_map_layers(rf, prep)
    rf.write_summary(summary)
    rf.extra_manifest["exclusion_bits"] = summary["exclusion_bits"]
    return summary


def write_map_layers(rf: ResultFolder, prep: Prepared) -> dict[str, int]:
    """Write the border belt, grid lines and substations the siting map draws (EPSG:4326).

    Returns {file name: features written}; a layer without features is not written.
    """
    written: dict[str, int] = {}
    border = next((z for z in prep.spec.zones if z.kind == "border"), None)
    layer = prep.spec.store.get(border.layer) if border is not None and prep.spec.store is not None else None
    if layer is not None:
        belt = border_belt(layer.geoms, border.buffer_m, prep.grid)
        if not belt.is_empty:
            gdf = belt_frame(belt, prep.grid, width_m=border.buffer_m)
            rf.write_gpkg(rs.BORDER_BELT, gdf)
            written[rs.BORDER_BELT.name] = len(gdf)
        else:
            logger.info("the border is farther than %g m from the grid: no border_belt.gpkg", border.buffer_m)
    lines, subs = split_grid_features(prep.grid_layers)
    for fs, gdf in ((rs.GRID_LINES, lines), (rs.SUBSTATIONS, subs)):
        if len(gdf):
            rf.write_gpkg(fs, gdf)
            written[fs.name] = len(gdf)
    return written


def site_step(region, out: Path, ctx: RunContext) -> list[Path]:
    """PV and wind screens of the demo region (``site_pv`` with a slope sweep, ``site_wind``)."""
    inputs = ScreenInputs(
        landcover=region.landcover_2020, dem=region.dem, redline=region.redline, farmland=region.farmland,
        border=region.border, deserts=region.deserts, mines=region.mines,
        grid_lines=(region.grid_lines, region.substations), zones=region.banners, zone_field=region.zone_field,
    )
    cache = VectorCache()
    written = []
    for tech, sweep in (("pv", ("pv.max_slope_deg", [3, 5, 10])), ("wind", None)):
        profile = load_profile(tech)
        target = out / f"site_{tech}"
        with tempfile.TemporaryDirectory(prefix=".site-work-", dir=out) as work:
            prep = prepare(inputs, profile, workdir=work, cache=cache)
            sweeps = []
            if sweep:
                key, values = sweep
                sweeps = [(key, v, prepare(inputs, with_overrides(profile, {key: v}), workdir=work, keep_rasters=False,
                                           cache=cache)) for v in values]
            params = {"tech": tech, "profile": profile.origin, "sweep": [f"{sweep[0]}={','.join(map(str, sweep[1]))}"]
                      if sweep else []}
            with ResultFolder(target, kind="site", command=f"demo:site {tech}", parameters=params, inputs=inputs.files(),
                              overwrite=True) as rf:
                screen_into(rf, prep, sweeps, work=work, ctx=ctx)
        written.append(target)
    return written


#: Old name of :func:`site_step` (DEMO_STEPS may still list ``sinkplan.cmd_site:demo_step``).
demo_step = site_step

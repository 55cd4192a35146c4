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
``--grid-lines``), all in EPSG:4326; ``supply_curve.csv`` / ``supply_curve.png`` (parcels by
LCOE with cumulative capacity and energy) and ``turbines.gpkg`` (wind with
``wind.turbine.placement = "turbines"``).

``--tech pv,wind`` screens the technologies in that order (the stated priority: the first
takes every pixel it can use, PV by default first as it yields several times wind's energy per
km²) and each later one excludes the earlier ones' parcels (rule ``claimed_by_pv``), so no
pixel is counted twice; ``--out DIR`` then holds ``DIR/pv`` and ``DIR/wind`` (full result
folders) and, at the top, ``summary.json`` (baseline, screened, gap), ``supply_curve.csv`` and
``supply_curve.png`` of both.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
from pathlib import Path
from typing import Any

from sinkplan.layers.errors import ConfigError, InputFileError
from sinkplan.layers.limits import SITE_MAX_CELLS
from sinkplan.layers.parallel import BlockExecutor
from sinkplan.layers.schemes import parse_code_mapping
from sinkplan.context import RunContext
from sinkplan.layers.resultfolder import ResultFolder
from sinkplan.siting.prepare import RASTER_INPUTS, ScreenInputs, VectorCache, prepare, warn_unused_layers
from sinkplan.siting.profile import POLICY_LAYERS, load_profile, parse_assignment, with_overrides

logger = logging.getLogger(__name__)


def register(sub, common) -> None:
    p = sub.add_parser(
        "site", parents=[common], help="screen land for PV or wind bases (exclusions, parcels, ranking)",
        description="Screen desert/gobi, border-belt and mine-restoration land for PV or wind: exclusions with "
        "buffers in metres, slope from the DEM, 8-connected parcels with exact areas, capacity, score and rank, "
        "candidate bases, and capacity against the 2030 target.")
    p.add_argument("--landcover", required=True, help="land-cover raster (defines the working grid)")
    p.add_argument("--tech", type=_techs, help="technology: pv, wind, or pv,wind (screened in that order, each pixel "
                   "allocated to one; default: the profile's; pv without --profile)")
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
    for key, (option, zh) in POLICY_LAYERS.items():
        p.add_argument(option, dest=key, metavar="FILE", help=f"{zh} ({key}) polygons: excluded where the profile "
                       "lists the rule; without it the rule is reported not checked")
    p.add_argument("--ghi", metavar="FILE", help="global horizontal irradiation raster, kWh/m²/yr (PV yield by pvlib)")
    p.add_argument("--pvout", metavar="FILE", help="PV specific yield raster, kWh/kWp/yr (used as given)")
    p.add_argument("--wind-speed", metavar="FILE", help="mean wind speed at hub height raster, m/s (wind yield)")
    p.add_argument("--weibull-k", metavar="FILE", help="Weibull shape k raster (default: wind.turbine.weibull_k)")
    p.add_argument("--precipitation", metavar="FILE", help="mean annual precipitation raster, mm (PV shrub rule)")
    p.add_argument("--shrub-cover", metavar="FILE", help="shrub cover raster, fraction 0-1 (PV shrub rule)")
    p.add_argument("--installed", metavar="FILE", help="existing and approved plants (capacity_mw, tech): their land is "
                   "excluded, their capacity is the baseline")
    p.add_argument("--installed-tech-field", default="tech", help="technology field of --installed (default tech)")
    p.add_argument("--covers-target-region", action="store_true",
                   help="the land cover covers the whole region of the target: report share_of_target")
    p.add_argument("--zones", help="admin zones (banners) to name each parcel's zone")
    p.add_argument("--zone-field", help="name field of --zones (default: feature number)")
    p.add_argument("--zone-layer", metavar="LAYER", help="layer of a multi-layer --zones file")
    p.add_argument("--targets", help="policy targets TOML (default seeds/targets.toml), or per-zone targets CSV "
                   "(zone,indicator,value,year[,source]; indicator new_energy_capacity in MW; needs --zones)")
    p.add_argument("--out", required=True, help="result folder")
    p.add_argument("--lang", choices=("zh", "en"), default="zh",
                   help="language of the workbook's sheet titles and headers (default zh; CSVs keep field names)")
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
    extra = {k: path(POLICY_LAYERS[k][0][2:], getattr(args, k, None)) for k in POLICY_LAYERS}
    extra.update({k: path(o[2:], getattr(args, k, None)) for k, (o, _u) in RASTER_INPUTS.items()})
    return ScreenInputs(
        **extra, installed=path("installed", args.installed), installed_tech_field=args.installed_tech_field,
        covers_target_region=args.covers_target_region,
        landcover=path("landcover", args.landcover), scheme=args.scheme, map_codes=mapping,
        dem=path("dem", args.dem), redline=path("redline", args.redline), farmland=path("farmland", args.farmland),
        border=path("border", args.border), deserts=path("deserts", args.deserts), mines=path("mines", args.mines),
        grid_lines=tuple(path("grid-lines", g) for g in args.grid_lines), zones=path("zones", args.zones),
        zone_field=args.zone_field, zone_layer=args.zone_layer, targets=path("targets", args.targets),
    )


def _techs(text: str) -> tuple[str, ...]:
    techs = tuple(t.strip() for t in text.split(",") if t.strip())
    if not techs or any(t not in ("pv", "wind") for t in techs) or len(set(techs)) != len(techs):
        raise argparse.ArgumentTypeError(f"{text!r}: use pv, wind, pv,wind or wind,pv")
    return techs


def _profile(args: argparse.Namespace, tech: str | None = None):
    overrides: dict[str, Any] = {}
    for text in args.set:
        key, vals = parse_assignment(text, many=False)
        overrides[key] = vals[0]
    tech = tech or (args.tech[0] if args.tech else None)
    if tech is not None and args.tech and len(args.tech) > 1:  # --set keys of the other technology apply there
        overrides = {k: v for k, v in overrides.items() if k.partition(".")[0] not in ("pv", "wind") or
                     k.partition(".")[0] == tech}
    prof = load_profile(args.profile or tech or "pv", overrides=overrides)
    if tech and prof.tech != tech:
        raise ConfigError(f"{prof.origin}: tech = {prof.tech!r} but --tech {tech}; drop --tech or use a {tech} profile")
    return prof


def run(args: argparse.Namespace, ctx: RunContext) -> int:
    from sinkplan.siting.folders import screen_site, write_site

    if args.tech and len(args.tech) > 1:
        return run_multi(args, ctx)
    profile = _profile(args)
    inputs = _inputs(args)
    sweeps = [parse_assignment(s) for s in args.sweep]
    sweep_profiles = [(k, v, with_overrides(profile, {k: v}, flag="--sweep")) for k, vals in sweeps for v in vals]
    out = Path(args.out)
    cache = VectorCache()
    # Scratch rasters go beside the result (same disk, often larger than /tmp), in the nearest
    # folder that exists: missing parents of --out are made only once the inputs are checked.
    with tempfile.TemporaryDirectory(prefix=".site-work-", dir=_existing_parent(out)) as work:
        prep = prepare(inputs, profile, workdir=work, cache=cache)  # validate before any output exists
        sweep_preps = [(k, v, prepare(inputs, p, workdir=work, keep_rasters=False, cache=cache)) for k, v, p in sweep_profiles]
        # claimed before the run: a second run with the same --out fails at once
        with ResultFolder(out, lang=ctx.lang, kind="site", command="site", parameters={}, inputs=inputs.files(),
                          overwrite=ctx.overwrite) as rf, \
                BlockExecutor(workers=ctx.workers, scheduler=ctx.scheduler) as ex:
            with ctx.progress(f"siting {prep.profile.tech}") as progress:
                res = screen_site(prep, workdir=work, sweeps=sweep_preps, max_cells=ctx.block_cells(SITE_MAX_CELLS), executor=ex,
                                  progress=progress)
            rf.extra_manifest["execution"] = _execution(args, ctx)
            write_site(res, rf)
    prep.warn_not_checked()
    warn_unused_layers([prep])
    _report(out, res.summary)
    return 0


def _execution(args: argparse.Namespace, ctx: RunContext) -> dict:
    """How the command ran (the manifest's parameters are the result's own)."""
    return {"workers": ctx.workers, "scheduler": ctx.scheduler, "set": args.set, "sweep": args.sweep}


def _report(out: Path, summary: dict) -> None:
    """One terminal line of the headline figures, and the upper-bound warning when it applies."""
    bound = " (an upper bound: rule sets not checked: " + ", ".join(
        n["rule"] for n in summary.get("not_checked", []) if n["effect"] == "upper_bound") + ")" \
        if summary.get("capacity_is_upper_bound") else ""
    share = summary.get("share_of_target")
    logger.info("%s: %d parcels, %.0f MW%s; installed %.0f MW, gap to the target %.0f MW%s", out, summary["parcels"],
                summary["capacity_mw"], bound, summary.get("installed_mw", 0.0), summary.get("gap_mw", 0.0),
                f", {100 * share:.1f} % of the target with the installed" if share is not None else "")
    if bound:
        logger.warning("%s: capacity %.0f MW%s", out, summary["capacity_mw"], bound)


def run_multi(args: argparse.Namespace, ctx: RunContext) -> int:
    """``--tech pv,wind``: one result folder with a sub-folder per technology, screened in order,
    each later one excluding the parcels of the earlier ones; the account covers them all."""
    from sinkplan.siting.folders import screen_techs, write_site_account

    if args.sweep:
        raise ConfigError("--sweep works with one --tech at a time; run the sweep per technology")
    base_inputs = _inputs(args)
    profiles = [_profile(args, t) for t in args.tech]
    out = Path(args.out)
    cache = VectorCache()
    with tempfile.TemporaryDirectory(prefix=".site-work-", dir=_existing_parent(out)) as work:
        for prof in profiles:  # validate every technology's inputs before any output exists
            prepare(base_inputs, prof, workdir=work, keep_rasters=False, cache=cache, quiet=True)
        with ResultFolder(out, lang=ctx.lang, kind="site-account", command="site", parameters={}, inputs=base_inputs.files(),
                          overwrite=ctx.overwrite) as rf, \
                BlockExecutor(workers=ctx.workers, scheduler=ctx.scheduler) as ex:
            with ctx.progress("siting " + ",".join(args.tech)) as progress:
                acc = screen_techs([(p, []) for p in profiles], base_inputs, workdir=work, max_cells=ctx.block_cells(SITE_MAX_CELLS),
                                   executor=ex, cache=cache, progress=progress)
            rf.extra_manifest["execution"] = _execution(args, ctx)
            write_site_account(acc, rf)
    account = acc.summary
    for res in acc.results.values():
        res.prepared.warn_not_checked()
    warn_unused_layers([r.prepared for r in acc.results.values()])
    for t, summ in account["by_tech"].items():
        _report(out / t, summ)
    logger.info("%s: screened %.0f MW (%s), installed %.0f MW, gap %.0f MW, left after the screen %.0f MW", out,
                account["screened_mw"], ", ".join(f"{t} {d['capacity_mw']:.0f}" for t, d in account["by_tech"].items()),
                account["installed_mw"], account["gap_mw"], account["gap_after_screen_mw"])
    return 0


def _existing_parent(out: Path) -> Path:
    """The nearest folder of ``out``'s parents that exists (where scratch files may go before it is made)."""
    p = out.absolute().parent
    while not p.is_dir() and p != p.parent:
        p = p.parent
    return p


def site_step(region, out: Path, ctx: RunContext) -> list[Path]:
    """PV then wind on the demo region (``site_pv`` with a slope sweep, ``site_wind`` on the land
    PV left), with the synthetic GHI, wind-speed and precipitation rasters; both summaries carry
    the account (installed baseline, screened, gap)."""
    inputs = ScreenInputs(
        landcover=region.landcover_2020, dem=region.dem, redline=region.redline, farmland=region.farmland,
        border=region.border, deserts=region.deserts, mines=region.mines,
        grid_lines=(region.grid_lines, region.substations), zones=region.banners, zone_field=region.zone_field,
        ghi=getattr(region, "ghi", None), wind_speed=getattr(region, "wind_speed", None),
        precipitation=getattr(region, "precipitation", None), installed=getattr(region, "installed", None),
    )
    from sinkplan.siting.folders import screen_techs, write_site

    cache = VectorCache()
    key, values = "pv.max_slope_deg", [3, 5, 10]
    with tempfile.TemporaryDirectory(prefix=".site-work-", dir=out) as work:
        pv, wind = load_profile("pv"), load_profile("wind")
        sweeps = [(key, v, prepare(inputs, with_overrides(pv, {key: v}), workdir=work, keep_rasters=False, cache=cache))
                  for v in values]
        with ctx.progress("siting pv, wind") as progress:
            acc = screen_techs([(pv, sweeps), (wind, [])], inputs, workdir=work, max_cells=ctx.block_cells(SITE_MAX_CELLS), cache=cache,
                               progress=progress)
        for tech, res in acc.results.items():
            write_site(res, out / f"site_{tech}", overwrite=True, command=f"demo:site {tech}")
    for res in acc.results.values():
        res.prepared.warn_not_checked()
    return [out / "site_pv", out / "site_wind"]


#: Old name of :func:`site_step` (DEMO_STEPS may still list ``sinkplan.cmd_site:demo_step``).
demo_step = site_step

"""``sinkplan coverage YEAR=LANDCOVER ...``: forest coverage and stock volume per zone and year.

The arithmetic is :func:`sinkplan.sinks.coverage_api.forest_coverage`; this module parses the options,
checks the inputs before the result folder is opened and writes the tables and map files.

Land area (the denominator) per zone, in this order of precedence:
``--land-area-ha`` (a total in ha, ``ZONE=HA,...`` per zone, or a CSV with ``zone,land_area_ha``),
else the zone polygon's ellipsoidal (geodesic) area when the raster maps ≥ 99.5 % of it,
else the zone's mapped area (a raster that stops inside a zone gives forest only for the
mapped part), else, without zones, the mapped area of the land-cover raster (all pixels
that are not nodata).
"""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path

import pandas as pd

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
TOTAL = "(total)"


def register(sub, common) -> None:
    p = sub.add_parser(
        "coverage", parents=[common], help="forest coverage and stock volume per zone and year, against the targets",
        description="Forest coverage (forest area ÷ land area, ellipsoidal areas) per zone and year, the annual change "
        "and the year the target is reached at that rate, and forest stock volume against its target.",
    )
    p.add_argument("landcover", nargs="+", metavar="YEAR=LANDCOVER", help="land-cover rasters, e.g. 2015=lc2015.tif 2020=lc2020.tif")
    p.add_argument("--target", default=None, help="coverage target as a fraction or percent (default: seeded policy target, 0.235 by 2025)")
    p.add_argument("--targets", default=None, metavar="FILE",
                   help="policy targets (TOML, default the packaged provincial ones, compared only for a run covering "
                   "the province) or per-zone targets (CSV: zone,indicator,value,year; indicator forest_coverage or "
                   "forest_stock_volume)")
    g = p.add_argument_group("special shrubland (国家特别规定灌木林地, 林资发〔2004〕14号): counted as forest where the data say so")
    g.add_argument("--precip", default=None, metavar="RASTER",
                   help="mean annual precipitation (mm/yr): shrub counts where it is below 400 mm (resampled bilinearly "
                   "onto the land-cover grid when on another grid)")
    g.add_argument("--precip-field", default=None, metavar="FIELD",
                   help="zone field with the county mean annual precipitation (mm): all shrub of a zone below 400 mm counts")
    g.add_argument("--shrub-cover", default=None, metavar="RASTER",
                   help="shrub cover (%%) with --precip or --precip-field: shrub counts only where cover exceeds 30 %%")
    g.add_argument("--special-shrub", default=None, metavar="LAYER",
                   help="designated special-shrubland polygons (林草一张图): shrub inside counts, the rest not")
    g.add_argument("--special-shrub-layer", default=None, metavar="NAME", help="layer of a multi-layer --special-shrub file")
    g.add_argument("--count-shrub", action="store_true",
                   help="count all shrubland (the upper bound); without data and without this or --trees-only the "
                   "coverage is reported as bounds")
    g.add_argument("--trees-only", action="store_true", help="count no shrubland (the lower bound: tree forest only)")
    p.add_argument("--extra-forest-ha", default=None, metavar="ZONE=HA,...|CSV",
                   help="forest a 30 m map misses (四旁树, 农田林网) per zone, ha: ZONE=HA,... or a CSV with "
                   "zone,extra_forest_ha (a number without zones)")
    p.add_argument("--provincial-target", action="store_true",
                   help="compare the run total with the provincial targets although the run does not cover the province")
    p.add_argument("--land-area-ha", default=None, metavar="HA|ZONE=HA,...|CSV",
                   help="official land area: a total in ha, per zone as ZONE=HA,..., or a CSV with zone,land_area_ha. "
                   "Without it a zone's land area is its polygon's ellipsoidal area, or, when the raster maps less "
                   "than 99.5 %% of the polygon, the mapped area (valid pixels, water included; with a warning), "
                   "since forest is only known where the raster is; the total is the sum of the zones")
    p.add_argument("--volume", action="append", default=[], metavar="[YEAR=]RASTER",
                   help="growing stock volume raster (m³/ha) on the land-cover grid (default year: the last)")
    p.add_argument("--volume-table", default=None, metavar="CSV",
                   help="volume per hectare by group or lucode, optionally by year and by zone (column zone) or a zone "
                   "attribute (e.g. column region): group,year,volume_m3_per_ha,source (default: the shipped Inner "
                   "Mongolia table, tree forest 77.6 m³/ha on the 2013 basis, 86.9 on the 2018 basis)")
    add_common_options(p)
    p.set_defaults(func=run)


def parse_target(text: str | None, targets_path: str | None):
    """(value, record dict) of the coverage target."""
    from sinkplan.seeds.targets import load_targets
    from sinkplan.sinks.zone_targets import is_zone_table

    targets = load_targets(None if is_zone_table(targets_path) else targets_path)
    seeded = targets.get("forest_coverage")
    if text is None:
        if seeded is None:
            raise InputError("no forest_coverage target in the targets file; pass --target 0.235")
        return seeded.value, {"key": seeded.key, "value": seeded.value, "year": seeded.year, "clause": seeded.clause,
                              "source": seeded.source}
    t = text.strip()
    try:
        value = float(t[:-1]) / 100.0 if t.endswith("%") else float(t)
    except ValueError:
        raise InputError(f"--target {text!r}: give a fraction (0.235) or a percent (23.5%)") from None
    if value > 1 and not t.endswith("%"):
        value /= 100.0  # 23.5 means 23.5 %
    if not 0 < value <= 1:
        raise InputError(f"--target {text!r}: coverage must lie in (0, 1]")
    return value, {"key": "forest_coverage", "value": value, "year": None, "clause": "--target", "source": "user"}


def parse_land_area(text: str | None, names: tuple[str, ...]) -> tuple[float | None, dict[str, float]]:
    """(total ha or None, {zone: ha}) from ``--land-area-ha``."""
    if text is None:
        return None, {}
    if Path(text).is_file():
        df = pd.read_csv(text, encoding="utf-8-sig")
        if not {"zone", "land_area_ha"} <= set(df.columns):
            raise InputError(f"{text}: a land-area CSV needs columns zone,land_area_ha; found {list(df.columns)}")
        pairs = [(str(z), v) for z, v in zip(df.zone, df.land_area_ha)]
    else:
        try:
            return _positive(float(text), "total"), {}
        except ValueError:
            pass
        pairs = []
        for part in filter(None, (s.strip() for s in text.split(","))):
            zone, sep, value = part.rpartition("=")
            if not sep:
                raise InputError(f"--land-area-ha {part!r}: write a total in ha, ZONE=HA,... or a CSV path")
            try:
                pairs.append((zone.strip(), float(value)))
            except ValueError:
                raise InputError(f"--land-area-ha {part!r}: {value!r} is not a number of hectares") from None
    out: dict[str, float] = {}
    for zone, value in pairs:
        if zone in (TOTAL, "total"):
            return _positive(value, "total"), {z: v for z, v in out.items()}
        if zone not in names:
            raise InputError(f"--land-area-ha: zone {zone!r} is not in the zone layer; zones: {', '.join(names) or '(none)'}")
        out[zone] = _positive(value, zone)
    return None, out


def _positive(value: float, what: str) -> float:
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"--land-area-ha: land area of {what} must be > 0 ha, got {value}")
    return float(value)


def parse_extra_forest(text: str | None, names: tuple[str, ...], has_zones: bool):
    """``--extra-forest-ha``: a number (without zones), ZONE=HA,... or a CSV with zone,extra_forest_ha."""
    if text is None:
        return None
    if Path(text).is_file():
        df = pd.read_csv(text, encoding="utf-8-sig")
        if not {"zone", "extra_forest_ha"} <= set(df.columns):
            raise InputError(f"{text}: an extra-forest CSV needs columns zone,extra_forest_ha; found {list(df.columns)}")
        return {str(z): float(v) for z, v in zip(df.zone, df.extra_forest_ha)}
    try:
        return float(text)
    except ValueError:
        pass
    out = {}
    for part in filter(None, (x.strip() for x in text.split(","))):
        zone, sep, value = part.rpartition("=")
        try:
            out[zone.strip()] = float(value)
        except ValueError:
            raise InputError(f"--extra-forest-ha {part!r}: write ZONE=HA,... (or a CSV path)") from None
        if not sep:
            raise InputError(f"--extra-forest-ha {part!r}: write ZONE=HA,... (or a CSV path)")
    return out


def _check_rule_data(args, grid) -> None:
    """Rule data checked before the result folder is opened (a bad raster or layer is a one-line error)."""
    from sinkplan.layers.continuous import open_continuous
    from sinkplan.sinks.coverage_tables import ShrubData, shrub_mode

    shrub_mode(args.count_shrub, args.trees_only, ShrubData(args.precip, args.precip_field, args.shrub_cover,
                                                              args.special_shrub, args.special_shrub_layer))
    for path, what in ((args.precip, "precipitation (mm/yr)"), (args.shrub_cover, "shrub cover (%)")):
        if path is not None:
            open_continuous(path, grid, what=what)


def run(args: argparse.Namespace, ctx: RunContext) -> int:
    from sinkplan.layers.grid import Grid
    from sinkplan.sinks.coverage_api import forest_coverage, load_volume_table
    from sinkplan.sinks.folders import write_coverage

    years_paths = parse_years(args.landcover)
    if len(years_paths) > 1 and years_paths[0][0] is None:
        raise InputError("several land-cover rasters: give each a year, e.g. 2015=lc2015.tif 2020=lc2020.tif")
    lcs = open_landcovers([p for _, p in years_paths], args)
    years = [y for y, _ in years_paths]
    target, _ = parse_target(args.target, args.targets)
    vol_table = load_volume_table(args.volume_table)
    vol_rasters = _volume_rasters(args.volume, years, lcs[0].grid, Grid)
    grid = lcs[0].grid
    _check_rule_data(args, grid)
    with cache_dir() as folder:
        with ctx.progress("rasterizing zones") as progress:
            strata = prepare_strata(grid, zones=args.zones, zone_field=args.zone_field, redline=args.redline,
                                    zone_layer=args.zone_layer, folder=folder, max_cells=ctx.max_cells, progress=progress)
        hierarchy = hierarchy_from(args, strata)
        extra = parse_extra_forest(args.extra_forest_ha, strata.names, strata.zones_gdf is not None)
        user_total, user_zones = parse_land_area(args.land_area_ha, strata.names[1:])
        land_area = {**user_zones, **({TOTAL: user_total} if user_total is not None else {})} if args.land_area_ha else None
        # claimed before the run: a second run with the same --out fails at once
        with ResultFolder(args.out, lang=ctx.lang, kind="coverage", command="coverage", parameters={},
                          inputs=[*(lc.path for lc in lcs), args.zones, *vol_rasters.values(), args.volume_table,
                                  args.targets], overwrite=ctx.overwrite) as rf:
            with executor(ctx) as ex, ctx.progress("coverage") as progress:
                res = forest_coverage(dict(zip(years, lcs)), strata=strata, target=None if args.target is None else target,
                                      targets=args.targets,
                                      provincial_target=args.provincial_target, count_shrub=args.count_shrub,
                                      trees_only=args.trees_only, precip=args.precip, precip_field=args.precip_field,
                                      shrub_cover=args.shrub_cover, special_shrub=args.special_shrub,
                                      special_shrub_layer=args.special_shrub_layer, extra_forest_ha=extra,
                                      zones=args.zones, zone_field=args.zone_field, zone_layer=args.zone_layer,
                                      group_by=hierarchy, land_area_ha=land_area, volume=vol_rasters,
                                      volume_table=vol_table, max_cells=ctx.max_cells, executor=ex, progress=progress,
                                      threads=pass_threads())
            rf.extra_manifest["execution"] = {"workers": ctx.workers, "scheduler": ctx.scheduler}
            write_coverage(res, rf)
    return 0


def _volume_rasters(specs: list[str], years: list, grid, Grid) -> dict:
    out = {}
    for spec in specs:
        ((year, path),) = parse_years([spec])
        year = year if year is not None else max(years, key=lambda y: y or 0)
        if year not in years:
            raise InputError(f"--volume {spec}: year {year} has no land-cover raster; years: {years}")
        grid.check_same(Grid.from_raster(path), names=("land cover", str(path)))
        out[year] = path
    return out

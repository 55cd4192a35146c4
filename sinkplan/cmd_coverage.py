"""``sinkplan coverage YEAR=LANDCOVER ...``: forest coverage and stock volume per zone and year.

Land area (the denominator) per zone, in this order of precedence:
``--land-area-ha`` (a total in ha, ``ZONE=HA,...`` per zone, or a CSV with ``zone,land_area_ha``),
else the zone polygon's ellipsoidal (geodesic) area, else, without zones, the mapped area
of the land-cover raster (all pixels that are not nodata).
"""

from __future__ import annotations

import argparse
import logging
import math
from pathlib import Path

import numpy as np
import pandas as pd

from layers.errors import InputError
from sinkplan.context import RunContext
from sinkplan.results import ResultFolder
from sinkplan.sinks_inputs import (OUTSIDE_ZONES, add_common_options, cache_dir, executor, open_landcovers, parse_years, pass_threads,
                                   prepare_strata)
from sinkplan.sinks_mapfiles import coverage_map_files

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
    p.add_argument("--targets", default=None, metavar="TOML", help="policy targets file (default: the packaged one)")
    p.add_argument("--count-shrub", action="store_true", help="count shrubland as specially designated shrub forest")
    p.add_argument("--land-area-ha", default=None, metavar="HA|ZONE=HA,...|CSV",
                   help="official land area: a total in ha, per zone as ZONE=HA,..., or a CSV with zone,land_area_ha")
    p.add_argument("--volume", action="append", default=[], metavar="[YEAR=]RASTER",
                   help="growing stock volume raster (m³/ha) on the land-cover grid (default year: the last)")
    p.add_argument("--volume-table", default=None, metavar="CSV",
                   help="volume per class (group or lucode, volume_m3_per_ha; default: the shipped Inner Mongolia table)")
    add_common_options(p)
    p.set_defaults(func=run)


def parse_target(text: str | None, targets_path: str | None):
    """(value, record dict) of the coverage target."""
    from seeds.targets import load_targets

    targets = load_targets(targets_path)
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


def run(args: argparse.Namespace, ctx: RunContext) -> int:
    from layers.geodesy import geodesic_area_m2
    from layers.grid import Grid
    from layers.landcover import check_codes
    from sinks.blocks import ClassSlots, PassSpec, run_pass
    from sinks.coverage import VolumeTable, coverage, forest_area_ha, gap_ha, trend
    from sinks.stocks import class_area_ha

    years_paths = parse_years(args.landcover)
    if len(years_paths) > 1 and years_paths[0][0] is None:
        raise InputError("several land-cover rasters: give each a year, e.g. 2015=lc2015.tif 2020=lc2020.tif")
    lcs = open_landcovers([p for _, p in years_paths], args)
    years = [y for y, _ in years_paths]
    target, target_rec = parse_target(args.target, args.targets)
    vol_table = _volume_table(args.volume_table, VolumeTable)
    vol_rasters = _volume_rasters(args.volume, years, lcs[0].grid, Grid)
    grid = lcs[0].grid
    with cache_dir() as folder:
        with ctx.progress("rasterizing zones") as progress:
            strata = prepare_strata(grid, zones=args.zones, zone_field=args.zone_field, redline=args.redline,
                                    zone_layer=args.zone_layer, folder=folder, max_cells=ctx.max_cells, progress=progress)
        has_zones = strata.zones_gdf is not None
        user_total, user_zones = parse_land_area(args.land_area_ha, strata.names[1:])
        params = {"landcover": {str(y): str(lc.path) for y, lc in zip(years, lcs)}, "scheme": lcs[0].scheme.name,
                  "zones": args.zones, "zone_field": args.zone_field, "count_shrub": args.count_shrub,
                  "target": target, "land_area_ha": args.land_area_ha, "volume": args.volume,
                  "volume_table": vol_table.origin, "workers": ctx.workers, "scheduler": ctx.scheduler}
        inputs = [lc.path for lc in lcs] + [args.zones, *[p for p in vol_rasters.values()]]
        with ResultFolder(args.out, command="coverage", parameters=params, inputs=inputs, overwrite=ctx.overwrite) as rf:
            areas, volumes = [], []
            with executor(ctx) as ex:
                for year, lc in zip(years, lcs):
                    slots = ClassSlots.build(lc.scheme, dtype=lc.dtype, nodata=(lc.nodata,))
                    vpath = vol_rasters.get(year)
                    spec = PassSpec(grid, (str(lc.path),), (slots,), None if strata.path is None else str(strata.path),
                                    strata.nzones, strata.sides, values=None if vpath is None else str(vpath))
                    with ctx.progress(f"coverage {year or ''}") as progress:
                        res = run_pass(spec, max_cells=ctx.max_cells, executor=ex, progress=progress,
                                       label=f"coverage of {lc.path.name}", threads=pass_threads())
                    check_codes(res.unknown[0], lc.scheme, lc.path)
                    a = class_area_ha(res)
                    areas.append(a)
                    groups = tuple(lc.scheme.by_code[c].group for c in slots.codes)
                    if vpath is not None:  # Σ m³/ha × m² / (10⁴ m²/ha) = m³
                        volumes.append((res.value_sum.sum(axis=tuple(range(1, res.value_sum.ndim))) / 1e4, f"raster {vpath}"))
                    else:
                        per_ha = vol_table.per_class(lc.scheme, slots.codes)
                        volumes.append(((a * per_ha).sum(axis=(1, 2)), f"table {vol_table.origin}"))
            # Land area per zone id (0: outside zones / whole map).
            mapped = np.array([a.sum(axis=(1, 2)) for a in areas]).max(axis=0)  # ha per zone id
            land = mapped.copy()
            source = ["mapped pixels"] * len(land)
            if has_zones:
                poly_ha = geodesic_area_m2(strata.zones_gdf.geometry.values, strata.zones_gdf.crs) / 1e4  # m² → ha
                land[1:] = poly_ha
                source[1:] = ["zone polygon (geodesic)"] * len(poly_ha)
                for i, name in enumerate(strata.names[1:], start=1):
                    if name in user_zones:
                        land[i], source[i] = user_zones[name], "--land-area-ha"
                    elif mapped[i] < 0.99 * land[i]:
                        logger.warning("zone %s: the raster maps %.4g ha of its %.4g ha; coverage uses the polygon area",
                                       name, mapped[i], land[i])
            rows_ids = list(range(1, len(strata.names))) if has_zones else [0]
            if has_zones and mapped[0] > 0:
                rows_ids.append(0)
            rows, totals = [], []
            forest_by_year = []
            for year, a in zip(years, areas):
                forest = forest_area_ha(a, groups, count_shrub=args.count_shrub)
                forest_by_year.append(forest)
                cov = coverage(forest, land)
                gap = gap_ha(forest, land, target)
                for z in rows_ids:
                    rows.append({"zone": strata.names[z] if has_zones else TOTAL, "year": year,
                                 "land_area_ha": float(land[z]), "forest_area_ha": float(forest[z]),
                                 "coverage": _f(cov[z]), "gap_ha": float(gap[z]), "mapped_area_ha": float(mapped[z]),
                                 "land_area_source": source[z]})
                total_land = user_total if user_total is not None else float(land[rows_ids].sum())
                total_forest = float(forest.sum())
                totals.append({"year": year, "land_area_ha": total_land, "forest_area_ha": total_forest,
                               "coverage": _f(total_forest / total_land), "gap_ha": max(0.0, target * total_land - total_forest),
                               "land_area_source": "--land-area-ha" if user_total is not None else "sum of zones"})
            df = pd.DataFrame(rows)
            trend_rows, trend_total = [], None
            if len(years) > 1:
                for z in rows_ids:
                    sub = df[df.zone == (strata.names[z] if has_zones else TOTAL)]
                    t = trend(list(sub.year), list(sub.coverage), list(sub.forest_area_ha), target)
                    trend_rows.append({"zone": sub.zone.iloc[0], **_trend_dict(t)})
                t = trend(years, [r["coverage"] for r in totals], [r["forest_area_ha"] for r in totals], target)
                trend_total = _trend_dict(t)
            vol_rows = [{"zone": strata.names[z] if has_zones else TOTAL, "year": y, "volume_m3": float(v[z]), "source": src}
                        for y, (v, src) in zip(years, volumes) for z in rows_ids]
            vol_total = [{"year": y, "volume_m3": float(v.sum()), "source": src} for y, (v, src) in zip(years, volumes)]
            vol_target = _volume_target(args.targets)
            rf.write_csv("coverage_by_zone.csv", df)
            rf.write_csv("coverage_totals.csv", pd.DataFrame(totals))
            rf.write_csv("volume_by_zone.csv", pd.DataFrame(vol_rows))
            sheets = {"coverage_by_zone": df, "coverage_totals": pd.DataFrame(totals), "volume_by_zone": pd.DataFrame(vol_rows)}
            if trend_rows:
                rf.write_csv("trend_by_zone.csv", pd.DataFrame(trend_rows))
                sheets["trend_by_zone"] = pd.DataFrame(trend_rows)
            rf.write_xlsx("coverage.xlsx", sheets)
            coverage_map_files(rf, strata=strata, by_zone=df[df.zone != OUTSIDE_ZONES] if has_zones else df.iloc[:0],
                               trend_rows=trend_rows, grid=grid)
            last_vol = vol_total[int(np.argmax([y or 0 for y in years]))]
            rf.write_json("summary.json", {
                "target": target_rec, "count_shrub": args.count_shrub,
                "forest_groups": ["forest", "shrubland"] if args.count_shrub else ["forest"],
                "zones": [{k: r[k] for k in ("zone", "year", "land_area_ha", "forest_area_ha", "coverage", "gap_ha")} for r in rows],
                "totals": totals, "trend": trend_total, "trend_by_zone": trend_rows,
                "volume": {"by_year": vol_total, "target": vol_target,
                           "share_of_target": None if vol_target is None else last_vol["volume_m3"] / vol_target["value"]},
                "units": {"area": "ha", "coverage": "fraction", "volume": "m3", "annual_change": "fraction per year"},
            })
    return 0


def _f(x: float) -> float | None:
    return None if not math.isfinite(float(x)) else float(x)


def _trend_dict(t) -> dict:
    return {"first_year": t.first_year, "last_year": t.last_year, "annual_change": t.annual_change,
            "annual_forest_change_ha": t.annual_forest_change_ha, "target_year_at_this_rate": t.target_year}


def _volume_table(path, VolumeTable):
    from importlib import resources

    if path is None:
        res = resources.files("seeds").joinpath("densities", "volume_inner_mongolia.csv")
        return VolumeTable.from_csv("seeds/densities/volume_inner_mongolia.csv", text=res.read_text("utf-8"))
    return VolumeTable.from_csv(path)


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


def _volume_target(path) -> dict | None:
    from seeds.targets import load_targets

    t = load_targets(path).get("forest_stock_volume")
    return None if t is None else {"key": t.key, "value": t.value, "unit": t.unit, "year": t.year, "clause": t.clause,
                                   "source": t.source}

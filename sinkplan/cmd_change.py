"""``sinkplan change BEFORE AFTER``: transitions, gross and net carbon change, restoration effect.

Rasters written: ``carbon_change.tif`` (float32, Mg C/ha, density after − density before,
NaN where either year is nodata) and, when every code is below 100, ``transitions.tif``
(uint16, code_before × 100 + code_after, nodata 0).
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from layers.errors import InputError
from layers.outputs import BlockWriter
from sinkplan.context import RunContext
from sinkplan.results import ResultFolder
from sinkplan.sinks_inputs import add_common_options, cache_dir, executor, open_landcovers, parse_years, pass_threads, prepare_strata
from sinkplan.sinks_mapfiles import change_map_files

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
    add_common_options(p, zones_help="zone polygons, or restoration projects with --control-ring-km")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: RunContext) -> int:
    from layers.landcover import check_codes
    from sinks.blocks import ClassSlots, PassSpec, run_pass
    from sinks.change import change_account, change_lut, group_matrix, total_change, transitions_by_code, transitions_by_group, zone_change
    from sinks.densities import load_densities
    from sinks.stocks import class_area_ha

    specs = parse_years([args.before, args.after])
    years = None if specs[0][0] is None else (specs[0][0], specs[1][0])
    if years is not None and years[1] <= years[0]:
        raise InputError(f"the after year {years[1]} must be later than the before year {years[0]}")
    lcs = open_landcovers([p for _, p in specs], args)
    grid = lcs[0].grid
    table = load_densities(args.densities)
    densities = table.resolve(lcs[0].scheme)
    slots = tuple(ClassSlots.build(lc.scheme, dtype=lc.dtype, nodata=(lc.nodata,)) for lc in lcs)
    restoration = args.control_ring_km is not None
    if restoration and args.zones is None:
        raise InputError("--control-ring-km needs --zones with the restoration project polygons")
    with cache_dir() as folder:
        pieces, projects = None, None
        zr = None
        if restoration:
            zr, pieces, projects = _restoration_zones(args, grid)
        with ctx.progress("rasterizing zones") as progress:
            strata = prepare_strata(grid, zones=args.zones, zone_field=args.zone_field, redline=args.redline,
                                    zone_layer=args.zone_layer, folder=folder, zone_rasterizer=zr,
                                    max_cells=ctx.max_cells, progress=progress)
        dens_total = densities.per_class().sum(axis=1)
        spec = PassSpec(grid, tuple(str(lc.path) for lc in lcs), slots, None if strata.path is None else str(strata.path),
                        strata.nzones, strata.sides,
                        raster_lut=None if args.no_raster else change_lut(dens_total, slots[0].slots))
        params = {"before": str(lcs[0].path), "after": str(lcs[1].path), "years": years, "scheme": lcs[0].scheme.name,
                  "densities": table.origin, "soil_depth_cm": table.soil_depth_cm, "zones": args.zones,
                  "zone_field": args.zone_field, "redline": args.redline, "control_ring_km": args.control_ring_km,
                  "workers": ctx.workers, "scheduler": ctx.scheduler}
        with ResultFolder(args.out, command="change", parameters=params,
                          inputs=[lcs[0].path, lcs[1].path, args.zones, args.redline], overwrite=ctx.overwrite) as rf:
            writer = None
            if not args.no_raster:
                writer = BlockWriter(rf.path("carbon_change.tif"), grid, "float32", nodata=float("nan"), resampling="average",
                                     tags={"units": "Mg C/ha", "quantity": "carbon density after minus before",
                                           "years": str(years), "densities": table.origin},
                                     band_description="carbon density change (Mg C/ha)")
            trans_codes = max(slots[0].codes) < 100 and not args.no_raster
            try:
                with executor(ctx) as ex, ctx.progress("change") as progress:
                    res = run_pass(spec, max_cells=ctx.max_cells, executor=ex, progress=progress, label="change",
                                   on_raster=writer.write if writer else None, threads=pass_threads())
                for lc, unknown in zip(lcs, res.unknown):
                    check_codes(unknown, lc.scheme, lc.path)
                px = res.pixels[:, :, : slots[0].n, : slots[1].n]
                densities.check_present(px.sum(axis=(0, 1, 3)) + px.sum(axis=(0, 1, 2)), path=f"{lcs[0].path} / {lcs[1].path}")
            except BaseException:
                if writer is not None:
                    writer.abort()
                raise
            if writer is not None:
                writer.close()
            if trans_codes:
                _write_transitions(rf.path("transitions.tif"), spec, lcs, ctx)
            acc = change_account(class_area_ha(res), densities.per_class(), lcs[0].scheme, slots[0].codes, years=years)
            has_zones = strata.zones_gdf is not None and not restoration
            ids = list(range(1, len(strata.names))) if has_zones else []
            if not has_zones or acc.area_ha[0].sum() > 0:
                ids.append(0)
            names = strata.names if has_zones else ("(all)",) * len(strata.names)
            summary = {"years": years, "densities": {"table": table.origin, "soil_depth_cm": table.soil_depth_cm},
                       "units": {"area": "ha", "stock": "Mg C", "annual": "Mg C/yr; Mt CO2e/yr (× 44/12)"}}
            total = total_change(acc)
            summary.update(total)
            sheets = {}
            if restoration:
                effect = _restoration_table(acc, pieces, projects, strata)
                rf.write_csv("restoration_effect.csv", effect)
                sheets["restoration_effect"] = effect
                summary["control_ring_km"] = args.control_ring_km
                summary["restoration"] = effect.to_dict("records")
            else:
                zt = zone_change(acc, ids, names)
                rf.write_csv("change_by_zone.csv", zt)
                change_map_files(rf, strata=strata, by_zone=zt, grid=grid)
                sheets["change_by_zone"] = zt
                summary["zones"] = zt.to_dict("records")
            if not restoration:
                tc, tg = transitions_by_code(acc, ids, names), transitions_by_group(acc, ids, names)
            else:
                all_ids = list(range(len(strata.names)))
                tc = transitions_by_code(change_account(acc.area_ha.sum(axis=0, keepdims=True), densities.per_class(),
                                                        lcs[0].scheme, slots[0].codes, years=years), [0], ("(all)",))
                tg = transitions_by_group(change_account(acc.area_ha[all_ids].sum(axis=0, keepdims=True), densities.per_class(),
                                                         lcs[0].scheme, slots[0].codes, years=years), [0], ("(all)",))
            rf.write_csv("transitions_by_code.csv", tc)
            rf.write_csv("transitions_by_group.csv", tg)
            matrix = group_matrix(acc, list(range(len(strata.names))))
            rf.write_csv("transition_matrix_group_ha.csv", matrix.reset_index())
            sheets.update(transitions_by_group=tg, transitions_by_code=tc, transition_matrix=matrix.reset_index())
            if strata.sides == 2:
                summary["redline"] = {"inside": total_change(acc, (slice(None), 1)), "outside": total_change(acc, (slice(None), 0))}
            rf.write_xlsx("change.xlsx", sheets)
            rf.write_json("summary.json", _clean(summary))
    return 0


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


def _restoration_zones(args, grid):
    from layers.vectors import ZoneRasterizer, read_vector
    from sinks.restoration import control_rings, disjoint_pieces

    vl = read_vector(args.zones, layer=args.zone_layer, field=args.zone_field, to_crs=grid.crs)
    gdf = vl.gdf
    key = args.zone_field
    if key is None:
        gdf = gdf.assign(_project=[str(i) for i in range(1, len(gdf) + 1)])
        key = "_project"
    projects = gdf.dissolve(by=key, sort=False, as_index=False)[[key, "geometry"]].rename(columns={key: "project"})
    projects["project"] = projects["project"].astype(str)
    rings = control_rings(projects, args.control_ring_km * 1000.0)
    import geopandas as gpd

    shapes = gpd.GeoSeries(list(projects.geometry) + list(rings), crs=projects.crs)
    pieces = disjoint_pieces(shapes)
    zr = ZoneRasterizer(pieces.gdf, grid, field="piece")
    if zr.names != tuple(pieces.gdf.piece):
        raise RuntimeError("piece order changed in rasterization")
    return zr, pieces, projects


def _restoration_table(acc, pieces, projects, strata) -> pd.DataFrame:
    from sinks.change import total_change

    n = len(projects)
    rows = []
    for i, name in enumerate(projects["project"]):
        inside = [k + 1 for k in np.flatnonzero(pieces.member[:, i])]  # zone id = piece index + 1
        ring = [k + 1 for k in np.flatnonzero(pieces.member[:, n + i])]
        a = total_change(acc, (inside,)) if inside else None
        b = total_change(acc, (ring,)) if ring else None
        row = {"project": name,
               "area_ha": a["area_ha"] if a else 0.0, "net_change_mgc": a["net_change_mgc"] if a else 0.0,
               "change_mgc_per_ha": a["net_change_mgc_per_ha"] if a else None,
               "ring_area_ha": b["area_ha"] if b else 0.0, "ring_net_change_mgc": b["net_change_mgc"] if b else 0.0,
               "ring_change_mgc_per_ha": b["net_change_mgc_per_ha"] if b else None}
        row["difference_mgc_per_ha"] = (None if row["change_mgc_per_ha"] is None or row["ring_change_mgc_per_ha"] is None
                                        else row["change_mgc_per_ha"] - row["ring_change_mgc_per_ha"])
        if acc.span_years and row["difference_mgc_per_ha"] is not None:
            row["difference_mgc_per_ha_per_yr"] = row["difference_mgc_per_ha"] / acc.span_years
        rows.append(row)
    return pd.DataFrame(rows)


def _write_transitions(path: Path, spec, lcs, ctx) -> None:
    """code_before × 100 + code_after (uint16), 0 where either year has no land class."""
    from layers.grid import open_raster

    valid = [set(s.codes) for s in spec.slots]
    with BlockWriter(path, spec.grid, "uint16", nodata=0, resampling="mode",
                     tags={"encoding": "code_before * 100 + code_after", "nodata": "0: no land class in either year"},
                     band_description="land-cover transition") as out, \
            open_raster(lcs[0].path) as a_src, open_raster(lcs[1].path) as b_src:
        for w in spec.grid.blocks(ctx.max_cells):
            a = a_src.read(1, window=w).astype(np.uint16)
            b = b_src.read(1, window=w).astype(np.uint16)
            ok = np.isin(a, list(valid[0])) & np.isin(b, list(valid[1]))
            out.write(np.where(ok, a * 100 + b, 0).astype(np.uint16), w)

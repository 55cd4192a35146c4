"""``sinkplan info PATH``: describe a raster or a vector layer."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import numpy as np

from sinkplan.layers.errors import InputFileError
from sinkplan.layers.grid import Grid, open_raster
from sinkplan.layers.landcover import class_table, open_landcover
from sinkplan.layers.schemes import parse_code_mapping
from sinkplan.context import RunContext

VECTOR_SUFFIXES = {".shp", ".gpkg", ".geojson", ".json", ".gdb", ".fgb", ".kml", ".gml", ".zip", ".tab", ".mif"}


def register(sub, common) -> None:
    p = sub.add_parser("info", parents=[common], help="describe a raster or a vector layer",
                       description="Describe a raster (CRS, shape, resolution, nodata, ellipsoidal area, classes) "
                       "or a vector layer (CRS, features, fields, encoding, repaired geometries, area).")
    p.add_argument("path", help="raster (GeoTIFF, …) or vector layer (GeoPackage, Shapefile, GeoJSON, FileGDB)")
    p.add_argument("--scheme", help="class scheme: clcd, worldcover, globeland30 or a CSV/TOML file; "
                   "codes not in it are an error unless mapped with --map-codes")
    p.add_argument("--map-codes", metavar="CODE=CODE|GROUP,...", help="map extra codes, e.g. 200=7,201=grassland")
    p.add_argument("--layer", help="layer name of a multi-layer vector file")
    p.add_argument("--encoding", help="text encoding of a shapefile's attributes (default: .cpg or detected)")
    p.add_argument("--json", action="store_true", help="print JSON instead of text")
    p.set_defaults(func=run)


def run(args: argparse.Namespace, ctx: RunContext) -> int:
    path = Path(args.path)
    if not path.exists():
        raise InputFileError(f"{path}: file not found; check the path")
    if path.suffix.lower() in VECTOR_SUFFIXES or path.is_dir():
        info = describe_vector(path, layer=args.layer, encoding=args.encoding)
    else:
        info = describe_raster(path, scheme=args.scheme, map_codes=args.map_codes, ctx=ctx)
    if args.json:
        json.dump(info, sys.stdout, ensure_ascii=False, indent=2)
        sys.stdout.write("\n")
    else:
        _print_text(info)
    return 0


def describe_raster(path: Path, *, scheme: str | None, map_codes: str | None, ctx: RunContext) -> dict[str, Any]:
    """Facts about a raster; per-class pixels and areas for an integer raster."""
    with open_raster(path) as src:
        grid = Grid.from_dataset(src, name=str(path))
        dtype = src.dtypes[0]
        info: dict[str, Any] = {
            "path": str(path),
            "kind": "raster",
            "crs": grid.crs.to_string(),
            "crs_name": grid.crs.name,
            "geographic": grid.is_geographic,
            "shape": [grid.height, grid.width],
            "bands": src.count,
            "dtype": dtype,
            "resolution": list(grid.res),
            "bounds": list(grid.bounds),
            "nodata": src.nodata,
            "block_shape": list(grid.block_shape),
        }
    info["area_ha"] = grid.total_area_m2(ctx.max_cells) / 10_000.0  # m² → ha
    if not grid.is_geographic:
        info["equal_area"] = grid.equal_area
        t = grid.transform
        info["nominal_area_ha"] = abs(t.a * t.e - t.b * t.d) * grid.size / 10_000.0
    if np.issubdtype(np.dtype(dtype), np.integer):
        mapping = parse_code_mapping(map_codes) if map_codes else None
        lc = open_landcover(path, scheme or "clcd", mapping=mapping)
        with ctx.progress(f"counting classes of {path.name}") as progress:
            table = class_table(lc, max_cells=ctx.max_cells, progress=progress, strict=scheme is not None)
        if scheme is None:
            table.loc[:, ["name_en", "name_zh", "group"]] = ""  # no scheme given: names unknown
            table = table[table.pixels > 0]
        else:
            info["scheme"] = lc.scheme.name
        info["nodata_pixels"] = int(table.attrs.get("nodata_pixels", 0))
        info["land_area_ha"] = float(table.area_ha.sum())
        info["classes"] = [
            {"code": int(r.code), "name": r.name_en, "name_zh": r.name_zh, "group": r.group,
             "pixels": int(r.pixels), "area_ha": float(r.area_ha)}
            for r in table.itertuples()
        ]
    return info


def describe_vector(path: Path, *, layer: str | None, encoding: str | None) -> dict[str, Any]:
    """Facts about a vector layer, read the way every command reads it."""
    from sinkplan.layers.geodesy import geodesic_area_m2
    from sinkplan.layers.vectors import read_vector

    vl = read_vector(path, layer=layer, encoding=encoding)
    rep = vl.report
    gdf = vl.gdf
    area = geodesic_area_m2(gdf.geometry.values, gdf.crs)
    return {
        "path": str(path),
        "kind": "vector",
        "layer": rep.layer,
        "driver": rep.driver,
        "crs": gdf.crs.to_string(),
        "crs_name": gdf.crs.name,
        "features": int(rep.n_features),
        "features_read": int(rep.n_read),
        "repaired_geometries": int(rep.n_repaired),
        "dropped_empty_geometries": int(rep.n_dropped_empty),
        "encoding": rep.encoding,
        "encoding_source": rep.encoding_source,
        "fields": list(rep.fields),
        "geometry_types": sorted(set(gdf.geom_type.dropna())),
        "bounds": [float(v) for v in gdf.total_bounds],
        "area_ha": float(area.sum()) / 10_000.0,  # m² → ha
    }


def _print_text(info: dict[str, Any]) -> None:
    skip = {"classes"}
    width = max(len(k) for k in info)
    for k, v in info.items():
        if k not in skip:
            print(f"{k:<{width}}  {v}")
    if info.get("classes"):
        print()
        print(f"{'code':>6}  {'name':<28} {'group':<10} {'pixels':>14} {'area_ha':>16}")
        for c in info["classes"]:
            name = f"{c['name_zh']} {c['name']}".strip()
            print(f"{c['code']:>6}  {name:<28} {c['group']:<10} {c['pixels']:>14,} {c['area_ha']:>16,.2f}")

"""Synthetic result folders following the result-folder contract (for tests and benchmarks).

They mimic what ``sinkplan carbon``, ``coverage``, ``change`` and ``site`` write, at any
size, around Hohhot (111–112° E, 40.5–41.5° N): rasters are written block by block through
:class:`sinkplan.layers.outputs.BlockWriter` (COG with overviews), so a 20 000 × 20 000 raster costs
bounded memory. Values are deterministic (seeded).
"""

from __future__ import annotations

import json
import shutil
from importlib import resources
from pathlib import Path

import numpy as np
from affine import Affine
from pyproj import CRS

from sinkplan.layers.grid import Grid
from sinkplan.layers.outputs import BlockWriter

__all__ = ["carbon_folder", "site_folder", "coverage_folder", "change_folder", "zone_grid", "WEST", "NORTH", "SPAN"]

WEST, NORTH, SPAN = 111.0, 41.5, 1.0  # degrees: the synthetic region's corner and size
POOLS = ("above", "below", "soil", "dead")


def _grid(size: int) -> Grid:
    res = SPAN / size
    return Grid(CRS.from_epsg(4326), Affine(res, 0, WEST, 0, -res, NORTH), size, size)


def _field(rows: np.ndarray, cols: np.ndarray, size: int) -> np.ndarray:
    """A smooth deterministic pattern in 0..1 over the region."""
    y, x = rows / size, cols / size
    return 0.5 + 0.25 * np.sin(7 * x) * np.cos(5 * y) + 0.25 * np.sin(3 * x + 2 * y)


def _write_raster(path: Path, size: int, func, dtype: str, *, nodata, resampling: str, colormap=None,
                  tags=None, max_cells: int = 4 * 1024 * 1024) -> Path:
    grid = _grid(size)
    with BlockWriter(path, grid, dtype, nodata=nodata, resampling=resampling, colormap=colormap, tags=tags) as out:
        for w in grid.blocks(max_cells):
            rows = np.arange(w.row_off, w.row_off + w.height)[:, None]
            cols = np.arange(w.col_off, w.col_off + w.width)[None, :]
            out.write(func(rows, cols, size).astype(dtype), w)
    return path


def zone_grid(n_zones: int, *, names: list[str] | None = None, vertices_per_side: int = 1):
    """A GeoDataFrame of ``n_zones`` rectangles tiling the region, field ``zone``.

    ``vertices_per_side`` > 1 adds wiggly intermediate vertices (to exercise simplification).
    """
    import geopandas as gpd
    from shapely.geometry import Polygon

    k = int(np.ceil(np.sqrt(n_zones)))
    step = SPAN / k
    geoms, zone = [], []
    rng = np.random.default_rng(7)
    for i in range(n_zones):
        r, c = divmod(i, k)
        x0, y1 = WEST + c * step, NORTH - r * step
        x1, y0 = x0 + step, y1 - step
        t = np.linspace(0, 1, vertices_per_side, endpoint=False)
        ring = ([(x0 + step * s, y1) for s in t] + [(x1, y1 - step * s) for s in t]
                + [(x1 - step * s, y0) for s in t] + [(x0, y0 + step * s) for s in t])
        if vertices_per_side > 1:
            ring = [(x + rng.normal(0, step / 200), y + rng.normal(0, step / 200)) for x, y in ring]
        geoms.append(Polygon(ring))
        zone.append(names[i] if names and i < len(names) else f"zone {i + 1:04d}")
    return gpd.GeoDataFrame({"zone": zone}, geometry=geoms, crs="EPSG:4326")


def _manifest(folder: Path, command: str) -> None:
    (folder / "manifest.json").write_text(json.dumps({"command": command, "parameters": {}}), encoding="utf-8")


def carbon_folder(folder: Path, *, size: int = 200, n_zones: int = 4, names: list[str] | None = None,
                  extra_field: str | None = None, vertices_per_side: int = 1, landcover: bool = True,
                  max_cells: int = 4 * 1024 * 1024) -> Path:
    """A carbon result folder: density raster, land-cover preview, zones, tables, redline."""
    import geopandas as gpd
    from shapely.geometry import box

    folder.mkdir(parents=True, exist_ok=True)

    def density(rows, cols, n):
        v = 20 + 130 * _field(rows, cols, n)  # Mg C/ha
        return np.where((rows < n // 20) & (cols < n // 20), -1.0, v)  # a nodata corner

    _write_raster(folder / "carbon_density.tif", size, density, "float32", nodata=-1.0, resampling="average",
                  tags={"units": "Mg C/ha"}, max_cells=max_cells)
    if landcover:
        from sinkplan.layers.schemes import load_scheme

        scheme = load_scheme("clcd")
        codes = np.array([1, 2, 3, 4, 5, 7, 8], dtype=np.uint8)

        def lc(rows, cols, n):
            return codes[np.clip((_field(rows, cols, n) * len(codes)).astype(int), 0, len(codes) - 1)]

        _write_raster(folder / "landcover_preview.tif", size, lc, "uint8", nodata=0, resampling="mode",
                      colormap=scheme.colormap(), max_cells=max_cells)
        src = resources.files("sinkplan.seeds").joinpath("schemes", "clcd.csv")
        shutil.copyfile(str(src), folder / "scheme.csv")
    zones = zone_grid(n_zones, names=names, vertices_per_side=vertices_per_side)
    zones.to_file(folder / "zones.gpkg", engine="pyogrio")
    rows, by_class = [], []
    for i, z in enumerate(zones["zone"]):
        area = 1000.0 * (i + 1)
        pools = {p: area * d for p, d in zip(POOLS, (30.0, 8.0, 60.0, 2.0))}
        row = {"zone": z, "area_ha": area, **{f"stock_mgc_{p}": v for p, v in pools.items()}}
        row["stock_mgc"] = sum(pools.values())
        row["stock_mt_co2e"] = row["stock_mgc"] * 44 / 12 / 1e6
        if extra_field:
            row["note"] = extra_field
        rows.append(row)
        by_class.append({"zone": z, "code": 2, "name_en": "Forest", "name_zh": "林地", "group": "forest",
                         "area_ha": area / 2, "stock_mgc": row["stock_mgc"] * 0.7})
    import pandas as pd

    pd.DataFrame(rows).to_csv(folder / "stocks_by_zone.csv", index=False, encoding="utf-8-sig")
    pd.DataFrame(by_class).to_csv(folder / "stocks_by_class.csv", index=False, encoding="utf-8-sig")
    total = sum(r["stock_mgc"] for r in rows)
    summary = {"area_ha": sum(r["area_ha"] for r in rows), "stock_mgc": total,
               "stock_mgc_by_pool": {p: sum(r[f"stock_mgc_{p}"] for r in rows) for p in POOLS},
               "zones": [{"zone": r["zone"], "area_ha": r["area_ha"], "stock_mgc": r["stock_mgc"]} for r in rows],
               "redline": {"inside_area_ha": 100.0, "inside_stock_mgc": 1e4, "outside_area_ha": 900.0,
                           "outside_stock_mgc": 9e4}}
    (folder / "summary.json").write_text(json.dumps(summary, ensure_ascii=False), encoding="utf-8")
    red = gpd.GeoDataFrame({"name": ["redline"]}, geometry=[box(WEST + 0.3, NORTH - 0.7, WEST + 0.6, NORTH - 0.4)],
                           crs="EPSG:4326")
    red.to_file(folder / "redline.gpkg", engine="pyogrio")
    _manifest(folder, "carbon")
    return folder


def coverage_folder(folder: Path, *, n_zones: int = 4, names: list[str] | None = None, years=(2015, 2020)) -> Path:
    """A coverage result folder: zones and per-zone coverage for each year."""
    folder.mkdir(parents=True, exist_ok=True)
    zones = zone_grid(n_zones, names=names)
    zones.to_file(folder / "zones.gpkg", engine="pyogrio")
    recs = []
    for k, year in enumerate(years):
        for i, z in enumerate(zones["zone"]):
            land = 1000.0 * (i + 1)
            cov = 0.15 + 0.05 * i + 0.01 * k
            recs.append({"zone": z, "year": year, "land_area_ha": land, "forest_area_ha": land * cov, "coverage": cov})
    (folder / "summary.json").write_text(json.dumps({"zones": recs, "target": 0.235}, ensure_ascii=False), encoding="utf-8")
    _manifest(folder, "coverage")
    return folder


def change_folder(folder: Path, *, size: int = 200, n_zones: int = 4) -> Path:
    """A change result folder as ``sinkplan change`` writes it: carbon change, transitions, zones."""
    folder.mkdir(parents=True, exist_ok=True)
    _write_raster(folder / "carbon_change.tif", size, lambda r, c, n: 40 * (_field(r, c, n) - 0.5), "float32",
                  nodata=float("nan"), resampling="average", tags={"units": "Mg C/ha"})

    def transitions(rows, cols, n):
        f = _field(rows, cols, n)
        # forest (2) → grassland (4) where f > 0.7, cropland (1) → forest (2) where f < 0.3, else unchanged 4 → 4
        return np.where(f > 0.7, 204, np.where(f < 0.3, 102, 404))

    _write_raster(folder / "transitions.tif", size, transitions, "uint16", nodata=0, resampling="mode",
                  tags={"encoding": "code_before * 100 + code_after"})
    zones = zone_grid(n_zones)
    zones.to_file(folder / "zones.gpkg", engine="pyogrio")
    summary = {"years": [2015, 2020], "zones": [{"zone": z, "net_change_mgc": -100.0 * i, "net_change_mgc_per_ha": -0.1 * i}
                                               for i, z in enumerate(zones["zone"])]}
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    (folder / "manifest.json").write_text(json.dumps({"command": "change", "parameters": {"scheme": "clcd"}}), encoding="utf-8")
    return folder


#: Exclusion rules of the synthetic siting folder, as ``sinkplan site`` lists them in summary.json.
EXCLUSION_BITS = [
    {"bit": 0, "value": 1, "rule": "redline", "description": "inside redline (redline.gpkg)"},
    {"bit": 1, "value": 2, "rule": "farmland", "description": "inside farmland (farmland.gpkg)"},
    {"bit": 2, "value": 4, "rule": "slope", "description": "slope above 3° (Horn, metres)"},
    {"bit": 3, "value": 8, "rule": "near_water", "description": "within 400 m of water land cover"},
]


def site_folder(folder: Path, *, size: int = 200, n_parcels: int = 6, names: list[str] | None = None) -> Path:
    """A siting result folder: eligible/exclusion rasters, parcels, bases, belt, grid, substations."""
    import geopandas as gpd
    from shapely.geometry import LineString, Point, box

    folder.mkdir(parents=True, exist_ok=True)

    def eligible(rows, cols, n):
        f = _field(rows, cols, n)
        return np.where(f > 0.6, 1, np.where(f > 0.5, 2, 0))

    def exclusions(rows, cols, n):
        f = _field(rows, cols, n)
        bits = np.where(f <= 0.5, 1, 0) | np.where(f < 0.3, 4, 0) | np.where(cols < n // 10, 2, 0)
        return np.where(eligible(rows, cols, n) > 0, 0, np.maximum(bits, 8 * (bits == 0)))

    _write_raster(folder / "eligible.tif", size, eligible, "uint8", nodata=None, resampling="mode",
                  tags={"codes": "0 excluded, 1 desert, 2 border, 3 mine, 4 other eligible"})
    _write_raster(folder / "exclusions.tif", size, exclusions, "uint16", nodata=None, resampling="mode")
    step = SPAN / (n_parcels + 1)
    geoms = [box(WEST + step * i, NORTH - 0.2, WEST + step * i + step * 0.6, NORTH - 0.1) for i in range(n_parcels)]
    parcels = gpd.GeoDataFrame({
        "parcel_id": np.arange(1, n_parcels + 1),
        "zone_type": ["desert" if i % 2 else "border" for i in range(n_parcels)],
        "admin_zone": [(names[i % len(names)] if names else f"zone {i % 3 + 1}") for i in range(n_parcels)],
        "area_ha": 100.0 + np.arange(n_parcels),
        "capacity_mw": 34.0 * (100.0 + np.arange(n_parcels)) / 100,
        "slope_mean_deg": 1.5, "slope_max_deg": 2.9, "distance_to_grid_km": 3.2, "stock_mgc": 120.0,
        "compactness": 0.8, "score": np.linspace(0.2, 0.9, n_parcels), "rank": np.arange(n_parcels, 0, -1),
    }, geometry=geoms, crs="EPSG:4326")
    parcels.to_file(folder / "parcels.gpkg", engine="pyogrio")
    bases = gpd.GeoDataFrame({"base_id": [1], "capacity_mw": [float(parcels.capacity_mw.sum())], "n_parcels": [n_parcels]},
                             geometry=[box(WEST, NORTH - 0.25, WEST + SPAN, NORTH - 0.05)], crs="EPSG:4326")
    bases.to_file(folder / "bases.gpkg", engine="pyogrio")
    gpd.GeoDataFrame({"width_km": [20.0]}, geometry=[box(WEST, NORTH - 0.15, WEST + SPAN, NORTH)], crs="EPSG:4326") \
        .to_file(folder / "border_belt.gpkg", engine="pyogrio")
    gpd.GeoDataFrame({"kv": [500]}, geometry=[LineString([(WEST, NORTH - 0.5), (WEST + SPAN, NORTH - 0.45)])], crs="EPSG:4326") \
        .to_file(folder / "grid_lines.gpkg", engine="pyogrio")
    gpd.GeoDataFrame({"name": ["Sub A"]}, geometry=[Point(WEST + 0.5, NORTH - 0.47)], crs="EPSG:4326") \
        .to_file(folder / "substations.gpkg", engine="pyogrio")
    cap = float(parcels.capacity_mw.sum())
    summary = {"eligible_area_ha": float(parcels.area_ha.sum()), "capacity_mw": cap, "parcels": n_parcels,
               "by_zone_type": {"desert": {"area_ha": 300.0, "capacity_mw": cap * 0.6},
                                "border": {"area_ha": 200.0, "capacity_mw": cap * 0.4}},
               "target_mw": 200000.0, "share_of_target": cap / 200000.0, "exclusion_bits": EXCLUSION_BITS,
               "eligible_codes": {"0": "excluded", "1": "desert", "2": "border", "3": "mine", "4": "other"}}
    (folder / "summary.json").write_text(json.dumps(summary), encoding="utf-8")
    _manifest(folder, "site")
    return folder

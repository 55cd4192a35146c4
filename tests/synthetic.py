"""Synthetic result folders for the map tests and benchmarks, written by the library's own writers.

Each function builds small synthetic inputs (a land-cover raster on a lon/lat grid around
Hohhot, 111–112° E, 40.5–41.5° N, zone and redline polygons) beside the folder
(``<folder>_inputs``), makes the result record the API would return with hand-chosen tables
(so a test knows every figure), and writes it with
:func:`sinkplan.sinks.folders.write_carbon`, :func:`~sinkplan.sinks.folders.write_coverage`,
:func:`~sinkplan.sinks.folders.write_change` or :func:`sinkplan.siting.folders.write_site`:
the folders keep the result-folder contract by construction. Rasters are written block by
block, so a 20 000 × 20 000 region costs bounded memory. Values are deterministic.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
from affine import Affine
from pyproj import CRS

from sinkplan.layers.grid import Grid
from sinkplan.layers.outputs import BlockWriter

__all__ = ["carbon_folder", "site_folder", "coverage_folder", "change_folder", "zone_grid", "EXCLUSION_BITS",
           "WEST", "NORTH", "SPAN"]

WEST, NORTH, SPAN = 111.0, 41.5, 1.0  # degrees: the synthetic region's corner and size
POOLS = ("above", "below", "soil", "dead")
#: CLCD codes of the synthetic land cover along the pattern's 0..1 range (water, cropland, grassland,
#: forest, shrub, barren, impervious): the middle of the region is forest, as a map reviewer sees it.
CODES = np.array([5, 1, 4, 2, 3, 7, 8], dtype=np.uint8)


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


def _inputs(folder: Path) -> Path:
    d = folder.with_name(f".{folder.name}_inputs")  # hidden: not a result folder beside the results
    d.mkdir(parents=True, exist_ok=True)
    return d


def _landcover(path: Path, size: int, func=None, *, max_cells: int = 4 * 1024 * 1024):
    """A CLCD land-cover raster (nodata 0 in the north-west corner) opened as LandCover."""
    from sinkplan.layers.landcover import open_landcover

    def pattern(rows, cols, n):
        codes = CODES[np.clip((_field(rows, cols, n) * len(CODES)).astype(int), 0, len(CODES) - 1)]
        return np.where((rows < n // 20) & (cols < n // 20), 0, codes)  # a nodata corner

    _write_raster(path, size, func or pattern, "uint8", nodata=0, resampling="mode", max_cells=max_cells)
    return open_landcover(path, "clcd")


def zone_grid(n_zones: int, *, names: list[str] | None = None, vertices_per_side: int = 1):
    """A GeoDataFrame of ``n_zones`` rectangles tiling the region, field ``zone``.

    ``vertices_per_side`` > 1 adds wiggly intermediate vertices (to exercise simplification).
    """
    from shapely.geometry import Polygon

    k = int(np.ceil(np.sqrt(n_zones)))
    step = SPAN / k
    geoms, zone = [], []
    for i in range(n_zones):
        r, c = divmod(i, k)
        x0, y1 = WEST + c * step, NORTH - r * step
        x1, y0 = x0 + step, y1 - step
        t = np.linspace(0, 1, vertices_per_side, endpoint=False)
        ring = ([(x0 + step * s, y1) for s in t] + [(x1, y1 - step * s) for s in t]
                + [(x1 - step * s, y0) for s in t] + [(x0, y0 + step * s) for s in t])
        if vertices_per_side > 1:  # one smooth warp of the plane: neighbours keep sharing their edges
            a = step / 200
            ring = [(x + a * np.sin(97 * y), y + a * np.sin(89 * x)) for x, y in ring]
        geoms.append(Polygon(ring))
        zone.append(names[i] if names and i < len(names) else f"zone {i + 1:04d}")
    return gpd.GeoDataFrame({"zone": zone}, geometry=geoms, crs="EPSG:4326")


def _strata(inputs: Path, grid: Grid, zones: gpd.GeoDataFrame | None, redline: gpd.GeoDataFrame | None = None):
    """The zones (and redline) rasterized on ``grid`` the way the commands do (prepare_strata)."""
    from sinkplan.sinks.strata import prepare_strata

    zpath = rpath = None
    if zones is not None:
        zpath = inputs / "zones.gpkg"
        zones.to_file(zpath, engine="pyogrio")
    if redline is not None:
        rpath = inputs / "redline.gpkg"
        redline.to_file(rpath, engine="pyogrio")
    return prepare_strata(grid, zones=zpath, zone_field="zone" if zpath else None, redline=rpath,
                          folder=inputs / "cache")


def carbon_folder(folder: Path, *, size: int = 200, n_zones: int = 4, names: list[str] | None = None,
                  extra_field: str | None = None, vertices_per_side: int = 1, landcover: bool = True,
                  max_cells: int = 4 * 1024 * 1024) -> Path:
    """A carbon result folder (write_carbon): density raster and land-cover preview from a
    synthetic CLCD raster, zones, redline, and tables whose zone i has area 1000·i ha and
    pools 30/8/60/2 Mg C/ha (100 in all); ``extra_field`` names a class of zone 1.
    ``landcover`` is accepted for older callers; the preview is always written."""
    from shapely.geometry import box

    from sinkplan.sinks.api import CarbonResult
    from sinkplan.sinks.densities import load_densities
    from sinkplan.sinks.folders import write_carbon

    inputs = _inputs(folder)
    lc = _landcover(inputs / "landcover.tif", size, max_cells=max_cells)
    zones = zone_grid(n_zones, names=names, vertices_per_side=vertices_per_side)
    red = gpd.GeoDataFrame({"name": ["redline"]}, geometry=[box(WEST + 0.3, NORTH - 0.7, WEST + 0.6, NORTH - 0.4)],
                           crs="EPSG:4326")
    strata = _strata(inputs, lc.grid, zones, red)
    rows, by_class = [], []
    for i, z in enumerate(zones["zone"]):
        area = 1000.0 * (i + 1)
        pools = {p: area * d for p, d in zip(POOLS, (30.0, 8.0, 60.0, 2.0))}  # ha × Mg C/ha
        row = {"zone": z, "area_ha": area, **{f"stock_mgc_{p}": v for p, v in pools.items()}}
        row["stock_mgc"] = sum(pools.values())
        row["stock_mt_co2e"] = row["stock_mgc"] * 44 / 12 / 1e6
        rows.append(row)
        by_class.append({"zone": z, "code": 2, "name_en": "Forest", "name_zh": "林地", "group": "forest",
                         "area_ha": area / 2, "stock_mgc": row["stock_mgc"] * 0.7})
        if extra_field and i == 0:  # text from the data shown in a popup (a class named by the user)
            by_class.append({"zone": z, "code": 9, "name_en": extra_field, "name_zh": extra_field, "group": "wetland",
                             "area_ha": 1.0, "stock_mgc": 1.0})
    total = sum(r["stock_mgc"] for r in rows)
    summary = {"area_ha": sum(r["area_ha"] for r in rows), "stock_mgc": total,
               "stock_mgc_by_pool": {p: sum(r[f"stock_mgc_{p}"] for r in rows) for p in POOLS},
               "zones": [{"zone": r["zone"], "area_ha": r["area_ha"], "stock_mgc": r["stock_mgc"]} for r in rows],
               "redline": {"inside_area_ha": 100.0, "inside_stock_mgc": 1e4, "outside_area_ha": 900.0,
                           "outside_stock_mgc": 9e4}}
    res = CarbonResult(by_zone=pd.DataFrame(rows), by_class=pd.DataFrame(by_class), summary=summary, account=None,
                       monte_carlo=None, strata=strata, landcover=lc, densities=load_densities(None), nblocks=0,
                       timings_s={}, parameters={"landcover": str(lc.path), "scheme": "clcd", "synthetic": True,
                                                 "max_cells": max_cells})
    return write_carbon(res, folder, overwrite=True, max_cells=max_cells)


def coverage_folder(folder: Path, *, n_zones: int = 4, names: list[str] | None = None, years=(2015, 2020),
                    target: tuple[float, int] | None = (0.235, 2025)) -> Path:
    """A coverage result folder (write_coverage): zone i has land 1000·i ha and coverage
    0.15 + 0.05·i + 0.01·k in year k; target (value, year) 0.235 by 2025 unless given (None:
    the run compared against no target)."""
    from sinkplan.sinks.coverage_api import CoverageResult
    from sinkplan.sinks.folders import write_coverage

    inputs = _inputs(folder)
    lc = _landcover(inputs / "landcover.tif", 20)
    zones = zone_grid(n_zones, names=names)
    strata = _strata(inputs, lc.grid, zones)
    recs = []
    for k, year in enumerate(years):
        for i, z in enumerate(zones["zone"]):
            land = 1000.0 * (i + 1)
            cov = 0.15 + 0.05 * i + 0.01 * k
            recs.append({"zone": z, "year": year, "land_area_ha": land, "forest_area_ha": land * cov, "coverage": cov,
                         "gap_ha": max(0.0, ((target[0] if target else 0.0) - cov) * land),
                         "land_area_source": "synthetic"})
    by_zone = pd.DataFrame(recs)
    totals = by_zone.groupby("year", as_index=False)[["land_area_ha", "forest_area_ha"]].sum()
    totals["coverage"] = totals["forest_area_ha"] / totals["land_area_ha"]
    if target is not None:
        target = {"key": "forest_coverage", "value": target[0], "year": target[1], "clause": "synthetic",
                  "source": "synthetic"}
    keys = ("zone", "year", "land_area_ha", "forest_area_ha", "coverage", "gap_ha")
    summary = {"target": target, "zones": [{k: r[k] for k in keys} for r in recs], "totals": totals.to_dict("records"),
               "trend_by_zone": []}
    res = CoverageResult(by_zone=by_zone, totals=totals, trend_by_zone=pd.DataFrame(),
                         volume_by_zone=pd.DataFrame(columns=["zone", "year", "volume_m3", "source"]),
                         volume_change=pd.DataFrame(), summary=summary, strata=strata, grid=lc.grid,
                         parameters={"synthetic": True})
    return write_coverage(res, folder, overwrite=True)


def change_folder(folder: Path, *, size: int = 200, n_zones: int = 4) -> Path:
    """A change result folder (write_change), 2015 → 2020: forest (2) → grassland (4) where the
    pattern is above 0.7, cropland (1) → forest (2) below 0.3, grassland unchanged elsewhere."""
    from sinkplan.sinks.change_api import ChangeResult
    from sinkplan.sinks.densities import load_densities
    from sinkplan.sinks.folders import write_change

    inputs = _inputs(folder)

    def before(rows, cols, n):
        f = _field(rows, cols, n)
        return np.where(f > 0.7, 2, np.where(f < 0.3, 1, 4))

    def after(rows, cols, n):
        f = _field(rows, cols, n)
        return np.where(f > 0.7, 4, np.where(f < 0.3, 2, 4))

    lcs = (_landcover(inputs / "lc2015.tif", size, before), _landcover(inputs / "lc2020.tif", size, after))
    zones = zone_grid(n_zones)
    strata = _strata(inputs, lcs[0].grid, zones)
    # zone i: sequestration -100·i Mg C over 1000 ha = -0.1·i Mg C/ha
    zrows = [{"zone": z, "area_ha": 1000.0, "sequestration_mgc": -100.0 * i, "sequestration_mgc_per_ha": -0.1 * i}
             for i, z in enumerate(zones["zone"])]
    groups = ["cropland", "forest", "grassland"]
    matrix = pd.DataFrame(np.zeros((3, 3)), index=pd.Index(groups, name="before \\ after"), columns=groups)
    summary = {"years": [2015, 2020], "zones": zrows}
    res = ChangeResult(by_zone=pd.DataFrame(zrows),
                       transitions_by_code=pd.DataFrame(columns=["zone", "code_before", "code_after", "area_ha"]),
                       transitions_by_group=pd.DataFrame(columns=["zone", "group_before", "group_after", "area_ha"]),
                       transition_matrix=matrix, summary=summary, account=None, strata=strata, landcovers=lcs,
                       densities=load_densities(None), parameters={"years": [2015, 2020], "synthetic": True})
    return write_change(res, folder, overwrite=True)


#: Exclusion rules of the synthetic siting folder, as ``sinkplan site`` lists them in summary.json.
EXCLUSION_BITS = [
    {"bit": 0, "value": 1, "rule": "redline", "description": "inside redline (redline.gpkg)"},
    {"bit": 1, "value": 2, "rule": "farmland", "description": "inside farmland (farmland.gpkg)"},
    {"bit": 2, "value": 4, "rule": "slope", "description": "slope above 3° (Horn, metres)"},
    {"bit": 3, "value": 8, "rule": "near_water", "description": "within 400 m of water land cover"},
]


def site_folder(folder: Path, *, size: int = 200, n_parcels: int = 6, names: list[str] | None = None,
                target: tuple[float, int] = (200_000.0, 2030), colormap: dict | None = None) -> Path:
    """A siting result folder (write_site): eligible (desert where the pattern is above 0.6,
    border above 0.5) and exclusion rasters, ``n_parcels`` parcels (parcel i: 100 + i ha,
    34 MW/km², rank n − i), one base, border belt, a transmission line and a substation;
    compared against ``target`` (MW, year), 200 GW by 2030 unless given; ``eligible.tif``'s
    colour table is the spec's unless ``colormap`` is given."""
    from shapely.geometry import LineString, Point, box

    from sinkplan.layers import resultspec as rs
    from sinkplan.siting.folders import SiteResult, write_site
    from sinkplan.siting.screen import PARCEL_COLUMNS, SUPPLY_COLUMNS

    work = _inputs(folder)

    def eligible(rows, cols, n):
        f = _field(rows, cols, n)
        return np.where(f > 0.6, 1, np.where(f > 0.5, 2, 0))

    def exclusions(rows, cols, n):
        f = _field(rows, cols, n)
        bits = np.where(f <= 0.5, 1, 0) | np.where(f < 0.3, 4, 0) | np.where(cols < n // 10, 2, 0)
        return np.where(eligible(rows, cols, n) > 0, 0, np.maximum(bits, 8 * (bits == 0)))

    rasters = {
        rs.ELIGIBLE.name: _write_raster(work / rs.ELIGIBLE.name, size, eligible, "uint8", nodata=None,
                                        resampling="mode", colormap=colormap or rs.eligible_colormap()),
        rs.EXCLUSIONS.name: _write_raster(work / rs.EXCLUSIONS.name, size, exclusions, "uint16", nodata=None,
                                          resampling="mode"),
        rs.PARCELS_TIF.name: _write_raster(work / rs.PARCELS_TIF.name, size, lambda r, c, n: eligible(r, c, n) > 0,
                                           "uint32", nodata=0, resampling="mode"),
    }
    step = SPAN / (n_parcels + 1)
    geoms = [box(WEST + step * i, NORTH - 0.2, WEST + step * i + step * 0.6, NORTH - 0.1) for i in range(n_parcels)]
    area = 100.0 + np.arange(n_parcels)
    table = pd.DataFrame({c: np.nan for c in PARCEL_COLUMNS}, index=range(n_parcels))
    table = table.assign(
        parcel_id=np.arange(1, n_parcels + 1), zone_type=["desert" if i % 2 else "border" for i in range(n_parcels)],
        admin_zone=[(names[i % len(names)] if names else f"zone {i % 3 + 1}") for i in range(n_parcels)],
        area_ha=area, capacity_mw=34.0 * area / 100,  # ha / 100 = km²; × 34 MW/km²
        slope_mean_deg=1.5, slope_max_deg=2.9, distance_to_grid_km=3.2, stock_mgc=120.0, compactness=0.8,
        score=np.linspace(0.2, 0.9, n_parcels), rank=np.arange(n_parcels, 0, -1), base_id=1, not_checked="",
        terrain_class="I", pixels=100)
    parcels = gpd.GeoDataFrame(table, geometry=geoms, crs="EPSG:4326")
    cap = float(parcels.capacity_mw.sum())
    bases = gpd.GeoDataFrame({"base_id": [1], "parcels": [n_parcels], "members": [",".join(map(str, table.parcel_id))],
                              "area_ha": [float(area.sum())], "capacity_mw": [cap], "zone_types": ["border,desert"],
                              "admin_zones": [""], "best_rank": [1], "mean_score": [float(table.score.mean())]},
                             geometry=[box(WEST, NORTH - 0.25, WEST + SPAN, NORTH - 0.05)], crs="EPSG:4326")
    layers = {
        rs.BORDER_BELT.name: gpd.GeoDataFrame({"width_m": [20_000.0], "width_km": [20.0], "area_ha": [1.0]},
                                              geometry=[box(WEST, NORTH - 0.15, WEST + SPAN, NORTH)], crs="EPSG:4326"),
        rs.GRID_LINES.name: gpd.GeoDataFrame({"kv": [500], "source_file": ["lines.gpkg"]},
                                             geometry=[LineString([(WEST, NORTH - 0.5), (WEST + SPAN, NORTH - 0.45)])],
                                             crs="EPSG:4326"),
        rs.SUBSTATIONS.name: gpd.GeoDataFrame({"name": ["Sub A"], "source_file": ["subs.gpkg"]},
                                              geometry=[Point(WEST + 0.5, NORTH - 0.47)], crs="EPSG:4326"),
    }
    summary = {"eligible_area_ha": float(area.sum()), "capacity_mw": cap, "parcels": n_parcels,
               "by_zone_type": {"desert": {"parcels": n_parcels // 2, "area_ha": 300.0, "capacity_mw": cap * 0.6},
                                "border": {"parcels": n_parcels - n_parcels // 2, "area_ha": 200.0,
                                           "capacity_mw": cap * 0.4}},
               "target_key": "new_energy_capacity", "target_mw": target[0], "target_year": target[1],
               "share_of_target": cap / target[0], "exclusion_bits": EXCLUSION_BITS,
               "eligible_codes": {str(k): v for k, v in rs.ELIGIBLE_CODES.items()}, "not_checked": []}
    supply = pd.DataFrame(columns=list(SUPPLY_COLUMNS))
    record = {"key": "new_energy_capacity", "value": target[0] / 1000.0, "unit": "GW", "year": target[1],
              "comparison": ">", "clause": "synthetic", "source": "synthetic"}  # MW / 1000 = GW
    res = SiteResult(parcels=parcels, bases=bases, summary=summary, sweep=None, rasters=rasters, layers=layers,
                     prepared=None, parameters={"synthetic": True}, supply=supply, turbines=None, targets=[record])
    return write_site(res, folder, overwrite=True)

"""Helpers for the sinks tests: tiny rasters, polygons and CLI runs (imported by test_sinks_*.py)."""

from __future__ import annotations

import json
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
from affine import Affine
from shapely.geometry import box

from sinkplan.layers import resultspec as rs
from sinkplan.cli import main

INVEST_CSV = (
    "lucode,LULC_name,c_above,c_below,c_soil,c_dead,extra\n"
    "1,cropland,3,1,35,0.5,x\n"
    "2,forest,15,10,60,1,x\n"  # 15 + 10 + 60 + 1 = 86 Mg C/ha
    "3,shrub,4,3,40,0.5,x\n"
    "4,grass,1,4,50,0.2,x\n"
    "5,water,0,0,0,0,x\n"
    "6,snow,0,0,0,0,x\n"
    "7,barren,0.1,0.1,15,0,x\n"
    "8,built,0,0,0,0,x\n"
    "9,wetland,2,3,75,1,x\n"
)
INVEST_DENSITY = {1: 39.5, 2: 86.0, 3: 47.5, 4: 55.2, 5: 0.0, 6: 0.0, 7: 15.2, 8: 0.0, 9: 81.0}


def write_tif(path: Path, array: np.ndarray, *, crs="EPSG:4326", transform: Affine, nodata=0, block: int | None = None) -> Path:
    array = np.asarray(array)
    profile = dict(driver="GTiff", width=array.shape[1], height=array.shape[0], count=1, dtype=array.dtype.name,
                   crs=crs, transform=transform, nodata=nodata)
    if block:
        profile.update(tiled=True, blockxsize=block, blockysize=block)
    with rasterio.open(path, "w", **profile) as dst:
        dst.write(array, 1)
    return path


#: An equal-area Albers CRS and a 30 m transform in it: a pixel is 0.09 ha exactly.
ALBERS_EA = "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +ellps=WGS84 +units=m"
T_ALBERS_30M = Affine(30, 0, 500000, 0, -30, 4500000)


def write_forest_shrub_grass(path: Path) -> Path:
    """100 × 100 px of CLCD codes on :data:`T_ALBERS_30M` (900 ha): columns 0-19 forest (2, 180 ha),
    20-29 shrub (3, 90 ha), the rest grassland (4, 630 ha)."""
    a = np.full((100, 100), 4, np.uint8)
    a[:, :20] = 2
    a[:, 20:30] = 3
    return write_tif(path, a, crs=ALBERS_EA, transform=T_ALBERS_30M)


def write_polys(path: Path, rects: list[tuple[float, float, float, float]], *, crs="EPSG:4326", **fields) -> Path:
    gdf = gpd.GeoDataFrame(dict(fields), geometry=[box(*r) for r in rects], crs=crs)
    gdf.to_file(path, driver="GPKG")
    return path


def run_cli(args: list[str], capsys) -> tuple[int, str]:
    """Run ``sinkplan ARGS --quiet``; return (exit code, stderr)."""
    code = main([*args, "--quiet"])
    err = capsys.readouterr().err
    return code, err


def summary(folder: Path) -> dict:
    return json.loads((Path(folder) / rs.SUMMARY.name).read_text("utf-8"))


def assert_one_line_error(code: int, err: str, match: str, out: Path) -> None:
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith(("INFO", "WARNING"))]
    assert code == 2, err
    assert len(lines) == 1, err
    assert match in lines[0], lines[0]
    assert not out.exists()
    assert not list(out.parent.glob(f".{out.name}.tmp-*"))

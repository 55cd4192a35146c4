"""``site`` screens in smaller blocks than the counting passes unless --max-cells is given.

A site block holds many full-block arrays at once (up to 296 MB at 4 Mi cells on the 6 Gpx
benchmark), so its default budget is :data:`SITE_MAX_CELLS` = 1 Mi cells; ``--max-cells``
still decides when given. The parcels do not depend on the blocks.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import rasterio
from affine import Affine
from shapely.geometry import box

from sinkplan.cli import main
from sinkplan.layers import resultspec as rs
from sinkplan.layers.limits import DEFAULT_MAX_CELLS, SITE_MAX_CELLS

W, H, RES, LON0, LAT0 = 40, 30, 0.002, 110.0, 42.1


def _region(d):
    t = Affine(RES, 0, LON0, 0, -RES, LAT0)
    lc = np.full((H, W), 7, dtype=np.uint8)  # CLCD 7 barren: desert zone
    lc[:, 20] = 5  # a column of CLCD 5 (water) cuts the land into two parcels of 20 and 19 columns
    for name, arr, dtype in (("lc.tif", lc, "uint8"), ("dem.tif", np.full((H, W), 1000, np.int16), "int16")):
        with rasterio.open(d / name, "w", driver="GTiff", width=W, height=H, count=1, dtype=dtype, crs="EPSG:4326",
                           transform=t, nodata=0 if dtype == "uint8" else -32768) as dst:
            dst.write(arr, 1)
    gpd.GeoDataFrame({"id": [1]}, geometry=[box(120.0, 30.0, 120.01, 30.01)], crs=4326).to_file(d / "far.gpkg")


def _site(d, out, *extra):
    return main(["site", "-q", "--landcover", str(d / "lc.tif"), "--dem", str(d / "dem.tif"), "--redline",
                 str(d / "far.gpkg"), "--farmland", str(d / "far.gpkg"), "--set", "pv.max_parcel_area_ha=100000", "--out", str(out), *extra])


def test_site_default_block_budget_and_max_cells_override(tmp_path):
    assert SITE_MAX_CELLS == DEFAULT_MAX_CELLS // 4 == 1_048_576
    _region(tmp_path)
    assert _site(tmp_path, tmp_path / "a") == 0
    assert _site(tmp_path, tmp_path / "b", "--max-cells", "1024") == 0  # 32 × 32 blocks: 2 × 1 of them here
    params = [json.loads((tmp_path / k / "manifest.json").read_text("utf-8"))["parameters"]["max_cells"] for k in "ab"]
    assert params == [SITE_MAX_CELLS, 1024]
    # the same two parcels (20 and 19 columns of 30 rows; the water column between them) either way
    pa, pb = (gpd.read_file(tmp_path / k / rs.PARCELS_GPKG.name) for k in "ab")
    assert len(pa) == len(pb) == 2
    assert sorted(pa["pixels"]) == sorted(pb["pixels"]) == [19 * 30, 20 * 30]

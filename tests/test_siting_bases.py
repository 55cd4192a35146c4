"""Candidate bases: parcels chaining within the base distance edge to edge (single linkage)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.windows import Window
from shapely.geometry import box

from sinkplan.siting.prepare import ScreenInputs, prepare
from sinkplan.siting.profile import load_profile, with_overrides
from siting_util import LEGACY_PV
from sinkplan.siting.scoring import cluster_bases
from sinkplan.siting.screen import run_screen

W, H, RES, LON0, LAT0 = 40, 24, 0.00271, 110.3137, 42.0713  # ~224 m × 301 m pixels


def test_cluster_bases_hand_cases():
    # 3 km long bars: centroids 3 km apart, edges touching → one base at d = 1 km
    a, b = box(0, 0, 3000, 100), box(3000, 0, 6000, 100)
    c = box(0, 1200, 3000, 1300)  # 1100 m above a: beyond 1 km
    d = box(6900, 0, 7000, 100)  # 900 m right of b: within 1 km, 4 km from b's centroid
    assert cluster_bases(np.array([a, b, c, d]), 1000.0).tolist() == [0, 0, 1, 0]
    # chaining: each gap ≤ d joins, though the ends are far apart
    chain = np.array([box(i * 1500, 0, i * 1500 + 600, 10) for i in range(5)])  # 900 m gaps
    assert cluster_bases(chain, 1000.0).tolist() == [0] * 5
    assert cluster_bases(chain, 899.0).tolist() == [0, 1, 2, 3, 4]
    assert cluster_bases(np.empty(0, dtype=object), 1000.0).tolist() == []


def test_touching_desert_and_mine_land_is_one_parcel_and_a_far_block_another_base(tmp_path):
    lc = np.full((H, W), 4, dtype=np.uint8)  # grassland: outside every zone
    lc[2:8, 3:35] = 7  # one barren strip: desert west of col 20, mine (wins ties) from col 20
    lc[14:20, 3:10] = 7  # 6 rows (≈ 1.8 km) south of the strip: another base
    with rasterio.open(tmp_path / "lc.tif", "w", driver="GTiff", width=W, height=H, count=1, dtype="uint8",
                       crs="EPSG:4326", transform=Affine(RES, 0, LON0, 0, -RES, LAT0), nodata=0) as dst:
        dst.write(lc, 1)
    far = box(120, 10, 120.1, 10.1)
    mine = box(LON0 + 20 * RES, LAT0 - 8 * RES, LON0 + 35 * RES, LAT0 - 2 * RES)  # the mine zone takes any non-excluded land
    for name, g in (("far", far), ("mines", mine)):
        gpd.GeoDataFrame({"id": [0]}, geometry=[g], crs="EPSG:4326").to_file(tmp_path / f"{name}.gpkg")
    inputs = ScreenInputs(landcover=tmp_path / "lc.tif", redline=tmp_path / "far.gpkg",
                          farmland=tmp_path / "far.gpkg", mines=tmp_path / "mines.gpkg")
    prof = with_overrides(load_profile("pv"), {**LEGACY_PV, "pv.min_parcel_area_ha": 20, "bases.distance_m": 1000})
    prep = prepare(inputs, prof, workdir=tmp_path)
    res = run_screen(prep, workdir=tmp_path, exclusions_path=tmp_path / "ex.tif", eligible_path=tmp_path / "el.tif",
                     parcels_raster_path=tmp_path / "pa.tif", max_cells=W * H)
    p = res.parcels.set_index("parcel_id")
    # parcel ids by first pixel: 1 the strip (row 2, col 3: desert cols 3-19 and mine cols 20-34 in one
    # parcel of connected land), 2 the southern block
    assert p.zone_type.tolist() == ["desert", "desert"]  # the strip: 17 desert columns > 15 mine columns
    assert p.pixels.tolist() == [6 * 32, 6 * 7]
    # the same rows, so the parts are 17 and 15 columns of the same row areas
    row_ha = prep.grid.row_areas_m2(Window(0, 2, W, 6)).sum() / 1e4
    assert p.loc[1, "area_ha_desert"] == pytest.approx(17 * row_ha, rel=1e-12)
    assert p.loc[1, "area_ha_mine"] == pytest.approx(15 * row_ha, rel=1e-12)
    assert p.loc[1, "area_ha"] == pytest.approx(32 * row_ha, rel=1e-12)
    # the southern block is ≈ 1.8 km from the strip, beyond the 1 km base distance
    b = res.bases.set_index("base_id")
    assert sorted(b.members) == ["1", "2"]

"""site summary: the raster's total area, its nodata and the land screened, apart.

``total_area_ha`` counts every pixel of the land-cover raster (a bounding box's nodata
included), so "X ha screened" overstated the land: ``nodata_area_ha`` and ``mapped_area_ha``
stand beside it."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
from shapely.geometry import box
from sinks_util import ALBERS_EA, T_ALBERS_30M, write_tif

from sinkplan.cli import main
from sinkplan.layers import resultspec as rs


def test_nodata_is_apart_from_the_land_screened(tmp_path):
    a = np.full((100, 100), 7, np.uint8)  # CLCD 7 barren: the desert zone, all eligible
    a[:, :20] = 0  # columns 0-19 nodata (0): 20 × 100 px
    lc = write_tif(tmp_path / "lc.tif", a, crs=ALBERS_EA, transform=T_ALBERS_30M, nodata=0)
    far = tmp_path / "far.gpkg"
    gpd.GeoDataFrame({"id": [1]}, geometry=[box(0, 0, 30, 30)], crs=ALBERS_EA).to_file(far)
    out = tmp_path / "s"
    assert main(["site", "-q", "--landcover", str(lc), "--redline", str(far), "--farmland", str(far),
                 "--set", "pv.min_parcel_area_ha=1", "--out", str(out)]) == 0
    s = json.loads((out / rs.SUMMARY.name).read_text("utf-8"))
    # 30 m pixels in an equal-area CRS: 0.09 ha each
    assert s["total_area_ha"] == pytest.approx(10_000 * 0.09, rel=1e-9)  # 900 ha, every pixel
    assert s["nodata_area_ha"] == pytest.approx(2_000 * 0.09, rel=1e-9)  # 180 ha
    assert s["mapped_area_ha"] == pytest.approx(8_000 * 0.09, rel=1e-9)  # 720 ha of land with data
    assert s["eligible_area_ha"] == pytest.approx(720.0, rel=1e-9)  # all of it barren and eligible
    assert s["eligible_area_ha"] + s["excluded_area_ha"] == pytest.approx(s["total_area_ha"], rel=1e-12)

"""The PV shrub rule (林光互补) with a precipitation raster that cannot be mm/yr.

Before: a raster with an undeclared -9999 nodata (or any negative value) read as "below 400 mm",
so all 600 shrubland pixels of the test became eligible PV land where policy allows none; the
same checks as coverage --precip now apply (layers.continuous.check_precipitation_mm)."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from sinkplan.cli import main
from sinkplan.layers import resultspec as rs

W, H, RES, LON0, LAT0 = 30, 20, 0.002, 110.0, 42.1


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    d = tmp_path_factory.mktemp("shrub")
    kw = dict(driver="GTiff", width=W, height=H, count=1, crs="EPSG:4326", transform=Affine(RES, 0, LON0, 0, -RES, LAT0))
    lc = np.full((1, H, W), 7, dtype=np.uint8)  # CLCD 7 barren: the desert zone
    lc[0, :, :] = 3  # CLCD 3 shrubland everywhere
    with rasterio.open(d / "lc.tif", "w", dtype="uint8", nodata=0, **kw) as dst:
        dst.write(lc)
    for name, value in (("wet", 600.0), ("dry", 300.0), ("undeclared", -9999.0)):
        with rasterio.open(d / f"{name}.tif", "w", dtype="float32", **kw) as dst:
            dst.write(np.full((1, H, W), value, dtype=np.float32))
    gpd.GeoDataFrame({"id": [1]}, geometry=[box(120.0, 30.0, 120.01, 30.01)], crs=4326).to_file(d / "far.gpkg")
    return d


def _site(d, out, precip):
    return main(["site", "-q", "--landcover", str(d / "lc.tif"), "--redline", str(d / "far.gpkg"), "--farmland",
                 str(d / "far.gpkg"), "--precipitation", str(d / precip), "--set", "pv.min_parcel_area_ha=1",
                 "--set", "zones.desert.landcover_groups=[\"barren\", \"shrubland\"]", "--out", str(out)])


def _eligible(out):
    with rasterio.open(out / rs.ELIGIBLE.name) as src:
        return int((src.read(1) > 0).sum())


def test_precipitation_decides_the_shrub_rule(region, tmp_path):
    assert _site(region, tmp_path / "dry", "dry.tif") == 0 and _eligible(tmp_path / "dry") == W * H  # 300 < 400 mm
    assert _site(region, tmp_path / "wet", "wet.tif") == 0 and _eligible(tmp_path / "wet") == 0  # 600 mm: no cover given


def test_undeclared_nodata_is_refused(region, tmp_path, capfd):
    assert _site(region, tmp_path / "bad", "undeclared.tif") == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "undeclared.tif: precipitation values go down to -9999" in err[0]
    assert not (tmp_path / "bad").exists()

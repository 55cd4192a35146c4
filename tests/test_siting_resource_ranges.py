"""Resource rasters outside what they can hold stop the run with one line (exit 2).

Before: a GHI in MJ/m² (6 000) or a daily GHI, a mean wind speed in km/h or of -3 m/s (an
undeclared nodata), a Weibull k of 0 all went into the yield: -3 m/s gave 0 MWh/yr with
capacity 455 MW, k = 0 was clipped silently to the table's smallest shape."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from sinkplan.cli import main

W, H, RES, LON0, LAT0 = 20, 12, 0.002, 110.0, 42.1


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    d = tmp_path_factory.mktemp("resource")
    kw = dict(driver="GTiff", width=W, height=H, count=1, crs="EPSG:4326", transform=Affine(RES, 0, LON0, 0, -RES, LAT0))
    with rasterio.open(d / "lc.tif", "w", dtype="uint8", nodata=0, **kw) as dst:
        dst.write(np.full((1, H, W), 7, dtype=np.uint8))  # CLCD 7 barren: the desert zone
    for name, value in (("ghi_ok", 1600.0), ("ghi_mj", 6000.0), ("ghi_daily", 4.4), ("pvout_ok", 1500.0),
                        ("ws_ok", 7.0), ("ws_neg", -3.0), ("ws_kmh", 25.2),
                        ("ws_calm_kmh", 16.2), ("ws_windy", 12.5), ("k_zero", 0.0), ("k_ok", 2.0)):
        data = np.full((1, H, W), value, dtype=np.float32)
        data[0, 0, 0] = np.nan  # one pixel without data: allowed
        with rasterio.open(d / f"{name}.tif", "w", dtype="float32", nodata=np.nan, **kw) as dst:
            dst.write(data)
    gpd.GeoDataFrame({"id": [1]}, geometry=[box(120.0, 30.0, 120.01, 30.01)], crs=4326).to_file(d / "far.gpkg")
    return d


def _site(d, out, tech, *extra):
    return main(["site", "-q", "--tech", tech, "--landcover", str(d / "lc.tif"), "--redline", str(d / "far.gpkg"),
                 "--farmland", str(d / "far.gpkg"), "--set", f"{tech}.min_parcel_area_ha=1", "--out", str(out), *extra])


@pytest.mark.parametrize("tech, args, message", [
    ("pv", ("--ghi", "ghi_mj.tif"), "ghi_mj.tif (--ghi): value 6000 kWh/m²/yr at row 0, column 1 of the land-cover "
                                    "grid is outside 200-3000 kWh/m²/yr"),
    ("pv", ("--ghi", "ghi_daily.tif"), "ghi_daily.tif (--ghi): value 4.4 kWh/m²/yr at row 0, column 1"),
    ("wind", ("--wind-speed", "ws_neg.tif"), "ws_neg.tif (--wind-speed): value -3 m/s at row 0, column 1 of the "
                                             "land-cover grid is outside 0-20 m/s"),
    # 7 m/s in km/h (25.2): its median says so before any block is read
    ("wind", ("--wind-speed", "ws_kmh.tif"), "ws_kmh.tif (--wind-speed): the median wind speed of the raster is 25.2, "
                                             "above 15 m/s"),
    # 4.5 m/s in km/h (16.2): every pixel within the per-pixel 0-20 m/s, the median above any region's mean
    ("wind", ("--wind-speed", "ws_calm_kmh.tif"), "ws_calm_kmh.tif (--wind-speed): the median wind speed of the raster "
                                                  "is 16.2, above 15 m/s"),
    ("wind", ("--wind-speed", "ws_ok.tif", "--weibull-k", "k_zero.tif"), "k_zero.tif (--weibull-k): value 0 at row 0, "
                                                                          "column 1 of the land-cover grid is outside 0.5-10"),
])
def test_out_of_range_resource_is_one_line(region, tmp_path, capfd, tech, args, message):
    opt, name, *rest = args
    extra = [opt, str(region / name)] + ([rest[0], str(region / rest[1])] if rest else [])
    assert _site(region, tmp_path / "out", tech, *extra) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and message in err[0], err
    assert not (tmp_path / "out").exists()


def test_in_range_resources_still_give_energy(region, tmp_path):
    import json

    for tech, extra in (("pv", ["--ghi", str(region / "ghi_ok.tif")]), ("pv", ["--pvout", str(region / "pvout_ok.tif")]),
                        ("wind", ["--wind-speed", str(region / "ws_ok.tif"), "--weibull-k", str(region / "k_ok.tif")]),
                        ("wind", ["--wind-speed", str(region / "ws_windy.tif")])):  # 12.5 m/s: windy, but real
        out = tmp_path / f"{tech}{len(extra)}{extra[0]}"
        assert _site(region, out, tech, *extra) == 0
        s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
        assert s["capacity_mw"] > 0 and s["energy_mwh_per_yr"] > 0

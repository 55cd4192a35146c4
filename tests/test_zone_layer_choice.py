"""A zone file of several layers must name its layer, in every command that takes zones (as
exclusion files must, tests/test_siting_layer_choice.py).

Before: ``--zones planning.gpkg`` holding layers ``a_roads`` and ``banners`` read ``a_roads``
with a warning: the 'banner' table then reported the road buffers."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from shapely.geometry import box
from sinks_util import ALBERS_EA, T_ALBERS_30M, assert_one_line_error, run_cli, write_forest_shrub_grass

from sinkplan.cli import main
from sinkplan.layers import resultspec as rs

# 100 × 100 px of 30 m (0.09 ha) at x 500 000-503 000, y 4 497 000-4 500 000.
ROADS = box(500000.0, 4497000.0, 500300.0, 4500000.0)  # columns 0-9: 10 × 100 px = 90 ha
WEST = box(500000.0, 4497000.0, 501500.0, 4500000.0)  # columns 0-49: 50 × 100 px = 450 ha
EAST = box(501500.0, 4497000.0, 503000.0, 4500000.0)  # columns 50-99: 450 ha


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    d = tmp_path_factory.mktemp("zone_layers")
    lc = write_forest_shrub_grass(d / "lc.tif")
    gpd.GeoDataFrame({"kind": ["road"]}, geometry=[ROADS], crs=ALBERS_EA).to_file(d / "planning.gpkg", layer="a_roads")
    gpd.GeoDataFrame({"name": ["西旗", "东旗"]}, geometry=[WEST, EAST], crs=ALBERS_EA).to_file(
        d / "planning.gpkg", layer="banners")
    return d, lc  # the example layer of the message is the one with the --zone-field 'name': banners


def test_carbon_zones_of_several_layers_are_refused_then_read_by_zone_layer(files, tmp_path, capsys):
    d, lc = files
    out = tmp_path / "c"
    code, err = run_cli(["carbon", str(lc), "--zones", str(d / "planning.gpkg"), "--zone-field", "name",
                         "--out", str(out)], capsys)
    assert_one_line_error(code, err, f"{d / 'planning.gpkg'} (zones): 2 layers (a_roads, banners) and none named: "
                          "which one is the zones layer? name it with --zone-layer, e.g. --zone-layer 'banners', "
                          "or give a file of that one layer", out)
    code, err = run_cli(["carbon", str(lc), "--zones", str(d / "planning.gpkg"), "--zone-field", "name",
                         "--zone-layer", "banners", "--out", str(out)], capsys)
    assert code == 0, err
    df = pd.read_csv(out / rs.STOCKS_BY_ZONE.name).set_index("zone")
    assert df.loc["西旗", "area_ha"] == pytest.approx(450.0) and df.loc["东旗", "area_ha"] == pytest.approx(450.0)


def test_carbon_redline_of_several_layers_is_refused(files, tmp_path, capsys):
    d, lc = files
    out = tmp_path / "r"
    code, err = run_cli(["carbon", str(lc), "--redline", str(d / "planning.gpkg"), "--out", str(out)], capsys)
    assert_one_line_error(code, err, "(redline): 2 layers (a_roads, banners) and none named: which one is the "
                          f"redline layer? give a file of that one layer, e.g. ogr2ogr redline.gpkg "
                          f"{d / 'planning.gpkg'} a_roads", out)


def test_site_zones_of_several_layers_are_refused_then_read_by_zone_layer(files, tmp_path, capfd):
    d, _ = files
    # barren land (CLCD 7) on the same grid, the desert zone: every pixel eligible
    import rasterio

    with rasterio.open(d / "lc.tif") as src:
        prof = src.profile
    with rasterio.open(tmp_path / "barren.tif", "w", **prof) as dst:
        dst.write(np.full((1, 100, 100), 7, dtype=np.uint8))
    far = tmp_path / "far.gpkg"
    gpd.GeoDataFrame({"id": [1]}, geometry=[box(0, 0, 30, 30)], crs=ALBERS_EA).to_file(far)
    base = ["site", "-q", "--landcover", str(tmp_path / "barren.tif"), "--redline", str(far), "--farmland", str(far),
            "--zones", str(d / "planning.gpkg"), "--zone-field", "name", "--set", "pv.min_parcel_area_ha=1"]
    assert main([*base, "--out", str(tmp_path / "s")]) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "e.g. --zone-layer 'banners'" in err[0] and "2 layers (a_roads, banners)" in err[0]
    assert not (tmp_path / "s").exists()
    assert main([*base, "--zone-layer", "banners", "--out", str(tmp_path / "s")]) == 0
    s = json.loads((tmp_path / "s" / rs.SUMMARY.name).read_text("utf-8"))
    by_zone = {r["zone"]: r for r in s["by_admin_zone"]} if isinstance(s["by_admin_zone"], list) else s["by_admin_zone"]
    assert set(by_zone) == {"西旗", "东旗"}
    assert by_zone["西旗"]["area_ha"] == pytest.approx(450.0)  # the whole west half eligible: 50 × 100 px × 0.09 ha


def test_area_estimate_zones_take_the_same_path(files, tmp_path):
    from sinkplan.layers.errors import InputError
    from sinkplan.layers.grid import Grid
    from sinkplan.layers.zones import read_zones

    d, lc = files
    with pytest.raises(InputError, match=r"name it with zone_layer, e\.g\. zone_layer 'banners'"):
        read_zones(d / "planning.gpkg", Grid.from_raster(lc), field="name")
    assert read_zones(d / "planning.gpkg", Grid.from_raster(lc), field="name", layer="banners").names == ("西旗", "东旗")

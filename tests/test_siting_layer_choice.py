"""Which layer of a multi-layer exclusion file excludes, and what a substation's voltage is.

Before: ``--redline planning.gpkg`` holding layers ``a_roads_buffer`` and ``redline`` read the
first one with a warning, so all 300 redline pixels stayed eligible (parcels inside the
redline); a substation layer with OpenStreetMap's ``voltage`` tag (volts: 220000) was read as
220 000 kV, charged the 500 kV line cost, and a voltage of -5 read as 5 kV."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from shapely.geometry import Point, box

from sinkplan.cli import main
from sinkplan.layers import resultspec as rs

W, H, RES, LON0, LAT0 = 30, 20, 0.002, 110.0, 42.1


def _px_box(r0, r1, c0, c1):
    return box(LON0 + c0 * RES, LAT0 - r1 * RES, LON0 + c1 * RES, LAT0 - r0 * RES)


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    d = tmp_path_factory.mktemp("layers")
    with rasterio.open(d / "lc.tif", "w", driver="GTiff", width=W, height=H, count=1, dtype="uint8", crs="EPSG:4326",
                       transform=Affine(RES, 0, LON0, 0, -RES, LAT0), nodata=0) as dst:
        dst.write(np.full((1, H, W), 7, dtype=np.uint8))  # CLCD 7 barren: the desert zone
    far = box(120.0, 30.0, 120.01, 30.01)
    gpd.GeoDataFrame({"id": [1]}, geometry=[far], crs=4326).to_file(d / "far.gpkg")
    gpd.GeoDataFrame({"id": [1]}, geometry=[far], crs=4326).to_file(d / "planning.gpkg", layer="a_roads_buffer")
    gpd.GeoDataFrame({"id": [1]}, geometry=[_px_box(5, 10, 5, 15)], crs=4326).to_file(d / "planning.gpkg",
                                                                                     layer="redline")
    # substations: OSM-style volts, one in kV, one nonsense; all far west of the land (a line cost to each)
    gpd.GeoDataFrame({"voltage": ["220000;110000", "110", "-5"]},
                     geometry=[Point(LON0 - 0.05, LAT0 - 0.01), Point(LON0 - 0.05, LAT0 - 0.02),
                               Point(LON0 - 0.05, LAT0 - 0.03)], crs=4326).to_file(d / "subs.gpkg")
    return d


def _site(d, out, *extra, redline="far.gpkg"):
    return main(["site", "-q", "--landcover", str(d / "lc.tif"), "--redline", str(d / redline), "--farmland",
                 str(d / "far.gpkg"), "--set", "pv.min_parcel_area_ha=1", "--out", str(out), *extra])


def test_a_multi_layer_exclusion_file_must_name_its_layer(region, tmp_path, capfd):
    assert _site(region, tmp_path / "pv", redline="planning.gpkg") == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert (f"{region / 'planning.gpkg'} (--redline): 2 layers (a_roads_buffer, redline) and none named: which one "
            "is the redline layer? set exclusions.redline.layer, e.g. exclusions.redline.layer = \"redline\"") in err[0]
    assert not (tmp_path / "pv").exists()
    # named, the redline layer excludes its 5 × 10 pixels (rows 5-9, columns 5-14), and nothing else
    assert _site(region, tmp_path / "named", "--set", 'exclusions.redline.layer="redline"',
                 redline="planning.gpkg") == 0
    with rasterio.open(tmp_path / "named" / rs.ELIGIBLE.name) as src:
        el = src.read(1) > 0
    assert not el[5:10, 5:15].any() and el.sum() == W * H - 50


def test_substation_voltages_in_volts_or_nonsense(region, tmp_path, capfd):
    out = tmp_path / "pv"
    assert _site(region, out, "--grid-lines", str(region / "subs.gpkg")) == 0
    err = capfd.readouterr().err
    assert "subs.gpkg: 1 substation voltages above 1200 in field 'voltage' (e.g. 220000) read as volts: 220 kV" in err
    assert "subs.gpkg: 1 substation voltages in field 'voltage' are not a voltage (e.g. -5)" in err
    p = pd.read_csv(out / "parcels.csv")
    s = json.loads((out / rs.SUMMARY.name).read_text(encoding="utf-8"))
    # the nearest substation of every parcel is one of the three; its kV is 220, 110 or unknown, never 220 000 or 5
    assert set(p["substation_kv"].dropna()) <= {220.0, 110.0}
    per_km = s["cost"]["grid_cost_cny_per_km"]
    for kv, dist, cost in zip(p["substation_kv"], p["distance_to_substation_km"], p["grid_cost_cny"]):
        want = per_km[str(int(kv))] if np.isfinite(kv) else s["cost"]["grid_cost_default_cny_per_km"]
        assert cost == pytest.approx(dist * want, rel=1e-9)  # CNY/km × km


@pytest.mark.parametrize("option, name", [("--deserts", "deserts"), ("--mines", "mines"),
                                          ("--installed", "installed")])
def test_multi_layer_zone_and_installed_files_are_refused(region, tmp_path, capfd, option, name):
    """Zones of interest and the installed plants have no profile key for a layer: the fix is a
    file of the one layer (a wrong desert or mine layer puts parcels on other land; a wrong
    installed layer changes the baseline)."""
    assert _site(region, tmp_path / "pv", option, str(region / "planning.gpkg")) == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and (f"{region / 'planning.gpkg'} ({option}): 2 layers (a_roads_buffer, redline) and none "
                              f"named: which one is the {name} layer? give a file of that one layer, e.g. ogr2ogr "
                              f"{name}.gpkg {region / 'planning.gpkg'} a_roads_buffer") in err[0]
    assert not (tmp_path / "pv").exists()

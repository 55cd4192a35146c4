"""A GeometryCollection zone or exclusion: its polygons kept, the points and lines it drops said."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from shapely.geometry import GeometryCollection, LineString, Point, box
from sinks_util import ALBERS_EA, run_cli, write_forest_shrub_grass

from sinkplan.cli import main
from sinkplan.layers import resultspec as rs
from sinkplan.layers.vectors import require_polygons
from sinkplan.layers.warnings import RepairedGeometryWarning

# 100 × 100 px of 30 m (0.09 ha) at x 500 000-503 000, y 4 497 000-4 500 000 (sinks_util).
WEST = box(500000.0, 4497000.0, 501500.0, 4500000.0)  # columns 0-49: 5 000 px × 0.09 ha = 450 ha
STRAY = [LineString([(502000.0, 4497500.0), (502900.0, 4499500.0)]), Point(502500.0, 4498000.0),
         Point(502600.0, 4498000.0)]  # in the east half, outside the polygon


def test_require_polygons_names_what_it_dropped():
    gdf = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[box(0, 0, 1, 1), GeometryCollection([WEST, *STRAY])],
                           crs=ALBERS_EA)
    with pytest.warns(RepairedGeometryWarning) as rec:
        out = require_polygons(gdf, "zones.geojson")
    assert str(rec[0].message) == ("zones.geojson: geometry collections hold points and lines beside their polygons: "
                                   "2 points and 1 line dropped, the polygons kept (first: feature 2); an area "
                                   "counts only its polygons")
    assert out.geometry[1].equals(WEST) and out.geometry[0].equals(box(0, 0, 1, 1))


def test_carbon_zone_keeps_its_polygon_and_the_terminal_says_what_was_dropped(tmp_path, capsys):
    lc = write_forest_shrub_grass(tmp_path / "lc.tif")
    zones = tmp_path / "zones.gpkg"
    gpd.GeoDataFrame({"name": ["西旗"]}, geometry=[GeometryCollection([WEST, *STRAY])], crs=ALBERS_EA).to_file(zones)
    out = tmp_path / "c"
    code, err = run_cli(["carbon", str(lc), "--zones", str(zones), "--zone-field", "name", "--out", str(out)], capsys)
    assert code == 0, err
    assert f"{zones}: geometry collections hold points and lines beside their polygons: 2 points and 1 line dropped" in err
    df = pd.read_csv(out / rs.STOCKS_BY_ZONE.name).set_index("zone")
    assert df.loc["西旗", "area_ha"] == pytest.approx(450.0)  # the polygon's 50 × 100 px, the line's pixels not added


def test_site_exclusion_collection_excludes_its_polygon_and_says_so(tmp_path, capfd):
    with rasterio.open(write_forest_shrub_grass(tmp_path / "lc0.tif")) as src:
        prof = src.profile
    with rasterio.open(tmp_path / "barren.tif", "w", **prof) as dst:
        dst.write(np.full((1, 100, 100), 7, dtype=np.uint8))  # CLCD 7 barren: all eligible desert
    red = tmp_path / "red.gpkg"
    gpd.GeoDataFrame({"id": [1]}, geometry=[GeometryCollection([WEST, *STRAY])], crs=ALBERS_EA).to_file(red)
    far = tmp_path / "far.gpkg"
    gpd.GeoDataFrame({"id": [1]}, geometry=[box(0, 0, 30, 30)], crs=ALBERS_EA).to_file(far)
    out = tmp_path / "s"
    assert main(["site", "-q", "--landcover", str(tmp_path / "barren.tif"), "--redline", str(red), "--farmland", str(far),
                 "--set", "pv.min_parcel_area_ha=1", "--out", str(out)]) == 0
    err = capfd.readouterr().err
    assert f"{red} (exclusions.redline): geometry collections hold points and lines" in err
    s = json.loads((out / rs.SUMMARY.name).read_text("utf-8"))
    # the redline's 450 ha excluded, the east half (450 ha) eligible: the stray line excludes nothing
    assert s["eligible_area_ha"] == pytest.approx(450.0)
    # and the summary's notes say it, as the run's other notes on its inputs
    assert [n for n in s["notes"] if "geometry collections" in n] == [
        f"{red} (exclusions.redline): geometry collections hold points and lines beside their polygons: 2 points and "
        "1 line dropped, the polygons kept (first: feature 1); an area counts only its polygons"]

"""Reliability: zones and the redline are areas, also across the antimeridian.

Point zones each got the one pixel under them; a redline drawn as lines counted the pixels
its lines crossed as "inside" (545 ha in the issue); on a raster across the antimeridian a
zone written as −180…−179.9 got 0 ha. Now points and lines are refused with their count
(siting buffers them only when the profile asks for a buffer), and zones are moved by 360°
onto the raster's longitudes, with areas checked against pyproj.Geod.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from pyproj import Geod
from shapely.geometry import GeometryCollection, LineString, MultiPolygon, Point, box

from reliability_util import leftovers, one_line_error
from sinkplan.cli import main
from sinkplan.layers.errors import InputError
from sinkplan.layers.grid import Grid
from sinkplan.layers.vectors import fit_longitudes, require_polygons

GEOD = Geod(ellps="WGS84")


def _lc(path, transform, shape=(200, 400), code=2):
    with rasterio.open(path, "w", driver="GTiff", width=shape[1], height=shape[0], count=1, dtype="uint8",
                       crs="EPSG:4326", transform=transform, nodata=0) as dst:
        dst.write(np.full(shape, code, np.uint8), 1)
    return path


def _gpkg(path, geoms, **cols):
    gpd.GeoDataFrame(cols or {"id": list(range(1, len(geoms) + 1))}, geometry=geoms, crs="EPSG:4326").to_file(path)
    return path


@pytest.fixture
def lc(tmp_path):
    return _lc(tmp_path / "lc.tif", Affine(0.001, 0, 110.0, 0, -0.001, 42.0))


def test_point_zones_are_refused_with_their_count(lc, tmp_path, capsys):
    z = _gpkg(tmp_path / "pts.gpkg", [Point(110.1, 41.9), Point(110.2, 41.9), Point(110.3, 41.95)])
    out = tmp_path / "c"
    assert main(["carbon", str(lc), "--zones", str(z), "--out", str(out), "-q"]) == 2
    assert one_line_error(capsys.readouterr().err) == (
        f"sinkplan carbon: error: zone layer {z}: 3 of 3 features are not polygons (3 points; first: feature 1); "
        "zones and the redline are areas: draw them as polygons, or buffer the points and lines into polygons in a "
        "GIS (QGIS: Vector > Geoprocessing > Buffer)")
    assert not out.exists() and leftovers(tmp_path) == []


def test_a_redline_of_lines_is_refused(lc, tmp_path, capsys):
    red = _gpkg(tmp_path / "red.gpkg", [LineString([(110.05, 41.85), (110.3, 41.95)]),
                                        box(110.0, 41.8, 110.1, 41.9), LineString([(110.2, 41.81), (110.2, 41.99)])])
    assert main(["carbon", str(lc), "--redline", str(red), "--out", str(tmp_path / "c"), "-q"]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert f"zone layer {red}: 2 of 3 features are not polygons (2 lines; first: feature 1)" in line


def test_polygon_parts_of_a_geometry_collection_are_kept():
    poly = box(110.0, 41.9, 110.1, 42.0)
    gdf = gpd.GeoDataFrame({"id": [1]}, geometry=[GeometryCollection([poly, LineString([(110, 41), (111, 41)])])],
                           crs="EPSG:4326")
    out = require_polygons(gdf, "zones")
    assert out.geometry.iloc[0].equals(poly)
    with pytest.raises(InputError, match=r"zones: 1 of 1 features are not polygons \(1 points"):
        require_polygons(gpd.GeoDataFrame({"id": [1]}, geometry=[GeometryCollection([Point(1, 1)])], crs=4326), "zones")


def test_site_buffers_lines_only_when_asked(lc, tmp_path, capsys):
    red = _gpkg(tmp_path / "red.gpkg", [LineString([(110.05, 41.85), (110.3, 41.95)])])
    far = _gpkg(tmp_path / "far.gpkg", [box(120, 10, 120.01, 10.01)])
    args = ["site", "-q", "--landcover", str(lc), "--redline", str(red), "--farmland", str(far)]
    assert main([*args, "--out", str(tmp_path / "s0")]) == 2
    assert one_line_error(capsys.readouterr().err) == (
        f"sinkplan site: error: {red} (exclusions.redline): 1 of 1 features are not polygons (1 lines; first: feature "
        "1); without a buffer a redline layer must be areas: give polygons, or set exclusions.redline.buffer_m to "
        "exclude a belt of that many metres around the points and lines")
    assert main([*args, "--set", "exclusions.redline.buffer_m=300", "--out", str(tmp_path / "s1")]) == 0


# ------------------------------------------------------------------ antimeridian

#: 0.001° pixels from 179°E to 181°E (2000 columns), 40.0–40.2°N
T_AM = Affine(0.001, 0, 179.0, 0, -0.001, 40.2)


def _geod_ha(geom) -> float:
    return abs(GEOD.geometry_area_perimeter(geom)[0]) / 1e4  # m² → ha


def test_zone_written_west_of_the_antimeridian_gets_its_area(tmp_path):
    lc = _lc(tmp_path / "lc.tif", T_AM, shape=(200, 2000))
    west = box(-179.8, 40.05, -179.7, 40.15)  # = 180.2–180.3°E: 100 × 100 pixels of the raster
    east = box(179.5, 40.05, 179.6, 40.15)  # an ordinary zone, for comparison
    split = MultiPolygon([box(179.95, 40.05, 180.0, 40.15), box(-180.0, 40.05, -179.95, 40.15)])  # as GeoJSON splits
    z = _gpkg(tmp_path / "z.gpkg", [west, east, split], name=["west", "east", "split"])
    out = tmp_path / "c"
    assert main(["carbon", str(lc), "--zones", str(z), "--zone-field", "name", "--out", str(out), "-q"]) == 0
    by = pd.read_csv(out / "stocks_by_zone.csv", encoding="utf-8-sig").set_index("zone")
    # Geod's area of the polygon as written (it takes longitudes modulo 360), to 0.01 %
    assert by.loc["west", "area_ha"] == pytest.approx(_geod_ha(west), rel=1e-4)
    assert by.loc["east", "area_ha"] == pytest.approx(_geod_ha(east), rel=1e-4)
    assert by.loc["split", "area_ha"] == pytest.approx(_geod_ha(box(179.95, 40.05, 180.05, 40.15)), rel=1e-4)
    # all three are 0.1° × 0.1° at the same latitudes: the same area, about 9 470 ha
    assert by.loc["west", "area_ha"] == pytest.approx(by.loc["east", "area_ha"], rel=1e-9)


def test_fit_longitudes_moves_only_what_lies_a_turn_away():
    grid = Grid("EPSG:4326", T_AM, 2000, 200)
    gdf = gpd.GeoDataFrame({"id": [1, 2, 3, 4]}, crs="EPSG:4326", geometry=[
        box(-180.0, 40.05, -179.9, 40.15),  # a turn west of the raster: moved +360
        box(179.5, 40.05, 179.6, 40.15),  # on it: unchanged
        box(10.0, 40.0, 10.1, 40.1),  # nowhere near it either way: unchanged
        box(179.9, 40.0, 180.2, 40.1),  # already in 179–181: unchanged
    ])
    out = fit_longitudes(gdf, grid)
    assert out.geometry.iloc[0].bounds == pytest.approx((180.0, 40.05, 180.1, 40.15))
    for i in (1, 2, 3):
        assert out.geometry.iloc[i].equals(gdf.geometry.iloc[i])
    # a projected grid is never touched
    utm = Grid("EPSG:32650", Affine(30, 0, 500_000, 0, -30, 4_500_000), 10, 10)
    assert fit_longitudes(gdf, utm) is gdf

"""The layers `sinkplan site` writes for the siting map: border belt, grid lines, substations."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import CRS, Transformer
from shapely.geometry import LineString, Point, box

from siting_util import legacy_set_args
from sinkplan.layers import resultspec as rs
from sinkplan.layers.grid import Grid
from sinkplan.maps.build import build_map
from sinkplan.cli import main
from sinkplan.siting.mapfiles import border_belt, split_grid_features

W, H, RES, LON0, LAT0 = 100, 60, 0.002, 110.0, 42.1  # ~165 m × 222 m pixels
BELT_M = 2000.0
# a slanted border crossing the region from west to north-east
BORDER = LineString([(109.95, 42.06), (110.1, 42.085), (110.25, 42.12)])


def _tif(path, data, dtype, nodata=None):
    with rasterio.open(path, "w", driver="GTiff", width=W, height=H, count=1, dtype=dtype, crs="EPSG:4326",
                       transform=Affine(RES, 0, LON0, 0, -RES, LAT0), nodata=nodata) as dst:
        dst.write(data.astype(dtype), 1)


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    d = tmp_path_factory.mktemp("mapfiles")
    lc = np.full((H, W), 4, dtype=np.uint8)  # grassland: eligible only in the border belt
    _tif(d / "lc.tif", lc, "uint8", nodata=0)
    crs = "EPSG:4326"
    gpd.GeoDataFrame({"id": [1]}, geometry=[box(110.10, 42.00, 110.12, 42.02)], crs=crs).to_file(d / "redline.gpkg")
    gpd.GeoDataFrame({"id": [1]}, geometry=[box(110.02, 41.99, 110.04, 42.00)], crs=crs).to_file(d / "farmland.gpkg")
    gpd.GeoDataFrame({"name": ["边界"]}, geometry=[BORDER], crs=crs).to_file(d / "border.gpkg")
    # one file with a line, a substation point and a substation fence (polygon); one with a point only
    gpd.GeoDataFrame({"name": ["220kV 甲线", "甲站", "乙站围墙"], "kv": [220, 220, 110]},
                     geometry=[LineString([(110.01, 41.98), (110.01, 42.1)]), Point(110.01, 42.05),
                               box(110.15, 42.0, 110.152, 42.002)], crs=crs).to_file(d / "grid.gpkg")
    gpd.GeoDataFrame({"name": ["丙站"]}, geometry=[Point(110.18, 42.03)], crs=crs).to_file(d / "subs.gpkg")
    out = d / "pv"
    code = main(["site", "-q", "--landcover", str(d / "lc.tif"), "--redline", str(d / "redline.gpkg"),
                 "--farmland", str(d / "farmland.gpkg"), "--border", str(d / "border.gpkg"),
                 "--grid-lines", str(d / "grid.gpkg"), str(d / "subs.gpkg"),
                 "--set", f"zones.border.width_m={BELT_M:g}", "--set", "pv.min_parcel_area_ha=1", *legacy_set_args(),
                 "--out", str(out)])
    assert code == 0
    return out


def test_files_fields_crs_and_manifest(result):
    belt = gpd.read_file(result / "border_belt.gpkg")
    lines = gpd.read_file(result / "grid_lines.gpkg")
    subs = gpd.read_file(result / "substations.gpkg")
    for g in (belt, lines, subs):
        assert g.crs.to_epsg() == 4326
    assert list(belt.columns) == ["width_m", "width_km", "area_ha", "geometry"]
    assert belt.width_m[0] == BELT_M and belt.width_km[0] == BELT_M / 1000
    assert set(belt.geom_type) <= {"Polygon", "MultiPolygon"}
    # the belt's area from its polygon on the ellipsoid
    geod = CRS.from_epsg(4326).get_geod()
    assert belt.area_ha[0] == pytest.approx(abs(geod.geometry_area_perimeter(belt.geometry[0])[0]) / 1e4, rel=1e-9)
    assert list(lines.columns) == ["name", "kv", "source_file", "geometry"]
    assert list(lines.name) == ["220kV 甲线"] and list(lines.source_file) == ["grid.gpkg"]
    assert set(lines.geom_type) == {"LineString"}
    assert list(subs.name) == ["甲站", "乙站围墙", "丙站"]  # points, then polygons as points, file by file
    assert list(subs.source_file) == ["grid.gpkg", "grid.gpkg", "subs.gpkg"]
    assert set(subs.geom_type) == {"Point"}
    assert box(110.15, 42.0, 110.152, 42.002).contains(subs.geometry[1])
    manifest = json.loads((result / "manifest.json").read_text())
    outputs = {o["path"] for o in manifest["outputs"]}
    assert {"border_belt.gpkg", "grid_lines.gpkg", "substations.gpkg"} <= outputs
    assert manifest["map_layers"] == {"border_belt.gpkg": 1, "grid_lines.gpkg": 1, "substations.gpkg": 3}


def test_belt_is_clipped_to_the_grid_and_matches_the_screened_border_zone(result):
    belt = gpd.read_file(result / "border_belt.gpkg").geometry[0]
    w, s, e, n = belt.bounds
    assert w >= LON0 - 1e-9 and e <= LON0 + W * RES + 1e-9 and n <= LAT0 + 1e-9 and s >= LAT0 - H * RES - 1e-9
    assert e == pytest.approx(LON0 + W * RES) and n == pytest.approx(LAT0)  # reaches the clipped edges
    with rasterio.open(result / rs.ELIGIBLE.name) as src:
        elig = src.read(1)
    cols, rows = np.meshgrid(np.arange(W), np.arange(H))
    lon, lat = LON0 + (cols + 0.5) * RES, LAT0 - (rows + 0.5) * RES
    # ~1 m in degrees: pixel centres on the outline may fall either way
    inner, outer = belt.buffer(-1e-5), belt.buffer(1e-5)
    border_px = elig == 2
    outside = elig == 0  # outside every zone (the redline and farmland lie far south of the belt)
    assert set(np.unique(elig)) == {0, 2} and border_px.sum() > 100 and outside.sum() > 100
    assert shapely.contains_xy(outer, lon[border_px], lat[border_px]).all()
    assert not shapely.contains_xy(inner, lon[outside], lat[outside]).any()


def _outline_distances_m(belt, border, grid_bounds, crs="EPSG:4326", *, max_points=150):
    """Ground distance from outline vertices off the grid edge to the border (local aeqd per vertex).

    At most ``max_points`` vertices, evenly spaced along the outline (one projection each).
    """
    geod_crs = CRS.from_user_input(crs).geodetic_crs
    to_ll = Transformer.from_crs(crs, geod_crs, always_xy=True)
    l, b, r, t = grid_bounds
    eps = 1e-6 * max(r - l, t - b)
    dense = shapely.segmentize(border, (r - l) / 2000)
    rings = [p.exterior for p in shapely.get_parts(belt)] + [i for p in shapely.get_parts(belt) for i in p.interiors]
    xy = np.concatenate([np.asarray(ring.coords)[:-1] for ring in rings])
    off_edge = np.minimum.reduce([xy[:, 0] - l, r - xy[:, 0], xy[:, 1] - b, t - xy[:, 1]]) >= eps  # not on a clipped edge
    xy = xy[off_edge]
    xy = xy[np.unique(np.linspace(0, len(xy) - 1, min(max_points, len(xy))).astype(int))]
    out = []
    for x, y in xy:
        lon, lat = to_ll.transform(x, y)
        aeqd = CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +ellps=WGS84 +units=m")
        tr = Transformer.from_crs(crs, aeqd, always_xy=True)
        line = shapely.transform(dense, lambda c, tr=tr: np.column_stack(tr.transform(c[:, 0], c[:, 1])))
        out.append(line.distance(Point(0, 0)))  # distances from the projection centre are true
    return np.array(out)


def test_belt_width_in_metres_from_the_written_file(result):
    belt = gpd.read_file(result / "border_belt.gpkg").geometry[0]
    d = _outline_distances_m(belt, BORDER, (LON0, LAT0 - H * RES, LON0 + W * RES, LAT0))
    assert d.size > 20
    assert np.abs(d / BELT_M - 1).max() < 0.01


@pytest.mark.parametrize("crs, transform, border", [
    # lon/lat, 0.002° pixels at 45–49° N: 3 × 2 tiles of 512 px; a zigzag border across tiles
    ("EPSG:4326", Affine(0.002, 0, 100.0, 0, -0.002, 49.0),
     LineString([(99.5, 47.2), (100.8, 47.9), (101.6, 46.8), (103.5, 47.5)])),
    # UTM 49N, 250 m pixels: 200 km × 150 km, two tiles across
    ("EPSG:32649", Affine(250.0, 0, 300_000.0, 0, -250.0, 4_800_000.0),
     LineString([(290_000, 4_700_000), (400_000, 4_760_000), (520_000, 4_690_000)])),
])
def test_belt_width_across_tiles(crs, transform, border):
    width_m = 20_000.0
    g = Grid(CRS.from_user_input(crs), transform, 1500 if crs == "EPSG:4326" else 800, 1000 if crs == "EPSG:4326" else 600)
    belt = border_belt(np.array([border]), width_m, g)
    assert belt.geom_type == "Polygon"  # one piece: tiles joined without seams
    d = _outline_distances_m(belt, border, g.bounds, crs)
    assert d.size > 50
    assert np.abs(d / width_m - 1).max() < 0.01


def test_belt_far_from_the_grid_is_empty():
    g = Grid(CRS.from_epsg(4326), Affine(0.01, 0, 110, 0, -0.01, 43), 100, 100)
    assert border_belt(np.array([LineString([(110, 45), (111, 45)])]), 10_000, g).is_empty
    assert border_belt(np.empty(0, dtype=object), 10_000, g).is_empty


def test_split_grid_features_reprojects_and_splits_collections():
    utm = gpd.GeoDataFrame({"name": ["a", "b"]}, geometry=[
        shapely.GeometryCollection([LineString([(500_000, 4_650_000), (510_000, 4_650_000)]), Point(500_000, 4_650_000)]),
        LineString([(500_000, 4_660_000), (500_000, 4_670_000)])], crs="EPSG:32649")
    lines, subs = split_grid_features([("g.shp", utm)])
    assert lines.crs.to_epsg() == 4326 and subs.crs.to_epsg() == 4326
    assert list(lines.name) == ["a", "b"] and list(subs.name) == ["a"]
    # 500 000 E in UTM 49 is its central meridian, 111° E
    assert subs.geometry[0].x == pytest.approx(111.0)
    none_lines, none_subs = split_grid_features([])
    assert len(none_lines) == 0 and len(none_subs) == 0


def test_no_border_no_belt_file(tmp_path, result):
    d = result.parent
    out = tmp_path / "nb"
    assert main(["site", "-q", "--landcover", str(d / "lc.tif"), "--redline", str(d / "redline.gpkg"),
                 "--farmland", str(d / "farmland.gpkg"), "--out", str(out)]) == 0
    assert not any((out / f).exists() for f in ("border_belt.gpkg", "grid_lines.gpkg", "substations.gpkg"))
    assert json.loads((out / "manifest.json").read_text())["map_layers"] == {}


def test_map_of_the_result_draws_belt_lines_and_substations(result):
    html = build_map([result], lang="en")
    data = json.loads(re.search(r'<script id="sinkplan-data" type="application/json">(.*?)</script>', html, re.DOTALL).group(1))
    layers = {lay["name"]: lay for lay in data["layers"]}
    assert {"Border belt", "Transmission lines", "Substations", "Candidate parcels (by score)"} <= set(layers)
    belt = data["geometries"][layers["Border belt"]["geom"]]
    assert len(belt) == 1 and belt[0]["type"] in ("Polygon", "MultiPolygon")
    assert [g["type"] for g in data["geometries"][layers["Transmission lines"]["geom"]]] == ["LineString"]
    subs = data["geometries"][layers["Substations"]["geom"]]
    assert [g["type"] for g in subs] == ["Point"] * 3
    assert subs[2]["coordinates"] == [110.18, 42.03]
    assert [f["t"] for f in layers["Substations"]["features"]] == ["甲站", "乙站围墙", "丙站"]


def _page(result, lang):
    html = build_map([result], lang=lang)
    data = json.loads(re.search(r'<script id="sinkplan-data" type="application/json">(.*?)</script>', html, re.DOTALL).group(1))
    return {lay["name"]: lay for lay in data["layers"]}


def test_bases_popup_translates_zone_types(result):
    bases = gpd.read_file(result / "bases.gpkg")
    zh = _page(result, "zh")
    base_rows = [dict(f["p"]) for f in zh["候选基地"]["features"]]
    names = {"desert": "沙漠戈壁", "border": "边境地区", "mine": "采矿修复区", "other": "其他可选址用地"}
    for rows, (_, b) in zip(base_rows, bases.iterrows()):
        assert rows["区域类型"] == "、".join(names[z] for z in b.zone_types.split(","))  # was the raw "desert"
        assert "desert" not in rows["区域类型"] and "border" not in rows["区域类型"]

"""Tests of layers.vectors: reading, encodings, repair, reprojection, zone rasterization.

Every input is built in tmp_path; expected values are worked out by hand in comments.
"""

from __future__ import annotations

import json
import logging
import os

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import rasterio.features
import shapely
import shapely.affinity
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import CRS, Transformer
from rasterio.windows import Window
from shapely.geometry import LineString, Point, Polygon, box

from sinkplan.layers.errors import FieldError, InputError, InputFileError, MissingCRS
from sinkplan.layers.grid import Grid
from sinkplan.layers.vectors import VectorLayer, read_vector
from sinkplan.layers.zones import OUTSIDE, ZoneRasterizer

BANNERS = ["四子王旗", "苏尼特右旗", "达尔罕茂明安联合旗"]
# A self-intersecting "bow-tie": two triangles meeting at (1, 1), each of area ½·2·1 = 1.
BOWTIE = Polygon([(0, 0), (2, 2), (2, 0), (0, 2), (0, 0)])


def _frame(names=BANNERS, crs="EPSG:4490", field="名称") -> gpd.GeoDataFrame:
    """One 1°×1° box per name, 110–111 E, 111–112 E, ... × 41–42 N."""
    geoms = [box(110 + i, 41, 111 + i, 42) for i in range(len(names))]
    code = np.arange(1, len(names) + 1, dtype=np.int32)
    return gpd.GeoDataFrame({field: names, "code": code}, geometry=geoms, crs=crs)


@pytest.fixture
def write_shp(tmp_path):
    """Factory: write BANNERS to a shapefile in ``encoding``; ``cpg`` replaces (None: deletes) the .cpg."""

    def _write(name: str, encoding: str, cpg: str | None, names=BANNERS, field="名称"):
        path = tmp_path / f"{name}.shp"
        _frame(names, field=field).to_file(path, engine="pyogrio", encoding=encoding)
        (tmp_path / f"{name}.cpg").unlink()
        if cpg is not None:
            (tmp_path / f"{name}.cpg").write_text(cpg)
        return path

    return _write


# ---------------------------------------------------------------------------- encodings
def test_gbk_shapefile_without_cpg_is_detected_as_gb18030(write_shp):
    path = write_shp("gbk", "GBK", None)
    dbf = path.with_suffix(".dbf").read_bytes()
    assert "达尔罕茂明安联合旗".encode("gbk") in dbf and "名称".encode("gbk") in dbf
    assert "达尔罕茂明安联合旗".encode("utf-8") not in dbf
    assert not path.with_suffix(".cpg").exists()
    layer = read_vector(path, field="名称")
    assert layer.gdf["名称"].tolist() == BANNERS
    assert (layer.report.encoding, layer.report.encoding_source) == ("GB18030", "detected")
    assert layer.report.fields == ("名称", "code")


@pytest.mark.parametrize("cpg", ["GBK", "936", "CP936", "GB2312", "gb18030", "ANSI 936"])
def test_gbk_shapefile_with_cpg(write_shp, cpg):
    layer = read_vector(write_shp("gbk", "GBK", cpg))
    assert layer.gdf["名称"].tolist() == BANNERS
    assert (layer.report.encoding, layer.report.encoding_source) == ("GB18030", "cpg")


def test_utf8_shapefile_with_and_without_cpg(write_shp):
    bare = read_vector(write_shp("bare", "UTF-8", None))
    assert bare.gdf["名称"].tolist() == BANNERS
    assert (bare.report.encoding, bare.report.encoding_source) == ("UTF-8", "detected")
    cpg = read_vector(write_shp("cpg", "UTF-8", "UTF-8"))
    assert (cpg.gdf["名称"].tolist(), cpg.report.encoding_source) == (BANNERS, "cpg")


def test_ascii_shapefile_without_cpg_reads_as_utf8(tmp_path):
    path = tmp_path / "ascii.shp"
    _frame(["Siziwang", "Sonid Right"], field="name").to_file(path)
    path.with_suffix(".cpg").unlink()
    layer = read_vector(path)
    assert layer.gdf["name"].tolist() == ["Siziwang", "Sonid Right"]
    assert (layer.report.encoding, layer.report.encoding_source) == ("UTF-8", "utf-8")


def test_latin_shapefile_without_cpg_is_not_taken_for_chinese(write_shp):
    names = ["Zürich", "São Paulo", "Café Noir", "Ñandú"]
    layer = read_vector(write_shp("latin", "cp1252", None, names=names, field="Straße"))
    assert layer.gdf["Straße"].tolist() == names
    assert layer.report.encoding != "GB18030"


def test_wrong_cpg_falls_back_to_detection(write_shp):
    from sinkplan.layers.warnings import TextEncodingWarning

    with pytest.warns(TextEncodingWarning, match="does not decode"):
        layer = read_vector(write_shp("liar", "GBK", "UTF-8"))
    assert layer.gdf["名称"].tolist() == BANNERS
    assert (layer.report.encoding, layer.report.encoding_source) == ("GB18030", "detected")


def test_encoding_override_wins_over_cpg(write_shp):
    layer = read_vector(write_shp("override", "GBK", "UTF-8"), encoding="gbk")
    assert layer.gdf["名称"].tolist() == BANNERS
    assert (layer.report.encoding, layer.report.encoding_source) == ("GBK", "user")


def test_wrong_encoding_override_is_an_input_error(write_shp):
    path = write_shp("gbk", "GBK", None)
    with pytest.raises(InputError, match=r"gbk\.shp: text does not decode as UTF-8.*encoding="):
        read_vector(path, encoding="utf-8")
    with pytest.raises(InputError, match="'klingon' is not a known text encoding"):
        read_vector(path, encoding="klingon")


@pytest.mark.parametrize("suffix, driver", [(".geojson", "GeoJSON"), (".gpkg", "GPKG"), (".gdb", "OpenFileGDB")])
def test_geojson_geopackage_filegdb_round_trip(tmp_path, suffix, driver):
    path = tmp_path / f"banners{suffix}"
    _frame().to_file(path, engine="pyogrio", driver=driver)
    layer = read_vector(path, field="名称")
    assert layer.gdf["名称"].tolist() == BANNERS
    assert layer.gdf["code"].tolist() == [1, 2, 3]
    assert (layer.report.driver, layer.report.encoding, layer.report.encoding_source) == (driver, "UTF-8", "driver")
    assert (layer.report.n_read, layer.report.n_features, layer.report.crs) == (3, 3, "EPSG:4490")


def test_layer_is_chosen_by_name(tmp_path):
    path = tmp_path / "two.gpkg"
    _frame().to_file(path, layer="a")
    _frame(["x"]).to_file(path, layer="b")
    layer = read_vector(path, layer="b")
    assert (layer.report.layer, layer.gdf["名称"].tolist()) == ("b", ["x"])
    assert read_vector(path).report.layer == "a"  # the first layer by default


# ---------------------------------------------------------------------------- repair
def test_bowtie_is_repaired_and_null_and_empty_are_dropped(tmp_path):
    path = tmp_path / "messy.gpkg"
    # EPSG:4526 (CGCS2000 GK zone 38, false easting 38 500 000 m): a 1 km-scaled bow-tie.
    bowtie = shapely.affinity.affine_transform(BOWTIE, [1000, 0, 0, 1000, 38_500_000, 4_500_000])
    square = box(38_510_000, 4_500_000, 38_511_000, 4_501_000)
    geoms = [square, bowtie, None, Polygon()]
    gpd.GeoDataFrame({"name": list("abcd")}, geometry=geoms, crs="EPSG:4526").to_file(path)
    layer = read_vector(path)
    r = layer.report
    assert (r.n_read, r.n_repaired, r.n_dropped_empty, r.n_features) == (4, 1, 2, 2)
    fixed = layer.gdf.geometry.iloc[1]
    assert fixed.is_valid and fixed.geom_type == "MultiPolygon" and len(fixed.geoms) == 2
    # Two triangles of ½·2 km·1 km = 1 km² each: 2 000 000 m².
    assert fixed.area == pytest.approx(2_000_000.0, rel=1e-12)
    assert layer.gdf["name"].tolist() == ["a", "b"]


def test_repair_keeps_only_parts_of_the_original_dimension(tmp_path):
    path = tmp_path / "parts.gpkg"
    spike = Polygon([(0, 0), (2, 0), (2, 1), (3, 1), (2, 1), (2, 2), (0, 2), (0, 0)])  # 2×2 square + a spike
    flat = Polygon([(0, 0), (1, 1), (2, 2), (0, 0)])  # zero area: repairs to lines only
    gpd.GeoDataFrame({"n": [1, 2]}, geometry=[spike, flat], crs="EPSG:3857").to_file(path)
    layer = read_vector(path)
    assert shapely.make_valid(spike).geom_type == "GeometryCollection"
    assert layer.gdf.geometry.iloc[0].geom_type == "Polygon"
    assert layer.gdf.geometry.iloc[0].area == 4.0  # 2 × 2, the spike's line dropped
    assert (layer.report.n_repaired, layer.report.n_dropped_empty, layer.report.n_features) == (1, 1, 1)

    lines = tmp_path / "lines.gpkg"
    geoms = [LineString([(0, 0), (3, 4)]), LineString([(1, 1), (1, 1)])]  # the second has no length
    gpd.GeoDataFrame({"n": [1, 2]}, geometry=geoms, crs="EPSG:3857").to_file(lines)
    layer = read_vector(lines)
    assert layer.gdf.geometry.iloc[0].length == 5.0  # 3-4-5 triangle
    assert (layer.report.n_features, layer.report.n_dropped_empty) == (1, 1)


# ---------------------------------------------------------------------------- reprojection
@pytest.mark.parametrize("epsg", [4526, 4513, 4554])
def test_gauss_kruger_to_wgs84(tmp_path, epsg):
    path = tmp_path / "gk.gpkg"
    # 10 km east of the zone's central meridian, 4 600 km north of the equator.
    params = CRS.from_epsg(epsg).coordinate_operation.params
    x0 = next(p.value for p in params if p.name == "False easting") + 10_000.0
    pts = [Point(x0, 4_600_000.0), Point(x0 + 5_000.0, 4_610_000.0)]
    gpd.GeoDataFrame({"n": [1, 2]}, geometry=pts, crs=f"EPSG:{epsg}").to_file(path)
    layer = read_vector(path, to_crs=CRS.from_epsg(4326))
    lon, lat = Transformer.from_crs(epsg, 4326, always_xy=True).transform(
        [p.x for p in pts], [p.y for p in pts]
    )
    np.testing.assert_allclose(layer.gdf.geometry.x, lon, rtol=0, atol=1e-6)
    np.testing.assert_allclose(layer.gdf.geometry.y, lat, rtol=0, atol=1e-6)
    assert 41.0 < lat[0] < 42.0
    assert (layer.report.crs, layer.report.to_crs) == (f"EPSG:{epsg}", "EPSG:4326")


def test_cgcs2000_to_wgs84_keeps_coordinates(tmp_path):
    path = tmp_path / "cgcs.geojson"
    _frame(crs="EPSG:4490").to_file(path, driver="GeoJSON")
    layer = read_vector(path, to_crs="EPSG:4326")
    assert layer.gdf.crs.to_epsg() == 4326
    assert layer.gdf.total_bounds.tolist() == pytest.approx([110, 41, 113, 42], abs=1e-9)


# ---------------------------------------------------------------------------- read errors
def test_missing_file(tmp_path):
    with pytest.raises(InputFileError, match=r"nothere\.shp: file not found"):
        read_vector(tmp_path / "nothere.shp")


def test_unreadable_file(tmp_path):
    path = tmp_path / "junk.gpkg"
    path.write_bytes(b"not a geopackage " * 10)
    with pytest.raises(InputFileError, match=r"junk\.gpkg: cannot read as a vector layer \(.*not recognized"):
        read_vector(path)


@pytest.mark.filterwarnings("ignore:'crs' was not provided")
def test_missing_crs_names_file_and_fix(tmp_path):
    path = tmp_path / "nocrs.shp"
    gpd.GeoDataFrame({"a": [1]}, geometry=[box(0, 0, 1, 1)]).to_file(path)
    with pytest.raises(MissingCRS, match=r"nocrs\.shp: layer 'nocrs' has no CRS; add a \.prj or .*ogr2ogr -a_srs") as exc:
        read_vector(path)
    assert "\n" not in str(exc.value)


def test_missing_field_lists_available_fields(write_shp):
    path = write_shp("gbk", "GBK", None)
    with pytest.raises(FieldError, match=r"gbk\.shp: field 'name' not found .*available fields: 名称, code"):
        read_vector(path, field="name")


def test_empty_layer_and_nothing_left_after_cleaning(tmp_path):
    empty = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame({"a": []}, geometry=[], crs="EPSG:4326").to_file(empty)
    with pytest.raises(InputError, match=r"empty\.gpkg: layer 'empty' has no features"):
        read_vector(empty)
    nulls = tmp_path / "nulls.gpkg"
    gpd.GeoDataFrame({"a": [1, 2]}, geometry=[None, Polygon()], crs="EPSG:4326").to_file(nulls)
    with pytest.raises(InputError, match=r"nulls\.gpkg: .*no features left after dropping 2 null or empty"):
        read_vector(nulls)


def test_other_read_errors(tmp_path):
    path = tmp_path / "banners.gpkg"
    _frame().to_file(path, layer="banners")
    with pytest.raises(InputFileError, match=r"banners\.gpkg: no layer 'roads'; layers: banners"):
        read_vector(path, layer="roads")
    with pytest.raises(InputError, match=r"to_crs='EPSG:99999' is not a CRS"):
        read_vector(path, to_crs="EPSG:99999")
    table = tmp_path / "table.csv"
    table.write_text("a,b\n1,2\n")
    with pytest.raises(InputError, match=r"table\.csv: layer 'table' has no geometry column"):
        read_vector(table)
    polar = tmp_path / "polar.gpkg"
    gpd.GeoDataFrame({"a": [1]}, geometry=[box(0, 89, 1, 95)], crs="EPSG:4326").to_file(polar)
    with pytest.raises(InputError, match=r"polar\.gpkg: .*1 features have non-finite coordinates"):
        read_vector(polar, to_crs="EPSG:3857")  # latitude 95° has no Web Mercator y


# ---------------------------------------------------------------------------- zones
GRID4 = Grid(CRS.from_epsg(3857), Affine(1, 0, 0, 0, -1, 4), 4, 4)  # 4×4 pixels of 1 m, top-left (0, 4)


def test_pixel_centre_rule_by_hand():
    # Pixel centres are at x, y ∈ {0.5, 1.5, 2.5, 3.5}; row 0 is y = 3.5.
    # 'b' box x 0.2–2.6, y 0.2–1.4: centres x 0.5, 1.5, 2.5 at y 0.5 → row 3, cols 0–2
    #     (all_touched would also take row 2 and col 3).
    # 'a' box x 2.1–3.9, y 0.1–2.9: centres x 2.5, 3.5 at y 0.5, 1.5, 2.5 → rows 1–3, cols 2–3.
    # 'b' again: triangle (0,4)-(1.8,4)-(0,2.2), i.e. y ≥ x + 2.2: only centre (0.5, 3.5), row 0 col 0
    #     ((1.5, 3.5) and (0.5, 2.5) fail: 3.5 < 3.7 and 2.5 < 2.7).
    gdf = gpd.GeoDataFrame(
        {"name": ["b", "a", "b"]},
        geometry=[box(0.2, 0.2, 2.6, 1.4), box(2.1, 0.1, 3.9, 2.9), Polygon([(0, 4), (1.8, 4), (0, 2.2)])],
        crs="EPSG:3857",
    )
    zr = ZoneRasterizer(gdf, GRID4, field="name", overlap="warn")  # overlapping on purpose: larger id wins
    assert zr.names == ("b", "a")  # order of first appearance; the two 'b' features share id 1
    expected = np.array(
        [[1, 0, 0, 0],
         [0, 0, 2, 2],
         [0, 0, 2, 2],
         [1, 1, 2, 2]], dtype=np.int32)  # (3, 2) is in both: the larger id (2, 'a') wins
    got = zr.rasterize(GRID4.full_window())
    assert got.dtype == np.int32
    np.testing.assert_array_equal(got, expected)
    np.testing.assert_array_equal(zr.mask(GRID4.full_window()), expected > 0)
    np.testing.assert_array_equal(zr.rasterize(Window(2, 1, 2, 3)), expected[1:4, 2:4])
    z = zr.zones_gdf
    assert z["zone_id"].tolist() == [1, 2] and z["zone"].tolist() == ["b", "a"]
    assert z["zone_id"].dtype == np.int32
    assert z.geometry.area.tolist() == pytest.approx([2.4 * 1.2 + 1.62, 1.8 * 2.8])  # box + triangle ½·1.8·1.8


def test_each_feature_is_a_zone_without_field():
    gdf = gpd.GeoDataFrame(geometry=[box(0, 0, 2, 2), box(2, 2, 4, 4)], crs="EPSG:3857")
    zr = ZoneRasterizer(gdf, GRID4)
    assert zr.names == ("1", "2") and zr.n_zones == 2
    expected = np.array([[0, 0, 2, 2], [0, 0, 2, 2], [1, 1, 0, 0], [1, 1, 0, 0]], dtype=np.int32)
    np.testing.assert_array_equal(zr.rasterize(GRID4.full_window()), expected)


def test_chinese_names_and_lonlat_grid_partly_covered(write_shp):
    layer = read_vector(write_shp("gbk", "GBK", None))  # boxes 110–111, 111–112, 112–113 E × 41–42 N
    far = gpd.GeoDataFrame({"名称": ["远处"]}, geometry=[box(80, 10, 81, 11)], crs="EPSG:4490")
    gdf = gpd.GeoDataFrame(pd.concat([layer.gdf, far], ignore_index=True), crs="EPSG:4490")
    # WGS84 grid of 0.5° pixels, 111–114 E × 41–42.5 N: 6 columns, 3 rows (row 0 is 42–42.5 N).
    grid = Grid(CRS.from_epsg(4326), Affine(0.5, 0, 111, 0, -0.5, 42.5), 6, 3)
    zr = ZoneRasterizer(VectorLayer(gdf, layer.report), grid, field="名称")
    assert zr.names == (*BANNERS, "远处")
    # Row 0 is north of every box; rows 1–2: cols 0–1 苏尼特右旗 (2), cols 2–3 达尔罕… (3), cols 4–5 none.
    expected = np.array([[0] * 6, [2, 2, 3, 3, 0, 0], [2, 2, 3, 3, 0, 0]], dtype=np.int32)
    np.testing.assert_array_equal(zr.rasterize(grid.full_window()), expected)
    assert not zr.intersects(Window(5, 0, 1, 3))  # 113.5–114 E: east of every box
    np.testing.assert_array_equal(zr.rasterize(Window(5, 0, 1, 3)), np.zeros((3, 1), np.int32))


def test_gauss_kruger_zones_on_cgcs2000_grid():
    # A 1 km square in zone 38 (EPSG:4526) around lon 114.1°, lat 41.5°; grid of 0.01° pixels.
    t = Transformer.from_crs(4490, 4526, always_xy=True)
    x, y = t.transform(114.105, 41.505)
    gdf = gpd.GeoDataFrame(geometry=[box(x - 400, y - 400, x + 400, y + 400)], crs="EPSG:4526")
    grid = Grid(CRS.from_epsg(4490), Affine(0.01, 0, 114.08, 0, -0.01, 41.53), 5, 5)
    got = ZoneRasterizer(gdf, grid).rasterize(grid.full_window())
    # ±400 m is ±0.0048° in longitude and ±0.0036° in latitude here: only the pixel centred
    # on (114.105, 41.505) — row 2, col 2 — has its centre inside.
    expected = np.zeros((5, 5), np.int32)
    expected[2, 2] = 1
    np.testing.assert_array_equal(got, expected)


def _single_shot(gdf: gpd.GeoDataFrame, ids: list[int], grid: Grid) -> np.ndarray:
    order = np.argsort(ids, kind="stable")  # larger id drawn last
    shapes = [(gdf.geometry.iloc[i], ids[i]) for i in order]
    return rasterio.features.rasterize(
        shapes, out_shape=grid.shape, transform=grid.transform, fill=0, all_touched=False, dtype="int32"
    )


def _blockwise(zr: ZoneRasterizer, max_cells: int) -> np.ndarray:
    out = np.full(zr.grid.shape, -1, np.int32)
    for w in zr.grid.blocks(max_cells):
        out[w.row_off : w.row_off + w.height, w.col_off : w.col_off + w.width] = zr.rasterize(w)
    return out




@st.composite
def _zones(draw):
    res = draw(st.sampled_from([1.0, 0.5, 0.25, 0.1, 30.0]))
    origin = draw(st.sampled_from([(0.0, 9.0), (100.0, 45.0), (500_000.0, 4_500_000.0)]))
    w, h = draw(st.integers(1, 9)), draw(st.integers(1, 9))
    grid = Grid(CRS.from_epsg(3857), Affine(res, 0, origin[0], 0, -res, origin[1]), w, h)
    geoms = []
    for _ in range(draw(st.integers(1, 5))):
        # Vertices on an eighth-of-a-pixel lattice, from a pixel outside the grid to a pixel beyond.
        xs = [origin[0] + res * draw(st.integers(-8, 8 * w + 8)) / 8 for _ in range(3)]
        ys = [origin[1] - res * draw(st.integers(-8, 8 * h + 8)) / 8 for _ in range(3)]
        if res in (0.1, 30.0):  # resolutions not a power of 2: axis-parallel boxes (exact in every block)
            geoms.append(box(min(xs[:2]), min(ys[:2]), max(xs[:2]), max(ys[:2])))
        else:  # binary grid: any triangle, centres on slanted edges included
            geoms.append(Polygon(zip(xs, ys)))
    names = draw(st.lists(st.sampled_from("abc"), min_size=len(geoms), max_size=len(geoms)))
    return grid, gpd.GeoDataFrame({"name": names}, geometry=geoms, crs="EPSG:3857")


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_zones(), st.integers(1, 90))
def test_blockwise_equals_single_shot(zones, max_cells):
    grid, gdf = zones
    gdf = gdf[gdf.geometry.area > 0].reset_index(drop=True)
    if len(gdf) == 0:
        return
    zr = ZoneRasterizer(gdf, grid, field="name", overlap="warn")
    ids = [zr.names.index(n) + 1 for n in gdf["name"]]
    whole = _single_shot(gdf, ids, grid)
    np.testing.assert_array_equal(_blockwise(zr, max_cells), whole)
    np.testing.assert_array_equal(zr.rasterize(grid.full_window()), whole)


def test_to_raster_writes_an_atomic_int32_cache(tmp_path, monkeypatch):
    grid = Grid(CRS.from_epsg(3857), Affine(1, 0, 0, 0, -1, 300), 300, 300, block_shape=(256, 256))
    gdf = gpd.GeoDataFrame({"name": ["苏尼特右旗", "x"]}, geometry=[box(10, 10, 200, 290), box(150, 0, 300, 100)],
                           crs="EPSG:3857")
    zr = ZoneRasterizer(gdf, grid, field="name", overlap="warn")
    out = tmp_path / "cache" / "zones.tif"
    seen = []
    assert zr.to_raster(out, max_cells=70_000, progress=lambda f, msg: seen.append(f)) == out
    with rasterio.open(out) as src:
        got = src.read(1)
        assert (src.dtypes[0], src.nodata, src.block_shapes[0]) == ("int32", None, (256, 256))
        assert src.profile["compress"] == "deflate" and src.profile["tiled"]
        assert src.transform == grid.transform and CRS(src.crs.to_wkt()).equals(grid.crs)
        assert json.loads(src.tags()["zone_names"]) == ["苏尼特右旗", "x"]
    np.testing.assert_array_equal(got, zr.rasterize(grid.full_window()))
    # 'x' (id 2) covers x 150–300, y 0–100 → rows 200–299, cols 150–299; 苏尼特右旗 elsewhere in its box.
    assert got[250, 160] == 2 and got[150, 160] == 1 and got[5, 5] == OUTSIDE
    assert seen[-1] == 1.0 and os.listdir(out.parent) == ["zones.tif"]

    def boom(window):
        raise RuntimeError("disk full")

    monkeypatch.setattr(zr, "rasterize", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        zr.to_raster(out)
    assert os.listdir(out.parent) == ["zones.tif"]  # the old cache survives, no temp file is left
    with rasterio.open(out) as src:
        np.testing.assert_array_equal(src.read(1), got)


def test_zone_rasterizer_errors():
    gdf = gpd.GeoDataFrame({"name": ["a", None]}, geometry=[box(0, 0, 1, 1), box(1, 1, 2, 2)], crs="EPSG:3857")
    with pytest.raises(MissingCRS, match="zone layer has no CRS; set it with gdf.set_crs"):
        ZoneRasterizer(gpd.GeoDataFrame(geometry=[box(0, 0, 1, 1)]), GRID4)
    with pytest.raises(FieldError, match="zone layer has no field 'zone'; available fields: name"):
        ZoneRasterizer(gdf, GRID4, field="zone")
    with pytest.raises(FieldError, match="field 'name' is empty for 1 features"):
        ZoneRasterizer(gdf, GRID4, field="name")
    # a blank name ('' or spaces) is as empty as a null: its row would have no label (it was
    # accepted and gave a zone row with an empty name)
    with pytest.raises(FieldError, match="field 'name' is empty for 2 features"):
        ZoneRasterizer(gdf.assign(name=["", "  "]), GRID4, field="name")
    with pytest.raises(InputError, match="zone layer has no features"):
        ZoneRasterizer(gdf.iloc[:0], GRID4)
    with pytest.raises(TypeError, match="GeoDataFrame or VectorLayer"):
        ZoneRasterizer([box(0, 0, 1, 1)], GRID4)
    with pytest.raises(ValueError, match="whole offsets"):
        ZoneRasterizer(gdf, GRID4).rasterize(Window(0.5, 0, 2, 2))


def test_overlapping_zones_are_refused_or_logged(caplog):
    import logging

    from sinkplan.layers.errors import InputError
    from sinkplan.layers.zones import MAX_OVERLAP_FRACTION, ZoneRasterizer

    grid = Grid(CRS.from_epsg(4326), Affine(0.01, 0, 110, 0, -0.01, 42), 40, 20)
    # West 0.2° and east 0.2°; a third zone lies inside the west one: 100 % of the smaller.
    west, east = box(110.0, 41.8, 110.2, 42.0), box(110.2, 41.8, 110.4, 42.0)
    extra = box(110.15, 41.8, 110.2, 42.0)
    gdf = gpd.GeoDataFrame({"name": ["西", "东", "重叠"]}, geometry=[west, east, extra], crs="EPSG:4326")
    with pytest.raises(InputError, match=r"zones overlap: '西' and '重叠' share [\d,.]+ ha \(100\.0% of the smaller\)"):
        ZoneRasterizer(gdf, grid, field="name")
    zr = ZoneRasterizer(gdf, grid, field="name", overlap="warn")
    [(a, b, m2, frac)] = zr.overlaps()
    assert (a, b) == ("西", "重叠") and frac == pytest.approx(1.0, rel=1e-9)
    # Shared edges (west/east) are not overlaps; masks without a field are not checked.
    assert ZoneRasterizer(gdf.iloc[:2], grid, field="name").overlaps() == []
    ZoneRasterizer(gdf, grid)
    # A sliver below the threshold is logged, not refused.
    sliver = box(110.2, 41.8, 110.2 + 0.2 * MAX_OVERLAP_FRACTION / 2, 42.0)
    gdf2 = gpd.GeoDataFrame({"name": ["西", "东"]}, geometry=[west.union(sliver), east], crs="EPSG:4326")
    with caplog.at_level(logging.INFO, logger="sinkplan.layers.zones"):
        ZoneRasterizer(gdf2, grid, field="name")
    assert "zones overlap: '西' and '东'" in caplog.text
    with pytest.raises(ValueError, match="overlap must be"):
        ZoneRasterizer(gdf, grid, field="name", overlap="maybe")



def test_rounding_slivers_of_shared_borders_are_not_overlaps():
    from sinkplan.layers.zones import SLIVER_FRACTION, ZoneRasterizer

    grid = Grid(CRS.from_epsg(4326), Affine(0.01, 0, 110, 0, -0.01, 42), 40, 20)
    west, east = box(110.0, 41.8, 110.2, 42.0), box(110.2, 41.8, 110.4, 42.0)

    def pair(width_deg):  # the west zone reaches width_deg into the east one over its full height
        gdf = gpd.GeoDataFrame({"name": ["西", "东"]}, crs="EPSG:4326",
                               geometry=[box(110.0, 41.8, 110.2 + width_deg, 42.0), east])
        return ZoneRasterizer(gdf, grid, field="name", overlap="warn").overlaps()

    # Both zones are 0.2° wide and as tall as the strip, so the strip's share of the smaller
    # (east) zone is width / 0.2: 2e-12 / 0.2 = 1e-11 < SLIVER_FRACTION (1e-9), a rounding sliver;
    # 2e-8 / 0.2 = 1e-7 > 1e-9, an overlap, reported with its share.
    assert 2e-12 / 0.2 < SLIVER_FRACTION < 2e-8 / 0.2
    assert pair(2e-12) == []
    [(a, b, m2, frac)] = pair(2e-8)
    assert (a, b) == ("西", "东") and frac == pytest.approx(1e-7, rel=1e-3)
    assert ZoneRasterizer(gpd.GeoDataFrame({"name": ["西", "东"]}, geometry=[west, east], crs="EPSG:4326"),
                          grid, field="name").overlaps() == []


def test_metres_in_a_lon_lat_layer_are_refused(tmp_path):
    # A GeoJSON written from an Albers layer: GDAL cannot record that CRS in GeoJSON, so the file
    # says EPSG:4326 while holding metres. Reprojected, the zones went to inf ("non-finite
    # coordinates ... outside the valid area of the CRS") or, onto a CGCS2000 lon/lat grid (a
    # null transform), 4.5 million degrees north of the raster with 0 ha each.
    albers = "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +ellps=WGS84 +units=m"
    path = tmp_path / "z.geojson"
    gpd.GeoDataFrame({"n": ["a"]}, geometry=[box(500000, 4497000, 500600, 4497600)], crs=albers).to_file(path)
    for to_crs in (None, "EPSG:4490", albers):
        with pytest.raises(InputError, match=r"coordinates span x 500000…500600, y 4497000…4497600, which are not "
                                             r"degrees, yet the layer's CRS is EPSG:4326"):
            read_vector(path, to_crs=to_crs)
    ok = tmp_path / "ok.geojson"
    gpd.GeoDataFrame({"n": ["a"]}, geometry=[box(110, 44, 111, 45)], crs="EPSG:4326").to_file(ok)
    assert read_vector(ok, to_crs="EPSG:4490").gdf.total_bounds.tolist() == [110, 44, 111, 45]

"""Map files of the sinks result folders: zones.gpkg, redline.gpkg, land-cover preview, scheme.csv."""

from __future__ import annotations

import json
import re

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from shapely.geometry import Polygon, box
from sinks_util import INVEST_CSV, run_cli, write_polys, write_tif

from sinkplan.layers import resultspec as rs
from sinkplan.layers.grid import Grid
from sinkplan.layers.landcover import open_landcover
from sinkplan.layers.schemes import ClassScheme, LandClass, load_scheme
from sinkplan.sinks import mapfiles as mf

T = Affine(0.01, 0, 111.0, 0, -0.01, 41.0)  # 0.01° pixels, north-west corner 111° E 41° N
NAMES = ("四子王旗", "达尔罕茂明安联合旗")
# Zone 1 is two features (dissolved into one zone); zone 2 one rectangle.
RECTS = [(111.0, 40.7, 111.2, 41.0), (111.2, 40.85, 111.4, 41.0), (111.4, 40.6, 111.8, 41.0)]
BOWTIE = Polygon([(111.1, 40.9), (111.3, 40.7), (111.3, 40.9), (111.1, 40.7)])  # self-intersecting


def page_data(html: str) -> dict:
    m = re.search(r'<script id="sinkplan-data" type="application/json">(.*?)</script>', html, re.DOTALL)
    return json.loads(m.group(1))


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("mapfiles_in")
    rows, cols = np.mgrid[0:60, 0:80]
    a = np.choose((rows // 15 + cols // 20) % 4, [1, 2, 4, 7]).astype("uint8")  # CLCD cropland, forest, grass, barren
    a[:5, :5] = 0  # nodata corner
    b = a.copy()
    b[20:30, :] = 2  # 2020: a band became forest
    lc15 = write_tif(d / "lc2015.tif", a, transform=T, block=16)
    lc20 = write_tif(d / "lc2020.tif", b, transform=T, block=16)
    zones = write_polys(d / "zones.gpkg", RECTS, name_zh=[NAMES[0], NAMES[0], NAMES[1]])
    red = d / "red.gpkg"
    gpd.GeoDataFrame({"kind": ["水源涵养"]}, geometry=[BOWTIE], crs="EPSG:4326").to_file(red, driver="GPKG")
    dens = d / "dens.csv"
    dens.write_text(INVEST_CSV, encoding="utf-8")
    return {"lc15": lc15, "lc20": lc20, "zones": zones, "red": red, "dens": dens, "a": a, "b": b}


@pytest.fixture(scope="module")
def folders(inputs, tmp_path_factory):
    from sinkplan.cli import main

    out = tmp_path_factory.mktemp("mapfiles_out")
    z = ["--zones", str(inputs["zones"]), "--zone-field", "name_zh"]
    y = [f"2015={inputs['lc15']}", f"2020={inputs['lc20']}"]
    runs = {
        "carbon": ["carbon", str(inputs["lc20"]), *z, "--redline", str(inputs["red"]), "--densities", str(inputs["dens"])],
        "coverage": ["coverage", *y, *z],
        "change": ["change", *y, *z, "--densities", str(inputs["dens"])],
        "carbon_nozones": ["carbon", str(inputs["lc20"]), "--densities", str(inputs["dens"])],
    }
    for name, argv in runs.items():
        assert main([*argv, "--out", str(out / name), "--quiet"]) == 0, name
    return {k: out / k for k in runs}


def _read(path):
    return gpd.read_file(path, engine="pyogrio")


pytestmark = pytest.mark.filterwarnings("ignore:Geometry is in a geographic CRS:UserWarning")


def test_carbon_folder_has_zones_redline_preview_scheme_in_manifest(folders):
    d = folders["carbon"]
    manifest = json.loads((d / "manifest.json").read_text("utf-8"))
    listed = {o["path"] for o in manifest["outputs"]}
    assert {"zones.gpkg", "redline.gpkg", "landcover_preview.tif", "scheme.csv"} <= listed
    assert "map_files" in manifest["timings_s"]


def test_carbon_zones_dissolved_named_exactly_with_figures(folders):
    zones = _read(folders["carbon"] / "zones.gpkg")
    table = pd.read_csv(folders["carbon"] / rs.STOCKS_BY_ZONE.name, encoding="utf-8-sig")
    assert zones.crs.to_epsg() == 4326
    assert list(zones["zone"]) == list(NAMES) and list(zones["zone_id"]) == [1, 2]
    assert set(zones.geom_type) == {"MultiPolygon"}
    # zone 1 = union of its two rectangles: 0.2 × 0.3 + 0.2 × 0.15 = 0.09 deg², kept exact (not simplified)
    assert zones.geometry.area.tolist() == pytest.approx([0.09, 0.16], abs=1e-12)
    assert zones.geometry.iloc[0].equals(shapely.union_all([box(*RECTS[0]), box(*RECTS[1])]))
    for col in ("area_ha", "stock_mgc", "stock_mgc_soil", "inside_redline_area_ha", "density_mgc_per_ha"):
        assert col in zones.columns, col
    t = table.set_index("zone")
    for _, z in zones.iterrows():
        assert z["area_ha"] == pytest.approx(t.loc[z["zone"], "area_ha"], rel=1e-12)
        assert z["stock_mgc"] == pytest.approx(t.loc[z["zone"], "stock_mgc"], rel=1e-12)
        assert z["density_mgc_per_ha"] == pytest.approx(z["stock_mgc"] / z["area_ha"], rel=1e-12)  # Mg C ÷ ha


def test_redline_repaired_in_lonlat(folders):
    red = _read(folders["carbon"] / "redline.gpkg")
    assert red.crs.to_epsg() == 4326 and list(red["kind"]) == ["水源涵养"]
    assert red.geometry.is_valid.all()
    # the bow-tie becomes its two triangles: 2 × (0.2 × 0.1 / 2) = 0.02 deg²
    assert red.geometry.area.sum() == pytest.approx(0.02, abs=1e-12)


def test_preview_and_scheme_csv(folders, inputs):
    d = folders["carbon"]
    with rasterio.open(d / "landcover_preview.tif") as src:
        preview = src.read(1)
        assert src.dtypes[0] == "uint8" and src.nodata == 0
        assert src.width * src.height <= mf.PREVIEW_MAX_PIXELS
        assert src.transform == T and src.crs.to_epsg() == 4326
        assert src.colormap(1)[2] == (0x44, 0x6F, 0x33, 255)  # CLCD forest #446F33
    # 60 × 80 px fit the bound: the preview is the raster itself
    np.testing.assert_array_equal(preview, inputs["b"])
    scheme = ClassScheme.from_csv(d / "scheme.csv")
    clcd = load_scheme("clcd")
    assert scheme.classes == clcd.classes and scheme.nodata == clcd.nodata and scheme.name == "clcd"


def test_cli_preview_is_bounded_with_codes_of_the_source(inputs, tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(mf, "PREVIEW_MAX_PIXELS", 500)
    out = tmp_path / "c"
    code, err = run_cli(["carbon", str(inputs["lc20"]), "--densities", str(inputs["dens"]), "--out", str(out)], capsys)
    assert code == 0, err
    with rasterio.open(out / "landcover_preview.tif") as src:
        p = src.read(1)
        # 60 × 80 = 4800 px > 500: factor 4 (factor 3 gives 20 · 27 = 540 > 500) → 15 × 20 = 300 px
        assert p.shape == (15, 20) and src.transform == T @ Affine.scale(4, 4)
    assert set(np.unique(p)) <= set(np.unique(inputs["b"]))
    assert set(np.unique(p)) >= {1, 2, 4, 7}  # bands 15 rows / 20 columns wide: every class keeps whole cells


def test_carbon_without_zones_has_preview_but_no_zones(folders):
    d = folders["carbon_nozones"]
    assert (d / "landcover_preview.tif").exists() and (d / "scheme.csv").exists()
    assert not (d / "zones.gpkg").exists() and not (d / "redline.gpkg").exists()


def test_coverage_zones_have_each_years_coverage(folders):
    zones = _read(folders["coverage"] / "zones.gpkg")
    table = pd.read_csv(folders["coverage"] / "coverage_by_zone.csv", encoding="utf-8-sig")
    assert list(zones["zone"]) == list(NAMES) and zones.crs.to_epsg() == 4326
    for year in (2015, 2020):
        t = table[table.year == year].set_index("zone")
        for _, z in zones.iterrows():
            assert z[f"coverage_{year}"] == pytest.approx(t.loc[z["zone"], "coverage"], rel=1e-12)
            assert z[f"forest_area_ha_{year}"] == pytest.approx(t.loc[z["zone"], "forest_area_ha"], rel=1e-12)
    assert {"land_area_ha", "annual_change", "target_year_at_this_rate"} <= set(zones.columns)


def test_change_zones_have_change_figures(folders):
    zones = _read(folders["change"] / "zones.gpkg")
    table = pd.read_csv(folders["change"] / "change_by_zone.csv", encoding="utf-8-sig").set_index("zone")
    assert list(zones["zone"]) == list(NAMES)
    for _, z in zones.iterrows():
        for col in ("sequestration_mgc_per_ha", "sequestration_mgc", "equilibrium_change_mgc_per_ha", "equilibrium_change_mgc"):
            assert z[col] == pytest.approx(table.loc[z["zone"], col], rel=1e-12), col


def test_restoration_mode_writes_no_zone_pieces(inputs, tmp_path, capsys):
    out = tmp_path / "rest"
    code, err = run_cli(["change", f"2015={inputs['lc15']}", f"2020={inputs['lc20']}", "--zones", str(inputs["zones"]),
                         "--zone-field", "name_zh", "--control-ring-km", "1", "--densities", str(inputs["dens"]),
                         "--no-raster", "--out", str(out)], capsys)
    assert code == 0, err
    assert not (out / "zones.gpkg").exists()  # its strata are project/ring pieces, not zones


# ------------------------------------------------------------------ the maps see them
def test_carbon_map_has_landcover_zones_and_redline(folders):
    from sinkplan.maps.build import build_map

    data = page_data(build_map([folders["carbon"]], lang="zh"))
    by_name = {lay["name"]: lay for lay in data["layers"]}
    assert list(by_name) == ["土地覆盖", "碳密度", "分区碳储量密度", "分区界线与名称", "生态保护红线"]
    lc = by_name["土地覆盖"]
    assert lc["type"] == "raster"
    assert {name for _, name in lc["legend"]["items"]} == {"耕地", "森林", "草地", "荒地"}
    zones = by_name["分区碳储量密度"]
    assert zones["type"] == "vector" and len(zones["features"]) == 2
    assert [f["t"].split(":")[0] for f in zones["features"]] == list(NAMES)
    assert all(f["c"] for f in zones["features"])  # coloured by density: figures joined by name
    assert len(by_name["生态保护红线"]["features"]) == 1


def test_coverage_map_has_zone_layers_per_year(folders):
    from sinkplan.maps.build import build_map

    data = page_data(build_map([folders["coverage"]], lang="en"))
    layers = data["layers"]
    assert [lay["name"] for lay in layers] == ["Forest coverage 2015", "Forest coverage 2020", "Zone outlines and names"]
    assert [lb[2] for lb in layers[2]["labels"]] == list(NAMES)  # zone names written on the map
    for lay in layers[:2]:
        assert [f["t"].split(" ")[0] for f in lay["features"]] == list(NAMES)
        assert all(f["c"] != "#bbbbbb" for f in lay["features"])  # every zone has its coverage


def test_change_map_has_zone_layer(folders):
    from sinkplan.maps.build import build_map

    data = page_data(build_map([folders["change"]], lang="en"))
    names = [lay["name"] for lay in data["layers"]]
    assert names[-2:] == ["Carbon change by zone", "Zone outlines and names"]
    assert len(data["layers"][-2]["features"]) == 2


# ------------------------------------------------------------------ preview (unit)
def _lc(tmp_path, array, *, nodata=0, scheme="clcd", block=None, overviews=()):
    p = write_tif(tmp_path / "lc.tif", np.asarray(array, dtype="uint8"), transform=T, nodata=nodata, block=block)
    if overviews:
        with rasterio.open(p, "r+") as ds:
            ds.build_overviews(list(overviews), rasterio.enums.Resampling.mode)
    return open_landcover(p, scheme)


def test_preview_mode_of_blocks_by_hand(tmp_path):
    a = [[1, 1, 0, 0, 2, 2],
         [1, 2, 0, 4, 2, 2],
         [0, 0, 7, 7, 9, 5],
         [0, 0, 7, 2, 5, 5]]
    lc = _lc(tmp_path, a)
    # 24 px, bound 6 → factor 2 (2 × 3 = 6 px). Modes, nodata 0 ignored: 1 (3 of 4), 4 (only code), 2 (4 of 4);
    # nodata (all 0), 7 (3 of 4), 5 (3 of 4).
    out = mf.write_landcover_preview(tmp_path / "p.tif", lc, max_pixels=6)
    with rasterio.open(out) as src:
        np.testing.assert_array_equal(src.read(1), [[1, 4, 2], [0, 7, 5]])
        assert src.transform == T @ Affine.scale(2, 2) and src.nodata == 0


def test_preview_tiles_do_not_change_it_and_edges_are_covered(tmp_path):
    rng = np.random.default_rng(3)
    a = rng.choice([0, 1, 2, 4, 7], size=(37, 53)).astype("uint8")
    lc = _lc(tmp_path, a, block=16)
    one = mf.write_landcover_preview(tmp_path / "one.tif", lc, max_pixels=200)
    many = mf.write_landcover_preview(tmp_path / "many.tif", lc, max_pixels=200, max_cells=40)
    with rasterio.open(one) as s1, rasterio.open(many) as s2:
        p1, p2 = s1.read(1), s2.read(1)
        # factor 4 (ceil(37/3)·ceil(53/3) = 13·18 = 234 > 200; 10·14 = 140): the last row/column cover the remainder
        assert p1.shape == (10, 14) and s1.width * s1.height <= 200
    np.testing.assert_array_equal(p1, p2)
    assert set(np.unique(p1)) <= set(np.unique(a))


def test_preview_uses_overviews_and_stays_within_source_codes(tmp_path):
    rng = np.random.default_rng(5)
    a = rng.choice([1, 2, 4], size=(64, 64)).astype("uint8")
    lc = _lc(tmp_path, a, block=16, overviews=(2, 4))
    out = mf.write_landcover_preview(tmp_path / "p.tif", lc, max_pixels=256)  # factor 4
    with rasterio.open(out) as src:
        p = src.read(1)
    assert p.shape == (16, 16) and set(np.unique(p)) <= {1, 2, 4}


def test_preview_codes_outside_the_scheme_become_nodata(tmp_path):
    a = np.array([[1, 200], [2, 2]], dtype="uint8")
    lc = _lc(tmp_path, a)
    with rasterio.open(mf.write_landcover_preview(tmp_path / "p.tif", lc)) as src:
        np.testing.assert_array_equal(src.read(1), [[1, 0], [2, 2]])


@pytest.mark.parametrize(("codes", "nodata", "expected"), [
    ((1, 2, 9), 0, ("uint8", 0)),
    ((0, 1, 2), None, ("uint8", 255)),      # 0 is a class: the dtype's maximum
    ((0, 1, 255), 255, ("uint8", 2)),       # 0 and 255 are classes: the first free value
    ((10, 300), 0, ("uint16", 0)),          # a code above 255 needs uint16
    ((1, 2), 250, ("uint8", 250)),          # the source's own nodata when it is free
])
def test_preview_nodata(codes, nodata, expected):
    assert mf.preview_nodata(codes, nodata) == expected


def test_scheme_csv_round_trip_with_commas_and_mapped_codes():
    s = ClassScheme("mine", (LandClass(1, "Forest, dense", "密林", "forest", "#00aa00"),
                             LandClass(2, "Grass", "草地", "grassland", "#aadd00")), nodata=0, source="a, b")
    s = s.with_mapping({200: 1})
    back = ClassScheme.from_csv("scheme.csv", text=mf.scheme_csv_text(s))
    assert back.classes == s.classes and back.nodata == 0 and back.name == "mine" and back.source == "a, b"


# ------------------------------------------------------------------ vectors (unit)
def test_projected_zones_are_reprojected_to_lonlat(tmp_path):
    utm = Grid(gpd.GeoSeries(crs="EPSG:32649").crs, Affine(100, 0, 500_000, 0, -100, 4_500_000), 100, 100)
    z = gpd.GeoDataFrame({"zone_id": [1], "zone": ["乌拉特中旗"]}, geometry=[box(500_000, 4_490_000, 510_000, 4_500_000)],
                         crs="EPSG:32649")
    out = mf.zones_layer(z, None, grid=utm)
    assert out.crs.to_epsg() == 4326
    w, s, e, _n = out.total_bounds
    assert 110.99 < w < 111.0 + 1e-9 and 40.55 < s < 40.65 and e - w == pytest.approx(0.118, abs=0.003)  # 10 km ≈ 0.118° at 40.6° N
    # edges (10 km, the grid's extent) were divided into pieces ≤ 10 km / 512 before reprojecting
    assert shapely.get_num_coordinates(out.geometry.values[0]) >= 4 * 512 + 1


def test_huge_layers_are_simplified_small_ones_kept_exact():
    grid = Grid(gpd.GeoSeries(crs="EPSG:4326").crs, T, 80, 60)
    t = np.linspace(0, 2 * np.pi, 5000, endpoint=False)
    circle = Polygon(np.column_stack([111.4 + 0.2 * np.cos(t), 40.7 + 0.2 * np.sin(t)]))
    z = gpd.GeoDataFrame({"zone_id": [1], "zone": ["a"]}, geometry=[circle], crs="EPSG:4326")
    kept = mf.lonlat_layer(z, grid=grid)
    assert kept.geometry.values[0].equals(shapely.MultiPolygon([circle])) and kept.attrs["simplify_tolerance"] == 0.0
    small = mf.lonlat_layer(z, grid=grid, max_coords=1000)
    assert shapely.get_num_coordinates(small.geometry.values).sum() <= 1000
    assert small.attrs["simplify_tolerance"] >= 0.005  # starts at half a 0.01° pixel
    # tolerance 0.005° on a 0.2° circle: chords of ≈ 2·√(2 · 0.005 · 0.2) ≈ 0.09°, about 14 sides, ≈ 3 % less area
    assert small.geometry.area.iloc[0] == pytest.approx(circle.area, rel=0.05)


def test_wide_by_year_and_undated():
    df = pd.DataFrame({"zone": ["甲", "乙", "甲", "乙"], "year": [2015, 2015, 2020, 2020], "coverage": [0.1, 0.2, 0.3, 0.4]})
    w = mf.wide_by_year(df, ["coverage"])
    assert w.to_dict("records") == [{"zone": "甲", "coverage_2015": 0.1, "coverage_2020": 0.3},
                                    {"zone": "乙", "coverage_2015": 0.2, "coverage_2020": 0.4}]
    one = mf.wide_by_year(pd.DataFrame({"zone": ["甲"], "year": [None], "coverage": [0.5]}), ["coverage"])
    assert one.to_dict("records") == [{"zone": "甲", "coverage": 0.5}]


def test_restoration_folder_gets_its_effect_figure(tmp_path, caplog):
    # A restoration result (sinkplan change --control-ring-km) has no change.tif: it used to
    # log 'nothing to draw'; now it gets the inside / ring / difference bars per project.
    import logging

    from sinkplan.maps.figures import write_figures

    d = tmp_path / "restoration"
    d.mkdir()
    (d / "manifest.json").write_text('{"command": "change"}', encoding="utf-8")
    (d / rs.SUMMARY.name).write_text("{}", encoding="utf-8")
    pd.DataFrame({"project": ["治沙一号", "B"], "change_mgc_per_ha": [-15.4, 2.0], "ring_change_mgc_per_ha": [0.0, 0.5],
                  "difference_mgc_per_ha": [-15.4, 1.5]}).to_csv(d / "restoration_effect.csv", index=False,
                                                                    encoding="utf-8-sig")
    with caplog.at_level(logging.WARNING, logger="sinkplan.maps.figures"):
        paths = write_figures(d, tmp_path / "figs", lang="en")
    assert [p.name for p in paths] == ["restoration_effect.png"] and paths[0].stat().st_size > 0
    assert "nothing to draw" not in caplog.text

"""Tests of the synthetic demo region (seeds.demo) and the policy targets (seeds.targets)."""

from __future__ import annotations

import itertools
import json
from dataclasses import fields
from pathlib import Path

import geopandas as gpd
import numpy as np
import pyogrio
import pytest
import rasterio
import shapely
from shapely.geometry import box

from sinkplan.layers.errors import ConfigError
from sinkplan.seeds.demo import DemoRegion, build_demo
from sinkplan.seeds.targets import Target, load_targets

EXTENT = (110.0, 41.9, 112.4, 43.4)
CLASSES = {"forest": 2, "grassland": 4, "barren": 7, "cropland": 1, "water": 5, "wetland": 9, "impervious": 8}


def _file_fields() -> list[str]:
    return [f.name for f in fields(DemoRegion) if f.name != "zone_field"]


@pytest.fixture(scope="module")
def demo(tmp_path_factory) -> DemoRegion:
    calls: list[tuple[float, str]] = []
    out = tmp_path_factory.mktemp("demo_a")
    region = build_demo(out, scale=0.1, progress=lambda f, m: calls.append((f, m)))
    assert calls and calls[-1][0] == 1.0
    return region


@pytest.fixture(scope="module")
def lc(demo) -> dict[int, np.ndarray]:
    out = {}
    for year in (2015, 2020):
        with rasterio.open(getattr(demo, f"landcover_{year}")) as src:
            out[year] = src.read(1)
    return out


def test_deterministic(demo, tmp_path):
    again = build_demo(tmp_path / "demo_b", scale=0.1)
    for name in ("landcover_2015", "landcover_2020", "dem", "image"):
        assert getattr(demo, name).read_bytes() == getattr(again, name).read_bytes(), name
    for name in _file_fields():
        path = getattr(demo, name)
        if path.suffix == ".gpkg":
            a, b = gpd.read_file(path), gpd.read_file(getattr(again, name))
            assert list(a.geometry.to_wkb()) == list(b.geometry.to_wkb()), name
            assert a.drop(columns="geometry").equals(b.drop(columns="geometry")), name


def test_other_seed_differs(demo, tmp_path):
    other = build_demo(tmp_path / "demo_c", scale=0.1, seed=7)
    assert other.landcover_2020.read_bytes() != demo.landcover_2020.read_bytes()


def test_files_exist_with_crs_and_are_labelled_synthetic(demo):
    manifest = json.loads(demo.manifest.read_text(encoding="utf-8"))
    assert manifest["synthetic"] is True
    assert manifest["zone_field"] == demo.zone_field == "name_zh"
    listed = {v["path"] for v in manifest["files"].values()}
    for name in _file_fields():
        path: Path = getattr(demo, name)
        assert path.exists() and path.parent == demo.manifest.parent, name
        if name == "manifest":
            continue
        assert path.name in listed and manifest["files"][name]["description"], name
        if path.suffix == ".tif":
            with rasterio.open(path) as src:
                assert src.crs.to_epsg() == 4326, name
                tags = src.tags()
                assert tags["SYNTHETIC"] == "yes" and "SYNTHETIC" in tags["TIFFTAG_IMAGEDESCRIPTION"]
                assert src.block_shapes[0] == (256, 256) and src.compression.name.lower() == "deflate"
        else:
            info = pyogrio.read_info(path)
            assert info["crs"] == "EPSG:4326", name
            assert info["features"] > 0, name
    assert not list(demo.manifest.parent.glob(".*tmp*")), "temporary files left behind"


def test_raster_grid_and_metadata(demo):
    with rasterio.open(demo.landcover_2020) as src:
        assert (src.width, src.height) == (240, 150)
        assert src.bounds == pytest.approx(EXTENT)
        assert src.nodata == 0 and src.dtypes[0] == "uint8"
        assert src.colormap(1)[2][:3] == (68, 111, 51)
    with rasterio.open(demo.image) as src:
        assert src.count == 4 and src.dtypes[0] == "uint16"
        assert src.descriptions == ("blue", "green", "red", "nir")
    with rasterio.open(demo.dem) as src:
        dem = src.read(1)
        assert src.nodata == -9999 and dem.dtype == np.float32
        assert 1000 <= dem.min() and dem.max() <= 2000 and dem.std() > 20


def test_codes_and_classes(lc):
    for year, arr in lc.items():
        assert set(np.unique(arr).tolist()) <= {0, 1, 2, 3, 4, 5, 7, 8, 9}
        assert (arr == 0).any(), "a small no-data area is expected"
        assert (arr == 0).mean() < 0.02
        for name, code in CLASSES.items():
            assert (arr == code).any(), (year, name)


def test_spatial_pattern(lc):
    arr = lc[2020]
    w = arr.shape[1]
    west, east = arr[:, : w // 3], arr[:, -(w // 3):]
    assert (east == 2).mean() > (west == 2).mean() + 0.1
    assert (west == 7).mean() > (east == 7).mean() + 0.1


def test_change_2015_2020(lc):
    a, b = lc[2015], lc[2020]
    assert (a != b).any()
    assert (np.isin(a, [3, 4]) & (b == 2)).sum() > 10, "afforestation"
    assert ((a == 7) & np.isin(b, [3, 4])).any(), "restoration"
    assert (np.isin(a, [1, 3, 4]) & (b == 8)).any(), "built-up growth"
    assert (b == 2).sum() > (a == 2).sum()


def test_banners_partition_extent(demo):
    banners = gpd.read_file(demo.banners)
    assert len(banners) >= 4 and banners["league_zh"].nunique() >= 2
    for col in ("name_zh", "name_en", "league_zh", "league_en", "code"):
        assert banners[col].notna().all() and (banners[col].astype(str).str.len() > 0).all()
    assert banners["code"].str.fullmatch(r"\d{6}").all()
    assert banners.geometry.is_valid.all()
    extent = box(*EXTENT)
    union = shapely.union_all(banners.geometry.values)
    assert union.symmetric_difference(extent).area < 1e-9 * extent.area
    for g1, g2 in itertools.combinations(banners.geometry, 2):
        assert g1.intersection(g2).area < 1e-12
    leagues = gpd.read_file(demo.leagues)
    assert set(leagues["name_zh"]) == set(banners["league_zh"])
    assert sum(g.area for g in leagues.geometry) == pytest.approx(extent.area, rel=1e-9)


def test_redline_has_an_invalid_polygon(demo):
    redline = gpd.read_file(demo.redline)
    assert {"name", "type"} <= set(redline.columns)
    assert (~redline.geometry.is_valid).sum() >= 1


def test_border_is_a_line_near_north_edge(demo):
    border = gpd.read_file(demo.border)
    assert border["name"].tolist() == ["中蒙边界"]
    line = border.geometry.iloc[0]
    assert line.geom_type == "LineString"
    xy = np.asarray(line.coords)
    assert (xy[:, 1] < EXTENT[3]).all() and (xy[:, 1] > EXTENT[3] - 0.1).all()
    assert xy[:, 0].min() <= EXTENT[0] + 0.01 and xy[:, 0].max() >= EXTENT[2] - 0.01


def test_vector_fields(demo):
    expect = {
        "farmland": set(), "deserts": {"name", "kind"}, "mines": {"name", "status"},
        "restoration": {"project", "start_year"}, "grid_lines": {"kv"}, "substations": {"name", "kv"},
        "plots": {"plot_id", "density_mgc_per_ha", "c_above", "c_below", "year"},
        "training_points": {"label"}, "reference_points": {"ref_code"},
    }
    for name, cols in expect.items():
        df = gpd.read_file(getattr(demo, name))
        assert cols <= set(df.columns), name
    assert set(gpd.read_file(demo.deserts)["kind"]) <= {"desert", "gobi"}
    assert set(gpd.read_file(demo.grid_lines)["kv"]) <= {220, 500}


def test_samples(demo):
    with rasterio.open(demo.landcover_2020) as src:
        def at(df):
            return np.array([v[0] for v in src.sample(zip(df.geometry.x, df.geometry.y))])

        training = gpd.read_file(demo.training_points)
        assert 1500 <= len(training) <= 2100
        assert (at(training) == training["label"].to_numpy()).all()
        assert 0 not in set(training["label"])
        ref = gpd.read_file(demo.reference_points)
        assert 500 <= len(ref) <= 700 and 0 not in set(at(ref))
        assert (at(ref) == ref["map_code"].to_numpy()).all()
        differ = (ref["ref_code"] != ref["map_code"]).mean()
        assert 0.01 < differ < 0.15
        plots = gpd.read_file(demo.plots)
        assert 250 <= len(plots) <= 350
        codes = at(plots)
        dens = plots["density_mgc_per_ha"].to_numpy()
        assert (plots["c_above"] + plots["c_below"]).to_numpy() == pytest.approx(dens, abs=2e-3)
        assert 25 < np.median(dens[codes == 2]) < 65
        assert np.median(dens[codes == 7]) < 1 and 2 < np.median(dens[codes == 4]) < 6


def test_bad_scale(tmp_path):
    with pytest.raises(ConfigError, match="scale"):
        build_demo(tmp_path, scale=0.001)


def test_targets():
    targets = load_targets()
    assert targets["forest_coverage"].value == 0.235 and targets["forest_coverage"].year == 2025
    assert targets["forest_stock_volume"].value == 1.55e9 and targets["forest_stock_volume"].unit == "m3"
    cap = targets["new_energy_capacity"]
    assert cap.value == 200_000 and cap.unit == "MW" and cap.comparison == ">" and cap.year == 2030
    for t in targets.values():
        assert isinstance(t, Target) and t.clause and "碳达峰" in t.source
    assert "23.5%" in targets["forest_coverage"].clause
    assert not cap.is_met(200_000) and cap.is_met(200_001)
    with pytest.raises(AttributeError):
        cap.value = 1  # frozen


_GOOD = {"key": '"x"', "value": "1", "unit": '"MW"', "year": "2030", "comparison": '">"',
         "clause": '"c"', "source": '"s"'}


def _toml(**change: str | None) -> str:
    items = {**_GOOD, **change}
    return "[[target]]\n" + "".join(f"{k} = {v}\n" for k, v in items.items() if v is not None)


@pytest.mark.parametrize("body, match", [
    (_toml(value='"a lot"'), "'x'.*'value'"),
    (_toml(year="true"), "'x'.*'year'"),
    (_toml(comparison='"<"'), "'x'.*comparison"),
    (_toml(source=None), "'x'.*source"),
    (_toml(extra="1"), "'x'.*extra"),
    (_toml() + _toml(), "'x'.*more than once"),
    ("not toml [", "TOML"),
])
def test_targets_errors_name_file_and_key(tmp_path, body, match):
    path = tmp_path / "my_targets.toml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=match) as info:
        load_targets(path)
    assert "my_targets.toml" in str(info.value)


def test_targets_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="nope.toml"):
        load_targets(tmp_path / "nope.toml")

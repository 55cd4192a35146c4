"""Carbon stocks: InVEST equivalence, exact lon/lat areas, conservation, uncertainty, CLI errors."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyproj import Geod

from sinkplan.layers import resultspec as rs
from sinkplan.layers.grid import Grid
from sinkplan.layers.schemes import load_scheme
from sinkplan.sinks.blocks import ClassSlots, PassSpec, run_pass
from sinkplan.sinks.carbon import carbon_account, carbon_summary, zone_table
from sinkplan.sinks.densities import DensityTable
from sinkplan.sinks.stocks import class_area_ha, common_quantum, quantize
from sinks_util import (INVEST_CSV, INVEST_DENSITY, assert_one_line_error, run_cli, summary, write_polys,
                        write_tif)

EA = "EPSG:6933"  # EASE-Grid 2.0, cylindrical equal-area: areal scale 1 everywhere


@pytest.fixture
def invest_table(tmp_path):
    p = tmp_path / "biophysical.csv"
    p.write_text(INVEST_CSV, encoding="utf-8")
    return p


def test_invest_equivalence_on_equal_area_raster(tmp_path, invest_table, capsys):
    rng = np.random.default_rng(3)
    codes = rng.integers(0, 10, size=(157, 211)).astype("uint8")  # 0 = CLCD nodata
    lc = write_tif(tmp_path / "lc.tif", codes, crs=EA, transform=Affine(30, 0, 1_000_000, 0, -30, 4_500_000), block=64)
    out = tmp_path / "out"
    code, err = run_cli(["carbon", str(lc), "--densities", str(invest_table), "--out", str(out), "--max-cells", "5000"], capsys)
    assert code == 0, err
    # What InVEST computes: Σ over pixels of density (Mg C/ha) × pixel area (30 m × 30 m = 0.09 ha).
    density = np.vectorize(lambda c: INVEST_DENSITY.get(int(c), 0.0))(codes)
    expected = float((density * 0.09).sum())
    s = summary(out)
    assert s["stock_mgc"] == pytest.approx(expected, rel=1e-6)
    assert s["area_ha"] == pytest.approx(np.count_nonzero(codes) * 0.09, rel=1e-12)
    with rasterio.open(out / "carbon_density.tif") as src:
        dens = src.read(1)
        assert src.nodata == -1 and src.dtypes[0] == "float32" and src.tags()["units"] == "Mg C/ha"
    assert np.allclose(np.where(codes == 0, -1, density), dens)
    by_class = pd.read_csv(out / "stocks_by_class.csv", encoding="utf-8-sig")
    forest = by_class[by_class.code == 2].iloc[0]
    assert forest.stock_mgc == pytest.approx(np.count_nonzero(codes == 2) * 0.09 * 86.0, rel=1e-12)
    assert (out / "stocks.xlsx").exists() and (out / "manifest.json").exists()


def test_lonlat_pixels_use_exact_ellipsoidal_areas(tmp_path, invest_table, capsys):
    # 2 × 3 pixels of 0.001° at 42°N: forest (86 Mg C/ha) on the top row, grass (55.2) below.
    codes = np.array([[2, 2, 2], [4, 4, 0]], dtype="uint8")
    t = Affine(0.001, 0, 111.0, 0, -0.001, 42.002)
    lc = write_tif(tmp_path / "lc.tif", codes, transform=t)
    out = tmp_path / "out"
    assert run_cli(["carbon", str(lc), "--densities", str(invest_table), "--out", str(out)], capsys)[0] == 0

    def cell_ha(top: float) -> float:  # independent: geodesic polygon densified along the parallels
        lons = np.linspace(111.0, 111.001, 201)
        lon = np.r_[lons, lons[::-1]]
        lat = np.r_[np.full(201, top), np.full(201, top - 0.001)]
        return abs(Geod(ellps="WGS84").polygon_area_perimeter(lon, lat)[0]) / 1e4

    top, bottom = cell_ha(42.002), cell_ha(42.001)
    assert top == pytest.approx(0.920, abs=0.01)  # ≈ 111.1 m × 82.8 m
    s = summary(out)
    assert s["area_ha"] == pytest.approx(3 * top + 2 * bottom, rel=1e-8)
    assert s["stock_mgc"] == pytest.approx(3 * top * 86.0 + 2 * bottom * 55.2, rel=1e-8)


def _pass(tmp_path, codes, zones, red, table, *, max_cells=1024, executor=None):
    """Run one pass on a lon/lat raster with a stratum raster built from zone/redline arrays."""
    t = Affine(0.01, 0, 110, 0, -0.01, 43)
    lc = write_tif(tmp_path / "lc.tif", codes.astype("uint8"), transform=t)
    strata = write_tif(tmp_path / "strata.tif", (zones * 2 + red).astype("uint8"), transform=t, nodata=None)
    grid = Grid.from_raster(lc)
    scheme = load_scheme("clcd")
    slots = ClassSlots.build(scheme, nodata=(0,))
    nz = int(zones.max())
    spec = PassSpec(grid, (str(lc),), (slots,), str(strata), nz, 2)
    res = run_pass(spec, max_cells=max_cells, executor=executor)
    acc = carbon_account(class_area_ha(res), table.resolve(scheme), scheme,
                         zone_names=("out", *[f"z{i}" for i in range(1, nz + 1)]), has_zones=True, has_redline=True)
    return res, acc


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 2**32 - 1), h=st.integers(1, 40), w=st.integers(1, 70), nz=st.integers(1, 6))
def test_conservation_exact(tmp_path, seed, h, w, nz):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 10, size=(h, w))
    zones = rng.integers(0, nz + 1, size=(h, w))
    red = rng.integers(0, 2, size=(h, w))
    table = DensityTable.from_csv("t.csv", text=INVEST_CSV)
    res, acc = _pass(tmp_path, codes, zones, red, table)
    s = carbon_summary(acc)
    zs = zone_table(acc)
    # zones add up to the whole, exactly (summed in any order)
    assert sum(z["stock_mgc"] for z in s["zones"]) == s["stock_mgc"]
    assert sum(z["stock_mgc"] for z in reversed(s["zones"])) == s["stock_mgc"]
    assert sum(z["area_ha"] for z in s["zones"]) == s["area_ha"]
    # redline inside + outside = total
    r = s["redline"]
    assert r["inside_stock_mgc"] + r["outside_stock_mgc"] == s["stock_mgc"]
    assert r["inside_area_ha"] + r["outside_area_ha"] == s["area_ha"]
    # pools add up to the total, per zone and overall
    assert sum(s["stock_mgc_by_pool"].values()) == s["stock_mgc"]
    for row in zs.itertuples():
        assert row.stock_mgc_above + row.stock_mgc_below + row.stock_mgc_soil + row.stock_mgc_dead == row.stock_mgc
    # and the total is what the pixels hold (independent per-pixel computation)
    areas = Grid.from_raster(tmp_path / "lc.tif").pixel_areas_m2() / 1e4
    dens = np.vectorize(lambda c: INVEST_DENSITY.get(int(c), 0.0))(codes)
    assert s["stock_mgc"] == pytest.approx(float((dens * areas).sum()), rel=1e-9, abs=1e-9)
    # block size does not matter
    _, acc2 = _pass(tmp_path, codes, zones, red, table, max_cells=10**6)
    assert carbon_summary(acc2)["area_ha"] == pytest.approx(s["area_ha"], rel=1e-12)


def test_quantum_makes_sums_order_free():
    rng = np.random.default_rng(0)
    x = rng.random(1000) * 1e6
    q = quantize(x, common_quantum(2 * x.sum()))
    assert np.abs(q - x).max() <= common_quantum(2 * x.sum())
    assert sum(q) == sum(q[::-1]) == np.sum(q) == sum(sorted(q))
    assert common_quantum(0.0) == 0.0


def test_zones_redline_and_uncertainty_cli(tmp_path, invest_table, capsys):
    # 4 × 6 lon/lat pixels; zone A covers columns 0-2, zone B columns 3-5; redline the top row.
    codes = np.array([[2, 2, 4, 4, 1, 9]] * 4, dtype="uint8")
    t = Affine(0.01, 0, 110, 0, -0.01, 43)
    lc = write_tif(tmp_path / "lc.tif", codes, transform=t)
    zones = write_polys(tmp_path / "z.gpkg", [(110, 42.96, 110.03, 43), (110.03, 42.96, 110.06, 43)], name_zh=["甲旗", "乙旗"])
    red = write_polys(tmp_path / "r.gpkg", [(110, 42.99, 110.06, 43)])
    mc_table = tmp_path / "mc.csv"
    mc_table.write_text("group,c_above,c_above_sd,c_below,c_soil,c_soil_low,c_soil_high,c_dead,source\n"
                        "forest,30,5,7,100,50,150,3,a\ngrassland,1,0.5,3,40,20,60,0.5,b\ncropland,3,1,1,35,25,45,0,c\n"
                        "wetland,2,1,3,75,50,100,1,d\n", encoding="utf-8")
    outs = []
    for i in range(2):
        out = tmp_path / f"out{i}"
        code, err = run_cli(["carbon", str(lc), "--densities", str(mc_table), "--zones", str(zones), "--zone-field", "name_zh",
                             "--redline", str(red), "--uncertainty", "300", "--seed", "42", "--out", str(out)], capsys)
        assert code == 0, err
        outs.append(summary(out))
    s = outs[0]
    assert [z["zone"] for z in s["zones"]] == ["甲旗", "乙旗"]  # the layer's own names, in order
    assert s == outs[1]  # --seed reproduces everything
    u = s["uncertainty"]
    assert u["draws"] == 300 and u["stock_mgc_p2_5"] < u["stock_mgc_draws_mean"] < u["stock_mgc_p97_5"]
    assert u["stock_mgc_p2_5"] < s["stock_mgc"] < u["stock_mgc_p97_5"]
    assert s["redline"]["inside_area_ha"] == pytest.approx(s["area_ha"] / 4, rel=1e-3)  # one row of four
    by_zone = pd.read_csv(tmp_path / "out0" / rs.STOCKS_BY_ZONE.name, encoding="utf-8-sig")
    assert list(by_zone.zone) == ["甲旗", "乙旗"]
    assert {"stock_mgc_p2_5", "stock_mgc_p97_5", "stock_mt_co2e"} <= set(by_zone.columns)
    assert by_zone.stock_mt_co2e.iloc[0] == pytest.approx(by_zone.stock_mgc.iloc[0] * 44 / 12 / 1e6)
    manifest = json.loads((tmp_path / "out0" / "manifest.json").read_text("utf-8"))
    assert manifest["parameters"]["seed"] == 42 and len(manifest["inputs"]) == 4


@pytest.fixture
def small(tmp_path):
    codes = np.array([[2, 4], [4, 1]], dtype="uint8")
    lc = write_tif(tmp_path / "lc.tif", codes, transform=Affine(0.01, 0, 110, 0, -0.01, 43))
    zones = write_polys(tmp_path / "z.gpkg", [(110, 42.98, 110.02, 43)], name_zh=["甲"])
    return lc, zones


def test_error_unknown_code(tmp_path, capsys):
    lc = write_tif(tmp_path / "lc.tif", np.array([[2, 200], [200, 1]], dtype="uint8"), transform=Affine(0.01, 0, 110, 0, -0.01, 43))
    out = tmp_path / "out"
    code, err = run_cli(["carbon", str(lc), "--out", str(out)], capsys)
    assert_one_line_error(code, err, "codes 200 (2 px) are not in scheme 'clcd'", out)


def test_error_code_missing_from_density_table(tmp_path, small, capsys):
    lc, _ = small
    t = tmp_path / "t.csv"
    t.write_text("lucode,c_above,c_below,c_soil,c_dead\n2,1,1,1,1\n4,1,1,1,1\n", encoding="utf-8")
    out = tmp_path / "out"
    code, err = run_cli(["carbon", str(lc), "--densities", str(t), "--out", str(out)], capsys)
    assert_one_line_error(code, err, "codes 1 (1 px) of scheme 'clcd' have no row in density table", out)


def test_error_zone_field_missing(tmp_path, small, capsys):
    lc, zones = small
    out = tmp_path / "out"
    code, err = run_cli(["carbon", str(lc), "--zones", str(zones), "--zone-field", "NAME", "--out", str(out)], capsys)
    assert_one_line_error(code, err, "field 'NAME' not found", out)


def test_error_empty_zone_layer(tmp_path, small, capsys):
    import geopandas as gpd

    lc, _ = small
    empty = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame({"name_zh": []}, geometry=[], crs="EPSG:4326").to_file(empty, driver="GPKG")
    out = tmp_path / "out"
    code, err = run_cli(["carbon", str(lc), "--zones", str(empty), "--out", str(out)], capsys)
    assert_one_line_error(code, err, "has no features", out)


def test_error_existing_output_and_bad_uncertainty(tmp_path, small, capsys):
    lc, _ = small
    out = tmp_path / "out"
    assert run_cli(["carbon", str(lc), "--out", str(out)], capsys)[0] == 0
    code, err = run_cli(["carbon", str(lc), "--out", str(out)], capsys)
    assert code == 2 and "pass --overwrite" in err
    code, err = run_cli(["carbon", str(lc), "--out", str(tmp_path / "o2"), "--uncertainty", "-3"], capsys)
    assert_one_line_error(code, err, "--uncertainty -3", tmp_path / "o2")


@pytest.mark.parametrize("dtype", ["uint8", "uint16"])
def test_fused_kernel_matches_area_by_key(tmp_path, monkeypatch, dtype):
    import sinkplan.sinks.blocks as blocks
    from sinkplan.sinks.fused import HAVE_NUMBA

    if not HAVE_NUMBA:
        pytest.skip("numba not installed: the numpy path is the only path")
    rng = np.random.default_rng(5)
    codes = rng.integers(0, 11, size=(90, 130)).astype(dtype)  # 10 is not a CLCD code
    codes[codes == 10] = 0
    codes[5, 7] = 10  # one unknown pixel
    zones = rng.integers(0, 4, size=codes.shape)
    t = Affine(0.01, 0, 110, 0, -0.01, 43)
    lc = write_tif(tmp_path / "lc.tif", codes, transform=t, block=32)
    strata = write_tif(tmp_path / "s.tif", zones.astype("uint8"), transform=t, nodata=None)
    grid = Grid.from_raster(lc)
    slots = ClassSlots.build(load_scheme("clcd"), dtype=dtype, nodata=(0,))
    spec = PassSpec(grid, (str(lc),), (slots,), str(strata), 3, 1)
    fused = run_pass(spec, max_cells=2048)
    monkeypatch.setattr(blocks, "fused_applies", lambda *a: False)
    plain = run_pass(spec, max_cells=2048, threads=2)
    assert np.array_equal(fused.pixels, plain.pixels)
    assert np.allclose(fused.area_m2, plain.area_m2, rtol=1e-12, atol=0)
    assert fused.unknown == plain.unknown == [{10: 1}]

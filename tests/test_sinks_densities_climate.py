"""Densities by region and climate, IPCC Tier 1 fallback, valuation (InVEST formula): hand-worked."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from sinkplan.layers.errors import InputError, SchemeError
from sinkplan.layers.schemes import load_scheme
from sinkplan.sinks.climate import correction_factors
from sinkplan.sinks.densities import DensityTable, load_densities
from sinkplan.sinks.ipcc import Tier1Site, tier1_density, with_tier1_fallback
from sinkplan.sinks.valuation import Valuation, valuation_factor
from sinks_util import INVEST_CSV, assert_one_line_error, run_cli, summary, write_polys, write_tif
from test_sinks_change import EA, T_EA

X0, Y0 = 1_000_000, 4_500_000


def test_invest_valuation_formula_by_hand():
    # T = 5, r = 5 %, c = 0: (1/5) Σ_{t=0}^{4} 1.05^-t = (1 + 0.952381 + 0.907029 + 0.863838 + 0.822702) / 5 = 0.909190
    assert valuation_factor(5, 5.0, 0.0) == pytest.approx(0.909190, abs=1e-6)
    # c enters as a second discount, as in InVEST: q = 1 / (1.05 × 1.02)
    q = 1 / (1.05 * 1.02)
    assert valuation_factor(5, 5.0, 2.0) == pytest.approx(sum(q ** t for t in range(5)) / 5)
    assert valuation_factor(5, 0.0, 0.0) == 1.0
    # 100 Mg C over 5 years at 50 CNY/t CO2e: 100 × 44/12 × 50 × 0.909190 = 16 668.5 CNY
    v = Valuation(50.0, "CNY", 5.0, 0.0)
    assert v.npv(100.0, 5) == pytest.approx(100 * 44 / 12 * 50 * 0.9091901, rel=1e-6)
    with pytest.raises(InputError, match="price_per_t_co2e -1"):
        Valuation(-1.0)
    with pytest.raises(InputError, match="discount_rate_pct -100"):
        Valuation(10.0, discount_rate_pct=-100)


def test_change_npv_per_zone(tmp_path, capsys):
    a = np.full((10, 10), 4, dtype="uint8")
    b = a.copy()
    b[0] = 2  # 10 ha grass → forest: 51 Mg C by transition periods (see test_sinks_change)
    p15 = write_tif(tmp_path / "a.tif", a, crs=EA, transform=T_EA)
    p20 = write_tif(tmp_path / "b.tif", b, crs=EA, transform=T_EA)
    dens = tmp_path / "t.csv"
    dens.write_text(INVEST_CSV, encoding="utf-8")
    out = tmp_path / "v"
    code, err = run_cli(["change", f"2015={p15}", f"2020={p20}", "--densities", str(dens), "--carbon-price", "50",
                         "--currency", "CNY", "--discount-rate", "5", "--price-change", "0", "--out", str(out)], capsys)
    assert code == 0, err
    s = summary(out)
    # 10 × 5.1 = 51 Mg C × 44/12 × 50 × 0.909190
    assert s["sequestration_mgc"] == pytest.approx(51.0)
    assert s["npv"] == pytest.approx(51.0 * 44 / 12 * 50 * 0.9091901, rel=1e-6)
    assert s["valuation"]["currency"] == "CNY" and "InVEST" in s["valuation"]["formula"]
    t = pd.read_csv(out / "change_by_zone.csv", encoding="utf-8-sig")
    assert t.npv.iloc[0] == pytest.approx(s["npv"])
    code, err = run_cli(["change", str(p15), str(p20), "--carbon-price", "50", "--out", str(tmp_path / "x")], capsys)
    assert_one_line_error(code, err, "needs the map years", tmp_path / "x")


def test_climate_factors_by_hand():
    # P = 400 mm, T = 5 °C against the reference 300 mm, 3 °C:
    # K_B = exp(0.0054 × 100) × (28·5 + 398)/(28·3 + 398) = 1.716007 × 538/482 = 1.915377
    # K_S = (3.3968·400 + 3996.1)/(3.3968·300 + 3996.1) = 5354.82/5015.14 = 1.067731
    kb, ks = correction_factors(np.array([400.0, np.nan]), np.array([5.0, 5.0]), reference_map_mm=300, reference_mat_c=3)
    assert kb[0] == pytest.approx(math.exp(0.54) * 538 / 482) and ks[0] == pytest.approx(5354.82 / 5015.14)
    assert kb[1] == pytest.approx(538 / 482) and ks[1] == 1.0  # no precipitation there: only the temperature part


def test_carbon_with_climate_correction(tmp_path, capsys):
    lc = write_tif(tmp_path / "lc.tif", np.full((10, 10), 2, dtype="uint8"), crs=EA, transform=T_EA)  # 100 ha forest
    precip = write_tif(tmp_path / "p.tif", np.full((10, 10), 400.0, dtype="float32"), crs=EA, transform=T_EA, nodata=-9999)
    dens = tmp_path / "t.csv"
    dens.write_text(INVEST_CSV, encoding="utf-8")
    out = tmp_path / "c"
    code, err = run_cli(["carbon", str(lc), "--densities", str(dens), "--precip", str(precip), "--climate-reference",
                         "300,3", "--out", str(out)], capsys)
    assert code == 0, err
    s = summary(out)
    kb, ks = math.exp(0.54), 5354.82 / 5015.14  # no temperature raster: K_BT = 1
    # forest (15, 10, 60, 1) × 100 ha: biomass × K_B, soil × K_S, dead as is
    assert s["stock_mgc_by_pool"]["above"] == pytest.approx(100 * 15 * kb, rel=1e-6)
    assert s["stock_mgc_by_pool"]["soil"] == pytest.approx(100 * 60 * ks, rel=1e-6)
    assert s["stock_mgc_by_pool"]["dead"] == pytest.approx(100.0)
    assert s["climate_correction"]["reference_climate"]["map_mm"] == 300 and "Alam" in s["climate_correction"]["formulas"]["soil_precipitation"]
    code, err = run_cli(["carbon", str(lc), "--densities", str(dens), "--precip", str(precip), "--out", str(tmp_path / "y")],
                        capsys)
    assert_one_line_error(code, err, "states no reference climate", tmp_path / "y")


def test_ipcc_tier1_fallback_by_hand(tmp_path, capsys):
    site = Tier1Site("cold_temperate_dry", "sandy")
    # grassland, nominal: soil 34 × 1 × 1 × 1; cropland (long-term cultivated, dry): 34 × 0.80 = 27.2
    assert tier1_density("grassland", site)[0][2] == pytest.approx(34.0)
    assert tier1_density("cropland", site)[0][2] == pytest.approx(27.2)
    degraded = Tier1Site("cold_temperate_dry", "sandy", grassland_management="moderately_degraded")
    assert tier1_density("grassland", degraded)[0][2] == pytest.approx(34 * 0.95)
    # wetland takes the wetland reference stock (87) whatever the mineral soil type
    assert tier1_density("wetland", site)[0][2] == pytest.approx(87.0)
    with pytest.raises(SchemeError, match="no soil carbon default for barren"):
        tier1_density("barren", site)
    with pytest.raises(InputError, match="climate zone 'tropical'"):
        Tier1Site("tropical", "sandy")
    # a table without wetland is filled: 10 ha of wetland (code 9) → (2 + 3 + 87 + 1) × 10 = 930 Mg C
    table = DensityTable.from_csv("t.csv", text="\n".join(l for l in INVEST_CSV.splitlines() if not l.startswith("9,")))
    filled, added = with_tier1_fallback(table, load_scheme("clcd"), site)
    assert [a["key"] for a in added] == [9] and "IPCC 2006 Tier 1" in added[0]["source"]
    a = np.full((10, 10), 4, dtype="uint8")
    a[0] = 9
    lc = write_tif(tmp_path / "lc.tif", a, crs=EA, transform=T_EA)
    t = tmp_path / "t.csv"
    t.write_text("\n".join(l for l in INVEST_CSV.splitlines() if not l.startswith("9,")) + "\n", encoding="utf-8")
    out = tmp_path / "c"
    code, err = run_cli(["carbon", str(lc), "--densities", str(t), "--ipcc-fallback", "cold_temperate_dry,sandy",
                         "--out", str(out)], capsys)
    assert code == 0, err
    by_class = pd.read_csv(out / "stocks_by_class.csv", encoding="utf-8-sig").set_index("code")
    assert by_class.loc[9, "stock_mgc"] == pytest.approx(930.0)
    assert summary(out)["densities"]["tier1_fallback"][0]["key"] == 9
    with pytest.raises(SchemeError, match="soil_depth_cm 100"):
        with_tier1_fallback(load_densities("inner_mongolia_100cm"), load_scheme("clcd"), site)


def test_region_keyed_density_table(tmp_path, capsys):
    # two banners, 50 ha of forest each; the table gives forest 200 Mg C/ha in region 大兴安岭, 100 elsewhere
    lc = write_tif(tmp_path / "lc.tif", np.full((10, 10), 2, dtype="uint8"), crs=EA, transform=T_EA)
    zones = write_polys(tmp_path / "z.gpkg", [(X0, Y0 - 1000, X0 + 500, Y0), (X0 + 500, Y0 - 1000, X0 + 1000, Y0)], crs=EA,
                        name=["东", "西"], region=["大兴安岭", "西部"])
    t = tmp_path / "r.csv"
    t.write_text("region,group,c_above,c_below,c_soil,c_dead,source\n大兴安岭,forest,100,20,70,10,test\n"
                 ",forest,50,10,35,5,test\n", encoding="utf-8")
    out = tmp_path / "c"
    code, err = run_cli(["carbon", str(lc), "--densities", str(t), "--zones", str(zones), "--zone-field", "name",
                         "--region-field", "region", "--out", str(out)], capsys)
    assert code == 0, err
    z = pd.read_csv(out / "stocks_by_zone.csv", encoding="utf-8-sig").set_index("zone")
    assert z.loc["东", "stock_mgc"] == pytest.approx(50 * 200) and z.loc["西", "stock_mgc"] == pytest.approx(50 * 100)
    table = DensityTable.from_csv(t)
    assert table.regions == ("大兴安岭", None)
    code, err = run_cli(["carbon", str(lc), "--densities", str(t), "--out", str(tmp_path / "y")], capsys)
    assert_one_line_error(code, err, "--region-field", tmp_path / "y")


def test_shipped_tables_fixed_values():
    t = load_densities("inner_mongolia_30cm")
    forest = t.density_mgc_per_ha[t.keys.index("forest")]
    # vegetation 37.4 Mg C/ha split with root:shoot 0.29 (IPCC 2006 Table 4.4, conifer at 50-150 t/ha):
    # above 37.4 / 1.29 = 29.0, below 8.4
    assert forest[0] == pytest.approx(29.0) and forest[1] == pytest.approx(8.4)
    src = dict(zip(t.keys, t.sources))
    assert "0.29" in src["forest"]
    for g in ("shrubland", "barren"):
        assert "assumption" in src[g]
    assert "not a standing stock" in src["cropland"]

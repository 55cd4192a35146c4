"""Sequestration by transition periods (IPCC 2006 Tier 1): hand-worked rules, invariants, CLI."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sinkplan.layers.errors import InputError, SchemeError
from sinkplan.layers.schemes import load_scheme
from sinkplan.sinks.change import change_account, total_change
from sinkplan.sinks.sequestration import (
    GrowthCurve,
    GrowthTable,
    TransitionMethod,
    biomass_at_age,
    elapsed_years,
    load_growth,
    sequestration_per_ha,
)
from sinks_util import INVEST_CSV, assert_one_line_error, run_cli, summary, write_tif
from test_sinks_change import EA, T_EA

CLCD = load_scheme("clcd")
# CLCD classes 1 cropland, 2 forest, 3 shrub, 4 grassland (pools above, below, soil 0-30, dead; Mg C/ha)
CODES = (1, 2, 3, 4)
GROUPS = ("cropland", "forest", "shrubland", "grassland")
DENS = np.array([
    [3.0, 0.7, 34.7, 0.1],   # cropland: biomass 3.7
    [30.0, 7.0, 115.0, 3.0],  # forest: biomass 37
    [2.8, 2.8, 40.0, 0.5],   # shrub: biomass 5.6
    [0.6, 2.9, 53.0, 0.5],   # grassland: biomass 3.5
])
CROP, FOREST, SHRUB, GRASS = range(4)


def _growth(forest_rate: float = 2.0) -> GrowthTable:
    one = lambda g: GrowthCurve(g, "one_year", source="test")  # noqa: E731
    return GrowthTable({"forest": GrowthCurve("forest", "linear", forest_rate, source="test"),
                        "shrubland": GrowthCurve("shrubland", "linear", 0.5, source="test"),
                        "grassland": one("grassland"), "cropland": one("cropland")})


def _one(before: int, after: int, area_ha: float, *, years=(2015, 2020), method: TransitionMethod) -> dict:
    a = np.zeros((1, 1, 4, 4))
    a[0, 0, before, after] = area_ha
    acc = change_account(a, DENS, CLCD, CODES, years=years, method=method)
    return total_change(acc)


def test_grassland_to_forest_between_2015_and_2020_hand_worked():
    # 10 ha grassland → forest between 2015 and 2020, D = 20, conversion at mid-interval: e = 2.5 years.
    # soil part    = 10 × Δsoil × 2.5/20 = 10 × (115 − 53) × 0.125 = 77.5 Mg C
    # biomass part = 10 × r × 2.5 = 10 × 2.0 × 2.5 = 50 Mg C (below the cap 10 × (37 − 3.5) = 335)
    # dead part    = 10 × (3 − 0.5) × 2.5/20 = 3.125 Mg C (dead-matter gains over D as well)
    r = _one(GRASS, FOREST, 10.0, method=TransitionMethod("mid", 20.0, _growth(2.0)))
    assert r["sequestration_mgc_soil"] == pytest.approx(77.5)
    assert r["sequestration_mgc_above"] + r["sequestration_mgc_below"] == pytest.approx(50.0)
    assert r["sequestration_mgc_dead"] == pytest.approx(3.125)
    assert r["sequestration_mgc"] == pytest.approx(77.5 + 50.0 + 3.125)
    # the biomass gain splits by the equilibrium differences: above 29.4, below 4.1 of 33.5
    assert r["sequestration_mgc_above"] == pytest.approx(50.0 * 29.4 / 33.5)
    # equilibrium: 10 × (155 − 57) = 980 Mg C; still to come: 980 − 130.625
    assert r["equilibrium_change_mgc"] == pytest.approx(980.0)
    assert r["remaining_to_equilibrium_mgc"] == pytest.approx(980.0 - 130.625)
    assert r["annual_sequestration_mgc_per_yr"] == pytest.approx(130.625 / 5)


def test_biomass_growth_is_capped_at_the_equilibrium():
    # r = 20 Mg C/ha/yr × 2.5 yr = 50 per ha > the gain 37 − 3.5 = 33.5: capped → 10 × 33.5 = 335 Mg C
    r = _one(GRASS, FOREST, 10.0, method=TransitionMethod("mid", 20.0, _growth(20.0)))
    assert r["sequestration_mgc_above"] + r["sequestration_mgc_below"] == pytest.approx(335.0)
    assert r["sequestration_mgc_above"] == pytest.approx(10 * 29.4) and r["sequestration_mgc_below"] == pytest.approx(10 * 4.1)


def test_forest_to_cropland_loses_biomass_at_once_and_soil_over_d():
    # 10 ha forest → cropland: biomass 37 → 3.7 lost at conversion: 10 × (3.7 − 37) = −333 Mg C;
    # dead 10 × (0.1 − 3) = −29 at once; soil 10 × (34.7 − 115) × 2.5/20 = −100.375 over D
    r = _one(FOREST, CROP, 10.0, method=TransitionMethod("mid", 20.0, _growth()))
    assert r["sequestration_mgc_above"] == pytest.approx(10 * (3.0 - 30.0))
    assert r["sequestration_mgc_below"] == pytest.approx(10 * (0.7 - 7.0))
    assert r["sequestration_mgc_dead"] == pytest.approx(-29.0)
    assert r["sequestration_mgc_soil"] == pytest.approx(-100.375)
    assert r["sequestration_loss_mgc"] == pytest.approx(333.0 + 29.0 + 100.375) and r["sequestration_gain_mgc"] == 0
    # conversion at the end of the interval: the biomass is still lost, the soil has not moved yet
    end = _one(FOREST, CROP, 10.0, method=TransitionMethod("end", 20.0, _growth()))
    assert end["sequestration_mgc_above"] + end["sequestration_mgc_below"] == pytest.approx(-333.0)
    assert end["sequestration_mgc_soil"] == 0


def test_conversion_timing_and_long_intervals():
    m = lambda timing, d=20.0: TransitionMethod(timing, d, _growth(2.0))  # noqa: E731
    # start of 2015-2020: e = 5: soil 10 × 62 × 5/20 = 155; biomass 10 × 2 × 5 = 100
    s = _one(GRASS, FOREST, 10.0, method=m("start"))
    assert s["sequestration_mgc_soil"] == pytest.approx(155.0)
    assert s["sequestration_mgc_above"] + s["sequestration_mgc_below"] == pytest.approx(100.0)
    # end: nothing has grown or moved yet
    e = _one(GRASS, FOREST, 10.0, method=m("end"))
    assert e["sequestration_mgc"] == 0
    # 1990-2020 (30 yr), start: e = 30 > D = 20: the whole soil difference 10 × 62 = 620;
    # biomass 2 × 30 = 60 > 33.5: capped at 335
    long = _one(GRASS, FOREST, 10.0, years=(1990, 2020), method=m("start"))
    assert long["sequestration_mgc_soil"] == pytest.approx(620.0)
    assert long["sequestration_mgc_above"] + long["sequestration_mgc_below"] == pytest.approx(335.0)
    # D = 10 instead of 20 doubles the mid-interval soil part: 10 × 62 × 2.5/10 = 155
    assert _one(GRASS, FOREST, 10.0, method=m("mid", 10.0))["sequestration_mgc_soil"] == pytest.approx(155.0)
    assert elapsed_years(5, "mid") == 2.5


def test_shrub_to_grassland_mixed_pools_and_one_year_growth():
    # shrub (2.8, 2.8) → grassland (0.6, 2.9): total biomass 5.6 → 3.5 falls, so the whole biomass difference
    # is immediate, even though below-ground rises by 0.1: above 10 × −2.2 = −22, below 10 × 0.1 = +1
    r = _one(SHRUB, GRASS, 10.0, method=TransitionMethod("mid", 20.0, _growth()))
    assert r["sequestration_mgc_above"] == pytest.approx(-22.0) and r["sequestration_mgc_below"] == pytest.approx(1.0)
    # cropland (3.7) → grassland (3.5) is a loss too; grassland → cropland (3.5 → 3.7) grows within one year:
    # e = 2.5 ≥ 1, so the full 10 × 0.2 = 2 Mg C
    g = _one(GRASS, CROP, 10.0, method=TransitionMethod("mid", 20.0, _growth()))
    assert g["sequestration_mgc_above"] + g["sequestration_mgc_below"] == pytest.approx(2.0)


def test_growth_curves_by_hand():
    lin = GrowthCurve("forest", "linear", 1.5)
    assert float(biomass_at_age(3.5, 37.0, 4.0, lin)) == pytest.approx(3.5 + 6.0)
    one = GrowthCurve("grassland", "one_year")
    assert float(biomass_at_age(0.0, 3.5, 0.5, one)) == pytest.approx(1.75)  # half-way through the first year
    cr = GrowthCurve("forest", "chapman_richards", k_per_yr=0.1, p=3.0)
    # B(10) = 3.5 + (37 − 3.5) × (1 − e^(−1))^3 = 3.5 + 33.5 × 0.632121^3 = 3.5 + 33.5 × 0.252580 = 11.9614
    assert float(biomass_at_age(3.5, 37.0, 10.0, cr)) == pytest.approx(3.5 + 33.5 * (1 - np.exp(-1.0)) ** 3)
    assert float(biomass_at_age(3.5, 37.0, 10.0, cr)) == pytest.approx(11.9614, abs=1e-4)
    # a loss is the new equilibrium whatever the curve
    assert float(biomass_at_age(37.0, 3.7, 10.0, lin)) == 3.7


def test_shipped_growth_tables_have_sources_and_cover_every_group():
    for name in ("biomass_growth", "biomass_growth_chapman_richards"):
        t = load_growth(name)
        groups = {c.group for c in t.curves.values()}
        assert groups == {"forest", "shrubland", "grassland", "cropland", "wetland", "barren", "water", "built", "snow_ice"}
        assert all(c.source for c in t.curves.values())
    assert load_growth().curves["forest"].rate_mgc_per_ha_per_yr == 1.5


def test_growth_table_errors():
    head = "group,curve,rate_mgc_per_ha_per_yr,k_per_yr,p,source\n"
    with pytest.raises(SchemeError, match="needs rate_mgc_per_ha_per_yr"):
        GrowthTable.from_csv("g.csv", text=head + "forest,linear,,,,x\n")
    with pytest.raises(SchemeError, match="needs k_per_yr and p"):
        GrowthTable.from_csv("g.csv", text=head + "forest,chapman_richards,,0.1,,x\n")
    with pytest.raises(SchemeError, match="empty source"):
        GrowthTable.from_csv("g.csv", text=head + "forest,linear,1,,,\n")
    with pytest.raises(SchemeError, match="curve 'log' is not one of"):
        GrowthTable.from_csv("g.csv", text=head + "forest,log,1,,,x\n")
    with pytest.raises(SchemeError, match="must be a finite number ≥ 0"):
        GrowthTable.from_csv("g.csv", text=head + "forest,linear,-1,,,x\n")
    with pytest.raises(SchemeError, match="listed twice"):
        GrowthTable.from_csv("g.csv", text=head + "forest,linear,1,,,x\nforest,linear,2,,,y\n")
    # a class that gains biomass with no growth row is named
    only = GrowthTable({"grassland": GrowthCurve("grassland", "one_year", source="t")})
    with pytest.raises(SchemeError, match=r"no row for group 'cropland' \(land that became cropland gains biomass\)"):
        sequestration_per_ha(DENS, GROUPS, TransitionMethod("mid", 20.0, only), span_years=5)
    with pytest.raises(InputError, match="transition_years 0"):
        TransitionMethod("mid", 0.0)
    with pytest.raises(InputError, match="conversion_timing 'late'"):
        TransitionMethod("late", 20.0)


densities = st.floats(0.0, 200.0, allow_nan=False)


@settings(max_examples=60, deadline=None)
@given(d=st.lists(st.lists(densities, min_size=4, max_size=4), min_size=4, max_size=4),
       timing=st.sampled_from(["start", "mid", "end"]), span=st.integers(1, 40), big=st.floats(0.1, 1e4),
       rate=st.floats(0.0, 10.0))
def test_sequestration_lies_between_nothing_and_the_equilibrium(d, timing, span, big, rate):
    # Per transition and pool, the sequestration has the sign of the equilibrium difference and never exceeds it;
    # per zone gains − losses = sequestration and sequestration + remaining = equilibrium, exactly.
    dens = np.array(d)
    m = TransitionMethod(timing, 20.0, _growth(rate))
    per_ha = sequestration_per_ha(dens, GROUPS, m, span_years=span)
    eq = dens[None, :, :] - dens[:, None, :]
    assert np.all(per_ha * eq >= -1e-12) and np.all(np.abs(per_ha) <= np.abs(eq) + 1e-9)
    a = np.full((2, 1, 4, 4), big)
    acc = change_account(a, dens, CLCD, CODES, years=(2000, 2000 + span), method=m)
    r = total_change(acc)
    assert r["sequestration_gain_mgc"] - r["sequestration_loss_mgc"] == r["sequestration_mgc"]
    assert r["sequestration_mgc"] + r["remaining_to_equilibrium_mgc"] == r["equilibrium_change_mgc"]
    z0, z1 = total_change(acc, (0,)), total_change(acc, (1,))
    assert z0["sequestration_mgc"] + z1["sequestration_mgc"] == r["sequestration_mgc"]


@pytest.fixture
def grass_to_forest(tmp_path):
    # 10 × 10 equal-area hectares of grassland; 10 become forest in 2020
    a = np.full((10, 10), 4, dtype="uint8")
    b = a.copy()
    b[0, :] = 2
    dens = tmp_path / "t.csv"
    dens.write_text(INVEST_CSV, encoding="utf-8")
    return (write_tif(tmp_path / "a.tif", a, crs=EA, transform=T_EA), write_tif(tmp_path / "b.tif", b, crs=EA, transform=T_EA),
            dens)


def test_cli_options_change_the_rules(tmp_path, grass_to_forest, capsys):
    p15, p20, dens = grass_to_forest
    growth = tmp_path / "g.csv"
    growth.write_text("group,curve,rate_mgc_per_ha_per_yr,k_per_yr,p,source\nforest,linear,3,,,test\n"
                      "grassland,one_year,,,,test\n", encoding="utf-8")
    out = tmp_path / "start"
    code, err = run_cli(["change", f"2015={p15}", f"2020={p20}", "--densities", str(dens), "--growth", str(growth),
                         "--conversion-timing", "start", "--transition-years", "10", "--out", str(out)], capsys)
    assert code == 0, err
    s = summary(out)
    # INVEST_CSV grass (1, 4, 50, 0.2) → forest (15, 10, 60, 1), 10 ha, e = 5, D = 10:
    # soil 10 × 10 × 5/10 = 50; dead 10 × 0.8 × 0.5 = 4; biomass 10 × min(3 × 5, 20) = 150
    assert s["sequestration_mgc_soil"] == pytest.approx(50.0) and s["sequestration_mgc_dead"] == pytest.approx(4.0)
    assert s["sequestration_mgc_above"] + s["sequestration_mgc_below"] == pytest.approx(150.0)
    assert s["method"]["conversion_timing"] == "start" and s["method"]["transition_years"] == 10
    assert s["method"]["growth_table"] == str(growth)
    code, err = run_cli(["change", f"2015={p15}", f"2020={p20}", "--transition-years", "-1", "--out", str(tmp_path / "x")],
                        capsys)
    assert_one_line_error(code, err, "--transition-years -1", tmp_path / "x")


def test_cli_monte_carlo_for_change(tmp_path, grass_to_forest, capsys):
    p15, p20, _ = grass_to_forest
    out = tmp_path / "mc"
    code, err = run_cli(["change", f"2015={p15}", f"2020={p20}", "--uncertainty", "200", "--seed", "7", "--out", str(out)],
                        capsys)
    assert code == 0, err
    s = summary(out)
    u = s["uncertainty"]
    assert u["draws"] == 200 and u["seed"] == 7
    for name in ("sequestration_mgc", "equilibrium_change_mgc"):
        assert u[f"{name}_p2_5"] < s[name] < u[f"{name}_p97_5"], name
        assert u[f"{name}_draws_mean"] == pytest.approx(s[name], rel=0.15)  # draws centred on the point estimate
    z = s["zones"][0]
    assert z["sequestration_mgc_p2_5"] == pytest.approx(u["sequestration_mgc_p2_5"])  # one zone: the whole map
    # the same seed gives the same interval
    out2 = tmp_path / "mc2"
    assert run_cli(["change", f"2015={p15}", f"2020={p20}", "--uncertainty", "200", "--seed", "7", "--out", str(out2)],
                   capsys)[0] == 0
    assert summary(out2)["uncertainty"] == u
    # a table without uncertainty columns cannot be drawn from
    code, err = run_cli(["change", f"2015={p15}", f"2020={p20}", "--densities", str(grass_to_forest[2]), "--uncertainty",
                         "100", "--out", str(tmp_path / "y")], capsys)
    assert_one_line_error(code, err, "has no uncertainty columns", tmp_path / "y")


def test_without_years_only_the_equilibrium_is_reported(tmp_path, grass_to_forest, capsys):
    p15, p20, dens = grass_to_forest
    out = tmp_path / "noyears"
    code, err = run_cli(["change", str(p15), str(p20), "--densities", str(dens), "--out", str(out)], capsys)
    assert code == 0, err
    s = summary(out)
    assert "sequestration_mgc" not in s and s["equilibrium_change_mgc"] == pytest.approx(10 * 30.8)
    assert s["method"]["sequestration"] is None and "YEAR=PATH" in s["method"]["why_not"]

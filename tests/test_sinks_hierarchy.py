"""Zone hierarchy (--group-by): group totals equal the sum of their zones exactly, the region the sum of groups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sinkplan.layers import resultspec as rs
from sinkplan.layers.schemes import load_scheme
from sinkplan.sinks.carbon import CarbonAccount, zone_table
from sinkplan.sinks.change import change_account, zone_change
from sinkplan.sinks.hierarchy import REGION_TOTAL, ZoneHierarchy, report_units
from sinkplan.sinks.sequestration import TransitionMethod
from sinkplan.sinks.stocks import common_quantum, quantize, stocks_mgc
from sinks_util import INVEST_CSV, assert_one_line_error, run_cli, summary, write_polys, write_tif
from test_sinks_change import EA, T_EA

CLCD = load_scheme("clcd")
CODES = (1, 2, 3, 4)
DENS = np.array([[3.0, 0.7, 34.7, 0.1], [30.0, 7.0, 115.0, 3.0], [2.8, 2.8, 40.0, 0.5], [0.6, 2.9, 53.0, 0.5]])


def _hierarchy(groups: list[int]) -> tuple[tuple[str, ...], ZoneHierarchy]:
    names = ("(outside zones)", *[f"z{i}" for i in range(1, len(groups) + 1)])
    group_of = {f"z{i}": f"L{g}" for i, g in enumerate(groups, start=1)}
    return names, ZoneHierarchy("league", group_of, tuple(dict.fromkeys(group_of.values())))


areas = st.floats(0.0, 1e7, allow_nan=False, allow_subnormal=False)


@settings(max_examples=50, deadline=None)
@given(groups=st.lists(st.integers(0, 3), min_size=1, max_size=7), data=st.data())
def test_group_rows_are_exact_sums_of_their_zones(groups, data):
    names, h = _hierarchy(groups)
    nz = len(groups)
    # carbon: areas per (zone id, side, class) with awkward magnitudes; quantized as class_area_ha does
    a = np.array(data.draw(st.lists(areas, min_size=(nz + 1) * 2 * 4, max_size=(nz + 1) * 2 * 4))).reshape(nz + 1, 2, 4)
    a = quantize(a, common_quantum(2.0 * a.sum()))
    acc = CarbonAccount(names, True, True, CODES, CLCD, a, DENS, stocks_mgc(a, DENS))
    units = report_units(names, list(range(1, nz + 1)), h)
    t = zone_table(acc, units=units).assign(level=[u.level for u in units])
    zones, grp, region = t[t.level == "zone"], t[t.level == "group"], t[t.level == "region"]
    for col in ("area_ha", "stock_mgc", "stock_mgc_soil", "inside_redline_stock_mgc"):
        for _, g in grp.iterrows():
            members = [f"z{i}" for i, gg in enumerate(groups, start=1) if f"L{gg}" == g.zone]
            assert g[col] == zones.set_index("zone").loc[members, col].sum(), col  # exact, no tolerance
        assert region[col].iloc[0] == grp[col].sum() == zones[col].sum(), col
    # change: transitions (zone id, side, before, after)
    ta = np.array(data.draw(st.lists(areas, min_size=(nz + 1) * 16, max_size=(nz + 1) * 16))).reshape(nz + 1, 1, 4, 4)
    ta = quantize(ta, common_quantum(2.0 * ta.sum()))
    ch = change_account(ta, DENS, CLCD, CODES, years=(2015, 2020), method=TransitionMethod())
    c = zone_change(ch, units).assign(level=[u.level for u in units])
    for col in ("sequestration_mgc", "equilibrium_change_mgc", "changed_area_ha", "sequestration_gain_mgc"):
        grp_sum = c[c.level == "group"][col].sum()
        assert c[c.level == "region"][col].iloc[0] == grp_sum == c[c.level == "zone"][col].sum(), col


def test_report_units_order_and_outside():
    names, h = _hierarchy([1, 2, 1])
    u = report_units(names, [1, 2, 3, 0], h)
    assert [(x.name, x.level, x.group) for x in u] == [
        ("z1", "zone", "L1"), ("z2", "zone", "L2"), ("z3", "zone", "L1"), ("(outside zones)", "zone", None),
        ("L1", "group", "L1"), ("L2", "group", "L2"), (REGION_TOTAL, "region", None)]
    assert u[-1].ids == (1, 2, 3)  # the region is the zones, not the pixels outside them


@pytest.fixture
def leagues(tmp_path):
    # 10 × 10 equal-area ha; three banners in columns 0-2, 3-5, 6-9; banners A and C in league 东盟, B in 西盟.
    a = np.full((10, 10), 4, dtype="uint8")
    a[:3] = 2
    b = a.copy()
    b[5, :] = 2  # 10 ha grass → forest, across all banners
    x0, y0 = 1_000_000, 4_499_000
    zones = write_polys(tmp_path / "banners.gpkg", [(x0, y0, x0 + 300, y0 + 1000), (x0 + 300, y0, x0 + 600, y0 + 1000),
                                                     (x0 + 600, y0, x0 + 1000, y0 + 1000)], crs=EA,
                        name=["甲旗", "乙旗", "丙旗"], league=["东盟", "西盟", "东盟"])
    dens = tmp_path / "t.csv"
    dens.write_text(INVEST_CSV, encoding="utf-8")
    return (write_tif(tmp_path / "a.tif", a, crs=EA, transform=T_EA), write_tif(tmp_path / "b.tif", b, crs=EA, transform=T_EA),
            zones, dens)


def test_cli_group_by_in_carbon_and_change(tmp_path, leagues, capsys):
    p15, p20, zones, dens = leagues
    out = tmp_path / "carbon"
    code, err = run_cli(["carbon", str(p20), "--zones", str(zones), "--zone-field", "name", "--group-by", "league",
                         "--densities", str(dens), "--out", str(out)], capsys)
    assert code == 0, err
    t = pd.read_csv(out / rs.STOCKS_BY_ZONE.name, encoding="utf-8-sig").set_index("zone")
    # banners 30, 30, 40 ha; forest rows 0-2 and row 5: 甲 = 4 × 3 forest + 6 × 3 grass... per banner column widths 3, 3, 4
    assert list(t.zone_level) == ["zone", "zone", "zone", "group", "group", "region"]
    assert t.loc["东盟", "zone_group"] == "东盟" and t.loc["甲旗", "zone_group"] == "东盟"
    assert t.loc["东盟", "area_ha"] == pytest.approx(70) and t.loc["西盟", "area_ha"] == pytest.approx(30)
    # 甲旗: 3 columns × (4 forest rows × 86 + 6 grass rows × 55.2) = 3 × 675.2 = 2025.6 Mg C
    assert t.loc["甲旗", "stock_mgc"] == pytest.approx(2025.6)
    assert t.loc["东盟", "stock_mgc"] == t.loc["甲旗", "stock_mgc"] + t.loc["丙旗", "stock_mgc"]
    assert t.loc["(region total)", "stock_mgc"] == t.loc["东盟", "stock_mgc"] + t.loc["西盟", "stock_mgc"]
    s = summary(out)
    assert [z["zone"] for z in s["zones"]] == ["甲旗", "乙旗", "丙旗"]
    assert [g["zone"] for g in s["group_totals"]] == ["东盟", "西盟"] and s["region_total"]["stock_mgc"] == s["stock_mgc"]
    assert s["hierarchy"]["group_members"] == {"东盟": ["甲旗", "丙旗"], "西盟": ["乙旗"]}
    classes = pd.read_csv(out / "stocks_by_class.csv", encoding="utf-8-sig")
    east_forest = classes[(classes.zone == "东盟") & (classes.code == 2)].iloc[0]
    assert east_forest.area_ha == pytest.approx(7 * 4) and east_forest.zone_level == "group"
    from sinkplan.layers.resultfolder import read_xlsx_sheet

    xl = read_xlsx_sheet(out / "stocks.xlsx", "stocks_by_zone")  # a Chinese workbook read back by field names
    assert list(xl.zone)[-3:] == ["东盟", "西盟", "（全区合计）"]  # its rows' labels in Chinese too

    out = tmp_path / "change"
    code, err = run_cli(["change", f"2015={p15}", f"2020={p20}", "--zones", str(zones), "--zone-field", "name",
                         "--group-by", "league", "--densities", str(dens), "--out", str(out)], capsys)
    assert code == 0, err
    c = pd.read_csv(out / "change_by_zone.csv", encoding="utf-8-sig").set_index("zone")
    # 10 ha grass → forest: 5.1 Mg C/ha sequestration (see test_change_hand_checked): 甲 3 ha, 乙 3 ha, 丙 4 ha
    assert c.loc["东盟", "sequestration_mgc"] == pytest.approx(7 * 5.1) and c.loc["西盟", "sequestration_mgc"] == pytest.approx(3 * 5.1)
    assert c.loc["东盟", "sequestration_mgc"] == c.loc["甲旗", "sequestration_mgc"] + c.loc["丙旗", "sequestration_mgc"]
    assert c.loc["(region total)", "equilibrium_change_mgc"] == pytest.approx(10 * 30.8)
    g = pd.read_csv(out / "transitions_by_group.csv", encoding="utf-8-sig")
    assert g[(g.zone == "(region total)") & (g.group_before == "grassland") & (g.group_after == "forest")].area_ha.iloc[0] \
        == pytest.approx(10)
    assert summary(out)["group_totals"][0]["zone"] == "东盟"


def test_group_by_errors(tmp_path, leagues, capsys):
    p15, p20, zones, dens = leagues
    out = tmp_path / "x"
    code, err = run_cli(["carbon", str(p20), "--zones", str(zones), "--zone-field", "name", "--group-by", "盟",
                         "--out", str(out)], capsys)
    assert_one_line_error(code, err, "--group-by '盟': zone layer", out)
    code, err = run_cli(["carbon", str(p20), "--group-by", "league", "--out", str(out)], capsys)
    assert_one_line_error(code, err, "needs --zones", out)
    bad = write_polys(tmp_path / "bad.gpkg", [(1_000_000, 4_499_000, 1_000_300, 4_499_500),
                                              (1_000_000, 4_499_500, 1_000_300, 4_500_000)], crs=EA,
                      name=["甲旗", "甲旗"], league=["东盟", "西盟"])
    code, err = run_cli(["carbon", str(p20), "--zones", str(bad), "--zone-field", "name", "--group-by", "league",
                         "--out", str(out)], capsys)
    # refused as two zones named alike before the groups are read (layers.zones.check_shared_names)
    assert_one_line_error(code, err, "2 features are named '甲旗' in field 'name' but differ in 'league'", out)
    # a blank league ('' or spaces) is a missing group: its total row would have no label (it was
    # accepted and gave a group row named '')
    blank = write_polys(tmp_path / "blank.gpkg", [(1_000_000, 4_499_000, 1_000_300, 4_499_500),
                                                  (1_000_000, 4_499_500, 1_000_300, 4_500_000)], crs=EA,
                        name=["甲旗", "乙旗"], league=["东盟", " "])
    code, err = run_cli(["carbon", str(p20), "--zones", str(blank), "--zone-field", "name", "--group-by", "league",
                         "--out", str(out)], capsys)
    assert_one_line_error(code, err, "has 1 feature(s) without a group", out)


def test_coverage_group_by_one_year_and_trend_groups(tmp_path, leagues, capsys):
    # coverage --group-by with one map year ended in "IndexError: list index out of range" (no trend
    # rows, so no region trend row); with two years summary.json's trend_groups was always [] (it
    # read the key 'groups', which split_summary never writes)
    p15, p20, zones, dens = leagues
    out = tmp_path / "one"
    code, err = run_cli(["coverage", f"2020={p20}", "--zones", str(zones), "--zone-field", "name", "--group-by", "league",
                         "--trees-only", "--out", str(out)], capsys)
    assert code == 0, err
    s = summary(out)
    assert [g["zone"] for g in s["group_totals"]] == ["东盟", "西盟"]
    assert s["trend_groups"] == [] and s["trend_region_total"] is None
    out = tmp_path / "two"
    code, err = run_cli(["coverage", f"2015={p15}", f"2020={p20}", "--zones", str(zones), "--zone-field", "name",
                         "--group-by", "league", "--trees-only", "--out", str(out)], capsys)
    assert code == 0, err
    s = summary(out)
    trend = {g["zone"]: g for g in s["trend_groups"]}
    assert list(trend) == ["东盟", "西盟"]
    # 东盟 = 甲 + 丙: 70 ha; row 5 turned forest: 7 ha more forest in 5 years = 1.4 ha/yr
    assert trend["东盟"]["annual_forest_change_ha"] == pytest.approx(7 / 5)

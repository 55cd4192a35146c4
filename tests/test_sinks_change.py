"""Coverage, change and restoration effect: hand-checked figures and error paths."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from sinkplan.layers.geodesy import geodesic_area_m2
from sinkplan.sinks.coverage import NOT_AT_THIS_RATE, VolumeTable, trend
from sinkplan.sinks.restoration import control_rings, disjoint_pieces
from sinks_util import INVEST_CSV, assert_one_line_error, run_cli, summary, write_polys, write_tif

EA = "EPSG:6933"
T_EA = Affine(100, 0, 1_000_000, 0, -100, 4_500_000)  # 100 m equal-area pixels: 1 ha each


@pytest.fixture
def years(tmp_path):
    # 10 × 10 ha. 2015: 20 forest, 10 shrub, 70 grass. 2020: 5 grass pixels became forest.
    a = np.full((10, 10), 4, dtype="uint8")
    a[:2, :] = 2
    a[2, :] = 3
    b = a.copy()
    b[3, :5] = 2
    p15 = write_tif(tmp_path / "lc2015.tif", a, crs=EA, transform=T_EA)
    p20 = write_tif(tmp_path / "lc2020.tif", b, crs=EA, transform=T_EA)
    return p15, p20


@pytest.fixture
def invest(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text(INVEST_CSV, encoding="utf-8")
    return p


def test_coverage_two_years_hand_checked(tmp_path, years, capsys):
    p15, p20 = years
    out = tmp_path / "cov"
    # --trees-only: an explicit choice (the shrub rule has no data here; see test_sinks_coverage_rule.py)
    code, err = run_cli(["coverage", f"2015={p15}", f"2020={p20}", "--target", "23.5%", "--trees-only", "--out", str(out)],
                        capsys)
    assert code == 0, err
    s = summary(out)
    t15, t20 = s["totals"]
    assert (t15["land_area_ha"], t15["forest_area_ha"], t20["forest_area_ha"]) == pytest.approx((100, 20, 25))
    assert t15["coverage"] == pytest.approx(0.20) and t20["coverage"] == pytest.approx(0.25)
    assert t15["gap_ha"] == pytest.approx(3.5)  # 0.235 × 100 − 20
    # +0.05 in 5 years = 0.01/yr; 0.25 ≥ 0.235: met by 2020
    assert s["trend"]["annual_change"] == pytest.approx(0.01) and s["trend"]["target_year_at_this_rate"] == 2020
    assert {"zone", "year", "land_area_ha", "forest_area_ha", "coverage"} <= set(s["zones"][0])
    # counting shrub: 30 / 100 and 35 / 100; official land area 200 ha halves coverage; --provincial-target: the
    # seeded provincial target is compared with this small run's total only because the user says so
    out2 = tmp_path / "cov2"
    assert run_cli(["coverage", f"2015={p15}", f"2020={p20}", "--count-shrub", "--land-area-ha", "200",
                    "--provincial-target", "--out", str(out2)], capsys)[0] == 0
    s2 = summary(out2)
    assert [t["coverage"] for t in s2["totals"]] == pytest.approx([0.15, 0.175])
    # 0.175 + 0.005/yr reaches 0.235 after 12 years: 2032
    assert s2["trend"]["target_year_at_this_rate"] == 2032
    assert s2["target"]["value"] == 0.235 and s2["target"]["year"] == 2025  # seeded policy target
    # Volume from the shipped table: tree forest 86.9 m³/ha (2018 basis) × 25 ha (2020); shrub holds none
    assert s2["volume"]["by_year"][1]["volume_m3"] == pytest.approx(25 * 86.9)
    assert s2["volume"]["target"]["value"] == 1.55e9


def test_coverage_per_zone_land_area_and_volume_raster(tmp_path, years, capsys):
    p15, p20 = years
    # Zone 甲: top half (rows 0-4), 乙: bottom half; bounds in EPSG:6933 metres.
    zones = write_polys(tmp_path / "z.gpkg", [(1_000_000, 4_499_500, 1_001_000, 4_500_000), (1_000_000, 4_499_000, 1_001_000, 4_499_500)],
                        crs=EA, name=["甲", "乙"])
    vol = write_tif(tmp_path / "vol.tif", np.full((10, 10), 80.0, dtype="float32"), crs=EA, transform=T_EA, nodata=-1)
    out = tmp_path / "cov"
    code, err = run_cli(["coverage", f"2015={p15}", f"2020={p20}", "--zones", str(zones), "--zone-field", "name",
                         "--land-area-ha", "甲=100", "--volume", f"2020={vol}", "--trees-only", "--out", str(out)], capsys)
    assert code == 0, err
    df = pd.read_csv(out / "coverage_by_zone.csv", encoding="utf-8-sig")
    jia20 = df[(df.zone == "甲") & (df.year == 2020)].iloc[0]
    assert jia20.land_area_ha == 100 and jia20.forest_area_ha == pytest.approx(25) and jia20.coverage == pytest.approx(0.25)
    yi = df[(df.zone == "乙") & (df.year == 2015)].iloc[0]
    assert yi.land_area_ha == pytest.approx(50, rel=1e-9) and yi.forest_area_ha == 0  # polygon area on the ellipsoid
    v = pd.read_csv(out / "volume_by_zone.csv", encoding="utf-8-sig")
    # stock volume is the tree forest's: 25 ha of forest in 2020 × 80 m³/ha = 2,000 m³ (the raster's 80 m³/ha on
    # the other 75 ha of shrub and grass is no forest stock; it was summed in as 100 ha × 80 = 8,000 m³)
    assert v[(v.year == 2020)].volume_m3.sum() == pytest.approx(25 * 80.0)
    assert v[(v.year == 2020) & (v.zone == "甲")].volume_m3_per_ha.iloc[0] == pytest.approx(80.0)  # 乙 has no forest


def test_coverage_errors(tmp_path, years, capsys):
    p15, p20 = years
    out = tmp_path / "o"
    code, err = run_cli(["coverage", str(p15), str(p20), "--out", str(out)], capsys)
    assert_one_line_error(code, err, "give each a year", out)
    code, err = run_cli(["coverage", f"2015={p15}", "--target", "1.7%x", "--out", str(out)], capsys)
    assert_one_line_error(code, err, "give a fraction (0.235) or a percent", out)
    code, err = run_cli(["coverage", f"2015={p15}", "--land-area-ha", "丙=5", "--out", str(out)], capsys)
    assert_one_line_error(code, err, "zone '丙' is not in the zone layer", out)


def test_trend_not_at_this_rate():
    falling = trend([2015, 2020], [0.2, 0.19], [20, 19], 0.235)
    assert falling.target_year is None and falling.status == NOT_AT_THIS_RATE  # a number or empty, and a status
    # above the target in 2015 already: no year "reached at this rate" (not 2020), status says so
    above = trend([2015, 2020], [0.5393, 0.6366], [167.0, 197.0], 0.235)
    assert above.target_year is None and above.status == "already met"
    met = trend([2015, 2020], [0.20, 0.25], [20, 25], 0.235)  # crossed between the years: met by 2020
    assert (met.target_year, met.status) == (2020, "met")
    assert trend([2020, 2015], [0.21, 0.2], [21, 20], 0.235).target_year == 2033  # order-free: +0.002/yr, 12.5 yr


def test_volume_table_errors():
    from sinkplan.layers.errors import SchemeError

    with pytest.raises(SchemeError, match="needs columns group"):
        VolumeTable.from_csv("v.csv", text="group,m3\nforest,1\n")
    with pytest.raises(SchemeError, match="must be ≥ 0"):
        VolumeTable.from_csv("v.csv", text="group,volume_m3_per_ha\nforest,-1\n")


def test_change_hand_checked(tmp_path, years, invest, capsys):
    p15, p20 = years
    out = tmp_path / "ch"
    code, err = run_cli(["change", f"2015={p15}", f"2020={p20}", "--densities", str(invest), "--out", str(out)], capsys)
    assert code == 0, err
    s = summary(out)
    # Equilibrium: 5 ha grass (55.2) → forest (86): +5 × 30.8 = 154 Mg C; per year over 5 years 30.8
    assert s["equilibrium_change_mgc"] == pytest.approx(154.0) and s["equilibrium_gain_mgc"] == pytest.approx(154.0)
    assert s["equilibrium_loss_mgc"] == 0 and s["changed_area_ha"] == pytest.approx(5)
    assert s["annual_equilibrium_change_mgc_per_yr"] == pytest.approx(30.8)
    assert s["stock_after_mgc"] - s["stock_before_mgc"] == s["equilibrium_change_mgc"]
    # Sequestration (default method: mid-interval conversion, e = 2.5 yr; D = 20; forest grows 1.5 Mg C/ha/yr):
    # soil 5 ha × (60 − 50) × 2.5/20 = 6.25; dead 5 × (1 − 0.2) × 2.5/20 = 0.5;
    # biomass 5 ha × min(1.5 × 2.5, 25 − 5) = 18.75 → 25.5 Mg C, 5.1 Mg C/yr
    assert s["sequestration_mgc"] == pytest.approx(25.5) and s["sequestration_gain_mgc"] == pytest.approx(25.5)
    assert s["sequestration_mgc_soil"] == pytest.approx(6.25) and s["sequestration_mgc_dead"] == pytest.approx(0.5)
    # biomass split by the equilibrium differences: above 14 × 3.75/20 × 5 = 13.125, below 6 × 3.75/20 × 5 = 5.625
    assert s["sequestration_mgc_above"] == pytest.approx(13.125) and s["sequestration_mgc_below"] == pytest.approx(5.625)
    assert s["annual_sequestration_mgc_per_yr"] == pytest.approx(5.1)
    assert s["annual_sequestration_mt_co2e_per_yr"] == pytest.approx(5.1 * 44 / 12 / 1e6)
    assert s["remaining_to_equilibrium_mgc"] == pytest.approx(154.0 - 25.5)
    assert s["method"]["conversion_timing"] == "mid" and s["method"]["transition_years"] == 20
    assert "IPCC 2006" in s["method"]["source"] and s["method"]["sequestration"].startswith("transition periods")
    groups = pd.read_csv(out / "transitions_by_group.csv", encoding="utf-8-sig")
    row = groups[(groups.group_before == "grassland") & (groups.group_after == "forest")].iloc[0]
    assert row.area_ha == pytest.approx(5) and row.equilibrium_change_mgc == pytest.approx(154)
    assert row.sequestration_mgc == pytest.approx(25.5)
    with rasterio.open(out / "carbon_change.tif") as src:
        d = src.read(1)
    assert d[3, :5] == pytest.approx(25.5 / 5) and (d[4:] == 0).all()  # sequestration per ha: 5.1 Mg C/ha
    with rasterio.open(out / "transitions.tif") as src:
        t = src.read(1)
    assert t[3, 0] == 402 and t[0, 0] == 202  # grass→forest, forest→forest
    m = pd.read_csv(out / "transition_matrix_group_ha.csv", encoding="utf-8-sig").set_index("before \\ after")
    assert m.loc["grassland", "forest"] == pytest.approx(5) and m.loc["forest", "forest"] == pytest.approx(20)


def test_change_grid_mismatch_is_one_line(tmp_path, years, capsys):
    p15, _ = years
    other = write_tif(tmp_path / "shifted.tif", np.full((10, 10), 4, dtype="uint8"), crs=EA,
                      transform=Affine(100, 0, 1_000_050, 0, -100, 4_500_000))
    out = tmp_path / "o"
    code, err = run_cli(["change", f"2015={p15}", f"2020={other}", "--out", str(out)], capsys)
    assert_one_line_error(code, err, "are not on the same grid", out)
    code, err = run_cli(["coverage", f"2015={p15}", f"2020={other}", "--out", str(out)], capsys)
    assert_one_line_error(code, err, "are not on the same grid", out)
    code, err = run_cli(["change", f"2020={p15}", f"2015={other}", "--out", str(out)], capsys)
    assert_one_line_error(code, err, "must be later than", out)


def test_change_unknown_code_in_after_year(tmp_path, years, capsys):
    p15, _ = years
    bad = write_tif(tmp_path / "bad.tif", np.full((10, 10), 77, dtype="uint8"), crs=EA, transform=T_EA)
    out = tmp_path / "o"
    code, err = run_cli(["change", str(p15), str(bad), "--out", str(out)], capsys)
    assert_one_line_error(code, err, "codes 77 (100 px) are not in scheme 'clcd'", out)


def test_control_rings_are_ground_metres_and_exclude_projects():
    # Two 1 km squares 0.5 km apart at 42°N (built in a local equal-area frame).
    crs = "+proj=laea +lat_0=42 +lon_0=111 +datum=WGS84 +units=m"
    proj = gpd.GeoDataFrame({"project": ["A", "B"]}, geometry=[box(0, 0, 1000, 1000), box(1500, 0, 2500, 1000)], crs=crs)
    ll = proj.to_crs("EPSG:4326")
    rings = control_rings(ll, 1000.0)
    ring_a = rings.to_crs(crs).iloc[0]
    # A square buffered by 1 km: 1 + 4 × 1 + π × 1 = 8.1416 km², minus A itself (1 km²) and the part of B inside
    # (B starts 0.5 km away: a 0.5 km × 1 km strip) = 6.6416 km²
    assert ring_a.area == pytest.approx((1 + 4 + np.pi - 1 - 0.5) * 1e6, rel=2e-3)
    # in the layer's own CRS the rings share the projects' edges exactly: no overlap at all
    assert rings.iloc[0].intersection(ll.geometry.iloc[1]).area < 1e-14
    assert rings.iloc[0].intersection(ll.geometry.iloc[0]).area < 1e-14
    assert geodesic_area_m2(rings.values, rings.crs)[0] == pytest.approx(ring_a.area, rel=2e-3)
    pieces = disjoint_pieces(gpd.GeoSeries([*ll.geometry, *rings], crs=ll.crs))
    # each piece belongs to at least one input; the two rings overlap between the projects
    assert pieces.member.any(axis=1).all()
    assert (pieces.member[:, 2] & pieces.member[:, 3]).any()
    assert not (pieces.member[:, 0] & pieces.member[:, 2]).any()


def test_restoration_effect_cli(tmp_path, capsys):
    # 40 × 40 equal-area 100 m pixels, all grass; the project (centre 10 × 10) becomes forest in 2020.
    a = np.full((40, 40), 4, dtype="uint8")
    b = a.copy()
    b[15:25, 15:25] = 2
    p15 = write_tif(tmp_path / "a.tif", a, crs=EA, transform=T_EA)
    p20 = write_tif(tmp_path / "b.tif", b, crs=EA, transform=T_EA)
    x0, y0 = 1_000_000 + 1500, 4_500_000 - 2500
    proj = write_polys(tmp_path / "p.gpkg", [(x0, y0, x0 + 1000, y0 + 1000)], crs=EA, project=["治沙"], status=["已修复"],
                       start_year=[2016])
    t = tmp_path / "t.csv"
    t.write_text(INVEST_CSV, encoding="utf-8")
    out = tmp_path / "r"
    code, err = run_cli(["change", f"2015={p15}", f"2020={p20}", "--densities", str(t), "--zones", str(proj),
                         "--zone-field", "project", "--control-ring-km", "0.5", "--out", str(out)], capsys)
    assert code == 0, err
    row = summary(out)["restoration"][0]
    assert row["project"] == "治沙" and row["area_ha"] == pytest.approx(100)
    assert row["equilibrium_change_mgc_per_ha"] == pytest.approx(86.0 - 55.2)  # every hectare grass → forest
    # by transition periods (default): 10 × 2.5/20 soil + 0.8 × 2.5/20 dead + 1.5 × 2.5 biomass = 5.1 Mg C/ha
    assert row["change_mgc_per_ha"] == pytest.approx(5.1)
    assert row["ring_change_mgc_per_ha"] == 0
    # a 500 m ring round a 1 km square: 2 × 2 km² − (4 − π) × 0.25 km² corners − 1 km² = 2.785 km² = 278.5 ha
    assert row["ring_area_ha"] == pytest.approx(278.5, rel=0.05)
    assert row["equilibrium_difference_mgc_per_ha"] == pytest.approx(30.8)
    assert row["difference_mgc_per_ha"] == pytest.approx(5.1)
    assert row["difference_mgc_per_ha_per_yr"] == pytest.approx(5.1 / 5)
    # the project's own attributes travel with it: table, map file, map popup
    assert row["status"] == "已修复" and row["start_year"] == 2016
    effect = pd.read_csv(out / "restoration_effect.csv", encoding="utf-8-sig")
    assert list(effect.columns[:3]) == ["project", "status", "start_year"]
    layer = gpd.read_file(out / "projects.gpkg", layer="projects")
    assert layer.crs.to_epsg() == 4326 and layer["status"].tolist() == ["已修复"]
    assert layer["difference_mgc_per_ha"].tolist() == pytest.approx([5.1])
    assert layer["equilibrium_difference_mgc_per_ha"].tolist() == pytest.approx([30.8])
    rings = gpd.read_file(out / "projects.gpkg", layer="rings")
    assert rings["project"].tolist() == ["治沙"]
    import json
    import re

    from sinkplan.maps.build import build_map

    html = build_map([out], lang="zh")
    data = json.loads(re.search(r'<script id="sinkplan-data" type="application/json">(.*?)</script>', html, re.S).group(1))
    proj_layer = next(lay for lay in data["layers"] if lay["type"] == "vector" and lay["features"][0].get("p"))
    rows = dict(map(tuple, proj_layer["features"][0]["p"]))
    assert "已修复" in rows.values() and "治沙（已修复，2016）" not in rows  # status is a row, not the title
    assert proj_layer["features"][0]["t"].startswith("治沙（已修复）")
    code, err = run_cli(["change", str(p15), str(p20), "--control-ring-km", "1", "--out", str(tmp_path / "x")], capsys)
    assert_one_line_error(code, err, "--control-ring-km needs --zones", tmp_path / "x")

"""Coverage by the official definition: special shrubland by rule, bounds without data, extra forest,
targets where they apply, stock volume by stratum with area and growth effects, --group-by."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from affine import Affine

from sinkplan.sinks.shrub_rule import NO, UNKNOWN, YES, qualifies
from sinkplan.sinks.volume import VolumeTable, volume_effects
from sinks_util import assert_one_line_error, run_cli, summary, write_polys, write_tif
from test_sinks_change import EA, T_EA

X0, Y0 = 1_000_000, 4_500_000  # top-left of the 10 × 10 grid of 1-ha pixels (EPSG:6933)


@pytest.fixture
def lc(tmp_path):
    # 2015: forest rows 0-1 (20 ha), shrub rows 2-3 (20 ha), grass rows 4-9 (60 ha).
    # 2020: 5 more ha of forest (row 4, columns 0-4).
    a = np.full((10, 10), 4, dtype="uint8")
    a[:2] = 2
    a[2:4] = 3
    b = a.copy()
    b[4, :5] = 2
    return write_tif(tmp_path / "lc15.tif", a, crs=EA, transform=T_EA), write_tif(tmp_path / "lc20.tif", b, crs=EA, transform=T_EA)


def _precip(tmp_path, values: np.ndarray, name="p.tif", transform=T_EA, nodata=-9999.0):
    return write_tif(tmp_path / name, values.astype("float32"), crs=EA, transform=transform, nodata=nodata)


def _cov(tmp_path, capsys, lc, *extra, name="cov"):
    out = tmp_path / name
    code, err = run_cli(["coverage", f"2015={lc[0]}", f"2020={lc[1]}", *extra, "--out", str(out)], capsys)
    assert code == 0, err
    return summary(out), pd.read_csv(out / "coverage_by_zone.csv", encoding="utf-8-sig"), err, out


def test_rule_per_pixel_by_hand():
    # < 400 mm and > 30 % cover; exactly 400 mm or 30 % fails; NaN unknown unless the other fails
    p = np.array([399.9, 400.0, 350.0, np.nan, np.nan, 350.0])
    c = np.array([30.1, 90.0, 30.0, 50.0, 10.0, np.nan])
    assert qualifies(p, c).tolist() == [YES, NO, NO, UNKNOWN, NO, UNKNOWN]
    assert qualifies(p, None).tolist() == [YES, NO, YES, UNKNOWN, UNKNOWN, YES]


def test_shrub_counts_exactly_where_precipitation_is_below_400(tmp_path, lc, capsys):
    # precipitation 355 + 10 × column: columns 0-4 below 400 (395 at column 4), 5-9 at or above (405 ...)
    precip = _precip(tmp_path, np.tile(355.0 + 10 * np.arange(10), (10, 1)))
    s, df, err, _ = _cov(tmp_path, capsys, lc, "--precip", str(precip), "--provincial-target")
    t15, t20 = s["totals"]
    # special shrubland = shrub rows 2-3 × columns 0-4 = 10 ha; coverage 2015 = (20 + 10) / 100
    assert t15["special_shrub_area_ha"] == pytest.approx(10) and t15["shrub_area_ha"] == pytest.approx(20)
    assert t15["coverage"] == pytest.approx(0.30) and t20["coverage"] == pytest.approx(0.35)
    assert (t15["coverage_trees_only"], t15["coverage_all_shrub"]) == pytest.approx((0.20, 0.40))
    assert t15["special_shrub_rule"].startswith("applied: precipitation raster")
    rule = s["special_shrub_rule"]
    assert rule["mode"] == "rule" and "林资发〔2004〕14号" in rule["rule"] and "precipitation raster" in rule["data"]
    assert rule["cover_checked"] is False and "cover > 30 % not checked" in rule["note"]
    assert "森林覆盖率" in s["definition"]
    # with a cover raster: row 2 cover 40 %, row 3 cover 20 % → only row 2, columns 0-4: 5 ha
    cover = np.full((10, 10), 40.0)
    cover[3] = 20.0
    cov = _precip(tmp_path, cover, name="c.tif")
    s2, _, _, _ = _cov(tmp_path, capsys, lc, "--precip", str(precip), "--shrub-cover", str(cov), name="cov2")
    assert s2["totals"][0]["special_shrub_area_ha"] == pytest.approx(5) and s2["totals"][0]["coverage"] == pytest.approx(0.25)
    assert s2["special_shrub_rule"]["cover_checked"] is True


def test_precipitation_on_another_grid_is_resampled_bilinearly(tmp_path, lc, capsys):
    # 200 m cells, centres at 100 + 200 k m: precipitation 360 + 20 k is linear in x, so bilinear resampling
    # gives 355 + 10 j at the 100 m pixel centres (columns 0 and 9 take the edge values 360 and 450)
    coarse = np.tile(360.0 + 20 * np.arange(5), (5, 1))
    precip = _precip(tmp_path, coarse, transform=Affine(200, 0, X0, 0, -200, Y0))
    s, _, _, _ = _cov(tmp_path, capsys, lc, "--precip", str(precip))
    assert s["totals"][0]["special_shrub_area_ha"] == pytest.approx(10)


def test_without_data_the_bounds_are_given_and_said(tmp_path, lc, capsys):
    s, df, err, out = _cov(tmp_path, capsys, lc)
    t15 = s["totals"][0]
    assert t15["coverage"] is None and t15["special_shrub_area_ha"] is None
    assert (t15["coverage_trees_only"], t15["coverage_all_shrub"]) == pytest.approx((0.20, 0.40))
    assert "not applied" in t15["special_shrub_rule"] and s["special_shrub_rule"]["mode"] == "missing"
    assert "cannot be applied" in err and "trees only 20.00%/25.00%" in err and "all shrub 40.00%/45.00%" in err
    assert df.coverage.isna().all() and (df.special_shrub_rule.str.startswith("not applied")).all()
    # explicit bounds are choices, not defaults
    s_all, _, _, _ = _cov(tmp_path, capsys, lc, "--count-shrub", name="all")
    s_none, _, _, _ = _cov(tmp_path, capsys, lc, "--trees-only", name="none")
    assert s_all["totals"][0]["coverage"] == pytest.approx(0.40) and s_none["totals"][0]["coverage"] == pytest.approx(0.20)
    code, err = run_cli(["coverage", f"2015={lc[0]}", "--count-shrub", "--trees-only", "--out", str(tmp_path / "x")], capsys)
    assert_one_line_error(code, err, "contradict each other", tmp_path / "x")


def test_precipitation_field_designated_layer_and_extra_forest(tmp_path, lc, capsys):
    # zones: 东 = columns 0-4 (county mean 350 mm), 西 = columns 5-9 (450 mm)
    zones = write_polys(tmp_path / "z.gpkg", [(X0, Y0 - 1000, X0 + 500, Y0), (X0 + 500, Y0 - 1000, X0 + 1000, Y0)], crs=EA,
                        name=["东", "西"], precip_mm=[350.0, 450.0], league=["甲盟", "甲盟"])
    s, df, _, _ = _cov(tmp_path, capsys, lc, "--zones", str(zones), "--zone-field", "name", "--precip-field", "precip_mm",
                       "--extra-forest-ha", "西=2.5")
    east = df[(df.zone == "东") & (df.year == 2015)].iloc[0]
    west = df[(df.zone == "西") & (df.year == 2015)].iloc[0]
    # 东: 10 ha forest + 10 ha special shrub of 50 ha; 西: 10 ha forest + 0 + 2.5 extra of 50 ha
    assert east.special_shrub_area_ha == pytest.approx(10) and east.coverage == pytest.approx(20 / 50)
    assert west.special_shrub_area_ha == 0 and west.coverage == pytest.approx(12.5 / 50)
    assert west.extra_forest_ha == 2.5 and west.counted_forest_ha == pytest.approx(12.5)
    # a designated layer: shrub inside columns 0-2 only → 6 ha
    layer = write_polys(tmp_path / "special.gpkg", [(X0, Y0 - 1000, X0 + 300, Y0)], crs=EA, kind=["特灌林"])
    s2, _, _, _ = _cov(tmp_path, capsys, lc, "--special-shrub", str(layer), name="designated")
    assert s2["totals"][0]["special_shrub_area_ha"] == pytest.approx(6)
    assert "designated special-shrubland layer" in s2["special_shrub_rule"]["data"]
    # --group-by: the league is the sum of its banners, exactly
    s3, df3, _, _ = _cov(tmp_path, capsys, lc, "--zones", str(zones), "--zone-field", "name", "--precip-field",
                         "precip_mm", "--group-by", "league", name="grouped")
    rows15 = df3[df3.year == 2015].set_index("zone")
    assert rows15.loc["甲盟", "zone_level"] == "group"
    for col in ("land_area_ha", "forest_area_ha", "special_shrub_area_ha", "counted_forest_ha"):
        assert rows15.loc["甲盟", col] == rows15.loc["东", col] + rows15.loc["西", col]
        assert rows15.loc["(region total)", col] == rows15.loc["甲盟", col]
    assert rows15.loc["甲盟", "coverage"] == pytest.approx(30 / 100)
    assert s3["group_totals"][0]["zone"] == "甲盟" and len(s3["region_total"]) == 2  # one per year
    trend = pd.read_csv(tmp_path / "grouped" / "trend_by_zone.csv", encoding="utf-8-sig").set_index("zone")
    assert trend.loc["甲盟", "annual_change"] == pytest.approx((35 - 30) / 100 / 5)


def test_targets_apply_where_they_are_targets(tmp_path, lc, capsys):
    precip = _precip(tmp_path, np.full((10, 10), 300.0))
    # a 100 ha run is not the province: the provincial 23.5 % is not this run's target
    s, df, _, _ = _cov(tmp_path, capsys, lc, "--precip", str(precip))
    assert s["target"]["applies_to_total"] is False and "not a target for part of the province" in s["target"]["why"]
    assert s["totals"][0]["gap_ha"] is None and s["totals"][0]["target"] is None
    assert s["volume"]["share_of_target"] is None and s["volume"]["target_applies"] is False
    # the user says so: the total is compared with 23.5 %
    s2, _, _, _ = _cov(tmp_path, capsys, lc, "--precip", str(precip), "--provincial-target", name="prov")
    t = s2["totals"][0]
    assert t["target"] == 0.235 and t["gap_ha"] == 0  # (20 + 20) / 100 = 0.40 ≥ 0.235
    # per-zone targets
    zones = write_polys(tmp_path / "z.gpkg", [(X0, Y0 - 1000, X0 + 500, Y0), (X0 + 500, Y0 - 1000, X0 + 1000, Y0)], crs=EA,
                        name=["东", "西"])
    tf = tmp_path / "targets.csv"
    tf.write_text("zone,indicator,value,year\n东,forest_coverage,45%,2025\n西,forest_stock_volume,5000,2025\n",
                  encoding="utf-8")
    s3, df3, _, out = _cov(tmp_path, capsys, lc, "--precip", str(precip), "--zones", str(zones), "--zone-field", "name",
                           "--targets", str(tf), name="zt")
    east15 = df3[(df3.zone == "东") & (df3.year == 2015)].iloc[0]
    # 东 2015: 10 forest + 10 shrub of 50 ha = 0.40 < 0.45: gap 0.45 × 50 − 20 = 2.5 ha
    assert east15.target == 0.45 and east15.gap_ha == pytest.approx(2.5)
    assert pd.isna(df3[(df3.zone == "西")].target).all()
    vol = pd.read_csv(out / "volume_by_zone.csv", encoding="utf-8-sig")
    west20 = vol[(vol.zone == "西") & (vol.year == 2020)].iloc[0]
    assert west20.target_m3 == 5000 and west20.share_of_target == pytest.approx(10 * 86.9 / 5000)
    bad = tmp_path / "bad.csv"
    bad.write_text("zone,indicator,value,year\n南,forest_coverage,0.3,2025\n", encoding="utf-8")
    code, err = run_cli(["coverage", f"2015={lc[0]}", "--zones", str(zones), "--zone-field", "name", "--targets", str(bad),
                         "--trees-only", "--out", str(tmp_path / "y")], capsys)
    assert_one_line_error(code, err, "zone '南' is not a zone", tmp_path / "y")


def test_volume_by_stratum_with_area_and_growth_effects(tmp_path, lc, capsys):
    _, _, _, out = _cov(tmp_path, capsys, lc, "--trees-only")
    vol = pd.read_csv(out / "volume_by_zone.csv", encoding="utf-8-sig")
    # shipped table: tree forest 77.6 m³/ha on the 2013 basis (2015 map), 86.9 on the 2018 basis (2020 map)
    assert vol.volume_m3.tolist() == pytest.approx([20 * 77.6, 25 * 86.9])
    assert vol.volume_m3_per_ha.tolist() == pytest.approx([77.6, 86.9])
    assert "2013 basis" in vol.source[0] and "2018 basis" in vol.source[1]
    ch = pd.read_csv(out / "volume_change_by_zone.csv", encoding="utf-8-sig").iloc[0]
    # ΔV = 25 × 86.9 − 20 × 77.6 = 620.5 m³ = area effect 5 × 77.6 = 388 + growth effect 25 × 9.3 = 232.5
    assert ch.volume_change_m3 == pytest.approx(620.5)
    assert ch.area_effect_m3 == pytest.approx(388.0) and ch.growth_effect_m3 == pytest.approx(232.5)
    dv, area, growth = volume_effects(np.array([20.0]), np.array([25.0]), np.array([77.6]), np.array([86.9]))
    assert float(area + growth) == pytest.approx(float(dv))


def test_volume_table_keyed_by_zone_attribute(tmp_path, lc, capsys):
    zones = write_polys(tmp_path / "z.gpkg", [(X0, Y0 - 1000, X0 + 500, Y0), (X0 + 500, Y0 - 1000, X0 + 1000, Y0)], crs=EA,
                        name=["东", "西"], region=["大兴安岭", "西部"])
    t = tmp_path / "v.csv"
    t.write_text("region,group,year,volume_m3_per_ha,source\n大兴安岭,forest,2015,120,test\n,forest,,50,test\n",
                 encoding="utf-8")
    _, _, _, out = _cov(tmp_path, capsys, lc, "--trees-only", "--zones", str(zones), "--zone-field", "name",
                        "--volume-table", str(t))
    vol = pd.read_csv(out / "volume_by_zone.csv", encoding="utf-8-sig").set_index(["zone", "year"])
    # 东 (大兴安岭): 10 ha forest × 120 in 2015; 2020 takes the latest year not after it (2015): 15 ha × 120
    assert vol.loc[("东", 2015), "volume_m3"] == pytest.approx(1200) and vol.loc[("东", 2020), "volume_m3"] == pytest.approx(1800)
    assert vol.loc[("西", 2020), "volume_m3"] == pytest.approx(10 * 50)  # the row for every zone
    table = VolumeTable.from_csv(t)
    assert table.zone_column == "region" and table.lookup("forest", zone_key="大兴安岭", year=2010).volume_m3_per_ha == 120

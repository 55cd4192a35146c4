"""Issue 11: the target account per zone (--targets zones.csv, indicator new_energy_capacity),
one targets format shared with the forestry commands, and the --tech pv,wind folder as a
declared result kind."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from pyproj import Geod
from shapely.geometry import Point, box

from sinkplan.layers import resultspec as rs
from sinkplan.cli import main
from sinkplan.layers.errors import InputError
from sinkplan.layers.resultfolder import audit_folder, folder_kind
from sinkplan.seeds.zone_targets import REGION_TOTAL, load_zone_targets

W, H, RES, LON0, LAT0 = 60, 40, 0.002, 110.0, 42.1


def _px_box(r0, r1, c0, c1):
    return box(LON0 + c0 * RES, LAT0 - r1 * RES, LON0 + c1 * RES, LAT0 - r0 * RES)


def _row_area_ha():
    """Ellipsoidal area of one pixel in each row (pyproj.Geod polygon area, independent of the grid code)."""
    g = Geod(ellps="WGS84")
    out = []
    for r in range(H):
        top, bot = LAT0 - r * RES, LAT0 - (r + 1) * RES
        a, _ = g.polygon_area_perimeter([LON0, LON0 + RES, LON0 + RES, LON0], [bot, bot, top, top])
        out.append(abs(a) / 1e4)  # m² → ha
    return np.array(out)


@pytest.fixture(scope="module")
def banners(tmp_path_factory):
    """Barren land; banner A west of column 30, B east; a 100 MW PV plant on rows 5–10, columns
    5–15 of A, a 50 MW wind plant given as a point in B; uniform PVOUT 1 500 and wind 7 m/s."""
    d = tmp_path_factory.mktemp("account")
    with rasterio.open(d / "lc.tif", "w", driver="GTiff", width=W, height=H, count=1, dtype="uint8", crs="EPSG:4326",
                       transform=Affine(RES, 0, LON0, 0, -RES, LAT0), nodata=0) as dst:
        dst.write(np.full((1, H, W), 7, dtype=np.uint8))  # CLCD 7 barren: the desert zone
    for name, val in (("pvout", 1500.0), ("wind", 7.0)):
        with rasterio.open(d / f"{name}.tif", "w", driver="GTiff", width=W, height=H, count=1, dtype="float32",
                           crs="EPSG:4326", transform=Affine(RES, 0, LON0, 0, -RES, LAT0)) as dst:
            dst.write(np.full((1, H, W), val, dtype=np.float32))
    gpd.GeoDataFrame({"id": [1]}, geometry=[box(120.0, 30.0, 120.01, 30.01)], crs=4326).to_file(d / "far.gpkg")
    gpd.GeoDataFrame({"name": ["A", "B"]}, geometry=[_px_box(0, H, 0, 30), _px_box(0, H, 30, W)],
                     crs=4326).to_file(d / "banners.gpkg")
    gpd.GeoDataFrame({"capacity_mw": [100.0, 50.0], "tech": ["pv", "wind"]},
                     geometry=[_px_box(5, 10, 5, 15), Point(LON0 + 45 * RES, LAT0 - 20 * RES)],
                     crs=4326).to_file(d / "installed.gpkg")
    # one table for every command: the coverage rows are skipped by siting
    (d / "targets.csv").write_text("zone,indicator,value,year,source\n"
                                   "A,new_energy_capacity,3000,2030,example plan\n"
                                   "B,new_energy_capacity,2 GW,2030,\n"
                                   "A,forest_coverage,25%,2025,not a siting row\n", encoding="utf-8")
    return d


def _site(d, out, *extra, tech="pv"):
    return main(["site", "-q", "--tech", tech, "--landcover", str(d / "lc.tif"), "--redline", str(d / "far.gpkg"),
                 "--farmland", str(d / "far.gpkg"), "--zones", str(d / "banners.gpkg"), "--zone-field", "name",
                 "--installed", str(d / "installed.gpkg"), "--pvout", str(d / "pvout.tif"),
                 "--wind-speed", str(d / "wind.tif"), "--set", "pv.layout.method=\"fixed\"",
                 *[a for t in tech.split(",") for a in ("--set", f"{t}.min_parcel_area_ha=1")], "--out", str(out), *extra])


def _summary(p):
    return json.loads((p / rs.SUMMARY.name).read_text(encoding="utf-8"))


def test_zone_targets_one_table_for_every_command(banners):
    rows = load_zone_targets(banners / "targets.csv", {"A", "B"}, indicators=("new_energy_capacity",))
    assert [(t.zone, t.value, t.year) for t in rows] == [("A", 3000.0, 2030), ("B", 2000.0, 2030)]  # 2 GW = 2 000 MW
    cov = load_zone_targets(banners / "targets.csv", {"A"}, indicators=("forest_coverage",))
    assert [(t.zone, t.value) for t in cov] == [("A", 0.25)]  # B's rows are not coverage rows: not checked against names
    with pytest.raises(InputError, match="zone 'B' is not a zone"):
        load_zone_targets(banners / "targets.csv", {"A"}, indicators=("new_energy_capacity",))
    bad = banners / "bad.csv"
    bad.write_text("zone,indicator,value,year\nA,solar_farms,3,2030\n", encoding="utf-8")
    with pytest.raises(InputError, match="indicator 'solar_farms' is not one of"):
        load_zone_targets(bad, {"A"})
    bad.write_text("zone,indicator,value,year\nA,new_energy_capacity,3 kW,2030\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"value '3 kW' is not a number \(MW, or a number followed by GW\)"):
        load_zone_targets(bad, {"A"})


def test_per_zone_account_installed_screened_gap_share(banners, tmp_path):
    out = tmp_path / "pv"
    assert _site(banners, out, "--targets", str(banners / "targets.csv")) == 0
    s = _summary(out)
    ha = _row_area_ha()
    # eligible: every pixel but the plant's 5 rows × 10 columns in A; fixed 34 MW/km² = 0.34 MW/ha
    area_a = ha.sum() * 30 - ha[5:10].sum() * 10
    area_b = ha.sum() * 30
    assert s["by_admin_zone"]["A"]["area_ha"] == pytest.approx(area_a, rel=1e-6)
    assert s["by_admin_zone"]["B"]["area_ha"] == pytest.approx(area_b, rel=1e-6)
    scr_a, scr_b = 0.34 * area_a, 0.34 * area_b
    rows = {r["zone"]: r for r in s["targets_by_zone"]}
    # A: target 3 000 MW, installed 100 MW (the PV plant), gap 2 900, after the screen 2 900 − screened
    assert rows["A"]["installed_mw"] == 100.0 and rows["A"]["gap_mw"] == 2900.0
    assert rows["A"]["screened_mw"] == pytest.approx(scr_a, rel=1e-6)
    assert rows["A"]["gap_after_screen_mw"] == pytest.approx(2900.0 - scr_a, rel=1e-6)
    assert rows["A"]["share_of_target"] == pytest.approx((100.0 + scr_a) / 3000.0, rel=1e-6)
    # B: 2 GW, installed 50 MW (the wind plant's point lies in B), screened the whole of B
    assert rows["B"]["installed_mw"] == 50.0 and rows["B"]["gap_mw"] == 1950.0
    assert rows["B"]["share_of_target"] == pytest.approx((50.0 + scr_b) / 2000.0, rel=1e-6)
    # the run: the sums over the two zones with a target
    assert s["target_mw"] == 5000.0 and s["gap_mw"] == 4850.0
    assert s["share_of_target"] == pytest.approx((150.0 + scr_a + scr_b) / 5000.0, rel=1e-6)
    assert "targets.csv" in s["target_source"] and s["target_year"] == 2030
    t = pd.read_csv(out / "targets_by_zone.csv")
    assert t.zone.tolist() == ["A", "B"] and np.allclose(t.share_of_target, [rows["A"]["share_of_target"],
                                                                             rows["B"]["share_of_target"]])
    assert audit_folder(out) == []
    # targets.json names the per-zone targets compared against, not the provincial one
    tj = json.loads((out / "targets.json").read_text(encoding="utf-8"))
    assert tj["file"].endswith("targets.csv") and [(r["zone"], r["value"]) for r in tj["targets"]] == [("A", 3000.0),
                                                                                                     ("B", 2000.0)]


def test_region_total_row_is_the_run_target(banners, tmp_path):
    (tmp_path / "t.csv").write_text(f"zone,indicator,value,year\n{REGION_TOTAL},new_energy_capacity,10000,2030\n",
                                    encoding="utf-8")
    out = tmp_path / "pv"
    assert _site(banners, out, "--targets", str(tmp_path / "t.csv")) == 0
    s = _summary(out)
    assert s["target_mw"] == 10000.0 and s["gap_mw"] == 10000.0 - 150.0
    assert s["share_of_target"] == pytest.approx((150.0 + s["capacity_mw"]) / 10000.0, rel=1e-12)


def test_per_zone_targets_need_zones(banners, tmp_path, capfd):
    rc = main(["site", "-q", "--landcover", str(banners / "lc.tif"), "--redline", str(banners / "far.gpkg"),
               "--farmland", str(banners / "far.gpkg"), "--targets", str(banners / "targets.csv"),
               "--out", str(tmp_path / "x")])
    assert rc == 2 and "per-zone targets need --zones" in capfd.readouterr().err
    assert not (tmp_path / "x").exists()


def test_provincial_target_without_coverage_gives_no_share_and_says_what_the_gap_is(banners, tmp_path):
    out = tmp_path / "prov"
    assert _site(banners, out) == 0
    s = _summary(out)
    assert s["share_of_target"] is None and s["target_mw"] == 200_000.0 and s["gap_mw"] == 200_000.0 - 150.0
    assert "only if --installed lists that whole region's plants" in s["gap_note"]


def test_pv_wind_folder_is_a_declared_result_kind_with_one_account(banners, tmp_path):
    out = tmp_path / "both"
    assert _site(banners, out, "--targets", str(banners / "targets.csv"), tech="pv,wind") == 0
    s = _summary(out)
    assert folder_kind(out) == "site-account" and s["kind"] == "site-account"
    assert audit_folder(out) == []  # top files, summary keys and the pv/ and wind/ site folders
    pv, wind = _summary(out / "pv"), _summary(out / "wind")
    for z in ("A", "B"):
        row = next(r for r in s["targets_by_zone"] if r["zone"] == z)
        both = pv["by_admin_zone"].get(z, {}).get("capacity_mw", 0.0) + wind["by_admin_zone"].get(z, {}).get("capacity_mw", 0.0)
        assert row["screened_mw"] == pytest.approx(both, rel=1e-12)  # PV + wind of the zone, no pixel twice
    assert s["screened_mw"] == pytest.approx(pv["capacity_mw"] + wind["capacity_mw"], rel=1e-12)
    assert pv["targets_by_zone"] == s["targets_by_zone"]  # each technology's folder carries the run's account
    assert (out / "targets_by_zone.csv").exists() and (out / "pv" / "targets_by_zone.csv").exists()


def test_demo_region_acceptance(tmp_path):
    """Issue 11 on the demo region (scale 0.1): it ships synthetic GHI and wind-speed rasters; no parcel exceeds
    the maximum size; PV then wind (the demo's own step) allocates no pixel twice and uses no land the separate
    screens would not; each summary states baseline, screened and gap; the supply curves are written."""
    from sinkplan.cmd_site import site_step
    from sinkplan.context import RunContext
    from sinkplan.seeds.demo import build_demo

    region = build_demo(tmp_path / "inputs", scale=0.1)
    assert region.ghi.exists() and region.wind_speed.exists()
    out = tmp_path / "demo"
    out.mkdir()
    site_step(region, out, RunContext(quiet=True))
    read = {}
    for tech in ("pv", "wind"):
        s = _summary(out / f"site_{tech}")
        p = pd.read_csv(out / f"site_{tech}" / "parcels.csv")
        assert (p.area_ha <= s["max_parcel_area_ha"]).all() and s["largest_parcel_area_ha"] <= s["max_parcel_area_ha"]
        assert {"installed_mw", "screened_mw", "gap_mw", "gap_note"} <= set(s) and s["installed_mw"] > 0
        assert s["gap_mw"] == pytest.approx(s["target_mw"] - s["installed_mw"])
        assert len(pd.read_csv(out / f"site_{tech}" / "supply_curve.csv")) > 0 and s["energy_mwh_per_yr"] > 0
        with rasterio.open(out / f"site_{tech}" / "parcels.tif") as src:
            read[tech] = src.read(1) > 0
    assert not (read["pv"] & read["wind"]).any()  # no pixel in both
    assert _summary(out / "site_wind")["screened_mw"] == pytest.approx(
        _summary(out / "site_pv")["capacity_mw"] + _summary(out / "site_wind")["capacity_mw"])
    # the separate screens of the same inputs: the joint allocation stays inside their union
    sep = {}
    for tech in ("pv", "wind"):
        args = ["site", "-q", "--tech", tech, "--landcover", str(region.landcover_2020), "--dem", str(region.dem),
                "--redline", str(region.redline), "--farmland", str(region.farmland), "--border", str(region.border),
                "--deserts", str(region.deserts), "--mines", str(region.mines), "--grid-lines", str(region.grid_lines),
                str(region.substations), "--zones", str(region.banners), "--zone-field", region.zone_field,
                "--ghi", str(region.ghi), "--wind-speed", str(region.wind_speed), "--precipitation",
                str(region.precipitation), "--installed", str(region.installed), "--out", str(tmp_path / f"sep_{tech}")]
        assert main(args) == 0
        with rasterio.open(tmp_path / f"sep_{tech}" / "parcels.tif") as src:
            sep[tech] = src.read(1) > 0
    joint, union = read["pv"] | read["wind"], sep["pv"] | sep["wind"]
    assert joint.sum() <= union.sum() and not (joint & ~union).any()


def test_pv_wind_energy_is_unknown_when_a_technology_with_capacity_has_no_yield(banners, tmp_path):
    """Without --pvout the PV parcels have no energy: the account's energy is unknown (None), not
    0 MWh/yr; with it, wind (left no land: PV is screened first and takes it all) adds exactly 0."""

    def run(out, *extra):
        return main(["site", "-q", "--tech", "pv,wind", "--landcover", str(banners / "lc.tif"),
                     "--redline", str(banners / "far.gpkg"), "--farmland", str(banners / "far.gpkg"),
                     "--set", "pv.min_parcel_area_ha=1", "--set", "wind.min_parcel_area_ha=1", "--out", str(out),
                     *extra])

    assert run(tmp_path / "none") == 0
    s, pv = _summary(tmp_path / "none"), _summary(tmp_path / "none" / "pv")
    assert pv["capacity_mw"] > 0 and pv["energy_mwh_per_yr"] is None
    assert s["energy_mwh_per_yr"] is None and s["by_tech"]["pv"]["energy_mwh_per_yr"] is None
    assert "no resource raster for pv" in s["energy_note"] and audit_folder(tmp_path / "none") == []
    assert run(tmp_path / "pvout", "--pvout", str(banners / "pvout.tif")) == 0
    s, pv, wind = (_summary(tmp_path / "pvout" / p) for p in ("", "pv", "wind"))
    assert wind["capacity_mw"] == 0.0 and pv["energy_mwh_per_yr"] > 0
    assert s["energy_mwh_per_yr"] == pytest.approx(pv["energy_mwh_per_yr"], rel=1e-12)  # PV's + 0 of wind


def test_capacity_figure_stacks_the_installed_baseline_under_the_new_parcels(banners, tmp_path):
    """The figure's account against the target is the summary's: installed (100 MW PV + 50 MW
    wind of the fixture = 150 MW = 0.15 GW) under the screened parcels, not the parcels alone."""
    from sinkplan.maps.figures import figures_of

    out = tmp_path / "fig"
    assert _site(banners, out) == 0
    s = _summary(out)
    assert s["installed_mw"] == 150.0 and s["screened_mw"] > 0
    ax = figures_of(out, lang="en")["capacity_by_zone_type.png"].axes[0]
    names = [t.get_text() for t in ax.get_xticklabels()]
    assert names[0] == "Installed and approved" and names[-1] == "Installed + new parcels"
    heights = {}
    for p in ax.patches:  # (x position, bottom) → height, GW
        heights[(round(p.get_x() + p.get_width() / 2), round(p.get_y(), 9))] = p.get_height()
    last = len(names) - 1
    assert heights[(0, 0.0)] == pytest.approx(0.15)  # 150 MW / 1000
    assert heights[(last, 0.0)] == pytest.approx(0.15)  # the stacked total: installed at the bottom …
    assert heights[(last, round(0.15, 9))] == pytest.approx(s["screened_mw"] / 1000.0)  # … the new parcels on top
    # no --installed: no baseline bar, the total is the parcels' (as before)
    out2 = tmp_path / "fig2"
    assert main(["site", "-q", "--tech", "pv", "--landcover", str(banners / "lc.tif"), "--redline", str(banners / "far.gpkg"),
                 "--farmland", str(banners / "far.gpkg"), "--pvout", str(banners / "pvout.tif"), "--set",
                 "pv.layout.method=\"fixed\"", "--set", "pv.min_parcel_area_ha=1", "--out", str(out2)]) == 0
    ax = figures_of(out2, lang="en")["capacity_by_zone_type.png"].axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()][-1] == "Total"
    assert "Installed and approved" not in [t.get_text() for t in ax.get_xticklabels()]


def test_map_and_figures_of_a_pv_wind_folder_draw_both_technologies(banners, tmp_path):
    """`map` on a --tech pv,wind folder asked for pv/ or wind/: it now draws both on one map,
    each technology's layers named by it, and `figures` writes each technology's figures."""
    import re

    out = tmp_path / "both"
    assert _site(banners, out, tech="pv,wind") == 0
    html = tmp_path / "m.html"
    assert main(["map", "-q", str(out), "--out", str(html), "--lang", "en"]) == 0
    text = html.read_text("utf-8")
    data = json.loads(re.search(r'<script id="sinkplan-data" type="application/json">(.*?)</script>', text, re.S).group(1))
    names = [lay["name"] for lay in data["layers"]]
    pv = [n for n in names if n.startswith("PV · ")]
    wind = [n for n in names if n.startswith("Wind · ")]
    assert pv and wind and len(pv) + len(wind) == len(names)  # every layer is one technology's
    # each technology's own eligible land (wind's exclusion rules differ, and PV claimed the land first)
    assert any(n.startswith("PV · Eligible land") for n in pv) and any(n.startswith("Wind · Eligible land") for n in wind)
    figs = tmp_path / "figs"
    assert main(["figures", "-q", str(out), "--out", str(figs), "--lang", "en"]) == 0
    for tech in ("pv", "wind"):
        assert (figs / tech / "capacity_by_zone_type.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (figs / "capacity_by_tech.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert json.loads((figs / rs.MANIFEST.name).read_text("utf-8"))["command"] == "figures"
    # the map of the two technology folders given by name is the same map
    html2 = tmp_path / "m2.html"
    assert main(["map", "-q", str(out / "pv"), str(out / "wind"), "--out", str(html2), "--lang", "en"]) == 0
    data2 = json.loads(re.search(r'<script id="sinkplan-data" type="application/json">(.*?)</script>',
                                 html2.read_text("utf-8"), re.S).group(1))
    assert [lay["name"] for lay in data2["layers"]] == names


def test_the_pv_wind_account_figure_is_the_accounts_own(banners, tmp_path):
    """capacity_by_tech.png: each technology's screened MW (summary by_tech) on the installed
    baseline (100 + 50 MW = 0.15 GW) against the target; a technology's own figure gives no
    share, which is the account's (both technologies'), not its bars'."""
    from sinkplan.maps.figures import account_figures, figures_of

    out = tmp_path / "both"
    assert _site(banners, out, "--covers-target-region", tech="pv,wind") == 0
    s = _summary(out)
    ax = account_figures(out, lang="en")["capacity_by_tech.png"].axes[0]
    names = [t.get_text() for t in ax.get_xticklabels()]
    assert names == ["Installed and approved", "PV", "Wind", "Installed + new parcels"]
    h = {(round(p.get_x() + p.get_width() / 2), round(p.get_y(), 9)): p.get_height() for p in ax.patches}
    pv, wind = s["by_tech"]["pv"]["capacity_mw"] / 1000.0, s["by_tech"]["wind"]["capacity_mw"] / 1000.0  # MW → GW
    assert h[(0, 0.0)] == pytest.approx(0.15) and h[(1, 0.0)] == pytest.approx(pv) and h[(2, 0.0)] == pytest.approx(wind)
    assert h[(3, round(0.15, 9))] == pytest.approx(s["screened_mw"] / 1000.0) == pytest.approx(pv + wind)
    # (installed + screened) / target as the account computed it
    assert ax.get_title() == f"Capacity by technology (no land counted twice) ({s['share_of_target'] * 100:.1f} %)"
    assert s["target_year"] == 2030  # the account's own target year, as its technologies' summaries give it
    assert [t.get_text() for t in ax.get_legend().get_texts()] == [f"2030 target {s['target_mw'] / 1000.0:,.0f} GW"]
    one = figures_of(out / "pv", lang="en")["capacity_by_zone_type.png"].axes[0]
    assert one.get_title() == "Capacity by zone type"

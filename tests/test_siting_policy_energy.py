"""Issue 11: policy layers, terrain and latitude, parcel size, energy, cost, the target account."""

from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from shapely.geometry import LineString, Point, box

from sinkplan.layers import resultspec as rs
from sinkplan.cli import main
from sinkplan.siting.blocks import terrain_class
from sinkplan.siting.energy import (carbon_payback_years, ground_cover_ratio, lcoe_cny_per_mwh, pv_density_mw_per_km2,
                                    solstice_sun, wind_capacity_factor, wind_turbine)
from sinkplan.siting.geometry import RowMetric, slope_and_descent
from sinkplan.siting.profile import load_profile

W, H, RES, LON0, LAT0 = 60, 40, 0.002, 110.0, 42.1  # ~165 m × 222 m pixels


def _tif(path, data, dtype="float32", nodata=None):
    with rasterio.open(path, "w", driver="GTiff", width=W, height=H, count=1, dtype=dtype, crs="EPSG:4326",
                       transform=Affine(RES, 0, LON0, 0, -RES, LAT0), nodata=nodata) as dst:
        dst.write(np.asarray(data).astype(dtype), 1)


def _gpkg(path, geoms, **cols):
    gpd.GeoDataFrame(cols or {"id": list(range(len(geoms)))}, geometry=geoms, crs="EPSG:4326").to_file(path)


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    d = tmp_path_factory.mktemp("policy")
    lc = np.full((H, W), 7, dtype=np.uint8)  # barren: desert zone
    lc[10:20, 10:30] = 4  # a grass patch (eligible as land outside the zones is allowed below)
    _tif(d / "lc.tif", lc, "uint8", nodata=0)
    far = box(120.0, 30.0, 120.01, 30.01)
    _gpkg(d / "far.gpkg", [far])  # redline / farmland far away
    # basic grassland polygon exactly over the grass patch (pixel edges)
    x0, x1 = LON0 + 10 * RES, LON0 + 30 * RES
    y1, y0 = LAT0 - 10 * RES, LAT0 - 20 * RES
    _gpkg(d / "grassland.gpkg", [box(x0, y0, x1, y1)])
    _gpkg(d / "subs.gpkg", [Point(LON0 + 0.001, LAT0 - 0.001)], kv=[220])
    _tif(d / "pvout.tif", np.full((H, W), 1500.0))
    _tif(d / "wind.tif", np.full((H, W), 7.0))
    return d


def site(region, out, *extra, tech="pv") -> int:
    d = region
    return main(["site", "-q", "--tech", tech, "--landcover", str(d / "lc.tif"), "--redline", str(d / "far.gpkg"),
                 "--farmland", str(d / "far.gpkg"), "--set", "zones.other.enabled=true",
                 *[a for t in tech.split(",") for a in ("--set", f"{t}.min_parcel_area_ha=1")], "--out", str(out), *extra])


def _summary(out):
    return json.loads((out / rs.SUMMARY.name).read_text(encoding="utf-8"))


def _read(path):
    with rasterio.open(path) as src:
        return src.read(1)


# ----------------------------------------------------------------------------- policy layers
def test_basic_grassland_layer_excludes_its_pixels(region, tmp_path):
    out = tmp_path / "with"
    assert site(region, out, "--basic-grassland", str(region / "grassland.gpkg")) == 0
    el = _read(out / rs.ELIGIBLE.name)
    assert (el[10:20, 10:30] == 0).all()  # no eligible pixel in the basic grassland
    assert (el[25:35, 35:55] > 0).all()  # the barren land around stays
    s = _summary(out)
    assert "basic_grassland" not in {n["rule"] for n in s["not_checked"]}
    bit = next(b for b in s["exclusion_bits"] if b["rule"] == "basic_grassland")
    assert bit["area_ha"] > 0 and "基本草原" in bit["description"]


def test_missing_policy_layer_is_named_and_capacity_is_an_upper_bound(region, tmp_path, capfd):
    out = tmp_path / "without"
    assert site(region, out, "--set", "pv.max_parcel_area_ha=1e6") == 0
    err = capfd.readouterr().err
    assert "not checked: basic_grassland (基本草原) — no --basic-grassland given; the capacity is an upper bound" in err
    assert "MW (an upper bound: rule sets not checked: basic_grassland" in err  # the headline line says it too
    s = _summary(out)
    nc = {n["rule"]: n for n in s["not_checked"]}
    assert nc["basic_grassland"]["option"] == "--basic-grassland" and "12号" in nc["basic_grassland"]["clause"]
    assert s["capacity_is_upper_bound"] is True
    el = _read(out / rs.ELIGIBLE.name)
    assert (el[10:20, 10:30] > 0).all()  # the grass patch is eligible without the layer
    p = pd.read_csv(out / "parcels.csv")
    assert p["not_checked"].str.contains("basic_grassland").all()  # every table row says so
    from sinkplan.layers.resultfolder import read_xlsx_sheet

    sheet = read_xlsx_sheet(out / "parcels.xlsx", "not_checked")  # a Chinese workbook read back by field names
    assert "basic_grassland" in set(sheet["rule"]) and set(sheet["status"]) == {"未核查"}  # the zh workbook: values labelled, rule keys kept


# ----------------------------------------------------------------------------- terrain, latitude
def test_terrain_classes_on_a_synthetic_dem():
    # rows 10 m apart; a plane rising 0.5 m, 3 m and 5 m per 10 m eastwards: 2.86°, 16.7°, 26.6°
    m = RowMetric(0, -np.arange(5) * 10.0, np.full(5, 10.0))
    for rise, expect_deg in ((0.5, math.degrees(math.atan(0.05))), (3.0, math.degrees(math.atan(0.3))),
                             (5.0, math.degrees(math.atan(0.5)))):
        z = np.add.outer(np.zeros(5), np.arange(5) * rise)
        s, d = slope_and_descent(z, m)
        assert float(s[1, 1]) == pytest.approx(expect_deg, rel=1e-6) and float(d[1, 1]) == 0.0
    slope = np.array([2.86, 16.7, 16.7, 26.6])
    relief = np.array([10.0, 150.0, 250.0, 10.0])
    # Ⅰ ≤ 3°; Ⅱ 3–20° with relief < 200 m; Ⅲ otherwise (TD/T 1075-2023)
    assert terrain_class(slope, relief, (3.0, 20.0, 200.0)).tolist() == [1, 2, 3, 3]


def test_land_per_mw_at_40_and_50_north_follows_the_row_spacing_formula():
    # noon on the winter solstice: h = 90 − φ − 23.44; GCR = 1 / (cos β + sin β / tan h)
    for lat in (40.0, 50.0):
        h = math.radians(90.0 - lat - 23.44)
        beta = math.radians(lat - 5.0)  # tilt = latitude − 5°
        gcr = 1.0 / (math.cos(beta) + math.sin(beta) / math.tan(h))
        assert float(ground_cover_ratio(lat, lat - 5.0)) == pytest.approx(gcr, rel=1e-9)
        layout = load_profile("pv").technology.layout
        # MW/km² = 213 W/m² × GCR × 0.32
        assert float(pv_density_mw_per_km2(lat, layout)) == pytest.approx(213.0 * gcr * 0.32, rel=1e-9)
    # 40°N: h 26.56°, β 35° → GCR 0.5085; 50°N: h 16.56°, β 45° → GCR 0.3241: 1.57 × the land per MW
    ratio = float(ground_cover_ratio(40.0, 35.0) / ground_cover_ratio(50.0, 45.0))
    assert ratio == pytest.approx(0.508503 / 0.324137, rel=1e-4)
    # 9:00 solar time: sin h = sin φ sin δ + cos φ cos δ cos 45°
    h9, _ = solstice_sun(40.0, 9.0)
    d = math.radians(-23.44)
    sin_h = math.sin(math.radians(40)) * math.sin(d) + math.cos(math.radians(40)) * math.cos(d) * math.cos(math.radians(45))
    assert float(h9) == pytest.approx(math.degrees(math.asin(sin_h)), rel=1e-12)
    # ground descending northwards by tan θ = 0.1 widens the pitch: GCR = (1 − s k) / (cos β + k sin β)
    k = 1.0 / math.tan(math.radians(26.56))
    expect = (1 - 0.1 * k) / (math.cos(math.radians(35)) + k * math.sin(math.radians(35)))
    assert float(ground_cover_ratio(40.0, 35.0, ns_descent=0.1)) == pytest.approx(expect, rel=1e-9)


def test_north_facing_slope_above_the_limit_is_excluded(region, tmp_path):
    rows = np.arange(H)[:, None] + np.zeros((1, W))
    dem = 1000.0 + rows * 222.4 * math.tan(math.radians(5.0))  # falls 5° northwards (row 0 is north)
    _tif(tmp_path / "dem.tif", dem)
    out = tmp_path / "north"
    assert site(region, out, "--dem", str(tmp_path / "dem.tif")) == 0
    s = _summary(out)
    bit = next(b for b in s["exclusion_bits"] if b["rule"] == "north_slope")
    # every pixel with a full 3×3 neighbourhood descends ~5° north (> 3°): all excluded
    assert bit["area_ha"] > 0.9 * s["total_area_ha"]


# ----------------------------------------------------------------------------- parcel size
def test_no_parcel_exceeds_the_maximum_and_ids_do_not_depend_on_blocks(region, tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    assert site(region, a, "--set", "pv.max_parcel_area_ha=300") == 0
    assert site(region, b, "--set", "pv.max_parcel_area_ha=300", "--max-cells", "1024") == 0
    pa, pb = pd.read_csv(a / "parcels.csv"), pd.read_csv(b / "parcels.csv")
    assert len(pa) > 3 and (pa.area_ha <= 300.0).all()
    # the whole region (~ 9.9 km × 8.9 km ≈ 8 800 ha) is one component without the limit
    assert pa.area_ha.sum() == pytest.approx(_summary(a)["eligible_area_ha"], rel=1e-12)
    pa, pb = pa.sort_values("parcel_id"), pb.sort_values("parcel_id")
    assert pa.parcel_id.tolist() == pb.parcel_id.tolist()
    assert np.allclose(pa.area_ha, pb.area_ha, rtol=1e-12)
    assert (_read(a / "parcels.tif") == _read(b / "parcels.tif")).all()


# ----------------------------------------------------------------------------- energy
def test_uniform_pvout_gives_capacity_times_hours(region, tmp_path):
    out = tmp_path / "pvout"
    assert site(region, out, "--pvout", str(region / "pvout.tif")) == 0
    p = pd.read_csv(out / "parcels.csv")
    # 1 500 kWh/kWp = 1 500 MWh per MW per year, everywhere
    assert np.allclose(p.energy_mwh_per_yr, p.capacity_mw * 1500.0, rtol=1e-9)
    assert np.allclose(p.capacity_factor, 1500.0 / 8760.0, rtol=1e-9)
    s = _summary(out)
    assert s["energy_mwh_per_yr"] == pytest.approx(p.energy_mwh_per_yr.sum(), rel=1e-9)


def test_wind_capacity_factor_against_windpowerlib():
    from scipy import integrate, special
    from windpowerlib.power_output import power_curve

    t = wind_turbine("E-141/4200", 135.0)
    assert t.nominal_power == 4_200_000.0 and t.rotor_diameter == 141.0  # OEDB data, read offline
    ws, pw = t.power_curve["wind_speed"].to_numpy(), t.power_curve["value"].to_numpy()
    mean, k = 7.0, 2.0
    a = mean / special.gamma(1 + 1 / k)

    def integrand(v):
        return float(power_curve(np.array([v]), ws, pw)[0]) * (k / a) * (v / a) ** (k - 1) * math.exp(-(v / a) ** k)

    expected = integrate.quad(integrand, 0.0, 40.0, limit=400, points=list(ws))[0] / t.nominal_power
    assert float(wind_capacity_factor(mean, k, t)) == pytest.approx(expected, rel=2e-3)
    assert float(wind_capacity_factor(mean, k, t, losses_percent=15)) == pytest.approx(expected * 0.85, rel=2e-3)


def test_uniform_wind_speed_gives_capacity_times_cf_hours(region, tmp_path):
    out = tmp_path / "wind"
    assert site(region, out, "--wind-speed", str(region / "wind.tif"), tech="wind") == 0
    p = pd.read_csv(out / "parcels.csv")
    t = wind_turbine("E-141/4200", 135.0)
    cf = float(wind_capacity_factor(7.0, 2.0, t, losses_percent=15.0))  # the profile's turbine, k and losses
    assert np.allclose(p.capacity_factor, cf, rtol=1e-3)
    assert np.allclose(p.energy_mwh_per_yr, p.capacity_mw * cf * 8760.0, rtol=1e-3)


def test_turbine_placement_gives_rating_times_turbines(region, tmp_path):
    out = tmp_path / "turbines"
    assert site(region, out, "--wind-speed", str(region / "wind.tif"), "--set", 'wind.turbine.placement="turbines"',
                tech="wind") == 0
    p = pd.read_csv(out / "parcels.csv")
    tb = gpd.read_file(out / "turbines.gpkg")
    assert len(tb) == p.turbines.sum() > 0
    assert np.allclose(p.capacity_mw, p.turbines * 4.2)  # E-141/4200: 4.2 MW each
    # no two turbines closer than the 4 D across-wind spacing (564 m), measured on the ellipsoid
    from pyproj import Geod
    g = Geod(ellps="WGS84")
    x, y = tb.geometry.x.to_numpy(), tb.geometry.y.to_numpy()
    i, j = np.triu_indices(len(tb), 1)
    d = g.inv(x[i], y[i], x[j], y[j])[2]
    assert d.min() > 4 * 141.0 * 0.999


# ----------------------------------------------------------------------------- cost, carbon
def test_lcoe_supply_curve_and_carbon_payback(region, tmp_path):
    out = tmp_path / "cost"
    assert site(region, out, "--pvout", str(region / "pvout.tif"), "--grid-lines", str(region / "subs.gpkg")) == 0
    p = pd.read_csv(out / "parcels.csv")
    c = load_profile("pv").cost
    # grid: distance to the 220 kV substation × 1 million CNY/km
    assert (p.substation_kv == 220).all()
    assert np.allclose(p.grid_cost_cny, p.distance_to_substation_km * 1_000_000.0)
    kw = p.capacity_mw * 1000
    lcoe = (c.fcr * (kw * c.capex_cny_per_kw + p.grid_cost_cny) + kw * c.opex_cny_per_kw_yr) / p.energy_mwh_per_yr
    assert np.allclose(p.lcoe_cny_per_mwh, lcoe, rtol=1e-9)
    sc = pd.read_csv(out / "supply_curve.csv")
    assert sc.lcoe_cny_per_mwh.is_monotonic_increasing and len(sc) == len(p)
    assert sc.cumulative_capacity_mw.iloc[-1] == pytest.approx(p.capacity_mw.sum(), rel=1e-12)
    assert (out / "supply_curve.png").stat().st_size > 1000
    # barren above + below + dead = 0.2 Mg C/ha, grass 4.0: payback = Mg C × 44/12 / (MWh × 0.5366)
    assert np.allclose(p.carbon_payback_years, p.stock_mgc * 44 / 12 / (p.energy_mwh_per_yr * 0.5366), rtol=1e-9)
    assert float(lcoe_cny_per_mwh(100, 150_000, capex_cny_per_kw=3200, opex_cny_per_kw_yr=45,
                                  fixed_charge_rate=0.065)) == pytest.approx((0.065 * 3.2e8 + 4.5e6) / 1.5e5)
    assert float(carbon_payback_years(1200.0, 10_000.0, 0.55)) == pytest.approx(4400.0 / 5500.0)


# ----------------------------------------------------------------------------- the target account
def test_installed_plants_are_the_baseline_and_their_land_is_excluded(region, tmp_path):
    plant = box(LON0 + 40 * RES, LAT0 - 30 * RES, LON0 + 50 * RES, LAT0 - 25 * RES)
    _gpkg(tmp_path / "installed.gpkg", [plant, Point(LON0 + 0.01, LAT0 - 0.01)], capacity_mw=[150.0, 50.0],
          tech=["光伏", "wind"])
    out = tmp_path / "inst"
    assert site(region, out, "--installed", str(tmp_path / "installed.gpkg"), "--covers-target-region") == 0
    s = _summary(out)
    assert s["installed_mw"] == 200.0 and s["installed_mw_by_tech"] == {"pv": 150.0, "wind": 50.0}
    assert s["gap_mw"] == 200_000.0 - 200.0
    # the run declares it covers the target's region: share = (installed + screened) / target
    assert s["share_of_target"] == pytest.approx((200.0 + s["capacity_mw"]) / 200_000.0, rel=1e-12)
    el = _read(out / rs.ELIGIBLE.name)
    assert (el[25:30, 40:50] == 0).all()


def test_pv_and_wind_never_share_a_pixel(region, tmp_path):
    both, pv, wind = tmp_path / "both", tmp_path / "pv", tmp_path / "wind"
    # PV may not use basic grassland, wind may: wind gets the grass patch, PV the rest
    g = ("--basic-grassland", str(region / "grassland.gpkg"))
    assert site(region, both, *g, tech="pv,wind") == 0
    assert site(region, pv, *g, tech="pv") == 0
    assert site(region, wind, *g, tech="wind") == 0
    e_pv, e_wind = _read(both / "pv" / "parcels.tif") > 0, _read(both / "wind" / "parcels.tif") > 0
    assert e_pv.any() and e_wind[10:20, 10:30].all() and not e_wind[25:35, 35:55].any()
    assert not (e_pv & e_wind).any()  # no pixel in both
    union = (_read(pv / "parcels.tif") > 0) | (_read(wind / "parcels.tif") > 0)
    assert (e_pv | e_wind).sum() <= union.sum() and not ((e_pv | e_wind) & ~union).any()
    s = _summary(both)
    assert s["screened_mw"] == pytest.approx(s["by_tech"]["pv"]["capacity_mw"] + s["by_tech"]["wind"]["capacity_mw"])
    for key in ("installed_mw", "screened_mw", "gap_mw"):
        assert key in s and key in _summary(both / "wind")
    assert (both / "supply_curve.csv").exists()


def _site_options() -> set[str]:
    from sinkplan.cli import build_parser

    parser = build_parser("site", full=False)
    sub = next(a for a in parser._actions if getattr(a, "choices", None) and "site" in a.choices)
    return {o for a in sub.choices["site"]._actions for o in a.option_strings}


def test_every_not_checked_warning_names_an_option_site_has(region, tmp_path, capfd):
    # pv and wind without any policy layer, DEM, border, mines, grid or resource raster: the union of
    # both profiles' required policy layers (all nine of POLICY_LAYERS) and the other rule sets are
    # reported not checked, each naming the option that would check it
    from sinkplan.siting.profile import POLICY_LAYERS

    assert site(region, tmp_path / "o", tech="pv,wind") == 0
    lines = [ln for ln in capfd.readouterr().err.splitlines() if "not checked: " in ln and " — no " in ln]
    named = {}
    for ln in lines:
        rule = ln.split("not checked: ", 1)[1].split(" ", 1)[0]
        named[rule] = ln.split(" — no ", 1)[1].split(" given", 1)[0].split(" or ")
    options = _site_options()
    assert set(POLICY_LAYERS) <= set(named)
    assert {"slope", "grid", "energy", "zone_border", "zone_mine", "border_class1", "shrub_rule"} <= set(named)
    for rule, opts in named.items():
        assert all(o in options for o in opts), (rule, opts)  # --class1-forest, not --class
    assert named["class1_forest"] == ["--class1-forest"]
    assert named["shrub_rule"] == ["--precipitation", "--shrub-cover"]
    assert named["energy"] in (["--ghi", "--pvout"], ["--wind-speed"])
    assert all(POLICY_LAYERS[r][0] == named[r][0] for r in POLICY_LAYERS)

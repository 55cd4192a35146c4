"""Issue 11, second half: national land rules checked on small synthetic regions whose answer is
worked out by hand (the 林光互补 shrub rule, policy layers a run gives but its profile does not
list, the border-belt Class I presumption)."""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import LineString, box

from sinkplan.layers import resultspec as rs
from sinkplan.cli import main
from sinkplan.siting.prepare import cover_scale

W, H, RES, LON0, LAT0 = 60, 40, 0.002, 110.0, 42.1  # ~165 m × 222 m pixels


def _tif(path, data, dtype="float32", nodata=None):
    with rasterio.open(path, "w", driver="GTiff", width=W, height=H, count=1, dtype=dtype, crs="EPSG:4326",
                       transform=Affine(RES, 0, LON0, 0, -RES, LAT0), nodata=nodata) as dst:
        dst.write(np.asarray(data).astype(dtype), 1)


def _gpkg(path, geoms, **cols):
    gpd.GeoDataFrame(cols or {"id": list(range(len(geoms)))}, geometry=geoms, crs="EPSG:4326").to_file(path)


def _px_box(r0, r1, c0, c1):
    """Polygon on pixel edges: rows r0..r1, columns c0..c1 (end exclusive)."""
    return box(LON0 + c0 * RES, LAT0 - r1 * RES, LON0 + c1 * RES, LAT0 - r0 * RES)


def _read(path):
    with rasterio.open(path) as src:
        return src.read(1)


def _summary(out):
    return json.loads((out / rs.SUMMARY.name).read_text(encoding="utf-8"))


def _site(d, out, lc, *extra, tech="pv"):
    return main(["site", "-q", "--tech", tech, "--landcover", str(d / lc), "--redline", str(d / "far.gpkg"),
                 "--farmland", str(d / "far.gpkg"), "--set", "zones.other.enabled=true",
                 *[a for t in tech.split(",") for a in ("--set", f"{t}.min_parcel_area_ha=1")], "--out", str(out), *extra])


@pytest.fixture(scope="module")
def shrubland(tmp_path_factory):
    """All shrub. Precipitation 300 mm west of column 30, 500 mm east; cover 0.3 north of row
    20, 0.7 south: four quadrants dry-sparse, wet-sparse, dry-dense, wet-dense."""
    d = tmp_path_factory.mktemp("shrub")
    _tif(d / "shrub.tif", np.full((H, W), 3), "uint8", nodata=0)  # CLCD 3 shrub
    _gpkg(d / "far.gpkg", [box(120.0, 30.0, 120.01, 30.01)])
    p = np.full((H, W), 300.0)
    p[:, 30:] = 500.0
    c = np.full((H, W), 0.3)
    c[20:, :] = 0.7
    _tif(d / "precip.tif", p)
    _tif(d / "cover.tif", c)
    pct = c * 100.0
    pct[:20, :] = 0.8  # in percent: 0.8 % north (sparse), 70 % south (dense)
    _tif(d / "cover_pct.tif", pct)
    return d


def _quadrants(e):
    """Eligible share of (dry-sparse, wet-sparse, dry-dense, wet-dense)."""
    return [float(e[:20, :30].mean()), float(e[:20, 30:].mean()), float(e[20:, :30].mean()), float(e[20:, 30:].mean())]


@pytest.mark.parametrize("rasters, expect, rule", [
    # 12号: allowed where precipitation < 400 mm, elsewhere where cover < 50 %: only wet-dense is excluded
    (("precip", "cover"), [1, 1, 1, 0], None),
    # a cover raster in percent (0.8 % and 70 %): the same answer; read per pixel, 0.8 would be taken as 80 %
    (("precip", "cover_pct"), [1, 1, 1, 0], None),
    # precipitation only: wet shrubland's cover is unknown, so it is excluded and said so
    (("precip",), [1, 0, 1, 0], "shrub_rule_cover"),
    # cover only: the < 400 mm allowance is unknown, so dense shrubland is excluded and said so
    (("cover",), [1, 1, 0, 0], "shrub_rule_precipitation"),
    # neither: shrubland is excluded and said so
    ((), [0, 0, 0, 0], "shrub_rule"),
])
def test_shrub_rule_of_12hao(shrubland, tmp_path, rasters, expect, rule):
    opts = {"precip": "--precipitation", "cover": "--shrub-cover", "cover_pct": "--shrub-cover"}
    extra = [a for r in rasters for a in (opts[r], str(shrubland / f"{r}.tif"))]
    out = tmp_path / "out"
    assert _site(shrubland, out, "shrub.tif", *extra) == 0
    assert _quadrants(_read(out / rs.ELIGIBLE.name) > 0) == expect
    s = _summary(out)
    shrub_nc = [n for n in s["not_checked"] if n["rule"].startswith("shrub_rule")]
    if rule is None:
        assert shrub_nc == []
    else:
        assert [n["rule"] for n in shrub_nc] == [rule] and shrub_nc[0]["effect"] == "excluded_instead"
        assert "12号" in shrub_nc[0]["clause"]


def test_cover_scale_is_decided_per_raster(shrubland, tmp_path):
    assert cover_scale(shrubland / "cover.tif") == 1.0  # 0.3 and 0.7: fractions
    assert cover_scale(shrubland / "cover_pct.tif") == 0.01  # 0.8 and 70: percent
    _tif(tmp_path / "bad.tif", np.full((H, W), 250.0))
    with pytest.raises(Exception, match="shrub_cover values run from 250 to 250"):
        cover_scale(tmp_path / "bad.tif")


# ----------------------------------------------------------------------------- policy layers
@pytest.fixture(scope="module")
def barren(tmp_path_factory):
    """Barren land (desert zone) with a patch polygon over rows 10–20, columns 10–30."""
    d = tmp_path_factory.mktemp("barren")
    _tif(d / "barren.tif", np.full((H, W), 7), "uint8", nodata=0)  # CLCD 7 barren
    _gpkg(d / "far.gpkg", [box(120.0, 30.0, 120.01, 30.01)])
    _gpkg(d / "patch.gpkg", [_px_box(10, 20, 10, 30)])
    return d


def test_a_policy_layer_the_profile_does_not_list_is_named_not_dropped(barren, tmp_path, capfd):
    # the shipped wind profile lists no 国家沙化土地封禁保护区 rule (林资发〔2019〕17号 does not name it)
    out = tmp_path / "wind"
    assert _site(barren, out, "barren.tif", "--sandy-closure", str(barren / "patch.gpkg"), tech="wind") == 0
    err = capfd.readouterr().err
    assert "--sandy-closure (国家沙化土地封禁保护区) given, but the wind profile lists no sandy_closure rule" in err
    assert any("--sandy-closure given" in n for n in _summary(out)["notes"])
    assert (_read(out / rs.ELIGIBLE.name)[10:20, 10:30] > 0).all()  # not applied, and said so


def test_pv_wind_run_warns_only_for_a_layer_no_technology_applies(barren, tmp_path, capfd):
    # bird corridors are a wind rule: PV notes it does not apply them, wind excludes the patch, no warning
    out = tmp_path / "both"
    assert _site(barren, out, "barren.tif", "--bird-corridors", str(barren / "patch.gpkg"), tech="pv,wind") == 0
    err = capfd.readouterr().err
    assert "lists no bird_corridors rule" not in err
    assert any("--bird-corridors given" in n for n in _summary(out / "pv")["notes"])
    bit = next(b for b in _summary(out / "wind")["exclusion_bits"] if b["rule"] == "bird_corridors")
    # 10 × 20 pixels of 0.002° × 0.002° at 42.1°N, about 165.6 m × 222.4 m = 3.68 ha each: about 736 ha
    assert bit["area_ha"] == pytest.approx(736.0, rel=0.01)


# ----------------------------------------------------------------------------- border belt
def test_without_a_border_the_class_i_presumption_is_not_checked(shrubland, tmp_path):
    # wind may use shrubland; in a border belt it would be Class I forest land (林地保护等级), but
    # without --border the belt is unknown: the rule is not checked and the capacity an upper bound
    out = tmp_path / "wind"
    assert _site(shrubland, out, "shrub.tif", tech="wind") == 0
    nc = {n["rule"]: n for n in _summary(out)["not_checked"]}
    assert nc["border_class1"]["effect"] == "upper_bound" and nc["border_class1"]["option"] == "--border"
    # with a border line 0.05° east of the raster the 20 km belt covers it all: every shrub pixel is Class I
    line = LineString([(LON0 + W * RES + 0.05, LAT0 + 0.1), (LON0 + W * RES + 0.05, LAT0 - 1.0)])
    _gpkg(tmp_path / "border.gpkg", [line])
    out2 = tmp_path / "wind_border"
    assert _site(shrubland, out2, "shrub.tif", "--border", str(tmp_path / "border.gpkg"), tech="wind") == 0
    s = _summary(out2)
    assert "border_class1" not in {n["rule"] for n in s["not_checked"]}
    assert s["eligible_area_ha"] == 0.0 and not (_read(out2 / rs.ELIGIBLE.name) > 0).any()
    # a 林地保护等级 layer grading the northern half II releases it; the southern half, graded I, stays excluded
    _gpkg(tmp_path / "grades.gpkg", [_px_box(0, 20, 0, 60), _px_box(20, 40, 0, 60)], grade=["II", "I"])
    out3 = tmp_path / "wind_grades"
    assert _site(shrubland, out3, "shrub.tif", "--border", str(tmp_path / "border.gpkg"),
                 "--class1-forest", str(tmp_path / "grades.gpkg"), tech="wind") == 0
    e = _read(out3 / rs.ELIGIBLE.name) > 0
    assert e[:20].all() and not e[20:].any()


# ----------------------------------------------------------------------------- cost
def test_fixed_charge_rate_is_the_capital_recovery_factor_of_the_stated_rate_and_lifetime(barren, tmp_path):
    from sinkplan.siting.profile import load_profile

    # CRF = r (1 + r)^n / ((1 + r)^n − 1): 5 % over 25 years = 0.05 × 3.386355 / 2.386355 = 0.070952;
    # over 20 years (IEC 61400-1 design life) 0.05 × 2.653298 / 1.653298 = 0.080243
    pv, wind = load_profile("pv").cost, load_profile("wind").cost
    assert (pv.discount_rate, pv.lifetime_years, wind.lifetime_years) == (0.05, 25, 20)
    assert pv.fcr == pytest.approx(0.05 * 1.05 ** 25 / (1.05 ** 25 - 1), rel=1e-12) == pytest.approx(0.070952, abs=1e-6)
    assert wind.fcr == pytest.approx(0.080243, abs=1e-6)
    # a given fixed_charge_rate wins; a changed discount rate changes the LCOE by the new factor
    out = tmp_path / "r8"
    _tif(barren / "pvout.tif", np.full((H, W), 1500.0))
    assert _site(barren, out, "barren.tif", "--pvout", str(barren / "pvout.tif"), "--set", "cost.discount_rate=0.08") == 0
    s = _summary(out)
    crf8 = 0.08 * 1.08 ** 25 / (1.08 ** 25 - 1)  # 0.093679
    assert s["cost"]["fixed_charge_rate"] == pytest.approx(crf8, rel=1e-12)
    # no grid layer: LCOE = (FCR × capex + opex) / energy, capex 3 200 CNY/kW, opex 45 CNY/kW/yr, 1 500 MWh/MW
    # = (0.093679 × 3.2e6 + 45 000) CNY per MW-yr / 1 500 MWh = 229.85 CNY/MWh
    assert s["lcoe_cny_per_mwh_min"] == pytest.approx((crf8 * 3.2e6 + 45_000) / 1500.0, rel=1e-9)
    out2 = tmp_path / "given"
    assert _site(barren, out2, "barren.tif", "--pvout", str(barren / "pvout.tif"), "--set",
                 "cost.fixed_charge_rate=0.1") == 0
    assert _summary(out2)["cost"]["fixed_charge_rate"] == 0.1
    assert _summary(out2)["lcoe_cny_per_mwh_max"] == pytest.approx((0.1 * 3.2e6 + 45_000) / 1500.0, rel=1e-9)


# ----------------------------------------------------------------------------- carbon payback
def test_emission_factor_is_the_published_2022_national_average():
    from sinkplan.siting.profile import load_profile

    # 生态环境部、国家统计局 2024-12 notice: 2022 national average electricity CO2 factor 0.5366 kg/kWh
    # (0.5703, used before, is not a figure of that notice)
    for tech in ("pv", "wind"):
        prof = load_profile(tech)
        assert prof.carbon.emission_factor_t_co2_per_mwh == 0.5366
        assert "0.5366" in prof.source["carbon.emission_factor_t_co2_per_mwh"]


# ----------------------------------------------------------------------------- assumptions named in the output
def test_summary_and_workbook_say_which_numbers_are_assumptions(barren, tmp_path):
    import pandas as pd

    out = tmp_path / "a"
    assert _site(barren, out, "barren.tif", "--set", "pv.max_slope_deg=5") == 0
    s = _summary(out)
    a = {r["key"]: r for r in s["assumptions"]}
    assert a["cost.capex_cny_per_kw"]["value"] == 3200.0 and "assumption" in a["cost.capex_cny_per_kw"]["source"]
    # a value the user set is theirs, not the shipped source's
    assert a["pv.max_slope_deg"] == {"key": "pv.max_slope_deg", "value": 5.0, "assumption": True,
                                     "source": "user value: --set on the command line"}
    # sourced numbers are not assumptions: TD/T 1075-2023's 3° class limit, the published emission factor
    assert "terrain.class_i_max_slope_deg" not in a and "carbon.emission_factor_t_co2_per_mwh" not in a
    from sinkplan.layers.resultfolder import read_xlsx_sheet

    sheet = read_xlsx_sheet(out / "parcels.xlsx", "sources")  # a Chinese workbook read back by field names
    assert set(sheet["key"]) >= {"terrain.class_i_max_slope_deg", "cost.capex_cny_per_kw", "pv.max_slope_deg"}
    assert set(sheet.loc[sheet.assumption, "key"]) == set(a)


def test_a_profile_that_extends_a_shipped_one_owns_the_numbers_it_changes(tmp_path):
    from sinkplan.siting.profile import load_profile, value_sources

    f = tmp_path / "mine.toml"
    f.write_text('extends = "pv"\n[cost]\ncapex_cny_per_kw = 2900.0\n[pv]\nmax_slope_deg = 10.0\n', encoding="utf-8")
    v = {r["key"]: r for r in value_sources(load_profile(f))}
    assert v["cost.capex_cny_per_kw"]["source"].startswith(f"set in {f}") and v["cost.capex_cny_per_kw"]["assumption"]
    assert "GLAES" in v["pv.max_slope_deg"]["source"]  # the same value as the parent: the parent's source stands


# ----------------------------------------------------------------------------- PV yield from GHI
def test_uniform_ghi_gives_capacity_times_the_pvlib_hours_at_each_latitude(barren, tmp_path):
    import pandas as pd
    import pvlib

    from sinkplan.siting.energy import pv_specific_yields
    from sinkplan.siting.profile import load_profile

    e = load_profile("pv").technology.energy
    # the model chain by hand, with pvlib: 1 600 kWh/m²/yr at 42.06°N spread over a year of hours in proportion to
    # Haurwitz clear-sky GHI, Erbs, Hay–Davies to a south tilt of 37.06°, SAPM cell temperature at 10 °C and 3 m/s,
    # PVWatts DC (−0.35 %/°C), PVWatts losses 14.08 %, PVWatts inverter (η 0.96, DC/AC 1)
    lat, tilt, ghi_yr = 42.06, 37.06, 1600.0
    times = pd.date_range("2023-01-01 00:30", periods=8760, freq="h", tz="UTC")
    sp = pvlib.solarposition.get_solarposition(times, lat, 0.0, altitude=1000.0)
    cs = pvlib.clearsky.haurwitz(sp["apparent_zenith"])["ghi"].to_numpy()
    ghi = cs * ghi_yr / (cs.sum() / 1000.0)  # W/m², summing to 1 600 kWh/m²
    with np.errstate(all="ignore"):
        dd = pvlib.irradiance.erbs(ghi, sp["zenith"].to_numpy(), times.day_of_year.to_numpy())
        poa = pvlib.irradiance.get_total_irradiance(tilt, 180.0, sp["apparent_zenith"], sp["azimuth"], dd["dni"], ghi,
                                                    dd["dhi"], dni_extra=pvlib.irradiance.get_extra_radiation(times),
                                                    model="haydavies", albedo=0.25)["poa_global"].fillna(0).clip(lower=0)
        tc = pvlib.temperature.sapm_cell(poa, 10.0, 3.0, -3.47, -0.0594, 3.0)  # open rack, glass/glass (SAPM a, b, ΔT)
        dc = pvlib.pvsystem.pvwatts_dc(poa, tc, 1.0, -0.0035) * (1 - 0.1408)
        ac = pvlib.inverter.pvwatts(dc, 1 / 0.96, eta_inv_nom=0.96).clip(lower=0)
    hours = float(np.nansum(ac))  # kWh per kWp = full-load hours
    assert float(pv_specific_yields(lat, [ghi_yr], tilt_deg=tilt, energy=e)[0]) == pytest.approx(hours, rel=1e-3)
    # a uniform GHI raster: each parcel's energy = its MW × the hours at its latitude (one band of rows: 42.02–42.10°N)
    _tif(barren / "ghi.tif", np.full((H, W), ghi_yr))
    out = tmp_path / "ghi"
    assert _site(barren, out, "barren.tif", "--ghi", str(barren / "ghi.tif"), "--set", "pv.max_parcel_area_ha=1e6") == 0
    p = pd.read_csv(out / "parcels.csv")
    lo = pv_specific_yields(42.02, [ghi_yr], tilt_deg=37.02, energy=e)[0]
    hi = pv_specific_yields(42.10, [ghi_yr], tilt_deg=37.10, energy=e)[0]
    assert len(p) == 1 and min(lo, hi) * 0.999 <= p.energy_mwh_per_yr[0] / p.capacity_mw[0] <= max(lo, hi) * 1.001
    assert p.energy_mwh_per_yr[0] / p.capacity_mw[0] == pytest.approx(hours, rel=2e-3)  # 42.06°N is the mid-row


# ----------------------------------------------------------------------------- latitude on projected grids
def test_row_spacing_capacity_uses_each_pixels_latitude_on_a_projected_grid(tmp_path):
    """An Albers grid 2 000 km wide: along one row the latitude changes by about a degree between
    the central meridian and the edges, so land per MW must follow each pixel, not the block's
    centre column."""
    from pyproj import CRS, Transformer
    from rasterio.windows import Window

    from sinkplan.layers.grid import Grid
    from sinkplan.siting.blocks import pixel_latitudes
    from sinkplan.siting.energy import pv_density_mw_per_km2
    from sinkplan.siting.profile import load_profile

    crs = CRS.from_proj4("+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +datum=WGS84 +units=m")
    w, h, res = 200, 20, 10_000.0  # 10 km pixels: x from −1 000 to 1 000 km around 105°E
    tr = Affine(res, 0, -1_000_000.0, 0, -res, 5_300_000.0)
    path = tmp_path / "aea.tif"
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=1, dtype="uint8", crs=crs.to_wkt(),
                       transform=tr, nodata=0) as dst:
        dst.write(np.full((1, h, w), 7, dtype=np.uint8))
    grid = Grid.from_raster(path)
    cols, rows = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    xs, ys = tr * (cols, rows)
    exact = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True).transform(xs, ys)[1]
    lat = np.broadcast_to(pixel_latitudes(grid, Window(0, 0, w, h)), (h, w))
    assert np.abs(exact[:, 0] - exact[:, w // 2]).max() > 0.5  # the row's latitude varies by more than half a degree
    assert np.abs(lat - exact).max() < 1e-4
    # end to end: capacity = Σ density(latitude of the pixel) × pixel area
    far = tmp_path / "far.gpkg"
    gpd.GeoDataFrame({"id": [1]}, geometry=[box(120.0, 30.0, 120.01, 30.01)], crs=4326).to_file(far)
    out = tmp_path / "out"
    assert main(["site", "-q", "--tech", "pv", "--landcover", str(path), "--redline", str(far), "--farmland", str(far),
                 "--set", "zones.other.enabled=true", "--set", "pv.min_parcel_area_ha=0",
                 "--set", "pv.max_parcel_area_ha=1e12", "--out", str(out)]) == 0
    dens = pv_density_mw_per_km2(exact, load_profile("pv").technology.layout)  # MW/km²
    area_km2 = np.broadcast_to(grid.pixel_areas_m2(Window(0, 0, w, h)), (h, w)) / 1e6
    assert _summary(out)["capacity_mw"] == pytest.approx(float((dens * area_km2).sum()), rel=1e-5)


def test_north_facing_is_true_north_on_a_projected_grid(tmp_path):
    """A plane falling towards grid east, 1 000 km east of an Albers grid's central meridian: true
    north there is rotated from grid north by the meridian convergence (about 6°), so the ground
    falls north-south by tan(slope) × sin(convergence); on the central meridian by nothing."""
    import math

    from pyproj import CRS, Proj
    from rasterio.windows import Window

    from sinkplan.layers.grid import Grid
    from sinkplan.siting.geometry import north_angle, row_metric, slope_and_descent

    crs = CRS.from_proj4("+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +datum=WGS84 +units=m")
    w, h, res = 201, 5, 10_000.0  # x from −1 005 to 1 005 km, rows about 47°N
    tr = Affine(res, 0, -1_005_000.0, 0, -res, 5_200_000.0)
    path = tmp_path / "aea.tif"
    with rasterio.open(path, "w", driver="GTiff", width=w, height=h, count=1, dtype="float32", crs=crs.to_wkt(),
                       transform=tr) as dst:
        dst.write(np.zeros((1, h, w), dtype=np.float32))
    grid = Grid.from_raster(path)
    th = north_angle(grid, Window(0, 0, w, h))
    # pyproj's meridian convergence at each pixel centre (degrees): the same angle, opposite sign convention
    cols, rows = np.meshgrid(np.arange(w) + 0.5, np.arange(h) + 0.5)
    lon, lat = Proj(crs)(*(tr * (cols, rows)), inverse=True)
    conv = np.asarray(Proj(crs).get_factors(lon, lat).meridian_convergence)
    assert np.abs(np.degrees(th) + conv).max() < 1e-3
    assert abs(np.degrees(th[2, -1])) > 5.0 and abs(np.degrees(th[2, 100])) < 1e-6
    # a plane rising 0.5 m per metre towards grid east (26.6°): north-south component tan × sin θ
    z = np.add.outer(np.zeros(h + 2), (np.arange(w + 2) - 1) * res * 0.5)
    met = row_metric(grid, -1, h + 2, col_centre=w / 2)
    s, d = slope_and_descent(z, met, north_angle=th)
    assert np.allclose(d, -0.5 * np.sin(th), atol=1e-3 * 0.5)
    assert float(d[2, 100]) == pytest.approx(0.0, abs=1e-6) and abs(float(d[2, -1])) > 0.04  # > 2.3° at the edge
    _, d0 = slope_and_descent(z, met)  # along grid columns: no north-south component anywhere
    assert np.abs(d0).max() < 1e-9


# ----------------------------------------------------------------------------- terrain classes end to end
@pytest.mark.parametrize("rise_deg, radius_m, expect", [
    (0.0, 500.0, "i"),     # flat: slope 0 ≤ 3°: Ⅰ
    # a plane rising 6° eastwards: slope 6° (3–20°); relief in the 5-pixel window (radius 500 m ÷ 222 m rows = 2 px)
    # 4 columns × 165 m × tan 6° = 70 m < 200 m: Ⅱ
    (6.0, 500.0, "ii"),
    # the same plane, relief radius 4 000 m (18 px): at least 18 columns × 165 m × tan 6° = 313 m ≥ 200 m: Ⅲ
    (6.0, 4000.0, "iii"),
])
def test_terrain_classes_of_td_t_1075_on_a_synthetic_dem(barren, tmp_path, rise_deg, radius_m, expect):
    import math

    import pandas as pd

    cols = np.arange(W)[None, :] + np.zeros((H, 1))
    dx = 0.002 * 111_320.0 * math.cos(math.radians(42.06))  # ≈ 165.3 m per column at 42.06°N
    _tif(tmp_path / "dem.tif", 1000.0 + cols * dx * math.tan(math.radians(rise_deg)))
    out = tmp_path / "t"
    assert _site(barren, out, "barren.tif", "--dem", str(tmp_path / "dem.tif"), "--set", "pv.max_parcel_area_ha=1e6",
                 "--set", f"terrain.relief_radius_m={radius_m}") == 0
    p = pd.read_csv(out / "parcels.csv")
    assert len(p) == 1
    assert p[f"area_ha_terrain_{expect}"][0] == pytest.approx(p.area_ha[0], rel=1e-9)
    assert p.terrain_class[0] == expect.upper()

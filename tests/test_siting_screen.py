"""End to end: `sinkplan site` on a tiny synthetic lon/lat region, against the acceptance criteria."""

from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import CRS, Transformer
from shapely.geometry import LineString, box

from sinkplan.layers import resultspec as rs
from sinkplan.layers.grid import Grid
from sinkplan.cli import main
from siting_util import legacy_set_args

W, H, RES, LON0, LAT0 = 100, 60, 0.002, 110.0, 42.1  # ~165 m × 222 m pixels


def _tif(path, data, dtype, nodata=None):
    with rasterio.open(path, "w", driver="GTiff", width=W, height=H, count=1, dtype=dtype, crs="EPSG:4326",
                       transform=Affine(RES, 0, LON0, 0, -RES, LAT0), nodata=nodata) as dst:
        dst.write(data.astype(dtype), 1)


def _gpkg(path, geoms, **cols):
    gpd.GeoDataFrame(cols or {"id": list(range(len(geoms)))}, geometry=geoms, crs="EPSG:4326").to_file(path)


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    d = tmp_path_factory.mktemp("region")
    lc = np.full((H, W), 7, dtype=np.uint8)  # barren: the desert zone
    lc[5:16, 5:21] = 2  # forest
    lc[40:43, 70:73] = 8  # a village: 500 m buffer
    lc[:, 80:] = 4  # grassland: border belt or mine only
    lc[0:2, 98:] = 0  # nodata
    _tif(d / "lc.tif", lc, "uint8", nodata=0)
    rows = np.arange(H)[:, None] + np.zeros((1, W))
    dem = 1000.0 + (H - rows) * 222.0 * math.tan(math.radians(1.0))  # 1° northwards
    dem[20:31, 30:46] += (np.arange(16)[None, :] * 165.0 * math.tan(math.radians(10.0)))  # a 10° slope
    _tif(d / "dem.tif", dem, "float32", nodata=-9999.0)
    _gpkg(d / "redline.gpkg", [box(110.10, 42.02, 110.14, 42.05)])
    _gpkg(d / "farmland.gpkg", [box(110.02, 41.99, 110.05, 42.01)])
    _gpkg(d / "border.gpkg", [LineString([(110.0, 42.097), (110.2, 42.097)])])
    _gpkg(d / "mines.gpkg", [box(110.17, 41.99, 110.19, 42.02)])
    _gpkg(d / "grid.gpkg", [LineString([(110.001, 41.98), (110.001, 42.1)])])
    _gpkg(d / "banners.gpkg", [box(110.0, 41.98, 110.1, 42.1), box(110.1, 41.98, 110.2, 42.1)], name=["西旗", "东旗"])
    return d


def site(region, out, *extra) -> int:
    d = region
    return main(["site", "-q", "--landcover", str(d / "lc.tif"), "--dem", str(d / "dem.tif"),
                 "--redline", str(d / "redline.gpkg"), "--farmland", str(d / "farmland.gpkg"),
                 "--border", str(d / "border.gpkg"), "--mines", str(d / "mines.gpkg"),
                 "--grid-lines", str(d / "grid.gpkg"), "--zones", str(d / "banners.gpkg"), "--zone-field", "name",
                 *legacy_set_args(),
                 "--set", "exclusions.redline.buffer_m=500", "--set", "zones.border.width_m=3000",
                 "--set", "pv.min_parcel_area_ha=20", "--out", str(out), *extra])


@pytest.fixture(scope="module")
def result(region):
    out = region / "pv"
    assert site(region, out) == 0
    return out


def read(path):
    with rasterio.open(path) as src:
        return src.read(1), src.tags()


def centres_lonlat():
    cols, rows = np.meshgrid(np.arange(W), np.arange(H))
    return LON0 + (cols + 0.5) * RES, LAT0 - (rows + 0.5) * RES


def test_outputs_and_summary_keys(result):
    for f in (rs.ELIGIBLE.name, "exclusions.tif", "parcels.tif", "parcels.gpkg", "bases.gpkg", rs.SUMMARY.name,
              "parcels.csv", "parcels.xlsx", "manifest.json"):
        assert (result / f).exists(), f
    s = json.loads((result / rs.SUMMARY.name).read_text())
    for k in ("eligible_area_ha", "capacity_mw", "parcels", "by_zone_type", "target_mw", "share_of_target",
              "exclusion_bits"):
        assert k in s
    assert set(s["by_zone_type"]) == {"desert", "border", "mine", "other"}
    for z in s["by_zone_type"].values():
        assert set(z) >= {"area_ha", "capacity_mw"}
    p = gpd.read_file(result / "parcels.gpkg")
    for c in ("parcel_id", "zone_type", "admin_zone", "area_ha", "capacity_mw", "slope_mean_deg", "slope_max_deg",
              "distance_to_grid_km", "stock_mgc", "compactness", "score", "rank"):
        assert c in p.columns
    assert sorted(p["rank"]) == list(range(1, len(p) + 1))
    # the border belt's grassland touches the desert: one parcel of both types, typed by its larger part
    assert set(p.zone_type) == {"desert", "mine"}
    parts = p[["area_ha_desert", "area_ha_border", "area_ha_mine", "area_ha_other"]]
    assert (parts[["area_ha_desert", "area_ha_border", "area_ha_mine"]].sum() > 0).all()
    assert np.allclose(parts.sum(axis=1), p.area_ha, rtol=1e-12)
    mixed = p.area_ha_border > 0
    assert mixed.any() and (p.area_ha_border[mixed] < p.area_ha_desert[mixed]).all()
    assert {z: d["area_ha"] for z, d in s["by_zone_type"].items()} == pytest.approx(parts.sum().rename(
        lambda c: c.removeprefix("area_ha_")).to_dict(), rel=1e-12)
    assert set(p.admin_zone) <= {"西旗", "东旗"}
    b = gpd.read_file(result / "bases.gpkg")
    assert b.capacity_mw.sum() == pytest.approx(p.capacity_mw.sum())
    assert sorted(int(x) for m in b.members for x in m.split(",")) == sorted(p.parcel_id)


def test_no_eligible_pixel_in_redline_farmland_or_buffer(result, region):
    elig, _ = read(result / rs.ELIGIBLE.name)
    lon, lat = centres_lonlat()
    aeqd = CRS.from_proj4("+proj=aeqd +lat_0=42.04 +lon_0=110.1 +ellps=WGS84 +units=m")
    fwd = Transformer.from_crs("EPSG:4326", aeqd, always_xy=True)
    x, y = fwd.transform(lon[elig > 0], lat[elig > 0])
    pts = shapely.points(x, y)
    for name, buf in (("redline", 500.0), ("farmland", 0.0)):
        poly = gpd.read_file(region / f"{name}.gpkg").to_crs(aeqd).geometry.union_all()
        d = shapely.distance(pts, poly)
        assert (d > buf - 0.01).all(), f"{name}: {int((d <= buf).sum())} eligible pixels within {buf} m"
    # and the rule did exclude something: pixels just outside the redline box
    inside_buffer = shapely.distance(shapely.points(*fwd.transform(lon, lat)),
                                     gpd.read_file(region / "redline.gpkg").to_crs(aeqd).geometry.union_all()) <= 500
    assert inside_buffer.sum() > 0 and (elig[inside_buffer] == 0).all()


def test_every_excluded_pixel_has_a_flag_and_areas_add_up(result):
    elig, _ = read(result / rs.ELIGIBLE.name)
    bits, tags = read(result / "exclusions.tif")
    assert ((elig == 0) == (bits != 0)).all()  # excluded ⇔ at least one flag
    s = json.loads((result / rs.SUMMARY.name).read_text())
    legend = {b["bit"]: b["rule"] for b in s["exclusion_bits"]}
    assert tags["bit_0"].startswith("nodata") and all(tags[f"bit_{k}"].startswith(v) for k, v in legend.items())
    assert int(bits.max()) < 1 << len(legend)
    grid = Grid.from_raster(result / rs.ELIGIBLE.name)
    total_ha = grid.total_area_m2() / 1e4
    elig_ha = float((grid.pixel_areas_m2() * (elig > 0)).sum()) / 1e4
    assert s["total_area_ha"] == pytest.approx(total_ha, rel=1e-12)
    assert s["eligible_area_ha"] == pytest.approx(elig_ha, rel=1e-9)
    assert s["eligible_area_ha"] + s["excluded_area_ha"] == pytest.approx(total_ha, rel=1e-12)
    # each rule's area in the summary is the area of the pixels carrying its bit
    for b in s["exclusion_bits"]:
        a = float((grid.pixel_areas_m2() * ((bits >> b["bit"]) & 1)).sum()) / 1e4
        assert b["area_ha"] == pytest.approx(a, rel=1e-9, abs=1e-9)
    names = {b["rule"] for b in s["exclusion_bits"] if b["area_ha"] > 0}
    assert {"nodata", "landcover_forest", "near_built", "redline", "farmland", "slope"} <= names


def test_capacity_is_area_times_power_density_and_share_of_target(result):
    p = pd.read_csv(result / "parcels.csv")
    s = json.loads((result / rs.SUMMARY.name).read_text())
    # MW = ha / 100 (km²) × 34 MW/km²
    assert np.allclose(p.capacity_mw, p.area_ha / 100.0 * 34.0, rtol=1e-12)
    assert s["capacity_mw"] == pytest.approx(p.capacity_mw.sum(), rel=1e-12)
    assert s["capacity_mw"] == pytest.approx(s["eligible_area_ha"] / 100.0 * 34.0, rel=1e-9)
    assert s["target_mw"] == 200_000.0
    # five pixels of steppe are not the target's region: no share, but baseline, screened and gap
    assert s["share_of_target"] is None and "does not cover" in s["share_of_target_note"]
    assert s["installed_mw"] == 0.0 and s["gap_mw"] == 200_000.0
    assert s["screened_mw"] == pytest.approx(s["capacity_mw"], rel=1e-12)
    assert s["gap_after_screen_mw"] == pytest.approx(200_000.0 - s["capacity_mw"], rel=1e-12)
    by = s["by_zone_type"]
    assert sum(z["capacity_mw"] for z in by.values()) == pytest.approx(s["capacity_mw"], rel=1e-12)
    assert (p.area_ha >= 20.0).all()
    assert (p.slope_max_deg <= 3.0).all() and (p.slope_mean_deg <= p.slope_max_deg).all()
    # carbon at stake: barren above + below + dead = 0.1 + 0.1 + 0 = 0.2 Mg C/ha (inner_mongolia_30cm);
    # the border and mine parts are grassland: 0.60 + 2.9 + 0.5 = 4.0 Mg C/ha
    assert (p.area_ha_other == 0).all()
    assert np.allclose(p.stock_mgc, p.area_ha_desert * 0.2 + (p.area_ha_border + p.area_ha_mine) * 4.0, rtol=1e-9)
    # capacity per zone type is the area of that type (over all parcels) × 34 MW/km²
    for z, d in by.items():
        assert d["capacity_mw"] == pytest.approx(p[f"area_ha_{z}"].sum() / 100.0 * 34.0, rel=1e-12)


def test_parcel_straddling_block_edges_is_one_parcel(result, region, tmp_path):
    out = tmp_path / "small_blocks"
    assert site(region, out, "--max-cells", "1024") == 0  # 10-row strips: many block edges
    a, b = pd.read_csv(result / "parcels.csv"), pd.read_csv(out / "parcels.csv")
    assert len(a) == len(b)
    assert (a.parcel_id.to_numpy() == b.parcel_id.to_numpy()).all()
    assert np.allclose(a.area_ha, b.area_ha, rtol=1e-12)
    pa, _ = read(result / "parcels.tif")
    pb, _ = read(out / "parcels.tif")
    assert (pa == pb).all()
    rows = np.flatnonzero((pa == a.sort_values("area_ha").parcel_id.iloc[-1]).any(axis=1))
    assert rows.min() < 10 <= rows.max()  # the largest parcel crosses the first block edge


def test_sweep_writes_capacity_per_value(region, tmp_path):
    out = tmp_path / "sweep"
    assert site(region, out, "--sweep", "pv.max_slope_deg=0.5,3,20") == 0
    sw = pd.read_csv(out / "sweep.csv")
    assert sw.value.tolist() == [0.5, 3, 20]
    assert sw.capacity_mw.is_monotonic_increasing and sw.capacity_mw.iloc[0] < sw.capacity_mw.iloc[2]
    s = json.loads((out / rs.SUMMARY.name).read_text())
    assert sw.capacity_mw.iloc[1] == pytest.approx(s["capacity_mw"], rel=1e-9)  # 3° is the profile's own value
    assert sw.share_of_target.isna().all()  # the region is not the target's


@pytest.mark.parametrize("extra, match", [
    (["--set", "pv.colour=1"], "error: --set pv.colour: unknown key"),
    (["--set", "pv.max_slop_deg=5"], "error: --set pv.max_slop_deg: unknown key; check the spelling"),
    (["--set", "pv.power_density_mw_per_km2=-5"],
     "error: --set pv.power_density_mw_per_km2: Input should be greater than 0 (found -5)"),
    (["--set", 'exclusions.layers.reserves.path="missing_reserves.gpkg"'], "missing_reserves.gpkg not found"),
    (["--sweep", "pv.max_slope_deg=3,-1"], "error: --sweep pv.max_slope_deg: Input should be greater than 0 (found -1)"),
    (["--sweep", "wind.max_slope_deg=3,5"],
     "error: --sweep wind.max_slope_deg: wind.* does not apply to --tech pv; use pv.max_slope_deg or --tech wind"),
    (["--set", "wind.max_slope_deg=3"], "error: --set wind.max_slope_deg: wind.* does not apply to --tech pv"),
])
def test_bad_profile_one_line_exit_2_no_output(region, tmp_path, capsys, extra, match):
    out = tmp_path / "bad"
    assert site(region, out, *extra) == 2
    err = capsys.readouterr().err.strip()
    assert match in err and len(err.splitlines()) == 1
    assert not out.exists() and list(tmp_path.iterdir()) == []


def test_bad_profile_file_and_missing_required_layer(region, tmp_path, capsys):
    bad = tmp_path / "p.toml"
    bad.write_text('tech = "pv"\n[pv]\npower_density_mw_per_km2 = -1\nmax_slope_deg = 3\nmin_parcel_area_ha = 1\n')
    out = tmp_path / "bad"
    assert main(["site", "-q", "--landcover", str(region / "lc.tif"), "--profile", str(bad), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert str(bad) in err and "pv.power_density_mw_per_km2" in err and len(err.splitlines()) == 1
    assert main(["site", "-q", "--landcover", str(region / "lc.tif"), "--out", str(out)]) == 2
    err = capsys.readouterr().err.strip()
    assert "exclusions.redline: no layer given" in err and "--redline" in err
    assert main(["site", "-q", "--landcover", str(region / "lc.tif"), "--redline", str(tmp_path / "none.gpkg"),
                 "--out", str(out)]) == 2
    assert "none.gpkg: file not found" in capsys.readouterr().err
    assert not out.exists()


def test_empty_grid_lines_layer_is_ignored_with_a_warning(region, tmp_path, capsys):
    empty = tmp_path / "empty.gpkg"
    gpd.GeoDataFrame({"id": []}, geometry=gpd.GeoSeries([], crs="EPSG:4326"), crs="EPSG:4326").to_file(
        empty, layer="empty")
    out = tmp_path / "out"
    d = region
    rc = main(["site", "-q", "--landcover", str(d / "lc.tif"), "--redline", str(d / "redline.gpkg"),
               "--farmland", str(d / "farmland.gpkg"), "--grid-lines", str(empty), "--out", str(out)])
    assert rc == 0  # was exit 2: "layer 'empty' has no features"
    assert "empty.gpkg: layer 'empty' has no features; --grid-lines: that layer is ignored" in capsys.readouterr().err
    s = json.loads((out / rs.SUMMARY.name).read_text())
    assert "--grid-lines empty.gpkg: no features; ignored" in s["notes"]
    assert any(n.startswith("no grid lines or substations given") for n in s["notes"])
    assert "grid" not in s["criteria_used"]
    assert pd.read_csv(out / "parcels.csv").distance_to_grid_km.isna().all()


def test_wind_without_dem_or_grid(region, tmp_path):
    out = tmp_path / "wind"
    d = region
    rc = main(["site", "-q", "--tech", "wind", "--landcover", str(d / "lc.tif"), "--redline", str(d / "redline.gpkg"),
               "--farmland", str(d / "farmland.gpkg"), "--set", "zones.other.enabled=true", "--out", str(out)])
    assert rc == 0
    s = json.loads((out / rs.SUMMARY.name).read_text())
    p = pd.read_csv(out / "parcels.csv")
    assert s["tech"] == "wind" and s["power_density_mw_per_km2"] == 3.0
    assert np.allclose(p.capacity_mw, p.area_ha / 100.0 * 3.0, rtol=1e-12)
    assert "slope" not in s["criteria_used"] and "grid" not in s["criteria_used"]
    assert any("no DEM" in n for n in s["notes"])
    # grassland outside every zone of interest is eligible as 'other' (code 4) when zones.other is enabled
    elig, _ = read(out / rs.ELIGIBLE.name)
    assert (elig[:, 85] == 4).any() and "outside_zones" not in {b["rule"] for b in s["exclusion_bits"]}
    assert p.slope_mean_deg.isna().all() and p.distance_to_grid_km.isna().all()


def test_tech_and_profile_disagree(region, tmp_path, capsys):
    rc = main(["site", "-q", "--tech", "wind", "--profile", "pv", "--landcover", str(region / "lc.tif"),
               "--out", str(tmp_path / "x")])
    assert rc == 2 and "tech = 'pv' but --tech wind" in capsys.readouterr().err


@pytest.mark.parametrize("lat", [40.0, 50.0])
def test_point_buffer_end_to_end_is_pi_r2(tmp_path, lat):
    # 0.001° pixels; r = 2 km is ≥ 18 rows and ≥ 23 columns; the point sits on a block edge
    res, n = 0.001, 80
    lc = np.full((n, n), 7, np.uint8)
    lc[n // 2, n // 2] = 8  # one built pixel: the 500 m land-cover buffer, by the distance transform
    t = Affine(res, 0, 110.0, 0, -res, lat + n * res / 2)
    with rasterio.open(tmp_path / "lc.tif", "w", driver="GTiff", width=n, height=n, count=1, dtype="uint8",
                       crs="EPSG:4326", transform=t, nodata=0) as dst:
        dst.write(lc, 1)
    _gpkg(tmp_path / "point.gpkg", [shapely.Point(110.0 + n * res / 2, lat)])
    _gpkg(tmp_path / "far.gpkg", [box(120, 10, 120.1, 10.1)])
    out = tmp_path / "out"
    assert main(["site", "-q", "--landcover", str(tmp_path / "lc.tif"), "--redline", str(tmp_path / "point.gpkg"),
                 "--farmland", str(tmp_path / "far.gpkg"), "--set", "exclusions.redline.buffer_m=2000",
                 "--set", "exclusions.landcover_buffers_m.built=1500", "--max-cells", "1600",
                 "--out", str(out)]) == 0
    s = json.loads((out / rs.SUMMARY.name).read_text())
    area = {b["rule"]: b["area_ha"] * 1e4 for b in s["exclusion_bits"]}
    assert area["redline"] == pytest.approx(math.pi * 2000.0 ** 2, rel=0.02)
    assert area["near_built"] == pytest.approx(math.pi * 1500.0 ** 2, rel=0.02)


def test_zones_bound_the_study_area(region, tmp_path):
    # Admin units covering only the west half (lon < 110.1): nothing east of it is eligible,
    # and every valid pixel there carries the outside_admin flag.
    d = tmp_path / "half"
    d.mkdir()
    _gpkg(d / "west.gpkg", [box(110.0, 41.98, 110.1, 42.1)], name=["西旗"])
    out = tmp_path / "pv_half"
    code = main(["site", "-q", "--landcover", str(region / "lc.tif"), "--redline", str(region / "redline.gpkg"),
                 "--farmland", str(region / "farmland.gpkg"), "--deserts", str(region / "redline.gpkg"),
                 "--zones", str(d / "west.gpkg"), "--zone-field", "name", "--set", "zones.other.enabled=true",
                 "--set", "pv.min_parcel_area_ha=1", "--out", str(out)])
    assert code == 0
    elig, _ = read(out / rs.ELIGIBLE.name)
    bits, _ = read(out / "exclusions.tif")
    summary = json.loads((out / rs.SUMMARY.name).read_text("utf-8"))
    bit = {r["rule"]: r["bit"] for r in summary["exclusion_bits"]}["outside_admin"]
    lon, _ = centres_lonlat()
    east = lon > 110.1
    assert (elig[east] == 0).all() and (elig[~east] > 0).any()
    lc, _ = read(region / "lc.tif")
    assert (((bits[east] >> bit) & 1) == 1)[lc[east] != 0].all()
    assert not (((bits[~east] >> bit) & 1) == 1).any()
    parcels = gpd.read_file(out / "parcels.gpkg")
    assert len(parcels) > 0 and (parcels.to_crs(4326).geometry.bounds.maxx <= 110.1 + 1e-9).all()

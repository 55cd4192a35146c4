"""Density model from plots: sampling, CV, domain check with table fallback, the CLI.

Scene (60 × 60 px of 30 m, UTM 49N): columns 0–29 forest (CLCD 2), 30–54 grassland (4),
55–59 water (5); one land-cover nodata pixel (row 59, col 0). The covariate is the column
index; true density = 10 + 0.5·col in forest, 2 + 0.05·col in grassland. Plots sit on
every 3rd pixel of columns 0–48 (0, 3, …, 48), so the covariate range seen is [0, 48]:

* columns 49–54 (grassland, 6 × 60 = 360 px) are outside the covariate range → table;
* columns 55–59 (water, no plots, 300 px) are a group without plots → table;
* one covariate nodata pixel (row 0, col 10) → table;
* the rest, 49 × 60 − 1 (lc nodata) − 1 (covariate nodata) = 2938 px, are modelled.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import Point

from sinkplan.layers import resultspec as rs
from sinkplan.layers.errors import FieldError, InputError
from sinkplan.layers.grid import Grid
from sinkplan.layers.landcover import open_landcover
from sinkplan.layers.schemes import load_scheme
from sinkplan.cli import main
from sinkplan.sinks.densities import load_densities
from sinkplan.sinks.learning.density_model import DensityOptions, Domain, fallback_lut, plot_data
from sinkplan.sinks.learning.samples import read_at_pixels

CRS = "EPSG:32649"
T = Affine(30, 0, 500_000, 0, -30, 4_600_000)


def _write(path, arr, *, nodata=None, transform=T, dtype=None):
    arr = arr[None] if arr.ndim == 2 else arr
    with rasterio.open(path, "w", driver="GTiff", width=arr.shape[2], height=arr.shape[1], count=arr.shape[0],
                       dtype=dtype or arr.dtype, crs=CRS, transform=transform, nodata=nodata) as dst:
        dst.write(arr)
    return path


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    d = tmp_path_factory.mktemp("dens")
    cols = np.tile(np.arange(60), (60, 1))
    lc = np.where(cols < 30, 2, np.where(cols < 55, 4, 5)).astype("uint8")
    lc[59, 0] = 0
    cov = cols.astype("float32")
    cov[0, 10] = -9999.0
    _write(d / "lc.tif", lc, nodata=0)
    _write(d / "cov.tif", cov, nodata=-9999.0)
    pts, dens = [], []
    for r in range(1, 59, 3):
        for c in range(0, 50, 3):
            pts.append(Point(T @ (c + 0.5, r + 0.5)))
            dens.append(10 + 0.5 * c if c < 30 else 2 + 0.05 * c)
    gpd.GeoDataFrame({"dens": dens}, geometry=pts, crs=CRS).to_file(d / "plots.gpkg")
    return d


def test_plot_data_and_domain(scene):
    d = scene
    lc = open_landcover(d / "lc.tif", "clcd")
    gdf = gpd.read_file(d / "plots.gpkg")
    pdata = plot_data(gdf, "dens", lc, [d / "cov.tif"], DensityOptions(block_size_m=300))
    # 20 rows × 17 columns = 340 plots; none dropped
    assert pdata.target.size == 340 and sum(pdata.dropped.values()) == 0
    assert pdata.groups_present == (0, 2)  # forest, grassland
    dom = Domain.of(pdata)
    assert (dom.low, dom.high) == ((0.0,), (48.0,))
    # domain codes: in range → 1, nodata → 2, beyond 48 → 3, group without plots → 4
    codes = dom.classify(np.array([[5.0], [np.nan], [50.0], [5.0]]), np.array([0, 0, 2, 5]))
    assert codes.tolist() == [1, 2, 3, 4]
    with pytest.raises(FieldError, match="no field 'x'"):
        plot_data(gdf, "x", lc, [d / "cov.tif"], DensityOptions())
    with pytest.raises(FieldError, match="negative densities"):
        plot_data(gdf.assign(dens=-1.0), "dens", lc, [d / "cov.tif"], DensityOptions())
    with pytest.raises(InputError, match="needs at least 10"):
        plot_data(gdf.iloc[:5], "dens", lc, [d / "cov.tif"], DensityOptions())


def test_covariate_on_another_grid_is_warped_bilinear(scene, tmp_path):
    # a 60 m covariate, constant 7 → 7 at every 30 m pixel of the working grid
    _write(tmp_path / "coarse.tif", np.full((30, 30), 7.0, dtype="float32"), transform=Affine(60, 0, 500_000, 0, -60, 4_600_000))
    grid = Grid.from_raster(scene / "lc.tif")
    vals, _ = read_at_pixels(tmp_path / "coarse.tif", grid, np.array([0, 30, 59]), np.array([0, 31, 58]))
    np.testing.assert_allclose(vals[0], 7.0)


def test_fallback_lut_from_table():
    lc_scheme = load_scheme("clcd")
    lut = fallback_lut(load_densities(None), lc_scheme, ("above", "below"))
    # shipped table: grassland 0.60 + 2.9 = 3.5, forest 29.0 + 8.4 = 37.4, water 0
    assert lut[4] == pytest.approx(3.5) and lut[2] == pytest.approx(37.4) and lut[5] == 0.0
    with pytest.raises(InputError, match="name pools from"):
        fallback_lut(load_densities(None), lc_scheme, ("leaves",))


def test_cli_density_model(scene, tmp_path, capsys):
    d = scene
    out = tmp_path / "dm"
    rc = main(["density-model", "--plots", str(d / "plots.gpkg"), "--target-field", "dens", "--covariates",
               str(d / "cov.tif"), "--landcover", str(d / "lc.tif"), "--n-estimators", "30", "--block-size-m", "300",
               "--out", str(out), "-q"])
    assert rc == 0
    s = json.loads((out / rs.SUMMARY.name).read_text(encoding="utf-8"))
    assert s["pixels"] == {"model": 2938, "fallback_covariate_nodata": 1, "fallback_covariate_range": 360,
                           "fallback_landcover_group": 300}
    assert s["land_pixels"] == 3599 and s["fallback_pixels"] == 661
    assert s["spatial_block_cv"]["r2"] > 0.9 and s["random_cv"]["r2"] > 0.9
    assert abs(s["spatial_block_cv"]["bias"]) < 1.0
    grid = Grid.from_raster(d / "lc.tif")
    area_ha = grid.pixel_areas_m2() / 10_000.0  # m² → ha
    with rasterio.open(out / "density_mgc_per_ha.tif") as src:
        dens = src.read(1)
        assert src.nodata == -1.0 and src.tags()["POOLS"] == "above,below" and src.tags()["UNITS"] == "Mg C/ha"
    with rasterio.open(out / "domain.tif") as src:
        dom = src.read(1)
    assert (dens[:, 49:] == -1).all() and dens[0, 10] == -1 and dens[59, 0] == -1
    cols = np.tile(np.arange(60), (60, 1))
    truth = np.where(cols < 30, 10 + 0.5 * cols, 2 + 0.05 * cols)
    model = dom == 1
    assert np.abs(dens[model] - truth[model]).max() < 3.0
    # fallback stock: grassland columns 49–54 × 3.5 Mg C/ha (table above + below), water 0,
    # forest pixel (0, 10) × 37.4
    fb = (3.5 * area_ha[:, 49:55].sum() + 37.4 * area_ha[0, 10])
    assert s["biomass_stock_mgc"]["fallback_part"] == pytest.approx(fb, rel=1e-9)
    assert s["biomass_stock_mgc"]["model_part"] == pytest.approx(float((dens[model] * area_ha[model]).sum()), rel=1e-5)
    meta = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert meta["kind"] == "density-regressor" and meta["covariates"] == ["cov"] and meta["groups"] == ["forest", "grassland"]


def test_cli_density_errors(scene, tmp_path, capsys):
    d = scene
    out = tmp_path / "bad"
    rc = main(["density-model", "--plots", str(d / "plots.gpkg"), "--target-field", "nope", "--covariates",
               str(d / "cov.tif"), "--landcover", str(d / "lc.tif"), "--out", str(out), "-q"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "field 'nope' not found" in err and len(err.splitlines()) == 1 and not out.exists()
    rc = main(["density-model", "--plots", str(d / "plots.gpkg"), "--target-field", "dens", "--covariates",
               str(d / "cov.tif"), "--landcover", str(d / "lc.tif"), "--pools", "leaves", "--out", str(out), "-q"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "name pools from" in err and not out.exists()


def test_carbon_with_density_raster_matches_density_model(scene, tmp_path, capsys):
    # The density-model run and `carbon --density-raster` sum the same pixels: carbon's
    # above + below stock must equal density-model's "model with table fallback" stock,
    # while soil and dead stay the table's.
    d = scene
    dm = tmp_path / "dm"
    assert main(["density-model", "--plots", str(d / "plots.gpkg"), "--target-field", "dens", "--covariates",
                 str(d / "cov.tif"), "--landcover", str(d / "lc.tif"), "--n-estimators", "10", "--block-size-m", "300",
                 "--out", str(dm), "-q"]) == 0
    assert main(["carbon", str(d / "lc.tif"), "--out", str(tmp_path / "table"), "-q"]) == 0
    assert main(["carbon", str(d / "lc.tif"), "--density-raster", str(dm / "density_mgc_per_ha.tif"),
                 "--out", str(tmp_path / "model"), "-q"]) == 0
    s_dm = json.loads((dm / rs.SUMMARY.name).read_text(encoding="utf-8"))
    s_t = json.loads((tmp_path / "table" / rs.SUMMARY.name).read_text(encoding="utf-8"))
    s_m = json.loads((tmp_path / "model" / rs.SUMMARY.name).read_text(encoding="utf-8"))
    pools_m, pools_t = s_m["stock_mgc_by_pool"], s_t["stock_mgc_by_pool"]
    assert pools_m["above"] + pools_m["below"] == pytest.approx(s_dm["biomass_stock_mgc"]["model_with_table_fallback"], rel=1e-9)
    assert pools_t["above"] + pools_t["below"] == pytest.approx(s_dm["biomass_stock_mgc"]["table_only"], rel=1e-9)
    assert (pools_m["soil"], pools_m["dead"]) == (pools_t["soil"], pools_t["dead"])
    r = s_m["density_raster"]
    assert r["pixels_from_raster"] == 2938 and r["pixels_fallback_to_table"] == 661 and r["pools"] == ["above", "below"]
    assert not (tmp_path / "model" / "carbon_density.tif").exists()
    # with zones (north and south halves) the zone stocks add up to the same total
    from shapely.geometry import box

    halves = [box(*(T @ (0, 30)), *(T @ (60, 0))), box(*(T @ (0, 60)), *(T @ (60, 30)))]
    gpd.GeoDataFrame({"name": ["north", "south"]}, geometry=halves, crs=CRS).to_file(tmp_path / "zones.gpkg")
    assert main(["carbon", str(d / "lc.tif"), "--density-raster", str(dm / "density_mgc_per_ha.tif"), "--zones",
                 str(tmp_path / "zones.gpkg"), "--zone-field", "name", "--out", str(tmp_path / "z"), "-q"]) == 0
    s_z = json.loads((tmp_path / "z" / rs.SUMMARY.name).read_text(encoding="utf-8"))
    assert sum(z["stock_mgc"] for z in s_z["zones"]) == pytest.approx(s_m["stock_mgc"], rel=1e-9)
    assert s_z["stock_mgc"] == pytest.approx(s_m["stock_mgc"], rel=1e-9)


def test_carbon_density_raster_errors(scene, tmp_path, capsys):
    d = scene
    other = tmp_path / "other.tif"
    _write(other, np.ones((30, 30), dtype="float32"), transform=Affine(60, 0, 500_000, 0, -60, 4_600_000))
    rc = main(["carbon", str(d / "lc.tif"), "--density-raster", str(other), "--out", str(tmp_path / "x"), "-q"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "not on the same grid" in err and not (tmp_path / "x").exists()
    # a density raster is continuous: the advice is a bilinear warp, not the land cover's nearest
    assert "gdalwarp -r bilinear" in err and "-r near" not in err, err
    rc = main(["carbon", str(d / "lc.tif"), "--density-raster", str(d / "cov.tif"), "--uncertainty", "10",
               "--out", str(tmp_path / "x"), "-q"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "--uncertainty" in err and not (tmp_path / "x").exists()


def test_plot_densities_beyond_any_ecosystem_are_refused(scene):
    # A plot of 1e6 Mg C/ha (a unit slip: kg or g per m², or a typo) or of inf was used as it
    # stood (1e6) or dropped as "missing" (inf), pulling or silently thinning the model.
    d = scene
    lc = open_landcover(d / "lc.tif", "clcd")
    gdf = gpd.read_file(d / "plots.gpkg")
    huge = gdf["dens"].to_numpy().copy()
    huge[3] = 1e6  # 4th feature
    with pytest.raises(FieldError, match=r"feature 4: 1e\+06; at most 10,000 Mg C/ha"):
        plot_data(gdf.assign(dens=huge), "dens", lc, [d / "cov.tif"], DensityOptions(block_size_m=300))
    inf = gdf["dens"].to_numpy().copy()
    inf[0] = np.inf
    with pytest.raises(FieldError, match="feature 1: inf"):
        plot_data(gdf.assign(dens=inf), "dens", lc, [d / "cov.tif"], DensityOptions(block_size_m=300))
    # 10,000 itself (the table's limit for one pool) and NaN (a missing plot: dropped, counted) pass
    ok = gdf["dens"].to_numpy().copy()
    ok[0], ok[1] = 10_000.0, np.nan
    pdata = plot_data(gdf.assign(dens=ok), "dens", lc, [d / "cov.tif"], DensityOptions(block_size_m=300))
    assert pdata.target.size == 339 and pdata.dropped["missing_target"] == 1

"""Other grids and executors: projected land cover, a DEM on another grid, Dask equals one process."""

from __future__ import annotations

import math

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from sinkplan.layers.parallel import BlockExecutor
from sinkplan.siting.prepare import ScreenInputs, prepare
from sinkplan.siting.profile import load_profile, with_overrides
from siting_util import LEGACY_PV
from sinkplan.siting.screen import run_screen, screen_capacity

N = 120


def _tif(path, data, dtype, crs, transform, nodata=None):
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1, dtype=dtype,
                       crs=crs, transform=transform, nodata=nodata) as dst:
        dst.write(data.astype(dtype), 1)


def _gpkg(path, geoms, crs):
    gpd.GeoDataFrame({"id": list(range(len(geoms)))}, geometry=geoms, crs=crs).to_file(path)


@pytest.fixture(scope="module")
def utm(tmp_path_factory):
    """Barren land on a 30 m UTM 49N grid with one built pixel in the middle; DEM on a lon/lat grid."""
    d = tmp_path_factory.mktemp("utm")
    t = Affine(30, 0, 500_000, 0, -30, 4_650_000)
    lc = np.full((N, N), 7, np.uint8)
    lc[N // 2, N // 2] = 8
    _tif(d / "lc.tif", lc, "uint8", "EPSG:32649", t, nodata=0)
    # DEM on a 0.0005° lon/lat grid covering the UTM square: z rises 2 % northwards (1.15°)
    lon0, lat0, res = 110.99, 42.01, 0.0005
    rows = np.arange(100)[:, None] + np.zeros((1, 120))
    z = 1000.0 + (100 - rows) * res * 111_050.0 * 0.02
    _tif(d / "dem.tif", z, "float32", "EPSG:4326", Affine(res, 0, lon0, 0, -res, lat0))
    _gpkg(d / "redline.gpkg", [box(500_000, 4_646_400, 501_000, 4_647_000)], "EPSG:32649")
    _gpkg(d / "farmland.gpkg", [box(503_000, 4_647_000, 503_300, 4_647_300)], "EPSG:32649")
    return d


def _prep(d, work, profile=None, **kw):
    inputs = ScreenInputs(landcover=d / "lc.tif", dem=d / "dem.tif", redline=d / "redline.gpkg",
                          farmland=d / "farmland.gpkg")
    prof = profile or with_overrides(load_profile("pv"), {**LEGACY_PV, "pv.min_parcel_area_ha": 1})
    return prepare(inputs, prof, workdir=work, **kw)


def _run(prep, work, executor=None, max_cells=4096):
    return run_screen(prep, workdir=work, exclusions_path=work / "ex.tif", eligible_path=work / "el.tif",
                      parcels_raster_path=work / "pa.tif", max_cells=max_cells, executor=executor)


def test_projected_grid_buffer_and_dem_on_another_grid(utm, tmp_path):
    prep = _prep(utm, tmp_path)
    assert not prep.spec.dem_same_grid
    res = _run(prep, tmp_path)
    bits = {b["rule"]: b for b in res.summary["exclusion_bits"]}
    # a 500 m buffer around one 30 m built pixel: π × 500² = 78.5 ha (pixel-centre distances)
    assert bits["near_built"]["area_ha"] == pytest.approx(math.pi * 500 ** 2 / 1e4, rel=0.02)
    # the redline box is 1000 m × 600 m = 60 ha, on whole pixels
    assert bits["redline"]["area_ha"] == pytest.approx(60.0, rel=0.01)
    # slope from the bilinearly resampled lon/lat DEM: atan(0.02) = 1.146°
    p = res.parcels
    assert np.allclose(p.slope_mean_deg, math.degrees(math.atan(0.02)), atol=0.05)
    assert bits["slope"]["area_ha"] == 0.0
    assert res.summary["eligible_area_ha"] + res.summary["excluded_area_ha"] == pytest.approx(
        res.summary["total_area_ha"])


def test_capacity_pass_equals_full_screen(utm, tmp_path):
    prep = _prep(utm, tmp_path)
    full = _run(prep, tmp_path).summary
    cap = screen_capacity(_prep(utm, tmp_path, keep_rasters=False), max_cells=2048)
    for k in ("parcels", "eligible_area_ha", "capacity_mw", "screened_mw", "gap_mw"):
        assert cap[k] == pytest.approx(full[k], rel=1e-12)
    assert cap["share_of_target"] is full["share_of_target"] is None  # a UTM test tile is not the target's region


@pytest.fixture(scope="module")
def dask_executor():
    with BlockExecutor(workers=2) as ex:
        yield ex


def test_dask_equals_one_process(utm, tmp_path, dask_executor):
    a_dir, b_dir = tmp_path / "a", tmp_path / "b"
    a_dir.mkdir()
    b_dir.mkdir()
    one = _run(_prep(utm, a_dir), a_dir)
    many = _run(_prep(utm, b_dir), b_dir, executor=dask_executor)
    assert one.summary["capacity_mw"] == many.summary["capacity_mw"]
    assert one.summary["exclusion_bits"] == many.summary["exclusion_bits"]
    with rasterio.open(a_dir / "ex.tif") as x, rasterio.open(b_dir / "ex.tif") as y:
        assert (x.read(1) == y.read(1)).all()

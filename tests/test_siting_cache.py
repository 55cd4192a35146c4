"""Stale-geometry reproduction (issue 13): a second layer written to the same path must be the one
a sweep screens with, never the first one's geometry from a cache keyed by path."""

from __future__ import annotations

import os
import pickle

import geopandas as gpd
import numpy as np
import pytest
import rasterio
import shapely
from affine import Affine
from shapely.geometry import box

from sinkplan.layers.files import file_signature
from sinkplan.layers.grid import Grid
from sinkplan.siting.inputs import LayerStore
from sinkplan.siting.prepare import ScreenInputs, VectorCache, prepare
from sinkplan.siting.profile import load_profile, with_overrides
from siting_util import LEGACY_PV

CRS = "EPSG:32649"
T = Affine(30, 0, 500_000, 0, -30, 4_650_000)  # 30 m UTM 49N
A = box(500_000, 4_646_400, 501_000, 4_647_000)  # 1000 m × 600 m
B = box(502_000, 4_647_100, 502_600, 4_648_100)  # 600 m × 1000 m: the same area, vertex count, file size


def _write(path, geom):
    gpd.GeoDataFrame({"id": [1]}, geometry=[geom], crs=CRS).to_file(path)


@pytest.fixture()
def grid():
    return Grid(CRS, T, 120, 120)


@pytest.mark.parametrize("name", ["redline.gpkg", "redline.shp"])
def test_vector_cache_rereads_a_file_written_again_at_the_same_path(tmp_path, grid, name):
    path = tmp_path / name
    cache = VectorCache()
    _write(path, A)
    first = cache.read(path, grid).gdf.geometry.iloc[0]
    assert first.equals(A)
    assert cache.read(path, grid).gdf.geometry.iloc[0].equals(A)  # unchanged file: the cached layer
    assert len(cache) == 1
    os.remove(path) if path.suffix == ".gpkg" else None
    _write(path, B)
    second = cache.read(path, grid).gdf.geometry.iloc[0]
    assert second.equals(B), "a file written again at the same path returned the first file's geometry"
    assert len(cache) == 1  # the older version's entry is dropped


def test_signature_changes_on_rewrite_with_same_size_and_mtime(tmp_path):
    p = tmp_path / "z.gpkg"
    p.write_bytes(b"A" * 100)
    st = p.stat()
    sig = file_signature(p)
    p.write_bytes(b"B" * 100)  # same size, in place (same inode)
    os.utime(p, ns=(st.st_atime_ns, st.st_mtime_ns))  # and the old mtime: only ctime tells
    assert file_signature(p) != sig
    # a shapefile's attributes live in its .dbf: rewriting only it changes the .shp's signature
    shp = tmp_path / "a.shp"
    shp.write_bytes(b"shp")
    (tmp_path / "a.dbf").write_bytes(b"1")
    sig = file_signature(shp)
    (tmp_path / "a.dbf").write_bytes(b"22")
    assert file_signature(shp) != sig


def test_layer_store_a_then_b_loads_b():
    a = LayerStore({"rule:redline": np.array([A], dtype=object)})
    b = LayerStore({"rule:redline": np.array([B], dtype=object)})
    assert a.get("rule:redline").geoms[0].equals(A)
    # what a Dask worker receives: the store's own geometry, whatever was made before it
    for store, geom in ((pickle.loads(pickle.dumps(b)), B), (pickle.loads(pickle.dumps(a)), A)):
        assert store.get("rule:redline").geoms[0].equals(geom)


@pytest.fixture()
def region(tmp_path):
    lc = np.full((120, 120), 7, np.uint8)  # barren
    with rasterio.open(tmp_path / "lc.tif", "w", driver="GTiff", width=120, height=120, count=1, dtype="uint8",
                       crs=CRS, transform=T, nodata=0) as dst:
        dst.write(lc, 1)
    _write(tmp_path / "farmland.gpkg", box(503_000, 4_647_000, 503_300, 4_647_300))
    return tmp_path


def test_sweep_screens_with_the_second_redline_written_to_the_same_path(region, tmp_path_factory):
    """The reproduction: prepare (store A), write B to the same path, prepare again with the same
    cache, work folder and profile object: the second specification holds B."""
    work = tmp_path_factory.mktemp("work")
    prof = with_overrides(load_profile("pv"), {**LEGACY_PV, "pv.min_parcel_area_ha": 1})
    inputs = ScreenInputs(landcover=region / "lc.tif", redline=region / "redline.gpkg",
                          farmland=region / "farmland.gpkg")
    cache = VectorCache()
    _write(region / "redline.gpkg", A)
    p1 = prepare(inputs, prof, workdir=work, cache=cache)
    os.remove(region / "redline.gpkg")
    _write(region / "redline.gpkg", B)
    p2 = prepare(inputs, prof, workdir=work, cache=cache)
    g1 = p1.spec.store.get("rule:redline").geoms
    g2 = p2.spec.store.get("rule:redline").geoms
    assert len(g1) == len(g2) == 1
    assert shapely.equals(g1[0], A) and shapely.equals(g2[0], B)
    # after pickling (what each Dask worker gets) too
    assert pickle.loads(pickle.dumps(p2.spec)).store.get("rule:redline").geoms[0].equals(B)
    assert list(work.iterdir()) == []  # prepare() writes nothing into the work folder

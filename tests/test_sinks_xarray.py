"""The array API: carbon_stocks and forest_coverage take a lazy rioxarray DataArray as land cover and
give exactly what they give for the file, reading it block by block (never the whole array)."""

from __future__ import annotations

import dask.array
import numpy as np
import pandas as pd
import pytest
import rioxarray
import xarray as xr
from affine import Affine

from sinkplan.layers.errors import InputError, MissingCRS
from sinkplan.sinks.api import carbon_stocks, forest_coverage
from sinks_util import write_polys, write_tif

T = Affine(0.002, 0, 110, 0, -0.002, 43)
MAX_CELLS = 64 * 64 * 2  # 64 × 128 px (2 tiles) per block: 5 rows × 3 columns = 15 blocks of the 300 × 260 raster


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("xr")
    rng = np.random.default_rng(7)
    a = rng.choice(np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9], dtype="uint8"), size=(300, 260))
    b = np.where(rng.random(a.shape) < 0.1, rng.integers(1, 10, size=a.shape), a).astype("uint8")
    p15 = write_tif(d / "a.tif", a, transform=T, block=64)
    p20 = write_tif(d / "b.tif", b, transform=T, block=64)
    zones = write_polys(d / "z.gpkg", [(110, 42.6, 110.3, 43), (110.3, 42.4, 110.52, 42.8)], name_zh=["甲", "乙"])
    red = write_polys(d / "r.gpkg", [(110.1, 42.5, 110.4, 42.9)])
    return d, p15, p20, zones, red


def _open(path, **kw):
    return rioxarray.open_rasterio(path, chunks={"y": 64, "x": 64}, **kw)


def _frames_equal(a: pd.DataFrame, b: pd.DataFrame):
    pd.testing.assert_frame_equal(a, b, check_exact=True)


@pytest.fixture()
def no_whole_array(monkeypatch):
    """Fail any computation of more than one block's cells from a land-cover array."""
    limit = MAX_CELLS
    calls = []
    orig_compute = dask.array.Array.compute

    def compute(self, *args, **kw):
        if self.ndim == 2:  # a block of the land cover (coordinates are 1-D)
            calls.append(self.size)
            assert self.size <= limit, f"computed {self.shape} at once"
        return orig_compute(self, *args, **kw)

    monkeypatch.setattr(dask.array.Array, "compute", compute)
    for name in ("values", "load", "to_numpy"):
        orig = getattr(xr.DataArray, name)

        def guard(self, *a, _orig=orig, _name=name, **k):
            assert self.size <= limit, f"DataArray.{_name} of {self.shape}"
            return _orig.fget(self) if isinstance(_orig, property) else _orig(self, *a, **k)

        monkeypatch.setattr(xr.DataArray, name, property(guard) if isinstance(orig, property) else guard)
    return calls


def test_carbon_from_a_lazy_dataarray_equals_the_file(inputs, no_whole_array):
    d, p15, _, zones, red = inputs
    kw = dict(zones=zones, zone_field="name_zh", redline=red, uncertainty=50, seed=3, max_cells=MAX_CELLS)
    da = _open(p15)
    assert isinstance(da.data, dask.array.Array)  # lazy: nothing read yet
    from_array = carbon_stocks(da, **kw)
    assert no_whole_array and len(no_whole_array) == 15  # one computation per block, each ≤ 2 tiles
    from_file = carbon_stocks(p15, **kw)
    _frames_equal(from_array.by_zone, from_file.by_zone)
    _frames_equal(from_array.by_class, from_file.by_class)
    assert from_array.summary == from_file.summary
    assert from_array.nblocks == from_file.nblocks == 15
    np.testing.assert_array_equal(from_array.account.area_ha, from_file.account.area_ha)
    # the figures are not all zero: 10 codes on 78 000 px of ≈ 3.6 ha (0.002° at 42.7°N)
    assert from_file.summary["stock_mgc"] > 0 and from_file.summary["land_pixels"] > 60_000


def test_carbon_from_numpy_backed_and_masked_arrays(inputs):
    d, p15, *_ = inputs
    ref = carbon_stocks(p15, max_cells=MAX_CELLS)
    lazy = rioxarray.open_rasterio(p15)  # not Dask: windows from the file's blocks (encoding preferred_chunks)
    masked = _open(p15, masked=True)  # float with NaN where the file has nodata 0
    assert masked.dtype.kind == "f"
    for da in (lazy, masked):
        res = carbon_stocks(da, max_cells=MAX_CELLS)
        _frames_equal(res.by_zone, ref.by_zone)
        _frames_equal(res.by_class, ref.by_class)


def test_coverage_from_dataarrays_equals_the_files(inputs, no_whole_array):
    d, p15, p20, zones, _ = inputs
    kw = dict(zones=zones, zone_field="name_zh", count_shrub=True, target=0.3, max_cells=MAX_CELLS)
    from_array = forest_coverage({2015: _open(p15), 2020: _open(p20)}, **kw)
    from_file = forest_coverage({2015: p15, 2020: p20}, **kw)
    for name in ("by_zone", "totals", "trend_by_zone", "volume_by_zone", "volume_change"):
        _frames_equal(getattr(from_array, name), getattr(from_file, name))
    assert from_array.summary == from_file.summary
    # 2 zones and the land outside them, 2 years; forest in every row (codes 2 on ~10 % of pixels)
    assert len(from_file.by_zone) == 6 and (from_file.by_zone["forest_area_ha"] > 0).all()
    # a file for one year and an array for the other: one grid, the same numbers
    mixed = forest_coverage({2015: p15, 2020: _open(p20)}, **kw)
    _frames_equal(mixed.by_zone, from_file.by_zone)


def test_chunks_that_are_not_the_file_tiles_give_the_same_counts(inputs):
    d, p15, *_ = inputs
    ref = carbon_stocks(p15, max_cells=MAX_CELLS)
    res = carbon_stocks(rioxarray.open_rasterio(p15, chunks={"y": 50, "x": 100}), max_cells=MAX_CELLS)
    # other blocks: pixels exactly, areas and stocks up to the order of summation
    assert res.summary["land_pixels"] == ref.summary["land_pixels"]
    np.testing.assert_allclose(res.account.area_ha, ref.account.area_ha, rtol=1e-12)
    assert res.summary["stock_mgc"] == pytest.approx(ref.summary["stock_mgc"], rel=1e-12)


def test_an_array_built_in_memory_with_rio_georeferencing(inputs):
    """A DataArray that never was a file: codes 2 (forest) on the top row, 4 (grassland) below,
    0 nodata; 3 × 2 px of 0.01° at 42°N. Forest area = 2 pixels of row 1 by the ellipsoid."""
    from sinkplan.layers.grid import Grid

    codes = np.array([[2, 2], [4, 4], [4, 0]], dtype="uint8")
    da = xr.DataArray(codes, dims=("y", "x"), coords={"y": [41.995, 41.985, 41.975], "x": [110.005, 110.015]})
    da = da.rio.write_crs("EPSG:4326").rio.write_nodata(0)
    res = carbon_stocks(da)
    g = Grid("EPSG:4326", Affine(0.01, 0, 110, 0, -0.01, 42), 2, 3)
    row = g.row_areas_m2(g.full_window()) / 1e4  # ha per pixel of each row
    by = res.by_class.set_index("code")["area_ha"]
    assert by[2] == pytest.approx(2 * row[0], rel=1e-12)
    assert by[4] == pytest.approx(2 * row[1] + row[2], rel=1e-12)
    assert res.summary["land_pixels"] == 5


def test_array_errors_name_the_fix():
    codes = np.ones((2, 2), dtype="uint8")
    da = xr.DataArray(codes, dims=("y", "x"), coords={"y": [1.5, 0.5], "x": [0.5, 1.5]}, name="lc")
    with pytest.raises(MissingCRS, match=r"write_crs"):
        carbon_stocks(da)
    with pytest.raises(InputError, match=r"integer class codes"):
        carbon_stocks(da.astype("float32").rio.write_crs("EPSG:4326"))
    stacked = xr.concat([da, da], dim="year").rio.write_crs("EPSG:4326")
    with pytest.raises(InputError, match=r"dimension 'year'.*sel\(year="):
        carbon_stocks(stacked)
    with pytest.raises(InputError, match=r"expected a path or an xarray.DataArray"):
        carbon_stocks(codes)


def test_a_folder_written_from_the_array_result_equals_the_files(inputs, tmp_path):
    import rasterio

    from sinkplan.sinks.folders import write_carbon

    d, p15, _, zones, red = inputs
    kw = dict(zones=zones, zone_field="name_zh", redline=red, max_cells=MAX_CELLS)
    a = write_carbon(carbon_stocks(_open(p15), **kw), tmp_path / "a")
    f = write_carbon(carbon_stocks(p15, **kw), tmp_path / "f")
    for name in ("stocks_by_zone.csv", "stocks_by_class.csv"):
        assert (a / name).read_bytes() == (f / name).read_bytes(), name
    for name in ("carbon_density.tif", "landcover_preview.tif"):
        with rasterio.open(a / name) as x, rasterio.open(f / name) as y:
            assert x.shape == y.shape and x.transform == y.transform
            np.testing.assert_array_equal(x.read(1), y.read(1), err_msg=name)
    # the per-pixel map as a lazy DataArray: the raster's values, NaN for its nodata (-1), units in attrs
    from sinkplan.sinks.arrays import carbon_density

    dens = carbon_density(_open(p15))
    assert isinstance(dens.data, dask.array.Array) and dens.attrs["units"] == "Mg C/ha"
    assert dens.rio.crs == rioxarray.open_rasterio(p15).rio.crs and dens.rio.transform() == T
    with rasterio.open(f / "carbon_density.tif") as src:
        want = src.read(1)
    got = dens.compute().values
    np.testing.assert_array_equal(np.where(want == src.nodata, np.nan, want), got)


@pytest.mark.parametrize("max_pixels", [3000, 700])
def test_preview_mode_of_an_array_equals_gdal_mode_of_the_file(inputs, tmp_path, max_pixels):
    """The land-cover preview reduced by the mode: computed for an array, by GDAL for a file."""
    import rasterio

    from sinkplan.sinks.inputs import open_landcovers
    from sinkplan.sinks.mapfiles import write_landcover_preview

    d, p15, *_ = inputs
    (lf,) = open_landcovers([p15])
    (la,) = open_landcovers([_open(p15)])
    pf = write_landcover_preview(tmp_path / "f.tif", lf, max_pixels=max_pixels, max_cells=4096)
    pa = write_landcover_preview(tmp_path / "a.tif", la, max_pixels=max_pixels, max_cells=4096)
    with rasterio.open(pf) as x, rasterio.open(pa) as y:
        assert x.width * x.height <= max_pixels and x.width < 260  # reduced: each cell the mode of f × f pixels
        np.testing.assert_array_equal(x.read(1), y.read(1))

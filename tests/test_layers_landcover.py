"""Land-cover rasters: per-class pixels and areas, unknown codes, writing COGs."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st

from sinkplan.layers.errors import InputError, UnknownClassCode
from sinkplan.layers.grid import Grid
from sinkplan.layers.landcover import class_table, open_landcover
from sinkplan.layers.outputs import BlockWriter

EA = "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +datum=WGS84 +units=m"  # CLCD's Albers


def test_class_table_equal_area_by_hand(write_raster):
    # 3 × 3 at 30 m in an equal-area CRS: each pixel 900 m² = 0.09 ha.
    codes = np.array([[2, 2, 4], [4, 4, 0], [7, 1, 2]], dtype="uint8")
    path = write_raster(codes, crs=EA, transform=Affine(30, 0, 0, 0, -30, 4_000_000), nodata=0)
    t = class_table(open_landcover(path, "clcd")).set_index("code")
    assert t.loc[2, "pixels"] == 3 and t.loc[2, "area_ha"] == pytest.approx(0.27)
    assert t.loc[4, "pixels"] == 3 and t.loc[1, "pixels"] == 1 and t.loc[7, "pixels"] == 1
    assert t.loc[9, "pixels"] == 0  # known but absent classes are listed with zero
    assert 0 not in t.index and t.attrs["nodata_pixels"] == 1
    assert t.area_ha.sum() == pytest.approx(8 * 0.09)
    assert t.loc[2, "name_zh"] == "森林" and t.loc[2, "group"] == "forest"


def test_class_table_lonlat_uses_row_areas(write_raster):
    codes = np.array([[2, 4], [4, 4]], dtype="uint8")
    t_ = Affine(0.5, 0, 110, 0, -0.5, 51)
    path = write_raster(codes, transform=t_)
    rows = Grid.from_raster(path).row_areas_m2(Grid.from_raster(path).full_window())
    t = class_table(open_landcover(path, "clcd")).set_index("code")
    assert t.loc[2, "area_ha"] == pytest.approx(rows[0] / 1e4, rel=1e-14)
    assert t.loc[4, "area_ha"] == pytest.approx((rows[0] + 2 * rows[1]) / 1e4, rel=1e-14)


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**16), max_cells=st.integers(1, 500))
def test_blockwise_equals_whole(tmp_path_factory, seed, max_cells):
    rng = np.random.default_rng(seed)
    codes = rng.integers(0, 10, (23, 31)).astype("uint8")
    path = tmp_path_factory.mktemp("lc") / "lc.tif"
    with rasterio.open(path, "w", driver="GTiff", width=31, height=23, count=1, dtype="uint8",
                       crs="EPSG:4326", transform=Affine(0.01, 0, 110, 0, -0.01, 45), nodata=0) as d:
        d.write(codes, 1)
    lc = open_landcover(path, "clcd")
    whole = class_table(lc, max_cells=10**6)
    blocks = class_table(lc, max_cells=max_cells)
    assert (whole.pixels.values == blocks.pixels.values).all()
    np.testing.assert_allclose(blocks.area_ha, whole.area_ha, rtol=1e-12)
    # Independent count of the same thing.
    for row in whole.itertuples():
        assert row.pixels == int((codes == row.code).sum())


def test_unknown_codes_listed_with_counts(write_raster):
    codes = np.array([[2, 200, 200], [201, 4, 4]], dtype="uint8")
    path = write_raster(codes, name="lc2020.tif", nodata=0)
    with pytest.raises(UnknownClassCode, match=r"lc2020\.tif: codes 200 \(2 px\), 201 \(1 px\) are not in scheme 'clcd'") as err:
        class_table(open_landcover(path, "clcd"))
    assert err.value.counts == {200: 2, 201: 1}
    # Mapped explicitly, they are counted.
    t = class_table(open_landcover(path, "clcd", mapping={200: 7, 201: "grassland"})).set_index("code")
    assert t.loc[200, "pixels"] == 2 and t.loc[201, "group"] == "grassland"


def test_float_raster_refused(write_raster):
    path = write_raster(np.ones((2, 2), "float32"), name="dens.tif")
    with pytest.raises(InputError, match=r"dens\.tif: land cover must hold integer class codes, found float32"):
        open_landcover(path)


def test_negative_codes_refused(write_raster):
    path = write_raster(np.array([[1, -5]], dtype="int16"), name="neg.tif")
    with pytest.raises(InputError, match=r"neg\.tif: 1 px hold codes below 0"):
        class_table(open_landcover(path, "clcd"))


def test_block_writer_cog_and_abort(tmp_path):
    g = Grid("EPSG:4326", Affine(0.01, 0, 110, 0, -0.01, 45), 700, 600)
    out = tmp_path / "d.tif"
    with BlockWriter(out, g, "float32", nodata=-1.0, resampling="average", tags={"units": "Mg C/ha"}) as w:
        for win in g.blocks(50_000):
            w.write(np.full((win.height, win.width), win.row_off, "float32"), win)
    with rasterio.open(out) as src:
        assert src.tags()["units"] == "Mg C/ha" and src.nodata == -1.0
        data = src.read(1)
        assert data.shape == (600, 700)
        # 50 000 cells // 700 columns = 71-row strips: row 599 lies in the strip starting at 568.
        assert data[599, 0] == 568 and data[70, 699] == 0 and data[71, 0] == 71
        assert src.profile.get("tiled") and src.overviews(1)  # COG: tiled with overviews
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.tif"]
    bad = tmp_path / "bad.tif"
    with pytest.raises(RuntimeError):
        with BlockWriter(bad, g, "uint8", nodata=0):
            raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.tif"]
    with pytest.raises(ValueError, match="nodata 300 does not fit dtype uint8"):
        BlockWriter(bad, g, "uint8", nodata=300)

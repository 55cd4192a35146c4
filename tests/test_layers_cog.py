"""BlockWriter writes each tile once and builds overviews while the blocks arrive; the file is a
valid COG (checked with rio-cogeo's validator, an independent implementation of GDAL's rules)."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.windows import Window
from rio_cogeo.cogeo import cog_validate

from sinkplan.layers.cog import CogLayoutError, assemble_cog, read_ifds
from sinkplan.layers.grid import Grid
from sinkplan.layers.outputs import TILE, BlockWriter


def _grid(w: int, h: int, block=(512, 512)) -> Grid:
    return Grid("EPSG:4326", Affine(0.001, 0, 110, 0, -0.001, 45), w, h, block_shape=block)


def _values(h: int, w: int) -> np.ndarray:
    rng = np.random.default_rng(5)
    v = rng.choice(np.array([-1.0, 0.0, 12.5, 40.0, 97.25], dtype="float32"), size=(h, w))
    return v


def _write(path, g, data, max_cells, **kw):
    with BlockWriter(path, g, str(data.dtype), **kw) as out:
        for win in g.blocks(max_cells):
            r, c, h, w = int(win.row_off), int(win.col_off), int(win.height), int(win.width)
            out.write(data[r:r + h, c:c + w], win)
    return path


def _nanmean_2x2(a: np.ndarray) -> np.ndarray:
    """Independent mean of the valid pixels of each 2 × 2 cell (NaN where none), odd edges padded."""
    h, w = a.shape
    p = np.full(((h + 1) // 2 * 2, (w + 1) // 2 * 2), np.nan)
    p[:h, :w] = a
    cells = p.reshape(p.shape[0] // 2, 2, p.shape[1] // 2, 2)
    n = (~np.isnan(cells)).sum(axis=(1, 3))
    total = np.nansum(cells, axis=(1, 3))
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(n > 0, total / n, np.nan)


def test_valid_cog_same_pixels_and_average_overview(tmp_path):
    # 1 301 × 1 030 px: overviews 651 × 515 and 326 × 258 (ceil halves until one 512 tile holds it)
    g = _grid(1301, 1030)
    data = _values(1030, 1301)
    out = _write(tmp_path / "d.tif", g, data, 300_000, nodata=-1.0, resampling="average", tags={"units": "Mg C/ha"},
                 band_description="carbon density (Mg C/ha)")
    valid, errors, warnings = cog_validate(str(out))
    assert valid and not errors and not warnings, (errors, warnings)
    with rasterio.open(out) as src:
        assert src.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert src.tags()["units"] == "Mg C/ha" and src.descriptions == ("carbon density (Mg C/ha)",)
        assert src.nodata == -1.0 and src.block_shapes[0] == (TILE, TILE) and src.compression.name == "zstd"
        assert src.overviews(1) == [2, 4]
        assert np.array_equal(src.read(1), data)
    # Level 1: mean of the valid (≠ -1) pixels of each 2 × 2 cell, -1 where all four are nodata;
    # e.g. cell (0, 0) = mean of data[0:2, 0:2] without the -1s.
    expect = _nanmean_2x2(np.where(data == -1.0, np.nan, data.astype(np.float64)))
    expect = np.where(np.isnan(expect), -1.0, expect).astype("float32")
    with rasterio.open(out, overview_level=0) as ov:
        assert ov.shape == (515, 651)
        got1 = ov.read(1)
    assert np.allclose(got1, expect, rtol=0, atol=1e-5)
    # Level 2 is built from level 1 (as GDAL builds each level from the one above)
    e2 = _nanmean_2x2(np.where(expect == -1.0, np.nan, expect.astype(np.float64)))
    with rasterio.open(out, overview_level=1) as ov:
        assert ov.shape == (258, 326)
        assert np.allclose(ov.read(1), np.where(np.isnan(e2), -1.0, e2), rtol=0, atol=1e-4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["d.tif"]


def test_strips_and_tiles_give_the_same_file_content(tmp_path):
    # Strips of 1-px-high internal blocks are gathered into rows of tiles; the pixels and
    # the overviews must not depend on how the blocks came.
    data = (np.arange(700 * 900) % 251).astype("uint8").reshape(700, 900)
    a = _write(tmp_path / "a.tif", _grid(900, 700), data, 1 << 30, nodata=None, resampling="nearest")
    b = _write(tmp_path / "b.tif", _grid(900, 700, block=(1, 900)), data, 50_000, nodata=None, resampling="nearest")
    for p in (a, b):
        assert cog_validate(str(p))[0]
    with rasterio.open(a) as x, rasterio.open(b) as y:
        assert np.array_equal(x.read(1), data) and np.array_equal(y.read(1), data)
    with rasterio.open(a, overview_level=0) as x, rasterio.open(b, overview_level=0) as y:
        # nearest for factor 2 is the top-left pixel of each cell (GDAL's rule): data[::2, ::2]
        assert np.array_equal(x.read(1), data[::2, ::2]) and np.array_equal(y.read(1), data[::2, ::2])


def test_mode_overview_of_classes(tmp_path):
    # 2 × 2 cells (nodata 0):  [1 1 / 2 3] → 1;  [2 3 / 3 0] → 3 (0 skipped);  [4 5 / 5 4] → 4
    # (a tie: the first in row order);  [0 0 / 0 0] → 0 (all nodata). Tiled across a 1 024 × 520 grid.
    cells = np.array([[[1, 1], [2, 3]], [[2, 3], [3, 0]], [[4, 5], [5, 4]], [[0, 0], [0, 0]]], dtype="uint8")
    expect_cells = np.array([1, 3, 4, 0], dtype="uint8")
    h, w = 520, 1024
    idx = (np.arange(h // 2)[:, None] + np.arange(w // 2)[None, :]) % 4
    data = cells[idx].transpose(0, 2, 1, 3).reshape(h, w)
    out = _write(tmp_path / "m.tif", _grid(w, h), data, 1 << 30, nodata=0, resampling="mode",
                 colormap={1: (255, 0, 0, 255), 3: (0, 255, 0, 255)})
    assert cog_validate(str(out))[0]
    with rasterio.open(out) as src:
        assert src.colormap(1)[1] == (255, 0, 0, 255)
        assert np.array_equal(src.read(1), data)
    with rasterio.open(out, overview_level=0) as ov:
        assert np.array_equal(ov.read(1), expect_cells[idx])


def test_small_raster_has_no_overviews_and_failures_leave_nothing(tmp_path):
    g = _grid(300, 200)
    data = np.arange(60_000, dtype="uint32").reshape(200, 300)
    out = _write(tmp_path / "p.tif", g, data, 10_000, nodata=None)
    with rasterio.open(out) as src:
        assert src.overviews(1) == [] and np.array_equal(src.read(1), data)
    assert cog_validate(str(out))[0]
    with pytest.raises(RuntimeError, match="boom"):
        with BlockWriter(tmp_path / "bad.tif", _grid(1300, 900), "float32", nodata=-1.0) as bw:
            bw.write(np.zeros((512, 512), "float32"), Window(0, 0, 512, 512))
            raise RuntimeError("boom")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.tif"]
    with pytest.raises(ValueError, match=r"block of shape \(3, 3\)"):
        with BlockWriter(tmp_path / "bad.tif", g, "uint8") as bw:
            bw.write(np.zeros((3, 3), "uint8"), Window(0, 0, 4, 4))
    assert sorted(p.name for p in tmp_path.iterdir()) == ["p.tif"]


def test_assemble_cog_copies_bigtiff_tiles_and_refuses_strips(tmp_path):
    data = (np.arange(600 * 800) % 97).astype("int16").reshape(600, 800)
    src = tmp_path / "big.tif"
    with rasterio.open(src, "w", driver="GTiff", width=800, height=600, count=1, dtype="int16", crs="EPSG:4326",
                       transform=Affine(0.001, 0, 110, 0, -0.001, 45), tiled=True, blockxsize=256, blockysize=256,
                       compress="deflate", BIGTIFF="YES") as dst:
        dst.write(data, 1)
    big, ifds = read_ifds(src)
    assert big and len(ifds) == 1 and len(ifds[0].offsets) == 4 * 3  # ceil(800/256) × ceil(600/256) tiles
    out = assemble_cog([src], tmp_path / "out.tif")
    assert not read_ifds(out)[0]  # small enough for classic TIFF
    with rasterio.open(out) as r:
        assert np.array_equal(r.read(1), data) and r.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
    strips = tmp_path / "strips.tif"
    with rasterio.open(strips, "w", driver="GTiff", width=8, height=8, count=1, dtype="uint8", crs="EPSG:4326",
                       transform=Affine(0.001, 0, 110, 0, -0.001, 45)) as dst:
        dst.write(np.zeros((1, 8, 8), "uint8"))
    with pytest.raises(CogLayoutError, match="not tiled"):
        assemble_cog([strips], tmp_path / "x.tif")


from hypothesis import given, settings, strategies as st  # noqa: E402

from sinkplan.layers import outputs as _outputs  # noqa: E402


@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 9), w=st.integers(1, 9), seed=st.integers(0, 2**32 - 1),
       nodata=st.sampled_from([-1.0, float("nan"), None]))
def test_average_reduction_is_the_mean_of_valid_pixels_and_the_general_kernels_bits(h, w, seed, nodata):
    # The unrolled average kernel against (a) an independent numpy mean of each 2 × 2 cell's
    # valid pixels (NaN and nodata skipped, odd edges with fewer pixels; nodata where none) and
    # (b) the general kernel's average branch, bit for bit (same sums in the same order).
    rng = np.random.default_rng(seed)
    data = rng.choice(np.array([-1.0, np.nan, 0.0, 12.5, 40.1, 97.25], dtype="float32"), size=(h, w))
    got = _outputs._REDUCERS["average"](data, nodata)
    clean = data.astype(np.float64)
    if nodata is not None and not np.isnan(nodata):
        clean[data == nodata] = np.nan
    mean = _nanmean_2x2(clean)
    fill = np.nan if nodata is None or np.isnan(nodata) else nodata
    expect = np.where(np.isnan(mean), fill, mean).astype("float32")
    assert got.shape == ((h + 1) // 2, (w + 1) // 2)
    assert np.allclose(got, expect, rtol=1e-7, atol=0, equal_nan=True)
    general = np.empty_like(got)
    has = nodata is not None and not np.isnan(nodata)
    _outputs._kernel()(data, general, 1, np.float32(nodata if has else 0), has, np.float32(fill))
    assert np.array_equal(got.view(np.uint32), general.view(np.uint32))


def test_integer_average_rounds_half_up_and_nearest_is_the_top_left_pixel():
    # uint8, nodata 0: cell [1 2 / 0 0] → mean 1.5 → 2 (half up, as GDAL); [3 4 / 4 4] → 3.75 → 4;
    # [0 0 / 0 0] → 0 (nodata); the odd last column [5 / 6] → 5.5 → 6. Nearest keeps data[::2, ::2].
    data = np.array([[1, 2, 3, 4, 0, 0, 5],
                     [0, 0, 4, 4, 0, 0, 6]], dtype="uint8")
    assert _outputs._REDUCERS["average"](data, 0).tolist() == [[2, 4, 0, 6]]
    assert _outputs._REDUCERS["nearest"](data, 0).tolist() == [[1, 3, 0, 5]]
    assert _outputs._REDUCERS["nearest"](data, 0).flags.c_contiguous

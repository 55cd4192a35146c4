"""Bounded raster reads, display warping and palette PNGs."""

from __future__ import annotations

import base64
import io

import numpy as np
import pytest
import rasterio
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image

from sinkplan.maps.gcj02 import wgs84_to_gcj02
from sinkplan.maps.rasters import (MERCATOR_R, Decimated, decimation_factor, palette_png, quantize, read_decimated,
                          warp_to_display)


def _write(path, data, *, nodata=None, transform=Affine(0.01, 0, 111.0, 0, -0.01, 41.0), crs="EPSG:4326"):
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1,
                       dtype=data.dtype, crs=crs, transform=transform, nodata=nodata, tiled=True,
                       blockxsize=16, blockysize=16) as dst:
        dst.write(data, 1)
    return path


@given(st.integers(1, 50_000), st.integers(1, 50_000), st.integers(1, 5_000_000))
@settings(max_examples=300, deadline=None)
def test_decimation_factor_is_smallest_fitting(h, w, max_pixels):
    f = decimation_factor(h, w, max_pixels)
    assert -(-h // f) * -(-w // f) <= max_pixels
    assert f == 1 or -(-h // (f - 1)) * -(-w // (f - 1)) > max_pixels


def test_decimation_factor_rejects_zero():
    with pytest.raises(ValueError, match="max_pixels must be at least 1"):
        decimation_factor(10, 10, 0)


def test_block_average_by_hand(tmp_path):
    # 4 × 6 raster, factor 2 (6 reduced px ≤ 6): each output = mean of a 2 × 2 block
    data = np.arange(24, dtype=np.float32).reshape(4, 6)
    p = _write(tmp_path / "a.tif", data)
    with rasterio.open(p) as src:
        dec = read_decimated(src, max_pixels=6, max_cells=4, resampling="average")  # 1 block per read
    # block (0,0): (0 + 1 + 6 + 7) / 4 = 3.5; block (1,2): (16 + 17 + 22 + 23) / 4 = 19.5
    expected = data.reshape(2, 2, 3, 2).mean(axis=(1, 3))
    assert dec.factor == 2
    np.testing.assert_allclose(dec.data.filled(np.nan), expected)
    assert dec.data[0, 0] == 3.5 and dec.data[1, 2] == 19.5
    assert dec.transform == Affine(0.02, 0, 111.0, 0, -0.02, 41.0)


def test_block_average_ignores_nodata_and_masks_empty_blocks(tmp_path):
    data = np.array([[1, -1, 5, 5], [3, -1, 5, 5], [-1, -1, 2, 2], [-1, -1, 2, 2]], dtype=np.float32)
    p = _write(tmp_path / "n.tif", data, nodata=-1)
    with rasterio.open(p) as src:
        dec = read_decimated(src, max_pixels=4, resampling="average")
    # top-left block: (1 + 3) / 2 valid pixels = 2; bottom-left: all nodata → masked
    assert dec.data[0, 0] == 2.0 and dec.data[0, 1] == 5.0 and dec.data[1, 1] == 2.0
    assert dec.data.mask[1, 0] and not dec.data.mask[0, 0]


def test_tiles_bound_memory_and_match_one_read(tmp_path):
    rng = np.random.default_rng(3)
    data = rng.random((300, 500)).astype(np.float32)
    p = _write(tmp_path / "r.tif", data)
    calls = []
    with rasterio.open(p) as src:
        small = read_decimated(src, max_pixels=1500, max_cells=1000, progress=lambda f, s: calls.append(f))
        big = read_decimated(src, max_pixels=1500, max_cells=10**9)
    assert len(calls) > 10  # many tiles of ≤ 1000 source cells
    np.testing.assert_allclose(small.data, big.data, rtol=1e-6)


def test_mode_for_classes(tmp_path):
    data = np.array([[1, 1, 2, 2], [1, 3, 2, 2], [4, 4, 5, 6], [4, 7, 5, 5]], dtype=np.uint8)
    p = _write(tmp_path / "c.tif", data, nodata=0)
    with rasterio.open(p) as src:
        dec = read_decimated(src, max_pixels=4, resampling="mode")
    assert dec.data.tolist() == [[1, 2], [4, 5]]


def test_warp_places_a_pixel_where_it_belongs_and_gcj_shifts_it():
    # 100 × 100 lon/lat raster at 0.01°, one marked pixel at row 30, col 70
    data = np.zeros((100, 100), dtype=np.uint8)
    data[30, 70] = 1
    t = Affine(0.01, 0, 111.0, 0, -0.01, 41.0)
    dec = Decimated(np.ma.MaskedArray(data, mask=np.zeros_like(data, bool)), t, rasterio.crs.CRS.from_epsg(4326), 1)
    lon0, lat0 = 111.0 + 70.5 * 0.01, 41.0 - 30.5 * 0.01  # the marked pixel's centre
    for gcj in (False, True):
        values, valid, (w, s, e, n) = warp_to_display(dec, gcj=gcj, max_pixels=40_000)
        rows, cols = np.nonzero(values == 1)
        ny, nx = values.shape
        x0, x1 = MERCATOR_R * np.radians(w), MERCATOR_R * np.radians(e)
        y0 = MERCATOR_R * np.log(np.tan(np.pi / 4 + np.radians(s) / 2))
        y1 = MERCATOR_R * np.log(np.tan(np.pi / 4 + np.radians(n) / 2))
        xs = x0 + (cols.mean() + 0.5) * (x1 - x0) / nx
        ys = y1 - (rows.mean() + 0.5) * (y1 - y0) / ny
        lon, lat = np.degrees(xs / MERCATOR_R), np.degrees(np.arctan(np.sinh(ys / MERCATOR_R)))
        want = wgs84_to_gcj02(lon0, lat0) if gcj else (lon0, lat0)
        assert abs(lon - float(want[0])) < 0.002 and abs(lat - float(want[1])) < 0.002  # < 1/5 of a source pixel
        assert valid.all()


def test_quantize_and_palette_png_round_trip():
    values = np.array([[0.0, 5.0], [10.0, np.nan]])
    valid = np.array([[True, True], [True, True]])
    idx = quantize(values, valid, vmin=0.0, vmax=10.0, levels=255)
    assert idx.tolist() == [[0, 127], [254, 255]]  # 5/10 × 255 = 127.5 → 127; NaN → transparent
    uri = palette_png(idx, [(i, 0, 0, 255) for i in range(255)] + [(0, 0, 0, 0)])
    assert uri.startswith("data:image/png;base64,")
    img = Image.open(io.BytesIO(base64.b64decode(uri.split(",", 1)[1])))
    assert img.mode == "P" and np.asarray(img).tolist() == [[0, 127], [254, 255]]
    assert img.convert("RGBA").getpixel((1, 1))[3] == 0


def test_warp_projected_raster():
    from pyproj import Transformer

    # 200 × 200 UTM 49N raster at 100 m; one marked pixel at row 50, col 120
    data = np.zeros((200, 200), dtype=np.uint8)
    data[50, 120] = 1
    t = Affine(100.0, 0, 400_000.0, 0, -100.0, 4_550_000.0)
    dec = Decimated(np.ma.MaskedArray(data, mask=np.zeros_like(data, bool)), t, rasterio.crs.CRS.from_epsg(32649), 1)
    values, valid, (w, s, e, n) = warp_to_display(dec, max_pixels=90_000)
    rows, cols = np.nonzero(values == 1)
    ny, nx = values.shape
    x0, x1 = MERCATOR_R * np.radians(w), MERCATOR_R * np.radians(e)
    y0 = MERCATOR_R * np.log(np.tan(np.pi / 4 + np.radians(s) / 2))
    y1 = MERCATOR_R * np.log(np.tan(np.pi / 4 + np.radians(n) / 2))
    lon = np.degrees((x0 + (cols.mean() + 0.5) * (x1 - x0) / nx) / MERCATOR_R)
    lat = np.degrees(np.arctan(np.sinh((y1 - (rows.mean() + 0.5) * (y1 - y0) / ny) / MERCATOR_R)))
    want = Transformer.from_crs(32649, 4326, always_xy=True).transform(400_000 + 120.5 * 100, 4_550_000 - 50.5 * 100)
    assert abs(lon - want[0]) < 0.0005 and abs(lat - want[1]) < 0.0005  # < ~50 m, half a source pixel
    assert not valid.all()  # the rotated UTM square does not fill its lon/lat box

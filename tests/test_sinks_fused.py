"""The fused numba kernels of sinks.fused against the numpy arithmetic they replace.

``count_rows2`` (two maps: ``sinkplan change``) must count exactly the pixels of
``area_by_key`` on the key ``(stratum × slots0 + slot0) × slots1 + slot1`` and the same areas
(to the last bits: rows are added in row order rather than in BLAS's order); ``lookup2``
must equal numpy's two-array index; and ``tally_block`` must give the same block result
through the fused path as through the numpy path (raster blocks included).
"""

from __future__ import annotations

import numpy as np
import pytest
import xarray as xr
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays
from rasterio.windows import Window

from sinkplan.layers.grid import Grid
from sinkplan.layers.landcover import ArrayBlocks
from sinkplan.layers.schemes import load_scheme
from sinkplan.layers.tally import area_by_key
from sinkplan.sinks import blocks as B
from sinkplan.sinks.fused import HAVE_NUMBA, count_rows2, lookup, lookup2

pytestmark = pytest.mark.skipif(not HAVE_NUMBA, reason="numba not installed")

# a lon/lat grid of 0.01° pixels at 40–41°N: every row its own pixel area
GRID = Grid("EPSG:4326", Affine(0.01, 0, 110.0, 0, -0.01, 41.0), 40, 30)


def _luts(n0: int, n1: int):
    """Code → slot tables of 256 entries: code c → c % n (so every uint8 code has a slot)."""
    codes = np.arange(256)
    return (codes % n0).astype(np.uint16), (codes % n1).astype(np.uint16)


@settings(max_examples=60, deadline=None)
@given(h=st.integers(1, 12), w=st.integers(1, 15), n0=st.integers(1, 6), n1=st.integers(1, 6),
       nstrata=st.integers(1, 4), data=st.data())
def test_count_rows2_equals_area_by_key(h, w, n0, n1, nstrata, data):
    b = data.draw(arrays(np.uint8, (h, w)))
    a = data.draw(arrays(np.uint8, (h, w)))
    strata = data.draw(arrays(np.uint16, (h, w), elements=st.integers(0, nstrata + 2)))  # ids above the last clip
    lut0, lut1 = _luts(n0, n1)
    nkeys = nstrata * n0 * n1
    window = Window(0, 0, w, h)
    grid = Grid(GRID.crs, GRID.transform, w, h)
    key = (np.minimum(strata.astype(np.int64), nstrata - 1) * n0 + lut0[b]) * n1 + lut1[a]
    want_px, want_area = area_by_key(key, nkeys, grid, window)
    px, area = count_rows2(strata, b, a, lut0, lut1, n0, n1, nkeys, grid.row_areas_m2(window))
    assert np.array_equal(px, want_px)  # counts exactly
    np.testing.assert_allclose(area, want_area, rtol=1e-12, atol=0)  # same sum, another order


def test_count_rows2_by_hand():
    # two rows, row areas 1 and 10 m²; slots 3 × 3, one stratum
    # row 0: (0→1) key 0·3+1 = 1, (1→1) key 4; row 1: (2→2) key 8, (1→0) key 3
    lut = (np.arange(256) % 3).astype(np.uint16)
    b = np.array([[0, 1], [2, 1]], np.uint8)
    a = np.array([[1, 1], [2, 0]], np.uint8)
    px, area = count_rows2(None, b, a, lut, lut, 3, 3, 9, np.array([1.0, 10.0]))
    assert px.tolist() == [0, 1, 0, 1, 1, 0, 0, 0, 1]
    assert area.tolist() == [0.0, 1.0, 0.0, 10.0, 1.0, 0.0, 0.0, 0.0, 10.0]


@given(data=st.data())
@settings(max_examples=40, deadline=None)
def test_lookup2_equals_numpy_index(data):
    h, w = data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9))
    b, a = data.draw(arrays(np.uint8, (h, w))), data.draw(arrays(np.uint8, (h, w)))
    lut0, lut1 = _luts(4, 5)
    table = data.draw(arrays(np.float32, (4, 5), elements=st.floats(-1e6, 1e6, width=32)))
    assert np.array_equal(lookup2(b, a, lut0, lut1, table), table[lut0[b], lut1[a]])


@given(data=st.data(), dtype=st.sampled_from([np.uint8, np.uint16]), out=st.sampled_from([np.float32, np.float64]))
@settings(max_examples=40, deadline=None)
def test_lookup_equals_numpy_index(data, dtype, out):
    h, w = data.draw(st.integers(1, 9)), data.draw(st.integers(1, 9))
    codes = data.draw(arrays(dtype, (h, w)))
    n = 256 if dtype == np.uint8 else 65536
    table = data.draw(arrays(out, n, elements=st.floats(-1e6, 1e6, width=32)))
    got = lookup(codes, table)
    assert got.dtype == out and np.array_equal(got, table[codes])


def test_lookup_by_hand():
    table = np.zeros(256, np.float32)
    table[[1, 7, 255]] = [2.5, 40.0, -1.0]
    assert lookup(np.array([[1, 7], [255, 0]], np.uint8), table).tolist() == [[2.5, 40.0], [-1.0, 0.0]]


def test_codes_must_be_covered_by_the_lookup():
    with pytest.raises(ValueError, match="cover every value"):
        lookup(np.zeros((1, 1), np.uint16), np.zeros(256, np.float32))  # uint16 codes need 65 536 entries
    with pytest.raises(ValueError, match="uint8 or uint16"):
        lookup2(np.zeros((1, 1), np.int32), np.zeros((1, 1), np.uint8), *_luts(2, 2), np.zeros((2, 2), np.float32))


def _blocks(a: np.ndarray) -> ArrayBlocks:
    return ArrayBlocks(xr.DataArray(a, dims=("y", "x")), "test", a.dtype.name)


def test_fused_change_block_equals_the_numpy_path(monkeypatch):
    """A two-map block through the fused kernel = the numpy path: pixels, areas, unknown codes
    (a code 77 the scheme lacks, in the after map only) and both raster blocks."""
    rng = np.random.default_rng(7)
    codes = np.array([1, 2, 3, 4, 5, 7, 0], np.uint8)  # CLCD classes and nodata 0
    before = rng.choice(codes, size=(GRID.height, GRID.width)).astype(np.uint8)
    after = rng.choice(codes, size=(GRID.height, GRID.width)).astype(np.uint8)
    after[6, 4] = after[10, 11] = 77
    scheme = load_scheme("clcd")
    slots = tuple(B.ClassSlots.build(scheme, dtype="uint8", nodata=(0,)) for _ in range(2))
    strata = rng.integers(0, 3, size=(GRID.height, GRID.width)).astype(np.uint16)
    s = slots[0].slots
    luts = (np.arange(s * s, dtype=np.float32).reshape(s, s) / 7, (np.arange(s * s) % 9).astype(np.uint16).reshape(s, s))
    spec = B.PassSpec(GRID, (_blocks(before), _blocks(after)), slots, _blocks(strata), 2, 1, raster_lut=luts)
    window = Window(3, 5, 25, 20)  # columns 3..27, rows 5..24
    fused = B.tally_block(spec, window)
    monkeypatch.setattr(B, "fused_applies", lambda *a: False)
    plain = B.tally_block(spec, window)
    assert np.array_equal(fused.pixels, plain.pixels)
    np.testing.assert_allclose(fused.area_m2, plain.area_m2, rtol=1e-12, atol=0)
    assert fused.unknown == plain.unknown == [{}, {77: 2}]  # both 77 pixels lie inside the window
    for f, p in zip(fused.raster, plain.raster):
        assert f.dtype == p.dtype and np.array_equal(f, p)

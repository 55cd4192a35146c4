"""The land-cover preview built in the counting pass equals the one read after it: the mode of
each cell's own pixels with GDAL's tie rule (sinkplan.sinks.preview)."""

from __future__ import annotations

import pickle
import random

import numpy as np
import pytest
import rasterio
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.windows import Window

from sinkplan.layers.grid import Grid
from sinkplan.sinks import mapfiles as mf
from sinkplan.sinks.preview import PreviewBuilder, mode_of_cells, preview_piece

from sinks_util import write_tif


def _streamed(a: np.ndarray, f: int, nodata, bh: int, bw: int, *, seed: int = 0):
    """The preview of ``a`` from blocks of bh × bw, added in a shuffled order (as a Dask run may
    deliver them), each piece pickled as a worker returns it."""
    H, W = a.shape
    windows = [Window(c, r, min(bw, W - c), min(bh, H - r)) for r in range(0, H, bh) for c in range(0, W, bw)]
    random.Random(seed).shuffle(windows)
    b = PreviewBuilder((H, W), f, nodata, a.dtype)
    for w in windows:
        r, c, h, wd = int(w.row_off), int(w.col_off), int(w.height), int(w.width)
        piece = preview_piece(a[r:r + h, c:c + wd], w, factor=f, shape=(H, W), nodata=nodata)
        b.add(pickle.loads(pickle.dumps(piece)))
    return b.result()


def test_a_tie_across_a_block_edge_by_hand():
    # one 2 × 2 cell [[3, 1], [1, 3]] cut between its two rows: scanned row by row, 1 reaches a
    # count of 2 at the 3rd pixel, 3 only at the 4th, so GDAL keeps 1
    a = np.array([[3, 1], [1, 3]], dtype=np.uint8)
    p = _streamed(a, 2, None, 1, 2)
    assert p.codes.tolist() == [[1]] and p.mask.tolist() == [[False]]
    # nodata 1 left out: 3 is the only code; a cell of only nodata is masked
    assert _streamed(a, 2, 1, 1, 1).codes.tolist() == [[3]]
    assert _streamed(np.ones((2, 2), np.uint8), 2, 1, 1, 1).mask.tolist() == [[True]]


def test_short_last_cells_by_hand():
    # 3 × 5 px, factor 2: cells of 2 × 2, 2 × 1 (last column), 1 × 2 (last row) and 1 × 1
    a = np.array([[1, 1, 2, 2, 4],
                  [1, 2, 2, 5, 4],
                  [7, 7, 9, 2, 6]], dtype=np.uint8)
    # modes: [1,1,1,2] → 1; [2,2,2,5] → 2; [4,4] → 4 / [7,7] → 7; [9,2] → 9 (first to reach 1); [6] → 6
    p = _streamed(a, 2, None, 2, 3)
    assert p.codes.tolist() == [[1, 2, 4], [7, 9, 6]]


@given(st.data())
@settings(max_examples=150, deadline=None)
def test_streamed_preview_equals_the_mode_of_the_whole_array(data):
    H, W = data.draw(st.integers(1, 30)), data.draw(st.integers(1, 30))
    f = data.draw(st.integers(1, 8))
    bh, bw = data.draw(st.integers(1, H)), data.draw(st.integers(1, W))
    dtype = data.draw(st.sampled_from([np.uint8, np.uint16]))
    alphabet = data.draw(st.lists(st.integers(0, 300 if dtype == np.uint16 else 255), min_size=1, max_size=4, unique=True))
    nodata = data.draw(st.sampled_from([None, alphabet[0]]))
    a = np.array(data.draw(st.lists(st.sampled_from(alphabet), min_size=H * W, max_size=H * W)), dtype=dtype).reshape(H, W)
    nr, nc = -(-H // f), -(-W // f)
    want = mf._mode_cells(a, nodata, f, nr, nc)  # the reference: GDAL's mode of each cell
    got = _streamed(a, f, nodata, bh, bw, seed=data.draw(st.integers(0, 9)))
    assert got.codes.shape == (nr, nc) and got.factor == f
    np.testing.assert_array_equal(got.mask, np.ma.getmaskarray(want))
    np.testing.assert_array_equal(np.where(got.mask, 0, got.codes), np.where(np.ma.getmaskarray(want), 0, np.ma.getdata(want)))


def test_a_missing_block_is_an_error_not_a_hole():
    a = np.zeros((4, 4), np.uint8)
    b = PreviewBuilder((4, 4), 2, None, np.uint8)
    b.add(preview_piece(a[:, :3], Window(0, 0, 3, 4), factor=2, shape=(4, 4), nodata=None))  # column 3 never comes
    with pytest.raises(RuntimeError, match="preview incomplete"):
        b.result()


def test_mode_of_cells_checks_nothing_outside_its_cells():
    # cells (0..1) × (1..2) of a 4 × 6 grid, factor 2, from an array holding pixels from (0, 2)
    a = np.array([[5, 5, 6, 6], [5, 1, 6, 6]], dtype=np.uint8)
    codes, mask = mode_of_cells(a, (0, 2), (0, 1, 1, 3), factor=2, shape=(4, 6), nodata=None)
    assert codes.tolist() == [[5, 6]] and not mask.any()


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:32649"])  # the fused (lon/lat) and the numpy block paths
def test_carbon_preview_streamed_equals_gdal_mode_read_after_the_pass(tmp_path, monkeypatch, crs):
    from sinkplan.sinks.api import carbon_stocks
    from sinkplan.sinks.folders import write_carbon
    from sinkplan.sinks.inputs import open_landcovers

    monkeypatch.setattr(mf, "PREVIEW_MAX_PIXELS", 600)  # 97 × 131 px → factor 5: 20 × 27 = 540 cells
    rng = np.random.default_rng(7)
    a = rng.choice([0, 1, 2, 3, 4, 7, 9, 200], size=(97, 131), p=[.1, .3, .2, .1, .1, .1, .05, .05]).astype("uint8")
    a[:, :15] = 0  # whole cells of nodata
    t = Affine(0.001, 0, 110, 0, -0.001, 42) if crs == "EPSG:4326" else Affine(30, 0, 500000, 0, -30, 4600000)
    lc = write_tif(tmp_path / "lc.tif", a, crs=crs, transform=t, block=16)  # no overviews: streamed
    res = carbon_stocks(lc, map_codes="200=7", max_cells=16 * 48)  # blocks of 16 × 48 px: 5 does not divide them
    assert res.preview is not None and res.preview.factor == 5 and res.preview.codes.shape == (20, 27)
    write_carbon(res, tmp_path / "streamed")
    (plain,) = open_landcovers([lc], map_codes="200=7")
    mf.write_landcover_preview(tmp_path / "gdal.tif", plain, max_pixels=600, max_cells=16 * 48)  # GDAL's mode read
    with rasterio.open(tmp_path / "streamed" / "landcover_preview.tif") as s, rasterio.open(tmp_path / "gdal.tif") as g:
        got, want = s.read(1), g.read(1)
        assert s.transform == g.transform == t @ Affine.scale(5, 5) and s.nodata == g.nodata
    np.testing.assert_array_equal(got, want)
    assert (got[:, :3] == g.nodata).all()  # columns 0-14: only nodata
    # the land cover's 200 is mapped to 7 for the tables, but the preview shows the file's codes: 200 is
    # outside the scheme there, so a cell whose mode is 200 shows nodata, as GDAL's read does
    assert set(np.unique(got)) <= {0, 1, 2, 3, 4, 7, 9}


def test_a_raster_with_overviews_keeps_the_read_after_the_pass(tmp_path, monkeypatch):
    from sinkplan.sinks.api import carbon_stocks

    monkeypatch.setattr(mf, "PREVIEW_MAX_PIXELS", 600)
    a = np.random.default_rng(1).choice([1, 2, 4], size=(64, 64)).astype("uint8")
    lc = write_tif(tmp_path / "lc.tif", a, transform=Affine(0.001, 0, 110, 0, -0.001, 42), block=16)
    with rasterio.open(lc, "r+") as ds:
        ds.build_overviews([2, 4], rasterio.enums.Resampling.mode)
    assert carbon_stocks(lc).preview is None  # GDAL reads the overview: cheaper than any work in the pass
    assert carbon_stocks(lc.with_name("lc.tif"), preview=False).preview is None
    b = write_tif(tmp_path / "b.tif", a, transform=Affine(0.001, 0, 110, 0, -0.001, 42), block=16)
    assert carbon_stocks(b).preview.factor == 3  # ceil(64/3)² = 484 ≤ 600 < ceil(64/2)² = 1 024
    assert carbon_stocks(b, preview=False).preview is None


def test_the_preview_read_before_the_pass_writes_the_file_the_read_after_it_writes(tmp_path, monkeypatch):
    import filecmp
    import threading

    from sinkplan.cli import main
    from sinkplan.layers.errors import InputFileError
    from sinkplan.sinks.inputs import open_landcovers

    monkeypatch.setattr(mf, "PREVIEW_MAX_PIXELS", 600)
    a = np.random.default_rng(3).choice([0, 1, 2, 4, 7], size=(197, 261)).astype("uint8")
    t = Affine(0.001, 0, 110, 0, -0.001, 42)
    lc = write_tif(tmp_path / "lc.tif", a, transform=t, block=16)
    with rasterio.open(lc, "r+") as ds:
        ds.build_overviews([2, 4], rasterio.enums.Resampling.mode)
    (land,) = open_landcovers([lc])
    # factor 10 (20 × 27 = 540 ≤ 600 cells; 9 gives 22 × 29 = 638); the 4× overview is read in
    # tiles of 1 024 · 4² / 10² = 163 cells: 27 columns × 6 rows, so 4 tiles
    mf.write_landcover_preview(tmp_path / "after.tif", land, max_pixels=600, max_cells=1024)
    read = mf.PreviewRead(land, max_pixels=600, max_cells=1024)
    mf.write_landcover_preview(tmp_path / "before.tif", land, max_pixels=600, max_cells=1024, computed=read)
    assert filecmp.cmp(tmp_path / "after.tif", tmp_path / "before.tif", shallow=False)
    assert mf._PreviewTiles(land, 600, 1024).tiles == [(0, 0), (6, 0), (12, 0), (18, 0)]
    got = mf.read_landcover_preview(land, max_pixels=600, max_cells=1024)
    assert got.factor == 10 and got.codes.shape == got.mask.shape == (20, 27)
    with rasterio.open(tmp_path / "after.tif") as f:
        np.testing.assert_array_equal(f.read(1), np.where(got.mask, f.nodata, got.codes))
    stopped = threading.Event()
    stopped.set()
    assert mf.read_landcover_preview(land, max_pixels=600, max_cells=1024, stop=stopped) is None
    # the command starts the read before the pass: the same file
    assert main(["carbon", str(lc), "--out", str(tmp_path / "cmd"), "--quiet", "--max-cells", "1024"]) == 0
    assert filecmp.cmp(tmp_path / "after.tif", tmp_path / "cmd" / "landcover_preview.tif", shallow=False)
    # a read that fails (the file is gone) raises in the thread that asks for the result
    (tmp_path / "lc.tif").unlink()
    gone = mf.PreviewRead(land, max_pixels=600, max_cells=1024)
    with pytest.raises(InputFileError, match="lc.tif: file not found"):
        gone.result()
    gone.cancel()

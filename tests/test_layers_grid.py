"""Grid: block iteration, per-block areas adding up, reading from files, mismatches."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS

from sinkplan.layers.errors import GridMismatch, InputFileError, MissingCRS
from sinkplan.layers.grid import Grid
from sinkplan.layers.tally import area_by_key

grids = st.builds(
    lambda w, h, bh, bw: (w, h, (bh, bw)),
    st.integers(1, 300), st.integers(1, 300), st.integers(1, 64), st.integers(1, 300),
)


@settings(max_examples=200, deadline=None)
@given(spec=grids, max_cells=st.integers(1, 40_000))
def test_blocks_cover_every_pixel_exactly_once(spec, max_cells):
    w, h, block_shape = spec
    g = Grid(CRS.from_epsg(4326), Affine(0.01, 0, 100, 0, -0.01, 50), w, h, block_shape)
    hits = np.zeros((h, w), dtype=np.int32)
    windows = list(g.blocks(max_cells))
    for win in windows:
        assert 0 < win.width * win.height <= max_cells
        hits[win.row_off:win.row_off + win.height, win.col_off:win.col_off + win.width] += 1
    assert (hits == 1).all()
    assert len(windows) == g.n_blocks(max_cells)


@settings(max_examples=60, deadline=None)
@given(spec=grids, max_cells=st.integers(64, 20_000), lat=st.floats(-60, 60),
       epsg=st.sampled_from([4326, 4490, 32649, 6933]))
def test_block_areas_add_up_to_whole(spec, max_cells, lat, epsg):
    w, h, block_shape = spec
    crs = CRS.from_epsg(epsg)
    t = Affine(0.001, 0, 111, 0, -0.001, lat) if crs.is_geographic else Affine(30, 0, 600_000, 0, -30, 4_000_000)
    g = Grid(crs, t, w, h, block_shape)
    whole = g.pixel_areas_m2(g.full_window()).sum()
    by_block = sum(g.pixel_areas_m2(win).sum() for win in g.blocks(max_cells))
    assert by_block == pytest.approx(whole, rel=1e-12)
    assert g.total_area_m2(max_cells) == pytest.approx(whole, rel=1e-12)


def test_blocks_align_to_internal_tiles():
    g = Grid(CRS.from_epsg(4326), Affine(0.01, 0, 100, 0, -0.01, 50), 10_000, 5_000, (256, 256))
    bh, bw = g.block_shape_for(4 * 1024 * 1024)
    # A 256-row strip of 10 000 columns fits 4 Mi cells; 4 Mi // 10 000 = 419 rows → 256.
    assert (bh, bw) == (256, 10_000)
    bh, bw = g.block_shape_for(256 * 1024)
    assert bh % 256 == 0 and bw % 256 == 0 and bh * bw <= 256 * 1024


def test_area_by_key_lonlat_by_hand():
    # 2 × 2 pixels of 1° at 0–2°N: row 0 (1–2°N) and row 1 (0–1°N) have their own areas.
    g = Grid(CRS.from_epsg(4326), Affine(1, 0, 0, 0, -1, 2), 2, 2)
    rows = g.row_areas_m2(g.full_window())
    keys = np.array([[0, 1], [1, 1]])
    pixels, area = area_by_key(keys, 2, g, g.full_window())
    assert pixels.tolist() == [1, 3]
    assert area[0] == rows[0]
    assert area[1] == pytest.approx(rows[0] + 2 * rows[1], rel=1e-15)
    valid = np.array([[True, False], [True, True]])
    pixels, area = area_by_key(keys, 2, g, g.full_window(), valid=valid)
    assert pixels.tolist() == [1, 2]


def test_area_by_key_many_keys_uses_weights():
    # More keys than fit a per-row table: same result through the weighted path.
    g = Grid(CRS.from_epsg(4326), Affine(0.1, 0, 0, 0, -0.1, 50), 3, 4)
    keys = np.arange(12).reshape(4, 3) * 100
    pixels, area = area_by_key(keys, 1200, g, g.full_window())
    rows = g.row_areas_m2(g.full_window())
    assert pixels.sum() == 12
    assert area[1100] == rows[3]
    assert area.sum() == pytest.approx(rows.sum() * 3, rel=1e-14)


def test_from_raster_reads_grid(write_raster):
    path = write_raster(np.ones((3, 4), "uint8"), tiled=False)
    g = Grid.from_raster(path)
    assert (g.width, g.height) == (4, 3)
    assert g.crs == CRS.from_epsg(4326)
    assert g.bounds == pytest.approx((110, 41.97, 110.04, 42.0))


def test_missing_crs_is_an_error_naming_the_file(write_raster):
    path = write_raster(np.ones((3, 4), "uint8"), crs=None, name="nocrs.tif")
    with pytest.raises(MissingCRS, match=r"nocrs\.tif: raster has no CRS; set it with: gdal_edit"):
        Grid.from_raster(path)


def test_missing_file_and_unreadable(tmp_path):
    with pytest.raises(InputFileError, match=r"nope\.tif: file not found"):
        Grid.from_raster(tmp_path / "nope.tif")
    bad = tmp_path / "bad.tif"
    bad.write_text("not a raster")
    with pytest.raises(InputFileError, match=r"bad\.tif: not a readable raster"):
        Grid.from_raster(bad)


def test_grid_mismatch_names_what_differs():
    a = Grid(CRS.from_epsg(4326), Affine(0.01, 0, 100, 0, -0.01, 50), 10, 10)
    b = Grid(CRS.from_epsg(4326), Affine(0.01, 0, 100, 0, -0.01, 50), 10, 11)
    c = Grid(CRS.from_epsg(4326), Affine(0.01, 0, 100.005, 0, -0.01, 50), 10, 10)
    a.check_same(Grid(CRS.from_epsg(4326), Affine(0.01, 0, 100, 0, -0.01, 50), 10, 10))
    with pytest.raises(GridMismatch, match=r"lc2015 and lc2020 are not on the same grid \(shape 10×10 vs 11×10\)"):
        a.check_same(b, names=("lc2015", "lc2020"))
    with pytest.raises(GridMismatch, match="transform"):
        a.check_same(c)
    alb = CRS.from_proj4("+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +datum=WGS84 +units=m")
    d = Grid(alb, Affine(30, 0, 0, 0, -30, 0), 10, 10)
    with pytest.raises(GridMismatch, match=r"CRS EPSG:4326 vs \+proj=aea .*\+lat_1=25"):
        a.check_same(d)


def test_empty_grid_refused():
    with pytest.raises(ValueError, match="empty"):
        Grid(CRS.from_epsg(4326), Affine(1, 0, 0, 0, -1, 0), 0, 3)


def test_square_blocks_fill_whole_overview_tiles():
    # a 104 040 × 57 600 grid tiled 512 × 512 (the 6 Gpx benchmark), 1 Mi cells a block:
    # strips of one tile row (512 × 2048) by default; square 1024 × 1024 on request
    g = Grid(CRS.from_epsg(4326), Affine(0.00027, 0, 97.2, 0, -0.00027, 53.4), 104_040, 57_600, block_shape=(512, 512))
    assert g.block_shape_for(1 << 20) == (512, 2048)
    assert g.block_shape_for(1 << 20, square=True) == (1024, 1024)
    assert g.block_shape_for(1 << 22, square=True) == (2048, 2048)
    # ceil(57 600 / 1024) = 57 rows of blocks × ceil(104 040 / 1024) = 102 columns
    assert g.n_blocks(1 << 20, square=True) == 57 * 102
    # each block's 2 × 2 reduction starts on a 512-pixel tile of the first overview
    assert all(int(w.row_off) // 2 % 512 == 0 and int(w.col_off) // 2 % 512 == 0 for w in g.blocks(1 << 20, square=True))
    # a striped file, or a grid narrower than a square block's side, keeps full-width strips
    striped = Grid(g.crs, g.transform, 104_040, 57_600, block_shape=(1, 104_040))
    assert striped.block_shape_for(1 << 20, square=True) == striped.block_shape_for(1 << 20) == (10, 104_040)
    narrow = Grid(g.crs, g.transform, 900, 5000, block_shape=(512, 512))
    assert narrow.block_shape_for(1 << 20, square=True) == narrow.block_shape_for(1 << 20) == (1024, 900)


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 3000), st.integers(1, 3000), st.sampled_from([(16, 16), (256, 256), (1, 0)]), st.integers(64, 1 << 16))
def test_square_blocks_cover_every_pixel_once(w, h, block, max_cells):
    g = Grid(CRS.from_epsg(4326), Affine(0.01, 0, 100, 0, -0.01, 40), w, h,
             block_shape=(block[0], block[1] or w))
    seen = np.zeros((h, w), np.int8)
    for win in g.blocks(max_cells, square=True):
        r, c, hh, ww = int(win.row_off), int(win.col_off), int(win.height), int(win.width)
        seen[r:r + hh, c:c + ww] += 1
        assert hh * ww <= max(max_cells, block[0] * (block[1] or w))  # the budget, or one internal block
    assert (seen == 1).all()

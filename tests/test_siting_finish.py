"""The second pass of site (siting.parcels.finish_rasters): rasters, small-parcel area and outlines
from hand-made scratch rasters, identical whatever the thread count and the block size."""

from __future__ import annotations

from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from shapely.geometry import box

from sinkplan.layers.grid import Grid
from sinkplan.siting.components import Joined
from sinkplan.siting.inputs import ScratchRaster
from sinkplan.siting.parcels import finish_rasters

H, W, RES, X0, Y0 = 12, 14, 100.0, 1_000_000.0, 4_000_000.0  # EPSG:6933 (equal area): 100 m × 100 m = 1 ha pixels
SMALL_BIT = 5

#: Parcel ids by pixel: 0 excluded, -1 eligible but in a component below the minimum area.
TRUTH = np.zeros((H, W), dtype=np.int64)
TRUTH[1:5, 2:11] = 1  # a 4 × 9 rectangle, cut by the block edges
TRUTH[7:11, 1:3] = 2  # an L: a 4 × 2 bar and its 2 × 5 foot
TRUTH[9:11, 3:8] = 2
TRUTH[6:8, 10:12] = -1  # a 2 × 2 component too small for a parcel: 4 ha
TRUTH[11, 13] = -1  # and a lone pixel at the grid's corner: 1 ha
ZONES = np.where(np.arange(W) < 6, 1, 3).astype(np.uint8)[None, :].repeat(H, axis=0)  # desert west, mine east


def _scratch(d, max_cells):
    """Scratch rasters as the first pass leaves them: per block, labels 1..k of the block's own
    components (by first appearance), and the lookup global label (offset + k) → parcel id."""
    with rasterio.open(d / "lc.tif", "w", driver="GTiff", width=W, height=H, count=1, dtype="uint8",
                       crs="EPSG:6933", transform=Affine(RES, 0, X0, 0, -RES, Y0)) as dst:
        dst.write(np.ones((H, W), dtype=np.uint8), 1)
    grid = Grid.from_raster(d / "lc.tif")
    windows = list(grid.blocks(max_cells))
    sb, sl, sz = (ScratchRaster(d / f"{n}.tif", grid, t) for n, t in (("bits", "uint16"), ("labels", "uint32"),
                                                                       ("zones", "uint8")))
    lut, offsets = [0], []
    for w in windows:
        r, c = slice(w.row_off, w.row_off + w.height), slice(w.col_off, w.col_off + w.width)
        t = TRUTH[r, c]
        values = list(dict.fromkeys(t[t != 0].tolist()))  # components of this block, in order of appearance
        lab = np.zeros(t.shape, dtype=np.uint32)
        for k, v in enumerate(values, start=1):
            lab[t == v] = k
        offsets.append(len(lut) - 1)
        lut += [max(v, 0) for v in values]
        sb.write(np.where(t == 0, 1 << 2, 0).astype(np.uint16), w)  # excluded pixels carry bit 2
        sl.write(lab, w)
        sz.write(ZONES[r, c], w)
    for s in (sb, sl, sz):
        s.close()
    joined = Joined(table=pd.DataFrame(), label_to_parcel=np.array(lut, dtype=np.int64), offsets=offsets,
                    n_components=len(lut) - 1)
    return grid, windows, joined, (sb, sl, sz)


def _finish(d, max_cells, threads):
    d.mkdir()
    grid, windows, joined, scratch = _scratch(d, max_cells)
    rules = [SimpleNamespace(bit=2, name="redline", description="ecological redline")]
    geoms, small = finish_rasters(grid, windows, joined, rules, "uint16", SMALL_BIT, *scratch,
                                  exclusions_path=d / "ex.tif", eligible_path=d / "el.tif", parcels_path=d / "pa.tif",
                                  tags={"tech": "pv"}, threads=threads)
    rasters = {}
    for n in ("ex", "el", "pa"):
        with rasterio.open(d / f"{n}.tif") as src:
            rasters[n] = src.read(1)
    return geoms, small, rasters, len(windows)


def test_rasters_small_area_and_outlines_by_hand(tmp_path):
    geoms, small, r, nblocks = _finish(tmp_path / "a", 16, 2)
    assert nblocks > 10  # many blocks: every parcel is cut by block edges
    np.testing.assert_array_equal(r["pa"], np.maximum(TRUTH, 0).astype(np.uint32))
    np.testing.assert_array_equal(r["el"], np.where(TRUTH > 0, ZONES, 0))
    # excluded pixels keep bit 2 (4); the five small-component pixels get the small_parcel bit (32); parcels 0
    np.testing.assert_array_equal(r["ex"], np.select([TRUTH == 0, TRUTH == -1], [4, 32], 0))
    assert small == pytest.approx(5 * RES * RES, rel=1e-9)  # 4 + 1 pixels of 1 ha: 50 000 m²
    assert sorted(geoms) == [1, 2]
    x = lambda c: X0 + c * RES  # noqa: E731
    y = lambda r: Y0 - r * RES  # noqa: E731
    assert shapely.equals(geoms[1], box(x(2), y(5), x(11), y(1)))  # one rectangle, whatever the blocks
    ell = shapely.union(box(x(1), y(11), x(3), y(7)), box(x(3), y(11), x(8), y(9)))
    assert shapely.equals(geoms[2], ell) and shapely.get_num_coordinates(geoms[2]) == 7  # 6 corners, closed
    assert geoms[1].area == 36 * RES * RES and geoms[2].area == (8 + 10) * RES * RES


@pytest.mark.parametrize("max_cells", [16, 3 * W, H * W])
def test_the_same_whatever_the_threads(tmp_path, max_cells):
    ref_geoms, ref_small, ref_r, _ = _finish(tmp_path / "t1", max_cells, 1)
    for threads in (2, 3):
        geoms, small, r, _ = _finish(tmp_path / f"t{threads}", max_cells, threads)
        assert small == ref_small  # summed in window order: exactly equal
        for n in r:
            np.testing.assert_array_equal(r[n], ref_r[n])
        assert {p: shapely.to_wkb(g) for p, g in geoms.items()} == {p: shapely.to_wkb(g) for p, g in ref_geoms.items()}


def test_threaded_imap_keeps_order_bounds_work_ahead_and_raises():
    import threading
    import time

    from sinkplan.layers.parallel import threaded_imap

    started, lock = [], threading.Lock()

    def work(x):
        with lock:
            started.append(x)
        time.sleep(0.02 * (5 - x))  # the first items finish last
        return x * 10

    it = threaded_imap(work, list(range(6)), 2)
    assert next(it) == 0
    assert len(started) <= 4  # at most 2 × threads submitted before the first result is taken
    assert list(it) == [10, 20, 30, 40, 50]  # in the order of the items, not of completion

    def fail(x):
        if x == 1:
            raise ValueError("block 1")
        return x

    with pytest.raises(ValueError, match="block 1"):
        list(threaded_imap(fail, [0, 1, 2, 3], 2))
    seen = []
    assert list(threaded_imap(lambda x: x + 1, [1, 2], 1, progress=lambda f, label: seen.append((f, label)),
                              label="pass")) == [2, 3]
    assert seen == [(0.5, "pass"), (1.0, "pass")]

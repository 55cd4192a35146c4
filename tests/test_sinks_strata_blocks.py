"""Zones rasterized inside the pass equal the cached stratum raster; a cluster whose workers
cannot read an input or the cache gets one line naming it (and SINKPLAN_CACHE_DIR)."""

from __future__ import annotations

import pickle

import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.windows import Window

from sinkplan.layers.errors import InputFileError
from sinkplan.layers.grid import Grid
from sinkplan.sinks.blocks import ClassSlots, PassSpec, check_workers_read, run_pass
from sinkplan.sinks.strata import StrataBlocks, prepare_strata, strata_block
from sinkplan.layers.schemes import load_scheme

from sinks_util import assert_one_line_error, run_cli, write_polys, write_tif


@pytest.fixture()
def layers(tmp_path):
    t = Affine(0.001, 0, 110, 0, -0.001, 43)  # 1 000 × 800 px over 110–111°E, 42.2–43°N
    codes = np.random.default_rng(2).integers(0, 10, size=(800, 1000)).astype("uint8")
    lc = write_tif(tmp_path / "lc.tif", codes, transform=t, block=128)
    # zone 甲 is large (many 128-px blocks lie wholly inside it: filled without rasterizing);
    # 乙 a slanted-edge triangle is approximated by rectangles meeting 甲
    zones = write_polys(tmp_path / "z.gpkg", [(110.0, 42.2, 110.7, 43.0), (110.7, 42.5, 111.0, 42.9)], name=["甲", "乙"])
    red = write_polys(tmp_path / "r.gpkg", [(110.3, 42.3, 110.85, 42.75)])
    return tmp_path, lc, zones, red, codes


@pytest.mark.parametrize("piece", [128, 2048])  # a window split into pieces (some filled), and one piece
def test_in_pass_strata_equal_the_cached_raster(layers, piece, monkeypatch):
    from sinkplan.layers.zones import BlockZones

    monkeypatch.setattr(BlockZones, "PIECE", piece)
    d, lc, zones, red, _ = layers
    grid = Grid.from_raster(lc)
    cached = prepare_strata(grid, zones=zones, zone_field="name", redline=red, folder=d / "cache")
    inpass = prepare_strata(grid, zones=zones, zone_field="name", redline=red)
    assert cached.path is not None and inpass.path is None and isinstance(inpass.source, StrataBlocks)
    assert inpass.names == cached.names == ("(outside zones)", "甲", "乙") and inpass.sides == 2
    with rasterio.open(cached.path) as src:
        whole = src.read(1)
    # every window of a 128-px tiling, and odd windows, the same as the cached raster
    blocks = pickle.loads(pickle.dumps(inpass.source))  # as a Dask worker receives it
    # the whole grid at once is split into 128-px pieces (some wholly inside 甲, filled without rasterizing)
    for w in list(grid.blocks(128 * 128)) + [Window(3, 5, 301, 77), Window(900, 700, 100, 100), grid.full_window()]:
        r, c, h, wd = int(w.row_off), int(w.col_off), int(w.height), int(w.width)
        assert np.array_equal(blocks(w), whole[r:r + h, c:c + wd]), w
        assert np.array_equal(strata_block(cached.source, w), whole[r:r + h, c:c + wd])
    # pixel (row 100, col 100) = (110.1005°E, 42.8995°N): in 甲 (id 1), outside the redline → 1 × 2 + 0
    # pixel (row 500, col 500) = (110.5005°E, 42.4995°N): in 甲 and in the redline → 1 × 2 + 1
    # pixel (row 300, col 800) = (110.8005°E, 42.6995°N): in 乙 (id 2) and in the redline → 2 × 2 + 1
    assert (whole[100, 100], whole[500, 500], whole[300, 800]) == (2, 3, 5)


def test_pass_results_identical_in_pass_and_cached(layers):
    d, lc, zones, red, codes = layers
    grid = Grid.from_raster(lc)
    slots = ClassSlots.build(load_scheme("clcd"), dtype="uint8", nodata=(0,))
    res = []
    for st in (prepare_strata(grid, zones=zones, zone_field="name", redline=red, folder=d / "cache"),
               prepare_strata(grid, zones=zones, zone_field="name", redline=red)):
        spec = PassSpec(grid, (str(lc),), (slots,), st.source, st.nzones, st.sides)
        res.append(run_pass(spec, max_cells=128 * 128, threads=2))
    assert np.array_equal(res[0].pixels, res[1].pixels) and np.array_equal(res[0].area_m2, res[1].area_m2)
    assert res[0].pixels.sum() == codes.size  # every pixel counted once: 800 × 1 000


class _Workers:
    """An executor whose workers cannot read some paths (as a remote worker with its own /tmp)."""

    uses_dask = True

    def __init__(self, hidden):
        self.hidden = hidden

    def unreadable(self, paths):
        return {p: ["tcp://10.0.0.7:40001"] for p in paths if p in self.hidden}


def test_workers_that_cannot_read_get_one_line_naming_the_path(layers, monkeypatch):
    d, lc, zones, red, _ = layers
    grid = Grid.from_raster(lc)
    slots = ClassSlots.build(load_scheme("clcd"), dtype="uint8", nodata=(0,))
    st = prepare_strata(grid, zones=zones, zone_field="name", folder=d / "cache")
    monkeypatch.setenv("SINKPLAN_CACHE_DIR", str(d / "cache"))
    spec = PassSpec(grid, (str(lc),), (slots,), st.source, st.nzones, st.sides)
    with pytest.raises(InputFileError, match=r"Dask worker tcp://10\.0\.0\.7:40001 cannot read the zone cache .*strata-.*"
                       r"SINKPLAN_CACHE_DIR=.*cache\): set SINKPLAN_CACHE_DIR to a folder every worker reads"):
        check_workers_read(spec, _Workers({str(st.path)}))
    with pytest.raises(InputFileError, match=r"cannot read .*lc\.tif: a worker shares only the data path"):
        check_workers_read(spec, _Workers({str(lc)}))
    check_workers_read(spec, _Workers(set()))  # all readable: no error
    # in-pass strata have no file to read: only the land cover is checked
    spec2 = PassSpec(grid, (str(lc),), (slots,), prepare_strata(grid, zones=zones, zone_field="name").source, 2, 1)
    check_workers_read(spec2, _Workers({str(st.path)}))


@pytest.mark.dask
def test_cli_cache_on_a_folder_workers_cannot_read_is_one_line(layers, tmp_path, monkeypatch, capsys):
    # A real local cluster; the cache is made unreadable to the workers by hiding it from
    # the check they run (os.access), as a worker on another machine would not see it.
    from dask.distributed import LocalCluster

    d, lc, zones, red, _ = layers
    monkeypatch.setenv("SINKPLAN_CACHE_DIR", str(d / "cache"))
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as c:
        import sinkplan.layers.parallel as par

        real = par.readable
        monkeypatch.setattr(par, "readable", lambda paths: [("strata-" not in p) and ok for p, ok in zip(paths, real(paths))])
        out = tmp_path / "o"
        code, err = run_cli(["carbon", str(lc), "--zones", str(zones), "--zone-field", "name", "--no-raster",
                             "--scheduler", c.scheduler_address, "--out", str(out)], capsys)
    assert_one_line_error(code, err, "cannot read the zone cache", out)
    assert "SINKPLAN_CACHE_DIR" in err


def test_threads_share_one_rasterizer(layers):
    # The pass's threads rasterize blocks of one StrataBlocks at once; its index is built once
    # under a lock (lazily preparing geometries from two threads crashed a 6 Gpx run).
    from concurrent.futures import ThreadPoolExecutor

    d, lc, zones, red, _ = layers
    grid = Grid.from_raster(lc)
    windows = list(grid.blocks(128 * 128))
    serial = [prepare_strata(grid, zones=zones, zone_field="name", redline=red).source(w) for w in windows]
    for _ in range(5):
        fresh = pickle.loads(pickle.dumps(prepare_strata(grid, zones=zones, zone_field="name", redline=red).source))
        with ThreadPoolExecutor(8) as pool:
            got = list(pool.map(fresh, windows))
        assert all(np.array_equal(a, b) for a, b in zip(got, serial))



def test_zones_rasterized_in_threads_equal_one_thread_and_print_no_georef_warning(layers):
    """rasterio silences "Dataset has no geotransform" with ``warnings.catch_warnings()``, which
    is not thread-safe: rasterized in threads, the warning leaked to the terminal of 460 Mpx runs.
    The pass's thread pool (``threaded_imap``) filters it; the burned ids never depended on it.
    Run in a fresh interpreter, with the warning filters a command starts with."""
    import subprocess
    import sys

    d, lc, zones, red, _ = layers
    script = f"""
import numpy as np
from sinkplan.layers.grid import Grid
from sinkplan.layers.parallel import threaded_imap
from sinkplan.layers.zones import BlockZones
from sinkplan.sinks.strata import prepare_strata
BlockZones.PIECE = 32  # many rasterize calls per window: many chances to race
grid = Grid.from_raster({str(lc)!r})
src = prepare_strata(grid, zones={str(zones)!r}, zone_field="name", redline={str(red)!r}).source
windows = list(grid.blocks(128 * 128)) * 12
alone = [src(w) for w in windows]
together = list(threaded_imap(src, windows, 4))  # as the pass runs its blocks
print(sum(np.array_equal(a, b) for a, b in zip(alone, together)), len(windows))
"""
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    n = len(list(Grid.from_raster(lc).blocks(128 * 128))) * 12  # 8 × 7 tiles of 128 px over 1 000 × 800, 12 times
    assert done.stdout.split() == [str(n), str(n)]  # every window the same in threads as alone
    assert "geotransform" not in done.stderr, done.stderr


def test_block_zones_burn_in_the_asked_dtype_and_refuse_one_too_small():
    import shapely

    from sinkplan.layers.zones import BlockZones

    # pixel frame (x right, y = -row): zone 300 covers columns 0-3 of rows 0-1, zone 2 columns 4-7
    bz = BlockZones(np.array([shapely.box(0, -2, 4, 0), shapely.box(4, -2, 8, 0)]), np.array([300, 2]))
    want = np.array([[300] * 4 + [2] * 4] * 2 + [[0] * 8], dtype=np.int32)  # row 2 is outside both
    for dtype in ("int32", "uint16"):
        got = bz.rasterize(Window(0, 0, 8, 3), dtype)
        assert got.dtype == np.dtype(dtype) and np.array_equal(got, want)
    assert np.array_equal(bz.mask(Window(0, 0, 8, 3)), want > 0)
    with pytest.raises(ValueError, match="zone ids up to 300 do not fit uint8"):
        bz.rasterize(Window(0, 0, 8, 3), "uint8")

"""The local-Dask path of a pass: several blocks per task, results still yielded block by block
in window order (the same sums as one process, bit for bit), and workers that reuse a block's
memory for the next block (no fixed ``MALLOC_TRIM_THRESHOLD_``)."""

from __future__ import annotations

import operator
import os
import subprocess
import sys

import numpy as np
import pytest
from affine import Affine
from rasterio.windows import Window

import sinkplan.layers.parallel as par
from sinkplan.layers.grid import Grid
from sinkplan.layers.parallel import BlockExecutor, map_blocks
from sinkplan.layers.schemes import load_scheme
from sinkplan.sinks.blocks import ClassSlots, PassSpec, run_pass
from sinkplan.sinks.strata import prepare_strata

from sinks_util import write_polys, write_tif


#: What a window is (a picklable callable the workers can import: the test module is not on their path).
_cells = operator.attrgetter("row_off", "col_off", "height", "width")


def test_batch_for_arithmetic():
    ex = BlockExecutor(workers=2)  # not started: 2 workers as asked
    # 1 469 blocks (6 Gpx): 1 469 // (8 tasks × 2 workers) = 91 ≥ 16 → TASK_BLOCKS = 16
    assert ex.batch_for(1469) == 16
    # 128 blocks (460 Mpx): 128 // 16 = 8 blocks per task → 16 tasks, 8 per worker
    assert ex.batch_for(128) == 8
    # 10 blocks: 10 // 16 = 0 → 1 (one block per task)
    assert ex.batch_for(10) == 1
    # results of 4 MiB per block: 16 MiB // 4 MiB = 4 per task
    assert ex.batch_for(1469, result_bytes=4 * 2**20) == 4
    # results larger than the task budget: still one block per task
    assert ex.batch_for(1469, result_bytes=64 * 2**20) == 1
    assert BlockExecutor().batch_for(1469) == 1  # no Dask: no tasks


@pytest.fixture(scope="module")
def dask2():
    ex = BlockExecutor(workers=2)
    ex.trim_before = os.environ.get("MALLOC_TRIM_THRESHOLD_")  # this process's, before any worker starts
    with ex:
        yield ex


@pytest.mark.dask
def test_batched_imap_yields_every_window_in_order(dask2):
    windows = [Window(c, r, 3 + c, 2) for r in range(0, 8, 2) for c in range(5)]  # 20 windows of 2 × (3..7) px
    seen = []
    out = list(dask2.imap(_cells, windows, batch=3, progress=lambda f, label: seen.append((f, label)), label="x"))
    # 20 windows in 7 tasks (3 + 3 + 3 + 3 + 3 + 3 + 2), yielded one by one as func(window)
    assert out == [_cells(w) for w in windows]
    assert seen == [((i + 1) / 20, "x") for i in range(20)]
    assert list(map_blocks(_cells, windows[:4], executor=dask2, batch=16)) == [_cells(w) for w in windows[:4]]


@pytest.mark.dask
def test_local_workers_run_with_glibc_malloc_defaults(dask2):
    # The nanny's pre-spawn MALLOC_TRIM_THRESHOLD_=65536 is unset for sinkplan's own workers,
    # and not written into this process's environment either.
    seen = dask2._client.run(os.environ.get, "MALLOC_TRIM_THRESHOLD_")
    assert len(seen) == 2 and set(seen.values()) == {dask2.trim_before}  # None unless the user set it
    assert os.environ.get("MALLOC_TRIM_THRESHOLD_") == dask2.trim_before
    # the other variables the nanny sets still reach the workers (one BLAS / OpenMP thread each)
    assert set(dask2._client.run(os.environ.get, "OMP_NUM_THREADS").values()) == {"1"}


@pytest.fixture(scope="module")
def layers(tmp_path_factory):
    d = tmp_path_factory.mktemp("batch")
    t = Affine(0.001, 0, 110, 0, -0.001, 43)  # 1 000 × 800 px, rows of different pixel areas
    codes = np.random.default_rng(5).integers(0, 10, size=(800, 1000)).astype("uint8")
    lc = write_tif(d / "lc.tif", codes, transform=t, block=64)
    zones = write_polys(d / "z.gpkg", [(110.0, 42.2, 110.63, 43.0), (110.63, 42.45, 111.0, 42.93)], name=["甲", "乙"])
    return lc, zones, codes


@pytest.mark.dask
def test_batched_dask_pass_equals_one_process_bit_for_bit(layers, dask2, monkeypatch):
    lc, zones, codes = layers
    grid = Grid.from_raster(lc)
    slots = ClassSlots.build(load_scheme("clcd"), dtype="uint8", nodata=(0,))
    st = prepare_strata(grid, zones=zones, zone_field="name")
    spec = PassSpec(grid, (str(lc),), (slots,), st.source, st.nzones, st.sides)
    cells = 64 * 128  # 64 × 128 px blocks: 13 rows × 8 columns = 104 blocks
    assert grid.n_blocks(cells) == 13 * 8
    one = run_pass(spec, max_cells=cells)
    # 104 // (8 × 2) = 6 blocks per task → 18 tasks (17 × 6 + 2)
    assert dask2.batch_for(104, result_bytes=8 * spec.nkeys * 2) == 6
    calls = []
    real = par.BlockExecutor.imap
    monkeypatch.setattr(par.BlockExecutor, "imap", lambda self, *a, **k: calls.append(k["batch"]) or real(self, *a, **k))
    many = run_pass(spec, max_cells=cells, executor=dask2)
    assert calls == [6]
    assert np.array_equal(one.pixels, many.pixels)
    assert np.array_equal(one.area_m2, many.area_m2)  # float64 sums in the same order: identical bits
    assert one.pixels.sum() == codes.size == 800 * 1000
    # a pass that returns raster blocks keeps one block per task (a block's raster is 4 B/px)
    spec_r = PassSpec(grid, (str(lc),), (slots,), st.source, st.nzones, st.sides,
                      raster_lut=np.arange(slots.slots, dtype=np.float32))
    calls.clear()
    rast = run_pass(spec_r, max_cells=cells, executor=dask2, on_raster=lambda b, w: None)
    assert calls == [1] and np.array_equal(rast.area_m2, one.area_m2)


FAULTS = """
import resource, sys
import numpy as np
from sinkplan.layers.parallel import tune_worker_malloc

def faults():
    r0 = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(5):
        a = np.ones(4 * 2**20, dtype=np.int32)  # 16 MiB, like a 4 Mpx block's int32 strata
        del a
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - r0

before = faults()
tuned = tune_worker_malloc()
faults()  # the first allocation after tuning grows the heap once
after = faults()
print(before, tuned, after)
"""


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc malloc")
def test_a_worker_started_with_a_fixed_trim_threshold_reuses_block_memory():
    # With MALLOC_TRIM_THRESHOLD_ set (as a `dask worker` nanny sets it) glibc mmaps every
    # 16 MiB array and unmaps it on free: each new one is faulted in again, page by page.
    # After tune_worker_malloc the freed array stays in the heap and the next one reuses it.
    # numpy's huge-page advice off, so a fault is one page (huge pages would make them 512 × fewer).
    env = dict(os.environ, MALLOC_TRIM_THRESHOLD_="65536", NUMPY_MADVISE_HUGEPAGE="0")
    before, tuned, after = subprocess.run([sys.executable, "-c", FAULTS], env=env, capture_output=True, text=True,
                                          check=True).stdout.split()
    assert tuned == "True"
    pages = 16 * 2**20 // os.sysconf("SC_PAGE_SIZE")  # 16 MiB / 4 KiB = 4 096 pages per array
    assert int(before) >= 5 * pages  # five arrays, every page faulted in (20 486 measured)
    assert int(after) < pages  # the heap's pages are reused (0 measured)
    # without the variable glibc adapts by itself: nothing is changed
    env = {k: v for k, v in env.items() if k != "MALLOC_TRIM_THRESHOLD_"}
    assert subprocess.run([sys.executable, "-c", FAULTS], env=env, capture_output=True, text=True,
                          check=True).stdout.split()[1] == "False"


@pytest.mark.dask
def test_pass_threads_is_one_on_a_worker(dask2, monkeypatch):
    from sinkplan.layers.parallel import pass_threads

    # in a worker's task: the worker's own thread slots (1 here) are the parallelism
    assert dask2._client.submit(pass_threads, pure=False).result() == 1
    monkeypatch.delenv("SINKPLAN_THREADS", raising=False)
    assert pass_threads() == max(1, min(4, os.cpu_count() or 1))  # this process: CPU count, at most 4


@pytest.mark.dask
def test_the_block_function_is_on_every_worker_before_the_first_task(dask2):
    # With one copy the scheduler queued every block task on the worker holding it and the
    # second worker idled until work stealing moved some (0.4-0.7 s at 6 Gpx).
    fut = dask2.share(_cells)
    holders = dask2._client.who_has([fut])[fut.key]
    assert len(holders) == 2 and set(holders) == set(dask2._client.scheduler_info()["workers"])
    assert dask2._client.submit(lambda f: f(Window(0, 0, 3, 2)), fut).result() == _cells(Window(0, 0, 3, 2))
    fut.release()


_WARMED = """
from sinkplan.sinks import fused
assert not fused._count.signatures  # nothing loaded by the import
print(fused.warm_kernels(), len(fused._count.signatures), len(fused._count2.signatures), len(fused._lookup1.signatures))
"""


def test_warm_kernels_loads_the_common_signatures():
    # count_rows and count_rows2 with strata None (broadcast), uint8 and uint16: 3 + 3; the
    # uint8 -> float32 lookup: 1; the zone burner into a whole and a sliced uint8 block: 2; 9 in all
    out = subprocess.run([sys.executable, "-c", _WARMED], capture_output=True, text=True, check=True).stdout.split()
    assert out == ["9", "3", "3", "1"]


@pytest.mark.dask
def test_local_workers_load_the_counting_kernels_as_they_start(dask2):
    # the preload (sinkplan.layers.dask_worker) ran warm_kernels as the worker started: each
    # worker's count_rows holds the strata types uint8, uint16 and a read-only broadcast uint8 (None);
    # the other tests of this module may have loaded more since
    def loaded():
        from sinkplan.sinks import fused
        return {str(sig[0]) for sig in fused._count.signatures}
    found = dask2._client.run(loaded)
    warm = {"array(uint8, 2d, C)", "array(uint16, 2d, C)", "readonly array(uint8, 2d, A)"}
    assert len(found) == 2 and all(warm <= sigs for sigs in found.values())


@pytest.mark.dask
def test_a_fresh_worker_has_imported_the_pass_before_its_first_task():
    # Unpickling a pass's block function imported pandas, geopandas and rasterio on each worker
    # (0.4 s) inside the pass, one worker after the other; the preload imports them as the
    # worker starts. Checked with client.run, which runs no task.
    def loaded():
        import sys
        return [m in sys.modules for m in ("sinkplan.sinks.blocks", "sinkplan.sinks.strata", "sinkplan.layers.zones")]
    with BlockExecutor(workers=1) as ex:
        assert list(ex._client.run(loaded).values()) == [[True, True, True]]

"""Run a function over the blocks of a grid: in one process or on Dask, same results.

Reductions (areas and stocks per zone × class, eligible area per zone type) are computed
per block and combined **in window order**, so one process, a local Dask cluster and a
remote scheduler give bit-identical sums. Only a bounded number of blocks is in flight
at once, so memory does not grow with the raster.

The block function must be picklable for Dask (a module-level function, or a
:func:`functools.partial` of one with picklable arguments: paths, tables, geometries, not
open datasets). It is sent to the cluster **once**, as the result of a task that returns
it, and each block task names that result, so a block function carrying zone geometries
does not travel with each of thousands of blocks (workers fetch it from each other). A
task, unlike scattered data, can be run again: a worker that dies takes its copy with it,
and the scheduler recomputes it and reruns that worker's blocks on the others (scattered
data lost with a worker cancelled the whole run, "already forgotten"; a broadcast scatter
interrupted by Ctrl-C logged the scheduler's KeyError traceback).
"""

from __future__ import annotations

import logging
import os
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from typing import TYPE_CHECKING, TypeVar

if TYPE_CHECKING:  # annotations only: importing rasterio costs the command line 0.1 s
    from rasterio.windows import Window

from sinkplan.layers.errors import ClusterError, InputError

__all__ = ["BlockExecutor", "Progress", "map_blocks", "reduce_blocks", "readable", "check_scheduler", "CONNECT_TIMEOUT_S"]

logger = logging.getLogger(__name__)

T = TypeVar("T")
A = TypeVar("A")
#: Progress callback: fraction done in [0, 1] and a short label. Library code takes one;
#: only the command line draws bars.
Progress = Callable[[float, str], None]


class _SyncCancelRace(logging.Filter):
    """Drops one traceback of a race inside distributed: a Ctrl-C that reaches ``sync()`` before
    its coroutine has started makes the cancel callback raise ``NameError: ... 'future'``, which
    tornado logs as an ERROR after the run's own one-line message. Nothing for a user to act on."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info
        if exc and exc[0] is NameError and exc[2] is not None:
            tb = exc[2]
            while tb.tb_next is not None:
                tb = tb.tb_next
            code = tb.tb_frame.f_code
            if code.co_name == "cancel" and "distributed" in code.co_filename:
                return False
        return True


_SYNC_CANCEL_RACE = _SyncCancelRace()


#: Most blocks one Dask task runs when block results are small (:meth:`BlockExecutor.batch_for`).
#: Each task costs the client a few ms of CPU, and a local cluster's client shares the cores
#: with the workers: at 6 Gpx (1 469 blocks, 2 workers) the pass took 12.0 s with one block
#: per task and 7.8 s with 16 (the client's CPU: 4.5 s and 0.8 s).
TASK_BLOCKS = 16
#: Fewest tasks per worker a batched pass keeps (balance, and a short tail at the end).
MIN_TASKS_PER_WORKER = 8
#: Most bytes of block results one batched task holds and sends back.
TASK_RESULT_BYTES = 16 * 2**20


class BlockExecutor:
    """Where block functions run: here (``workers=0``), a local Dask cluster or a scheduler.

    Use as a context manager; a local cluster is started on entry and closed on exit.

    Parameters
    ----------
    workers : int
        Local Dask worker processes (0: run in this process, no Dask).
    scheduler : str or None
        Address of a running Dask scheduler (``tcp://host:8786``); overrides ``workers``.
    in_flight : int or None
        Tasks submitted ahead of the one being combined (default 2 per worker); a task runs
        one block, or ``batch`` blocks (:meth:`imap`).
    """

    def __init__(self, *, workers: int = 0, scheduler: str | None = None, in_flight: int | None = None) -> None:
        self.workers = int(workers)
        self.scheduler = scheduler
        self.in_flight = in_flight
        self._client = None
        self._cluster = None

    @property
    def uses_dask(self) -> bool:
        """True when blocks run on Dask."""
        return bool(self.scheduler) or self.workers > 0

    def __enter__(self) -> "BlockExecutor":
        if not self.uses_dask:
            return self
        from dask.distributed import Client, LocalCluster

        # Importing distributed applies Dask's logging config, which puts the "distributed"
        # logger back to INFO after the CLI set WARNING: a 2-worker run then wrote ~33 INFO
        # lines and a CommClosedError traceback (logged at INFO) even with --quiet.
        logging.getLogger("distributed").setLevel(max(logging.getLogger().level, logging.WARNING))
        tornado_log = logging.getLogger("tornado.application")
        if _SYNC_CANCEL_RACE not in tornado_log.filters:
            tornado_log.addFilter(_SYNC_CANCEL_RACE)
        if self.scheduler:
            logger.info("connecting to Dask scheduler %s", self.scheduler)
            check_scheduler(self.scheduler)  # a wrong address fails in seconds, not after 30 s of retries
            try:
                self._client = Client(self.scheduler, timeout=f"{CONNECT_TIMEOUT_S:g}s")
            except (OSError, TimeoutError) as exc:
                raise ClusterError(f"Dask scheduler {self.scheduler}: cannot connect ({' '.join(str(exc).split())}); "
                                   "check the address and that the scheduler runs (dask scheduler), or run without "
                                   "a scheduler address", params=("a scheduler address",)) from None
        else:
            logger.info("starting a local Dask cluster with %d workers", self.workers)
            import dask

            try:
                # Dask's nannies start workers with MALLOC_TRIM_THRESHOLD_=65536, which turns off
                # glibc's adaptive thresholds: every block's arrays (4-16 MB) were then mmap'ed,
                # returned to the system when freed and faulted in again, page by page, for the
                # next block (a block cost 1.5 x its time in one process). Workers started here
                # run with glibc's defaults, as this process does (None unsets a variable).
                with _signals_held(), dask.config.set({"distributed.nanny.pre-spawn-environ.MALLOC_TRIM_THRESHOLD_": None}):
                    self._cluster = LocalCluster(
                        n_workers=self.workers, threads_per_worker=1, processes=True,
                        # Workers log a failed task ("Compute Failed" with its traceback) at ERROR;
                        # the error reaches the client, which reports it on one line: keep them
                        # quiet unless debugging.
                        dashboard_address=":0",
                        silence_logs=logging.WARNING if logging.getLogger().level <= logging.DEBUG else logging.CRITICAL,
                        preload=["sinkplan.layers.dask_worker"],  # workers ignore Ctrl-C: the client stops them
                    )
                    self._client = Client(self._cluster)
                # The scheduler runs in this process and turns on distributed's GC timing
                # callbacks: a Ctrl-C landing in one was swallowed ("Exception ignored in
                # GCDiagnosis._gc_callback") and the next callback logged an AssertionError.
                # They only feed a diagnostic warning about slow collections.
                from distributed.gc import disable_gc_diagnosis

                disable_gc_diagnosis(force=True)
            except BaseException:  # interrupted while starting: stop what did start
                self.__exit__(None, None, None)
                raise
        return self

    def __exit__(self, *exc) -> None:
        dist = logging.getLogger("distributed")
        level = dist.level
        if exc and exc[0] is not None and logging.getLogger().level > logging.DEBUG:
            # Stopping after an error or Ctrl-C: the run's own message is the one line to show,
            # not the nanny's "Worker process still alive after 4.0 seconds, killing".
            dist.setLevel(logging.CRITICAL)
        try:
            if self._client is not None:
                self._client.close()  # releases its results first, so no worker "loses computed tasks"
            if self._cluster is not None:
                # Our own shutdown: on a loaded machine a worker may take more than the
                # nanny's 4 s to exit and is killed, with a WARNING nobody can act on.
                logging.getLogger("distributed.nanny").setLevel(logging.ERROR)
                # Stop the workers before the scheduler: closing the cluster with workers
                # running races their heartbeats against the scheduler's shutdown and logs a
                # traceback from a worker process on a busy machine.
                self._cluster.scale(0)
                deadline = time.monotonic() + 20.0
                while self._cluster.workers and time.monotonic() < deadline:
                    time.sleep(0.05)
        except Exception as err:  # shutting down: never mask the run's own result or error
            logger.debug("stopping the local Dask workers: %s", err)
        finally:
            try:
                if self._cluster is not None:
                    self._cluster.close()
            finally:
                self._client = self._cluster = None
                dist.setLevel(level)

    def imap(self, func: Callable[[Window], T], windows: Sequence[Window], *,
             progress: Progress | None = None, label: str = "", batch: int = 1) -> Iterator[T]:
        """Yield ``func(w)`` for each window, in window order.

        ``batch`` > 1 (Dask only): that many consecutive windows per task, run one after the
        other on the worker; their results come back together (hold only results that are
        small, such as sums per key) and are still yielded one by one in window order, so a
        fold over them is the same, bit for bit. Fewer, longer tasks: each task costs the
        client (which also runs a local cluster's scheduler) a few ms of CPU.
        """
        n = len(windows)
        if not self.uses_dask:
            for i, w in enumerate(windows):
                yield func(w)
                if progress:
                    progress((i + 1) / n, label)
            return
        if self._client is None:
            raise RuntimeError("BlockExecutor with Dask must be used as a context manager")
        batch = max(1, int(batch))
        groups = [list(windows[i:i + batch]) for i in range(0, n, batch)]
        ahead = self.in_flight or 2 * self.nworkers()
        shared = self.share(func)
        from concurrent.futures import CancelledError  # FutureCancelledError derives from it

        from distributed.scheduler import KilledWorker
        futures = []
        nxt = 0
        done = 0
        for i in range(len(groups)):
            while nxt < len(groups) and nxt < i + ahead:
                task = (_apply, shared, groups[nxt][0]) if batch == 1 else (_apply_batch, shared, groups[nxt])
                futures.append(self._client.submit(*task, pure=False))
                nxt += 1
            fut = futures[i]
            try:
                res = fut.result()
            except (KilledWorker, CancelledError) as exc:  # every retry failed, or the scheduler dropped the run
                first = i * batch + 1
                which = f"block {first}" if len(groups[i]) == 1 else f"blocks {first}-{first + len(groups[i]) - 1}"
                raise ClusterError(f"Dask cluster: {which} of {n} could not be computed "
                                   f"({type(exc).__name__}: {' '.join(str(exc).split())[:200]}); workers kept "
                                   "dying or the scheduler restarted: check the workers' memory and logs, "
                                   "and run again") from None
            futures[i] = None  # release the result on the scheduler
            fut.release()
            for item in (res if batch > 1 else (res,)):
                yield item
                done += 1
                if progress:
                    progress(done / n, label)
        shared.release()

    def share(self, obj):
        """A Future of ``obj`` held by every worker of the cluster (Dask only).

        Sent once as a task's result; each block task then only names it (a Future resolves
        to the object on the worker that runs the task). Not scatter: a scattered object lost
        with a worker cannot be recomputed, a task's result is. Copied to every worker before
        the first block task: the scheduler puts a task on a worker holding its inputs, so with
        one copy every task queued on the worker that made it, and the others waited for work
        stealing (0.4-0.7 s of a 6 Gpx pass with 2 workers).
        """
        fut = self._client.submit(_identity, obj, pure=False)
        if self.nworkers() > 1:
            self._client.replicate([fut])
        return fut

    def nworkers(self) -> int:
        """Workers of the cluster now (at least 1; 0 without Dask)."""
        if not self.uses_dask:
            return 0
        if self._client is None:
            return max(1, self.workers)
        return max(1, len(self._client.scheduler_info().get("workers", {})) or self.workers or 1)

    def batch_for(self, nblocks: int, *, result_bytes: int = 0) -> int:
        """Blocks per Dask task for a pass of ``nblocks`` blocks (1 without Dask).

        Up to :data:`TASK_BLOCKS`; fewer when that would leave under
        :data:`MIN_TASKS_PER_WORKER` tasks per worker, or when the task's results
        (``result_bytes`` per block) would pass :data:`TASK_RESULT_BYTES`.
        """
        if not self.uses_dask or nblocks <= 0:
            return 1
        per_worker = nblocks // (MIN_TASKS_PER_WORKER * self.nworkers())
        by_size = TASK_RESULT_BYTES // result_bytes if result_bytes > 0 else TASK_BLOCKS
        return max(1, min(TASK_BLOCKS, per_worker, by_size))

    def unreadable(self, paths: Sequence[str]) -> dict[str, list[str]]:
        """Paths that some Dask worker cannot read: ``{path: [worker addresses]}`` (empty in
        one process). GDAL virtual paths (``/vsis3/…``) are not checked here."""
        if not self.uses_dask or self._client is None or not paths:
            return {}
        found = self._client.run(readable, list(paths))
        out: dict[str, list[str]] = {}
        for worker, ok in sorted(found.items()):
            for p, good in zip(paths, ok):
                if not good:
                    out.setdefault(p, []).append(worker)
        return out


def _apply(func: Callable[[Window], T], window: Window) -> T:
    # A worker started by `dask worker` has GDAL's default block cache (5 % of its RAM: 1.2 GB
    # of a 24 GB node, which a 6 Gpx screen filled); cap it as this process does (once: it
    # then finds GDAL_CACHEMAX set).
    from sinkplan.layers.reading import limit_gdal_cache

    limit_gdal_cache()
    if not _MALLOC_CHECKED:
        tune_worker_malloc()
    return func(window)


#: glibc malloc thresholds of a worker process that was started with a fixed
#: ``MALLOC_TRIM_THRESHOLD_``: the upper bounds of glibc's own adaptive thresholds on 64-bit
#: (``DEFAULT_MMAP_THRESHOLD_MAX`` = 32 MiB, trim threshold twice the mmap threshold), i.e.
#: what a process without the variable reaches after its first large free.
MMAP_THRESHOLD_BYTES = 32 * 2**20
TRIM_THRESHOLD_BYTES = 2 * MMAP_THRESHOLD_BYTES
_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # mallopt parameters (<malloc.h>)
_MALLOC_CHECKED = False


def tune_worker_malloc() -> bool:
    """Undo a fixed ``MALLOC_TRIM_THRESHOLD_`` in this (worker) process; True when done.

    ``dask worker`` (its nanny) starts every worker with ``MALLOC_TRIM_THRESHOLD_=65536``,
    which also freezes glibc's mmap threshold at 128 KiB: each block's arrays (codes, strata,
    keys: 4-16 MB for a 4 Mpx block) were mmap'ed, unmapped when freed and faulted in again
    for the next block, page by page. Measured on 460 Mpx (128 blocks, 103 zones): 23 ms per
    block against 15 ms in one process, the same 23 ms in one process run with the variable
    set. With the thresholds set to :data:`MMAP_THRESHOLD_BYTES` and
    :data:`TRIM_THRESHOLD_BYTES` a block's memory is reused by the next block; the process
    keeps at most that much freed memory for reuse. Only glibc on Linux, only when the
    variable is set (a process without it already adapts), once per process.
    """
    global _MALLOC_CHECKED
    _MALLOC_CHECKED = True
    if "MALLOC_TRIM_THRESHOLD_" not in os.environ or not sys.platform.startswith("linux"):
        return False
    import ctypes
    import platform

    if platform.libc_ver()[0] != "glibc":
        return False
    try:
        libc = ctypes.CDLL(None)
        done = (libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) == 1
                and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES) == 1)
    except (OSError, AttributeError):  # no mallopt in this libc
        return False
    logger.debug("malloc thresholds of this worker: mmap %d B, trim %d B (was MALLOC_TRIM_THRESHOLD_=%s)",
                 MMAP_THRESHOLD_BYTES, TRIM_THRESHOLD_BYTES, os.environ["MALLOC_TRIM_THRESHOLD_"])
    return done


def _apply_batch(func: Callable[[Window], T], windows: Sequence[Window]) -> list[T]:
    return [_apply(func, w) for w in windows]


def _identity(obj: T) -> T:
    return obj


def readable(paths: Sequence[str]) -> list[bool]:
    """Whether this process can read each path (GDAL ``/vsi…`` paths count as readable)."""
    import os

    return [str(p).startswith("/vsi") or os.access(p, os.R_OK) for p in paths]


def map_blocks(func: Callable[[Window], T], windows: Sequence[Window], *, executor: BlockExecutor | None = None,
               progress: Progress | None = None, label: str = "", threads: int = 1, batch: int = 1) -> Iterator[T]:
    """``func`` over ``windows`` in order, in this process or on ``executor``.

    ``threads`` > 1 without Dask: that many blocks at once in threads of this process
    (:func:`threaded_imap`; ``func`` must be thread-safe), still yielded in window order.
    ``batch`` > 1 with Dask: that many blocks per task (:meth:`BlockExecutor.imap`).
    """
    ex = executor or BlockExecutor()
    if threads > 1 and not ex.uses_dask:
        return threaded_imap(func, list(windows), threads, progress=progress, label=label)
    return ex.imap(func, list(windows), progress=progress, label=label, batch=batch)


def pass_threads() -> int:
    """Threads for a pass without Dask: ``$SINKPLAN_THREADS`` or the CPU count (at most 4);
    1 inside a Dask worker's task, whose worker threads are already the parallelism (a
    block function starting its own threads there would oversubscribe the cores).

    Raises
    ------
    InputError
        ``SINKPLAN_THREADS`` is not a number.
    """
    if in_dask_worker():
        return 1
    env = os.environ.get("SINKPLAN_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise InputError(f"SINKPLAN_THREADS={env!r} is not a number of threads") from None
    return max(1, min(4, os.cpu_count() or 1))


def in_dask_worker() -> bool:
    """True when called from a task running on a Dask worker."""
    if "distributed" not in sys.modules:  # never imported: not a worker (and no 0.3 s import)
        return False
    from distributed import get_worker

    try:
        get_worker()
    except ValueError:
        return False
    return True


def threaded_imap(func: Callable[[Window], T], windows: Sequence[Window], threads: int, *,
                  progress: Progress | None = None, label: str = "") -> Iterator[T]:
    """``func`` over ``windows`` in a thread pool, yielded in window order, at most 2 × threads
    ahead (so at most that many block results are held at once).

    Reading (GDAL) and the compiled kernels release the GIL, so two threads use two cores.
    """
    import warnings

    from rasterio.errors import NotGeoreferencedWarning

    from sinkplan.layers.warnings import state_kept

    n = len(windows)
    with state_kept(), ThreadPoolExecutor(max_workers=threads) as pool:
        # rasterio makes its in-memory datasets (rasterize, shapes) without a geotransform and
        # gives them ours just after, under warnings.catch_warnings() + "ignore". That swaps one
        # process-wide state: with threads, one restores it while another is inside, the
        # "Dataset has no geotransform" meant to be silenced reached the terminal (~28 times per
        # 460 Mpx carbon run; the burn uses the geotransform set afterwards), and "ignore
        # everything" could stay in force after the pass (state_kept puts the state back).
        warnings.filterwarnings("ignore", category=NotGeoreferencedWarning, module=r"rasterio\.features")
        pending: deque = deque()
        nxt = 0
        for i in range(n):
            while nxt < n and nxt < i + 2 * threads:
                pending.append(pool.submit(func, windows[nxt]))
                nxt += 1
            yield pending.popleft().result()
            if progress:
                progress((i + 1) / n, label)


def reduce_blocks(func: Callable[[Window], T], windows: Sequence[Window], combine: Callable[[A, T], A], initial: A, *,
                  executor: BlockExecutor | None = None, progress: Progress | None = None, label: str = "") -> A:
    """Fold block results into ``initial`` with ``combine``, in window order (deterministic)."""
    acc = initial
    for result in map_blocks(func, windows, executor=executor, progress=progress, label=label):
        acc = combine(acc, result)
    return acc


#: Seconds to wait for a Dask scheduler to answer.
CONNECT_TIMEOUT_S = 10.0


def check_scheduler(address: str, *, timeout: float = CONNECT_TIMEOUT_S) -> None:
    """Refuse a scheduler address that is malformed or where nothing listens (one TCP connect).

    Raises
    ------
    ClusterError
        The message names the address and what went wrong.
    """
    import socket
    from urllib.parse import urlsplit

    text = address.strip()
    url = urlsplit(text if "://" in text else f"tcp://{text}")
    if url.scheme not in ("tcp", "tls", "ws", "wss"):
        if url.scheme in ("inproc", "ucx"):
            return  # not a TCP address: Dask itself will say
        raise ClusterError(f"scheduler {address}: give an address like tcp://host:8786", params=("scheduler",))
    try:
        host, port = url.hostname, url.port
    except ValueError:
        host, port = None, None
    if not host or port is None:
        raise ClusterError(f"scheduler {address}: give host and port, e.g. tcp://{host or 'host'}:8786", params=("scheduler",))
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except socket.gaierror as exc:
        raise ClusterError(f"Dask scheduler {address}: unknown host {host!r} ({exc.strerror}); check the address") from None
    except OSError as exc:
        why = "connection refused: nothing listens there" if isinstance(exc, ConnectionRefusedError) else (
            f"no answer within {timeout:g} s" if isinstance(exc, TimeoutError) else (exc.strerror or str(exc)))
        raise ClusterError(f"Dask scheduler {address}: cannot connect ({why}); start it (dask scheduler) or fix "
                           "the scheduler address", params=("the scheduler address",)) from None


@contextmanager
def _signals_held() -> Iterator[None]:
    """Start local workers with Ctrl-C ignored, and hold SIGTERM / SIGHUP until they are up.

    Ctrl-C reaches every process of the terminal's foreground group. A worker still
    importing printed a KeyboardInterrupt traceback, and a client interrupted half-way
    through starting its cluster could not stop it cleanly (more tracebacks). So while the
    cluster starts SIGINT is ignored (a disposition the worker processes inherit through
    spawn's exec, so they never see a Ctrl-C; :mod:`sinkplan.layers.dask_worker` keeps it
    so), and SIGTERM / SIGHUP are held and handled once the cluster is up. A Ctrl-C pressed
    in the second or two the workers take to start is lost: press it again.
    """
    import signal
    import threading

    if threading.current_thread() is not threading.main_thread():
        yield
        return
    sigs = [s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s]
    previous = {s: signal.getsignal(s) for s in sigs}
    got: list[int] = []
    for s in sigs:
        if s == signal.SIGINT:
            signal.signal(s, signal.SIG_IGN)
        elif callable(previous[s]):
            signal.signal(s, lambda signum, frame: got.append(signum))
    try:
        yield
    finally:
        for s in sigs:
            if s == signal.SIGINT or callable(previous[s]):
                signal.signal(s, previous[s] if previous[s] is not None else signal.SIG_DFL)
    if got:
        previous[got[0]](got[0], None)  # raises (KeyboardInterrupt or the CLI's Interrupted)


@contextmanager
def executor_for(workers: int = 0, scheduler: str | None = None) -> Iterator[BlockExecutor]:
    """A started :class:`BlockExecutor` (convenience for drivers)."""
    with BlockExecutor(workers=workers, scheduler=scheduler) as ex:
        yield ex

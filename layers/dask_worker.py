"""Preload of the local Dask workers sinkplan starts (``LocalCluster(preload=[__name__])``).

Ctrl-C reaches every process of the terminal's foreground group; a worker then printed a
``KeyboardInterrupt`` traceback while the client was already stopping it. The client alone
handles the interrupt and closes its workers, so a worker ignores SIGINT.

A worker also imports what unpickling a pass's block function imports (the pass, the zones:
pandas, geopandas, rasterio) and loads the compiled kernels as it starts
(:func:`sinkplan.sinks.fused.warm_kernels`), before it registers with the scheduler:
otherwise each worker paid 0.4 s of imports and 0.25 s of numba's start inside the pass, one
worker after the other (sharing the block function took 0.55 s of a 6 Gpx ``--workers 2``
pass, 0.03 s now).
"""

from __future__ import annotations

import logging
import signal
import threading

logger = logging.getLogger(__name__)


def dask_setup(worker) -> None:  # noqa: ARG001 - the preload protocol passes the worker
    """Ignore SIGINT in this worker process (its main thread runs the worker's event loop) and
    load the counting pass; the worker registers with the scheduler after this returns."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        # what unpickling a pass's block function imports (0.4 s: pandas, geopandas, rasterio),
        # then the compiled kernels
        import sinkplan.sinks.blocks  # noqa: F401
        import sinkplan.layers.zones  # noqa: F401
        import sinkplan.sinks.strata  # noqa: F401
        from sinkplan.sinks.fused import warm_kernels

        warm_kernels()
    except Exception as err:  # noqa: BLE001 - a warm-up must never stop a worker: the task loads what it needs
        logger.debug("loading the counting kernels in a Dask worker: %s", err)

"""Preload of the local Dask workers sinkplan starts (``LocalCluster(preload=[__name__])``).

Ctrl-C reaches every process of the terminal's foreground group; a worker then printed a
``KeyboardInterrupt`` traceback while the client was already stopping it. The client alone
handles the interrupt and closes its workers, so a worker ignores SIGINT.
"""

from __future__ import annotations

import signal
import threading


def dask_setup(worker) -> None:  # noqa: ARG001 - the preload protocol passes the worker
    """Ignore SIGINT in this worker process (its main thread runs the worker's event loop)."""
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGINT, signal.SIG_IGN)

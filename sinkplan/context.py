"""Run configuration shared by every command: one frozen record, never a global."""

from __future__ import annotations

import logging
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from sinkplan.layers.limits import DEFAULT_MAX_CELLS
from sinkplan.layers.parallel import Progress

__all__ = ["RunContext", "Progress"]



@dataclass(frozen=True)
class RunContext:
    """Options every command takes.

    Parameters
    ----------
    quiet : bool
        No progress bars, warnings and errors only.
    debug : bool
        Tracebacks on errors and debug logging.
    max_cells : int
        Cell budget of one block (memory bound).
    max_cells_given : bool
        ``max_cells`` was asked for (``--max-cells``), not the default: see :meth:`block_cells`.
    workers : int
        Local Dask workers (0: one process, no Dask).
    scheduler : str or None
        Address of a running Dask scheduler (``tcp://host:8786``).
    overwrite : bool
        Replace existing result folders.
    lang : {"zh", "en"}
        Language of the workbooks' sheet titles and headers (``--lang``).
    """

    quiet: bool = False
    debug: bool = False
    max_cells: int = DEFAULT_MAX_CELLS
    max_cells_given: bool = False
    workers: int = 0
    scheduler: str | None = None
    overwrite: bool = False
    lang: str = "zh"

    def block_cells(self, default: int) -> int:
        """Cells per block of a command whose own default is ``default``: ``max_cells`` when
        the user gave it, else ``default`` (``site``: :data:`~sinkplan.layers.limits.SITE_MAX_CELLS`)."""
        return self.max_cells if self.max_cells_given else default

    @contextmanager
    def progress(self, description: str) -> Iterator[Progress | None]:
        """A progress callback drawing a bar on a terminal, or None when quiet / not a tty."""
        if self.quiet or not sys.stderr.isatty():
            yield None
            return
        from rich.progress import BarColumn, Progress as RichProgress, TextColumn, TimeElapsedColumn, TimeRemainingColumn

        with RichProgress(
            TextColumn("{task.description}"), BarColumn(), TextColumn("{task.percentage:>3.0f}%"),
            TimeElapsedColumn(), TimeRemainingColumn(), transient=True,
        ) as bar:
            task = bar.add_task(description, total=1.0)

            def update(fraction: float, label: str) -> None:
                bar.update(task, completed=min(max(fraction, 0.0), 1.0), description=label or description)

            yield update


def configure_logging(ctx: RunContext) -> None:
    """Log to stderr: INFO normally, WARNING when quiet, DEBUG with --debug."""
    level = logging.DEBUG if ctx.debug else logging.WARNING if ctx.quiet else logging.INFO
    logging.basicConfig(level=level, format="%(levelname)s %(name)s: %(message)s", stream=sys.stderr, force=True)
    for noisy in ("rasterio", "fiona", "pyogrio", "distributed", "matplotlib", "PIL", "numba", "asyncio"):
        logging.getLogger(noisy).setLevel(max(level, logging.WARNING))

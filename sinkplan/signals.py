"""SIGTERM and SIGHUP handled like Ctrl-C: clean up, one line, exit 128 + signal number.

Python's default for SIGTERM (``kill``, ``timeout``, a batch scheduler ending a job) is to
die on the spot: no ``finally`` runs, so ``.NAME.tmp-*`` result folders and ``.site-work-*``
scratch folders stayed behind. :func:`signals_as_interrupts` makes SIGINT, SIGTERM and
SIGHUP raise :class:`Interrupted` (a ``KeyboardInterrupt``), so every ``with`` block and
``except BaseException`` that cleans up after Ctrl-C cleans up after them too. Once one
arrived, further ones are ignored so that the cleanup itself is not interrupted.
"""

from __future__ import annotations

import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager

__all__ = ["Interrupted", "signals_as_interrupts", "exit_code"]

_SIGNALS = tuple(s for s in (signal.SIGINT, getattr(signal, "SIGTERM", None), getattr(signal, "SIGHUP", None)) if s)


class Interrupted(KeyboardInterrupt):
    """A run stopped by a signal; ``signum`` says which."""

    def __init__(self, signum: int) -> None:
        super().__init__(signum)
        self.signum = signum

    @property
    def name(self) -> str:
        """``SIGTERM``, ``SIGINT`` …"""
        try:
            return signal.Signals(self.signum).name
        except ValueError:
            return f"signal {self.signum}"


def exit_code(exc: KeyboardInterrupt) -> int:
    """128 + the signal number (130 for Ctrl-C, 143 for SIGTERM), as a shell reports a killed command."""
    return 128 + int(getattr(exc, "signum", signal.SIGINT))


@contextmanager
def signals_as_interrupts() -> Iterator[None]:
    """Within the block, SIGINT / SIGTERM / SIGHUP raise :class:`Interrupted` (once).

    Only the main thread can set handlers; elsewhere this does nothing.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    fired = []

    def handler(signum, frame):  # noqa: ARG001
        if fired:  # already stopping: let the cleanup finish
            return
        fired.append(signum)
        raise Interrupted(signum)

    previous = {s: signal.getsignal(s) for s in _SIGNALS}
    for s in _SIGNALS:
        if previous[s] is not signal.SIG_IGN:  # nohup'ed runs keep ignoring SIGHUP
            signal.signal(s, handler)
    try:
        yield
    finally:
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)

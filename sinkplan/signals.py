"""SIGTERM and SIGHUP handled like Ctrl-C: clean up, one line, exit 128 + signal number.

Python's default for SIGTERM (``kill``, ``timeout``, a batch scheduler ending a job) is to
die on the spot: no ``finally`` runs, so ``.NAME.tmp-*`` result folders and ``.site-work-*``
scratch folders stayed behind. :func:`signals_as_interrupts` makes SIGINT, SIGTERM and
SIGHUP raise :class:`Interrupted` (a ``KeyboardInterrupt``), so every ``with`` block and
``except BaseException`` that cleans up after Ctrl-C cleans up after them too. Once one
arrived, further ones are ignored so that the cleanup itself is not interrupted.

A handler's exception is swallowed when the signal lands inside a garbage-collector
callback or a ``__del__`` ("Exception ignored in …", and the run went on to exit 0). Python
reports such an exception to :data:`sys.unraisablehook`; while the block runs, the hook
delivers the signal again (:func:`_thread.interrupt_main`, from a helper thread), so it is raised at the next
step of ordinary code instead of being lost.
"""

from __future__ import annotations

import _thread
import signal
import sys
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

    previous_hook = sys.unraisablehook

    def unraisable(info) -> None:  # an Interrupted raised where Python cannot propagate it
        if isinstance(info.exc_value, Interrupted) and fired:
            signum = fired.pop()
            # From another thread, a moment later: called here, the handler would run at once,
            # inside the hook, and be swallowed again. Should it land in a callback again,
            # this repeats.
            timer = threading.Timer(0.01, _thread.interrupt_main, args=(signum,))
            timer.daemon = True
            timer.start()
            return
        previous_hook(info)

    previous = {s: signal.getsignal(s) for s in _SIGNALS}
    for s in _SIGNALS:
        if previous[s] is not signal.SIG_IGN:  # nohup'ed runs keep ignoring SIGHUP
            signal.signal(s, handler)
    sys.unraisablehook = unraisable
    try:
        yield
    finally:
        sys.unraisablehook = previous_hook
        for s, h in previous.items():
            signal.signal(s, h if h is not None else signal.SIG_DFL)

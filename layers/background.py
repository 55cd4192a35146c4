"""One call run in a background thread, its result or error handed to whoever asks for it.

Used where a run can do GIL-free work (GDAL decoding, hashing) on a core its main thread
leaves idle: the land-cover preview read from the overviews
(:class:`sinkplan.sinks.mapfiles.PreviewRead`) and the manifest's input hashes
(:class:`sinkplan.layers.resultfolder.ResultFolder`).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

__all__ = ["BackgroundCall"]


class BackgroundCall:
    """``func(*args, stop=event, **kwargs)`` started at once in a daemon thread.

    ``func`` checks ``stop`` (a ``threading.Event``) between units of work and gives up once it
    is set. :meth:`result` waits and returns the value or raises what the call raised;
    :meth:`stop` asks it to end, :meth:`cancel` also waits until it has.

    Examples
    --------
    >>> call = BackgroundCall(lambda n, stop: sum(range(n)), 10, name="sum")
    >>> call.result()
    45
    """

    def __init__(self, func: Callable[..., Any], *args: Any, name: str, **kwargs: Any) -> None:
        self._stop = threading.Event()
        self._value: Any = None
        self._error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(func, args, kwargs), name=name, daemon=True)
        self._thread.start()

    def _run(self, func: Callable[..., Any], args: tuple, kwargs: dict) -> None:
        try:
            self._value = func(*args, stop=self._stop, **kwargs)
        except BaseException as exc:  # noqa: BLE001 - raised in the thread that asks for the result
            self._error = exc

    def result(self) -> Any:
        """The call's value (waits for it); raises what the call raised."""
        self._thread.join()
        if self._error is not None:
            raise self._error
        return self._value

    def stop(self) -> None:
        """Ask the call to end at its next check; do not wait."""
        self._stop.set()

    def cancel(self) -> None:
        """Ask the call to end and wait until it has."""
        self._stop.set()
        self._thread.join()

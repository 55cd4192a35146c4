"""Warnings as classes, so that an API user can filter or escalate each kind.

Every warning sinkplan gives about a result (a zone the raster maps only in part, zones that
overlap, too few Monte Carlo draws, an assumption taken, a rule that could not be checked) is a
:class:`SinkplanWarning` subclass issued with :func:`warn`, i.e. through Python's
:mod:`warnings`::

    import warnings
    from sinkplan.layers.warnings import PartlyMappedZoneWarning, FewDrawsWarning

    warnings.simplefilter("error", PartlyMappedZoneWarning)   # a partly mapped zone raises
    warnings.simplefilter("ignore", FewDrawsWarning)          # 40 draws are what I meant

The command line shows each one as a ``WARNING logger: message`` line (``sinkplan.params``).
Messages name the parameters of the library call (``land_area_ha``); a warning lists them in
``params`` so the command line can show its options instead (``--land-area-ha``).
"""

from __future__ import annotations

import contextlib
import sys
import warnings as _warnings
from collections.abc import Iterator

__all__ = [
    "SinkplanWarning",
    "PartlyMappedZoneWarning",
    "OverlappingZonesWarning",
    "FewDrawsWarning",
    "BoundsOnlyWarning",
    "NotCheckedWarning",
    "UnusedLayerWarning",
    "IgnoredLayerWarning",
    "AssumptionWarning",
    "RepairedGeometryWarning",
    "TextEncodingWarning",
    "LayerChoiceWarning",
    "FewSpatialBlocksWarning",
    "NotReportedWarning",
    "warn",
    "state_kept",
]


class SinkplanWarning(UserWarning):
    """Base of every warning sinkplan issues about its inputs or results.

    Attributes
    ----------
    logger : str
        The module logger the command line shows it under (``sinkplan.sinks.mapped``).
    params : tuple of str
        Parameters of the library call the message names (the command line shows their options).
    """

    def __init__(self, message: str = "", *, logger: str = "sinkplan", params: tuple[str, ...] = ()) -> None:
        super().__init__(message)
        self.logger = logger
        self.params = tuple(params)


class PartlyMappedZoneWarning(SinkplanWarning):
    """The land-cover raster maps less than 99.5 % of a zone (or none of it): that zone's
    figures cover the mapped part only."""


class OverlappingZonesWarning(SinkplanWarning):
    """Zones of one layer overlap by more than a sliver: a pixel counts in one of them only."""


class FewDrawsWarning(SinkplanWarning):
    """Fewer Monte Carlo draws than advised: the percentiles move from seed to seed."""


class BoundsOnlyWarning(SinkplanWarning):
    """A figure could not be decided for lack of data and is given as bounds (forest coverage
    where the special-shrubland rule cannot be applied)."""


class NotCheckedWarning(SinkplanWarning):
    """A rule set the profile asks for could not be checked (its layer is missing): the capacity
    is an upper bound, or a zone type is not screened."""


class UnusedLayerWarning(SinkplanWarning):
    """A layer was given that no rule of the run applies."""


class IgnoredLayerWarning(SinkplanWarning):
    """A layer given was ignored (no features)."""


class AssumptionWarning(SinkplanWarning):
    """A value's meaning was assumed (units of a rate, pools of a density raster without tags)."""


class RepairedGeometryWarning(SinkplanWarning):
    """Invalid geometries of a vector layer were repaired, null or empty ones dropped."""


class TextEncodingWarning(SinkplanWarning):
    """The text encoding of a vector layer's attributes was guessed."""


class LayerChoiceWarning(SinkplanWarning):
    """A file holds several layers and one was chosen."""


class NotReportedWarning(SinkplanWarning):
    """A figure is not reported for lack of an input (sequestration without the map years)."""


class FewSpatialBlocksWarning(SinkplanWarning):
    """Too few spatial blocks hold samples for the folds asked: fewer folds are used."""


def _caller_stacklevel() -> int:
    """Stack level of the first frame outside sinkplan (the user's call), for the warning's location."""
    frame = sys._getframe(2)  # the caller of warn()
    level = 2
    while frame is not None and (frame.f_globals.get("__name__", "") or "").startswith("sinkplan."):
        frame = frame.f_back
        level += 1
    return level if frame is not None else 2


def warn(category: type[SinkplanWarning], message: str, *, logger: str, params: tuple[str, ...] = ()) -> None:
    """Issue ``category(message)`` through :mod:`warnings`, located at the user's call.

    Parameters
    ----------
    category : SinkplanWarning subclass
        The kind (what a user filters on).
    message : str
        The whole message (already formatted).
    logger : str
        Module logger name (``__name__``) the command line shows it under.
    params : tuple of str
        Parameters of the library call that the message names.

    Examples
    --------
    >>> import warnings
    >>> with warnings.catch_warnings(record=True) as seen:
    ...     warnings.simplefilter("always")
    ...     warn(FewDrawsWarning, "40 Monte Carlo draws", logger="sinkplan.sinks.uncertainty", params=("uncertainty",))
    >>> seen[0].category.__name__, str(seen[0].message), seen[0].message.params
    ('FewDrawsWarning', '40 Monte Carlo draws', ('uncertainty',))
    """
    _warnings.warn(category(message, logger=logger, params=params), stacklevel=_caller_stacklevel())


@contextlib.contextmanager
def state_kept() -> Iterator[None]:
    """Put the process's warning filters and display back as they were, once the block is done.

    For code that runs libraries in several threads: rasterio makes its in-memory datasets
    (``rasterize``, ``shapes``) under ``warnings.catch_warnings()`` + "ignore", and that
    context manager saves and restores one process-wide state. Two threads inside it at once
    can restore each other's "ignore everything": a ``carbon`` run then lost its
    partly-mapped-zones warning after the pass (1 run in 3 on 103 banners). Warnings given
    in the threads themselves may still be lost to the race; the caller's are not.
    """
    filters, show, impl = _warnings.filters[:], _warnings.showwarning, getattr(_warnings, "_showwarnmsg_impl", None)
    try:
        yield
    finally:
        _warnings.filters = filters
        _warnings.showwarning = show
        if impl is not None:
            _warnings._showwarnmsg_impl = impl
        mutated = getattr(_warnings, "_filters_mutated", None)  # CPython: invalidates the once-registries
        if mutated is not None:
            mutated()

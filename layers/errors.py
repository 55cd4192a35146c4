"""The exception tree shared by every sinkplan package.

Each error is also a built-in (``ValueError``, ``OSError``, ``KeyError`` is never used for
user input), so callers that catch built-ins keep working. Messages name the file, the field
or the code at fault, the value found and what would fix it.
"""

from __future__ import annotations

__all__ = [
    "SinkplanError",
    "InputError",
    "InputFileError",
    "MissingCRS",
    "UnknownClassCode",
    "SchemeError",
    "FieldError",
    "GridMismatch",
    "OutputExists",
    "OutputError",
    "ClusterError",
    "ConfigError",
    "OutputBusy",
    "ResultError",
    "SpecError",
]


class SinkplanError(Exception):
    """Base of every error sinkplan raises on purpose.

    ``params`` lists the parameters of the library call the message names (``land_area_ha``);
    the command line shows each as its option (``--land-area-ha``, :mod:`sinkplan.params`).
    """

    def __init__(self, *args: object, params: tuple[str, ...] = ()) -> None:
        super().__init__(*args)
        self.params: tuple[str, ...] = tuple(params)


class InputError(SinkplanError, ValueError):
    """An input's content is wrong (values, fields, geometry, class codes)."""


class InputFileError(SinkplanError, OSError):
    """An input file is missing, unreadable or of an unknown format."""


class MissingCRS(InputError):
    """An input has no coordinate reference system."""


class UnknownClassCode(InputError):
    """A raster holds class codes that its class scheme does not define."""

    def __init__(self, message: str, *, counts: dict[int, int] | None = None, params: tuple[str, ...] = ()) -> None:
        super().__init__(message, params=params)
        self.counts: dict[int, int] = dict(counts or {})


class SchemeError(InputError):
    """A class scheme (or a table keyed by its codes or groups) is malformed."""


class FieldError(InputError):
    """A vector layer lacks a field the user named, or its values are unusable."""


class GridMismatch(InputError):
    """Two rasters that must share one grid do not."""


class OutputExists(SinkplanError, FileExistsError):
    """An output folder exists and ``overwrite`` was not asked for."""


class OutputError(SinkplanError, OSError):
    """An output cannot be written: permission, read-only or full file system, name too long."""


class ClusterError(SinkplanError, ConnectionError):
    """A Dask scheduler cannot be reached or its workers cannot run the blocks."""


class ConfigError(InputError):
    """A run configuration or profile is invalid (unknown key, bad value, missing file)."""


class OutputBusy(SinkplanError, FileExistsError):
    """Another run is writing the same output folder."""


class ResultError(SinkplanError, ValueError):
    """A result cannot be written as computed (e.g. a non-finite number where JSON has none)."""


class SpecError(SinkplanError, ValueError):
    """A writer wrote a column, key or file the result-folder spec does not declare (a sinkplan bug)."""

"""Limits every package shares, in a module that imports nothing (the command line reads them
before it decides which heavy packages a run needs)."""

__all__ = ["DEFAULT_MAX_CELLS"]

#: Default cell budget of one block: 4 Mi cells (16 MiB as int32, 32 MiB as float64).
DEFAULT_MAX_CELLS = 4 * 1024 * 1024

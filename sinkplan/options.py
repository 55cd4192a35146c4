"""Checks of the options every command shares, before any work (one line, exit 2 on a bad value).

argparse only checks that ``--seed -1`` is an int and ``--scale inf`` a float; these are the
ranges: a seed numpy and scikit-learn accept, a block large enough to be worth a pass, a
worker count, and no infinite or NaN number anywhere on the command line.
"""

from __future__ import annotations

import argparse
import math

from sinkplan.layers.errors import ConfigError
from sinkplan.layers.files import check_utf8_path

__all__ = ["MIN_MAX_CELLS", "MAX_SEED", "check_options"]

#: Smallest cell budget of a block (a 32 × 32 block): below it per-block overhead dominates.
MIN_MAX_CELLS = 1024
#: Largest seed: scikit-learn's ``random_state`` and numpy's legacy generators take 32 bits.
MAX_SEED = 2**32 - 1


def check_options(args: argparse.Namespace) -> None:
    """Refuse out-of-range shared options and non-finite numbers.

    Raises
    ------
    ConfigError
        The message names the option, the value and the range.
    """
    for key, value in sorted(vars(args).items()):
        values = value if isinstance(value, (list, tuple)) else [value]
        for v in values:
            if isinstance(v, float) and not math.isfinite(v):
                raise ConfigError(f"{_flag(key)} {v}: give a finite number")
            if isinstance(v, str):
                check_utf8_path(v)  # a GBK file name from a Windows zip: named by its bytes, before any work
    max_cells = getattr(args, "max_cells", None)
    if max_cells is not None and max_cells < MIN_MAX_CELLS:
        raise ConfigError(f"--max-cells {max_cells}: a block needs at least {MIN_MAX_CELLS} cells; give "
                          f"{MIN_MAX_CELLS} or more (default 4194304)")
    workers = getattr(args, "workers", None)
    if workers is not None and workers < 0:
        raise ConfigError(f"--workers {workers}: give 0 (one process, no Dask) or a number of local worker processes")
    seed = getattr(args, "seed", None)
    if seed is not None and not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"--seed {seed}: give a whole number from 0 to {MAX_SEED}")


def _flag(key: str) -> str:
    return "--" + key.replace("_", "-")

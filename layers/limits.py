"""Limits every package shares, in a module that imports nothing (the command line reads them
before it decides which heavy packages a run needs)."""

__all__ = ["DEFAULT_MAX_CELLS", "SITE_MAX_CELLS"]

#: Default cell budget of one block: 4 Mi cells (16 MiB as int32, 32 MiB as float64).
DEFAULT_MAX_CELLS = 4 * 1024 * 1024
#: Default cell budget of one ``site`` block: 1 Mi cells. Screening a block holds many
#: full-block arrays at once (codes, bits, slope, north descent, DEM with its halo, densities,
#: labels): up to 296 MB at 4 Mi cells (tracemalloc, 6 Gpx benchmark), two blocks at a time
#: plus the results waiting to be written. Measured on the 460 Mpx benchmark (whole processes,
#: load 2-4): peak RSS 1 047-1 062 MB at 4 Mi cells, 795-874 MB at 2 Mi, 749 MB at 1 Mi, with
#: the same user CPU (65-67 s) and less system time (3.3 s against 5.7-7.6 s).
SITE_MAX_CELLS = DEFAULT_MAX_CELLS // 4

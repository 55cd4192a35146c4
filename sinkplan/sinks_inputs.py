"""Shared wiring of the sinks commands (carbon, coverage, change): options and inputs.

Everything here runs before a result folder is opened, so a bad input fails with one line
and leaves nothing behind: land-cover rasters are opened and their grids compared
(:func:`sinkplan.sinks.inputs.open_landcovers`), the zone and redline layers read and rasterized once
into the cached stratum raster (:mod:`sinkplan.sinks.strata`, re-exported here).
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import re
from collections.abc import Iterator
from pathlib import Path

from sinkplan.layers.errors import InputError
from sinkplan.layers.landcover import LandCover
from sinkplan.layers.parallel import BlockExecutor
from sinkplan.context import RunContext
from sinkplan.sinks.inputs import GDAL_CACHE_MB, limit_gdal_cache, pass_threads
from sinkplan.sinks.inputs import open_landcovers as _open_landcovers
from sinkplan.sinks.strata import (
    OUTSIDE_ZONES,
    Strata,
    cache_dir,
    prepare_strata,
    read_zone_layer,
)

__all__ = ["add_common_options", "hierarchy_from", "open_landcovers", "parse_years", "Strata", "prepare_strata", "executor", "pass_threads",
           "OUTSIDE_ZONES", "cache_dir", "read_zone_layer", "limit_gdal_cache", "GDAL_CACHE_MB"]

logger = logging.getLogger(__name__)


def add_common_options(p: argparse.ArgumentParser, *, zones_help: str = "zone polygons (banners, leagues, projects)") -> None:
    """Options shared by carbon, coverage and change."""
    p.add_argument("--scheme", default="clcd", help="class scheme: clcd, worldcover, globeland30 or a CSV/TOML path (default clcd)")
    p.add_argument("--map-codes", default=None, metavar="MAP",
                   help="codes the scheme lacks, e.g. 200=7,201=grassland")
    p.add_argument("--zones", default=None, metavar="FILE", help=zones_help)
    p.add_argument("--zone-field", default=None, metavar="FIELD",
                   help="field naming the zones (default: each feature is a zone numbered 1, 2, ...)")
    p.add_argument("--zone-layer", default=None, metavar="LAYER", help="layer of a multi-layer zone file")
    p.add_argument("--redline", default=None, metavar="FILE", help="ecological protection redline polygons")
    p.add_argument("--group-by", default=None, metavar="FIELD",
                   help="field of the zone layer holding each zone's group (e.g. the league of each banner): every "
                   "table gets a row per group and a whole-region total (zone_level, zone_group columns)")
    p.add_argument("--out", required=True, metavar="DIR", help="result folder")
    p.add_argument("--workers", type=int, default=0, metavar="N", help="local Dask worker processes (default 0: one process)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--overwrite", action="store_true", help="replace an existing result folder")
    p.add_argument("--lang", choices=("zh", "en"), default="zh",
                   help="language of the workbook's sheet titles and headers (default zh; CSVs keep field names)")


def hierarchy_from(args: argparse.Namespace, strata: Strata):
    """The zone hierarchy of ``--group-by`` (None without it), read before any output is written.

    Raises
    ------
    InputError, FieldError
        ``--group-by`` without ``--zones``, a missing or empty field, a zone in two groups.
    """
    from sinkplan.sinks.hierarchy import resolve_hierarchy

    if getattr(args, "group_by", None) is None:
        return None
    return resolve_hierarchy(args.group_by, strata, zones=args.zones, zone_field=args.zone_field, zone_layer=args.zone_layer)


def parse_years(specs: list[str]) -> list[tuple[int | None, Path]]:
    """``['2015=a.tif', '2020=b.tif']`` → [(2015, a.tif), (2020, b.tif)]; a bare path has no year."""
    out: list[tuple[int | None, Path]] = []
    for spec in specs:
        m = re.fullmatch(r"\s*(\d{4})\s*=\s*(.+)", spec)
        if m:
            out.append((int(m.group(1)), Path(m.group(2).strip())))
        elif "=" in spec and not Path(spec).exists():
            raise InputError(f"{spec!r}: write YEAR=PATH with a four-digit year, e.g. 2020=lc2020.tif")
        else:
            out.append((None, Path(spec)))
    years = [y for y, _ in out]
    if any(y is not None for y in years) and None in years:
        raise InputError("give a year for every land-cover raster (YEAR=PATH) or for none")
    if len({y for y in years if y is not None}) < len([y for y in years if y is not None]):
        raise InputError(f"a year is given twice: {[y for y in years]}")
    return out


def open_landcovers(paths: list[Path], args: argparse.Namespace) -> list[LandCover]:
    """Open land-cover rasters with ``--scheme`` and ``--map-codes``; all must share the first one's grid."""
    return _open_landcovers(paths, scheme=args.scheme, map_codes=getattr(args, "map_codes", None))


@contextlib.contextmanager
def executor(ctx: RunContext) -> Iterator[BlockExecutor]:
    """The block executor the run's options ask for (one process, local Dask or a scheduler)."""
    with BlockExecutor(workers=ctx.workers, scheduler=ctx.scheduler) as ex:
        yield ex

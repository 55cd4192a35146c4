"""Shared wiring of the sinks commands (carbon, coverage, change): options, inputs, strata.

Everything here runs before a result folder is opened, so a bad input fails with one line
and leaves nothing behind: land-cover rasters are opened and their grids compared, the
zone and redline layers read (field checked, empty layers refused) and rasterized once into
a *stratum raster* holding ``zone_id * sides + inside`` on the land-cover grid. That raster
is cached per (zone layer, field, redline layer, grid): in ``$SINKPLAN_CACHE_DIR`` when set
(reused across runs; with ``--scheduler`` it must be a folder the workers can read), else in
a temporary folder removed at the end of the command.
"""

from __future__ import annotations

import argparse
import contextlib
import hashlib
import json
import logging
import os
import re
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
import rasterio.env

from layers.errors import InputError
from layers.grid import Grid
from layers.landcover import LandCover, open_landcover
from layers.parallel import BlockExecutor
from layers.schemes import parse_code_mapping
from sinkplan.context import RunContext

__all__ = ["add_common_options", "open_landcovers", "parse_years", "Strata", "prepare_strata", "executor", "pass_threads", "OUTSIDE_ZONES"]

logger = logging.getLogger(__name__)

#: Label of the pixels outside every zone (listed so zones add up to the whole).
OUTSIDE_ZONES = "(outside zones)"
_CACHE_VERSION = "strata-1"
#: Codecs of the cached stratum raster, first available wins: ZSTD decodes faster than DEFLATE.
_CODECS = ("zstd", "deflate")


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
    p.add_argument("--out", required=True, metavar="DIR", help="result folder")
    p.add_argument("--workers", type=int, default=0, metavar="N", help="local Dask worker processes (default 0: one process)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="a running Dask scheduler, e.g. tcp://host:8786")
    p.add_argument("--overwrite", action="store_true", help="replace an existing result folder")


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
    """Open land-cover rasters with the scheme; all must share the first one's grid."""
    limit_gdal_cache()
    mapping = parse_code_mapping(args.map_codes) if getattr(args, "map_codes", None) else None
    lcs = [open_landcover(p, args.scheme, mapping=mapping) for p in paths]
    for lc in lcs[1:]:
        lcs[0].grid.check_same(lc.grid, names=(str(lcs[0].path), str(lc.path)))
    return lcs


@dataclass(frozen=True)
class Strata:
    """Zones and redline rasterized on the grid.

    ``path`` is None when there are neither zones nor a redline (one stratum).
    ``names[i]`` is the name of zone id i (``names[0]`` is :data:`OUTSIDE_ZONES`).
    """

    path: Path | None
    names: tuple[str, ...]
    sides: int
    zones_gdf: object | None  # GeoDataFrame (zone_id, zone, geometry) in the grid's CRS
    zone_source: str | None
    redline_gdf: object | None = None  # GeoDataFrame of the redline as read (repaired), in the grid's CRS

    @property
    def nzones(self) -> int:
        """Number of zones (ids 1..nzones)."""
        return len(self.names) - 1


def _cache_key(grid: Grid, parts: list[str | None]) -> str:
    from sinkplan.results import file_record

    h = hashlib.sha256(_CACHE_VERSION.encode())
    h.update(grid.crs.to_wkt().encode())
    h.update(repr((tuple(grid.transform)[:6], grid.width, grid.height)).encode())
    for p in parts:
        h.update(b"|")
        if p is None:
            continue
        if os.path.exists(p):
            h.update(file_record(p)["sha256"].encode())
        else:
            h.update(str(p).encode())
    return h.hexdigest()[:24]


@contextlib.contextmanager
def cache_dir() -> Iterator[Path]:
    """The strata cache folder: ``$SINKPLAN_CACHE_DIR`` or a temporary one for this command."""
    env = os.environ.get("SINKPLAN_CACHE_DIR")
    if env:
        p = Path(env)
        p.mkdir(parents=True, exist_ok=True)
        yield p
        return
    tmp = Path(tempfile.mkdtemp(prefix="sinkplan-strata-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def read_zone_layer(path: str | os.PathLike, grid: Grid, *, field: str | None, layer: str | None = None):
    """A :class:`~layers.vectors.ZoneRasterizer` for a zone file (errors: missing field, empty layer)."""
    from layers.vectors import ZoneRasterizer, read_vector

    vl = read_vector(path, layer=layer, field=field, to_crs=grid.crs)
    return ZoneRasterizer(vl, grid, field=field)


def prepare_strata(
    grid: Grid,
    *,
    zones: str | os.PathLike | None,
    zone_field: str | None,
    redline: str | os.PathLike | None,
    folder: Path,
    zone_layer: str | None = None,
    zone_rasterizer=None,
    max_cells: int,
    progress=None,
) -> Strata:
    """Read and rasterize zones and redline into one cached stratum raster on ``grid``.

    ``zone_rasterizer`` (a ready :class:`~layers.vectors.ZoneRasterizer`) replaces
    ``zones`` (e.g. restoration projects with their control rings).
    """
    zr = zone_rasterizer
    if zr is None and zones is not None:
        zr = read_zone_layer(zones, grid, field=zone_field, layer=zone_layer)
    red = None
    if redline is not None:
        red = read_zone_layer(redline, grid, field=None)
    if zr is None and red is None:
        return Strata(None, (OUTSIDE_ZONES,), 1, None, None)
    sides = 2 if red is not None else 1
    names = (OUTSIDE_ZONES, *(zr.names if zr is not None else ()))
    nstrata = len(names) * sides
    dtype = "uint8" if nstrata <= 256 else "uint16" if nstrata <= 65536 else "int32"
    zone_key = str(zones) if zone_rasterizer is None else json.dumps(
        [list(zr.names), [g.wkb_hex for g in zr.gdf.geometry]], ensure_ascii=False)
    key = _cache_key(grid, [zone_key, zone_field, zone_layer, None if redline is None else str(redline)])
    path = folder / f"strata-{key}.tif"
    if path.exists():
        logger.info("reusing cached zone raster %s", path)
    else:
        _write_strata(path, grid, zr, red, dtype, max_cells=max_cells, progress=progress)
    if zr is not None and not any(zr.intersects(w) for w in [grid.full_window()]):
        logger.warning("%s: no zone overlaps the land-cover raster", zones)
    return Strata(path, names, sides, zr.zones_gdf if zr is not None else None, None if zones is None else str(zones),
                  None if red is None else red.gdf)


def _write_strata(path: Path, grid: Grid, zr, red, dtype: str, *, max_cells: int, progress=None) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    bh, bw = grid.block_shape
    tiled = bh % 16 == 0 and bw % 16 == 0 and bh > 1 and bw > 1 and bw < grid.width
    profile = dict(driver="GTiff", width=grid.width, height=grid.height, count=1, dtype=dtype,
                   crs=rasterio.crs.CRS.from_wkt(grid.crs.to_wkt()), transform=grid.transform,
                   BIGTIFF="IF_SAFER")
    if tiled:
        profile.update(tiled=True, blockxsize=bw, blockysize=bh)
    else:
        profile.update(tiled=True, blockxsize=512, blockysize=512)
    windows = list(grid.blocks(max_cells))
    for codec in _CODECS:
        try:
            rasterio.open(tmp, "w", **{**profile, "compress": codec}).close()
            profile["compress"] = codec
            break
        except Exception:  # codec not in this GDAL build: try the next
            continue
    try:
        with rasterio.open(tmp, "w", **profile) as dst:
            for i, w in enumerate(windows):
                h, wd = int(w.height), int(w.width)
                ids = zr.rasterize(w) if zr is not None else np.zeros((h, wd), dtype=np.int32)
                if red is not None:
                    ids = ids * 2 + red.mask(w)
                dst.write(ids.astype(dtype), 1, window=w)
                if progress:
                    progress((i + 1) / len(windows), "rasterizing zones")
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


#: GDAL block cache (MB) for the sinks commands: every block is read once, so a large
#: cache only grows the process (GDAL's default is 5 % of RAM, 1.2 GB on a 24 GB machine).
GDAL_CACHE_MB = 128


def limit_gdal_cache() -> None:
    """Cap GDAL's block cache for this process and the Dask workers it starts, unless the
    user set ``GDAL_CACHEMAX`` already."""
    if "GDAL_CACHEMAX" not in os.environ:
        os.environ["GDAL_CACHEMAX"] = str(GDAL_CACHE_MB)
        rasterio.env.set_gdal_config("GDAL_CACHEMAX", GDAL_CACHE_MB * 1024 * 1024)


def pass_threads() -> int:
    """Threads for a pass without Dask: ``$SINKPLAN_THREADS`` or the CPU count (at most 4)."""
    env = os.environ.get("SINKPLAN_THREADS")
    if env:
        try:
            return max(1, int(env))
        except ValueError:
            raise InputError(f"SINKPLAN_THREADS={env!r} is not a number of threads") from None
    return max(1, min(4, os.cpu_count() or 1))


@contextlib.contextmanager
def executor(ctx: RunContext) -> Iterator[BlockExecutor]:
    """The block executor the run's options ask for."""
    with BlockExecutor(workers=ctx.workers, scheduler=ctx.scheduler) as ex:
        yield ex

"""Zones and redline on the land-cover grid: the *strata* of every sinks pass.

Every sinks pass (:mod:`sinkplan.sinks.blocks`) splits its counts by stratum, the value
``zone_id * sides + inside`` of each pixel (zone id 0 outside every zone; ``inside`` 1 inside
the ecological protection redline, only when there is one). This module reads the zone and
redline layers (field checked, empty layers refused, geometries repaired:
:func:`sinkplan.layers.vectors.read_vector`) and gives the pass a way to get the strata of
any block (:attr:`Strata.source`):

* by default :class:`StrataBlocks`: the geometries in the grid's pixel frame, rasterized
  (pixel-centre rule) block by block **inside the pass, on whoever runs the block**: a
  thread of this process or a Dask worker, which receives the geometries once (the
  executor scatters the block function). No file is written, so a remote worker that
  shares only the data path has all it needs;
* with ``$SINKPLAN_CACHE_DIR`` set, a stratum raster cached there per (zone layer, field,
  redline layer, grid) and reused across runs (it saves rasterizing on a repeated run);
  with a remote scheduler that folder must be one every worker reads at the same path,
  which the pass checks before it starts (a one-line error naming ``SINKPLAN_CACHE_DIR``).
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import rasterio

from sinkplan.layers.errors import InputError
from sinkplan.layers.warnings import PartlyMappedZoneWarning, warn
from sinkplan.layers.files import sha256_content
from sinkplan.layers.grid import DEFAULT_MAX_CELLS, Grid
from sinkplan.layers.parallel import Progress

if TYPE_CHECKING:  # layers.vectors imports geopandas: only when zones are read (CLI start-up time)
    from sinkplan.layers.zones import ZoneRasterizer

__all__ = ["OUTSIDE_ZONES", "ALL_ZONES", "CACHE_ENV", "Strata", "StrataBlocks", "cache_dir", "prepare_strata",
           "read_zone_layer", "using_strata", "strata_block"]

logger = logging.getLogger(__name__)


#: Label of the pixels outside every zone (listed so zones add up to the whole).
OUTSIDE_ZONES = "(outside zones)"
#: Label of the whole map in tables when no zone layer is given.
ALL_ZONES = "(all)"
_CACHE_VERSION = "strata-1"
#: Environment variable naming the folder of cached stratum rasters (unset: none are written).
CACHE_ENV = "SINKPLAN_CACHE_DIR"


class StrataBlocks:
    """``zone_id * sides + inside`` of any window, rasterized where the block runs.

    Picklable (pixel-frame geometries as WKB, see :class:`sinkplan.layers.zones.BlockZones`);
    equal pixel for pixel to the cached stratum raster.

    Parameters
    ----------
    zones, redline : BlockZones or None
        Zone polygons (ids 1..n) and the redline mask.
    sides : int
        2 with a redline, else 1.
    dtype : str
        dtype of the strata (uint8 up to 256 strata, uint16, int32).
    """

    def __init__(self, zones, redline, *, sides: int, dtype: str) -> None:
        self.zones, self.redline, self.sides, self.dtype = zones, redline, sides, dtype

    def __call__(self, window) -> np.ndarray:
        h, w = int(window.height), int(window.width)
        # in the strata's own dtype from the start: it holds zone_id * sides + inside, so the ids too
        ids = self.zones.rasterize(window, self.dtype) if self.zones is not None else np.zeros((h, w), dtype=self.dtype)
        if self.redline is not None:
            ids *= 2
            ids += self.redline.mask(window)
        return ids


def strata_block(source: "str | StrataBlocks | None", window, read=None) -> np.ndarray | None:
    """The strata of ``window`` from :attr:`Strata.source`: read from the cached raster
    (with ``read(path, window)``) or rasterized; None for a single stratum."""
    if source is None:
        return None
    if isinstance(source, StrataBlocks):
        return source(window)
    if read is None:
        from sinkplan.layers.grid import open_raster
        from sinkplan.layers.reading import read_window

        with open_raster(source) as src:
            return read_window(src, window)
    return read(source, window)
#: Codecs of the cached stratum raster, first available wins: ZSTD decodes faster than DEFLATE.
_CODECS = ("zstd", "deflate")


@dataclass(frozen=True)
class Strata:
    """Zones and redline rasterized on the grid.

    Attributes
    ----------
    path : Path or None
        The cached stratum raster (``zone_id * sides + inside``); None when the strata are
        rasterized in the pass (``blocks``) or when there are neither zones nor a redline.
    names : tuple of str
        ``names[i]`` is the name of zone id i (``names[0]`` is :data:`OUTSIDE_ZONES`).
    sides : int
        2 with a redline (outside 0, inside 1), else 1.
    zones_gdf : GeoDataFrame or None
        ``zone_id, zone, geometry`` in the grid's CRS.
    zone_source : str or None
        The zone layer's path.
    redline_gdf : GeoDataFrame or None
        The redline as read (repaired), in the grid's CRS.
    blocks : StrataBlocks or None
        The in-pass rasterizer (when no cached raster is used).
    zone_field : str or None
        The field naming the zones.
    redline_source : str or None
        The redline layer's path.
    """

    path: Path | None
    names: tuple[str, ...]
    sides: int
    zones_gdf: object | None
    zone_source: str | None
    redline_gdf: object | None = None
    blocks: StrataBlocks | None = None
    zone_field: str | None = None
    redline_source: str | None = None

    @property
    def source(self) -> "str | StrataBlocks | None":
        """What a pass reads the strata from: the cached raster's path, the in-pass
        rasterizer, or None (one stratum)."""
        return str(self.path) if self.path is not None else self.blocks

    @property
    def nzones(self) -> int:
        """Number of zones (ids 1..nzones)."""
        return len(self.names) - 1

    @property
    def has_zones(self) -> bool:
        """True when a zone layer was given."""
        return self.zones_gdf is not None

    @cached_property
    def polygon_area_ha(self) -> np.ndarray | None:
        """Ellipsoidal area (ha) of each zone polygon, in zone-id order (id 1 first); None without
        zones. Computed once: the mapped fractions and the tables of a run both need it (45 000
        vertices of 103 banners: about 0.05 s each time)."""
        from sinkplan.sinks.mapped import zone_polygon_area_ha

        return zone_polygon_area_ha(self.zones_gdf) if self.has_zones else None


def _cache_key(grid: Grid, parts: list[str | None]) -> str:
    h = hashlib.sha256(_CACHE_VERSION.encode())
    h.update(grid.crs.to_wkt().encode())
    h.update(repr((tuple(grid.transform)[:6], grid.width, grid.height)).encode())
    for p in parts:
        h.update(b"|")
        if p is None:
            continue
        if os.path.exists(p):
            h.update(sha256_content(p).encode())
        else:
            h.update(str(p).encode())
    return h.hexdigest()[:24]


@contextlib.contextmanager
def cache_dir() -> Iterator[Path | None]:
    """The strata cache folder ``$SINKPLAN_CACHE_DIR``, or None (strata rasterized in the pass)."""
    env = os.environ.get(CACHE_ENV)
    if env:
        p = Path(env)
        p.mkdir(parents=True, exist_ok=True)
        yield p
        return
    yield None


def read_zone_layer(path: str | os.PathLike, grid: Grid, *, field: str | None, layer: str | None = None,
                    layer_param: str | None = "zone_layer", what: str = "zones") -> ZoneRasterizer:
    """A :class:`~sinkplan.layers.zones.ZoneRasterizer` for a zone file, reprojected to ``grid``
    (:func:`sinkplan.layers.zones.read_zones`: a file of several layers must name one).

    Raises
    ------
    FieldError, InputError, InputFileError, MissingCRS
        Missing field, empty layer, unreadable file, no CRS (from :func:`sinkplan.layers.vectors.read_vector`),
        several layers and none named.
    """
    from sinkplan.layers.zones import read_zones

    return read_zones(path, grid, field=field, layer=layer, layer_param=layer_param, what=what)


def prepare_strata(
    grid: Grid,
    *,
    zones: str | os.PathLike | None,
    zone_field: str | None = None,
    redline: str | os.PathLike | None = None,
    folder: str | os.PathLike | None = None,
    zone_layer: str | None = None,
    zone_rasterizer: ZoneRasterizer | None = None,
    max_cells: int = DEFAULT_MAX_CELLS,
    progress: Progress | None = None,
) -> Strata:
    """Read and rasterize zones and redline into one cached stratum raster on ``grid``.

    Parameters
    ----------
    grid : Grid
        The land-cover grid.
    zones : path or None
        Zone polygons (banners, leagues, projects).
    zone_field : str, optional
        Field naming the zones (default: each feature is a zone numbered 1, 2, ...).
    redline : path or None
        Ecological protection redline polygons.
    folder : path, optional
        Cache folder of the stratum raster (e.g. from :func:`cache_dir`); a raster for the
        same layers and grid found there is reused. None (default): nothing is written, the
        pass rasterizes each block (:class:`StrataBlocks`).
    zone_layer : str, optional
        Layer of a multi-layer zone file.
    zone_rasterizer : ZoneRasterizer, optional
        A ready rasterizer that replaces ``zones`` (e.g. restoration projects with their
        control rings, :func:`sinkplan.sinks.restoration.restoration_zones`).
    max_cells : int
        Cells per block.
    progress : callable, optional
        ``progress(fraction, label)``.

    Returns
    -------
    Strata

    Raises
    ------
    FieldError, InputError, InputFileError, MissingCRS
        A zone or redline layer that cannot be used (nothing is written then).

    Examples
    --------
    >>> with cache_dir() as folder:  # doctest: +SKIP
    ...     strata = prepare_strata(lc.grid, zones="banners.gpkg", zone_field="name_zh", folder=folder)
    """
    zr = zone_rasterizer
    if zr is None and zones is not None:
        zr = read_zone_layer(zones, grid, field=zone_field, layer=zone_layer)
    red = None
    if redline is not None:
        red = read_zone_layer(redline, grid, field=None, layer_param="", what="redline")
    if zr is None and red is None:
        return Strata(None, (OUTSIDE_ZONES,), 1, None, None)
    sides = 2 if red is not None else 1
    if zr is not None and OUTSIDE_ZONES in zr.names:
        # the row of the pixels outside every zone would merge with this zone in tables and maps
        field = f"field {zone_field!r} of " if zone_field else ""
        raise InputError(f"{field}zone layer{'' if zones is None else ' ' + str(zones)}: a zone is named {OUTSIDE_ZONES!r}, the label sinkplan gives the "
                         "pixels outside every zone; rename that zone")
    names = (OUTSIDE_ZONES, *(zr.names if zr is not None else ()))
    nstrata = len(names) * sides
    dtype = "uint8" if nstrata <= 256 else "uint16" if nstrata <= 65536 else "int32"
    if zr is not None and not zr.intersects(grid.full_window()):
        warn(PartlyMappedZoneWarning, f"{zones}: no zone overlaps the land-cover raster", logger=__name__)
    zones_gdf = zr.zones_gdf if zr is not None else None
    redline_gdf = None if red is None else red.gdf
    if folder is None:
        blocks = StrataBlocks(zr.for_blocks() if zr is not None else None, red.for_blocks() if red is not None else None,
                              sides=sides, dtype=dtype)
        return Strata(None, names, sides, zones_gdf, None if zones is None else str(zones), redline_gdf, blocks,
                      zone_field=zone_field, redline_source=None if redline is None else str(redline))
    zone_key = str(zones) if zone_rasterizer is None else json.dumps(
        [list(zr.names), [g.wkb_hex for g in zr.gdf.geometry]], ensure_ascii=False)
    key = _cache_key(grid, [zone_key, zone_field, zone_layer, None if redline is None else str(redline)])
    path = Path(folder) / f"strata-{key}.tif"
    if path.exists():
        logger.info("reusing cached zone raster %s", path)
    else:
        _write_strata(path, grid, zr, red, dtype, max_cells=max_cells, progress=progress)
    return Strata(path, names, sides, zones_gdf, None if zones is None else str(zones), redline_gdf,
                  zone_field=zone_field, redline_source=None if redline is None else str(redline))


@contextlib.contextmanager
def using_strata(grid: Grid, *, strata: Strata | None = None, zones: str | os.PathLike | None = None,
                 zone_field: str | None = None, zone_layer: str | None = None, redline: str | os.PathLike | None = None,
                 zone_rasterizer: ZoneRasterizer | None = None, max_cells: int = DEFAULT_MAX_CELLS,
                 progress: Progress | None = None) -> Iterator[Strata]:
    """``strata`` when given (prepared by the caller), else :func:`prepare_strata` with the
    :func:`cache_dir` (``$SINKPLAN_CACHE_DIR``; unset: rasterized in the pass).

    Raises
    ------
    ValueError
        Both ``strata`` and zone or redline layers are given.
    """
    if strata is not None:
        if zones is not None or redline is not None or zone_rasterizer is not None:
            raise InputError("give either prepared strata or zones / redline, not both", params=("strata",))
        yield strata
        return
    with cache_dir() as folder:
        yield prepare_strata(grid, zones=zones, zone_field=zone_field, redline=redline, folder=folder,
                             zone_layer=zone_layer, zone_rasterizer=zone_rasterizer, max_cells=max_cells,
                             progress=progress)


def _write_strata(path: Path, grid: Grid, zr, red, dtype: str, *, max_cells: int, progress: Progress | None = None) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
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

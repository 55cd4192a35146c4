"""Raster values at training samples: points (the pixel under each point) or polygons
(every pixel whose centre is inside), read block by block with bounded memory.

Rasters on another grid than the working grid are read through a GDAL warped view onto
it (bilinear for continuous covariates), so a covariate never has to be resampled to disk.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from rasterio.enums import Resampling
from rasterio.vrt import WarpedVRT
from rasterio.windows import Window

from sinkplan.layers.errors import InputError
from sinkplan.layers.grid import DEFAULT_MAX_CELLS, Grid, open_raster
from sinkplan.layers.reading import read_window

__all__ = ["PolygonSamples", "open_on_grid", "point_pixels", "polygon_samples", "read_at_pixels"]

logger = logging.getLogger(__name__)


@contextmanager
def open_on_grid(path: str | os.PathLike, grid: Grid, *, resampling: str = "bilinear") -> Iterator:
    """A dataset whose pixels are ``grid``'s: the file itself, or a warped view onto ``grid``.

    ``read(window=...)`` on the result reads only that window (GDAL warps on demand).
    """
    with open_raster(path) as src:
        own = Grid.from_dataset(src, name=str(path))
        if own.same_as(grid):
            yield src
            return
        logger.info("%s is on another grid: read through a %s warp onto the working grid", path, resampling)
        with WarpedVRT(src, crs=rasterio.crs.CRS.from_wkt(grid.crs.to_wkt()), transform=grid.transform,
                       width=grid.width, height=grid.height, resampling=Resampling[resampling],
                       src_nodata=src.nodata, nodata=src.nodata) as vrt:
            yield vrt


def single_points(gdf: gpd.GeoDataFrame, *, where: str = "sample layer") -> gpd.GeoDataFrame:
    """``gdf`` with each one-point MultiPoint as a Point (QGIS and ArcGIS often store points so).

    Raises
    ------
    InputError
        A MultiPoint holds several points (which one is the sample?).
    """
    if "MultiPoint" not in set(gdf.geom_type.unique()):
        return gdf
    multi = (gdf.geom_type == "MultiPoint").to_numpy()
    n = shapely.get_num_geometries(np.asarray(gdf.geometry.values))
    several = np.flatnonzero(multi & (n != 1))
    if several.size:
        raise InputError(f"{where}: {several.size} MultiPoint features hold several points (first: feature "
                         f"{int(several[0]) + 1}, {int(n[several[0]])} points); give one point per sample "
                         "(QGIS: Multipart to singleparts)")
    geoms = np.asarray(gdf.geometry.values).copy()
    geoms[multi] = shapely.get_geometry(geoms[multi], 0)
    return gdf.set_geometry(gpd.GeoSeries(geoms, index=gdf.index, crs=gdf.crs, name=gdf.geometry.name))


def point_pixels(gdf: gpd.GeoDataFrame, grid: Grid, *, where: str = "sample layer") -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Row, column of the pixel under each point (in ``grid.crs``) and whether it is on the grid.
    One-point MultiPoints count as points (:func:`single_points`).

    Raises
    ------
    InputError
        A geometry is not a point.
    """
    gdf = single_points(gdf, where=where)
    types = set(gdf.geom_type.unique())
    if not types <= {"Point"}:
        raise InputError(f"{where} holds {sorted(types)} geometries; points are needed here (or give polygons to classify)")
    x = gdf.geometry.x.to_numpy()
    y = gdf.geometry.y.to_numpy()
    col_f, row_f = ~grid.transform @ (x, y)
    col = np.floor(np.asarray(col_f)).astype(np.int64)
    row = np.floor(np.asarray(row_f)).astype(np.int64)
    inside = (row >= 0) & (row < grid.height) & (col >= 0) & (col < grid.width)
    return row, col, inside


def read_at_pixels(path: str | os.PathLike, grid: Grid, rows: np.ndarray, cols: np.ndarray, *,
                   max_cells: int = DEFAULT_MAX_CELLS, resampling: str = "bilinear") -> tuple[np.ndarray, float | None]:
    """Values of every band at pixels ``(rows, cols)`` of ``grid``: (bands, n) float64, and the nodata.

    Only the blocks that hold a pixel are read.
    """
    rows = np.asarray(rows, dtype=np.int64)
    cols = np.asarray(cols, dtype=np.int64)
    with open_on_grid(path, grid, resampling=resampling) as src:
        out = np.full((src.count, rows.size), np.nan)
        nodata = src.nodata
        bh, bw = grid.block_shape_for(max_cells)
        block = (rows // bh) * ((grid.width + bw - 1) // bw) + cols // bw
        order = np.argsort(block, kind="stable")
        bounds = np.flatnonzero(np.diff(block[order])) + 1
        for chunk in np.split(order, bounds):
            if chunk.size == 0:
                continue
            r0 = int(rows[chunk[0]] // bh) * bh
            c0 = int(cols[chunk[0]] // bw) * bw
            w = Window(c0, r0, min(bw, grid.width - c0), min(bh, grid.height - r0))
            data = read_window(src, w, indexes=None, name=path)
            out[:, chunk] = data[:, rows[chunk] - r0, cols[chunk] - c0]
    return out, nodata


@dataclass(frozen=True)
class PolygonSamples:
    """Pixels inside polygons: band values (bands, n), the polygon of each, its grid position."""

    values: np.ndarray
    polygon: np.ndarray  # index into the layer's rows
    rows: np.ndarray
    cols: np.ndarray
    pixels_inside: int  # before subsampling


def polygon_samples(gdf: gpd.GeoDataFrame, grid: Grid, image: str | os.PathLike, *, max_samples: int, seed: int,
                    max_cells: int = DEFAULT_MAX_CELLS) -> PolygonSamples:
    """Every pixel whose centre lies in a polygon, subsampled uniformly to ``max_samples``.

    Blocks that no polygon touches are skipped; a running reservoir keeps the
    ``max_samples`` pixels with the smallest random keys, so memory stays bounded and the
    sample is the same whatever the block size (keys come from the pixel's grid position
    and ``seed``).
    """
    from sinkplan.layers.zones import ZoneRasterizer

    zr = ZoneRasterizer(gdf, grid)
    keep_key = np.empty(0)
    keep = [np.empty((0,)), np.empty(0, np.int64), np.empty(0, np.int64), np.empty(0, np.int64)]
    inside_total = 0
    with open_raster(image) as src:
        nb = src.count
        keep[0] = np.empty((nb, 0))
        for w in grid.blocks(max_cells):
            if not zr.intersects(w):
                continue
            ids = zr.rasterize(w)
            r, c = np.nonzero(ids)
            if r.size == 0:
                continue
            inside_total += r.size
            data = read_window(src, w, indexes=None)
            gr = r + int(w.row_off)
            gc = c + int(w.col_off)
            key = _pixel_keys(gr * grid.width + gc, seed)
            vals = np.concatenate([keep[0], data[:, r, c].astype(np.float64)], axis=1)
            poly = np.concatenate([keep[1], ids[r, c].astype(np.int64) - 1])
            rr = np.concatenate([keep[2], gr])
            cc = np.concatenate([keep[3], gc])
            keys = np.concatenate([keep_key, key])
            if keys.size > max_samples:
                sel = np.sort(np.argpartition(keys, max_samples - 1)[:max_samples])
                vals, poly, rr, cc, keys = vals[:, sel], poly[sel], rr[sel], cc[sel], keys[sel]
            keep, keep_key = [vals, poly, rr, cc], keys
    if inside_total > max_samples:
        logger.info("polygons cover %d pixels: %d sampled at random for training", inside_total, max_samples)
    order = np.lexsort((keep[3], keep[2]))  # grid order, whatever the block size
    return PolygonSamples(keep[0][:, order], keep[1][order], keep[2][order], keep[3][order], inside_total)


def _pixel_keys(flat_index: np.ndarray, seed: int) -> np.ndarray:
    """A reproducible pseudo-random key in [0, 1) per pixel (splitmix64 of index and seed)."""
    z = (flat_index.astype(np.uint64) + np.uint64(seed & 0xFFFFFFFF) * np.uint64(0x9E3779B97F4A7C15))
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) / float(1 << 53)

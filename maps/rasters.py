"""Raster overlays: bounded block-averaged reads, display warping, palette PNGs.

A result raster may be 6 gigapixels; an HTML map holds about a million pixels per overlay.
:func:`read_decimated` reads a raster tile by tile with ``out_shape=`` so GDAL averages (or
takes the mode of) each block of ``factor × factor`` pixels, using the file's overviews when
it has them (result rasters are COGs with overviews); no tile holds more than ``max_cells``
source cells. :func:`warp_to_display` then resamples the small array onto a Web-Mercator
grid (optionally in GCJ-02 for GaoDe tiles) by inverse mapping, and :func:`palette_png`
encodes indexed colours as a PNG data URI.
"""

from __future__ import annotations

import base64
import io
import logging
import math
from dataclasses import dataclass

import numpy as np
import rasterio
from affine import Affine
from pyproj import CRS, Transformer
from rasterio.enums import Resampling
from rasterio.windows import Window

from sinkplan.maps.gcj02 import gcj02_to_wgs84, wgs84_to_gcj02
from sinkplan.layers.reading import read_window

__all__ = [
    "Decimated", "read_decimated", "decimation_factor", "warp_to_display", "display_bounds",
    "quantize", "palette_png", "MERCATOR_R",
]

logger = logging.getLogger(__name__)

MERCATOR_R = 6378137.0  # m, spherical Web-Mercator radius (EPSG:3857)
_MAX_LAT = 85.0511287798


@dataclass(frozen=True)
class Decimated:
    """A raster read at reduced resolution.

    Attributes
    ----------
    data : numpy.ma.MaskedArray
        (rows, cols) values; masked where the source is nodata.
    transform : affine.Affine
        Pixel corner → source CRS of the reduced array.
    crs : pyproj.CRS
    factor : int
        Source pixels per reduced pixel along each axis.
    """

    data: np.ma.MaskedArray
    transform: Affine
    crs: CRS
    factor: int


def decimation_factor(height: int, width: int, max_pixels: int) -> int:
    """Smallest integer factor f with ceil(h/f) * ceil(w/f) <= max_pixels.

    Examples
    --------
    >>> decimation_factor(20_000, 20_000, 1_000_000)
    20
    >>> decimation_factor(100, 100, 1_000_000)
    1
    """
    if max_pixels < 1:
        raise ValueError(f"max_pixels must be at least 1, got {max_pixels}")
    f = max(1, int(math.sqrt(height * width / max_pixels)))
    while math.ceil(height / f) * math.ceil(width / f) > max_pixels:
        f += 1
    return f


def read_decimated(
    src,
    *,
    max_pixels: int,
    max_cells: int = 4 * 1024 * 1024,
    resampling: str = "average",
    progress=None,
) -> Decimated:
    """Read band 1 of an open raster reduced to at most ``max_pixels`` pixels.

    Parameters
    ----------
    src : rasterio.io.DatasetReader
        Open raster (band 1 is read).
    max_pixels : int
        Bound on the reduced array's size.
    max_cells : int
        Source cells per tile read (memory bound when the file has no overviews).
    resampling : {"average", "mode", "nearest"}
        How each block of source pixels becomes one value: averaging for continuous data,
        mode for classes.
    progress : callable(fraction, label) or None

    Returns
    -------
    Decimated
        The edge row/column of tiles covers the remaining source pixels (fewer than
        ``factor``), so those pixels are stretched by less than one reduced pixel.
    """
    if src.crs is None:
        raise ValueError(f"{src.name}: raster has no CRS")
    h, w = src.height, src.width
    f = decimation_factor(h, w, max_pixels)
    nrows, ncols = math.ceil(h / f), math.ceil(w / f)
    # output tile of (tr, tc) reduced pixels = (tr*f, tc*f) source cells <= max_cells
    tc = max(1, min(ncols, max_cells // (f * f)))
    tr = max(1, min(nrows, max_cells // (f * f * tc)))
    dtype = src.dtypes[0]
    out = np.zeros((nrows, ncols), dtype=dtype)
    mask = np.zeros((nrows, ncols), dtype=bool)
    rs = getattr(Resampling, resampling)
    tiles = [(r, c) for r in range(0, nrows, tr) for c in range(0, ncols, tc)]
    # GDAL's block cache (default 5 % of RAM) would otherwise grow with the raster's width:
    # bound it to what a strip of tiles touches (two rows of the file's blocks, a margin).
    block_h = src.block_shapes[0][0] if src.block_shapes else 512
    strip_mb = 2 * (max(block_h, tr * f) + block_h) * min(w, tc * f) * np.dtype(dtype).itemsize / 2**20
    cache_bytes = int(min(1024, max(64, strip_mb)) * 2**20)  # bytes: > 100 000, so never read as MB
    with rasterio.Env(GDAL_CACHEMAX=cache_bytes):
        _read_tiles(src, tiles, out, mask, f=f, tr=tr, tc=tc, nrows=nrows, ncols=ncols, rs=rs, progress=progress)
    t = src.transform
    transform = t @ Affine.scale(f, f)
    logger.debug("read %s at 1/%d: %d × %d", src.name, f, nrows, ncols)
    return Decimated(np.ma.MaskedArray(out, mask=mask), transform, CRS.from_user_input(src.crs), f)


def _read_tiles(src, tiles, out, mask, *, f, tr, tc, nrows, ncols, rs, progress) -> None:
    h, w = src.height, src.width
    for i, (r, c) in enumerate(tiles):
        kr, kc = min(tr, nrows - r), min(tc, ncols - c)
        r0, c0 = r * f, c * f
        window = Window(c0, r0, min(kc * f, w - c0), min(kr * f, h - r0))
        if f == 1:
            block = read_window(src, window, masked=True)
        else:
            block = read_window(src, window, out_shape=(kr, kc), resampling=rs, masked=True)
        out[r:r + kr, c:c + kc] = block.filled(0) if np.ma.isMaskedArray(block) else block
        mask[r:r + kr, c:c + kc] = np.ma.getmaskarray(block)
        if progress is not None:
            progress((i + 1) / len(tiles), f"reading {src.name}")


def _boundary(transform: Affine, height: int, width: int, n: int = 21) -> tuple[np.ndarray, np.ndarray]:
    """x, y of n points per side along the array's outline (source CRS)."""
    s = np.linspace(0.0, 1.0, n)
    cols = np.concatenate([s * width, np.full(n, width), (1 - s) * width, np.zeros(n)])
    rows = np.concatenate([np.zeros(n), s * height, np.full(n, height), (1 - s) * height])
    x = transform.a * cols + transform.b * rows + transform.c
    y = transform.d * cols + transform.e * rows + transform.f
    return x, y


def _to_lonlat(crs: CRS) -> Transformer:
    return Transformer.from_crs(crs, CRS.from_epsg(4326), always_xy=True)


def display_bounds(dec: Decimated, *, gcj: bool = False) -> tuple[float, float, float, float]:
    """(west, south, east, north) in display lon/lat (GCJ-02 when ``gcj``)."""
    x, y = _boundary(dec.transform, *dec.data.shape)
    lon, lat = _to_lonlat(dec.crs).transform(x, y)
    lon, lat = np.asarray(lon), np.clip(np.asarray(lat), -_MAX_LAT, _MAX_LAT)
    if gcj:
        lon, lat = wgs84_to_gcj02(lon, lat)
    return float(lon.min()), float(lat.min()), float(lon.max()), float(lat.max())


def _merc_x(lon):
    return MERCATOR_R * np.radians(lon)


def _merc_y(lat):
    return MERCATOR_R * np.log(np.tan(np.pi / 4 + np.radians(lat) / 2))


def warp_to_display(dec: Decimated, *, gcj: bool = False, max_pixels: int | None = None) -> tuple[np.ndarray, np.ndarray, tuple[float, float, float, float]]:
    """Resample a reduced raster onto a Web-Mercator grid by nearest neighbour.

    Each display pixel centre is mapped back: Mercator → lon/lat (GCJ-02 → WGS84 when
    ``gcj``) → source CRS → source pixel. Leaflet stretches an image overlay linearly in
    Web-Mercator, so an image on this grid lands exactly where it should.

    Returns
    -------
    values : ndarray (rows, cols), dtype of the source
    valid : ndarray of bool
        False outside the raster or where the source is nodata.
    bounds : (west, south, east, north) in display lon/lat
    """
    h, w = dec.data.shape
    west, south, east, north = display_bounds(dec, gcj=gcj)
    x0, x1 = _merc_x(west), _merc_x(east)
    y0, y1 = _merc_y(south), _merc_y(north)
    n = min(max_pixels, 2 * h * w) if max_pixels else h * w  # no more display pixels than the source needs
    aspect = (x1 - x0) / max(y1 - y0, 1e-9)
    ny = max(1, int(round(math.sqrt(n / max(aspect, 1e-9)))))
    nx = max(1, int(n // ny))
    ys = y1 - (np.arange(ny) + 0.5) * (y1 - y0) / ny
    xs = x0 + (np.arange(nx) + 0.5) * (x1 - x0) / nx
    lon = np.degrees(xs / MERCATOR_R)
    lat = np.degrees(np.arctan(np.sinh(ys / MERCATOR_R)))
    values = np.zeros((ny, nx), dtype=dec.data.dtype)
    valid = np.zeros((ny, nx), dtype=bool)
    inv = ~dec.transform
    to_src = Transformer.from_crs(CRS.from_epsg(4326), dec.crs, always_xy=True)
    src_mask = np.ma.getmaskarray(dec.data)
    src_vals = dec.data.data
    step = max(1, 2_000_000 // nx)  # rows per chunk: bounded temporaries
    for r0 in range(0, ny, step):
        LON, LAT = np.meshgrid(lon, lat[r0:r0 + step])
        if gcj:
            LON, LAT = gcj02_to_wgs84(LON, LAT)
        sx, sy = to_src.transform(LON, LAT)
        col = np.floor(inv.a * sx + inv.b * sy + inv.c).astype(np.int64)
        row = np.floor(inv.d * sx + inv.e * sy + inv.f).astype(np.int64)
        inside = (col >= 0) & (col < w) & (row >= 0) & (row < h) & np.isfinite(sx)
        rc, cc = np.where(inside, row, 0), np.where(inside, col, 0)
        values[r0:r0 + step] = src_vals[rc, cc]
        valid[r0:r0 + step] = inside & ~src_mask[rc, cc]
    return values, valid, (west, south, east, north)


def quantize(values: np.ndarray, valid: np.ndarray, *, vmin: float, vmax: float, levels: int = 255) -> np.ndarray:
    """Continuous values → palette indices 0..levels-1; invalid → ``levels`` (transparent)."""
    span = vmax - vmin if vmax > vmin else 1.0
    idx = np.clip(np.floor((values.astype(np.float64) - vmin) / span * levels), 0, levels - 1)
    idx = np.where(valid & np.isfinite(values), idx, levels)
    return idx.astype(np.uint8)


def palette_png(indices: np.ndarray, palette: list[tuple[int, int, int, int]]) -> str:
    """Encode uint8 palette indices as a ``data:image/png;base64,`` URI.

    ``palette[i]`` is the RGBA colour of index i (alpha honoured through the tRNS chunk);
    at most 256 entries.
    """
    from PIL import Image

    if len(palette) > 256:
        raise ValueError(f"a PNG palette holds at most 256 colours, got {len(palette)}")
    arr = np.ascontiguousarray(indices, dtype=np.uint8)
    img = Image.frombytes("P", (arr.shape[1], arr.shape[0]), arr.tobytes())
    flat = [v for rgba in palette for v in rgba[:3]]
    img.putpalette(flat + [0] * (768 - len(flat)))
    buf = io.BytesIO()
    img.save(buf, format="PNG", optimize=True, transparency=bytes(int(rgba[3]) for rgba in palette))
    return "data:image/png;base64," + base64.b64encode(buf.getvalue()).decode("ascii")

"""The one guarded block reader: a GDAL read failure becomes a one-line :class:`InputFileError`.

Opening a raster is checked in :func:`sinkplan.layers.grid.open_raster`; reading can still fail
much later, on one block: a tile that no longer decompresses (a truncated download, a bad
sector), a mosaic tile that was moved or deleted. Every block read of an input goes through
:func:`read_window`, which names the file, the window (rows and columns, 0-based and
inclusive) and, for a VRT mosaic, the source tile that covers it, and says what would fix it.

VRT mosaics (what ``gdalbuildvrt`` writes) need two more guards, both applied by
:func:`sinkplan.layers.grid.open_raster`:

- GDAL 3.10 reads large windows of a VRT with several threads (``NUM_THREADS`` open option,
  ``VRT_NUM_THREADS``, default ``ALL_CPUS``) and that path drops a source's read error: a
  missing or corrupt tile came back as nodata with exit code 0 (a carbon total 0.4 % low, no
  error; reproduced with GDAL 3.10.3). VRTs are opened with ``NUM_THREADS=1``, which reports
  the error; sinkplan parallelises over blocks itself, so nothing is lost.
- A source file that does not exist is reported when the mosaic is opened, before any work:
  :func:`check_vrt_sources`.
"""

from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from rasterio.windows import Window

from sinkplan.layers.errors import InputFileError

__all__ = ["read_window", "read_error", "VrtSource", "vrt_sources", "check_vrt_sources", "window_label", "limit_gdal_cache",
           "GDAL_CACHE_MB"]

# Nested VRTs (a mosaic of mosaics) are opened by GDAL itself, without our open option.
os.environ.setdefault("VRT_NUM_THREADS", "1")


#: GDAL block cache (MB) for the streamed passes (sinks and site): every block is read once, so a
#: large cache only grows the process (GDAL's default is 5 % of RAM, 1.2 GB on a 24 GB machine).
GDAL_CACHE_MB = 128


def limit_gdal_cache() -> None:
    """Cap GDAL's block cache for this process and the Dask workers it starts, unless the
    user set ``GDAL_CACHEMAX`` already."""
    if "GDAL_CACHEMAX" not in os.environ:
        os.environ["GDAL_CACHEMAX"] = str(GDAL_CACHE_MB)
        import rasterio.env

        rasterio.env.set_gdal_config("GDAL_CACHEMAX", GDAL_CACHE_MB * 1024 * 1024)


def _read_errors() -> tuple[type[BaseException], ...]:
    from rasterio._err import CPLE_BaseError
    from rasterio.errors import RasterioError

    return (RasterioError, CPLE_BaseError)


def read_window(src: Any, window: Window | None = None, *, indexes: int | list[int] | None = 1,
                name: str | os.PathLike | None = None, where: str = "", **kwargs: Any) -> np.ndarray:
    """``src.read(indexes, window=window, **kwargs)``, with a read failure as :class:`InputFileError`.

    Parameters
    ----------
    src : rasterio dataset (or WarpedVRT)
        An open dataset.
    window : Window, optional
        The block; None reads the whole raster.
    indexes : int, list of int or None
        Band(s), as for ``DatasetReader.read``; None reads every band (3-D result).
    name : path-like, optional
        The file to name in the message (default ``src.name``; give it for a WarpedVRT).
    where : str
        What the window's rows and columns refer to when not the file's own
        (e.g. ``"of the land-cover grid"`` for a DEM read through a WarpedVRT).
    **kwargs
        Passed to ``read`` (``masked``, ``out_shape``, ``resampling``, ...).

    Raises
    ------
    InputFileError
        GDAL could not read the block; the message names the file, the window, the source
        tile of a VRT when it can be found, GDAL's reason and the fix.
    """
    try:
        if indexes is None:
            return src.read(window=window, **kwargs)
        return src.read(indexes, window=window, **kwargs)
    except _read_errors() as exc:
        err = read_error(src, window, exc, name=name, where=where)
    # Raised outside the handler, without GDAL's exceptions chained: on a Dask worker the error
    # is pickled with its causes, rasterio's CPLE errors do not round-trip, and Dask would send
    # a bare Exception(repr) instead (the message already carries GDAL's reason).
    raise err


def read_error(src: Any, window: Window | None, exc: BaseException, *, name: str | os.PathLike | None = None,
               where: str = "") -> InputFileError:
    """The :class:`InputFileError` for a failed read of ``window`` of ``src``."""
    warped = getattr(src, "src_dataset", None)  # a WarpedVRT: rows and columns are of the grid it warps onto
    if name is None:
        name = warped.name if warped is not None else getattr(src, "name", "raster")
    if warped is not None and not where:
        where = "of the working grid (resampled)"
    path = str(name)
    if window is None:
        window = Window(0, 0, getattr(src, "width", 0), getattr(src, "height", 0))
    span = window_label(window) + (f" {where}" if where else "")
    reason = gdal_reason(exc)
    tile = ""
    if path.lower().endswith(".vrt") and os.path.isfile(path):
        tile = _vrt_culprit(path, None if where else window, reason)
    if tile:
        return InputFileError(f"{path}: cannot read {span}: {tile} ({reason}); restore that tile (copy or download "
                              "it again) or rebuild the mosaic with gdalbuildvrt")
    block = "" if where else _bad_block(src, window, reason)
    return InputFileError(f"{path}: cannot read {span}{block} ({reason}); the file is damaged or incomplete: copy "
                          f"or download it again (gdalinfo -checksum {path} reads every block)")


def _bad_block(src: Any, src_window: Window, reason: str) -> str:
    """', the damaged block: rows …, columns …' from GDAL's 'IReadBlock failed at X offset i, Y offset j'."""
    m = re.search(r"IReadBlock failed at X offset (\d+), Y offset (\d+)", reason)
    shapes = getattr(src, "block_shapes", None)
    if not m or not shapes:
        return ""
    bh, bw = shapes[0]
    bx, by = int(m.group(1)), int(m.group(2))
    h, w = getattr(src, "height", 0), getattr(src, "width", 0)
    win = Window(bx * bw, by * bh, max(1, min(bw, w - bx * bw)), max(1, min(bh, h - by * bh)))
    same = (int(win.col_off), int(win.row_off), int(win.width), int(win.height)) == (
        int(src_window.col_off), int(src_window.row_off), int(src_window.width), int(src_window.height))
    return "" if same else f" (the damaged block: {window_label(win)})"


def window_label(window: Window) -> str:
    """``rows 0–255, columns 512–767`` (0-based, inclusive) of a window."""
    r0, c0 = int(window.row_off), int(window.col_off)
    r1, c1 = r0 + int(window.height) - 1, c0 + int(window.width) - 1
    return f"rows {r0}–{r1}, columns {c0}–{c1}"


def gdal_reason(exc: BaseException) -> str:
    """GDAL's own messages from an exception chain, innermost first, on one line.

    rasterio raises ``RasterioIOError("Read failed. See previous exception for details.")``
    from the CPLE errors GDAL reported; those say what went wrong.
    """
    msgs: list[str] = []
    seen: set[int] = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        text = " ".join(str(e).split())
        if text and "See previous exception" not in text:
            msgs.append(text.rstrip("."))
        e = e.__cause__ or e.__context__
    msgs = msgs[::-1]  # innermost (the first GDAL complaint) first
    # GDAL repeats a message inside the next one ("TIFFReadEncodedTile() failed" in "IReadBlock failed ...: ...")
    kept = [m for i, m in enumerate(msgs) if not any(m in later for later in msgs[i + 1:])]
    return "; ".join(kept) or type(exc).__name__


# ---------------------------------------------------------------------------- VRT mosaics


@dataclass(frozen=True)
class VrtSource:
    """One source of a VRT band: its file and where it lands in the mosaic (pixels)."""

    path: str
    local: bool  # a file path (not /vsicurl/..., not a driver prefix such as NETCDF:)
    window: Window | None  # DstRect in mosaic pixels, None when not given


def vrt_sources(path: str | os.PathLike) -> list[VrtSource]:
    """The sources a VRT file lists (each file once per band it feeds), in file order.

    A VRT that cannot be parsed as XML gives an empty list (GDAL will say what is wrong).
    """
    p = Path(path)
    try:
        root = ET.parse(p).getroot()
    except (ET.ParseError, OSError):
        return []
    out: list[VrtSource] = []
    for el in root.iter():
        if not el.tag.endswith("Source"):
            continue
        fn = el.find("SourceFilename")
        if fn is None or not (fn.text or "").strip():
            continue
        raw = fn.text.strip()
        local = not raw.startswith("/vsi") and not _has_prefix(raw)
        if local and fn.get("relativeToVRT", "0") == "1" and not os.path.isabs(raw):
            raw = os.path.normpath(os.path.join(os.path.dirname(str(p)), raw))
        rect = el.find("DstRect")
        win = None
        if rect is not None:
            try:
                win = Window(*(int(round(float(rect.get(k, "0")))) for k in ("xOff", "yOff", "xSize", "ySize")))
            except ValueError:
                win = None
        out.append(VrtSource(raw, local, win))
    return out


def _has_prefix(raw: str) -> bool:
    head, sep, _ = raw.partition(":")
    return bool(sep) and len(head) > 1 and head.replace("_", "").isalnum()  # NETCDF:..., HDF5:... (not C:\)


#: VRTs whose tiles were all found, by (path, mtime, size): blocks reopen a file many times.
_CHECKED: set[tuple[str, int, int]] = set()


def check_vrt_sources(path: str | os.PathLike) -> None:
    """Raise :class:`InputFileError` when a local source file of a VRT mosaic does not exist.

    GDAL opens a VRT whose tile is missing and only fails (or, multi-threaded, silently
    fills nodata) when a block over that tile is read; this says so before any work.
    """
    try:
        st = os.stat(path)
    except OSError:
        return  # opening it will say why
    key = (os.path.abspath(path), st.st_mtime_ns, st.st_size)
    if key in _CHECKED:
        return
    missing: dict[str, VrtSource] = {}
    for s in vrt_sources(path):
        if s.local and s.path not in missing and not os.path.exists(s.path):
            missing[s.path] = s
    if not missing:
        if len(_CHECKED) > 64:
            _CHECKED.clear()
        _CHECKED.add(key)
        return
    first = next(iter(missing.values()))
    where = f" (it covers {window_label(first.window)} of the mosaic)" if first.window is not None else ""
    more = f" and {len(missing) - 1} more missing tiles" if len(missing) > 1 else ""
    raise InputFileError(f"{path}: mosaic tile {first.path} does not exist{where}{more}; restore the tile or "
                         "rebuild the mosaic with gdalbuildvrt from the tiles you have")


def _vrt_culprit(path: str, window: Window | None, reason: str) -> str:
    """'source X (rows …, columns … of the mosaic)' for the tile a failed read most likely hit."""
    srcs = vrt_sources(path)
    if window is not None:
        srcs = [s for s in srcs if s.window is None or _overlaps(s.window, window)]
    if not srcs:
        return ""
    named = [s for s in srcs if os.path.basename(s.path) and os.path.basename(s.path) in reason]
    missing = [s for s in srcs if s.local and not os.path.exists(s.path)]
    pick = (named or missing or (srcs if len({s.path for s in srcs}) == 1 else []))
    if not pick:
        names = sorted({s.path for s in srcs})
        return "one of its source tiles " + ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    s = pick[0]
    state = " (missing)" if s.local and not os.path.exists(s.path) else ""
    cover = f", {window_label(s.window)} of the mosaic" if s.window is not None else ""
    return f"source tile {s.path}{state}{cover}"


def _overlaps(a: Window, b: Window) -> bool:
    return (a.col_off < b.col_off + b.width and b.col_off < a.col_off + a.width
            and a.row_off < b.row_off + b.height and b.row_off < a.row_off + a.height)

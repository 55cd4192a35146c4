"""Benchmark the land-cover preview of the sinks result folders (``landcover_preview.tif``).

Writes (in a temporary folder, or ``--dir``) a CLCD-coded uint8 lon/lat raster of
``--size`` × ``--size`` pixels (DEFLATE, 512 × 512 tiles, optionally with mode overviews),
then times :func:`sinkplan.sinks.mapfiles.write_landcover_preview` at the default 4 Mpx
bound, in its own process, and prints seconds, Mpx/s of source and peak RSS.

Usage: python benchmarks/bench_mapfiles.py [--size 16000] [--overviews] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

RUN = r"""
import json, resource, sys, time
from sinkplan.layers.landcover import open_landcover
from sinkplan.sinks.mapfiles import write_landcover_preview
lc = open_landcover(sys.argv[1], "clcd")
t = time.perf_counter()
write_landcover_preview(sys.argv[2], lc)
dt = time.perf_counter() - t
import rasterio
with rasterio.open(sys.argv[2]) as s:
    shape = (s.height, s.width)
print(json.dumps({"seconds": dt, "preview": shape, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def make_raster(path: Path, size: int, *, overviews: bool) -> None:
    import rasterio
    from affine import Affine

    res = 10.0 / size  # a 10° square
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 1, "dtype": "uint8", "crs": "EPSG:4326",
                   "transform": Affine(res, 0, 110.0, 0, -res, 45.0), "nodata": 0, "tiled": True, "blockxsize": 512,
                   "blockysize": 512, "compress": "deflate", "BIGTIFF": "IF_SAFER"}
    codes = np.array([1, 2, 3, 4, 5, 7, 8, 9], dtype=np.uint8)
    with rasterio.open(path, "w", **profile) as dst:
        for r in range(0, size, 512):
            h = min(512, size - r)
            rows = np.arange(r, r + h)[:, None]
            cols = np.arange(size)[None, :]
            f = (np.sin(cols / 900.0) + np.cos(rows / 700.0) + 0.3 * np.sin((rows + cols) / 37.0)) * 2 + 4
            dst.write(codes[np.clip(f.astype(int), 0, 7)], 1, window=rasterio.windows.Window(0, r, size, h))
        if overviews:
            dst.build_overviews([2, 4, 8, 16, 32], rasterio.enums.Resampling.mode)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=16000, help="raster side in pixels (default 16000: 256 Mpx)")
    ap.add_argument("--overviews", action="store_true", help="give the source mode overviews")
    ap.add_argument("--dir", default=None, help="working folder (default: a temporary one, removed)")
    a = ap.parse_args()
    work = Path(a.dir) if a.dir else Path(tempfile.mkdtemp(prefix="bench-mapfiles-"))
    work.mkdir(parents=True, exist_ok=True)
    try:
        src = work / f"lc_{a.size}{'_ovr' if a.overviews else ''}.tif"
        if not src.exists():
            make_raster(src, a.size, overviews=a.overviews)
        out = subprocess.run([sys.executable, "-c", RUN, str(src), str(work / "preview.tif")],
                             capture_output=True, text=True, check=True)
        r = json.loads(out.stdout.strip().splitlines()[-1])
        mpx = a.size * a.size / 1e6
        print(f"source {a.size} × {a.size} ({mpx:.0f} Mpx, overviews: {a.overviews}) → preview {r['preview'][0]} × "
              f"{r['preview'][1]}: {r['seconds']:.2f} s, {mpx / r['seconds']:.0f} Mpx/s, peak RSS {r['maxrss_mb']:.0f} MB")
    finally:
        if not a.dir:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()

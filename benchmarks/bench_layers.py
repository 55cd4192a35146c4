"""Stream pixel areas and zone ids over a large synthetic lon/lat raster.

Prints throughput (Mpx/s) and the peak resident memory of the streaming process, for
each size given, so one can see that memory does not grow with the raster's size.

    python benchmarks/bench_layers.py --size 20000            # 20 000 × 20 000 = 400 Mpx
    python benchmarks/bench_layers.py --size 5000 10000 20000 # memory vs size

The raster (CLCD-like uint8 codes, DEFLATE, 512 × 512 tiles) and ~100 zone polygons are
generated into a temporary folder (removed afterwards) unless --keep is given.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np


def generate(folder: Path, size: int, nzones: int = 100) -> tuple[Path, Path]:
    """A size × size uint8 raster over lon 97–126°E, lat 37–53°N, and a grid of zone polygons."""
    import geopandas as gpd
    import rasterio
    from affine import Affine
    from shapely.geometry import box

    west, east, south, north = 97.0, 126.0, 37.0, 53.0
    t = Affine((east - west) / size, 0, west, 0, -(north - south) / size, north)
    path = folder / f"lc_{size}.tif"
    rng = np.random.default_rng(0)
    with rasterio.open(path, "w", driver="GTiff", width=size, height=size, count=1, dtype="uint8",
                       crs="EPSG:4326", transform=t, nodata=0, tiled=True, blockxsize=512, blockysize=512,
                       compress="deflate", BIGTIFF="IF_SAFER") as dst:
        strip = 512
        for row in range(0, size, strip):
            h = min(strip, size - row)
            # Blocky classes (64-px patches) so DEFLATE behaves like on real land cover.
            coarse = rng.integers(1, 10, (h // 64 + 2, size // 64 + 2), dtype="uint8")
            block = np.repeat(np.repeat(coarse, 64, 0), 64, 1)[:h, :size]
            dst.write(block, 1, window=rasterio.windows.Window(0, row, size, h))
    k = int(np.sqrt(nzones))
    xs = np.linspace(west, east, k + 1)
    ys = np.linspace(south, north, k + 1)
    # A tiling (zones must not overlap), with 64 vertices a side like a digitised boundary.
    polys = [box(xs[i], ys[j], xs[i + 1], ys[j + 1]).segmentize((xs[1] - xs[0]) / 64)
             for i in range(k) for j in range(k)]
    zones = gpd.GeoDataFrame({"name": [f"旗{i:03d}" for i in range(len(polys))]}, geometry=polys, crs="EPSG:4326")
    zpath = folder / "zones.gpkg"
    zones.to_file(zpath, engine="pyogrio")
    return path, zpath


def measure(raster: Path, zones: Path, max_cells: int) -> dict:
    """Stream areas and zone ids; area per zone summed. Runs in a fresh process."""
    from sinkplan.layers.grid import Grid
    from sinkplan.layers.tally import area_by_key
    from sinkplan.layers.vectors import read_vector
    from sinkplan.layers.zones import ZoneRasterizer

    grid = Grid.from_raster(raster)
    zr = ZoneRasterizer(read_vector(zones, field="name"), grid, field="name")
    nz = len(zr.names) + 1
    area = np.zeros(nz)
    t0 = time.perf_counter()
    for w in grid.blocks(max_cells):
        ids = zr.rasterize(w)
        _, a = area_by_key(ids, nz, grid, w)
        area += a
    dt = time.perf_counter() - t0
    return {
        "pixels": grid.size,
        "seconds": dt,
        "mpx_per_s": grid.size / dt / 1e6,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
        "area_total_km2": float(area.sum() / 1e6),
        "grid_area_km2": grid.total_area_m2() / 1e6,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, nargs="+", default=[20000], help="raster side(s) in pixels")
    ap.add_argument("--max-cells", type=int, default=4 * 1024 * 1024)
    ap.add_argument("--keep", help="keep generated files in this folder")
    ap.add_argument("--measure", nargs=2, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(Path(args.measure[0]), Path(args.measure[1]), args.max_cells)))
        return
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(args.keep or tmp)
        folder.mkdir(parents=True, exist_ok=True)
        print(f"{'size':>7} {'Mpx':>8} {'gen s':>7} {'stream s':>9} {'Mpx/s':>8} {'peak RSS MB':>12} {'zones/grid area':>16}")
        for size in args.size:
            t0 = time.perf_counter()
            raster, zones = generate(folder, size)
            gen = time.perf_counter() - t0
            out = subprocess.run([sys.executable, __file__, "--measure", str(raster), str(zones),
                                  "--max-cells", str(args.max_cells)], capture_output=True, text=True, check=True)
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(f"{size:>7} {r['pixels'] / 1e6:>8.0f} {gen:>7.1f} {r['seconds']:>9.1f} {r['mpx_per_s']:>8.1f} "
                  f"{r['peak_rss_mb']:>12.0f} {r['area_total_km2'] / r['grid_area_km2']:>16.4f}")
            if not args.keep:
                raster.unlink()


if __name__ == "__main__":
    main()

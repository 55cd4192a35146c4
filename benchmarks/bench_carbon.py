"""Benchmark ``sinkplan carbon`` on a large synthetic lon/lat land-cover raster.

Generates (in a temporary folder, or ``--dir``) a CLCD-coded uint8 raster over Inner
Mongolia's bounding box (DEFLATE, 512 × 512 tiles) with ~``--zones`` Voronoi zone polygons,
then times, each in its own process:

* ``floor``: a plain rasterio read of every block the command reads (the I/O floor);
* ``carbon cold``: the command with zones, zone rasterization included (empty cache);
* ``carbon warm``: the same with the cached zone raster (a repeated run on the same zones);
* optionally (``--with-raster``) the command writing ``carbon_density.tif`` too.

Prints Mpx/s, the ratio to the floor and peak RSS (``ru_maxrss`` of each process; with
``--workers`` the workers' RSS is reported by Dask, not here).

Usage: python benchmarks/bench_carbon.py [--size 400] [--zones 100] [--workers 0] [--dir DIR]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from sinkplan.layers import resultspec as rs

WEST, SOUTH, EAST, NORTH = 97.2, 37.4, 126.1, 53.4  # Inner Mongolia's bounding box (degrees)
# CLCD class shares, roughly Inner Mongolia's: cropland, forest, shrub, grass, water, snow, barren, impervious, wetland
SHARES = {1: 0.09, 2: 0.14, 3: 0.04, 4: 0.44, 5: 0.01, 6: 0.0005, 7: 0.26, 8: 0.01, 9: 0.0095}

FLOOR = r"""
import json, resource, sys, time
import rasterio
from sinkplan.layers.grid import Grid
path, max_cells = sys.argv[1], int(sys.argv[2])
g = Grid.from_raster(path)
t = time.perf_counter(); n = 0
with rasterio.open(path) as src:
    for w in g.blocks(max_cells):
        n += src.read(1, window=w).size
dt = time.perf_counter() - t
print(json.dumps({"seconds": dt, "pixels": n, "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""

COMMAND = r"""
import json, resource, sys, time
from sinkplan.cli import main
t = time.perf_counter()
code = main(sys.argv[1:])
dt = time.perf_counter() - t
out = [a for a in sys.argv if a.startswith("--out=")][0][6:]
timings = json.load(open(out + "/manifest.json", encoding="utf-8"))["timings_s"] if code == 0 else {}
print(json.dumps({"seconds": dt, "code": code, "timings": timings,
                  "maxrss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024}))
"""


def generate(folder: Path, mpx: float, nzones: int, seed: int = 1) -> tuple[Path, Path]:
    """Write the synthetic raster and zones; reuse them when they exist with the same size."""
    import geopandas as gpd
    import rasterio
    import shapely
    from affine import Affine

    aspect = (EAST - WEST) / (NORTH - SOUTH)
    height = int(round(math.sqrt(mpx * 1e6 / aspect)))
    width = int(round(mpx * 1e6 / height))
    lc = folder / f"lc_{width}x{height}.tif"
    zones = folder / f"zones_{nzones}.gpkg"
    t = Affine((EAST - WEST) / width, 0, WEST, 0, -(NORTH - SOUTH) / height, NORTH)
    rng = np.random.default_rng(seed)
    if not lc.exists():
        codes = np.array(list(SHARES), dtype=np.uint8)
        p = np.array(list(SHARES.values()))
        p /= p.sum()
        cell = 64  # patches of 64 × 64 pixels, then 15 % pixel noise: compresses like a real map
        coarse = rng.choice(codes, size=(height // cell + 1, width // cell + 1), p=p)
        tmp = lc.with_suffix(".part.tif")
        profile = dict(driver="GTiff", width=width, height=height, count=1, dtype="uint8", crs="EPSG:4326",
                       transform=t, nodata=0, tiled=True, blockxsize=512, blockysize=512, compress="deflate",
                       BIGTIFF="IF_SAFER")
        t0 = time.perf_counter()
        with rasterio.open(tmp, "w", **profile) as dst:
            for row in range(0, height, 512):
                h = min(512, height - row)
                r = (np.arange(row, row + h) // cell)[:, None]
                c = (np.arange(width) // cell)[None, :]
                block = coarse[r, c]
                noise = rng.random((h, width)) < 0.15
                block = np.where(noise, rng.choice(codes, size=(h, width), p=p), block)
                block[:, : max(1, width // 200)] = 0  # a nodata margin
                dst.write(block.astype(np.uint8), 1, window=((row, row + h), (0, width)))
        tmp.rename(lc)
        print(f"generated {lc.name}: {width} × {height} = {width * height / 1e6:.0f} Mpx in {time.perf_counter() - t0:.0f} s",
              flush=True)
    if not zones.exists():
        pts = shapely.points(rng.uniform(WEST, EAST, nzones), rng.uniform(SOUTH, NORTH, nzones))
        cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=shapely.box(WEST - 1, SOUTH - 1, EAST + 1, NORTH + 1)))
        cells = shapely.intersection(cells, shapely.box(WEST, SOUTH, EAST, NORTH))
        gpd.GeoDataFrame({"name": [f"旗{i:03d}" for i in range(len(cells))]}, geometry=list(cells), crs="EPSG:4326").to_file(zones)
    return lc, zones


def run(script: str, args: list[str], env: dict | None = None) -> dict:
    t = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", script, *args], capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    if out.returncode != 0:
        raise SystemExit(f"failed: {out.stderr[-2000:]}")
    res = json.loads(out.stdout.strip().splitlines()[-1])
    res["wall"] = wall
    if res.get("code", 0):
        raise SystemExit(f"command failed: {out.stderr[-2000:]}")
    return res


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", type=float, default=400.0, help="raster size in Mpx (default 400)")
    ap.add_argument("--zones", type=int, default=100, help="number of zone polygons (default 100)")
    ap.add_argument("--workers", type=int, default=0, help="local Dask workers for the command (default 0)")
    ap.add_argument("--max-cells", type=int, default=4 * 1024 * 1024, help="cells per block")
    ap.add_argument("--dir", default=None, help="keep the synthetic data here (default: a temporary folder, removed)")
    ap.add_argument("--with-raster", action="store_true", help="also time a run writing carbon_density.tif")
    a = ap.parse_args()
    folder = Path(a.dir) if a.dir else Path(tempfile.mkdtemp(prefix="bench-carbon-"))
    folder.mkdir(parents=True, exist_ok=True)
    try:
        lc, zones = generate(folder, a.size, a.zones)
        cache = folder / "cache"
        shutil.rmtree(cache, ignore_errors=True)
        env = dict(os.environ, SINKPLAN_CACHE_DIR=str(cache))
        mc = str(a.max_cells)
        floor = run(FLOOR, [str(lc), mc])
        mpx = floor["pixels"] / 1e6
        cmd = ["carbon", str(lc), "--zones", str(zones), "--zone-field", "name", "--quiet", "--overwrite",
               "--max-cells", mc, "--workers", str(a.workers), "--no-raster", f"--out={folder / 'out'}"]
        cold = run(COMMAND, cmd, env)
        warm = run(COMMAND, cmd, env)
        rows = [("floor: rasterio read", floor), ("carbon, cold (rasterize zones)", cold), ("carbon, warm (cached zones)", warm)]
        if a.with_raster:
            rows.append(("carbon, warm + density COG", run(COMMAND, [c for c in cmd if c != "--no-raster"], env)))
        print(f"\n{mpx:.0f} Mpx lon/lat uint8, {a.zones} zones, blocks of {a.max_cells} cells, workers {a.workers}")
        print("'pass' is the streamed pass alone; 'command' adds CLI start-up (imports), zone rasterization "
              "(cold), tables and xlsx; 'process' adds the interpreter")
        print(f"{'run':<34}{'pass s':>8}{'Mpx/s':>8}{'× floor':>9}{'command s':>11}{'× floor':>9}{'process s':>11}{'peak RSS MB':>13}")
        for name, r in rows:
            p = r.get("timings", {}).get("pass", r["seconds"])
            print(f"{name:<34}{p:>8.2f}{mpx / p:>8.0f}{p / floor['seconds']:>9.2f}{r['seconds']:>11.2f}"
                  f"{r['seconds'] / floor['seconds']:>9.2f}{r['wall']:>11.2f}{r['maxrss_mb']:>13.0f}")
        s = json.loads((folder / "out" / rs.SUMMARY.name).read_text("utf-8"))
        print(f"total stock {s['stock_mgc']:.6g} Mg C over {s['area_ha']:.6g} ha in {len(s['zones'])} zone rows")
    finally:
        if not a.dir:
            shutil.rmtree(folder, ignore_errors=True)


if __name__ == "__main__":
    main()

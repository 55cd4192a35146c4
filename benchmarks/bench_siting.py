"""Benchmark the siting screen on a large synthetic lon/lat region: Mpx/s and peak RSS.

    /tmp/venv/bin/python benchmarks/bench_siting.py --size 12000          # 144 Mpx
    /tmp/venv/bin/python benchmarks/bench_siting.py --size 6000 --workers 2
    GDAL_CACHEMAX=256 /tmp/venv/bin/python benchmarks/bench_siting.py --size 12000   # cap GDAL's block cache

The land cover (CLCD codes, ~30 m pixels at 42° N) is made of 64-pixel cells of random
classes (mostly barren and grassland, some forest, cropland, water and built cells, and
scattered built pixels so the 500 m / 400 m buffers have work), written block by block. The
DEM is smooth terrain on the same grid; vector layers: 200 redline polygons, 100 farmland
polygons, a border line, 30 mine polygons and a grid line. Inputs are cached under --dir.
"""

from __future__ import annotations

import argparse
import os
import resource
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import rasterio
import shapely
from affine import Affine
from rasterio.windows import Window
from sinkplan.layers import resultspec as rs

RES = 0.00027  # degrees, about 30 m × 22 m at 42° N
LON0, LAT0 = 108.0, 43.5
CELL = 64


def make_inputs(d: Path, n: int, seed: int = 1) -> dict[str, Path]:
    d.mkdir(parents=True, exist_ok=True)
    paths = {k: d / f"{k}.{'tif' if k in ('lc', 'dem') else 'gpkg'}" for k in
             ("lc", "dem", "redline", "farmland", "border", "mines", "grid")}
    if all(p.exists() for p in paths.values()):
        return paths
    rng = np.random.default_rng(seed)
    nc = n // CELL + 1
    classes = rng.choice([7, 4, 2, 1, 5, 8], size=(nc, nc), p=[0.45, 0.35, 0.08, 0.07, 0.03, 0.02]).astype(np.uint8)
    transform = Affine(RES, 0, LON0, 0, -RES, LAT0)
    prof = dict(driver="GTiff", width=n, height=n, count=1, crs="EPSG:4326", transform=transform, tiled=True,
                blockxsize=512, blockysize=512, compress="deflate", BIGTIFF="IF_SAFER")
    step = 2048
    with rasterio.open(paths["lc"], "w", dtype="uint8", nodata=0, **prof) as lc, \
            rasterio.open(paths["dem"], "w", dtype="float32", nodata=-9999.0, **prof) as dem:
        for r0 in range(0, n, step):
            for c0 in range(0, n, step):
                h, w = min(step, n - r0), min(step, n - c0)
                rows, cols = np.arange(r0, r0 + h), np.arange(c0, c0 + w)
                block = classes[rows // CELL][:, cols // CELL]
                dots = rng.random((h, w)) < 2e-5  # scattered houses
                block = np.where(dots, 8, block)
                lc.write(block, 1, window=Window(c0, r0, w, h))
                z = 1200 + 150 * np.sin(rows / 900.0)[:, None] + 120 * np.cos(cols / 700.0)[None, :]
                dem.write(z.astype("float32"), 1, window=Window(c0, r0, w, h))
    span = n * RES

    def boxes(k: int, size: float):
        x = LON0 + rng.random(k) * span
        y = LAT0 - rng.random(k) * span
        s = size * (0.5 + rng.random(k))
        return list(shapely.box(x, y - s, x + s, y))

    for key, k, size in (("redline", 200, span / 40), ("farmland", 100, span / 60), ("mines", 30, span / 80)):
        gpd.GeoDataFrame({"id": range(k)}, geometry=boxes(k, size), crs="EPSG:4326").to_file(paths[key])
    line = shapely.LineString([(LON0, LAT0 - 0.02), (LON0 + span, LAT0 - 0.05)])
    gpd.GeoDataFrame({"id": [0]}, geometry=[line], crs="EPSG:4326").to_file(paths["border"])
    gl = shapely.LineString([(LON0 + span / 2, LAT0), (LON0 + span / 2, LAT0 - span)])
    gpd.GeoDataFrame({"id": [0]}, geometry=[gl], crs="EPSG:4326").to_file(paths["grid"])
    return paths


def cpu_s() -> float:
    """CPU seconds (user + system) of this process and its finished children."""
    a, b = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return a.ru_utime + a.ru_stime + b.ru_utime + b.ru_stime


def peak_rss_mib() -> tuple[float, float]:
    """Peak resident memory of this process and of its finished children (MiB)."""
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    kids = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024.0
    return own, kids


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=20000, help="pixels per side (default 20000 = 400 Mpx)")
    ap.add_argument("--workers", type=int, default=0, help="local Dask workers (0: one process)")
    ap.add_argument("--max-cells", type=int, default=4 * 1024 * 1024)
    ap.add_argument("--dir", default="/tmp/sinkplan-bench-siting", help="where the synthetic inputs are cached")
    args = ap.parse_args()

    from sinkplan.layers.parallel import BlockExecutor
    from sinkplan.siting.prepare import ScreenInputs, prepare
    from sinkplan.siting.profile import load_profile
    from sinkplan.siting.screen import run_screen

    t0 = time.perf_counter()
    p = make_inputs(Path(args.dir) / f"n{args.size}", args.size)
    t_inputs = time.perf_counter() - t0
    inputs = ScreenInputs(landcover=p["lc"], dem=p["dem"], redline=p["redline"], farmland=p["farmland"],
                          border=p["border"], mines=p["mines"], grid_lines=(p["grid"],))
    mpx = args.size * args.size / 1e6
    with tempfile.TemporaryDirectory(dir=args.dir) as work, \
            BlockExecutor(workers=args.workers) as ex:
        t1 = time.perf_counter()
        c1 = cpu_s()
        prep = prepare(inputs, load_profile("pv"), workdir=work)
        res = run_screen(prep, workdir=work, exclusions_path=Path(work) / "exclusions.tif",
                         eligible_path=Path(work) / rs.ELIGIBLE.name, parcels_raster_path=Path(work) / "parcels.tif",
                         max_cells=args.max_cells, executor=ex)
        dt = time.perf_counter() - t1
        cpu = cpu_s() - c1
    own, kids = peak_rss_mib()
    s = res.summary
    print(f"grid                {args.size} × {args.size} = {mpx:.0f} Mpx (lon/lat, {RES}°), "
          f"{prep.grid.n_blocks(args.max_cells)} blocks of ≤ {args.max_cells} cells, workers {args.workers}")
    print(f"inputs              {t_inputs:.1f} s (made or reused in {args.dir})")
    print(f"screen              {dt:.1f} s wall  →  {mpx / dt:.2f} Mpx/s")
    print(f"cpu                 {cpu:.1f} s (this process and finished children; "
          f"load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)")
    print(f"peak RSS            {own:.0f} MiB (this process), {kids:.0f} MiB (largest child)")
    print(f"result              {s['parcels']} parcels, {s['eligible_area_ha']:.0f} ha, {s['capacity_mw']:.0f} MW, "
          f"share of target {s['share_of_target']:.3f}")
    print(f"halo                {prep.spec.halo_px} px for {max(b[2] for b in prep.spec.lc_buffers):.0f} m buffers")


if __name__ == "__main__":
    main()

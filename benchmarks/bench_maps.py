"""Benchmark of `sinkplan map`: HTML size and build time on a large synthetic result, and
the time headless Chromium takes to open the page until it is interactive.

    python benchmarks/bench_maps.py                # 1000 zones, 20 000 × 20 000 raster
    python benchmarks/bench_maps.py --size 4000    # quicker

Prints: generation time, map build time, peak RSS, HTML size (MB, the bound is 15 MB), and
Chromium's time from navigation to the page's ready flag (median of --opens runs).
"""

from __future__ import annotations

import argparse
import logging
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB → MiB on Linux


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--size", type=int, default=20_000, help="raster side in pixels (default 20000)")
    ap.add_argument("--zones", type=int, default=1000, help="zone polygons (default 1000)")
    ap.add_argument("--vertices", type=int, default=100, help="vertices per zone side (default 100)")
    ap.add_argument("--max-pixels", type=int, default=1_000_000)
    ap.add_argument("--landcover", action="store_true", help="also write and map a land-cover preview raster")
    ap.add_argument("--opens", type=int, default=3, help="Chromium opens to time (default 3; 0 to skip)")
    ap.add_argument("--no-overviews", action="store_true",
                    help="strip the rasters' overviews first (measures decimated reads of every pixel)")
    ap.add_argument("--dir", help="working folder (default: a temporary one, removed)")
    ap.add_argument("--reuse", action="store_true", help="reuse a result folder already in --dir")
    args = ap.parse_args()
    logging.basicConfig(level=logging.WARNING)

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))  # synthetic folders: tests/synthetic.py
    import synthetic

    from sinkplan.layers import resultspec as rs
    from sinkplan.maps.build import build_map

    tmp = None
    if args.dir:
        work = Path(args.dir)
        work.mkdir(parents=True, exist_ok=True)
    else:
        tmp = tempfile.TemporaryDirectory(prefix="bench-maps-")
        work = Path(tmp.name)
    folder = work / "carbon"
    t0 = time.perf_counter()
    if not (args.reuse and (folder / rs.CARBON_DENSITY.name).exists()):
        synthetic.carbon_folder(folder, size=args.size, n_zones=args.zones, vertices_per_side=args.vertices,
                                landcover=args.landcover)
    if args.no_overviews:
        import rasterio.shutil

        for tif in sorted(folder.glob("*.tif")):
            with rasterio.open(tif) as src:
                has = bool(src.overviews(1))
            if has:
                plain = tif.with_suffix(".plain.tif")
                rasterio.shutil.copy(tif, plain, driver="GTiff", tiled=True, blockxsize=512, blockysize=512,
                                     compress="deflate", BIGTIFF="IF_SAFER")
                plain.replace(tif)
    t_gen = time.perf_counter() - t0
    print(f"input: {args.size} x {args.size} raster ({args.size ** 2 / 1e6:.0f} Mpx), {args.zones} zones x "
          f"{4 * args.vertices} vertices; generated in {t_gen:.1f} s")

    rss0 = peak_rss_mb()
    t0 = time.perf_counter()
    html = build_map([folder], lang="zh", max_pixels=args.max_pixels)
    t_build = time.perf_counter() - t0
    page = work / "map.html"
    page.write_text(html, encoding="utf-8")
    size_mb = page.stat().st_size / 1e6
    print(f"map: {size_mb:.2f} MB (bound 15 MB) built in {t_build:.2f} s; peak RSS {peak_rss_mb():.0f} MiB "
          f"(before build {rss0:.0f} MiB)")

    if args.opens > 0:
        from browser import Browser, chromium_path

        path, reason = chromium_path()
        if path is None:
            print(f"chromium: skipped ({reason})")
        else:
            times = []
            for _ in range(args.opens):
                with Browser(path) as b:
                    times.append(b.open(page, timeout=60))
                    errors = list(b.errors)
            print(f"chromium: interactive in {statistics.median(times):.2f} s (median of {len(times)}: "
                  f"{', '.join(f'{t:.2f}' for t in times)}); console errors: {len(errors)}")
    if tmp is not None:
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())

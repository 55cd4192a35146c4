"""Benchmark: predict a land-cover map over an image larger than the memory budget.

Writes a synthetic 4-band uint16 image of ``--size`` × ``--size`` pixels strip by strip
(never whole in memory), trains a random forest on 2 000 synthetic samples and runs
:func:`sinkplan.sinks.learning.classify.predict_map` block by block with ``--max-cells``. Prints the
image's in-memory size against the block budget, Mpx/s and the process's peak RSS (which
must stay near the block budget, not grow with the image).

    /tmp/venv/bin/python benchmarks/bench_classify.py --size 8000 --max-cells 1048576
"""

from __future__ import annotations

import argparse
import multiprocessing
import resource
import tempfile
import time
from pathlib import Path

import numpy as np
import rasterio
from affine import Affine
from rasterio.windows import Window

from sinkplan.layers.grid import Grid
from sinkplan.layers.schemes import load_scheme
from sinkplan.sinks.learning.classify import ClassifierOptions, make_classifier, predict_map
from sinkplan.sinks.learning.features import FeatureSpec

MEANS = np.array([[520, 820, 760, 2900], [280, 480, 300, 3300], [560, 860, 950, 2200], [1450, 1850, 2250, 2650]],
                 dtype=np.float32)  # cropland, forest, grassland, barren (as in the demo)
CODES = np.array([1, 2, 4, 7])


def _classes(rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """A deterministic class pattern (bands of 300 px, wavy edges)."""
    return ((rows // 300 + cols // 300 + ((rows + cols) // 97) % 2) % 4).astype(np.int64)


def _pixels(cls: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    mean = MEANS[cls]  # (..., 4)
    val = mean * (1 + 0.12 * rng.standard_normal(mean.shape, dtype=np.float32))
    return np.clip(val, 1, 10000).astype(np.uint16)


def write_image(path: Path, size: int, seed: int = 0) -> None:
    """The synthetic image, 256-row strips at a time."""
    rng = np.random.default_rng(seed)
    profile = {"driver": "GTiff", "width": size, "height": size, "count": 4, "dtype": "uint16", "crs": "EPSG:32649",
               "transform": Affine(30, 0, 400_000, 0, -30, 4_700_000), "nodata": 0, "tiled": True, "blockxsize": 512,
               "blockysize": 512, "BIGTIFF": "IF_SAFER"}
    with rasterio.open(path, "w", **profile) as dst:
        for r0 in range(0, size, 512):
            h = min(512, size - r0)
            rows, cols = np.mgrid[r0:r0 + h, 0:size]
            px = _pixels(_classes(rows, cols), rng)  # (h, size, 4)
            dst.write(np.moveaxis(px, -1, 0), window=Window(0, r0, size, h))
        dst.descriptions = ("blue", "green", "red", "nir")


def peak_rss_mib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", type=int, default=8000, help="image side in pixels (default 8000: 64 Mpx, 512 MB as uint16)")
    ap.add_argument("--max-cells", type=int, default=1 << 20, help="block budget in cells (default 1 Mi)")
    ap.add_argument("--trees", type=int, default=30, help="random forest trees (default 30)")
    ap.add_argument("--workers", type=int, default=0, help="local Dask workers (default 0: this process)")
    ap.add_argument("--dir", default=None, help="work folder (default: a temporary folder, removed)")
    args = ap.parse_args()

    with tempfile.TemporaryDirectory(dir=args.dir) as tmp:
        d = Path(tmp)
        t0 = time.perf_counter()
        # written in a child process, so this process's peak RSS measures the prediction alone
        proc = multiprocessing.get_context("spawn").Process(target=write_image, args=(d / "image.tif", args.size))
        proc.start()
        proc.join()
        if proc.exitcode != 0:
            raise SystemExit(f"writing the image failed (exit code {proc.exitcode})")
        t_write = time.perf_counter() - t0
        rng = np.random.default_rng(1)
        cls = rng.integers(0, 4, 2000)
        spec = FeatureSpec(("blue", "green", "red", "nir"), ("ndvi",), 0)
        X = spec.compute(_pixels(cls, rng).T)
        model = make_classifier(ClassifierOptions(n_estimators=args.trees, max_depth=12, seed=0))
        model.fit(X, CODES[cls])
        grid = Grid.from_raster(d / "image.tif")
        rss_before = peak_rss_mib()
        from sinkplan.layers.parallel import BlockExecutor

        t1 = time.perf_counter()
        with BlockExecutor(workers=args.workers) as ex:
            areas = predict_map(d / "image.tif", grid, model, spec, d / "landcover.tif", load_scheme("clcd"),
                                max_cells=args.max_cells, executor=ex)
        t_pred = time.perf_counter() - t1
        mpx = args.size * args.size / 1e6
        image_mib = args.size * args.size * 4 * 2 / 2**20  # 4 bands × 2 bytes
        block_mib = args.max_cells * (4 * 2 + 5 * 4) / 2**20  # uint16 bands + float32 features per block
        truth_px = sum(px for px, _ in areas.values())
        print(f"image            {args.size} × {args.size} px = {mpx:.1f} Mpx, {image_mib:.0f} MiB as uint16 (4 bands)")
        print(f"block budget     {args.max_cells} cells ≈ {block_mib:.0f} MiB of bands + features per block, "
              f"{grid.n_blocks(args.max_cells)} blocks")
        print(f"write image      {t_write:.1f} s")
        print(f"predict + COG    {t_pred:.1f} s = {mpx / t_pred:.2f} Mpx/s ({args.trees} trees, workers={args.workers})")
        print(f"pixels mapped    {truth_px} (expected {args.size * args.size})")
        print(f"peak RSS         {rss_before:.0f} MiB before prediction, {peak_rss_mib():.0f} MiB after "
              f"(image alone would be {image_mib:.0f} MiB)")


if __name__ == "__main__":
    main()

"""Time the second pass of ``site`` (siting.parcels.finish_rasters) and the scratch rasters' codec.

    python benchmarks/bench_finish.py capture --dir /tmp/finish -- site --tech pv --landcover lc.tif ... --out OUT
    python benchmarks/bench_finish.py time --dir /tmp/finish --threads 1 2
    python benchmarks/bench_finish.py codecs --dir /tmp/finish

``capture`` runs a ``sinkplan site`` command once and keeps what its second pass reads: the
three scratch rasters of the first pass (exclusion bits, labels, zone codes), the grid, the
windows and the joined components (``state.pkl``), the result (outlines and small-parcel
area, ``result.pkl``) and the three rasters it wrote. ``time`` runs the second pass again on
them with each thread count and checks the rasters are byte-equal to the captured ones and
the outlines equal (so a fast wrong pass shows). ``codecs`` writes the scratch rasters with
DEFLATE and ZSTD (with and without the predictor) and reads every block back, as the two
passes do. Times are wall seconds; the machine may be shared, so the load is printed.
"""

from __future__ import annotations

import argparse
import os
import pickle
import shutil
import sys
import time
from pathlib import Path

import numpy as np

SCRATCH = (("bits.tif", None), ("labels.tif", "uint32"), ("zones.tif", "uint8"))
OUTPUTS = ("exclusions.tif", "eligible.tif", "parcels.tif")


def _load() -> str:
    return f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"


def capture(d: Path, argv: list[str]) -> None:
    import sinkplan.siting.screen as screen
    from sinkplan.cli import main

    d.mkdir(parents=True, exist_ok=True)
    original = screen.finish_rasters

    def keep(grid, windows, joined, rules, bits_dtype, small_bit, sb, sl, sz, **kw):
        for s in (sb, sl, sz):
            shutil.copy(s.path, d / Path(s.path).name)
        with open(d / "state.pkl", "wb") as f:
            pickle.dump({"grid": grid, "windows": list(windows), "joined": joined, "rules": list(rules),
                         "bits_dtype": bits_dtype, "small_bit": small_bit, "tags": kw["tags"]}, f)
        t0 = time.perf_counter()
        res = original(grid, windows, joined, rules, bits_dtype, small_bit, sb, sl, sz, **kw)
        print(f"second pass in the run: {time.perf_counter() - t0:.1f} s; {_load()}", file=sys.stderr)
        for name, key in zip(OUTPUTS, ("exclusions_path", "eligible_path", "parcels_path")):
            shutil.copy(kw[key], d / f"ref-{name}")
        with open(d / "result.pkl", "wb") as f:
            pickle.dump(res, f)
        return res

    screen.finish_rasters = keep
    t0 = time.perf_counter()
    rc = main(argv)
    print(f"site: exit {rc} in {time.perf_counter() - t0:.1f} s; {_load()}", file=sys.stderr)


def _scratch(d: Path, st: dict):
    from sinkplan.siting.inputs import ScratchRaster

    out = []
    for name, dtype in SCRATCH:
        s = ScratchRaster.__new__(ScratchRaster)  # the captured file, opened for reading only
        s.path, s.grid, s.dtype = d / name, st["grid"], dtype or st["bits_dtype"]
        out.append(s)
    return out


def time_pass(d: Path, threads: list[int]) -> None:
    import shapely

    from sinkplan.siting.parcels import finish_rasters

    st = pickle.loads((d / "state.pkl").read_bytes())
    ref_geoms, ref_small = pickle.loads((d / "result.pkl").read_bytes())
    ref_wkb = {p: shapely.to_wkb(g) for p, g in ref_geoms.items()}
    g = st["grid"]
    print(f"{g.width} × {g.height} = {g.width * g.height / 1e6:.0f} Mpx, {len(st['windows'])} blocks, "
          f"{len(ref_geoms)} parcels")
    for n in threads:
        out = d / f"out-{n}"
        out.mkdir(exist_ok=True)
        t0 = time.perf_counter()
        geoms, small = finish_rasters(st["grid"], st["windows"], st["joined"], st["rules"], st["bits_dtype"],
                                      st["small_bit"], *_scratch(d, st), exclusions_path=out / OUTPUTS[0],
                                      eligible_path=out / OUTPUTS[1], parcels_path=out / OUTPUTS[2], tags=st["tags"],
                                      threads=n)
        wall = time.perf_counter() - t0
        same = all((out / o).read_bytes() == (d / f"ref-{o}").read_bytes() for o in OUTPUTS)
        same_g = {p: shapely.to_wkb(x) for p, x in geoms.items()} == ref_wkb and small == ref_small
        print(f"threads {n}: {wall:6.1f} s  rasters byte-equal: {same}  outlines and small area equal: {same_g}  "
              f"{_load()}")
        shutil.rmtree(out)


CODECS = {
    "deflate1+predictor2": {"compress": "deflate", "zlevel": 1, "predictor": 2},
    "zstd1+predictor2": {"compress": "zstd", "zstd_level": 1, "predictor": 2},
    "zstd1": {"compress": "zstd", "zstd_level": 1},
}


def codecs(d: Path) -> None:
    import rasterio

    from sinkplan.layers.reading import read_window

    st = pickle.loads((d / "state.pkl").read_bytes())
    grid, windows = st["grid"], st["windows"]
    totals = dict.fromkeys(CODECS, 0.0)
    for name, dtype in SCRATCH:
        dtype = dtype or st["bits_dtype"]
        with rasterio.open(d / name) as src:
            blocks = [src.read(1, window=w) for w in windows]
        for codec, opts in CODECS.items():
            p = d / f"codec-{codec}-{name}"
            t0 = time.perf_counter()
            with rasterio.open(p, "w", driver="GTiff", width=grid.width, height=grid.height, count=1, dtype=dtype,
                               crs=grid.crs.to_wkt(), transform=grid.transform, tiled=True, blockxsize=512,
                               blockysize=512, BIGTIFF="IF_SAFER", **opts) as dst:
                for b, w in zip(blocks, windows):
                    dst.write(b.astype(dtype, copy=False), 1, window=w)
            tw = time.perf_counter() - t0
            t0 = time.perf_counter()
            for b, w in zip(blocks, windows):  # as the second pass reads: one open per block
                with rasterio.open(p) as src:
                    assert np.array_equal(read_window(src, w), b)
            tr = time.perf_counter() - t0
            totals[codec] += tw + tr
            print(f"{name:<11} {codec:<20} write {tw:6.2f} s  read {tr:6.2f} s  {p.stat().st_size / 1e6:6.1f} MB  "
                  f"{_load()}")
            p.unlink()
    print("write + read of the three: " + ", ".join(f"{c} {t:.2f} s" for c, t in totals.items()))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("what", choices=("capture", "time", "codecs"))
    ap.add_argument("--dir", type=Path, required=True, help="where the captured pass is kept")
    ap.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    args = sys.argv[1:]
    cut = args.index("--") if "--" in args else len(args)  # capture: the sinkplan command line after --
    a = ap.parse_args(args[:cut])
    if a.what == "capture":
        capture(a.dir, args[cut + 1:])
    elif a.what == "time":
        time_pass(a.dir, a.threads)
    else:
        codecs(a.dir)


if __name__ == "__main__":
    main()

"""Province scale: every sinks and siting command on Inner Mongolia's box, against a plain read,
exactextract and InVEST, each timed as a whole process.

Builds once (cached in ``--cache``, default ``~/.cache/sinkplan-bench``) a CLCD-coded uint8
land-cover raster of Inner Mongolia's bounding box (97.2–126.1°E, 37.4–53.4°N) for two years,
tiled 512 × 512, DEFLATE, with internal overviews (as the CLCD COG tiles have), nodata
outside a province-shaped band; ~100 synthetic banners (Voronoi cells clipped to the box);
for ``site`` a coarse DEM and desert, redline, farmland, mine and border layers.

Class structure: smooth multi-scale noise (three octaves, bilinear) thresholded by a
west-to-east moisture gradient (desert and gobi in the west, steppe in the middle,
cropland in the south-east and along the Yellow River, forest on the Greater Khingan in
the north-east), lakes and wetlands on a fine noise, towns as small built patches; the
second year changes about 3 % of the pixels (afforestation of steppe, cropland to built).

Sizes (``--size``): ``6G`` is 1 arc-second pixels (≈ 30 m, 104 040 × 57 600 = 5.99 Gpx),
``460M`` 3.6 arc-seconds; ``100M-albers`` is a 100 Mpx raster in CLCD's own Albers CRS
(``+proj=aea +lat_1=25 +lat_2=47 +lon_0=105``), for the comparison with InVEST's carbon
model. Any ``<N>M``/``<N>G`` works.

Each case runs in its own process (``/usr/bin/time``-like: wall time and the peak RSS of
the process and its children, from ``wait4``), with ``uptime``'s load printed beside it.

Usage::

    python benchmarks/bench_province.py --size 460M --cases floor,exactextract,carbon,carbon-no-raster
    python benchmarks/bench_province.py --size 6G            # every case
    python benchmarks/bench_province.py --size 100M-albers --cases invest,carbon-invest

``exactextract`` comes with the ``bench`` extra (``pip install -e '.[bench]'``); InVEST
(``natcap.invest``) needs GDAL's Python bindings and is used when importable, otherwise the
InVEST case runs a re-implementation of its carbon arithmetic, labelled as such.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np

from sinkplan.layers import resultspec as rs

WEST, SOUTH, EAST, NORTH = 97.2, 37.4, 126.1, 53.4  # Inner Mongolia's bounding box (degrees)
ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +x_0=0 +y_0=0 +datum=WGS84 +units=m +no_defs"
TILE = 512


# ----------------------------------------------------------------------------- data
def _octave(rng: np.random.Generator, height: int, width: int, cell: int) -> np.ndarray:
    """A coarse random field, one value per ``cell`` pixels (bilinear-interpolated later)."""
    return rng.standard_normal((height // cell + 2, width // cell + 2)).astype(np.float32)


def _bilinear(coarse: np.ndarray, cell: int, rows: np.ndarray, width: int) -> np.ndarray:
    """Bilinear interpolation of ``coarse`` at pixel rows ``rows`` and every column."""
    fy = rows / cell
    i0 = fy.astype(np.int64)
    ty = (fy - i0).astype(np.float32)[:, None]
    r = coarse[i0] * (1 - ty) + coarse[i0 + 1] * ty  # (rows, coarse cols)
    fx = np.arange(width) / cell
    j0 = fx.astype(np.int64)
    tx = (fx - j0).astype(np.float32)[None, :]
    return r[:, j0] * (1 - tx) + r[:, j0 + 1] * tx


def shape_for(size: str) -> tuple[str, int, int, object]:
    """(crs, width, height, transform) of a size such as ``6G``, ``460M`` or ``100M-albers``."""
    from affine import Affine

    m = re.fullmatch(r"(\d+(?:\.\d+)?)([MG])(-albers)?", size)
    if not m:
        raise SystemExit(f"--size {size!r}: give e.g. 6G, 460M or 100M-albers")
    px = float(m.group(1)) * (1e9 if m.group(2) == "G" else 1e6)
    if m.group(3):
        from pyproj import Transformer

        tr = Transformer.from_crs("EPSG:4326", ALBERS, always_xy=True)
        lon = np.r_[np.linspace(WEST, EAST, 50), np.full(50, EAST), np.linspace(EAST, WEST, 50), np.full(50, WEST)]
        lat = np.r_[np.full(50, SOUTH), np.linspace(SOUTH, NORTH, 50), np.full(50, NORTH), np.linspace(NORTH, SOUTH, 50)]
        x, y = tr.transform(lon, lat)
        x0, x1, y0, y1 = x.min(), x.max(), y.min(), y.max()
        res = math.sqrt((x1 - x0) * (y1 - y0) / px)
        res = round(res)  # whole metres, like CLCD's 30 m
        w, h = int((x1 - x0) // res), int((y1 - y0) // res)
        return ALBERS, w, h, Affine(res, 0, round(x0), 0, -res, round(y1))
    if m.group(2) == "G" and float(m.group(1)) == 6:
        res = 1 / 3600  # one arc-second: ≈ 30 m
    else:
        res = math.sqrt((EAST - WEST) * (NORTH - SOUTH) / px)
    w, h = int(round((EAST - WEST) / res)), int(round((NORTH - SOUTH) / res))
    return "EPSG:4326", w, h, Affine(res, 0, WEST, 0, -res, NORTH)


def build_landcover(folder: Path, size: str, seed: int = 12) -> tuple[Path, Path]:
    """Two CLCD-coded years (2015, 2020) on the grid of ``size``; reused when present."""
    import rasterio
    from pyproj import Transformer
    from rasterio.enums import Resampling

    crs, width, height, t = shape_for(size)
    paths = (folder / f"lc2015_{size}.tif", folder / f"lc2020_{size}.tif")
    if all(p.exists() for p in paths):
        return paths
    rng = np.random.default_rng(seed)
    # noise cells in pixels, scaled so the structure has the same ground size at every resolution
    scale = max(1.0, 3600 * (NORTH - SOUTH) / height) if crs == "EPSG:4326" else t.a / 30.0
    cells = [max(2, int(c / scale)) for c in (6000, 800, 96)]
    octaves = [_octave(rng, height, width, c) for c in cells]
    fine_cell = max(2, int(24 / scale))
    lakes = _octave(rng, height, width, fine_cell)
    change_cell = max(2, int(200 / scale))
    change = _octave(rng, height, width, change_cell)
    profile = dict(driver="GTiff", width=width, height=height, count=1, dtype="uint8", crs=crs, transform=t, nodata=0,
                   tiled=True, blockxsize=TILE, blockysize=TILE, compress="deflate", BIGTIFF="IF_SAFER", NUM_THREADS="ALL_CPUS")
    tmps = [p.with_suffix(".part.tif") for p in paths]
    cmap = {0: (0, 0, 0, 0), 1: (250, 227, 156, 255), 2: (68, 111, 51, 255), 3: (51, 160, 44, 255), 4: (171, 211, 123, 255),
            5: (30, 105, 180, 255), 6: (166, 206, 227, 255), 7: (249, 150, 98, 255), 8: (226, 66, 144, 255), 9: (40, 180, 180, 255)}
    to_lonlat = None if crs == "EPSG:4326" else Transformer.from_crs(crs, "EPSG:4326", always_xy=True)
    t0 = time.perf_counter()
    with rasterio.open(tmps[0], "w", **profile) as a, rasterio.open(tmps[1], "w", **profile) as b:
        a.write_colormap(1, cmap)
        b.write_colormap(1, cmap)
        for row in range(0, height, TILE):
            h = min(TILE, height - row)
            codes, later = _strip(row, h, width, t, to_lonlat, octaves, cells, lakes, fine_cell, change, change_cell, rng)
            a.write(codes, 1, window=((row, row + h), (0, width)))
            b.write(later, 1, window=((row, row + h), (0, width)))
            if row // TILE % 16 == 0:
                print(f"  land cover: row {row}/{height} ({time.perf_counter() - t0:.0f} s)", flush=True)
    for tmp in tmps:  # internal overviews, as CLCD's COG tiles have
        with rasterio.Env(GDAL_NUM_THREADS="ALL_CPUS", COMPRESS_OVERVIEW="DEFLATE"):
            with rasterio.open(tmp, "r+") as ds:
                f, fs = 1, []
                while max(width, height) / f > TILE:
                    f *= 2
                    fs.append(f)
                ds.build_overviews(fs, Resampling.nearest)
    for tmp, p in zip(tmps, paths):
        tmp.rename(p)
    print(f"built {width} × {height} = {width * height / 1e6:,.0f} Mpx ({crs}) in {time.perf_counter() - t0:.0f} s", flush=True)
    return paths


def _strip(row, h, width, t, to_lonlat, octaves, cells, lakes, fine_cell, change, change_cell, rng):
    """Codes of rows ``row .. row + h`` for both years: the fields are evaluated on every other
    row and column (2 × 2 pixels share them), then 2 % of the pixels take a neighbour's class."""
    rows = np.arange(row, row + h, 2, dtype=np.float64)
    hw = (width + 1) // 2

    def smooth(coarse, cell):
        return _bilinear(coarse, cell / 2, rows / 2, hw)

    field = sum(smooth(o, c) * wgt for o, c, wgt in zip(octaves, cells, (1.0, 0.55, 0.3)))
    x = t.c + (np.arange(hw) * 2 + 1.0) * t.a
    y = t.f + (rows + 1.0) * t.e
    if to_lonlat is None:
        lon, lat = x[None, :], y[:, None]
    else:  # lon/lat on a coarse lattice of the strip (every 32 columns, 4 rows), repeated
        X, Y = np.meshgrid(x[::32], y[::4])
        lo, la = to_lonlat.transform(X, Y)
        lon = np.repeat(np.repeat(lo, 4, axis=0)[:len(rows)], 32, axis=1)[:, :hw]
        lat = np.repeat(np.repeat(la, 4, axis=0)[:len(rows)], 32, axis=1)[:, :hw]
    u = (lon - WEST) / (EAST - WEST)  # 0 west .. 1 east
    v = (lat - SOUTH) / (NORTH - SOUTH)  # 0 south .. 1 north
    axis = v - (0.12 + 0.75 * u)  # the province: a band from the south-west to the north-east
    inside = np.abs(axis + 0.03 * field) < 0.22 + 0.06 * np.sin(9 * u)
    moist = 2.6 * u - 1.2 + 0.5 * field  # wetter to the east
    codes = np.full(field.shape, 4, dtype=np.uint8)  # steppe
    codes[moist < -0.35] = 7  # desert, gobi
    codes[(moist >= -0.35) & (moist < -0.2)] = 3  # shrub on the desert edge
    codes[(moist > 0.35) & (v < 0.5)] = 1  # cropland in the south-east
    river = np.abs(lat - (40.6 + 0.8 * np.sin((lon - 106) / 2))) < 0.3 + 0.1 * field
    codes[river & (lon > 105) & (lon < 112)] = 1  # Hetao and Tumochuan plains
    codes[(moist > 1.05) & (u > 0.65) & (v > 0.5)] = 2  # Greater Khingan forest
    fine = smooth(lakes, fine_cell)
    codes[fine > 2.0] = 5  # lakes
    codes[(fine > 1.75) & (fine <= 2.0)] = 9  # wetland around them
    codes[(fine < -2.2) & (moist > -0.4)] = 8  # towns
    codes[(field > 2.0) & (v > 0.9)] = 6  # snow and ice, rare
    codes[~inside] = 0
    ch = smooth(change, change_cell)
    later = codes.copy()
    later[(ch > 1.9) & (codes == 4)] = 2  # afforestation of steppe
    later[(ch < -2.2) & (codes == 1)] = 8  # cropland built over
    later[(ch > 2.1) & (codes == 7)] = 3  # sand control: shrub on desert
    out = []
    salt = rng.random((h, width), dtype=np.float32) < 0.02
    for c in (codes, later):
        full = np.repeat(np.repeat(c, 2, axis=0), 2, axis=1)[:h, :width]
        nb = np.roll(full, 3, axis=1)
        full[salt & (full != 0) & (nb != 0)] = nb[salt & (full != 0) & (nb != 0)]
        out.append(full)
    return out


def build_vectors(folder: Path, size: str, nzones: int = 103, seed: int = 3) -> dict[str, Path]:
    """Banners (Voronoi cells of the box), and siting layers; in the raster's CRS's box, as EPSG:4326."""
    import geopandas as gpd
    import shapely

    out = {k: folder / f"{k}.gpkg" for k in ("zones", "deserts", "redline", "farmland", "mines", "border")}
    if all(p.exists() for p in out.values()):
        return out
    rng = np.random.default_rng(seed)
    box = shapely.box(WEST, SOUTH, EAST, NORTH)
    pts = shapely.points(rng.uniform(WEST, EAST, nzones), rng.uniform(SOUTH, NORTH, nzones))
    cells = shapely.get_parts(shapely.voronoi_polygons(shapely.multipoints(pts), extend_to=box.buffer(2)))
    cells = shapely.segmentize(shapely.intersection(cells, box), 0.02)  # ~2 km vertices, like a boundary
    names = [f"旗{i:03d}" for i in range(len(cells))]
    gpd.GeoDataFrame({"name": names}, geometry=list(cells), crs="EPSG:4326").to_file(out["zones"])

    def blobs(n, lon, lat, r):
        centres = shapely.points(rng.uniform(*lon, n), rng.uniform(*lat, n))
        return list(shapely.buffer(centres, rng.uniform(r / 3, r, n), quad_segs=16))

    gpd.GeoDataFrame(geometry=blobs(25, (97.5, 108), (38, 43), 1.2), crs="EPSG:4326").to_file(out["deserts"])
    gpd.GeoDataFrame(geometry=blobs(60, (98, 126), (38, 53), 0.5), crs="EPSG:4326").to_file(out["redline"])
    gpd.GeoDataFrame(geometry=blobs(80, (106, 124), (38, 46), 0.25), crs="EPSG:4326").to_file(out["farmland"])
    gpd.GeoDataFrame(geometry=blobs(40, (105, 121), (39, 46), 0.08), crs="EPSG:4326").to_file(out["mines"])
    lon = np.linspace(WEST + 0.5, EAST - 3, 200)
    line = shapely.LineString(np.c_[lon, 42.0 + 0.09 * (lon - WEST) + 0.4 * np.sin(lon)])
    gpd.GeoDataFrame(geometry=[line], crs="EPSG:4326").to_file(out["border"])
    return out


def build_dem(folder: Path) -> Path:
    """A 9 arc-second (≈ 270 m) float32 DEM of the box, metres (the siting command resamples it)."""
    import rasterio
    from affine import Affine

    path = folder / "dem_9s.tif"
    if path.exists():
        return path
    res = 9 / 3600
    w, h = int(round((EAST - WEST) / res)), int(round((NORTH - SOUTH) / res))
    rng = np.random.default_rng(7)
    coarse = [(_octave(rng, h, w, c), c) for c in (400, 60, 8)]
    tmp = path.with_suffix(".part.tif")
    with rasterio.open(tmp, "w", driver="GTiff", width=w, height=h, count=1, dtype="float32", crs="EPSG:4326",
                       transform=Affine(res, 0, WEST, 0, -res, NORTH), nodata=-9999.0, tiled=True, blockxsize=TILE,
                       blockysize=TILE, compress="deflate", predictor=3, BIGTIFF="IF_SAFER") as dst:
        for row in range(0, h, TILE):
            rows = np.arange(row, min(h, row + TILE), dtype=np.float64)
            z = sum(_bilinear(o, c, rows, w) * a for (o, c), a in zip(coarse, (400.0, 120.0, 12.0)))
            dst.write((1200.0 + z).astype(np.float32), 1, window=((row, row + len(rows)), (0, w)))
    tmp.rename(path)
    return path



# ----------------------------------------------------------------------------- runs
FLOOR = r"""
import json, sys, time
import rasterio
from sinkplan.layers.grid import Grid
path, max_cells = sys.argv[1], int(sys.argv[2])
g = Grid.from_raster(path)
n = 0
with rasterio.open(path) as src:
    for w in g.blocks(max_cells):
        n += src.read(1, window=w).size
print(json.dumps({"pixels": n}))
"""

EXACTEXTRACT = r"""
import json, sys
import geopandas as gpd, rasterio
from exactextract import exact_extract
zones = gpd.read_file(sys.argv[2])
with rasterio.open(sys.argv[1]) as src:
    df = exact_extract(src, zones, ["unique", "frac"], include_cols=["name"], output="pandas")
print(json.dumps({"zones": len(df)}))
"""

CLI = "import sys; from sinkplan.cli import main; sys.exit(main(sys.argv[1:]))"

INVEST = r"""
import json, sys, logging
logging.disable(logging.INFO)
from natcap.invest import carbon
args = {"workspace_dir": sys.argv[3], "lulc_cur_path": sys.argv[1], "carbon_pools_path": sys.argv[2],
        "calc_sequestration": False, "do_valuation": False, "n_workers": -1}
carbon.execute(args)
print(json.dumps({"invest": True}))
"""

INVEST_REIMPL = r"""
# NOT InVEST: a re-implementation of InVEST 3.20 carbon's arithmetic and default outputs
# (natcap.invest could not be imported): per pool, a raster of density × pixel area
# (Mg C per pixel, pixel area = |dx·dy| / 10 000 ha), a total raster, and the total summed;
# GeoTIFFs as pygeoprocessing writes them (tiled 256, LZW, BigTIFF).
import json, sys, csv
import numpy as np, rasterio
from rasterio.windows import Window
lulc, table, ws = sys.argv[1:4]
rows = list(csv.DictReader(open(table, encoding="utf-8")))
pools = ["c_above", "c_below", "c_soil", "c_dead"]
with rasterio.open(lulc) as src:
    ha = abs(src.transform.a * src.transform.e) / 10000.0
    lut = {p: np.zeros(65536, np.float32) for p in pools}
    for r in rows:
        for p in pools:
            lut[p][int(r["lucode"])] = float(r[p]) * ha
    prof = dict(driver="GTiff", width=src.width, height=src.height, count=1, dtype="float32", crs=src.crs,
                transform=src.transform, nodata=-1.0, tiled=True, blockxsize=256, blockysize=256, compress="lzw", BIGTIFF="YES")
    outs = {p: rasterio.open(f"{ws}/{p}_cur.tif", "w", **prof) for p in pools + ["tot_c"]}
    total = 0.0
    nd = src.nodata
    for _, w in src.block_windows(1):
        codes = src.read(1, window=w)
        tot = np.zeros(codes.shape, np.float32)
        for p in pools:
            v = lut[p][codes]
            if nd is not None:
                v = np.where(codes == nd, -1.0, v).astype(np.float32)
            outs[p].write(v, 1, window=w)
            tot += np.where(v >= 0, v, 0)
        if nd is not None:
            tot = np.where(codes == nd, -1.0, tot).astype(np.float32)
        outs["tot_c"].write(tot, 1, window=w)
        total += float(tot[tot >= 0].astype(np.float64).sum())
    for o in outs.values():
        o.close()
print(json.dumps({"total_mgc": total, "reimplementation": True}))
"""


def timed(argv: list[str], env: dict | None = None) -> dict:
    """Run a whole process; wall time, peak RSS of the largest process (wait4) and of the process
    tree (sampled every 0.2 s with psutil: the sum over the command and its Dask workers)."""
    import psutil

    la = os.getloadavg()[0]
    t0 = time.perf_counter()
    proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    tree_peak = 0
    p = psutil.Process(proc.pid)
    while proc.poll() is None:
        try:
            rss = p.memory_info().rss + sum(c.memory_info().rss for c in p.children(recursive=True))
            tree_peak = max(tree_peak, rss)
        except psutil.Error:
            pass
        time.sleep(0.2)
    wall = time.perf_counter() - t0
    out, err = proc.communicate()
    res = {"wall_s": wall, "tree_peak_mb": tree_peak / 2**20, "load1": la, "load1_end": os.getloadavg()[0]}
    if proc.returncode != 0:
        res["failed"] = err.decode(errors="replace").strip().splitlines()[-2:]
        print(f"FAILED ({proc.returncode}): {res['failed']}", flush=True)
    for stream in (out, err):  # the command's JSON line (stdout), the wrapper's peak RSS (stderr)
        lines = [ln for ln in stream.decode(errors="replace").splitlines() if ln.startswith("{")]
        if lines:
            res.update(json.loads(lines[-1]))
    return res


def _maxrss_wrapper(argv: list[str]) -> list[str]:
    """Run ``argv`` under a tiny Python parent that reports the child's peak RSS (wait4)."""
    code = ("import os, sys, json, subprocess; p = subprocess.Popen(sys.argv[1:]); _, st, ru = os.wait4(p.pid, 0); "
            "print(json.dumps({'maxrss_mb': ru.ru_maxrss / 1024}), file=sys.stderr); sys.exit(os.waitstatus_to_exitcode(st))")
    return [sys.executable, "-c", code, *argv]


def run_case(name: str, argv: list[str], env: dict | None = None) -> dict:
    res = timed(argv, env)
    res["case"] = name
    return res


def _manifest_pass(out: Path) -> float | None:
    try:
        t = json.loads((out / "manifest.json").read_text("utf-8")).get("timings_s", {})
    except OSError:
        return None
    return t.get("pass")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--size", default="460M", help="raster size: 6G, 460M, 100M-albers, any <N>M/<N>G (default 460M)")
    ap.add_argument("--cache", default=str(Path.home() / ".cache" / "sinkplan-bench"), help="where the inputs are built once")
    ap.add_argument("--cases", default="all",
                    help="comma-separated: floor, exactextract, carbon, carbon-no-raster, carbon-1thread, carbon-workers2, "
                    "coverage, change, site, invest, carbon-invest (default all that apply)")
    ap.add_argument("--max-cells", type=int, default=4 * 1024 * 1024)
    ap.add_argument("--out", default=None, help="result folders (default: <cache>/out)")
    ap.add_argument("--json", default=None, help="also write the figures to this JSON file")
    a = ap.parse_args()
    cache = Path(a.cache).expanduser()
    cache.mkdir(parents=True, exist_ok=True)
    lc15, lc20 = build_landcover(cache, a.size)
    vec = build_vectors(cache, a.size)
    outdir = Path(a.out) if a.out else cache / "out"
    outdir.mkdir(parents=True, exist_ok=True)
    import rasterio

    with rasterio.open(lc20) as src:
        mpx = src.width * src.height / 1e6
    albers = a.size.endswith("albers")
    default = ["floor", "invest", "carbon-invest"] if albers else [
        "floor", "exactextract", "carbon", "carbon-no-raster", "carbon-1thread", "carbon-workers2", "coverage", "change", "site"]
    cases = default if a.cases == "all" else a.cases.split(",")
    env = {k: v for k, v in os.environ.items() if k != "SINKPLAN_CACHE_DIR"}
    zones = ["--zones", str(vec["zones"]), "--zone-field", "name"]
    common = ["-q", "--overwrite", "--max-cells", str(a.max_cells)]
    py = sys.executable
    rows = []
    table = None
    for case in cases:
        out = outdir / f"{a.size}-{case}"
        e = env
        if case == "floor":
            argv = [py, "-c", FLOOR, str(lc20), str(a.max_cells)]
        elif case == "exactextract":
            argv = [py, "-c", EXACTEXTRACT, str(lc20), str(vec["zones"])]
        elif case in ("carbon", "carbon-no-raster", "carbon-1thread", "carbon-workers2"):
            argv = [py, "-c", CLI, "carbon", str(lc20), *zones, *common, "--out", str(out)]
            if case != "carbon":
                argv.append("--no-raster")
            if case == "carbon-1thread":
                e = dict(env, SINKPLAN_THREADS="1")
            if case == "carbon-workers2":
                argv += ["--workers", "2"]
        elif case == "coverage":
            argv = [py, "-c", CLI, "coverage", f"2015={lc15}", f"2020={lc20}", *zones, *common, "--out", str(out)]
        elif case == "change":
            argv = [py, "-c", CLI, "change", f"2015={lc15}", f"2020={lc20}", *zones, *common, "--out", str(out)]
        elif case == "site":
            dem = build_dem(cache)
            argv = [py, "-c", CLI, "site", "--tech", "pv", "--landcover", str(lc20), "--dem", str(dem),
                    "--deserts", str(vec["deserts"]), "--redline", str(vec["redline"]), "--farmland", str(vec["farmland"]),
                    "--mines", str(vec["mines"]), "--border", str(vec["border"]), *zones, *common, "--out", str(out)]
        elif case in ("invest", "carbon-invest"):
            table = cache / "invest_biophysical.csv"
            table.write_text("lucode,LULC_Name,c_above,c_below,c_soil,c_dead\n"
                             "1,cropland,5.0,1.2,62.0,0.5\n2,forest,32.4,8.1,144.4,2.9\n3,shrub,8.4,6.2,80.0,1.0\n"
                             "4,grassland,0.89,6.2,74.0,0.2\n5,water,0,0,0,0\n6,snow,0,0,0,0\n7,barren,0.1,0.2,12.0,0\n"
                             "8,impervious,0,0,20.0,0\n9,wetland,24.0,6.0,87.0,3.0\n", encoding="utf-8")
            if case == "invest":
                ws = outdir / f"{a.size}-invest"
                shutil.rmtree(ws, ignore_errors=True)
                ws.mkdir(parents=True)
                invest_py = os.environ.get("INVEST_PYTHON", py)
                chk = subprocess.run([invest_py, "-c", "import natcap.invest.carbon"], capture_output=True)
                if chk.returncode == 0:
                    argv = [invest_py, "-c", INVEST, str(lc20), str(table), str(ws)]
                else:
                    case = "invest (re-implementation, NOT InVEST)"
                    argv = [py, "-c", INVEST_REIMPL, str(lc20), str(table), str(ws)]
            else:
                argv = [py, "-c", CLI, "carbon", str(lc20), "--densities", str(table), "--scheme", "clcd", *common,
                        "--out", str(out)]
        else:
            raise SystemExit(f"unknown case {case!r}")
        print(f"… {case} (load {os.getloadavg()[0]:.1f})", flush=True)
        r = run_case(case, _maxrss_wrapper(argv), e)
        r["pass_s"] = _manifest_pass(out) if case.startswith(("carbon", "coverage", "change")) else None
        if case.startswith("carbon") or case in ("coverage", "change", "site"):
            try:
                r["summary"] = json.loads((out / rs.SUMMARY.name).read_text("utf-8"))
            except OSError:
                pass
        rows.append(r)
    _report(rows, mpx, a.size)
    if a.json:
        Path(a.json).write_text(json.dumps(rows, indent=1, default=str), encoding="utf-8")


def _report(rows: list[dict], mpx: float, size: str) -> None:
    floor = next((r["wall_s"] for r in rows if r["case"] == "floor"), None)
    print(f"\n{size}: {mpx:,.0f} Mpx; whole processes; ratio = time / plain read (floor); RSS: largest process "
          "(wait4) and the process tree (sampled)")
    print(f"{'case':<40}{'wall s':>9}{'pass s':>9}{'Mpx/s':>9}{'× floor':>9}{'RSS MB':>9}{'tree MB':>9}{'load':>11}")
    for r in rows:
        ratio = f"{r['wall_s'] / floor:.2f}" if floor else "-"
        ps = f"{r['pass_s']:.1f}" if r.get("pass_s") else "-"
        if r.get("failed"):
            print(f"{r['case']:<40} FAILED: {r['failed'][-1][:120]}")
            continue
        print(f"{r['case']:<40}{r['wall_s']:>9.1f}{ps:>9}{mpx / r['wall_s']:>9.0f}{ratio:>9}{r.get('maxrss_mb', 0):>9.0f}"
              f"{r['tree_peak_mb']:>9.0f}{r['load1']:>6.1f}→{r['load1_end']:<4.1f}")
    inv = next((r for r in rows if r["case"].startswith("invest")), None)
    car = next((r for r in rows if r["case"] == "carbon-invest"), None)
    if inv and car and "summary" in car:
        tot = inv.get("total_mgc")
        mine = car["summary"].get("stock_mgc")
        print(f"InVEST {inv['case']}: {inv['wall_s']:.1f} s; sinkplan {car['wall_s']:.1f} s: {inv['wall_s'] / car['wall_s']:.1f} × faster"
              + (f"; totals {tot:.9g} vs {mine:.9g} Mg C (rel. diff {abs(tot - mine) / tot:.1e})" if tot and mine else ""))


if __name__ == "__main__":
    main()

"""Reliability: a block that fails to read ends in one line naming the file and window, exit 2.

Issue 15's recipe: copy a land-cover GeoTIFF, overwrite 8 KiB at 60 % of its length with
random bytes, run ``carbon``; a VRT mosaic whose tile is deleted or damaged; then ``site``
(DEM) and ``classify`` (image). Each must exit 2 with one line, leave nothing in ``--out``
and leave the input untouched.
"""

from __future__ import annotations

import re

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from rasterio.windows import Window
from shapely.geometry import box

from reliability_util import T, corrupt, failing_tiles, leftovers, one_line_error, sha256, write_landcover
from sinkplan.cli import main
from sinkplan.layers.errors import InputFileError, SinkplanError
from sinkplan.layers.grid import open_raster
from sinkplan.layers.landcover import class_table, open_landcover
from sinkplan.layers.reading import read_window, vrt_sources

_WINDOW = re.compile(r"rows (\d+)–(\d+), columns (\d+)–(\d+)")


@pytest.fixture(scope="module")
def damaged(tmp_path_factory):
    d = tmp_path_factory.mktemp("damaged")
    good = write_landcover(d / "lc.tif")
    bad = corrupt(good, d / "lc_bad.tif")
    tiles = failing_tiles(bad, 256)
    assert tiles, "the recipe must damage at least one tile"  # precondition of every test below
    return d, good, bad, tiles


def test_read_window_names_file_window_and_fix(damaged):
    d, good, bad, tiles = damaged
    r, c = sorted(tiles)[0]
    with open_raster(bad) as src:
        with pytest.raises(InputFileError) as info:
            read_window(src, Window(c, r, 256, 256))
    msg = str(info.value)
    # the window is given 0-based and inclusive: a 256-px tile at row r spans r..r+255
    assert msg.startswith(f"{bad}: cannot read rows {r}–{r + 255}, columns {c}–{c + 255} (")
    assert "damaged or incomplete" in msg and "gdalinfo -checksum" in msg and "\n" not in msg
    assert isinstance(info.value, OSError) and isinstance(info.value, SinkplanError)
    assert info.value.__cause__ is None  # GDAL's exceptions are not chained (they do not pickle for Dask)
    # a tile the bytes did not touch still reads, with the original values
    ok = next((rr, cc) for rr in range(0, 1024, 256) for cc in range(0, 1024, 256) if (rr, cc) not in tiles)
    w = Window(ok[1], ok[0], 256, 256)
    with open_raster(bad) as src, open_raster(good) as ref:
        np.testing.assert_array_equal(read_window(src, w), ref.read(1, window=w))


def test_carbon_on_a_damaged_block_is_one_line_and_leaves_nothing(damaged, tmp_path, capsys):
    d, good, bad, tiles = damaged
    before = sha256(bad)
    out = tmp_path / "carbon"
    assert main(["carbon", str(bad), "--out", str(out), "-q"]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert line.startswith(f"sinkplan carbon: error: {bad}: cannot read rows 0–1023, columns 0–1023")
    # the damaged internal block it names is one that fails on its own
    m = re.search(r"the damaged block: " + _WINDOW.pattern, line)
    assert m and (int(m.group(1)), int(m.group(3))) in tiles
    assert not out.exists() and leftovers(tmp_path) == []
    assert sha256(bad) == before


def test_small_blocks_name_the_block_read(damaged, tmp_path, capsys):
    d, good, bad, tiles = damaged
    # --max-cells 65536 = one 256 × 256 tile per block: the first failing block in row order is named
    assert main(["carbon", str(bad), "--out", str(tmp_path / "c"), "--max-cells", "65536", "-q"]) == 2
    line = one_line_error(capsys.readouterr().err)
    r, c = min(tiles)
    assert f"{bad}: cannot read rows {r}–{r + 255}, columns {c}–{c + 255} (" in line
    assert "the damaged block" not in line  # the block is the window: said once


def _vrt(path, tiles, shape):
    """A VRT mosaic (what gdalbuildvrt writes) of (file, col_off) tiles side by side."""
    h, w = shape
    width = sum(w for _ in tiles)
    srcs = "".join(
        f'<SimpleSource><SourceFilename relativeToVRT="1">{f.name}</SourceFilename><SourceBand>1</SourceBand>'
        f'<SrcRect xOff="0" yOff="0" xSize="{w}" ySize="{h}"/><DstRect xOff="{off}" yOff="0" xSize="{w}" ySize="{h}"/>'
        "</SimpleSource>" for f, off in tiles)
    path.write_text(
        f'<VRTDataset rasterXSize="{width}" rasterYSize="{h}"><SRS>EPSG:4326</SRS>'
        f"<GeoTransform>{T.c}, {T.a}, 0, {T.f}, 0, {T.e}</GeoTransform>"
        f'<VRTRasterBand dataType="Byte" band="1"><NoDataValue>0</NoDataValue>{srcs}</VRTRasterBand></VRTDataset>')
    return path


@pytest.fixture
def mosaic(tmp_path):
    # two 1024 × 600 tiles: 1.2 Mpx, above the 1 Mpx where GDAL 3.10 reads a VRT with threads
    a = write_landcover(tmp_path / "a.tif", (1024, 600), seed=5)
    b = write_landcover(tmp_path / "b.tif", (1024, 600), seed=6,
                        transform=Affine(0.001, 0, 110.6, 0, -0.001, 42.0))
    return _vrt(tmp_path / "lc.vrt", [(a, 0), (b, 600)], (1024, 600)), a, b


def test_intact_mosaic_reads_as_its_tiles(mosaic):
    vrt, a, b = mosaic
    assert [(s.path, s.window.col_off) for s in vrt_sources(vrt)] == [(str(a), 0), (str(b), 600)]
    with rasterio.open(a) as sa, rasterio.open(b) as sb:
        expect = np.bincount(np.concatenate([sa.read(1).ravel(), sb.read(1).ravel()]), minlength=10)
    table = class_table(open_landcover(vrt))
    assert dict(zip(table.code, table.pixels)) == {c: int(expect[c]) for c in range(1, 10)}


def test_mosaic_with_a_deleted_tile(mosaic, tmp_path, capsys):
    vrt, a, b = mosaic
    b.unlink()
    out = tmp_path / "c"
    assert main(["carbon", str(vrt), "--out", str(out), "-q"]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert line == (f"sinkplan carbon: error: {vrt}: mosaic tile {b} does not exist (it covers rows 0–1023, "
                    "columns 600–1199 of the mosaic); restore the tile or rebuild the mosaic with gdalbuildvrt from "
                    "the tiles you have")
    assert not out.exists()


def test_mosaic_with_a_damaged_tile_is_not_read_as_nodata(mosaic, tmp_path, capsys):
    # GDAL 3.10's threaded VRT read returned the damaged tile as nodata and exit 0; one line, exit 2 now
    vrt, a, b = mosaic
    corrupt(b, b)
    assert failing_tiles(b, 256)
    out = tmp_path / "c"
    assert main(["carbon", str(vrt), "--out", str(out), "-q"]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert line.startswith(f"sinkplan carbon: error: {vrt}: cannot read rows 0–1023, columns 0–1199: source tile "
                           f"{b}, rows 0–1023, columns 600–1199 of the mosaic (")
    assert line.endswith("restore that tile (copy or download it again) or rebuild the mosaic with gdalbuildvrt")
    assert not out.exists()


def _site_inputs(d, dem_shape=(512, 512), dem_transform=T):
    lc = np.full((512, 512), 7, np.uint8)  # barren land: all of it screened
    with rasterio.open(d / "lc.tif", "w", driver="GTiff", width=512, height=512, count=1, dtype="uint8",
                       crs="EPSG:4326", transform=T, nodata=0, tiled=True, blockxsize=256, blockysize=256) as dst:
        dst.write(lc, 1)
    dem = (1000 + 50 * np.random.default_rng(2).standard_normal(dem_shape)).astype("float32")
    with rasterio.open(d / "dem.tif", "w", driver="GTiff", width=dem_shape[1], height=dem_shape[0], count=1,
                       dtype="float32", crs="EPSG:4326", transform=dem_transform, nodata=-9999, tiled=True,
                       blockxsize=256, blockysize=256, compress="deflate") as dst:
        dst.write(dem, 1)
    far = gpd.GeoDataFrame({"id": [1]}, geometry=[box(120, 10, 120.01, 10.01)], crs="EPSG:4326")
    far.to_file(d / "far.gpkg")
    return ["site", "-q", "--landcover", str(d / "lc.tif"), "--redline", str(d / "far.gpkg"),
            "--farmland", str(d / "far.gpkg")]


@pytest.mark.parametrize("warped", [False, True], ids=["dem-on-grid", "dem-resampled"])
def test_site_on_a_damaged_dem(tmp_path, capsys, warped):
    # resampled: a DEM of 0.002° pixels over the same box, read in its own rows and resampled
    # onto the grid (layers.continuous.read_resampled): the message names the DEM's rows
    shape, t = ((256, 256), Affine(0.002, 0, 110.0, 0, -0.002, 42.0)) if warped else ((512, 512), T)
    args = _site_inputs(tmp_path, shape, t)
    corrupt(tmp_path / "dem.tif", tmp_path / "dem.tif", at=0.5, nbytes=60_000)
    before = sha256(tmp_path / "dem.tif")
    out = tmp_path / "site"
    assert main([*args, "--dem", str(tmp_path / "dem.tif"), "--out", str(out)]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert line.startswith(f"sinkplan site: error: {tmp_path / 'dem.tif'}: cannot read rows ")
    assert "of the working grid (resampled)" not in line
    assert not out.exists() and [p for p in leftovers(tmp_path)] == []
    assert sha256(tmp_path / "dem.tif") == before


def test_classify_on_a_damaged_image(tmp_path, capsys):
    rng = np.random.default_rng(4)
    img = (5 + rng.standard_normal((3, 512, 512))).astype("float32")
    with rasterio.open(tmp_path / "img.tif", "w", driver="GTiff", width=512, height=512, count=3, dtype="float32",
                       crs="EPSG:4326", transform=T, tiled=True, blockxsize=128, blockysize=128,
                       compress="deflate") as dst:
        dst.write(img)
    x0, y0 = T.c, T.f
    polys = [box(x0 + 0.01 * i, y0 - 0.5, x0 + 0.01 * i + 0.005, y0 - 0.49) for i in range(20)]
    gpd.GeoDataFrame({"label": [2, 4] * 10}, geometry=polys, crs="EPSG:4326").to_file(tmp_path / "s.gpkg")
    corrupt(tmp_path / "img.tif", tmp_path / "img.tif", at=0.6)
    out = tmp_path / "cls"
    rc = main(["classify", str(tmp_path / "img.tif"), "--samples", str(tmp_path / "s.gpkg"), "--label-field", "label",
               "--indices", "none", "--n-estimators", "5", "--out", str(out), "-q"])
    assert rc == 2
    line = one_line_error(capsys.readouterr().err)
    assert line.startswith(f"sinkplan classify: error: {tmp_path / 'img.tif'}: cannot read rows ")
    assert not out.exists() and leftovers(tmp_path) == []


@pytest.mark.dask
def test_damaged_block_on_dask_workers_is_one_line(damaged, tmp_path, capfd):
    d, good, bad, tiles = damaged
    out = tmp_path / "c"
    assert main(["carbon", str(bad), "--out", str(out), "--workers", "2", "--max-cells", "65536", "-q"]) == 2
    line = one_line_error(capfd.readouterr().err)
    r, c = min(tiles)
    assert f"{bad}: cannot read rows {r}–{r + 255}, columns {c}–{c + 255} (" in line  # the InputFileError itself
    assert not out.exists()

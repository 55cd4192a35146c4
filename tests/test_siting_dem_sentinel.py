"""A DEM whose voids are -32768 with no nodata tag (SRTM tiles re-saved without it).

Before: the voids read as real ground at -32768 m; inside a void the ground is flat, so the
screen counted void pixels as eligible land of slope 0 (200 px of a 10 × 20 void on a 1°
slope became parcels). Now the run stops with one line naming the file, the value, where it
is and how to declare it; with the nodata declared, the void and its ring of neighbours
(Horn's slope needs all 8) are excluded as no elevation data."""

from __future__ import annotations

import json
import math

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from sinkplan.cli import main
from sinkplan.layers import resultspec as rs

W, H, RES, LON0, LAT0 = 30, 20, 0.002, 110.0, 42.1


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    d = tmp_path_factory.mktemp("demvoid")
    with rasterio.open(d / "lc.tif", "w", driver="GTiff", width=W, height=H, count=1, dtype="uint8", crs="EPSG:4326",
                       transform=Affine(RES, 0, LON0, 0, -RES, LAT0), nodata=0) as dst:
        dst.write(np.full((1, H, W), 7, dtype=np.uint8))  # CLCD 7 barren: the desert zone
    rows = np.arange(H)[:, None] + np.zeros((1, W))
    dem = (1000.0 + (H - rows) * 222.0 * math.tan(math.radians(1.0))).astype(np.int16)  # ~1° northwards
    dem[5:9, 5:11] = -32768  # a 4 × 6 void
    for name, nodata in (("dem_untagged.tif", None), ("dem_tagged.tif", -32768)):
        with rasterio.open(d / name, "w", driver="GTiff", width=W, height=H, count=1, dtype="int16",
                           crs="EPSG:4326", transform=Affine(RES, 0, LON0, 0, -RES, LAT0), nodata=nodata) as dst:
            dst.write(dem, 1)
    gpd.GeoDataFrame({"id": [1]}, geometry=[box(120.0, 30.0, 120.01, 30.01)], crs=4326).to_file(d / "far.gpkg")
    return d


def _site(d, dem, out):
    return main(["site", "-q", "--landcover", str(d / "lc.tif"), "--dem", str(d / dem), "--redline",
                 str(d / "far.gpkg"), "--farmland", str(d / "far.gpkg"), "--set", "pv.min_parcel_area_ha=1",
                 "--out", str(out)])


def test_undeclared_void_value_stops_the_run(region, tmp_path, capfd):
    before = (region / "dem_untagged.tif").read_bytes()
    assert _site(region, "dem_untagged.tif", tmp_path / "pv") == 2
    err = capfd.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert (f"{region / 'dem_untagged.tif'}: elevation -32768 m at row 5, column 5 of the land-cover grid is below "
            "any land surface") in err[0] and "declares no nodata value" in err[0]
    assert "gdal_translate -a_nodata -32768" in err[0]
    assert not (tmp_path / "pv").exists() and (region / "dem_untagged.tif").read_bytes() == before


def test_declared_void_is_excluded_with_its_ring(region, tmp_path):
    out = tmp_path / "pv"
    assert _site(region, "dem_tagged.tif", out) == 0
    with rasterio.open(out / rs.EXCLUSIONS.name) as src:
        bits = src.read(1).astype(np.int64)
    s = json.loads((out / rs.SUMMARY.name).read_text(encoding="utf-8"))
    bit = next(b["value"] for b in s["exclusion_bits"] if b["rule"] == "dem_nodata")
    flagged = (bits & bit) != 0
    # the 4 × 6 void (24 px) and the pixels around it whose 3 × 3 window reaches it: 6 × 8 - 24 = 24 more
    assert flagged.sum() == 48 and flagged[4:10, 4:12].all()
    with rasterio.open(out / rs.ELIGIBLE.name) as src:
        assert not (src.read(1)[4:10, 4:12] > 0).any()


def test_a_dem_covering_part_of_the_land_is_said(region, tmp_path, capfd):
    """The east half of the DEM is nodata: columns 15-29 have no elevation and column 14's 3 × 3
    window reaches them, so 16 of 30 columns (53.3 % of every row, hence of the area) are excluded
    as dem_nodata; the summary notes and the log warn it (before: only a smaller capacity)."""
    with rasterio.open(region / "dem_tagged.tif") as src:
        dem, prof = src.read(1), src.profile
    dem[:, :] = 1000
    dem[:, 15:] = -32768
    with rasterio.open(tmp_path / "dem_half.tif", "w", **prof) as dst:
        dst.write(dem, 1)
    out = tmp_path / "pv"
    assert main(["site", "-q", "--landcover", str(region / "lc.tif"), "--dem", str(tmp_path / "dem_half.tif"),
                 "--redline", str(region / "far.gpkg"), "--farmland", str(region / "far.gpkg"),
                 "--set", "pv.min_parcel_area_ha=1", "--out", str(out)]) == 0
    s = json.loads((out / rs.SUMMARY.name).read_text(encoding="utf-8"))
    note = [n for n in s["notes"] if "no elevation over" in n]
    assert len(note) == 1 and "53.3 % of the land with land-cover data" in note[0]
    assert note[0].startswith(f"{tmp_path / 'dem_half.tif'}: ")
    assert "WARNING sinkplan.siting.screen: " + note[0] in capfd.readouterr().err.splitlines()  # -q keeps warnings
    # the region's own DEM (a 4 × 6 void and its ring: 48 of 600 px, 8 %) is noted too; a full one is not
    assert _site(region, "dem_tagged.tif", tmp_path / "tagged") == 0
    s = json.loads((tmp_path / "tagged" / rs.SUMMARY.name).read_text(encoding="utf-8"))
    assert [n for n in s["notes"] if "no elevation over" in n]
    dem[:, :] = 1000
    with rasterio.open(tmp_path / "dem_full.tif", "w", **prof) as dst:
        dst.write(dem, 1)
    assert main(["site", "-q", "--landcover", str(region / "lc.tif"), "--dem", str(tmp_path / "dem_full.tif"),
                 "--redline", str(region / "far.gpkg"), "--farmland", str(region / "far.gpkg"),
                 "--set", "pv.min_parcel_area_ha=1", "--out", str(tmp_path / "full")]) == 0
    s = json.loads((tmp_path / "full" / rs.SUMMARY.name).read_text(encoding="utf-8"))
    assert not [n for n in s["notes"] if "no elevation over" in n]


def test_a_land_cover_without_data_is_said(region, tmp_path, capfd):
    """Every pixel nodata: 0 MW, and the note says why (before: 0 MW and nothing else)."""
    with rasterio.open(region / "lc.tif") as src:
        prof = src.profile
    prof.update(width=100, height=60)  # 6 000 px: the total and the nodata area differ by rounding (3.6e-12 ha)
    with rasterio.open(tmp_path / "lc_empty.tif", "w", **prof) as dst:
        dst.write(np.zeros((1, 60, 100), dtype=np.uint8))  # 0 is the nodata value
    out = tmp_path / "pv"
    assert main(["site", "-q", "--landcover", str(tmp_path / "lc_empty.tif"), "--redline", str(region / "far.gpkg"),
                 "--farmland", str(region / "far.gpkg"), "--out", str(out)]) == 0
    s = json.loads((out / rs.SUMMARY.name).read_text(encoding="utf-8"))
    note = f"{tmp_path / 'lc_empty.tif'}: no pixel has land-cover data"
    assert s["capacity_mw"] == 0.0 and any(n.startswith(note) for n in s["notes"])
    assert note in capfd.readouterr().err

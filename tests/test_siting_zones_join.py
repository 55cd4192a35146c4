"""A parcel is connected eligible land: a desert strip touching a border strip is one parcel.

Equal-area grid of 100 m pixels (1 ha each, exactly), so every area below is a pixel count.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
import rasterio
from affine import Affine
from shapely.geometry import LineString, box

from sinkplan.layers import resultspec as rs
from sinkplan.cli import main
from sinkplan.siting.prepare import ScreenInputs, prepare
from sinkplan.siting.profile import load_profile, with_overrides
from siting_util import LEGACY_PV, legacy_set_args
from sinkplan.siting.screen import run_screen

CRS = "+proj=aea +lat_1=25 +lat_2=47 +lat_0=0 +lon_0=110 +ellps=WGS84 +units=m +no_defs"
W, H, X0, Y0, PX = 30, 12, 0.0, 4_700_000.0, 100.0
GRASS, FOREST, BARREN = 4, 2, 7  # CLCD codes


def _region(d):
    lc = np.full((H, W), GRASS, dtype=np.uint8)  # grassland outside the belt: outside every zone
    lc[0:2, 10:20] = FOREST
    # A: border rows 0-1 × cols 0-9 (20 ha, grassland in the belt) above desert rows 2-3 × cols 0-7
    #    (16 ha): edge contact, one parcel of 36 ha, zone type border
    lc[2:4, 0:8] = BARREN
    # B: desert rows 2-6 × cols 15-19 (25 ha) touches the border strip rows 0-1 × cols 20-29 (20 ha)
    #    only diagonally, (2, 19)-(1, 20): one parcel of 45 ha, zone type desert
    lc[2:7, 15:20] = BARREN
    # C: a lone desert strip rows 9-10 × cols 0-7 (16 ha): below 30 ha, small_parcel
    lc[9:11, 0:8] = BARREN
    with rasterio.open(d / "lc.tif", "w", driver="GTiff", width=W, height=H, count=1, dtype="uint8", crs=CRS,
                       transform=Affine(PX, 0, X0, 0, -PX, Y0), nodata=0) as dst:
        dst.write(lc, 1)
    far = box(X0 + 50_000, Y0 + 50_000, X0 + 50_100, Y0 + 50_100)
    gpd.GeoDataFrame({"id": [0]}, geometry=[far], crs=CRS).to_file(d / "far.gpkg")
    # the border runs along the grid's top edge; a 200 m belt holds rows 0-1 (centres 50 and
    # 150 m from it), not row 2 (250 m)
    gpd.GeoDataFrame({"id": [0]}, geometry=[LineString([(X0 - 1000, Y0), (X0 + 4000, Y0)])], crs=CRS).to_file(
        d / "border.gpkg")


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    d = tmp_path_factory.mktemp("zones_join")
    _region(d)
    return d


def _profile():
    return with_overrides(load_profile("pv"), {**LEGACY_PV, "zones.border.width_m": 200.0})  # min parcel area 30 ha


@pytest.mark.parametrize("max_cells", [W * H, 2 * W, 3 * W, 16, 7])
def test_desert_and_border_strips_are_one_parcel(region, tmp_path, max_cells):
    # 2 × W: a block edge between rows 1 and 2, exactly where border meets desert; 16 and 7:
    # small tiles, so both contacts (the edge and the diagonal one) cross block corners.
    inputs = ScreenInputs(landcover=region / "lc.tif", redline=region / "far.gpkg", farmland=region / "far.gpkg",
                          border=region / "border.gpkg", grid_lines=(region / "far.gpkg",))
    prep = prepare(inputs, _profile(), workdir=tmp_path)
    assert prep.grid.equal_area
    res = run_screen(prep, workdir=tmp_path, exclusions_path=tmp_path / "ex.tif", eligible_path=tmp_path / "el.tif",
                     parcels_raster_path=tmp_path / "pa.tif", max_cells=max_cells)
    p = pd.DataFrame(res.parcels.drop(columns="geometry")).set_index("parcel_id").sort_index()
    assert p.index.tolist() == [1, 2]  # A starts at (0, 0), B at (0, 20)
    assert p.area_ha.tolist() == [36.0, 45.0]
    assert p.area_ha_desert.tolist() == [16.0, 25.0]
    assert p.area_ha_border.tolist() == [20.0, 20.0]
    assert p.area_ha_mine.tolist() == p.area_ha_other.tolist() == [0.0, 0.0]
    assert p.zone_type.tolist() == ["border", "desert"]  # the larger part's type
    assert p.pixels.tolist() == [36, 45]
    # MW = ha / 100 × 34 MW/km²: 36 ha → 12.24 MW, 45 ha → 15.3 MW
    assert p.capacity_mw.to_numpy() == pytest.approx([12.24, 15.3], rel=1e-12)
    s = res.summary
    assert s["parcels"] == 2 and s["eligible_area_ha"] == 81.0
    assert s["small_fragments_area_ha"] == 16.0  # only the lone strip C
    by = s["by_zone_type"]
    # desert 16 + 25 = 41 ha (13.94 MW), border 20 + 20 = 40 ha (13.6 MW): by pixels, not by parcel type
    assert (by["desert"]["area_ha"], by["border"]["area_ha"], by["mine"]["area_ha"]) == (41.0, 40.0, 0.0)
    assert by["desert"]["capacity_mw"] == pytest.approx(13.94, rel=1e-12)
    assert by["border"]["capacity_mw"] == pytest.approx(13.6, rel=1e-12)
    assert sum(z["area_ha"] for z in by.values()) == s["eligible_area_ha"]
    assert sum(z["capacity_mw"] for z in by.values()) == pytest.approx(s["capacity_mw"], rel=1e-12)
    assert (by["desert"]["parcels"], by["border"]["parcels"]) == (1, 1)
    # eligible.tif keeps each pixel's own zone code; parcels.tif one id over both parts
    with rasterio.open(tmp_path / "el.tif") as a, rasterio.open(tmp_path / "pa.tif") as b:
        el, pa = a.read(1), b.read(1)
    assert (el[0:2, 0:10] == 2).all() and (el[2:4, 0:8] == 1).all() and (pa[0:4, 0:10][el[0:4, 0:10] > 0] == 1).all()
    assert (el[0:2, 20:30] == 2).all() and (el[2:7, 15:20] == 1).all()
    assert (pa[0:2, 20:30] == 2).all() and (pa[2:7, 15:20] == 2).all()
    assert (el[9:11] == 0).all() and (pa[9:11] == 0).all()
    assert int((el == 1).sum()) == 41 and int((el == 2).sum()) == 40 and int((el > 0).sum()) == 81


def test_cli_tables_carry_the_area_per_zone_type(region, tmp_path):
    out = tmp_path / "pv"
    assert main(["site", "-q", "--tech", "pv", "--landcover", str(region / "lc.tif"),
                 "--redline", str(region / "far.gpkg"), "--farmland", str(region / "far.gpkg"),
                 "--border", str(region / "border.gpkg"), "--grid-lines", str(region / "far.gpkg"),
                 "--set", "zones.border.width_m=200", *legacy_set_args(), "--out", str(out)]) == 0
    cols = ["area_ha", "area_ha_desert", "area_ha_border", "area_ha_mine", "area_ha_other"]
    from sinkplan.layers.resultfolder import read_xlsx_sheet

    for t in (pd.read_csv(out / "parcels.csv"), read_xlsx_sheet(out / "parcels.xlsx", "parcels"),
              pd.DataFrame(gpd.read_file(out / "parcels.gpkg").drop(columns="geometry"))):
        t = t.sort_values("parcel_id")
        assert t[cols].to_numpy().tolist() == [[36.0, 16.0, 20.0, 0.0, 0.0], [45.0, 25.0, 20.0, 0.0, 0.0]]
    s = json.loads((out / rs.SUMMARY.name).read_text())
    assert {z: d["area_ha"] for z, d in s["by_zone_type"].items()} == {"desert": 41.0, "border": 40.0, "mine": 0.0,
                                                                      "other": 0.0}

"""Parcel outlines, perimeter, compactness, score and rank do not depend on the block size."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import rasterio
import shapely
from affine import Affine
from pyproj import Geod
from shapely.geometry import box

from sinkplan.siting.parcels import dissolve_pixel_pieces
from sinkplan.siting.prepare import ScreenInputs, prepare
from sinkplan.siting.profile import load_profile, with_overrides
from siting_util import LEGACY_PV
from sinkplan.siting.screen import run_screen

W, H, RES, LON0, LAT0 = 40, 24, 0.00271, 110.3137, 42.0713  # ~224 m × 301 m pixels (not round: block origins round differently)


def _region(d):
    lc = np.full((H, W), 4, dtype=np.uint8)  # grassland: outside every zone (excluded)
    lc[2:8, 3:13] = 7  # a 6 × 10 barren rectangle: cut by every block edge below
    lc[10:20, 20:24] = 7  # an L: a 10 × 4 bar and a 3 × 12 foot
    lc[17:20, 24:36] = 7
    lc[12:15, 5:9] = 7  # a 3 × 4 block (12 px ≈ 44 ha)
    with rasterio.open(d / "lc.tif", "w", driver="GTiff", width=W, height=H, count=1, dtype="uint8",
                       crs="EPSG:4326", transform=Affine(RES, 0, LON0, 0, -RES, LAT0), nodata=0) as dst:
        dst.write(lc, 1)
    import geopandas as gpd

    gpd.GeoDataFrame({"id": [0]}, geometry=[box(120, 10, 120.1, 10.1)], crs="EPSG:4326").to_file(d / "far.gpkg")


def _screen(d, work, max_cells):
    """parcels (GeoDataFrame) of a PV screen of the region with ``max_cells`` per block."""
    work.mkdir()
    inputs = ScreenInputs(landcover=d / "lc.tif", redline=d / "far.gpkg", farmland=d / "far.gpkg",
                          grid_lines=(d / "far.gpkg",))
    prep = prepare(inputs, with_overrides(load_profile("pv"), {**LEGACY_PV, "pv.min_parcel_area_ha": 20}), workdir=work)
    res = run_screen(prep, workdir=work, exclusions_path=work / "ex.tif", eligible_path=work / "el.tif",
                     parcels_raster_path=work / "pa.tif", max_cells=max_cells)
    return res.parcels.sort_values("parcel_id").reset_index(drop=True)


def test_outline_and_scores_are_the_same_for_every_block_size(tmp_path):
    _region(tmp_path)
    runs = {}
    # one block; 1 × 16 tiles; 3-row strips (vertical and horizontal cuts through every parcel)
    for mc in (W * H, 16, 3 * W):
        g = _screen(tmp_path, tmp_path / f"w{mc}", mc)
        runs[mc] = (pd.DataFrame(g.drop(columns="geometry")), g)
    ref_t, ref_g = runs[W * H]
    assert len(ref_t) == 3
    geod = Geod(ellps="WGS84")
    for mc, (t, g) in runs.items():
        assert t["parcel_id"].tolist() == ref_t["parcel_id"].tolist()
        for c in ("rank", "pixels", "base_id", "zone_type"):
            assert t[c].tolist() == ref_t[c].tolist(), (mc, c)
        pd.testing.assert_frame_equal(t, ref_t, check_exact=False, rtol=1e-12)
        for a, b in zip(g.geometry, ref_g.geometry):
            assert len(shapely.get_parts(a)) == 1  # no piece left over from a block edge
            assert abs(geod.geometry_area_perimeter(a)[0]) == pytest.approx(abs(geod.geometry_area_perimeter(b)[0]),
                                                                          rel=1e-12)
            assert shapely.get_num_coordinates(a) == shapely.get_num_coordinates(b)
    # the rectangle (parcel 1, first pixel at row 2): perimeter of the 6 × 10 pixel box, independently
    rect = box(LON0 + 3 * RES, LAT0 - 8 * RES, LON0 + 13 * RES, LAT0 - 2 * RES)
    p1 = ref_t.set_index("parcel_id").loc[1]
    assert p1["pixels"] == 60
    assert p1["perimeter_km"] * 1000 == pytest.approx(abs(geod.geometry_area_perimeter(rect)[1]), rel=1e-9)
    # the L has 8 corners: 6 outline vertices + 2 for the notch, closed ring = 7 coordinates
    ell = ref_g.geometry[ref_g.parcel_id == 2].iloc[0]
    assert shapely.get_num_coordinates(ell) == 7


def test_dissolve_pixel_pieces_hand_cases():
    g = dissolve_pixel_pieces([box(0, 0, 2, 1), box(2, 0, 3, 1)])
    assert g.geom_type == "Polygon" and g.length == 8.0 and shapely.get_num_coordinates(g) == 5  # 3 × 1: 2·3 + 2·1
    # pieces meeting at a corner only (8-connected) stay two polygons
    g = dissolve_pixel_pieces([box(0, 0, 1, 1), box(1, 1, 2, 2)])
    assert g.geom_type == "MultiPolygon" and g.area == 2.0 and g.length == 8.0

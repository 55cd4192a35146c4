"""GCJ-02: forward transform against reference values, the China rule, the map-level shift."""

from __future__ import annotations

import json
import re

import numpy as np
import pytest
from pyproj import Geod

from sinkplan.maps.gcj02 import gcj02_to_wgs84, out_of_china, wgs84_to_gcj02

GEOD = Geod(ellps="WGS84")


def dist_m(lon1, lat1, lon2, lat2) -> float:
    return float(GEOD.inv(lon1, lat1, lon2, lat2)[2])


# (wgs lon, wgs lat, gcj lon, gcj lat) published with two independent implementations:
# eviltransform's python tests (Shanghai, Shenzhen, Beijing) and coordtransform's README/test.
REFERENCE = [
    (121.5272106, 31.1774276, 121.531541859215, 31.17530398364597),  # eviltransform: Shanghai
    (113.912316, 22.543847, 113.9171764808363, 22.540796131694766),  # eviltransform: Shenzhen
    (116.377817, 39.911954, 116.38404722455657, 39.91334545536069),  # eviltransform: Beijing
    (116.404, 39.915, 116.41024449916938, 39.91640428150164),  # coordtransform: wgs84togcj02
]


@pytest.mark.parametrize("lon, lat, glon, glat", REFERENCE)
def test_forward_matches_reference_within_1m(lon, lat, glon, glat):
    x, y = wgs84_to_gcj02(lon, lat)
    assert dist_m(float(x), float(y), glon, glat) < 1.0


def test_inner_mongolia_grid_offset_range_and_smoothness():
    """Across Inner Mongolia's bounding box (the transform itself is checked against published values
    above, not against a copy of its formula): offsets of tens to hundreds of metres (REFERENCES:
    58–648 m), varying smoothly (neighbours 0.01° apart shift by less than 10 m more or less)."""
    lons, lats = np.meshgrid(np.arange(97.5, 126.5, 1.0), np.arange(37.5, 53.5, 1.0))
    x, y = wgs84_to_gcj02(lons.ravel(), lats.ravel())
    offsets = [dist_m(float(lo), float(la), float(gx), float(gy)) for lo, la, gx, gy in zip(lons.ravel(), lats.ravel(), x, y)]
    assert 20 < min(offsets) and max(offsets) < 700
    x2, y2 = wgs84_to_gcj02(lons.ravel() + 0.01, lats.ravel())
    near = [dist_m(float(lo) + 0.01, float(la), float(gx), float(gy)) for lo, la, gx, gy in zip(lons.ravel(), lats.ravel(), x2, y2)]
    assert max(abs(a - b) for a, b in zip(offsets, near)) < 10.0


def test_hohhot_offset_about_600_m():
    x, y = wgs84_to_gcj02(111.75, 40.84)
    assert 550 < dist_m(111.75, 40.84, float(x), float(y)) < 650


@pytest.mark.parametrize("lon, lat", [(2.35, 48.85), (-74.0, 40.7), (139.7, 35.7), (100.0, 60.0), (100.0, 0.5)])
def test_no_shift_outside_china(lon, lat):
    assert out_of_china(lon, lat)
    x, y = wgs84_to_gcj02(lon, lat)
    assert (float(x), float(y)) == (lon, lat)


def test_inverse_round_trip_centimetres():
    lon = np.linspace(98, 126, 50)
    lat = np.linspace(38, 53, 50)
    gx, gy = wgs84_to_gcj02(lon, lat)
    wx, wy = gcj02_to_wgs84(gx, gy)
    assert max(dist_m(a, b, c, d) for a, b, c, d in zip(lon, lat, wx, wy)) < 0.01


def _page_data(html: str) -> dict:
    m = re.search(r'<script id="sinkplan-data" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))


def _first_coord(geom: dict) -> tuple[float, float]:
    c = geom["coordinates"]
    while isinstance(c[0], list):
        c = c[0]
    return float(c[0]), float(c[1])


@pytest.fixture(scope="module")
def carbon_dir(tmp_path_factory):
    from synthetic import carbon_folder

    return carbon_folder(tmp_path_factory.mktemp("gcj") / "carbon", size=100, n_zones=4)


def test_map_overlays_shifted_with_gaode_not_with_none(carbon_dir):
    from sinkplan.maps.build import build_map

    none = _page_data(build_map([carbon_dir], basemap="none"))
    gaode = _page_data(build_map([carbon_dir], basemap="gaode"))
    key = next(k for k in none["geometries"] if k.endswith(":zones"))
    # zone 1's first vertex is the region's corner (111.0 E, 41.5 N), see tests/synthetic.py
    assert _first_coord(none["geometries"][key][0]) == (111.0, 41.5)
    gx, gy = _first_coord(gaode["geometries"][key][0])
    ref = wgs84_to_gcj02(111.0, 41.5)  # the transform checked against published values above
    assert dist_m(gx, gy, float(ref[0]), float(ref[1])) < 1.0  # rounded to 1e-5° (≈ 1 m) at most
    assert dist_m(111.0, 41.5, gx, gy) > 100
    # raster overlays: bounds shifted the same way (west/north edge of the density raster)
    rn = next(lay for lay in none["layers"] if lay["type"] == "raster")
    rg = next(lay for lay in gaode["layers"] if lay["type"] == "raster" and lay["name"] == rn["name"])
    (s0, w0), (n0, e0) = rn["bounds"]
    assert (w0, n0) == pytest.approx((111.0, 41.5), abs=1e-9)
    (s1, w1), (n1, e1) = rg["bounds"]
    # the shifted raster's box bounds the shifted outline: west = min shifted lon along the west edge,
    # north = max shifted lat along the north edge (the offset varies along the edges)
    west_edge = [tuple(map(float, wgs84_to_gcj02(111.0, 41.5 - k / 20))) for k in range(21)]
    north_edge = [tuple(map(float, wgs84_to_gcj02(111.0 + k / 20, 41.5))) for k in range(21)]
    assert w1 == pytest.approx(min(p[0] for p in west_edge), abs=1e-5)
    assert n1 == pytest.approx(max(p[1] for p in north_edge), abs=1e-5)
    assert w1 - w0 > 1e-3

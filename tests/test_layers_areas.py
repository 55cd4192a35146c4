"""Pixel areas on the ellipsoid, checked against pyproj.Geod polygon areas."""

from __future__ import annotations

import math

import numpy as np
import pytest
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from pyproj import CRS, Geod, Transformer

from sinkplan.layers.areas import areal_scale, band_area_m2, ellipsoid_of
from sinkplan.layers.errors import InputError
from sinkplan.layers.grid import Grid

WGS84 = CRS.from_epsg(4326)
GEOD = Geod(ellps="WGS84")


def densified_ring(bounds, n=64):
    """Edges of a box with n points each, so geodesic edges follow the box's sides."""
    l, b, r, t = bounds
    xs = np.r_[np.linspace(l, r, n), np.full(n, r), np.linspace(r, l, n), np.full(n, l)]
    ys = np.r_[np.full(n, b), np.linspace(b, t, n), np.full(n, t), np.linspace(t, b, n)]
    return xs, ys


def geod_area_lonlat(bounds, n=64):
    xs, ys = densified_ring(bounds, n)
    return abs(GEOD.polygon_area_perimeter(xs, ys)[0])


def geod_area_projected(grid: Grid, n=64):
    tr = Transformer.from_crs(grid.crs, grid.crs.geodetic_crs, always_xy=True)
    lon, lat = tr.transform(*densified_ring(grid.bounds, n))
    return abs(GEOD.polygon_area_perimeter(lon, lat)[0])


def test_whole_earth_area():
    # WGS84 authalic surface: 510 065 621.7 km² (Moritz 2000, Geodetic Reference System 1980 table).
    a, e2 = ellipsoid_of(WGS84)
    total = 2 * float(band_area_m2(0, 90, 360, a=a, e2=e2))
    assert total == pytest.approx(510_065_621.7e6, rel=1e-9)


def test_sphere_band_is_spherical_formula():
    # On a sphere of radius R, the band between 0 and 30°N, 1° wide: R² · Δλ · (sin 30° − sin 0°).
    r = 6_371_000.0
    got = float(band_area_m2(0, 30, 1, a=r, e2=0.0))
    assert got == pytest.approx(r * r * math.radians(1) * 0.5, rel=1e-12)


@settings(max_examples=60, deadline=None)
@given(lat=st.floats(0, 59), size=st.sampled_from([0.00027, 0.001, 0.01, 0.1]))
def test_lonlat_pixel_matches_geod(lat, size):
    g = Grid(WGS84, Affine(size, 0, 110, 0, -size, lat + size), 1, 1)
    got = g.pixel_areas_m2()[0, 0]
    # A single pixel's 4-corner geodesic polygon is the reference (edges ~ parallels at this size).
    ref = abs(GEOD.polygon_area_perimeter([110, 110 + size, 110 + size, 110], [lat, lat, lat + size, lat + size])[0])
    assert got == pytest.approx(ref, rel=1e-4)


@pytest.mark.parametrize("lat", [0, 20, 37, 45, 50, 53, 60])
def test_lonlat_block_matches_geod(lat):
    # A 1° × 1° block of 0.01° pixels against the geodesic area of its densified outline.
    g = Grid(WGS84, Affine(0.01, 0, 110, 0, -0.01, lat + 1), 100, 100)
    assert g.total_area_m2() == pytest.approx(geod_area_lonlat(g.bounds), rel=1e-6)
    assert g.pixel_areas_m2().sum() == pytest.approx(g.total_area_m2(), rel=1e-12)


def test_latitude_effect_53_vs_37():
    # The brief's example: a degree pixel at 53°N covers ~25 % less ground than at 37°N.
    g53 = Grid(WGS84, Affine(1, 0, 110, 0, -1, 54), 1, 1).total_area_m2()
    g37 = Grid(WGS84, Affine(1, 0, 110, 0, -1, 38), 1, 1).total_area_m2()
    assert 1 - g53 / g37 == pytest.approx(0.25, abs=0.01)


def test_utm_170km_from_meridian():
    # UTM 49N, central meridian 111°E at x = 500 000; 170 km east: k ≈ 0.9996 (1 + x²/2R²),
    # areal scale k² < 1, so ground area = map area / k² is about 0.009 % larger than nominal.
    g = Grid(CRS.from_epsg(32649), Affine(30, 0, 670_000 - 1500, 0, -30, 4_600_000), 100, 100)
    nominal = 100 * 100 * 30 * 30
    ratio = g.total_area_m2() / nominal
    assert ratio == pytest.approx(1.0000887, abs=2e-6)
    assert g.total_area_m2() == pytest.approx(geod_area_projected(g), rel=1e-6)


@pytest.mark.parametrize("epsg", [4513, 4526, 4534, 4547, 4554])
def test_gauss_kruger_cgcs2000(epsg):
    crs = CRS.from_epsg(epsg)
    # A point 100 km east of the zone's central meridian at 42°N, in that zone's coordinates.
    cm = float(next(p.value for p in crs.coordinate_operation.params if "longitude" in p.name.lower()))
    lon = cm + 100_000 / (111_320 * math.cos(math.radians(42)))
    x, y = Transformer.from_crs(4490, crs, always_xy=True).transform(lon, 42.0)
    g = Grid(crs, Affine(30, 0, x, 0, -30, y), 200, 200)
    assert g.total_area_m2() == pytest.approx(geod_area_projected(g), rel=1e-6)


def test_albers_equal_area_is_nominal():
    alb = CRS.from_proj4("+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +datum=WGS84 +units=m")
    g = Grid(alb, Affine(30, 0, 500_000, 0, -30, 4_800_000), 300, 200)
    assert g.equal_area
    assert g.total_area_m2() == 300 * 200 * 900.0
    assert g.total_area_m2() == pytest.approx(geod_area_projected(g), rel=1e-7)


def test_web_mercator_uses_ground_not_sphere():
    # EPSG:3857 is a spherical formula on the WGS84 datum: Proj.get_factors describes the
    # sphere (0.05 % off at 46°N); the ground area must still match the geodesic one.
    g = Grid(CRS.from_epsg(3857), Affine(100, 0, 12e6, 0, -100, 6e6), 100, 100)
    assert g.total_area_m2() == pytest.approx(geod_area_projected(g), rel=1e-6)


def test_projected_areas_vary_across_block_smoothly():
    g = Grid(CRS.from_epsg(32649), Affine(30, 0, 300_000, 0, -30, 4_600_000), 300, 70)
    areas = g.pixel_areas_m2()
    assert areas.shape == (70, 300)
    # Interpolated lattice vs direct evaluation at every pixel centre.
    cols, rows = np.meshgrid(np.arange(300) + 0.5, np.arange(70) + 0.5)
    x, y = g.transform @ (cols.ravel(), rows.ravel())
    direct = 900.0 / areal_scale(g.crs, np.asarray(x), np.asarray(y)).reshape(70, 300)
    np.testing.assert_allclose(areas, direct, rtol=1e-8)


def test_rotated_lonlat_grid_is_refused():
    g = Grid(WGS84, Affine(0.01, 0.001, 110, 0.001, -0.01, 42), 3, 3)
    with pytest.raises(InputError, match="rotated or sheared lon/lat grids"):
        g.pixel_areas_m2()


def test_row_areas_only_for_lonlat():
    g = Grid(CRS.from_epsg(32649), Affine(30, 0, 0, 0, -30, 0), 2, 2)
    with pytest.raises(InputError, match="row_areas_m2 is for lon/lat grids"):
        g.row_areas_m2(g.full_window())


@pytest.mark.parametrize("lat", [0.0, 60.0])
def test_ease_grid_is_equal_area_at_every_latitude(lat):
    """EPSG:6933 (Lambert cylindrical equal area on WGS 84) is equal-area by its method at 0° and
    at 60° alike (a 1e-9 finite-difference test said yes at one and no at the other), so a 30 m
    pixel is 900 m² and 100 × 100 pixels are 9 000 000 m², as the geodesic polygon says."""
    crs = CRS.from_epsg(6933)
    x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(110.0, lat)
    g = Grid(crs, Affine(30, 0, x, 0, -30, y + 1500), 100, 100)
    assert g.equal_area
    assert g.total_area_m2() == 100 * 100 * 900.0  # exactly nominal: 10⁴ px × 900 m²
    assert g.total_area_m2() == pytest.approx(geod_area_projected(g), rel=1e-7)


@pytest.mark.parametrize("crs, expected", [
    ("EPSG:6933", True), ("EPSG:3035", True), ("EPSG:8857", True), ("ESRI:54008", True), ("ESRI:102025", True),
    ("EPSG:3410", True),  # spherical LCEA on a sphere datum
    ("ESRI:53009", True),  # Mollweide on a sphere
    ("EPSG:3857", False), ("EPSG:32649", False), ("EPSG:4326", False),
    ("ESRI:54009", False), ("ESRI:54012", False), ("ESRI:54052", False),  # spherical formulas on WGS 84
    ("EPSG:9311", False),  # spherical LAEA method on the Clarke 1866 ellipsoid
    ("+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +ellps=WGS84 +towgs84=0,0,0 +units=m", True),  # a bound CRS
])
def test_equal_area_from_the_projection_method(crs, expected):
    from sinkplan.layers.areas import is_equal_area

    c = CRS.from_user_input(crs)
    assert is_equal_area(c) is expected
    if c.is_projected:
        # independent check: the exact areal scale (inverse-projection Jacobian on the ellipsoid)
        # is 1 to 1e-8 where the method says equal-area, and off by more than 1e-4 somewhere where not
        x, y = Transformer.from_crs(c.geodetic_crs, c, always_xy=True).transform(
            [100.0, 110.0, 120.0, 10.0], [0.0, 40.0, 60.0, -30.0])
        dev = np.abs(areal_scale(c, np.asarray(x), np.asarray(y)) - 1.0).max()
        assert (dev < 1e-8) if expected else (dev > 1e-4)


def test_mollweide_on_wgs84_gets_ground_areas():
    """ESRI:54009 applies the spherical Mollweide to WGS 84 coordinates: its map area is not ground
    area (0.67 % off at the equator), so pixels get the exact areal scale and match the geodesic area."""
    crs = CRS.from_user_input("ESRI:54009")
    x, y = Transformer.from_crs(4326, crs, always_xy=True).transform(110.0, 42.0)
    g = Grid(crs, Affine(100, 0, x, 0, -100, y), 50, 50)
    assert not g.equal_area
    assert g.total_area_m2() != 50 * 50 * 10_000.0
    assert g.total_area_m2() == pytest.approx(geod_area_projected(g), rel=1e-6)

"""Ground geometry: Euclidean buffers in metres on lon/lat grids, slope in degrees."""

from __future__ import annotations

import math

import numpy as np
import pytest
import shapely
from affine import Affine
from pyproj import Geod
from rasterio.windows import Window

from sinkplan.layers.grid import Grid
from sinkplan.siting.blocks import vector_mask
from sinkplan.siting.geometry import CIRCUMSCRIBE, RowMetric, edt_strips, row_metric, slope_deg, within_distance
from sinkplan.siting.inputs import GeomLayer

RES = 0.001  # degrees


def lonlat_grid(lat: float, radius_m: float, *, extra: int = 8) -> Grid:
    """A lon/lat grid centred on (110.5, lat) just large enough for a circle of ``radius_m``."""
    w = int(2 * radius_m / (111_320 * math.cos(math.radians(lat + 1)) * RES)) + 2 * extra
    h = int(2 * radius_m / (110_574 * RES)) + 2 * extra
    return Grid("EPSG:4326", Affine(RES, 0, 110.5 - w * RES / 2, 0, -RES, lat + h * RES / 2), w, h)


@pytest.mark.parametrize("lat", [40.0, 50.0])
@pytest.mark.parametrize("radius_m", [2500.0, 6000.0])
def test_point_buffer_area_is_pi_r2_on_a_lonlat_grid(lat, radius_m):
    # r ≥ 10 px in both directions: 2500 m / 111 m ≈ 22 rows, 2500 m / 85 (40°) or 72 (50°) m ≈ 29–35 cols
    g = lonlat_grid(lat, radius_m)
    f = np.zeros(g.shape, bool)
    f[g.height // 2, g.width // 2] = True
    mask = within_distance(f, radius_m, row_metric(g, 0, g.height))
    area = float((g.pixel_areas_m2() * mask).sum())
    assert area == pytest.approx(math.pi * radius_m ** 2, rel=0.02)


@pytest.mark.parametrize("lat", [40.0, 50.0])
def test_buffer_is_the_same_across_block_edges(lat):
    g = lonlat_grid(lat, 3000.0)
    rng = np.random.default_rng(7)
    f = rng.random(g.shape) > 0.998
    whole_metric = row_metric(g, 0, g.height)
    halo = int(math.ceil(3000.0 / 110_000 / RES)) + 2
    strips = edt_strips(whole_metric, halo + 40)
    whole = within_distance(f, 3000.0, whole_metric, strips=strips)
    # cut into 4 × 3 tiles, each with a halo of ≥ radius / pixel side in every direction
    hx = int(math.ceil(3000.0 / whole_metric.dx_m.min())) + 1
    hy = int(math.ceil(3000.0 / np.min(whole_metric.dy_m))) + 1
    out = np.zeros(g.shape, bool)
    for r0 in range(0, g.height, g.height // 3 + 1):
        for c0 in range(0, g.width, g.width // 4 + 1):
            r1, c1 = min(g.height, r0 + g.height // 3 + 1), min(g.width, c0 + g.width // 4 + 1)
            R0, R1, C0, C1 = max(0, r0 - hy), min(g.height, r1 + hy), max(0, c0 - hx), min(g.width, c1 + hx)
            out[r0:r1, c0:c1] = within_distance(
                f[R0:R1, C0:C1], 3000.0, row_metric(g, R0, R1 - R0),
                core=(slice(r0 - R0, r1 - R0), slice(c0 - C0, c1 - C0)), strips=strips)
    assert (out == whole).all()


def test_buffer_distance_is_measured_on_the_ground():
    # 5 rows × 21 cols at 50° N: a column is 0.001° × 71.7 km/° ≈ 71.7 m wide.
    g = Grid("EPSG:4326", Affine(RES, 0, 110, 0, -RES, 50.0025), 21, 5)
    met = row_metric(g, 0, 5)
    geod = Geod(ellps="WGS84")
    dx = geod.inv(110.0, 50.0, 110.001, 50.0)[2]
    assert met.dx_m[2] == pytest.approx(dx, rel=1e-4)
    f = np.zeros((5, 21), bool)
    f[2, 10] = True
    m = within_distance(f, 3.5 * dx, met)
    assert m[2].sum() == 7  # 3 columns each side on the feature's row: 3 × 71.7 m < 251 m < 4 × 71.7 m


def test_within_distance_hand_case():
    f = np.zeros((5, 5), bool)
    f[2, 2] = True
    m = RowMetric(0, -np.arange(5) * 10.0, np.full(5, 10.0))
    # √2 × 10 = 14.1 m: the 3 × 3 square; 10 m: a plus sign; 0 m: the feature only
    assert within_distance(f, 14.2, m).sum() == 9
    assert within_distance(f, 10.0, m).sum() == 5
    assert within_distance(f, 0.0, m).sum() == 1
    assert within_distance(np.zeros((5, 5), bool), 50.0, m).sum() == 0


@pytest.mark.parametrize("lat", [40.0, 50.0])
def test_vector_point_buffer_area_and_blocks(lat):
    radius_m = 2500.0
    g = lonlat_grid(lat, radius_m)
    layer = GeomLayer("p", np.array([shapely.Point(110.5, lat)], dtype=object))
    whole = vector_mask(layer, radius_m, g, g.full_window())
    area = float((g.pixel_areas_m2() * whole).sum())
    assert area == pytest.approx(math.pi * radius_m ** 2, rel=0.02)
    # the same pixels when the window is cut at odd places
    cut = np.zeros(g.shape, bool)
    for r0, r1 in ((0, 17), (17, g.height)):
        for c0, c1 in ((0, 29), (29, g.width)):
            cut[r0:r1, c0:c1] = vector_mask(layer, radius_m, g, Window(c0, r0, c1 - c0, r1 - r0))
    assert (cut == whole).all()


def test_slope_of_a_plane_on_a_lonlat_grid():
    g = Grid("EPSG:4326", Affine(RES, 0, 110, 0, -RES, 50.05), 40, 60)
    met = row_metric(g, -1, 62)
    # z rises northwards by tan 5° per metre of northing → 5° everywhere
    z = np.tan(math.radians(5.0)) * met.y_m[:, None] + np.zeros((62, 42))
    assert np.allclose(slope_deg(z, met), 5.0, atol=1e-4)
    # z rises eastwards by tan 7° per metre along each row → 7°, although columns narrow northwards
    xs = np.arange(42)[None, :] * met.dx_m[:, None]
    assert np.allclose(slope_deg(np.tan(math.radians(7.0)) * xs, met), 7.0, atol=1e-3)


def test_slope_on_a_projected_grid_and_nan():
    g = Grid("EPSG:32649", Affine(30, 0, 500_000, 0, -30, 4_650_000), 20, 20)  # UTM 49N near its meridian
    met = row_metric(g, -1, 22)
    z = np.tan(math.radians(3.0)) * met.y_m[:, None] + np.zeros((22, 22))
    s = slope_deg(z, met)
    assert np.allclose(s, 3.0, atol=2e-3)  # scale factor 0.9996 changes tan by 0.04 %
    z[5, 5] = np.nan
    s = slope_deg(z, met)
    assert np.isnan(s[3, 3]) and np.isnan(s[5, 4]) and np.isfinite(s[10, 10])
    assert np.isfinite(s[4, 4])  # Horn does not use the centre pixel


def test_slope_hand_case():
    # Horn: rises 10 m per 10 m row northwards → 45°
    z = np.add.outer(np.arange(5.0)[::-1] * 10.0, np.zeros(5))
    m = RowMetric(0, -np.arange(5) * 10.0, np.full(5, 10.0))
    assert slope_deg(z, m)[1, 1] == pytest.approx(45.0)


def _true_distance_m(grid: Grid, geom_lonlat, lon0: float, lat0: float) -> np.ndarray:
    """Ground distance (m) of every pixel centre to a geometry, in an azimuthal equidistant
    projection centred on the geometry (independent of the code under test)."""
    from pyproj import CRS, Transformer

    aeqd = CRS.from_proj4(f"+proj=aeqd +lat_0={lat0} +lon_0={lon0} +ellps=WGS84 +units=m")
    cols, rows = np.meshgrid(np.arange(grid.width) + 0.5, np.arange(grid.height) + 0.5)
    x, y = grid.transform @ (cols, rows)
    to_m = Transformer.from_crs(grid.crs, aeqd, always_xy=True)
    px, py = to_m.transform(x, y)
    g = shapely.transform(geom_lonlat, lambda xy: np.column_stack(
        Transformer.from_crs("EPSG:4326", aeqd, always_xy=True).transform(xy[:, 0], xy[:, 1])))
    return shapely.distance(g, shapely.points(px, py))


@pytest.mark.parametrize("crs", ["EPSG:4326", "EPSG:32649"])
@pytest.mark.parametrize("shape", ["point", "line", "polygon"])
def test_vector_buffer_covers_every_pixel_centre_within_r(crs, shape):
    # A 1 km buffer on ~10 m pixels: hundreds of pixel centres fall in the last 1.2 m short of
    # r where a 16-segment chord polygon (r·(1 − cos(π/64)) = 1.2 m) used to miss them.
    r, lon0, lat0 = 1000.0, 111.0, 42.0
    geom = {"point": shapely.Point(lon0, lat0),
            "line": shapely.LineString([(lon0 - 0.004, lat0 - 0.003), (lon0 + 0.003, lat0 + 0.002)]),
            "polygon": shapely.Polygon([(lon0 - 0.004, lat0 - 0.002), (lon0 + 0.004, lat0 - 0.003),
                                        (lon0, lat0 + 0.003)])}[shape]
    if crs == "EPSG:4326":
        res = (0.00012, 0.0001)  # ~9.9 m × 11.1 m at 42°
        grid = Grid(crs, Affine(res[0], 0, lon0 - 0.02, 0, -res[1], lat0 + 0.016), 334, 320)
        layer_geom = geom
    else:
        from pyproj import Transformer

        x0, y0 = Transformer.from_crs("EPSG:4326", crs, always_xy=True).transform(lon0, lat0)
        grid = Grid(crs, Affine(10.0, 0, round(x0) - 1700.0, 0, -10.0, round(y0) + 1700.0), 340, 340)
        tr = Transformer.from_crs("EPSG:4326", crs, always_xy=True)
        layer_geom = shapely.transform(geom, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    d = _true_distance_m(grid, geom, lon0, lat0)
    mask = vector_mask(GeomLayer("f", np.array([layer_geom], dtype=object)), r, grid, grid.full_window())
    eps = 0.05  # metres: the local projections are true to ~1e-5 of r
    band = (d > r - 1.2) & (d <= r - eps)
    assert band.sum() > 50  # the test does probe the chord gap
    assert mask[d <= r - eps].all(), f"{int((~mask[d <= r - eps]).sum())} pixel centres within r not covered"
    assert not mask[d > r * CIRCUMSCRIBE + eps].any()  # and nothing beyond the circumscribed polygon
    if shape == "point":
        area = float((grid.pixel_areas_m2() * mask).sum())
        assert area == pytest.approx(math.pi * r ** 2, rel=0.02)

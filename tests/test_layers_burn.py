"""The compiled polygon burner gives GDAL's pixels (rasterio.features.rasterize, all_touched=False)
for valid polygons, and the zone rasterizer uses GDAL for layers it cannot match."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio.features
import shapely
from affine import Affine
from hypothesis import given, settings
from hypothesis import strategies as st
from rasterio.windows import Window

from sinkplan.layers.burn import _burn, burn_polygons
from sinkplan.layers.zones import BlockZones


def _gdal(geoms, values, h, w, c, r):
    out = np.zeros((h, w), np.int32)
    rasterio.features.rasterize(zip(geoms, [int(v) for v in values]), out=out, all_touched=False,
                                transform=Affine(1.0, 0.0, float(c), 0.0, -1.0, -float(r)))
    return out


def _valid_polygons(seed: int):
    """Up to three valid (multi)polygons around a window: unions of boxes with a box cut out
    (shells and holes on pixel edges and centres, drawn either way), convex hulls of lattice
    points, and the polygon parts of make_valid of lattice polygons."""
    rng = np.random.default_rng(seed)
    h, w = (int(v) for v in rng.integers(1, 30, 2))
    c, r = (int(v) for v in rng.integers(-5, 50, 2))
    q = int(rng.choice([1, 2, 4, 8]))

    def pts(n):
        return np.column_stack([c - 3 + rng.integers(0, (w + 6) * q, n) / q, -(r - 3 + rng.integers(0, (h + 6) * q, n) / q)])

    geoms = []
    for k in range(int(rng.integers(1, 4))):
        kind = (seed + k) % 3
        if kind == 0:
            boxes = [shapely.box(min(p[:, 0]), min(p[:, 1]), max(p[:, 0]), max(p[:, 1])) for p in (pts(2) for _ in range(3))]
            g = shapely.union_all(boxes)
            p = pts(2)
            g = g.difference(shapely.box(min(p[:, 0]), min(p[:, 1]), max(p[:, 0]), max(p[:, 1])))
        elif kind == 1:
            g = shapely.convex_hull(shapely.MultiPoint(pts(int(rng.integers(3, 10)))))
        else:
            g = shapely.make_valid(shapely.Polygon(pts(int(rng.integers(3, 10)))))
            parts = [p for p in shapely.get_parts(g) if p.geom_type == "Polygon"]
            g = shapely.MultiPolygon(parts) if len(parts) > 1 else (parts[0] if parts else None)
        if g is None or g.is_empty or g.geom_type not in ("Polygon", "MultiPolygon") or not g.is_valid:
            continue
        if rng.random() < 0.5:
            g = shapely.reverse(g)  # every ring drawn the other way: the same pixels
        geoms.append(g)
    return geoms, rng.integers(1, 250, max(1, len(geoms))), h, w, c, r


@settings(max_examples=400, deadline=None)
@given(st.integers(0, 2**32 - 1))
def test_compiled_burner_equals_gdal_pixel_for_pixel(seed):
    geoms, values, h, w, c, r = _valid_polygons(seed)
    if not geoms:
        return
    got = np.zeros((h, w), np.int32)
    burn_polygons(np.array(geoms, dtype=object), values[: len(geoms)], got, c, r)
    np.testing.assert_array_equal(got, _gdal(geoms, values[: len(geoms)], h, w, c, r))


def test_by_hand_centres_edges_and_overlapping_parts():
    # pixel frame (x = column, y = -row): a box from x 1 to 3 and rows 0.5 to 2.5 covers the
    # centres (1.5, 2.5) x (0.5, 1.5, 2.5): rows 0-2 of columns 1-2 (the shell's bottom edge
    # lies on row 2's centres and counts; GDAL's rule), 6 px
    out = np.zeros((4, 5), np.uint8)
    burn_polygons(np.array([shapely.box(1, -2.5, 3, -0.5)]), np.array([3]), out, 0, 0)
    assert out.tolist() == [[0, 3, 3, 0, 0], [0, 3, 3, 0, 0], [0, 3, 3, 0, 0], [0, 0, 0, 0, 0]]
    np.testing.assert_array_equal(out, _gdal([shapely.box(1, -2.5, 3, -0.5)], [3], 4, 5, 0, 0))
    # the parts of a multipolygon are burned one by one: where they overlap the pixels stay in
    # (not even-odd); a later geometry overwrites an earlier one
    mp = shapely.MultiPolygon([shapely.box(0, -2, 3, 0), shapely.box(2, -4, 5, -1)])
    out = np.zeros((4, 5), np.uint8)
    burn_polygons(np.array([mp, shapely.box(4, -1, 5, 0)]), np.array([1, 9]), out, 0, 0)
    assert out.tolist() == [[1, 1, 1, 0, 9], [1, 1, 1, 1, 1], [0, 0, 1, 1, 1], [0, 0, 1, 1, 1]]
    np.testing.assert_array_equal(out, _gdal([mp, shapely.box(4, -1, 5, 0)], [1, 9], 4, 5, 0, 0))
    assert _burn.targetoptions["nogil"]  # the pass's threads burn at once


def test_zones_with_an_invalid_polygon_are_burned_by_gdal():
    # a bow tie (self-intersecting): orientation is ambiguous, so GDAL burns the layer
    bow = shapely.Polygon([(0, 0), (4, -4), (4, 0), (0, -4)])
    good = shapely.box(4, -4, 8, 0)
    for geoms, compiled in (([good], True), ([bow, good], False)):
        bz = BlockZones(np.array(geoms, dtype=object), np.arange(1, len(geoms) + 1, dtype=np.int32))
        got = bz.rasterize(Window(0, 0, 8, 4), "uint8")
        assert bz._compiled is compiled
        np.testing.assert_array_equal(got, _gdal(geoms, range(1, len(geoms) + 1), 4, 8, 0, 0))


def test_far_vertices_do_not_overflow():
    # a box reaching 1e15 px beyond the block on every side covers all 12 pixels; a triangle
    # with one vertex 1e15 px away burns the pixels whose centres it contains (GDAL's own
    # integer cast overflows there and burns one pixel: not compared)
    out = np.zeros((3, 4), np.uint8)
    burn_polygons(np.array([shapely.box(-1e15, -1e15, 1e15, 1e15)]), np.array([5]), out, 0, 0)
    assert (out == 5).all()
    tri = shapely.Polygon([(0.2, -0.2), (3.7, -2.9), (1e15, -1.5)])
    got = np.zeros((3, 4), np.uint8)
    burn_polygons(np.array([tri]), np.array([1]), got, 0, 0)
    cols, rows = np.meshgrid(np.arange(4) + 0.5, np.arange(3) + 0.5)
    np.testing.assert_array_equal(got, shapely.contains_xy(tri, cols, -rows).astype(np.uint8))
    assert got.sum() == 6  # centres right of the edge from (0.2, 0.2) to (3.7, 2.9), by hand: 3 + 2 + 1


def test_zone_rasterizer_windows_equal_gdal_and_pickle():
    # ZoneRasterizer.rasterize (site's admin zones and masks) burns with the compiled loop: the
    # same ids as GDAL for windows inside, across and beyond the grid, and it still pickles
    # (a site spec goes to Dask workers)
    import pickle

    import geopandas as gpd
    from pyproj import CRS

    from sinkplan.layers.grid import Grid
    from sinkplan.layers.zones import ZoneRasterizer

    grid = Grid(CRS.from_epsg(4326), Affine(0.01, 0, 110, 0, -0.01, 42), 60, 40)
    shell = shapely.Polygon([(110.05, 41.95), (110.37, 41.9), (110.3, 41.62), (110.02, 41.7)])
    zones = gpd.GeoDataFrame({"name": ["甲", "乙", "丙"]}, crs="EPSG:4326", geometry=[
        shell.difference(shapely.box(110.1, 41.75, 110.2, 41.85)), shapely.box(110.3, 41.65, 110.55, 41.95),
        shapely.MultiPolygon([shapely.box(110.0, 41.6, 110.1, 41.65), shapely.box(110.4, 41.61, 110.6, 41.64)])])
    zr = ZoneRasterizer(zones, grid, field="name", overlap="ignore")
    for win in (Window(0, 0, 60, 40), Window(7, 3, 21, 30), Window(-5, -4, 30, 20), Window(50, 30, 25, 25)):
        got = zr.rasterize(win)
        assert zr._compiled is True
        c, r = int(win.col_off), int(win.row_off)
        idx = zr._candidates(win)
        want = _gdal(zr._pix[idx], zr._ids[idx], int(win.height), int(win.width), c, r) if idx.size else 0 * got
        np.testing.assert_array_equal(got, want)
    back = pickle.loads(pickle.dumps(zr))
    np.testing.assert_array_equal(back.rasterize(Window(0, 0, 60, 40)), zr.rasterize(Window(0, 0, 60, 40)))

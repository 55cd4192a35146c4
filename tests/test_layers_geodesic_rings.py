"""Polygon areas on the ellipsoid whatever direction a file draws its rings in.

pyproj's ``geometry_area_perimeter`` adds the signed areas of a polygon's rings and of a
multipolygon's parts. Before the fix a hole drawn in the same direction as its shell (as
shapely's ``box`` draws both, and as many GeoPackage and GeoJSON writers leave them) was added:
a 36 ha zone with a 9 ha hole measured 45 ha, so carbon warned that the raster mapped only 60 %
of it and coverage divided by 45 ha of "land"; and two parts drawn in opposite directions
cancelled.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
from affine import Affine
from shapely.geometry import MultiPolygon, Polygon, box
from shapely.geometry.polygon import orient

from sinkplan.layers.geodesy import geodesic_area_m2
from sinkplan.sinks.coverage_api import forest_coverage

from sinks_util import write_tif

ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +ellps=WGS84 +units=m"  # equal-area: map m² = ground m²
X0, Y0 = 500000, 4497000
SHELL = box(X0, Y0, X0 + 600, Y0 + 600)  # 36 ha, counter-clockwise
HOLE = box(X0 + 150, Y0 + 150, X0 + 450, Y0 + 450)  # 9 ha, counter-clockwise too


def test_hole_is_subtracted_and_parts_added_in_any_orientation():
    same_dir = Polygon(SHELL.exterior.coords, [HOLE.exterior.coords])  # both rings counter-clockwise
    other = box(X0 + 1500, Y0, X0 + 2100, Y0 + 600)
    mixed = MultiPolygon([orient(SHELL, 1.0), orient(other, -1.0)])  # one part each way
    got = geodesic_area_m2([same_dir, orient(same_dir, -1.0), mixed], ALBERS) / 1e4
    # 36 − 9 = 27 ha either way round; 36 + 36 = 72 ha (equal-area CRS: to 1e-9)
    assert got == pytest.approx([27.0, 27.0, 72.0], rel=1e-9)


def test_coverage_land_area_of_a_zone_with_a_hole(tmp_path):
    # 20 × 20 px of 30 m forest over the shell; the zone is the shell minus its hole: 27 ha of land,
    # of which the 300 px of forest outside the hole (400 − 100 px) = 27 ha are forest: coverage 1
    lc = write_tif(tmp_path / "lc.tif", np.full((20, 20), 2, np.uint8), crs=ALBERS,
                   transform=Affine(30, 0, X0, 0, -30, Y0 + 600))
    zones = tmp_path / "z.gpkg"
    gpd.GeoDataFrame({"n": ["holey"]}, geometry=[Polygon(SHELL.exterior.coords, [HOLE.exterior.coords])],
                     crs=ALBERS).to_file(zones)
    r = forest_coverage({2020: lc}, zones=zones, zone_field="n", trees_only=True)
    row = r.by_zone[r.by_zone["zone"] == "holey"].iloc[0]
    assert row["land_area_ha"] == pytest.approx(27.0, rel=1e-9)
    assert row["forest_area_ha"] == pytest.approx(27.0, rel=1e-12)
    assert row["coverage"] == pytest.approx(1.0, rel=1e-9)
    # the polygon's own area (27 ha), not the mapped-land fallback a 45 ha "polygon" mapped at 60 % fell to
    assert row["land_area_source"] == "zone polygon (geodesic)"

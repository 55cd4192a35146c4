"""Geodesic areas and lengths of vector geometries on the CRS's ellipsoid."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry
from pyproj import CRS, Geod, Transformer

from sinkplan.layers.areas import ellipsoid_of

__all__ = ["geod_for", "geodesic_area_m2"]


def geod_for(crs: CRS) -> Geod:
    """A :class:`pyproj.Geod` on the ellipsoid of ``crs``."""
    a, e2 = ellipsoid_of(crs)
    return Geod(a=a, es=e2)


def geodesic_area_m2(geoms: Sequence[BaseGeometry | None] | np.ndarray, crs: CRS | str) -> np.ndarray:
    """Ellipsoidal area (m²) of each geometry (0 for points and lines).

    Geometries in a projected CRS are transformed to the CRS's geodetic lon/lat first
    (edges are densified to 1/100 of the layer's extent so long straight map edges
    follow the projection). Rings are oriented first, so holes are subtracted and the parts
    of a multipolygon added whatever direction the file draws them in.
    """
    crs = CRS.from_user_input(crs)
    geoms = np.asarray(geoms, dtype=object)
    if not crs.is_geographic:
        tr = Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)
        bounds = shapely.total_bounds(geoms)
        step = max(bounds[2] - bounds[0], bounds[3] - bounds[1]) / 100.0 or 1.0
        geoms = shapely.segmentize(geoms, step)
        geoms = shapely.transform(geoms, lambda xy: np.column_stack(tr.transform(xy[:, 0], xy[:, 1])))
    # pyproj adds the signed areas of a polygon's rings and of a multipolygon's parts, so a hole
    # drawn in the same direction as its shell was added, not subtracted, and two parts drawn
    # in opposite directions cancelled: orient every ring first (shells counter-clockwise,
    # holes clockwise), as files come in any orientation (GeoJSON, GeoPackage, shapefiles).
    geoms = shapely.orient_polygons(geoms, exterior_cw=False)
    geod = geod_for(crs.geodetic_crs if not crs.is_geographic else crs)
    out = np.zeros(len(geoms))
    for i, g in enumerate(geoms):
        if g is None or g.is_empty or g.geom_type not in ("Polygon", "MultiPolygon", "GeometryCollection"):
            continue
        out[i] = abs(geod.geometry_area_perimeter(g)[0])
    return out

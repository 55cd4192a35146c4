"""Restoration effect: each project's carbon change against a ring of surrounding land.

The control ring of a project is the land within ``ring_m`` metres on the ground of its
boundary, minus every project polygon (no project is another's control). Buffers are
built in an azimuthal equidistant CRS centred on the project (distances from the centre
are exact, and over a few kilometres the buffer is true to well under a metre), then
transformed back.

Rings of neighbouring projects may overlap and projects may overlap each other, so the
polygons are split into disjoint *pieces*, each with the set of projects and rings it
belongs to; the pass counts pieces (each pixel once) and a project's or ring's figures
are sums over its pieces.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

from layers.errors import InputError

__all__ = ["control_rings", "Pieces", "disjoint_pieces"]


def _aeqd(lon: float, lat: float) -> CRS:
    return CRS.from_proj4(f"+proj=aeqd +lat_0={lat} +lon_0={lon} +datum=WGS84 +units=m +no_defs")


def control_rings(projects: gpd.GeoDataFrame, ring_m: float) -> gpd.GeoSeries:
    """Ring of ``ring_m`` metres around each project, minus all projects, in the layer's CRS.

    Parameters
    ----------
    projects : GeoDataFrame
        One row per project (dissolved), any CRS with a datum.
    ring_m : float
        Ring width in metres on the ground (> 0).
    """
    if not ring_m > 0:
        raise InputError(f"--control-ring-km must be > 0, got {ring_m / 1000}")
    crs = projects.crs
    ll = projects.to_crs(crs.geodetic_crs if not crs.is_geographic else crs)
    # The difference is taken in the layer's own CRS with its own coordinates, so ring
    # edges along a project coincide exactly with the project's edges (no slivers).
    others = shapely.union_all(np.asarray(projects.geometry.values, dtype=object))
    rings = []
    for geom, geom_ll in zip(projects.geometry, ll.geometry):
        c = geom_ll.centroid
        local = _aeqd(c.x, c.y)
        fwd = Transformer.from_crs(crs, local, always_xy=True)
        inv = Transformer.from_crs(local, crs, always_xy=True)
        disc = _tr(_tr(geom, fwd).buffer(ring_m, quad_segs=32), inv)
        rings.append(disc.difference(others))
    return gpd.GeoSeries(rings, crs=crs, index=projects.index)


def _tr(g, t: Transformer):
    return shapely.transform(g, lambda xy: np.column_stack(t.transform(xy[:, 0], xy[:, 1])))


@dataclass(frozen=True)
class Pieces:
    """Disjoint pieces of a set of (possibly overlapping) polygons.

    ``gdf`` has one row per piece (``piece`` = "1".."k"); ``member[k]`` is a boolean
    vector over the input polygons telling which contain piece k.
    """

    gdf: gpd.GeoDataFrame
    member: np.ndarray  # (pieces, inputs) bool


def disjoint_pieces(geoms: gpd.GeoSeries) -> Pieces:
    """Split overlapping polygons into disjoint pieces with their memberships."""
    arr = np.asarray(geoms.values, dtype=object)
    lines = shapely.union_all([shapely.boundary(g) for g in arr if g is not None and not g.is_empty])
    polys = shapely.get_parts(shapely.polygonize([lines]))
    pts = shapely.point_on_surface(polys)
    member = np.array([[bool(shapely.contains(g, p)) for g in arr] for p in pts], dtype=bool).reshape(len(polys), len(arr))
    keep = member.any(axis=1)
    polys, member = polys[keep], member[keep]
    gdf = gpd.GeoDataFrame({"piece": [str(i + 1) for i in range(len(polys))]}, geometry=list(polys), crs=geoms.crs)
    return Pieces(gdf, member)

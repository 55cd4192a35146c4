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

import os
from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import shapely
from pyproj import CRS, Transformer

from sinkplan.layers.errors import InputError
from sinkplan.layers.grid import Grid

__all__ = ["control_rings", "Pieces", "disjoint_pieces", "RestorationZones", "restoration_zones"]


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
        raise InputError(f"control_ring_km must be > 0, got {ring_m / 1000}", params=("control_ring_km",))
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


@dataclass(frozen=True)
class RestorationZones:
    """Restoration projects with their control rings, split into disjoint pieces to rasterize.

    ``projects`` has one row per project (``project``, the project's own attributes from the
    layer such as status or start year, geometry, in the grid's CRS); zone id
    ``k + 1`` of ``rasterizer`` is piece ``k`` of ``pieces`` (projects first, then rings in
    ``pieces.member``'s columns).
    """

    projects: gpd.GeoDataFrame
    pieces: Pieces
    rasterizer: object  # layers.zones.ZoneRasterizer of the pieces
    ring_m: float


def restoration_zones(path: str | os.PathLike, grid: Grid, *, ring_km: float, field: str | None = None,
                      layer: str | None = None) -> RestorationZones:
    """Read project polygons, dissolve them by ``field``, add control rings of ``ring_km`` km and split.

    Parameters
    ----------
    path : path
        Project polygons.
    grid : Grid
        The land-cover grid (the polygons are reprojected to it).
    ring_km : float
        Ring width on the ground, km (> 0).
    field : str, optional
        Field naming the projects (default: features numbered 1, 2, ...).
    layer : str, optional
        Layer of a multi-layer file.

    Raises
    ------
    InputError
        ``ring_km`` ≤ 0, or an unusable layer (from :func:`sinkplan.layers.vectors.read_vector`).
    """
    from sinkplan.layers.vectors import read_vector
    from sinkplan.layers.zones import ZoneRasterizer, check_shared_names

    vl = read_vector(path, layer=layer, field=field, to_crs=grid.crs, layer_param="zone_layer", what="zones")
    gdf = vl.gdf
    if field is not None:  # two projects named alike are refused, as zones are (layers.zones.check_shared_names)
        check_shared_names(gdf, field, [str(v) for v in gdf[field]], f"zone layer {path}")
    key = field
    if key is None:
        gdf = gdf.assign(_project=[str(i) for i in range(1, len(gdf) + 1)])
        key = "_project"
    # Each project keeps its own attributes (status, start year, type …): the first feature's
    # value where a project is made of several features.
    projects = gdf.dissolve(by=key, sort=False, as_index=False, aggfunc="first").rename(columns={key: "project"})
    attrs = [c for c in projects.columns if c not in ("project", projects.geometry.name)]
    projects = projects[["project", *attrs, projects.geometry.name]]
    projects["project"] = projects["project"].astype(str)
    rings = control_rings(projects, ring_km * 1000.0)  # km → m
    shapes = gpd.GeoSeries(list(projects.geometry) + list(rings), crs=projects.crs)
    pieces = disjoint_pieces(shapes)
    zr = ZoneRasterizer(pieces.gdf, grid, field="piece")
    if zr.names != tuple(pieces.gdf.piece):
        raise RuntimeError("piece order changed in rasterization")
    return RestorationZones(projects, pieces, zr, ring_km * 1000.0)

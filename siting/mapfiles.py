"""Layers a siting map draws beside the screen's own outputs: border belt, lines, substations.

``maps/`` reads result folders only, never raw inputs, so ``sinkplan site`` writes these
next to ``parcels.gpkg`` (file names and fields as :mod:`sinkplan.maps.siting_layers` reads them):

- :func:`border_belt`: the border zone as the screen uses it, a buffer of the border line
  by ``zones.border.width_m`` ground metres, clipped to the grid extent. Like
  :func:`sinkplan.siting.blocks.vector_mask` it buffers in azimuthal equidistant projections centred
  on grid-anchored tiles, so the polygon is the screened belt (true metres to ~1e-4) and not
  a buffer in degrees.
- :func:`split_grid_features`: the ``--grid-lines`` layers split into transmission lines
  and substations (points; a polygon becomes a point inside it), attributes kept, plus the
  source file's name.

Pure functions of geometries and GeoDataFrames; the CLI writes the files.
"""

from __future__ import annotations

import logging

import numpy as np
import shapely
from pyproj import CRS, Transformer
from rasterio.windows import Window

from sinkplan.layers.grid import Grid
from sinkplan.siting.blocks import BUFFER_TILE
from sinkplan.siting.geometry import buffer_geometries, metres_to_crs_units, row_metric

__all__ = ["BELT_TILE_M", "LONLAT", "belt_frame", "border_belt", "split_grid_features", "supply_curve_figure"]

logger = logging.getLogger(__name__)

#: CRS of every map layer (what :func:`sinkplan.maps.builder.read_vector_lonlat` returns).
LONLAT = "EPSG:4326"
#: Largest ground side of one buffering tile: within ~100 km of the projection centre the
#: azimuthal equidistant distances are true to ~3e-5.
BELT_TILE_M = 100_000.0


def _tile_px(grid: Grid) -> int:
    """Tile side in pixels: a multiple of :data:`BUFFER_TILE` no wider than :data:`BELT_TILE_M`."""
    met = row_metric(grid, grid.height // 2 if grid.height > 1 else 0, 2)
    px_m = float(max(met.dx_m[0], abs(met.y_m[0] - met.y_m[1]) if grid.height > 1 else met.dx_m[0]))
    return BUFFER_TILE * max(1, int(BELT_TILE_M // (BUFFER_TILE * px_m)))


def border_belt(geoms: np.ndarray, width_m: float, grid: Grid) -> shapely.Geometry:
    """The border belt: points within ``width_m`` ground metres of the border, in the grid CRS.

    Parameters
    ----------
    geoms : ndarray of shapely geometries
        The border (lines, any geometry) in the grid's CRS.
    width_m : float
        Belt width in metres (``zones.border.width_m``), > 0.
    grid : Grid
        The working grid: the belt is clipped to its extent.

    Returns
    -------
    shapely.Geometry
        A (multi)polygon in the grid CRS, empty if the border is farther than ``width_m``
        from the grid.

    Examples
    --------
    >>> from affine import Affine
    >>> from shapely.geometry import LineString
    >>> g = Grid(CRS.from_epsg(4326), Affine(0.01, 0, 110, 0, -0.01, 43), 100, 100)
    >>> belt = border_belt(np.array([LineString([(109, 42.5), (112, 42.5)])]), 10_000, g)
    >>> [round(v, 2) for v in belt.bounds]  # 10 km ≈ 0.09° of latitude each side, clipped in lon
    [110.0, 42.41, 111.0, 42.59]
    """
    geoms = np.asarray(geoms, dtype=object)
    geoms = geoms[~shapely.is_empty(geoms) & ~shapely.is_missing(geoms)] if geoms.size else geoms
    if geoms.size == 0 or not width_m > 0:
        return shapely.Polygon()
    tree = shapely.STRtree(geoms)
    T = _tile_px(grid)
    px_x, px_y = grid.res
    tr = Transformer.from_crs(grid.crs, grid.crs.geodetic_crs, always_xy=True)
    pieces = []
    for r0 in range(0, grid.height, T):
        for c0 in range(0, grid.width, T):
            r1, c1 = min(grid.height, r0 + T), min(grid.width, c0 + T)
            l, b, r, t = grid.window_bounds(Window(c0, r0, c1 - c0, r1 - r0))
            mx, my = metres_to_crs_units(grid, width_m, (l, b, r, t))
            near = tree.query(shapely.box(l - mx, b - my, r + mx, t + my))
            if near.size == 0:
                continue
            cx, cy = grid.transform @ ((c0 + c1) / 2, (r0 + r1) / 2)
            lon, lat = tr.transform(cx, cy)
            met = row_metric(grid, (r0 + r1) // 2 if grid.height > 1 else 0, 2)
            px_m = float(min(met.dx_m[0], abs(met.y_m[0] - met.y_m[1]) if grid.height > 1 else met.dx_m[0]))
            # vertices every ~1/50 of the width (≥ 4 pixels): a smooth outline, few coordinates
            step_m = max(4 * px_m, width_m / 50)
            src = shapely.clip_by_rect(geoms[np.sort(near)], l - mx, b - my, r + mx, t + my)
            src = src[~shapely.is_empty(src)]
            if src.size == 0:
                continue
            buf = buffer_geometries(src, width_m, grid.crs, (lon, lat), step_m=step_m,
                                    step_crs=step_m / px_m * min(px_x, px_y))
            got = shapely.clip_by_rect(shapely.union_all(buf), l, b, r, t)
            if not got.is_empty:
                pieces.append(got)
    if not pieces:
        return shapely.Polygon()
    belt = shapely.union_all(pieces)
    polys = [g for g in shapely.get_parts(belt) if g.geom_type == "Polygon" and g.area > 0]
    return shapely.MultiPolygon(polys) if len(polys) > 1 else (polys[0] if polys else shapely.Polygon())


def belt_frame(belt: shapely.Geometry, grid: Grid, *, width_m: float):
    """The belt as a one-row GeoDataFrame in EPSG:4326 (edges densified before reprojecting).

    Fields: ``width_m``, ``width_km``, ``area_ha`` (ellipsoidal). No text field, so the
    map's tooltip is its own (translated) layer name.
    """
    import geopandas as gpd

    from sinkplan.layers.geodesy import geodesic_area_m2

    geom = belt
    if not grid.crs.equals(CRS.from_user_input(LONLAT)) and not belt.is_empty:
        geom = shapely.segmentize(belt, 4 * min(grid.res))  # straight edges in the grid CRS stay on course
    gdf = gpd.GeoDataFrame({"width_m": [float(width_m)], "width_km": [float(width_m) / 1000.0]},
                           geometry=[geom], crs=grid.crs).to_crs(LONLAT)
    area = float(geodesic_area_m2(gdf.geometry.values, gdf.crs)[0]) if not belt.is_empty else 0.0
    gdf.insert(2, "area_ha", area / 1e4)  # m² → ha
    return gdf


_LINES = ("LineString", "MultiLineString", "LinearRing")
_POINTS = ("Point", "MultiPoint")


def split_grid_features(layers):
    """Transmission lines and substations of the ``--grid-lines`` layers, in EPSG:4326.

    Parameters
    ----------
    layers : iterable of (str, GeoDataFrame)
        Source file name and its features (any CRS).

    Returns
    -------
    lines, substations : GeoDataFrame
        Lines (LineString / MultiLineString) and points (substations; a polygon, e.g. a
        substation's fence, becomes its representative point), each with the source's
        attribute columns and ``source_file`` (the file's name; it replaces a column of that
        name). Geometry collections are split into parts.
    """
    import geopandas as gpd
    import pandas as pd

    lines, points = [], []
    n_poly = 0
    for name, gdf in layers:
        g = gdf.to_crs(LONLAT) if gdf.crs is not None else gdf.set_crs(LONLAT)
        g = g[~(g.geometry.isna() | g.geometry.is_empty)]
        if (g.geom_type == "GeometryCollection").any():
            g = g.explode(index_parts=False)
        g = g.assign(source_file=name)
        kind = g.geom_type
        lines.append(g[kind.isin(_LINES)])
        poly = g[kind.isin(("Polygon", "MultiPolygon"))]
        n_poly += len(poly)
        points.append(g[kind.isin(_POINTS)])
        if len(poly):
            points.append(poly.set_geometry(poly.geometry.representative_point()))
    if n_poly:
        logger.info("%d polygon grid features drawn as substations at a point inside each", n_poly)

    def frame(parts):
        parts = [p for p in parts if len(p)]
        if not parts:
            return gpd.GeoDataFrame({"source_file": pd.Series(dtype=str)}, geometry=gpd.GeoSeries([], crs=LONLAT), crs=LONLAT)
        out = pd.concat(parts, ignore_index=True)
        geom = out.geometry.name
        cols = [c for c in out.columns if c not in (geom, "source_file")] + ["source_file", geom]
        return gpd.GeoDataFrame(out[cols], geometry=geom, crs=LONLAT)

    return frame(lines), frame(points)


def supply_curve_figure(df, path) -> None:
    """The supply curve as a step plot: LCOE (CNY/MWh) against cumulative capacity (GW), one
    colour per technology. ``df`` has the columns of ``supply_curve.csv``."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(7, 4), dpi=120)
    if len(df):
        x = np.concatenate([[0.0], df["cumulative_capacity_mw"].to_numpy(dtype=float) / 1000.0])  # MW → GW
        y = df["lcoe_cny_per_mwh"].to_numpy(dtype=float)
        colors = {"pv": "#e6a93c", "wind": "#3a7dc9"}
        from matplotlib.collections import PolyCollection

        # one rectangle per parcel (width its GW, height its LCOE), drawn as one collection: a
        # fill_between per parcel took most of a site run's figure time on a few hundred parcels
        fin = np.where(np.isfinite(y), y, 0.0)
        rects = np.stack([np.column_stack([x[:-1], np.zeros_like(fin)]), np.column_stack([x[:-1], fin]),
                          np.column_stack([x[1:], fin]), np.column_stack([x[1:], np.zeros_like(fin)])], axis=1)
        faces = [colors.get(t, "#777777") for t in df["tech"].astype(str)]
        ax.add_collection(PolyCollection(rects, facecolors=faces, edgecolors="none", linewidths=0))
        ax.step(x[1:], y, where="pre", color="black", linewidth=0.6)
        for tech, c in colors.items():
            if (df["tech"] == tech).any():
                ax.plot([], [], color=c, linewidth=6, label=tech)
        ax.legend(loc="upper left")
        ax.set_xlim(0, x[-1] * 1.02 if x[-1] > 0 else 1)
        ax.set_ylim(0, np.nanmax(y) * 1.1 if np.isfinite(y).any() else 1)
    else:
        ax.text(0.5, 0.5, "no parcel with energy (give --ghi/--pvout or --wind-speed)", ha="center",
                transform=ax.transAxes)
    ax.set_xlabel("cumulative capacity (GW)")
    ax.set_ylabel("LCOE incl. grid connection (CNY/MWh)")
    ax.set_title("Supply curve")
    fig.tight_layout()
    fig.savefig(path)
    plt.close(fig)

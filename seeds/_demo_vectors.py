"""Vector layout of the synthetic demo region (helpers for :mod:`sinkplan.seeds.demo`).

Everything here is synthetic: positions come from a seeded generator and a few coarse
random fields, names are plausible but the shapes are invented. Geometry is built in a
region-centred Lambert azimuthal equal-area CRS (metres, so radii and buffers are ground
distances) and returned in EPSG:4326.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
from affine import Affine
import numpy as np
import pyogrio
import shapely
from pyproj import Transformer
from rasterio.features import shapes
from shapely.geometry import LineString, Point, Polygon, box, shape
from shapely.ops import polygonize, unary_union

CRS_LL = "EPSG:4326"
WEST, SOUTH, EAST, NORTH = 110.0, 41.9, 112.4, 43.4
#: Coarse helper grid (0.01°) on which the large-scale fields live, whatever the scale.
COARSE_SHAPE = (150, 240)
_LAEA = "+proj=laea +lat_0=42.65 +lon_0=111.2 +datum=WGS84 +units=m +no_defs"
_FWD = Transformer.from_crs(CRS_LL, _LAEA, always_xy=True)
_INV = Transformer.from_crs(_LAEA, CRS_LL, always_xy=True)

# (name_zh, name_en, league_zh, league_en, code): boundaries are synthetic.
BANNERS = (
    ("达尔罕茂明安联合旗", "Darhan Muminggan United Banner", "包头市", "Baotou", "150223"),
    ("四子王旗", "Siziwang Banner", "乌兰察布市", "Ulanqab", "150929"),
    ("察哈尔右翼后旗", "Qahar Right Rear Banner", "乌兰察布市", "Ulanqab", "150928"),
    ("苏尼特右旗", "Sonid Right Banner", "锡林郭勒盟", "Xilingol League", "152524"),
    ("二连浩特市", "Erenhot", "锡林郭勒盟", "Xilingol League", "152501"),
)
# (name, river position or lon/lat, radius m); two towns sit on the river.
TOWNS = (
    ("乌兰花镇", 0.3, 2500.0), ("百灵庙镇", 0.72, 2000.0),
    ("满都拉镇", (110.35, 43.05), 1500.0), ("赛汉塔拉镇", (112.1, 42.78), 2200.0),
    ("红格尔苏木", (111.45, 43.1), 1200.0), ("白音朝克图镇", (112.05, 42.08), 1500.0),
)


def grid_transform(width: int, height: int) -> Affine:
    """Affine transform of a ``width`` × ``height`` grid over the demo extent."""
    return Affine((EAST - WEST) / width, 0.0, WEST, 0.0, -(NORTH - SOUTH) / height, NORTH)


def to_m(geom):
    """Project lon/lat geometry to the region's equal-area metres."""
    return shapely.transform(geom, lambda xy: np.column_stack(_FWD.transform(xy[:, 0], xy[:, 1])))


def to_ll(geom):
    """Project equal-area metres back to lon/lat."""
    return shapely.transform(geom, lambda xy: np.column_stack(_INV.transform(xy[:, 0], xy[:, 1])))


def coarse_lonlat(i: np.ndarray, j: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Centre lon/lat of coarse cells (row ``i``, column ``j``)."""
    ch, cw = COARSE_SHAPE
    return WEST + (j + 0.5) * (EAST - WEST) / cw, NORTH - (i + 0.5) * (NORTH - SOUTH) / ch


def sample_coarse(field: np.ndarray, lon: float, lat: float) -> float:
    """Value of a coarse field at a lon/lat (nearest cell)."""
    ch, cw = COARSE_SHAPE
    i = int(np.clip((NORTH - lat) / (NORTH - SOUTH) * ch, 0, ch - 1))
    j = int(np.clip((lon - WEST) / (EAST - WEST) * cw, 0, cw - 1))
    return float(field[i, j])


def pick_sites(rng: np.random.Generator, mask: np.ndarray, k: int, min_sep: float,
               avoid: Sequence[tuple[float, float]] = (), score: np.ndarray | None = None
               ) -> list[tuple[float, float]]:
    """Choose up to ``k`` coarse-cell centres in ``mask``, ``min_sep`` degrees apart.

    Cells are visited in random order, or by decreasing ``score`` when given.
    """
    ii, jj = np.nonzero(mask)
    order = rng.permutation(ii.size) if score is None else np.argsort(-score[ii, jj], kind="stable")
    lon, lat = coarse_lonlat(ii[order], jj[order])
    chosen: list[tuple[float, float]] = []
    for x, y in zip(lon.tolist(), lat.tolist()):
        if all(np.hypot(x - a, y - b) >= min_sep for a, b in [*chosen, *avoid]):
            chosen.append((x, y))
            if len(chosen) == k:
                break
    return chosen


def blob(rng: np.random.Generator, lon: float, lat: float, radius_m: float, *,
         rough: float = 0.25, aspect: float = 1.0, n: int = 40) -> Polygon:
    """A smooth, irregular closed shape (lon/lat) around a point, radius in metres."""
    theta = np.linspace(0.0, 2 * np.pi, n, endpoint=False)
    r = np.ones(n)
    for k in (2, 3, 5):
        r += rough / k ** 0.5 * rng.normal() * np.cos(k * theta + rng.uniform(0, 2 * np.pi))
    r = radius_m * np.clip(r, 0.4, None)
    rot = rng.uniform(0, np.pi)
    x, y = r * np.cos(theta) * aspect, r * np.sin(theta) / aspect
    cx, cy = _FWD.transform(lon, lat)
    xr = cx + x * np.cos(rot) - y * np.sin(rot)
    yr = cy + x * np.sin(rot) + y * np.cos(rot)
    return to_ll(Polygon(np.column_stack([xr, yr])))


def jagged(rng: np.random.Generator, start: tuple[float, float], end: tuple[float, float], *,
           n: int = 60, amp: float = 0.03, smooth: int = 3) -> LineString:
    """A wiggly line from ``start`` to ``end`` (lon/lat); offsets bounded by ``amp`` degrees."""
    t = np.linspace(0.0, 1.0, n)
    walk = np.cumsum(rng.normal(size=n))
    walk = np.convolve(walk - np.linspace(walk[0], walk[-1], n), np.ones(smooth) / smooth, "same")
    walk *= amp / max(np.abs(walk).max(), 1e-9)
    (x0, y0), (x1, y1) = start, end
    dx, dy = x1 - x0, y1 - y0
    norm = np.hypot(dx, dy)
    return LineString(np.column_stack([x0 + t * dx - walk * dy / norm, y0 + t * dy + walk * dx / norm]))


def banners(rng: np.random.Generator) -> gpd.GeoDataFrame:
    """Five banners partitioning the extent exactly, with jagged shared edges."""
    rect = box(WEST, SOUTH, EAST, NORTH)
    e = 0.05
    cuts = [
        jagged(rng, (110.95, SOUTH - e), (110.95, NORTH + e), amp=0.04),
        jagged(rng, (111.70, SOUTH - e), (111.70, NORTH + e), amp=0.03),
        jagged(rng, (111.60, 42.40), (EAST + e, 42.40), amp=0.03),
        jagged(rng, (111.60, 43.10), (EAST + e, 43.10), amp=0.02),
    ]
    faces = [f for f in polygonize(unary_union([rect.boundary, *cuts]))
             if rect.contains(f.representative_point())]

    def which(p: Point) -> int:
        if p.x < 110.95:
            return 0
        if p.x < 111.70:
            return 1
        return 2 if p.y < 42.40 else (3 if p.y < 43.10 else 4)

    groups: dict[int, list[Polygon]] = {}
    for f in faces:
        groups.setdefault(which(f.representative_point()), []).append(f)
    rows = [dict(zip(("name_zh", "name_en", "league_zh", "league_en", "code"), BANNERS[k]),
                 geometry=unary_union(groups[k])) for k in sorted(groups)]
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS_LL)


def leagues(banner_df: gpd.GeoDataFrame) -> gpd.GeoDataFrame:
    """Dissolve banners into leagues (``name_zh``, ``name_en``)."""
    out = banner_df[["league_zh", "league_en", "geometry"]].dissolve(
        by=["league_zh", "league_en"], as_index=False, sort=True)
    out = out.rename(columns={"league_zh": "name_zh", "league_en": "name_en"})
    return out[["name_zh", "name_en", "geometry"]]


def deserts(moist_c: np.ndarray, barren_thr: float) -> gpd.GeoDataFrame:
    """Desert (sand, south) and gobi (north) polygons outlining the coarse barren zone."""
    ch, cw = COARSE_SHAPE
    _, lat = coarse_lonlat(*np.indices(COARSE_SHAPE))
    kind = np.where(lat < 42.6, 1, 2).astype(np.uint8)
    rows = []
    transform = grid_transform(cw, ch)
    for geom, val in shapes(kind, mask=moist_c < barren_thr, transform=transform):
        poly = shape(geom).simplify(0.006)
        if poly.area >= 4e-4:
            k = "desert" if val == 1 else "gobi"
            name = "西部沙地" if k == "desert" else "北部戈壁"
            rows.append(dict(name=f"{name} {len(rows) + 1}", kind=k, geometry=poly))
    return gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS_LL)


@dataclass(frozen=True)
class Layout:
    """Synthetic features shared by the rasters and the vector files (lon/lat)."""

    river: LineString
    lakes: list[Polygon]
    river_zones: dict[str, object]  # water / wetland / cropband polygons
    towns: gpd.GeoDataFrame  # name, geometry (2015 extent), grown (2020 extent), ring
    mines: gpd.GeoDataFrame  # name, pit2015, pit2020, geometry (restoration polygon), status
    restoration: gpd.GeoDataFrame
    redline: gpd.GeoDataFrame
    farmland: gpd.GeoDataFrame
    border: gpd.GeoDataFrame
    grid_lines: gpd.GeoDataFrame
    substations: gpd.GeoDataFrame
    banners: gpd.GeoDataFrame
    leagues: gpd.GeoDataFrame


def build_layout(seed: int, moist_c: np.ndarray, forest_c: np.ndarray, *,
                 barren_thr: float, forest_thr: float) -> Layout:
    """Place the river, towns, mines, projects, redline, farmland, grid and admin units.

    Parameters
    ----------
    seed : int
        Seed; each feature family uses its own stream, so layouts do not depend on scale.
    moist_c, forest_c : ndarray
        Coarse (``COARSE_SHAPE``) moisture and forest-propensity fields.
    barren_thr, forest_thr : float
        Thresholds the rasters use for barren land and forest (on ``moist_c``).
    """
    def rng(k: int) -> np.random.Generator:
        return np.random.default_rng([seed, 100 + k])

    # River: enters at the south edge, meanders north-west into a terminal lake.
    r = rng(1)
    lake_c = (110.85 + r.uniform(-0.05, 0.05), 42.75 + r.uniform(-0.05, 0.05))
    base = jagged(r, (111.55, SOUTH - 0.02), lake_c, n=220, amp=0.05, smooth=9)
    t = np.linspace(0.0, 1.0, 220)
    xy = np.asarray(base.coords)
    xy[:, 0] += 0.02 * np.sin(2 * np.pi * 9 * t + r.uniform(0, 6)) * np.sin(np.pi * t)
    river = LineString(xy)
    lakes = [blob(r, *lake_c, 2600.0, rough=0.2),
             blob(r, 112.0 + r.uniform(-0.05, 0.05), 43.15, 1800.0)]
    river_m, lakes_m = to_m(river), [to_m(p) for p in lakes]
    zones = {
        "water": to_ll(unary_union([river_m.buffer(60.0), *lakes_m])),
        "wetland": to_ll(unary_union([river_m.buffer(550.0), *[p.buffer(1800.0) for p in lakes_m]])),
        "cropband": to_ll(river_m.buffer(2600.0)),
    }

    # Towns (2015 extent, 2020 growth, surrounding cropland ring).
    r = rng(2)
    rows = []
    for name, where, rad in TOWNS:
        if isinstance(where, float):  # on the river, just east of it
            lon, lat = river.interpolate(where, normalized=True).coords[0]
            lon += 0.01
        else:
            lon, lat = where[0] + r.uniform(-0.04, 0.04), where[1] + r.uniform(-0.03, 0.03)
        town = blob(r, lon, lat, rad, rough=0.3)
        grown_m = to_m(town).buffer(0.25 * rad)
        rows.append(dict(name=name, geometry=town, grown=to_ll(grown_m),
                         ring=to_ll(to_m(town).buffer(1.6 * rad).difference(to_m(town)))))
    towns = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS_LL)
    centres = [(g.centroid.x, g.centroid.y) for g in towns.geometry]

    # Open-pit mines in the steppe between desert and forest.
    r = rng(3)
    lon_c, lat_c = coarse_lonlat(*np.indices(COARSE_SHAPE))
    inner = ((lon_c > WEST + 0.12) & (lon_c < EAST - 0.12)
             & (lat_c > SOUTH + 0.1) & (lat_c < NORTH - 0.12))
    ok = (inner & (moist_c > barren_thr + 0.1) & (moist_c < forest_thr - 0.2)
          & (lon_c > 110.3) & (lon_c < 111.9))
    river_pts = [river.interpolate(f, normalized=True).coords[0] for f in np.linspace(0, 1, 40)]
    sites = pick_sites(r, ok, 4, 0.25, avoid=[*centres, *river_pts])
    mine_names = ("乌兰敖包露天矿", "查干诺尔露天矿", "巴音花露天矿", "宝力格露天矿")
    statuses = ("待修复", "修复中", "修复中", "已修复")
    rows = []
    for k, (lon, lat) in enumerate(sites):
        pit = blob(r, lon, lat, r.uniform(1200, 2000), rough=0.2, aspect=1.4)
        pit20 = to_ll(to_m(pit).buffer(r.uniform(500, 900)))
        rows.append(dict(name=mine_names[k], status=statuses[k], pit2015=pit, pit2020=pit20,
                         geometry=to_ll(to_m(pit20).buffer(700.0))))
    mines = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS_LL)

    # Restoration projects on barren land next to the steppe, west and centre.
    r = rng(4)
    ok = inner & (moist_c < barren_thr - 0.03) & (moist_c > barren_thr - 0.3) & (lon_c < 111.3)
    projects = ("京津风沙源治理二期 防沙治沙", "退化草原生态修复", "三北防护林六期 灌木固沙",
                "沙化土地封禁保护", "草原生态保护补助 禁牧修复")
    rows = [dict(project=projects[k], start_year=2016 + k % 3,
                 geometry=blob(r, lon, lat, r.uniform(3500, 6000), rough=0.3))
            for k, (lon, lat) in enumerate(pick_sites(r, ok, 5, 0.18))]
    restoration = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS_LL)

    # Ecological protection redline: forest cores, the wetland around the lake, a bow-tie.
    r = rng(5)
    ok = inner & (moist_c > forest_thr + 0.1)
    cores = pick_sites(r, ok, 4, 0.2, score=forest_c + moist_c)
    rows = [dict(name=f"东部森林水源涵养红线 {k + 1:02d}", type="水源涵养",
                 geometry=blob(r, lon, lat, r.uniform(4000, 7000), rough=0.3))
            for k, (lon, lat) in enumerate(cores[:3])]
    lower_river = river_m.buffer(900.0).intersection(lakes_m[0].buffer(25000.0))
    rows.append(dict(name="湖泊湿地生物多样性维护红线", type="生物多样性维护",
                     geometry=to_ll(lakes_m[0].buffer(3000.0).union(lower_river))))
    if len(cores) > 3:
        x, y, d = *cores[3], 0.035
        # Self-intersecting on purpose, as real redline data often is: do not repair.
        bow_tie = Polygon([(x - d, y - d), (x + d, y + d), (x + d, y - d), (x - d, y + d)])
        rows.append(dict(name="自相交红线图斑（示例）", type="水源涵养", geometry=bow_tie))
    redline = gpd.GeoDataFrame(rows, geometry="geometry", crs=CRS_LL)

    # Permanent basic farmland: patches of the river's cropland band away from the lake.
    r = rng(6)
    band = river_m.buffer(2200.0).difference(river_m.buffer(450.0))
    band = band.difference(lakes_m[0].buffer(4000.0))
    band = band.difference(unary_union([to_m(g) for g in towns["grown"]]).buffer(300.0))
    parts = []
    for f in np.arange(0.04, 0.8, 0.06):
        lon, lat = river.interpolate(f, normalized=True).coords[0]
        if sample_coarse(moist_c, lon, lat) > barren_thr + 0.15:
            patch = band.intersection(to_m(blob(r, lon, lat, r.uniform(2500, 4000))))
            parts.extend(getattr(patch, "geoms", [patch]))
    parts = [p for p in parts if p.geom_type == "Polygon" and p.area > 2e5]
    farmland = gpd.GeoDataFrame(dict(name=[f"永久基本农田 {k + 1:03d}" for k in range(len(parts))]),
                                geometry=[to_ll(p) for p in parts], crs=CRS_LL)

    # National border (synthetic) just inside the north edge.
    r = rng(7)
    line = jagged(r, (WEST, 43.37), (EAST, 43.37), n=120, amp=0.02, smooth=5)
    border = gpd.GeoDataFrame(dict(name=["中蒙边界"], note=["synthetic line, not the real border"]),
                              geometry=[line], crs=CRS_LL)

    # Power grid: a 500 kV corridor and 220 kV feeders from town substations to the hub.
    r = rng(8)
    hub = (111.2 + r.uniform(-0.05, 0.05), 42.17 + r.uniform(-0.03, 0.03))
    trunk = LineString([(WEST, 42.05), (110.6, 42.12), hub, (111.8, 42.2), (EAST, 42.28)])
    subs = [dict(name="达茂500kV变电站", kv=500, geometry=Point(hub))]
    lines = [dict(name="500kV 东西通道", kv=500, geometry=trunk)]
    for name, (x, y) in zip(towns["name"], centres):
        if name in ("乌兰花镇", "百灵庙镇", "赛汉塔拉镇", "满都拉镇"):
            p = (x + 0.02, y - 0.015)
            subs.append(dict(name=f"{name}220kV变电站", kv=220, geometry=Point(p)))
            mid = ((p[0] + hub[0]) / 2 + r.uniform(-0.05, 0.05), (p[1] + hub[1]) / 2 + r.uniform(-0.05, 0.05))
            lines.append(dict(name=f"220kV {name}线", kv=220, geometry=LineString([p, mid, hub])))
    grid_lines = gpd.GeoDataFrame(lines, geometry="geometry", crs=CRS_LL)
    substations = gpd.GeoDataFrame(subs, geometry="geometry", crs=CRS_LL)

    b = banners(rng(9))
    return Layout(river=river, lakes=lakes, river_zones=zones, towns=towns, mines=mines,
                  restoration=restoration, redline=redline, farmland=farmland,
                  border=border, grid_lines=grid_lines, substations=substations, banners=b,
                  leagues=leagues(b))


def write_gpkg(df: gpd.GeoDataFrame, path: Path) -> Path:
    """Write one GeoPackage layer atomically (temporary name in the same folder, then rename).

    Geometries are written as they are: invalid ones are not repaired.
    """
    tmp = path.with_name(f".{path.stem}.{os.getpid()}.tmp.gpkg")
    for extra in (tmp, tmp.with_name(tmp.name + "-journal"), tmp.with_name(tmp.name + "-wal")):
        extra.unlink(missing_ok=True)
    pyogrio.write_dataframe(df, tmp, layer=path.stem, driver="GPKG")
    os.replace(tmp, path)
    return path

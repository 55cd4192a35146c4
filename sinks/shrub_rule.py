"""Special shrubland (国家特别规定的灌木林地) by the rule of 林资发〔2004〕14号, from the user's data.

China's forest area, and so forest coverage, counts tree forest plus shrubland that the state
specially designates: shrubland with cover above 30 % in counties whose mean annual
precipitation is below 400 mm (also above the tree line, and in karst and dry-hot valleys,
which a land-cover map cannot tell). In Inner Mongolia that was 755.05 of 798.56 万 ha of
shrubland in the 7th inventory, so whether shrub counts moves coverage by about 6 points.

The rule is decided per pixel of the ``shrubland`` group from data the user gives, never by
default:

* ``--precip RASTER``: mean annual precipitation (mm/yr); a shrub pixel qualifies where it
  is below :data:`PRECIP_MAX_MM`. A raster on another grid is resampled bilinearly per block
  (:mod:`sinkplan.layers.continuous`).
* ``--precip-field FIELD``: the county (zone) mean precipitation as a zone attribute; all
  shrub of a zone below the threshold qualifies.
* ``--shrub-cover RASTER`` (optional, %, with either of the above): the pixel's shrub cover
  must exceed :data:`COVER_MIN_PCT`.
* ``--special-shrub LAYER``: the designated special-shrubland polygons (林草"一张图"); shrub
  pixels inside qualify, the others do not (the designation replaces the rule).

Each pixel gets :data:`NO`, :data:`YES` or :data:`UNKNOWN` (no data there) as the last axis of
the pass key (:class:`RuleFactor`, :class:`PolygonFactor`); the coverage arithmetic then
reads the area of qualifying shrub per zone (:func:`sinkplan.sinks.coverage.shrub_split`).
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

import numpy as np
from rasterio.windows import Window

from sinkplan.layers.continuous import ContinuousRaster

__all__ = ["RULE", "DEFINITION", "PRECIP_MAX_MM", "COVER_MIN_PCT", "NO", "YES", "UNKNOWN", "LEVELS", "qualifies",
           "zone_qualifies", "RuleFactor", "PolygonFactor"]

#: The rule, as summary.json names it.
RULE = ("林资发〔2004〕14号 国家特别规定灌木林地: shrubland with cover > 30 % in counties with mean annual "
        "precipitation < 400 mm (also above the tree line, in karst and dry-hot valleys, which a land-cover map "
        "cannot tell)")
#: The national definition of forest coverage used.
DEFINITION = ("森林覆盖率 = (乔木林地 + 竹林 + 国家特别规定灌木林地 [+ 四旁树/农田林网]) ÷ 土地总面积: "
              "(tree forest + special shrubland [+ --extra-forest-ha]) / land area")
#: Mean annual precipitation (mm/yr) below which shrubland counts.
PRECIP_MAX_MM = 400.0
#: Shrub cover (%) above which shrubland counts.
COVER_MIN_PCT = 30.0
#: Per-pixel outcome of the rule.
NO, YES, UNKNOWN = 0, 1, 2
LEVELS = 3


def qualifies(precip_mm: np.ndarray | None, cover_pct: np.ndarray | None, *, precip_max: float = PRECIP_MAX_MM,
              cover_min: float = COVER_MIN_PCT) -> np.ndarray:
    """The rule per pixel: :data:`YES`, :data:`NO` or :data:`UNKNOWN` (uint8).

    ``precip_mm < precip_max`` and (when a cover array is given) ``cover_pct > cover_min``;
    NaN is unknown, unless the other criterion already fails. With neither array every pixel
    is unknown.

    Examples
    --------
    >>> qualifies(np.array([350.0, 400.0, np.nan, 350.0]), np.array([40.0, 40.0, 40.0, 30.0])).tolist()
    [1, 0, 2, 0]
    """
    arrays = [a for a in (precip_mm, cover_pct) if a is not None]
    if not arrays:
        raise ValueError("give a precipitation or a cover array")
    shape = np.shape(arrays[0])
    fails = np.zeros(shape, dtype=bool)
    unknown = np.zeros(shape, dtype=bool)
    if precip_mm is not None:
        p = np.asarray(precip_mm, dtype=np.float64)
        unknown |= np.isnan(p)
        fails |= p >= precip_max  # NaN compares False
    if cover_pct is not None:
        c = np.asarray(cover_pct, dtype=np.float64)
        unknown |= np.isnan(c)
        fails |= c <= cover_min
    return np.where(fails, NO, np.where(unknown, UNKNOWN, YES)).astype(np.uint8)


def zone_qualifies(mean_precip_mm, *, precip_max: float = PRECIP_MAX_MM) -> list[int]:
    """The precipitation criterion per zone from its county mean (None or NaN: :data:`UNKNOWN`)."""
    out = []
    for v in mean_precip_mm:
        if v is None or (isinstance(v, float) and v != v):
            out.append(UNKNOWN)
        else:
            out.append(YES if float(v) < precip_max else NO)
    return out


@dataclass(frozen=True)
class RuleFactor:
    """Per-pixel rule from a precipitation and/or a cover raster (a :class:`~sinkplan.sinks.blocks.PassSpec` factor)."""

    precip: ContinuousRaster | None
    cover: ContinuousRaster | None
    precip_max: float = PRECIP_MAX_MM
    cover_min: float = COVER_MIN_PCT
    levels: int = LEVELS

    def block(self, window: Window) -> np.ndarray:
        """:data:`YES` / :data:`NO` / :data:`UNKNOWN` per pixel of ``window``."""
        p = None if self.precip is None else self.precip.read(window)
        c = None if self.cover is None else self.cover.read(window)
        return qualifies(p, c, precip_max=self.precip_max, cover_min=self.cover_min)


_RASTERIZERS = threading.local()


@dataclass(frozen=True)
class PolygonFactor:
    """Designated special-shrubland polygons (grid CRS, as WKB), rasterized per block by the pixel-centre rule.

    Picklable: the geometries travel with the task and each process builds its rasterizer once.
    """

    wkb: tuple[bytes, ...]
    crs_wkt: str
    grid: object
    source: str = ""
    levels: int = LEVELS
    _key: str = field(default="", compare=False)

    def _rasterizer(self):
        import geopandas as gpd
        import shapely

        from sinkplan.layers.zones import ZoneRasterizer

        cache = getattr(_RASTERIZERS, "cache", None)
        if cache is None:
            cache = _RASTERIZERS.cache = {}
        key = (self.source, len(self.wkb), hash(self.wkb))
        zr = cache.get(key)
        if zr is None:
            gdf = gpd.GeoDataFrame(geometry=shapely.from_wkb(list(self.wkb)), crs=self.crs_wkt)
            zr = cache[key] = ZoneRasterizer(gdf, self.grid)
        return zr

    def block(self, window: Window) -> np.ndarray:
        """:data:`YES` inside the designated polygons, :data:`NO` outside."""
        return np.where(self._rasterizer().mask(window), YES, NO).astype(np.uint8)

    @classmethod
    def from_layer(cls, path, grid, *, layer: str | None = None) -> "PolygonFactor":
        """Read the designated layer (repaired, reprojected to the grid).

        Raises
        ------
        InputFileError, MissingCRS, InputError
            As :func:`sinkplan.layers.vectors.read_vector`.
        """
        import shapely

        from sinkplan.layers.vectors import read_vector

        vl = read_vector(path, layer=layer, to_crs=grid.crs)
        geoms = [g for g in vl.gdf.geometry if g is not None and not g.is_empty]
        return cls(tuple(shapely.to_wkb(geoms).tolist()), grid.crs.to_wkt(), grid, str(path))

"""MapBuilder: turns result-folder files into layers of a :class:`~sinkplan.maps.model.MapSpec`.

This is where maps/ touches files (it reads result folders only): rasters through
:func:`sinkplan.maps.rasters.read_decimated` (bounded reads), vector layers through geopandas.
Everything else is delegated to the pure modules (rasters, vectors, colors).
"""

from __future__ import annotations

import logging
import math
from pathlib import Path
from typing import Any, Callable

import numpy as np
import pandas as pd

from sinkplan.maps import colors as col
from sinkplan.maps.folders import reading_result_file
from sinkplan.maps.model import Legend, MapSpec, RasterLayer, VectorLayer
from sinkplan.maps.rasters import palette_png, quantize, read_decimated, warp_to_display
from sinkplan.maps.vectors import display_tolerance_deg, finite_bounds, to_display_geojson

__all__ = ["MapBuilder", "fmt_value", "read_vector_lonlat", "read_csv"]

logger = logging.getLogger(__name__)


_ID_COLUMNS = ("year", "code", "parcel_id", "base_id", "rank", "zone_id", "first_year", "last_year",
               "target_year_at_this_rate", "start_year", "target_year")
_PERCENT_COLUMNS = ("coverage", "share_of_target", "annual_change", "compactness_share")


def _sig(v: float, digits: int = 3) -> str:
    """``v`` to ``digits`` significant digits, thousands separated, no exponent for map-sized numbers."""
    if v == 0:
        return "0"
    mag = math.floor(math.log10(abs(v)))
    decimals = max(0, digits - 1 - mag)
    return f"{v:,.{decimals}f}"


def fmt_value(value: Any, column: str = "", lang: str | None = None) -> str:
    """Text of a table value for a popup, by the column's unit.

    Areas (``*_ha``), capacities (``*_mw``) and distances (``*_km``) to 0.1; stocks in Mg C as
    integers; rates and densities (``*_per_ha``, ``*_per_yr``) to 3 significant digits;
    shares as percentages (a fraction such as ``mapped_fraction`` clipped to 0–100 %: a value
    of 1.0000117 is pixel-centre rasterization counting whole pixels along the boundary); a
    non-zero value never reads 0 or 0.0 (it gets 3 significant digits instead).

    Examples
    --------
    >>> fmt_value(1234567.891, "stock_mgc"), fmt_value(0.23456, "coverage"), fmt_value(3.14159)
    ('1,234,568', '23.46 %', '3.14')
    >>> fmt_value(1103.489, "area_ha"), fmt_value(37.52, "capacity_mw"), fmt_value(0.01868, "net_change_mgc_per_ha")
    ('1,103.5', '37.5', '0.0187')
    >>> fmt_value(1.0000117, "mapped_fraction"), fmt_value(0.004, "area_ha"), fmt_value(2031.0, "target_year_at_this_rate")
    ('100.00 %', '0.004', '2031')
    """
    if value is None:
        return ""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, (int, np.integer)):
        return str(int(value)) if column in _ID_COLUMNS else f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            return ""
        unit = _unit(column)
        if unit in ("fraction", "fraction/yr") or column in _PERCENT_COLUMNS or column.endswith("_share") \
                or column.endswith("_fraction"):
            if column.endswith("_fraction"):
                v = min(max(v, 0.0), 1.0)  # a share of a polygon: rasterization may overshoot by a pixel rim
            text = f"{v * 100:.2f} %"
            return text if v == 0 or text.lstrip("-") != "0.00 %" else f"{_sig(v * 100)} %"
        if v.is_integer() and column in _ID_COLUMNS:
            return str(int(v))
        if unit in _TENTHS_UNITS:
            text = f"{v:,.1f}"
        elif unit in _WHOLE_UNITS:
            text = f"{v:,.0f}"
        elif unit:  # densities, rates, costs per unit, durations: 3 significant digits
            text = _sig(v)
        elif "_per_" in column or column.endswith(("_per_ha", "_per_yr")):
            text = _sig(v)
        elif column.endswith(("_ha", "_mw", "_km")) or "area_ha" in column:  # areas (area_ha_desert too), capacities,
            # distances: to 0.1, checkable against the tables
            text = f"{v:,.1f}"
        elif column.endswith(("_mgc", "_m3")) or column.startswith("stock_mgc"):
            text = f"{v:,.0f}"
        elif abs(v) >= 1000:
            text = f"{v:,.0f}"
        else:
            text = _sig(v)
        if v != 0 and not any(ch in "123456789" for ch in text):
            text = _sig(v).rstrip("0").rstrip(".")  # never 0.0 for a value that is not zero
        return text
    if isinstance(value, str) and lang is not None:
        from sinkplan.maps.i18n import value_label

        return value_label(value, lang, column)
    return str(value)


#: Units (result-contract codes) shown to 0.1 (areas, capacities, distances) and as whole numbers
#: (stocks, volumes, energy, money, pixels); other units get 3 significant digits.
_TENTHS_UNITS = ("ha", "MW", "km", "m")
_WHOLE_UNITS = ("Mg C", "m3", "m2", "MWh/yr", "Mg C/yr", "px", "CNY", "t CO2/yr")


def _unit(column: str) -> str:
    """The unit code of a column or summary key in the result contract ('' if undeclared or unitless)."""
    from sinkplan.layers.resultspec import term

    t = term(column.rsplit(".", 1)[-1]) if column else None
    return t.unit if t is not None else ""


def read_csv(path: Path) -> pd.DataFrame | None:
    """A result table (UTF-8 with or without BOM); None and a log line if absent.

    Tables written with ``--group-by`` also hold group and region totals (``zone_level``);
    maps and figures show zones, so only the zone rows are returned.
    """
    if not path.exists():
        logger.info("%s not found: layer omitted", path)
        return None
    with reading_result_file(path):
        df = pd.read_csv(path, encoding="utf-8-sig", dtype={"zone": str})
        # names as written: pandas reads a zone named "n/a", "NA", "None" or "null" as a missing value
        # (the figure said "nan" and the map lost the zone's row); only empty cells are missing in text
        text = [c for c in df.columns if c == "zone" or not pd.api.types.is_numeric_dtype(df[c])]
        if text:
            raw = pd.read_csv(path, encoding="utf-8-sig", usecols=text, dtype=str, keep_default_na=False)
            from sinkplan.layers.resultfolder import unguard_cell

            for c in text:  # and without the formula guard's quote (sinkplan.layers.resultfolder.guard_cell)
                df[c] = raw[c].where(raw[c] != "", None).astype(object).map(unguard_cell)
    if "zone_level" in df.columns:
        df = df[df["zone_level"] == "zone"].reset_index(drop=True)
    return df


def read_vector_lonlat(path: Path):
    """A GeoPackage of a result folder in EPSG:4326; None and a log line if absent."""
    if not path.exists():
        logger.info("%s not found: layer omitted", path)
        return None
    import geopandas as gpd

    with reading_result_file(path):
        gdf = gpd.read_file(path, engine="pyogrio")
    if gdf.crs is None:
        logger.warning("%s has no CRS: taken as EPSG:4326 (lon/lat)", path)
        gdf = gdf.set_crs(4326)
    gdf = gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)]
    return gdf.to_crs(4326)


class MapBuilder:
    """Collects layers for one map.

    Parameters
    ----------
    spec : MapSpec
        The map being filled (its ``basemap`` decides the GCJ-02 shift).
    max_pixels : int
        Pixel budget of each raster overlay.
    max_cells : int
        Source cells per read (memory bound).
    max_coords : int
        Coordinate budget of each geometry table.
    """

    def __init__(self, spec: MapSpec, *, max_pixels: int, max_cells: int, max_coords: int = 150_000,
                 progress: Callable[[float, str], None] | None = None) -> None:
        self.spec = spec
        self.gcj = spec.basemap == "gaode"
        self.max_pixels = max_pixels
        self.max_cells = max_cells
        self.max_coords = max_coords
        self.progress = progress

    @property
    def lang(self) -> str:
        return self.spec.lang

    def _extend(self, bounds) -> None:
        if bounds is None:
            return
        if self.spec.bounds is None:
            self.spec.bounds = tuple(bounds)
        else:
            a = self.spec.bounds
            self.spec.bounds = (min(a[0], bounds[0]), min(a[1], bounds[1]), max(a[2], bounds[2]), max(a[3], bounds[3]))

    # -- rasters ---------------------------------------------------------------------------
    def read_raster(self, path: Path, *, resampling: str):
        """(values, valid, bounds, src_meta) of a raster on the display grid, or None if absent."""
        if not path.exists():
            logger.info("%s not found: layer omitted", path)
            return None
        import rasterio

        with reading_result_file(path), rasterio.open(path) as src:
            dec = read_decimated(src, max_pixels=self.max_pixels, max_cells=self.max_cells,
                                 resampling=resampling, progress=self.progress)
            try:
                cmap = src.colormap(1)
            except ValueError:
                cmap = None
            meta = {"tags": src.tags(), "band_tags": src.tags(1), "colormap": cmap, "dtype": src.dtypes[0],
                    "description": src.descriptions[0] if src.descriptions else None,
                    "units": src.units[0] if src.units else None}
        values, valid, bounds = warp_to_display(dec, gcj=self.gcj, max_pixels=self.max_pixels)
        self._extend(bounds)
        return values, valid, bounds, meta

    def add_continuous(self, path: Path, *, name: str, units: str, cmap: str, visible: bool = True,
                       symmetric: bool = False, vmin: float | None = None, thematic: bool = True) -> dict | None:
        """A continuous raster overlay with a colour-ramp legend; returns the raster's meta."""
        got = self.read_raster(path, resampling="average")
        if got is None:
            return None
        values, valid, bounds, meta = got
        v = values[valid & np.isfinite(values)].astype(float)
        if v.size == 0:
            lo, hi = 0.0, 1.0
        elif symmetric:
            hi = float(np.percentile(np.abs(v), 98)) or 1.0
            lo = -hi
        else:
            lo = float(np.min(v)) if vmin is None else vmin
            hi = float(np.percentile(v, 98))
            hi = hi if hi > lo else lo + 1.0
        palette = col.ramp(cmap, 255) + [(0, 0, 0, 0)]
        png = palette_png(quantize(values, valid, vmin=lo, vmax=hi), palette)
        legend = Legend("continuous", name, units=units, colors=[col.hex_color(c) for c in palette[:-1:16]] + [col.hex_color(palette[-2])],
                        vmin=lo, vmax=hi)
        self.spec.layers.append(RasterLayer(name, png, bounds, legend, visible, thematic=thematic))
        return meta

    def add_categorical(self, path: Path, *, name: str, labels: dict[int, str], colors: dict[int, str] | None = None,
                        visible: bool = True, skip: tuple[int, ...] = (), max_legend: int = 60,
                        thematic: bool = True) -> dict | None:
        """A class raster overlay (mode-resampled) with a legend of the classes present.

        The legend lists at most ``max_legend`` classes, the most frequent first when some
        are left out; at most 255 classes are drawn.
        """
        got = self.read_raster(path, resampling="mode")
        if got is None:
            return None
        values, valid, bounds, meta = got
        table = meta["colormap"] or {}
        codes, counts = np.unique(values[valid], return_counts=True)
        keep = [(int(n), int(c)) for c, n in zip(codes, counts) if int(c) not in skip]
        keep.sort(reverse=True)  # most frequent first
        present = [c for _, c in keep[:255]]
        shown = set(present[:max_legend])
        palette, items = [], []
        lut = np.full(max(present, default=0) + 1, 255, dtype=np.uint8)
        for i, code in enumerate(sorted(present)):
            hexc = (colors or {}).get(code) or (col.hex_color(table[code]) if code in table else None) or _fallback_color(code)
            palette.append(col.rgba_from_hex(hexc))
            lut[code] = i
            if code in shown:
                items.append((hexc, labels.get(code, str(code))))
        palette += [(0, 0, 0, 0)] * (256 - len(palette))
        idx = np.full(values.shape, 255, dtype=np.uint8)
        ok = valid & (values >= 0) & (values < lut.size)
        idx[ok] = lut[values[ok].astype(np.int64)]
        png = palette_png(idx, palette)
        from sinkplan.maps.i18n import label

        note = label("more_classes", self.lang, n=len(present) - len(shown)) if len(present) > len(shown) else ""
        self.spec.layers.append(RasterLayer(name, png, bounds, Legend("categorical", name, items=items, note=note), visible,
                                            thematic=thematic))
        return meta

    def add_mask_layers(self, values: np.ndarray, valid: np.ndarray, bounds, masks: list[tuple[str, np.ndarray, str]],
                        *, visible: bool = False, title: str = "") -> None:
        """One overlay per boolean mask (name, mask, #rrggbb) on an already-read display grid."""
        for name, mask, hexc in masks:
            idx = np.where(mask & valid, 0, 1).astype(np.uint8)
            png = palette_png(idx, [col.rgba_from_hex(hexc), (0, 0, 0, 0)])
            legend = Legend("categorical", title or name, items=[(hexc, name)])
            self.spec.layers.append(RasterLayer(name, png, bounds, legend, visible, opacity=0.7))

    # -- vectors ---------------------------------------------------------------------------
    def add_geometries(self, key: str, gdf) -> list[int]:
        """Store a lon/lat GeoDataFrame's geometries as ``key``; returns kept row positions."""
        if key in self.spec.geometries:
            return list(range(len(self.spec.geometries[key])))
        b = finite_bounds(gdf.geometry.values)
        tol = display_tolerance_deg(b) if b else 0.0
        geoms, _ = to_display_geojson(gdf.geometry.values, tolerance_deg=tol, gcj=self.gcj, max_coords=self.max_coords)
        self.spec.geometries[key] = geoms
        if b:
            if self.gcj:
                from sinkplan.maps.gcj02 import wgs84_to_gcj02

                (w, e), (s, n) = wgs84_to_gcj02([b[0], b[2]], [b[1], b[3]])
                b = (float(w), float(s), float(e), float(n))
            self._extend(b)
        return list(range(len(geoms)))

    def add_vector(self, *, name: str, key: str, gdf, features: list[dict], style: dict,
                   legend: Legend | None = None, visible: bool = True, thematic: bool = False,
                   labels: list[str] | None = None) -> None:
        """A vector layer drawing geometry table ``key`` with per-feature text and colours;
        ``labels`` (one text per feature) are written on the map at each feature's inner point."""
        self.add_geometries(key, gdf)
        for f in features:
            c = f.get("c")
            if c is not None and not col.is_hex_color(c):
                raise ValueError(f"feature colour {c!r} is not #rrggbb")
        points = self.label_points(gdf, labels) if labels else []
        self.spec.layers.append(VectorLayer(name, key, features, style, legend, visible, thematic=thematic,
                                            labels=points))

    def label_points(self, gdf, labels: list[str]) -> list[list]:
        """[lat, lon, text] of each non-empty label at its geometry's inner point (display coordinates)."""
        import shapely

        pts = shapely.point_on_surface(np.asarray(gdf.geometry.values, dtype=object))
        lon, lat = shapely.get_x(pts), shapely.get_y(pts)
        if self.gcj:
            from sinkplan.maps.gcj02 import wgs84_to_gcj02

            lon, lat = wgs84_to_gcj02(lon, lat)
        return [[round(float(b), 5), round(float(a), 5), str(t)] for a, b, t in zip(lon, lat, labels)
                if t and np.isfinite(a) and np.isfinite(b)]

    def zone_names(self, gdf) -> list[str]:
        """Zone names in the map's language: ``label_field`` if given, else ``name_<lang>`` when
        the zone layer has it (``name_en`` on English maps), else the zone field itself."""
        # the zone layer's own fields travel in zones.gpkg as layer_<field>
        field = self.spec.label_field
        if field:
            field = next((c for c in (field, f"layer_{field}") if c in gdf.columns), None)
            if field is None:
                own = [str(c)[6:] for c in gdf.columns if str(c).startswith("layer_")]
                logger.warning("--label-field %s: not a field of the zone layer (fields: %s); zone names used",
                               self.spec.label_field, ", ".join(["zone", *own]))
        if field is None:
            field = next((c for c in (f"layer_name_{self.lang}", f"name_{self.lang}") if c in gdf.columns),
                         "zone" if "zone" in gdf.columns else None)
        if field is None:
            return [""] * len(gdf)
        base = gdf["zone"].astype(str).tolist() if "zone" in gdf.columns else [""] * len(gdf)
        return [str(v) if isinstance(v, str) and v.strip() else b for v, b in zip(gdf[field].tolist(), base)]


def _fallback_color(code: int) -> str:
    """A stable distinct colour for a code without one (golden-angle hue walk)."""
    import colorsys

    r, g, b = colorsys.hsv_to_rgb((code * 0.618033988749895) % 1.0, 0.55, 0.85)
    return col.hex_color((int(r * 255), int(g * 255), int(b * 255)))

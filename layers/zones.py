"""Zones on the working grid: :class:`ZoneRasterizer` turns a zone layer into int32 ids,
block by block, by the pixel-centre rule, identical to one rasterize of the whole grid.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import uuid
from collections.abc import Callable
from dataclasses import replace
from functools import cached_property
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import rasterio
import rasterio.features
import shapely
from affine import Affine
from rasterio.windows import Window

from sinkplan.layers.errors import FieldError, InputError, MissingCRS
from sinkplan.layers.warnings import OverlappingZonesWarning, warn
from sinkplan.layers.geodesy import geodesic_area_m2
from sinkplan.layers.grid import DEFAULT_MAX_CELLS, Grid
from sinkplan.layers.vectors import VectorLayer, check_finite, fit_longitudes, read_vector, require_polygons

__all__ = ["OUTSIDE", "MAX_OVERLAP_FRACTION", "SLIVER_FRACTION", "BlockZones", "ZoneRasterizer", "check_shared_names",
           "read_zones"]

logger = logging.getLogger(__name__)

#: Zone id of pixels outside every zone; zones are numbered 1..n, so 0 is free.
OUTSIDE = 0
#: Overlap between two zones, as a share of the smaller one, above which zones are refused
#: (below it, digitising slivers along shared borders are only logged).
MAX_OVERLAP_FRACTION = 1e-3
#: Intersections of two zones smaller than this share of the smaller zone's area, both measured
#: in the layer's own coordinates, are the rounding of a border the two zones share, not an
#: overlap: GEOS's intersection of neighbours digitised along the same line gives slivers of
#: ~1e-15 of a zone (82 of the 103 Inner Mongolia banners' 275 neighbour pairs, 8 895 parts,
#: at most 3e-15 deg²), whose ellipsoidal areas took 0.19 s of the 0.27 s the check cost.
SLIVER_FRACTION = 1e-9


class ZoneRasterizer:
    """Zone ids on a grid (int32; 0 outside every zone, 1..n inside), block by block.

    A pixel belongs to a zone when its centre is inside the zone (``all_touched=False``).
    **Where zones overlap, the zone with the larger id wins.** Features sharing one
    ``field`` value form one zone (the parts of a banner); zones are numbered in order of first
    appearance. Features sharing a value but differing in another field are refused
    (:func:`check_shared_names`): two banners named alike would be summed as one.
    Geometries are moved once to the grid's pixel frame with GDAL's own arithmetic and each
    window is rasterized with an integer shift, so the block-wise result equals one
    ``rasterio.features.rasterize`` over the whole grid (a centre lying, to the last bit,
    on a slanted edge may still be decided differently in different blocks).

    Parameters
    ----------
    layer : geopandas.GeoDataFrame or VectorLayer
        The zones; reprojected to ``grid.crs`` if needed.
    grid : Grid
        The working grid.
    field : str, optional
        Field naming the zones (``names``: its values as ``str``); default each feature is
        its own zone, named by its 1-based row number ("1", "2", ...).
    overlap : {"error", "warn", "ignore"}
        With ``field`` (zones such as banners, which a pixel can belong to only one of):
        what to do when two zones overlap by more than :data:`MAX_OVERLAP_FRACTION` of
        the smaller one. Smaller overlaps (digitising slivers) are logged. Without
        ``field`` (masks such as a redline, where overlaps are harmless) nothing is checked.

    Raises
    ------
    MissingCRS, FieldError, InputError
        No CRS; ``field`` missing or with empty values; no features, or coordinates that
        do not transform to the grid's CRS; zones that overlap (``overlap="error"``);
        one name given to features that differ in another field (two zones named alike).
    TypeError
        ``layer`` is neither a GeoDataFrame nor a VectorLayer.

    Examples
    --------
    >>> zr = ZoneRasterizer(read_vector("banners.shp"), grid, field="name")  # doctest: +SKIP
    >>> zr.names[zr.rasterize(Window(0, 0, 256, 256)).max() - 1]  # doctest: +SKIP
    '四子王旗'
    """

    def __init__(self, layer: gpd.GeoDataFrame | VectorLayer, grid: Grid, field: str | None = None, *,
                 overlap: str = "error") -> None:
        if overlap not in ("error", "warn", "ignore"):
            raise InputError(f"overlap must be 'error', 'warn' or 'ignore', got {overlap!r}", params=("overlap",))
        what = f"zone layer {layer.report.path}" if isinstance(layer, VectorLayer) else "zone layer"
        gdf = layer.gdf if isinstance(layer, VectorLayer) else layer
        if not isinstance(gdf, gpd.GeoDataFrame):
            raise TypeError(f"layer must be a GeoDataFrame or VectorLayer, got {type(layer).__name__}")
        if gdf.crs is None:
            raise MissingCRS(f"{what} has no CRS; set it with gdf.set_crs(...) or read it with read_vector")
        if len(gdf) == 0:
            raise InputError(f"{what} has no features")
        if not gdf.crs.equals(grid.crs, ignore_axis_order=True):
            gdf = gdf.to_crs(grid.crs)
        check_finite(np.asarray(gdf.geometry.values), what)
        gdf = fit_longitudes(require_polygons(gdf, what), grid)  # areas only; across the antimeridian too
        if field is None:
            ids = np.arange(1, len(gdf) + 1, dtype=np.int32)
            names = tuple(str(i) for i in ids)
        else:
            if field not in gdf.columns or field == gdf.geometry.name:
                cols = ", ".join(str(c) for c in gdf.columns if c != gdf.geometry.name)
                raise FieldError(f"{what} has no field '{field}'; available fields: {cols}")
            # a blank name ('' or spaces) is as empty as a null one: its row would have no label
            blank = gdf[field].isna().to_numpy() | np.array([str(v).strip() == "" for v in gdf[field]], dtype=bool)
            if (n_null := int(blank.sum())) > 0:
                raise FieldError(f"{what}: field '{field}' is empty for {n_null} features; fill in their names or drop them")
            values = [str(v) for v in gdf[field]]
            check_shared_names(gdf, field, values, what)
            order = {v: i for i, v in enumerate(dict.fromkeys(values), start=1)}
            ids = np.array([order[v] for v in values], dtype=np.int32)
            names = tuple(order)
        draw = np.argsort(ids, kind="stable")  # drawn by increasing id, so the larger id wins
        self.grid, self.field, self.names = grid, field, names
        self.gdf: gpd.GeoDataFrame = gdf.iloc[draw].reset_index(drop=True)
        self._ids = ids[draw]
        self._pix = shapely.transform(np.asarray(self.gdf.geometry.values), _pixel_frame(grid.transform))
        self._tree = shapely.STRtree(self._pix)
        self._compiled: bool | None = None  # burn with sinkplan.layers.burn (see _burner)
        self._burner_lock = threading.Lock()
        if field is not None and overlap != "ignore" and self.n_zones > 1:
            self._check_overlaps(what, strict=overlap == "error")

    def overlaps(self) -> list[tuple[str, str, float, float]]:
        """Pairs of zones whose polygons overlap, largest share first.

        Returns
        -------
        list of (name_a, name_b, overlap_m2, fraction)
            ``fraction`` is the overlap's share of the smaller zone's area (ellipsoidal).
        """
        geoms = np.asarray(self.zones_gdf.geometry.values)
        left, right = shapely.STRtree(geoms).query(geoms, predicate="intersects")
        pairs = [(a, b) for a, b in zip(left.tolist(), right.tolist()) if a < b]
        if not pairs:
            return []
        left, right = np.array([a for a, _ in pairs]), np.array([b for _, b in pairs])
        # Only pairs whose interiors meet in an area (DE-9IM 2********: overlap or containment)
        # are intersected; GEOS's relate is 3-4 times as fast as the intersection it spares
        # for neighbours that only share a border (275 pairs of 103 banners: 0.023 s against 0.078 s).
        meet = shapely.relate_pattern(geoms[left], geoms[right], "2********")
        if not meet.any():
            return []
        pairs = [p for p, m in zip(pairs, meet.tolist()) if m]
        left, right = left[meet], right[meet]
        inter = shapely.intersection(geoms[left], geoms[right])
        # Neighbours share edges (lines, points: no area) or rounding slivers of them
        # (SLIVER_FRACTION): only real overlaps, and the zones in them, get an ellipsoidal area
        # (all 103 banners' areas took 0.28 s, the slivers' 0.19 s, for none).
        own = shapely.area(geoms)  # in the layer's units, as the intersections'
        share = shapely.area(inter) / np.maximum(np.minimum(own[left], own[right]), np.finfo(float).tiny)
        poly = np.flatnonzero(share > SLIVER_FRACTION)
        if poly.size < np.count_nonzero(share > 0):
            logger.debug("zone overlap check: %d rounding slivers of shared borders (< %g of a zone) left out",
                         np.count_nonzero(share > 0) - poly.size, SLIVER_FRACTION)
        if poly.size == 0:
            return []
        inter_m2 = geodesic_area_m2(inter[poly], self.grid.crs)
        pairs = [pairs[i] for i in poly.tolist()]
        need = sorted({z for pair in pairs for z in pair})
        zone_m2 = dict(zip(need, geodesic_area_m2(geoms[need], self.grid.crs).tolist()))
        out = []
        for (a, b), m2 in zip(pairs, inter_m2):
            if m2 > 0:
                smaller = min(zone_m2[a], zone_m2[b])
                out.append((self.names[a], self.names[b], float(m2), float(m2 / smaller) if smaller > 0 else 1.0))
        return sorted(out, key=lambda t: -t[3])

    def _check_overlaps(self, what: str, *, strict: bool) -> None:
        found = self.overlaps()
        if not found:
            return
        big = [t for t in found if t[3] > MAX_OVERLAP_FRACTION]
        listed = "; ".join(f"'{a}' and '{b}' share {m2 / 1e4:,.1f} ha ({frac:.1%} of the smaller)"
                           for a, b, m2, frac in (big or found)[:3])
        more = f" and {len(big or found) - 3} more pairs" if len(big or found) > 3 else ""
        if big and strict:
            raise InputError(
                f"{what}: zones overlap: {listed}{more}; a pixel can belong to one zone only, so fix the layer "
                "(dissolve or clean its topology, e.g. QGIS 'Fix geometries' then 'Check validity') or use a layer "
                "whose zones do not overlap"
            )
        text = f"{what}: zones overlap: {listed}{more}; where they do, the zone listed later wins"
        if big:
            warn(OverlappingZonesWarning, text, logger=__name__)
        else:  # slivers of digitising
            logger.info("%s", text)

    @property
    def n_zones(self) -> int:
        """Number of zones, i.e. the largest zone id."""
        return len(self.names)

    @cached_property
    def zones_gdf(self) -> gpd.GeoDataFrame:
        """One row per zone: ``zone_id`` (int32), ``zone`` (name), the layer's other fields (the
        first feature's value, e.g. ``name_en`` for English map labels), dissolved ``geometry``."""
        geoms = [shapely.union_all(self.gdf.geometry.values[self._ids == z]) for z in range(1, self.n_zones + 1)]
        data = {"zone_id": np.arange(1, self.n_zones + 1, dtype=np.int32), "zone": list(self.names)}
        first = np.searchsorted(self._ids, np.arange(1, self.n_zones + 1))  # ids are sorted: each zone's first row
        for c in self.gdf.columns:
            if c in (self.gdf.geometry.name, self.field, "zone_id", "zone"):
                continue
            data[c] = self.gdf[c].to_numpy()[first]
        return gpd.GeoDataFrame(data, geometry=geoms, crs=self.grid.crs)

    def _candidates(self, window: Window) -> np.ndarray:
        c, r, h, w = _window_ints(window)
        # The pixel frame has y = -row: the window spans y in [-(r + h), -r].
        return np.sort(self._tree.query(shapely.box(c, -(r + h), c + w, -r))) if h and w else np.empty(0, int)

    def intersects(self, window: Window) -> bool:
        """True when some zone's bounding box meets the window (False: all zeros, skip it)."""
        return self._candidates(window).size > 0

    def rasterize(self, window: Window) -> np.ndarray:
        """Zone ids of a window, int32, shape (window.height, window.width), 0 outside.

        The window may reach beyond the grid; fractional offsets or sizes raise ValueError.
        """
        c, r, h, w = _window_ints(window)
        idx = self._candidates(window)
        if idx.size == 0:
            return np.full((h, w), OUTSIDE, dtype=np.int32)
        if self._burner():  # GDAL's pixels without holding the GIL (sinkplan.layers.burn)
            from sinkplan.layers.burn import burn_polygons

            out = np.full((h, w), OUTSIDE, dtype=np.int32)
            burn_polygons(self._pix[idx], self._ids[idx], out, c, r)
            return out
        return rasterio.features.rasterize(
            zip(self._pix[idx], self._ids[idx].tolist()), out_shape=(h, w),
            transform=Affine(1.0, 0.0, float(c), 0.0, -1.0, -float(r)),  # pixel frame → window: exact shift
            fill=OUTSIDE, all_touched=False, dtype="int32",
        )

    def __getstate__(self) -> dict:  # to Dask workers (site's admin zones): without the lock
        state = self.__dict__.copy()
        state.pop("_burner_lock", None)
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._burner_lock = threading.Lock()

    def _burner(self) -> bool:
        """True when the compiled burner gives GDAL's pixels for these polygons
        (:func:`sinkplan.layers.burn.burns_like_gdal`, checked once)."""
        if self._compiled is None:
            with self._burner_lock:
                if self._compiled is None:
                    from sinkplan.layers.burn import burns_like_gdal

                    self._compiled = burns_like_gdal(self._pix)
        return self._compiled

    def mask(self, window: Window) -> np.ndarray:
        """Bool array: True where a pixel centre is inside any zone (redline, farmland...)."""
        return self.rasterize(window) != OUTSIDE

    def for_blocks(self) -> "BlockZones":
        """The geometries alone, in the pixel frame: a small picklable rasterizer for the
        machine that runs a block (a Dask worker), equal to :meth:`rasterize`."""
        return BlockZones(self._pix, self._ids)


    def to_raster(
        self, path: str | os.PathLike, *, max_cells: int = DEFAULT_MAX_CELLS,
        progress: Callable[[float, str], None] | None = None,
    ) -> Path:
        """Write the zone ids as an int32 tiled DEFLATE GeoTIFF (no nodata; 0 = outside).

        Written block by block under a temporary name in the same folder, then renamed, so
        a reader (a cache reused across runs) never sees a partial file. The zone names are
        in the tag ``zone_names`` (JSON). Returns ``path``.
        """
        out = Path(path)
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp = out.with_name(f".{out.name}.{uuid.uuid4().hex}.tmp")
        profile = dict(
            driver="GTiff", width=self.grid.width, height=self.grid.height, count=1, dtype="int32",
            crs=rasterio.crs.CRS.from_wkt(self.grid.crs.to_wkt()), transform=self.grid.transform, tiled=True,
            blockxsize=256, blockysize=256, compress="deflate", predictor=2, BIGTIFF="IF_SAFER",
        )
        tiles = replace(self.grid, block_shape=(256, 256))  # blocks aligned to the output's tiles
        n = tiles.n_blocks(max_cells)
        try:
            with rasterio.open(tmp, "w", **profile) as dst:
                for k, win in enumerate(tiles.blocks(max_cells), start=1):
                    dst.write(self.rasterize(win), 1, window=win)
                    if progress is not None:
                        progress(k / n, f"zone ids: block {k}/{n}")
                dst.update_tags(zone_names=json.dumps(list(self.names), ensure_ascii=False), zone_field=self.field or "")
            os.replace(tmp, out)
        except BaseException:
            tmp.unlink(missing_ok=True)
            raise
        logger.info("wrote zone ids of %d zones to %s", self.n_zones, out)
        return out


class BlockZones:
    """Zone ids of any window from pixel-frame geometries (see :meth:`ZoneRasterizer.for_blocks`).

    Picklable: the geometries travel (as WKB) to whoever runs the block, once per worker
    when the executor scatters the block function; the spatial index is rebuilt there.
    A window is split into pieces of :attr:`PIECE` pixels: a piece wholly inside one zone's
    polygon (no other zone's box meets it) or outside every zone's box is filled without
    rasterizing; each run of the other pieces along a row is rasterized by GDAL in one call.
    """

    def __init__(self, pix: np.ndarray, ids: np.ndarray) -> None:
        self._pix, self._ids = pix, ids
        self._tree = None
        self._compiled = False  # burn with sinkplan.layers.burn (all geometries valid, numba present)
        self._lock = threading.Lock()

    def __getstate__(self) -> dict:
        return {"pix": self._pix, "ids": self._ids}

    def __setstate__(self, state: dict) -> None:
        self.__init__(state["pix"], state["ids"])

    def _index(self) -> shapely.STRtree:
        # Built once under a lock: the pass's threads call this together. The geometries are
        # not prepared: GEOS builds a prepared geometry's indexes lazily, and two threads doing
        # so at once crashed a 6 Gpx run (SIGSEGV).
        with self._lock:
            if self._tree is None:
                from sinkplan.layers.burn import burns_like_gdal

                self._compiled = burns_like_gdal(self._pix)  # else GDAL burns the layer
                self._tree = shapely.STRtree(self._pix)
        return self._tree

    #: Side (pixels) of the pieces a large window is split into, so that pieces wholly inside
    #: one zone are filled and only pieces on a boundary are rasterized. 2048 rather than 512:
    #: each rasterize call costs ~1.5 ms before its first pixel, and the 103 banners' pass took
    #: 30.3 s at 512 and 24.8 s at 2048 on 6 Gpx (one thread; 3.2 s and 2.3 s on 460 Mpx; that
    #: was one call per boundary piece, before runs of them were burned together).
    PIECE = 2048

    def rasterize(self, window: Window, dtype="int32") -> np.ndarray:
        """Zone ids of a window, 0 outside; as :meth:`ZoneRasterizer.rasterize`. ``dtype``
        (default int32) must hold every id (else ValueError): GDAL burns into it directly.
        The strata of the 103 banners over 460 Mpx took 1.46 s burned in int32 and cast to
        uint8, 0.74-0.81 s burned in uint8 (one thread)."""
        dtype = np.dtype(dtype)
        top = int(self._ids.max(initial=0))
        if dtype.kind not in "iu" or top > np.iinfo(dtype).max:
            raise ValueError(f"zone ids up to {top} do not fit {dtype}")
        return self._burn(window, dtype, self._ids)

    def mask(self, window: Window) -> np.ndarray:
        """True where a pixel centre is inside any zone."""
        return self._burn(window, np.dtype(np.uint8), np.ones_like(self._ids)).view(bool)

    def _burn(self, window: Window, dtype: np.dtype, values: np.ndarray) -> np.ndarray:
        c, r, h, w = _window_ints(window)
        out = np.empty((h, w), dtype=dtype)
        if not (h and w):
            return out
        n = self.PIECE  # pieces: whole-zone pieces are filled, runs of boundary pieces burned at once
        for i in range(0, h, n):
            ph = min(n, h - i)
            run: list[int] = []  # candidate zones of the boundary pieces from column run_start on
            run_start = 0
            for j in range(0, w + n, n):
                idx = None
                if j < w:
                    pw = min(n, w - j)
                    box = shapely.box(c + j, -(r + i + ph), c + j + pw, -(r + i))
                    idx = np.sort(self._index().query(box))
                    if idx.size == 0:
                        out[i:i + ph, j:j + pw] = OUTSIDE
                    elif idx.size == 1 and shapely.contains_properly(self._pix[idx[0]], box):
                        out[i:i + ph, j:j + pw] = values[idx[0]]  # every pixel centre inside
                    else:
                        if not run:
                            run_start = j
                        run.extend(idx.tolist())
                        continue
                if run:  # the run of boundary pieces ended: one GDAL call for all of it
                    self._piece(c + run_start, r + i, out[i:i + ph, run_start:j], values, np.unique(run))
                    run = []
        return out

    def _piece(self, c: int, r: int, out: np.ndarray, values: np.ndarray, idx: np.ndarray) -> None:
        """Burn zones ``idx`` (sorted) into ``out``, the window at (c, r)."""
        h, w = out.shape
        # Clipped to the window first: rasterio hands GDAL each geometry through Python
        # coordinate lists, so a banner's whole outline per piece cost more than the burning.
        # The cut lies on whole pixel edges, which no pixel centre touches.
        geoms = shapely.clip_by_rect(self._pix[idx], c, -(r + h), c + w, -r)
        keep = ~shapely.is_empty(geoms)
        out.fill(OUTSIDE)
        if not keep.any():
            return
        ids = values[idx][keep]
        if self._compiled:  # GDAL's pixels, without holding the GIL (sinkplan.layers.burn)
            from sinkplan.layers.burn import burn_polygons

            burn_polygons(geoms[keep], ids, out, c, r)
        elif out.flags.c_contiguous:  # GDAL burns straight into the block
            rasterio.features.rasterize(zip(geoms[keep], ids.tolist()), out=out,
                                        transform=Affine(1.0, 0.0, float(c), 0.0, -1.0, -float(r)), all_touched=False)
        else:
            out[:] = rasterio.features.rasterize(
                zip(geoms[keep], ids.tolist()), out_shape=(h, w),
                transform=Affine(1.0, 0.0, float(c), 0.0, -1.0, -float(r)),
                fill=OUTSIDE, all_touched=False, dtype=out.dtype.name)


def read_zones(path: str | os.PathLike, grid: Grid, *, field: str | None, layer: str | None = None,
               layer_param: str | None = "zone_layer", what: str = "zones") -> ZoneRasterizer:
    """The zones of a file on ``grid``: the one way every command reads ``--zones``.

    A file of several layers with geometry must name its ``layer`` (``layer_param``, default
    ``zone_layer``: ``--zone-layer`` on the command line), as exclusion files must: its first
    layer may be another layer's polygons.

    Raises
    ------
    FieldError, InputError, InputFileError, MissingCRS
        As :func:`~sinkplan.layers.vectors.read_vector` and :class:`ZoneRasterizer`.
    """
    vl = read_vector(path, layer=layer, field=field, to_crs=grid.crs, layer_param=layer_param, what=what)
    return ZoneRasterizer(vl, grid, field=field)


# ---------------------------------------------------------------------------- helpers

#: Fields a GIS writes per feature (row ids, measured lengths and areas): parts of one zone differ
#: in them, so they do not tell two zones apart.
_BOOKKEEPING = re.compile(r"(fid|objectid|ogc_fid|oid|gid|shape_(leng|length|area))(_\d+)?", re.IGNORECASE)


def check_shared_names(gdf: gpd.GeoDataFrame, field: str, values: list[str], what: str) -> None:
    """Refuse one zone name given to features that are not one zone.

    Features sharing a ``field`` value are the parts of one zone (a banner drawn as several
    features) and are merged. But two banners called alike in different leagues (新区 of two
    cities) would be merged too, and their report would show one row with both banners' sums.
    They are told apart by another field: features of one name whose text or integer field holds
    two different non-empty values (a league, an adcode) are two zones. Floating-point fields
    (areas, lengths) and a GIS's per-feature bookkeeping (``fid``, ``OBJECTID``, ``Shape_Area``)
    differ between the parts of one zone, and are not compared.

    Raises
    ------
    InputError
        One line: the field, the name, the field that differs with two of its values, and the
        fix (``zone_field`` a field unique to each zone, or the parts given the same values).
    """
    counts: dict[str, int] = {}
    for v in values:
        counts[v] = counts.get(v, 0) + 1
    shared = [v for v, n in counts.items() if n > 1]
    if not shared:
        return
    cols = [c for c in gdf.columns if c not in (field, gdf.geometry.name) and not _BOOKKEEPING.fullmatch(str(c))
            and not pd.api.types.is_float_dtype(gdf[c])]
    # said, not warned: the parts of one zone are the usual case (an INFO line on the terminal)
    logger.info("%s: %d zone name(s) given to several features, each merged into one zone: %s", what, len(shared),
                "; ".join(f"{v!r} ({counts[v]} features)" for v in shared[:5]) + (" …" if len(shared) > 5 else ""))
    if not cols:
        return
    names = pd.Series(values, index=gdf.index)
    rows = names.isin(shared)
    for c in cols:
        col = gdf.loc[rows, c]
        text = col.where(col.isna(), col.astype(str).str.strip())
        text = text.where(text != "", None)
        n_distinct = text.groupby(names[rows], sort=False).nunique(dropna=True)
        if (n_distinct > 1).any():
            name = str(n_distinct.index[int(np.argmax(n_distinct.to_numpy() > 1))])
            found = list(dict.fromkeys(text[names[rows] == name].dropna()))
            n_names = int((n_distinct > 1).sum())
            more = f" (and {n_names - 1} more names)" if n_names > 1 else ""
            unique = [k for k in gdf.columns if k not in (field, c, gdf.geometry.name) and not _BOOKKEEPING.fullmatch(str(k))
                      and gdf[k].notna().all() and gdf[k].astype(str).nunique() == len(gdf)]
            by = f"zone_field {unique[0]!r}" if unique else "a zone_field unique to each zone"
            raise InputError(
                f"{what}: {counts[name]} features are named {name!r} in field '{field}'{more} but differ in '{c}' "
                f"({', '.join(repr(f) for f in found[:3])}): they look like different zones, which would be summed "
                f"as one; name the zones by {by} (or rename them), or, if they are parts of one zone, give them "
                f"the same '{c}'", params=("zone_field",))



def _window_ints(window: Window) -> tuple[int, int, int, int]:
    vals = (window.col_off, window.row_off, window.height, window.width)
    if any(float(v) != int(v) for v in vals) or min(vals[2:]) < 0:
        raise ValueError(f"window needs whole offsets and non-negative whole sizes, got {window}")
    return tuple(int(v) for v in vals)  # type: ignore[return-value]


def _pixel_frame(t: Affine) -> Callable[[np.ndarray], np.ndarray]:
    """Map (x, y) → (col, -row) with the arithmetic of GDAL's GDALInvGeoTransform."""
    if t.b == 0 and t.d == 0:  # GDAL's north-up special case
        g = (-t.c / t.a, 1.0 / t.a, 0.0, -t.f / t.e, 0.0, 1.0 / t.e)
    else:
        k = 1.0 / (t.a * t.e - t.b * t.d)
        g = ((t.b * t.f - t.c * t.e) * k, t.e * k, -t.b * k, (-t.a * t.f + t.c * t.d) * k, -t.d * k, t.a * k)
    return lambda xy: np.column_stack(
        [(g[0] + g[1] * xy[:, 0]) + g[2] * xy[:, 1], -((g[3] + g[4] * xy[:, 0]) + g[5] * xy[:, 1])]
    )

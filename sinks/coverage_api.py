"""Forest coverage and stock volume per zone and year (what ``sinkplan coverage`` writes).

Land area (the denominator) per zone, in this order of precedence: the ``land_area_ha``
given for that zone; else the zone polygon's ellipsoidal (geodesic) area when the raster
maps at least :data:`MIN_MAPPED_FRACTION` of it; else the mapped area of the zone (valid
land-cover pixels, water included), because the forest area is only known on the mapped
part, and dividing it by the whole polygon would bias the coverage low; without zones, the
mapped area of the land-cover raster (all pixels that are not nodata).
"""

from __future__ import annotations

import logging
import math
import os
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from sinkplan.layers.errors import InputError
from sinkplan.layers.grid import DEFAULT_MAX_CELLS, Grid
from sinkplan.layers.parallel import BlockExecutor
from sinkplan.sinks.coverage import VolumeTable
from sinkplan.sinks.inputs import LandCoverInput, open_landcovers, pass_threads
from sinkplan.sinks.mapped import MIN_MAPPED_FRACTION
from sinkplan.sinks.strata import Strata, using_strata
from sinkplan.layers.parallel import Progress

__all__ = ["CoverageResult", "forest_coverage", "load_volume_table", "coverage_target", "land_area_denominators",
           "TOTAL", "MIN_MAPPED_FRACTION"]

logger = logging.getLogger(__name__)

#: ``land_area_source`` of a land area the caller gave (``land_area_ha``).
LAND_AREA_GIVEN = "official land area (land_area_ha)"

#: Zone label of the rows without zones, and the key of a total land area in ``land_area_ha``.
TOTAL = "(total)"


@dataclass(frozen=True)
class CoverageResult:
    """Forest coverage, trend and stock volume (the tables ``sinkplan coverage`` writes).

    Attributes
    ----------
    by_zone : DataFrame
        ``coverage_by_zone.csv``: per zone and year land area, forest area, coverage, gap
        to the target, mapped area and the land area's source.
    totals : DataFrame
        ``coverage_totals.csv``: the same per year over all zones.
    trend_by_zone : DataFrame
        ``trend_by_zone.csv`` (empty with one year): annual change and the year the target
        is reached at that rate.
    volume_by_zone : DataFrame
        ``volume_by_zone.csv``: growing stock volume (m³) per zone and year.
    summary : dict
        ``summary.json``.
    strata : Strata
        Zones and redline as rasterized.
    grid : Grid
        The land-cover grid.
    parameters : dict
        What the result was computed with (recorded in the manifest by
        :func:`sinkplan.sinks.folders.write_coverage`).
    """

    by_zone: pd.DataFrame
    totals: pd.DataFrame
    trend_by_zone: pd.DataFrame
    volume_by_zone: pd.DataFrame
    summary: dict
    strata: Strata
    grid: Grid
    parameters: dict = field(default_factory=dict)

    @property
    def inputs(self) -> list[str]:
        """Input files (recorded with their SHA-256 in the manifest)."""
        p = self.parameters
        return [x for x in (*p.get("landcover", {}).values(), p.get("zones"), *p.get("volume", {}).values(),
                            p.get("volume_table_file"), p.get("targets")) if x]


def load_volume_table(path: str | os.PathLike | VolumeTable | None = None) -> VolumeTable:
    """A volume table: given, read from ``path``, or the shipped Inner Mongolia table (None).

    Raises
    ------
    SchemeError
        Missing columns, unknown groups, negative volumes.
    """
    if isinstance(path, VolumeTable):
        return path
    if path is None:
        from importlib import resources

        res = resources.files("sinkplan.seeds").joinpath("densities", "volume_inner_mongolia.csv")
        return VolumeTable.from_csv("seeds/densities/volume_inner_mongolia.csv", text=res.read_text("utf-8"))
    return VolumeTable.from_csv(path)


def coverage_target(target: float | None = None, *, targets: str | os.PathLike | None = None) -> tuple[float, dict]:
    """(value, record for summary.json) of the coverage target: ``target`` or the seeded policy target.

    Raises
    ------
    InputError
        ``target`` outside (0, 1], or no seeded target when ``target`` is None.
    """
    from sinkplan.seeds.targets import load_targets

    if target is None:
        seeded = load_targets(targets).get("forest_coverage")
        if seeded is None:
            raise InputError("no forest_coverage target in the targets file; pass --target 0.235")
        return seeded.value, {"key": seeded.key, "value": seeded.value, "year": seeded.year, "clause": seeded.clause,
                              "source": seeded.source}
    if not (math.isfinite(target) and 0 < target <= 1):
        raise InputError(f"target {target}: coverage must lie in (0, 1]")
    return float(target), {"key": "forest_coverage", "value": float(target), "year": None, "clause": "--target",
                           "source": "user"}


def _volume_target(path) -> dict | None:
    from sinkplan.seeds.targets import load_targets

    t = load_targets(path).get("forest_stock_volume")
    return None if t is None else {"key": t.key, "value": t.value, "unit": t.unit, "year": t.year, "clause": t.clause,
                                   "source": t.source}


def _land_areas(land_area_ha: float | Mapping[str, float] | None, names: tuple[str, ...]) -> tuple[float | None, dict[str, float]]:
    if land_area_ha is None:
        return None, {}
    if not isinstance(land_area_ha, Mapping):
        return _positive(float(land_area_ha), "total"), {}
    total, out = None, {}
    for zone, value in land_area_ha.items():
        if zone in (TOTAL, "total"):
            total = _positive(float(value), "total")
        elif zone not in names:
            raise InputError(f"--land-area-ha: zone {zone!r} is not in the zone layer; zones: {', '.join(names) or '(none)'}")
        else:
            out[str(zone)] = _positive(float(value), zone)
    return total, out


def _positive(value: float, what: str) -> float:
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"--land-area-ha: land area of {what} must be > 0 ha, got {value}")
    return float(value)


def land_area_denominators(mapped_ha: np.ndarray, polygon_ha: np.ndarray | None, names: tuple[str, ...],
                           user_ha: Mapping[str, float]) -> tuple[np.ndarray, list[str]]:
    """Land area (ha) per zone id and where it comes from.

    Parameters
    ----------
    mapped_ha : ndarray, shape (zones + 1,)
        Mapped area (valid land-cover pixels, water included) per zone id; id 0 is outside
        every zone (or the whole map without zones).
    polygon_ha : ndarray, shape (zones,), or None
        Ellipsoidal area of each zone polygon; None without zones.
    names : tuple of str
        Zone names by id (``names[0]`` for id 0).
    user_ha : mapping
        ``--land-area-ha`` per zone name.

    Returns
    -------
    (ndarray, list of str)
        ``land_area_ha`` and ``land_area_source`` per zone id. A zone the raster maps less
        than :data:`MIN_MAPPED_FRACTION` of gets its mapped area, with a warning.

    Examples
    --------
    >>> land, src = land_area_denominators(np.array([0.0, 17.7, 99.9]), np.array([100.0, 100.0]), ("", "A", "B"), {})
    >>> land.tolist(), src[1], src[2]
    ([0.0, 17.7, 100.0], 'mapped land (raster covers 17.7 % of the zone polygon)', 'zone polygon (geodesic)')
    """
    land = np.array(mapped_ha, dtype=np.float64)
    source = ["mapped pixels"] * len(land)
    if polygon_ha is None:
        return land, source
    for i, name in enumerate(names[1:], start=1):
        poly = float(polygon_ha[i - 1])
        if name in user_ha:
            land[i], source[i] = user_ha[name], LAND_AREA_GIVEN
        elif mapped_ha[i] >= MIN_MAPPED_FRACTION * poly:
            land[i], source[i] = poly, "zone polygon (geodesic)"
        else:
            share = 100 * mapped_ha[i] / poly if poly > 0 else 0.0
            source[i] = f"mapped land (raster covers {share:.1f} % of the zone polygon)"
            if mapped_ha[i] == 0:
                logger.warning("zone %s: the raster maps none of its %.6g ha; it has no coverage", name, poly)
            else:
                logger.warning("zone %s: the raster maps %.6g ha of its %.6g ha polygon (%.1f %%); coverage uses the "
                               "mapped area as the land area (give --land-area-ha to set it)", name, mapped_ha[i], poly, share)
    return land, source


def _f(x: float) -> float | None:
    return None if not math.isfinite(float(x)) else float(x)


def _trend_dict(t) -> dict:
    # a zone the raster does not map has no coverage, so no rate: None (JSON has no NaN)
    return {"first_year": t.first_year, "last_year": t.last_year, "annual_change": _f(t.annual_change),
            "annual_forest_change_ha": _f(t.annual_forest_change_ha), "target_year_at_this_rate": t.target_year}


def forest_coverage(
    years: Mapping[int | None, LandCoverInput],
    *,
    scheme: str = "clcd",
    map_codes: str | None = None,
    zones: str | os.PathLike | None = None,
    zone_field: str | None = None,
    zone_layer: str | None = None,
    redline: str | os.PathLike | None = None,
    strata: Strata | None = None,
    target: float | None = None,
    targets: str | os.PathLike | None = None,
    count_shrub: bool = False,
    land_area_ha: float | Mapping[str, float] | None = None,
    volume: Mapping[int | None, str | os.PathLike] | None = None,
    volume_table: str | os.PathLike | VolumeTable | None = None,
    max_cells: int = DEFAULT_MAX_CELLS,
    executor: BlockExecutor | None = None,
    progress: Progress | None = None,
    threads: int | None = None,
) -> CoverageResult:
    """Forest coverage (forest area ÷ land area, ellipsoidal areas) per zone and year, its
    trend to the target, and the growing stock volume.

    Parameters
    ----------
    years : mapping of year to path or LandCover
        Land-cover rasters on one grid, e.g. ``{2015: "lc2015.tif", 2020: "lc2020.tif"}``
        (one raster may have the year None).
    scheme, map_codes : optional
        Class scheme of the codes and codes it lacks (``"200=7"``).
    zones, zone_field, zone_layer, redline, strata : optional
        Zone polygons (and the field naming them), or ``strata`` from
        :func:`sinkplan.sinks.strata.prepare_strata`.
    target : float, optional
        Coverage target as a fraction (default: the seeded policy target, 0.235).
    targets : path, optional
        Policy targets file (default: the packaged one).
    count_shrub : bool
        Count the shrubland group as specially designated shrub forest.
    land_area_ha : float or mapping, optional
        Official land area: a total in ha, or ``{zone: ha}`` (the key ``"(total)"`` sets the total).
    volume : mapping of year to path, optional
        Growing stock volume rasters (m³/ha) on the land-cover grid; other years use the table.
    volume_table : path or VolumeTable, optional
        Volume per class (default: the shipped Inner Mongolia table).
    max_cells, executor, progress, threads
        As for :func:`sinkplan.sinks.api.carbon_stocks`.

    Returns
    -------
    CoverageResult

    Raises
    ------
    InputError
        A target outside (0, 1], a land area ≤ 0 or for an unknown zone, a volume raster for a
        year without land cover.
    GridMismatch
        Rasters not on one grid.
    UnknownClassCode
        Codes the scheme lacks.

    Examples
    --------
    >>> res = forest_coverage({2015: "lc2015.tif", 2020: "lc2020.tif"}, zones="banners.gpkg",  # doctest: +SKIP
    ...                       zone_field="name_zh")
    >>> res.by_zone.pivot(index="zone", columns="year", values="coverage")  # doctest: +SKIP
    """
    from sinkplan.layers.geodesy import geodesic_area_m2
    from sinkplan.layers.landcover import check_codes
    from sinkplan.sinks.blocks import ClassSlots, PassSpec, run_pass
    from sinkplan.sinks.coverage import coverage, forest_area_ha, gap_ha, trend
    from sinkplan.sinks.stocks import class_area_ha

    year_list = list(years)
    if len(year_list) > 1 and None in year_list:
        raise InputError("several land-cover rasters: give each a year, e.g. 2015=lc2015.tif 2020=lc2020.tif")
    lcs = open_landcovers(list(years.values()), scheme=scheme, map_codes=map_codes)
    grid = lcs[0].grid
    target, target_rec = coverage_target(target, targets=targets)
    vol_table = load_volume_table(volume_table)
    vol_rasters = {}
    for year, path in (volume or {}).items():
        if year not in year_list:
            raise InputError(f"--volume {path}: year {year} has no land-cover raster; years: {year_list}")
        grid.check_same(Grid.from_raster(path), names=("land cover", str(path)))
        vol_rasters[year] = path
    with using_strata(grid, strata=strata, zones=zones, zone_field=zone_field, zone_layer=zone_layer, redline=redline,
                      max_cells=max_cells, progress=progress) as st:
        has_zones = st.has_zones
        user_total, user_zones = _land_areas(land_area_ha, st.names[1:])
        areas, volumes = [], []
        for year, lc in zip(year_list, lcs):
            slots = ClassSlots.build(lc.scheme, dtype=lc.dtype, nodata=(lc.nodata,))
            vpath = vol_rasters.get(year)
            spec = PassSpec(grid, (str(lc.path),), (slots,), st.source,
                            st.nzones, st.sides, values=None if vpath is None else str(vpath))
            res = run_pass(spec, max_cells=max_cells, executor=executor, progress=progress,
                           label=f"coverage of {lc.path.name}", threads=pass_threads() if threads is None else threads)
            check_codes(res.unknown[0], lc.scheme, lc.path)
            a = class_area_ha(res)
            areas.append(a)
            groups = tuple(lc.scheme.by_code[c].group for c in slots.codes)
            if vpath is not None:  # Σ m³/ha × m² / (10⁴ m²/ha) = m³
                volumes.append((res.value_sum.sum(axis=tuple(range(1, res.value_sum.ndim))) / 1e4, f"raster {vpath}"))
            else:
                per_ha = vol_table.per_class(lc.scheme, slots.codes)
                volumes.append(((a * per_ha).sum(axis=(1, 2)), f"table {vol_table.origin}"))
    # Land area per zone id (0: outside zones / whole map).
    mapped = np.array([a.sum(axis=(1, 2)) for a in areas]).max(axis=0)  # ha per zone id
    poly_ha = geodesic_area_m2(st.zones_gdf.geometry.values, st.zones_gdf.crs) / 1e4 if has_zones else None  # m² → ha
    land, source = land_area_denominators(mapped, poly_ha, st.names, user_zones)
    rows_ids = list(range(1, len(st.names))) if has_zones else [0]
    if has_zones and mapped[0] > 0:
        rows_ids.append(0)
    partial = [st.names[z] for z in rows_ids if source[z].startswith("mapped land")]
    total_source = "sum of zones" + (f" (mapped land for {', '.join(partial)})" if partial else "")
    rows, totals = [], []
    for year, a in zip(year_list, areas):
        forest = forest_area_ha(a, groups, count_shrub=count_shrub)
        cov = coverage(forest, land)
        gap = gap_ha(forest, land, target)
        for z in rows_ids:
            rows.append({"zone": st.names[z] if has_zones else TOTAL, "year": year,
                         "land_area_ha": float(land[z]), "forest_area_ha": float(forest[z]),
                         "coverage": _f(cov[z]), "gap_ha": float(gap[z]), "mapped_area_ha": float(mapped[z]),
                         "land_area_source": source[z]})
        total_land = user_total if user_total is not None else float(land[rows_ids].sum())
        total_forest = float(forest.sum())
        totals.append({"year": year, "land_area_ha": total_land, "forest_area_ha": total_forest,
                       "coverage": _f(total_forest / total_land), "gap_ha": max(0.0, target * total_land - total_forest),
                       "land_area_source": LAND_AREA_GIVEN if user_total is not None else total_source})
    df = pd.DataFrame(rows)
    trend_rows, trend_total = [], None
    if len(year_list) > 1:
        for z in rows_ids:
            sub = df[df.zone == (st.names[z] if has_zones else TOTAL)]
            t = trend(list(sub.year), list(sub.coverage), list(sub.forest_area_ha), target)
            trend_rows.append({"zone": sub.zone.iloc[0], **_trend_dict(t)})
        t = trend(year_list, [r["coverage"] for r in totals], [r["forest_area_ha"] for r in totals], target)
        trend_total = _trend_dict(t)
    vol_rows = [{"zone": st.names[z] if has_zones else TOTAL, "year": y, "volume_m3": float(v[z]), "source": src}
                for y, (v, src) in zip(year_list, volumes) for z in rows_ids]
    vol_total = [{"year": y, "volume_m3": float(v.sum()), "source": src} for y, (v, src) in zip(year_list, volumes)]
    vol_target = _volume_target(targets)
    last_vol = vol_total[int(np.argmax([y or 0 for y in year_list]))]
    summary = {
        "target": target_rec, "count_shrub": count_shrub,
        "forest_groups": ["forest", "shrubland"] if count_shrub else ["forest"],
        "zones": [{k: r[k] for k in ("zone", "year", "land_area_ha", "forest_area_ha", "coverage", "gap_ha")} for r in rows],
        "totals": totals, "trend": trend_total, "trend_by_zone": trend_rows,
        "volume": {"by_year": vol_total, "target": vol_target,
                   "share_of_target": None if vol_target is None else last_vol["volume_m3"] / vol_target["value"]},
        "units": {"area": "ha", "coverage": "fraction", "volume": "m3", "annual_change": "fraction per year"},
    }
    params = {"landcover": {str(y): str(lc.path) for y, lc in zip(year_list, lcs)}, "scheme": lcs[0].scheme.name,
              "zones": st.zone_source, "zone_field": st.zone_field, "count_shrub": count_shrub, "target": target,
              "targets": None if targets is None else str(targets),
              "land_area_ha": None if land_area_ha is None else (dict(land_area_ha) if isinstance(land_area_ha, Mapping)
                                                                 else float(land_area_ha)),
              "volume": {str(y): str(p) for y, p in vol_rasters.items()}, "volume_table": vol_table.origin,
              "volume_table_file": vol_table.origin if os.path.isfile(str(vol_table.origin)) else None,
              "max_cells": max_cells}
    return CoverageResult(df, pd.DataFrame(totals), pd.DataFrame(trend_rows), pd.DataFrame(vol_rows), summary, st, grid,
                          params)

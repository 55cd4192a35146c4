"""Forest coverage and stock volume per zone and year (what ``sinkplan coverage`` writes).

Coverage follows the national definition (:data:`sinkplan.sinks.shrub_rule.DEFINITION`):
(tree forest + special shrubland [+ ``extra_forest_ha``: 四旁树, 农田林网 a 30 m map misses])
÷ land area. Special shrubland is decided by the rule of 林资发〔2004〕14号 from the user's data
(:mod:`sinkplan.sinks.shrub_rule`); where it cannot be decided for lack of data the table says so
per zone, ``coverage`` is left empty and the bounds ``coverage_trees_only`` and
``coverage_all_shrub`` are given (a zone without shrubland needs no rule). ``count_shrub``
(all shrub) and ``trees_only`` are explicit choices of one bound.

Land area (the denominator) per zone, in this order of precedence: the ``land_area_ha``
given for that zone; else the zone polygon's ellipsoidal (geodesic) area when the raster
maps at least :data:`MIN_MAPPED_FRACTION` of it; else the mapped area of the zone (valid
land-cover pixels, water included), because the forest area is only known on the mapped
part, and dividing it by the whole polygon would bias the coverage low; without zones, the
mapped area of the land-cover raster (all pixels that are not nodata).

Targets apply where they are targets (:mod:`sinkplan.sinks.zone_targets`): the seeded
provincial target to a run covering the province (or with ``provincial_target``), a
``--target`` to every zone, per-zone targets from a CSV to their zones.
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
from sinkplan.layers.parallel import BlockExecutor, Progress
from sinkplan.layers.warnings import BoundsOnlyWarning, PartlyMappedZoneWarning, warn
from sinkplan.sinks.hierarchy import ZoneHierarchy
from sinkplan.sinks.inputs import LandCoverInput, open_landcovers, pass_threads
from sinkplan.sinks.mapped import MIN_MAPPED_FRACTION
from sinkplan.sinks.strata import Strata, using_strata
from sinkplan.sinks.volume import VolumeTable, check_volume_raster

__all__ = ["CoverageResult", "forest_coverage", "load_volume_table", "coverage_target", "land_area_denominators",
           "TOTAL", "MIN_MAPPED_FRACTION", "LAND_AREA_GIVEN"]

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
        ``coverage_by_zone.csv``: per zone (and group and region with ``group_by``) and year:
        land area, tree forest, special shrubland, all shrubland, extra forest, counted forest,
        coverage by the official definition and its bounds, how the shrub rule was decided,
        the target that applies and the gap to it, mapped area and the land area's source.
    totals : DataFrame
        ``coverage_totals.csv``: the same per year over all rows of ``by_zone``'s zones.
    trend_by_zone : DataFrame
        ``trend_by_zone.csv`` (empty with one year): annual change and the year the target is
        reached at that rate (where a target applies).
    volume_by_zone : DataFrame
        ``volume_by_zone.csv``: growing stock volume (m³) per zone and year, per hectare of tree forest.
    volume_change : DataFrame
        ``volume_change_by_zone.csv`` (empty with one year): the change between consecutive
        years split into an area effect and a growth effect.
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
    volume_change: pd.DataFrame
    summary: dict
    strata: Strata
    grid: Grid
    parameters: dict = field(default_factory=dict)

    @property
    def inputs(self) -> list[str]:
        """Input files (recorded with their SHA-256 in the manifest)."""
        p = self.parameters
        return [x for x in (*p.get("landcover", {}).values(), p.get("zones"), *p.get("volume", {}).values(),
                            p.get("volume_table_file"), p.get("targets"), p.get("precip"), p.get("shrub_cover"),
                            p.get("special_shrub")) if x]


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
    from sinkplan.sinks.zone_targets import is_zone_table

    if target is None:
        seeded = load_targets(None if is_zone_table(targets) else targets).get("forest_coverage")
        if seeded is None:
            raise InputError("no forest_coverage target in the targets file; give target=0.235", params=("target",))
        return seeded.value, {"key": seeded.key, "value": seeded.value, "year": seeded.year, "clause": seeded.clause,
                              "source": seeded.source, "region": seeded.region,
                              "region_land_area_ha": seeded.region_land_area_ha}
    if not (math.isfinite(target) and 0 < target <= 1):
        raise InputError(f"target {target}: coverage must lie in (0, 1]")
    return float(target), {"key": "forest_coverage", "value": float(target), "year": None, "clause": "--target",
                           "source": "user", "region": None, "region_land_area_ha": None}


def _volume_target(path) -> dict | None:
    from sinkplan.seeds.targets import load_targets
    from sinkplan.sinks.zone_targets import is_zone_table

    t = load_targets(None if is_zone_table(path) else path).get("forest_stock_volume")
    return None if t is None else {"key": t.key, "value": t.value, "unit": t.unit, "year": t.year, "clause": t.clause,
                                   "source": t.source, "region": t.region, "region_land_area_ha": t.region_land_area_ha}


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
            raise InputError(f"land_area_ha: zone {zone!r} is not in the zone layer; zones: {', '.join(names) or '(none)'}",
                             params=("land_area_ha",))
        else:
            out[str(zone)] = _positive(float(value), zone)
    return total, out


def _positive(value: float, what: str) -> float:
    if not math.isfinite(value) or value <= 0:
        raise InputError(f"land_area_ha: land area of {what} must be > 0 ha, got {value}", params=("land_area_ha",))
    return float(value)


def _extra_forest(extra: float | Mapping[str, float] | None, names: tuple[str, ...], has_zones: bool) -> np.ndarray:
    """Extra forest area (ha) per zone id (四旁树, 农田林网)."""
    out = np.zeros(len(names))
    if extra is None:
        return out
    if not isinstance(extra, Mapping):
        if has_zones:
            raise InputError("extra_forest_ha: give it per zone ({zone: ha}; on the command line ZONE=HA,... or a CSV "
                             "with columns zone and extra_forest_ha)", params=("extra_forest_ha",))
        extra = {TOTAL: extra}
    for zone, value in extra.items():
        v = float(value)
        if not math.isfinite(v) or v < 0:
            raise InputError(f"extra_forest_ha: {zone}: {value!r} must be ≥ 0 ha", params=("extra_forest_ha",))
        if not has_zones and zone in (TOTAL, "total"):
            out[0] = v
        elif zone in names[1:]:
            out[names.index(zone)] = v
        else:
            raise InputError(f"extra_forest_ha: zone {zone!r} is not in the zone layer; zones: "
                             f"{', '.join(names[1:]) or '(none)'}", params=("extra_forest_ha",))
    return out


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
                warn(PartlyMappedZoneWarning, f"zone {name}: the raster maps none of its {poly:.6g} ha; it has no coverage",
                     logger=__name__)
            else:
                warn(PartlyMappedZoneWarning, f"zone {name}: the raster maps {mapped_ha[i]:.6g} ha of its {poly:.6g} ha "
                     f"polygon ({share:.1f} %); coverage uses the mapped area as the land area (give land_area_ha to set "
                     "it)", logger=__name__, params=("land_area_ha",))
    return land, source


def _check_land_holds_forest(rows: list[dict], totals: list[dict]) -> None:
    """Refuse a given land area (``land_area_ha``) or extra forest (``extra_forest_ha``) that makes
    the forest counted exceed the land: the coverage would be above 100 %.

    Only rows whose land area or extra forest the caller gave are checked: a land area from the
    zone polygon or the mapped pixels holds the mapped forest by construction (up to the
    pixel-centre rule on slivers, which is no input error).
    """
    checked = [(r["zone"], r) for r in rows if r["land_area_source"] == LAND_AREA_GIVEN or r["extra_forest_ha"] > 0]
    checked += [("the run total", t) for t in totals
                if t["land_area_source"] == LAND_AREA_GIVEN or t["extra_forest_ha"] > 0]
    for name, r in checked:
        # the forest counted (tree forest + special shrubland + extra), or where the shrub rule is
        # undecided its lower bound (tree forest + extra)
        lowest = r["counted_forest_ha"] if r["counted_forest_ha"] is not None else r["forest_area_ha"] + r["extra_forest_ha"]
        if r["land_area_ha"] > 0 and lowest > r["land_area_ha"] * (1 + 1e-9):
            given = [p for p, on in (("land_area_ha", r["land_area_source"] == LAND_AREA_GIVEN),
                                     ("extra_forest_ha", r["extra_forest_ha"] > 0)) if on]
            year = f" in {r['year']}" if r.get("year") is not None else ""
            raise InputError(
                f"{' / '.join(given)}: {name}{year} would have {lowest:,.6g} ha of forest"
                + (f" ({lowest - r['extra_forest_ha']:,.6g} mapped + {r['extra_forest_ha']:,.6g} extra)" if r["extra_forest_ha"] > 0 else "")
                + f" on {r['land_area_ha']:,.6g} ha of land (coverage {100 * lowest / r['land_area_ha']:.1f} %); "
                "check the land area (ha, not km² or mu) and the extra forest given for it",
                params=tuple(given))


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
    provincial_target: bool = False,
    count_shrub: bool = False,
    trees_only: bool = False,
    precip: str | os.PathLike | None = None,
    precip_field: str | None = None,
    shrub_cover: str | os.PathLike | None = None,
    special_shrub: str | os.PathLike | None = None,
    special_shrub_layer: str | None = None,
    extra_forest_ha: float | Mapping[str, float] | None = None,
    land_area_ha: float | Mapping[str, float] | None = None,
    volume: Mapping[int | None, str | os.PathLike] | None = None,
    volume_table: str | os.PathLike | VolumeTable | None = None,
    group_by: str | ZoneHierarchy | None = None,
    max_cells: int = DEFAULT_MAX_CELLS,
    executor: BlockExecutor | None = None,
    progress: Progress | None = None,
    threads: int | None = None,
) -> CoverageResult:
    """Forest coverage by the official definition per zone and year, its trend to the target
    where one applies, and the growing stock volume by stratum.

    Parameters
    ----------
    years : mapping of year to path or LandCover
        Land-cover rasters on one grid, e.g. ``{2015: "lc2015.tif", 2020: "lc2020.tif"}``
        (one raster may have the year None); any number of years.
    scheme, map_codes : optional
        Class scheme of the codes and codes it lacks (``"200=7"``).
    zones, zone_field, zone_layer, redline, strata : optional
        Zone polygons (and the field naming them), or ``strata`` from
        :func:`sinkplan.sinks.strata.prepare_strata` (then ``zones``, if given, is only read for
        zone attributes: ``precip_field``, ``group_by``, a volume table's zone column).
    target : float, optional
        The user's coverage target as a fraction, for every zone and the total.
    targets : path, optional
        Policy targets (TOML, default the packaged provincial ones) or per-zone targets (CSV:
        zone, indicator, value, year).
    provincial_target : bool
        Compare the run total with the provincial target although the run does not cover
        the province.
    count_shrub, trees_only : bool
        Count all shrubland as special shrubland (upper bound), or none (lower bound).
    precip, precip_field, shrub_cover, special_shrub, special_shrub_layer : optional
        Data deciding the special-shrubland rule (:mod:`sinkplan.sinks.shrub_rule`).
    extra_forest_ha : float or mapping, optional
        Forest a 30 m map misses (四旁树, 农田林网), ha per zone name (a number without zones).
    land_area_ha : float or mapping, optional
        Official land area: a total in ha, or ``{zone: ha}`` (the key ``"(total)"`` sets the total).
    volume : mapping of year to path, optional
        Growing stock volume rasters (m³/ha) on the land-cover grid; other years use the table.
    volume_table : path or VolumeTable, optional
        Volume per hectare by (zone or zone attribute, group or code, year) (default: the
        shipped Inner Mongolia table, tree forest, 2013 and 2018 inventory bases).
    group_by : str or ZoneHierarchy, optional
        Field of the zone layer holding each zone's group: rows per group and for the region.
    max_cells, executor, progress, threads
        As for :func:`sinkplan.sinks.api.carbon_stocks`.

    Returns
    -------
    CoverageResult

    Raises
    ------
    InputError
        A target outside (0, 1], a land area ≤ 0 or for an unknown zone, a volume raster for a
        year without land cover, conflicting shrub options, unusable rule data.
    GridMismatch
        Rasters not on one grid.
    UnknownClassCode
        Codes the scheme lacks.

    Examples
    --------
    >>> res = forest_coverage({2015: "lc2015.tif", 2020: "lc2020.tif"}, zones="banners.gpkg",  # doctest: +SKIP
    ...                       zone_field="name_zh", precip="precip_mm.tif")
    >>> res.by_zone.pivot(index="zone", columns="year", values="coverage")  # doctest: +SKIP
    """
    from sinkplan.layers.continuous import open_continuous
    from sinkplan.layers.landcover import check_codes
    from sinkplan.sinks.blocks import ClassSlots, PassSpec, run_pass
    from sinkplan.sinks.hierarchy import REGION_TOTAL, level_columns, report_units, resolve_hierarchy, split_summary, zone_attribute
    from sinkplan.sinks.shrub_rule import COVER_MIN_PCT, DEFINITION, RULE, PolygonFactor, RuleFactor, zone_qualifies
    from sinkplan.sinks.stocks import class_area_ha
    from sinkplan.sinks.coverage_tables import (
        ShrubData,
        clean,
        coverage_row,
        mode_note,
        pct,
        shrub_mode,
        trend_of,
        volume_tables,
        year_account,
    )
    from sinkplan.sinks.zone_targets import is_zone_table, load_zone_targets, provincial_applies

    year_list = list(years)
    if len(year_list) > 1 and None in year_list:
        raise InputError("several land-cover rasters: give each a year, e.g. 2015=lc2015.tif 2020=lc2020.tif")
    data = ShrubData(None if precip is None else str(precip), precip_field, None if shrub_cover is None else str(shrub_cover),
                     None if special_shrub is None else str(special_shrub), special_shrub_layer)
    mode = shrub_mode(count_shrub, trees_only, data)
    lcs = open_landcovers(list(years.values()), scheme=scheme, map_codes=map_codes)
    grid = lcs[0].grid
    user_target = target is not None
    target_value, target_rec = coverage_target(target, targets=targets)
    vol_table = load_volume_table(volume_table)
    vol_rasters = {}
    for year, path in (volume or {}).items():
        if year not in year_list:
            raise InputError(f"volume {path}: year {year} has no land-cover raster; years: {year_list}", params=("volume",))
        grid.check_same(Grid.from_raster(path), names=("land cover", str(path)), resampling="bilinear")
        check_volume_raster(path)
        vol_rasters[year] = path
    factor = None
    if special_shrub is not None:
        factor = PolygonFactor.from_layer(special_shrub, grid, layer=special_shrub_layer)
    elif precip is not None or shrub_cover is not None:
        from sinkplan.layers.continuous import check_precipitation_mm, cover_scale

        if precip is not None:
            check_precipitation_mm(precip)
        # a cover raster in fractions (0-1) is read as such, decided once for the whole raster
        # (0.5 was read as 0.5 % and never passed the 30 % rule)
        cover_frac = shrub_cover is not None and cover_scale(shrub_cover) == 1.0
        if cover_frac:
            logger.info("%s: shrub cover values are 0-1, read as fractions (> %.2f)", shrub_cover, COVER_MIN_PCT / 100)
        factor = RuleFactor(None if precip is None else open_continuous(precip, grid, what="precipitation (mm/yr)"),
                            None if shrub_cover is None else open_continuous(
                                shrub_cover, grid, what="shrub cover (fraction)" if cover_frac else "shrub cover (%)",
                                valid_range=(0.0, 1.0) if cover_frac else (0.0, 100.0)),
                            cover_min=COVER_MIN_PCT / 100 if cover_frac else COVER_MIN_PCT)
    with using_strata(grid, strata=strata, zones=zones if strata is None else None, zone_field=zone_field,
                      zone_layer=zone_layer, redline=redline, max_cells=max_cells, progress=progress) as st:
        has_zones = st.has_zones
        hierarchy = resolve_hierarchy(group_by, st, zones=zones, zone_field=zone_field, zone_layer=zone_layer)
        source = zones if zones is not None else st.zone_source
        zone_field = zone_field if zone_field is not None else getattr(st, "zone_field", None)
        zone_precip = None
        if precip_field is not None and special_shrub is None:
            if not has_zones:
                raise InputError(f"precip_field {precip_field!r} needs zones: it is a field of the zone layer",
                                 params=("precip_field", "zones"))
            mm = zone_attribute(source, zone_field=zone_field, field=precip_field, names=st.names,
                                layer=zone_layer, numeric=True, what="precip_field")
            zone_precip = zone_qualifies(mm)  # the county mean below 400 mm: YES / NO / UNKNOWN (no value)
        vol_keys: list = [None] * len(st.names)
        if vol_table.zone_column is not None:
            if not has_zones:
                raise InputError(f"volume table {vol_table.origin}: column {vol_table.zone_column!r} keys values by zone; "
                                 "give zones", params=("zones",))
            vol_keys = [None, *st.names[1:]] if vol_table.zone_column == "zone" else zone_attribute(
                source, zone_field=zone_field, field=vol_table.zone_column, names=st.names, layer=zone_layer,
                what=f"volume table {vol_table.origin} column")
        user_total, user_zones = _land_areas(land_area_ha, st.names[1:])
        extra = _extra_forest(extra_forest_ha, st.names, has_zones)
        areas, vol_sums = [], []
        for year, lc in zip(year_list, lcs):
            slots = ClassSlots.build(lc.scheme, dtype=lc.dtype, nodata=(lc.nodata,))
            vpath = vol_rasters.get(year)
            spec = PassSpec(grid, (lc.pass_input,), (slots,), st.source,
                            st.nzones, st.sides, values=None if vpath is None else str(vpath), factor=factor)
            res = run_pass(spec, max_cells=max_cells, executor=executor, progress=progress,
                           label=f"coverage of {lc.path.name}", threads=pass_threads() if threads is None else threads)
            check_codes(res.unknown[0], lc.scheme, lc.path)
            areas.append(class_area_ha(res).sum(axis=1))  # sides summed (exact): (zones + 1, n[, levels])
            # Σ m³/ha × m² / (10⁴ m²/ha) = m³, over tree-forest pixels only: stock volume (森林蓄积量)
            # is the forest's; the raster's values on other land (grassland, shrub, 四旁树) were summed
            # into it and divided by the forest area
            forest_slots = np.array([lc.scheme.by_code[c].group == "forest" for c in slots.codes] + [False, False])
            vol_sums.append(None if vpath is None else
                            res.value_sum[:, :, forest_slots].sum(axis=tuple(range(1, res.value_sum.ndim))) / 1e4)
        codes = slots.codes
    scheme_ = lcs[0].scheme
    groups = tuple(scheme_.by_code[c].group for c in codes)
    is_forest = np.array([g == "forest" for g in groups])
    is_shrub = np.array([g == "shrubland" for g in groups])
    per_year = [year_account(a, factor is not None, is_forest, is_shrub, zone_precip, mode) for a in areas]
    mapped = np.array([p["mapped"] for p in per_year]).max(axis=0)  # ha per zone id
    poly_ha = st.polygon_area_ha if has_zones else None
    land, land_source = land_area_denominators(mapped, poly_ha, st.names, user_zones)
    rows_ids = list(range(1, len(st.names))) if has_zones else [0]
    if has_zones and mapped[0] > 0:
        rows_ids.append(0)
    names = st.names if has_zones else (TOTAL,) * len(st.names)
    units = report_units(names, rows_ids, hierarchy)
    total_unit = type(units[0])(TOTAL, tuple(rows_ids), "total", None)
    run_land = user_total if user_total is not None else float(land[rows_ids].sum())
    # --- which target applies where
    zone_targets = {}
    if is_zone_table(targets):
        allowed = {u.name for u in units} | {REGION_TOTAL, TOTAL}
        zone_targets = {(t.zone, t.indicator): t for t in load_zone_targets(
            targets, allowed, indicators=("forest_coverage", "forest_stock_volume"))}
    if user_target:
        prov_ok, prov_why = False, "--target given: the user's target applies to every zone and the total"
    else:
        prov_ok, prov_why = provincial_applies(target_rec.get("region_land_area_ha"), run_land, forced=provincial_target)

    def unit_target(name: str, level: str) -> tuple[float | None, str]:
        zt = zone_targets.get((name, "forest_coverage"))
        if zt is None and level == "total":
            zt = zone_targets.get((REGION_TOTAL, "forest_coverage"))
        if zt is not None:
            return zt.value, f"per-zone targets {targets}" + (f" ({zt.year})" if zt.year else "")
        if user_target:
            return target_value, "user target (--target)"
        if level in ("total", "region") and prov_ok and (level == "total" or not has_zones or 0 not in rows_ids):
            return target_value, f"{target_rec['source']} ({target_rec['year']})"
        return None, "none applies"

    rows_units = [u for _ in year_list for u in units]
    rows, totals = [], []
    for year, p in zip(year_list, per_year):
        for u in units:
            rows.append(coverage_row(u, year, p, land, extra, land_source, unit_target(u.name, u.level), data))
        t = coverage_row(total_unit, year, p, land, extra, land_source, unit_target(TOTAL, "total"), data,
                          land_total=user_total)
        partial = [st.names[z] for z in rows_ids if land_source[z].startswith("mapped land")] if has_zones else []
        t["land_area_source"] = LAND_AREA_GIVEN if user_total is not None else (
            "sum of zones" + (f" (mapped land for {', '.join(partial)})" if partial else ""))
        del t["zone"], t["mapped_area_ha"]
        totals.append(t)
    _check_land_holds_forest(rows, totals)
    not_applied = list(dict.fromkeys(r["zone"] for r in rows if r["coverage"] is None and r["land_area_ha"] > 0))
    if not_applied:
        lo = "/".join(pct(t["coverage_trees_only"]) for t in totals)
        hi = "/".join(pct(t["coverage_all_shrub"]) for t in totals)
        listed = ", ".join(not_applied[:6]) + (" …" if len(not_applied) > 6 else "")
        why = "no precipitation or designation data" if mode == "missing" else "no data on part of the shrubland"
        warn(BoundsOnlyWarning, f"coverage: the special-shrubland rule (林资发〔2004〕14号) cannot be applied in "
             f"{len(not_applied)} zone(s) ({listed}) for lack of data ({why}); there coverage is given as bounds only. "
             f"Whole run, year by year: trees only {lo}, all shrub {hi}. Give precip RASTER, precip_field FIELD or "
             "special_shrub LAYER", logger=__name__, params=("precip", "precip_field", "special_shrub"))
    trend_rows, trend_total = [], None
    if len(year_list) > 1:
        for u in units:
            sub = [r for r, uu in zip(rows, rows_units) if uu is u]
            trend_rows.append({"zone": u.name, **trend_of(sub, year_list, unit_target(u.name, u.level)[0])})
        trend_total = trend_of(totals, year_list, unit_target(TOTAL, "total")[0])
    vol_rows, vol_change, vol_total = volume_tables(per_year, year_list, units, total_unit, vol_table, vol_rasters, vol_sums,
                                                     scheme_, codes, is_forest, vol_keys)
    vol_target = _volume_target(targets)
    if vol_target is not None and ("forest_stock_volume" not in {k for _, k in zone_targets}):
        vol_ok, vol_why = provincial_applies(vol_target.get("region_land_area_ha"), run_land, forced=provincial_target)
    else:
        vol_ok, vol_why = False, "no provincial volume target" if vol_target is None else "per-zone targets given"
    for r in vol_rows:
        zt = zone_targets.get((r["zone"], "forest_stock_volume"))
        r["target_m3"] = None if zt is None else zt.value
        r["share_of_target"] = None if zt is None else r["volume_m3"] / zt.value
    last = int(np.argmax([y or 0 for y in year_list]))
    summary = {
        "definition": DEFINITION,
        "special_shrub_rule": {"rule": RULE, "mode": mode, "data": data.describe() or None,
                               "cover_checked": bool(shrub_cover) or bool(special_shrub),
                               "note": mode_note(mode, data), "not_applied_zones": not_applied},
        "target": {**target_rec, "applies_to_total": bool(prov_ok or user_target), "why": prov_why},
        "zone_targets": [t.record() for t in zone_targets.values()],
        "count_shrub": count_shrub, "trees_only": trees_only,
        "forest_groups": {"rule": ["forest", "shrubland (special shrubland only)"], "all": ["forest", "shrubland"],
                          "none": ["forest"], "missing": ["forest", "shrubland (undecided: bounds)"]}[mode],
        "totals": totals, "trend": trend_total,
        "volume": {"by_year": vol_total, "table": vol_table.origin, "target": vol_target, "target_applies": vol_ok,
                   "why": vol_why,
                   "share_of_target": vol_total[last]["volume_m3"] / vol_target["value"] if vol_target and vol_ok else None},
        "units": {"area": "ha", "coverage": "fraction", "volume": "m3", "annual_change": "fraction per year"},
    }
    keys = ("zone", "year", "land_area_ha", "forest_area_ha", "special_shrub_area_ha", "extra_forest_ha",
            "counted_forest_ha", "coverage", "coverage_trees_only", "coverage_all_shrub", "special_shrub_rule", "target",
            "gap_ha")
    split_summary([{k: r[k] for k in keys} for r in rows], rows_units, summary, hierarchy, region_list=True)
    split_summary(trend_rows, units, tmp := {}, hierarchy, key="trend_by_zone")
    summary["trend_by_zone"] = tmp["trend_by_zone"]
    if hierarchy is not None:
        summary["trend_groups"] = tmp.get("group_totals", [])  # split_summary's key for group rows
        summary["trend_region_total"] = tmp.get("region_total")
    df, trend_df = pd.DataFrame(rows), pd.DataFrame(trend_rows)
    vol_df, vch_df = pd.DataFrame(vol_rows), pd.DataFrame(vol_change)
    if hierarchy is not None:
        df = level_columns(df, rows_units)
        vol_df = level_columns(vol_df, rows_units)
        if len(trend_df):
            trend_df = level_columns(trend_df, units)
        if len(vch_df):
            vch_df = level_columns(vch_df, [u for _ in range(len(vch_df) // len(units)) for u in units])
    params = {"landcover": {str(y): str(lc.path) for y, lc in zip(year_list, lcs)}, "scheme": lcs[0].scheme.name,
              "zones": st.zone_source, "zone_field": st.zone_field, "count_shrub": count_shrub, "trees_only": trees_only,
              "precip": data.precip, "precip_field": precip_field, "shrub_cover": data.shrub_cover,
              "special_shrub": data.special_shrub, "provincial_target": provincial_target,
              "extra_forest_ha": None if extra_forest_ha is None else (dict(extra_forest_ha) if isinstance(extra_forest_ha, Mapping)
                                                                       else float(extra_forest_ha)),
              "group_by": None if hierarchy is None else hierarchy.field, "target": target,
              "targets": None if targets is None else str(targets),
              "land_area_ha": None if land_area_ha is None else (dict(land_area_ha) if isinstance(land_area_ha, Mapping)
                                                                 else float(land_area_ha)),
              "volume": {str(y): str(p) for y, p in vol_rasters.items()}, "volume_table": vol_table.origin,
              "volume_table_file": vol_table.origin if os.path.isfile(str(vol_table.origin)) else None,
              "max_cells": max_cells}
    return CoverageResult(df, pd.DataFrame(totals), trend_df, vol_df, vch_df, clean(summary), st, grid, params)


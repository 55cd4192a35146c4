"""Land-cover change and carbon change between two years, and the restoration effect
(what ``sinkplan change`` writes, without and with ``--control-ring-km``).

One pass over both rasters counts the area of every (zone × redline side × class before ×
class after) transition; see :mod:`sinkplan.sinks.change` for the arithmetic.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sinkplan.layers.errors import InputError
from sinkplan.layers.grid import DEFAULT_MAX_CELLS
from sinkplan.layers.landcover import LandCover
from sinkplan.layers.parallel import BlockExecutor
from sinkplan.sinks.change import ChangeAccount
from sinkplan.sinks.densities import DensityTable
from sinkplan.sinks.inputs import LandCoverInput, open_landcovers, pass_threads
from sinkplan.sinks.mapped import strata_mapped_fractions
from sinkplan.sinks.restoration import RestorationZones
from sinkplan.sinks.strata import ALL_ZONES, Strata, using_strata
from sinkplan.layers.parallel import Progress
from sinkplan.layers.outputs import RasterSink

__all__ = ["ChangeResult", "RestorationResult", "land_change", "restoration_effect"]

logger = logging.getLogger(__name__)



@dataclass(frozen=True)
class ChangeResult:
    """Transitions and carbon change per zone (the tables ``sinkplan change`` writes).

    Attributes
    ----------
    by_zone : DataFrame
        ``change_by_zone.csv``: stocks before / after, gross gain and loss, net (and annual) change.
    transitions_by_code, transitions_by_group : DataFrame
        ``transitions_by_code.csv``, ``transitions_by_group.csv``: area and stock change per
        (zone, class or group before, after).
    transition_matrix : DataFrame
        Area (ha) by group, rows before, columns after (``transition_matrix_group_ha.csv``
        is its ``reset_index()``).
    summary : dict
        ``summary.json`` (NaN as None).
    account : ChangeAccount
        Areas and stocks per (zone, side, class before, class after[, pool]).
    strata : Strata
        Zones and redline as rasterized.
    landcovers : tuple of LandCover
        Before and after.
    """

    by_zone: pd.DataFrame
    transitions_by_code: pd.DataFrame
    transitions_by_group: pd.DataFrame
    transition_matrix: pd.DataFrame
    summary: dict
    account: ChangeAccount
    strata: Strata
    landcovers: tuple[LandCover, LandCover]


@dataclass(frozen=True)
class RestorationResult:
    """Each project's carbon change against its control ring (``sinkplan change --control-ring-km``).

    Attributes
    ----------
    effect : DataFrame
        ``restoration_effect.csv``: per project the change per ha inside and in the ring and
        their difference (per year with years).
    transitions_by_code, transitions_by_group, transition_matrix : DataFrame
        Over the whole map, as in :class:`ChangeResult`.
    summary : dict
        ``summary.json``.
    account : ChangeAccount
        Per piece of the projects and rings (zone id k + 1 = piece k).
    zones : RestorationZones
        Projects, rings and pieces.
    strata : Strata
    landcovers : tuple of LandCover
    """

    effect: pd.DataFrame
    transitions_by_code: pd.DataFrame
    transitions_by_group: pd.DataFrame
    transition_matrix: pd.DataFrame
    summary: dict
    account: ChangeAccount
    zones: RestorationZones
    strata: Strata
    landcovers: tuple[LandCover, LandCover]


def _clean(obj):
    """NaN → None for JSON."""
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_clean(v) for v in obj]
    if isinstance(obj, float) and obj != obj:
        return None
    if isinstance(obj, np.generic):
        return _clean(obj.item())
    return obj


def _years(years) -> tuple[int, int] | None:
    if years is None:
        return None
    y0, y1 = (int(y) for y in years)
    if y1 <= y0:
        raise InputError(f"the after year {y1} must be later than the before year {y0}")
    return y0, y1


def _change_pass(lcs, table, st: Strata, years, *, max_cells, executor, progress, on_raster, threads):
    from sinkplan.layers.landcover import check_codes
    from sinkplan.sinks.blocks import ClassSlots, PassSpec, run_pass
    from sinkplan.sinks.change import change_account, change_lut
    from sinkplan.sinks.stocks import class_area_ha

    densities = table.resolve(lcs[0].scheme)
    slots = tuple(ClassSlots.build(lc.scheme, dtype=lc.dtype, nodata=(lc.nodata,)) for lc in lcs)
    dens_total = densities.per_class().sum(axis=1)
    spec = PassSpec(lcs[0].grid, tuple(str(lc.path) for lc in lcs), slots, None if st.path is None else str(st.path),
                    st.nzones, st.sides, raster_lut=None if on_raster is None else change_lut(dens_total, slots[0].slots))
    res = run_pass(spec, max_cells=max_cells, executor=executor, progress=progress, label="change", on_raster=on_raster,
                   threads=pass_threads() if threads is None else threads)
    for lc, unknown in zip(lcs, res.unknown):
        check_codes(unknown, lc.scheme, lc.path)
    px = res.pixels[:, :, : slots[0].n, : slots[1].n]
    densities.check_present(px.sum(axis=(0, 1, 3)) + px.sum(axis=(0, 1, 2)), path=f"{lcs[0].path} / {lcs[1].path}")
    acc = change_account(class_area_ha(res), densities.per_class(), lcs[0].scheme, slots[0].codes, years=years)
    return acc, densities


def _summary(acc: ChangeAccount, table: DensityTable, years) -> dict:
    from sinkplan.sinks.change import total_change

    summary = {"years": years, "densities": {"table": table.origin, "soil_depth_cm": table.soil_depth_cm},
               "units": {"area": "ha", "stock": "Mg C", "annual": "Mg C/yr; Mt CO2e/yr (× 44/12)"}}
    summary.update(total_change(acc))
    return summary


def _redline(summary: dict, acc: ChangeAccount, st: Strata) -> None:
    from sinkplan.sinks.change import total_change

    if st.sides == 2:
        summary["redline"] = {"inside": total_change(acc, (slice(None), 1)), "outside": total_change(acc, (slice(None), 0))}


def land_change(
    before: LandCoverInput,
    after: LandCoverInput,
    *,
    years: tuple[int, int] | None = None,
    scheme: str = "clcd",
    map_codes: str | None = None,
    densities: str | os.PathLike | DensityTable | None = None,
    zones: str | os.PathLike | None = None,
    zone_field: str | None = None,
    zone_layer: str | None = None,
    redline: str | os.PathLike | None = None,
    strata: Strata | None = None,
    max_cells: int = DEFAULT_MAX_CELLS,
    executor: BlockExecutor | None = None,
    progress: Progress | None = None,
    on_raster: RasterSink | None = None,
    threads: int | None = None,
) -> ChangeResult:
    """Transition matrices, gross gains and losses, net and annual carbon change per zone.

    Parameters
    ----------
    before, after : path or LandCover
        Land-cover rasters on one grid.
    years : (int, int), optional
        Years of the two maps: adds the annual change and sequestration (Mt CO2e/yr).
    scheme, map_codes, densities, zones, zone_field, zone_layer, redline, strata
        As for :func:`sinkplan.sinks.api.carbon_stocks`.
    max_cells, executor, progress, threads
        As for :func:`sinkplan.sinks.api.carbon_stocks`.
    on_raster : callable, optional
        Receives ``(block, window)`` of the density change raster (float32, Mg C/ha, after −
        before, NaN where either year has no land class).

    Returns
    -------
    ChangeResult

    Raises
    ------
    InputError
        ``years`` not increasing.
    GridMismatch, UnknownClassCode, SchemeError
        Rasters off one grid, codes the scheme lacks, classes without density.

    Examples
    --------
    >>> res = land_change("lc2015.tif", "lc2020.tif", years=(2015, 2020), zones="banners.gpkg")  # doctest: +SKIP
    >>> res.by_zone[["zone", "net_change_mgc", "annual_sequestration_mt_co2e_per_yr"]]  # doctest: +SKIP
    """
    from sinkplan.sinks.api import as_density_table
    from sinkplan.sinks.change import (
        group_matrix,
        transitions_by_code,
        transitions_by_group,
        zone_change,
    )

    years = _years(years)
    lcs = open_landcovers([before, after], scheme=scheme, map_codes=map_codes)
    table = as_density_table(densities)
    with using_strata(lcs[0].grid, strata=strata, zones=zones, zone_field=zone_field, zone_layer=zone_layer,
                      redline=redline, max_cells=max_cells, progress=progress) as st:
        acc, _ = _change_pass(lcs, table, st, years, max_cells=max_cells, executor=executor, progress=progress,
                              on_raster=on_raster, threads=threads)
    ids = list(range(1, len(st.names))) if st.has_zones else []
    if not st.has_zones or acc.area_ha[0].sum() > 0:
        ids.append(0)
    names = st.names if st.has_zones else (ALL_ZONES,) * len(st.names)
    summary = _summary(acc, table, years)
    zt = zone_change(acc, ids, names)
    # mapped area = pixels with a land class in both years (what the change covers)
    frac = strata_mapped_fractions(st, acc.area_ha.sum(axis=(1, 2, 3)), what=f"change {lcs[0].path.name} → {lcs[1].path.name}")
    zt.insert(zt.columns.get_loc("area_ha") + 1, "mapped_fraction", [None if not np.isfinite(frac[z]) else float(frac[z])
                                                                      for z in ids])
    summary["zones"] = zt.to_dict("records")
    _redline(summary, acc, st)
    return ChangeResult(zt, transitions_by_code(acc, ids, names), transitions_by_group(acc, ids, names),
                        group_matrix(acc, list(range(len(st.names)))), _clean(summary), acc, st, (lcs[0], lcs[1]))


def _restoration_table(acc: ChangeAccount, rz: RestorationZones) -> pd.DataFrame:
    from sinkplan.sinks.change import total_change

    pieces, projects = rz.pieces, rz.projects
    n = len(projects)
    attrs = [c for c in projects.columns if c not in ("project", projects.geometry.name)]
    rows = []
    for i, name in enumerate(projects["project"]):
        inside = [k + 1 for k in np.flatnonzero(pieces.member[:, i])]  # zone id = piece index + 1
        ring = [k + 1 for k in np.flatnonzero(pieces.member[:, n + i])]
        a = total_change(acc, (inside,)) if inside else None
        b = total_change(acc, (ring,)) if ring else None
        row = {"project": name,
               "area_ha": a["area_ha"] if a else 0.0, "net_change_mgc": a["net_change_mgc"] if a else 0.0,
               "change_mgc_per_ha": a["net_change_mgc_per_ha"] if a else None,
               "ring_area_ha": b["area_ha"] if b else 0.0, "ring_net_change_mgc": b["net_change_mgc"] if b else 0.0,
               "ring_change_mgc_per_ha": b["net_change_mgc_per_ha"] if b else None}
        row["difference_mgc_per_ha"] = (None if row["change_mgc_per_ha"] is None or row["ring_change_mgc_per_ha"] is None
                                        else row["change_mgc_per_ha"] - row["ring_change_mgc_per_ha"])
        if acc.span_years and row["difference_mgc_per_ha"] is not None:
            row["difference_mgc_per_ha_per_yr"] = row["difference_mgc_per_ha"] / acc.span_years
        rows.append(row)
    table = pd.DataFrame(rows)
    # the project's own attributes (status, start year, type …) right after its name; a field
    # named like a result column is kept as attr_<name> so it cannot replace a figure
    for pos, c in enumerate(attrs, start=1):
        name = c if c not in table.columns else f"attr_{c}"
        values = projects[c].to_numpy()
        table.insert(pos, name, [None if isinstance(v, float) and np.isnan(v) else v for v in values])
    return table


def restoration_effect(
    before: LandCoverInput,
    after: LandCoverInput,
    *,
    projects: str | os.PathLike | RestorationZones,
    control_ring_km: float | None = None,
    project_field: str | None = None,
    project_layer: str | None = None,
    years: tuple[int, int] | None = None,
    scheme: str = "clcd",
    map_codes: str | None = None,
    densities: str | os.PathLike | DensityTable | None = None,
    redline: str | os.PathLike | None = None,
    strata: Strata | None = None,
    max_cells: int = DEFAULT_MAX_CELLS,
    executor: BlockExecutor | None = None,
    progress: Progress | None = None,
    on_raster: RasterSink | None = None,
    threads: int | None = None,
) -> RestorationResult:
    """Carbon change of each restoration project against a ring of surrounding land.

    Parameters
    ----------
    before, after : path or LandCover
        Land-cover rasters on one grid.
    projects : path or RestorationZones
        Project polygons, or projects and rings from :func:`sinkplan.sinks.restoration.restoration_zones`.
    control_ring_km : float
        Ring width on the ground, km (required with a path); other projects are never control land.
    project_field, project_layer : str, optional
        Field naming the projects (features of one name are dissolved) and the layer.
    years, scheme, map_codes, densities, redline, max_cells, executor, progress, on_raster, threads
        As for :func:`land_change`.
    strata : Strata, optional
        Strata prepared from ``projects.rasterizer`` (with ``projects`` a RestorationZones).

    Returns
    -------
    RestorationResult

    Raises
    ------
    InputError
        No ring width, a ring width ≤ 0, ``years`` not increasing.

    Examples
    --------
    >>> res = restoration_effect("lc2015.tif", "lc2020.tif", projects="projects.gpkg",  # doctest: +SKIP
    ...                          project_field="project", control_ring_km=2, years=(2015, 2020))
    >>> res.effect[["project", "change_mgc_per_ha", "ring_change_mgc_per_ha", "difference_mgc_per_ha"]]  # doctest: +SKIP
    """
    from sinkplan.sinks.api import as_density_table
    from sinkplan.sinks.change import (
        change_account,
        group_matrix,
        transitions_by_code,
        transitions_by_group,
    )
    from sinkplan.sinks.restoration import restoration_zones

    years = _years(years)
    lcs = open_landcovers([before, after], scheme=scheme, map_codes=map_codes)
    table = as_density_table(densities)
    if isinstance(projects, RestorationZones):
        rz = projects
    else:
        if control_ring_km is None:
            raise InputError("restoration effect: give control_ring_km, the width of the control ring in km")
        rz = restoration_zones(projects, lcs[0].grid, ring_km=control_ring_km, field=project_field, layer=project_layer)
    source = None if strata is not None or isinstance(projects, RestorationZones) else str(projects)
    with using_strata(lcs[0].grid, strata=strata, zones=source,
                      zone_field=project_field, zone_layer=project_layer, redline=redline,
                      zone_rasterizer=None if strata is not None else rz.rasterizer, max_cells=max_cells,
                      progress=progress) as st:
        acc, densities_ = _change_pass(lcs, table, st, years, max_cells=max_cells, executor=executor, progress=progress,
                                       on_raster=on_raster, threads=threads)
    summary = _summary(acc, table, years)
    effect = _restoration_table(acc, rz)
    summary["control_ring_km"] = rz.ring_m / 1000.0 if control_ring_km is None else control_ring_km
    summary["restoration"] = effect.to_dict("records")
    whole = change_account(acc.area_ha.sum(axis=0, keepdims=True), densities_.per_class(), lcs[0].scheme, acc.codes, years=years)
    tc = transitions_by_code(whole, [0], (ALL_ZONES,))
    tg = transitions_by_group(whole, [0], (ALL_ZONES,))
    _redline(summary, acc, st)
    return RestorationResult(effect, tc, tg, group_matrix(acc, list(range(len(st.names)))), _clean(summary), acc, rz, st,
                             (lcs[0], lcs[1]))

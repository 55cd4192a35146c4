"""High-level sinks functions: paths or opened objects in, a frozen result record out.

Each function does what the matching command does (``sinkplan carbon``, ``coverage``,
``change``, ``change --control-ring-km``, ``area-estimate``) and returns the tables the
command writes, as DataFrames, with ``summary`` the dict it writes as ``summary.json``;
nothing is written (rasters stream block by block through ``on_raster`` when asked for).

* :func:`carbon_stocks` → :class:`CarbonResult`
* :func:`forest_coverage` → :class:`~sinkplan.sinks.coverage_api.CoverageResult`
* :func:`land_change` → :class:`~sinkplan.sinks.change_api.ChangeResult`
* :func:`restoration_effect` → :class:`~sinkplan.sinks.change_api.RestorationResult`
* :func:`estimate_areas` → :class:`~sinkplan.sinks.learning.estimate.AreaEstimateResult`

Zones and redline are given as polygon files (rasterized for the call in a temporary cache,
or ``$SINKPLAN_CACHE_DIR``), or as ``strata`` prepared once with
:func:`sinkplan.sinks.strata.prepare_strata` and shared between calls.

Examples
--------
>>> from sinkplan.sinks.api import carbon_stocks
>>> res = carbon_stocks("lc2020.tif", zones="banners.gpkg", zone_field="name_zh",  # doctest: +SKIP
...                     uncertainty=200, seed=1)
>>> res.by_zone[["zone", "stock_mgc", "stock_mgc_p2_5", "stock_mgc_p97_5"]]  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import time
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from sinkplan.layers.errors import InputError
from sinkplan.layers.grid import DEFAULT_MAX_CELLS
from sinkplan.layers.landcover import LandCover, check_codes
from sinkplan.layers.parallel import BlockExecutor
from sinkplan.sinks.carbon import CarbonAccount, MonteCarlo
from sinkplan.sinks.densities import DensityTable, as_density_table, load_densities  # noqa: F401  (re-exported)
from sinkplan.sinks.inputs import LandCoverInput, open_landcovers, pass_threads
from sinkplan.sinks.hierarchy import (
    ZoneHierarchy,
    level_columns,
    report_units,
    resolve_hierarchy,
    split_summary,
    unit_fractions,
)
from sinkplan.sinks.mapped import strata_mapped_fractions
from sinkplan.sinks.strata import ALL_ZONES, Strata, using_strata
from sinkplan.layers.parallel import Progress
from sinkplan.layers.outputs import RasterSink

if TYPE_CHECKING:
    from sinkplan.sinks.climate import ClimateWeights
    from sinkplan.sinks.change_api import (
        ChangeResult,
        RestorationResult,
        land_change,
        restoration_effect,
    )
    from sinkplan.sinks.coverage_api import CoverageResult, forest_coverage
    from sinkplan.sinks.learning.carbon_raster import DensityRaster
    from sinkplan.sinks.learning.estimate import AreaEstimateResult, estimate_areas

__all__ = ["CarbonResult", "carbon_stocks", "as_density_table",
           "CoverageResult", "forest_coverage", "ChangeResult", "land_change", "RestorationResult", "restoration_effect",
           "AreaEstimateResult", "estimate_areas"]

logger = logging.getLogger(__name__)



@dataclass(frozen=True)
class CarbonResult:
    """Carbon stocks of one land-cover map (what ``sinkplan carbon`` writes).

    Attributes
    ----------
    by_zone : DataFrame
        ``stocks_by_zone.csv``: area and stock per pool per zone (Mg C, Mt CO2e; the 95 %
        interval with ``uncertainty``; inside the redline with ``redline``).
    by_class : DataFrame
        ``stocks_by_class.csv``: one row per (zone, class) with area, densities and stocks.
    summary : dict
        ``summary.json``: totals, pools, zones, redline, Monte Carlo interval, units.
    account : CarbonAccount
        Areas and stocks per (zone, side, class, pool): sum any grouping of zones exactly.
    monte_carlo : MonteCarlo or None
        The draws (per zone, side and pool), to take intervals of unions of zones.
    strata : Strata
        Zones and redline as rasterized (their polygons, names).
    landcover : LandCover
        The land-cover raster.
    densities : DensityTable
        The density table used.
    nblocks : int
        Blocks of the pass.
    timings_s : dict
        Seconds: ``pass`` and ``density_raster``.
    parameters : dict
        What the result was computed with (recorded in the manifest by
        :func:`sinkplan.sinks.folders.write_carbon`).
    preview : Preview or None
        The land-cover preview built in the pass (:mod:`sinkplan.sinks.preview`), which
        :func:`sinkplan.sinks.folders.write_carbon` writes; None: read when writing.
    """

    by_zone: pd.DataFrame
    by_class: pd.DataFrame
    summary: dict
    account: CarbonAccount
    monte_carlo: MonteCarlo | None
    strata: Strata
    landcover: LandCover
    densities: DensityTable
    nblocks: int
    timings_s: dict
    parameters: dict = field(default_factory=dict)
    preview: object | None = field(default=None, repr=False)

    @property
    def inputs(self) -> list[str]:
        """Input files (recorded with their SHA-256 in the manifest)."""
        p = self.parameters
        return [x for x in (p.get("landcover"), p.get("zones"), p.get("redline"), p.get("densities_file"),
                            p.get("density_raster")) if x]


def carbon_stocks(
    landcover: LandCoverInput,
    *,
    scheme: str = "clcd",
    map_codes: str | None = None,
    densities: str | os.PathLike | DensityTable | None = None,
    zones: str | os.PathLike | None = None,
    zone_field: str | None = None,
    zone_layer: str | None = None,
    redline: str | os.PathLike | None = None,
    strata: Strata | None = None,
    density_raster: str | os.PathLike | DensityRaster | None = None,
    uncertainty: int = 0,
    seed: int | None = None,
    max_cells: int = DEFAULT_MAX_CELLS,
    executor: BlockExecutor | None = None,
    progress: Progress | None = None,
    on_raster: RasterSink | None = None,
    threads: int | None = None,
    group_by: str | ZoneHierarchy | None = None,
    climate: ClimateWeights | None = None,
    region_field: str | None = None,
    preview: bool = True,
) -> CarbonResult:
    """Carbon stocks per zone, class and pool: ellipsoidal area × density, in one streamed pass.

    Parameters
    ----------
    landcover : path or LandCover
        Land-cover raster of class codes.
    scheme : str
        Class scheme of the codes (``clcd``, ``worldcover``, ``globeland30`` or a CSV/TOML path).
    map_codes : str, optional
        Codes the scheme lacks, e.g. ``"200=7,201=grassland"``.
    densities : path, str or DensityTable, optional
        Density table (InVEST biophysical or group-keyed CSV, or a shipped name:
        ``inner_mongolia_30cm`` (default), ``inner_mongolia_100cm``).
    zones, zone_field, zone_layer : optional
        Zone polygons, the field naming them (default: features numbered 1, 2, ...) and the
        layer of a multi-layer file.
    redline : path, optional
        Ecological protection redline: figures inside / outside it.
    strata : Strata, optional
        Zones and redline prepared with :func:`sinkplan.sinks.strata.prepare_strata` (instead of
        ``zones`` and ``redline``).
    density_raster : path or DensityRaster, optional
        A density map (``sinkplan density-model``) used for the pools in its ``POOLS`` tag;
        pixels without a value use the table. Not with ``uncertainty`` or ``on_raster``.
    uncertainty : int
        Monte Carlo draws over the densities (0: none): each value lognormal with mean = the
        table value (:mod:`sinkplan.sinks.uncertainty`); stocks get 2.5/97.5 percentiles.
    seed : int, optional
        Seed of the draws (reproducible); default a random 32-bit seed, logged and recorded
        in the summary.
    max_cells : int
        Cells per block (the memory bound).
    executor : BlockExecutor, optional
        Where blocks run (default: threads of this process).
    progress : callable, optional
        ``progress(fraction, label)``.
    on_raster : callable, optional
        Receives ``(block, window)`` of the carbon density raster (float32, Mg C/ha, all
        pools; :data:`sinkplan.sinks.carbon.DENSITY_NODATA` off land), e.g. a
        :class:`sinkplan.layers.outputs.BlockWriter`'s ``write``.
    threads : int, optional
        Threads of a pass without Dask (default :func:`sinkplan.sinks.inputs.pass_threads`).
    group_by : str or ZoneHierarchy, optional
        Field of the zone layer holding each zone's group (e.g. the league of each banner):
        both tables get a row per group and one for the whole region, summed exactly
        (:mod:`sinkplan.sinks.hierarchy`); summary.json gets ``group_totals`` and ``region_total``.
    climate : ClimateWeights, optional
        Per-pixel climate correction of the biomass and soil densities from precipitation and
        temperature rasters (:mod:`sinkplan.sinks.climate`).
    region_field : str, optional
        Zone attribute matched to a region-keyed density table's ``region`` column.
    preview : bool
        Build the land-cover preview of the result folder in the pass when the raster has no
        overviews (:func:`sinkplan.sinks.preview.stream_factor`; else it is read after the
        pass, from the overviews): ``CarbonResult.preview``.

    Returns
    -------
    CarbonResult

    Raises
    ------
    InputError
        ``uncertainty`` < 0, or ``density_raster`` with ``uncertainty`` or ``on_raster``.
    UnknownClassCode
        The raster holds codes the scheme lacks.
    SchemeError
        The density table has no density for a class present on the map.

    Examples
    --------
    >>> res = carbon_stocks("lc2020.tif", zones="banners.gpkg", zone_field="name_zh")  # doctest: +SKIP
    >>> res.summary["stock_mgc"], res.by_zone.stock_mgc.sum()  # doctest: +SKIP
    """
    from sinkplan.sinks.blocks import ClassSlots, PassSpec, run_pass
    from sinkplan.sinks.carbon import (
        carbon_account,
        carbon_summary,
        class_table,
        density_lut,
        run_monte_carlo,
        zone_table,
    )
    from sinkplan.sinks.stocks import class_area_ha
    from sinkplan.sinks.uncertainty import check_draws, resolve_seed

    if uncertainty < 0:
        raise InputError(f"uncertainty={uncertainty}: give a number of Monte Carlo draws ≥ 0")
    (lc,) = open_landcovers([landcover], scheme=scheme, map_codes=map_codes)
    table = as_density_table(densities)
    dens = table.resolve(lc.scheme)
    check_draws(uncertainty, table, option="uncertainty")
    seed = resolve_seed(seed, uncertainty)  # recorded in summary["uncertainty"]["seed"]
    raster = None
    if density_raster is not None:
        from sinkplan.sinks.learning.carbon_raster import (
            DensityRaster,
            apply_density_raster,
            check_density_raster,
            raster_pass,
        )
        if uncertainty:
            raise InputError("a density raster with uncertainty: the Monte Carlo draws table densities only; run them separately")
        if on_raster is not None:
            raise InputError("a density raster with on_raster: the carbon density raster would show the table's densities")
        raster = density_raster if isinstance(density_raster, DensityRaster) else check_density_raster(density_raster, lc)
    slots = ClassSlots.build(lc.scheme, dtype=lc.dtype, nodata=(lc.nodata,))
    timings: dict = {}
    with using_strata(lc.grid, strata=strata, zones=zones, zone_field=zone_field, zone_layer=zone_layer, redline=redline,
                      max_cells=max_cells, progress=progress) as st:
        hierarchy = resolve_hierarchy(group_by, st, zones=zones, zone_field=zone_field, zone_layer=zone_layer)
        dens = _regional(table, lc, st, dens, region_field, zones=zones, zone_field=zone_field, zone_layer=zone_layer)
        if dens.by_zone and on_raster is not None:
            raise InputError("a region-keyed density table with a density raster: the raster shows one density per class; "
                             "write no raster (on_raster=None) or use a table without regions", params=("on_raster=None",))
        if climate is not None and raster is not None:
            raise InputError("climate correction with a density raster: the raster's densities are already local")
        if climate is not None and on_raster is not None:
            raise InputError("climate correction with a density raster output: carbon_density.tif would show the "
                             "uncorrected class densities; write no raster (on_raster=None)", params=("on_raster=None",))
        from sinkplan.sinks.mapfiles import PREVIEW_MAX_PIXELS
        from sinkplan.sinks.preview import stream_factor

        spec = PassSpec(lc.grid, (lc.pass_input,), (slots,), st.source, st.nzones, st.sides,
                        raster_lut=None if on_raster is None else density_lut(dens, slots.slots), weights=climate,
                        preview=stream_factor(lc, PREVIEW_MAX_PIXELS) if preview else 0,
                        preview_nodata=None if lc.nodata is None or not float(lc.nodata).is_integer() else int(lc.nodata))
        t0 = time.perf_counter()
        result = run_pass(spec, max_cells=max_cells, executor=executor, progress=progress, label=f"carbon of {lc.path.name}",
                          on_raster=on_raster, threads=pass_threads() if threads is None else threads)
        timings["pass"] = time.perf_counter() - t0
        check_codes(result.unknown[0], lc.scheme, lc.path)
        area_ha = class_area_ha(result)
        dens.check_present(result.pixels[:, :, : slots.n].sum(axis=1) if dens.by_zone
                           else result.pixels[:, :, : slots.n].sum(axis=(0, 1)), path=str(lc.path))
        # without zones the single row is the whole map, labelled as land_change labels it
        names = st.names if st.has_zones else (ALL_ZONES,)
        by_pool = None
        if climate is not None:  # Σ K × m² per (zone, side, class) → ha: biomass pools × K_B, soil × K_S, dead × 1
            kb, ks = (w[:, :, : slots.n] / 1e4 for w in result.weight_sums)
            by_pool = np.stack([kb, kb, ks, area_ha], axis=-1)
        acc = carbon_account(area_ha, dens, lc.scheme, zone_names=names, has_zones=st.has_zones, has_redline=st.sides == 2,
                             area_by_pool=by_pool)
        raster_report = None
        if raster is not None:
            t0 = time.perf_counter()
            sums = raster_pass(lc, raster, codes=acc.codes, strata_path=st.source,
                               nstrata=acc.area_ha.shape[0] * acc.area_ha.shape[1], max_cells=max_cells,
                               executor=executor, progress=progress)
            acc, raster_report = apply_density_raster(acc, raster, sums, sides=st.sides)
            timings["density_raster"] = time.perf_counter() - t0
    mc = run_monte_carlo(acc, dens, uncertainty, seed=seed) if uncertainty else None
    frac = strata_mapped_fractions(st, acc.area_ha.sum(axis=(1, 2)), what=f"carbon of {lc.path.name}")
    summary = carbon_summary(acc, mc, mapped_fraction=frac)
    units = report_units(acc.zone_names, acc.zone_rows(), hierarchy)
    unit_frac = unit_fractions(units, acc.area_ha.sum(axis=(1, 2)), st.polygon_area_ha)
    by_zone = zone_table(acc, mc, mapped_fraction=frac, units=units,
                         unit_mapped_fraction=unit_frac if hierarchy is not None else None)
    by_class = class_table(acc, units if hierarchy is not None else None)
    if hierarchy is not None:
        by_zone = level_columns(by_zone, units)
        rows = by_zone.to_dict("records")
        zone_rows = summary["zones"]
        split_summary(rows, units, summary, hierarchy)
        summary["zones"] = zone_rows  # the zone records as before; groups and region from the table
    summary.update(units={"area": "ha", "stock": "Mg C", "density": "Mg C/ha", "co2e": "Mt CO2e (× 44/12)"},
                   densities={"table": table.origin, "keyed_by": table.keyed_by,
                              "soil_depth_cm": table.soil_depth_cm, "title": table.meta.get("title", "")},
                   landcover=str(lc.path), scheme=lc.scheme.name, land_pixels=int(result.pixels[:, :, : slots.n].sum()))
    if raster_report is not None:
        summary["density_raster"] = raster_report
    if climate is not None:
        from sinkplan.sinks.climate import FORMULAS

        summary["climate_correction"] = {
            "formulas": FORMULAS, "reference_climate": climate.reference.record(),
            "precipitation": None if climate.precip is None else climate.precip.path,
            "temperature": None if climate.temperature is None else climate.temperature.path,
            "pools": {"above": "K_B", "below": "K_B", "soil": "K_S", "dead": "not corrected"}}
    if dens.by_zone:
        summary["densities"]["region_field"] = region_field
    logger.info("total stock %.6g Mg C over %.6g ha", summary["stock_mgc"], summary["area_ha"])
    params = {"landcover": str(lc.path), "scheme": lc.scheme.name, "densities": table.origin,
              "densities_file": table.origin if os.path.isfile(table.origin) else None,
              "soil_depth_cm": table.soil_depth_cm, "zones": st.zone_source, "zone_field": st.zone_field,
              "redline": st.redline_source, "group_by": None if hierarchy is None else hierarchy.field,
              "uncertainty": uncertainty, "seed": seed,
              "density_raster": None if raster is None else str(raster.path), "max_cells": max_cells}
    return CarbonResult(by_zone, by_class, summary, acc, mc, st, lc, table, result.nblocks, timings, params,
                        result.preview)



def _regional(table: DensityTable, lc, st, dens, region_field: str | None, *, zones, zone_field, zone_layer):
    """The densities resolved per zone for a region-keyed table (else ``dens`` unchanged).

    Raises
    ------
    InputError
        A region-keyed table without ``region_field`` (or without zones), or the reverse.
    """
    if not table.regions:
        if region_field is not None:
            raise InputError(f"region_field {region_field!r}: density table {table.origin} has no region column", params=("region_field",))
        return dens
    if region_field is None or not st.has_zones:
        raise InputError(f"density table {table.origin} keys rows by region: give zones and region_field FIELD "
                         "(the zone attribute holding each zone's region)", params=("zones", "region_field"))
    from sinkplan.sinks.hierarchy import zone_attribute

    source = zones if zones is not None else st.zone_source
    field = zone_field if zone_field is not None else getattr(st, "zone_field", None)
    regions = zone_attribute(source, zone_field=field, field=region_field, names=st.names, layer=zone_layer,
                             what="--region-field")
    unknown = sorted({r for r in regions[1:] if r is not None} - {r for r in table.regions if r is not None})
    if unknown:
        logger.info("regions %s have no rows of their own in %s: they take the rows without region", unknown, table.origin)
    return table.resolve(lc.scheme, zone_regions=regions)


def __getattr__(name: str):
    """The other high-level functions, imported on first use (keeps ``import sinkplan.sinks.api``
    light for the command line's start-up). Not an import cycle: those modules import nothing
    from this one (the density table helper lives in :mod:`sinkplan.sinks.densities`)."""
    lazy = {"CoverageResult": "sinkplan.sinks.coverage_api", "forest_coverage": "sinkplan.sinks.coverage_api",
            "ChangeResult": "sinkplan.sinks.change_api", "land_change": "sinkplan.sinks.change_api",
            "RestorationResult": "sinkplan.sinks.change_api", "restoration_effect": "sinkplan.sinks.change_api",
            "AreaEstimateResult": "sinkplan.sinks.learning.estimate", "estimate_areas": "sinkplan.sinks.learning.estimate"}
    if name in lazy:
        import importlib

        return getattr(importlib.import_module(lazy[name]), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

"""The siting result: one call runs a screen (and its sweeps), one writer writes its folder.

:func:`screen_site` runs :func:`sinkplan.siting.screen.run_screen` on a prepared screen,
the sweep's screens (:func:`~sinkplan.siting.screen.screen_capacity`) and the map layers
(border belt, grid lines, substations) and returns a :class:`SiteResult`; its rasters
(``exclusions.tif``, ``eligible.tif``, ``parcels.tif``) are streamed into ``workdir``.
:func:`write_site` writes what ``sinkplan site`` writes from it (the command calls it):
the rasters (hard-linked or copied from ``workdir``), ``parcels.gpkg/.csv/.xlsx``,
``bases.gpkg``, ``sweep.csv``, the map layers, the targets compared against,
``summary.json`` and ``manifest.json``, under the names of :mod:`sinkplan.layers.resultspec`.

Examples
--------
>>> import tempfile
>>> from sinkplan.siting.prepare import ScreenInputs, prepare
>>> from sinkplan.siting.profile import load_profile
>>> work = tempfile.mkdtemp()
>>> prep = prepare(ScreenInputs(landcover="lc2020.tif", redline="redline.gpkg", farmland="farmland.gpkg"),  # doctest: +SKIP
...                load_profile("pv"), workdir=work)
>>> res = screen_site(prep, workdir=work, sweeps=[("pv.max_slope_deg", 5, steeper_prep)])  # doctest: +SKIP
>>> write_site(res, "site_pv")  # doctest: +SKIP
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd

from sinkplan.layers import resultspec as rs
from sinkplan.layers.parallel import BlockExecutor, Progress
from sinkplan.layers.resultfolder import ResultFolder, result_folder, targets_record
from sinkplan.siting.prepare import Prepared
from sinkplan.siting.profile import value_sources

__all__ = ["SiteResult", "SiteAccount", "screen_site", "screen_techs", "write_site", "write_site_account", "map_layers",
           "sweep_table", "combined_supply", "write_account"]

logger = logging.getLogger(__name__)

#: Capacity figures of a sweep row, as in the summary.
_SWEEP_KEYS = ("parcels", "eligible_area_ha", "capacity_mw", "energy_mwh_per_yr", "target_mw", "share_of_target")


@dataclass(frozen=True)
class SiteResult:
    """One screen: parcels, bases, summary, its rasters and the map layers.

    Attributes
    ----------
    parcels, bases : GeoDataFrame
        ``parcels.gpkg`` and ``bases.gpkg`` (grid CRS).
    summary : dict
        ``summary.json`` (with ``sweep`` rows when swept).
    sweep : DataFrame or None
        ``sweep.csv``: capacity against the target per swept value.
    rasters : dict
        File name (``exclusions.tif``, ``eligible.tif``, ``parcels.tif``) → its path in the workdir.
    layers : dict
        File name → GeoDataFrame of the map layers (border belt, grid lines, substations; only
        the layers with features).
    prepared : Prepared
        The validated screen.
    parameters : dict
        What the screen was run with (recorded in the manifest by :func:`write_site`).
    supply : DataFrame
        ``supply_curve.csv``: parcels by LCOE with cumulative capacity and energy.
    turbines : GeoDataFrame or None
        ``turbines.gpkg`` (wind with ``wind.turbine.placement = "turbines"``).
    targets : list of dict
        The targets the screen was compared against (``targets.json``): key, value, unit, year,
        comparison, clause, source (per zone with per-zone targets).
    input_files : list of Path
        The input files (recorded with SHA-256 in the manifest).
    """

    parcels: Any
    bases: Any
    summary: dict
    sweep: pd.DataFrame | None
    rasters: dict[str, Path]
    layers: dict[str, Any]
    prepared: Prepared
    parameters: dict = field(default_factory=dict)
    supply: pd.DataFrame | None = None
    turbines: Any = None
    targets: list = field(default_factory=list)
    input_files: list = field(default_factory=list)

    @property
    def inputs(self) -> list[Path]:
        """Input files (recorded with their SHA-256 in the manifest)."""
        return [Path(p) for p in self.input_files]


def map_layers(prep: Prepared) -> dict[str, Any]:
    """The border belt, grid lines and substations the siting map draws (EPSG:4326), by file name;
    a layer without features is left out."""
    from sinkplan.siting.mapfiles import belt_frame, border_belt, split_grid_features

    out: dict[str, Any] = {}
    border = next((z for z in prep.spec.zones if z.kind == "border"), None)
    layer = prep.spec.store.get(border.layer) if border is not None and prep.spec.store is not None else None
    if layer is not None:
        belt = border_belt(layer.geoms, border.buffer_m, prep.grid)
        if not belt.is_empty:
            out[rs.BORDER_BELT.name] = belt_frame(belt, prep.grid, width_m=border.buffer_m)
        else:
            logger.info("the border is farther than %g m from the grid: no %s", border.buffer_m, rs.BORDER_BELT.name)
    lines, subs = split_grid_features(prep.grid_layers)
    for fs, gdf in ((rs.GRID_LINES, lines), (rs.SUBSTATIONS, subs)):
        if len(gdf):
            out[fs.name] = gdf
    return out


def sweep_table(prep: Prepared, summary: dict, sweeps: Sequence[tuple[str, Any, Prepared]], *, max_cells: int,
                executor: BlockExecutor | None = None, progress: Progress | None = None) -> pd.DataFrame:
    """Capacity against the target for each (key, value, prepared screen) of a sweep; the run's
    own value reuses its figures."""
    from sinkplan.siting.screen import screen_capacity

    rows = []
    for key, value, sp in sweeps:
        # the run's own value: reuse it (sources differ: a swept value's source names the sweep)
        if sp.profile.model_dump(exclude={"source"}) == prep.profile.model_dump(exclude={"source"}):
            cap = {**{k: summary[k] for k in _SWEEP_KEYS}, "by_zone_type": summary["by_zone_type"]}
        else:
            cap = screen_capacity(sp, max_cells=max_cells, executor=executor, progress=progress)
        row = {"key": key, "value": value if not isinstance(value, list) else ",".join(map(str, value)),
               **{k: cap[k] for k in _SWEEP_KEYS}}
        for z, d in cap["by_zone_type"].items():
            row[f"capacity_mw_{z}"] = d["capacity_mw"]
        rows.append(row)
    return pd.DataFrame(rows)


def screen_site(prep: Prepared, *, workdir: str | os.PathLike, sweeps: Sequence[tuple[str, Any, Prepared]] = (),
                max_cells: int, executor: BlockExecutor | None = None, progress: Progress | None = None) -> SiteResult:
    """Run a screen, its sweeps and its map layers.

    Parameters
    ----------
    prep : Prepared
        From :func:`sinkplan.siting.prepare.prepare`.
    workdir : path-like
        Scratch folder; the result's rasters are written there (keep it until
        :func:`write_site` has run).
    sweeps : sequence of (key, value, Prepared)
        Screens of the swept profile values (``prepare(..., keep_rasters=False)``).
    max_cells, executor, progress
        As for :func:`sinkplan.siting.screen.run_screen`.

    Returns
    -------
    SiteResult
    """
    from sinkplan.siting.screen import run_screen

    work = Path(workdir)
    rasters = {f.name: work / f"result-{os.getpid()}-{id(prep)}-{f.name}" for f in (rs.EXCLUSIONS, rs.ELIGIBLE, rs.PARCELS_TIF)}
    res = run_screen(prep, workdir=work, exclusions_path=rasters[rs.EXCLUSIONS.name],
                     eligible_path=rasters[rs.ELIGIBLE.name], parcels_raster_path=rasters[rs.PARCELS_TIF.name],
                     max_cells=max_cells, executor=executor, progress=progress)
    summary = res.summary
    sweep = None
    if sweeps:
        sweep = sweep_table(prep, summary, sweeps, max_cells=max_cells, executor=executor, progress=progress)
        summary["sweep"] = sweep.to_dict("records")
    inputs = prep.inputs
    params = {"tech": prep.profile.tech, "profile": prep.profile.origin, "profile_values": prep.profile.model_dump(),
              "scheme": inputs.scheme, "map_codes": inputs.map_codes, "zone_field": inputs.zone_field, "zone_layer": inputs.zone_layer,
              "targets": None if inputs.targets is None else str(inputs.targets),
              "sweep": [{"key": k, "value": v} for k, v, _ in sweeps], "max_cells": max_cells}
    t = prep.target
    if getattr(prep, "zone_targets", None):  # per-zone targets (--targets zones.csv) were compared against
        targets = [z.record() for z in prep.zone_targets]
    else:
        targets = [{"key": t.key, "value": t.value, "unit": t.unit, "year": t.year, "comparison": t.comparison,
                    "clause": t.clause, "source": t.source}]
    return SiteResult(res.parcels, res.bases, summary, sweep, rasters, map_layers(prep), prep, params, res.supply,
                      res.turbines, targets, inputs.files())


def _place(src: Path, dst: Path) -> None:
    """``src`` at ``dst``: a hard link on the same filesystem, else a copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def write_site(result: SiteResult, folder: str | os.PathLike | ResultFolder, *, overwrite: bool = False,
               command: str = "site") -> Path:
    """Write a siting result folder (what ``sinkplan site`` writes); returns the folder."""
    from sinkplan.siting.mapfiles import supply_curve_figure
    from sinkplan.siting.screen import PARCEL_COLUMNS

    summary = result.summary
    with result_folder(folder, kind="site", command=command, parameters=result.parameters, inputs=result.inputs,
                       overwrite=overwrite) as rf:
        for name, path in result.rasters.items():
            _place(path, rf.path(name))
        rf.write_gpkg(rs.PARCELS_GPKG, result.parcels)
        rf.write_gpkg(rs.BASES_GPKG, result.bases)
        table = pd.DataFrame(result.parcels.drop(columns="geometry"))[list(PARCEL_COLUMNS)].sort_values("rank")
        bases = pd.DataFrame(result.bases.drop(columns="geometry"))
        rf.write_csv(rs.PARCELS_CSV, table)
        rf.write_csv(rs.SUPPLY_CSV, result.supply)
        supply_curve_figure(result.supply, rf.path(rs.SUPPLY_PNG))
        if result.turbines is not None:
            rf.write_gpkg(rs.TURBINES_GPKG, result.turbines)
        nc = pd.DataFrame(summary["not_checked"], columns=["rule", "name_zh", "option", "clause", "effect"])
        nc.insert(1, "status", "not checked")
        sheets = {"parcels": table, "bases": bases,
                  "by_zone_type": pd.DataFrame(summary["by_zone_type"]).T.rename_axis("zone_type").reset_index(),
                  "exclusions": pd.DataFrame(summary["exclusion_bits"]), "not_checked": nc,
                  "supply_curve": result.supply,
                  "sources": pd.DataFrame(value_sources(result.prepared.profile) if result.prepared is not None else [],
                                          columns=list(rs.SOURCE_FIELDS))}
        if result.sweep is not None:
            rf.write_csv(rs.SWEEP_CSV, result.sweep)
            sheets["sweep"] = result.sweep
        rf.write_xlsx(rs.PARCELS_XLSX, sheets)
        written = {}
        for name, gdf in result.layers.items():
            rf.write_gpkg(rs.SITE.file(name), gdf)
            written[name] = len(gdf)
        rf.extra_manifest["map_layers"] = written
        rf.write_json(rs.TARGETS, targets_record(*result.targets, file=result.parameters.get("targets")))
        write_account(rf, summary)
        rf.extra_manifest["exclusion_bits"] = summary["exclusion_bits"]
        return rf.out


def write_account(rf: ResultFolder, summary: dict) -> None:
    """Write ``summary.json`` and, with per-zone targets, ``targets_by_zone.csv``."""
    if summary.get("targets_by_zone"):
        rf.write_csv(rs.TARGETS_BY_ZONE, pd.DataFrame(summary["targets_by_zone"], columns=list(rs.ZONE_ACCOUNT_FIELDS)))
    rf.write_summary(summary)


# --------------------------------------------------------------------------- several technologies
@dataclass(frozen=True)
class SiteAccount:
    """Technologies screened in order on one region (``sinkplan site --tech pv,wind``).

    Attributes
    ----------
    results : dict
        Technology → its :class:`SiteResult` (each summary carries the account).
    summary : dict
        The account: installed baseline, screened, gap, per technology.
    supply : DataFrame
        The combined supply curve (cheapest first).
    """

    results: dict[str, SiteResult]
    summary: dict
    supply: pd.DataFrame


def combined_supply(frames: list[pd.DataFrame]) -> pd.DataFrame:
    """One supply curve of several technologies' parcels (cheapest first, cumulative sums)."""
    from sinkplan.siting.screen import SUPPLY_COLUMNS

    df = pd.concat([f for f in frames if len(f)], ignore_index=True) if any(len(f) for f in frames) else frames[0]
    df = df.sort_values(["lcoe_cny_per_mwh", "tech", "parcel_id"], kind="stable").reset_index(drop=True)
    df["order"] = range(1, len(df) + 1)
    df["cumulative_capacity_mw"] = df["capacity_mw"].cumsum()
    df["cumulative_energy_mwh_per_yr"] = df["energy_mwh_per_yr"].cumsum()
    return df[list(SUPPLY_COLUMNS)]


def _union_parcels(a: Path, b: Path, out: Path, grid, max_cells: int) -> None:
    """A raster that is 1 where either parcel raster holds a parcel (block by block)."""
    import numpy as np
    import rasterio

    from sinkplan.layers.reading import read_window
    from sinkplan.layers.writing import guarded_write

    with guarded_write(out, gdal=True), rasterio.open(a) as ra, rasterio.open(b) as rb, rasterio.open(
            out, "w", driver="GTiff", width=grid.width, height=grid.height, count=1, dtype="uint8",
            crs=grid.crs.to_wkt(), transform=grid.transform, tiled=True, compress="deflate") as dst:
        for w in grid.blocks(max_cells, square=True):
            dst.write(((read_window(ra, w) > 0) | (read_window(rb, w) > 0)).astype(np.uint8), 1, window=w)


def screen_techs(jobs: Sequence[tuple[Any, Sequence[tuple[str, Any, Prepared]]]], inputs, *,
                 workdir: str | os.PathLike, max_cells: int, executor: BlockExecutor | None = None, cache=None,
                 progress: Progress | None = None) -> SiteAccount:
    """Screen technologies in order; each later one excludes the earlier ones' parcels.

    Parameters
    ----------
    jobs : sequence of (SitingProfile, sweeps)
        One per technology, in priority order; ``sweeps`` as for :func:`screen_site`.
    inputs : ScreenInputs
        The run's inputs (the claimed land is added per technology).
    workdir, max_cells, executor, progress
        As for :func:`screen_site`.
    cache : VectorCache, optional
        Vector layers already read.

    Returns
    -------
    SiteAccount
    """
    from dataclasses import replace as dc_replace

    from sinkplan.siting.account import ACCOUNT_KEYS, run_account
    from sinkplan.siting.prepare import VectorCache, prepare

    cache = VectorCache() if cache is None else cache
    claimed: Path | None = None
    claimed_by: list[str] = []
    results: dict[str, SiteResult] = {}
    for prof, sweeps in jobs:
        inp = dc_replace(inputs, claimed=claimed, claimed_by="+".join(claimed_by)) if claimed else inputs
        prep = prepare(inp, prof, workdir=workdir, cache=cache)
        res = screen_site(prep, workdir=workdir, sweeps=sweeps, max_cells=max_cells, executor=executor,
                          progress=progress)
        res.parameters["claimed_by"] = list(claimed_by)
        results[prof.tech] = res
        parcels = res.rasters[rs.PARCELS_TIF.name]
        if claimed is not None:  # merge the claimed land with this technology's parcels
            merged = Path(workdir) / f"claimed-{os.getpid()}-{len(claimed_by)}.tif"
            _union_parcels(claimed, parcels, merged, prep.grid, max_cells)
            claimed = merged
        else:
            claimed = parcels
        claimed_by.append(prof.tech)
    first = next(iter(results.values())).prepared
    acc = run_account(first, [r.summary for r in results.values()])
    acc["allocation"] = ("technologies screened in the order " + ", ".join(claimed_by) + "; each later one "
                         "excludes the parcels of the earlier ones, so no pixel is counted twice")
    by_tech = {}
    for tech, res in results.items():
        summ = res.summary
        summ.update({k: acc[k] for k in ACCOUNT_KEYS if k in acc})
        summ["allocation"] = acc["allocation"]
        by_tech[tech] = {k: summ[k] for k in ("capacity_mw", "eligible_area_ha", "parcels", "energy_mwh_per_yr",
                                               "capacity_is_upper_bound", "not_checked", "largest_parcel_area_ha",
                                               "lcoe_cny_per_mwh_min", "lcoe_cny_per_mwh_median",
                                               "lcoe_cny_per_mwh_max")}
    acc["capacity_is_upper_bound"] = any(d["capacity_is_upper_bound"] for d in by_tech.values())
    acc["by_tech"] = by_tech
    # a technology with capacity but no resource raster has no energy: the total is then unknown, not 0
    unknown = [t for t, d in by_tech.items() if d["energy_mwh_per_yr"] is None and d["capacity_mw"]]
    acc["energy_mwh_per_yr"] = None if unknown else float(sum(d["energy_mwh_per_yr"] or 0.0 for d in by_tech.values()))
    if unknown:
        acc["energy_note"] = (f"not computed: no resource raster for {', '.join(unknown)} "
                              "(--ghi or --pvout for PV, --wind-speed for wind)")
    acc["target_key"] = first.target.key
    if acc.get("target_year") is None:  # per-zone targets set their own; else as each technology's summary (null was written)
        acc["target_year"] = first.target.year
    acc["target_clause"] = first.target.clause
    supply = combined_supply([r.supply for r in results.values()])
    return SiteAccount(results, acc, supply)


def write_site_account(account: SiteAccount, folder: str | os.PathLike | ResultFolder, *, overwrite: bool = False,
                       command: str = "site") -> Path:
    """Write ``--tech pv,wind``'s folder: one site result folder per technology inside, and at
    the top the account (``summary.json``) and the combined supply curve; returns the folder."""
    from sinkplan.siting.mapfiles import supply_curve_figure

    params = {"tech": ",".join(account.results), "profile": [r.parameters["profile"] for r in account.results.values()]}
    inputs = next(iter(account.results.values())).inputs
    if isinstance(folder, ResultFolder):
        folder.parameters, folder.inputs = params, [Path(p) for p in inputs]
        ctx = contextlib.nullcontext(folder)
    else:
        ctx = ResultFolder(folder, kind="site-account", command=command, parameters=params, inputs=inputs,
                           overwrite=overwrite)
    with ctx as rf:
        for tech, res in account.results.items():
            write_site(res, rf.path(tech), command=f"{command} {tech}")
        rf.write_csv(rs.SUPPLY_CSV, account.supply)
        supply_curve_figure(account.supply, rf.path(rs.SUPPLY_PNG))
        write_account(rf, account.summary)
        return rf.out

"""Running a screen: first pass over blocks, joining, second pass, parcels, bases, summary.

:func:`run_screen` writes the rasters (through :class:`sinkplan.layers.outputs.BlockWriter`) to the
paths it is given and returns the parcel and base tables and the summary; the caller
(``sinkplan site``) writes them into the result folder. :func:`screen_capacity` runs only
the first pass and the joining, for scenario sweeps.
"""

from __future__ import annotations

import functools
import logging
import os
from dataclasses import dataclass
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from sinkplan.layers.landcover import check_codes
from sinkplan.layers.parallel import BlockExecutor, map_blocks
from sinkplan.siting.blocks import screen_block
from sinkplan.siting.components import Joined, Joiner
from sinkplan.siting.inputs import ScratchRaster
from sinkplan.siting.parcels import compactness, distance_to_features_km, finish_rasters, region_aeqd, to_crs
from sinkplan.siting.prepare import Prepared, target_mw
from sinkplan.siting.profile import ZONE_CODES, ZONE_TYPES
from sinkplan.siting.scoring import cluster_bases, criteria, score_and_rank
from sinkplan.layers.parallel import Progress

__all__ = ["ScreenResult", "run_screen", "screen_capacity", "PARCEL_COLUMNS"]

logger = logging.getLogger(__name__)

#: Columns of parcels.gpkg / parcels.csv, in order.
PARCEL_COLUMNS = (
    "parcel_id", "rank", "score", "zone_type", "admin_zone", "area_ha", "area_ha_desert", "area_ha_border",
    "area_ha_mine", "area_ha_other", "capacity_mw", "slope_mean_deg",
    "slope_max_deg", "distance_to_grid_km", "stock_mgc", "stock_mgc_per_ha", "compactness", "perimeter_km",
    "base_id", "s_slope", "s_grid", "s_carbon", "s_compactness", "s_zone", "pixels",
)
_CODE_ZONE = {v: k for k, v in ZONE_CODES.items()}


@dataclass
class ScreenResult:
    """Tables and summary of one screen."""

    parcels: gpd.GeoDataFrame
    bases: gpd.GeoDataFrame
    summary: dict


@dataclass
class FirstPass:
    joiner: Joiner
    bit_area_m2: np.ndarray
    eligible_area_m2: np.ndarray
    total_area_m2: float
    windows: list


def first_pass(prep: Prepared, *, max_cells: int, executor: BlockExecutor | None = None,
               progress: Progress | None = None,
               scratch: tuple[ScratchRaster, ScratchRaster, ScratchRaster] | None = None) -> FirstPass:
    """Screen every block; write scratch rasters (bits, labels, zone codes) when given; join nothing yet."""
    grid = prep.grid
    windows = list(grid.blocks(max_cells))
    joiner = Joiner(grid.width, grid.height)
    bit_area = np.zeros(prep.spec.nbits)
    elig = np.zeros(5)
    total = 0.0
    unknown: dict[int, int] = {}
    func = functools.partial(screen_block, prep.spec)
    for res in map_blocks(func, windows, executor=executor, progress=progress, label="screening blocks"):
        joiner.add(res)
        bit_area += res.bit_area_m2
        elig += res.eligible_area_m2
        total += res.total_area_m2
        for k, v in res.unknown.items():
            unknown[k] = unknown.get(k, 0) + v
        if scratch is not None:
            scratch[0].write(res.bits, res.window)
            scratch[1].write(res.labels, res.window)
            scratch[2].write(res.zone, res.window)
    if unknown:
        check_codes(unknown, prep.landcover.scheme, prep.landcover.path)
    return FirstPass(joiner, bit_area, elig, total, windows)


def _zone_priority(prep: Prepared) -> dict[int, float]:
    """Zone code → the profile's ``zones.<type>.priority`` (ties of a parcel's largest parts)."""
    return {ZONE_CODES[k]: getattr(prep.profile.zones, k).priority for k in ZONE_TYPES}


def _join(prep: Prepared, fp: FirstPass) -> Joined:
    return fp.joiner.finish(min_area_m2=prep.spec.min_area_m2, zone_priority=_zone_priority(prep))


def _capacity_table(prep: Prepared, joined: Joined) -> pd.DataFrame:
    t = joined.table.copy()
    t["zone_type"] = t["code"].map(_CODE_ZONE)  # the type of the parcel's largest part
    t["area_ha"] = t["area_m2"] / 1e4  # m² → ha
    for z in ZONE_TYPES:  # a parcel of connected eligible land may span zone types
        t[f"area_ha_{z}"] = t[f"area_m2_{z}"] / 1e4
    # MW/km² × km² = MW (area m² / 1e6 = km²)
    t["capacity_mw"] = t["area_m2"] / 1e6 * prep.profile.technology.power_density_mw_per_km2
    return t


def _by_zone(t: pd.DataFrame, density_mw_per_km2: float) -> dict:
    """Area and capacity per zone type from the parcels' per-type areas (exact by pixels:
    a parcel spanning two types counts in each with its part); ``parcels`` counts the
    parcels whose largest part is of the type."""
    out = {}
    for z in ZONE_TYPES:
        area_ha = float(t[f"area_ha_{z}"].sum())
        out[z] = {"parcels": int((t["zone_type"] == z).sum()), "area_ha": area_ha,
                  "capacity_mw": area_ha / 100.0 * density_mw_per_km2}  # ha / 100 = km²; × MW/km² = MW
    return out


def screen_capacity(prep: Prepared, *, max_cells: int, executor: BlockExecutor | None = None,
                    progress: Progress | None = None) -> dict:
    """Parcels, area and capacity of a screen without writing anything (for sweeps)."""
    fp = first_pass(prep, max_cells=max_cells, executor=executor, progress=progress)
    joined = _join(prep, fp)
    t = _capacity_table(prep, joined)
    cap = float(t["capacity_mw"].sum())
    tmw = target_mw(prep.target)
    return {"parcels": int(len(t)), "eligible_area_ha": float(t["area_ha"].sum()), "capacity_mw": cap,
            "target_mw": tmw, "share_of_target": cap / tmw,
            "by_zone_type": _by_zone(t, prep.profile.technology.power_density_mw_per_km2)}


def run_screen(prep: Prepared, *, workdir: str | os.PathLike, exclusions_path: str | os.PathLike,
               eligible_path: str | os.PathLike, parcels_raster_path: str | os.PathLike,
               max_cells: int, executor: BlockExecutor | None = None, progress: Progress | None = None) -> ScreenResult:
    """The whole screen: exclusions, zones of interest, parcels, scores and bases.

    Parameters
    ----------
    prep : Prepared
        Validated inputs and profile from :func:`sinkplan.siting.prepare.prepare`.
    workdir : path-like
        Folder for scratch rasters (removed by the caller).
    exclusions_path, eligible_path, parcels_raster_path : path-like
        Where ``exclusions.tif`` (bit flags), ``eligible.tif`` (zone code) and the parcel-id
        raster are written (Cloud-Optimized GeoTIFFs).
    max_cells : int
        Cells per block (memory bound).
    executor : BlockExecutor, optional
        Where the first pass runs (one process by default, or Dask).
    progress : callable, optional
        ``progress(fraction, label)``.

    Returns
    -------
    ScreenResult
        Parcels and bases (GeoDataFrames) and the summary.
    """
    grid, prof = prep.grid, prep.profile
    tags = {"tech": prof.tech, "profile": prof.name or prof.origin}
    sb = ScratchRaster(Path(workdir) / "bits.tif", grid, prep.spec.bits_dtype)
    sl = ScratchRaster(Path(workdir) / "labels.tif", grid, "uint32")
    sz = ScratchRaster(Path(workdir) / "zones.tif", grid, "uint8")
    try:
        fp = first_pass(prep, max_cells=max_cells, executor=executor, progress=progress, scratch=(sb, sl, sz))
    finally:
        for s in (sb, sl, sz):
            s.close()
    joined = _join(prep, fp)
    geoms, small_m2 = finish_rasters(
        grid, fp.windows, joined, prep.rules, prep.spec.bits_dtype, prep.small_bit, sb, sl, sz,
        exclusions_path=exclusions_path, eligible_path=eligible_path, parcels_path=parcels_raster_path,
        tags=tags, progress=progress,
    )
    for s in (sb, sl, sz):
        Path(s.path).unlink(missing_ok=True)
    t = _capacity_table(prep, joined)
    parcels, bases = _parcel_layers(prep, t, geoms)
    bit_area = fp.bit_area_m2.copy()
    bit_area[prep.small_bit] = small_m2
    summary = _summary(prep, parcels, bases, fp, bit_area, small_m2)
    return ScreenResult(parcels, bases, summary)


def _parcel_layers(prep: Prepared, t: pd.DataFrame, geoms: dict) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    grid, prof = prep.grid, prep.profile
    g = np.array([geoms.get(int(p)) for p in t["parcel_id"]], dtype=object)
    t["admin_zone"] = [prep.admin_names[i - 1] if i > 0 else "" for i in t["admin_id"]]
    pp, per = compactness(g, t["area_m2"].to_numpy(), grid.crs) if len(t) else (np.zeros(0), np.zeros(0))
    t["compactness"] = pp
    t["perimeter_km"] = per / 1000.0  # m → km
    aeqd = region_aeqd(grid)
    t["distance_to_grid_km"] = distance_to_features_km(g, prep.grid_features, grid.crs, aeqd)
    with np.errstate(invalid="ignore", divide="ignore"):
        t["stock_mgc_per_ha"] = t["stock_mgc"] / t["area_ha"]
    sc = prof.scoring
    prio = {k: getattr(prof.zones, k).priority for k in ZONE_TYPES}
    s = criteria(t, max_slope_deg=prof.technology.max_slope_deg, grid_distance_max_km=sc.grid_distance_max_km,
                 carbon_ref_mgc_per_ha=sc.carbon_ref_mgc_per_ha, zone_priority=prio)
    t = pd.concat([t, s], axis=1)
    t["score"], t["rank"], used = score_and_rank(t, s, sc.weights.model_dump())
    t.attrs["criteria_used"] = used
    # edge-to-edge distances in the region-centred azimuthal equidistant CRS (metres)
    lab = cluster_bases(to_crs(g, grid.crs, aeqd) if len(t) else np.empty(0, dtype=object), prof.bases.distance_m)
    bases = _bases(t, g, lab, prof.bases.min_capacity_mw, grid.crs)
    base_of = {}
    for r in bases.itertuples():
        for p in str(r.members).split(","):
            base_of[int(p)] = r.base_id
    t["base_id"] = [base_of.get(int(p), 0) for p in t["parcel_id"]]
    parcels = gpd.GeoDataFrame(t[list(PARCEL_COLUMNS)].reset_index(drop=True), geometry=list(g), crs=grid.crs)
    parcels.attrs["criteria_used"] = used
    return parcels, bases


def _bases(t: pd.DataFrame, g: np.ndarray, lab: np.ndarray, min_mw: float, crs) -> gpd.GeoDataFrame:
    cols = ["base_id", "parcels", "members", "area_ha", "capacity_mw", "zone_types", "admin_zones", "best_rank", "mean_score"]
    rows, hulls = [], []
    for k in np.unique(lab):
        m = lab == k
        sub = t[m]
        rows.append({
            "parcels": int(m.sum()), "members": ",".join(str(int(p)) for p in sub["parcel_id"]),
            "area_ha": float(sub["area_ha"].sum()), "capacity_mw": float(sub["capacity_mw"].sum()),
            "zone_types": ",".join(sorted(set(sub["zone_type"]))),
            "admin_zones": ",".join(sorted({a for a in sub["admin_zone"] if a})),
            "best_rank": int(sub["rank"].min()), "mean_score": float(sub["score"].mean()),
        })
        hulls.append(shapely.convex_hull(shapely.GeometryCollection(list(g[m]))))
    df = pd.DataFrame(rows, columns=cols[1:])
    df["geometry"] = hulls
    df = df[df["capacity_mw"] >= min_mw].sort_values(["capacity_mw", "best_rank"], ascending=[False, True], kind="stable")
    df.insert(0, "base_id", np.arange(1, len(df) + 1, dtype=np.int64))
    return gpd.GeoDataFrame(df.reset_index(drop=True), geometry="geometry", crs=crs)


def _summary(prep: Prepared, parcels: gpd.GeoDataFrame, bases: gpd.GeoDataFrame, fp: FirstPass,
             bit_area_m2: np.ndarray, small_m2: float) -> dict:
    prof, tech = prep.profile, prep.profile.technology
    area_ha = float(parcels["area_ha"].sum())
    cap = float(parcels["capacity_mw"].sum())
    tmw = target_mw(prep.target)
    total_ha = fp.total_area_m2 / 1e4
    return {
        "tech": prof.tech,
        "profile": prof.name,
        "profile_origin": prof.origin,
        "power_density_mw_per_km2": tech.power_density_mw_per_km2,
        "max_slope_deg": tech.max_slope_deg,
        "min_parcel_area_ha": tech.min_parcel_area_ha,
        "total_area_ha": total_ha,
        "eligible_area_ha": area_ha,
        "excluded_area_ha": total_ha - area_ha,
        "small_fragments_area_ha": small_m2 / 1e4,
        "capacity_mw": cap,
        "parcels": int(len(parcels)),
        "bases": int(len(bases)),
        "stock_mgc": float(parcels["stock_mgc"].sum()),
        "by_zone_type": _by_zone(pd.DataFrame(parcels.drop(columns="geometry")), tech.power_density_mw_per_km2),
        "target_key": prep.target.key,
        "target_mw": tmw,
        "target_year": prep.target.year,
        "target_clause": prep.target.clause,
        "share_of_target": cap / tmw,
        "exclusion_bits": [
            {"bit": r.bit, "value": r.value, "rule": r.name, "description": r.description,
             "area_ha": float(bit_area_m2[r.bit]) / 1e4} for r in prep.rules
        ],
        "eligible_codes": {"0": "excluded", **{str(v): k for k, v in ZONE_CODES.items()}},
        "criteria_used": list(parcels.attrs.get("criteria_used", [])),
        "weights": prof.scoring.weights.model_dump(),
        "notes": list(prep.notes),
    }

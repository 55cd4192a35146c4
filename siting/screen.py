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
from sinkplan.layers.parallel import BlockExecutor, map_blocks, pass_threads
from sinkplan.siting.blocks import screen_block
from sinkplan.siting.components import Joined, Joiner
from sinkplan.siting.inputs import ScratchRaster
from sinkplan.siting.energy import carbon_payback_years, lcoe_cny_per_mwh
from sinkplan.siting.parcels import (compactness, distance_to_features_km, finish_rasters, nearest_features_km,
                                     region_aeqd, to_crs)
from sinkplan.siting.account import capacity_by_zone, target_account
from sinkplan.siting.prepare import Prepared
from sinkplan.siting.profile import ZONE_CODES, ZONE_TYPES, value_sources
from sinkplan.siting.scoring import cluster_bases, criteria, score_and_rank
from sinkplan.layers.parallel import Progress

__all__ = ["ScreenResult", "run_screen", "screen_capacity", "target_account", "supply_curve", "PARCEL_COLUMNS",
           "SUPPLY_COLUMNS"]

logger = logging.getLogger(__name__)

#: Columns of parcels.gpkg / parcels.csv, in order.
PARCEL_COLUMNS = (
    "parcel_id", "rank", "score", "zone_type", "admin_zone", "area_ha", "area_ha_desert", "area_ha_border",
    "area_ha_mine", "area_ha_other", "capacity_mw", "mw_per_km2", "energy_mwh_per_yr", "capacity_factor",
    "resource_mean", "turbines", "terrain_class", "area_ha_terrain_i", "area_ha_terrain_ii", "area_ha_terrain_iii",
    "slope_mean_deg", "slope_max_deg", "distance_to_grid_km", "distance_to_substation_km", "substation_kv",
    "grid_cost_cny", "lcoe_cny_per_mwh", "stock_mgc", "stock_mgc_per_ha", "carbon_payback_years", "compactness",
    "perimeter_km", "base_id", "s_slope", "s_grid", "s_carbon", "s_compactness", "s_zone", "s_energy", "not_checked",
    "pixels",
)
#: Columns of supply_curve.csv, in order.
SUPPLY_COLUMNS = ("order", "parcel_id", "tech", "lcoe_cny_per_mwh", "capacity_mw", "energy_mwh_per_yr",
                  "cumulative_capacity_mw", "cumulative_energy_mwh_per_yr")
_CODE_ZONE = {v: k for k, v in ZONE_CODES.items()}


@dataclass
class ScreenResult:
    """Tables and summary of one screen."""

    parcels: gpd.GeoDataFrame
    bases: gpd.GeoDataFrame
    summary: dict
    #: Turbine points (wind.turbine.placement = "turbines"), else None.
    turbines: gpd.GeoDataFrame | None = None
    #: supply_curve.csv rows (:data:`SUPPLY_COLUMNS`).
    supply: pd.DataFrame | None = None


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
    windows = list(grid.blocks(max_cells, square=True))  # whole overview tiles per block (Grid.block_shape_for)
    joiner = Joiner(grid.width, grid.height, cells=prep.spec.cells)
    bit_area = np.zeros(prep.spec.nbits)
    elig = np.zeros(5)
    total = 0.0
    unknown: dict[int, int] = {}
    func = functools.partial(screen_block, prep.spec)
    for res in map_blocks(func, windows, executor=executor, progress=progress, label="screening blocks",
                          threads=pass_threads()):
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
    if "capacity_mw" not in t:  # no block had a parcel: MW/km² × km² = MW (area m² / 1e6 = km²)
        t["capacity_mw"] = t["area_m2"] / 1e6 * prep.profile.technology.power_density_mw_per_km2
    with np.errstate(invalid="ignore", divide="ignore"):
        t["mw_per_km2"] = t["capacity_mw"] / (t["area_m2"] / 1e6)
        if "energy_mwh_per_yr" in t:
            # capacity factor over the part with a resource value: MWh / (MW × 8760 h)
            t["capacity_factor"] = t["energy_mwh_per_yr"] / (t["resource_capacity_mw"] * 8760.0)
            t["resource_mean"] = t["resource_sum"] / t["resource_area_m2"]
        else:
            t["energy_mwh_per_yr"] = np.nan
            t["capacity_factor"] = np.nan
            t["resource_mean"] = np.nan
    for k, roman in ((1, "i"), (2, "ii"), (3, "iii")):
        col = f"area_m2_terrain_{k}"
        t[f"area_ha_terrain_{roman}"] = t[col] / 1e4 if col in t else np.nan
    if "area_m2_terrain_1" in t:
        parts = t[["area_m2_terrain_1", "area_m2_terrain_2", "area_m2_terrain_3"]].to_numpy()
        t["terrain_class"] = np.where(parts.sum(axis=1) > 0, np.array(["I", "II", "III"])[parts.argmax(axis=1)], "")
    else:
        t["terrain_class"] = ""
    t["turbines"] = np.nan
    return t


def _by_zone(t: pd.DataFrame) -> dict:
    """Area and capacity per zone type from the parcels' per-type areas (exact by pixels:
    a parcel spanning two types counts in each with its part, its capacity split in
    proportion to area); ``parcels`` counts the parcels whose largest part is of the type."""
    out = {}
    with np.errstate(invalid="ignore", divide="ignore"):
        mw_per_ha = np.where(t["area_ha"] > 0, t["capacity_mw"] / t["area_ha"], 0.0)
    for z in ZONE_TYPES:
        area_ha = float(t[f"area_ha_{z}"].sum())
        out[z] = {"parcels": int((t["zone_type"] == z).sum()), "area_ha": area_ha,
                  "capacity_mw": float((t[f"area_ha_{z}"] * mw_per_ha).sum())}  # ha × MW/ha = MW
    return out


def _finite_or_none(x) -> float | None:
    x = float(x)
    return x if np.isfinite(x) else None


def screen_capacity(prep: Prepared, *, max_cells: int, executor: BlockExecutor | None = None,
                    progress: Progress | None = None) -> dict:
    """Parcels, area and capacity of a screen without writing anything (for sweeps)."""
    fp = first_pass(prep, max_cells=max_cells, executor=executor, progress=progress)
    joined = _join(prep, fp)
    t = _capacity_table(prep, joined)
    cap = float(t["capacity_mw"].sum())
    by_admin = capacity_by_zone(t, joined.admin_area, prep.admin_names)
    return {"parcels": int(len(t)), "eligible_area_ha": float(t["area_ha"].sum()), "capacity_mw": cap,
            "energy_mwh_per_yr": _finite_or_none(t["energy_mwh_per_yr"].sum(min_count=1)) if len(t) else None,
            **target_account(prep, cap, screened_by_zone={k: v["capacity_mw"] for k, v in by_admin.items()}),
            "by_zone_type": _by_zone(t)}


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
    parcels, bases, turbines = _parcel_layers(prep, t, geoms)
    bit_area = fp.bit_area_m2.copy()
    bit_area[prep.small_bit] = small_m2
    summary = _summary(prep, parcels, bases, fp, bit_area, small_m2, admin_area=joined.admin_area)
    return ScreenResult(parcels, bases, summary, turbines=turbines, supply=supply_curve(parcels, prof.tech))


def _parcel_layers(prep: Prepared, t: pd.DataFrame, geoms: dict) -> tuple[gpd.GeoDataFrame, gpd.GeoDataFrame]:
    grid, prof = prep.grid, prep.profile
    g = np.array([geoms.get(int(p)) for p in t["parcel_id"]], dtype=object)
    t["admin_zone"] = [prep.admin_names[i - 1] if i > 0 else "" for i in t["admin_id"]]
    pp, per = compactness(g, t["area_m2"].to_numpy(), grid.crs) if len(t) else (np.zeros(0), np.zeros(0))
    t["compactness"] = pp
    t["perimeter_km"] = per / 1000.0  # m → km
    aeqd = region_aeqd(grid)
    t["distance_to_grid_km"] = distance_to_features_km(g, prep.grid_features, grid.crs, aeqd)
    turbines = None
    if prof.tech == "wind" and prof.technology.turbine.placement == "turbines" and len(t):
        turbines = _place_turbines(prep, t, g, aeqd)
    _cost_columns(prep, t, g, aeqd)
    with np.errstate(invalid="ignore", divide="ignore"):
        t["stock_mgc_per_ha"] = t["stock_mgc"] / t["area_ha"]
    t["carbon_payback_years"] = carbon_payback_years(t["stock_mgc"], t["energy_mwh_per_yr"],
                                                     prof.carbon.emission_factor_t_co2_per_mwh)
    t["not_checked"] = ",".join(n["rule"] for n in prep.not_checked if n["effect"] == "upper_bound")
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
    if turbines is not None:
        turbines = turbines.merge(t[["parcel_id", "rank"]], on="parcel_id", how="left")
    return parcels, bases, turbines


def _place_turbines(prep: Prepared, t: pd.DataFrame, g: np.ndarray, aeqd) -> gpd.GeoDataFrame:
    """Turbines on each parcel (:func:`sinkplan.siting.turbines.place_turbines`); capacity
    becomes turbines × rating and energy scales with it (same capacity factor)."""
    from sinkplan.siting.energy import wind_turbine
    from sinkplan.siting.turbines import place_turbines

    cfg = prep.profile.technology.turbine
    turb = wind_turbine(cfg.turbine_type, cfg.hub_height_m)
    rating_mw = float(turb.nominal_power) / 1e6  # W → MW
    d = float(turb.rotor_diameter)
    pts, owner = place_turbines(to_crs(g, prep.grid.crs, aeqd), along_m=cfg.spacing_along_rotor_d * d,
                                across_m=cfg.spacing_across_rotor_d * d, wind_from_deg=cfg.prevailing_wind_from_deg)
    n = np.bincount(owner, minlength=len(t)) if len(owner) else np.zeros(len(t), dtype=np.int64)
    old = t["capacity_mw"].to_numpy()
    new = n * rating_mw
    with np.errstate(invalid="ignore", divide="ignore"):
        scale = np.where(old > 0, new / old, 0.0)
    t["turbines"] = n
    t["capacity_mw"] = new
    t["mw_per_km2"] = new / (t["area_m2"] / 1e6)
    t["energy_mwh_per_yr"] = t["energy_mwh_per_yr"] * scale
    ll = to_crs(pts, aeqd, "EPSG:4326") if len(pts) else np.empty(0, dtype=object)
    return gpd.GeoDataFrame({"turbine_id": np.arange(1, len(pts) + 1), "parcel_id": t["parcel_id"].to_numpy()[owner],
                             "turbine_type": cfg.turbine_type, "rating_mw": rating_mw, "rotor_diameter_m": d,
                             "hub_height_m": cfg.hub_height_m}, geometry=list(ll), crs="EPSG:4326")


def _cost_columns(prep: Prepared, t: pd.DataFrame, g: np.ndarray, aeqd) -> None:
    """Distance to the nearest substation (its kV), grid-connection cost and LCOE (reV lcoe_fcr)."""
    cost = prep.profile.cost
    t["distance_to_substation_km"] = np.nan
    t["substation_kv"] = np.nan
    if prep.substations and len(t):
        pts, kv = prep.substations
        d, idx = nearest_features_km(g, pts, prep.grid.crs, aeqd)
        t["distance_to_substation_km"] = d
        t["substation_kv"] = np.where(idx >= 0, kv[np.maximum(idx, 0)], np.nan)
        dist = t["distance_to_substation_km"]
    else:  # no substations: the nearest line or substation of --grid-lines
        dist = t["distance_to_grid_km"]
    per_km = np.array([_per_km(cost, v) for v in t["substation_kv"]]) if len(t) else np.zeros(0)
    t["grid_cost_cny"] = dist.to_numpy() * per_km  # km × CNY/km
    t["lcoe_cny_per_mwh"] = lcoe_cny_per_mwh(t["capacity_mw"], t["energy_mwh_per_yr"],
                                             capex_cny_per_kw=cost.capex_cny_per_kw,
                                             opex_cny_per_kw_yr=cost.opex_cny_per_kw_yr,
                                             fixed_charge_rate=cost.fcr,
                                             grid_cost_cny=np.nan_to_num(t["grid_cost_cny"].to_numpy(), nan=0.0))


def _per_km(cost, kv: float) -> float:
    """Line cost per km for a substation of ``kv``: the profile's entry of the nearest voltage
    at or above it (the default when none is given or the voltage is unknown)."""
    table = sorted((float(k), v) for k, v in cost.grid_cost_cny_per_km.items())
    if not np.isfinite(kv) or not table:
        return cost.grid_cost_default_cny_per_km
    for k, v in table:
        if kv <= k + 1e-9:
            return v
    return table[-1][1]


def supply_curve(parcels: pd.DataFrame, tech: str | pd.Series) -> pd.DataFrame:
    """Parcels sorted by LCOE (cheapest first) with cumulative capacity and energy (reV's supply curve)."""
    df = pd.DataFrame({"parcel_id": parcels["parcel_id"], "tech": tech, "lcoe_cny_per_mwh": parcels["lcoe_cny_per_mwh"],
                       "capacity_mw": parcels["capacity_mw"], "energy_mwh_per_yr": parcels["energy_mwh_per_yr"]})
    df = df[np.isfinite(df["lcoe_cny_per_mwh"].astype(float))]
    df = df.sort_values(["lcoe_cny_per_mwh", "parcel_id"], kind="stable").reset_index(drop=True)
    df["cumulative_capacity_mw"] = df["capacity_mw"].cumsum()
    df["cumulative_energy_mwh_per_yr"] = df["energy_mwh_per_yr"].cumsum()
    df.insert(0, "order", np.arange(1, len(df) + 1))
    return df[list(SUPPLY_COLUMNS)]


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
             bit_area_m2: np.ndarray, small_m2: float, *, admin_area: pd.DataFrame | None = None) -> dict:
    prof, tech = prep.profile, prep.profile.technology
    area_ha = float(parcels["area_ha"].sum())
    cap = float(parcels["capacity_mw"].sum())
    total_ha = fp.total_area_m2 / 1e4
    nodata_bit = next((r.bit for r in prep.rules if r.name == "nodata"), None)
    # pixels without land-cover data carry the nodata bit alone (siting.blocks): the rest is the land screened
    nodata_ha = float(bit_area_m2[nodata_bit]) / 1e4 if nodata_bit is not None else 0.0
    e = float(parcels["energy_mwh_per_yr"].sum(min_count=1)) if len(parcels) else float("nan")
    energy = e if np.isfinite(e) else None  # None: no resource raster
    lcoe = parcels["lcoe_cny_per_mwh"].to_numpy(dtype=float)
    fin = np.isfinite(lcoe)
    cf = parcels["capacity_factor"].to_numpy(dtype=float)
    w = parcels["capacity_mw"].to_numpy(dtype=float)
    okcf = np.isfinite(cf) & (w > 0)
    by_admin = capacity_by_zone(pd.DataFrame(parcels.drop(columns="geometry")), admin_area, prep.admin_names)
    account = target_account(prep, cap, screened_by_zone={k: v["capacity_mw"] for k, v in by_admin.items()})
    return {
        "tech": prof.tech,
        "profile": prof.name,
        "profile_origin": prof.origin,
        "power_density_mw_per_km2": tech.power_density_mw_per_km2,
        "max_slope_deg": tech.max_slope_deg,
        "min_parcel_area_ha": tech.min_parcel_area_ha,
        "total_area_ha": total_ha,
        "nodata_area_ha": nodata_ha,
        "mapped_area_ha": max(total_ha - nodata_ha, 0.0),
        "eligible_area_ha": area_ha,
        "excluded_area_ha": total_ha - area_ha,
        "small_fragments_area_ha": small_m2 / 1e4,
        "capacity_mw": cap,
        "capacity_is_upper_bound": prep.capacity_is_upper_bound,
        "not_checked": [dict(n) for n in prep.not_checked],
        "capacity_method": _capacity_method(prep),
        "max_parcel_area_ha": tech.max_parcel_area_ha,
        "largest_parcel_area_ha": float(parcels["area_ha"].max()) if len(parcels) else 0.0,
        "parcels": int(len(parcels)),
        "bases": int(len(bases)),
        "stock_mgc": float(parcels["stock_mgc"].sum()),
        "energy_mwh_per_yr": energy,
        "capacity_factor": float(np.average(cf[okcf], weights=w[okcf])) if okcf.any() else None,
        "energy_model": prep.energy_model,
        "lcoe_cny_per_mwh_min": float(lcoe[fin].min()) if fin.any() else None,
        "lcoe_cny_per_mwh_median": float(np.median(lcoe[fin])) if fin.any() else None,
        "lcoe_cny_per_mwh_max": float(lcoe[fin].max()) if fin.any() else None,
        "cost": prof.cost.describe(),
        "assumptions": [v for v in value_sources(prof) if v["assumption"]],
        "emission_factor_t_co2_per_mwh": prof.carbon.emission_factor_t_co2_per_mwh,
        "avoided_t_co2_per_yr": energy * prof.carbon.emission_factor_t_co2_per_mwh if energy is not None else None,
        "turbines": int(parcels["turbines"].sum()) if parcels["turbines"].notna().any() else None,
        "by_zone_type": _by_zone(pd.DataFrame(parcels.drop(columns="geometry"))),
        "by_admin_zone": by_admin,
        "target_key": prep.target.key,
        "target_year": prep.target.year,
        "target_clause": prep.target.clause if not prep.zone_targets else
        f"per-zone targets ({prep.target.key}) from {prep.inputs.targets}",
        **account,
        "exclusion_bits": [
            {"bit": r.bit, "value": r.value, "rule": r.name, "description": r.description,
             "area_ha": float(bit_area_m2[r.bit]) / 1e4} for r in prep.rules
        ],
        "eligible_codes": {"0": "excluded", **{str(v): k for k, v in ZONE_CODES.items()}},
        "criteria_used": list(parcels.attrs.get("criteria_used", [])),
        "weights": prof.scoring.weights.model_dump(),
        "notes": list(prep.notes) + _dem_gap_notes(prep, bit_area_m2, total_ha),
    }


def _dem_gap_notes(prep: Prepared, bit_area_m2: np.ndarray, total_ha: float) -> list[str]:
    """A note (and a warning) when the DEM leaves 1 % or more of the land without elevation:
    that land is excluded as slope unknown, a loss a DEM of the wrong extent (or all nodata)
    would otherwise hide behind a small capacity."""
    bits = {r.name: r.bit for r in prep.rules}
    land_ha = total_ha - (float(bit_area_m2[bits["nodata"]]) / 1e4 if "nodata" in bits else 0.0)
    if total_ha > 0 and land_ha <= 1e-9 * total_ha:  # every pixel nodata (the two sums differ by rounding only)
        note = (f"{prep.inputs.landcover}: no pixel has land-cover data (every one is nodata or of the nodata group): "
                "nothing could be screened; check the raster's nodata value and the class scheme")
        logger.warning("%s", note)
        return [note]
    if "dem_nodata" not in bits:
        return []
    gap_ha = float(bit_area_m2[bits["dem_nodata"]]) / 1e4
    if land_ha <= 1e-9 * total_ha or gap_ha < 0.01 * land_ha:
        return []
    note = (f"{prep.inputs.dem}: no elevation over {gap_ha:.0f} ha, {100 * gap_ha / land_ha:.1f} % of the land with "
            "land-cover data: that land is excluded (slope unknown, rule dem_nodata); give a DEM that covers the land "
            "cover with valid values")
    logger.warning("%s", note)
    return [note]


def _capacity_method(prep: Prepared) -> str:
    lay = prep.spec.layout
    if lay is None:
        return f"fixed density {prep.profile.technology.power_density_mw_per_km2:g} MW/km²"
    return (f"row spacing: {lay.module_w_per_m2:g} W/m² × ground-cover ratio × {lay.array_land_share:g}; GCR of "
            f"south-facing rows tilted at latitude {lay.tilt_offset_from_latitude_deg:+g}° unshaded on the winter "
            f"solstice from {lay.shade_free_from_hour:g}:00 solar time to its mirror hour, at each pixel's latitude "
            "and north–south slope")

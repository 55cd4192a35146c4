"""The target account of a screen: installed baseline, screened capacity and gap, for the run
and for each zone that has a target.

A provincial capacity target (Inner Mongolia: wind and solar above 200 GW by 2030) is compared
with a run only when the run covers the province (``--covers-target-region``); a run over a few
banners is compared with per-zone targets (``--targets zones.csv`` with indicator
``new_energy_capacity``, :mod:`sinkplan.seeds.zone_targets`), zone by zone:

* ``installed_mw`` of a zone: the plants of ``--installed`` whose representative point lies in
  it (a plant straddling two banners counts in the one holding that point);
* ``screened_mw`` of a zone: each parcel's capacity split over the zones in proportion to its
  area in each (exact pixel areas, every technology of the run);
* ``gap_mw`` = max(target − installed, 0), ``gap_after_screen_mw`` = max(target − installed −
  screened, 0), ``share_of_target`` = (installed + screened) / target.

The run's own figures are those of the ``(region total)`` row when the table has one, else the
sums over the zones that have a target.
"""

from __future__ import annotations

from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd

from sinkplan.seeds.zone_targets import REGION_TOTAL

__all__ = ["OUTSIDE_ZONES", "ZONE_ACCOUNT_COLUMNS", "ACCOUNT_KEYS", "installed_by_zone", "capacity_by_zone", "target_account",
           "run_account"]

#: Zone name of plants and parcels outside every zone of ``--zones``.
OUTSIDE_ZONES = "(outside zones)"
#: Columns of targets_by_zone.csv and of the summary's ``targets_by_zone`` rows.
ZONE_ACCOUNT_COLUMNS = ("zone", "target_mw", "year", "source", "installed_mw", "screened_mw", "gap_mw",
                        "gap_after_screen_mw", "share_of_target")


#: Summary keys of the account that every technology's folder of a ``--tech pv,wind`` run shares.
ACCOUNT_KEYS = ("installed_mw", "installed_mw_by_tech", "screened_mw", "target_mw", "target_source", "gap_mw",
                "gap_after_screen_mw", "share_of_target", "share_of_target_note", "gap_note", "targets_by_zone")


def zone_names(gdf: gpd.GeoDataFrame, field: str | None) -> list[str]:
    """Each feature's zone name, as :class:`~sinkplan.layers.zones.ZoneRasterizer` names them
    (the field's value as text, else the feature number from 1)."""
    if field is None:
        return [str(i) for i in range(1, len(gdf) + 1)]
    return [str(v) for v in gdf[field]]


def installed_by_zone(plants: gpd.GeoDataFrame, zones: gpd.GeoDataFrame, field: str | None) -> dict[str, float]:
    """MW of ``plants`` (``capacity_mw``) per zone, by each plant's representative point;
    plants outside every zone under :data:`OUTSIDE_ZONES`.

    Examples
    --------
    >>> from shapely.geometry import Point, box
    >>> z = gpd.GeoDataFrame({"name": ["A", "B"]}, geometry=[box(0, 0, 1, 1), box(1, 0, 2, 1)], crs=3857)
    >>> p = gpd.GeoDataFrame({"capacity_mw": [100.0, 50.0, 7.0]},
    ...                      geometry=[Point(0.5, 0.5), box(1.2, 0.2, 1.4, 0.4), Point(5, 5)], crs=3857)
    >>> installed_by_zone(p, z, "name")
    {'A': 100.0, 'B': 50.0, '(outside zones)': 7.0}
    """
    names = np.array(zone_names(zones, field), dtype=object)
    pts = gpd.GeoDataFrame({"capacity_mw": plants["capacity_mw"].to_numpy(dtype=float)},
                           geometry=plants.geometry.representative_point().values, crs=plants.crs)
    if zones.crs is not None and plants.crs is not None and not zones.crs.equals(plants.crs):
        pts = pts.to_crs(zones.crs)
    left, right = zones.sindex.query(pts.geometry.values, predicate="intersects")
    owner = np.full(len(pts), -1, dtype=np.int64)
    order = np.argsort(left, kind="stable")
    left, right = left[order], right[order]
    first = np.unique(left, return_index=True)[1]  # a point on a shared edge goes to the first zone
    owner[left[first]] = right[first]
    out: dict[str, float] = {}
    for i, mw in zip(owner, pts["capacity_mw"]):
        key = str(names[i]) if i >= 0 else OUTSIDE_ZONES
        out[key] = out.get(key, 0.0) + float(mw)
    return out


def capacity_by_zone(parcels: pd.DataFrame, admin_area: pd.DataFrame | None, names: tuple[str, ...]) -> dict[str, dict]:
    """Capacity and area of parcels per admin zone: each parcel's ``capacity_mw`` split over the
    zones in proportion to its area in each (``admin_area``: parcel_id, admin_id, area_m2);
    land in no zone under :data:`OUTSIDE_ZONES`.

    Examples
    --------
    >>> t = pd.DataFrame({"parcel_id": [1, 2], "capacity_mw": [30.0, 10.0], "area_ha": [100.0, 50.0]})
    >>> a = pd.DataFrame({"parcel_id": [1, 1, 2], "admin_id": [1, 2, 2], "area_m2": [600_000.0, 400_000.0, 500_000.0]})
    >>> capacity_by_zone(t, a, ("A", "B"))  # parcel 1: 60 % in A (18 MW), 40 % in B (12 MW) + parcel 2
    {'A': {'capacity_mw': 18.0, 'area_ha': 60.0}, 'B': {'capacity_mw': 22.0, 'area_ha': 90.0}}
    """
    out: dict[str, dict] = {}
    if admin_area is None or not names or not len(parcels):
        return out
    cap = dict(zip(parcels["parcel_id"].astype(int), parcels["capacity_mw"].astype(float)))
    area_m2 = dict(zip(parcels["parcel_id"].astype(int), parcels["area_ha"].astype(float) * 1e4))  # ha → m²
    assigned = {p: 0.0 for p in cap}
    for p, z, a in admin_area[["parcel_id", "admin_id", "area_m2"]].itertuples(index=False):
        p = int(p)
        if p not in cap or area_m2[p] <= 0:
            continue
        d = out.setdefault(names[int(z) - 1], {"capacity_mw": 0.0, "area_ha": 0.0})
        d["capacity_mw"] += cap[p] * float(a) / area_m2[p]  # MW × share of the parcel's area
        d["area_ha"] += float(a) / 1e4  # m² → ha
        assigned[p] += float(a)
    rest_mw = sum(cap[p] * max(area_m2[p] - assigned[p], 0.0) / area_m2[p] for p in cap if area_m2[p] > 0)
    rest_ha = sum(max(area_m2[p] - assigned[p], 0.0) for p in cap) / 1e4
    if rest_ha > 1e-9 * max(sum(area_m2.values()) / 1e4, 1.0):
        out[OUTSIDE_ZONES] = {"capacity_mw": rest_mw, "area_ha": rest_ha}
    return out


def _mw(t) -> float:
    """A policy target in MW."""
    return float(t.value) * (1000.0 if t.unit == "GW" else 1.0)  # GW → MW


def target_account(prep, screened_mw: float, *, screened_by_zone: dict[str, float] | None = None) -> dict:
    """The account against the capacity target (module docstring).

    ``screened_mw``: capacity of every technology of the run; ``screened_by_zone``: the same
    per admin zone (needed for per-zone targets).
    """
    installed = float(sum(prep.installed_mw.values()))
    screened = float(screened_mw)
    out = {
        "installed_mw": installed,
        "installed_mw_by_tech": dict(prep.installed_mw),
        "installed_source": str(prep.inputs.installed) if prep.inputs.installed else None,
        "screened_mw": screened,
        "capacity_is_upper_bound": prep.capacity_is_upper_bound,
    }
    if prep.inputs.installed is None:
        out["installed_note"] = "no --installed layer: the baseline of existing and approved plants is 0 here"
    if prep.zone_targets:
        out.update(_zone_account(prep, installed, screened, screened_by_zone or {}))
        return out
    tmw = _mw(prep.target)
    out.update({
        "target_source": f"{prep.target.source} (policy target {prep.target.key})",
        "target_mw": tmw,
        "gap_mw": max(tmw - installed, 0.0),
        "gap_after_screen_mw": max(tmw - installed - screened, 0.0),
    })
    if prep.inputs.covers_target_region:
        out["share_of_target"] = (installed + screened) / tmw
        out["share_of_target_note"] = "(installed + screened) / target; the run covers the target's region"
        out["gap_note"] = "target − installed; the run covers the target's region"
    else:
        out["share_of_target"] = None
        out["share_of_target_note"] = ("not computed: the run does not cover the whole region of the target "
                                       "(pass --covers-target-region for a run that does, or per-zone targets with "
                                       "--targets zones.csv); compare screened_mw with gap_mw only as a share of the "
                                       "region's remaining gap")
        out["gap_note"] = ("the target's region's remaining gap only if --installed lists that whole region's plants "
                           "(the run itself covers part of the region)")
    return out


def _zone_account(prep, installed: float, screened: float, screened_by_zone: dict[str, float]) -> dict:
    rows = []
    for t in prep.zone_targets:
        if t.zone == REGION_TOTAL:
            inst, scr = installed, screened
        else:
            inst, scr = float(prep.installed_by_zone.get(t.zone, 0.0)), float(screened_by_zone.get(t.zone, 0.0))
        rows.append({"zone": t.zone, "target_mw": t.value, "year": t.year, "source": t.source or "--targets",
                     "installed_mw": inst, "screened_mw": scr, "gap_mw": max(t.value - inst, 0.0),
                     "gap_after_screen_mw": max(t.value - inst - scr, 0.0),
                     "share_of_target": (inst + scr) / t.value})
    total = next((r for r in rows if r["zone"] == REGION_TOTAL), None)
    name = Path(prep.inputs.targets).name
    if total is not None:
        tmw, inst, scr = total["target_mw"], total["installed_mw"], total["screened_mw"]
        note = f"(installed + screened) / target of the {REGION_TOTAL} row of {name}"
    else:
        tmw = sum(r["target_mw"] for r in rows)
        inst = sum(r["installed_mw"] for r in rows)
        scr = sum(r["screened_mw"] for r in rows)
        note = (f"(installed + screened) / target over the {len(rows)} zones with a target in {name} "
                "(their sums)")
    years = sorted({r["year"] for r in rows if r["year"] is not None})
    return {
        "target_source": f"{name} (per-zone targets, indicator new_energy_capacity)",
        "target_mw": tmw, "target_year": years[-1] if years else None,
        "gap_mw": max(tmw - inst, 0.0), "gap_after_screen_mw": max(tmw - inst - scr, 0.0),
        "share_of_target": (inst + scr) / tmw, "share_of_target_note": note,
        "gap_note": "per-zone targets: the baseline and screened capacity of the zones with a target",
        "targets_by_zone": rows,
    }


def run_account(prep, summaries: list[dict]) -> dict:
    """The account of a run of several technologies from their summaries (``capacity_mw`` and
    ``by_admin_zone`` of each), against ``prep``'s target and baseline."""
    screened = float(sum(s["capacity_mw"] for s in summaries))
    by_zone: dict[str, float] = {}
    for s in summaries:
        for z, d in (s.get("by_admin_zone") or {}).items():
            by_zone[z] = by_zone.get(z, 0.0) + float(d["capacity_mw"])
    return target_account(prep, screened, screened_by_zone=by_zone)

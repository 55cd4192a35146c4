"""Parcel scores, ranks and candidate bases.

Each criterion is normalised to [0, 1], 1 best:

- ``slope``: 1 − mean slope / the profile's maximum slope;
- ``grid``: 1 − distance to the nearest line or substation / ``grid_distance_max_km``
  (0 beyond it);
- ``carbon``: 1 − carbon at stake per hectare / ``carbon_ref_mgc_per_ha`` (0 beyond it);
- ``compactness``: Polsby–Popper ÷ π/4 (a square pixel outline scores 1), capped at 1;
- ``zone``: the priority of the parcel's zone type.

score = Σ wᵢ sᵢ / Σ wᵢ over the criteria that can be computed for the run (no DEM: no
slope; no grid layer: no grid). Rank 1 is the best score; ties go to the larger parcel,
then the smaller parcel id. Bases: parcels whose centroids chain within ``distance_m``
(DBSCAN with ``min_samples=1`` in a metric CRS, i.e. single-linkage clusters).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["criteria", "score_and_rank", "cluster_bases", "CRITERIA"]

CRITERIA = ("slope", "grid", "carbon", "compactness", "zone")


def criteria(df: pd.DataFrame, *, max_slope_deg: float, grid_distance_max_km: float,
             carbon_ref_mgc_per_ha: float, zone_priority: dict[str, float]) -> pd.DataFrame:
    """Normalised criteria (columns ``s_<name>``, NaN where unknown) of a parcel table.

    ``df`` needs ``slope_mean_deg``, ``distance_to_grid_km``, ``stock_mgc``, ``area_ha``,
    ``compactness`` and ``zone_type``.
    """
    out = pd.DataFrame(index=df.index)
    out["s_slope"] = (1.0 - df["slope_mean_deg"] / max_slope_deg).clip(0.0, 1.0)
    out["s_grid"] = (1.0 - df["distance_to_grid_km"] / grid_distance_max_km).clip(0.0, 1.0)
    density = df["stock_mgc"] / df["area_ha"]  # Mg C / ha
    out["s_carbon"] = (1.0 - density / carbon_ref_mgc_per_ha).clip(0.0, 1.0)
    out["s_compactness"] = (df["compactness"] / (math.pi / 4)).clip(0.0, 1.0)
    out["s_zone"] = df["zone_type"].map(zone_priority).astype(float)
    return out


def score_and_rank(df: pd.DataFrame, s: pd.DataFrame, weights: dict[str, float]) -> tuple[pd.Series, pd.Series, list[str]]:
    """Weighted score and rank; returns (score, rank, criteria used)."""
    used = [c for c in CRITERIA if weights.get(c, 0) > 0 and s[f"s_{c}"].notna().any()]
    if not used or len(df) == 0:
        score = pd.Series(np.zeros(len(df)), index=df.index)
    else:
        w = np.array([weights[c] for c in used])
        vals = s[[f"s_{c}" for c in used]].to_numpy()
        vals = np.where(np.isnan(vals), 0.0, vals)  # a parcel missing one value scores 0 on it
        score = pd.Series(vals @ w / w.sum(), index=df.index)
    order = pd.DataFrame({"score": -score.round(12), "area": -df["area_ha"], "pid": df["parcel_id"]})
    ranked = order.sort_values(["score", "area", "pid"], kind="stable").index
    rank = pd.Series(0, index=df.index, dtype=np.int64)
    rank.loc[ranked] = np.arange(1, len(df) + 1)
    return score, rank, used


def cluster_bases(xy_m: np.ndarray, distance_m: float) -> np.ndarray:
    """Cluster labels (0..k-1) of points ``xy_m`` (n, 2) chaining within ``distance_m``."""
    if len(xy_m) == 0:
        return np.zeros(0, dtype=np.int64)
    from sklearn.cluster import DBSCAN  # imported here: scikit-learn adds ~0.6 s to every CLI start

    return DBSCAN(eps=distance_m, min_samples=1).fit(np.asarray(xy_m, dtype=float)).labels_.astype(np.int64)

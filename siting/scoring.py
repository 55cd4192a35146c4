"""Parcel scores, ranks and candidate bases.

Each criterion is normalised to [0, 1], 1 best:

- ``slope``: 1 − mean slope / the profile's maximum slope;
- ``grid``: 1 − distance to the nearest line or substation / ``grid_distance_max_km``
  (0 beyond it);
- ``carbon``: 1 − carbon at stake per hectare / ``carbon_ref_mgc_per_ha`` (0 beyond it);
- ``compactness``: Polsby–Popper ÷ π/4 (a square pixel outline scores 1), capped at 1;
- ``zone``: the priority of the parcel's zone type;
- ``energy``: capacity factor ÷ the best parcel's (NaN without a resource raster).

score = Σ wᵢ sᵢ / Σ wᵢ over the criteria that can be computed for the run (no DEM: no
slope; no grid layer: no grid). Rank 1 is the best score; ties go to the larger parcel,
then the smaller parcel id. Bases: parcels that chain within ``distance_m`` edge to edge
(single linkage): parcel pairs closer than the distance are found with an STRtree
``dwithin`` query on outlines in a metric CRS centred on the region, their distances form a
sparse precomputed matrix, and DBSCAN (``metric="precomputed"``, ``min_samples=1``) joins
them. Touching parcels are always in one base, however far apart their centroids.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

__all__ = ["criteria", "score_and_rank", "cluster_bases", "CRITERIA"]

CRITERIA = ("slope", "grid", "carbon", "compactness", "zone", "energy")


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
    cf = df["capacity_factor"].astype(float) if "capacity_factor" in df else pd.Series(np.nan, index=df.index)
    best = cf.max(skipna=True)
    out["s_energy"] = (cf / best).clip(0.0, 1.0) if best == best and best > 0 else np.nan
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


#: Distance (m) stored for touching parcels: a sparse precomputed matrix cannot tell a
#: stored 0 from "not a neighbour" in every scikit-learn version, so contact is 1 nm.
TOUCH_M = 1e-9


def cluster_bases(geoms_m: np.ndarray, distance_m: float) -> np.ndarray:
    """Cluster labels (0..k-1) of geometries chaining within ``distance_m`` edge to edge.

    Parameters
    ----------
    geoms_m : array of shapely geometries
        Parcel outlines in a metric CRS (metres), e.g. an azimuthal equidistant projection
        centred on the region.
    distance_m : float
        Largest gap (m) between the outlines of two parcels of one base.

    Returns
    -------
    ndarray of int64
        Label per geometry, numbered by DBSCAN (first member order).

    Examples
    --------
    >>> from shapely.geometry import box
    >>> cluster_bases(np.array([box(0, 0, 10, 1), box(10, 0, 20, 1), box(25, 0, 26, 1)]), 4.0).tolist()
    [0, 0, 1]
    """
    g = np.asarray(geoms_m, dtype=object)
    n = len(g)
    if n == 0:
        return np.zeros(0, dtype=np.int64)
    import shapely
    from scipy import sparse
    from sklearn.cluster import DBSCAN  # imported here: scikit-learn adds ~0.6 s to every CLI start

    i, j = shapely.STRtree(g).query(g, predicate="dwithin", distance=distance_m)
    keep = i != j
    i, j = i[keep], j[keep]
    d = np.maximum(shapely.distance(g[i], g[j]), TOUCH_M)
    m = sparse.csr_matrix((d, (i, j)), shape=(n, n))
    return DBSCAN(eps=distance_m, min_samples=1, metric="precomputed").fit(m).labels_.astype(np.int64)

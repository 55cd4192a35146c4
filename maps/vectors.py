"""Vector layers for the page: reprojected, simplified, shifted, rounded (pure functions)."""

from __future__ import annotations

import json
import logging
import math

import numpy as np
import shapely

from sinkplan.maps.gcj02 import wgs84_to_gcj02

__all__ = ["to_display_geojson", "display_tolerance_deg", "count_coords", "DECIMALS"]

logger = logging.getLogger(__name__)

#: Decimal places of display coordinates: 1e-5° ≈ 1.1 m, far below a screen pixel.
DECIMALS = 5


def display_tolerance_deg(bounds: tuple[float, float, float, float], *, pixels: int = 8192) -> float:
    """Simplification tolerance: the extent divided by ``pixels`` (one pixel of an 8k view).

    Examples
    --------
    >>> round(display_tolerance_deg((110.0, 40.0, 118.192, 44.0)), 6)
    0.001
    """
    w, s, e, n = bounds
    return max(e - w, n - s, 1e-9) / pixels


def count_coords(geoms) -> int:
    """Total number of coordinate pairs of an array of geometries."""
    return int(shapely.get_num_coordinates(np.asarray(geoms, dtype=object)).sum())


def _shift_round(gcj: bool, decimals: int):
    def f(coords: np.ndarray) -> np.ndarray:
        lon, lat = coords[:, 0], coords[:, 1]
        if gcj:
            lon, lat = wgs84_to_gcj02(lon, lat)
        return np.round(np.column_stack([lon, lat]), decimals)

    return f


def to_display_geojson(
    geoms_lonlat,
    *,
    tolerance_deg: float,
    gcj: bool = False,
    max_coords: int = 150_000,
    decimals: int = DECIMALS,
) -> tuple[list[dict | None], float]:
    """GeoJSON geometry dicts of lon/lat (WGS84) geometries ready for display.

    Each geometry is simplified (topology preserved) with ``tolerance_deg``, doubled until
    the total coordinate count is at most ``max_coords``; then shifted to GCJ-02 when
    ``gcj`` and rounded to ``decimals`` places.

    Returns
    -------
    geometries : list of dict or None
        One per input, None for an empty geometry.
    tolerance_deg : float
        The tolerance finally used.
    """
    geoms = np.asarray(geoms_lonlat, dtype=object)
    tol = float(tolerance_deg)
    simple = shapely.simplify(geoms, tol, preserve_topology=True) if tol > 0 else geoms
    for _ in range(30):
        if count_coords(simple) <= max_coords:
            break
        tol = tol * 2 if tol > 0 else 1e-5
        simple = shapely.simplify(geoms, tol, preserve_topology=True)
    else:  # pragma: no cover - 2**30 × tolerance leaves only rings of 4 points
        logger.warning("vector layer still has %d coordinates after simplification", count_coords(simple))
    shifted = shapely.transform(simple, _shift_round(gcj, decimals))
    out: list[dict | None] = []
    for text, empty in zip(shapely.to_geojson(shifted), shapely.is_empty(shifted)):
        out.append(None if empty or text is None else json.loads(text))
    if tol != tolerance_deg:
        logger.info("simplified with %.2g° (≈ %.0f m) to stay within %d coordinates", tol, tol * 111_320, max_coords)
    return out, tol


def finite_bounds(geoms) -> tuple[float, float, float, float] | None:
    """(west, south, east, north) of lon/lat geometries, None if all empty."""
    b = shapely.total_bounds(np.asarray(geoms, dtype=object))
    if not all(math.isfinite(v) for v in b):
        return None
    return tuple(float(v) for v in b)  # type: ignore[return-value]

"""How much of each zone polygon the land-cover raster maps, and a warning when it is not all.

A raster that stops inside a zone (a clipped tile, a zone layer larger than the study area)
gives stocks and areas for the mapped part only; nothing in the totals shows it. Every
zone therefore gets ``mapped_fraction`` = mapped area (valid land-cover pixels, water
included) ÷ the polygon's ellipsoidal area, and zones below :data:`MIN_MAPPED_FRACTION`
are named in a warning.
"""

from __future__ import annotations

import logging

import numpy as np

from sinkplan.layers.warnings import PartlyMappedZoneWarning, warn

__all__ = ["MIN_MAPPED_FRACTION", "zone_polygon_area_ha", "mapped_fractions", "warn_partly_mapped", "strata_mapped_fractions"]

logger = logging.getLogger(__name__)

#: Share of a zone polygon below which the zone counts as partly mapped. Pixel-centre
#: rasterization alone moves a small zone's area by a fraction of a per cent.
MIN_MAPPED_FRACTION = 0.995


def zone_polygon_area_ha(zones_gdf) -> np.ndarray:
    """Ellipsoidal area (ha) of each zone polygon, in zone-id order (id 1 first)."""
    from sinkplan.layers.geodesy import geodesic_area_m2

    return geodesic_area_m2(zones_gdf.geometry.values, zones_gdf.crs) / 1e4  # m² → ha


def mapped_fractions(mapped_ha: np.ndarray, polygon_ha: np.ndarray | None) -> np.ndarray:
    """Mapped area ÷ polygon area per zone id (NaN for id 0, outside the zones, and without zones).

    Examples
    --------
    >>> mapped_fractions(np.array([3.0, 17.7, 100.0]), np.array([100.0, 100.0])).round(3).tolist()
    [nan, 0.177, 1.0]
    """
    out = np.full(len(mapped_ha), np.nan)
    if polygon_ha is not None:
        poly = np.asarray(polygon_ha, dtype=np.float64)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[1:] = np.where(poly > 0, np.asarray(mapped_ha[1:], dtype=np.float64) / np.where(poly > 0, poly, 1.0), np.nan)
    return out


def warn_partly_mapped(names: tuple[str, ...], mapped_ha: np.ndarray, polygon_ha: np.ndarray | None, *,
                       what: str) -> list[str]:
    """One :class:`~sinkplan.layers.warnings.PartlyMappedZoneWarning` naming the zones the raster maps
    less than :data:`MIN_MAPPED_FRACTION` of.

    Returns the names of those zones (empty without zones or when all are mapped).
    """
    if polygon_ha is None:
        return []
    frac = mapped_fractions(mapped_ha, polygon_ha)
    partly = [i for i in range(1, len(names)) if not frac[i] >= MIN_MAPPED_FRACTION]
    if partly:
        listed = "; ".join(
            f"{names[i]}: no pixels (polygon {polygon_ha[i - 1]:.6g} ha)" if mapped_ha[i] == 0 else
            f"{names[i]}: {100 * frac[i]:.1f} % ({mapped_ha[i]:.6g} of {polygon_ha[i - 1]:.6g} ha)" for i in partly)
        warn(PartlyMappedZoneWarning, f"{what}: the land-cover raster maps less than {100 * MIN_MAPPED_FRACTION:.1f} % "
             f"of {len(partly)} zone(s), whose figures cover the mapped part only: {listed}", logger=__name__)
    return [names[i] for i in partly]


def strata_mapped_fractions(strata, mapped_ha: np.ndarray, *, what: str) -> np.ndarray:
    """:func:`mapped_fractions` for the zones of a :class:`~sinkplan.sinks.strata.Strata`, with the warning.

    Parameters
    ----------
    strata : Strata
        Zones as rasterized (without zones every fraction is NaN and nothing is logged).
    mapped_ha : ndarray, shape (zones + 1,)
        Mapped area per zone id.
    what : str
        What is being computed, for the warning ("carbon of lc2020.tif").
    """
    poly_ha = strata.polygon_area_ha
    warn_partly_mapped(strata.names, mapped_ha, poly_ha, what=what)
    return mapped_fractions(mapped_ha, poly_ha)

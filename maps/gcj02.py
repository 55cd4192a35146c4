"""WGS84 → GCJ-02 ("Mars coordinates"), the datum of GaoDe's tiles.

GaoDe (AutoNavi) tiles are drawn in GCJ-02, an obfuscated datum that shifts WGS84
positions by 50–650 m across Inner Mongolia. To line overlays up with those tiles, every
overlay coordinate is moved forward with :func:`wgs84_to_gcj02`. The transform is the
standard published one (Krasovsky semi-major axis 6 378 245 m, e² = 0.006693421622966;
the formula circulated since 2009 and used by the eviltransform and coordtransform
libraries); the inverse (:func:`gcj02_to_wgs84`) is iterated to centimetres.

Outside China no shift is applied, by the standard rule: a point is "outside" when its
longitude is outside 72.004–137.8347° E or its latitude outside 0.8293–55.8271° N (the
rectangle used by the eviltransform implementations).

Functions take and return numpy arrays (or scalars) of longitudes and latitudes in degrees.
"""

from __future__ import annotations

import numpy as np

__all__ = ["wgs84_to_gcj02", "gcj02_to_wgs84", "out_of_china", "CHINA_BOX"]

#: (min lon, max lon, min lat, max lat) of the rectangle inside which GCJ-02 applies.
CHINA_BOX = (72.004, 137.8347, 0.8293, 55.8271)

_A = 6378245.0  # m, Krasovsky 1940 semi-major axis, as in the standard transform
_EE = 0.00669342162296594323  # first eccentricity squared, as in the standard transform


def out_of_china(lon, lat) -> np.ndarray:
    """True where the point lies outside the rectangle in which GCJ-02 is applied."""
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    return (lon < CHINA_BOX[0]) | (lon > CHINA_BOX[1]) | (lat < CHINA_BOX[2]) | (lat > CHINA_BOX[3])


def _delta_deg(lon: np.ndarray, lat: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Offset (dlon, dlat) in degrees that GCJ-02 adds at WGS84 (lon, lat)."""
    x = lon - 105.0
    y = lat - 35.0
    xp = x * np.pi
    yp = y * np.pi
    common = (20.0 * np.sin(6.0 * xp) + 20.0 * np.sin(2.0 * xp)) * 2.0 / 3.0
    dlat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    dlat += common
    dlat += (20.0 * np.sin(yp) + 40.0 * np.sin(yp / 3.0)) * 2.0 / 3.0
    dlat += (160.0 * np.sin(yp / 12.0) + 320.0 * np.sin(yp / 30.0)) * 2.0 / 3.0
    dlon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    dlon += common
    dlon += (20.0 * np.sin(xp) + 40.0 * np.sin(xp / 3.0)) * 2.0 / 3.0
    dlon += (150.0 * np.sin(xp / 12.0) + 300.0 * np.sin(xp / 30.0)) * 2.0 / 3.0
    radlat = lat / 180.0 * np.pi
    magic = 1.0 - _EE * np.sin(radlat) ** 2
    sqrtmagic = np.sqrt(magic)
    # metres of the formula → degrees: meridian and parallel radii of curvature
    dlat = (dlat * 180.0) / ((_A * (1.0 - _EE)) / (magic * sqrtmagic) * np.pi)
    dlon = (dlon * 180.0) / (_A / sqrtmagic * np.cos(radlat) * np.pi)
    return dlon, dlat


def wgs84_to_gcj02(lon, lat) -> tuple[np.ndarray, np.ndarray]:
    """Shift WGS84 longitudes/latitudes to GCJ-02 (unchanged outside China).

    Examples
    --------
    >>> lon, lat = wgs84_to_gcj02(116.404, 39.915)
    >>> round(float(lon), 6), round(float(lat), 6)
    (116.410244, 39.916404)
    >>> wgs84_to_gcj02(2.35, 48.85)  # Paris: outside China, no shift
    (array(2.35), array(48.85))
    """
    lon = np.asarray(lon, dtype=float)
    lat = np.asarray(lat, dtype=float)
    dlon, dlat = _delta_deg(lon, lat)
    outside = out_of_china(lon, lat)
    return np.where(outside, lon, lon + dlon), np.where(outside, lat, lat + dlat)


def gcj02_to_wgs84(lon, lat, *, iterations: int = 8) -> tuple[np.ndarray, np.ndarray]:
    """Invert :func:`wgs84_to_gcj02` by fixed-point iteration (centimetre accuracy).

    The one-step inverse (subtract the offset computed at the GCJ point) is off by up to
    ~5 m; each further iteration shrinks the error by ~1e-3.
    """
    glon = np.asarray(lon, dtype=float)
    glat = np.asarray(lat, dtype=float)
    wlon, wlat = glon.copy(), glat.copy()
    for _ in range(iterations):
        slon, slat = wgs84_to_gcj02(wlon, wlat)
        wlon = wlon + (glon - slon)
        wlat = wlat + (glat - slat)
    return wlon, wlat

"""Pixel areas in square metres on the ellipsoid.

Two cases, one rule: every area is ground area on the CRS's ellipsoid.

* Geographic grid (lon/lat): a cell between latitudes phi1 < phi2 and longitudes
  lambda1 < lambda2 has the exact ellipsoidal area

      A = (lambda2 - lambda1) * b**2 / 2 * [q(phi2) - q(phi1)]

  with ``q(phi) = sin(phi)/(1 - e2 sin^2 phi) + atanh(e sin phi)/e`` (the authalic
  latitude function; Snyder 1987, eq. 3-12). One value per row.
* Projected grid: the nominal cell area |det(transform)| is map area; ground area is map
  area divided by the projection's areal scale (map area per ground area; exactly 1 for an
  equal-area projection; what ``pyproj.Proj.get_factors().areal_scale`` reports for
  ellipsoidal projections), computed here from the inverse projection's Jacobian.

The areal scale varies smoothly, so it is evaluated on a coarse lattice of pixel centres
(about every kilometre, at most every 32 pixels) and interpolated bilinearly; for UTM or
Gauss-Krüger 300 km from the central meridian the interpolation error is below 1e-8
relative (the bound is 1e-4).
"""

from __future__ import annotations

import numpy as np
from affine import Affine
from pyproj import CRS, Transformer

from sinkplan.layers.errors import InputError

__all__ = [
    "ellipsoid_of",
    "band_area_m2",
    "geographic_row_areas_m2",
    "areal_scale",
    "projected_pixel_areas_m2",
    "is_equal_area",
    "projection_method",
    "EQUAL_AREA_METHODS",
    "SPHERICAL_EQUAL_AREA_METHODS",
]

#: Largest lattice step (pixels) on which the areal scale of a projected CRS is evaluated.
SCALE_LATTICE_STEP = 32
#: Lattice spacing on the ground (m) the step aims at.
SCALE_LATTICE_M = 1000.0


def ellipsoid_of(crs: CRS) -> tuple[float, float]:
    """Semi-major axis (m) and first eccentricity squared of a CRS's ellipsoid."""
    ell = crs.ellipsoid
    if ell is None:
        raise InputError(f"CRS {crs.to_string()!r} has no ellipsoid; give a CRS with a datum")
    a = float(ell.semi_major_metre)
    inv_f = float(ell.inverse_flattening)
    f = 0.0 if not np.isfinite(inv_f) or inv_f == 0 else 1.0 / inv_f
    return a, f * (2.0 - f)


def _q(phi_rad: np.ndarray, e2: float) -> np.ndarray:
    """Authalic latitude function q(phi) (Snyder 1987, eq. 3-12), divided by (1 - e2)."""
    s = np.sin(phi_rad)
    if e2 == 0.0:
        return 2.0 * s
    e = np.sqrt(e2)
    return s / (1.0 - e2 * s * s) + np.arctanh(e * s) / e


def band_area_m2(lat1_deg, lat2_deg, dlon_deg, *, a: float, e2: float) -> np.ndarray:
    """Exact area (m²) of a lat/lon quadrangle on an ellipsoid of revolution.

    Parameters
    ----------
    lat1_deg, lat2_deg : array_like
        Bounding latitudes in degrees, in any order.
    dlon_deg : float or array_like
        Width in degrees of longitude (absolute value is used).
    a, e2 : float
        Semi-major axis (m) and first eccentricity squared.

    Examples
    --------
    >>> a, e2 = 6378137.0, 0.0066943799901413165
    >>> round(float(band_area_m2(0, 90, 360, a=a, e2=e2)) * 2 / 1e12, 3)  # Earth, 1e6 km²
    510.066
    """
    b2 = a * a * (1.0 - e2)  # b² = a²(1 − e²)
    q1 = _q(np.radians(np.asarray(lat1_deg, dtype="float64")), e2)
    q2 = _q(np.radians(np.asarray(lat2_deg, dtype="float64")), e2)
    return np.abs(np.radians(dlon_deg)) * b2 / 2.0 * np.abs(q2 - q1)


def geographic_row_areas_m2(
    transform: Affine, row_start: int, nrows: int, *, crs: CRS
) -> np.ndarray:
    """Area (m²) of one pixel in each of ``nrows`` rows of a north-up lon/lat grid."""
    if transform.b != 0 or transform.d != 0:
        raise InputError(
            "rotated or sheared lon/lat grids are not supported; warp the raster to a "
            "north-up grid first (gdalwarp without -rotate)"
        )
    a, e2 = ellipsoid_of(crs)
    rows = np.arange(row_start, row_start + nrows + 1, dtype="float64")
    lat_edges = transform.f + rows * transform.e
    # Rows past a pole are clipped to it (they hold no ground).
    lat_edges = np.clip(lat_edges, -90.0, 90.0)
    return band_area_m2(lat_edges[:-1], lat_edges[1:], transform.a, a=a, e2=e2)


def _to_lonlat(crs: CRS) -> Transformer:
    return Transformer.from_crs(crs, crs.geodetic_crs, always_xy=True)


def areal_scale(crs: CRS, x: np.ndarray, y: np.ndarray, *, step: float | None = None) -> np.ndarray:
    """Areal scale (map area per ground area on the ellipsoid) of a projected CRS at x, y.

    Computed from the Jacobian of the inverse projection by central differences:
    a map square dx·dy covers |∂(λ, φ)/∂(x, y)| · N cos φ · M of ground, with N and M the
    ellipsoid's radii of curvature. This is exact for any projection PROJ can invert,
    including ones defined on a sphere over an ellipsoidal datum (EPSG:3857), where
    ``Proj.get_factors`` describes the sphere, not the ground.
    """
    x = np.asarray(x, dtype="float64")
    y = np.asarray(y, dtype="float64")
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    h = step if step is not None else 10.0 / unit  # 10 m in map units
    inv = _to_lonlat(crs)
    lon_xp, lat_xp = inv.transform(x + h, y)
    lon_xm, lat_xm = inv.transform(x - h, y)
    lon_yp, lat_yp = inv.transform(x, y + h)
    lon_ym, lat_ym = inv.transform(x, y - h)
    _, lat = inv.transform(x, y)
    dlon_dx = np.radians(_wrap(np.asarray(lon_xp) - np.asarray(lon_xm))) / (2 * h)
    dlon_dy = np.radians(_wrap(np.asarray(lon_yp) - np.asarray(lon_ym))) / (2 * h)
    dlat_dx = np.radians(np.asarray(lat_xp) - np.asarray(lat_xm)) / (2 * h)
    dlat_dy = np.radians(np.asarray(lat_yp) - np.asarray(lat_ym)) / (2 * h)
    a, e2 = ellipsoid_of(crs.geodetic_crs)
    phi = np.radians(np.asarray(lat))
    w2 = 1.0 - e2 * np.sin(phi) ** 2
    n_radius = a / np.sqrt(w2)  # prime vertical radius of curvature
    m_radius = a * (1.0 - e2) / w2**1.5  # meridional radius of curvature
    ground_per_map = (
        np.abs(dlon_dx * dlat_dy - dlon_dy * dlat_dx) * n_radius * np.cos(phi) * m_radius
    ) / (unit * unit)
    with np.errstate(divide="ignore", invalid="ignore"):
        scale = 1.0 / ground_per_map
    if not np.all(np.isfinite(scale)) or np.any(scale <= 0):
        raise InputError(
            f"the projection {crs.to_string()!r} has no valid areal scale at some pixels "
            "(outside its domain?); reproject the raster to an equal-area CRS"
        )
    return scale


def _wrap(dlon_deg: np.ndarray) -> np.ndarray:
    """Longitude differences folded into (-180, 180]."""
    return (dlon_deg + 180.0) % 360.0 - 180.0


#: Projection methods (PROJ/EPSG names) that are equal-area on an ellipsoid of revolution: PROJ
#: implements their ellipsoidal forms (Snyder 1987: Albers §14, Lambert azimuthal §24, Lambert
#: cylindrical §10, sinusoidal §30, Bonne §19; Šavrič et al. 2019 for Equal Earth).
EQUAL_AREA_METHODS = frozenset({
    "albers equal area", "lambert azimuthal equal area", "lambert cylindrical equal area",
    "sinusoidal", "equal earth", "bonne", "bonne (south orientated)", "proj leac", "lambert equal area conic",
})

#: Projection methods that are equal-area on a sphere only: PROJ applies their spherical formulas
#: with the semi-major axis, so over an ellipsoidal datum (ESRI:54009 Mollweide on WGS 84) map
#: area is not ground area (areal scale 1.0067 at the equator, 0.9967 at 60°, measured with
#: :func:`areal_scale`); they are equal-area only when the CRS's ellipsoid is a sphere.
SPHERICAL_EQUAL_AREA_METHODS = frozenset({
    "mollweide", "eckert iv", "eckert vi", "eckert ii", "goode homolosine", "interrupted goode homolosine",
    "proj hammer", "hammer aitoff", "transverse cylindrical equal area", "quartic authalic", "wagner iv",
    "wagner vii", "lambert azimuthal equal area (spherical)", "lambert cylindrical equal area (spherical)",
    "proj igh", "proj goode", "proj moll", "proj eck4", "proj eck6", "proj tcea",
})


def projection_method(crs: CRS) -> str | None:
    """Name of the map projection of a projected CRS (lower case), or None.

    A bound CRS (``+towgs84``) is read through its source CRS and a compound CRS through its
    horizontal part, so the method is the projection's, not a datum shift's.
    """
    crs = CRS.from_user_input(crs)
    if crs.is_bound:
        crs = crs.source_crs
    if crs.is_compound:
        crs = next((c for c in crs.sub_crs_list if c.is_projected), crs.sub_crs_list[0])
    if not crs.is_projected or crs.coordinate_operation is None:
        return None
    return crs.coordinate_operation.method_name.strip().lower()


def is_equal_area(crs: CRS, bounds: tuple[float, float, float, float] | None = None) -> bool:
    """True when ``crs`` is an equal-area projection of its own ellipsoid, decided from its
    projection method (:data:`EQUAL_AREA_METHODS`; :data:`SPHERICAL_EQUAL_AREA_METHODS` only on a
    sphere), never from a finite-difference areal scale (which, compared with 1 to 1e-9, called
    EPSG:6933 equal-area at one latitude and not at another).

    Any other projection gets its exact areal scale pixel by pixel
    (:func:`projected_pixel_areas_m2`), so a method missing from the lists costs time, not accuracy.
    ``bounds`` is accepted for callers that pass a grid's extent; it does not change the answer.

    Examples
    --------
    >>> is_equal_area(CRS.from_epsg(6933)), is_equal_area(CRS.from_epsg(3035)), is_equal_area(CRS.from_epsg(3857))
    (True, True, False)
    >>> is_equal_area(CRS.from_user_input("ESRI:54009")), is_equal_area(CRS.from_user_input("ESRI:53009"))
    (False, True)
    """
    crs = CRS.from_user_input(crs)
    method = projection_method(crs)
    if method is None:
        return False
    if method in EQUAL_AREA_METHODS:
        return True
    if method in SPHERICAL_EQUAL_AREA_METHODS:
        ell = crs.ellipsoid
        return ell is not None and float(ell.semi_minor_metre) == float(ell.semi_major_metre)
    return False


def projected_pixel_areas_m2(
    transform: Affine, row_off: int, col_off: int, height: int, width: int, *, crs: CRS
) -> np.ndarray:
    """Ground area (m²) of every pixel in a window of a projected grid, shape (height, width).

    Nominal cell area (map units² → m²) divided by the areal scale at the pixel centre.
    """
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    nominal_m2 = abs(transform.a * transform.e - transform.b * transform.d) * unit * unit
    pixel_m = max(abs(transform.a), abs(transform.e)) * unit
    step = int(min(SCALE_LATTICE_STEP, max(1, SCALE_LATTICE_M // max(pixel_m, 1e-9))))
    # The lattice is anchored to the whole grid (multiples of `step` from row/col 0), so a
    # pixel's area is the same whichever window it is read in: blocks add up to the whole.
    rr = _lattice(row_off, height, step)
    cc = _lattice(col_off, width, step)
    gc, gr = np.meshgrid(cc + 0.5, rr + 0.5)
    x, y = transform @ (gc.ravel(), gr.ravel())  # map coordinates, in the CRS's own unit
    scale = areal_scale(crs, np.asarray(x), np.asarray(y)).reshape(gr.shape)
    rows = np.arange(row_off, row_off + height, dtype="float64")
    cols = np.arange(col_off, col_off + width, dtype="float64")
    return nominal_m2 / _bilinear(scale, rr, cc, rows, cols)


def _lattice(offset: int, size: int, step: int) -> np.ndarray:
    """Global lattice indices (multiples of step) spanning [offset, offset + size - 1]."""
    first = (offset // step) * step
    last = -(-(offset + size - 1) // step) * step
    return np.arange(first, last + 1, step, dtype="float64")


def _bilinear(values: np.ndarray, rr: np.ndarray, cc: np.ndarray, rows: np.ndarray, cols: np.ndarray) -> np.ndarray:
    """Interpolate lattice ``values`` at (rr × cc) onto every (row, col) of rows × cols."""
    if len(cc) == 1:
        along_c = np.repeat(values[:, :1], len(cols), axis=1)
    else:
        along_c = np.stack([np.interp(cols, cc, values[i]) for i in range(len(rr))])
    if len(rr) == 1:
        return np.repeat(along_c[:1], len(rows), axis=0)
    idx = np.clip(np.searchsorted(rr, rows, side="right") - 1, 0, len(rr) - 2)
    t = ((rows - rr[idx]) / (rr[idx + 1] - rr[idx]))[:, None]
    return along_c[idx] * (1.0 - t) + along_c[idx + 1] * t

"""Land per MW, energy yield, cost and carbon payback of siting parcels.

Pure functions of arrays (no file I/O):

- :func:`solstice_sun` and :func:`ground_cover_ratio`: the no-shading row-spacing rule for
  fixed-tilt PV rows facing south. On the winter solstice (declination −23.44°) the sun's
  elevation h and azimuth γ (from south) at hour angle ω follow from
  sin h = sin φ sin δ + cos φ cos δ cos ω and cos γ = (sin h sin φ − sin δ)/(cos h cos φ).
  A row of slant length L at tilt β casts a shadow reaching k · (L sin β + D s) beyond its
  top edge along the north–south axis, k = cos γ / tan h, where D is the horizontal row
  pitch and s the ground's descent northwards (tan of the north–south slope component,
  > 0 on north-facing ground). No shading from hour ω to −ω needs
  D = L (cos β + k sin β) / (1 − s k), so the horizontal ground-cover ratio is
  GCR = L / D = (1 − s k) / (cos β + k sin β) (0 where s k ≥ 1: rows would shade forever).
- :func:`pv_density_mw_per_km2`: MW/km² = module W/m² × GCR × array land share (1 W/m² = 1 MW/km²).
  TD/T 1075-2023 (光伏发电站工程项目用地控制指标) sets land-per-MW indices by module efficiency,
  latitude and terrain class; its tables were searched for and not found (REFERENCES.md), so this
  geometric rule stands in for them, and the terrain class is reported per parcel.
- :func:`pv_specific_yield` (pvlib): kWh per kWp per year from annual GHI at a latitude.
  The year's hours get pvlib's Haurwitz clear-sky GHI shape at the latitude, scaled so they add
  up to the annual GHI; Erbs splits it into beam and diffuse; Hay–Davies transposes it to the
  array tilt (south-facing); the SAPM cell-temperature model (open rack, glass/glass) with a
  stated air temperature and wind speed; PVWatts DC with the temperature coefficient; PVWatts
  system losses (:func:`pvlib.pvsystem.pvwatts_losses`, 14.08 % by default) and the PVWatts
  inverter (:func:`pvlib.inverter.pvwatts`, DC/AC ratio 1). The hourly shape is clear-sky
  only: an approximation, stated in the summary; a PVOUT raster (kWh/kWp/yr, e.g. Global
  Solar Atlas) can be given instead and is used as it is.
- :func:`wind_capacity_factor` (windpowerlib): the expected power of a turbine of
  windpowerlib's OEDB library (shipped in the package, read offline) under a Weibull
  distribution of the hub-height wind speed with the given mean and shape k (scale
  A = v̄ / Γ(1 + 1/k)), integrated on a 0.05 m/s grid over windpowerlib's
  :func:`~windpowerlib.power_output.power_curve`, divided by the rating, less losses.
- :func:`lcoe_cny_per_mwh`: reV's ``lcoe_fcr``: (FCR × capex + fixed O&M) / annual energy,
  plus the grid-connection line (distance × cost per km by voltage) annualised with the same FCR.
- :func:`carbon_payback_years`: carbon at stake (Mg C × 44/12 = t CO2) ÷ avoided emissions
  (MWh/yr × t CO2/MWh).
"""

from __future__ import annotations

import functools
import math
import warnings
from dataclasses import dataclass

import numpy as np

__all__ = [
    "SOLSTICE_DECLINATION_DEG", "solstice_sun", "ground_cover_ratio", "pv_tilt_deg", "pv_density_mw_per_km2",
    "pv_specific_yield", "pv_specific_yields", "PvYieldTable", "wind_turbine", "wind_capacity_factor", "WindCfTable",
    "lcoe_cny_per_mwh", "carbon_payback_years", "HOURS_PER_YEAR",
]

#: Winter-solstice solar declination (degrees).
SOLSTICE_DECLINATION_DEG = -23.44
#: Hours of a (non-leap) year.
HOURS_PER_YEAR = 8760.0


def solstice_sun(lat_deg, hour: float = 12.0) -> tuple[np.ndarray, np.ndarray]:
    """Sun elevation (degrees) and cos(azimuth from south) on the winter solstice at ``hour`` (solar time).

    Examples
    --------
    >>> h, cg = solstice_sun(40.0, 12.0)  # noon: 90 − 40 − 23.44
    >>> round(float(h), 2), round(float(cg), 6)
    (26.56, 1.0)
    """
    phi = np.radians(np.asarray(lat_deg, dtype=np.float64))
    d = math.radians(SOLSTICE_DECLINATION_DEG)
    w = math.radians(15.0 * (hour - 12.0))  # hour angle
    sin_h = np.sin(phi) * math.sin(d) + np.cos(phi) * math.cos(d) * math.cos(w)
    h = np.arcsin(np.clip(sin_h, -1.0, 1.0))
    with np.errstate(invalid="ignore", divide="ignore"):
        cos_g = np.clip((sin_h * np.sin(phi) - math.sin(d)) / (np.cos(h) * np.cos(phi)), -1.0, 1.0)
    return np.degrees(h), cos_g


def ground_cover_ratio(lat_deg, tilt_deg, *, hour: float = 12.0, ns_descent=0.0) -> np.ndarray:
    """Horizontal ground-cover ratio of south-facing rows unshaded from ``hour`` to noon's mirror.

    Parameters
    ----------
    lat_deg, tilt_deg : array-like
        Latitude (north) and module tilt (degrees).
    hour : float
        Solar hour from which rows must not shade each other on the winter solstice
        (12: noon only; 9: 9:00–15:00).
    ns_descent : array-like
        tan of the ground's north–south slope component, > 0 where it descends northwards.

    Returns
    -------
    ndarray
        L / D (0 where the sun is below the horizon or the slope makes shading unavoidable).

    Examples
    --------
    >>> round(float(ground_cover_ratio(40.0, 35.0)), 4)  # 1 / (cos 35° + sin 35° / tan 26.56°)
    0.5085
    """
    k, cos_b, sin_b = _gcr_terms(lat_deg, tilt_deg, hour)
    with np.errstate(invalid="ignore", divide="ignore"):
        gcr = (1.0 - np.asarray(ns_descent, dtype=np.float64) * k) / (cos_b + k * sin_b)
    return np.where(np.isfinite(gcr) & (gcr > 0), np.minimum(gcr, 1.0), 0.0)


def pv_tilt_deg(lat_deg, offset_deg: float) -> np.ndarray:
    """Module tilt: latitude + offset, kept within 0–90°."""
    return np.clip(np.asarray(lat_deg, dtype=np.float64) + offset_deg, 0.0, 90.0)


def pv_density_mw_per_km2(lat_deg, layout, ns_descent=0.0) -> np.ndarray:
    """MW per km² of ground: module W/m² × ground-cover ratio × array land share.

    ``layout`` is a :class:`~sinkplan.siting.profile.PvLayout` (``module_w_per_m2``,
    ``array_land_share``, ``tilt_offset_from_latitude_deg``, ``shade_free_from_hour``).
    """
    tilt = pv_tilt_deg(lat_deg, layout.tilt_offset_from_latitude_deg)
    nd = np.asarray(ns_descent)
    if nd.dtype not in (np.float32, np.float64):
        nd = nd.astype(np.float64)
    if nd.ndim == 2:  # a block (float32 read as is, computed in float64): the sun's terms per latitude, the ratio per pixel
        from sinkplan.siting.kernels import pv_density_pixels

        k, cos_b, sin_b = _gcr_terms(lat_deg, tilt, layout.shade_free_from_hour)
        out = np.empty(nd.shape)
        pv_density_pixels(nd, *(np.broadcast_to(x, nd.shape) for x in (k, cos_b, sin_b)), layout.module_w_per_m2,
                          layout.array_land_share, out)
        return out
    gcr = ground_cover_ratio(lat_deg, tilt, hour=layout.shade_free_from_hour, ns_descent=ns_descent)
    return layout.module_w_per_m2 * gcr * layout.array_land_share  # W/m² = MW/km²


def _gcr_terms(lat_deg, tilt_deg, hour: float):
    """k = cos γ / tan h (inf with the sun below the horizon), cos β and sin β of
    :func:`ground_cover_ratio`, on the shape of ``lat_deg``."""
    h, cos_g = solstice_sun(lat_deg, hour)
    b = np.radians(np.asarray(tilt_deg, dtype=np.float64))
    with np.errstate(invalid="ignore", divide="ignore"):
        k = np.where(h > 0, cos_g / np.tan(np.radians(np.maximum(h, 1e-9))), np.inf)
    return k, np.cos(b), np.sin(b)


# ----------------------------------------------------------------------------- PV yield
@functools.lru_cache(maxsize=64)
def _clear_sky_year(lat_deg: float):
    import pandas as pd
    import pvlib

    times = pd.date_range("2023-01-01 00:30", periods=8760, freq="h", tz="UTC")  # solar time at lon 0
    sp = pvlib.solarposition.get_solarposition(times, lat_deg, 0.0, altitude=1000.0)
    cs = pvlib.clearsky.haurwitz(sp["apparent_zenith"])["ghi"].to_numpy()
    extra = pvlib.irradiance.get_extra_radiation(times).to_numpy()
    return times, sp, cs, extra


def pv_specific_yields(lat_deg: float, ghi_kwh_per_m2_yr, *, tilt_deg: float, energy) -> np.ndarray:
    """Annual AC yield in kWh per kWp (= MWh per MWp) for each annual GHI at one latitude, by pvlib
    (module docstring); the year's hours of every GHI value are computed at once.

    ``energy`` is a :class:`~sinkplan.siting.profile.PvEnergy`.
    """
    import pvlib

    g_yr = np.atleast_1d(np.asarray(ghi_kwh_per_m2_yr, dtype=np.float64))
    out = np.zeros(g_yr.shape)
    ok = g_yr > 0
    if not ok.any():
        return out
    times, sp, cs, extra = _clear_sky_year(round(float(lat_deg), 4))
    total = cs.sum() / 1000.0  # Wh/m² → kWh/m²
    ghi = cs[None, :] * (g_yr[ok][:, None] / total)  # W/m², hourly means adding up to each annual GHI
    shape = ghi.shape

    def hours(a):
        return np.broadcast_to(np.asarray(a, dtype=np.float64), shape)

    with warnings.catch_warnings():
        # night hours divide by cos(zenith) ≤ 0; the PVWatts inverter divides by zero DC power
        warnings.simplefilter("ignore", RuntimeWarning)
        parts = pvlib.irradiance.erbs(ghi, hours(sp["zenith"].to_numpy()), hours(times.day_of_year.to_numpy()))
        poa = pvlib.irradiance.get_total_irradiance(
            tilt_deg, 180.0, hours(sp["apparent_zenith"].to_numpy()), hours(sp["azimuth"].to_numpy()), parts["dni"],
            ghi, parts["dhi"], dni_extra=hours(extra), model="haydavies", albedo=energy.albedo)
        g = np.nan_to_num(np.asarray(poa["poa_global"], dtype=np.float64), nan=0.0).clip(min=0.0)
        par = pvlib.temperature.TEMPERATURE_MODEL_PARAMETERS["sapm"]["open_rack_glass_glass"]
        t_cell = pvlib.temperature.sapm_cell(g, energy.ambient_temperature_c, energy.wind_speed_m_per_s, **par)
        pdc = pvlib.pvsystem.pvwatts_dc(g, t_cell, 1.0, energy.gamma_pdc_per_c)  # kW per kWp
        losses = pvlib.pvsystem.pvwatts_losses() if energy.system_losses_percent is None else energy.system_losses_percent
        pdc = pdc * (1.0 - losses / 100.0)
        pac = pvlib.inverter.pvwatts(pdc, 1.0 / energy.inverter_efficiency, eta_inv_nom=energy.inverter_efficiency)
    out[ok] = np.nansum(np.clip(pac, 0.0, None), axis=1)  # kW × 1 h summed = kWh per kWp
    return out


def pv_specific_yield(lat_deg: float, ghi_kwh_per_m2_yr: float, *, tilt_deg: float, energy) -> float:
    """Annual AC yield in kWh per kWp (= MWh per MWp) from one annual GHI (:func:`pv_specific_yields`)."""
    return float(pv_specific_yields(lat_deg, [ghi_kwh_per_m2_yr], tilt_deg=tilt_deg, energy=energy)[0])


def pv_system_losses_percent(energy) -> float:
    """The PVWatts system losses used (percent)."""
    import pvlib

    return float(pvlib.pvsystem.pvwatts_losses() if energy.system_losses_percent is None else energy.system_losses_percent)


@dataclass(frozen=True)
class PvYieldTable:
    """Specific yield (kWh/kWp/yr) on a (latitude, annual GHI) grid, interpolated bilinearly per pixel."""

    lats: np.ndarray
    ghis: np.ndarray
    values: np.ndarray  # (len(lats), len(ghis))

    @classmethod
    def build(cls, lat_min: float, lat_max: float, *, layout_offset_deg: float, energy,
              ghi_range: tuple[float, float] = (400.0, 2800.0)) -> "PvYieldTable":
        """The table on 0.5° of latitude × 100 kWh/m² of GHI; the same arguments (a sweep's screens,
        each technology's validation) reuse one computed table."""
        lo, hi = math.floor(lat_min * 2) / 2, math.ceil(lat_max * 2) / 2
        return _pv_table(lo, hi, float(layout_offset_deg), energy, (float(ghi_range[0]), float(ghi_range[1])))

    def __call__(self, lat_deg, ghi) -> np.ndarray:
        """Bilinear in (latitude, GHI); latitude clipped to the table, GHI extrapolated linearly
        from the edge cells (as :class:`scipy.interpolate.RegularGridInterpolator` with
        ``fill_value=None``); NaN where GHI is not positive."""
        g = np.asarray(ghi, dtype=np.float64)
        lat = np.broadcast_to(np.asarray(lat_deg, dtype=np.float64), g.shape)
        out = np.full(g.shape, np.nan)
        ok = np.isfinite(g) & (g > 0) & np.isfinite(lat)
        if not ok.any():
            return out

        def cell(axis: np.ndarray, v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
            if len(axis) == 1:
                return np.zeros(v.shape, dtype=np.intp), np.zeros(v.shape)
            i = np.clip(np.searchsorted(axis, v, side="right") - 1, 0, len(axis) - 2)
            return i, (v - axis[i]) / (axis[i + 1] - axis[i])

        i, u = cell(self.lats, np.clip(lat[ok], self.lats[0], self.lats[-1]))
        j, t = cell(self.ghis, g[ok])
        v = self.values
        i1 = np.minimum(i + 1, len(self.lats) - 1)
        j1 = np.minimum(j + 1, len(self.ghis) - 1)
        out[ok] = ((1 - u) * ((1 - t) * v[i, j] + t * v[i, j1]) + u * ((1 - t) * v[i1, j] + t * v[i1, j1]))
        return out


@functools.lru_cache(maxsize=8)
def _pv_table(lat_lo: float, lat_hi: float, offset_deg: float, energy, ghi_range: tuple[float, float]) -> PvYieldTable:
    lats = np.arange(lat_lo, lat_hi + 0.5, 0.5)
    ghis = np.arange(ghi_range[0], ghi_range[1] + 1, 100.0)
    vals = np.array([pv_specific_yields(la, ghis, tilt_deg=float(pv_tilt_deg(la, offset_deg)), energy=energy)
                     for la in lats])
    vals.setflags(write=False)
    return PvYieldTable(lats, ghis, vals)


# ----------------------------------------------------------------------------- wind
@functools.lru_cache(maxsize=16)
def wind_turbine(turbine_type: str, hub_height_m: float):
    """A :class:`windpowerlib.WindTurbine` from the library shipped with windpowerlib (offline).

    Raises
    ------
    ConfigError
        The type is not in the library or has no power curve.
    """
    from windpowerlib import WindTurbine, get_turbine_types

    from sinkplan.layers.errors import ConfigError

    types = get_turbine_types(turbine_library="local", print_out=False)
    ok = types[types["has_power_curve"]]["turbine_type"].tolist()
    if turbine_type not in ok:
        raise ConfigError(f"wind.turbine.turbine_type: {turbine_type!r} is not in windpowerlib's turbine library "
                          f"(with a power curve); e.g. {', '.join(ok[:6])}, ...")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return WindTurbine(turbine_type=turbine_type, hub_height=hub_height_m)


_trapz = getattr(np, "trapezoid", None) or np.trapz  # numpy < 2 has only trapz

#: Wind-speed integration grid (m/s).
_V = np.arange(0.0, 40.0 + 1e-9, 0.05)


def _weibull_pdf(v: np.ndarray, mean: np.ndarray, k: np.ndarray) -> np.ndarray:
    scale = mean / math.gamma(1.0 + 1.0 / k) if np.ndim(k) == 0 else mean / np.vectorize(lambda x: math.gamma(1 + 1 / x))(k)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = v / scale
        pdf = (k / scale) * x ** (k - 1.0) * np.exp(-(x ** k))
    return np.nan_to_num(pdf, nan=0.0, posinf=0.0)


def wind_capacity_factor(mean_speed_m_per_s, weibull_k, turbine, *, losses_percent: float = 0.0) -> np.ndarray:
    """Net capacity factor at hub-height mean speed(s) with Weibull shape(s) k (module docstring)."""
    from windpowerlib.power_output import power_curve

    pc = turbine.power_curve
    p = np.asarray(power_curve(_V, pc["wind_speed"].to_numpy(), pc["value"].to_numpy()), dtype=np.float64)
    mean = np.atleast_1d(np.asarray(mean_speed_m_per_s, dtype=np.float64))
    k = np.broadcast_to(np.asarray(weibull_k, dtype=np.float64), mean.shape)
    out = np.zeros(mean.shape)
    for i, (m, kk) in enumerate(zip(mean.ravel(), k.ravel())):
        if m > 0:
            pdf = _weibull_pdf(_V, m, kk)
            out.flat[i] = _trapz(p * pdf, _V) / _trapz(pdf, _V)
    cf = out / float(turbine.nominal_power) * (1.0 - losses_percent / 100.0)
    return cf.reshape(np.shape(mean_speed_m_per_s))


@dataclass(frozen=True)
class WindCfTable:
    """Net capacity factor on a (mean speed, k) grid, interpolated per pixel."""

    speeds: np.ndarray
    ks: np.ndarray
    values: np.ndarray  # (len(speeds), len(ks))

    @classmethod
    def build(cls, turbine, *, losses_percent: float, ks=None) -> "WindCfTable":
        speeds = np.arange(0.0, 20.0 + 1e-9, 0.1)
        ks = np.array([2.0]) if ks is None else np.asarray(ks, dtype=np.float64)
        vals = np.column_stack([wind_capacity_factor(speeds, k, turbine, losses_percent=losses_percent) for k in ks])
        return cls(speeds, ks, vals)

    def __call__(self, speed, k=None) -> np.ndarray:
        s = np.asarray(speed, dtype=np.float64)
        if len(self.ks) == 1 or k is None:
            col = self.values[:, 0]
            out = np.interp(np.clip(s, 0, self.speeds[-1]), self.speeds, col)
        else:
            from scipy.interpolate import RegularGridInterpolator

            f = RegularGridInterpolator((self.speeds, self.ks), self.values)
            kk = np.clip(np.broadcast_to(np.asarray(k, dtype=np.float64), s.shape), self.ks[0], self.ks[-1])
            pts = np.column_stack([np.clip(s.ravel(), 0, self.speeds[-1]), kk.ravel()])
            ok = np.isfinite(pts).all(axis=1)
            out = np.full(s.size, np.nan)
            out[ok] = f(pts[ok])
            out = out.reshape(s.shape)
        return np.where(np.isfinite(s) & (s >= 0), out, np.nan)


# ----------------------------------------------------------------------------- cost, carbon
def lcoe_cny_per_mwh(capacity_mw, energy_mwh_per_yr, *, capex_cny_per_kw: float, opex_cny_per_kw_yr: float,
                     fixed_charge_rate: float, grid_cost_cny=0.0) -> np.ndarray:
    """reV-style LCOE (CNY/MWh): (FCR × (capex + grid) + opex) / annual energy.

    Examples
    --------
    >>> # 100 MW, 150 000 MWh/yr, 3 200 CNY/kW, 45 CNY/kW/yr, FCR 0.065, no grid:
    >>> # (0.065 × 3.2e8 + 4.5e6) / 1.5e5 = (2.08e7 + 4.5e6) / 1.5e5 = 168.67
    >>> round(float(lcoe_cny_per_mwh(100, 150_000, capex_cny_per_kw=3200, opex_cny_per_kw_yr=45,
    ...                              fixed_charge_rate=0.065)), 2)
    168.67
    """
    kw = np.asarray(capacity_mw, dtype=np.float64) * 1000.0  # MW → kW
    e = np.asarray(energy_mwh_per_yr, dtype=np.float64)
    annual = fixed_charge_rate * (kw * capex_cny_per_kw + np.asarray(grid_cost_cny, dtype=np.float64)) + kw * opex_cny_per_kw_yr
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(e > 0, annual / e, np.nan)


def carbon_payback_years(stock_mgc, energy_mwh_per_yr, emission_factor_t_co2_per_mwh: float) -> np.ndarray:
    """Years of avoided emissions that repay the carbon at stake: Mg C × 44/12 ÷ (MWh/yr × t CO2/MWh).

    Examples
    --------
    >>> # 1 200 Mg C × 44/12 = 4 400 t CO2; 10 000 MWh/yr × 0.55 = 5 500 t CO2/yr → 0.8 yr
    >>> round(float(carbon_payback_years(1200.0, 10_000.0, 0.55)), 6)
    0.8
    """
    co2 = np.asarray(stock_mgc, dtype=np.float64) * 44.0 / 12.0  # Mg C → t CO2
    avoided = np.asarray(energy_mwh_per_yr, dtype=np.float64) * emission_factor_t_co2_per_mwh
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(avoided > 0, co2 / avoided, np.nan)

"""Climate correction of carbon densities, as used in CLCD–InVEST studies of China.

A density table holds values measured somewhere; many Chinese InVEST studies move them to the
study area's climate with empirical relations between density and mean annual precipitation
(MAP, mm) or temperature (MAT, °C):

* biomass with precipitation, ``C_BP = 6.798 × exp(0.0054 × MAP)`` (R² = 0.70) and soil with
  precipitation, ``C_SP = 3.3968 × MAP + 3996.1`` (R² = 0.11) (Alam et al. 2013) [check: recalled
  from their reuse in Chinese InVEST papers, not read in the original];
* biomass with temperature, ``C_BT = 28 × MAT + 398`` (R² = 0.47, p < 0.01; Chen Guangshui et al.
  2007, as reproduced in J. Chinese Architecture and Urbanism 6(3):99);

and correction factors as ratios of the relation at the pixel's climate to the relation at
the climate the table's values come from (the *reference* climate):
``K_B = [C_BP(P)/C_BP(P0)] × [C_BT(T)/C_BT(T0)]`` for above- and below-ground biomass,
``K_S = C_SP(P)/C_SP(P0)`` for soil; dead organic matter is not corrected. Only the ratios
matter, so the relations' units cancel. The reference climate is a property of the table
(header lines ``reference_map_mm`` and ``reference_mat_c``) or given by the user; the shipped
table's is an assumption and summary.json says so.

The factors are applied per pixel: one pass sums area × K per (zone × side × class)
(:class:`ClimateWeights`, a weights source of :class:`sinkplan.sinks.blocks.PassSpec`), and the
stocks are density × that sum.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from rasterio.windows import Window

from sinkplan.layers.continuous import ContinuousRaster
from sinkplan.layers.errors import InputError

__all__ = ["FORMULAS", "c_bp", "c_bt", "c_sp", "correction_factors", "ClimateWeights", "ClimateReference"]

#: The relations, as summary.json records them.
FORMULAS = {
    "biomass_precipitation": "C_BP = 6.798 × exp(0.0054 × MAP) (Alam et al. 2013) [check]",
    "biomass_temperature": "C_BT = 28 × MAT + 398 (Chen Guangshui et al. 2007)",
    "soil_precipitation": "C_SP = 3.3968 × MAP + 3996.1 (Alam et al. 2013) [check]",
    "factors": "K_B = C_BP(P)/C_BP(P0) × C_BT(T)/C_BT(T0) for above and below ground; K_S = C_SP(P)/C_SP(P0) for "
               "soil; dead matter not corrected; P0, T0 the reference climate of the density table",
}


def c_bp(map_mm):
    """Biomass carbon density against mean annual precipitation (Alam et al. 2013)."""
    return 6.798 * np.exp(0.0054 * np.asarray(map_mm, dtype=np.float64))


def c_bt(mat_c):
    """Biomass carbon density against mean annual temperature (Chen Guangshui et al. 2007)."""
    return 28.0 * np.asarray(mat_c, dtype=np.float64) + 398.0


def c_sp(map_mm):
    """Soil carbon density against mean annual precipitation (Alam et al. 2013)."""
    return 3.3968 * np.asarray(map_mm, dtype=np.float64) + 3996.1


def correction_factors(map_mm, mat_c, *, reference_map_mm: float, reference_mat_c: float) -> tuple[np.ndarray, np.ndarray]:
    """(K_B, K_S) per pixel; a missing MAP or MAT (None, or NaN at a pixel) leaves its part at 1.

    Examples
    --------
    >>> kb, ks = correction_factors(np.array([400.0]), np.array([5.0]), reference_map_mm=300, reference_mat_c=3)
    >>> round(float(kb[0]), 4), round(float(ks[0]), 4)  # e^(0.54) × 538/482 ; (3.3968·400+3996.1)/(3.3968·300+3996.1)
    (1.9154, 1.0677)
    """
    shape = np.shape(map_mm if map_mm is not None else mat_c)
    kb = np.ones(shape)
    ks = np.ones(shape)
    if map_mm is not None:
        p = np.asarray(map_mm, dtype=np.float64)
        ok = np.isfinite(p)
        kb = np.where(ok, c_bp(np.where(ok, p, 0)) / c_bp(reference_map_mm), kb)
        ks = np.where(ok, c_sp(np.where(ok, p, 0)) / c_sp(reference_map_mm), ks)
    if mat_c is not None:
        t = np.asarray(mat_c, dtype=np.float64)
        ok = np.isfinite(t)
        kb = kb * np.where(ok, c_bt(np.where(ok, t, 0)) / c_bt(reference_mat_c), 1.0)
    return kb, ks


@dataclass(frozen=True)
class ClimateReference:
    """The climate a density table's values come from."""

    map_mm: float
    mat_c: float
    source: str

    def __post_init__(self) -> None:
        if not (math.isfinite(self.map_mm) and self.map_mm > 0):
            raise InputError(f"reference precipitation {self.map_mm} mm: give a mean annual precipitation > 0")
        if not math.isfinite(self.mat_c) or c_bt(self.mat_c) <= 0:
            raise InputError(f"reference temperature {self.mat_c} °C is outside the range of C_BT = 28 T + 398")

    @classmethod
    def parse(cls, text: str | None, table) -> "ClimateReference":
        """From ``--climate-reference MAP,MAT`` or the table's ``reference_map_mm`` / ``reference_mat_c`` header.

        Raises
        ------
        InputError
            Neither given, or not numbers.
        """
        if text:
            try:
                p, t = (float(x) for x in text.split(","))
            except ValueError:
                raise InputError(f"climate_reference {text!r}: write MAP_MM,MAT_C, e.g. 300,3.5", params=("climate_reference",)) from None
            return cls(p, t, "--climate-reference")
        meta = getattr(table, "meta", {}) or {}
        if "reference_map_mm" in meta and "reference_mat_c" in meta:
            try:
                return cls(float(meta["reference_map_mm"]), float(meta["reference_mat_c"]),
                           f"{table.origin} header: {meta.get('reference_climate_source', 'no source given')}")
            except ValueError:
                raise InputError(f"{table.origin}: reference_map_mm / reference_mat_c header lines are not numbers") from None
        raise InputError(f"climate correction: density table {table.origin} states no reference climate; give "
                         "climate_reference MAP_MM,MAT_C (the mean annual precipitation and temperature where the "
                         "table's densities were measured)", params=("climate_reference",))

    def record(self) -> dict:
        return {"map_mm": self.map_mm, "mat_c": self.mat_c, "source": self.source}


@dataclass(frozen=True)
class ClimateWeights:
    """Per-pixel (K_B, K_S) from precipitation and/or temperature rasters (a pass weights source)."""

    precip: ContinuousRaster | None
    temperature: ContinuousRaster | None
    reference: ClimateReference
    layers: int = 2

    def block(self, window: Window) -> np.ndarray:
        """Array (2, rows, cols): K_B and K_S of each pixel of ``window``."""
        p = None if self.precip is None else self.precip.read(window)
        t = None if self.temperature is None else self.temperature.read(window)
        kb, ks = correction_factors(p, t, reference_map_mm=self.reference.map_mm, reference_mat_c=self.reference.mat_c)
        return np.stack([kb, ks])

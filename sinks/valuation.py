"""Net present value of sequestration, by the formula of the InVEST carbon model.

InVEST (natcap/invest, ``src/natcap/invest/carbon.py``, ``_calculate_valuation_constant``)
values the carbon change between the current year and a future year, spread evenly over the
T years between them, each year's share discounted::

    NPV = ΔC × (price / T) × Σ_{t=0}^{T-1} 1 / ((1 + r/100)^t × (1 + c/100)^t)

with ``price`` per Mg C, ``r`` the annual market discount rate and ``c`` the annual rate of
change in the price (both in **percent**, as InVEST reads them). In closed form the sum is
``(1 − q^T) / (1 − q)`` with ``q = 1 / ((1 + r/100)(1 + c/100))`` (``T`` when ``q = 1``). As in
InVEST, ``c`` enters as a second discount: the user's guide calls it the rate at which the
social value of a ton sequestered declines; a positive ``c`` lowers the NPV (give a negative
one for a price expected to rise).

sinkplan values ``sequestration_mgc`` (the transition-period figure, not the equilibrium
difference InVEST values), takes the price per t CO2e (what carbon markets quote) and
converts: a Mg C is 44/12 t CO2e.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass

from sinkplan.layers.errors import InputError
from sinkplan.layers.warnings import AssumptionWarning, warn
from sinkplan.sinks.stocks import CO2_PER_C

__all__ = ["Valuation", "valuation_factor", "FORMULA"]

logger = logging.getLogger(__name__)

#: The formula, as summary.json states it.
FORMULA = ("NPV = sequestration_mgc × 44/12 × price_per_t_co2e / T × Σ_{t=0}^{T-1} 1 / ((1 + r/100)^t (1 + c/100)^t), "
           "T = later year − earlier year (InVEST carbon model, natcap/invest src/natcap/invest/carbon.py "
           "_calculate_valuation_constant)")


def valuation_factor(span_years: int, discount_rate_pct: float, price_change_pct: float) -> float:
    """``(1/T) Σ_{t=0}^{T-1} q^t`` with ``q = 1 / ((1 + r/100)(1 + c/100))``: value of 1 unit spread over T years.

    Examples
    --------
    >>> round(valuation_factor(5, 5.0, 0.0), 6)  # (1 + 1/1.05 + 1/1.05² + 1/1.05³ + 1/1.05⁴) / 5
    0.90919
    >>> valuation_factor(5, 0.0, 0.0)
    1.0
    """
    if span_years <= 0:
        raise InputError(f"valuation needs a later year after the earlier one (T = {span_years})")
    q = 1.0 / ((1.0 + discount_rate_pct / 100.0) * (1.0 + price_change_pct / 100.0))
    if q == 1.0:
        return 1.0  # the limit of (1 − q^T) / (1 − q) / T
    return (1.0 - q ** span_years) / (1.0 - q) / span_years


@dataclass(frozen=True)
class Valuation:
    """Carbon price and discounting of one run.

    Parameters
    ----------
    price_per_t_co2e : float
        Price of a tonne of CO2 equivalent (≥ 0).
    currency : str
        What the price is in (``CNY``, ``USD`` ...), written beside every value.
    discount_rate_pct, price_change_pct : float
        Annual rates in percent (5 means 5 %/yr), as in InVEST.
    """

    price_per_t_co2e: float
    currency: str = "CNY"
    discount_rate_pct: float = 0.0
    price_change_pct: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.price_per_t_co2e) and self.price_per_t_co2e >= 0):
            raise InputError(f"price_per_t_co2e {self.price_per_t_co2e}: give a price per t CO2e ≥ 0",
                             params=("price_per_t_co2e",))
        if not self.currency.strip():
            raise InputError("currency: name the currency of the price (CNY, USD ...)", params=("currency",))
        for name, v in (("discount_rate_pct", self.discount_rate_pct), ("price_change_pct", self.price_change_pct)):
            if not math.isfinite(v) or v <= -100:
                raise InputError(f"{name} {v}: give an annual rate in percent above -100", params=(name,))
            if 0 < abs(v) < 1:
                warn(AssumptionWarning, f"{name} {v:g}: rates are in percent (5 means 5 %/yr); {v:g} %/yr is taken as "
                     "given", logger=__name__, params=(name,))

    def npv(self, sequestration_mgc: float, span_years: int) -> float:
        """NPV (in :attr:`currency`) of ``sequestration_mgc`` gained evenly over ``span_years`` from now."""
        return self.npv_interval(sequestration_mgc, 0, span_years)

    def npv_interval(self, sequestration_mgc: float, start_year: int, span_years: int) -> float:
        """NPV of ``sequestration_mgc`` gained evenly over the ``span_years`` starting ``start_year``
        years after the first map (a series: each interval discounted from the first year):
        ``ΔC × 44/12 × price / T × Σ_{t=s}^{s+T-1} q^t``."""
        if span_years <= 0:
            raise InputError(f"valuation needs a later year after the earlier one (T = {span_years})")
        q = 1.0 / ((1.0 + self.discount_rate_pct / 100.0) * (1.0 + self.price_change_pct / 100.0))
        factor = q ** start_year * valuation_factor(span_years, self.discount_rate_pct, self.price_change_pct)
        return sequestration_mgc * CO2_PER_C * self.price_per_t_co2e * factor  # Mg C × t CO2e/Mg C × price/t CO2e

    def record(self, span_years: int | None) -> dict:
        """summary.json's ``valuation`` record."""
        return {"price_per_t_co2e": self.price_per_t_co2e, "currency": self.currency,
                "discount_rate_pct": self.discount_rate_pct, "price_change_pct": self.price_change_pct,
                "valuation_factor": None if not span_years else valuation_factor(span_years, self.discount_rate_pct,
                                                                                 self.price_change_pct),
                "formula": FORMULA, "valued": "sequestration_mgc (transition periods)"}

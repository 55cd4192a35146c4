"""IPCC 2006 Tier 1 defaults for the land-cover groups a density table lacks.

A user's table (an InVEST biophysical table from another study, say) often covers forest and
grassland but not wetland or cropland. Rather than stop, ``--ipcc-fallback CLIMATE,SOIL`` fills
each missing group from the IPCC 2006 Guidelines, Vol. 4, Tier 1 (``seeds/ipcc``):

* soil (0–30 cm) = SOC_REF(climate zone, soil type) × F_LU × F_MG × F_I (Eq. 2.25; Table 2.3;
  factors of Table 5.5 for cropland and Table 6.2 for grassland, by management class:
  ``--grassland-management nominal|moderately_degraded|severely_degraded|improved|improved_high_input``,
  ``--cropland-management nominal|no_till``);
* biomass and dead organic matter from Tables 4.7/4.4/2.2 (forest), 6.4 (grassland), 5.9 (cropland).

Every filled row carries its source; rows marked ``[check]`` in the seeds were recalled, not
read, and the summary says so. The reference stocks are 0–30 cm: a table that states another
soil depth is not filled (mixing depths would be wrong).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, replace
from importlib import resources

import numpy as np

from sinkplan.layers.errors import InputError, SchemeError
from sinkplan.layers.schemes import ClassScheme
from sinkplan.sinks.densities import DensityTable, read_keyed_csv

__all__ = ["Tier1Site", "GRASSLAND_MANAGEMENT", "CROPLAND_MANAGEMENT", "tier1_density", "with_tier1_fallback"]

GRASSLAND_MANAGEMENT = ("nominal", "moderately_degraded", "severely_degraded", "improved", "improved_high_input")
CROPLAND_MANAGEMENT = ("nominal", "no_till")


def _seed(name: str) -> list[dict[str, str]]:
    text = resources.files("sinkplan.seeds").joinpath("ipcc", name).read_text("utf-8")
    return read_keyed_csv(text, f"seeds/ipcc/{name}")[2]


@dataclass(frozen=True)
class Tier1Site:
    """Where the Tier 1 defaults are taken: climate zone, soil type, management classes."""

    climate_zone: str
    soil_type: str
    grassland_management: str = "nominal"
    cropland_management: str = "nominal"

    def __post_init__(self) -> None:
        zones = {r["climate_zone"] for r in _seed("soil_reference.csv")}
        soils = {r["soil_type"] for r in _seed("soil_reference.csv") if r["climate_zone"] == self.climate_zone}
        if self.climate_zone not in zones:
            raise InputError(f"ipcc_fallback: climate zone {self.climate_zone!r} is not one of {', '.join(sorted(zones))}", params=("ipcc_fallback",))
        if self.soil_type not in soils:
            raise InputError(f"ipcc_fallback: soil type {self.soil_type!r} has no reference stock in {self.climate_zone}; "
                             f"give one of {', '.join(sorted(soils))}", params=("ipcc_fallback",))
        if self.grassland_management not in GRASSLAND_MANAGEMENT:
            raise InputError(f"grassland_management {self.grassland_management!r}: give one of {', '.join(GRASSLAND_MANAGEMENT)}", params=("grassland_management",))
        if self.cropland_management not in CROPLAND_MANAGEMENT:
            raise InputError(f"cropland_management {self.cropland_management!r}: give one of {', '.join(CROPLAND_MANAGEMENT)}", params=("cropland_management",))

    @classmethod
    def parse(cls, text: str, *, grassland: str = "nominal", cropland: str = "nominal") -> "Tier1Site":
        """From ``CLIMATE,SOIL`` (e.g. ``cold_temperate_dry,sandy``)."""
        parts = [p.strip() for p in text.split(",")]
        if len(parts) != 2:
            raise InputError(f"ipcc_fallback {text!r}: write CLIMATE_ZONE,SOIL_TYPE, e.g. cold_temperate_dry,sandy", params=("ipcc_fallback",))
        return cls(parts[0], parts[1], grassland, cropland)

    @property
    def moisture(self) -> str:
        return "dry" if self.climate_zone.endswith("_dry") else "moist"


def tier1_density(group: str, site: Tier1Site) -> tuple[np.ndarray, str]:
    """(c_above, c_below, c_soil, c_dead) in Mg C/ha and the source text for one group.

    Raises
    ------
    SchemeError
        No Tier 1 default for the group (e.g. barren land).
    """
    if group in ("water", "built", "snow_ice"):
        return np.zeros(4), "convention: no carbon accounted (as in the shipped tables)"
    bio = [r for r in _seed("biomass_defaults.csv") if r["group"] == group and r["climate_zone"] in (site.climate_zone, "any")]
    bio.sort(key=lambda r: r["climate_zone"] == "any")  # the climate zone's own row first
    if not bio:
        raise SchemeError(f"IPCC Tier 1 fallback: no biomass default for group {group!r} in {site.climate_zone}; add the "
                          "group to your density table")
    mgmt = {"grassland": site.grassland_management, "cropland": site.cropland_management}.get(group, "nominal")
    factors = [r for r in _seed("stock_factors.csv") if r["group"] == group and r["management"] == mgmt
               and r["climate"] in (site.moisture, "any")]
    soil_src = ""
    if group in ("barren",):
        raise SchemeError("IPCC Tier 1 fallback: IPCC 2006 gives no soil carbon default for barren land; add group "
                          "'barren' to your density table")
    if not factors:
        raise SchemeError(f"IPCC Tier 1 fallback: no stock change factors for {group} ({mgmt}); add the group to your table")
    soil_type = "wetland" if group == "wetland" else site.soil_type
    ref = [r for r in _seed("soil_reference.csv") if r["climate_zone"] == site.climate_zone and r["soil_type"] == soil_type]
    if not ref:
        raise SchemeError(f"IPCC Tier 1 fallback: no reference soil stock for {soil_type} soils in {site.climate_zone}")
    f = factors[0]
    soc = float(ref[0]["soc_ref_mgc_per_ha"]) * float(f["f_lu"]) * float(f["f_mg"]) * float(f["f_i"])
    soil_src = (f"soil {ref[0]['soc_ref_mgc_per_ha']} × F_LU {f['f_lu']} × F_MG {f['f_mg']} × F_I {f['f_i']} "
                f"({ref[0]['source']}; {f['source']}{' ' + f['note'] if f['note'] else ''}{' ' + ref[0]['note'] if ref[0]['note'] else ''})")
    b = bio[0]
    vals = np.array([float(b["c_above"]), float(b["c_below"]), soc, float(b["c_dead"])])
    if not np.isfinite(vals).all() or (vals < 0).any() or math.isnan(soc):  # pragma: no cover - seeds are checked
        raise SchemeError(f"seeds/ipcc: bad values for {group}")
    note = f" {b['note']}" if b["note"] else ""
    return vals, f"IPCC 2006 Tier 1 fallback ({site.climate_zone}, {site.soil_type}, {mgmt}): biomass {b['source']}{note}; {soil_src}"


def with_tier1_fallback(table: DensityTable, scheme: ClassScheme, site: Tier1Site) -> tuple[DensityTable, list[dict]]:
    """``table`` with rows added, from IPCC Tier 1, for the scheme's classes it lacks.

    Returns the new table and one record per added row (key, values, source), for summary.json.

    Raises
    ------
    SchemeError
        The table states a soil depth other than 30 cm, or a missing group has no Tier 1 default.
    """
    if table.soil_depth_cm is not None and table.soil_depth_cm != 30:
        raise SchemeError(f"ipcc_fallback: density table {table.origin} states soil_depth_cm {table.soil_depth_cm:g}, "
                          "but IPCC Tier 1 reference soil stocks are 0-30 cm; fill the missing groups yourself or use a "
                          "0-30 cm table", params=("ipcc_fallback",))
    missing = table.resolve(scheme).missing_codes
    if not missing:
        return table, []
    by = scheme.by_code
    keys = list(dict.fromkeys(c if table.keyed_by == "lucode" else by[c].group for c in missing))
    rows, added = [], []
    for k in keys:
        vals, src = tier1_density(by[k].group if table.keyed_by == "lucode" else k, site)
        rows.append(vals)
        added.append({"key": k, "c_above": vals[0], "c_below": vals[1], "c_soil": vals[2], "c_dead": vals[3], "source": src,
                      "assumption": "[check]" in src or "assumption" in src})
    nan = np.full((len(keys), 4), np.nan)
    new = replace(table, keys=(*table.keys, *keys),
                  density_mgc_per_ha=np.vstack([table.density_mgc_per_ha, np.array(rows)]),
                  sd=np.vstack([table.sd, nan]), low=np.vstack([table.low, nan]), high=np.vstack([table.high, nan]),
                  sources=(*table.sources, *(a["source"] for a in added)), soil_depth_cm=30.0,
                  origin=f"{table.origin} + IPCC 2006 Tier 1 fallback for {', '.join(str(k) for k in keys)}")
    return new, added

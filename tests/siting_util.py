"""The siting defaults before issue 11, for tests of the screen's mechanics (buffers, slope,
parcels, blocks) written against them: a fixed 34 MW/km², a 3° slope limit, the 500 m / 400 m
land-cover buffers, no north-slope limit, no maximum parcel size, no border-belt Class I rule."""

from __future__ import annotations

#: Dotted overrides that restore those settings on the shipped PV profile.
LEGACY_PV = {
    "pv.max_slope_deg": 3.0,
    "pv.max_north_slope_deg": 90.0,
    "pv.max_parcel_area_ha": 1e9,
    "pv.layout.method": "fixed",
    "exclusions.landcover_buffers_m.built": 500.0,
    "exclusions.landcover_buffers_m.water": 400.0,
    "exclusions.border_forest_is_class1": False,
}


def legacy_set_args(overrides: dict | None = None) -> list[str]:
    """``--set KEY=VALUE`` arguments of :data:`LEGACY_PV` (and ``overrides``)."""
    out = []
    for k, v in {**LEGACY_PV, **(overrides or {})}.items():
        text = str(v).lower() if isinstance(v, bool) else (f'"{v}"' if isinstance(v, str) else repr(v))
        out += ["--set", f"{k}={text}"]
    return out

"""Siting profiles: technology parameters, exclusions, zones of interest and scoring, from TOML.

A profile is a frozen pydantic model validated on load; any problem (unknown key, negative
density, a layer file that does not exist) is a :class:`~sinkplan.layers.errors.ConfigError` whose
one-line message names the file and the dotted key path. Shipped profiles live in
``seeds/profiles`` (``pv.toml``, ``wind.toml``); every number in them has a ``source``
entry (``[source]`` table, keyed by dotted path).

Overrides use the same dotted paths (``pv.max_slope_deg=5``,
``exclusions.redline.buffer_m=500``): :func:`apply_overrides` edits the raw TOML mapping
and the result is validated again, so an override is checked like a file.

Examples
--------
>>> p = load_profile("pv")
>>> p.tech, p.technology.max_slope_deg
('pv', 10.0)
>>> with_overrides(p, {"pv.max_slope_deg": 5}).technology.max_slope_deg
5.0
"""

from __future__ import annotations

import logging
import os
import tomllib
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sinkplan.layers.resultspec import ELIGIBLE_CODES
from sinkplan.layers.errors import ConfigError
from sinkplan.layers.schemes import GROUPS
from sinkplan.siting.overrides import apply_overrides, deep_merge, parse_assignment

__all__ = [
    "TECHS",
    "ZONE_TYPES",
    "ZONE_CODES",
    "TechParams",
    "PvParams",
    "WindParams",
    "VectorRule",
    "PolicyRule",
    "POLICY_LAYERS",
    "Exclusions",
    "Zones",
    "Scoring",
    "SitingProfile",
    "load_profile",
    "profile_from_mapping",
    "apply_overrides",
    "with_overrides",
    "parse_assignment",
    "shipped_profiles",
    "value_sources",
    "capital_recovery_factor",
]

logger = logging.getLogger(__name__)

#: Technologies a profile can describe.
TECHS = ("pv", "wind")
#: Zone types of interest and their code in ``eligible.tif`` (0 = excluded).
ZONE_TYPES = ("desert", "border", "mine", "other")
ZONE_CODES = {key: code for code, key in ELIGIBLE_CODES.items() if code}  # desert 1, border 2, mine 3, other 4
#: Carbon pools a profile may count as "at stake".
POOL_NAMES = ("above", "below", "soil", "dead")

_LAND_GROUPS = tuple(g for g in GROUPS if g != "nodata")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)  # inf passes gt=0; nan every bound


def _check_groups(v: list[str]) -> list[str]:
    bad = [g for g in v if g not in _LAND_GROUPS]
    if bad:
        raise ValueError(f"unknown land-cover group(s) {bad}; groups are {', '.join(_LAND_GROUPS)}")
    return v


class PvLayout(_Model):
    """Land per MW of fixed-tilt PV from the no-shading row-spacing rule (:mod:`sinkplan.siting.energy`).

    MW/km² = ``module_w_per_m2`` × ground-cover ratio × ``array_land_share`` (1 W/m² = 1 MW/km²),
    the ground-cover ratio from the row pitch at which rows do not shade each other on the
    winter solstice from ``shade_free_from_hour`` (solar time) to its mirror hour, at the
    pixel's latitude and north–south ground slope; tilt = latitude + ``tilt_offset_from_latitude_deg``.
    """

    method: Literal["row_spacing", "fixed"] = "row_spacing"
    module_w_per_m2: float = Field(default=213.0, gt=0, le=400)
    array_land_share: float = Field(default=0.32, gt=0, le=1)
    tilt_offset_from_latitude_deg: float = Field(default=-5.0, ge=-45, le=20)
    shade_free_from_hour: float = Field(default=12.0, ge=8, le=12)


class PvEnergy(_Model):
    """PV yield model (pvlib; see :func:`sinkplan.siting.energy.pv_specific_yield`)."""

    system_losses_percent: float | None = Field(default=None, ge=0, lt=100)
    gamma_pdc_per_c: float = Field(default=-0.0035, ge=-0.02, le=0)
    inverter_efficiency: float = Field(default=0.96, gt=0, le=1)
    ambient_temperature_c: float = Field(default=10.0, ge=-40, le=50)
    wind_speed_m_per_s: float = Field(default=3.0, ge=0, le=40)
    albedo: float = Field(default=0.25, ge=0, le=1)


class Shrub(_Model):
    """PV on shrubland (林光互补), 自然资办发〔2023〕12号: allowed where mean annual precipitation
    is below ``max_precipitation_mm`` or, elsewhere, shrub cover below ``max_cover_fraction``."""

    max_precipitation_mm: float = Field(default=400.0, gt=0)
    max_cover_fraction: float = Field(default=0.5, gt=0, le=1)


class Turbine(_Model):
    """Wind turbine of windpowerlib's turbine library (OEDB data shipped in the package)."""

    turbine_type: str = "E-141/4200"
    hub_height_m: float = Field(default=135.0, gt=0, le=300)
    weibull_k: float = Field(default=2.0, gt=0.5, le=10)
    losses_percent: float = Field(default=15.0, ge=0, lt=100)
    placement: Literal["density", "turbines"] = "density"
    spacing_along_rotor_d: float = Field(default=8.0, gt=0)
    spacing_across_rotor_d: float = Field(default=4.0, gt=0)
    prevailing_wind_from_deg: float = Field(default=315.0, ge=0, lt=360)


class TechParams(_Model):
    """Parameters of one technology."""

    power_density_mw_per_km2: float = Field(gt=0, description="installed MW per km² of parcel")
    max_slope_deg: float = Field(gt=0, le=90, description="steepest allowed terrain slope")
    min_parcel_area_ha: float = Field(ge=0, description="smallest parcel kept")
    max_parcel_area_ha: float | None = Field(default=None, gt=0, description="largest parcel; larger land is split")
    max_north_slope_deg: float | None = Field(default=None, gt=0, le=90,
                                              description="steepest north-facing slope (aspect 270°–90° through north)")

    @model_validator(mode="after")
    def _sizes(self) -> "TechParams":
        if self.max_parcel_area_ha is not None and self.max_parcel_area_ha < self.min_parcel_area_ha:
            raise ValueError(f"max_parcel_area_ha ({self.max_parcel_area_ha:g}) is below min_parcel_area_ha "
                             f"({self.min_parcel_area_ha:g})")
        return self


class PvParams(TechParams):
    layout: PvLayout | None = None
    energy: PvEnergy = PvEnergy()
    shrub: Shrub | None = None


class WindParams(TechParams):
    turbine: Turbine = Turbine()


class Terrain(_Model):
    """Terrain classes of TD/T 1075-2023: Ⅰ slope ≤ ``class_i_max_slope_deg``; Ⅱ slope ≤
    ``class_ii_max_slope_deg`` and relief < ``class_ii_max_relief_m``; Ⅲ otherwise. Relief is
    the elevation range in a square window of side 2 × ``relief_radius_m`` + 1 pixel."""

    class_i_max_slope_deg: float = Field(default=3.0, gt=0, le=90)
    class_ii_max_slope_deg: float = Field(default=20.0, gt=0, le=90)
    class_ii_max_relief_m: float = Field(default=200.0, gt=0)
    relief_radius_m: float = Field(default=500.0, ge=0, le=5000)


def capital_recovery_factor(rate: float, years: float) -> float:
    """Capital recovery factor r (1 + r)^n / ((1 + r)^n − 1): the constant annual payment, per unit
    of capital, that repays it with interest r over n years (1/n when r = 0).

    Examples
    --------
    >>> round(capital_recovery_factor(0.05, 25), 6)  # 0.05 × 3.386355 / 2.386355
    0.070952
    """
    if rate == 0:
        return 1.0 / years
    q = (1.0 + rate) ** years
    return rate * q / (q - 1.0)


class Cost(_Model):
    """Levelised cost (reV ``lcoe_fcr``): LCOE = (FCR × capex + opex) / energy, plus grid connection.

    The fixed charge rate is ``fixed_charge_rate`` when given, else the capital recovery factor
    of ``discount_rate`` (real, per year) over ``lifetime_years`` (:attr:`fcr`).
    """

    currency: str = "CNY"
    capex_cny_per_kw: float = Field(default=3500.0, ge=0)
    opex_cny_per_kw_yr: float = Field(default=50.0, ge=0)
    discount_rate: float = Field(default=0.05, ge=0, lt=1)
    lifetime_years: float = Field(default=25.0, gt=0, le=100)
    fixed_charge_rate: float | None = Field(default=None, gt=0, lt=1)
    grid_cost_cny_per_km: dict[str, float] = Field(default_factory=dict)
    grid_cost_default_cny_per_km: float = Field(default=1_000_000.0, ge=0)

    @property
    def fcr(self) -> float:
        """The fixed charge rate used: ``fixed_charge_rate``, else the capital recovery factor."""
        if self.fixed_charge_rate is not None:
            return self.fixed_charge_rate
        return capital_recovery_factor(self.discount_rate, self.lifetime_years)

    def describe(self) -> dict:
        """The cost settings with the fixed charge rate used and how it was obtained (for summary.json)."""
        d = self.model_dump()
        d["fixed_charge_rate"] = self.fcr
        d["fixed_charge_rate_method"] = ("given" if self.fixed_charge_rate is not None else
                                         f"capital recovery factor of {self.discount_rate:g} over {self.lifetime_years:g} years")
        return d

    @field_validator("grid_cost_cny_per_km")
    @classmethod
    def _kv(cls, v: dict[str, float]) -> dict[str, float]:
        for k, x in v.items():
            try:
                float(k)
            except ValueError:
                raise ValueError(f"keys are voltages in kV such as \"220\", got {k!r}") from None
            if not x >= 0:
                raise ValueError(f"costs must be ≥ 0, got {k} = {x}")
        return v


class VectorRule(_Model):
    """A vector exclusion layer: polygons (or lines, points) plus an optional buffer."""

    path: Path | None = None
    buffer_m: float = Field(default=0.0, ge=0)
    required: bool = False
    layer: str | None = None


#: Named policy layers: profile key → (command-line option, Chinese name).
POLICY_LAYERS = {
    "basic_grassland": ("--basic-grassland", "基本草原"),
    "natural_forest": ("--natural-forest", "天然林地"),
    "class1_forest": ("--class1-forest", "Ⅰ级保护林地"),
    "sandy_closure": ("--sandy-closure", "国家沙化土地封禁保护区"),
    "heritage_lines": ("--heritage-lines", "历史文化保护线"),
    "protected_areas": ("--protected-areas", "自然保护地"),
    "state_forest": ("--state-forest", "国有林场和重点国有林区"),
    "urban_boundary": ("--urban-boundary", "城镇开发边界"),
    "bird_corridors": ("--bird-corridors", "候鸟迁徙通道"),
}


class PolicyRule(VectorRule):
    """A layer national policy excludes, with the clause it comes from.

    ``required = true``: a run without the layer is not an error, but the rule is named as
    not checked (terminal, summary.json ``not_checked``, tables, map) and the capacity is an
    upper bound. ``grade_field``/``class1_values`` (``class1_forest`` only): a 林地保护等级
    layer whose features of other grades are not excluded, and which overrides the border
    belt's presumption (forest and shrub within the belt are Class I).
    """

    required: bool = True
    clause: str = ""
    grade_field: str | None = None
    class1_values: list[str] = Field(default_factory=lambda: ["1", "I", "Ⅰ", "一级", "Ⅰ级", "I级"])


class Exclusions(_Model):
    """What excludes a pixel."""

    landcover_groups: list[str] = Field(default_factory=list)
    landcover_codes: list[int] = Field(default_factory=list)
    landcover_buffers_m: dict[str, float] = Field(default_factory=dict)
    redline: VectorRule = VectorRule(required=True)
    farmland: VectorRule = VectorRule(required=True)
    layers: dict[str, VectorRule] = Field(default_factory=dict)
    policy: dict[str, PolicyRule] = Field(default_factory=dict)
    #: Forest and shrub land in the border belt is Class I protected forest land (林地保护等级)
    #: unless the class1_forest layer grades it otherwise.
    border_forest_is_class1: bool = False

    _groups = field_validator("landcover_groups")(_check_groups)

    @field_validator("policy")
    @classmethod
    def _policy(cls, v: dict[str, PolicyRule]) -> dict[str, PolicyRule]:
        bad = [k for k in v if k not in POLICY_LAYERS]
        if bad:
            raise ValueError(f"unknown policy layer(s) {bad}; known: {', '.join(POLICY_LAYERS)} "
                             "(put other layers under [exclusions.layers.NAME])")
        return v

    @field_validator("landcover_codes")
    @classmethod
    def _codes(cls, v: list[int]) -> list[int]:
        if any(c < 0 for c in v):
            raise ValueError(f"codes must be ≥ 0, got {v}")
        return v

    @field_validator("landcover_buffers_m")
    @classmethod
    def _buffers(cls, v: dict[str, float]) -> dict[str, float]:
        _check_groups(list(v))
        bad = {k: x for k, x in v.items() if not x >= 0}
        if bad:
            raise ValueError(f"buffers must be ≥ 0 metres, got {bad}")
        return v


class DesertZone(_Model):
    enabled: bool = True
    landcover_groups: list[str] = Field(default_factory=lambda: ["barren"])
    polygons: bool = True
    priority: float = Field(default=1.0, ge=0, le=1)

    _groups = field_validator("landcover_groups")(_check_groups)


class BorderZone(_Model):
    enabled: bool = True
    width_m: float = Field(default=20_000.0, gt=0)
    priority: float = Field(default=1.0, ge=0, le=1)


class MineZone(_Model):
    enabled: bool = True
    buffer_m: float = Field(default=0.0, ge=0)
    priority: float = Field(default=1.0, ge=0, le=1)


class OtherZone(_Model):
    enabled: bool = False
    priority: float = Field(default=0.0, ge=0, le=1)


class Zones(_Model):
    """Zones of interest; a pixel takes the enabled zone of highest priority it lies in."""

    desert: DesertZone = DesertZone()
    border: BorderZone = BorderZone()
    mine: MineZone = MineZone()
    other: OtherZone = OtherZone()


class Weights(_Model):
    slope: float = Field(default=1.0, ge=0)
    grid: float = Field(default=1.0, ge=0)
    carbon: float = Field(default=1.0, ge=0)
    compactness: float = Field(default=0.5, ge=0)
    zone: float = Field(default=1.0, ge=0)
    energy: float = Field(default=1.0, ge=0)


class Scoring(_Model):
    """Score = Σ wᵢ sᵢ / Σ wᵢ over the criteria that can be computed, each sᵢ in [0, 1]."""

    weights: Weights = Weights()
    grid_distance_max_km: float = Field(default=50.0, gt=0)
    carbon_ref_mgc_per_ha: float = Field(default=10.0, gt=0)


class Bases(_Model):
    distance_m: float = Field(default=10_000.0, gt=0)
    min_capacity_mw: float = Field(default=0.0, ge=0)


class Carbon(_Model):
    density_table: str = "inner_mongolia_30cm"
    pools: list[str] = Field(default_factory=lambda: ["above", "below", "dead"])
    #: Grid emission factor for avoided emissions (t CO2 per MWh).
    emission_factor_t_co2_per_mwh: float = Field(default=0.5366, gt=0, le=2)

    @field_validator("pools")
    @classmethod
    def _pools(cls, v: list[str]) -> list[str]:
        bad = [p for p in v if p not in POOL_NAMES]
        if bad or not v:
            raise ValueError(f"pools must be a non-empty subset of {list(POOL_NAMES)}, got {v}")
        return v


class Target(_Model):
    key: str = "new_energy_capacity"


class SitingProfile(_Model):
    """A whole siting profile for one technology."""

    tech: Literal["pv", "wind"]
    name: str = ""
    description: str = ""
    pv: PvParams | None = None
    wind: WindParams | None = None
    exclusions: Exclusions = Exclusions()
    terrain: Terrain = Terrain()
    cost: Cost = Cost()
    zones: Zones = Zones()
    scoring: Scoring = Scoring()
    bases: Bases = Bases()
    carbon: Carbon = Carbon()
    target: Target = Target()
    source: dict[str, str] = Field(default_factory=dict)
    origin: str = Field(default="", exclude=True)

    @model_validator(mode="after")
    def _one_tech(self) -> "SitingProfile":
        if getattr(self, self.tech) is None:
            raise ValueError(f"tech = {self.tech!r} but there is no [{self.tech}] section")
        other = "wind" if self.tech == "pv" else "pv"
        if getattr(self, other) is not None:
            raise ValueError(f"tech = {self.tech!r} but a [{other}] section is given; one profile per technology")
        return self

    @property
    def technology(self) -> TechParams:
        """The parameters of :attr:`tech`."""
        return getattr(self, self.tech)

    def vector_rules(self) -> dict[str, VectorRule]:
        """All vector exclusion rules by name: redline, farmland, policy layers, then user layers."""
        return {"redline": self.exclusions.redline, "farmland": self.exclusions.farmland,
                **self.exclusions.policy, **self.exclusions.layers}


# ---------------------------------------------------------------------------- loading
def shipped_profiles() -> tuple[str, ...]:
    """Names of the profiles in ``seeds/profiles`` (without .toml)."""
    files = resources.files("sinkplan.seeds").joinpath("profiles").iterdir()
    return tuple(sorted(f.name[:-5] for f in files if f.name.endswith(".toml")))


def _read_toml(name_or_path: str | os.PathLike) -> tuple[dict[str, Any], str, Path | None]:
    key = str(name_or_path)
    if key in shipped_profiles():
        text = resources.files("sinkplan.seeds").joinpath("profiles", f"{key}.toml").read_text("utf-8")
        origin, base = f"seeds/profiles/{key}.toml", None
    else:
        p = Path(key)
        if not p.is_file():
            raise ConfigError(f"{p}: profile file not found; give a TOML file or one of {', '.join(shipped_profiles())}")
        text, origin, base = p.read_text("utf-8"), str(p), p.parent
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{origin}: not valid TOML ({exc})") from None
    return raw, origin, base


def load_profile(name_or_path: str | os.PathLike, *, overrides: dict[str, Any] | None = None) -> SitingProfile:
    """Load a shipped profile by name (``pv``, ``wind``) or a TOML file, with overrides.

    A user file may start with ``extends = "pv"`` (or ``"wind"``) and give only the keys it
    changes; tables are merged key by key onto that shipped profile. Relative layer paths
    are resolved against the profile file's folder.

    Raises
    ------
    ConfigError
        Unknown key, bad value or missing layer file; the message names the file and key.
    """
    raw, origin, base = _read_toml(name_or_path)
    if "extends" in raw:
        parent = raw.pop("extends")
        if not isinstance(parent, str) or parent not in shipped_profiles():
            raise ConfigError(f"{origin}: extends: {parent!r} is not a shipped profile; use one of "
                              f"{', '.join(shipped_profiles())}")
        own = raw
        parent_raw = _read_toml(parent)[0]
        raw = deep_merge(parent_raw, own)
        # a number the file changes without its own [source] entry is the file's, not the parent's source
        own_src = own.get("source", {}) if isinstance(own.get("source"), dict) else {}
        changed = [k for k in _leaf_numbers(own) if k not in own_src and _dotted(parent_raw, k) != _dotted(own, k)]
        _set_sources(raw, changed, f"set in {origin} (extends {parent!r}; no [source] entry given)")
    if overrides:
        check_tech_keys(overrides, str(raw.get("tech", "")), flag="overrides")
        profile_from_mapping(raw, origin=origin, base_dir=base)  # the file's own problems name the file
    raw = apply_overrides(raw, overrides or {}, origin=origin)
    _set_sources(raw, list(overrides or {}), "user value: --set on the command line")
    return profile_from_mapping(raw, origin=origin, base_dir=base, overrides=overrides, flag="overrides")


_MISSING = object()


def _dotted(raw: dict[str, Any], key: str) -> Any:
    node: Any = raw
    for part in key.split("."):
        if not isinstance(node, dict) or part not in node:
            return _MISSING
        node = node[part]
    return node


def _set_sources(raw: dict[str, Any], keys: list[str], text: str) -> None:
    """Point the ``[source]`` entry of each numeric key in ``keys`` at ``text`` (who set the value)."""
    numbers = set(_leaf_numbers(raw))
    src = raw.setdefault("source", {})
    for k in keys:
        if k in numbers:
            src[k] = text


#: Words in a ``[source]`` entry that mark a value as an assumption or an unverified figure.
ASSUMPTION_MARKS = ("assumption", "[check]", "user value", "no [source] entry")


def value_sources(profile: SitingProfile) -> list[dict[str, Any]]:
    """Every sourced number of a profile: ``key``, ``value`` (as run), ``source`` and ``assumption``
    (True where the source marks it a sinkplan assumption, an unverified ``[check]`` figure, a
    user's value or a value without a source), for summary.json and the tables."""
    dump = profile.model_dump(mode="json")
    out = []
    for key in sorted(profile.source):
        value = _dotted(dump, key)
        if value is _MISSING:
            continue
        text = profile.source[key]
        out.append({"key": key, "value": value, "source": text,
                    "assumption": any(m in text for m in ASSUMPTION_MARKS)})
    return out


def profile_from_mapping(raw: dict[str, Any], *, origin: str = "<profile>", base_dir: Path | None = None,
                         overrides: dict[str, Any] | None = None, flag: str = "overrides") -> SitingProfile:
    """Validate a raw mapping (as read from TOML) into a :class:`SitingProfile`.

    Errors about a key of ``overrides`` (or below it) are reported as ``{flag} KEY: …``
    (``overrides``, which the command line shows as ``--set``; or the option they came from), the
    others as ``{origin}: KEY: …``.
    """
    try:
        prof = SitingProfile.model_validate({**raw, "origin": origin})
    except ValidationError as exc:
        raise ConfigError(_describe(exc, origin=origin, overrides=overrides or {}, flag=flag),
                          params=(flag,) if flag.isidentifier() else ()) from None
    _check_sources(prof, raw, origin)
    return _resolve_paths(prof, origin, base_dir)


def _describe(exc: ValidationError, *, origin: str, overrides: dict[str, Any], flag: str) -> str:
    parts, from_file = [], []
    for err in exc.errors():
        loc = ".".join(str(x) for x in err["loc"] if x not in ("function-after",))
        cli = any(loc == k or loc.startswith(k + ".") for k in overrides)
        from_file.append(not cli)
        if cli:
            loc = f"{flag} {loc}"
        if err["type"] == "extra_forbidden":
            parts.append(f"{loc}: unknown key; check the spelling against the shipped profile seeds/profiles/pv.toml")
        elif err["type"] == "missing":
            parts.append(f"{loc}: missing key (or start the file with extends = \"pv\" or \"wind\" to take the rest from a shipped profile)")
        else:
            msg = err["msg"].removeprefix("Value error, ")
            value = err.get("input")
            shown = "" if isinstance(value, (dict, list)) or value is None else f" (found {value!r})"
            parts.append(f"{loc or 'profile'}: {msg}{shown}")
    # the file is named once, before the first problem that is the file's
    first = next((i for i, f in enumerate(from_file) if f), None)
    if first is not None:
        parts[first] = f"{origin}: {parts[first]}"
    return "; ".join(parts)


def _leaf_numbers(raw: Any, prefix: str = "") -> list[str]:
    out = []
    if isinstance(raw, dict):
        for k, v in raw.items():
            if prefix == "" and k == "source":
                continue
            out += _leaf_numbers(v, f"{prefix}{k}.")
    elif isinstance(raw, (int, float)) and not isinstance(raw, bool):
        out.append(prefix[:-1])
    return out


def numbers_without_source(raw: dict[str, Any]) -> list[str]:
    """Dotted keys of numbers in a raw profile that have no ``[source]`` entry."""
    src = raw.get("source", {})
    return [k for k in _leaf_numbers(raw) if k not in src]


def _check_sources(prof: SitingProfile, raw: dict[str, Any], origin: str) -> None:
    numbers = set(_leaf_numbers(raw))
    for key in prof.source:
        if key not in numbers:
            raise ConfigError(f"{origin}: source.{key}: names no number of this profile; "
                              "source keys are dotted paths such as 'pv.power_density_mw_per_km2'")


def _resolve_paths(prof: SitingProfile, origin: str, base: Path | None) -> SitingProfile:
    def fix(name: str, rule: VectorRule, key: str) -> VectorRule:
        if rule.path is None:
            return rule
        p = rule.path if rule.path.is_absolute() or base is None else base / rule.path
        if not p.exists():
            raise ConfigError(f"{origin}: {key}.path: layer file {p} not found; check the path "
                              "(relative paths are read from the profile's folder)")
        return rule.model_copy(update={"path": p})

    ex = prof.exclusions
    new_ex = ex.model_copy(update={
        "redline": fix("redline", ex.redline, "exclusions.redline"),
        "farmland": fix("farmland", ex.farmland, "exclusions.farmland"),
        "layers": {n: fix(n, r, f"exclusions.layers.{n}") for n, r in ex.layers.items()},
        "policy": {n: fix(n, r, f"exclusions.policy.{n}") for n, r in ex.policy.items()},
    })
    return prof.model_copy(update={"exclusions": new_ex})


def check_tech_keys(overrides: dict[str, Any], tech: str, *, flag: str) -> None:
    """Refuse an override of the other technology's table (``wind.*`` on a PV profile).

    Raises
    ------
    ConfigError
        ``{flag} wind.max_slope_deg: wind.* does not apply to --tech pv; …``
    """
    for key in overrides:
        head, _, rest = key.partition(".")
        if head in TECHS and tech in TECHS and head != tech:
            raise ConfigError(f"{flag} {key}: {head}.* does not apply to tech {tech}; use {tech}.{rest or 'KEY'} "
                              f"or tech {head}", params=(*((flag,) if flag.isidentifier() else ()), "tech", "tech#2"))


def with_overrides(profile: SitingProfile, overrides: dict[str, Any], *, flag: str = "overrides") -> SitingProfile:
    """A new profile: ``profile`` with dotted-key overrides applied and validated again.

    ``flag`` names the overrides in error messages (``overrides``: the command line shows ``--set``;
    ``--sweep`` for a sweep's).
    """
    if not overrides:
        return profile
    check_tech_keys(overrides, profile.tech, flag=flag)
    raw = profile.model_dump(mode="python", exclude_none=True)
    for rule in _iter_rules(raw):
        if rule.get("path") is not None:
            rule["path"] = str(rule["path"])
    raw = apply_overrides(raw, overrides, origin=profile.origin)
    _set_sources(raw, list(overrides), f"user value: {flag} on the command line")
    where = f"{profile.origin} with {', '.join(f'{k}={v}' for k, v in overrides.items())}"
    return profile_from_mapping(raw, origin=where, overrides=overrides, flag=flag)


def _iter_rules(raw: dict[str, Any]):
    ex = raw.get("exclusions", {})
    for name in ("redline", "farmland"):
        if isinstance(ex.get(name), dict):
            yield ex[name]
    yield from (r for r in ex.get("layers", {}).values() if isinstance(r, dict))
    yield from (r for r in ex.get("policy", {}).values() if isinstance(r, dict))

"""Validating a screen's inputs and turning a profile into a block specification.

:func:`prepare` reads and checks everything a run needs before any output exists (land
cover and scheme, every vector layer through :func:`sinkplan.layers.vectors.read_vector`, the DEM,
the density table, the target), assigns one exclusion bit per rule and returns a
:class:`Prepared` whose :class:`~sinkplan.siting.blocks.ScreenSpec` the blocks run with.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

import math
import re

import numpy as np
import pandas as pd
from pyproj import Transformer
from rasterio.windows import Window

from sinkplan.layers.errors import ConfigError, InputError
from sinkplan.layers.warnings import IgnoredLayerWarning, NotCheckedWarning, UnusedLayerWarning, warn
from sinkplan.layers.files import file_signature
from sinkplan.layers.continuous import check_precipitation_mm, cover_scale  # shared with coverage
from sinkplan.layers.grid import Grid
from sinkplan.layers.landcover import LandCover, open_landcover
from sinkplan.layers.vectors import VectorLayer, fit_longitudes, read_vector, require_polygons, several_layers_message
from sinkplan.layers.zones import ZoneRasterizer
from sinkplan.seeds.targets import Target, load_targets
from sinkplan.seeds.zone_targets import REGION_TOTAL, is_zone_table, load_zone_targets
from sinkplan.siting.account import installed_by_zone as installed_by_zone_of
from sinkplan.sinks.densities import POOLS, load_densities
from sinkplan.siting.blocks import Rule, ScreenSpec, ZoneSpec
from sinkplan.siting.geometry import edt_strips, row_metric
from sinkplan.siting.inputs import LayerStore, check_dem, check_raster, check_wind_speed_units
from sinkplan.siting.profile import POLICY_LAYERS, ZONE_CODES, PolicyRule, SitingProfile

__all__ = ["Prepared", "ScreenInputs", "VectorCache", "prepare", "RASTER_INPUTS", "warn_unused_layers"]

logger = logging.getLogger(__name__)


#: Continuous rasters a screen may read per block: field of ScreenInputs → (option, units).
RASTER_INPUTS = {
    "ghi": ("--ghi", "kWh/m²/yr"), "pvout": ("--pvout", "kWh/kWp/yr"), "wind_speed": ("--wind-speed", "m/s"),
    "weibull_k": ("--weibull-k", "1"), "precipitation": ("--precipitation", "mm/yr"),
    "shrub_cover": ("--shrub-cover", "fraction"),
}


#: The rasters of :data:`RASTER_INPUTS` each technology reads per block.
RASTERS_USED = {"pv": ("ghi", "pvout", "precipitation", "shrub_cover"), "wind": ("wind_speed", "weibull_k")}


@dataclass(frozen=True)
class ScreenInputs:
    """Input files of a screen (None: not given).

    The policy layers (``basic_grassland`` … ``bird_corridors``) are the named layers of
    :data:`sinkplan.siting.profile.POLICY_LAYERS`; ``installed`` holds existing and approved
    plants (``capacity_mw`` and technology fields); ``claimed`` is the parcel raster of a
    technology screened first (``--tech pv,wind``), whose pixels this screen may not use.
    """

    landcover: Path
    scheme: str = "clcd"
    map_codes: dict | None = None
    dem: Path | None = None
    redline: Path | None = None
    farmland: Path | None = None
    border: Path | None = None
    deserts: Path | None = None
    mines: Path | None = None
    grid_lines: tuple[Path, ...] = ()
    zones: Path | None = None
    zone_field: str | None = None
    zone_layer: str | None = None
    targets: Path | None = None
    basic_grassland: Path | None = None
    natural_forest: Path | None = None
    class1_forest: Path | None = None
    sandy_closure: Path | None = None
    heritage_lines: Path | None = None
    protected_areas: Path | None = None
    state_forest: Path | None = None
    urban_boundary: Path | None = None
    bird_corridors: Path | None = None
    ghi: Path | None = None
    pvout: Path | None = None
    wind_speed: Path | None = None
    weibull_k: Path | None = None
    precipitation: Path | None = None
    shrub_cover: Path | None = None
    installed: Path | None = None
    installed_tech_field: str = "tech"
    claimed: Path | None = None
    claimed_by: str = ""
    covers_target_region: bool = False

    def files(self) -> list[Path]:
        """Every input file given (for the manifest)."""
        out = [self.landcover, self.dem, self.redline, self.farmland, self.border, self.deserts, self.mines,
               self.zones, self.targets, *self.grid_lines, *(getattr(self, k) for k in POLICY_LAYERS),
               *(getattr(self, k) for k in RASTER_INPUTS), self.installed]
        if self.scheme and Path(str(self.scheme)).suffix.lower() in (".csv", ".toml"):
            out.append(Path(self.scheme))
        return [Path(p) for p in out if p is not None]


class VectorCache(dict):
    """Vector layers already read, keyed by the file's signature (path, size, mtime, ctime, inode,
    sidecars: :func:`sinkplan.layers.files.file_signature`), layer, CRS and field: sweeps read each
    file once, and a file written again at the same path is read again (never its old geometry)."""

    def read(self, path: Path, grid: Grid, *, layer: str | None = None, field: str | None = None,
             layer_param: str | None = None, what: str = "layer"):
        key = (file_signature(path), layer, grid.crs.to_wkt(), field)
        if key not in self:
            for old in [k for k in self if k[0][0] == key[0][0] and k[1:] == key[1:]]:
                del self[old]  # the same layer of an older version of the file: never used again
            vl = read_vector(path, layer=layer, to_crs=grid.crs, field=field, layer_param=layer_param, what=what)
            gdf = fit_longitudes(vl.gdf, grid)  # a raster across the antimeridian: layers at −180… too
            self[key] = vl if gdf is vl.gdf else VectorLayer(gdf, vl.report)
        return self[key]


@dataclass
class Prepared:
    """A validated run: profile, grid, rules and the picklable block specification."""

    profile: SitingProfile
    inputs: ScreenInputs
    landcover: LandCover
    grid: Grid
    rules: list[Rule]
    spec: ScreenSpec
    small_bit: int
    grid_features: np.ndarray
    admin_names: tuple[str, ...]
    target: Target
    notes: list[str] = field(default_factory=list)
    #: ``--grid-lines`` layers as read (file name, GeoDataFrame in the grid CRS), for the map files.
    grid_layers: tuple[tuple[str, Any], ...] = ()
    #: Rule sets the profile asks for that this run could not check: dicts with ``rule``,
    #: ``option``, ``clause``, ``effect`` (``upper_bound``: capacity is an upper bound;
    #: ``zone_missing``, ``not_scored``, ``no_energy``: what is missing instead).
    not_checked: list[dict] = field(default_factory=list)
    #: Existing and approved plants (--installed): MW by technology, and the table.
    installed_mw: dict[str, float] = field(default_factory=dict)
    #: Substations (points) with their voltage (kV, NaN unknown) for grid-connection cost.
    substations: tuple = ()
    energy_model: dict = field(default_factory=dict)
    #: Policy layers the run gave (``--bird-corridors`` …) that this profile lists no rule for.
    unused_policy_layers: tuple[str, ...] = ()
    #: Per-zone capacity targets (``--targets zones.csv``, indicator new_energy_capacity).
    zone_targets: list = field(default_factory=list)
    #: MW of --installed plants per admin zone of --zones (by each plant's representative point).
    installed_by_zone: dict[str, float] = field(default_factory=dict)

    @property
    def capacity_is_upper_bound(self) -> bool:
        return any(n["effect"] == "upper_bound" for n in self.not_checked)

    def warn_not_checked(self) -> None:
        """One warning line per rule set the profile asks for but the run lacks (the CLI calls
        it once the screen has run, so a failed run prints only its error)."""
        for nc in self.not_checked:  # an option may hold digits: --class1-forest
            params = tuple(o.replace("-", "_") for o in re.findall(r"--([a-z][a-z0-9-]*)", nc["option"]))
            given = " or ".join(params) or nc["option"]
            # the rule may be named like its layer (basic_grassland): the layer is the second mention then
            params = tuple(f"{p}#2" if p == nc["rule"] else p for p in params)
            tail = "; the capacity is an upper bound" if nc["effect"] == "upper_bound" else f" ({nc['clause']})"
            warn(NotCheckedWarning, f"not checked: {nc['rule']} ({nc['name_zh']}) — no {given} given{tail}",
                 logger=__name__, params=params)

    def rule(self, name: str) -> Rule:
        return next(r for r in self.rules if r.name == name)


def warn_unused_layers(preps: list[Prepared]) -> None:
    """One warning per policy layer given on the command line that no technology of the run
    applies (its profile lists no rule for it), so a layer is never dropped in silence."""
    if not preps:
        return
    unused = set.intersection(*(set(p.unused_policy_layers) for p in preps))
    techs = "/".join(p.profile.tech for p in preps)
    for name in sorted(unused, key=list(POLICY_LAYERS).index):
        zh = POLICY_LAYERS[name][1]
        warn(UnusedLayerWarning, f"{name} ({zh}) given, but the {techs} profile lists no {name} rule: the layer is not "
             f"applied; add [exclusions.policy.{name}] with its clause to a profile to apply it", logger=__name__,
             params=(name,))


def _lut_size(lc: LandCover) -> int:
    codes = list(lc.scheme.codes) + [c for c in (lc.nodata, lc.scheme.nodata) if c is not None and c >= 0]
    return max(codes) + 2  # the last entry is the bucket for unknown codes


def prepare(inputs: ScreenInputs, profile: SitingProfile, *, workdir: str | os.PathLike, keep_rasters: bool = True,
            cache: VectorCache | None = None, quiet: bool | None = None) -> Prepared:
    """Validate inputs and build the block specification.

    Nothing is written: no output, and nothing into ``workdir`` (the vector layers travel in
    the returned :class:`Prepared`'s block specification; ``workdir`` is where
    :func:`sinkplan.siting.screen.run_screen` later writes its scratch rasters).

    Every rule set the profile asks for but the run lacks is listed in
    :attr:`Prepared.not_checked` (:meth:`Prepared.warn_not_checked` logs them; ``quiet`` is
    kept for callers and has no effect here).

    Raises
    ------
    ConfigError
        A required layer (redline, farmland) is missing, or the target key is unknown.
    InputFileError, MissingCRS, FieldError, InputError, SchemeError
        From reading the inputs.
    """
    from sinkplan.layers.reading import limit_gdal_cache

    limit_gdal_cache()  # GDAL's default, 5 % of RAM, grew a province screen to 1.7 GB
    cache = VectorCache() if cache is None else cache
    notes: list[str] = []
    lc = open_landcover(inputs.landcover, inputs.scheme, mapping=inputs.map_codes)
    grid = lc.grid
    row_metric(grid, 0, 1)  # raises for rotated grids
    scheme = lc.scheme
    L = _lut_size(lc)
    group_lut = scheme.group_lut(L).astype(np.int8)
    group_lut[-1] = -1
    nodata_codes = tuple(sorted({c for c in (lc.nodata, scheme.nodata) if c is not None}
                                | {c.code for c in scheme.classes if c.group == "nodata"}))
    ex = profile.exclusions
    rules: list[Rule] = []

    def add(name: str, description: str) -> int:
        rules.append(Rule(name, len(rules), description))
        return rules[-1].bit

    nodata_bit = add("nodata", "no land-cover data (nodata code or a class of the nodata group)")
    lc_bits_lut = np.zeros(L, dtype=np.uint32)
    for grp in ex.landcover_groups:
        b = add(f"landcover_{grp}", f"land cover is {grp} (excluded group)")
        lc_bits_lut[list(scheme.codes_in(grp))] |= np.uint32(1 << b)
    if ex.landcover_codes:
        b = add("landcover_codes", f"land-cover code in {ex.landcover_codes} (excluded codes)")
        lc_bits_lut[[c for c in ex.landcover_codes if c < L - 1]] |= np.uint32(1 << b)
    lc_bits_lut[-1] = 0
    lc_buffers = []
    for grp, r in ex.landcover_buffers_m.items():
        if r > 0:
            b = add(f"near_{grp}", f"within {r:g} m of {grp} land cover (Euclidean, centre to centre)")
            lut = np.zeros(L, dtype=bool)
            lut[list(scheme.codes_in(grp))] = True
            lut[-1] = False
            lc_buffers.append((b, lut, float(r)))
    layers: dict[str, np.ndarray] = {}
    vector_rules = []
    not_checked: list[dict] = []
    cli = {"redline": inputs.redline, "farmland": inputs.farmland, **{k: getattr(inputs, k) for k in POLICY_LAYERS}}
    class1_other = None
    for name, rule in profile.vector_rules().items():
        path = cli.get(name) or rule.path
        policy = isinstance(rule, PolicyRule)
        if path is None:
            if rule.required and not policy:
                raise ConfigError(f"{profile.origin}: exclusions.{name}: no layer given and required = true; give "
                                  f"{name} FILE, set exclusions.{name}.path, or set exclusions.{name}.required = false",
                                  params=(name,))
            if policy and rule.required:
                option, zh = POLICY_LAYERS[name]
                not_checked.append({"rule": name, "name_zh": zh, "option": option, "clause": rule.clause,
                                    "effect": "upper_bound"})
            else:
                notes.append(f"no {name} layer given: that exclusion is not applied")
            continue
        if rule.layer is None:
            key = (f"exclusions.policy.{name}" if policy else f"exclusions.layers.{name}"
                   if name in profile.exclusions.layers else f"exclusions.{name}")
            _one_layer(Path(path), name, key)
        vl = cache.read(Path(path), grid, layer=rule.layer)
        gdf = vl.gdf
        if not rule.buffer_m:  # a line or point without a buffer excludes the pixels it crosses, not an area
            gdf = require_polygons(gdf, f"{path} (exclusions.{name})", notes=notes, fix=(
                f"without a buffer a {name} layer must be areas: give polygons, or set exclusions.{name}.buffer_m "
                "to exclude a belt of that many metres around the points and lines"))
        if policy and name == "class1_forest" and rule.grade_field:
            if rule.grade_field in gdf.columns:
                grade = gdf[rule.grade_field].astype(str).str.strip()
                is1 = grade.isin(rule.class1_values)
                if (~is1).any():
                    class1_other = np.asarray(gdf.geometry.values[~is1.to_numpy()], dtype=object)
                gdf = gdf[is1.to_numpy()]
            else:
                logger.info("%s has no field %r: every feature is taken as Class I protected forest land",
                            Path(path).name, rule.grade_field)
        label = POLICY_LAYERS[name][1] + " " if policy else ""
        b = add(name, f"inside {label}{name} ({Path(path).name})" + (f" or within {rule.buffer_m:g} m of it" if rule.buffer_m else ""))
        layers[f"rule:{name}"] = np.asarray(gdf.geometry.values, dtype=object)
        vector_rules.append((f"rule:{name}", b, float(rule.buffer_m)))
    unused = tuple(k for k in POLICY_LAYERS if getattr(inputs, k) is not None and k not in ex.policy)
    for k in unused:
        notes.append(f"{POLICY_LAYERS[k][0]} given, but this {profile.tech} profile lists no {k} rule: not applied here")
    installed_mw: dict[str, float] = {}
    installed_gdf = None
    if inputs.installed is not None:
        gdf = installed_gdf = _installed(inputs, grid, cache)
        for t, mw in gdf.groupby("_tech")["capacity_mw"].sum().items():
            installed_mw[str(t)] = float(mw)
        polys = gdf[gdf.geom_type.isin(["Polygon", "MultiPolygon"])]
        if len(polys):
            b = add("installed", f"land of existing or approved plants ({Path(inputs.installed).name})")
            layers["rule:installed"] = np.asarray(polys.geometry.values, dtype=object)
            vector_rules.append(("rule:installed", b, 0.0))
        if len(polys) < len(gdf):
            notes.append(f"--installed: {len(gdf) - len(polys)} plants are points or lines: their capacity counts in the "
                         "baseline, their land is not excluded (give outlines to exclude it)")
    claimed_bit = None
    if inputs.claimed is not None:
        claimed_bit = add(f"claimed_by_{inputs.claimed_by or 'other'}",
                          f"allocated to {inputs.claimed_by or 'another technology'} (--tech order: no pixel counted twice)")
    tech = profile.technology
    slope_bit = dem_nodata_bit = 0
    north_bit = None
    dem_same = True
    if inputs.dem is not None:
        dem_same = check_dem(inputs.dem, grid)
        slope_bit = add("slope", f"slope above {tech.max_slope_deg:g}° (Horn, metres)")
        dem_nodata_bit = add("dem_nodata", "no elevation data (slope unknown)")
        if tech.max_north_slope_deg is not None:
            north_bit = add("north_slope", f"north-facing: ground descends northwards by more than {tech.max_north_slope_deg:g}°")
    else:
        notes.append("no DEM given: slope is neither screened nor scored")
        not_checked.append({"rule": "slope", "name_zh": "坡度", "option": "--dem", "clause": "slope, north-facing slopes "
                            "and TD/T 1075-2023 terrain classes need a DEM", "effect": "upper_bound"})
    rasters = []
    for key, (option, _units) in RASTER_INPUTS.items():
        path = getattr(inputs, key)
        if path is None:
            continue
        if key not in RASTERS_USED[profile.tech]:  # checked, but not read per block
            check_raster(path, grid, option=option)
            logger.info("%s given, but a %s screen does not use it", option, profile.tech)
            continue
        rasters.append((key, str(path), check_raster(path, grid, option=option)))
        if key == "wind_speed":
            check_wind_speed_units(path)  # a raster in km/h, from its median: before any block is read
    if inputs.claimed is not None:
        rasters.append(("claimed", str(inputs.claimed), check_raster(inputs.claimed, grid, option="claimed parcels")))
    shrub_spec = None
    shrub_codes = list(scheme.codes_in("shrubland"))
    if profile.tech == "pv" and getattr(tech, "shrub", None) is not None and "shrubland" not in ex.landcover_groups:
        shrub_spec = _shrub_rule(tech.shrub, inputs, scheme, L, add, not_checked, notes)
    zones = _zone_specs(profile, inputs, grid, scheme, L, layers, cache, notes, not_checked)
    border_class1 = None
    usable = set(scheme.codes_in("forest")) | set(shrub_codes)
    for grp in ex.landcover_groups:
        usable -= set(scheme.codes_in(grp))
    if ex.border_forest_is_class1 and not any(z.kind == "border" for z in zones) and usable:
        # forest or shrub the profile lets through could lie in the (unknown) border belt
        not_checked.append({"rule": "border_class1", "name_zh": "边境地区Ⅰ级保护林地", "option": "--border",
                            "clause": "林地保护等级: forest and shrub land in the border belt is Class I protected forest "
                            "land; without --border the belt is not known", "effect": "upper_bound"})
    if ex.border_forest_is_class1 and any(z.kind == "border" for z in zones):
        lut = np.zeros(L, dtype=bool)
        lut[list(scheme.codes_in("forest")) + shrub_codes] = True
        lut[-1] = False
        if class1_other is not None:
            layers["class1_other"] = class1_other
        b = add("border_class1", "forest or shrub land in the border belt: Class I protected forest land (林地保护等级), "
                "unless the --class1-forest layer grades it otherwise")
        border_class1 = (b, lut, "class1_other" if class1_other is not None else None)
    outside_bit = 0
    if not profile.zones.other.enabled:
        outside_bit = add("outside_zones", "not in any enabled zone of interest (desert, border belt, mine)")
    admin, admin_names, admin_bit = None, (), None
    if inputs.zones is not None:
        vl = cache.read(Path(inputs.zones), grid, layer=inputs.zone_layer, field=inputs.zone_field,
                        layer_param="zone_layer", what="zones")
        admin = ZoneRasterizer(vl, grid, field=inputs.zone_field)
        admin_names = admin.names
        # The admin units are the study area: a raster that runs past them (a WorldCover tile
        # across the national border, a bounding box) must not yield parcels outside.
        admin_bit = add("outside_admin", f"outside every admin unit of {Path(inputs.zones).name} (not in the study area)")
    small_bit = add("small_parcel", f"eligible, but in a parcel under {profile.technology.min_parcel_area_ha:g} ha")
    if len(rules) > 32:
        raise ConfigError(f"{profile.origin}: {len(rules)} exclusion rules; at most 32 fit the bit flags of exclusions.tif")
    grid_layers = tuple(_grid_layers(inputs.grid_lines, grid, cache, notes))
    grid_feats = [np.asarray(gdf.geometry.values, dtype=object) for _, gdf in grid_layers]
    grid_features = np.concatenate(grid_feats) if grid_feats else np.empty(0, dtype=object)
    if not grid_feats:
        notes.append("no grid lines or substations given: distance_to_grid_km is empty and not scored")
        not_checked.append({"rule": "grid", "name_zh": "电网接入", "option": "--grid-lines",
                            "clause": "distance to the grid and grid-connection cost need lines or substations",
                            "effect": "not_scored"})
    energy_model, pv_table, wind_table = _energy(profile, inputs, grid, not_checked)
    cells = _cells(grid, tech.max_parcel_area_ha)
    density_lut = _density_lut(profile, scheme, L, notes)
    target = _target(profile, inputs)
    zone_targets, installed_by_zone = [], {}
    if inputs.zones is not None and installed_gdf is not None:
        zl = cache.read(Path(inputs.zones), grid, layer=inputs.zone_layer, field=inputs.zone_field,
                        layer_param="zone_layer", what="zones").gdf
        installed_by_zone = installed_by_zone_of(installed_gdf, zl, inputs.zone_field)
    if is_zone_table(inputs.targets):
        if inputs.zones is None:
            raise ConfigError(f"targets {inputs.targets}: per-zone targets need zones (and zone_field) to know "
                              "each parcel's zone; or give a policy targets file (.toml)",
                              params=("targets", "zones", "zone_field"))
        zone_targets = load_zone_targets(inputs.targets, set(admin_names) | {REGION_TOTAL},
                                         indicators=(profile.target.key,))
        if not zone_targets:
            raise ConfigError(f"targets {inputs.targets}: no row with indicator {profile.target.key}; add rows "
                              f"zone,{profile.target.key},MW,year (or use a policy targets file)", params=("targets",))
    store = LayerStore(layers) if layers else None  # the geometries travel with the block function
    spec = ScreenSpec(
        grid=grid, landcover=str(inputs.landcover), nodata_codes=nodata_codes, group_lut=group_lut,
        lc_bits_lut=lc_bits_lut, lc_buffers=tuple(lc_buffers), vector_rules=tuple(vector_rules), zones=tuple(zones),
        other_enabled=profile.zones.other.enabled, density_lut=density_lut,
        min_area_m2=profile.technology.min_parcel_area_ha * 1e4,  # ha → m²
        bits_dtype="uint16" if len(rules) <= 16 else "uint32", nodata_bit=nodata_bit, outside_bit=outside_bit,
        dem=None if inputs.dem is None else str(inputs.dem), dem_same_grid=dem_same,
        max_slope_deg=profile.technology.max_slope_deg, slope_bit=slope_bit, dem_nodata_bit=dem_nodata_bit,
        store=store, admin=admin, keep_rasters=keep_rasters, nbits=len(rules), outside_admin_bit=admin_bit,
        density_mw_per_km2=tech.power_density_mw_per_km2,
        layout=getattr(tech, "layout", None) if getattr(getattr(tech, "layout", None), "method", "fixed") == "row_spacing" else None,
        north_bit=north_bit, max_north_slope_deg=tech.max_north_slope_deg or 90.0,
        terrain=(profile.terrain.class_i_max_slope_deg, profile.terrain.class_ii_max_slope_deg,
                 profile.terrain.class_ii_max_relief_m),
        relief_px=_relief_px(grid, profile.terrain.relief_radius_m) if inputs.dem is not None else 0,
        shrub=shrub_spec, border_class1=border_class1, rasters=tuple(rasters), pv_table=pv_table, wind_table=wind_table,
        wind_k=float(getattr(getattr(tech, "turbine", None), "weibull_k", 2.0)), claimed_bit=claimed_bit, cells=cells,
    )
    if lc_buffers:  # fixed distance-transform strips of the whole grid (block-independent)
        spec = replace(spec, edt_strips=edt_strips(row_metric(grid, 0, grid.height), spec.halo_px))
    return Prepared(profile, inputs, lc, grid, rules, spec, small_bit, grid_features, admin_names, target, notes,
                    grid_layers=grid_layers, not_checked=not_checked, installed_mw=installed_mw,
                    zone_targets=zone_targets, installed_by_zone=installed_by_zone,
                    substations=_substations(grid_layers), energy_model=energy_model, unused_policy_layers=unused)


def _shrub_rule(shrub, inputs: ScreenInputs, scheme, L: int, add, not_checked: list[dict], notes: list[str]) -> tuple:
    """The 林光互补 shrub rule of 自然资办发〔2023〕12号 for PV: shrubland may be used where mean annual
    precipitation is below ``shrub.max_precipitation_mm``, and elsewhere where shrub cover is below
    ``shrub.max_cover_fraction``. What the rasters given cannot decide is excluded and said so.

    Returns the block rule ``(bit, code → shrubland, max precipitation mm, max cover fraction,
    cover scale)``: the cover raster's values × scale are fractions (0.01 for a raster in percent,
    decided once for the whole raster by :func:`cover_scale`, never per pixel).
    """
    p_mm, c_max = float(shrub.max_precipitation_mm), float(shrub.max_cover_fraction)
    has_p, has_c = inputs.precipitation is not None, inputs.shrub_cover is not None
    if has_p and has_c:
        why = f"precipitation ≥ {p_mm:g} mm/yr and cover ≥ {c_max:.0%}"
    elif has_p:
        why = f"precipitation ≥ {p_mm:g} mm/yr (no --shrub-cover: cover not checked)"
    elif has_c:
        why = f"cover ≥ {c_max:.0%} (no --precipitation: the < {p_mm:g} mm/yr allowance not checked)"
    else:
        why = "no --precipitation or --shrub-cover raster: shrubland excluded"
    b = add("shrub_rule", f"shrubland where 林光互补 is not allowed ({why}; 自然资办发〔2023〕12号)")
    lut = np.zeros(L, dtype=bool)
    lut[list(scheme.codes_in("shrubland"))] = True
    lut[-1] = False
    if has_p:  # the checks coverage --precip makes: an undeclared nodata or other units is refused
        check_precipitation_mm(inputs.precipitation)
    scale = cover_scale(inputs.shrub_cover) if has_c else 1.0
    if has_c and scale != 1.0:
        notes.append(f"--shrub-cover {Path(inputs.shrub_cover).name}: values above 1 found, read as percent (÷ 100)")
    clause = "自然资办发〔2023〕12号 林光互补: shrubland where precipitation < {p:g} mm/yr, elsewhere cover < {c:.0%}".format(
        p=p_mm, c=c_max)
    if not (has_p or has_c):
        not_checked.append({"rule": "shrub_rule", "name_zh": "林光互补灌木林", "option": "--precipitation or --shrub-cover",
                            "clause": f"{clause}; without the rasters shrubland is excluded", "effect": "excluded_instead"})
        notes.append("shrubland excluded: no --precipitation or --shrub-cover raster to check the 林光互补 rule")
    elif not has_c:
        not_checked.append({"rule": "shrub_rule_cover", "name_zh": "灌木林覆盖度", "option": "--shrub-cover",
                            "clause": f"{clause}; without a cover raster shrubland with precipitation ≥ {p_mm:g} mm/yr is "
                            "excluded whatever its cover", "effect": "excluded_instead"})
    elif not has_p:
        not_checked.append({"rule": "shrub_rule_precipitation", "name_zh": "年降水量", "option": "--precipitation",
                            "clause": f"{clause}; without a precipitation raster shrubland with cover ≥ {c_max:.0%} is "
                            f"excluded even where precipitation is below {p_mm:g} mm/yr", "effect": "excluded_instead"})
    return (b, lut, p_mm, c_max, scale)


def _relief_px(grid: Grid, radius_m: float) -> int:
    """Relief window half-size in pixels (radius ÷ the grid's largest pixel side, at least 1)."""
    if radius_m <= 0:
        return 0
    met = row_metric(grid, grid.height // 2, 2)
    px = max(float(met.dx_m[0]), float(abs(met.y_m[0] - met.y_m[1])) if grid.height > 1 else float(met.dx_m[0]))
    return max(1, int(round(radius_m / px)))


def _cells(grid: Grid, max_area_ha: float | None) -> tuple[int, int] | None:
    """(rows, columns) of the largest cell of at most ``max_area_ha`` anywhere on the grid.

    Rows = ⌊side ÷ largest pixel height⌋ with side = √(max area); columns =
    ⌊max area ÷ (rows × largest pixel area)⌋, so rows × columns pixels never exceed the
    maximum wherever the cell lies.
    """
    if max_area_ha is None:
        return None
    a_max = max_area_ha * 1e4  # ha → m²
    rows = np.array([0, grid.height // 2, grid.height - 1])
    if grid.is_geographic:
        px_area = float(grid.row_areas_m2(Window(0, 0, 1, grid.height)).max())
        met = row_metric(grid, 0, grid.height)
        dy = float(np.abs(np.diff(met.y_m)).max()) if grid.height > 1 else math.sqrt(px_area)
    else:
        px_area = max(float(np.max(grid.pixel_areas_m2(Window(0, int(r), grid.width, 1)))) for r in rows)
        dy = max(float(abs(row_metric(grid, int(max(r - 1, 0)), 2).y_m[0] - row_metric(grid, int(max(r - 1, 0)), 2).y_m[1]))
                 for r in rows) if grid.height > 1 else math.sqrt(px_area)
    ch = max(1, int(math.sqrt(a_max) // dy))
    cw = max(1, int(a_max // (ch * px_area)))
    if ch * cw * px_area > a_max:
        raise ConfigError(f"max_parcel_area_ha = {max_area_ha:g} is smaller than one pixel ({px_area / 1e4:.3g} ha)")
    return ch, cw


def _installed(inputs: ScreenInputs, grid: Grid, cache: VectorCache):
    """Existing and approved plants: ``capacity_mw`` (MW) and a technology field mapped to pv/wind."""
    path = Path(inputs.installed)
    _one_layer(Path(path), "installed")
    vl = cache.read(path, grid, field="capacity_mw")
    gdf = vl.gdf.copy()
    f = inputs.installed_tech_field
    if f not in gdf.columns:
        raise InputError(f"{path}: no field {f!r} (technology: pv/solar/光伏 or wind/风电); add it or name the field "
                         "with installed_tech_field", params=("installed_tech_field",))
    cap = pd.to_numeric(gdf["capacity_mw"], errors="coerce")
    if cap.isna().any() or (cap < 0).any():
        bad = gdf.loc[cap.isna() | (cap < 0), "capacity_mw"].head(3).tolist()
        raise InputError(f"{path}: capacity_mw must be a number ≥ 0 (MW) in every feature, found {bad}")
    gdf["capacity_mw"] = cap
    norm = gdf[f].astype(str).str.strip().str.lower().map(_TECH_WORDS)
    if norm.isna().any():
        bad = sorted(set(gdf.loc[norm.isna(), f].astype(str)))[:5]
        raise InputError(f"{path}: field {f!r} has technology values {bad}; use pv/solar/光伏 or wind/风电")
    gdf["_tech"] = norm
    return gdf


_TECH_WORDS = {"pv": "pv", "solar": "pv", "photovoltaic": "pv", "光伏": "pv", "太阳能": "pv", "光伏发电": "pv",
               "wind": "wind", "风电": "wind", "风能": "wind", "风力发电": "wind", "onshore wind": "wind"}


def _one_layer(path: Path, name: str, key: str | None = None) -> None:
    """An exclusion file of several layers must say which one excludes: reading its first layer
    (a folder of shapefiles, a GeoPackage of a whole planning database) would screen with
    another layer's polygons — parcels inside the real redline.

    Raises
    ------
    ConfigError
        ``path`` holds more than one layer with geometry and the profile names none.
    """
    import pyogrio

    try:
        layers = [str(n) for n, g in pyogrio.list_layers(path) if g is not None]
    except Exception:  # noqa: BLE001 - unreadable: read_vector says why, with its own message
        return
    if len(layers) > 1:
        example = next((n for n in layers if name.lower() in n.lower()), layers[0])
        how = (f"set {key}.layer, e.g. {key}.layer = \"{example}\", or give a file of that one layer" if key else
               f"give a file of that one layer, e.g. ogr2ogr {name}.gpkg {path} {example}")
        raise ConfigError(several_layers_message(path, layers, name, how), params=(name,))


#: Highest transmission voltage in service (1 100 kV UHV DC, 1 000 kV UHV AC): a larger value of a
#: voltage field is in volts, as OpenStreetMap's ``voltage`` tag is (220000 = 220 kV).
MAX_KV = 1200.0


def _substations(grid_layers) -> tuple:
    """(points in the grid CRS, kV per point or NaN) of every point feature of --grid-lines."""
    pts, kv = [], []
    for _name, gdf in grid_layers:
        sub = gdf[gdf.geom_type.isin(["Point", "MultiPoint", "Polygon", "MultiPolygon"])]
        if not len(sub):
            continue
        geoms = [g if g.geom_type == "Point" else g.representative_point() for g in sub.geometry]
        col = next((c for c in sub.columns if str(c).lower() in ("kv", "voltage_kv", "voltage", "电压", "电压等级")), None)
        vals = pd.to_numeric(sub[col].astype(str).str.extract(r"(-?[0-9.]+(?:[eE][+-]?[0-9]+)?)")[0],
                             errors="coerce") if col else pd.Series(np.nan, index=sub.index)
        volts = vals > MAX_KV
        if volts.any():  # OSM voltage tags (volts, "220000;110000": the first): in kV
            logger.warning("%s: %d substation voltages above %g in field '%s' (e.g. %g) read as volts: %g kV",
                           _name, int(volts.sum()), MAX_KV, col, float(vals[volts].iloc[0]),
                           float(vals[volts].iloc[0]) / 1000.0)
            vals = vals.where(~volts, vals / 1000.0)
        bad = (vals <= 0) | (vals > MAX_KV)
        if bad.any():
            logger.warning("%s: %d substation voltages in field '%s' are not a voltage (e.g. %g): taken as unknown "
                           "(the default grid cost per km)", _name, int(bad.sum()), col, float(vals[bad].iloc[0]))
            vals = vals.where(~bad, np.nan)
        pts += geoms
        kv += vals.tolist()
    return (np.asarray(pts, dtype=object), np.asarray(kv, dtype=float)) if pts else ()


def _energy(profile: SitingProfile, inputs: ScreenInputs, grid: Grid, not_checked: list[dict]):
    """The energy model of the run: a description (for summary.json), PV yield table, wind CF table."""
    from sinkplan.siting import energy as en

    tech = profile.technology
    if profile.tech == "pv":
        if inputs.pvout is not None:
            return {"method": "pvout raster (kWh/kWp/yr) as given", "source": str(inputs.pvout)}, None, None
        if inputs.ghi is None:
            not_checked.append({"rule": "energy", "name_zh": "发电量", "option": "--ghi or --pvout",
                                "clause": "energy, capacity factor and LCOE need a solar resource raster",
                                "effect": "no_energy"})
            return {"method": "none (no --ghi or --pvout)"}, None, None
        tr = Transformer.from_crs(grid.crs, grid.crs.geodetic_crs, always_xy=True)
        l, b, r, t = grid.bounds
        _, lats = tr.transform([l, r, l, r], [b, b, t, t])
        e = tech.energy
        table = en.PvYieldTable.build(min(lats), max(lats), layout_offset_deg=_tilt_offset(tech), energy=e)
        return {
            "method": "pvlib: annual GHI over the hours of a year in proportion to Haurwitz clear-sky GHI at the "
                      "latitude; Erbs decomposition; Hay-Davies transposition to a south-facing tilt of latitude "
                      f"{_tilt_offset(tech):+g}°; SAPM cell temperature (open rack, glass/glass) at "
                      f"{e.ambient_temperature_c:g} °C and {e.wind_speed_m_per_s:g} m/s; PVWatts DC "
                      f"(gamma {e.gamma_pdc_per_c:g}/°C); PVWatts system losses {en.pv_system_losses_percent(e):.2f} %; "
                      f"PVWatts inverter (efficiency {e.inverter_efficiency:g}, DC/AC 1); clear-sky hourly shape: an "
                      "approximation, give --pvout for a measured yield",
            "pvlib_version": _version("pvlib"), "system_losses_percent": en.pv_system_losses_percent(e),
        }, table, None
    turb = tech.turbine
    if inputs.wind_speed is None:
        not_checked.append({"rule": "energy", "name_zh": "发电量", "option": "--wind-speed",
                            "clause": "energy, capacity factor and LCOE need a hub-height wind-speed raster",
                            "effect": "no_energy"})
        return {"method": "none (no --wind-speed)"}, None, None
    t = en.wind_turbine(turb.turbine_type, turb.hub_height_m)
    ks = np.arange(1.0, 4.0 + 1e-9, 0.1) if inputs.weibull_k is not None else [turb.weibull_k]
    table = en.WindCfTable.build(t, losses_percent=turb.losses_percent, ks=ks)
    return {
        "method": f"windpowerlib power curve of {turb.turbine_type} ({t.nominal_power / 1e6:g} MW, rotor "
                  f"{t.rotor_diameter:g} m; OEDB turbine library shipped with windpowerlib, read offline) under a "
                  f"Weibull distribution of the hub-height speed (k = "
                  f"{'the --weibull-k raster' if inputs.weibull_k is not None else f'{turb.weibull_k:g}'}); "
                  f"losses {turb.losses_percent:g} %",
        "windpowerlib_version": _version("windpowerlib"), "turbine_type": turb.turbine_type,
        "turbine_rating_mw": t.nominal_power / 1e6, "rotor_diameter_m": float(t.rotor_diameter),
        "hub_height_m": turb.hub_height_m,
    }, None, table


def _tilt_offset(tech) -> float:
    lay = getattr(tech, "layout", None)
    return lay.tilt_offset_from_latitude_deg if lay is not None else -5.0


def _version(pkg: str) -> str:
    from importlib.metadata import version

    return version(pkg)


def _grid_layers(paths, grid: Grid, cache: VectorCache, notes: list[str]):
    """(file name, GeoDataFrame) of each --grid-lines layer; a layer without features is
    skipped with a warning (as if not given), since the grid distance is only a criterion."""
    for p in paths:
        try:
            yield Path(p).name, cache.read(Path(p), grid).gdf
        except InputError as exc:
            if "has no features" not in str(exc):
                raise
            warn(IgnoredLayerWarning, f"{exc}; grid_lines: that layer is ignored", logger=__name__, params=("grid_lines",))
            notes.append(f"--grid-lines {Path(p).name}: no features; ignored")


def _zone_specs(profile, inputs, grid, scheme, L, layers, cache, notes, not_checked) -> list[ZoneSpec]:
    z = profile.zones
    out = []
    if z.desert.enabled:
        lut = np.zeros(L, dtype=bool)
        for grp in z.desert.landcover_groups:
            lut[list(scheme.codes_in(grp))] = True
        lut[-1] = False
        layer = None
        if z.desert.polygons and inputs.deserts is not None:
            _one_layer(Path(inputs.deserts), "deserts")
            deserts = require_polygons(cache.read(Path(inputs.deserts), grid).gdf, f"{inputs.deserts} (deserts)",
                                       notes=notes, fix="desert and gobi land is an area: give its polygons", params=("deserts",))
            layers["deserts"] = np.asarray(deserts.geometry.values, dtype=object)
            layer = "deserts"
        out.append(ZoneSpec(ZONE_CODES["desert"], "desert", z.desert.priority, layer, 0.0, lut))
    for kind, path, buf in (("border", inputs.border, z.border.width_m), ("mine", inputs.mines, z.mine.buffer_m)):
        cfg = getattr(z, kind)
        if not cfg.enabled:
            continue
        if path is None:
            option = "--border" if kind == "border" else "--mines"
            notes.append(f"zone '{kind}' is enabled but no {option} layer was given")
            not_checked.append({"rule": f"zone_{kind}", "name_zh": "边境地带" if kind == "border" else "采矿修复区",
                                "option": option, "clause": f"the {kind} zone of interest is not screened"
                                + (" (nor the border-belt Class I forest rule)" if kind == "border" else ""),
                                "effect": "zone_missing"})
            continue
        _one_layer(Path(path), "border" if kind == "border" else "mines")
        gdf = cache.read(Path(path), grid).gdf
        if kind == "mine" and not buf:
            gdf = require_polygons(gdf, f"{path} (mines)", notes=notes, fix=(
                "without zones.mine.buffer_m mine sites must be areas: give their polygons, or set zones.mine.buffer_m"),
                params=("mines",))
        layers[kind] = np.asarray(gdf.geometry.values, dtype=object)
        out.append(ZoneSpec(ZONE_CODES[kind], kind, cfg.priority, kind, float(buf)))
    return out


def _density_lut(profile: SitingProfile, scheme, L: int, notes: list[str]) -> np.ndarray:
    table = load_densities(profile.carbon.density_table)
    resolved = table.resolve(scheme)
    cols = [POOLS.index(p) for p in profile.carbon.pools]
    per_class = resolved.per_class()[:, cols].sum(axis=1)  # Mg C/ha of the pools at stake
    lut = np.zeros(L, dtype=np.float64)
    for code, val in zip(resolved.codes, per_class):
        if code < L - 1:
            lut[code] = 0.0 if np.isnan(val) else val
    if resolved.missing_codes:
        notes.append(f"density table has no value for codes {list(resolved.missing_codes)}: their carbon at stake is 0")
    return lut


def _target(profile: SitingProfile, inputs: ScreenInputs) -> Target:
    targets = load_targets(None if is_zone_table(inputs.targets) else inputs.targets)
    key = profile.target.key
    if key not in targets:
        raise ConfigError(f"{profile.origin}: target.key: no target {key!r} in "
                          f"{inputs.targets or 'seeds/targets.toml'}; known: {', '.join(sorted(targets))}")
    t = targets[key]
    if t.unit not in ("MW", "GW"):
        raise InputError(f"target {key!r} is in {t.unit!r}; a capacity target must be in MW or GW")
    return t


def target_mw(t: Target) -> float:
    """A capacity target in MW."""
    return float(t.value) * (1000.0 if t.unit == "GW" else 1.0)  # GW → MW

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

import numpy as np

from sinkplan.layers.errors import ConfigError, InputError
from sinkplan.layers.grid import Grid
from sinkplan.layers.landcover import LandCover, open_landcover
from sinkplan.layers.vectors import read_vector
from sinkplan.layers.zones import ZoneRasterizer
from sinkplan.seeds.targets import Target, load_targets
from sinkplan.sinks.densities import POOLS, load_densities
from sinkplan.siting.blocks import Rule, ScreenSpec, ZoneSpec
from sinkplan.siting.geometry import edt_strips, row_metric
from sinkplan.siting.inputs import LayerStore, check_dem
from sinkplan.siting.profile import ZONE_CODES, SitingProfile

__all__ = ["Prepared", "ScreenInputs", "VectorCache", "prepare"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ScreenInputs:
    """Input files of a screen (None: not given)."""

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
    targets: Path | None = None

    def files(self) -> list[Path]:
        """Every input file given (for the manifest)."""
        out = [self.landcover, self.dem, self.redline, self.farmland, self.border, self.deserts, self.mines,
               self.zones, self.targets, *self.grid_lines]
        if self.scheme and Path(str(self.scheme)).suffix.lower() in (".csv", ".toml"):
            out.append(Path(self.scheme))
        return [Path(p) for p in out if p is not None]


class VectorCache(dict):
    """Vector layers already read, keyed by (path, layer, CRS): sweeps read each file once."""

    def read(self, path: Path, grid: Grid, *, layer: str | None = None, field: str | None = None):
        key = (str(path), layer, grid.crs.to_wkt(), field)
        if key not in self:
            self[key] = read_vector(path, layer=layer, to_crs=grid.crs, field=field)
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

    def rule(self, name: str) -> Rule:
        return next(r for r in self.rules if r.name == name)


def _lut_size(lc: LandCover) -> int:
    codes = list(lc.scheme.codes) + [c for c in (lc.nodata, lc.scheme.nodata) if c is not None and c >= 0]
    return max(codes) + 2  # the last entry is the bucket for unknown codes


def prepare(inputs: ScreenInputs, profile: SitingProfile, *, workdir: str | os.PathLike, keep_rasters: bool = True,
            cache: VectorCache | None = None) -> Prepared:
    """Validate inputs and build the block specification (no output is written).

    Raises
    ------
    ConfigError
        A required layer (redline, farmland) is missing, or the target key is unknown.
    InputFileError, MissingCRS, FieldError, InputError, SchemeError
        From reading the inputs.
    """
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
    cli = {"redline": inputs.redline, "farmland": inputs.farmland}
    for name, rule in profile.vector_rules().items():
        path = cli.get(name) or rule.path
        if path is None:
            if rule.required:
                raise ConfigError(f"{profile.origin}: exclusions.{name}: no layer given and required = true; pass "
                                  f"--{name} FILE, set exclusions.{name}.path, or set exclusions.{name}.required = false")
            notes.append(f"no {name} layer given: that exclusion is not applied")
            continue
        vl = cache.read(Path(path), grid, layer=rule.layer)
        b = add(name, f"inside {name} ({Path(path).name})" + (f" or within {rule.buffer_m:g} m of it" if rule.buffer_m else ""))
        layers[f"rule:{name}"] = np.asarray(vl.gdf.geometry.values, dtype=object)
        vector_rules.append((f"rule:{name}", b, float(rule.buffer_m)))
    slope_bit = dem_nodata_bit = 0
    dem_same = True
    if inputs.dem is not None:
        dem_same = check_dem(inputs.dem, grid)
        slope_bit = add("slope", f"slope above {profile.technology.max_slope_deg:g}° (Horn, metres)")
        dem_nodata_bit = add("dem_nodata", "no elevation data (slope unknown)")
    else:
        notes.append("no DEM given: slope is neither screened nor scored")
    zones = _zone_specs(profile, inputs, grid, scheme, L, layers, cache, notes)
    outside_bit = 0
    if not profile.zones.other.enabled:
        outside_bit = add("outside_zones", "not in any enabled zone of interest (desert, border belt, mine)")
    admin, admin_names, admin_bit = None, (), None
    if inputs.zones is not None:
        vl = cache.read(Path(inputs.zones), grid, field=inputs.zone_field)
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
    density_lut = _density_lut(profile, scheme, L, notes)
    target = _target(profile, inputs)
    store = LayerStore(Path(workdir) / f"layers-{os.getpid()}-{id(profile)}.pkl", layers) if layers else None
    spec = ScreenSpec(
        grid=grid, landcover=str(inputs.landcover), nodata_codes=nodata_codes, group_lut=group_lut,
        lc_bits_lut=lc_bits_lut, lc_buffers=tuple(lc_buffers), vector_rules=tuple(vector_rules), zones=tuple(zones),
        other_enabled=profile.zones.other.enabled, density_lut=density_lut,
        min_area_m2=profile.technology.min_parcel_area_ha * 1e4,  # ha → m²
        bits_dtype="uint16" if len(rules) <= 16 else "uint32", nodata_bit=nodata_bit, outside_bit=outside_bit,
        dem=None if inputs.dem is None else str(inputs.dem), dem_same_grid=dem_same,
        max_slope_deg=profile.technology.max_slope_deg, slope_bit=slope_bit, dem_nodata_bit=dem_nodata_bit,
        store=store, admin=admin, keep_rasters=keep_rasters, nbits=len(rules), outside_admin_bit=admin_bit,
    )
    if lc_buffers:  # fixed distance-transform strips of the whole grid (block-independent)
        spec = replace(spec, edt_strips=edt_strips(row_metric(grid, 0, grid.height), spec.halo_px))
    return Prepared(profile, inputs, lc, grid, rules, spec, small_bit, grid_features, admin_names, target, notes,
                    grid_layers=grid_layers)


def _grid_layers(paths, grid: Grid, cache: VectorCache, notes: list[str]):
    """(file name, GeoDataFrame) of each --grid-lines layer; a layer without features is
    skipped with a warning (as if not given), since the grid distance is only a criterion."""
    for p in paths:
        try:
            yield Path(p).name, cache.read(Path(p), grid).gdf
        except InputError as exc:
            if "has no features" not in str(exc):
                raise
            logger.warning("%s; --grid-lines: that layer is ignored", exc)
            notes.append(f"--grid-lines {Path(p).name}: no features; ignored")


def _zone_specs(profile, inputs, grid, scheme, L, layers, cache, notes) -> list[ZoneSpec]:
    z = profile.zones
    out = []
    if z.desert.enabled:
        lut = np.zeros(L, dtype=bool)
        for grp in z.desert.landcover_groups:
            lut[list(scheme.codes_in(grp))] = True
        lut[-1] = False
        layer = None
        if z.desert.polygons and inputs.deserts is not None:
            layers["deserts"] = np.asarray(cache.read(Path(inputs.deserts), grid).gdf.geometry.values, dtype=object)
            layer = "deserts"
        out.append(ZoneSpec(ZONE_CODES["desert"], "desert", z.desert.priority, layer, 0.0, lut))
    for kind, path, buf in (("border", inputs.border, z.border.width_m), ("mine", inputs.mines, z.mine.buffer_m)):
        cfg = getattr(z, kind)
        if not cfg.enabled:
            continue
        if path is None:
            notes.append(f"zone '{kind}' is enabled but no --{'border' if kind == 'border' else 'mines'} layer was given")
            continue
        layers[kind] = np.asarray(cache.read(Path(path), grid).gdf.geometry.values, dtype=object)
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
    targets = load_targets(inputs.targets)
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

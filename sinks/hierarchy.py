"""Zone hierarchy: banners (旗县) grouped into leagues (盟市) and a whole-region total.

``--group-by FIELD`` names a field of the zone layer holding each zone's parent (e.g. the
league of each banner). Every table of ``carbon``, ``coverage`` and ``change`` then gets one
row per group and one for the whole region (the zones in the layer, not the pixels outside
every zone) after the zone rows, marked by ``zone_level`` (``zone``, ``group``, ``region``)
and ``zone_group`` (the group a zone belongs to; the group itself on its row).

Group and region rows are computed from the same area and stock arrays as the zone rows,
summed over the zones' ids. Those arrays are quantized to one binary quantum
(:mod:`sinkplan.sinks.stocks`), so a group's areas and stocks equal the sum of its zones'
exactly, and the region's the sum of the groups', whatever the order of summation. Ratios
(coverage, per-hectare figures) are recomputed from the summed numerator and denominator,
never averaged.
"""

from __future__ import annotations

import os
from dataclasses import dataclass

import numpy as np
import pandas as pd

from sinkplan.layers.errors import FieldError, InputError

__all__ = ["REGION_TOTAL", "LEVELS", "ZoneHierarchy", "ReportUnit", "report_units", "zone_hierarchy", "level_columns",
           "resolve_hierarchy", "unit_fractions", "split_summary", "zone_attribute"]

#: Zone label of the whole-region row.
REGION_TOTAL = "(region total)"
#: Values of ``zone_level``.
LEVELS = ("zone", "group", "region")


@dataclass(frozen=True)
class ZoneHierarchy:
    """The group of each zone.

    Attributes
    ----------
    field : str
        The zone-layer field holding the group (``--group-by``).
    group_of : dict
        Zone name → group name.
    groups : tuple of str
        Group names in order of first appearance.
    """

    field: str
    group_of: dict[str, str]
    groups: tuple[str, ...]

    def record(self) -> dict:
        """summary.json's ``hierarchy`` record."""
        return {"group_by": self.field,
                "group_members": {g: [z for z, gg in self.group_of.items() if gg == g] for g in self.groups},
                "region_total": REGION_TOTAL,
                "exactness": "group rows are sums over their zones' quantized areas and stocks, exact to the last bit; "
                             "the region row is the sum of the groups"}


def zone_hierarchy(zones: str | os.PathLike, *, zone_field: str | None, group_by: str, names: tuple[str, ...],
                   layer: str | None = None) -> ZoneHierarchy:
    """Read the group of every zone from the zone layer.

    Parameters
    ----------
    zones : path
        The zone layer (the one rasterized as strata).
    zone_field : str or None
        Field naming the zones (None: zones are the features numbered "1", "2", ...).
    group_by : str
        Field holding each zone's group.
    names : tuple of str
        Zone names by id (``names[0]`` is the outside label, ignored).
    layer : str, optional
        Layer of a multi-layer file.

    Raises
    ------
    FieldError
        ``group_by`` is not a field, or is empty for some features.
    InputError
        The features of one zone carry different groups.
    """
    from sinkplan.layers.vectors import read_vector

    vl = read_vector(zones, layer=layer, field=zone_field, layer_param="zone_layer", what="zones")
    gdf = vl.gdf
    if group_by not in gdf.columns or group_by == gdf.geometry.name:
        cols = ", ".join(str(c) for c in gdf.columns if c != gdf.geometry.name)
        raise FieldError(f"group_by {group_by!r}: zone layer {zones} has no such field; available fields: {cols}",
                         params=("group_by",))
    # a blank group ('' or spaces) is as missing as a null one: its total would have no label
    blank = gdf[group_by].isna().to_numpy() | np.array([str(v).strip() == "" for v in gdf[group_by]], dtype=bool)
    if (n_null := int(blank.sum())) > 0:
        raise FieldError(f"group_by {group_by!r}: zone layer {zones} has {n_null} feature(s) without a group; fill them in",
                         params=("group_by",))
    zone_names = [str(v) for v in gdf[zone_field]] if zone_field else [str(i) for i in range(1, len(gdf) + 1)]
    group_of: dict[str, str] = {}
    for zone, group in zip(zone_names, (str(v) for v in gdf[group_by])):
        if group_of.setdefault(zone, group) != group:
            raise InputError(f"group_by {group_by!r}: zone {zone!r} of {zones} belongs to two groups, "
                             f"{group_of[zone]!r} and {group!r}; a zone must lie in one group", params=("group_by",))
    missing = [n for n in names[1:] if n not in group_of]
    if missing:  # pragma: no cover - the same layer was rasterized
        raise InputError(f"group_by: zones {missing} are not in {zones}", params=("group_by",))
    groups = tuple(dict.fromkeys(group_of[n] for n in names[1:]))
    return ZoneHierarchy(group_by, {n: group_of[n] for n in names[1:]}, groups)


@dataclass(frozen=True)
class ReportUnit:
    """One row of a table: a zone, a group of zones or the whole region.

    ``ids`` are zone ids (0: the pixels outside every zone) whose arrays the row sums.
    """

    name: str
    ids: tuple[int, ...]
    level: str
    group: str | None


def report_units(names: tuple[str, ...], zone_ids: list[int], hierarchy: ZoneHierarchy | None) -> list[ReportUnit]:
    """The rows of a table: one per zone id listed (in that order), then with a hierarchy one
    per group and one for the region (zones 1..n, not the outside).

    Examples
    --------
    >>> h = ZoneHierarchy("league", {"A": "L1", "B": "L2", "C": "L1"}, ("L1", "L2"))
    >>> [(u.name, u.ids, u.level) for u in report_units(("(outside zones)", "A", "B", "C"), [1, 2, 3], h)]
    [('A', (1,), 'zone'), ('B', (2,), 'zone'), ('C', (3,), 'zone'), ('L1', (1, 3), 'group'), ('L2', (2,), 'group'), ('(region total)', (1, 2, 3), 'region')]
    """
    units = [ReportUnit(names[z], (z,), "zone", None if hierarchy is None or z == 0 else hierarchy.group_of[names[z]])
             for z in zone_ids]
    if hierarchy is None:
        return units
    for g in hierarchy.groups:
        ids = tuple(z for z in range(1, len(names)) if hierarchy.group_of[names[z]] == g)
        units.append(ReportUnit(g, ids, "group", g))
    units.append(ReportUnit(REGION_TOTAL, tuple(range(1, len(names))), "region", None))
    return units


def level_columns(df: pd.DataFrame, units: list[ReportUnit], *, repeat: int = 1) -> pd.DataFrame:
    """``df`` with ``zone_level`` and ``zone_group`` inserted after ``zone`` (rows: ``repeat`` per unit, in order)."""
    out = df.copy()
    pos = out.columns.get_loc("zone") + 1 if "zone" in out.columns else 0
    out.insert(pos, "zone_level", [u.level for u in units for _ in range(repeat)])
    out.insert(pos + 1, "zone_group", [u.group for u in units for _ in range(repeat)])
    return out


def resolve_hierarchy(group_by: str | ZoneHierarchy | None, strata, *, zones=None, zone_field: str | None = None,
                      zone_layer: str | None = None) -> ZoneHierarchy | None:
    """A hierarchy from ``group_by``: given, read from the zone layer (``zones`` or the strata's
    source, with ``zone_field``), or None.

    Raises
    ------
    InputError
        ``group_by`` without a zone layer.
    """
    if group_by is None or isinstance(group_by, ZoneHierarchy):
        return group_by
    source = zones if zones is not None else getattr(strata, "zone_source", None)
    if source is None or not strata.has_zones:
        raise InputError(f"group_by {group_by!r} needs zones: the groups are a field of the zone layer",
                         params=("group_by", "zones"))
    field = zone_field if zone_field is not None else getattr(strata, "zone_field", None)
    return zone_hierarchy(source, zone_field=field, group_by=group_by, names=strata.names, layer=zone_layer)


def unit_fractions(units: list[ReportUnit], mapped_ha, polygon_ha) -> list[float | None]:
    """Mapped share of each unit's polygons: Σ mapped ÷ Σ polygon area over its zones (None outside / without polygons)."""
    out: list[float | None] = []
    for u in units:
        ids = [z for z in u.ids if z > 0]
        if polygon_ha is None or not ids:
            out.append(None)
            continue
        poly = float(sum(polygon_ha[z - 1] for z in ids))
        out.append(float(sum(mapped_ha[z] for z in ids)) / poly if poly > 0 else None)
    return out


def split_summary(records: list[dict], units: list[ReportUnit], summary: dict, hierarchy: ZoneHierarchy | None, *,
                  key: str = "zones", repeat: int = 1, region_list: bool = False) -> None:
    """Put zone rows under ``summary[key]`` and, with a hierarchy, group rows under ``group_totals``
    and the region row under ``region_total`` (a list of rows with ``region_list``, e.g. one per year;
    ``repeat`` rows per unit when ``units`` lists each unit once)."""
    levels = [u.level for u in units for _ in range(repeat)]
    records = [{k: (None if isinstance(v, float) and v != v else v) for k, v in r.items()} for r in records]  # NaN → null
    summary[key] = [r for r, lv in zip(records, levels) if lv == "zone"]
    if hierarchy is not None:
        summary["hierarchy"] = hierarchy.record()
        summary["group_totals"] = [r for r, lv in zip(records, levels) if lv == "group"]
        region = [r for r, lv in zip(records, levels) if lv == "region"]
        # a run with one year has no trend rows at all: no region row either
        summary["region_total"] = region if region_list else (region[0] if region else None)


def zone_attribute(zones: str | os.PathLike, *, zone_field: str | None, field: str, names: tuple[str, ...],
                   layer: str | None = None, numeric: bool = False, what: str = "field") -> list:
    """The value of ``field`` for each zone id (index 0, outside every zone: None).

    Features of one zone must agree on the value.

    Raises
    ------
    FieldError
        ``field`` missing; with ``numeric`` a value that is not a number.
    InputError
        The features of one zone carry different values.
    """
    from sinkplan.layers.vectors import read_vector

    gdf = read_vector(zones, layer=layer, field=zone_field, layer_param="zone_layer", what="zones").gdf
    if field not in gdf.columns or field == gdf.geometry.name:
        cols = ", ".join(str(c) for c in gdf.columns if c != gdf.geometry.name)
        raise FieldError(f"{what} {field!r}: zone layer {zones} has no such field; available fields: {cols}",
                         params=(what,) if what.isidentifier() else ())
    zone_names = [str(v) for v in gdf[zone_field]] if zone_field else [str(i) for i in range(1, len(gdf) + 1)]
    found: dict[str, object] = {}
    for zone, raw in zip(zone_names, gdf[field]):
        v = None if raw is None or (isinstance(raw, float) and raw != raw) else raw
        if numeric and v is not None:
            try:
                v = float(v)
            except (TypeError, ValueError):
                raise FieldError(f"{what} {field!r}: zone {zone!r} of {zones} has {raw!r}, not a number",
                                 params=(what,) if what.isidentifier() else ()) from None
        elif v is not None:
            v = str(v)
        if zone in found and found[zone] != v:
            raise InputError(f"{what} {field!r}: zone {zone!r} of {zones} has two values, {found[zone]!r} and {v!r}")
        found[zone] = v
    return [None, *(found.get(n) for n in names[1:])]

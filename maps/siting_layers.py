"""Layers of a siting result folder: eligible land, exclusion reasons, parcels, bases, grid."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np

from sinkplan.layers import resultspec as rs
from sinkplan.maps import colors as col
from sinkplan.maps.builder import MapBuilder, fmt_value, read_vector_lonlat
from sinkplan.maps.folders import reading_result_file
from sinkplan.maps.i18n import column_label, label
from sinkplan.maps.model import Legend

__all__ = ["siting_layers", "exclusion_legend", "reason_label", "MAX_PARCELS"]

logger = logging.getLogger(__name__)

#: Parcels drawn at most (the best-ranked); the rest stay in parcels.gpkg / parcels.csv.
MAX_PARCELS = 5000

_ZONE_COLORS = col.ZONE_TYPE_COLORS
_EXCL_COLORS = ["#e41a1c", "#377eb8", "#4daf4a", "#984ea3", "#ff7f00", "#a65628", "#f781bf", "#999999",
                "#66c2a5", "#fc8d62", "#8da0cb", "#e78ac3", "#a6d854", "#ffd92f", "#e5c494", "#b3b3b3"]


def exclusion_legend(summary: dict[str, Any], tags: dict[str, str], lang: str) -> dict[int, str]:
    """{bit value: reason} of ``exclusions.tif``: the summary's ``exclusion_bits`` (the one shape
    the site writer gives, ``[{"bit": k, "value": 2**k, "rule", "description", "area_ha"}]``,
    :data:`sinkplan.layers.resultspec.EXCLUSION_FIELDS`), else the raster's own tags
    ``bit_<k>=rule: description``.

    Examples
    --------
    >>> exclusion_legend({"exclusion_bits": [{"bit": 0, "value": 1, "rule": "redline", "description": "inside redline"},
    ...                                      {"bit": 2, "value": 4, "rule": "slope", "description": "slope > 3°"}]}, {}, "zh")
    {1: '生态保护红线', 4: '坡度过大'}
    >>> exclusion_legend({}, {"bit_1": "farmland: inside farmland"}, "en")
    {2: 'inside farmland'}
    """
    out: dict[int, str] = {}
    raw = summary.get("exclusion_bits")
    for item in raw if isinstance(raw, list) else []:
        if isinstance(item, dict) and isinstance(item.get("value"), int) and not isinstance(item.get("value"), bool):
            out[int(item["value"])] = reason_label(str(item.get("rule", "")), str(item.get("description", "")), lang)
    if not out:
        for k, v in tags.items():
            kk = k.lower()
            if kk.startswith("bit_") and kk[4:].isdigit():
                rule, _, desc = v.partition(": ")
                out[1 << int(kk[4:])] = reason_label(rule, desc, lang)
    return dict(sorted(out.items()))


_RULES_ZH = {
    "nodata": "无土地覆盖数据", "near_built": "邻近建设用地", "near_water": "邻近水体", "redline": "生态保护红线",
    "farmland": "永久基本农田", "slope": "坡度过大", "dem_nodata": "无高程数据", "outside_zones": "不在重点区域内",
    "small_parcel": "地块面积过小", "grassland": "基本草原", "forest": "林地",
    "installed": "已建及已批项目用地", "north_slope": "北向坡度过大", "shrub_rule": "灌木林地（不符合林光互补条件）",
    "border_class1": "边境地区Ⅰ级保护林地", "outside_admin": "行政区范围外", "claimed_by_pv": "已划归光伏",
    "basic_grassland": "基本草原", "class1_forest": "Ⅰ级保护林地", "state_forest": "国有林场和重点国有林区",
    "natural_forest": "天然林地", "sandy_closure": "国家沙化土地封禁保护区", "heritage_lines": "历史文化保护线",
    "protected_areas": "自然保护地", "urban_boundary": "城镇开发边界", "bird_corridors": "候鸟迁徙通道",
    "grid_lines": "输电线路",
}
_GROUPS_ZH = {"forest": "林地", "shrubland": "灌木林", "grassland": "草地", "cropland": "耕地", "wetland": "湿地",
              "water": "水体", "built": "建设用地", "barren": "未利用地", "snow_ice": "冰雪", "nodata": "无数据"}


def reason_label(rule: str, description: str, lang: str) -> str:
    """A reader's name of an exclusion rule: Chinese names of known rules, else the description.

    Examples
    --------
    >>> reason_label("landcover_forest", "land cover is forest (excluded group)", "zh")
    '土地覆盖：林地'
    >>> reason_label("near_water", "within 400 m of water land cover", "en")
    'within 400 m of water land cover'
    """
    if lang == "zh":
        if rule.startswith("landcover_") and rule[10:] in _GROUPS_ZH:
            return f"土地覆盖：{_GROUPS_ZH[rule[10:]]}"
        if rule in _RULES_ZH:
            return _RULES_ZH[rule]
        from sinkplan.layers.resultspec import RULE_NAMES

        return RULE_NAMES[rule][0] if rule in RULE_NAMES else (rule or description)
    if description and description != rule:
        return description
    from sinkplan.layers.resultspec import RULE_NAMES  # a bare rule key (not_checked): its English name

    return RULE_NAMES.get(rule, (rule, rule))[1]


def siting_layers(b: MapBuilder, folder: Path, summary: dict[str, Any], manifest: dict[str, Any] | None = None) -> None:
    """Eligible land, one toggle per exclusion reason, parcels by score, bases, belt, grid."""
    lang = b.lang
    unchecked = [n for n in summary.get("not_checked") or [] if isinstance(n, dict)]
    if unchecked:  # rule sets the run could not check: said on the map, as in the tables
        names = ("、" if lang == "zh" else ", ").join(
            str(n.get("name_zh") or reason_label(str(n.get("rule")), "", lang)) if lang == "zh"
            else reason_label(str(n.get("rule")), "", lang) for n in unchecked)
        bound = [n for n in unchecked if n.get("effect") == "upper_bound"]
        b.spec.notes.append(("未核查：" if lang == "zh" else "Not checked: ") + names
                            + (("（装机为上限）" if lang == "zh" else " (capacity is an upper bound)") if bound else ""))
    eligible = folder / rs.ELIGIBLE.name
    if eligible.exists():
        import rasterio

        with reading_result_file(eligible), rasterio.open(eligible) as src:
            try:  # the raster's own colour table: the legend cannot differ from the file
                cmap = src.colormap(1)
            except ValueError:
                cmap = {}
        labels = _eligible_labels(summary, lang)
        colors = {code: col.hex_color(cmap[code]) if code in cmap else _ZONE_COLORS.get(key, "")
                  for code, key in _eligible_keys(summary).items()}
        b.add_categorical(eligible, name=label("eligible", lang), labels=labels,
                          colors={k: v for k, v in colors.items() if v}, skip=(0,), thematic=True)
    else:
        logger.info("%s not found: eligible-land overlay omitted", eligible)
    excl = folder / rs.EXCLUSIONS.name
    got = b.read_raster(excl, resampling="mode")
    if got is not None:
        values, valid, bounds, meta = got
        bits = exclusion_legend(summary, meta["tags"], lang)
        present = int(np.bitwise_or.reduce(values[valid].astype(np.int64).ravel())) if valid.any() else 0
        if not bits:  # unknown legend: one toggle per bit found
            bits = {1 << k: f"{label('exclusion', lang)} bit {k}" for k in range(63) if present >> k & 1}
        sep = "：" if lang == "zh" else ": "
        masks = [(f"{label('exclusion', lang)}{sep}{name}", (values.astype(np.int64) & bit) != 0,
                  _EXCL_COLORS[i % len(_EXCL_COLORS)]) for i, (bit, name) in enumerate(bits.items())]
        b.add_mask_layers(values, valid, bounds, masks, visible=False)
    _parcels(b, folder, lang)
    _simple(b, folder / rs.BASES_GPKG.name, name=label("bases", lang), key=f"{folder.name}:bases", lang=lang,
            style={"color": "#2c7bb6", "weight": 2, "fill": False, "dashArray": "4 3"}, color="#2c7bb6",
            heading=("base_id", label("base", lang)))
    # the belt is an outline in its own colour: the border-area fill of eligible land stays what the legend says
    _simple(b, folder / rs.BORDER_BELT.name, name=label("border_belt", lang), key=f"{folder.name}:belt", lang=lang,
            style={"color": col.BORDER_BELT_COLOR, "weight": 1.5, "fill": False, "dashArray": "8 4"},
            color=col.BORDER_BELT_COLOR)
    _simple(b, folder / rs.GRID_LINES.name, name=label("grid_lines", lang), key=f"{folder.name}:lines", lang=lang,
            style={"color": "#333333", "weight": 1.5}, color="#333333")
    _simple(b, folder / rs.SUBSTATIONS.name, name=label("substations", lang), key=f"{folder.name}:subs", lang=lang,
            style={"color": "#000000", "fillColor": "#ffff33", "radius": 4, "weight": 1, "fillOpacity": 1}, color="#ffff33")


def _eligible_keys(summary: dict[str, Any]) -> dict[int, str]:
    """{code: zone type} of ``eligible.tif`` from the summary's ``eligible_codes`` (``{"1": "desert", ...}``,
    the one key the site writer gives)."""
    raw = summary.get("eligible_codes")
    return {int(k): str(v) for k, v in raw.items() if str(k).isdigit()} if isinstance(raw, dict) else {}


def _eligible_labels(summary, lang) -> dict[int, str]:
    out = {}
    for code, key in _eligible_keys(summary).items():
        try:
            out[code] = label(key, lang)
        except KeyError:
            out[code] = key
    return out


def _parcels(b: MapBuilder, folder: Path, lang: str) -> None:
    gdf = read_vector_lonlat(folder / rs.PARCELS_GPKG.name)
    if gdf is None or len(gdf) == 0:
        return
    total = len(gdf)
    if "rank" in gdf.columns:
        gdf = gdf.sort_values("rank", kind="stable")
    elif "score" in gdf.columns:
        gdf = gdf.sort_values("score", ascending=False, kind="stable")
    note = ""
    if total > MAX_PARCELS:
        gdf = gdf.iloc[:MAX_PARCELS]
        note = label("shown_top", lang, n=f"{MAX_PARCELS:,}", total=f"{total:,}")
        b.spec.notes.append(note)
        logger.info("parcels: %s", note)
    score = gdf["score"].to_numpy(dtype=float) if "score" in gdf.columns else np.full(len(gdf), np.nan)
    fin = score[np.isfinite(score)]
    lo, hi = (float(fin.min()), float(fin.max())) if fin.size else (0.0, 1.0)
    colors = col.value_colors(score, vmin=lo, vmax=hi, cmap="viridis")
    fields = [c for c in gdf.columns if c != gdf.geometry.name]
    feats = []
    for rec, c in zip(gdf[fields].to_dict("records"), colors):
        head = f"{label('parcel', lang)} {fmt_value(rec.get('parcel_id'), 'parcel_id')}" if "parcel_id" in rec else name_of(rec)
        p = [["", head]] + [[column_label(k, lang), _zone_type_text(k, v, lang)] for k, v in rec.items()]
        tip = " · ".join(x for x in (head, f"{label('rank_short', lang)} {fmt_value(rec.get('rank'), 'rank')}" if "rank" in rec else "",
                                     f"{fmt_value(rec.get('capacity_mw'), 'capacity_mw')} MW" if "capacity_mw" in rec else "") if x)
        feats.append({"c": c, "t": tip, "p": p})
    name = label("parcels", lang)
    legend = Legend("continuous", name, units=column_label("score", lang),
                    colors=[col.hex_color(x) for x in col.ramp("viridis", 16)], vmin=lo, vmax=hi, note=note)
    # outlines coloured by score over a faint fill (clickable): the zone-type colours below stay visible
    b.add_vector(name=name, key=f"{folder.name}:parcels", gdf=gdf, features=feats,
                 style={"color": "#222222", "weight": 2, "fillOpacity": 0.0, "line_by_feature": True}, legend=legend)


def name_of(rec: dict) -> str:
    return next((str(v) for v in rec.values() if isinstance(v, str)), "")


def _zone_name(value: str, lang: str) -> str:
    try:
        return label(value, lang)
    except KeyError:
        return value


def _zone_type_text(key: str, value: Any, lang: str) -> str:
    """Popup text of a siting value: zone types translated (``zone_type`` of a parcel, the
    comma list ``zone_types`` of a base); numbers as :func:`sinkplan.maps.builder.fmt_value`."""
    if key == "zone_type" and isinstance(value, str):
        return _zone_name(value, lang)
    if key == "zone_types" and isinstance(value, str):
        return ("、" if lang == "zh" else ", ").join(_zone_name(z, lang) for z in value.split(",") if z)
    if key == "not_checked" and isinstance(value, str):  # comma list of rule keys
        return ("、" if lang == "zh" else ", ").join(reason_label(r, r, lang) for r in value.split(",") if r)
    return fmt_value(value, key, lang)


def _simple(b: MapBuilder, path: Path, *, name: str, key: str, lang: str, style: dict, color: str,
            heading: tuple[str, str] | None = None) -> None:
    gdf = read_vector_lonlat(path)
    if gdf is None or len(gdf) == 0:
        return
    # the source file name is the layer's provenance (manifest, GeoPackage), not a feature's figure
    fields = [c for c in gdf.columns if c not in (gdf.geometry.name, "source_file")][:20]
    feats = []
    for rec in gdf[fields].to_dict("records"):
        if heading and heading[0] in rec:  # e.g. 候选基地 2, not the first field's raw value
            first = f"{heading[1]} {fmt_value(rec[heading[0]], heading[0])}"
            p = [["", first]] + [[column_label(k, lang), _zone_type_text(k, v, lang)] for k, v in rec.items()
                                 if k != heading[0]]
        else:
            p = [[column_label(k, lang), _zone_type_text(k, v, lang)] for k, v in rec.items()]
            first = next((str(v) for k, v in rec.items() if isinstance(v, str) and k in ("name", "name_zh", "name_en")),
                         name)
        feats.append({"t": first, "p": p})
    b.add_vector(name=name, key=key, gdf=gdf, features=feats, style=style,
                 legend=Legend("categorical", name, items=[(color, name)]))

"""Layers of the sinks result folders: carbon, coverage, change."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sinkplan.layers import resultspec as rs
from sinkplan.maps import colors as col
from sinkplan.maps.builder import MapBuilder, fmt_value, read_csv, read_vector_lonlat
from sinkplan.maps.folders import reading_result_file
from sinkplan.maps.i18n import column_label, label
from sinkplan.maps.model import Legend

__all__ = ["carbon_layers", "coverage_layers", "change_layers", "popup_rows", "coverage_target"]

logger = logging.getLogger(__name__)

MAX_CLASS_ROWS = 12  # class lines per zone popup


def popup_rows(record: dict[str, Any], lang: str, *, skip: tuple[str, ...] = ()) -> list[list[str]]:
    """[[label, text], ...] for every field of a table row (text only, escaped by the page)."""
    return [[column_label(k, lang), fmt_value(v, k, lang)] for k, v in record.items() if k not in skip]


def coverage_target(summary: dict[str, Any], folder: str | Path | None = None) -> float | None:
    """The coverage target the run compared against: its summary's ``target``, else the
    folder's ``targets.json``; None when the folder records none (never the packaged targets:
    a map shows what the run did)."""
    from sinkplan.maps.folders import folder_targets

    t = summary.get("target")
    if isinstance(t, dict):
        t = t.get("value")
    if isinstance(t, (int, float)) and not isinstance(t, bool) and 0 < t <= 1:
        return float(t)
    rec = folder_targets(folder, summary).get("forest_coverage", {}) if folder is not None else {}
    v = rec.get("value")
    return float(v) if isinstance(v, (int, float)) and 0 < v <= 1 else None


def _zone_key(folder: Path) -> str:
    return f"{folder.name}:zones"


def _class_name_column(df: pd.DataFrame, lang: str) -> str | None:
    for c in (f"name_{lang}", "class_name", "name", "name_en", "name_zh", "group"):
        if c in df.columns:
            return c
    return None


def carbon_layers(b: MapBuilder, folder: Path, summary: dict[str, Any], manifest: dict[str, Any] | None = None) -> None:
    """Land cover, carbon density, zone choropleth with every figure, redline outline."""
    lang = b.lang
    preview = folder / rs.LANDCOVER_PREVIEW.name
    if preview.exists():
        labels, colors = _scheme_labels(folder / rs.SCHEME_CSV.name, lang)
        b.add_categorical(preview, name=label("landcover", lang), labels=labels, colors=colors, visible=False,
                          skip=(0,) if 0 not in labels else ())
    else:
        logger.info("%s not found: land-cover overlay omitted", preview)
    b.add_continuous(folder / rs.CARBON_DENSITY.name, name=label("carbon_density", lang), units=label("unit_mgc_per_ha", lang),
                     cmap="YlGn", vmin=0.0)
    zones = read_vector_lonlat(folder / rs.CARBON_ZONES.name)
    table = read_csv(folder / rs.STOCKS_BY_ZONE.name)
    classes = read_csv(folder / rs.STOCKS_BY_CLASS.name)
    if zones is not None:
        _carbon_zones(b, folder, zones, table, classes)
    red = read_vector_lonlat(folder / rs.REDLINE_GPKG.name)
    if red is not None:
        feats = [{"t": label("redline", lang), "p": _redline_rows(summary, lang)} for _ in range(len(red))]
        b.add_vector(name=label("redline", lang), key=f"{folder.name}:redline", gdf=red, features=feats,
                     style={"color": "#d7191c", "weight": 2, "fill": False, "dashArray": "6 4"},
                     legend=Legend("categorical", label("redline", lang), items=[("#d7191c", label("redline", lang))]))


def _heading(shown: str, zone: str, lang: str) -> list[list[str]]:
    """Popup's first rows: the zone's name in the map's language as heading, the zone key beside it
    when they differ (an English map of zones named in Chinese)."""
    rows = [[column_label("zone", lang), shown]]
    if zone and zone != shown:
        rows.append([column_label("zone", lang), zone])
    return rows


def _redline_rows(summary: dict[str, Any], lang: str) -> list[list[str]]:
    red = summary.get("redline")
    if not isinstance(red, dict):
        return []
    return [[column_label(k, lang), fmt_value(v, k, lang)] for k, v in red.items()]


def _scheme_labels(path: Path, lang: str) -> tuple[dict[int, str], dict[int, str]]:
    if not path.exists():
        logger.info("%s not found: land-cover legend shows codes", path)
        return {}, {}
    from sinkplan.layers.schemes import ClassScheme

    scheme = ClassScheme.from_csv(path)
    labels = {c.code: (c.name_zh if lang == "zh" else c.name_en) or c.name_en for c in scheme.classes}
    colors = {c.code: c.color for c in scheme.classes if col.is_hex_color(c.color)}
    return labels, colors


def _outline(b: MapBuilder, folder: Path, zones, feats: list[dict], names: list[str]) -> None:
    """The zones as outlines with their names written on the map, on top and always on, with the
    same tooltips and popups as the zone layers below (which one thematic layer colours)."""
    outline = [{"t": f.get("t"), "p": f.get("p")} for f in feats]
    b.add_vector(name=label("zone_outlines", b.lang), key=_zone_key(folder), gdf=zones, features=outline,
                 style={"color": "#333333", "weight": 1.2, "fill": True, "fillOpacity": 0.0}, labels=names)


def _zone_field(gdf) -> str | None:
    if "zone" in gdf.columns:
        return "zone"
    logger.warning("zones.gpkg has no field 'zone' (fields: %s): zones drawn without figures", list(gdf.columns))
    return None


def _carbon_zones(b: MapBuilder, folder: Path, zones, table: pd.DataFrame | None, classes: pd.DataFrame | None) -> None:
    lang = b.lang
    field = _zone_field(zones)
    names = zones[field].astype(str).tolist() if field else [""] * len(zones)
    rows: dict[str, dict] = {}
    if table is not None and "zone" in table.columns:
        rows = {str(r["zone"]): r for r in table.to_dict("records")}
    by_class: dict[str, list[list[str]]] = {}
    if classes is not None and "zone" in classes.columns:
        name_col = _class_name_column(classes, lang)
        for r in classes.to_dict("records"):
            line = by_class.setdefault(str(r["zone"]), [])
            if len(line) < MAX_CLASS_ROWS and float(r.get("area_ha", 0) or 0) > 0:
                text = f"{fmt_value(r.get('area_ha'), 'area_ha')} {label('unit_ha', lang)}"
                if "stock_mgc" in r:
                    text += f" · {fmt_value(r.get('stock_mgc'), 'stock_mgc')} Mg C"
                line.append([str(r.get(name_col, r.get("code", ""))), text])
    dens = []
    for n in names:
        r = rows.get(n)
        if r and float(r.get("area_ha") or 0) > 0:
            dens.append(float(r.get("stock_mgc", np.nan)) / float(r["area_ha"]))  # Mg C / ha
        else:
            dens.append(np.nan)
    d = np.asarray(dens, dtype=float)
    fin = d[np.isfinite(d)]
    lo, hi = (float(fin.min()), float(fin.max())) if fin.size else (0.0, 1.0)
    colors = col.value_colors(d, vmin=lo, vmax=hi, cmap="YlGn")
    feats = []
    shown = b.zone_names(zones)
    per_ha = label("unit_mgc_per_ha", lang)
    for n, disp, dv, c in zip(names, shown, d, colors):
        r = rows.get(n)
        p = _heading(disp, n, lang)
        if r:
            p += popup_rows(r, lang, skip=("zone", "density_mgc_per_ha"))
            p.append([column_label("density_mgc_per_ha", lang), fmt_value(dv, "density_mgc_per_ha")])
        p += by_class.get(n, [])
        tip = f"{disp}: {fmt_value(dv, 'density_mgc_per_ha')} {per_ha}" if np.isfinite(dv) else disp
        feats.append({"c": c if np.isfinite(dv) else None, "t": tip, "p": p})
    name = label("zones_stock", lang)
    legend = Legend("continuous", name, units=per_ha, colors=[col.hex_color(x) for x in col.ramp("YlGn", 16)], vmin=lo, vmax=hi)
    b.add_vector(name=name, key=_zone_key(folder), gdf=zones, features=feats,
                 style={"color": "#555555", "weight": 1, "fillOpacity": 0.55, "fillColor": "#bbbbbb"}, legend=legend,
                 thematic=True)
    _outline(b, folder, zones, feats, shown)


def coverage_layers(b: MapBuilder, folder: Path, summary: dict[str, Any], manifest: dict[str, Any] | None = None) -> None:
    """Per year: zones coloured by coverage minus the target (latest year shown, others toggle)."""
    lang = b.lang
    zones = read_vector_lonlat(folder / rs.COVERAGE_ZONES.name)
    records = [r for r in summary.get("zones", []) if isinstance(r, dict) and "zone" in r]
    if zones is None or not records:
        logger.info("%s: no zones.gpkg or summary zones: coverage layer omitted", folder)
        return
    target = coverage_target(summary, folder)
    field = _zone_field(zones)
    names = zones[field].astype(str).tolist() if field else [""] * len(zones)
    trend = {str(t["zone"]): t for t in summary.get("trend_by_zone", []) if isinstance(t, dict) and "zone" in t}
    years = sorted({r.get("year") for r in records}, key=lambda y: (y is None, str(y)))
    edges = col.COVERAGE_BINS_PP
    ramp = col.ramp("RdYlGn", len(edges) + 1)
    bins = [col.hex_color(c) for c in ramp]
    pp = label("pp", lang)
    items = [(bins[0], f"< {edges[0]:+g} {pp}")]
    items += [(bins[i + 1], f"{edges[i]:+g} … {edges[i + 1]:+g} {pp}") for i in range(len(edges) - 1)]
    items += [(bins[-1], f"≥ {edges[-1]:+g} {pp}"), ("#bbbbbb", label("no_data", lang))]
    shown = b.zone_names(zones)
    for k, year in enumerate(years):
        by_zone = {str(r["zone"]): r for r in records if r.get("year") == year}
        feats = []
        for n, disp in zip(names, shown):
            r = by_zone.get(n)
            cov = r.get("coverage") if r else None
            if isinstance(cov, (int, float)) and np.isfinite(cov) and target is None:
                c, tip = "#bbbbbb", f"{disp} {year}: {cov * 100:.2f} %"
            elif isinstance(cov, (int, float)) and np.isfinite(cov):
                diff_pp = (cov - target) * 100.0  # fraction → percentage points
                c = bins[int(np.searchsorted(edges, diff_pp, side="right"))]
                tip = f"{disp} {year}: {cov * 100:.2f} % ({diff_pp:+.2f} {pp})"
            else:
                c, tip = "#bbbbbb", f"{disp} {year}"
            p = _heading(disp, n, lang) + (popup_rows(r, lang, skip=("zone",)) if r else [])
            p.append([label("target", lang), f"{target * 100:.1f} %" if target is not None else label("no_data", lang)])
            t = trend.get(n)
            if t:
                p += popup_rows({k: v for k, v in t.items() if k not in ("zone", "first_year", "last_year")}, lang)
            feats.append({"c": c, "t": tip, "p": p})
        name = f"{label('coverage', lang)} {year}"
        legend = Legend("categorical", f"{label('coverage_vs_target', lang)} "
                        f"({f'{target * 100:.1f} %' if target is not None else label('no_data', lang)})", items=items)
        b.add_vector(name=name, key=_zone_key(folder), gdf=zones, features=feats,
                     style={"color": "#444444", "weight": 1, "fillOpacity": 0.6}, legend=legend,
                     visible=k == len(years) - 1, thematic=True)
        if k == len(years) - 1:
            latest = feats
    if years:
        _outline(b, folder, zones, latest, shown)


def change_layers(b: MapBuilder, folder: Path, summary: dict[str, Any], manifest: dict[str, Any] | None = None) -> None:
    """Change rasters (carbon change, transitions) and, if given, zones with their change figures."""
    lang = b.lang
    found = False
    for fs in (rs.CARBON_CHANGE, rs.TRANSITIONS_TIF):
        path = folder / fs.name
        if not path.exists():
            continue
        found = True
        import rasterio

        with reading_result_file(path), rasterio.open(path) as src:
            is_float = np.issubdtype(np.dtype(src.dtypes[0]), np.floating)
            tags = src.tags()
            units = (src.units[0] if src.units else None) or tags.get("units", "")
        years = _years(summary)
        restoration = (folder / rs.PROJECTS_GPKG.name).exists()  # the projects are the map; the rasters stay in the list
        if is_float:
            title = f"{label('carbon_change', lang)}{years}"
            b.add_continuous(path, name=title, units=_unit(units or "Mg C/ha", lang), cmap="RdYlGn", symmetric=True,
                             visible=not restoration)
        elif "code_before * 100 + code_after" in tags.get("encoding", ""):
            labels, colors, same = _transition_labels(folder / rs.SCHEME_CSV.name, lang)
            b.add_categorical(path, name=f"{label('transitions', lang)}{years}", labels=labels, colors=colors,
                              skip=(0, *same), visible=False, max_legend=15)
        else:
            b.add_categorical(path, name=label("change", lang), labels=_code_labels(tags, lang), skip=(0,))
    if not found and not (folder / rs.PROJECTS_GPKG.name).exists():
        logger.info("%s: no change.tif, carbon_change.tif or transitions.tif: change overlay omitted", folder)
    if (folder / rs.PROJECTS_GPKG.name).exists():
        _restoration_projects(b, folder)
        return
    zones = read_vector_lonlat(folder / rs.CHANGE_ZONES.name)
    records = [r for r in summary.get("zones", []) if isinstance(r, dict) and "zone" in r]
    if zones is not None:
        field = _zone_field(zones)
        names = zones[field].astype(str).tolist() if field else [""] * len(zones)
        by_zone = {str(r["zone"]): _flat(r) for r in records}
        # the default figure: sequestration (transition periods); older folders have net_change_mgc_per_ha
        per_ha = np.array([_num(_first(by_zone.get(n, {}), "sequestration_mgc_per_ha", "equilibrium_change_mgc_per_ha",
                                       "net_change_mgc_per_ha")) for n in names])
        fin = per_ha[np.isfinite(per_ha)]
        hi = float(np.max(np.abs(fin))) if fin.size and np.max(np.abs(fin)) > 0 else 1.0
        colors = col.value_colors(per_ha, vmin=-hi, vmax=hi, cmap="RdYlGn")
        shown = b.zone_names(zones)
        unit = label("unit_mgc_per_ha", lang)
        feats = [{"c": c if np.isfinite(v) else None,
                  "t": d if not np.isfinite(v) else f"{d}: {fmt_value(v, 'net_change_mgc_per_ha')} {unit}",
                  "p": _heading(d, n, lang) + popup_rows(by_zone.get(n, {}), lang, skip=("zone",))}
                 for n, d, v, c in zip(names, shown, per_ha, colors)]
        legend = None
        if fin.size:
            legend = Legend("continuous", label("change_zones", lang), units=unit,
                            colors=[col.hex_color(x) for x in col.ramp("RdYlGn", 16)], vmin=-hi, vmax=hi)
        b.add_vector(name=label("change_zones", lang), key=_zone_key(folder), gdf=zones, features=feats,
                     style={"color": "#333333", "weight": 1, "fillOpacity": 0.5 if fin.size else 0.0}, legend=legend,
                     thematic=bool(fin.size))
        _outline(b, folder, zones, feats, shown)


def _unit(units: str, lang: str) -> str:
    """A raster's unit tag in the map's language (Mg C/ha → Mg C/公顷 on Chinese maps)."""
    return label("unit_mgc_per_ha", lang) if units.replace(" ", "") in ("MgC/ha", "MgC/ha") else units


def _first(rec: dict, *keys: str):
    """The value of the first key of ``keys`` present in ``rec`` (None if none is)."""
    return next((rec[k] for k in keys if k in rec), None)


def _num(v) -> float:
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else float("nan")


def _years(summary: dict[str, Any]) -> str:
    y = summary.get("years")
    if isinstance(y, list) and len(y) == 2:
        return f" {y[0]}–{y[1]}"
    return ""


def _transition_labels(scheme_csv: Path, lang: str) -> tuple[dict[int, str], dict[int, str], list[int]]:
    """Labels "A → B" and the after-class colour of transition codes before*100+after, from the
    folder's own ``scheme.csv`` (the scheme the run used, not a shipped one of the same name)."""
    from sinkplan.layers.schemes import ClassScheme

    if not scheme_csv.exists():
        logger.info("%s not found: transitions shown as codes", scheme_csv)
        return {}, {}, []
    try:
        scheme = ClassScheme.from_csv(scheme_csv)
    except Exception as exc:  # noqa: BLE001 - an unreadable scheme: codes are shown as numbers
        logger.info("%s not read (%s): transitions shown as codes", scheme_csv, exc)
        return {}, {}, []
    labels, colors, same = {}, {}, []
    for a in scheme.classes:
        for z in scheme.classes:
            code = a.code * 100 + z.code
            if a.code == z.code:
                same.append(code)
            labels[code] = f"{a.name(lang)} → {z.name(lang)}"
            if col.is_hex_color(z.color):
                colors[code] = z.color
    return labels, colors, same


def _flat(record: dict[str, Any]) -> dict[str, Any]:
    """Nested dicts flattened to ``a.b`` keys; lists shown as JSON text."""
    out: dict[str, Any] = {}
    for k, v in record.items():
        if isinstance(v, dict):
            out.update({f"{k}.{k2}": v2 for k2, v2 in _flat(v).items()})
        elif isinstance(v, list):
            out[k] = json.dumps(v, ensure_ascii=False)[:200]
        else:
            out[k] = v
    return out


def _code_labels(tags: dict[str, str], lang: str) -> dict[int, str]:
    """Class labels from raster tags like ``code_3=forest→grassland`` or a JSON ``legend`` tag."""
    out: dict[int, str] = {}
    raw = tags.get("legend") or tags.get(f"legend_{lang}")
    if raw:
        try:
            obj = json.loads(raw)
            if isinstance(obj, dict):
                out.update({int(k): str(v) for k, v in obj.items() if str(k).lstrip("-").isdigit()})
        except ValueError:
            pass
    for k, v in tags.items():
        if k.startswith("code_") and k[5:].isdigit():
            out.setdefault(int(k[5:]), v)
    return out


def _read_layer(path: Path, layer: str):
    import geopandas as gpd

    try:
        gdf = gpd.read_file(path, layer=layer, engine="pyogrio")
    except Exception as exc:  # noqa: BLE001 - a layer missing from an older folder: omitted, said why
        logger.info("%s: layer %r not read (%s): omitted", path, layer, exc)
        return None
    if gdf.crs is None:
        gdf = gdf.set_crs(4326)
    return gdf[~(gdf.geometry.isna() | gdf.geometry.is_empty)].to_crs(4326)


def _restoration_projects(b: MapBuilder, folder: Path) -> None:
    """Restoration projects coloured by their effect (change inside − change in the ring, Mg C/ha),
    with their own attributes (status, start year …) in popups, and their control rings."""
    lang = b.lang
    gdf = _read_layer(folder / rs.PROJECTS_GPKG.name, "projects")
    if gdf is None or not len(gdf):
        return
    fields = [c for c in gdf.columns if c != gdf.geometry.name]
    diff = np.array([_num(v) for v in gdf.get("difference_mgc_per_ha", pd.Series([np.nan] * len(gdf)))])
    fin = diff[np.isfinite(diff)]
    hi = float(np.max(np.abs(fin))) if fin.size and np.max(np.abs(fin)) > 0 else 1.0
    colors = col.value_colors(diff, vmin=-hi, vmax=hi, cmap="RdYlGn")
    feats, heads = [], []
    for rec, d, c in zip(gdf[fields].to_dict("records"), diff, colors):
        name = str(rec.get("project", ""))
        p = [[column_label("project", lang), name]] + popup_rows(rec, lang, skip=("project",))
        status = rec.get("status")
        head = f"{name}（{status}）" if lang == "zh" and status else (f"{name} ({status})" if status else name)
        tip = f"{head}: {fmt_value(d, 'difference_mgc_per_ha')} {label('unit_mgc_per_ha', lang)}" if np.isfinite(d) else head
        heads.append(head)
        feats.append({"c": c if np.isfinite(d) else None, "t": tip, "p": p})
    name = label("restoration_effect", lang)
    legend = Legend("continuous", name, units=label("unit_mgc_per_ha", lang),
                    colors=[col.hex_color(x) for x in col.ramp("RdYlGn", 16)], vmin=-hi, vmax=hi)
    b.add_vector(name=name, key=f"{folder.name}:projects", gdf=gdf, features=feats,
                 style={"color": "#333333", "weight": 1.5, "fillOpacity": 0.75}, legend=legend, thematic=True,
                 labels=heads)
    rings = _read_layer(folder / rs.PROJECTS_GPKG.name, "rings")
    if rings is not None and len(rings):
        rname = label("control_rings", lang)
        rfeats = [{"t": f"{label('control_ring', lang)}: {r}"} for r in rings["project"].astype(str)]
        b.add_vector(name=rname, key=f"{folder.name}:rings", gdf=rings, features=rfeats,
                     style={"color": "#7570b3", "weight": 1, "fillOpacity": 0.15, "fillColor": "#7570b3",
                            "dashArray": "4 3"},
                     legend=Legend("categorical", rname, items=[("#7570b3", rname)]), visible=False)

"""Static figures (PNG) from result folders, with CJK-capable fonts.

- carbon: stock by zone and pool (stacked bars, Tg C) and a carbon-density map;
- coverage: coverage by zone against the target (latest year) and its trajectory across years;
- change: a change map;
- site: capacity by zone type against the 200 GW target, and an eligible-land map.

Plot functions take tables and arrays and return matplotlib Figures (no pyplot state);
:func:`write_figures` reads a result folder and saves PNGs.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sinkplan.maps.builder import read_csv, read_vector_lonlat
from sinkplan.maps.fonts import cjk_rc, find_cjk_font
from sinkplan.maps.folders import open_result
from sinkplan.maps.i18n import label
from sinkplan.maps.sinks_layers import coverage_target

__all__ = ["write_figures", "carbon_by_zone_figure", "coverage_by_zone_figure", "coverage_trajectory_figure",
           "capacity_figure", "raster_map_figure", "figure_lang", "DEFAULT_TARGET_MW"]

logger = logging.getLogger(__name__)

DEFAULT_TARGET_MW = 200_000.0  # wind + solar > 200 GW by 2030 (seeds/targets.toml new_energy_capacity)
MAX_BARS = 25  # zones drawn as bars; the rest are summed into one bar
POOLS = ("above", "below", "soil", "dead")
POOL_COLORS = ("#1b7837", "#a6611a", "#8c6d31", "#bdbdbd")
DPI = 150


def figure_lang(lang: str) -> str:
    """``lang``, or ``en`` when Chinese is asked for but no CJK font is installed."""
    if lang == "zh" and find_cjk_font() is None:
        logger.warning("no CJK font: figures fall back to English labels")
        return "en"
    return lang


def _others(lang: str) -> str:
    return "其他" if lang == "zh" else "others"


def carbon_by_zone_figure(table: pd.DataFrame, *, lang: str) -> Figure:
    """Stacked horizontal bars: stock (Tg C) by zone and pool."""
    cols = [f"stock_mgc_{p}" for p in POOLS if f"stock_mgc_{p}" in table.columns]
    df = table.copy()
    if not cols:
        cols = ["stock_mgc"]
    df = df.sort_values("stock_mgc" if "stock_mgc" in df.columns else cols[0], ascending=False)
    if len(df) > MAX_BARS:
        rest = df.iloc[MAX_BARS - 1:][cols].sum()
        df = pd.concat([df.iloc[:MAX_BARS - 1], pd.DataFrame([{"zone": _others(lang), **rest.to_dict()}])])
    df = df.iloc[::-1]
    fig = Figure(figsize=(8, max(3.0, 0.32 * len(df) + 1.5)), dpi=DPI)
    ax = fig.add_subplot()
    left = np.zeros(len(df))
    names = {"above": "pool_above", "below": "pool_below", "soil": "pool_soil", "dead": "pool_dead"}
    for c, color in zip(cols, POOL_COLORS):
        v = df[c].to_numpy(dtype=float) / 1e6  # Mg C → Tg C
        pool = c.removeprefix("stock_mgc_")
        ax.barh(df["zone"].astype(str), v, left=left, color=color, label=label(names[pool], lang) if pool in names else c)
        left += v
    ax.set_xlabel(label("stock_tgc", lang))
    ax.set_title(label("carbon_by_zone", lang))
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


#: Labels of the restoration figure (kept here: only this figure uses them).
_RESTORATION_LABELS = {
    "zh": {"inside": "项目内", "ring": "对照环带", "difference": "差值（项目内 − 环带）",
           "x": "碳储量变化（Mg C/ha）", "title": "生态修复项目的碳汇效果"},
    "en": {"inside": "inside the project", "ring": "control ring", "difference": "difference (inside − ring)",
           "x": "carbon stock change (Mg C/ha)", "title": "Carbon effect of restoration projects"},
}


#: Columns of restoration_effect.csv that are figures; any other column is a project's own attribute.
_EFFECT_COLUMNS = {"project", "area_ha", "net_change_mgc", "change_mgc_per_ha", "ring_area_ha", "ring_net_change_mgc",
                   "ring_change_mgc_per_ha", "difference_mgc_per_ha", "difference_mgc_per_ha_per_yr"}


def _project_label(row: dict, lang: str) -> str:
    """A project's name with its own attributes (status, start year …), e.g. 宝力格露天矿（已修复）."""
    extra = [str(int(v)) if isinstance(v, float) and v.is_integer() else str(v)
             for k, v in row.items() if k not in _EFFECT_COLUMNS and v is not None and str(v) not in ("", "nan")]
    name = str(row.get("project", ""))
    if not extra:
        return name
    return f"{name}（{'，'.join(extra)}）" if lang == "zh" else f"{name} ({', '.join(extra)})"


def restoration_effect_figure(table: pd.DataFrame, *, lang: str) -> Figure:
    """Grouped horizontal bars per project: change per ha inside, in its control ring, and the difference."""
    words = _RESTORATION_LABELS.get(lang, _RESTORATION_LABELS["en"])
    largest = table["difference_mgc_per_ha"].abs().sort_values(ascending=False).index[:MAX_BARS]  # the 25 largest effects
    df = table.loc[largest].sort_values("difference_mgc_per_ha", ascending=False)  # most negative on top
    cols = (("change_mgc_per_ha", "inside", "#1b9e77"), ("ring_change_mgc_per_ha", "ring", "#7570b3"),
            ("difference_mgc_per_ha", "difference", "#d95f02"))
    fig = Figure(figsize=(8, max(3.0, 0.6 * len(df) + 1.5)), dpi=DPI)
    ax = fig.add_subplot()
    y = np.arange(len(df))
    h = 0.27
    for k, (col, key, color) in enumerate(cols):
        ax.barh(y + (1 - k) * h, df[col].to_numpy(dtype=float), height=h, color=color, label=words[key])
    ax.set_yticks(y, [_project_label(r, lang) for r in df.to_dict("records")])
    ax.axvline(0, color="black", lw=0.8)
    ax.set_xlabel(words["x"])
    ax.set_title(words["title"])
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def coverage_by_zone_figure(records: pd.DataFrame, *, target: float, lang: str) -> Figure:
    """Bars of the latest year's coverage by zone, with the target as a line."""
    year = records["year"].max()
    df = records[records["year"] == year].sort_values("coverage", ascending=False).iloc[:MAX_BARS]
    fig = Figure(figsize=(8, max(3.0, 0.32 * len(df) + 1.5)), dpi=DPI)
    ax = fig.add_subplot()
    cov = df["coverage"].to_numpy(dtype=float) * 100  # fraction → %
    colors = np.where(cov >= target * 100, "#1a9850", "#d73027")
    ax.barh(df["zone"].astype(str)[::-1], cov[::-1], color=colors[::-1])
    ax.axvline(target * 100, color="black", ls="--", lw=1.2, label=f"{label('target', lang)} {target * 100:.1f} %")
    ax.set_xlabel(label("coverage_pct", lang))
    ax.set_title(f"{label('coverage_by_zone', lang)} ({year})")
    ax.legend(loc="lower right", fontsize=8)
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    return fig


def coverage_trajectory_figure(records: pd.DataFrame, *, target: float, target_year: int | None, lang: str) -> Figure:
    """Coverage across years: the whole region (bold) and up to 10 zones, with the target."""
    fig = Figure(figsize=(8, 4.5), dpi=DPI)
    ax = fig.add_subplot()
    top = records.groupby("zone")["land_area_ha"].max().sort_values(ascending=False).index[:10]
    for zone, g in records[records["zone"].isin(top)].groupby("zone"):
        g = g.sort_values("year")
        ax.plot(g["year"], g["coverage"] * 100, marker="o", lw=1, alpha=0.7, label=str(zone))
    tot = records.groupby("year")[["forest_area_ha", "land_area_ha"]].sum()
    ax.plot(tot.index, tot["forest_area_ha"] / tot["land_area_ha"] * 100, marker="o", lw=3, color="black",
            label=label("total", lang))
    ax.axhline(target * 100, color="#d73027", ls="--", lw=1.2, label=f"{label('target', lang)} {target * 100:.1f} %")
    if target_year:
        ax.axvline(target_year, color="#d73027", ls=":", lw=1)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(label("year", lang))
    ax.set_ylabel(label("coverage_pct", lang))
    ax.set_title(label("coverage_trajectory", lang))
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def capacity_figure(by_zone_type: dict[str, Any], *, target_mw: float, lang: str) -> Figure:
    """Capacity (GW) by zone type, stacked into a total bar, against the target."""
    items = [(k, float(v.get("capacity_mw", 0.0) if isinstance(v, dict) else v)) for k, v in by_zone_type.items()]
    fig = Figure(figsize=(7, 4.5), dpi=DPI)
    ax = fig.add_subplot()
    names = []
    for k, _ in items:
        try:
            names.append(label(k, lang))
        except KeyError:
            names.append(str(k))
    gw = np.array([v for _, v in items]) / 1000.0  # MW → GW
    bars = ax.bar(names, gw, color="#fdae61", edgecolor="#8c510a")
    ax.bar_label(bars, labels=[f"{v:,.2f} GW" for v in gw], fontsize=8)
    total = ax.bar([label("total", lang)], [gw.sum()], color="#2c7bb6")
    ax.bar_label(total, labels=[f"{gw.sum():,.2f} GW"], fontsize=8)
    ax.axhline(target_mw / 1000.0, color="#d73027", ls="--", lw=1.5, label=label("target_200gw", lang))
    share = gw.sum() / (target_mw / 1000.0) if target_mw else float("nan")
    ax.set_ylabel(label("capacity_gw", lang))
    ax.set_title(f"{label('capacity_by_type', lang)} ({share * 100:.1f} %)")
    ax.legend(fontsize=8)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def raster_map_figure(values: np.ndarray, extent: tuple[float, float, float, float], *, title: str, units: str,
                      cmap: str, outlines=None, symmetric: bool = False) -> Figure:
    """A lon/lat map of a (reduced) raster with a colour bar and optional outlines."""
    fig = Figure(figsize=(8, 6.5), dpi=DPI)
    ax = fig.add_subplot()
    v = np.ma.masked_invalid(np.ma.asarray(values, dtype=float))
    finite = v.compressed()
    if symmetric and finite.size:
        hi = float(np.percentile(np.abs(finite), 98)) or 1.0
        lo = -hi
    else:
        lo, hi = (float(finite.min()), float(np.percentile(finite, 98))) if finite.size else (0.0, 1.0)
    im = ax.imshow(v, extent=extent, cmap=cmap, vmin=lo, vmax=hi if hi > lo else lo + 1, interpolation="nearest")
    if outlines is not None and len(outlines):
        outlines.boundary.plot(ax=ax, color="#333333", linewidth=0.5)
    cb = fig.colorbar(im, ax=ax, shrink=0.8)
    cb.set_label(units)
    ax.set_title(title)
    ax.set_aspect(1 / np.cos(np.radians((extent[2] + extent[3]) / 2)))  # lon/lat: equal ground scale
    fig.tight_layout()
    return fig


def _read_map(path: Path, *, max_pixels: int, max_cells: int, resampling: str = "average"):
    import rasterio

    from sinkplan.maps.rasters import read_decimated

    if not path.exists():
        logger.info("%s not found: map figure omitted", path)
        return None
    with rasterio.open(path) as src:
        dec = read_decimated(src, max_pixels=max_pixels, max_cells=max_cells, resampling=resampling)
        crs = src.crs
    if not crs.is_geographic:
        logger.info("%s is not lon/lat: map figure drawn in its own CRS", path)
    h, w = dec.data.shape
    t = dec.transform
    extent = (t.c, t.c + t.a * w, t.f + t.e * h, t.f)
    return dec.data.astype(float).filled(np.nan), extent


def write_figures(folder: str | Path, out: str | Path, *, lang: str = "zh", max_pixels: int = 1_000_000,
                  max_cells: int = 4 * 1024 * 1024) -> list[Path]:
    """Save the PNG figures of one result folder into ``out``; returns their paths."""
    info = open_result(folder)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    lang = figure_lang(lang)
    figs: dict[str, Figure] = {}
    import matplotlib

    with matplotlib.rc_context(cjk_rc()):
        if info.kind == "carbon":
            table = read_csv(info.path / "stocks_by_zone.csv")
            if table is not None and len(table):
                figs["carbon_by_zone.png"] = carbon_by_zone_figure(table, lang=lang)
            got = _read_map(info.path / "carbon_density.tif", max_pixels=max_pixels, max_cells=max_cells)
            if got is not None:
                figs["carbon_density_map.png"] = raster_map_figure(
                    *got, title=label("carbon_density", lang), units="Mg C/ha", cmap="YlGn",
                    outlines=read_vector_lonlat(info.path / "zones.gpkg"))
        elif info.kind == "coverage":
            recs = pd.DataFrame([r for r in info.summary.get("zones", []) if isinstance(r, dict)])
            if len(recs) and {"zone", "year", "coverage"} <= set(recs.columns):
                recs["zone"] = recs["zone"].astype(str)
                target = coverage_target(info.summary)
                figs["coverage_by_zone.png"] = coverage_by_zone_figure(recs, target=target, lang=lang)
                if {"forest_area_ha", "land_area_ha"} <= set(recs.columns):
                    figs["coverage_trajectory.png"] = coverage_trajectory_figure(
                        recs, target=target, target_year=_target_year("forest_coverage", 2025), lang=lang)
        elif info.kind == "change" and (info.path / "restoration_effect.csv").exists():
            effect = read_csv(info.path / "restoration_effect.csv")
            need = {"project", "change_mgc_per_ha", "ring_change_mgc_per_ha", "difference_mgc_per_ha"}
            if effect is not None and len(effect) and need <= set(effect.columns):
                figs["restoration_effect.png"] = restoration_effect_figure(effect, lang=lang)
        elif info.kind == "change":
            change = next((info.path / n for n in ("change.tif", "carbon_change.tif") if (info.path / n).exists()),
                          info.path / "change.tif")
            got = _read_map(change, max_pixels=max_pixels, max_cells=max_cells)
            if got is not None:
                figs["change_map.png"] = raster_map_figure(*got, title=label("carbon_change", lang), units="Mg C/ha",
                                                           cmap="RdYlGn", symmetric=True,
                                                           outlines=read_vector_lonlat(info.path / "zones.gpkg"))
        elif info.kind == "site":
            byz = info.summary.get("by_zone_type")
            if isinstance(byz, dict) and byz:
                target = float(info.summary.get("target_mw") or DEFAULT_TARGET_MW)
                figs["capacity_by_zone_type.png"] = capacity_figure(byz, target_mw=target, lang=lang)
            got = _read_map(info.path / "eligible.tif", max_pixels=max_pixels, max_cells=max_cells, resampling="mode")
            if got is not None:
                v, ext = got
                figs["eligible_map.png"] = raster_map_figure(np.where(v > 0, v, np.nan), ext, title=label("eligible", lang),
                                                             units=label("zone_type", lang), cmap="Set2")
        paths = []
        for name, fig in figs.items():
            p = out / name
            fig.savefig(p)
            paths.append(p)
    if not paths:
        logger.warning("%s: nothing to draw", info.path)
    return paths


def _target_year(key: str, default: int) -> int:
    try:
        from sinkplan.seeds.targets import load_targets

        return int(load_targets()[key].year)
    except Exception:  # noqa: BLE001 - seeds optional here
        return default

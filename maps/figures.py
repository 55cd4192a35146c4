"""Static figures (PNG) from result folders, with CJK-capable fonts.

- carbon: stock by zone and pool (stacked bars, Tg C) and a carbon-density map;
- coverage: coverage by zone against the target (latest year) and its trajectory across years;
- change: a change map;
- site: capacity by zone type against the target the run used, and an eligible-land map.

Plot functions take tables and arrays and return matplotlib Figures (no pyplot state);
:func:`write_figures` reads a result folder and saves PNGs.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from sinkplan.layers import resultspec as rs
from sinkplan.maps.builder import read_csv, read_vector_lonlat
from sinkplan.maps.fonts import cjk_rc, find_cjk_font, has_cjk, readable
from sinkplan.maps.folders import open_result, reading_result_file
from sinkplan.maps.i18n import label
from sinkplan.maps.sinks_layers import coverage_target

__all__ = ["write_figures", "carbon_by_zone_figure", "coverage_by_zone_figure", "coverage_trajectory_figure",
           "capacity_figure", "raster_map_figure", "figure_lang", "account_figures"]

logger = logging.getLogger(__name__)

MAX_BARS = 25  # zones drawn as bars; the rest are summed into one bar
POOLS = ("above", "below", "soil", "dead")
POOL_COLORS = ("#1b7837", "#a6611a", "#8c6d31", "#bdbdbd")
DPI = 150


def figure_lang(lang: str) -> str:
    """``lang``, or ``en`` when Chinese is asked for but no CJK font is installed (said once)."""
    if find_cjk_font() is None:
        _warn_no_font()
        return "en"
    return lang


@lru_cache(maxsize=1)
def _warn_no_font() -> None:
    from sinkplan.maps.fonts import FONT_HINT

    logger.warning("no CJK font: figures use English labels and Chinese names in pinyin; for Chinese figures %s",
                   FONT_HINT)


def _readable(text: Any) -> str:
    """Text as it can be drawn on this machine (pinyin for Chinese names without a CJK font)."""
    return readable(str(text), cjk_font=find_cjk_font() is not None)


def _sweep_text(fig: Figure) -> None:
    """Every text artist of a figure made drawable (titles, legends, labels): no tofu, no glyph warning."""
    if find_cjk_font() is not None:
        return
    from matplotlib.text import Text

    for t in fig.findobj(Text):
        text = t.get_text()
        if text and has_cjk(text):
            t.set_text(_readable(text))


#: Longest zone or project name drawn beside a bar (longer names end in "…": a 3 000-character
#: name pushed every bar off the figure).
MAX_LABEL_CHARS = 28


def _bar_label(text: Any) -> str:
    """A name as one short line of a bar chart's axis: newlines and tabs as spaces, at most
    :data:`MAX_LABEL_CHARS` characters.

    Examples
    --------
    >>> _bar_label("line1\\nline2"), _bar_label("x" * 40)
    ('line1 line2', 'xxxxxxxxxxxxxxxxxxxxxxxxxxx…')
    """
    one = " ".join(str(text).split())
    return one if len(one) <= MAX_LABEL_CHARS else one[:MAX_LABEL_CHARS - 1] + "…"


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
        # bars at positions, names as tick labels: two zones whose names read alike keep two bars
        ax.barh(np.arange(len(df)), v, left=left, color=color, label=label(names[pool], lang) if pool in names else c)
        left += v
    ax.set_yticks(np.arange(len(df)), [_bar_label(z) for z in df["zone"].astype(str)])
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
    ax.set_yticks(y, [_bar_label(_project_label(r, lang)) for r in df.to_dict("records")])
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
    ax.barh(np.arange(len(df)), cov[::-1], color=colors[::-1])
    ax.set_yticks(np.arange(len(df)), [_bar_label(z) for z in df["zone"].astype(str)[::-1]])
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
        last = int(tot.index.max())
        if len(tot) >= 2 and target_year > last:  # the whole region at its own mean rate, up to the target year
            first = int(tot.index.min())
            c0 = tot.loc[first, "forest_area_ha"] / tot.loc[first, "land_area_ha"] * 100
            c1 = tot.loc[last, "forest_area_ha"] / tot.loc[last, "land_area_ha"] * 100
            rate = (c1 - c0) / (last - first)  # percentage points per year
            ax.plot([last, target_year], [c1, c1 + rate * (target_year - last)], color="black", lw=1.5, ls="--",
                    label=label("at_this_rate", lang, year=target_year))
        ax.axvline(target_year, color="#d73027", ls=":", lw=1)
        ax.annotate(label("target_year", lang, year=target_year), xy=(target_year, 1.0),
                    xycoords=("data", "axes fraction"), xytext=(-3, -3), textcoords="offset points",
                    ha="right", va="top", fontsize=8, color="#d73027")
        lo_year = int(records["year"].min())
        ax.set_xlim(lo_year - 0.5, max(target_year, int(records["year"].max())) + 0.5)
    from matplotlib.ticker import MaxNLocator

    ax.xaxis.set_major_locator(MaxNLocator(integer=True))
    ax.set_xlabel(label("year", lang))
    ax.set_ylabel(label("coverage_pct", lang))
    ax.set_title(label("coverage_trajectory", lang))
    ax.legend(fontsize=7, ncol=2)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


def capacity_figure(by_zone_type: dict[str, Any], *, target_mw: float | None, lang: str,
                    target_year: int | None = None, share_of_target: float | None = None,
                    installed_mw: float | None = None, title_key: str = "capacity_by_type") -> Figure:
    """Capacity (GW) by zone type, stacked into a total bar, against the target (none drawn
    when ``target_mw`` is None). The title gives ``share_of_target`` (the run's own
    (installed + screened) / target) when the run computed one, and no share otherwise: a
    screen of a few banners divided by a provincial target is not a share of it.

    ``installed_mw`` (summary ``installed_mw`` of a run with ``--installed``; None without):
    the plants already built and approved get their own bar, and the total bar stacks them
    under the new parcels, so the bar set against the target is installed + screened, as the
    summary's ``gap_after_screen_mw`` and ``share_of_target`` count it. ``title_key``: the
    title's label (``capacity_by_tech`` for the bars of a ``--tech pv,wind`` account)."""
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
    base_gw = float(installed_mw) / 1000.0 if installed_mw is not None else None  # MW → GW
    if base_gw is not None:
        inst = ax.bar([label("installed", lang)], [base_gw], color="#969696", edgecolor="#525252")
        ax.bar_label(inst, labels=[f"{base_gw:,.2f} GW"], fontsize=8)
    bars = ax.bar(names, gw, color="#fdae61", edgecolor="#8c510a")
    ax.bar_label(bars, labels=[f"{v:,.2f} GW" for v in gw], fontsize=8)
    if base_gw is None:
        total = ax.bar([label("total", lang)], [gw.sum()], color="#2c7bb6")
        ax.bar_label(total, labels=[f"{gw.sum():,.2f} GW"], fontsize=8)
    else:  # installed below, the new parcels on top: the account against the target
        name = label("installed_plus_screened", lang)
        ax.bar([name], [base_gw], color="#969696", edgecolor="#525252")
        total = ax.bar([name], [gw.sum()], bottom=[base_gw], color="#2c7bb6")
        ax.bar_label(total, labels=[f"{base_gw + gw.sum():,.2f} GW"], fontsize=8)
    if target_mw:
        when = f"{target_year} " if target_year else ""
        text = ((f"{target_year} 年目标" if target_year else "目标") + f" {target_mw / 1000.0:,.0f} GW" if lang == "zh"
                else f"{when}target {target_mw / 1000.0:,.0f} GW")
        ax.axhline(target_mw / 1000.0, color="#d73027", ls="--", lw=1.5, label=text)
        if share_of_target is not None and np.isfinite(share_of_target):
            ax.set_title(f"{label(title_key, lang)} ({share_of_target * 100:.1f} %)")
        else:
            ax.set_title(label(title_key, lang))
        ax.legend(fontsize=8)
    else:
        ax.set_title(label(title_key, lang))
    ax.set_ylabel(label("capacity_gw", lang))
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def raster_map_figure(values: np.ndarray, extent: tuple[float, float, float, float], *, title: str, units: str,
                      cmap: str, outlines=None, symmetric: bool = False,
                      classes: dict[int, tuple[str, str]] | None = None, lang: str = "en") -> Figure:
    """A lon/lat map of a (reduced) raster with optional outlines.

    Continuous values get a colour bar; with ``classes`` ({code: (label, #rrggbb)}) the raster is
    categorical and gets one legend box per class present (never a colour bar).
    """
    from matplotlib.colors import BoundaryNorm, ListedColormap
    from matplotlib.patches import Patch

    fig = Figure(figsize=(8, 6.5), dpi=DPI)
    ax = fig.add_subplot()
    v = np.ma.masked_invalid(np.ma.asarray(values, dtype=float))
    if classes:
        codes = sorted(classes)
        data, ok = np.ma.getdata(v), ~np.ma.getmaskarray(v)
        idx = np.full(v.shape, np.nan)
        for i, c in enumerate(codes):
            idx[ok & (data == c)] = i
        ax.imshow(np.ma.masked_invalid(idx), extent=extent, cmap=ListedColormap([classes[c][1] for c in codes]),
                  norm=BoundaryNorm(np.arange(len(codes) + 1) - 0.5, len(codes)), interpolation="nearest")
        present = set(np.unique(data[ok]).astype(int).tolist()) if ok.any() else set()
        ax.legend(handles=[Patch(facecolor=classes[c][1], edgecolor="#555555", label=classes[c][0])
                           for c in codes if c in present], title=units, loc="upper left",
                  bbox_to_anchor=(1.01, 1.0), fontsize=8)
    else:
        finite = v.compressed()
        if symmetric and finite.size:
            hi = float(np.percentile(np.abs(finite), 98)) or 1.0
            lo = -hi
        else:
            lo, hi = (float(finite.min()), float(np.percentile(finite, 98))) if finite.size else (0.0, 1.0)
        im = ax.imshow(v, extent=extent, cmap=cmap, vmin=lo, vmax=hi if hi > lo else lo + 1, interpolation="nearest")
        cb = fig.colorbar(im, ax=ax, shrink=0.8)
        cb.set_label(units)
    if outlines is not None and len(outlines):
        outlines.boundary.plot(ax=ax, color="#333333", linewidth=0.5)
    ax.set_xlabel(label("lon_deg", lang))
    ax.set_ylabel(label("lat_deg", lang))
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
    with reading_result_file(path), rasterio.open(path) as src:
        dec = read_decimated(src, max_pixels=max_pixels, max_cells=max_cells, resampling=resampling)
        crs = src.crs
    if not crs.is_geographic:
        logger.info("%s is not lon/lat: map figure drawn in its own CRS", path)
    h, w = dec.data.shape
    t = dec.transform
    extent = (t.c, t.c + t.a * w, t.f + t.e * h, t.f)
    return dec.data.astype(float).filled(np.nan), extent


def account_figures(folder: str | Path, *, lang: str = "zh") -> dict[str, Figure]:
    """The figures of a ``site --tech pv,wind`` folder's own account (kind ``site-account``):
    ``capacity_by_tech.png``, each technology's screened capacity (summary ``by_tech``, no land
    counted twice) on the installed baseline (``installed_mw``, with ``--installed``) against the
    target, titled with the account's ``share_of_target`` when it computed one."""
    import matplotlib

    from sinkplan.maps.folders import _read_json

    s = _read_json(Path(folder) / rs.SUMMARY.name)
    by_tech = s.get("by_tech")
    if not isinstance(by_tech, dict) or not by_tech:
        return {}
    t, year, share, inst = s.get("target_mw"), s.get("target_year"), s.get("share_of_target"), s.get("installed_mw")
    with matplotlib.rc_context(cjk_rc()):
        lang = figure_lang(lang)
        fig = capacity_figure(
            {k: {"capacity_mw": float(v.get("capacity_mw") or 0.0)} for k, v in by_tech.items()},
            target_mw=float(t) if isinstance(t, (int, float)) and t else None, lang=lang,
            target_year=year if isinstance(year, int) else None,
            share_of_target=float(share) if isinstance(share, (int, float)) else None,
            installed_mw=float(inst) if s.get("installed_source") and isinstance(inst, (int, float)) else None,
            title_key="capacity_by_tech")
    return {"capacity_by_tech.png": fig}


def write_figures(folder: str | Path, out: str | Path, *, lang: str = "zh", max_pixels: int = 1_000_000,
                  max_cells: int = 4 * 1024 * 1024, paper: str = "a4", projection: str = "auto") -> list[Path]:
    """Save the figures of one result folder into ``out``; returns their paths.

    Charts as PNG, and the print-ready thematic map (专题图) of the result on an A4 or A3
    sheet (``paper``) as ``thematic_map.png`` and ``thematic_map.pdf``, in the ``projection``
    of :func:`sinkplan.maps.thematic.sheet_crs` (``auto``: Albers equal-area on CGCS2000 for an
    extent over 3°, longitude/latitude below).
    """
    info = open_result(folder)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    import matplotlib

    with matplotlib.rc_context(cjk_rc()):
        lang = figure_lang(lang)
        figs = figures_of(info, lang=lang, paper=paper, max_pixels=max_pixels, max_cells=max_cells,
                          projection=projection)
        paths = []
        for name, fig in figs.items():
            if name == "thematic_map":
                for ext in ("png", "pdf"):
                    p = out / f"{name}.{ext}"
                    fig.savefig(p, metadata=_pdf_metadata(info, lang) if ext == "pdf" else None)
                    paths.append(p)
                continue
            p = out / name
            fig.savefig(p)
            paths.append(p)
    if not paths:
        logger.warning("%s: nothing to draw", info.path)
    return paths


def figures_of(folder, *, lang: str = "zh", paper: str = "a4", max_pixels: int = 1_000_000,
               max_cells: int = 4 * 1024 * 1024, projection: str = "auto") -> dict[str, Figure]:
    """The figures of a result folder (or :class:`~sinkplan.maps.folders.ResultInfo`), unsaved:
    ``{file name: Figure}``, the thematic map under ``thematic_map`` (its ``sinkplan_thematic``
    attribute holds the map axes and the scale bar's geometry), drawn with the CJK font when
    there is one."""
    import matplotlib

    info = folder if hasattr(folder, "kind") else open_result(folder)
    with matplotlib.rc_context(cjk_rc()):
        return _figures_of(info, lang=figure_lang(lang), paper=paper, max_pixels=max_pixels, max_cells=max_cells,
                           projection=projection)


def _figures_of(info, *, lang: str, paper: str, max_pixels: int, max_cells: int,
                projection: str = "auto") -> dict[str, Figure]:
    figs: dict[str, Figure] = {}
    rd = _readable
    thematic = None
    if info.kind == "carbon":
        table = read_csv(info.path / rs.STOCKS_BY_ZONE.name)
        if table is not None and len(table):
            table["zone"] = table["zone"].astype(str).map(rd)
            figs["carbon_by_zone.png"] = carbon_by_zone_figure(table, lang=lang)
        got = _read_map(info.path / rs.CARBON_DENSITY.name, max_pixels=max_pixels, max_cells=max_cells)
        zones = read_vector_lonlat(info.path / rs.CARBON_ZONES.name)
        if got is not None:
            figs["carbon_density_map.png"] = raster_map_figure(
                *got, title=label("carbon_density", lang), units="Mg C/ha", cmap="YlGn", outlines=zones, lang=lang)
            red = read_vector_lonlat(info.path / rs.REDLINE_GPKG.name)
            thematic = dict(values=got[0], extent=got[1], cmap="YlGn", units=label("unit_mgc_per_ha", lang), vmin=0.0,
                            legend_title=label("carbon_density", lang), zones=zones,
                            overlays=[(red, {"color": "#d7191c", "linewidth": 1.0, "linestyle": "--"},
                                       label("redline", lang))])
    elif info.kind == "coverage":
        recs = pd.DataFrame([r for r in info.summary.get("zones", []) if isinstance(r, dict)])
        if len(recs) and {"zone", "year", "coverage"} <= set(recs.columns):
            recs["zone"] = recs["zone"].astype(str)
            target = coverage_target(info.summary, info.path)
        if len(recs) and {"zone", "year", "coverage"} <= set(recs.columns) and target is None:
            logger.warning("%s: no coverage target recorded in the folder: coverage figures omitted", info.path)
        elif len(recs) and {"zone", "year", "coverage"} <= set(recs.columns):
            shown = recs.assign(zone=recs["zone"].map(rd))
            figs["coverage_by_zone.png"] = coverage_by_zone_figure(shown, target=target, lang=lang)
            if {"forest_area_ha", "land_area_ha"} <= set(recs.columns):
                figs["coverage_trajectory.png"] = coverage_trajectory_figure(
                    shown, target=target, target_year=_summary_target_year(info), lang=lang)
            thematic = _coverage_thematic(info, recs, target, lang)
    elif info.kind == "change" and (info.path / rs.RESTORATION_EFFECT.name).exists():
        effect = read_csv(info.path / rs.RESTORATION_EFFECT.name)
        need = {"project", "change_mgc_per_ha", "ring_change_mgc_per_ha", "difference_mgc_per_ha"}
        if effect is not None and len(effect) and need <= set(effect.columns):
            figs["restoration_effect.png"] = restoration_effect_figure(effect, lang=lang)
        thematic = _restoration_thematic(info, lang)
    elif info.kind == "change":
        change = info.path / rs.CARBON_CHANGE.name
        got = _read_map(change, max_pixels=max_pixels, max_cells=max_cells)
        zones = read_vector_lonlat(info.path / rs.CHANGE_ZONES.name)
        if got is not None:
            figs["change_map.png"] = raster_map_figure(*got, title=label("carbon_change", lang), units="Mg C/ha",
                                                       cmap="RdYlGn", symmetric=True, outlines=zones, lang=lang)
            thematic = dict(values=got[0], extent=got[1], cmap="RdYlGn", symmetric=True,
                            units=label("unit_mgc_per_ha", lang), legend_title=label("carbon_change", lang),
                            zones=zones)
    elif info.kind == "site":
        byz = info.summary.get("by_zone_type")
        if isinstance(byz, dict) and byz:
            # the target the run compared against (its summary or targets.json), never the packaged one
            t = info.summary.get("target_mw") or _target_value(info, info.summary.get("target_key"), "MW")
            year = info.summary.get("target_year")
            share = info.summary.get("share_of_target")
            if "allocation" in info.summary:  # one technology of a pv,wind account: its share is the account's,
                share = None  # of both technologies' parcels, drawn in the account's own figure, not these bars
            # the baseline the account counted: summary installed_mw of a run given --installed
            inst = info.summary.get("installed_mw") if info.summary.get("installed_source") else None
            figs["capacity_by_zone_type.png"] = capacity_figure(
                byz, target_mw=float(t) if t else None, lang=lang, target_year=year if isinstance(year, int) else None,
                share_of_target=float(share) if isinstance(share, (int, float)) else None,
                installed_mw=float(inst) if isinstance(inst, (int, float)) else None)
        got = _read_map(info.path / rs.ELIGIBLE.name, max_pixels=max_pixels, max_cells=max_cells, resampling="mode")
        if got is not None:
            v, ext = got
            classes = eligible_classes(info.summary, lang)
            figs["eligible_map.png"] = raster_map_figure(np.where(v > 0, v, np.nan), ext, title=label("eligible", lang),
                                                         units=label("zone_type", lang), cmap="Set2",
                                                         classes=classes, lang=lang)
            parcels = read_vector_lonlat(info.path / rs.PARCELS_GPKG.name)
            overlays = [(parcels, {"color": "#08306b", "linewidth": 0.5}, label("parcels_outline", lang))]
            lines = read_vector_lonlat(info.path / rs.GRID_LINES.name)
            overlays.append((lines, {"color": "#333333", "linewidth": 0.8}, label("grid_lines", lang)))
            thematic = dict(values=np.where(v > 0, v, np.nan), extent=ext, classes=classes,
                            legend_title=label("eligible", lang), overlays=overlays)
    if thematic is not None:
        figs["thematic_map"] = _thematic_figure(info, thematic, lang=lang, paper=paper, projection=projection)
    for fig in figs.values():
        _sweep_text(fig)
    return figs


def eligible_classes(summary: dict[str, Any], lang: str) -> dict[int, tuple[str, str]]:
    """{code: (label, #rrggbb)} of eligible.tif's zone types (0, excluded, left out)."""
    from sinkplan.maps.colors import ZONE_TYPE_COLORS

    raw = summary.get("eligible_codes") or {str(k): v for k, v in rs.ELIGIBLE_CODES.items()}
    out = {}
    for k, key in raw.items():
        if not str(k).isdigit() or int(k) == 0:
            continue
        try:
            text = label(str(key), lang)
        except KeyError:
            text = str(key)
        out[int(k)] = (_readable(text), ZONE_TYPE_COLORS.get(str(key), "#999999"))
    return out


def _thematic_figure(info, spec: dict[str, Any], *, lang: str, paper: str, projection: str = "auto") -> Figure:
    from sinkplan import __name__ as _pkg  # noqa: F401 - the package is importable here
    from sinkplan.maps.thematic import ThematicSpec, thematic_map
    from sinkplan.maps.titles import data_sources, result_title

    zones = spec.get("zones")
    labels = None
    if zones is not None and len(zones) and "zone" in zones.columns and "zone_labels" not in spec:
        labels = [_readable(z) for z in zones["zone"].astype(str)]
    finished = str(info.manifest.get("finished", ""))[:10]
    ts = ThematicSpec(title=_readable(result_title(info.kind, info.path, info.summary, info.manifest, lang)), lang=lang,
                      sources=[_readable(x) for x in data_sources(info.summary, info.manifest, lang)],
                      result_date=finished, software=f"sinkplan {_version()}", paper=paper, projection=projection,
                      zone_labels=spec.pop("zone_labels", labels), **spec)
    fig, meta = thematic_map(ts)
    fig.sinkplan_thematic = meta  # the scale bar's geometry and the map axes, for checks
    return fig


def _version() -> str:
    from importlib import metadata

    try:
        return metadata.version("sinkplan")
    except metadata.PackageNotFoundError:
        return "0+unknown"


def _pdf_metadata(info, lang: str) -> dict[str, str]:
    from sinkplan.maps.titles import result_title

    return {"Title": result_title(info.kind, info.path, info.summary, info.manifest, lang),
            "Subject": f"{info.kind} result {info.path.name}", "Creator": f"sinkplan {_version()}"}


def _coverage_thematic(info, recs: pd.DataFrame, target: float, lang: str) -> dict[str, Any] | None:
    from sinkplan.maps import colors as col

    zones = read_vector_lonlat(info.path / rs.COVERAGE_ZONES.name)
    if zones is None or not len(zones) or "zone" not in zones.columns:
        return None
    year = recs["year"].max()
    cov = {str(r["zone"]): r["coverage"] for r in recs[recs["year"] == year].to_dict("records")}
    edges = col.COVERAGE_BINS_PP
    bins = [col.hex_color(c) for c in col.ramp("RdYlGn", len(edges) + 1)]
    colors = []
    for z in zones["zone"].astype(str):
        c = cov.get(z)
        colors.append("#bbbbbb" if not isinstance(c, (int, float)) or not np.isfinite(c)
                      else bins[int(np.searchsorted(edges, (c - target) * 100.0, side="right"))])
    pp = label("pp", lang)
    names = [f"< {edges[0]:+g} {pp}"] + [f"{edges[i]:+g} … {edges[i + 1]:+g} {pp}" for i in range(len(edges) - 1)]
    names += [f">= {edges[-1]:+g} {pp}"]
    classes = {i: (names[i], bins[i]) for i in range(len(bins))}
    labels = [_readable(f"{z}\n{cov[z] * 100:.1f} %") if isinstance(cov.get(z), (int, float)) else _readable(z)
              for z in zones["zone"].astype(str)]
    return dict(zones=zones, choropleth=colors, classes=classes, zone_labels=labels,
                legend_title=f"{label('coverage_vs_target', lang)} ({target * 100:.1f} %), {year}")


def _restoration_thematic(info, lang: str) -> dict[str, Any] | None:
    from sinkplan.maps import colors as col
    from sinkplan.maps.sinks_layers import _read_layer

    path = info.path / rs.PROJECTS_GPKG.name
    if not path.exists():
        return None
    gdf = _read_layer(path, "projects")
    if gdf is None or not len(gdf) or "difference_mgc_per_ha" not in gdf.columns:
        return None
    d = gdf["difference_mgc_per_ha"].to_numpy(dtype=float)
    hi = float(np.nanmax(np.abs(d))) if np.isfinite(d).any() and np.nanmax(np.abs(d)) > 0 else 1.0
    edges = np.linspace(-hi, hi, 7)
    ramp = [col.hex_color(c) for c in col.ramp("RdYlGn", 6)]
    colors = [ramp[int(np.clip(np.searchsorted(edges, v, side="right") - 1, 0, 5))] if np.isfinite(v) else "#bbbbbb"
              for v in d]
    classes = {i: (f"{edges[i]:+.1f} … {edges[i + 1]:+.1f}", ramp[i]) for i in range(6)}
    labels = [_readable(_project_label({k: v for k, v in r.items() if k in gdf.columns and k != gdf.geometry.name
                                        and k not in _EFFECT_COLUMNS or k == "project"}, lang))
              for r in gdf.drop(columns=gdf.geometry.name).to_dict("records")]
    rings = _read_layer(path, "rings")
    return dict(zones=gdf, choropleth=colors, classes=classes, zone_labels=labels,
                legend_title=f"{label('restoration_effect', lang)} ({label('unit_mgc_per_ha', lang)})",
                overlays=[(rings, {"color": "#7570b3", "linewidth": 0.8, "linestyle": "--"}, label("control_rings", lang))])


def _summary_target_year(info) -> int | None:
    """The coverage target's year as the run used it (summary ``target.year``, else the folder's
    ``targets.json``); None when the folder records none (the figure then draws no year line)."""
    t = info.summary.get("target")
    if isinstance(t, dict) and isinstance(t.get("year"), int):
        return int(t["year"])
    rec = info.targets.get("forest_coverage", {})
    return int(rec["year"]) if isinstance(rec.get("year"), int) else None


def _target_value(info, key: str | None, unit: str) -> float | None:
    """A target's value in ``unit`` from the folder's targets (GW converted to MW); None if absent."""
    rec = info.targets.get(str(key)) if key else None
    if not rec or not isinstance(rec.get("value"), (int, float)):
        return None
    return float(rec["value"]) * (1000.0 if rec.get("unit") == "GW" and unit == "MW" else 1.0)

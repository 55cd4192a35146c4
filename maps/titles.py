"""Titles that say what a map shows: the result, the technology and the years.

One function for the HTML maps and the printed thematic maps, so both name a result alike:
``碳储量与碳密度（2020 年）``, ``光伏选址：可选址用地与候选地块（2030 年目标）``,
``森林覆盖率 2015–2020``, ``碳储量变化 2015–2020``, ``生态修复项目碳汇效果 2015–2020``.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from sinkplan.layers import resultspec as rs

__all__ = ["result_title", "result_short_name", "result_years", "is_restoration", "data_sources"]

_TECH = {"pv": ("光伏", "PV"), "wind": ("风电", "Wind")}


def is_restoration(path: Path, summary: dict[str, Any]) -> bool:
    """A change folder written with a control ring (the restoration effect)."""
    return (path / rs.RESTORATION_EFFECT.name).exists() or (path / rs.PROJECTS_GPKG.name).exists() or "restoration" in summary


def _year_in_name(text: str) -> int | None:
    m = re.search(r"(?<!\d)(19[7-9]\d|20[0-9]\d)(?!\d)", Path(str(text)).name)
    return int(m.group(1)) if m else None


def result_years(kind: str, summary: dict[str, Any], manifest: dict[str, Any]) -> list[int]:
    """The years a result covers: from the summary, else from the land-cover file names."""
    years = summary.get("years")
    if isinstance(years, list) and years and all(isinstance(y, int) for y in years):
        return sorted(set(years))
    if kind == "coverage":
        ys = {r.get("year") for r in summary.get("zones", []) if isinstance(r, dict) and isinstance(r.get("year"), int)}
        if ys:
            return sorted(ys)
    params = manifest.get("parameters", {}) if isinstance(manifest, dict) else {}
    lc = params.get("landcover") or summary.get("landcover")
    if isinstance(lc, dict):
        ys = sorted(int(k) for k in lc if str(k).isdigit())
        if ys:
            return ys
    if isinstance(lc, str):
        y = _year_in_name(lc)
        if y:
            return [y]
    return []


def _span(years: list[int]) -> str:
    if not years:
        return ""
    return str(years[0]) if len(years) == 1 else f"{years[0]}–{years[-1]}"


def result_title(kind: str, path: Path, summary: dict[str, Any], manifest: dict[str, Any], lang: str) -> str:
    """The title of one result."""
    zh = lang == "zh"
    years = result_years(kind, summary, manifest)
    span = _span(years)
    if kind == "carbon":
        base = "碳储量与碳密度" if zh else "Carbon stock and density"
        return f"{base}（{span} 年）" if zh and span else (f"{base}, {span}" if span else base)
    if kind == "coverage":
        base = "森林覆盖率" if zh else "Forest coverage"
        return f"{base} {span}".strip()
    if kind == "change" and is_restoration(path, summary):
        base = "生态修复项目碳汇效果" if zh else "Carbon effect of restoration projects"
        return f"{base} {span}".strip()
    if kind == "change":
        base = "碳储量变化" if zh else "Carbon stock change"
        return f"{base} {span}".strip()
    if kind == "site":
        tech = str(summary.get("tech") or (manifest.get("parameters", {}) or {}).get("tech") or "").lower()
        t = _TECH.get(tech, (tech, tech.upper()))[0 if zh else 1]
        year = summary.get("target_year")
        if zh:
            text = f"{t}选址：可选址用地与候选地块"
            return f"{text}（{year} 年目标）" if year else text
        text = f"{t} siting: eligible land and candidate parcels"
        return f"{text} (target {year})" if year else text
    return kind


def result_short_name(kind: str, path: Path, summary: dict[str, Any], manifest: dict[str, Any], lang: str) -> str:
    """A short name of one result, put before its layers' names on a map of several results
    (``光伏 · 候选地块（按得分）`` and ``风电 · 候选地块（按得分）`` on one layer list).

    A restoration result is named by its projects layer (``生态修复（mines）``): a map may show two.

    Examples
    --------
    >>> result_short_name("site", Path("site_pv"), {"tech": "pv"}, {}, "zh")
    '光伏'
    >>> result_short_name("change", Path("r"), {"restoration": {}}, {"parameters": {"zones": "/d/mines.gpkg"}}, "zh")
    '生态修复（mines）'
    """
    zh = lang == "zh"
    if kind == "site":
        tech = str(summary.get("tech") or (manifest.get("parameters", {}) or {}).get("tech") or "").lower()
        return _TECH.get(tech, (tech, tech.upper()))[0 if zh else 1] or ("选址" if zh else "Siting")
    if kind == "change" and is_restoration(path, summary):
        params = manifest.get("parameters", {}) if isinstance(manifest, dict) else {}
        src = params.get("zones") or params.get("projects") or ""
        stem = Path(str(src)).stem if src else ""
        base = "生态修复" if zh else "Restoration"
        return (f"{base}（{stem}）" if zh else f"{base} ({stem})") if stem else base
    names = {"carbon": ("碳储量", "Carbon stock"), "coverage": ("森林覆盖率", "Forest coverage"),
             "change": ("碳储量变化", "Carbon change")}
    pair = names.get(kind)
    return (pair[0] if zh else pair[1]) if pair else kind


def data_sources(summary: dict[str, Any], manifest: dict[str, Any], lang: str) -> list[str]:
    """Short source lines: input files (by name), class scheme and density table."""
    out = []
    names = [Path(str(i.get("path", ""))).name for i in manifest.get("inputs", []) if isinstance(i, dict)]
    if names:
        out.append(("输入 " if lang == "zh" else "inputs ") + ", ".join(n for n in names if n))
    scheme = summary.get("scheme") or (manifest.get("parameters", {}) or {}).get("scheme")
    if isinstance(scheme, str) and scheme:
        out.append(("分类体系 " if lang == "zh" else "class scheme ") + scheme)
    dens = summary.get("densities")
    if isinstance(dens, dict) and dens.get("table"):
        out.append(("碳密度表 " if lang == "zh" else "density table ") + Path(str(dens["table"])).name)
    prof = summary.get("profile")
    if isinstance(prof, str) and prof:
        out.append(("选址参数 " if lang == "zh" else "siting profile ") + prof)
    return out

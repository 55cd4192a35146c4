"""The result-folder contract: what each kind of result folder holds, declared once.

Every command writes one folder; this module says, for each result kind (``carbon``,
``coverage``, ``change``, ``restoration``, ``site``, ``classify``, ``area-estimate``,
``density-model``, and the demo's ``landcover`` class tables), which files it holds (name,
kind, units, a sentence about each, when it is created), the columns of each table and
vector layer, and the keys of its ``summary`` record, each with a Chinese and an English
label and its unit. The library writers (:mod:`sinkplan.sinks.folders`,
:mod:`sinkplan.siting.folders`, :mod:`sinkplan.sinks.learning.folders`) write through it and
refuse (in tests) or warn about (in a user's run) anything undeclared; :mod:`sinkplan.maps`
reads folders through it; the README's table of outputs is tested against it.

It lives in ``layers/`` (the core every package may import), so ``sinks``, ``siting`` and
``maps`` share it without breaking the one-way data flow.

Names and labels
----------------
:data:`TERMS` holds every column and summary key name once: ``Term(name, zh, en, unit,
about)``. A file lists its columns by name; a summary key path's last part is its name
(``redline.inside_stock_mgc`` → the term ``inside_stock_mgc``). :func:`label` gives the
display label with its unit (``面积 (公顷)``, ``Area (ha)``); :data:`UNITS` the unit texts.

How to add a column (or a summary key)
--------------------------------------
1. If the name is new, add a ``Term`` to :data:`TERMS` (in the block of its subject):
   ``Term("sequestration_mgc", "固碳量", "Sequestration", "Mg C", "carbon taken up ...")``.
   The unit is a key of :data:`UNITS` (add one there if needed) or ``""`` for text,
   codes and counts.
2. Add the name to the ``columns`` of every :class:`FileSpec` that writes it (CSV, its
   workbook sheet, the ``zones.gpkg`` fields when they copy the table). Summary rows that
   copy a table (``rows("zones", CHANGE_BY_ZONE)``) follow the table automatically; other
   summary keys go into the ``summary`` of the :class:`ResultSpec` as a path:
   ``"redline.inside_stock_mgc"``, ``"zones[].zone"`` (``[]``: each element of a list),
   ``"stock_mgc_by_pool.*"`` (``*``: keys that are data, e.g. pools or class codes; the
   label is the parent's).
3. Run the tests: ``tests/test_resultspec.py`` fails on a column or key a writer writes
   but the spec does not declare, and on a term without both labels.

A new file: add a :class:`FileSpec` constant below and list it in its kind's
:class:`ResultSpec`; write it through the constant (``rf.path(CARBON_DENSITY.name)``),
never by a string literal.

Patterns: a column name with ``{year}``, ``{group}``, ``{zone_type}`` or ``{class}`` matches a
family of columns (``coverage_{year}`` matches ``coverage_2020``); its label is the term's
label with the matched value appended.

Examples
--------
>>> label("area_ha", "zh"), label("area_ha", "en")
('面积 (公顷)', 'Area (ha)')
>>> spec("carbon").file(STOCKS_BY_ZONE.name).kind
'table'
>>> undeclared_columns(STOCKS_BY_ZONE, ["zone", "area_ha", "stock_mgc", "made_up"])
['made_up']
>>> label("coverage_2020", "en")
'Forest coverage 2020'
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "SCHEMA_VERSION",
    "Term",
    "TERMS",
    "UNITS",
    "FileSpec",
    "ResultSpec",
    "SPECS",
    "KINDS",
    "spec",
    "term",
    "label",
    "unit_text",
    "undeclared_columns",
    "undeclared_summary_keys",
    "check_columns",
    "check_summary",
    "strict",
    "summary_header",
    "outputs_markdown",
    "sheet_title",
    "SHEET_TITLES",
    "value_label",
    "VALUE_LABELS",
    "COLUMN_VALUES",
    "RULE_NAMES",
    "CSV_METADATA",
    "rows",
]

#: Version of the folder layout and summary record; bump it when a file or key changes meaning.
SCHEMA_VERSION = 1


# --------------------------------------------------------------------------- units
#: Unit code → (Chinese text, English text) shown after a label. Codes not listed here
#: (``""`` text/codes/counts, ``"fraction"``, ``"1"``) are shown without a unit.
UNITS: dict[str, tuple[str, str]] = {
    "currency": ("货币单位", "currency"),
    "ha": ("公顷", "ha"),
    "m2": ("平方米", "m²"),
    "m": ("米", "m"),
    "km": ("km", "km"),
    "deg": ("°", "°"),
    "Mg C": ("Mg C", "Mg C"),
    "Tg C": ("Tg C", "Tg C"),
    "Mt CO2e": ("Mt CO2e", "Mt CO2e"),
    "Mg C/ha": ("Mg C/公顷", "Mg C/ha"),
    "Mg C/yr": ("Mg C/年", "Mg C/yr"),
    "Mg C/ha/yr": ("Mg C/公顷/年", "Mg C/ha/yr"),
    "Mt CO2e/yr": ("Mt CO2e/年", "Mt CO2e/yr"),
    "m3": ("立方米", "m³"),
    "m3/ha": ("立方米/公顷", "m³/ha"),
    "MW": ("MW", "MW"),
    "MW/km2": ("MW/平方千米", "MW/km²"),
    "MWh/yr": ("MWh/年", "MWh/yr"),
    "CNY": ("元", "CNY"),
    "CNY/MWh": ("元/MWh", "CNY/MWh"),
    "CNY/kW": ("元/千瓦", "CNY/kW"),
    "CNY/kW/yr": ("元/千瓦/年", "CNY/kW/yr"),
    "CNY/km": ("元/千米", "CNY/km"),
    "t CO2/MWh": ("吨CO2/MWh", "t CO2/MWh"),
    "t CO2/yr": ("吨CO2/年", "t CO2/yr"),
    "kV": ("千伏", "kV"),
    "px": ("像元", "px"),
    "fraction/yr": ("每年", "per year"),
    "year": ("年", "year"),
}
_SILENT_UNITS = {"", "fraction", "1", "count", "code", "text", "px", "fraction/yr"}


@dataclass(frozen=True)
class Term:
    """A column or summary key: its name, Chinese and English labels, unit and meaning."""

    name: str
    zh: str
    en: str
    unit: str = ""
    about: str = ""


def _terms(*items: Term) -> dict[str, Term]:
    out: dict[str, Term] = {}
    for t in items:
        if t.name in out:
            raise ValueError(f"term {t.name!r} declared twice")
        out[t.name] = t
    return out


T = Term
#: Every column and summary key name, declared once.
TERMS: dict[str, Term] = _terms(
    # ---------------------------------------------------------------- shared
    T("zone", "分区", "Zone", "", "zone name as in the zone layer; '(outside zones)' is land outside every zone, '(all)' the whole map without zones"),
    T("zones", "分区", "Zones", "", "one record per zone"),
    T("zone_id", "分区编号", "Zone id", "", "1, 2, ... in the order of the zone layer; 0 is outside every zone"),
    T("layer_{field}", "分区图层字段", "Zone-layer field", "", "a field of the zone layer as read (e.g. layer_name_en), "
      "copied for map labels (sinkplan map --label-field)"),
    T("year", "年份", "Year", "", "year of the land-cover map"),
    T("area_ha", "面积", "Area", "ha", "ground area on the ellipsoid"),
    T("mapped_fraction", "有数据比例", "Mapped fraction", "fraction", "share of the zone's polygon area the raster maps with a land class"),
    T("in_zone_layer", "属于分区图层", "In the zone layer", "", "false for the row of land outside every zone"),
    T("code", "类别代码", "Class code", "", "land-cover class code of the scheme"),
    T("name_en", "类别名称（英文）", "Class name (English)", "", "class name in English"),
    T("name_zh", "类别名称（中文）", "Class name (Chinese)", "", "class name in Chinese"),
    T("group", "类别组", "Class group", "", "group of the class: forest, shrubland, grassland, cropland, wetland, water, built, barren, snow_ice, nodata"),
    T("color", "颜色", "Colour", "", "#rrggbb display colour of the class"),
    T("pixels", "像元数", "Pixels", "px", "pixel count"),
    T("source", "来源", "Source", "", "where the figure comes from"),
    T("note", "说明", "Note", "", "remark on the row"),
    T("units", "单位", "Units", "", "units of the figures"),
    T("scheme", "分类体系", "Class scheme", "", "name of the land-cover class scheme"),
    T("landcover", "土地覆盖图", "Land-cover map", "", "path of the land-cover raster"),
    T("land_pixels", "有效像元数", "Land pixels", "px", "pixels with a land class (not nodata)"),
    T("notes", "说明", "Notes", "", "remarks on the run (missing layers, assumptions)"),
    T("years", "年份", "Years", "", "years before and after"),
    T("method", "方法", "Method", "", "the method and its reference"),
    T("features", "特征", "Features", "", "feature names of the model"),
    T("model", "模型", "Model", "", "model type"),
    T("density_mgc_per_ha", "平均碳密度", "Mean carbon density", "Mg C/ha", "stock ÷ area"),
    # ---------------------------------------------------------------- schema header
    T("schema_version", "结构版本", "Schema version", "", "version of the result-folder contract (sinkplan.layers.resultspec.SCHEMA_VERSION)"),
    T("kind", "结果类型", "Result kind", "", "carbon, coverage, change, restoration, site, classify, area-estimate, density-model, landcover"),
    # ---------------------------------------------------------------- carbon
    T("stock_mgc", "碳储量", "Carbon stock", "Mg C", "sum of the four pools"),
    T("stock_tgc", "碳储量", "Carbon stock", "Tg C", "stock_mgc ÷ 10⁶"),
    T("stock_mt_co2e", "碳储量", "Carbon stock", "Mt CO2e", "stock_mgc × 44/12 ÷ 10⁶"),
    T("stock_mgc_above", "地上碳储量", "Above-ground stock", "Mg C", "above-ground biomass pool"),
    T("stock_mgc_below", "地下碳储量", "Below-ground stock", "Mg C", "below-ground biomass pool"),
    T("stock_mgc_soil", "土壤碳储量", "Soil stock", "Mg C", "soil organic carbon pool (depth in the density table)"),
    T("stock_mgc_dead", "枯落物碳储量", "Dead organic matter stock", "Mg C", "dead wood and litter pool"),
    T("stock_mgc_p2_5", "碳储量 2.5% 分位", "Carbon stock, 2.5th percentile", "Mg C", "Monte Carlo draws over the densities"),
    T("stock_mgc_p97_5", "碳储量 97.5% 分位", "Carbon stock, 97.5th percentile", "Mg C", "Monte Carlo draws over the densities"),
    T("stock_mgc_draws_mean", "碳储量抽样均值", "Carbon stock, mean of draws", "Mg C", "check that the draws centre on the point estimate"),
    T("inside_redline_area_ha", "红线内面积", "Area inside the redline", "ha", "ecological protection redline"),
    T("inside_redline_stock_mgc", "红线内碳储量", "Stock inside the redline", "Mg C", "ecological protection redline"),
    T("density_mgc_per_ha_above", "地上碳密度", "Above-ground density", "Mg C/ha", "density table value"),
    T("density_mgc_per_ha_below", "地下碳密度", "Below-ground density", "Mg C/ha", "density table value"),
    T("density_mgc_per_ha_soil", "土壤碳密度", "Soil density", "Mg C/ha", "density table value"),
    T("density_mgc_per_ha_dead", "枯落物碳密度", "Dead organic matter density", "Mg C/ha", "density table value"),
    T("stock_mgc_by_pool", "分碳库碳储量", "Stock by pool", "Mg C", "above, below, soil, dead"),
    T("redline", "生态保护红线", "Ecological protection redline", "", "figures inside and outside the redline"),
    T("inside_area_ha", "红线内面积", "Area inside the redline", "ha", ""),
    T("inside_stock_mgc", "红线内碳储量", "Stock inside the redline", "Mg C", ""),
    T("outside_area_ha", "红线外面积", "Area outside the redline", "ha", ""),
    T("outside_stock_mgc", "红线外碳储量", "Stock outside the redline", "Mg C", ""),
    T("inside_stock_mgc_p2_5", "红线内碳储量 2.5% 分位", "Stock inside, 2.5th percentile", "Mg C", ""),
    T("inside_stock_mgc_p97_5", "红线内碳储量 97.5% 分位", "Stock inside, 97.5th percentile", "Mg C", ""),
    T("outside_stock_mgc_p2_5", "红线外碳储量 2.5% 分位", "Stock outside, 2.5th percentile", "Mg C", ""),
    T("outside_stock_mgc_p97_5", "红线外碳储量 97.5% 分位", "Stock outside, 97.5th percentile", "Mg C", ""),
    T("inside", "红线内", "Inside the redline", "", ""),
    T("outside", "红线外", "Outside the redline", "", ""),
    T("uncertainty", "不确定性", "Uncertainty", "", "Monte Carlo draws over the density table"),
    T("draws", "抽样次数", "Draws", "", "Monte Carlo draws"),
    T("seed", "随机种子", "Random seed", "", "seed of the draws (reproducible)"),
    T("distribution", "分布", "Distribution", "", "distribution of each density value"),
    T("percentiles", "分位数", "Percentiles", "", "percentiles of the interval"),
    T("p2_5", "2.5% 分位", "2.5th percentile", "Mg C", ""),
    T("p97_5", "97.5% 分位", "97.5th percentile", "Mg C", ""),
    T("draws_mean", "抽样均值", "Mean of draws", "Mg C", ""),
    T("densities", "碳密度表", "Density table", "", "the density table used"),
    T("table", "表", "Table", "", "path or shipped name of the table"),
    T("keyed_by", "键", "Keyed by", "", "lucode or group"),
    T("soil_depth_cm", "土壤深度", "Soil depth", "", "depth of the soil pool, cm"),
    T("title", "标题", "Title", "", ""),
    T("area", "面积单位", "Area unit", "", ""),
    T("stock", "储量单位", "Stock unit", "", ""),
    T("density", "密度单位", "Density unit", "", ""),
    T("co2e", "二氧化碳当量单位", "CO2e unit", "", ""),
    T("density_raster", "碳密度栅格", "Density raster", "", "the density map used instead of the table for some pools"),
    # ---------------------------------------------------------------- coverage
    T("land_area_ha", "土地面积", "Land area", "ha", "the denominator of coverage (official, polygon or mapped area)"),
    T("forest_area_ha", "乔木林面积", "Tree forest area", "ha", "area of the forest group (tree forest); special shrubland is special_shrub_area_ha"),
    T("coverage", "森林覆盖率", "Forest coverage", "fraction", "forest area ÷ land area"),
    T("gap_ha", "距目标缺口", "Gap to target", "ha", "forest area still needed to reach the target"),
    T("mapped_area_ha", "有数据面积", "Mapped area", "ha", "area the raster maps with a land class (site: total_area_ha − nodata_area_ha, the land the rules screened)"),
    T("land_area_source", "土地面积来源", "Land area source", "", "official (land_area_ha), polygon or mapped area"),
    T("first_year", "起始年份", "First year", "", ""),
    T("last_year", "终止年份", "Last year", "", ""),
    T("annual_change", "年均覆盖率变化", "Annual coverage change", "fraction/yr", "change of coverage per year between the first and last year"),
    T("annual_forest_change_ha", "年均森林面积变化", "Annual forest change", "ha", "per year"),
    T("target_year_at_this_rate", "按此速度达标年份", "Target reached at this rate in", "year", "year the coverage target is met: the last year when met by then, a later year at the annual change; empty when already met in the first year or never at this rate (see target_status)"),
    T("target_status", "达标情况", "Target status", "", "'already met' (in the first year), 'met' (by the last year), 'at this rate' (in target_year_at_this_rate), 'not at this rate'"),
    T("volume_m3", "森林蓄积量", "Forest stock volume", "m3", "growing stock volume"),
    T("target", "目标", "Target", "", "the policy target compared against"),
    T("value", "数值", "Value", "", ""),
    T("clause", "条款", "Clause", "", "the policy clause of the target"),
    T("unit", "单位", "Unit", "", ""),
    T("count_shrub", "计入特灌林", "Special shrubland counted", "", "shrubland counted as special shrub forest"),
    T("forest_groups", "计为森林的类别组", "Groups counted as forest", "", ""),
    T("totals", "合计", "Totals", "", "the whole region per year"),
    T("trend", "变化趋势", "Trend", "", "the whole region's annual change"),
    T("trend_by_zone", "分区变化趋势", "Trend by zone", "", ""),
    T("volume", "森林蓄积量", "Forest stock volume", "", "volume per year and against its target"),
    T("by_year", "逐年", "By year", "", ""),
    T("share_of_target", "目标完成比例", "Share of target", "fraction", "result ÷ target"),
    T("forest_area_ha_{year}", "森林面积", "Forest area", "ha", "in the year"),
    T("coverage_{year}", "森林覆盖率", "Forest coverage", "fraction", "in the year"),
    T("gap_ha_{year}", "距目标缺口", "Gap to target", "ha", "in the year"),
    # ---- coverage by the official definition (issue 10)
    T("special_shrub_area_ha", "国家特别规定灌木林地面积", "Special shrubland", "ha", "shrubland meeting the rule of 林资发〔2004〕14号 (precipitation < 400 mm, cover > 30 %) or inside the designated layer; empty where the rule cannot be decided"),
    T("shrub_area_ha", "灌木林地面积（全部）", "All shrubland", "ha", "area of the shrubland group"),
    T("extra_forest_ha", "四旁树、农田林网等面积", "Extra forest (trees outside forest)", "ha", "四旁树, 农田林网 a 30 m map misses (--extra-forest-ha)"),
    T("counted_forest_ha", "计入覆盖率的森林面积", "Forest counted in coverage", "ha", "tree forest + special shrubland + extra forest"),
    T("coverage_trees_only", "森林覆盖率下限（仅乔木林）", "Coverage, lower bound (trees only)", "fraction", "(tree forest + extra) ÷ land area"),
    T("coverage_all_shrub", "森林覆盖率上限（含全部灌木林）", "Coverage, upper bound (all shrub)", "fraction", "(tree forest + all shrubland + extra) ÷ land area"),
    T("coverage_trees_only_{year}", "森林覆盖率下限", "Coverage, lower bound", "fraction", "in the year"),
    T("coverage_all_shrub_{year}", "森林覆盖率上限", "Coverage, upper bound", "fraction", "in the year"),
    T("special_shrub_rule", "特灌林判定", "Special-shrubland rule", "", "how the rule was decided (and, per row, whether it could be)"),
    T("definition", "定义", "Definition", "", "the national definition of forest coverage used"),
    T("mode", "判定方式", "Mode", "", "rule (from data), all (--count-shrub), none (--trees-only), missing (no data: bounds)"),
    T("data", "判定数据", "Data used", "", "the precipitation, cover or designation data the rule was decided from"),
    T("cover_checked", "是否检查盖度", "Cover checked", "", "whether the > 30 % cover criterion was applied"),
    T("not_applied_zones", "未能判定的分区", "Zones without a decision", "", "zones with shrubland the rule could not be applied to"),
    T("region", "目标区域", "Target region", "", "the region a policy target is set for"),
    T("region_land_area_ha", "目标区域土地面积", "Target region land area", "ha", "official land area of the target's region"),
    T("applies_to_total", "适用于全区合计", "Applies to the run total", "", "whether the target is compared with the run total"),
    T("why", "原因", "Why", "", ""),
    T("zone_targets", "分区目标", "Zone targets", "", "per-zone targets (--targets CSV)"),
    T("trees_only", "仅计乔木林", "Trees only", "", "--trees-only"),
    T("trend_groups", "上级变化趋势", "Trend by group", "", "with --group-by"),
    T("trend_region_total", "全区变化趋势", "Region trend", "", "with --group-by"),
    T("target_applies", "目标适用", "Target applies", "", ""),
    T("volume_m3_per_ha", "单位面积蓄积量", "Stock volume per hectare", "m3/ha", "volume ÷ tree forest area (m³/ha)"),
    T("target_m3", "蓄积量目标", "Volume target", "m3", "per-zone target (--targets)"),
    T("from_year", "起始年份", "From year", "", ""),
    T("to_year", "终止年份", "To year", "", ""),
    T("volume_change_m3", "蓄积量变化", "Stock volume change", "m3", "volume in to_year − volume in from_year"),
    T("area_effect_m3", "面积效应", "Area effect", "m3", "Σ (area after − area before) × volume per ha before"),
    T("growth_effect_m3", "生长效应", "Growth effect", "m3", "Σ area after × (volume per ha after − before)"),
    # ---------------------------------------------------------------- change
    T("changed_area_ha", "变化面积", "Changed area", "ha", "area whose class changed"),
    T("stock_before_mgc", "期初碳储量", "Stock before", "Mg C", ""),
    T("stock_after_mgc", "期末碳储量", "Stock after", "Mg C", ""),
    T("gross_gain_mgc", "碳储量总增加", "Gross carbon gain", "Mg C", "sum of the transitions that gain carbon"),
    T("gross_loss_mgc", "碳储量总减少", "Gross carbon loss", "Mg C", "sum of the transitions that lose carbon (positive)"),
    T("net_change_mgc", "碳储量净变化", "Net carbon change", "Mg C", "after − before (equilibrium stock difference)"),
    T("net_change_mgc_above", "地上碳储量净变化", "Net change, above-ground", "Mg C", ""),
    T("net_change_mgc_below", "地下碳储量净变化", "Net change, below-ground", "Mg C", ""),
    T("net_change_mgc_soil", "土壤碳储量净变化", "Net change, soil", "Mg C", ""),
    T("net_change_mgc_dead", "枯落物碳储量净变化", "Net change, dead organic matter", "Mg C", ""),
    T("annual_net_change_mgc_per_yr", "年均碳储量净变化", "Annual net change", "Mg C/yr", "net change ÷ years"),
    T("annual_sequestration_mt_co2e_per_yr", "年均固碳量", "Annual sequestration", "Mt CO2e/yr", "annual net change × 44/12 ÷ 10⁶"),
    T("net_change_mgc_per_ha", "单位面积碳储量净变化", "Net carbon change", "Mg C/ha", "net change ÷ area"),
    T("code_before", "期初类别代码", "Class code before", "", ""),
    T("code_after", "期末类别代码", "Class code after", "", ""),
    T("name_before", "期初类别", "Class before", "", "English name"),
    T("name_after", "期末类别", "Class after", "", "English name"),
    T("name_zh_before", "期初类别（中文）", "Class before (Chinese)", "", ""),
    T("name_zh_after", "期末类别（中文）", "Class after (Chinese)", "", ""),
    T("group_before", "期初类别组", "Group before", "", ""),
    T("group_after", "期末类别组", "Group after", "", ""),
    T("stock_change_mgc", "碳储量变化", "Stock change", "Mg C", "after − before of the transition (folders before the transition-period method)"),
    T("before \\ after", "期初 \\ 期末", "before \\ after", "", "row: group before; columns: group after (ha)"),
    # ---- sequestration by transition periods (issue 10) and the equilibrium difference
    T("sequestration_mgc", "固碳量（过渡期法）", "Sequestration (transition periods)", "Mg C", "carbon taken up (+) or lost (−) between the map years by the IPCC 2006 Tier 1 transition-period rules: soil over D years, biomass growth at a sourced rate, losses immediate"),
    T("sequestration_gain_mgc", "固碳增加量", "Sequestration gains", "Mg C", "sum of the transitions that gained carbon by the transition-period rules"),
    T("sequestration_loss_mgc", "碳损失量", "Sequestration losses", "Mg C", "sum of the transitions that lost carbon by the transition-period rules (positive)"),
    T("sequestration_mgc_above", "地上固碳量", "Sequestration, above-ground", "Mg C", "pool above"),
    T("sequestration_mgc_below", "地下固碳量", "Sequestration, below-ground", "Mg C", "pool below"),
    T("sequestration_mgc_soil", "土壤固碳量", "Sequestration, soil", "Mg C", "pool soil"),
    T("sequestration_mgc_dead", "枯落物固碳量", "Sequestration, dead organic matter", "Mg C", "pool dead"),
    T("annual_sequestration_mgc_per_yr", "年均固碳量", "Annual sequestration", "Mg C/yr", "sequestration ÷ years"),
    T("sequestration_mgc_per_ha", "单位面积固碳量", "Sequestration per hectare", "Mg C/ha", "sequestration ÷ area, over the interval"),
    T("sequestration_mgc_p2_5", "固碳量 2.5% 分位", "Sequestration, 2.5th percentile", "Mg C", "Monte Carlo draws over the densities"),
    T("sequestration_mgc_p97_5", "固碳量 97.5% 分位", "Sequestration, 97.5th percentile", "Mg C", "Monte Carlo draws over the densities"),
    T("sequestration_mgc_draws_mean", "固碳量抽样均值", "Sequestration, mean of draws", "Mg C", "check that the draws centre on the point estimate"),
    T("equilibrium_change_mgc", "平衡态碳储量差（潜力）", "Change at equilibrium (potential)", "Mg C", "stock difference of the two class-mean maps: the change once every converted pixel has reached its new class's density"),
    T("equilibrium_gain_mgc", "平衡态碳储量增加", "Gains at equilibrium", "Mg C", "sum of the transitions that gain carbon at equilibrium"),
    T("equilibrium_loss_mgc", "平衡态碳储量减少", "Losses at equilibrium", "Mg C", "sum of the transitions that lose carbon at equilibrium (positive)"),
    T("equilibrium_change_mgc_above", "地上平衡态碳储量差", "Change at equilibrium, above-ground", "Mg C", "pool above"),
    T("equilibrium_change_mgc_below", "地下平衡态碳储量差", "Change at equilibrium, below-ground", "Mg C", "pool below"),
    T("equilibrium_change_mgc_soil", "土壤平衡态碳储量差", "Change at equilibrium, soil", "Mg C", "pool soil"),
    T("equilibrium_change_mgc_dead", "枯落物平衡态碳储量差", "Change at equilibrium, dead organic matter", "Mg C", "pool dead"),
    T("annual_equilibrium_change_mgc_per_yr", "年均平衡态碳储量差", "Annual change at equilibrium", "Mg C/yr", "equilibrium change ÷ years"),
    T("equilibrium_change_mgc_per_ha", "单位面积平衡态碳储量差", "Change at equilibrium per hectare", "Mg C/ha", "equilibrium change ÷ area"),
    T("equilibrium_change_mgc_p2_5", "平衡态碳储量差 2.5% 分位", "Change at equilibrium, 2.5th percentile", "Mg C", "Monte Carlo draws over the densities"),
    T("equilibrium_change_mgc_p97_5", "平衡态碳储量差 97.5% 分位", "Change at equilibrium, 97.5th percentile", "Mg C", "Monte Carlo draws over the densities"),
    T("equilibrium_change_mgc_draws_mean", "平衡态碳储量差抽样均值", "Change at equilibrium, mean of draws", "Mg C", ""),
    T("remaining_to_equilibrium_mgc", "尚待实现的碳储量变化", "Change still to come", "Mg C", "equilibrium change − sequestration: what accrues after the later map if the land stays in its class"),
    T("sequestration", "固碳量方法", "Sequestration method", "", "name of the method of sequestration_mgc"),
    T("equilibrium_change", "平衡态差方法", "Equilibrium-change method", "", "name of the method of equilibrium_change_mgc"),
    T("conversion_timing", "转换时间", "Conversion timing", "", "start, mid or end of the interval"),
    T("transition_years", "过渡期", "Transition period", "year", "years for soil carbon (and dead-matter gains) to reach the new class's stock"),
    T("rules", "规则", "Rules", "", "the transition-period rules, one sentence per pool"),
    T("growth_table", "生长速率表", "Growth table", "", "path or shipped name of the biomass growth table"),
    T("growth", "生物量生长", "Biomass growth", "", "one record per group: curve, rate, parameters, source"),
    T("curve", "生长曲线", "Growth curve", "", "linear, chapman_richards or one_year"),
    T("rate_mgc_per_ha_per_yr", "生物量生长速率", "Biomass growth rate", "Mg C/ha/yr", "above + below ground biomass"),
    T("k_per_yr", "Chapman-Richards k", "Chapman-Richards k", "", "1/yr"),
    T("p", "Chapman-Richards p", "Chapman-Richards p", "", "shape parameter"),
    T("assumption", "假设值", "Assumption", "", "true when the value was assumed or recalled, not read in its source"),
    T("why_not", "未计算原因", "Why not computed", "", ""),
    T("ring_sequestration_mgc", "对照环带固碳量", "Control ring sequestration", "Mg C", ""),
    T("ring_equilibrium_change_mgc", "对照环带平衡态碳储量差", "Control ring change at equilibrium", "Mg C", ""),
    T("ring_equilibrium_change_mgc_per_ha", "对照环带单位面积平衡态碳储量差", "Control ring change at equilibrium", "Mg C/ha", ""),
    T("equilibrium_difference_mgc_per_ha", "平衡态修复效果（项目内 − 环带）", "Effect at equilibrium (inside − ring)", "Mg C/ha", ""),
    # ---- zone hierarchy (--group-by)
    T("zone_level", "层级", "Level", "", "zone (banner), group (league) or region (whole-region total)"),
    T("zone_group", "所属上级", "Group", "", "the group (league) a zone belongs to; the group itself on its row"),
    T("group_totals", "上级汇总", "Group totals", "", "one record per group (league), summed from its zones"),
    T("group_members", "各上级所辖分区", "Zones of each group", "", "group → its zones"),
    T("region_total", "全区合计", "Region total", "", "the whole region: the sum of the groups"),
    T("hierarchy", "分级汇总", "Zone hierarchy", "", "the --group-by field and the zones of each group"),
    T("group_by", "分组字段", "Group-by field", "", "field of the zone layer holding each zone's group"),
    T("exactness", "加和精度", "Exactness", "", "how group and region rows add up"),
    # ---- valuation (InVEST formula), annual series, densities by region and climate, IPCC fallback
    T("npv", "固碳净现值", "Net present value of sequestration", "currency", "sequestration × 44/12 × price, spread evenly over the interval and discounted (InVEST carbon model); in valuation.currency"),
    T("valuation", "经济价值评估", "Valuation", "", "carbon price, discounting and the formula"),
    T("price_per_t_co2e", "碳价", "Carbon price", "currency", "per tonne of CO2 equivalent"),
    T("currency", "货币", "Currency", "", ""),
    T("discount_rate_pct", "贴现率", "Discount rate", "", "percent per year"),
    T("price_change_pct", "碳价值年变化率", "Annual change of the carbon value", "", "percent per year, enters as a second discount (InVEST rate_change)"),
    T("valuation_factor", "贴现系数", "Valuation factor", "", "(1/T) Σ q^t"),
    T("formula", "公式", "Formula", "", ""),
    T("valued", "评估对象", "Valued figure", "", ""),
    T("intervals", "各时段", "Intervals", "", "one record per pair of consecutive maps"),
    T("series", "时间序列", "Series", "", "how the annual series was run"),
    T("maps", "图幅数", "Maps", "", "number of land-cover maps"),
    T("pixel_ages", "像元年龄", "Pixel ages", "", ""),
    T("pixels_counted", "计入像元", "Pixels counted", "", ""),
    T("tier1_fallback", "IPCC Tier 1 补充", "IPCC Tier 1 fallback", "", "rows added from IPCC 2006 Tier 1 defaults for groups the table lacks"),
    T("c_above", "地上碳密度", "Above-ground density", "Mg C/ha", ""),
    T("c_below", "地下碳密度", "Below-ground density", "Mg C/ha", ""),
    T("c_soil", "土壤碳密度", "Soil density", "Mg C/ha", ""),
    T("c_dead", "枯落物碳密度", "Dead organic matter density", "Mg C/ha", ""),
    T("climate_correction", "气候修正", "Climate correction", "", "biomass and soil densities corrected per pixel by precipitation and temperature"),
    T("formulas", "公式", "Formulas", "", ""),
    T("reference_climate", "参照气候", "Reference climate", "", "where the table's densities were measured"),
    T("map_mm", "年均降水量", "Mean annual precipitation", "", "mm"),
    T("mat_c", "年均气温", "Mean annual temperature", "", "°C"),
    T("precipitation", "降水量栅格", "Precipitation raster", "", "mm/yr"),
    T("temperature", "气温栅格", "Temperature raster", "", "°C"),
    T("region_field", "区域字段", "Region field", "", "zone attribute matched to the density table's region column"),
    T("{group}", "类别组面积", "Group area", "ha", "area of the transition into this group"),
    # ---------------------------------------------------------------- restoration
    T("project", "项目", "Project", "", "restoration project name"),
    # a project's own attributes that restoration layers commonly carry (others keep their own names)
    T("start_year", "开始年份", "Start year", "", "year the project started (the project layer's attribute)"),
    T("project_type", "项目类型", "Project type", "", "the project layer's attribute"),
    T("attr_{field}", "项目属性", "Project attribute", "", "a project attribute whose name is a result column's"),
    T("change_mgc_per_ha", "项目内单位面积碳储量变化", "Change inside the project", "Mg C/ha", "sequestration by transition periods with years, else the equilibrium difference"),
    T("ring_area_ha", "对照环带面积", "Control ring area", "ha", "ring of surrounding land, other projects excluded"),
    T("ring_net_change_mgc", "对照环带碳储量净变化", "Control ring net change", "Mg C", ""),
    T("ring_change_mgc_per_ha", "对照环带单位面积碳储量变化", "Control ring change", "Mg C/ha", ""),
    T("difference_mgc_per_ha", "修复效果（项目内 − 环带）", "Effect (inside − ring)", "Mg C/ha", ""),
    T("difference_mgc_per_ha_per_yr", "年均修复效果", "Annual effect", "Mg C/ha/yr", ""),
    T("control_ring_km", "对照环带宽度", "Control ring width", "km", ""),
    T("restoration", "生态修复效果", "Restoration effect", "", "per project"),
    # ---------------------------------------------------------------- site
    T("parcel_id", "地块编号", "Parcel id", "", "id in parcels.tif"),
    T("rank", "排名", "Rank", "", "1 is the best score"),
    T("score", "得分", "Score", "", "weighted criteria, 0 to 1"),
    T("zone_type", "区域类型", "Zone type", "", "desert, border, mine or other (the parcel's largest part)"),
    T("admin_zone", "行政区", "Admin zone", "", "zone of the parcel's largest part"),
    T("area_ha_desert", "其中沙漠戈壁面积", "of which desert/gobi", "ha", ""),
    T("area_ha_border", "其中边境地区面积", "of which border area", "ha", ""),
    T("area_ha_mine", "其中采矿修复区面积", "of which mine restoration", "ha", ""),
    T("area_ha_other", "其中其他可选址用地面积", "of which other eligible land", "ha", ""),
    T("capacity_mw", "装机容量", "Capacity", "MW", "area × power density"),
    T("slope_mean_deg", "平均坡度", "Mean slope", "deg", ""),
    T("slope_max_deg", "最大坡度", "Max slope", "deg", ""),
    T("distance_to_grid_km", "距电网距离", "Distance to grid", "km", "edge to the nearest line or substation"),
    T("stock_mgc_per_ha", "碳密度", "Carbon density", "Mg C/ha", ""),
    T("compactness", "紧凑度", "Compactness", "", "Polsby-Popper 4πA/P²"),
    T("perimeter_km", "周长", "Perimeter", "km", ""),
    T("base_id", "基地编号", "Base id", "", "0: in no base"),
    T("s_slope", "坡度得分", "Slope score", "", "0 to 1"),
    T("s_grid", "电网距离得分", "Grid distance score", "", "0 to 1"),
    T("s_carbon", "碳储量得分", "Carbon score", "", "0 to 1"),
    T("s_compactness", "紧凑度得分", "Compactness score", "", "0 to 1"),
    T("s_zone", "区域优先级得分", "Zone priority score", "", "0 to 1"),
    T("parcels", "地块数", "Parcels", "", ""),
    T("members", "成员地块", "Member parcels", "", "parcel ids"),
    T("zone_types", "区域类型", "Zone types", "", ""),
    T("admin_zones", "行政区", "Admin zones", "", ""),
    T("best_rank", "最佳排名", "Best rank", "", ""),
    T("mean_score", "平均得分", "Mean score", "", ""),
    T("key", "参数", "Parameter", "", "profile key varied"),
    T("eligible_area_ha", "可选址面积", "Eligible area", "ha", ""),
    T("target_mw", "目标装机", "Target capacity", "MW", ""),
    T("capacity_mw_{zone_type}", "装机容量", "Capacity", "MW", "of the zone type"),
    T("bit", "位", "Bit", "", "bit index in exclusions.tif"),
    T("rule", "规则", "Rule", "", ""),
    T("description", "说明", "Description", "", ""),
    T("width_m", "宽度", "Width", "m", ""),
    T("width_km", "宽度", "Width", "km", ""),
    T("name", "名称", "Name", "", ""),
    T("kv", "电压等级", "Voltage", "", "kV"),
    T("source_file", "来源文件", "Source file", "", ""),
    T("tech", "技术", "Technology", "", "pv or wind"),
    T("profile", "配置", "Profile", "", "siting profile name"),
    T("profile_origin", "配置文件", "Profile file", "", ""),
    T("power_density_mw_per_km2", "装机密度", "Power density", "MW/km2", ""),
    T("max_slope_deg", "最大坡度", "Max slope", "deg", ""),
    T("min_parcel_area_ha", "最小地块面积", "Minimum parcel area", "ha", ""),
    T("total_area_ha", "总面积", "Total area", "ha", "site: every pixel of the land-cover raster, nodata included (the raster's extent, not the region's land: see mapped_area_ha); area-estimate: the mapped area of all strata, nodata excluded"),
    T("nodata_area_ha", "无数据面积", "Area without land-cover data", "ha", "pixels of the land-cover raster that are nodata or of the nodata group (exclusion rule nodata)"),
    T("excluded_area_ha", "排除面积", "Excluded area", "ha", "total_area_ha − eligible_area_ha (nodata pixels included; mapped_area_ha − eligible_area_ha is the land the rules excluded)"),
    T("small_fragments_area_ha", "过小地块面积", "Area of small fragments", "ha", "eligible land in parcels under the minimum area"),
    T("bases", "基地数", "Bases", "", ""),
    T("by_zone_type", "各类区域", "By zone type", "", ""),
    T("target_key", "目标键", "Target key", "", ""),
    T("target_year", "目标年份", "Target year", "", ""),
    T("target_clause", "目标条款", "Target clause", "", ""),
    T("exclusion_bits", "排除规则", "Exclusion rules", "", "bit, value, rule, description and area of each rule in exclusions.tif"),
    T("eligible_codes", "可选址用地代码", "Eligible-land codes", "", "code of eligible.tif → zone type"),
    T("criteria_used", "所用评分指标", "Criteria used", "", ""),
    T("weights", "权重", "Weights", "", ""),
    T("sweep", "情景", "Sweep", "", "one row per profile value"),
    # ---------------------------------------------------------------- site: issue 11 (land rules, energy, cost, account)
    T("mw_per_km2", "装机密度", "Power density", "MW/km2", "capacity ÷ area (row-spacing rule at each pixel's latitude and slope, or the fixed density)"),
    T("energy_mwh_per_yr", "年发电量", "Annual energy", "MWh/yr", "PV by pvlib from GHI (or PVOUT as given), wind by a windpowerlib power curve"),
    T("capacity_factor", "容量系数", "Capacity factor", "fraction", "energy ÷ (capacity × 8760 h)"),
    T("resource_mean", "平均资源量", "Mean resource", "", "area-weighted GHI (kWh/m²/yr), PVOUT (kWh/kWp/yr) or wind speed (m/s)"),
    T("turbines", "风机台数", "Turbines", "", "turbines placed (wind.turbine.placement = turbines)"),
    T("terrain_class", "地形类别", "Terrain class", "", "TD/T 1075-2023 class (I, II, III) of the parcel's largest part"),
    T("area_ha_terrain_i", "其中Ⅰ类地形面积", "of which terrain class I", "ha", "slope ≤ 3°"),
    T("area_ha_terrain_ii", "其中Ⅱ类地形面积", "of which terrain class II", "ha", "3–20° and relief < 200 m"),
    T("area_ha_terrain_iii", "其中Ⅲ类地形面积", "of which terrain class III", "ha", "steeper or more relief"),
    T("distance_to_substation_km", "距变电站距离", "Distance to substation", "km", "geodesic, edge to the nearest substation"),
    T("substation_kv", "变电站电压等级", "Substation voltage", "kV", "of the nearest substation (NaN: unknown)"),
    T("grid_cost_cny", "并网线路费用", "Grid-connection cost", "CNY", "distance × cost per km by voltage"),
    T("lcoe_cny_per_mwh", "平准化度电成本", "LCOE", "CNY/MWh", "(FCR × (capex + grid) + opex) ÷ energy (reV lcoe_fcr)"),
    T("carbon_payback_years", "碳回收期", "Carbon payback", "year", "carbon at stake (t CO2) ÷ avoided emissions per year"),
    T("s_energy", "发电量得分", "Energy score", "", "capacity factor ÷ the best parcel's, 0 to 1"),
    T("not_checked", "未核查规则", "Not checked", "", "policy rule sets the run could not check (the capacity is then an upper bound)"),
    T("order", "序号", "Order", "", "position by LCOE, cheapest first"),
    T("cumulative_capacity_mw", "累计装机", "Cumulative capacity", "MW", ""),
    T("cumulative_energy_mwh_per_yr", "累计年发电量", "Cumulative annual energy", "MWh/yr", ""),
    T("turbine_id", "风机编号", "Turbine id", "", ""),
    T("turbine_type", "风机型号", "Turbine type", "", "windpowerlib OEDB turbine library"),
    T("rating_mw", "单机容量", "Rating", "MW", ""),
    T("rotor_diameter_m", "风轮直径", "Rotor diameter", "m", ""),
    T("hub_height_m", "轮毂高度", "Hub height", "m", ""),
    T("status", "状态", "Status", "", "not checked"),
    T("option", "命令行选项", "Option", "", "the option that gives the layer"),
    T("effect", "影响", "Effect", "", "upper_bound, zone_missing, not_scored, no_energy, excluded_instead"),
    T("capacity_is_upper_bound", "装机为上限", "Capacity is an upper bound", "", "true when a required policy layer was not checked"),
    T("capacity_method", "装机估算方法", "Capacity method", "", ""),
    T("max_parcel_area_ha", "最大地块面积", "Maximum parcel area", "ha", "larger connected land is cut along a grid of cells of this size"),
    T("largest_parcel_area_ha", "最大地块实际面积", "Largest parcel", "ha", ""),
    T("energy_model", "发电量模型", "Energy model", "", "method, library versions, losses"),
    T("lcoe_cny_per_mwh_min", "最低平准化度电成本", "Lowest LCOE", "CNY/MWh", ""),
    T("lcoe_cny_per_mwh_median", "平准化度电成本中位数", "Median LCOE", "CNY/MWh", ""),
    T("lcoe_cny_per_mwh_max", "最高平准化度电成本", "Highest LCOE", "CNY/MWh", ""),
    T("cost", "成本参数", "Cost parameters", "", "the profile's [cost] table"),
    T("emission_factor_t_co2_per_mwh", "电网排放因子", "Grid emission factor", "t CO2/MWh", "national average (Ministry of Ecology and Environment)"),
    T("avoided_t_co2_per_yr", "年减排量", "Avoided emissions", "t CO2/yr", "energy × grid emission factor"),
    T("installed_mw", "已建和已批装机", "Installed and approved capacity", "MW", "the baseline (--installed)"),
    T("installed_mw_by_tech", "按技术的已建装机", "Installed by technology", "MW", ""),
    T("installed_source", "已建装机来源", "Installed source", "", "the --installed file"),
    T("installed_note", "已建装机说明", "Installed note", "", ""),
    T("screened_mw", "筛选装机", "Screened capacity", "MW", "of every technology of the run, no land counted twice"),
    T("gap_mw", "目标缺口", "Gap to the target", "MW", "target − installed"),
    T("gap_after_screen_mw", "筛选后剩余缺口", "Gap left after the screen", "MW", "target − installed − screened (≥ 0)"),
    T("share_of_target_note", "目标比例说明", "Share of target note", "", "why share_of_target is or is not computed"),
    T("by_tech", "按技术", "By technology", "", ""),
    T("assumptions", "假设与未核实参数", "Assumptions", "", "profile numbers that are sinkplan assumptions, unverified [check] figures or user values, each with its source"),
    T("by_admin_zone", "按行政区", "By admin zone", "", "parcels' capacity and area per zone of --zones (a parcel split by its area in each)"),
    T("targets_by_zone", "分区目标核算", "Account per zone", "", "per-zone targets (--targets zones.csv): target, installed, screened, gap and share of each"),
    T("target_source", "目标来源", "Target source", "", "which target applies: the user's (--target), a per-zone targets file, the provincial one for a run covering the province, or none"),
    T("gap_note", "缺口说明", "Gap note", "", "what gap_mw is the gap of"),
    T("energy_note", "发电量说明", "Energy note", "", "why energy_mwh_per_yr of several technologies is not computed"),
    # ---------------------------------------------------------------- classify
    T("assessment", "评估方式", "Assessment", "", "spatial_block_cv, random_cv, test or lookup_table"),
    T("class", "类别", "Class", "", ""),
    T("samples", "样本数", "Samples", "", ""),
    T("overall_accuracy", "总体精度", "Overall accuracy", "fraction", ""),
    T("share_check", "类别面积比例核查", "Class share check", "", "the map's class shares against another land-cover map of the area (classify --compare-landcover)"),
    T("compare", "对照土地覆盖图", "Comparison land cover", "", "the land-cover map the shares are checked against"),
    T("ratio", "比值", "Ratio", "", "map share ÷ comparison share"),
    T("min_points", "最小差值（百分点）", "Minimum difference (points)", "", "a class is named only when the shares differ by more points than this"),
    T("far", "偏差过大的类别", "Classes far off", "", "classes whose shares differ by more than the ratio and the points"),
    T("compare_share", "对照图面积比例", "Share in the comparison", "fraction", ""),
    T("map_outside_ci", "制图面积超出置信区间的类别", "Classes mapped outside the CI", "", "codes whose mapped area lies outside the reference sample's 95 % CI of the error-adjusted area"),
    T("kappa", "Kappa 系数", "Kappa", "", ""),
    T("producers_accuracy", "生产者精度", "Producer's accuracy", "fraction", ""),
    T("users_accuracy", "用户精度", "User's accuracy", "fraction", ""),
    T("f1", "F1 分数", "F1 score", "", ""),
    T("training_samples", "训练样本数", "Training samples", "", ""),
    T("map_area_ha", "制图面积", "Mapped area", "ha", ""),
    T("model_file", "模型文件", "Model file", "", ""),
    T("spatial_block_cv", "空间分块交叉验证", "Spatially blocked CV", "", ""),
    T("random_cv", "随机交叉验证", "Random CV", "", ""),
    T("test", "独立检验", "Test set", "", ""),
    # ---------------------------------------------------------------- area estimate
    T("map_pixels", "制图像元数", "Map pixels", "px", ""),
    T("sample_units_mapped", "样本数（制图类别）", "Sample units (map class)", "", ""),
    T("sample_units_reference", "样本数（参考类别）", "Sample units (reference class)", "", ""),
    T("adjusted_area_ha", "误差校正面积", "Error-adjusted area", "ha", "Olofsson et al. 2014"),
    T("se_ha", "标准误", "Standard error", "ha", ""),
    T("ci95_ha", "95% 置信区间半宽", "95 % CI half-width", "ha", ""),
    T("ci95_low_ha", "95% 置信下限", "95 % CI low", "ha", ""),
    T("ci95_high_ha", "95% 置信上限", "95 % CI high", "ha", ""),
    T("users_ci95", "用户精度 95% 置信区间半宽", "User's accuracy 95 % CI", "fraction", ""),
    T("producers_ci95", "生产者精度 95% 置信区间半宽", "Producer's accuracy 95 % CI", "fraction", ""),
    T("map \\ reference", "制图 \\ 参考", "map \\ reference", "", "row: map class; columns: reference class"),
    T("{class}", "参考类别", "Reference class", "", "code and name of the reference class"),
    T("total", "合计", "Total", "", ""),
    T("W_i (map share)", "制图面积比例 Wᵢ", "Map share Wᵢ", "fraction", "share of the map's area in the class (Olofsson et al. 2014: W_i)"),
    T("reference_units", "参考样本数", "Reference units", "", ""),
    T("coverage_map", "森林覆盖率（制图）", "Forest coverage (map)", "fraction", ""),
    T("coverage_adjusted", "森林覆盖率（校正）", "Forest coverage (adjusted)", "fraction", ""),
    T("coverage_ci95", "森林覆盖率 95% 置信区间半宽", "Forest coverage 95 % CI", "fraction", ""),
    T("classes", "类别", "Classes", "", ""),
    T("overall_accuracy_ci95", "总体精度 95% 置信区间半宽", "Overall accuracy 95 % CI", "fraction", ""),
    T("forest_coverage", "森林覆盖率", "Forest coverage", "", "map and error-adjusted share with its CI"),
    T("groups", "类别组", "Groups", "", ""),
    T("codes", "类别代码", "Codes", "", ""),
    T("map_share", "制图比例", "Map share", "fraction", ""),
    T("adjusted_share", "校正比例", "Adjusted share", "fraction", ""),
    T("se", "标准误", "Standard error", "fraction", ""),
    T("ci95", "95% 置信区间半宽", "95 % CI half-width", "fraction", ""),
    T("ci95_low", "95% 置信下限", "95 % CI low", "fraction", ""),
    T("ci95_high", "95% 置信上限", "95 % CI high", "fraction", ""),
    T("denominator", "分母", "Denominator", "", ""),
    T("adjusted_meets", "校正值达标", "Adjusted share meets the target", "", ""),
    T("ci95_low_meets", "置信下限达标", "CI low meets the target", "", ""),
    T("reference", "参考样本", "Reference sample", "", ""),
    T("points", "点数", "Points", "", ""),
    T("used", "使用数", "Used", "", ""),
    T("dropped", "剔除数", "Dropped", "", "by reason"),
    T("weight", "面积权重", "Area weight", "fraction", "W_i"),
    T("expected_users_accuracy", "预期用户精度", "Expected user's accuracy", "fraction", ""),
    T("n_recommended", "推荐样本数", "Recommended units", "", ""),
    T("n_proportional", "按比例样本数", "Proportional units", "", ""),
    T("n_equal", "等量样本数", "Equal units", "", ""),
    T("sample_size", "样本量", "Sample size", "", "Olofsson et al. 2014 eq. 13"),
    T("target_se_overall_accuracy", "总体精度目标标准误", "Target SE of overall accuracy", "fraction", ""),
    T("allocation", "样本分配", "Allocation", "", "units per stratum"),
    # ---------------------------------------------------------------- density model
    T("r2", "决定系数 R²", "R²", "", ""),
    T("rmse", "均方根误差", "RMSE", "Mg C/ha", ""),
    T("bias", "偏差", "Bias", "Mg C/ha", ""),
    T("mae", "平均绝对误差", "MAE", "Mg C/ha", ""),
    T("folds", "折数", "Folds", "", ""),
    T("blocks", "分块数", "Blocks", "", ""),
    T("block_size_m", "分块边长", "Block size", "m", ""),
    T("target_field", "目标字段", "Target field", "", ""),
    T("pools", "碳库", "Pools", "", ""),
    T("plots", "样地", "Plots", "", ""),
    T("read", "读取数", "Read", "", ""),
    T("per_group", "各类别组", "Per group", "", ""),
    T("lookup_table", "查表法", "Lookup table", "", "the density table at the plots"),
    T("domain", "模型适用域", "Model domain", "", ""),
    T("covariates", "协变量", "Covariates", "", ""),
    T("min", "最小值", "Minimum", "", ""),
    T("max", "最大值", "Maximum", "", ""),
    T("biomass_stock_mgc", "生物量碳储量", "Biomass stock", "Mg C", ""),
    T("model_with_table_fallback", "模型（查表补充）", "Model with table fallback", "Mg C", ""),
    T("model_part", "模型部分", "Model part", "Mg C", ""),
    T("fallback_part", "查表部分", "Fallback part", "Mg C", ""),
    T("table_only", "仅查表", "Table only", "Mg C", ""),
    T("fallback_pixels", "查表补充像元数", "Fallback pixels", "px", ""),
    T("training", "训练样本", "Training", "", ""),
    T("features_read", "读取特征数", "Features read", "", ""),
    T("samples_per_class", "各类样本数", "Samples per class", "", ""),
)
del T


#: Names of the land-cover groups (DESIGN.md's fixed vocabulary) in Chinese and English.
GROUP_NAMES: dict[str, tuple[str, str]] = {
    "forest": ("林地", "Forest"), "shrubland": ("灌木林地", "Shrubland"), "grassland": ("草地", "Grassland"),
    "cropland": ("耕地", "Cropland"), "wetland": ("湿地", "Wetland"), "water": ("水体", "Water"),
    "built": ("建设用地", "Built-up"), "barren": ("未利用地", "Barren"), "snow_ice": ("冰雪", "Snow and ice"),
    "nodata": ("无数据", "No data"),
}


# --------------------------------------------------------------------------- patterns
#: What each placeholder of a pattern term matches.
_PLACEHOLDERS = {
    "year": r"\d{4}",
    "group": r"forest|shrubland|grassland|cropland|wetland|water|built|barren|snow_ice|nodata",
    "zone_type": r"desert|border|mine|other",
    "class": r"-?\d+ .*",
    "field": r"[^\W\d]\w*",
}


def _pattern(name: str) -> re.Pattern | None:
    if "{" not in name:
        return None
    parts = re.split(r"\{(\w+)\}", name)
    rx = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>{_PLACEHOLDERS[p]})" for i, p in enumerate(parts))
    return re.compile(rx + r"\Z")


_PATTERNS = {n: p for n in TERMS if (p := _pattern(n)) is not None}


def term(name: str) -> Term | None:
    """The term of a column or key name (a pattern term for ``coverage_2020``); None if undeclared."""
    t = TERMS.get(name)
    if t is not None:
        return t
    for pname, rx in _PATTERNS.items():
        if rx.match(name):
            return TERMS[pname]
    return None


def _matched(name: str) -> str:
    for rx in _PATTERNS.values():
        m = rx.match(name)
        if m:
            return " ".join(m.groups())
    return ""


def unit_text(unit: str, lang: str) -> str:
    """The unit as shown in ``lang`` ('' for text, counts and fractions)."""
    if unit in _SILENT_UNITS:
        return ""
    zh, en = UNITS.get(unit, (unit, unit))
    return zh if lang == "zh" else en


def label(name: str, lang: str, *, with_unit: bool = True) -> str:
    """The display label of a column or summary key in ``lang`` (``zh`` or ``en``).

    An undeclared name is returned unchanged (a reader never fails on a newer folder).

    Examples
    --------
    >>> label("capacity_mw", "zh"), label("coverage", "en"), label("made_up", "en")
    ('装机容量 (MW)', 'Forest coverage', 'made_up')
    >>> label("area_ha_desert", "zh")
    '其中沙漠戈壁面积 (公顷)'
    """
    t = term(name)
    if t is None:
        return name
    text = t.zh if lang == "zh" else t.en
    extra = _matched(name) if name not in TERMS else ""
    if extra and t.name == "{group}":
        text = GROUP_NAMES.get(extra, (extra, extra))[0 if lang == "zh" else 1]
    elif extra and t.name == "{class}":
        text = extra
    elif extra:
        text = f"{text} {extra}"
    u = unit_text(t.unit, lang) if with_unit else ""
    return f"{text} ({u})" if u else text


# --------------------------------------------------------------------------- eligible land
#: ``eligible.tif``'s codes (0 excluded, else the zone type of the pixel) as ``summary.json``
#: lists them under ``eligible_codes``.
ELIGIBLE_CODES: dict[int, str] = {0: "excluded", 1: "desert", 2: "border", 3: "mine", 4: "other"}
#: One colour per zone type, the one source for ``eligible.tif``'s colour table, the HTML map's
#: legend and the figures (desert sand, border purple, mine brown, other green).
ZONE_TYPE_COLORS: dict[str, str] = {"desert": "#e6a93c", "border": "#9e6ebd", "mine": "#8c510a", "other": "#78b478"}


def eligible_colormap() -> dict[int, tuple[int, int, int, int]]:
    """``eligible.tif``'s GDAL colour table: code → (r, g, b, a); 0 (excluded) transparent.

    Examples
    --------
    >>> eligible_colormap()[1]
    (230, 169, 60, 255)
    """
    out = {0: (0, 0, 0, 0)}
    for code, key in ELIGIBLE_CODES.items():
        if code:
            h = ZONE_TYPE_COLORS[key]
            out[code] = (int(h[1:3], 16), int(h[3:5], 16), int(h[5:7], 16), 255)
    return out


# --------------------------------------------------------------------------- files
#: Kinds of file in a result folder.
FILE_KINDS = ("table", "workbook", "raster", "vector", "json", "text", "model", "figure")


@dataclass(frozen=True)
class FileSpec:
    """One file of a result folder.

    Attributes
    ----------
    name : str
        File name inside the folder.
    kind : str
        One of :data:`FILE_KINDS`: ``table`` (CSV, UTF-8 with BOM), ``workbook`` (XLSX),
        ``raster`` (Cloud-Optimized GeoTIFF), ``vector`` (GeoPackage, EPSG:4326 unless said),
        ``json``, ``text``, ``model``.
    units : str
        Units of the values (``Mg C/ha``; ``mixed`` for a table, ``-`` for none).
    about : str
        One sentence about the file.
    when : str
        When it is created (``always`` or the condition).
    columns : tuple of str
        Columns of a table, fields of a vector layer (names in :data:`TERMS`).
    sheets : tuple of (str, tuple of str)
        Sheets of a workbook and their columns.
    passthrough : bool
        A table or layer that also keeps an input layer's own fields (whatever their names;
        the declared ``columns`` are the ones the run adds).
    layer : str
        Layer name of a GeoPackage.
    """

    name: str
    kind: str
    units: str
    about: str
    when: str = "always"
    columns: tuple[str, ...] = ()
    sheets: tuple[tuple[str, tuple[str, ...]], ...] = ()
    passthrough: bool = False
    layer: str = ""

    def __post_init__(self) -> None:
        if self.kind not in FILE_KINDS:
            raise ValueError(f"{self.name}: kind {self.kind!r} is not one of {FILE_KINDS}")

    @property
    def always(self) -> bool:
        return self.when == "always"

    def sheet(self, name: str) -> tuple[str, ...]:
        """Columns of one sheet of a workbook."""
        for s, cols in self.sheets:
            if s == name:
                return cols
        raise KeyError(f"{self.name} has no sheet {name!r}; sheets: {[s for s, _ in self.sheets]}")


def _cols(*parts: Iterable[str] | str) -> tuple[str, ...]:
    out: list[str] = []
    for p in parts:
        out.extend([p] if isinstance(p, str) else list(p))
    return tuple(dict.fromkeys(out))


POOLS = ("above", "below", "soil", "dead")

# ---- shared files
SUMMARY = FileSpec("summary.json", "json", "see summary keys",
                   "the headline figures, machine-readable; starts with schema_version and kind")
MANIFEST = FileSpec("manifest.json", "json", "-",
                    "command, parameters, inputs with size and SHA-256, outputs with SHA-256, package versions, "
                    "start and end time; every file of the folder is listed in it")
CSV_METADATA = FileSpec("csv-metadata.json", "json", "-",
                        "CSVW metadata (W3C Tabular Data) of the folder's CSV tables: each column's machine name, "
                        "Chinese and English title, unit and meaning", when="with CSV tables")
SCHEME_CSV = FileSpec("scheme.csv", "table", "-",
                      "the class scheme used (code, names, group, colour) with its source, so the folder's legends "
                      "need no shipped data", when="carbon: with the preview; change, restoration, classify: always",
                      columns=("code", "name_en", "name_zh", "group", "color"))
TARGETS = FileSpec("targets.json", "json", "-",
                   "the policy targets the run compared against (key, value, unit, year, clause, source)",
                   when="when the result is compared against a target")

# ---- carbon
STOCKS_BY_ZONE = FileSpec(
    "stocks_by_zone.csv", "table", "ha, Mg C, Mt CO2e", "area and carbon stock per pool of each zone "
    "(the 95 % interval with uncertainty; inside the redline with a redline; group and region rows with group_by)",
    columns=("zone", "zone_level", "zone_group", "area_ha", "mapped_fraction", *(f"stock_mgc_{p}" for p in POOLS), "stock_mgc", "stock_mt_co2e",
             "stock_mgc_p2_5", "stock_mgc_p97_5", "stock_mgc_draws_mean", "inside_redline_area_ha",
             "inside_redline_stock_mgc"))
STOCKS_BY_CLASS = FileSpec(
    "stocks_by_class.csv", "table", "ha, Mg C/ha, Mg C", "area, densities and stocks of each (zone, class)",
    columns=("zone", "zone_level", "zone_group", "code", "name_en", "name_zh", "group", "area_ha",
             *(f"density_mgc_per_ha_{p}" for p in POOLS),
             *(f"stock_mgc_{p}" for p in POOLS), "stock_mgc", "inside_redline_area_ha"))
STOCKS_XLSX = FileSpec("stocks.xlsx", "workbook", "as the CSVs", "both tables for Excel, one sheet each",
                       sheets=(("stocks_by_zone", STOCKS_BY_ZONE.columns), ("stocks_by_class", STOCKS_BY_CLASS.columns)))
CARBON_DENSITY = FileSpec("carbon_density.tif", "raster", "Mg C/ha",
                          "carbon density of all pools per pixel (float32; nodata off land)",
                          when="unless no_raster (or a density raster is used)")
CARBON_ZONES = FileSpec("zones.gpkg", "vector", "as stocks_by_zone.csv",
                        "one (multi)polygon per zone with its stocks_by_zone figures and mean density, and the zone "
                        "layer's own fields as layer_<field> (name_en ... for map labels), for the map",
                        when="with zones", layer="zones",
                        columns=("zone_id", *STOCKS_BY_ZONE.columns, "density_mgc_per_ha", "layer_{field}"))
REDLINE_GPKG = FileSpec("redline.gpkg", "vector", "-", "the redline polygons as read (invalid ones repaired), for the map",
                        when="with a redline", layer="redline", passthrough=True)
LANDCOVER_PREVIEW = FileSpec("landcover_preview.tif", "raster", "class code",
                             "the land cover reduced to at most 4 Mpx by the mode, with the scheme's colours, for the map",
                             when="when the scheme's codes fit uint16")

# ---- coverage
_COVERAGE_FIGURES = ("land_area_ha", "forest_area_ha", "special_shrub_area_ha", "shrub_area_ha", "extra_forest_ha",
                     "counted_forest_ha", "coverage", "coverage_trees_only", "coverage_all_shrub", "special_shrub_rule",
                     "target", "target_source", "gap_ha")
COVERAGE_BY_ZONE = FileSpec(
    "coverage_by_zone.csv", "table", "ha, fraction",
    "per zone (and group and region with group_by) and year: land area, tree forest, special shrubland (林资发〔2004〕14号) "
    "and all shrubland, extra forest, coverage by the national definition with its bounds (trees only, all shrub), "
    "how the shrub rule was decided, the target that applies and the gap to it",
    columns=("zone", "zone_level", "zone_group", "year", *_COVERAGE_FIGURES, "mapped_area_ha", "land_area_source"))
COVERAGE_TOTALS = FileSpec("coverage_totals.csv", "table", "ha, fraction", "the same for the whole run per year",
                           columns=("year", *_COVERAGE_FIGURES, "land_area_source"))
TREND_BY_ZONE = FileSpec("trend_by_zone.csv", "table", "fraction/yr, ha",
                         "annual change of coverage per zone and the year the target is reached at that rate (where a "
                         "target applies)", when="with two or more years",
                         columns=("zone", "zone_level", "zone_group", "first_year", "last_year", "annual_change",
                                  "annual_forest_change_ha", "target_year_at_this_rate", "target_status",
                                  "target", "note"))
VOLUME_BY_ZONE = FileSpec("volume_by_zone.csv", "table", "ha, m3", "forest stock volume of tree forest per zone and year, "
                          "per hectare, its source (table rows by year basis, or raster) and the zone's volume target",
                          columns=("zone", "zone_level", "zone_group", "year", "forest_area_ha", "volume_m3",
                                   "volume_m3_per_ha", "source", "target_m3", "share_of_target"))
VOLUME_CHANGE = FileSpec("volume_change_by_zone.csv", "table", "m3", "stock volume change between consecutive years "
                         "split into an area effect and a growth effect", when="with two or more years",
                         columns=("zone", "zone_level", "zone_group", "from_year", "to_year", "volume_change_m3",
                                  "area_effect_m3", "growth_effect_m3"))
COVERAGE_XLSX = FileSpec("coverage.xlsx", "workbook", "as the CSVs", "the coverage tables for Excel",
                         sheets=(("coverage_by_zone", COVERAGE_BY_ZONE.columns),
                                 ("coverage_totals", COVERAGE_TOTALS.columns),
                                 ("volume_by_zone", VOLUME_BY_ZONE.columns),
                                 ("volume_change_by_zone", VOLUME_CHANGE.columns),
                                 ("trend_by_zone", TREND_BY_ZONE.columns)))
COVERAGE_ZONES = FileSpec("zones.gpkg", "vector", "ha, fraction",
                          "one (multi)polygon per zone with land area and each year's forest area, coverage, its bounds "
                          "and gap (<figure>_<year>) and the trend, and the zone layer's own fields as layer_<field>, for "
                          "the map", when="with zones", layer="zones",
                          columns=("zone_id", "zone", "land_area_ha", "land_area_source", "forest_area_ha_{year}",
                                   "coverage_{year}", "coverage_trees_only_{year}", "coverage_all_shrub_{year}",
                                   "gap_ha_{year}", "forest_area_ha", "coverage", "gap_ha", *TREND_BY_ZONE.columns,
                                   "layer_{field}"))

# ---- change and restoration
CHANGE_BY_ZONE = FileSpec(
    "change_by_zone.csv", "table", "ha, Mg C, Mg C/yr, Mt CO2e/yr",
    "per zone (and group and region with group_by): stocks before and after; sequestration by IPCC transition periods "
    "(the default figure) and the equilibrium stock difference (the potential), each with gains, losses, pools and per "
    "year; the change still to come; 95 % intervals with uncertainty",
    columns=("zone", "zone_level", "zone_group", "area_ha", "mapped_fraction", "changed_area_ha", "stock_before_mgc",
             "stock_after_mgc", "sequestration_mgc", "sequestration_gain_mgc", "sequestration_loss_mgc",
             *(f"sequestration_mgc_{p}" for p in POOLS), "annual_sequestration_mgc_per_yr",
             "annual_sequestration_mt_co2e_per_yr", "sequestration_mgc_per_ha", "equilibrium_change_mgc",
             "equilibrium_gain_mgc", "equilibrium_loss_mgc", *(f"equilibrium_change_mgc_{p}" for p in POOLS),
             "annual_equilibrium_change_mgc_per_yr", "equilibrium_change_mgc_per_ha", "remaining_to_equilibrium_mgc",
             "sequestration_mgc_p2_5", "sequestration_mgc_p97_5", "equilibrium_change_mgc_p2_5",
             "equilibrium_change_mgc_p97_5", "npv"))
CHANGE_BY_INTERVAL = FileSpec(
    "change_by_interval.csv", "table", "ha, Mg C, Mg C/yr",
    "with more than two maps: the change_by_zone figures per zone and interval (each pixel's years since conversion "
    "tracked through the series)", when="with more than two maps",
    columns=("zone", "from_year", "to_year", *(c for c in CHANGE_BY_ZONE.columns if c != "zone")))
TRANSITIONS_BY_CODE = FileSpec(
    "transitions_by_code.csv", "table", "ha, Mg C",
    "area, sequestration and equilibrium change of each (zone, class before, class after)",
    columns=("zone", "zone_level", "zone_group", "code_before", "code_after", "name_before", "name_after",
             "name_zh_before", "name_zh_after", "area_ha", "sequestration_mgc", "equilibrium_change_mgc"))
TRANSITIONS_BY_GROUP = FileSpec(
    "transitions_by_group.csv", "table", "ha, Mg C",
    "area, sequestration and equilibrium change of each (zone, group before, group after)",
    columns=("zone", "zone_level", "zone_group", "group_before", "group_after", "area_ha", "sequestration_mgc",
             "equilibrium_change_mgc"))
TRANSITION_MATRIX = FileSpec(
    "transition_matrix_group_ha.csv", "table", "ha", "area by group over the whole map: rows before, columns after",
    columns=("before \\ after", "{group}"))
CARBON_CHANGE = FileSpec("carbon_change.tif", "raster", "Mg C/ha",
                         "carbon change per pixel over the interval (float32, NaN where either year is nodata): "
                         "sequestration by transition periods with years, else density after minus before; the "
                         "raster's tags name the method", when="unless no_raster")
TRANSITIONS_TIF = FileSpec("transitions.tif", "raster", "code",
                           "code_before × 100 + code_after per pixel (uint16, 0 where either year has no land class); "
                           "legend from the folder's scheme.csv", when="unless no_raster, when every code is below 100")
CHANGE_ZONES = FileSpec("zones.gpkg", "vector", "as change_by_zone.csv",
                        "one (multi)polygon per zone with its change_by_zone figures, and the zone layer's own fields "
                        "as layer_<field>, for the map", when="with zones",
                        layer="zones", columns=("zone_id", *CHANGE_BY_ZONE.columns, "layer_{field}"))
_TRANSITION_SHEETS = (("transitions_by_group", TRANSITIONS_BY_GROUP.columns),
                      ("transitions_by_code", TRANSITIONS_BY_CODE.columns),
                      ("transition_matrix", TRANSITION_MATRIX.columns))
CHANGE_XLSX = FileSpec("change.xlsx", "workbook", "as the CSVs", "the change tables for Excel",
                       sheets=(("change_by_zone", CHANGE_BY_ZONE.columns), ("change_by_interval", CHANGE_BY_INTERVAL.columns),
                               *_TRANSITION_SHEETS))
RESTORATION_EFFECT = FileSpec(
    "restoration_effect.csv", "table", "ha, Mg C, Mg C/ha, Mg C/ha/yr",
    "per project its own attributes (status, start year ...; attr_<name> where a name is a figure's), the carbon "
    "change per ha inside and in its control ring, and their difference (per year with years)", passthrough=True,
    columns=("project", "area_ha", "sequestration_mgc", "equilibrium_change_mgc", "change_mgc_per_ha", "ring_area_ha",
             "ring_sequestration_mgc", "ring_equilibrium_change_mgc", "ring_change_mgc_per_ha", "difference_mgc_per_ha",
             "difference_mgc_per_ha_per_yr", "equilibrium_change_mgc_per_ha", "ring_equilibrium_change_mgc_per_ha",
             "equilibrium_difference_mgc_per_ha"))
PROJECTS_GPKG = FileSpec("projects.gpkg", "vector", "as restoration_effect.csv",
                         "the projects with their attributes and effect (layer projects) and their control rings "
                         "(layer rings, field project), for the map", layer="projects", passthrough=True,
                         columns=RESTORATION_EFFECT.columns)
RESTORATION_XLSX = FileSpec("change.xlsx", "workbook", "as the CSVs", "the restoration and transition tables for Excel",
                            passthrough=True,
                            sheets=(("restoration_effect", RESTORATION_EFFECT.columns), *_TRANSITION_SHEETS))

# ---- site
PARCEL_FIELDS = (
    "parcel_id", "rank", "score", "zone_type", "admin_zone", "area_ha", "area_ha_desert", "area_ha_border",
    "area_ha_mine", "area_ha_other", "capacity_mw", "slope_mean_deg", "slope_max_deg", "distance_to_grid_km",
    "stock_mgc", "stock_mgc_per_ha", "compactness", "perimeter_km", "base_id", "s_slope", "s_grid", "s_carbon",
    "s_compactness", "s_zone", "pixels",
    # issue 11
    "mw_per_km2", "energy_mwh_per_yr", "capacity_factor", "resource_mean", "turbines", "terrain_class",
    "area_ha_terrain_i", "area_ha_terrain_ii", "area_ha_terrain_iii", "distance_to_substation_km", "substation_kv",
    "grid_cost_cny", "lcoe_cny_per_mwh", "carbon_payback_years", "s_energy", "not_checked",
)
SUPPLY_FIELDS = ("order", "parcel_id", "tech", "lcoe_cny_per_mwh", "capacity_mw", "energy_mwh_per_yr",
                 "cumulative_capacity_mw", "cumulative_energy_mwh_per_yr")
NOT_CHECKED_FIELDS = ("rule", "status", "name_zh", "option", "clause", "effect")
BASE_FIELDS = ("base_id", "parcels", "members", "area_ha", "capacity_mw", "zone_types", "admin_zones", "best_rank",
               "mean_score")
SWEEP_FIELDS = ("key", "value", "parcels", "eligible_area_ha", "capacity_mw", "energy_mwh_per_yr", "target_mw",
                "share_of_target", "capacity_mw_{zone_type}")
EXCLUSION_FIELDS = ("bit", "value", "rule", "description", "area_ha")
ELIGIBLE = FileSpec("eligible.tif", "raster", "code",
                    "eligible land: 0 excluded, else each parcel pixel's own zone code (1 desert, 2 border, 3 mine, "
                    "4 other), with the zone colours (legend: summary eligible_codes)")
EXCLUSIONS = FileSpec("exclusions.tif", "raster", "bit flags",
                      "one bit per exclusion rule (legend: summary exclusion_bits and the raster's tags)")
PARCELS_TIF = FileSpec("parcels.tif", "raster", "id", "parcel id per pixel (0: no parcel)")
PARCELS_GPKG = FileSpec("parcels.gpkg", "vector", "ha, MW, deg, km, Mg C",
                        "candidate parcels (8-connected eligible land) with area per zone type, capacity, slope, "
                        "distance to grid, carbon, compactness, score and rank, in the grid's CRS",
                        layer="parcels", columns=PARCEL_FIELDS)
PARCELS_CSV = FileSpec("parcels.csv", "table", "ha, MW, deg, km, Mg C", "the parcels' table, by rank",
                       columns=PARCEL_FIELDS)
BASES_GPKG = FileSpec("bases.gpkg", "vector", "ha, MW", "candidate bases: parcels clustered by edge distance, "
                      "convex hulls, in the grid's CRS", layer="bases", columns=BASE_FIELDS)
SWEEP_CSV = FileSpec("sweep.csv", "table", "ha, MW, fraction", "capacity against the target for each swept profile value",
                     when="with a sweep", columns=SWEEP_FIELDS)
SOURCE_FIELDS = ("key", "value", "source", "assumption")
ZONE_ACCOUNT_FIELDS = ("zone", "target_mw", "year", "source", "installed_mw", "screened_mw", "gap_mw",
                       "gap_after_screen_mw", "share_of_target")
PARCELS_XLSX = FileSpec("parcels.xlsx", "workbook", "as the CSVs", "parcels, bases, capacity by zone type, exclusion "
                        "rules (and the sweep), rule sets not checked, the supply curve and every profile number with "
                        "its source (assumption: true where it is a sinkplan assumption or unverified) for Excel",
                        sheets=(("parcels", PARCEL_FIELDS), ("bases", tuple(c for c in BASE_FIELDS)),
                                ("by_zone_type", ("zone_type", "parcels", "area_ha", "capacity_mw")),
                                ("exclusions", EXCLUSION_FIELDS), ("sweep", SWEEP_FIELDS),
                                ("not_checked", NOT_CHECKED_FIELDS), ("supply_curve", SUPPLY_FIELDS),
                                ("sources", SOURCE_FIELDS)))
TARGETS_BY_ZONE = FileSpec("targets_by_zone.csv", "table", "MW, fraction",
                           "each per-zone capacity target against the zone's installed and screened capacity: gap "
                           "and share of the target", when="with per-zone targets (--targets zones.csv)",
                           columns=ZONE_ACCOUNT_FIELDS)
SUPPLY_CSV = FileSpec("supply_curve.csv", "table", "CNY/MWh, MW, MWh/yr",
                      "parcels by LCOE, cheapest first, with cumulative capacity and energy (reV-style supply curve)",
                      columns=SUPPLY_FIELDS)
SUPPLY_PNG = FileSpec("supply_curve.png", "figure", "CNY/MWh, GW", "the supply curve: LCOE against cumulative capacity")
TURBINES_GPKG = FileSpec("turbines.gpkg", "vector", "MW, m", "turbines placed on the parcels, EPSG:4326",
                         when="wind with wind.turbine.placement = turbines", layer="turbines",
                         columns=("turbine_id", "parcel_id", "turbine_type", "rating_mw", "rotor_diameter_m",
                                  "hub_height_m", "rank"))
BORDER_BELT = FileSpec("border_belt.gpkg", "vector", "m, km, ha", "the border belt screened, for the map",
                       when="with a border and the border zone enabled", layer="border_belt",
                       columns=("width_m", "width_km", "area_ha"))
GRID_LINES = FileSpec("grid_lines.gpkg", "vector", "-", "transmission lines of the grid layers (their own fields kept), "
                      "for the map", when="with grid lines", layer="grid_lines", passthrough=True,
                      columns=("source_file",))
SUBSTATIONS = FileSpec("substations.gpkg", "vector", "-", "substations of the grid layers (points; their own fields "
                       "kept), for the map", when="with substations", layer="substations", passthrough=True,
                       columns=("source_file",))

# ---- classify
LANDCOVER_TIF = FileSpec("landcover.tif", "raster", "class code", "the predicted land cover, block by block")
ACCURACY_JSON = FileSpec("accuracy.json", "json", "fraction",
                         "spatially blocked and random cross-validation accuracies, confusion matrices, training set",
                         when="when a model is trained")
ACCURACY_CSV = FileSpec("accuracy.csv", "table", "fraction", "overall and per-class accuracies of each assessment",
                        when="when a model is trained",
                        columns=("assessment", "code", "class", "samples", "overall_accuracy", "kappa",
                                 "producers_accuracy", "users_accuracy", "f1"))
MAP_CLASSES = FileSpec("map_classes.csv", "table", "px, ha", "pixels and area of each predicted class",
                       columns=("code", "name_en", "name_zh", "group", "pixels", "area_ha"))
MODEL_SKOPS = FileSpec("model.skops", "model", "-", "the fitted scikit-learn model, safely loadable (skops)",
                       when="when a model is trained")
MODEL_JSON = FileSpec("model.json", "json", "-", "the model's SHA-256, versions and metadata (checked on load)",
                      when="when a model is trained")

# ---- area estimate
AE_CLASSES = FileSpec("classes.csv", "table", "ha, fraction",
                      "map and error-adjusted area of each class with 95 % CI, user's and producer's accuracy",
                      when="unless design",
                      columns=("code", "name_en", "name_zh", "group", "map_pixels", "map_area_ha", "sample_units_mapped",
                               "sample_units_reference", "adjusted_area_ha", "se_ha", "ci95_ha", "ci95_low_ha",
                               "ci95_high_ha", "users_accuracy", "users_ci95", "producers_accuracy", "producers_ci95"))
AE_COUNTS = FileSpec("error_matrix_counts.csv", "table", "count", "the error matrix in sample counts", when="unless design",
                     columns=("map \\ reference", "{class}", "total"))
AE_PROPORTIONS = FileSpec("error_matrix_proportions.csv", "table", "fraction",
                          "the error matrix in estimated area proportions", when="unless design",
                          columns=("map \\ reference", "{class}", "W_i (map share)"))
AE_ZONES = FileSpec("zones.csv", "table", "ha, fraction", "forest coverage per zone, map and error-adjusted, with its CI",
                    when="with zones, unless design",
                    columns=("zone", "reference_units", "map_area_ha", "coverage_map", "coverage_adjusted",
                             "coverage_ci95", "overall_accuracy", "note"))
AE_XLSX = FileSpec("area_estimate.xlsx", "workbook", "as the CSVs", "the estimate tables for Excel", when="unless design",
                   sheets=(("classes", AE_CLASSES.columns), ("error_matrix_counts", AE_COUNTS.columns),
                           ("error_matrix_proportions", AE_PROPORTIONS.columns), ("zones", AE_ZONES.columns)))
AE_DESIGN = FileSpec("design.csv", "table", "ha, fraction, count",
                     "sample size (Olofsson et al. 2014 eq. 13) and allocation per stratum", when="with design",
                     columns=("code", "name_en", "map_area_ha", "weight", "expected_users_accuracy", "n_recommended",
                              "n_proportional", "n_equal"))
AE_DESIGN_XLSX = FileSpec("design.xlsx", "workbook", "as the CSV", "the design for Excel", when="with design",
                          sheets=(("design", AE_DESIGN.columns),))

# ---- density model
DENSITY_TIF = FileSpec("density_mgc_per_ha.tif", "raster", "Mg C/ha",
                       "predicted carbon density of the target's pools (nodata outside the model's domain: use the table)")
DOMAIN_TIF = FileSpec("domain.tif", "raster", "code",
                      "why each pixel is or is not predicted by the model (1 model, 2.. fallback reasons)")
CV_CSV = FileSpec("cv.csv", "table", "Mg C/ha", "spatially blocked and random cross-validation and the lookup table's error",
                  columns=("assessment", "samples", "r2", "rmse", "bias", "mae", "folds", "blocks", "block_size_m"))

# ---- landcover (the demo's class tables)
CLASSES_YEAR = FileSpec("classes_{year}.csv", "table", "px, ha", "pixels and ellipsoidal area of each class in the year",
                        columns=("code", "name_en", "name_zh", "group", "pixels", "area_ha"))


# --------------------------------------------------------------------------- result kinds
def rows(path: str, table: FileSpec) -> tuple[str, ...]:
    """Summary paths of a list of records copying ``table``'s columns: ``zones[].<column>``."""
    return (path, *(f"{path}[].{c}" for c in table.columns))


def _keys(*parts: Iterable[str] | str) -> tuple[str, ...]:
    return _cols(*parts)


@dataclass(frozen=True)
class ResultSpec:
    """One kind of result folder: its files and its summary keys.

    Attributes
    ----------
    kind : str
        ``carbon``, ``coverage``, ...
    commands : tuple of str
        Manifest ``command`` values that write it (``carbon``, ``demo:site pv``: the last word of
        the part after ``:`` is matched).
    about : str
        What the folder is for.
    files : tuple of FileSpec
    summary : tuple of str
        Summary key paths (``a.b``, ``a[].b``, ``a.*``).
    parts : tuple of (str, str)
        Sub-folders that are result folders of another kind (``("pv", "site")``), audited as such.
    """

    kind: str
    commands: tuple[str, ...]
    about: str
    files: tuple[FileSpec, ...]
    summary: tuple[str, ...] = ()
    #: Sub-folders that are result folders of their own: (folder name, kind); audited as that kind.
    parts: tuple[tuple[str, str], ...] = ()
    _model: Any = field(default=None, init=False, repr=False, compare=False)

    def file(self, name: str) -> FileSpec:
        """The file spec of ``name`` (a pattern such as ``classes_{year}.csv`` matches ``classes_2020.csv``)."""
        for f in self.files:
            if f.name == name or (_pattern(f.name) is not None and _pattern(f.name).match(name)):
                return f
        raise KeyError(f"{self.kind} result: no file {name!r} in its spec; files: {[f.name for f in self.files]}")

    def has_file(self, name: str) -> bool:
        """Whether ``name`` is a file of this kind (or of a declared part: ``pv/eligible.tif``)."""
        head, sep, rest = name.partition("/")
        part = dict(self.parts).get(head)
        if sep and part is not None:
            return SPECS[part].has_file(rest)
        try:
            self.file(name)
        except KeyError:
            return False
        return True

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.files)

    @property
    def summary_model(self):
        """The typed summary record (pydantic): ``schema_version``, ``kind`` and each top-level key."""
        if self._model is None:
            object.__setattr__(self, "_model", _summary_model(self))
        return self._model

    def read_summary(self, data: Mapping[str, Any]):
        """``data`` (a summary.json dict) as the typed record; unknown keys kept (a newer folder)."""
        return self.summary_model.model_validate(dict(data))


def _summary_model(rs: ResultSpec):
    from typing import Literal, Optional

    from pydantic import ConfigDict, create_model

    top = [p for p in rs.summary if "." not in p and "[]" not in p and p != "*"]
    fields: dict[str, Any] = {"schema_version": (int, SCHEMA_VERSION), "kind": (Optional[Literal[rs.kind]], rs.kind)}
    for k in top:
        if k not in fields:
            fields[k] = (Optional[_key_type(rs, k)], None)
    name = "".join(w.capitalize() for w in re.split(r"[-_]", rs.kind)) + "Summary"
    model = create_model(name, __config__=ConfigDict(extra="allow", frozen=True), **fields)
    model.__doc__ = f"Typed summary record of a {rs.kind} result folder (schema {SCHEMA_VERSION})."
    return model


def _key_type(rs: ResultSpec, key: str) -> Any:
    """Type of a top-level summary key: list or dict when the spec declares its parts, float for a
    physical unit, int for pixel counts, else any JSON value."""
    if any(p.startswith(f"{key}[]") for p in rs.summary):
        return list
    if any(p.startswith(f"{key}.") for p in rs.summary):
        return dict
    t = TERMS.get(key)
    if t is not None and t.unit == "px":
        return int
    if t is not None and t.unit not in _SILENT_UNITS:
        return float
    return Any


_GROWTH = ("group", "curve", "rate_mgc_per_ha_per_yr", "k_per_yr", "p", "source", "note", "assumption")
_METHOD = ("method", *(f"method.{k}" for k in ("sequestration", "equilibrium_change", "source", "conversion_timing",
                                                "transition_years", "rules", "rules.*", "growth_table", "why_not")),
           "method.growth", *(f"method.growth[].{k}" for k in _GROWTH))


def _hierarchy_keys(table: FileSpec) -> tuple[str, ...]:
    """Summary keys of --group-by: the group rows, the region row and the hierarchy record."""
    return (*rows("group_totals", table), "region_total", *(f"region_total.{c}" for c in table.columns),
            "hierarchy", "hierarchy.group_by", "hierarchy.group_members", "hierarchy.group_members.*",
            "hierarchy.region_total", "hierarchy.exactness")


_STOCK_SUMMARY = _keys(
    "area_ha", "stock_mgc", "stock_tgc", "stock_mt_co2e", "stock_mgc_by_pool", "stock_mgc_by_pool.*",
    "zones", *(f"zones[].{k}" for k in ("zone", "area_ha", "stock_mgc", "mapped_fraction", "in_zone_layer",
                                        "stock_mgc_p2_5", "stock_mgc_p97_5", "stock_mgc_draws_mean")),
    "redline", *(f"redline.{k}" for k in ("inside_area_ha", "inside_stock_mgc", "outside_area_ha", "outside_stock_mgc",
                                          "inside_stock_mgc_p2_5", "inside_stock_mgc_p97_5", "outside_stock_mgc_p2_5",
                                          "outside_stock_mgc_p97_5")),
    "uncertainty", *(f"uncertainty.{k}" for k in ("draws", "seed", "distribution", "percentiles", "stock_mgc",
                                                  "stock_mgc_p2_5", "stock_mgc_p97_5", "stock_mgc_draws_mean",
                                                  "stock_mgc_by_pool", "stock_mgc_by_pool.*")),
    *(f"uncertainty.stock_mgc_by_pool.*.{k}" for k in ("stock_mgc", "p2_5", "p97_5", "draws_mean")),
    "units", "units.*", "densities", *(f"densities.{k}" for k in ("table", "keyed_by", "soil_depth_cm", "title")),
    "landcover", "scheme", "land_pixels", "density_raster", "density_raster.*",
    *_hierarchy_keys(STOCKS_BY_ZONE),
    "densities.tier1_fallback", *(f"densities.tier1_fallback[].{k}" for k in ("key", "c_above", "c_below", "c_soil", "c_dead",
                                                                             "source", "assumption")),
    "densities.region_field", "climate_correction", "climate_correction.formulas", "climate_correction.formulas.*",
    "climate_correction.reference_climate", "climate_correction.reference_climate.map_mm",
    "climate_correction.reference_climate.mat_c", "climate_correction.reference_climate.source",
    "climate_correction.precipitation", "climate_correction.temperature", "climate_correction.pools",
    "climate_correction.pools.*",
)
_TARGET = ("key", "value", "unit", "year", "clause", "source")
_CHANGE_SUMMARY = _keys(
    "years", "densities", "densities.table", "densities.soil_depth_cm", "units", "units.*", *_METHOD,
    "uncertainty", *(f"uncertainty.{k}" for k in ("draws", "seed", "distribution", "percentiles",
                                                  *(f"{f}_{q}" for f in ("sequestration_mgc", "equilibrium_change_mgc")
                                                    for q in ("p2_5", "p97_5", "draws_mean")))),
    *_hierarchy_keys(CHANGE_BY_ZONE), "npv", "valuation",
    *(f"valuation.{k}" for k in ("price_per_t_co2e", "currency", "discount_rate_pct", "price_change_pct",
                                 "valuation_factor", "formula", "valued")),
    "densities.tier1_fallback", *(f"densities.tier1_fallback[].{k}" for k in ("key", "c_above", "c_below", "c_soil", "c_dead",
                                                                             "source", "assumption")),
    "series", "series.maps", "series.pixel_ages", "series.pixels_counted",
    rows("intervals", CHANGE_BY_INTERVAL),
    *(c for c in CHANGE_BY_ZONE.columns if c not in ("zone", "mapped_fraction")),
    rows("zones", CHANGE_BY_ZONE),
    "redline", "redline.inside", "redline.outside",
    *(f"redline.{side}.{c}" for side in ("inside", "outside") for c in CHANGE_BY_ZONE.columns
      if c not in ("zone", "mapped_fraction")),
)

CARBON = ResultSpec(
    "carbon", ("carbon",), "carbon stocks per zone, class and pool, with uncertainty",
    (STOCKS_BY_ZONE, STOCKS_BY_CLASS, STOCKS_XLSX, CARBON_DENSITY, CARBON_ZONES, REDLINE_GPKG, LANDCOVER_PREVIEW,
     SCHEME_CSV, SUMMARY, MANIFEST, CSV_METADATA),
    _STOCK_SUMMARY,
)
COVERAGE = ResultSpec(
    "coverage", ("coverage",), "forest coverage and stock volume per zone and year, against the targets",
    (COVERAGE_BY_ZONE, COVERAGE_TOTALS, TREND_BY_ZONE, VOLUME_BY_ZONE, VOLUME_CHANGE, COVERAGE_XLSX, COVERAGE_ZONES,
     TARGETS, SUMMARY, MANIFEST, CSV_METADATA),
    _keys("definition", "special_shrub_rule",
          *(f"special_shrub_rule.{k}" for k in ("rule", "mode", "data", "cover_checked", "note", "not_applied_zones")),
          "target", *(f"target.{k}" for k in (*_TARGET, "region", "region_land_area_ha", "applies_to_total", "why")),
          "zone_targets", *(f"zone_targets[].{k}" for k in ("zone", "key", "value", "unit", "year", "source")),
          "count_shrub", "trees_only", "forest_groups",
          "zones", *(f"zones[].{k}" for k in ("zone", "year", *_COVERAGE_FIGURES)),
          "group_totals", *(f"group_totals[].{k}" for k in ("zone", "year", *_COVERAGE_FIGURES)),
          "region_total", *(f"region_total[].{k}" for k in ("zone", "year", *_COVERAGE_FIGURES)),
          "hierarchy", "hierarchy.group_by", "hierarchy.group_members", "hierarchy.group_members.*",
          "hierarchy.region_total", "hierarchy.exactness",
          rows("totals", COVERAGE_TOTALS), "trend", *(f"trend.{k}" for k in TREND_BY_ZONE.columns if k != "zone"),
          rows("trend_by_zone", TREND_BY_ZONE), rows("trend_groups", TREND_BY_ZONE),
          "trend_region_total", *(f"trend_region_total.{k}" for k in TREND_BY_ZONE.columns),
          "volume", "volume.by_year", *(f"volume.by_year[].{k}" for k in ("year", "forest_area_ha", "volume_m3",
                                                                          "volume_m3_per_ha", "source")),
          "volume.table", "volume.target", *(f"volume.target.{k}" for k in (*_TARGET, "region", "region_land_area_ha")),
          "volume.target_applies", "volume.why", "volume.share_of_target", "units", "units.*"),
)
CHANGE = ResultSpec(
    "change", ("change",), "land-cover transitions and carbon change between two or more years",
    (CHANGE_BY_ZONE, CHANGE_BY_INTERVAL, TRANSITIONS_BY_CODE, TRANSITIONS_BY_GROUP, TRANSITION_MATRIX, CHANGE_XLSX,
     CARBON_CHANGE, TRANSITIONS_TIF, CHANGE_ZONES, SCHEME_CSV, SUMMARY, MANIFEST, CSV_METADATA),
    _CHANGE_SUMMARY,
)
RESTORATION = ResultSpec(
    "restoration", ("restoration",), "carbon effect of restoration projects against a control ring of surrounding land",
    (RESTORATION_EFFECT, PROJECTS_GPKG, TRANSITIONS_BY_CODE, TRANSITIONS_BY_GROUP, TRANSITION_MATRIX, RESTORATION_XLSX,
     CARBON_CHANGE, TRANSITIONS_TIF, SCHEME_CSV, SUMMARY, MANIFEST, CSV_METADATA),
    # restoration[] rows carry the projects' own attributes, whatever their names
    _keys(_CHANGE_SUMMARY, "control_ring_km", rows("restoration", RESTORATION_EFFECT), "restoration[].*"),
)
SITE = ResultSpec(
    "site", ("site",), "land screened for PV or wind bases: exclusions, parcels, bases, capacity against the target",
    (ELIGIBLE, EXCLUSIONS, PARCELS_TIF, PARCELS_GPKG, PARCELS_CSV, BASES_GPKG, SWEEP_CSV, PARCELS_XLSX, BORDER_BELT,
     GRID_LINES, SUBSTATIONS, SUPPLY_CSV, SUPPLY_PNG, TURBINES_GPKG, TARGETS, TARGETS_BY_ZONE, SUMMARY, MANIFEST, CSV_METADATA),
    _keys("tech", "profile", "profile_origin", "power_density_mw_per_km2", "max_slope_deg", "min_parcel_area_ha",
          "total_area_ha", "nodata_area_ha", "mapped_area_ha", "eligible_area_ha", "excluded_area_ha",
          "small_fragments_area_ha", "capacity_mw", "parcels",
          "bases", "stock_mgc", "by_zone_type", "by_zone_type.*",
          *(f"by_zone_type.*.{k}" for k in ("parcels", "area_ha", "capacity_mw")),
          "target_key", "target_mw", "target_year", "target_clause", "share_of_target",
          rows("exclusion_bits", FileSpec("-", "table", "", "", columns=EXCLUSION_FIELDS)),
          "eligible_codes", "eligible_codes.*", "criteria_used", "weights", "weights.*", "notes",
          rows("sweep", SWEEP_CSV),
          "capacity_is_upper_bound", rows("not_checked", FileSpec("-", "table", "", "", columns=NOT_CHECKED_FIELDS)),
          "capacity_method", "max_parcel_area_ha", "largest_parcel_area_ha", "energy_mwh_per_yr", "capacity_factor",
          "energy_model", "energy_model.*", "lcoe_cny_per_mwh_min", "lcoe_cny_per_mwh_median", "lcoe_cny_per_mwh_max",
          "cost", "cost.*", "cost.*.*", "emission_factor_t_co2_per_mwh", "avoided_t_co2_per_yr",
          "turbines", "installed_mw", "installed_mw_by_tech", "installed_mw_by_tech.*", "installed_source",
          "installed_note", "screened_mw", "gap_mw", "gap_after_screen_mw", "share_of_target_note", "allocation",
          rows("assumptions", FileSpec("-", "table", "", "", columns=SOURCE_FIELDS)),
          "by_admin_zone", "by_admin_zone.*", "by_admin_zone.*.capacity_mw", "by_admin_zone.*.area_ha",
          rows("targets_by_zone", TARGETS_BY_ZONE), "target_source", "gap_note"),
)
#: Summary keys of the account of a run of several technologies (also in each technology's folder).
_ACCOUNT_SUMMARY = _keys(
    "tech", "target_key", "target_mw", "target_year", "target_clause", "target_source", "installed_mw",
    "installed_mw_by_tech", "installed_mw_by_tech.*", "installed_source", "installed_note", "screened_mw", "gap_mw",
    "gap_after_screen_mw", "gap_note", "share_of_target", "share_of_target_note", "capacity_is_upper_bound",
    "allocation", "energy_mwh_per_yr", "energy_note", "by_tech", "by_tech.*",
    *(f"by_tech.*.{k}" for k in ("capacity_mw", "eligible_area_ha", "parcels", "energy_mwh_per_yr",
                                 "capacity_is_upper_bound", "largest_parcel_area_ha", "lcoe_cny_per_mwh_min",
                                 "lcoe_cny_per_mwh_median", "lcoe_cny_per_mwh_max", "not_checked")),
    *(f"by_tech.*.not_checked[].{k}" for k in NOT_CHECKED_FIELDS),
    rows("targets_by_zone", TARGETS_BY_ZONE),
)
SITE_ACCOUNT = ResultSpec(
    "site-account", ("site",), "a run of several technologies (--tech pv,wind): one site folder per technology, "
    "screened in order so no pixel is counted twice, and the account of them all against the target",
    (SUPPLY_CSV, SUPPLY_PNG, TARGETS_BY_ZONE, SUMMARY, MANIFEST, CSV_METADATA),
    _ACCOUNT_SUMMARY,
    parts=(("pv", "site"), ("wind", "site")),
)
CLASSIFY = ResultSpec(
    "classify", ("classify",), "land cover classified from an image, with blocked and random CV accuracy",
    (LANDCOVER_TIF, ACCURACY_JSON, ACCURACY_CSV, MAP_CLASSES, MODEL_SKOPS, MODEL_JSON, SCHEME_CSV, SUMMARY, MANIFEST, CSV_METADATA),
    _keys("overall_accuracy", "overall_accuracy.*", "kappa", "kappa.*", "training_samples", "model", "features",
          "scheme", "map_area_ha", "map_area_ha.*", "model_file", "share_check", "share_check.compare",
          "share_check.ratio", "share_check.min_points", "share_check.far",
          *(f"share_check.far[].{k}" for k in ("code", "map_share", "compare_share", "ratio"))),
)
AREA_ESTIMATE = ResultSpec(
    "area-estimate", ("area-estimate",), "error-adjusted class areas and forest coverage with 95 % CIs "
    "(Olofsson et al. 2014), or the sample design",
    (AE_CLASSES, AE_COUNTS, AE_PROPORTIONS, AE_ZONES, AE_XLSX, AE_DESIGN, AE_DESIGN_XLSX, TARGETS, SUMMARY, MANIFEST, CSV_METADATA),
    _keys("method", "classes", *(f"classes[].{k}" for k in ("code", "name_en", "name_zh", "group", "map_area_ha",
                                                            "adjusted_area_ha", "se_ha", "ci95_ha", "users_accuracy",
                                                            "users_ci95", "producers_accuracy", "producers_ci95")),
          "total_area_ha", "overall_accuracy", "overall_accuracy_ci95", "forest_coverage",
          *(f"forest_coverage.{k}" for k in ("groups", "codes", "map_share", "adjusted_share", "se", "ci95", "ci95_low",
                                             "ci95_high", "denominator", "target")),
          *(f"forest_coverage.target.{k}" for k in ("value", "year", "clause", "source", "key", "unit",
                                                    "adjusted_meets", "ci95_low_meets")),
          "reference", "reference.points", "reference.used", "reference.dropped", "reference.dropped.*",
          rows("zones", AE_ZONES), "sample_size", "target_se_overall_accuracy", "allocation", "allocation.*",
          "map_outside_ci"),
)
DENSITY_MODEL = ResultSpec(
    "density-model", ("density-model",), "a carbon-density map regressed from field plots, with a domain check",
    (DENSITY_TIF, DOMAIN_TIF, CV_CSV, MODEL_SKOPS, MODEL_JSON, SUMMARY, MANIFEST, CSV_METADATA),
    _keys("target_field", "units", "pools", "plots", "plots.read", "plots.used", "plots.dropped", "plots.dropped.*",
          "plots.per_group", "plots.per_group.*",
          *(p for a in ("spatial_block_cv", "random_cv", "lookup_table", "test")
            for p in (a, *(f"{a}.{k}" for k in CV_CSV.columns if k != "assessment"))),
          "domain", "domain.covariates", "domain.covariates[].name", "domain.covariates[].min",
          "domain.covariates[].max", "domain.groups", "land_pixels", "pixels", "pixels.*", "biomass_stock_mgc",
          *(f"biomass_stock_mgc.{k}" for k in ("model_with_table_fallback", "model_part", "fallback_part", "table_only")),
          "fallback_pixels", "densities"),
)
LANDCOVER = ResultSpec(
    "landcover", ("landcover",), "pixels and ellipsoidal areas per class of land-cover maps (the demo's first step)",
    (CLASSES_YEAR, SUMMARY, MANIFEST, CSV_METADATA),
    _keys("*", "*.area_ha", "*.land_area_ha", "*.classes",
          *(f"*.classes[].{k}" for k in ("code", "name_en", "group", "pixels", "area_ha"))),
)

#: Every result kind, by name.
SPECS: dict[str, ResultSpec] = {s.kind: s for s in (CARBON, COVERAGE, CHANGE, RESTORATION, SITE, SITE_ACCOUNT,
                                                    CLASSIFY, AREA_ESTIMATE, DENSITY_MODEL, LANDCOVER)}
KINDS = tuple(SPECS)


def spec(kind: str) -> ResultSpec:
    """The spec of a result kind.

    Raises
    ------
    KeyError
        An unknown kind (the message lists the kinds).
    """
    try:
        return SPECS[kind]
    except KeyError:
        raise KeyError(f"unknown result kind {kind!r}; kinds: {', '.join(KINDS)}") from None


# --------------------------------------------------------------------------- checks
def undeclared_columns(fs: FileSpec, columns: Iterable[str], *, sheet: str | None = None) -> list[str]:
    """Columns of a table, layer or workbook sheet that its spec does not declare."""
    declared = fs.sheet(sheet) if sheet is not None else fs.columns
    if fs.passthrough:
        return []
    fixed = {c for c in declared if "{" not in c}
    patterns = [_pattern(c) for c in declared if "{" in c]
    out = []
    for c in columns:
        c = str(c)
        if c in fixed or any(p.match(c) for p in patterns):
            continue
        out.append(c)
    return out


def _leaf_patterns(declared: set[str]) -> dict[str, list[re.Pattern]]:
    """{declared parent path: [regex of a pattern leaf]} for paths like ``sweep[].capacity_mw_{zone_type}``."""
    out: dict[str, list[re.Pattern]] = {}
    for p in declared:
        if "{" in p:
            parent, _, leaf = p.rpartition(".")
            out.setdefault(parent, []).append(_pattern(leaf))
    return out


def _walk(obj: Any, decl: str, concrete: str, declared: set[str], pats: dict[str, list[re.Pattern]],
          out: list[str]) -> None:
    """Walk ``obj`` keeping its declared path (``*`` where keys are data) beside the concrete one."""
    if isinstance(obj, Mapping):
        for k, v in obj.items():
            d_exact = f"{decl}.{k}" if decl else str(k)
            d_star = f"{decl}.*" if decl else "*"
            c = f"{concrete}.{k}" if concrete else str(k)
            if d_exact in declared:
                _walk(v, d_exact, c, declared, pats, out)
            elif d_star in declared:
                _walk(v, d_star, c, declared, pats, out)
            elif not any(rx.match(str(k)) for rx in pats.get(decl, ())):
                out.append(c)
    elif isinstance(obj, (list, tuple)):
        for v in obj:
            if isinstance(v, Mapping):
                _walk(v, f"{decl}[]", f"{concrete}[]", declared, pats, out)


def undeclared_summary_keys(kind: str, summary: Mapping[str, Any]) -> list[str]:
    """Key paths of ``summary`` (``a.b``, ``a[].b``) that the kind's spec does not declare."""
    declared = set(spec(kind).summary) | {"schema_version", "kind"}
    out: list[str] = []
    _walk(summary, "", "", declared, _leaf_patterns(declared), out)
    return sorted(dict.fromkeys(out))


def strict() -> bool:
    """True when undeclared columns and keys are errors (``SINKPLAN_STRICT_SPEC=1``, set by the tests);
    else they are logged as warnings, so a user's run is never lost to a missing label."""
    return os.environ.get("SINKPLAN_STRICT_SPEC", "") not in ("", "0")


def _report(what: str, names: list[str]) -> None:
    if not names:
        return
    from sinkplan.layers.errors import SpecError

    msg = (f"{what}: {', '.join(names)} not declared in sinkplan.layers.resultspec; "
           "declare them there (see the module docstring)")
    if strict():
        raise SpecError(msg)
    import logging

    logging.getLogger(__name__).warning("%s", msg)


def check_columns(fs: FileSpec, columns: Iterable[str], *, sheet: str | None = None) -> None:
    """Refuse (strict) or warn about columns ``fs`` does not declare."""
    where = f"{fs.name} sheet {sheet}" if sheet else fs.name
    _report(where, undeclared_columns(fs, columns, sheet=sheet))


def check_summary(kind: str, summary: Mapping[str, Any]) -> None:
    """Refuse (strict) or warn about summary keys the kind's spec does not declare."""
    _report(f"{kind} {SUMMARY.name}", undeclared_summary_keys(kind, summary))


def summary_header(kind: str) -> dict[str, Any]:
    """The keys every summary.json starts with: ``{"schema_version": ..., "kind": ...}``."""
    spec(kind)
    return {"schema_version": SCHEMA_VERSION, "kind": kind}


# --------------------------------------------------------------------------- documentation
#: Sheet titles of the workbooks (Excel allows 31 characters, no []:*?/\\).
SHEET_TITLES: dict[str, tuple[str, str]] = {
    "stocks_by_zone": ("分区碳储量", "Stocks by zone"),
    "stocks_by_class": ("分类碳储量", "Stocks by class"),
    "coverage_by_zone": ("分区森林覆盖率", "Coverage by zone"),
    "coverage_totals": ("全区森林覆盖率", "Coverage totals"),
    "volume_by_zone": ("分区森林蓄积量", "Stock volume by zone"),
    "volume_change_by_zone": ("分区森林蓄积量变化", "Stock volume change by zone"),
    "trend_by_zone": ("分区覆盖率变化趋势", "Coverage trend by zone"),
    "change_by_zone": ("分区碳储量变化", "Change by zone"),
    "change_by_interval": ("分时段碳储量变化", "Change by interval"),
    "transitions_by_group": ("地类转移（按类别组）", "Transitions by group"),
    "transitions_by_code": ("地类转移（按类别）", "Transitions by class"),
    "transition_matrix": ("转移矩阵（公顷）", "Transition matrix (ha)"),
    "restoration_effect": ("修复项目碳汇效果", "Restoration effect"),
    "parcels": ("候选地块", "Parcels"),
    "bases": ("候选基地", "Bases"),
    "by_zone_type": ("各类区域装机潜力", "By zone type"),
    "exclusions": ("排除规则", "Exclusion rules"),
    "not_checked": ("未核查规则", "Rules not checked"),
    "supply_curve": ("供给曲线", "Supply curve"),
    "sources": ("参数来源", "Parameter sources"),
    "sweep": ("参数扫描", "Sweep"),
    "classes": ("分类面积估计", "Class areas"),
    "zones": ("分区", "Zones"),
    "error_matrix_counts": ("误差矩阵（样本数）", "Error matrix (counts)"),
    "error_matrix_proportions": ("误差矩阵（面积比例）", "Error matrix (proportions)"),
    "design": ("抽样设计", "Sample design"),
    "notes": ("说明", "Notes"),
}


#: Text values of result tables (statuses) in Chinese and English, for workbooks and maps.
VALUE_LABELS: dict[str, tuple[str, str]] = {
    "already met": ("首年已达标", "already met"),
    "met": ("已达标", "met"),
    "at this rate": ("按此速度可达标", "at this rate"),
    "not at this rate": ("按此速度无法达标", "not at this rate"),
    "none applies": ("无适用目标", "none applies"),
    "user target (--target)": ("用户目标（--target）", "user target (--target)"),
    "(region total)": ("（全区合计）", "(region total)"),
    "(all)": ("（全部）", "(all)"),
    "(outside zones)": ("（分区外）", "(outside zones)"),
    "sum of zones": ("各分区之和", "sum of zones"),
    "zone polygon (geodesic)": ("分区多边形面积（椭球面）", "zone polygon (geodesic)"),
    "official land area (land_area_ha)": ("官方土地面积（--land-area-ha）", "official land area (--land-area-ha)"),
    "no target applies here (see target_source)": ("此处无适用目标（见“目标来源”）", "no target applies here (see target source)"),
    "the raster maps none of this zone: no coverage, no rate": ("栅格未覆盖该分区：无覆盖率，无变化速度",
                                                                "the raster maps none of this zone: no coverage, no rate"),
    "coverage undecided in some year (special-shrubland rule not applied): no trend": (
        "部分年份覆盖率未定（未判定特灌林）：无趋势", "coverage undecided in some year (special-shrubland rule not applied): no trend"),
    "all shrubland counted (--count-shrub, upper bound)": ("全部灌木林计入（--count-shrub，上限）",
                                                          "all shrubland counted (--count-shrub, upper bound)"),
    "trees only (--trees-only, lower bound)": ("仅计乔木林（--trees-only，下限）", "trees only (--trees-only, lower bound)"),
    "no shrubland: rule not needed": ("无灌木林，无需判定", "no shrubland: rule not needed"),
    "not applied: no precipitation or designation data (coverage given as bounds)": (
        "未判定：无降水量或区划数据（覆盖率给出上下限）", "not applied: no precipitation or designation data (coverage given as bounds)"),
}

#: Exclusion and policy rules of a siting run (``not_checked``, exclusion layers) by key.
RULE_NAMES: dict[str, tuple[str, str]] = {
    "nodata": ("无土地覆盖数据", "no land-cover data"), "near_built": ("邻近建设用地", "near built-up land"),
    "near_water": ("邻近水体", "near water"), "redline": ("生态保护红线", "ecological protection redline"),
    "farmland": ("永久基本农田", "permanent basic farmland"), "slope": ("坡度过大", "slope too steep"),
    "dem_nodata": ("无高程数据", "no elevation data"), "outside_zones": ("不在重点区域内", "outside the priority zones"),
    "small_parcel": ("地块面积过小", "parcel too small"), "grassland": ("基本草原", "basic grassland"),
    "forest": ("林地", "forest land"), "installed": ("已建及已批项目用地", "installed and approved projects"),
    "north_slope": ("北向坡度过大", "north-facing slope too steep"),
    "shrub_rule": ("灌木林地（不符合林光互补条件）", "shrubland (not fit for forest-PV use)"),
    "shrub_rule_cover": ("灌木林覆盖度", "shrub cover (forest-PV rule)"),
    "shrub_rule_precipitation": ("年降水量", "annual precipitation (forest-PV rule)"),
    "energy": ("发电量", "energy yield"), "grid": ("电网接入", "grid connection"),
    "border_class1": ("边境地区Ⅰ级保护林地", "class I protected forest in the border area"),
    "outside_admin": ("行政区范围外", "outside the administrative area"), "claimed_by_pv": ("已划归光伏", "claimed by PV"),
    "basic_grassland": ("基本草原", "basic grassland"), "class1_forest": ("Ⅰ级保护林地", "class I protected forest land"),
    "state_forest": ("国有林场和重点国有林区", "state forest farms and key state forest areas"),
    "natural_forest": ("天然林地", "natural forest"), "sandy_closure": ("国家沙化土地封禁保护区", "national sandy-land closure areas"),
    "heritage_lines": ("历史文化保护线", "historic and cultural protection lines"),
    "protected_areas": ("自然保护地", "protected areas"), "urban_boundary": ("城镇开发边界", "urban development boundary"),
    "bird_corridors": ("候鸟迁徙通道", "bird migration corridors"), "grid_lines": ("输电线路", "transmission lines"),
    # zones of interest a run could not screen for lack of their layer (``not_checked``, effect ``zone_missing``)
    "zone_border": ("边境地带", "border zone"), "zone_mine": ("采矿修复区", "mine restoration zone"),
}

#: Values of particular columns (codes of a fixed vocabulary), by column.
COLUMN_VALUES: dict[str, dict[str, tuple[str, str]]] = {
    "zone_level": {"zone": ("分区", "zone"), "group": ("分组合计", "group total"), "region": ("全区合计", "region total"),
                   "total": ("合计", "total")},
    "zone_type": {"desert": ("沙漠戈壁", "Desert and gobi"), "border": ("边境地区", "Border area"),
                  "mine": ("采矿修复区", "Mine restoration"), "other": ("其他可选址用地", "Other eligible land")},
    "tech": {"pv": ("光伏", "PV"), "wind": ("风电", "wind")},
    # what a rule not checked does to the result (``not_checked`` records of a site summary)
    "effect": {"upper_bound": ("装机为上限", "capacity is an upper bound"),
               "excluded_instead": ("改为整体排除", "excluded instead"),
               "zone_missing": ("该重点区域未筛查", "zone not screened"),
               "not_scored": ("未参与评分", "not scored"), "no_energy": ("无发电量", "no energy yield")},
    "status": {"not checked": ("未核查", "not checked")},
    "assessment": {"random_cv": ("随机交叉验证", "random CV"), "spatial_block_cv": ("空间分块交叉验证", "spatial block CV"),
                   "lookup_table": ("查表法", "lookup table")},
    **{c: GROUP_NAMES for c in ("group", "group_before", "group_after", "before \\ after")},
}
#: Columns holding a comma list of rule keys.
_RULE_LIST_COLUMNS = ("not_checked", "rules")

#: Sentences of result tables with figures or file names in them: (pattern, Chinese template).
#: The English text is the value itself. A template may name a group whose text is translated
#: again (``{*describe}``: the data a rule was decided with).
_VALUE_PATTERNS: tuple[tuple[re.Pattern, str], ...] = tuple((re.compile(p), zh) for p, zh in (
    (r"^applied: (?P<describe>.+)$", "已判定：{*describe}"),
    (r"^not applied to (?P<a>[\d.e+-]+) of (?P<b>[\d.e+-]+) ha of shrubland: no data there \(coverage given as bounds\)$",
     "灌木林 {b} 公顷中 {a} 公顷无数据未判定（覆盖率给出上下限）"),
    (r"^mapped land \(raster covers (?P<p>[\d.]+) % of the zone polygon\)$", "有数据土地（栅格覆盖分区多边形的 {p} %）"),
    (r"^sum of zones \(mapped land for (?P<names>.+)\)$", "各分区之和（{names} 取有数据土地）"),
    (r"^per-zone targets (?P<file>.+?)(?: \((?P<year>\d{4})\))?$", "分区目标 {file}（{year} 年）"),
    (r"^table (?P<file>.+?): (?P<rest>.+)$", "蓄积量表 {file}：{*rest}"),
    (r"^raster (?P<file>.+)$", "蓄积量栅格 {file}"),
    (r"^(?P<group>[a-z_]+) (?P<v>[\d.e+-]+) m³/ha(?: \((?P<year>\d{4}) basis\))?(?: for (?P<zone>.+))?$",
     "{@group} {v} 立方米/公顷（{year} 年基准）（{zone}）"),
    (r"^designated special-shrubland layer (?P<file>.+)$", "特灌林区划图层 {file}"),
    (r"^precipitation raster (?P<file>.+) \(< 400 mm\)$", "降水量栅格 {file}（< 400 毫米）"),
    (r"^county mean precipitation in zone field '(?P<f>.+)' \(< 400 mm\)$", "分区字段“{f}”的县均降水量（< 400 毫米）"),
    (r"^shrub cover raster (?P<file>.+) \(> 30 %\)$", "灌木盖度栅格 {file}（> 30 %）"),
    (r"^not estimated: (?P<why>.+)$", "未估算：{why}"),
))


def _zh_sentence(text: str) -> str | None:
    """The Chinese of a sentence of :data:`_VALUE_PATTERNS` (None if none matches)."""
    if text in VALUE_LABELS:
        return VALUE_LABELS[text][0]
    if "; " in text:  # VolumeTable.provenance(): one part per group
        parts = [_zh_sentence(p) for p in text.split("; ")]
        if all(parts):
            return "；".join(parts)  # type: ignore[arg-type]
    if " and " in text and text.count(" raster ") + text.count(" field ") > 1:  # ShrubData.describe() parts
        parts = [_zh_sentence(p) for p in text.split(" and ")]
        if all(parts):
            return "，".join(parts)  # type: ignore[arg-type]
    for rx, zh in _VALUE_PATTERNS:
        m = rx.match(text)
        if m is None:
            continue
        out = zh
        for k, v in m.groupdict().items():
            v = v or ""
            out = out.replace("{*" + k + "}", _zh_sentence(v) or v)
            out = out.replace("{@" + k + "}", GROUP_NAMES.get(v, (v, v))[0])
            out = out.replace("{" + k + "}", v)
        return out.replace("（ 年基准）", "").replace("（ 年）", "").replace("（）", "")
    return None


def value_label(value: Any, lang: str, column: str = "") -> Any:
    """A text value of a result table in ``lang``: statuses, vocabularies of a column (zone types,
    land-cover groups, levels of a --group-by table, rule keys of ``not_checked``) and the
    sentences issue-specific columns hold (how the shrub rule was decided, where a land area
    or a target comes from); any other value unchanged.

    Examples
    --------
    >>> value_label("not at this rate", "zh"), value_label("desert", "zh", "zone_type")
    ('按此速度无法达标', '沙漠戈壁')
    >>> value_label("mapped land (raster covers 97.9 % of the zone polygon)", "zh")
    '有数据土地（栅格覆盖分区多边形的 97.9 %）'
    >>> value_label("basic_grassland,urban_boundary", "zh", "not_checked")
    '基本草原、城镇开发边界'
    >>> value_label("四子王旗", "zh", "zone"), value_label(3.5, "zh")
    ('四子王旗', 3.5)
    """
    if not isinstance(value, str):
        return value
    i = 0 if lang == "zh" else 1
    vocab = COLUMN_VALUES.get(column)
    if vocab is not None and value in vocab:
        return vocab[value][i]
    if column in _RULE_LIST_COLUMNS and value:
        keys = [k.strip() for k in value.split(",") if k.strip()]
        if all(k in RULE_NAMES for k in keys):
            return ("、" if lang == "zh" else ", ").join(RULE_NAMES[k][i] for k in keys)
    if value in VALUE_LABELS:
        return VALUE_LABELS[value][i]
    if lang == "zh" and value:
        zh = _zh_sentence(value)
        if zh is not None:
            return zh
    return value


def sheet_title(name: str, lang: str) -> str:
    """A workbook sheet's title in ``lang`` (the sheet's machine name if it has none)."""
    pair = SHEET_TITLES.get(name)
    if pair is None:
        return name
    return pair[0] if lang == "zh" else pair[1]


def outputs_markdown() -> str:
    """The README's table of outputs: one row per (kind, file), generated from the specs."""
    lines = ["| result | file | kind | units | what | when |", "|---|---|---|---|---|---|"]
    for rs in SPECS.values():
        for f in rs.files:
            if f in (MANIFEST, CSV_METADATA):
                continue
            lines.append(f"| {rs.kind} | `{f.name}` | {f.kind} | {f.units} | {f.about} | {f.when} |")
        for name, kind in rs.parts:
            lines.append(f"| {rs.kind} | `{name}/` | folder | as {kind} | a {kind} result folder of its own | "
                         f"when the run has {name} |")
    lines.append(f"| every kind | `{MANIFEST.name}` | json | - | {MANIFEST.about} | always |")
    lines.append(f"| every kind | `{CSV_METADATA.name}` | json | - | {CSV_METADATA.about} | {CSV_METADATA.when} |")
    return "\n".join(lines) + "\n"

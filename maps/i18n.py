"""Labels of the map and figures in Chinese (zh) and English (en)."""

from __future__ import annotations

__all__ = ["LANGS", "label", "column_label", "value_label"]

LANGS = ("zh", "en")

_LABELS: dict[str, tuple[str, str]] = {
    "title": ("碳汇与用地规划图", "Carbon sinks and land planning"),
    "carbon_density": ("碳密度", "Carbon density"),
    "landcover": ("土地覆盖", "Land cover"),
    "zones_stock": ("分区碳储量密度", "Zone carbon stock density"),
    "redline": ("生态保护红线", "Ecological protection redline"),
    "coverage": ("森林覆盖率", "Forest coverage"),
    "coverage_vs_target": ("森林覆盖率与目标之差", "Forest coverage minus target"),
    "change": ("变化", "Change"),
    "change_zones": ("分区碳储量变化", "Carbon change by zone"),
    "carbon_change": ("碳密度变化", "Carbon density change"),
    "transitions": ("土地覆盖转移", "Land-cover transitions"),
    "more_classes": ("另有 {n} 类", "and {n} more"),
    "eligible": ("可选址用地", "Eligible land"),
    "exclusion": ("排除原因", "Exclusion"),
    "parcels": ("候选地块（按得分）", "Candidate parcels (by score)"),
    "bases": ("候选基地", "Candidate bases"),
    "border_belt": ("边境带", "Border belt"),
    "grid_lines": ("输电线路", "Transmission lines"),
    "substations": ("变电站", "Substations"),
    "zones": ("分区", "Zones"),
    "basemap": ("底图", "Basemap"),
    "no_basemap": ("无底图（离线）", "No basemap (offline)"),
    "tianditu_vec": ("天地图 矢量", "Tianditu vector"),
    "tianditu_img": ("天地图 影像", "Tianditu imagery"),
    "gaode": ("高德地图", "GaoDe map"),
    "osm": ("OpenStreetMap", "OpenStreetMap"),
    "coords": ("经纬度", "Lon/lat"),
    "target": ("目标", "Target"),
    "below_target": ("低于目标", "below target"),
    "above_target": ("高于目标", "above target"),
    "pp": ("个百分点", "pp"),
    "no_data": ("无数据", "no data"),
    "shown_top": ("仅显示排名前 {n} 的地块（共 {total} 个）", "top {n} of {total} parcels shown"),
    "gcj_note": ("叠加图层已转换到 GCJ-02 以对齐高德底图；坐标显示为 WGS84", "overlays shifted to GCJ-02 to match GaoDe tiles; coordinates shown in WGS84"),
    "capacity_by_type": ("各类区域装机潜力", "Capacity by zone type"),
    "pv": ("光伏", "PV"),
    "wind": ("风电", "Wind"),
    "capacity_by_tech": ("各技术装机潜力（不重复计地）", "Capacity by technology (no land counted twice)"),
    "carbon_by_zone": ("分区碳储量（按碳库）", "Carbon stock by zone and pool"),
    "coverage_by_zone": ("分区森林覆盖率与目标", "Forest coverage by zone vs target"),
    "coverage_trajectory": ("森林覆盖率变化轨迹", "Forest coverage trajectory"),
    "year": ("年份", "Year"),
    "zone_type": ("区域类型", "Zone type"),
    "capacity_gw": ("装机容量 (GW)", "Capacity (GW)"),
    "stock_tgc": ("碳储量 (Tg C)", "Carbon stock (Tg C)"),
    "coverage_pct": ("森林覆盖率 (%)", "Forest coverage (%)"),
    "pool_above": ("地上生物量", "Above-ground"),
    "pool_below": ("地下生物量", "Below-ground"),
    "pool_soil": ("土壤", "Soil"),
    "pool_dead": ("枯落物", "Dead organic matter"),
    "desert": ("沙漠戈壁", "Desert and gobi"),
    "border": ("边境地区", "Border area"),
    "mine": ("采矿修复区", "Mine restoration"),
    "excluded": ("排除", "excluded"),
    "other": ("其他可选址用地", "Other eligible land"),
    "total": ("合计", "Total"),
    "installed": ("已建和已批", "Installed and approved"),
    "installed_plus_screened": ("已建 + 新地块", "Installed + new parcels"),
    "restoration_effect": ("修复项目碳储量变化（项目内 − 对照环带）", "Restoration effect (inside − control ring)"),
    "control_rings": ("对照环带", "Control rings"),
    "control_ring": ("对照环带", "Control ring"),
    "unit_mgc_per_ha": ("Mg C/公顷", "Mg C/ha"),
    "legend_more": ("▼ 向下滚动查看更多图例", "▼ scroll for more"),
    "parcel": ("地块", "Parcel"),
    "base": ("候选基地", "Base"),
    "rank_short": ("排名", "rank"),
    "unit_ha": ("公顷", "ha"),
    "zone_outlines": ("分区界线与名称", "Zone outlines and names"),
    "lon_deg": ("经度 (°)", "Longitude (°)"),
    "lat_deg": ("纬度 (°)", "Latitude (°)"),
    "parcels_outline": ("候选地块", "Candidate parcels"),
    "at_this_rate": ("按现速度至 {year} 年", "at this rate to {year}"),
    "target_year": ("目标年 {year}", "target year {year}"),
}

#: Column labels of layers no result spec declares (older folders); every declared column is
#: labelled by :mod:`sinkplan.layers.resultspec`.
_COLUMNS: dict[str, tuple[str, str]] = {
    "mean_slope_deg": ("平均坡度 (°)", "Mean slope (°)"),
    "n_parcels": ("地块数", "Parcels"),
}


def label(key: str, lang: str, **fmt) -> str:
    """The label ``key`` in ``lang`` (zh or en), formatted with ``fmt``."""
    zh, en = _LABELS[key]
    text = zh if lang == "zh" else en
    return text.format(**fmt) if fmt else text


def column_label(column: str, lang: str) -> str:
    """A column's or summary key's label with its unit: the result spec's
    (:func:`sinkplan.layers.resultspec.label`, the one source of column labels), else a
    map-only label, else the column name itself.

    A nested summary key ``redline.inside_stock_mgc`` is labelled by its last part."""
    from sinkplan.layers import resultspec as rs

    key = column.rsplit(".", 1)[-1]
    if rs.term(key) is not None:
        return rs.label(key, lang)
    pair = _COLUMNS.get(key)
    if pair is None:
        return column
    return pair[0] if lang == "zh" else pair[1]


#: Text values a result table holds (statuses), shown in the map's language.
_VALUES: dict[str, tuple[str, str]] = {
    "True": ("是", "yes"),
    "False": ("否", "no"),
}


def value_label(value: str, lang: str, column: str = "") -> str:
    """A text value of a table in ``lang`` (the result contract's
    :func:`~sinkplan.layers.resultspec.value_label`, else this module's; the value itself if unknown)."""
    from sinkplan.layers.resultspec import value_label as spec_value

    got = spec_value(str(value), lang, column.rsplit(".", 1)[-1])
    if got != str(value):
        return got
    pair = _VALUES.get(str(value))
    if pair is None:
        return str(value)
    return pair[0] if lang == "zh" else pair[1]

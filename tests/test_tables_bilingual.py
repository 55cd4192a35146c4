"""Workbooks a bureau can hand on: labelled headers and sheets, number formats by unit, totals,
frozen header, a notes sheet; CSVs keep field names and gain a CSVW description."""

from __future__ import annotations

import json

import openpyxl
import pandas as pd
import pytest

from sinkplan.layers import resultspec as rs
from sinkplan.layers.resultfolder import ResultFolder, audit_folder, totals_row, write_xlsx

ZONES = pd.DataFrame({
    "zone": ["四子王旗", "=HYPERLINK(\"http://x\",\"y\")", "(outside zones)"],
    "area_ha": [1319077.5446240734, 984170.9, 1000.0],
    "mapped_fraction": [1.0000117, 0.9793, 1.0],
    "stock_mgc": [51186387.4, 59107297.6, 10.0],
    "stock_mgc_p2_5": [33429183.0, 40511012.0, 5.0],
    "density_mgc_per_ha": [38.805, 60.058, 0.01],
})


def _sheet(path, title):
    wb = openpyxl.load_workbook(path)
    return wb, wb[title]


@pytest.mark.parametrize("lang, title, zone, area, notes", [
    ("zh", "分区碳储量", "分区", "面积 (公顷)", "说明"), ("en", "Stocks by zone", "Zone", "Area (ha)", "Notes")])
def test_workbook_is_labelled_formatted_and_totalled(tmp_path, lang, title, zone, area, notes):
    p = write_xlsx(tmp_path / "s.xlsx", {"stocks_by_zone": ZONES}, lang=lang, notes={"command": "carbon", "seed": 7})
    wb, ws = _sheet(p, title)
    assert wb.sheetnames == [title, notes]
    header = [c.value for c in ws[1]]
    assert header[:2] == [zone, area]
    assert not [h for h in header if "_" in str(h)]  # no machine name in a header
    assert ws.freeze_panes == "B2"
    row = {h: c for h, c in zip(header, ws[2])}
    assert row[area].number_format == "#,##0.0"  # ha with one decimal
    assert row[rs.label("stock_mgc", lang)].number_format == "#,##0"  # Mg C as integers
    assert row[rs.label("mapped_fraction", lang)].number_format == "0.00%"  # shares as percentages
    assert row[area].value == pytest.approx(1319077.5446240734)  # full precision kept, only shown rounded
    assert ws.cell(row=3, column=1).value == '=HYPERLINK("http://x","y")' and ws.cell(row=3, column=1).data_type == "s"
    # totals: areas and stocks add up (1 319 077.54 + 984 170.9 + 1 000 = 2 304 248.44 ha); the
    # percentile, the share and the density do not
    total = {h: c.value for h, c in zip(header, ws[5])}
    assert total[zone] == ("合计" if lang == "zh" else "Total")
    assert total[area] == pytest.approx(1319077.5446240734 + 984170.9 + 1000.0)
    assert total[rs.label("stock_mgc", lang)] == pytest.approx(51186387.4 + 59107297.6 + 10.0)
    for col in ("stock_mgc_p2_5", "mapped_fraction", "density_mgc_per_ha"):
        assert total[rs.label(col, lang)] is None, col
    assert ws.column_dimensions["A"].width >= 10  # sized to 四子王旗 (4 CJK = 8) + margin
    # notes: every column's machine name, unit and meaning, then the run's parameters
    nws = wb[notes]
    rows = [[c.value for c in r] for r in nws.iter_rows(min_row=2)]
    fields = {r[2]: r for r in rows if r[2]}
    assert set(fields) == set(ZONES.columns)
    assert fields["area_ha"][1] == area and fields["area_ha"][3] == ("公顷" if lang == "zh" else "ha")
    assert any(r[1] == "seed" and r[4] == "7" for r in rows)


def test_totals_row_only_for_tables_of_zones():
    assert totals_row(pd.DataFrame({"zone": ["a", "a"], "year": [2015, 2020], "area_ha": [1.0, 2.0]}), "zh") is None
    assert totals_row(pd.DataFrame({"code": [1, 2], "area_ha": [1.0, 2.0]}), "zh") is None
    assert totals_row(pd.DataFrame({"parcel_id": [1, 2], "capacity_mw": [1.5, 2.0], "score": [0.5, 0.9]}), "en") == {
        "parcel_id": "Total", "capacity_mw": 3.5, "score": None}


def test_result_folder_workbook_passes_its_audit(tmp_path):
    out = tmp_path / "carbon"
    table = ZONES.drop(columns="density_mgc_per_ha")  # the columns stocks_by_zone.csv declares
    with ResultFolder(out, kind="carbon", command="carbon", parameters={"uncertainty": 200}, inputs=[], lang="zh") as rf:
        rf.write_csv(rs.STOCKS_BY_ZONE, table)
        rf.write_xlsx(rs.STOCKS_XLSX, {"stocks_by_zone": table})
    problems = [p for p in audit_folder(out) if not p.startswith("summary")]
    assert problems == []
    meta = json.loads((out / "csv-metadata.json").read_text("utf-8"))
    table = meta["tables"][0]  # noqa: F841 - the CSVW table of stocks_by_zone.csv
    assert table["url"] == "stocks_by_zone.csv"
    names = list(ZONES.columns[:-1])
    assert [c["name"] for c in table["tableSchema"]["columns"]] == names  # CSV keeps field names
    col = table["tableSchema"]["columns"][1]
    assert col["titles"] == {"zh": "面积 (公顷)", "en": "Area (ha)"} and col["schema:unitText"] == "ha"
    header = pd.read_csv(out / "stocks_by_zone.csv", encoding="utf-8-sig", nrows=0).columns.tolist()
    assert header == names


def test_values_of_a_table_in_the_workbooks_language():
    from sinkplan.layers.resultspec import value_label

    # a column's vocabulary, a comma list of rule keys, a status, a sentence with a file name in it
    assert value_label("desert", "zh", "zone_type") == "沙漠戈壁"
    assert value_label("desert", "en", "zone_type") == "Desert and gobi"
    assert value_label("basic_grassland,urban_boundary", "zh", "not_checked") == "基本草原、城镇开发边界"
    assert value_label("basic_grassland,urban_boundary", "en", "not_checked") == "basic grassland, urban development boundary"
    assert value_label("basic_grassland,unknown_rule", "zh", "not_checked") == "basic_grassland,unknown_rule"  # kept whole
    assert value_label("not at this rate", "zh") == "按此速度无法达标"
    assert value_label("applied: precipitation raster p.tif (< 400 mm)", "zh") == "已判定：降水量栅格 p.tif（< 400 毫米）"
    assert value_label("per-zone targets t.csv", "zh") == "分区目标 t.csv"  # no year: its brackets dropped
    assert value_label("forest 88.5 m³/ha (2020 basis)", "zh") == "林地 88.5 立方米/公顷（2020 年基准）"
    # English keeps the sentence; a name is never translated; numbers pass through
    assert value_label("applied: precipitation raster p.tif (< 400 mm)", "en") == "applied: precipitation raster p.tif (< 400 mm)"
    assert value_label("desert", "zh", "zone") == "desert" and value_label(3.5, "zh", "zone_type") == 3.5


def test_popup_numbers_by_the_columns_unit():
    from sinkplan.maps.builder import fmt_value

    # units from the result contract, whatever the column's name says
    assert fmt_value(1234567.4, "grid_cost_cny") == "1,234,567"  # CNY: whole yuan
    assert fmt_value(98765.4321, "avoided_t_co2_per_yr") == "98,765"  # t CO2/yr: whole tonnes, not 3 digits
    assert fmt_value(88.456, "volume_m3_per_ha") == "88.5"  # m³/ha: 3 significant digits
    assert fmt_value(0.2345, "capacity_factor") == "23.45 %"  # a fraction shown as %
    assert fmt_value(0.0001868, "overall_accuracy") == "0.02 %"  # 0.01868 % to 0.01
    assert fmt_value(0.00001868, "overall_accuracy") == "0.00187 %"  # never 0.00 % for a non-zero share


def test_results_of_one_map_get_distinct_names_and_prefixed_layers():
    from pathlib import Path

    from sinkplan.maps.build import prefix_layers, result_short_names
    from sinkplan.maps.folders import ResultInfo
    from sinkplan.maps.model import Legend, RasterLayer

    pv = ResultInfo(Path("site_pv"), "site", {}, {"tech": "pv"})
    wind = ResultInfo(Path("site_wind"), "site", {"parameters": {"tech": "wind"}}, {})
    assert result_short_names([pv, wind], "zh") == ["光伏", "风电"]
    assert result_short_names([pv, wind], "en") == ["PV", "Wind"]
    assert result_short_names([pv, pv], "zh") == ["光伏 1", "光伏 2"]  # one name twice: numbered
    one = RasterLayer("可选址用地", "", (0, 0, 1, 1), Legend("categorical", "可选址用地", items=[("#ff0000", "可选址用地")]))
    ramp = RasterLayer("得分", "", (0, 0, 1, 1), Legend("continuous", "得分"))
    prefix_layers([one, ramp], "风电")
    prefix_layers([one, ramp], "风电")  # twice: no double prefix
    assert (one.name, one.legend.title, one.legend.items) == ("风电 · 可选址用地", "风电 · 可选址用地",
                                                              [("#ff0000", "风电 · 可选址用地")])
    assert (ramp.name, ramp.legend.title) == ("风电 · 得分", "风电 · 得分")

"""The Excel writer: text stays text (never a formula), empty values stay empty, and a table
longer than Excel's row limit keeps its first rows with a warning (the CSV has them all)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
import pytest
from openpyxl import load_workbook

import sinkplan.layers.resultfolder as rf


def test_text_numbers_blanks_and_the_row_limit(tmp_path, monkeypatch, caplog):
    df = pd.DataFrame({"zone": ["=SUM(1+1)", "甲旗", "乙", "丙", "丁"], "area_ha": [1.5, np.nan, 3.0, 4.0, 5.0],
                       "rank": np.arange(1, 6, dtype=np.int64)})
    monkeypatch.setattr(rf, "XLSX_MAX_ROWS", 4)  # header + 3 rows
    with caplog.at_level(logging.WARNING):
        rf.write_xlsx(tmp_path / "t.xlsx", {"parcels": df})
    ws = load_workbook(tmp_path / "t.xlsx")["parcels"]
    rows = [[c.value for c in r] for r in ws.iter_rows()]
    assert rows == [["zone", "area_ha", "rank"], ["=SUM(1+1)", 1.5, 1], ["甲旗", None, 2], ["乙", 3.0, 3]]
    assert ws["A2"].data_type == "s"  # stored as text: Excel shows it, never runs it
    assert "5 rows, Excel holds 3; the sheet keeps the first 3" in caplog.text
    assert [p.name for p in tmp_path.iterdir()] == ["t.xlsx"]


def test_cells_of_every_kind_read_back_as_written(tmp_path):
    df = pd.DataFrame({
        "zone": ["a\x01b", "", None, "=1+1", "'q'"],  # a control character (openpyxl refused it), a formula-like name
        "area_ha": [np.inf, -np.inf, np.nan, 2.0, 1319077.5446240734],
        "n": pd.array([1, None, 3, 4, 5], dtype="Int64"),
        "flag": [True, False, True, False, True],
        "when": pd.to_datetime(["2020-01-01", None, "2021-05-06", "2022-01-01", "2023-01-01"]),
        "big": np.array([2**53, 1, 2, 3, 4], dtype=np.int64),
    })
    rf.write_xlsx(tmp_path / "t.xlsx", {"parcels": df, "Parcels": df.head(1), "'x'": df.head(1)})
    wb = load_workbook(tmp_path / "t.xlsx")
    # Excel compares sheet names ignoring case and refuses a name starting or ending with '
    assert wb.sheetnames == ["parcels", "Parcels_1", "_x_"]
    rows = [[(c.value, c.data_type) for c in r] for r in wb["parcels"].iter_rows(min_row=2)]
    d = __import__("datetime").datetime
    assert rows == [
        [("a_x0001_b", "s"), ("inf", "s"), (1, "n"), (True, "b"), (d(2020, 1, 1), "d"), (2**53, "n")],
        [("", "s"), ("-inf", "s"), (None, "n"), (False, "b"), (None, "n"), (1, "n")],  # ±inf as the CSV shows them
        [(None, "n"), (None, "n"), (3, "n"), (True, "b"), (d(2021, 5, 6), "d"), (2, "n")],  # NaN, pd.NA, NaT: empty
        [("=1+1", "s"), (2, "n"), (4, "n"), (False, "b"), (d(2022, 1, 1), "d"), (3, "n")],  # text, never a formula
        [("'q'", "s"), (pytest.approx(1319077.5446240734, rel=1e-15), "n"), (5, "n"), (True, "b"), (d(2023, 1, 1), "d"),
         (4, "n")],
    ]


def test_labelled_sheet_styles_widths_and_totals(tmp_path):
    df = pd.DataFrame({"zone": ["四子王旗", "乙"], "area_ha": [1.25, 2.5], "capacity_mw": [10.0, np.nan],
                       "score": [0.5, 0.25]})
    rf.write_xlsx(tmp_path / "t.xlsx", {"parcels": df}, lang="zh")
    ws = load_workbook(tmp_path / "t.xlsx")["候选地块"]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["分区", "面积 (公顷)", "装机容量 (MW)"]
    assert all(c.font.b and c.alignment.wrap_text and c.alignment.vertical == "top" for c in ws[1])
    assert ws.freeze_panes == "B2"
    # widths in Excel characters (+0.71: Excel's padding): zone = 四子王旗 = 4 × 2 + 2 = 10; area = the
    # header 面积 (公顷) = 2 × 2 + 2 + 2 × 2 + 1 = 11, + 2 = 13
    assert ws.column_dimensions["A"].width == pytest.approx(10.7109375)
    assert ws.column_dimensions["B"].width == pytest.approx(13.7109375)
    assert [ws["B2"].number_format, ws["B3"].number_format, ws["A2"].number_format] == ["#,##0.0", "#,##0.0", "General"]
    assert ws["C3"].value is None  # NaN: an empty cell
    # totals: 1.25 + 2.5 = 3.75 ha, 10 + NaN = 10 MW, the score does not add up; bold on grey, in the column's format
    total = ws[4]
    assert [c.value for c in total] == ["合计", 3.75, 10.0, None]
    assert all(c.font.b and c.fill.fgColor.rgb == "FFEEEEEE" for c in total)
    assert [c.number_format for c in total[1:3]] == ["#,##0.0", "#,##0.0"]
    assert ws.max_row == 4


@pytest.mark.parametrize("in_memory_cells", [0, 10**6], ids=["on-disk", "in-memory"])
def test_workbooks_built_in_memory_or_on_disk_hold_the_same_cells(tmp_path, monkeypatch, in_memory_cells):
    # a workbook of at most XLSX_IN_MEMORY_CELLS cells is built in memory, a larger one row by row
    # through temporary files: the same cells either way, and no temporary file is left
    df = pd.DataFrame({"zone": ["=HYPERLINK(\"x\")", "甲旗", "", None], "area_ha": [1.25, np.nan, 3.0, -0.5],
                       "n": np.array([1, 2, 3, 4], dtype=np.int64)})
    monkeypatch.setattr(rf, "XLSX_IN_MEMORY_CELLS", in_memory_cells)
    rf.write_xlsx(tmp_path / "t.xlsx", {"parcels": df})
    ws = load_workbook(tmp_path / "t.xlsx")["parcels"]
    assert [[c.value for c in r] for r in ws.iter_rows()] == [
        ["zone", "area_ha", "n"], ["=HYPERLINK(\"x\")", 1.25, 1], ["甲旗", None, 2], ["", 3.0, 3], [None, -0.5, 4]]
    assert ws["A2"].data_type == "s"
    assert [p.name for p in tmp_path.iterdir()] == ["t.xlsx"]

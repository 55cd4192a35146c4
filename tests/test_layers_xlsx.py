"""The Excel writer: text stays text (never a formula), empty values stay empty, and a table
longer than Excel's row limit keeps its first rows with a warning (the CSV has them all)."""

from __future__ import annotations

import logging

import numpy as np
import pandas as pd
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

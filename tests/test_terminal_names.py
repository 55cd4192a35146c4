"""Zone names in terminal lines: control characters and bidi marks escaped, so a warning stays
one line in reading order; the data outputs keep each name exactly as written."""

from __future__ import annotations

import pandas as pd
import pytest
from sinks_util import ALBERS_EA, run_cli, write_forest_shrub_grass, write_polys

from sinkplan.layers import resultspec as rs
from sinkplan.layers.files import terminal_text

NAME = "新\n区\u202e旗\x1b[31m"  # a newline, a right-to-left override and an ANSI colour escape


def test_terminal_text_escapes_what_breaks_a_line_and_keeps_the_rest():
    assert terminal_text(NAME) == "新\\n区\\u202e旗\\x1b[31m"
    assert terminal_text("四子王旗 Dörbed العربية") == "四子王旗 Dörbed العربية"  # letters of any script unchanged
    assert terminal_text("a\tb\r\u2028c\u2066d\u200f") == "a\\tb\\r\\u2028c\\u2066d\\u200f"


def test_a_partly_mapped_zone_warning_is_one_line_and_the_table_keeps_the_name(tmp_path, capsys):
    lc = write_forest_shrub_grass(tmp_path / "lc.tif")  # x 500 000-503 000 m
    # the zone runs 1 500 m past the raster's east edge: half of it unmapped, which is warned
    zones = write_polys(tmp_path / "z.gpkg", [(501500.0, 4497000.0, 504500.0, 4500000.0)], crs=ALBERS_EA, name=[NAME])
    out = tmp_path / "c"
    code, err = run_cli(["carbon", str(lc), "--zones", str(zones), "--zone-field", "name", "--out", str(out)], capsys)
    assert code == 0, err
    lines = [ln for ln in err.splitlines() if "新" in ln]
    assert lines and all(ln.startswith("WARNING") for ln in lines), err  # no line begins inside a name
    assert "新\\n区\\u202e旗\\x1b[31m" in lines[0] and "\u202e" not in err and "\x1b" not in err
    raw = pd.read_csv(out / rs.STOCKS_BY_ZONE.name, dtype=str, keep_default_na=False)
    assert NAME in raw["zone"].tolist()  # the data keep it exactly


def test_an_error_naming_the_zone_is_one_escaped_line(tmp_path, capsys):
    lc = write_forest_shrub_grass(tmp_path / "lc.tif")
    zones = write_polys(tmp_path / "z.gpkg", [(500000.0, 4497000.0, 501500.0, 4500000.0),
                                              (501500.0, 4497000.0, 503000.0, 4500000.0)],
                        crs=ALBERS_EA, name=[NAME, NAME], league=["A", "B"])
    out = tmp_path / "c"
    code, err = run_cli(["carbon", str(lc), "--zones", str(zones), "--zone-field", "name", "--out", str(out)], capsys)
    assert code == 2
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith(("INFO", "WARNING"))]
    # the message quotes the name with repr (newline and ESC escaped); the line escapes what repr keeps
    assert len(lines) == 1 and "新\\n区\\u202e旗\\x1b[31m" in lines[0] and "\u202e" not in err and "\x1b" not in err

"""A custom scheme's class names in a result folder's scheme.csv: formula-guarded, read back exactly."""

from __future__ import annotations

import csv
import io
import json
import re

import numpy as np
import pytest
from affine import Affine
from sinks_util import run_cli, write_tif

from sinkplan.layers import resultspec as rs
from sinkplan.layers.schemes import ClassScheme, LandClass
from sinkplan.sinks.mapfiles import scheme_csv_text

HOSTILE = {  # code → (name_en, name_zh), each a cell a spreadsheet would run or that the guard must keep
    1: ('=HYPERLINK("http://x","y")', "+林地"),
    2: ("@SUM(A1)", "-灌木"),
    3: ("'=already quoted", "-1"),  # a quote before a trigger gains one more; a plain number is not text to guard
    4: ("Grassland", "草地"),
}
GROUPS = {1: "forest", 2: "shrubland", 3: "grassland", 4: "grassland"}


def _scheme() -> ClassScheme:
    return ClassScheme(name="hostile", classes=tuple(
        LandClass(code=c, name_en=en, name_zh=zh, group=GROUPS[c], color="#112233") for c, (en, zh) in HOSTILE.items()))


def test_names_are_guarded_in_the_file_and_read_back_exactly():
    text = scheme_csv_text(_scheme())
    rows = list(csv.reader(io.StringIO("\n".join(ln for ln in text.splitlines() if not ln.startswith("#")))))
    cells = {int(r[0]): (r[1], r[2]) for r in rows[1:]}
    assert cells[1] == ('\'=HYPERLINK("http://x","y")', "'+林地")  # a spreadsheet shows text, runs nothing
    assert cells[2] == ("'@SUM(A1)", "'-灌木")
    assert cells[3] == ("''=already quoted", "-1")
    assert cells[4] == ("Grassland", "草地")
    back = ClassScheme.from_csv("scheme.csv", text=text)
    assert {c.code: (c.name_en, c.name_zh) for c in back.classes} == HOSTILE  # exactly as given


def test_a_users_own_scheme_csv_is_read_as_written():
    """No '# guard: formula' header: a leading quote is the user's, not the guard's."""
    text = "code,name_en,name_zh,group,color\n1,'=x,'@y,forest,#112233\n"
    s = ClassScheme.from_csv("mine.csv", text=text)
    assert (s.classes[0].name_en, s.classes[0].name_zh) == ("'=x", "'@y")


def test_change_folder_scheme_and_its_map_legend(tmp_path, capsys):
    """The change folder's scheme.csv is the guarded file, and the map's transition legend names
    the classes as the user wrote them."""
    from sinkplan.maps.build import build_map

    path = tmp_path / "hostile.csv"
    path.write_text("code,name_en,name_zh,group,color\n" + "".join(
        f"{c},\"{en.replace(chr(34), chr(34) * 2)}\",{zh},{GROUPS[c]},#112233\n" for c, (en, zh) in HOSTILE.items()),
        encoding="utf-8")
    t = Affine(30, 0, 500000, 0, -30, 4500000)
    a = np.full((20, 20), 4, np.uint8)
    b = a.copy()
    b[:10] = 1  # half the grassland became class 1 (forest)
    crs = "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +ellps=WGS84 +units=m"
    p15, p20 = write_tif(tmp_path / "a.tif", a, crs=crs, transform=t), write_tif(tmp_path / "b.tif", b, crs=crs, transform=t)
    out = tmp_path / "change"
    code, err = run_cli(["change", f"2015={p15}", f"2020={p20}", "--scheme", str(path), "--out", str(out)], capsys)
    assert code == 0, err
    raw = (out / rs.SCHEME_CSV.name).read_text("utf-8-sig")
    assert "# guard: formula" in raw and '"\'=HYPERLINK(""http://x"",""y"")"' in raw
    assert {c.code: (c.name_en, c.name_zh) for c in ClassScheme.from_csv(out / rs.SCHEME_CSV.name).classes} == HOSTILE
    html = build_map([out], lang="en")
    data = json.loads(re.search(r'<script id="sinkplan-data" type="application/json">(.*?)</script>', html, re.S).group(1))
    legend = next(lay for lay in data["layers"] if lay["name"].startswith("Land-cover transitions"))["legend"]
    assert [t for _, t in legend["items"]] == ['Grassland → =HYPERLINK("http://x","y")']  # 4 → 1, unquoted

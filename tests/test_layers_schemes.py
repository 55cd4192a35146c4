"""Class schemes: shipped tables, user CSV/TOML, validation, mapping extra codes."""

from __future__ import annotations

import numpy as np
import pytest

from sinkplan.layers.errors import InputFileError, SchemeError
from sinkplan.layers.schemes import GROUP_INDEX, GROUPS, load_scheme, parse_code_mapping, shipped_schemes


def test_shipped_schemes_are_complete():
    assert set(shipped_schemes()) >= {"clcd", "worldcover", "globeland30"}
    clcd = load_scheme("clcd")
    assert clcd.codes == (1, 2, 3, 4, 5, 6, 7, 8, 9)
    assert [clcd.group_of(c) for c in clcd.codes] == [
        "cropland", "forest", "shrubland", "grassland", "water", "snow_ice", "barren", "built", "wetland"]
    assert clcd[2].name_zh == "森林" and clcd.nodata == 0
    wc = load_scheme("WorldCover")
    assert wc.codes == (10, 20, 30, 40, 50, 60, 70, 80, 90, 95, 100)
    assert wc.group_of(95) == "forest" and wc.group_of(60) == "barren"
    g30 = load_scheme("globeland30")
    assert g30.group_of(40) == "shrubland" and g30.group_of(80) == "built"
    for s in (clcd, wc, g30):
        assert all(c.group in GROUPS and c.color.startswith("#") for c in s.classes)
        assert s.source


def test_group_lut():
    lut = load_scheme("clcd").group_lut()
    assert lut[2] == GROUP_INDEX["forest"] and lut[0] == GROUP_INDEX["nodata"]
    assert load_scheme("worldcover").group_lut()[11] == -1  # code 11 unknown


def test_custom_csv_and_toml(tmp_path):
    csv = tmp_path / "my.csv"
    csv.write_text("# scheme: mine\n# nodata: 255\ncode,name_en,name_zh,group,color\n"
                   "1,Larch,落叶松林,forest,#112233\n2,Steppe,典型草原,grassland,#445566\n", encoding="utf-8")
    s = load_scheme(csv)
    assert (s.name, s.nodata, s.codes, s[1].name_zh) == ("mine", 255, (1, 2), "落叶松林")
    toml = tmp_path / "my.toml"
    toml.write_text('name = "t"\nnodata = 0\n[[class]]\ncode = 5\nname_en = "Lake"\nname_zh = "湖泊"\n'
                    'group = "water"\ncolor = "#0000FF"\n', encoding="utf-8")
    t = load_scheme(toml)
    assert (t.name, t.codes, t.group_of(5), t.colormap()[5]) == ("t", (5,), "water", (0, 0, 255, 255))


def test_gbk_csv_is_read(tmp_path):
    csv = tmp_path / "gbk.csv"
    csv.write_bytes("code,name_en,name_zh,group,color\n1,Forest,森林,forest,#00AA00\n".encode("gbk"))
    assert load_scheme(csv)[1].name_zh == "森林"


@pytest.mark.parametrize("body, message", [
    ("code,name_en,group,color\n1,a,forestry,#000000\n", "code 1 has group 'forestry', not one of forest"),
    ("code,name_en,group,color\n1,a,forest,#000000\n1,b,water,#000000\n", "code 1 is defined twice"),
    ("code,name_en,group,color\nx,a,forest,#000000\n", "code 'x' is not an integer"),
    ("code,name_en,group,color\n1,a,forest,green\n", "colour 'green'; write it as #RRGGBB"),
    ("name_en,group\na,forest\n", r"missing column\(s\) \['code'\]"),
    ("code,name_en,group,color,extra\n1,a,forest,#000000,z\n", r"unknown column\(s\) \['extra'\]"),
    ("code,name_en,group,color\n-3,a,forest,#000000\n", "code -3 is negative"),
    ("code,name_en,group,color\n", "defines no classes"),
])
def test_bad_scheme_csv(tmp_path, body, message):
    p = tmp_path / "bad.csv"
    p.write_text(body, encoding="utf-8")
    with pytest.raises(SchemeError, match=message):
        load_scheme(p)


def test_bad_toml_and_missing_file(tmp_path):
    p = tmp_path / "bad.toml"
    p.write_text("name = 'x'\ncolour_table = 1\n[[class]]\ncode = 1\ngroup = 'forest'\n")
    with pytest.raises(SchemeError, match=r"unknown key\(s\) \['colour_table'\]"):
        load_scheme(p)
    p.write_text("name = \n")
    with pytest.raises(SchemeError, match="not valid TOML"):
        load_scheme(p)
    with pytest.raises(InputFileError, match="scheme file not found; give a shipped name"):
        load_scheme(tmp_path / "nope.csv")


def test_mapping_extra_codes():
    s = load_scheme("clcd", mapping=parse_code_mapping("200=7, 201=grassland"))
    assert s.group_of(200) == "barren" and s[200].color == s[7].color
    assert s.group_of(201) == "grassland"
    with pytest.raises(SchemeError, match="already in scheme 'clcd'"):
        load_scheme("clcd", mapping={2: 3})
    with pytest.raises(SchemeError, match="'meadow' is neither a code of 'clcd' nor a group"):
        load_scheme("clcd", mapping={300: "meadow"})
    with pytest.raises(SchemeError, match="write CODE=CODE or CODE=GROUP"):
        parse_code_mapping("200:7")
    # the same code twice kept the last mapping in silence (200 would be grassland, not barren)
    with pytest.raises(SchemeError, match=r"code 200 is mapped twice \(7 and grassland\); map each code once"):
        parse_code_mapping("200=7,200=grassland")
    assert parse_code_mapping("200=7, 200=7") == {200: 7}  # repeated alike: no doubt


def test_codes_in_groups():
    s = load_scheme("clcd")
    assert s.codes_in("forest", "shrubland") == (2, 3)
    with pytest.raises(SchemeError, match=r"unknown group\(s\) \['trees'\]"):
        s.codes_in("trees")
    assert 2 in s and 0 not in s and np.int64(9) in s

"""Rule sets a site run could not check, as the map and the workbook name them: every name in
the map's language, none a raw key.

Before: a Chinese map said "未核查 / not checked: …" (English in a zh map), an English map listed
``zone_border`` (the key of the border zone missing for lack of ``--border``), and the zh
workbook's 未核查规则 sheet kept ``not checked`` / ``zone_missing`` / ``upper_bound`` codes."""

from __future__ import annotations

import json

import pytest

import synthetic
from sinkplan.layers import resultspec as rs
from sinkplan.maps.builder import MapBuilder
from sinkplan.maps.model import MapSpec
from sinkplan.maps.siting_layers import siting_layers

NOT_CHECKED = [  # as siting.prepare writes them for a PV run without --basic-grassland, --border, --mines
    {"rule": "basic_grassland", "name_zh": "基本草原", "option": "--basic-grassland", "clause": "12号",
     "effect": "upper_bound"},
    {"rule": "zone_border", "name_zh": "边境地带", "option": "--border",
     "clause": "the border zone of interest is not screened", "effect": "zone_missing"},
    {"rule": "zone_mine", "name_zh": "采矿修复区", "option": "--mines",
     "clause": "the mine zone of interest is not screened", "effect": "zone_missing"},
]


@pytest.fixture(scope="module")
def site(tmp_path_factory):
    return synthetic.site_folder(tmp_path_factory.mktemp("nc") / "site", size=40, n_parcels=2)


@pytest.mark.parametrize("lang, note", [
    ("zh", "未核查：基本草原、边境地带、采矿修复区（装机为上限）"),
    ("en", "Not checked: basic grassland, border zone, mine restoration zone (capacity is an upper bound)"),
])
def test_map_note_names_every_rule_in_the_maps_language(site, lang, note):
    summary = {**json.loads((site / rs.SUMMARY.name).read_text(encoding="utf-8")), "not_checked": NOT_CHECKED}
    b = MapBuilder(MapSpec(title="t", lang=lang), max_pixels=10_000, max_cells=1 << 20)
    siting_layers(b, site, summary)
    assert [n for n in b.spec.notes if n.startswith(note.split("：")[0].split(":")[0])] == [note]


@pytest.mark.parametrize("column, value, zh, en", [
    ("rule", "zone_border", "zone_border", "zone_border"),  # the key column stays the key (name_zh is beside it)
    ("not_checked", "basic_grassland,zone_mine", "基本草原、采矿修复区", "basic grassland, mine restoration zone"),
    ("effect", "zone_missing", "该重点区域未筛查", "zone not screened"),
    ("effect", "upper_bound", "装机为上限", "capacity is an upper bound"),
    ("status", "not checked", "未核查", "not checked"),
])
def test_workbook_values_of_the_not_checked_sheet(column, value, zh, en):
    assert rs.value_label(value, "zh", column) == zh
    assert rs.value_label(value, "en", column) == en

"""The result-folder contract (sinkplan.layers.resultspec) and its writer (sinkplan.layers.resultfolder).

Every column, summary key and file a writer writes must be declared in the spec with a
Chinese and an English label and its unit: the writers refuse anything undeclared while
the tests run (``SINKPLAN_STRICT_SPEC=1``, tests/conftest.py), and the demo's folders are
audited file by file here.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pandas as pd
import pytest

from sinkplan.layers import resultspec as rs
from sinkplan.layers.errors import SpecError
from sinkplan.layers.resultfolder import ResultFolder, audit_folder, folder_kind

CJK = re.compile(r"[\u4e00-\u9fff]")


def test_every_term_has_both_labels_and_a_known_unit():
    for name, t in rs.TERMS.items():
        assert t.name == name
        assert t.zh.strip() and t.en.strip(), name
        # a Chinese label carries Chinese characters, unless it is a symbol both languages share
        assert CJK.search(t.zh) or t.zh == t.en or t.zh.startswith(("R²", "F1", "Kappa", "W_i")), name
        assert t.unit in rs.UNITS or t.unit in ("", "fraction"), (name, t.unit)


def _leaf(path: str) -> str:
    parts = [p.removesuffix("[]") for p in path.split(".")]
    while parts and parts[-1] == "*":  # keys that are data: the label is the parent's
        parts.pop()
    return parts[-1] if parts else ""


def test_every_declared_column_and_key_has_a_term():
    for kind, s in rs.SPECS.items():
        assert s.kind == kind and s.files and s.about
        assert rs.SUMMARY in s.files and rs.MANIFEST in s.files, kind
        for f in s.files:
            assert f.about and f.units and f.when, f.name
            for c in (*f.columns, *(c for _, cols in f.sheets for c in cols)):
                assert rs.term(c) is not None, (kind, f.name, c)
        for path in s.summary:
            leaf = _leaf(path)
            if leaf:
                assert rs.term(leaf) is not None, (kind, path)
            # a nested path's parents are declared too, so a reader can label every level
            parent = path.rsplit(".", 1)[0] if "." in path else None
            if parent is not None:
                assert parent.removesuffix("[]") in s.summary, (kind, path)


def test_labels_carry_units_in_both_languages():
    # 面积 + (公顷): the unit follows the label; fractions and text have none
    assert rs.label("area_ha", "zh") == "面积 (公顷)" and rs.label("area_ha", "en") == "Area (ha)"
    assert rs.label("annual_sequestration_mt_co2e_per_yr", "zh") == "年均固碳量 (Mt CO2e/年)"
    assert rs.label("coverage", "zh") == "森林覆盖率" and rs.label("zone", "en") == "Zone"
    assert rs.label("gap_ha_2020", "en") == "Gap to target 2020 (ha)"
    assert rs.label("forest", "en") == "Forest (ha)"  # a transition-matrix column: the group's area, by its name
    assert rs.label("snow_ice", "zh") == "冰雪 (公顷)"
    assert rs.label("not_declared", "zh") == "not_declared"


def test_patterns_match_only_their_family():
    assert rs.undeclared_columns(rs.COVERAGE_ZONES, ["coverage_2020", "coverage_20x0", "gap_ha_1999"]) == ["coverage_20x0"]
    assert rs.undeclared_columns(rs.TRANSITION_MATRIX, ["before \\ after", "forest", "woods"]) == ["woods"]
    assert rs.undeclared_columns(rs.SWEEP_CSV, ["capacity_mw_desert", "capacity_mw_sea"]) == ["capacity_mw_sea"]


def test_summary_keys_are_checked_at_every_depth():
    ok = {"area_ha": 1.0, "stock_mgc_by_pool": {"above": 1.0}, "zones": [{"zone": "a", "stock_mgc": 2.0}],
          "uncertainty": {"stock_mgc_by_pool": {"soil": {"p2_5": 1.0}}}}
    assert rs.undeclared_summary_keys("carbon", ok) == []
    bad = {**ok, "zones": [{"zone": "a", "made_up": 1}], "redline": {"inside_area_ha": 1.0, "elsewhere": 2}}
    assert rs.undeclared_summary_keys("carbon", bad) == ["redline.elsewhere", "zones[].made_up"]


def test_typed_summary_record_has_schema_version():
    rec = rs.CARBON.read_summary({"schema_version": rs.SCHEMA_VERSION, "kind": "carbon", "stock_mgc": 5, "zones": []})
    assert rec.schema_version == rs.SCHEMA_VERSION and rec.stock_mgc == 5.0 and rec.zones == []
    with pytest.raises(ValueError):
        rs.CARBON.read_summary({"kind": "carbon", "stock_mgc": "lots"})
    with pytest.raises(ValueError):
        rs.CARBON.read_summary({"kind": "site"})


def test_writer_refuses_an_undeclared_column_key_or_file(tmp_path):
    df = pd.DataFrame({"zone": ["a"], "area_ha": [1.0], "stock_mgc": [2.0]})
    with pytest.raises(SpecError, match=r"stocks_by_zone\.csv: made_up not declared in sinkplan\.layers\.resultspec"):
        with ResultFolder(tmp_path / "a", kind="carbon", command="carbon", parameters={}, inputs=[]) as rf:
            rf.write_csv(rs.STOCKS_BY_ZONE, df.assign(made_up=1))
    with pytest.raises(SpecError, match=r"carbon summary\.json: zones\[\]\.made_up"):
        with ResultFolder(tmp_path / "b", kind="carbon", command="carbon", parameters={}, inputs=[]) as rf:
            rf.write_summary({"stock_mgc": 1.0, "zones": [{"zone": "a", "made_up": 1}]})
    with pytest.raises(SpecError, match=r"carbon result folder: file stray\.txt"):
        with ResultFolder(tmp_path / "c", kind="carbon", command="carbon", parameters={}, inputs=[]) as rf:
            rf.write_text("stray.txt", "x")
    assert not any(p.name in ("a", "b", "c") for p in tmp_path.iterdir())  # nothing committed
    with ResultFolder(tmp_path / "d", kind="carbon", command="carbon", parameters={}, inputs=[]) as rf:
        rf.write_csv(rs.STOCKS_BY_ZONE, df)
        rf.write_summary({"stock_mgc": 2.0})
    assert audit_folder(tmp_path / "d") == [] and folder_kind(tmp_path / "d") == "carbon"


def test_outside_tests_an_undeclared_column_only_warns(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("SINKPLAN_STRICT_SPEC", "0")
    with ResultFolder(tmp_path / "a", kind="carbon", command="carbon", parameters={}, inputs=[]) as rf:
        rf.write_csv(rs.STOCKS_BY_ZONE, pd.DataFrame({"zone": ["a"], "made_up": [1]}))
    assert (tmp_path / "a" / rs.STOCKS_BY_ZONE.name).exists()
    assert any("made_up not declared" in r.getMessage() for r in caplog.records)


def test_readme_outputs_table_is_the_spec():
    readme = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
    m = re.search(r"<!-- outputs-table -->\n(.*?)<!-- /outputs-table -->", readme, re.S)
    assert m, "README.md lacks the <!-- outputs-table --> block"
    assert m.group(1) == rs.outputs_markdown(), "README's table of outputs differs: paste rs.outputs_markdown()"


@pytest.fixture(scope="module")
def demo_out(tmp_path_factory) -> Path:
    """``sinkplan demo`` at scale 0.1 (every command's folder), built once."""
    from sinkplan.cmd_demo import run
    from sinkplan.context import RunContext

    out = tmp_path_factory.mktemp("spec") / "demo"
    run(argparse.Namespace(out=str(out), seed=2025, scale=0.1, overwrite=False), RunContext(quiet=True))
    return out


def test_every_demo_folder_keeps_its_spec(demo_out):
    kinds = {}
    for d in sorted(p for p in demo_out.iterdir() if p.is_dir() and p.name not in ("inputs", "maps")):
        kinds[d.name] = folder_kind(d)
        assert audit_folder(d) == [], d.name
    assert set(kinds.values()) == {"carbon", "coverage", "change", "restoration", "site", "classify",
                                   "area-estimate", "density-model", "landcover"}

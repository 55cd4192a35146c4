"""The result contract seen from both ends: only the spec names a result file, and the maps
read a folder through the spec and the folder alone (never shipped schemes, targets or the
computing packages).

The writers themselves are compared with the commands in ``test_folder_writers.py``.
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

import synthetic
from test_maps_html import page_data

from sinkplan.layers import resultspec as rs

ROOT = Path(__file__).resolve().parents[1]
#: The library's packages (the top-level folders that install as ``sinkplan.*``).
PACKAGES = ("layers", "sinks", "siting", "maps", "sinkplan", "seeds")
SPEC_MODULE = ROOT / "layers" / "resultspec.py"


def spec_file_names() -> set[str]:
    return {f.name for s in rs.SPECS.values() for f in s.files}


def string_literals(source: str) -> list[tuple[int, str]]:
    """(line, text) of every string constant of a module but its docstrings (a docstring may
    name a file; code must take the name from the spec)."""
    tree = ast.parse(source)
    docs = {id(n.body[0].value) for n in ast.walk(tree)
            if isinstance(n, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef))
            and n.body and isinstance(n.body[0], ast.Expr) and isinstance(n.body[0].value, ast.Constant)}
    return [(n.lineno, n.value) for n in ast.walk(tree)
            if isinstance(n, ast.Constant) and isinstance(n.value, str) and id(n) not in docs]


def named_files(path: Path, names: set[str]) -> list[str]:
    return [f"{path.relative_to(ROOT)}:{line}: {text!r}" for line, text in string_literals(path.read_text("utf-8"))
            if text in names]


def test_only_the_spec_names_a_result_file():
    """The acceptance grep (``"summary.json"``, ``"stocks_by_zone.csv"``, ``"eligible.tif"`` in
    the spec only), for every file name any spec declares, over every library module."""
    names = spec_file_names()
    assert {"summary.json", "stocks_by_zone.csv", "eligible.tif", "carbon_change.tif", "scheme.csv"} <= names
    found = [hit for pkg in PACKAGES for p in sorted((ROOT / pkg).rglob("*.py")) if p != SPEC_MODULE
             for hit in named_files(p, names)]
    assert found == []
    # the spec itself is where they are: each of the three names once, as its FileSpec's name
    in_spec = [t for _, t in string_literals(SPEC_MODULE.read_text("utf-8"))]
    assert [in_spec.count(n) for n in ("summary.json", "stocks_by_zone.csv", "eligible.tif")] == [1, 1, 1]


def test_the_file_name_scan_sees_a_literal_and_skips_docstrings():
    src = '"""A module writing summary.json."""\n\ndef f(folder):\n    """Reads eligible.tif."""\n' \
          '    return folder / "eligible.tif", f"{folder}/summary.json", "zones.gpkg"\n'
    hits = [(line, t) for line, t in string_literals(src) if t in spec_file_names()]
    # line 5: the literal and the plain string; the f-string's text is "/summary.json", not a name
    assert sorted(hits) == [(5, "eligible.tif"), (5, "zones.gpkg")]


def imported_modules(source: str) -> list[str]:
    """Every module a source imports (``import a.b``, ``from a.b import c`` → ``a.b``, ``a.b.c``),
    and every dotted ``sinkplan.…`` string (``resources.files("sinkplan.seeds")``)."""
    out = []
    for n in ast.walk(ast.parse(source)):
        if isinstance(n, ast.Import):
            out += [a.name for a in n.names]
        elif isinstance(n, ast.ImportFrom) and n.module:
            out += [n.module] + [f"{n.module}.{a.name}" for a in n.names]
        elif isinstance(n, ast.Constant) and isinstance(n.value, str) and n.value.startswith("sinkplan."):
            out.append(n.value)
    return out


#: What ``maps/`` may not use: shipped data (schemes, targets, densities) and the computations.
FORBIDDEN = ("sinkplan.seeds", "sinkplan.sinks", "sinkplan.siting", "sinkplan.cli", "sinkplan.cmd_")


def forbidden_imports(source: str) -> list[str]:
    return [m for m in imported_modules(source) if m.startswith(FORBIDDEN)]


def test_maps_import_no_shipped_data_and_no_computation():
    found = {p.name: forbidden_imports(p.read_text("utf-8")) for p in sorted((ROOT / "maps").glob("*.py"))}
    assert {k: v for k, v in found.items() if v} == {}
    # what the maps do import from the library: the spec, the errors, block reading and scheme files
    used = {m for p in (ROOT / "maps").glob("*.py") for m in imported_modules(p.read_text("utf-8"))
            if m.startswith("sinkplan.layers")}
    assert "sinkplan.layers.resultspec" in used


def test_the_import_check_sees_each_way_in():
    src = ("from sinkplan.seeds.targets import load_targets\nimport sinkplan.sinks.api\n"
           "from sinkplan import seeds\nfrom importlib import resources\n"
           "t = resources.files('sinkplan.seeds').joinpath('targets.toml')\nfrom sinkplan.layers import resultspec\n")
    assert forbidden_imports(src) == ["sinkplan.seeds.targets", "sinkplan.seeds.targets.load_targets",
                                      "sinkplan.sinks.api", "sinkplan.seeds", "sinkplan.seeds"]


def summary_keys_read(source: str) -> list[str]:
    """Keys read from a summary record: ``summary.get("k")``, ``summary["k"]``, ``"k" in summary``,
    where the record is a name ``summary`` or an attribute ``….summary``."""
    def is_summary(node) -> bool:
        return (isinstance(node, ast.Name) and node.id == "summary") or \
            (isinstance(node, ast.Attribute) and node.attr == "summary")

    out = []
    for n in ast.walk(ast.parse(source)):
        if isinstance(n, ast.Call) and isinstance(n.func, ast.Attribute) and n.func.attr == "get" \
                and is_summary(n.func.value) and n.args and isinstance(n.args[0], ast.Constant):
            out.append(n.args[0].value)
        elif isinstance(n, ast.Subscript) and is_summary(n.value) and isinstance(n.slice, ast.Constant):
            out.append(n.slice.value)
        elif isinstance(n, ast.Compare) and isinstance(n.left, ast.Constant) and len(n.ops) == 1 \
                and isinstance(n.ops[0], (ast.In, ast.NotIn)) and is_summary(n.comparators[0]):
            out.append(n.left.value)
    return out


def test_maps_read_only_summary_keys_a_spec_declares():
    declared = {k.split(".")[0].split("[")[0] for s in rs.SPECS.values() for k in s.summary} | {"kind", "schema_version"}
    read = {(p.name, k) for p in sorted((ROOT / "maps").glob("*.py")) for k in summary_keys_read(p.read_text("utf-8"))}
    assert {k for _, k in read} >= {"exclusion_bits", "eligible_codes", "target", "zones"}  # the scan sees them
    assert sorted((f, k) for f, k in read if k not in declared) == []


def test_the_summary_key_scan_sees_each_form():
    src = ('def f(info, summary):\n    a = summary.get("eligible_codes")\n    b = info.summary["target_mw"]\n'
           '    c = "restoration" in summary\n    d = other.get("not_a_summary")\n')
    assert sorted(summary_keys_read(src)) == ["eligible_codes", "restoration", "target_mw"]


# --------------------------------------------------------------------------- the folder, not seeds
def _legend_title(data: dict, name: str) -> str:
    return next(lay for lay in data["layers"] if lay["name"] == name)["legend"]["title"]


def test_coverage_map_and_figures_use_the_folders_target(tmp_path):
    """A run compared against 0.30 by 2030 (a user's --targets) is drawn against 0.30, not the
    packaged 0.235 by 2025."""
    from sinkplan.maps.build import build_map
    from sinkplan.maps.figures import figures_of

    folder = synthetic.coverage_folder(tmp_path / "coverage", target=(0.30, 2030))
    targets = json.loads((folder / rs.TARGETS.name).read_text("utf-8"))["targets"]
    assert [(t["key"], t["value"], t["year"]) for t in targets] == [("forest_coverage", 0.30, 2030)]
    data = page_data(build_map([folder], lang="en"))
    layer = next(lay for lay in data["layers"] if lay["name"] == "Forest coverage 2020")
    assert layer["legend"]["title"].endswith("(30.0 %)")
    legend = {text: color for color, text in layer["legend"]["items"]}
    # zone 1 in 2020: coverage 0.15 + 0.01 = 0.16; 0.16 − 0.30 = −14 pp, below the lowest bin edge −10
    assert layer["features"][0]["c"] == legend["< -10 pp"]
    # its popup: the gap (0.30 − 0.16) × 1000 ha = 140 ha, as the folder's table says, and the target
    assert ["Gap to target (ha)", "140.0"] in layer["features"][0]["p"]
    assert ["Target", "30.0 %"] in layer["features"][0]["p"]
    figs = figures_of(folder, lang="en")
    ax = figs["coverage_trajectory.png"].axes[0]
    assert any("2030" in t.get_text() for t in ax.get_legend().get_texts())


def test_coverage_without_a_recorded_target_draws_none(tmp_path):
    """No target in the folder: the map says so, and no target from seeds/ appears."""
    from sinkplan.maps.build import build_map

    folder = synthetic.coverage_folder(tmp_path / "coverage", target=None)
    assert json.loads((folder / rs.TARGETS.name).read_text("utf-8"))["targets"] == []
    data = page_data(build_map([folder], lang="en"))
    layer = next(lay for lay in data["layers"] if lay["name"] == "Forest coverage 2020")
    assert "23.5" not in json.dumps(layer) and layer["features"][0]["c"] == "#bbbbbb"


def test_capacity_figure_uses_the_folders_target(tmp_path):
    from sinkplan.maps.figures import figures_of

    folder = synthetic.site_folder(tmp_path / "site", size=60, target=(150_000.0, 2035))
    ax = figures_of(folder, lang="en")["capacity_by_zone_type.png"].axes[0]
    # the target line at 150 000 MW / 1000 = 150 GW, labelled with its year
    line = next(ln for ln in ax.get_lines() if ln.get_linestyle() == "--")
    assert line.get_ydata()[0] == pytest.approx(150.0)
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["2035 target 150 GW"]


def test_transition_legend_comes_from_the_folders_scheme(tmp_path):
    """A change folder's transitions are named by its own scheme.csv (the scheme the run used),
    not by a shipped scheme of the same name."""
    from sinkplan.maps.build import build_map

    folder = synthetic.change_folder(tmp_path / "change", size=60)
    path = folder / rs.SCHEME_CSV.name
    text = path.read_text("utf-8-sig")
    assert ",Forest," in text
    path.write_text(text.replace(",Forest,", ",Woodland of this run,"), encoding="utf-8")
    data = page_data(build_map([folder], lang="en"))
    legend = next(lay for lay in data["layers"] if lay["name"].startswith("Land-cover transitions"))["legend"]
    # 2 → 4 (forest → grassland) and 1 → 2 (cropland → forest), the unchanged 404 not drawn
    assert sorted(t for _, t in legend["items"]) == ["Cropland → Woodland of this run", "Woodland of this run → Grassland"]


def test_eligible_legend_is_the_rasters_colour_table(tmp_path):
    """The HTML legend takes each zone type's colour from eligible.tif's own colour table, and
    the site writer's table is the spec's: the two cannot differ."""
    from sinkplan.maps.build import build_map
    from sinkplan.siting.parcels import ELIGIBLE_COLORS

    # the spec's table: desert #e6a93c = (230, 169, 60), border #9e6ebd = (158, 110, 189)
    assert ELIGIBLE_COLORS == rs.eligible_colormap()
    assert rs.eligible_colormap()[2] == (158, 110, 189, 255)
    folder = synthetic.site_folder(tmp_path / "site", size=60,
                                   colormap={0: (0, 0, 0, 0), 1: (1, 2, 3, 255), 2: (16, 32, 48, 255)})
    data = page_data(build_map([folder], lang="en"))
    eligible = {name: color for color, name in data["layers"][0]["legend"]["items"]}
    assert eligible == {"Desert and gobi": "#010203", "Border area": "#102030"}
    default = page_data(build_map([synthetic.site_folder(tmp_path / "site2", size=60)], lang="en"))
    assert {n: c for c, n in default["layers"][0]["legend"]["items"]} == {"Desert and gobi": "#e6a93c",
                                                                          "Border area": "#9e6ebd"}


def test_synthetic_folders_keep_the_contract(tmp_path):
    """The map tests' folders are written by the library writers: nothing undeclared in them."""
    from sinkplan.layers.resultfolder import audit_folder

    folders = [synthetic.carbon_folder(tmp_path / "carbon", size=40), synthetic.coverage_folder(tmp_path / "coverage"),
               synthetic.change_folder(tmp_path / "change", size=40), synthetic.site_folder(tmp_path / "site", size=40)]
    for f in folders:
        assert audit_folder(f) == [], f
        assert json.loads((f / rs.MANIFEST.name).read_text("utf-8"))["kind"] == f.name

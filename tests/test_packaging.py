"""The distribution installs one namespace, ``sinkplan``, and nothing generic beside it.

DESIGN.md, "Packages": the top-level folders ``layers/``, ``sinks/``, ``siting/``, ``maps/`` and
``seeds/`` install as ``sinkplan.layers`` … through setuptools' ``package-dir`` mapping. PyPI has
distributions named ``maps``, ``layers`` and ``seeds``; installing ours beside them must not clobber
their files, and a user's own ``maps.py`` must not shadow ours.
"""
from __future__ import annotations

import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
GENERIC = ("layers", "sinks", "siting", "maps", "seeds")
SUBPACKAGES = ("sinkplan.layers", "sinkplan.sinks", "sinkplan.sinks.learning", "sinkplan.siting",
               "sinkplan.maps", "sinkplan.seeds")


def _python(code: str, cwd: Path) -> subprocess.CompletedProcess:
    # -P: no script/cwd directory on sys.path, so only the installed distribution is importable
    return subprocess.run([sys.executable, "-P", "-c", code], cwd=cwd, capture_output=True, text=True)


@pytest.mark.parametrize("name", GENERIC)
def test_generic_top_level_names_are_not_importable(name: str, tmp_path: Path) -> None:
    done = _python(f"import {name}", tmp_path)
    assert done.returncode != 0
    assert f"No module named '{name}'" in done.stderr


def test_namespace_subpackages_import(tmp_path: Path) -> None:
    done = _python("import " + ", ".join(SUBPACKAGES) + "\nimport sinkplan.layers.grid as g; print(g.__name__)", tmp_path)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "sinkplan.layers.grid"


def test_a_users_maps_module_does_not_shadow_ours(tmp_path: Path) -> None:
    # a notebook folder with the user's own maps.py and layers.py beside it
    (tmp_path / "maps.py").write_text("X = 1\n", encoding="utf-8")
    (tmp_path / "layers.py").write_text("X = 1\n", encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", "import maps, layers; import sinkplan.maps.build, sinkplan.layers.grid; "
                           "print(maps.X + layers.X)"], cwd=tmp_path, capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "2"  # 1 + 1: the user's modules, and ours under sinkplan.*


def test_shipped_data_is_package_data_of_the_namespace() -> None:
    from importlib import resources
    seeds = resources.files("sinkplan.seeds")
    assert seeds.joinpath("schemes", "clcd.csv").is_file()
    assert seeds.joinpath("profiles", "pv.toml").is_file()


@pytest.mark.slow
def test_wheel_top_level_is_sinkplan_only(tmp_path: Path) -> None:
    """Build the wheel and read it: every file lies under ``sinkplan/`` or its dist-info."""
    done = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "-q", "-w", str(tmp_path), str(ROOT)],
                          capture_output=True, text=True)
    if done.returncode != 0 and "No matching distribution found for setuptools" in done.stderr:
        pytest.skip("pip could not fetch setuptools for the build environment")
    assert done.returncode == 0, done.stderr
    (wheel,) = tmp_path.glob("sinkplan-*.whl")
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        info = next(n for n in names if n.endswith(".dist-info/top_level.txt"))
        top_level = z.read(info).decode().split()
    tops = {n.split("/")[0] for n in names}
    assert top_level == ["sinkplan"]
    assert {t for t in tops if not t.endswith(".dist-info")} == {"sinkplan"}
    assert "sinkplan/layers/grid.py" in names and "sinkplan/seeds/schemes/clcd.csv" in names
    assert "sinkplan/sinks/learning/classify.py" in names

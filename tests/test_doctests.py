"""Doctests are part of the suite (./conftest.py collects them from the installed modules), and no
test installs system packages (.ci/run does)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
from affine import Affine

from sinkplan.layers.grid import Grid
from sinkplan.layers.tally import area_by_key
from sysdeps import SYSTEM_PACKAGES

ROOT = Path(__file__).resolve().parents[1]


def test_plain_pytest_collects_the_library_doctests_by_installed_name():
    done = subprocess.run([sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider",
                           "layers/tally.py", "layers/areas.py"], cwd=ROOT, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout + done.stderr
    items = set(re.findall(r"^\S+::\S+$", done.stdout, flags=re.M))
    assert "layers/tally.py::sinkplan.layers.tally.area_by_key" in items
    assert "layers/areas.py::sinkplan.layers.areas.is_equal_area" in items
    # --doctest-modules collects each one once, not again as a module named layers.tally
    done = subprocess.run([sys.executable, "-m", "pytest", "--co", "-q", "-p", "no:cacheprovider", "--doctest-modules",
                           "layers/tally.py"], cwd=ROOT, capture_output=True, text=True)
    assert re.findall(r"^\S+::\S+$", done.stdout, flags=re.M) == ["layers/tally.py::sinkplan.layers.tally.area_by_key"]


def test_tally_example_is_exactly_100_m2_per_pixel():
    # EPSG:6933 is equal-area by its method: 10 m × 10 m = 100 m² exactly, 1 and 3 pixels
    g = Grid("EPSG:6933", Affine(10, 0, 0, 0, -10, 0), 2, 2)
    px, area = area_by_key(np.array([[0, 1], [1, 1]]), 2, g, g.full_window())
    assert px.tolist() == [1, 3] and area.tolist() == [100.0, 300.0]


def test_no_test_runs_apt_get_and_ci_installs_the_system_packages():
    offenders = [p.name for p in (ROOT / "tests").glob("*.py")
                 if p.name != Path(__file__).name and re.search(r"[\"']apt-get[\"']", p.read_text("utf-8"))]
    assert offenders == []
    ci = (ROOT / ".ci" / "run").read_text("utf-8")
    assert f'sys_pkgs="{" ".join(SYSTEM_PACKAGES)}"' in ci and "apt-get install" in ci

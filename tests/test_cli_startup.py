"""Start-up: ``sinkplan --help`` imports no command module and no heavy package; a command
imports its own module only (``carbon`` nothing of siting). Timings live in benchmarks/."""

from __future__ import annotations

import json
import os
import subprocess
import sys

import argparse

from sinkplan.cli import COMMANDS, build_parser


def _modules_after(argv: list[str]) -> set[str]:
    code = ("import sys, json\nfrom sinkplan.cli import main\ntry:\n    main(sys.argv[1:])\nexcept SystemExit:\n    pass\n"
            "print(json.dumps(sorted(sys.modules)), file=sys.stderr)")
    proc = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True, timeout=120)
    return set(json.loads(proc.stderr.strip().splitlines()[-1]))


def test_help_lines_are_the_modules_own():
    full = build_parser()
    sub = next(a for a in full._actions if isinstance(a, argparse._SubParsersAction))
    own = {a.dest: a.help for a in sub._choices_actions}
    assert own == {name: help_line for name, (_, help_line) in COMMANDS.items()}
    assert list(own) == list(COMMANDS)  # same help order
    for name, (module, _) in COMMANDS.items():  # each command is registered by the module COMMANDS names
        lazy = build_parser(name, full=False)
        lsub = next(a for a in lazy._actions if isinstance(a, argparse._SubParsersAction))
        assert lsub.choices[name].format_help() == sub.choices[name].format_help(), name


def test_help_imports_no_command_module_nor_heavy_packages():
    mods = _modules_after(["--help"])
    heavy = {"numpy", "pandas", "rasterio", "geopandas", "scipy", "pyproj", "shapely", "dask", "numba"}
    assert not heavy & mods, heavy & mods
    assert not {m for m in mods if m.startswith("sinkplan.cmd_")}


def test_a_command_imports_its_own_module_only():
    mods = _modules_after(["carbon", "--help"])
    assert "sinkplan.cmd_carbon" in mods
    assert not {m for m in mods if m.startswith(("sinkplan.cmd_site", "sinkplan.siting", "sinkplan.cmd_learn"))}
    assert "scipy.ndimage" not in mods


def test_console_script_ends_without_teardown_but_keeps_code_output_and_exit_handlers(tmp_path):
    """``console_main`` ends the process with os._exit once the command returned: the exit code,
    what was printed (to pipes, unflushed), atexit handlers and the outputs must all survive."""
    import numpy as np
    from affine import Affine

    from sinks_util import write_tif

    lc = write_tif(tmp_path / "lc.tif", np.full((4, 4), 2, dtype="uint8"), transform=Affine(0.001, 0, 110, 0, -0.001, 42))
    code = ("import atexit, sys\nfrom sinkplan.cli import console_main\n"
            "atexit.register(lambda: print('exit handler ran'))\n"
            "print('buffered before the command')\nconsole_main()\n")
    ok = subprocess.run([sys.executable, "-c", code, "carbon", str(lc), "--out", str(tmp_path / "out"), "--quiet"],
                        capture_output=True, text=True, timeout=300)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.splitlines() == ["buffered before the command", "exit handler ran"]
    # 16 forest pixels of 0.001° at 42°N: the summary is complete on disk
    assert json.loads((tmp_path / "out" / "summary.json").read_text("utf-8"))["land_pixels"] == 16
    bad = subprocess.run([sys.executable, "-c", code, "carbon", str(tmp_path / "missing.tif"), "--out", str(tmp_path / "o2")],
                         capture_output=True, text=True, timeout=300)
    assert bad.returncode == 2 and "missing.tif" in bad.stderr and len(bad.stderr.strip().splitlines()) == 1
    assert bad.stdout.splitlines() == ["buffered before the command", "exit handler ran"]


def test_console_script_sets_one_openblas_thread_and_a_lazier_collector_unless_told():
    """Before numpy loads, ``console_main`` keeps OpenBLAS to one thread (its idle threads spun
    on the cores the pass needs) unless the user set OPENBLAS_NUM_THREADS, and raises the
    collector's first threshold from 700 to 50 000 allocations."""
    code = ("import atexit, gc, os, sys\nfrom sinkplan.cli import console_main\n"
            "atexit.register(lambda: print(os.environ.get('OPENBLAS_NUM_THREADS'), gc.get_threshold(), 'numpy' in sys.modules))\n"
            "console_main()\n")
    env = {k: v for k, v in os.environ.items() if k != "OPENBLAS_NUM_THREADS"}
    out = subprocess.run([sys.executable, "-c", code, "--help"], capture_output=True, text=True, timeout=120, env=env)
    assert out.stdout.splitlines()[-1] == "1 (50000, 10, 10) False"  # set before numpy is imported
    mine = subprocess.run([sys.executable, "-c", code, "--help"], capture_output=True, text=True, timeout=120,
                          env=dict(env, OPENBLAS_NUM_THREADS="3"))
    assert mine.stdout.splitlines()[-1] == "3 (50000, 10, 10) False"

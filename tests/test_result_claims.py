"""Claiming result folders and the overwrite rules (sinkplan.layers.resultfolder).

* Two runs with the same ``--out`` at once: the second fails with one line, exit 2, and the
  first's folder is the one left.
* ``--out`` may not be, or hold, an input when ``--overwrite`` would remove it; inputs stay intact.
* ``--overwrite`` replaces only a folder a previous run wrote (its manifest lists every file);
  anything else stops the run naming the foreign files, which stay where they were.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from sinks_util import assert_one_line_error, run_cli, write_tif

from sinkplan.layers import resultspec as rs
from sinkplan.layers.errors import OutputBusy, OutputExists
from sinkplan.layers.resultfolder import ResultFolder, check_replaceable, claim

T = Affine(0.01, 0, 110, 0, -0.01, 42)


@pytest.fixture
def lc(tmp_path) -> Path:
    d = tmp_path / "in"
    d.mkdir()
    return write_tif(d / "lc.tif", np.array([[2, 4], [4, 7]], "uint8"), transform=T)


def _files(folder: Path) -> dict[str, bytes]:
    return {p.relative_to(folder).as_posix(): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def test_out_that_is_the_input_folder_is_refused_and_inputs_stay(lc, capsys):
    before = _files(lc.parent)
    code, err = run_cli(["carbon", str(lc), "--out", str(lc.parent), "--overwrite"], capsys)
    lines = [ln for ln in err.strip().splitlines() if not ln.startswith(("INFO", "WARNING"))]
    assert code == 2 and len(lines) == 1, err
    assert f"{lc.parent}: the output folder is or holds the input {lc}" in lines[0]
    assert _files(lc.parent) == before  # nothing removed, nothing added


def test_out_that_holds_an_input_is_refused(tmp_path, capsys):
    res = tmp_path / "res"
    (res / "sub").mkdir(parents=True)
    lc = write_tif(res / "sub" / "lc.tif", np.array([[2, 4]], "uint8"), transform=T)
    (res / rs.MANIFEST.name).write_text(json.dumps({"outputs": [{"path": "sub/lc.tif"}]}), "utf-8")
    code, err = run_cli(["carbon", str(lc), "--out", str(res), "--overwrite"], capsys)
    assert code == 2 and "holds the input" in err and lc.exists()


def test_overwrite_replaces_a_previous_run_only(lc, tmp_path, capsys):
    out = tmp_path / "carbon"
    assert run_cli(["carbon", str(lc), "--out", str(out)], capsys)[0] == 0
    first = json.loads((out / rs.SUMMARY.name).read_text("utf-8"))
    # a previous run's folder, untouched: replaced
    assert run_cli(["carbon", str(lc), "--out", str(out), "--overwrite"], capsys)[0] == 0
    assert json.loads((out / rs.SUMMARY.name).read_text("utf-8")) == first
    # a file the run did not write: the run stops, naming it, and the file stays
    (out / "notes.txt").write_text("my notes", "utf-8")
    code, err = run_cli(["carbon", str(lc), "--out", str(out), "--overwrite"], capsys)
    assert code == 2 and "holds files no sinkplan run wrote there (notes.txt)" in err and err.count("\n") == 1
    assert (out / "notes.txt").read_text("utf-8") == "my notes"
    # a folder no run wrote (no manifest)
    other = tmp_path / "photos"
    other.mkdir()
    (other / "a.jpg").write_bytes(b"jpeg")
    code, err = run_cli(["carbon", str(lc), "--out", str(other), "--overwrite"], capsys)
    assert code == 2 and "not written by sinkplan (no manifest.json)" in err
    assert (other / "a.jpg").read_bytes() == b"jpeg"


def test_without_overwrite_an_existing_folder_is_kept(lc, tmp_path, capsys):
    out = tmp_path / "carbon"
    assert run_cli(["carbon", str(lc), "--out", str(out)], capsys)[0] == 0
    before = _files(out)
    code, err = run_cli(["carbon", str(lc), "--out", str(out)], capsys)
    assert code == 2 and "result folder exists; pass --overwrite" in err
    assert _files(out) == before


def test_checked_again_before_the_rename(tmp_path):
    """A foreign file that appears while the run works stops the commit; the old folder stays."""
    out = tmp_path / "res"
    with ResultFolder(out, kind="carbon", command="carbon", parameters={}, inputs=[]) as rf:
        rf.write_summary({"stock_mgc": 1.0})
    with pytest.raises(OutputExists, match=r"holds files no sinkplan run wrote there \(late\.txt\)"):
        with ResultFolder(out, kind="carbon", command="carbon", parameters={}, inputs=[], overwrite=True) as rf:
            rf.write_summary({"stock_mgc": 2.0})
            (out / "late.txt").write_text("x", "utf-8")
    assert json.loads((out / rs.SUMMARY.name).read_text("utf-8"))["stock_mgc"] == 1.0 and (out / "late.txt").exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]  # no temporary folder or lock left


def test_claim_is_exclusive_and_released(tmp_path):
    target = tmp_path / "res"
    with claim(target):
        with pytest.raises(OutputBusy, match=rf"another sinkplan run \(process {os.getpid()}\) is writing"):
            with claim(target):
                pass
    with claim(target):  # released: free again
        pass
    assert not any(tmp_path.iterdir())


_HOLD = """
import sys, time
from pathlib import Path
from sinkplan.layers.resultfolder import ResultFolder
with ResultFolder(sys.argv[1], kind="carbon", command="carbon", parameters={"run": "first"}, inputs=[]) as rf:
    Path(sys.argv[2]).write_text("claimed")
    deadline = time.monotonic() + float(sys.argv[3])
    while not Path(sys.argv[2] + ".release").exists() and time.monotonic() < deadline:
        time.sleep(0.05)  # hold the folder until the test has run the second process
    rf.write_summary({"stock_mgc": 1.0})
"""


def test_two_processes_with_the_same_out(lc, tmp_path):
    """A real race: the first process holds the folder while a second ``sinkplan carbon`` starts."""
    out, flag = tmp_path / "carbon", tmp_path / "claimed.flag"
    first = subprocess.Popen([sys.executable, "-c", _HOLD, str(out), str(flag), "300"])
    try:
        deadline = time.monotonic() + 60
        while not flag.exists():
            assert first.poll() is None and time.monotonic() < deadline, "the first process did not start"
            time.sleep(0.05)
        second = subprocess.run([sys.executable, "-m", "sinkplan.cli", "carbon", str(lc), "--out", str(out),
                                 "--overwrite", "--quiet"], capture_output=True, text=True, timeout=240)
    finally:
        Path(str(flag) + ".release").write_text("go")
        assert first.wait(timeout=240) == 0
    lines = [ln for ln in second.stderr.strip().splitlines() if not ln.startswith(("INFO", "WARNING"))]
    assert second.returncode == 2 and len(lines) == 1, second.stderr
    assert f"another sinkplan run (process {first.pid}) is writing this result folder" in lines[0]
    manifest = json.loads((out / rs.MANIFEST.name).read_text("utf-8"))
    assert manifest["parameters"] == {"run": "first"}  # the first run's folder, not replaced
    assert sorted(p.name for p in tmp_path.iterdir()) == ["carbon", "claimed.flag", "claimed.flag.release", "in"]


def test_demo_overwrite_never_removes_a_foreign_folder(tmp_path, capsys):
    from sinkplan.cmd_demo import run
    from sinkplan.context import RunContext

    mine = tmp_path / "thesis"
    mine.mkdir()
    (mine / "chapter1.docx").write_bytes(b"words")
    with pytest.raises(OutputExists, match=r"not written by sinkplan \(no manifest\.json\)"):
        run(argparse.Namespace(out=str(mine), seed=1, scale=0.05, overwrite=True), RunContext(quiet=True))
    assert (mine / "chapter1.docx").read_bytes() == b"words"
    code, err = run_cli(["demo", "--out", str(mine), "--overwrite", "--scale", "0.05"], capsys)
    assert code == 2 and "not written by sinkplan" in err and (mine / "chapter1.docx").exists()


def test_check_replaceable_names_foreign_entries(tmp_path):
    d = tmp_path / "d"
    (d / "keep").mkdir(parents=True)
    (d / "a.csv").write_text("x")
    (d / "keep" / "b.csv").write_text("x")
    (d / rs.MANIFEST.name).write_text(json.dumps({"outputs": [{"path": "a.csv"}]}), "utf-8")
    with pytest.raises(OutputExists, match=r"\(keep/, keep/b\.csv\)"):
        check_replaceable(d)
    (d / rs.MANIFEST.name).write_text(json.dumps({"outputs": [{"path": "a.csv"}], "entries": ["keep/"]}), "utf-8")
    check_replaceable(d)  # everything listed

"""Reliability: signals. SIGTERM is handled like Ctrl-C (clean up, one line, exit 143); Ctrl-C on
a Dask run prints no worker traceback; an interrupted ``site`` or ``demo`` leaves nothing.

Each run is a child process sent the signal once it is working (its temporary result folder
exists), as ``kill``, ``timeout`` or a terminal's Ctrl-C would.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import box

from reliability_util import last_line, leftovers, one_line_error, sha256, sinkplan_cmd, write_landcover
from sinkplan.layers import resultspec as rs
from sinkplan.cli import main
from sinkplan.signals import Interrupted, exit_code, signals_as_interrupts


def test_sigterm_and_sighup_raise_interrupted_once_and_handlers_are_restored():
    before = signal.getsignal(signal.SIGTERM)
    with pytest.raises(Interrupted) as info:
        with signals_as_interrupts():
            os.kill(os.getpid(), signal.SIGTERM)
            time.sleep(1)  # the handler runs here
    assert info.value.signum == signal.SIGTERM and exit_code(info.value) == 143  # 128 + 15
    assert info.value.name == "SIGTERM" and isinstance(info.value, KeyboardInterrupt)
    assert signal.getsignal(signal.SIGTERM) is before
    # a second signal while cleaning up is ignored, so the cleanup runs to its end. SIGHUP at its
    # default first: under nohup (SIGHUP ignored) the runs keep ignoring it, by design (below)
    cleaned = []
    hup = signal.signal(signal.SIGHUP, signal.SIG_DFL)
    try:
        with pytest.raises(Interrupted) as info:
            with signals_as_interrupts():
                try:
                    os.kill(os.getpid(), signal.SIGHUP)
                    time.sleep(1)
                finally:
                    os.kill(os.getpid(), signal.SIGHUP)
                    time.sleep(0.2)
                    cleaned.append(True)
    finally:
        signal.signal(signal.SIGHUP, hup)
    assert cleaned == [True] and exit_code(info.value) == 129  # 128 + 1


def test_a_nohup_run_keeps_ignoring_sighup():
    hup = signal.signal(signal.SIGHUP, signal.SIG_IGN)  # as nohup starts a process
    try:
        with signals_as_interrupts():
            os.kill(os.getpid(), signal.SIGHUP)
            time.sleep(0.2)  # ignored: nothing raised
            assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
        assert signal.getsignal(signal.SIGHUP) is signal.SIG_IGN
    finally:
        signal.signal(signal.SIGHUP, hup)


def _start(args: list[str], cwd: Path) -> subprocess.Popen:
    # a session of its own, like a shell job: os.killpg reaches it and every worker it starts
    return subprocess.Popen([*sinkplan_cmd(), *args], cwd=cwd, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)


def _wait_for(pred, proc: subprocess.Popen, timeout: float = 120.0) -> None:
    t0 = time.monotonic()
    while not pred():
        if proc.poll() is not None:
            out, err = proc.communicate()
            pytest.fail(f"finished (rc {proc.returncode}) before it could be interrupted:\n{err}")
        if time.monotonic() - t0 > timeout:
            proc.kill()
            pytest.fail("never got to the point where it should be interrupted")
        time.sleep(0.05)


def _tmp_folder(parent: Path, name: str) -> bool:
    return any(p.name.startswith(f".{name}.tmp-") for p in parent.iterdir())


@pytest.fixture(scope="module")
def big_region(tmp_path_factory):
    """A 2000 × 2000 land cover with zones and a redline: seconds of work with small blocks."""
    d = tmp_path_factory.mktemp("big")
    t = Affine(0.001, 0, 110.0, 0, -0.001, 42.0)
    write_landcover(d / "lc.tif", (2000, 2000), transform=t)
    zones = [box(110.0 + 0.5 * i, 40.0, 110.5 + 0.5 * i, 42.0) for i in range(4)]
    gpd.GeoDataFrame({"name": list("ABCD")}, geometry=zones, crs="EPSG:4326").to_file(d / "zones.gpkg")
    gpd.GeoDataFrame({"id": [1]}, geometry=[box(110.2, 40.5, 110.9, 41.5)], crs="EPSG:4326").to_file(d / "red.gpkg")
    return d


@pytest.mark.slow
def test_sigterm_during_site_leaves_no_work_or_temporary_folder(big_region, tmp_path):
    d = big_region
    out = tmp_path / "site"
    proc = _start(["site", "-q", "--landcover", str(d / "lc.tif"), "--redline", str(d / "red.gpkg"),
                   "--farmland", str(d / "red.gpkg"), "--set", "exclusions.redline.buffer_m=300",
                   "--max-cells", "16384", "--out", str(out)], tmp_path)
    _wait_for(lambda: _tmp_folder(tmp_path, "site"), proc)  # screening: the result folder is being written
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 143
    assert one_line_error(err) == "sinkplan site: interrupted by SIGTERM; no partial result was kept"
    assert not out.exists() and leftovers(tmp_path) == []  # no .site.tmp-*, no .site-work-*


@pytest.mark.slow
@pytest.mark.dask
def test_ctrl_c_on_a_dask_run_is_one_line_without_worker_tracebacks(big_region, tmp_path):
    d = big_region
    out = tmp_path / "carbon"
    proc = _start(["carbon", "-q", str(d / "lc.tif"), "--zones", str(d / "zones.gpkg"), "--zone-field", "name",
                   "--workers", "2", "--max-cells", "4096", "--out", str(out)], tmp_path)
    psutil = pytest.importorskip("psutil")  # installed with distributed

    def catches_sigint(pid: int) -> bool:  # SigCgt of /proc/PID/status: a handler is installed
        fields = dict(line.split(":\t", 1) for line in Path(f"/proc/{pid}/status").read_text().splitlines() if ":\t" in line)
        return bool(int(fields["SigCgt"], 16) & (1 << (signal.SIGINT - 1)))

    def cmdline(p) -> str:
        try:
            return " ".join(p.cmdline())
        except psutil.Error:  # gone, or a zombie
            return ""

    def workers_running() -> bool:  # started (with Ctrl-C ignored), and the client catches it again
        kids = psutil.Process(proc.pid).children(recursive=True)
        return (sum("spawn_main" in cmdline(k) for k in kids) >= 2 and catches_sigint(proc.pid)
                and _tmp_folder(tmp_path, "carbon"))

    _wait_for(workers_running, proc)
    # Ctrl-C reaches the whole foreground group: the client and its workers
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 130, err
    assert one_line_error(err) == "sinkplan carbon: interrupted; no partial result was kept"
    assert not out.exists() and leftovers(tmp_path) == []


@pytest.mark.slow
def test_ctrl_c_during_demo_keeps_nothing_and_restores_the_previous_demo(tmp_path):
    out = tmp_path / "demo"
    out.mkdir()
    (out / "earlier.txt").write_text("a previous demo's file\n")
    # a previous demo's folder: its manifest lists every entry (--overwrite replaces nothing else)
    (out / "manifest.json").write_text(json.dumps({"command": "demo", "entries": ["earlier.txt"]}))
    before = sha256(out / "earlier.txt")
    proc = _start(["demo", "-q", "--scale", "0.2", "--out", str(out), "--overwrite"], tmp_path)
    _wait_for(lambda: (out / "carbon").is_dir(), proc)  # inputs built, first results written
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130
    assert last_line(err) == "sinkplan demo: interrupted; no partial result was kept"  # after the demo's warnings
    assert sorted(p.name for p in out.iterdir()) == ["earlier.txt", "manifest.json"]
    assert sha256(out / "earlier.txt") == before
    assert leftovers(tmp_path) == []


def test_ctrl_c_during_a_fresh_demo_removes_its_folder(tmp_path):
    out = tmp_path / "demo"
    proc = _start(["demo", "-q", "--scale", "0.2", "--out", str(out)], tmp_path)
    _wait_for(lambda: (out / "inputs").is_dir(), proc)
    os.killpg(proc.pid, signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130 and last_line(err) == "sinkplan demo: interrupted; no partial result was kept"
    assert not out.exists() and leftovers(tmp_path) == []


@pytest.mark.parametrize("scale", ["0", "-1", "nan", "inf", "0.005"])
def test_demo_refuses_a_bad_scale_before_creating_anything(tmp_path, capsys, scale):
    out = tmp_path / "a" / "demo"
    assert main(["demo", "--scale", scale, "--out", str(out), "-q"]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert line.startswith("sinkplan demo: error: ") and "scale" in line
    assert not (tmp_path / "a").exists()


def test_site_checks_its_inputs_before_making_parents_of_out(tmp_path, capsys):
    lc = np.full((64, 64), 7, np.uint8)
    with rasterio.open(tmp_path / "lc.tif", "w", driver="GTiff", width=64, height=64, count=1, dtype="uint8",
                       crs="EPSG:4326", transform=Affine(0.001, 0, 110, 0, -0.001, 42), nodata=0) as dst:
        dst.write(lc, 1)
    out = tmp_path / "new" / "deeper" / "site"
    # the shipped pv profile requires a redline: refused, and no folder of --out made
    assert main(["site", "-q", "--landcover", str(tmp_path / "lc.tif"), "--out", str(out)]) == 2
    assert "exclusions.redline" in one_line_error(capsys.readouterr().err)
    assert not (tmp_path / "new").exists() and leftovers(tmp_path) == []
    # a run that can go ahead makes them
    assert main(["site", "-q", "--landcover", str(tmp_path / "lc.tif"), "--set", "exclusions.redline.required=false",
                 "--set", "exclusions.farmland.required=false", "--out", str(out)]) == 0
    assert (out / rs.SUMMARY.name).exists() and leftovers(tmp_path) == []


def test_a_signal_landing_in_a_gc_callback_is_raised_afterwards_not_lost():
    """Python swallows an exception raised in a gc callback ("Exception ignored in …"); distributed's
    in-process scheduler installs one, and a Ctrl-C landing there let a --workers run finish with exit 0.
    The handler's Interrupted must come back in ordinary code."""
    import gc

    from sinkplan.signals import Interrupted, signals_as_interrupts

    sent = []

    def callback(phase, info):  # noqa: ARG001
        if phase == "start" and not sent:
            sent.append(1)
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(1000):  # bytecodes inside the callback: the handler runs here
                pass

    reached_after = False
    with pytest.raises(Interrupted) as caught:
        with signals_as_interrupts():
            gc.callbacks.append(callback)
            try:
                gc.collect()
            finally:
                gc.callbacks.remove(callback)
            deadline = time.monotonic() + 10  # ordinary code: the re-delivered signal is raised here
            while time.monotonic() < deadline:
                pass
            reached_after = True
    assert sent == [1] and caught.value.signum == signal.SIGINT and not reached_after

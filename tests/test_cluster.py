"""A real Dask cluster on loopback: a ``dask scheduler`` and two ``dask worker`` processes, each
with its own local directory; as root, each worker also runs in its own mount namespace with
a private tmpfs on /tmp (``unshare -m``), so it shares the data folder with this process and
nothing else, as a worker on another machine would. carbon, coverage, change and site run
through ``--scheduler`` and must equal one process (areas identical); killing a worker in
the middle of a run is survived (its blocks run again on the other, same totals).
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import pytest
from affine import Affine
from shapely.geometry import LineString, box

from sinks_util import assert_one_line_error, run_cli, summary, write_polys, write_tif

pytestmark = [pytest.mark.dask, pytest.mark.slow]


def _under_tmp(path: str | Path) -> bool:
    return Path(path).resolve().is_relative_to(Path("/tmp").resolve())


# A private tmpfs on /tmp hides a checkout or a Python that lives under /tmp (a clone in /tmp: the
# workers could not start, "0/2 workers arrived"); then the workers share /tmp and the test that
# needs a cache they cannot read is skipped.
PRIVATE_TMP = (os.geteuid() == 0 and shutil.which("unshare") is not None and sys.platform.startswith("linux")
               and not _under_tmp(Path.cwd()) and not _under_tmp(sys.prefix) and not _under_tmp(sys.executable))


def _spawn(args: list[str], *, log: Path, private_tmp: bool) -> subprocess.Popen:
    cmd = [sys.executable, "-m", "dask", *args]
    if private_tmp:  # own mount namespace, an empty tmpfs on /tmp: the client's temp files are out of reach
        inner = "mount -t tmpfs tmpfs /tmp && exec " + " ".join(_quote(a) for a in cmd)
        cmd = ["unshare", "-m", "--propagation", "private", "sh", "-c", inner]
    env = dict(os.environ, DASK_DISTRIBUTED__WORKER__DAEMON="False", PYTHONUNBUFFERED="1")
    return subprocess.Popen(cmd, stdout=open(log, "wb"), stderr=subprocess.STDOUT, env=env, start_new_session=True)


def _quote(s: str) -> str:
    return "'" + s.replace("'", "'\\''") + "'"


@pytest.fixture(scope="module")
def data():
    # The data folder every process shares: outside /tmp (workers get a private /tmp).
    root = Path(tempfile.mkdtemp(prefix=".cluster-data-", dir=Path.cwd()))
    rng = np.random.default_rng(21)
    t = Affine(0.0005, 0, 110, 0, -0.0005, 43)  # 640 × 800 px over 110–110.4°E, 42.68–43°N
    a = rng.integers(1, 10, size=(640, 800)).astype("uint8")
    a[:20, :] = 0  # a nodata margin
    b = np.where(rng.random(a.shape) < 0.1, rng.integers(1, 10, size=a.shape), a).astype("uint8")
    b[a == 0] = 0
    lc15 = write_tif(root / "lc2015.tif", a, transform=t, block=64)
    lc20 = write_tif(root / "lc2020.tif", b, transform=t, block=64)
    zones = write_polys(root / "zones.gpkg", [(110.0, 42.68, 110.2, 43.0), (110.2, 42.68, 110.4, 42.9)], name=["甲旗", "乙旗"])
    red = write_polys(root / "redline.gpkg", [(110.05, 42.75, 110.3, 42.95)])
    deserts = write_polys(root / "deserts.gpkg", [(110.0, 42.68, 110.25, 42.85)])
    gpd.GeoDataFrame({"name": ["边界"]}, geometry=[LineString([(110.0, 42.99), (110.4, 42.97)])],
                     crs="EPSG:4326").to_file(root / "border.gpkg")
    gpd.GeoDataFrame({"id": [1]}, geometry=[box(110.3, 42.7, 110.33, 42.73)], crs="EPSG:4326").to_file(root / "mines.gpkg")
    farm = write_polys(root / "farmland.gpkg", [(110.1, 42.7, 110.15, 42.75)])
    yield {"root": root, "lc15": lc15, "lc20": lc20, "zones": zones, "red": red, "deserts": deserts,
           "border": root / "border.gpkg", "mines": root / "mines.gpkg", "farmland": farm}
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="module")
def cluster(data):
    root = data["root"]
    sched_file = root / "scheduler.json"
    procs = [_spawn(["scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file",
                     str(sched_file)], log=root / "scheduler.log", private_tmp=False)]
    try:  # the processes are stopped even when the scheduler or the workers never come up
        deadline = time.monotonic() + 60
        while not sched_file.exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        assert sched_file.exists(), (root / "scheduler.log").read_text(errors="replace")
        address = json.loads(sched_file.read_text())["address"]
        for i in range(2):
            local = root / f"worker{i}"
            local.mkdir()
            procs.append(_spawn(["worker", address, "--nworkers", "1", "--nthreads", "1", "--no-dashboard", "--no-nanny",
                                 "--local-directory", str(local), "--name", f"w{i}"], log=root / f"worker{i}.log",
                                private_tmp=PRIVATE_TMP))
        from dask.distributed import Client

        with Client(address, timeout="30s") as c:
            c.wait_for_workers(2, timeout=120)
            workers = {info["name"]: info.get("pid") for info in c.scheduler_info()["workers"].values()}
        yield {"address": address, "procs": procs, "workers": workers}
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)


def _argv(command: str, d: dict, max_cells: int = 8192) -> list[str]:
    z = ["--zones", str(d["zones"]), "--zone-field", "name", "--max-cells", str(max_cells), "-q"]
    if command == "carbon":
        return ["carbon", str(d["lc20"]), *z, "--redline", str(d["red"])]
    if command == "coverage":
        return ["coverage", f"2015={d['lc15']}", f"2020={d['lc20']}", *z]
    if command == "change":
        return ["change", f"2015={d['lc15']}", f"2020={d['lc20']}", *z, "--redline", str(d["red"])]
    return ["site", "-q", "--tech", "pv", "--landcover", str(d["lc20"]), "--deserts", str(d["deserts"]),
            "--border", str(d["border"]), "--mines", str(d["mines"]), "--redline", str(d["red"]),
            "--farmland", str(d["farmland"]),
            "--set", "pv.min_parcel_area_ha=1", "--max-cells", str(max_cells)]


def _areas(obj, path=""):
    """Every (key path, value) of summary.json whose key names an area."""
    if isinstance(obj, dict):
        for k, v in obj.items():
            yield from _areas(v, f"{path}.{k}")
    elif isinstance(obj, list):
        for i, v in enumerate(obj):
            yield from _areas(v, f"{path}[{i}]")
    elif isinstance(obj, float) and "area" in path:
        yield path, obj


@pytest.mark.parametrize("command", ["carbon", "coverage", "change", "site"])
def test_scheduler_equals_one_process(command, data, cluster, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SINKPLAN_CACHE_DIR", raising=False)
    argv = _argv(command, data)
    code, err = run_cli([*argv, "--out", str(tmp_path / "one")], capsys)
    assert code == 0, err
    code, err = run_cli([*argv, "--out", str(tmp_path / "two"), "--scheduler", cluster["address"]], capsys)
    assert code == 0, err
    one, two = summary(tmp_path / "one"), summary(tmp_path / "two")
    areas_one, areas_two = dict(_areas(one)), dict(_areas(two))
    assert areas_one and areas_one == areas_two  # identical, bit for bit
    for name in ("stocks_by_class.csv", "coverage_by_zone.csv", "transitions_by_group.csv", "parcels.csv"):
        if (tmp_path / "one" / name).exists():
            assert (tmp_path / "one" / name).read_bytes() == (tmp_path / "two" / name).read_bytes(), name


@pytest.mark.skipif(not PRIVATE_TMP, reason="needs root, unshare and a checkout outside /tmp for workers with a private /tmp")
def test_cache_the_workers_cannot_read_is_one_line(data, cluster, tmp_path, capsys, monkeypatch):
    # The cache in this process's /tmp: the workers (private /tmp) cannot see it.
    monkeypatch.setenv("SINKPLAN_CACHE_DIR", str(tmp_path / "cache"))
    out = tmp_path / "o"
    code, err = run_cli([*_argv("carbon", data), "--out", str(out), "--scheduler", cluster["address"]], capsys)
    assert_one_line_error(code, err, "cannot read the zone cache", out)
    assert "SINKPLAN_CACHE_DIR" in err and "Traceback" not in err


def test_killing_a_worker_mid_run_gives_the_same_totals(data, cluster, tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("SINKPLAN_CACHE_DIR", raising=False)
    codes = np.random.default_rng(5).integers(1, 10, size=(2048, 2048)).astype("uint8")
    lc = write_tif(data["root"] / "big.tif", codes, transform=Affine(0.0002, 0, 110, 0, -0.0002, 43.1), block=64)
    # 1 024 blocks of 64 × 64 px: a run of several seconds on the cluster
    argv = ["carbon", str(lc), "--zones", str(data["zones"]), "--zone-field", "name", "--max-cells", "4096", "-q",
            "--no-raster"]
    code, err = run_cli([*argv, "--out", str(tmp_path / "one")], capsys)
    assert code == 0, err
    cli = "import sys; from sinkplan.cli import main; sys.exit(main(sys.argv[1:]))"
    run = subprocess.Popen([sys.executable, "-c", cli, *argv, "--out", str(tmp_path / "two"), "--scheduler",
                            cluster["address"]], stderr=subprocess.PIPE, text=True)
    from dask.distributed import Client

    with Client(cluster["address"], timeout="30s") as c:
        deadline = time.monotonic() + 120
        while not any(c.processing().values()) and time.monotonic() < deadline and run.poll() is None:
            time.sleep(0.02)
        time.sleep(0.3)
        assert run.poll() is None, "the run ended before a worker could be killed"
        os.killpg(cluster["procs"][1].pid, signal.SIGKILL)  # worker w0, in the middle of the run
    _, err = run.communicate(timeout=600)
    assert run.returncode == 0, err
    one, two = summary(tmp_path / "one"), summary(tmp_path / "two")
    assert dict(_areas(one)) == dict(_areas(two))  # every block counted exactly once
    assert one["stock_mgc"] == pytest.approx(two["stock_mgc"], rel=1e-12)

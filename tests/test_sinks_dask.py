"""Dask: a 2-worker cluster gives the same numbers as one process (areas identical, stocks 1e-9)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from affine import Affine

from sinks_util import run_cli, summary, write_polys, write_tif


@pytest.fixture(scope="module")
def cluster():
    from dask.distributed import LocalCluster

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as c:
        yield c.scheduler_address


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    d = tmp_path_factory.mktemp("dask")
    rng = np.random.default_rng(11)
    t = Affine(0.002, 0, 110, 0, -0.002, 43)
    a = rng.integers(0, 10, size=(300, 260)).astype("uint8")
    b = np.where(rng.random(a.shape) < 0.1, rng.integers(1, 10, size=a.shape), a).astype("uint8")
    p15 = write_tif(d / "a.tif", a, transform=t, block=64)
    p20 = write_tif(d / "b.tif", b, transform=t, block=64)
    zones = write_polys(d / "z.gpkg", [(110, 42.6, 110.3, 43), (110.3, 42.4, 110.52, 42.8)], name_zh=["甲", "乙"])
    red = write_polys(d / "r.gpkg", [(110.1, 42.5, 110.4, 42.9)])
    return d, p15, p20, zones, red


def _compare(one: dict, two: dict, path=""):
    """Areas (keys with 'area') identical; every other float to 1e-9 relative."""
    assert type(one) is type(two), path
    if isinstance(one, dict):
        assert one.keys() == two.keys(), path
        for k in one:
            _compare(one[k], two[k], f"{path}.{k}")
    elif isinstance(one, list):
        assert len(one) == len(two), path
        for i, (x, y) in enumerate(zip(one, two)):
            _compare(x, y, f"{path}[{i}]")
    elif isinstance(one, float) and "area" in path:
        assert one == two, path
    elif isinstance(one, float):
        assert one == pytest.approx(two, rel=1e-9, abs=1e-9), path
    else:
        assert one == two, path


@pytest.mark.parametrize("command", ["carbon", "change", "coverage"])
def test_scheduler_matches_single_process(tmp_path, inputs, cluster, command, capsys):
    d, p15, p20, zones, red = inputs
    common = ["--zones", str(zones), "--zone-field", "name_zh", "--max-cells", "4096"]
    if command == "carbon":
        argv = ["carbon", str(p20), *common, "--redline", str(red), "--uncertainty", "50", "--seed", "3"]
    elif command == "change":
        argv = ["change", f"2015={p15}", f"2020={p20}", *common, "--redline", str(red)]
    else:
        argv = ["coverage", f"2015={p15}", f"2020={p20}", *common]
    code, err = run_cli([*argv, "--out", str(tmp_path / "one")], capsys)
    assert code == 0, err
    code, err = run_cli([*argv, "--out", str(tmp_path / "two"), "--scheduler", cluster], capsys)
    assert code == 0, err
    _compare(summary(tmp_path / "one"), summary(tmp_path / "two"))
    if command == "carbon":
        a = pd.read_csv(tmp_path / "one" / "stocks_by_class.csv", encoding="utf-8-sig")
        b = pd.read_csv(tmp_path / "two" / "stocks_by_class.csv", encoding="utf-8-sig")
        assert a.area_ha.tolist() == b.area_ha.tolist()
        assert np.allclose(a.stock_mgc, b.stock_mgc, rtol=1e-9, atol=0)


def test_local_workers_option(tmp_path, inputs, capsys):
    d, p15, p20, zones, red = inputs
    argv = ["carbon", str(p20), "--zones", str(zones), "--zone-field", "name_zh", "--max-cells", "8192", "--no-raster"]
    assert run_cli([*argv, "--out", str(tmp_path / "one")], capsys)[0] == 0
    assert run_cli([*argv, "--out", str(tmp_path / "two"), "--workers", "2"], capsys)[0] == 0
    _compare(summary(tmp_path / "one"), summary(tmp_path / "two"))


def test_quiet_local_cluster_writes_nothing_to_stderr(tmp_path, inputs):
    # A fresh process: importing distributed there resets its logger to INFO after the CLI
    # set it to WARNING (in this process the cluster fixture imported it long before).
    import subprocess
    import sys

    d, p15, p20, zones, red = inputs
    cli = "import sys; from sinkplan.cli import main; sys.exit(main(sys.argv[1:]))"
    proc = subprocess.run([sys.executable, "-c", cli, "carbon", str(p20), "--workers", "2", "-q", "--no-raster",
                           "--max-cells", "8192", "--out", str(tmp_path / "o")], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    # No INFO from the scheduler, nanny or comms (~33 lines before), none of the shutdown
    # traceback distributed.batched logged at INFO. (A worker process can still, rarely
    # and only on a loaded machine, log a heartbeat error while it closes: a race inside
    # distributed, not checked here.)
    assert not [ln for ln in proc.stderr.splitlines() if ln.startswith(("INFO", "WARNING distributed"))], proc.stderr
    assert "distributed.batched" not in proc.stderr

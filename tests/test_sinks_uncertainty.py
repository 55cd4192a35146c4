"""Monte Carlo over densities: centred on the point estimate, reproducible, refused when meaningless."""

from __future__ import annotations

import json
import logging

import numpy as np
import pandas as pd
import pytest
from affine import Affine

from sinkplan.layers import resultspec as rs
from sinkplan.layers.errors import InputError
from sinkplan.sinks.api import carbon_stocks
from sinkplan.sinks.densities import POOLS
from sinkplan.sinks.uncertainty import resolve_seed
from sinks_util import INVEST_CSV, assert_one_line_error, run_cli, summary, write_tif

T = Affine(0.01, 0, 110, 0, -0.01, 43)


@pytest.fixture
def mixed(tmp_path):
    # 3 × 4 lon/lat pixels of forest (2), grassland (4), cropland (1) and barren (7).
    codes = np.array([[2, 2, 4, 4], [2, 4, 4, 1], [1, 7, 4, 2]], dtype="uint8")
    return write_tif(tmp_path / "lc.tif", codes, transform=T)


def test_draws_are_centred_on_the_point_estimate_for_every_pool(tmp_path, mixed, capsys):
    # Default table: every value has a low/high range, some very skewed (forest dead 2.9 in
    # [0.2, 21]). With the table value as the MEAN of the draws, the mean of 100 000 draws of
    # each pool's stock is the point estimate to within sampling error (triangular draws
    # with mode = value put the dead pool +107 % above it on the demo).
    out = tmp_path / "out"
    code, err = run_cli(["carbon", str(mixed), "--uncertainty", "100000", "--seed", "5", "--out", str(out)], capsys)
    assert code == 0, err
    s = summary(out)
    u = s["uncertainty"]
    assert u["distribution"] == "lognormal, mean = table value, sd = (high-low)/3.92 or *_sd"
    assert u["draws"] == 100000 and u["seed"] == 5 and u["stock_mgc"] == s["stock_mgc"]
    assert u["stock_mgc_draws_mean"] == pytest.approx(s["stock_mgc"], rel=0.003)
    assert u["stock_mgc_p2_5"] < s["stock_mgc"] < u["stock_mgc_p97_5"]
    for p in POOLS:
        pool = u["stock_mgc_by_pool"][p]
        assert pool["stock_mgc"] == s["stock_mgc_by_pool"][p]
        assert pool["draws_mean"] == pytest.approx(pool["stock_mgc"], rel=0.02 if p == "dead" else 0.005), p
        assert pool["p2_5"] < pool["stock_mgc"] < pool["p97_5"], p
    by_zone = pd.read_csv(out / rs.STOCKS_BY_ZONE.name, encoding="utf-8-sig")
    assert "stock_mgc_mc_mean" not in by_zone.columns
    row = by_zone.iloc[0]
    assert row.stock_mgc_p2_5 < row.stock_mgc < row.stock_mgc_p97_5
    assert row.stock_mgc_draws_mean == pytest.approx(row.stock_mgc, rel=0.003)


def test_uncertainty_with_a_table_without_uncertainty_columns_is_refused(tmp_path, mixed, capsys):
    t = tmp_path / "plain.csv"
    t.write_text(INVEST_CSV, encoding="utf-8")
    out = tmp_path / "out"
    code, err = run_cli(["carbon", str(mixed), "--densities", str(t), "--uncertainty", "200", "--out", str(out)], capsys)
    assert_one_line_error(code, err, f"--uncertainty 200: density table {t} has no uncertainty columns", out)
    assert "add c_<pool>_sd or c_<pool>_low and c_<pool>_high columns" in err
    with pytest.raises(InputError, match="uncertainty 200: density table .* has no uncertainty columns"):
        carbon_stocks(mixed, densities=str(t), uncertainty=200)


def test_without_seed_a_seed_is_drawn_recorded_and_reproduces(tmp_path, mixed, capsys, caplog):
    # the API draws one and logs it (first: the CLI runs below reset the logging handlers)
    assert resolve_seed(7, 50) == 7 and resolve_seed(None, 0) is None
    with caplog.at_level(logging.INFO, logger="sinkplan.sinks.uncertainty"):
        res = carbon_stocks(mixed, uncertainty=50)
    api_seed = res.summary["uncertainty"]["seed"]
    assert isinstance(api_seed, int)
    assert f"Monte Carlo seed {api_seed} (drawn at random; pass seed {api_seed} to reproduce these figures)" in caplog.text
    out = tmp_path / "out"
    code, err = run_cli(["carbon", str(mixed), "--uncertainty", "50", "--out", str(out), "--no-raster"], capsys)
    assert code == 0, err
    seed = summary(out)["uncertainty"]["seed"]
    assert isinstance(seed, int) and 0 <= seed < 2**32
    manifest = json.loads((out / "manifest.json").read_text("utf-8"))
    assert manifest["parameters"]["seed"] == seed
    again = tmp_path / "again"
    assert run_cli(["carbon", str(mixed), "--uncertainty", "50", "--seed", str(seed), "--out", str(again), "--no-raster"],
                   capsys)[0] == 0
    assert summary(again) == summary(out)  # the recorded seed reproduces every figure


@pytest.mark.parametrize("n", [1, 39])
def test_too_few_draws_are_refused(tmp_path, mixed, capsys, n):
    out = tmp_path / "out"
    code, err = run_cli(["carbon", str(mixed), "--uncertainty", str(n), "--out", str(out)], capsys)
    assert_one_line_error(code, err, f"--uncertainty {n}: a 95 % percentile interval needs at least 40 draws", out)
    with pytest.raises(InputError, match=f"uncertainty {n}: a 95 % percentile interval needs at least 40 draws"):
        carbon_stocks(mixed, uncertainty=n)


def test_fewer_than_200_draws_warn(tmp_path, mixed, capsys):
    code, err = run_cli(["carbon", str(mixed), "--uncertainty", "40", "--seed", "1", "--out", str(tmp_path / "a")], capsys)
    assert code == 0
    assert [ln for ln in err.splitlines() if ln.startswith("WARNING")] == [
        "WARNING sinkplan.sinks.uncertainty: 40 Monte Carlo draws: percentiles from fewer than 200 draws move from seed to "
        "seed; use 200 or more (1000 for figures you report)"]
    code, err = run_cli(["carbon", str(mixed), "--uncertainty", "200", "--seed", "1", "--out", str(tmp_path / "b")], capsys)
    assert code == 0 and "WARNING" not in err, err


@pytest.mark.parametrize("n,match", [("-5", "--uncertainty -5: give a number of draws ≥ 0"),
                                     ("1000000000", "--uncertainty 1,000,000,000: at most 100,000 draws")])
def test_draw_counts_out_of_range_are_one_line(tmp_path, capsys, n, match):
    # change --uncertainty -5 ended in "ValueError: number of draws must be ≥ 1" with a traceback;
    # carbon/change --uncertainty 1e9 allocated (1e9, classes, pools) float64 = 268 GiB: MemoryError
    lc = write_tif(tmp_path / "lc.tif", np.full((3, 3), 2, np.uint8), crs="EPSG:6933",
                   transform=Affine(30, 0, 0, 0, -30, 0))
    out = tmp_path / "o"
    code, err = run_cli(["change", f"2015={lc}", f"2020={lc}", "--no-raster", "--uncertainty", n, "--out", str(out)], capsys)
    assert_one_line_error(code, err, match, out)
    code, err = run_cli(["carbon", str(lc), "--no-raster", "--uncertainty", n, "--out", str(out)], capsys)
    assert code == 2 and not out.exists()

"""Class shares far from a comparison map, and mapped areas outside the reference sample's CI."""

from __future__ import annotations

import logging

import pandas as pd
import pytest

from sinkplan.sinks.learning.shares import outside_reference_ci, share_departures


def test_share_departures_by_ratio_and_points():
    # map: 30 / 60 / 10 of 100 ha; comparison: 5 / 85 / 10 of 100 ha
    # class 1: 30 % vs 5 % = 6 × and 25 points → far; class 2: 60 vs 85 = 0.71 × → not (within 2 ×);
    # class 3: equal → not
    far = share_departures({1: 30.0, 2: 60.0, 3: 10.0}, {1: 5.0, 2: 85.0, 3: 10.0})
    assert [(d.code, d.map_share, d.compare_share, d.ratio) for d in far] == [(1, 0.30, 0.05, pytest.approx(6.0))]
    # 0.4 % vs 0.1 %: 4 × but 0.3 points: too small to name
    assert share_departures({1: 0.4, 2: 99.6}, {1: 0.1, 2: 99.9}) == []
    # a class the comparison lacks: infinite ratio, named if it covers more than a point
    assert [(d.code, d.ratio) for d in share_departures({1: 2.0, 2: 98.0}, {2: 100.0})] == [(1, float("inf"))]
    # a class the map lost: 0 % vs 20 %
    assert [d.code for d in share_departures({2: 100.0}, {1: 20.0, 2: 80.0})] == [1]
    with pytest.raises(ValueError, match="ratio must be > 1"):
        share_departures({1: 1.0}, {1: 1.0}, ratio=1.0)


def test_outside_reference_ci():
    t = pd.DataFrame({"code": [1, 2, 3], "map_area_ha": [100.0, 50.0, 10.0], "ci95_low_ha": [60.0, 40.0, 11.0],
                      "ci95_high_ha": [90.0, 60.0, 20.0]})
    # 100 > 90 (above), 50 within [40, 60], 10 < 11 (below)
    assert outside_reference_ci(t)["code"].tolist() == [1, 3]


def test_demo_classify_names_the_class_far_from_the_land_cover(tmp_path, caplog):
    from sinkplan.cmd_learn import classify
    from sinkplan.context import RunContext
    from sinkplan.seeds.demo import build_demo
    import json

    region = build_demo(tmp_path / "inputs", scale=0.1)
    with caplog.at_level(logging.WARNING, logger="sinkplan.cmd_learn"):
        out = classify(image=region.image, samples=region.training_points, label_field="label", out=tmp_path / "cls",
                       ctx=RunContext(quiet=True), model="rf", n_estimators=10, max_depth=8, seed=0,
                       block_size_m=10_000.0, compare_landcover=region.landcover_2020)
    s = json.loads((out / "summary.json").read_text(encoding="utf-8"))
    far = s["share_check"]["far"]
    # whatever the classifier did, every named class is off by > 2 × and > 1 point, and the terminal says so
    for d in far:
        assert abs(d["map_share"] - d["compare_share"]) > 0.01
        assert d["ratio"] is None or d["ratio"] > 2 or d["ratio"] < 0.5
    assert bool(far) == ("class shares far from" in caplog.text)

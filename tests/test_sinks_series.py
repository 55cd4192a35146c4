"""Annual series: each pixel's years since conversion are tracked through the maps (hand-worked)."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sinkplan.sinks.change_api import land_change
from sinkplan.sinks.series_api import land_change_series
from sinks_util import INVEST_CSV, assert_one_line_error, run_cli, summary, write_tif
from test_sinks_change import EA, T_EA


@pytest.fixture
def maps(tmp_path):
    # 10 × 10 equal-area 1-ha pixels of grassland (INVEST_CSV: grass 1, 4, 50, 0.2; forest 15, 10, 60, 1;
    # cropland 3, 1, 35, 0.5). Row 0: grass → forest between 2015 and 2020, forest after.
    # Row 1: grass → forest (2015-2020), then → cropland (2020-2025).
    a = np.full((10, 10), 4, dtype="uint8")
    b, c = a.copy(), a.copy()
    b[0], c[0] = 2, 2
    b[1], c[1] = 2, 1
    paths = {y: write_tif(tmp_path / f"lc{y}.tif", m, crs=EA, transform=T_EA) for y, m in ((2015, a), (2020, b), (2025, c))}
    dens = tmp_path / "t.csv"
    dens.write_text(INVEST_CSV, encoding="utf-8")
    return paths, dens


def test_two_maps_through_the_series_equal_the_two_map_method(maps):
    paths, dens = maps
    two = land_change(paths[2015], paths[2020], years=(2015, 2020), densities=str(dens))
    ser = land_change_series({2015: paths[2015], 2020: paths[2020]}, densities=str(dens))
    for col in ("sequestration_mgc", "sequestration_mgc_soil", "sequestration_mgc_above", "equilibrium_change_mgc"):
        assert ser.summary[col] == pytest.approx(two.summary[col], rel=1e-12), col


def test_three_maps_track_the_age_of_young_forest(maps):
    paths, dens = maps
    res = land_change_series(paths, densities=str(dens), max_cells=1024)
    iv = res.by_interval.set_index(["from_year", "to_year"])
    # Row 0 (10 ha), converted mid 2015-2020 (2017.5), forest since. D = 20, forest biomass 1.5 Mg C/ha/yr.
    #   2015-2020, age 0 → 2.5: soil 10 × 10 × 2.5/20 = 12.5; biomass 10 × 1.5 × 2.5 = 37.5; dead 10 × 0.8 × 0.125 = 1
    #   2020-2025, age 2.5 → 7.5: soil 10 × 10 × 5/20 = 25; biomass 10 × 1.5 × 5 = 75; dead 10 × 0.8 × 0.25 = 2
    # Row 1 (10 ha): the same 51 Mg C in 2015-2020 (stock per ha 60.3 in 2020: soil 51.25, biomass 8.75, dead 0.3);
    #   at 2022.5 (age 5: soil 52.5, biomass 12.5, dead 0.4) it becomes cropland: biomass falls at once to 4,
    #   dead (0.5 > 0.4) grows over D, soil goes from 52.5 towards 35 over D. In 2025 (age 2.5):
    #   soil 52.5 − 17.5 × 2.5/20 = 50.3125, biomass 4, dead 0.4 + 0.1 × 0.125 = 0.4125 → 54.725 per ha
    #   2020-2025: 10 × (54.725 − 60.3) = −55.75
    first = 2 * (12.5 + 37.5 + 1.0)
    second = (25 + 75 + 2) - 55.75
    assert iv.loc[(2015, 2020), "sequestration_mgc"] == pytest.approx(first)
    assert iv.loc[(2020, 2025), "sequestration_mgc"] == pytest.approx(second)
    assert res.summary["sequestration_mgc"] == pytest.approx(first + second)
    # equilibrium first → last: row 0 grass → forest 10 × 30.8 = 308; row 1 grass → cropland 10 × (39.5 − 55.2) = −157
    assert res.summary["equilibrium_change_mgc"] == pytest.approx(308 - 157)
    # two maps 2015 → 2025 alone would put the conversion at 2020 (age 5) and miss row 1's forest years
    ends = land_change(paths[2015], paths[2025], years=(2015, 2025), densities=str(dens))
    assert ends.summary["sequestration_mgc"] != pytest.approx(res.summary["sequestration_mgc"])
    # block by block (1024-cell blocks here) is the same as one block
    one = land_change_series(paths, densities=str(dens), max_cells=1 << 20)
    assert one.summary["sequestration_mgc"] == pytest.approx(res.summary["sequestration_mgc"], rel=1e-12)


def test_cli_series_writes_intervals(tmp_path, maps, capsys):
    paths, dens = maps
    out = tmp_path / "series"
    code, err = run_cli(["change", *(f"{y}={p}" for y, p in paths.items()), "--densities", str(dens), "--out", str(out)],
                        capsys)
    assert code == 0, err
    iv = pd.read_csv(out / "change_by_interval.csv", encoding="utf-8-sig")
    s = summary(out)
    assert iv.sequestration_mgc.sum() == pytest.approx(s["sequestration_mgc"])
    assert [(i["from_year"], i["to_year"]) for i in s["intervals"]] == [(2015, 2020), (2020, 2025)]
    assert s["years"] == [2015, 2020, 2025] and s["series"]["maps"] == 3
    assert (out / "carbon_change.tif").exists()
    code, err = run_cli(["change", f"2020={paths[2020]}", f"2015={paths[2015]}", f"2025={paths[2025]}", "--out",
                         str(tmp_path / "x")], capsys)
    assert_one_line_error(code, err, "must increase", tmp_path / "x")


def test_series_workbook_is_labelled(tmp_path, maps, capsys):
    import json

    import openpyxl

    paths, dens = maps
    out = tmp_path / "series"
    assert run_cli(["change", *(f"{y}={p}" for y, p in paths.items()), "--densities", str(dens), "--out", str(out)],
                   capsys)[0] == 0
    wb = openpyxl.load_workbook(out / "change.xlsx", read_only=True)
    assert wb.sheetnames[:2] == ["分区碳储量变化", "分时段碳储量变化"] and "说明" in wb.sheetnames
    header = next(wb["分时段碳储量变化"].iter_rows(min_row=1, max_row=1, values_only=True))
    assert [h for h in header if "_" in str(h)] == []  # labels, not field names
    wb.close()
    meta = json.loads((out / "csv-metadata.json").read_text("utf-8"))  # the CSV keeps field names, described here
    assert "change_by_interval.csv" in [t["url"] for t in meta["tables"]]

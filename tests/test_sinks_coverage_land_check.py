"""A given land area or extra forest that puts more forest than land in a zone is refused.

Before the fix ``coverage --land-area-ha 100`` on a map with 180 ha of tree forest exited 0 with
coverage 1.8 (180 %) in coverage_totals.csv and summary.json; a land area typed in km² or mu, or
an extra-forest figure for the wrong zone, gave a coverage above 100 % without a word.
"""

from __future__ import annotations

import pytest

from sinkplan.layers.errors import InputError
from sinkplan.sinks.coverage_api import forest_coverage

from sinks_util import ALBERS_EA, T_ALBERS_30M, assert_one_line_error, run_cli, write_forest_shrub_grass, write_polys

ALBERS, T = ALBERS_EA, T_ALBERS_30M  # equal-area: 30 m px = 0.09 ha


@pytest.fixture()
def scene(tmp_path):
    # 100 × 100 px: columns 0-19 forest (2000 px = 180 ha), 20-29 shrub (90 ha), the rest grassland;
    # zone w = columns 0-49 (450 ha), zone e = columns 50-99 (450 ha)
    lc = write_forest_shrub_grass(tmp_path / "lc.tif")
    zones = write_polys(tmp_path / "z.gpkg", [(500000, 4497000, 501500, 4500000), (501500, 4497000, 503000, 4500000)],
                        crs=ALBERS, n=["w", "e"])
    return lc, zones


def test_land_area_below_the_forest_is_refused(scene, tmp_path, capsys):
    lc, zones = scene
    out = tmp_path / "c"
    code, err = run_cli(["coverage", f"2020={lc}", "--trees-only", "--land-area-ha", "100", "--out", str(out)], capsys)
    # 180 ha of tree forest on 100 ha of land: 180 %
    assert_one_line_error(code, err, "--land-area-ha: the run total in 2020 would have 180 ha of forest on 100 ha "
                                     "of land (coverage 180.0 %)", out)
    with pytest.raises(InputError, match=r"land_area_ha: the run total in 2020 would have 270 ha of forest on 200 ha"):
        forest_coverage({2020: lc}, count_shrub=True, land_area_ha=200.0)  # 180 + 90 shrub = 270 > 200
    with pytest.raises(InputError, match=r"land_area_ha: w in 2020 would have 180 ha of forest on 100 ha"):
        forest_coverage({2020: lc}, zones=zones, zone_field="n", trees_only=True, land_area_ha={"w": 100.0})


def test_extra_forest_beyond_the_land_is_refused(scene, tmp_path, capsys):
    lc, zones = scene
    out = tmp_path / "c"
    code, err = run_cli(["coverage", f"2020={lc}", "--zones", str(zones), "--zone-field", "n", "--trees-only",
                         "--extra-forest-ha", "w=1000", "--out", str(out)], capsys)
    # w: 180 mapped + 1000 extra = 1180 ha of forest on its 450 ha polygon: 262.2 %
    assert_one_line_error(code, err, "--extra-forest-ha: w in 2020 would have 1,180 ha of forest (180 mapped + "
                                     "1,000 extra) on 450 ha of land (coverage 262.2 %)", out)


def test_a_land_area_that_holds_the_forest_passes(scene):
    lc, zones = scene
    r = forest_coverage({2020: lc}, zones=zones, zone_field="n", trees_only=True, land_area_ha={"w": 180.0})
    w = r.by_zone[r.by_zone["zone"] == "w"].iloc[0]
    assert w["coverage"] == pytest.approx(1.0, rel=1e-12)  # 180 ha of forest on exactly 180 ha

"""Stock volume from a raster counts tree forest only, and impossible volumes are refused.

Before the fix ``coverage --volume RASTER`` summed the raster over every land pixel (grassland and
shrub too) and divided by the forest area: 100 m³/ha everywhere on 180 ha of forest in 900 ha
gave 90,000 m³ and 500 m³/ha instead of 18,000 m³ and 100 m³/ha. An undeclared -9999 nodata was
summed in, a fill value of 1e30 gave 9e32 m³, and a table row of 1e9 m³/ha was accepted.
"""

from __future__ import annotations

import numpy as np
import pytest

from sinkplan.sinks.coverage_api import forest_coverage

from sinks_util import ALBERS_EA, T_ALBERS_30M, assert_one_line_error, run_cli, write_forest_shrub_grass, write_tif

ALBERS, T = ALBERS_EA, T_ALBERS_30M  # equal-area: 30 m px = 0.09 ha


@pytest.fixture()
def lc(tmp_path):
    # 100 × 100 px = 900 ha: columns 0-19 forest (180 ha), 20-29 shrub (90 ha), the rest grassland
    return write_forest_shrub_grass(tmp_path / "lc.tif")


def _vol(tmp_path, values, nodata=None):
    return write_tif(tmp_path / "vol.tif", np.asarray(values, np.float32), crs=ALBERS, transform=T, nodata=nodata)


def test_volume_raster_is_summed_over_forest_only(tmp_path, lc):
    v = np.full((100, 100), 100.0)
    v[:, 0] = 300.0  # forest column 0: 100 px × 0.09 ha × 300 m³/ha = 2,700 m³
    r = forest_coverage({2020: lc}, trees_only=True, volume={2020: _vol(tmp_path, v)})
    by_year = r.summary["volume"]["by_year"][0]
    # 19 columns × 100 px × 0.09 ha × 100 m³/ha = 17,100 m³ + 2,700 m³ = 19,800 m³ on 180 ha: 110 m³/ha
    assert by_year["volume_m3"] == pytest.approx(19_800.0, rel=1e-9)
    assert by_year["volume_m3_per_ha"] == pytest.approx(110.0, rel=1e-9)


@pytest.mark.parametrize("fill,match", [(-9999.0, "volume values go down to -9999"),
                                        (1e30, "volume values reach 1e+30 m³/ha, more than any stand holds")])
def test_impossible_volume_raster_is_refused(tmp_path, capsys, lc, fill, match):
    v = np.full((100, 100), 100.0)
    v[0, 0] = fill
    out = tmp_path / "o"
    code, err = run_cli(["coverage", f"2020={lc}", "--trees-only", "--volume", str(_vol(tmp_path, v)), "--out", str(out)],
                        capsys)
    assert_one_line_error(code, err, match, out)


def test_impossible_volume_table_is_refused(tmp_path, capsys, lc):
    table = tmp_path / "vt.csv"
    table.write_text("group,volume_m3_per_ha,source\nforest,1e9,x\n", encoding="utf-8")
    out = tmp_path / "o"
    code, err = run_cli(["coverage", f"2020={lc}", "--trees-only", "--volume-table", str(table), "--out", str(out)], capsys)
    assert_one_line_error(code, err, "volume 1e+09 m³/ha is more than any stand holds", out)

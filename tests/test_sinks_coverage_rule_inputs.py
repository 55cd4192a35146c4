"""The special-shrubland rule's rasters are read in the units they are in, or refused.

Before the fix: a shrub-cover raster in fractions (0.5 = 50 %) was read as 0.5 %, so no shrub ever
passed the > 30 % rule (coverage 20 % instead of 30 % below); a precipitation raster holding an
undeclared nodata (-9999) or negative values counted that shrub as "below 400 mm"; one in 0.1 mm
(35,000 for 3,500 mm) was taken as mm.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from sinkplan.layers.errors import InputError
from sinkplan.sinks.coverage_api import forest_coverage

from sinks_util import ALBERS_EA, T_ALBERS_30M, assert_one_line_error, run_cli, write_forest_shrub_grass, write_tif

ALBERS, T = ALBERS_EA, T_ALBERS_30M  # equal-area: 30 m px = 0.09 ha


@pytest.fixture()
def lc(tmp_path):
    # 100 × 100 px = 900 ha: columns 0-19 forest (180 ha), 20-29 shrub (90 ha), the rest grassland
    return write_forest_shrub_grass(tmp_path / "lc.tif")


def _raster(tmp_path, name, value, nodata=None):
    return write_tif(tmp_path / name, np.full((100, 100), value, np.float32), crs=ALBERS, transform=T, nodata=nodata)


def test_cover_in_fractions(tmp_path, lc):
    precip = _raster(tmp_path, "p.tif", 350.0)  # < 400 mm everywhere
    for value, special in ((0.5, 90.0), (0.2, 0.0), (50.0, 90.0), (20.0, 0.0)):  # 0.5 = 50 % > 30 %: all 90 ha
        cover = _raster(tmp_path, f"c{value}.tif", value)
        r = forest_coverage({2020: lc}, precip=precip, shrub_cover=cover)
        t = r.totals.iloc[0]
        assert t["special_shrub_area_ha"] == pytest.approx(special, abs=1e-9), value
        # (180 + special) ha of 900 ha
        assert t["coverage"] == pytest.approx((180 + special) / 900, rel=1e-12), value


@pytest.mark.parametrize("value,nodata,match", [
    (-9999.0, None, "precipitation values go down to -9999; mean annual precipitation is ≥ 0 mm: declare"),
    (35000.0, None, "precipitation values reach 35000, more than any place on Earth receives"),
])
def test_precipitation_that_is_not_mm_is_refused(tmp_path, capsys, lc, value, nodata, match):
    precip = _raster(tmp_path, "p.tif", value, nodata)
    out = tmp_path / "o"
    code, err = run_cli(["coverage", f"2020={lc}", "--precip", str(precip), "--out", str(out)], capsys)
    assert_one_line_error(code, err, match, out)


def test_precipitation_nodata_declared_is_no_data(tmp_path, lc):
    # the same -9999 declared as nodata: the rule has no data there, the coverage is given as bounds
    precip = _raster(tmp_path, "p.tif", -9999.0, -9999.0)
    t = forest_coverage({2020: lc}, precip=precip).totals.iloc[0]
    assert pd.isna(t["coverage"])
    assert (t["coverage_trees_only"], t["coverage_all_shrub"]) == pytest.approx((0.2, 0.3), rel=1e-12)  # 180, 270 of 900


def test_precipitation_in_metres_is_warned(tmp_path, lc):
    from sinkplan.layers.warnings import AssumptionWarning

    with pytest.warns(AssumptionWarning, match=r"all below 10 mm/yr \(largest 0.35\).*multiply it by 1000"):
        forest_coverage({2020: lc}, precip=_raster(tmp_path, "p.tif", 0.35))


def test_precipitation_scale_and_offset_are_applied(tmp_path, lc):
    # int16 in 0.1 mm with GDAL scale 0.1 (as CHELSA stores precipitation): raw 3500 = 350 mm < 400 mm,
    # so all 90 ha of shrub count; read raw (3500 "mm") none did: coverage 20 % instead of 30 %
    import rasterio

    path = tmp_path / "p.tif"
    with rasterio.open(path, "w", driver="GTiff", width=100, height=100, count=1, dtype="int16", crs=ALBERS,
                       transform=T, nodata=-32768) as dst:
        dst.write(np.full((100, 100), 3500, np.int16), 1)
        dst.scales, dst.offsets = (0.1,), (0.0,)
    t = forest_coverage({2020: lc}, precip=path).totals.iloc[0]
    assert t["special_shrub_area_ha"] == pytest.approx(90.0, abs=1e-9)
    assert t["coverage"] == pytest.approx(270 / 900, rel=1e-12)

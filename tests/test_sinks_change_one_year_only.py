"""Land mapped in one year only is named by change, not dropped in silence.

Before the fix a 2020 map with half its pixels nodata gave area_ha 4.5 of 9 ha and stock_before
half of carbon's 2015 stock, exit 0, with not a word.
"""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from sinkplan.layers.warnings import NotReportedWarning
from sinkplan.sinks.change_api import land_change

from sinks_util import write_tif

ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +ellps=WGS84 +units=m"  # 30 m px = 0.09 ha
T = Affine(30, 0, 500000, 0, -30, 4500000)


def test_one_year_only_land_is_warned(tmp_path):
    a = np.full((10, 10), 2, np.uint8)
    b = a.copy()
    b[:5, :] = 0  # nodata: 50 px = 4.5 ha mapped in 2015 only
    b[9, 9] = 4
    a[9, 0] = 0  # and 1 px = 0.09 ha mapped in 2020 only
    p15 = write_tif(tmp_path / "a.tif", a, crs=ALBERS, transform=T)
    p20 = write_tif(tmp_path / "b.tif", b, crs=ALBERS, transform=T)
    with pytest.warns(NotReportedWarning, match=r"4\.5 ha mapped in a\.tif \(2015\) are nodata in b\.tif \(2020\); "
                                                r"0\.09 ha mapped in b\.tif \(2020\) are nodata in a\.tif \(2015\)"):
        r = land_change(p15, p20, years=(2015, 2020))
    # counted: 100 − 50 − 1 = 49 px = 4.41 ha
    assert r.summary["area_ha"] == pytest.approx(4.41, rel=1e-9)

"""Restoration projects with no mapped pixel, or with a ring that holds no land, are named.

Before the fix their rows in restoration_effect.csv were 0 ha / NaN with exit 0 and not a word
on the terminal (carbon and change warn about such zones; the restoration effect did not).
"""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from sinkplan.layers.warnings import PartlyMappedZoneWarning
from sinkplan.sinks.change_api import restoration_effect

from sinks_util import write_polys, write_tif

ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +ellps=WGS84 +units=m"
T = Affine(30, 0, 500000, 0, -30, 4500000)


def test_empty_projects_and_rings_are_warned(tmp_path):
    # 100 × 100 px grassland (3 × 3 km); in 2020 the west 20 columns are forest
    a = np.full((100, 100), 4, np.uint8)
    b = a.copy()
    b[:, :20] = 2
    p15 = write_tif(tmp_path / "a.tif", a, crs=ALBERS, transform=T)
    p20 = write_tif(tmp_path / "b.tif", b, crs=ALBERS, transform=T)
    # 'in': the west 600 m; 'away': 8 km west of the maps; 'all': the whole map (its ring lies off the maps)
    projects = write_polys(tmp_path / "p.gpkg", [(500000, 4497000, 500600, 4500000), (491000, 4497000, 492000, 4498000)],
                           crs=ALBERS, p=["in", "away"])
    with pytest.warns(PartlyMappedZoneWarning, match=r"map no pixel of 1 project\(s\) \(away\)"):
        r = restoration_effect(p15, p20, projects=projects, project_field="p", control_ring_km=1, years=(2015, 2020))
    e = r.effect.set_index("project")
    assert e.loc["in", "area_ha"] == pytest.approx(180.0) and e.loc["away", "area_ha"] == 0.0
    whole = write_polys(tmp_path / "w.gpkg", [(500000, 4497000, 503000, 4500000)], crs=ALBERS, p=["all"])
    with pytest.warns(PartlyMappedZoneWarning, match=r"control ring of 1 project\(s\) \(all\) holds no mapped land"):
        restoration_effect(p15, p20, projects=whole, project_field="p", control_ring_km=1, years=(2015, 2020))

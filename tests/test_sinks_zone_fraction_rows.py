"""stocks_by_zone.csv gives each zone its own mapped_fraction.

Before the fix, ``zone_table`` guessed from the length of the array whether it was indexed by
zone id or by row; with the "(outside zones)" row there are as many rows as zone ids, so every
value moved down one row: zone 'a' (fully mapped) got an empty mapped_fraction, zone 'outside'
(no pixels) got 1.0 and "(outside zones)" got 0.0, while summary.json had them right.
"""

from __future__ import annotations

import csv

import numpy as np
import pytest
from affine import Affine

from sinks_util import run_cli, summary, write_polys, write_tif

ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +ellps=WGS84 +units=m"


def test_mapped_fraction_stays_on_its_zone(tmp_path, capsys):
    # 10 × 10 px of 30 m forest (code 2) = 9 ha; zone a = the raster's west half (5 × 10 px = 4.5 ha),
    # zone 'outside' lies 3 km west of the raster (no pixel); the east half is outside every zone
    lc = write_tif(tmp_path / "lc.tif", np.full((10, 10), 2, np.uint8), crs=ALBERS,
                   transform=Affine(30, 0, 500000, 0, -30, 4500000))
    zones = write_polys(tmp_path / "z.gpkg", [(500000, 4499700, 500150, 4500000), (497000, 4499700, 497300, 4500000)],
                        crs=ALBERS, name=["a", "outside"])
    out = tmp_path / "c"
    code, err = run_cli(["carbon", str(lc), "--zones", str(zones), "--zone-field", "name", "--no-raster",
                         "--out", str(out)], capsys)
    assert code == 0, err
    with open(out / "stocks_by_zone.csv", encoding="utf-8-sig", newline="") as f:
        rows = {r["zone"]: r for r in csv.DictReader(f)}
    assert float(rows["a"]["area_ha"]) == pytest.approx(4.5, rel=1e-12)
    assert float(rows["a"]["mapped_fraction"]) == pytest.approx(1.0, abs=1e-9)  # 4.5 ha of a 4.5 ha polygon
    assert float(rows["outside"]["area_ha"]) == 0.0
    assert float(rows["outside"]["mapped_fraction"]) == 0.0  # no pixel of its 9 ha
    assert rows["(outside zones)"]["mapped_fraction"] == ""  # not a polygon
    by_zone = {z["zone"]: z for z in summary(out)["zones"]}
    assert by_zone["a"]["mapped_fraction"] == pytest.approx(float(rows["a"]["mapped_fraction"]), abs=1e-15)
    assert by_zone["outside"]["mapped_fraction"] == 0.0

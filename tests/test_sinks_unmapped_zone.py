"""A zone the land-cover raster does not map at all (a banner outside the province's map):
coverage of two years still writes its summary, with no rate for that zone (found at province
scale: 40 of 103 Voronoi banners of the box lay outside the mapped province)."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from sinks_util import run_cli, summary, write_polys, write_tif


def test_coverage_trend_of_an_unmapped_zone_is_none(tmp_path, capsys):
    t = Affine(0.01, 0, 110, 0, -0.01, 43)  # 100 × 100 px over 110–111°E, 42–43°N
    a = np.full((100, 100), 2, dtype="uint8")  # forest everywhere in 2015
    b = a.copy()
    b[:, 50:] = 4  # the east half is grassland in 2020: coverage 1.0 → 0.5 in zone 甲
    p15, p20 = write_tif(tmp_path / "a.tif", a, transform=t), write_tif(tmp_path / "b.tif", b, transform=t)
    zones = write_polys(tmp_path / "z.gpkg", [(110, 42, 111, 43), (115, 42, 116, 43)], name=["甲", "乙"])  # 乙 off the map
    code, err = run_cli(["coverage", f"2015={p15}", f"2020={p20}", "--zones", str(zones), "--zone-field", "name",
                         "--out", str(tmp_path / "o")], capsys)
    assert code == 0, err
    trends = {r["zone"]: r for r in summary(tmp_path / "o")["trend_by_zone"]}
    # (0.5 − 1.0) / 5 years = −0.1 per year; the land area is the polygon's ellipsoidal area, which
    # the pixel sums match to 0.01 % (DESIGN.md, Areas), hence the tolerance
    assert trends["甲"]["annual_change"] == pytest.approx(-0.1, rel=1e-4)
    assert trends["乙"]["annual_change"] is None and trends["乙"]["annual_forest_change_ha"] == 0.0

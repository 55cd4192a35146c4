"""The zone polygons' ellipsoidal areas are computed once per run (the mapped fractions and the
tables both need them), and the mapped fractions stay right."""

from __future__ import annotations

import pytest

import sinkplan.layers.geodesy as geodesy
from sinkplan.sinks.api import carbon_stocks

from sinks_util import ALBERS_EA, T_ALBERS_30M, write_forest_shrub_grass, write_polys


def test_carbon_measures_the_zone_polygons_once(tmp_path, monkeypatch):
    lc = write_forest_shrub_grass(tmp_path / "lc.tif")  # 100 × 100 px of 0.09 ha: x 500 000-503 000 m
    x0, y1 = T_ALBERS_30M.c, T_ALBERS_30M.f
    # west: columns 0-49 (450 ha, all mapped); east: columns 50-99 and as far again past the raster
    # (900 ha of polygon, 450 ha mapped: 0.5)
    zones = write_polys(tmp_path / "z.gpkg", [(x0, y1 - 3000, x0 + 1500, y1), (x0 + 1500, y1 - 3000, x0 + 4500, y1)],
                        crs=ALBERS_EA, name=["west", "east"])
    calls = []
    real = geodesy.geodesic_area_m2

    def counted(geoms, crs):
        calls.append(len(geoms))
        return real(geoms, crs)

    monkeypatch.setattr(geodesy, "geodesic_area_m2", counted)
    res = carbon_stocks(lc, zones=zones, zone_field="name")
    assert calls == [2]  # the two zone polygons, once (no overlap to measure)
    frac = res.by_zone.set_index("zone")["mapped_fraction"]
    assert frac["west"] == pytest.approx(1.0, abs=1e-9) and frac["east"] == pytest.approx(0.5, abs=1e-9)

"""Coverage, carbon and change on zones the raster maps only in part: denominators, mapped_fraction, warnings."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from affine import Affine

from sinks_util import run_cli, summary, write_polys, write_tif

from sinkplan.layers import resultspec as rs
from sinkplan.sinks.coverage_api import LAND_AREA_GIVEN

EA = "EPSG:6933"  # cylindrical equal-area: a 100 m × 100 m pixel is 1 ha
T_EA = Affine(100, 0, 1_000_000, 0, -100, 4_500_000)
X0, Y0 = 1_000_000, 4_500_000


@pytest.fixture
def half_mapped(tmp_path):
    # 2 × 4 pixels of 1 ha. Zone A: columns 0-1 of the raster (4 ha mapped, 1 forest)
    # plus 4 ha to the left that the raster does not cover; zone B: columns 2-3 exactly
    # (4 ha, 2 forest); zone C: 2 ha entirely off the raster.
    codes = np.array([[2, 4, 2, 2], [4, 5, 4, 4]], dtype="uint8")  # 5 = water: mapped land too
    lc = write_tif(tmp_path / "lc.tif", codes, crs=EA, transform=T_EA)
    zones = write_polys(tmp_path / "z.gpkg", [(X0 - 200, Y0 - 200, X0 + 200, Y0), (X0 + 200, Y0 - 200, X0 + 400, Y0),
                                              (X0 + 1000, Y0 - 200, X0 + 1100, Y0)], crs=EA, name=["A", "B", "C"])
    return lc, zones


def test_coverage_of_a_partly_mapped_zone_uses_the_mapped_area(tmp_path, half_mapped, capsys):
    lc, zones = half_mapped
    out = tmp_path / "cov"
    code, err = run_cli(["coverage", f"2020={lc}", "--zones", str(zones), "--zone-field", "name", "--out", str(out)], capsys)
    assert code == 0, err
    df = pd.read_csv(out / "coverage_by_zone.csv", encoding="utf-8-sig").set_index("zone")
    # A: forest 1 ha of the 4 ha mapped (not of its 8 ha polygon): 0.25, not 0.125
    assert df.loc["A", "land_area_ha"] == pytest.approx(4.0, rel=1e-9)
    assert df.loc["A", "coverage"] == pytest.approx(0.25, rel=1e-9)
    assert df.loc["A", "land_area_source"] == "mapped land (raster covers 50.0 % of the zone polygon)"
    # B is mapped in full: its polygon's area (4 ha on the ellipsoid), 2 / 4
    assert df.loc["B", "land_area_source"] == "zone polygon (geodesic)"
    assert df.loc["B", "coverage"] == pytest.approx(0.5, rel=1e-6)
    # C: no pixels
    assert df.loc["C", "land_area_ha"] == 0 and np.isnan(df.loc["C", "coverage"])
    assert df.loc["C", "land_area_source"] == "mapped land (raster covers 0.0 % of the zone polygon)"
    (total,) = summary(out)["totals"]
    # 3 forest ha ÷ (4 mapped + 4 polygon + 0) ha
    assert total["land_area_ha"] == pytest.approx(8.0, rel=1e-6) and total["coverage"] == pytest.approx(3 / 8, rel=1e-6)
    assert total["land_area_source"] == "sum of zones (mapped land for A, C)"
    warned = [ln for ln in err.splitlines() if ln.startswith("WARNING")]
    assert any("zone A: the raster maps 4 ha of its 8 ha polygon (50.0 %)" in m for m in warned), warned
    assert any("zone C: the raster maps none of its 2 ha" in m for m in warned), warned
    # the user's land area still wins
    out2 = tmp_path / "cov2"
    assert run_cli(["coverage", f"2020={lc}", "--zones", str(zones), "--zone-field", "name", "--land-area-ha", "A=10",
                    "--out", str(out2)], capsys)[0] == 0
    df2 = pd.read_csv(out2 / "coverage_by_zone.csv", encoding="utf-8-sig").set_index("zone")
    assert df2.loc["A", "coverage"] == pytest.approx(0.1) and df2.loc["A", "land_area_source"] == LAND_AREA_GIVEN


@pytest.mark.parametrize("command", ["carbon", "change"])
def test_carbon_and_change_report_the_mapped_fraction(tmp_path, half_mapped, command, capsys):
    lc, zones = half_mapped
    out = tmp_path / "out"
    inputs = [str(lc)] if command == "carbon" else [f"2015={lc}", f"2020={lc}"]
    code, err = run_cli([command, *inputs, "--zones", str(zones), "--zone-field", "name", "--out", str(out)], capsys)
    assert code == 0, err
    table = rs.STOCKS_BY_ZONE.name if command == "carbon" else "change_by_zone.csv"
    df = pd.read_csv(out / table, encoding="utf-8-sig").set_index("zone")
    # A: 4 of its 8 ha mapped; B: 4 of 4; C: none of its 2 ha
    assert df.mapped_fraction.to_dict() == pytest.approx({"A": 0.5, "B": 1.0, "C": 0.0}, rel=1e-6)
    zones_json = {z["zone"]: z["mapped_fraction"] for z in summary(out)["zones"]}
    assert zones_json == pytest.approx({"A": 0.5, "B": 1.0, "C": 0.0}, rel=1e-6)
    warnings = [ln for ln in err.splitlines() if ln.startswith("WARNING")]
    assert len(warnings) == 1, err
    assert "maps less than 99.5 % of 2 zone(s)" in warnings[0]
    assert "A: 50.0 % (4 of 8 ha); C: no pixels (polygon 2 ha)" in warnings[0]


def test_mapped_fraction_is_empty_outside_zones_and_without_zones(tmp_path, half_mapped, capsys):
    lc, _ = half_mapped
    # one zone over column 0 only: the other columns are '(outside zones)', with no polygon
    zones = write_polys(tmp_path / "one.gpkg", [(X0, Y0 - 200, X0 + 100, Y0)], crs=EA, name=["A"])
    out = tmp_path / "out"
    code, err = run_cli(["carbon", str(lc), "--zones", str(zones), "--zone-field", "name", "--out", str(out)], capsys)
    assert code == 0 and "WARNING" not in err, err
    fr = {z["zone"]: z["mapped_fraction"] for z in summary(out)["zones"]}
    assert fr == {"A": pytest.approx(1.0, rel=1e-6), "(outside zones)": None}
    out2 = tmp_path / "out2"
    assert run_cli(["carbon", str(lc), "--out", str(out2)], capsys)[0] == 0
    assert [z["mapped_fraction"] for z in summary(out2)["zones"]] == [None]

"""One zone name given to features that are not one zone: refused, not summed into one row."""

from __future__ import annotations

import pandas as pd
import pytest
from sinks_util import ALBERS_EA, T_ALBERS_30M, assert_one_line_error, run_cli, summary, write_forest_shrub_grass, write_polys

from sinkplan.layers import resultspec as rs

# The raster spans x 500 000-503 000 m, y 4 497 000-4 500 000 m (100 × 100 px of 30 m, 0.09 ha).
# Feature A: columns 0-49 (1 500 m), feature B: columns 50-99; each 50 × 100 px = 450 ha.
A = (500000.0, 4497000.0, 501500.0, 4500000.0)
B = (501500.0, 4497000.0, 503000.0, 4500000.0)
# B split at column 75: B1 columns 50-74, B2 75-99, each 25 × 100 px = 225 ha.
B1 = (501500.0, 4497000.0, 502250.0, 4500000.0)
B2 = (502250.0, 4497000.0, 503000.0, 4500000.0)


def test_two_banners_named_alike_in_different_leagues_are_refused(tmp_path, capsys):
    lc = write_forest_shrub_grass(tmp_path / "lc.tif")
    # 新区 of 锡林郭勒盟 (A) and 新区 of 赤峰市 (B1), beside 松山区 of 赤峰市 (B2)
    zones = write_polys(tmp_path / "banners.gpkg", [A, B1, B2], crs=ALBERS_EA, name=["新区", "新区", "松山区"],
                        league=["锡林郭勒盟", "赤峰市", "赤峰市"], adcode=["152501", "150401", "150404"])
    out = tmp_path / "carbon"
    code, err = run_cli(["carbon", str(lc), "--zones", str(zones), "--zone-field", "name", "--out", str(out)], capsys)
    assert_one_line_error(code, err, "2 features are named '新区' in field 'name' but differ in 'league' "
                          "('锡林郭勒盟', '赤峰市')", out)
    assert "--zone-field 'adcode'" in err  # the field unique to each zone is named as the fix
    # the same file named by its unique field: three zones of 450, 225 and 225 ha
    code, err = run_cli(["carbon", str(lc), "--zones", str(zones), "--zone-field", "adcode", "--out", str(out)], capsys)
    assert code == 0, err
    df = pd.read_csv(out / rs.STOCKS_BY_ZONE.name, dtype={"zone": str})
    rows = df[df["zone"].isin(["152501", "150401", "150404"])].set_index("zone")
    assert rows.loc["152501", "area_ha"] == pytest.approx(450.0)  # 50 × 100 px × 0.09 ha
    assert rows.loc["150401", "area_ha"] == pytest.approx(225.0)  # 25 × 100 px × 0.09 ha
    assert rows.loc["150404", "area_ha"] == pytest.approx(225.0)


def test_the_rasterizer_every_command_uses_refuses_them(tmp_path):
    from sinkplan.layers.errors import InputError
    from sinkplan.layers.grid import Grid
    from sinkplan.layers.vectors import read_vector
    from sinkplan.layers.zones import ZoneRasterizer

    lc = write_forest_shrub_grass(tmp_path / "lc.tif")
    zones = write_polys(tmp_path / "banners.gpkg", [A, B], crs=ALBERS_EA, name=["新区", "新区"], league=["L1", "L2"])
    grid = Grid.from_raster(lc)
    with pytest.raises(InputError, match="differ in 'league'"):
        ZoneRasterizer(read_vector(zones), grid, field="name")


def test_parts_of_one_zone_are_still_one_zone(tmp_path, capsys):
    """Two features of one banner (same league; their OBJECTID and area differ, as a GIS writes them)."""
    lc = write_forest_shrub_grass(tmp_path / "lc.tif")
    zones = write_polys(tmp_path / "banners.gpkg", [A, B], crs=ALBERS_EA, name=["新区", "新区"],
                        league=["赤峰市", "赤峰市"], OBJECTID=[1, 2], Shape_Area=[4.5e6, 4.5e6 + 1])
    out = tmp_path / "carbon"
    code, err = run_cli(["carbon", str(lc), "--zones", str(zones), "--zone-field", "name", "--out", str(out)], capsys)
    assert code == 0, err
    df = pd.read_csv(out / rs.STOCKS_BY_ZONE.name, dtype={"zone": str})
    assert df.loc[df["zone"] == "新区", "area_ha"].tolist() == pytest.approx([900.0])  # 450 + 450 ha, one zone
    assert [z["zone"] for z in summary(out)["zones"] if z["zone"] == "新区"] == ["新区"]


def test_merged_parts_are_said_on_an_info_line(tmp_path, caplog):
    """Features of one name and nothing to tell them apart are merged, and an INFO line says so."""
    import logging

    from sinkplan.layers.grid import Grid
    from sinkplan.layers.vectors import read_vector
    from sinkplan.layers.zones import ZoneRasterizer

    lc = write_forest_shrub_grass(tmp_path / "lc.tif")
    zones = write_polys(tmp_path / "z.gpkg", [A, B1, B2], crs=ALBERS_EA, name=["新区", "新区", "松山区"])
    with caplog.at_level(logging.INFO, logger="sinkplan.layers.zones"):
        zr = ZoneRasterizer(read_vector(zones), Grid.from_raster(lc), field="name")
    assert zr.names == ("新区", "松山区")
    assert "1 zone name(s) given to several features, each merged into one zone: '新区' (2 features)" in caplog.text


def test_restoration_projects_named_alike_are_refused_as_zones_are(tmp_path, capsys):
    """change --control-ring-km dissolved two projects named 治沙 (started 2016 and 2019) into one."""
    import numpy as np
    from sinks_util import T_ALBERS_30M, write_tif

    a = np.full((100, 100), 4, np.uint8)
    p15 = write_tif(tmp_path / "a.tif", a, crs=ALBERS_EA, transform=T_ALBERS_30M)
    p20 = write_tif(tmp_path / "b.tif", a, crs=ALBERS_EA, transform=T_ALBERS_30M)
    proj = write_polys(tmp_path / "p.gpkg", [(500300.0, 4497300.0, 500900.0, 4497900.0),
                                             (502100.0, 4499100.0, 502700.0, 4499700.0)], crs=ALBERS_EA,
                       project=["治沙", "治沙"], start_year=[2016, 2019])
    out = tmp_path / "r"
    code, err = run_cli(["change", f"2015={p15}", f"2020={p20}", "--zones", str(proj), "--zone-field", "project",
                         "--control-ring-km", "0.3", "--out", str(out)], capsys)
    assert_one_line_error(code, err, "2 features are named '治沙' in field 'project' but differ in 'start_year' "
                          "('2016', '2019')", out)

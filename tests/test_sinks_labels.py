"""Zone labels: the whole map is '(all)' in every command; '(outside zones)' only beside a zone layer."""

from __future__ import annotations

import numpy as np
import pandas as pd
from affine import Affine

from sinks_util import assert_one_line_error, run_cli, summary, write_polys, write_tif
from sinkplan.layers import resultspec as rs

T = Affine(0.01, 0, 110, 0, -0.01, 43)


def test_without_zones_carbon_and_change_both_say_all(tmp_path, capsys):
    lc = write_tif(tmp_path / "lc.tif", np.array([[2, 4], [4, 1]], dtype="uint8"), transform=T)
    assert run_cli(["carbon", str(lc), "--out", str(tmp_path / "c"), "--no-raster"], capsys)[0] == 0
    assert run_cli(["change", str(lc), str(lc), "--out", str(tmp_path / "d")], capsys)[0] == 0
    assert [z["zone"] for z in summary(tmp_path / "c")["zones"]] == ["(all)"]
    assert [z["zone"] for z in summary(tmp_path / "d")["zones"]] == ["(all)"]
    assert pd.read_csv(tmp_path / "c" / rs.STOCKS_BY_ZONE.name, encoding="utf-8-sig").zone.tolist() == ["(all)"]
    assert set(pd.read_csv(tmp_path / "c" / "stocks_by_class.csv", encoding="utf-8-sig").zone) == {"(all)"}
    # with zones, the pixels outside them are '(outside zones)'
    zones = write_polys(tmp_path / "z.gpkg", [(110, 42.99, 110.02, 43)], name=["甲"])
    assert run_cli(["carbon", str(lc), "--zones", str(zones), "--zone-field", "name", "--out", str(tmp_path / "z"),
                    "--no-raster"], capsys)[0] == 0
    assert [z["zone"] for z in summary(tmp_path / "z")["zones"]] == ["甲", "(outside zones)"]


def test_a_zone_named_like_the_outside_row_is_refused(tmp_path, capsys):
    lc = write_tif(tmp_path / "lc.tif", np.array([[2, 4], [4, 1]], dtype="uint8"), transform=T)
    zones = write_polys(tmp_path / "z.gpkg", [(110, 42.99, 110.02, 43)], name=["(outside zones)"])
    for cmd in (["carbon", str(lc)], ["change", str(lc), str(lc)], ["coverage", str(lc)]):
        out = tmp_path / cmd[0]
        code, err = run_cli([*cmd, "--zones", str(zones), "--zone-field", "name", "--out", str(out)], capsys)
        assert_one_line_error(code, err, f"field 'name' of zone layer {zones}: a zone is named '(outside zones)', the "
                              "label sinkplan gives the pixels outside every zone; rename that zone", out)

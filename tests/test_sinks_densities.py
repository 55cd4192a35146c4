"""Density tables: shipped defaults, InVEST and group-keyed tables, uncertainty, every error path."""

from __future__ import annotations

import numpy as np
import pytest

from sinkplan.layers.errors import InputFileError, SchemeError, UnknownClassCode
from sinkplan.layers.schemes import load_scheme
from sinkplan.sinks.densities import POOLS, DensityTable, load_densities, shipped_tables
from sinkplan.sinks.uncertainty import draw_densities
from sinks_util import INVEST_CSV


def table(text: str) -> DensityTable:
    return DensityTable.from_csv("t.csv", text=text)


@pytest.mark.parametrize("name,depth", [("inner_mongolia_30cm", 30.0), ("inner_mongolia_100cm", 100.0)])
def test_shipped_tables_have_sources_depth_and_ranges(name, depth):
    t = load_densities(name)
    assert name in shipped_tables()
    assert t.keyed_by == "group" and t.soil_depth_cm == depth
    assert t.meta["units"] == "Mg C/ha" and t.meta["licence"] and t.meta["source"]
    assert all(s.strip() for s in t.sources)  # every row has a source
    assert np.isfinite(t.low).all() and np.isfinite(t.high).all()  # every value has a range
    assert (t.low <= t.density_mgc_per_ha).all() and (t.density_mgc_per_ha <= t.high).all()
    # Forest: above 29.0 + below 8.4 = 37.4 = Huang et al. 2016 tree 35.6 + shrub 0.6 + herb 1.2 (root:shoot 0.29)
    forest = t.density_mgc_per_ha[t.keys.index("forest")]
    assert forest[0] + forest[1] == pytest.approx(35.6 + 0.6 + 1.2)
    # Every CLCD land class is covered.
    assert load_densities(name).resolve(load_scheme("clcd")).missing_codes == ()


def test_default_is_0_30_cm_and_forest_soil_is_80_percent_of_0_100():
    shallow, deep = load_densities(), load_densities("inner_mongolia_100cm")
    assert shallow.soil_depth_cm == 30
    f = shallow.keys.index("forest")
    # 144.4 Mg C/ha × 0.798 in 0-30 cm = 115.2 (Huang et al. 2016)
    assert shallow.density_mgc_per_ha[f, 2] == pytest.approx(deep.density_mgc_per_ha[f, 2] * 0.798, abs=0.3)


def test_invest_table_read_as_is_extra_columns_ignored():
    t = table(INVEST_CSV)
    assert t.keyed_by == "lucode" and t.keys[:2] == (1, 2)
    assert t.total_mgc_per_ha()[1] == 86.0  # 15 + 10 + 60 + 1
    assert not t.has_uncertainty
    dens = t.resolve(load_scheme("clcd")).per_class()
    assert dens.shape == (9, 4) and dens[1].tolist() == [15, 10, 60, 1]


def test_group_table_resolves_every_code_of_a_group():
    t = table("group,c_above,c_below,c_soil,c_dead,source\nforest,10,2,50,1,a\ngrassland,1,3,40,0,b\n")
    scheme = load_scheme("worldcover")
    cd = t.resolve(scheme)
    per = cd.per_class()
    forest_rows = [i for i, g in enumerate(cd.groups) if g == "forest"]
    assert forest_rows and all(per[i].tolist() == [10, 2, 50, 1] for i in forest_rows)
    assert set(cd.missing_codes) == {c for c, g in zip(cd.codes, cd.groups) if g not in ("forest", "grassland")}


def test_missing_class_with_pixels_is_an_error_naming_codes():
    cd = table("lucode,c_above,c_below,c_soil,c_dead\n2,15,10,60,1\n").resolve(load_scheme("clcd"))
    pixels = np.zeros(9, dtype=int)
    pixels[1] = 5
    cd.check_present(pixels)  # only forest on the map: fine
    pixels[3] = 7  # grassland, code 4, has no row
    with pytest.raises(UnknownClassCode, match=r"codes 4 \(7 px\).*add lucode row\(s\) \[4\]"):
        cd.check_present(pixels, path="lc.tif")


@pytest.mark.parametrize("text,match", [
    ("code,c_above,c_below,c_soil,c_dead\n1,1,1,1,1\n", "no 'lucode' or 'group' column"),
    ("lucode,c_above,c_below,c_soil\n1,1,1,1\n", r"missing column\(s\) \['c_dead'\]"),
    ("lucode,c_above,c_below,c_soil,c_dead\n1,1,1,1,1\n1,2,2,2,2\n", r"lucode \[1\] listed more than once"),
    ("lucode,c_above,c_below,c_soil,c_dead\n1,-1,1,1,1\n", "line 2 column c_above: '-1' must be a finite number ≥ 0"),
    ("lucode,c_above,c_below,c_soil,c_dead\n1,x,1,1,1\n", "'x' is not a number"),
    ("lucode,c_above,c_below,c_soil,c_dead\n1,,1,1,1\n", "empty; give a density"),
    ("lucode,c_above,c_below,c_soil,c_dead\n1.5,1,1,1,1\n", "not a non-negative integer code"),
    ("group,c_above,c_below,c_soil,c_dead\nforrest,1,1,1,1\n", "group 'forrest' is not one of"),
    ("lucode,c_above,c_above_sd,c_above_low,c_above_high,c_below,c_soil,c_dead\n1,5,1,4,6,1,1,1\n", "either _sd or _low/_high"),
    ("lucode,c_above,c_above_low,c_above_high,c_below,c_soil,c_dead\n1,5,6,8,1,1,1\n", r"value 5.0 lies outside its range \[6.0, 8.0\]"),
    ("lucode,c_above,c_above_low,c_below,c_soil,c_dead\n1,5,4,1,1,1\n", "give both _low and _high"),
    ("# units: kg C/m2\nlucode,c_above,c_below,c_soil,c_dead\n1,5,1,1,1\n", "is not Mg C/ha"),
    ("# soil_depth_cm: deep\nlucode,c_above,c_below,c_soil,c_dead\n1,5,1,1,1\n", "not a number of centimetres"),
    ("# only a header\n", "no header row"),
    # a table saved by a European-locale spreadsheet: the message says what to change
    ('lucode,c_above,c_below,c_soil,c_dead\n1,"29,5",1,1,1\n', r"'29,5' is not a number \(a decimal comma\? write 29\.5\)"),
    ("lucode;c_above;c_below;c_soil;c_dead\n1;29,5;1;1;1\n", "the file is separated by ';': save it comma-separated"),
])
def test_table_errors_name_file_line_and_fix(text, match):
    with pytest.raises(SchemeError, match=match):
        table(text)


def test_missing_file_is_an_input_file_error(tmp_path):
    with pytest.raises(InputFileError, match="density table not found.*inner_mongolia_30cm"):
        load_densities(tmp_path / "nope.csv")


def test_gbk_table_is_read(tmp_path):
    p = tmp_path / "gbk.csv"
    p.write_bytes("lucode,名称,c_above,c_below,c_soil,c_dead,source\n2,森林,15,10,60,1,国家森林资源清查\n".encode("gb18030"))
    t = DensityTable.from_csv(p)
    assert t.sources == ("国家森林资源清查",)


def test_draws_reproducible_bounded_and_shaped():
    t = table("lucode,c_above,c_above_sd,c_below,c_below_low,c_below_high,c_soil,c_dead,c_dead_low,c_dead_high\n"
              "1,1,2,5,4,8,30,0,0,3\n")
    a = draw_densities(t, 4000, seed=7)
    b = draw_densities(t, 4000, seed=7)
    assert a.shape == (4000, 1, 4) and np.array_equal(a, b)
    assert not np.array_equal(a, draw_densities(t, 4000, seed=8))
    assert a.min() >= 0  # lognormal
    assert (a[:, 0, 2] == 30).all()  # no uncertainty: fixed
    assert (a[:, 0, 3] == 0).all()  # value 0 stays 0 whatever its range
    assert len(POOLS) == 4


def test_draws_are_lognormal_with_the_table_value_as_mean():
    # The table values are best estimates of the MEAN: the draws must be centred on them,
    # also for a skewed range (value 2.9 in [0.2, 21], the shipped forest dead pool, whose
    # triangular mean (0.2 + 2.9 + 21) / 3 = 8.03 was 2.8 × the value).
    t = table("lucode,c_above,c_above_sd,c_below,c_below_low,c_below_high,c_soil,c_soil_sd,c_dead,c_dead_low,c_dead_high\n"
              "1,10,4,5,4,8,30,0,2.9,0.2,21\n")
    d = draw_densities(t, 400_000, seed=3)[:, 0, :]
    assert d[:, 0].mean() == pytest.approx(10, rel=0.005)
    assert d[:, 0].std() == pytest.approx(4, rel=0.01)  # sd from c_above_sd
    assert d[:, 1].mean() == pytest.approx(5, rel=0.005)
    assert d[:, 1].std() == pytest.approx((8 - 4) / 3.92, rel=0.01)  # range read as a 95 % interval
    assert (d[:, 2] == 30).all()  # sd 0: fixed
    assert d[:, 3].mean() == pytest.approx(2.9, rel=0.02)
    assert d[:, 3].std() == pytest.approx((21 - 0.2) / 3.92, rel=0.05)
    # lognormal: the log of the draws is normal with sigma² = ln(1 + (4/10)²)
    assert np.log(d[:, 0]).std() == pytest.approx(np.sqrt(np.log1p(0.16)), rel=0.01)


def test_old_distribution_headers_are_refused():
    for dist in ("uniform", "triangular"):
        with pytest.raises(SchemeError, match=f"t.csv: header 'distribution: {dist}' is not supported.*lognormal"):
            table(f"# distribution: {dist}\nlucode,c_above,c_above_low,c_above_high,c_below,c_soil,c_dead\n1,5,0,10,0,0,0\n")
    assert table("# distribution: lognormal\nlucode,c_above,c_below,c_soil,c_dead\n1,5,0,0,0\n").distribution == "lognormal"

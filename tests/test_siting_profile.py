"""Siting profiles: shipped defaults, sources, overrides and one-line errors."""

from __future__ import annotations

import tomllib
from importlib import resources

import pytest

from sinkplan.layers.errors import ConfigError
from sinkplan.siting.profile import (
    load_profile, numbers_without_source, parse_assignment, shipped_profiles, with_overrides,
)


def test_shipped_profiles_load_and_every_number_has_a_source():
    assert set(shipped_profiles()) >= {"pv", "wind"}
    for name in ("pv", "wind"):
        p = load_profile(name)
        assert p.tech == name
        raw = tomllib.loads(resources.files("sinkplan.seeds").joinpath("profiles", f"{name}.toml").read_text("utf-8"))
        assert numbers_without_source(raw) == []
    pv = load_profile("pv")
    assert pv.technology.power_density_mw_per_km2 == 34.0  # Kubuqi ≈ 34 MW/km²
    # TD/T 1075-2023's 3° sorts terrain classes, it is not a ban: the limit is GLAES's PV 10°, 3° facing north
    assert pv.technology.max_slope_deg == 10.0 and pv.technology.max_north_slope_deg == 3.0
    assert (pv.terrain.class_i_max_slope_deg, pv.terrain.class_ii_max_slope_deg) == (3.0, 20.0)
    # the 500 m / 400 m setbacks were GLAES's wind-turbine setbacks: PV has none by default, wind keeps them
    assert pv.exclusions.landcover_buffers_m == {}
    assert load_profile("wind").exclusions.landcover_buffers_m == {"built": 500.0, "water": 400.0}
    assert load_profile("wind").technology.max_slope_deg == 11.3  # GLAES Holtinger 2016 (max)
    # every named policy layer carries its clause
    from sinkplan.siting.profile import POLICY_LAYERS
    assert set(pv.exclusions.policy) == set(POLICY_LAYERS) - {"bird_corridors"}
    assert "bird_corridors" in load_profile("wind").exclusions.policy
    for prof in (pv, load_profile("wind")):
        assert all("号" in r.clause or "三条控制线" in r.clause for r in prof.exclusions.policy.values())
    assert set(pv.exclusions.landcover_groups) == {"forest", "wetland", "water", "built", "cropland"}
    assert 3.0 <= load_profile("wind").technology.power_density_mw_per_km2 <= 5.0


def test_overrides_are_validated_again():
    p = load_profile("pv")
    q = with_overrides(p, {"pv.max_slope_deg": 10, "exclusions.redline.buffer_m": 500})
    assert (q.technology.max_slope_deg, q.exclusions.redline.buffer_m) == (10.0, 500.0)
    assert p.technology.max_slope_deg == 10.0  # the original is untouched (frozen)
    with pytest.raises(ConfigError, match=r"pv\.max_slop: unknown key"):
        with_overrides(p, {"pv.max_slop": 3})


def test_parse_assignment():
    assert parse_assignment("pv.max_slope_deg=3,5,10") == ("pv.max_slope_deg", [3, 5, 10])
    assert parse_assignment("exclusions.redline.buffer_m=0,500.5") == ("exclusions.redline.buffer_m", [0, 500.5])
    assert parse_assignment('exclusions.landcover_groups=["forest"],["forest","water"]')[1] == [
        ["forest"], ["forest", "water"]]
    assert parse_assignment("name=abc", many=False) == ("name", ["abc"])
    with pytest.raises(ConfigError, match="KEY=VALUE"):
        parse_assignment("pv.max_slope_deg")


@pytest.mark.parametrize("body, match", [
    ('tech = "pv"\n[pv]\npower_density_mw_per_km2 = 34\nmax_slope_deg = 3\nmin_parcel_area_ha = 1\ncolour = 1\n',
     r"pv\.colour: unknown key"),
    ('tech = "pv"\n[pv]\npower_density_mw_per_km2 = -34\nmax_slope_deg = 3\nmin_parcel_area_ha = 1\n',
     r"pv\.power_density_mw_per_km2: Input should be greater than 0 \(found -34\)"),
    ('tech = "pv"\n[pv]\npower_density_mw_per_km2 = 34\nmax_slope_deg = 3\nmin_parcel_area_ha = 1\n'
     '[exclusions.layers.reserves]\npath = "missing.gpkg"\n', r"exclusions\.layers\.reserves\.path: layer file .*missing\.gpkg not found"),
    ('tech = "pv"\n[pv]\npower_density_mw_per_km2 = 34\nmax_slope_deg = 3\nmin_parcel_area_ha = 1\n'
     '[exclusions.landcover_buffers_m]\nbuilt = -5\n', r"exclusions\.landcover_buffers_m: .*≥ 0"),
    ('tech = "wind"\n[pv]\npower_density_mw_per_km2 = 34\nmax_slope_deg = 3\nmin_parcel_area_ha = 1\n',
     r"no \[wind\] section"),
    ('tech = "pv"\n[pv]\npower_density_mw_per_km2 = 34\nmax_slope_deg = 3\nmin_parcel_area_ha = 1\n'
     '[source]\n"pv.typo" = "x"\n', r"source\.pv\.typo: names no number"),
    ('tech = "pv"\n[pv\n', "not valid TOML"),
])
def test_bad_profile_errors_name_file_and_key(tmp_path, body, match):
    f = tmp_path / "bad.toml"
    f.write_text(body, encoding="utf-8")
    with pytest.raises(ConfigError, match=match) as info:
        load_profile(f)
    assert str(f) in str(info.value)
    assert "\n" not in str(info.value)


def test_missing_profile_file(tmp_path):
    with pytest.raises(ConfigError, match=r"nope\.toml: profile file not found"):
        load_profile(tmp_path / "nope.toml")


def test_relative_layer_path_is_read_from_the_profile_folder(tmp_path):
    (tmp_path / "reserves.gpkg").write_bytes(b"")
    f = tmp_path / "p.toml"
    f.write_text('tech = "pv"\n[pv]\npower_density_mw_per_km2 = 34\nmax_slope_deg = 3\nmin_parcel_area_ha = 1\n'
                 '[exclusions.layers.reserves]\npath = "reserves.gpkg"\nbuffer_m = 1000\n', encoding="utf-8")
    p = load_profile(f)
    assert p.vector_rules()["reserves"].path == tmp_path / "reserves.gpkg"
    assert list(p.vector_rules()) == ["redline", "farmland", "reserves"]


def test_user_profile_extends_a_shipped_one(tmp_path):
    from sinkplan.siting.profile import load_profile

    p = tmp_path / "steeper.toml"
    p.write_text('extends = "pv"\nname = "steeper"\n[pv]\nmax_slope_deg = 5.0\n[exclusions.landcover_buffers_m]\nbuilt = 1000.0\n',
                 encoding="utf-8")
    prof = load_profile(p)
    base = load_profile("pv")
    assert prof.pv.max_slope_deg == 5.0 and prof.name == "steeper"
    # Everything not given comes from the shipped PV profile.
    assert prof.pv.power_density_mw_per_km2 == base.pv.power_density_mw_per_km2
    assert prof.exclusions.landcover_buffers_m["built"] == 1000.0
    # tables merge key by key: the wind profile's water setback stays when only built is given
    w = tmp_path / "wind_built.toml"
    w.write_text('extends = "wind"\n[exclusions.landcover_buffers_m]\nbuilt = 1000.0\n', encoding="utf-8")
    assert load_profile(w).exclusions.landcover_buffers_m == {"built": 1000.0, "water": 400.0}
    bad = tmp_path / "bad.toml"
    bad.write_text('extends = "solar"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"bad\.toml: extends: 'solar' is not a shipped profile"):
        load_profile(bad)
    partial = tmp_path / "partial.toml"
    partial.write_text('tech = "pv"\n[pv]\nmax_slope_deg = 5.0\n', encoding="utf-8")
    with pytest.raises(ConfigError, match=r"partial\.toml: .*missing key \(or start the file with extends"):
        load_profile(partial)

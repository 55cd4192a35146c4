"""Reliability: values are checked finite and in range where they enter, not after the work.

Profiles (``--set pv.power_density_mw_per_km2=inf``), density tables (1e308 passed
"finite ≥ 0" and overflowed the stock), density rasters (only with the POOLS and UNITS tags
``density-model`` writes, or ``--density-raster-units``), and options (``--seed -1``,
``--max-cells 0`` and ``1``, ``--workers -1``, an infinite number, an unreachable
``--scheduler``).
"""

from __future__ import annotations

import argparse
import json
import math
import socket

import numpy as np
import pytest
import rasterio
from affine import Affine

from reliability_util import leftovers, one_line_error
from sinkplan.layers import resultspec as rs
from sinkplan.cli import main
from sinkplan.layers.errors import ClusterError, ConfigError, SchemeError
from sinkplan.layers.parallel import check_scheduler
from sinkplan.options import MAX_SEED, check_options
from sinkplan.sinks.densities import MAX_DENSITY_MGC_PER_HA, DensityTable
from sinkplan.sinks.learning.carbon_raster import density_units_factor

T = Affine(0.001, 0, 110.0, 0, -0.001, 42.0)


def _tif(path, data, dtype, *, nodata=None, tags=None, units=None):
    with rasterio.open(path, "w", driver="GTiff", width=data.shape[1], height=data.shape[0], count=1, dtype=dtype,
                       crs="EPSG:4326", transform=T, nodata=nodata) as dst:
        dst.write(data.astype(dtype), 1)
        if tags:
            dst.update_tags(**tags)
        if units:
            dst.units = (units,)
    return path


@pytest.fixture
def forest(tmp_path):
    """A 10 × 10 map of CLCD forest (code 2)."""
    return _tif(tmp_path / "lc.tif", np.full((10, 10), 2), "uint8", nodata=0)


# ------------------------------------------------------------------ profiles


@pytest.mark.parametrize("value", ["inf", "-inf", "nan", "1e400"])
def test_profile_refuses_non_finite_values_at_parse_time(forest, tmp_path, capsys, value):
    out = tmp_path / "site"
    rc = main(["site", "-q", "--landcover", str(forest), "--set", "exclusions.redline.required=false",
               "--set", "exclusions.farmland.required=false", "--set", f"pv.power_density_mw_per_km2={value}",
               "--out", str(out)])
    assert rc == 2
    shown = "inf" if value == "1e400" else value  # 1e400 overflows to inf when read
    assert one_line_error(capsys.readouterr().err) == (
        f"sinkplan site: error: --set pv.power_density_mw_per_km2: Input should be a finite number (found {shown})")
    assert not out.exists() and leftovers(tmp_path) == []


def test_profile_file_with_inf_names_file_and_key(tmp_path):
    from sinkplan.siting.profile import load_profile

    p = tmp_path / "mine.toml"
    p.write_text('extends = "pv"\n[pv]\nmax_slope_deg = inf\n', encoding="utf-8")  # TOML has inf literals
    with pytest.raises(ConfigError, match=r"mine\.toml: pv\.max_slope_deg: Input should be a finite number"):
        load_profile(p)


# ------------------------------------------------------------------ density tables


def _table(value: str) -> str:
    return ("lucode,c_above,c_below,c_soil,c_dead\n"
            f"1,1,1,1,1\n2,{value},6.7,115,2.9\n")


def test_density_table_bound(tmp_path):
    # the bound itself is allowed; anything above it is a unit slip or a typo
    ok = DensityTable.from_csv(tmp_path / "t.csv", text=_table(f"{MAX_DENSITY_MGC_PER_HA:g}"))
    assert ok.density_mgc_per_ha[1, 0] == 10_000.0
    for bad in ("1e308", "10000.5", "15000"):  # 15000: 150 Mg C/ha written in g C/m²
        with pytest.raises(SchemeError) as info:
            DensityTable.from_csv(tmp_path / "t.csv", text=_table(bad))
        assert str(info.value) == (
            f"{tmp_path / 't.csv'} line 3 column c_above: '{bad}' Mg C/ha is more than any ecosystem stores in one "
            "pool (at most 10,000; the densest forests hold about 1,900 above ground); check the units (Mg C/ha = "
            "t C/ha; g C/m² is 100 times larger)")


def test_carbon_with_a_1e308_density_is_refused_before_any_output(forest, tmp_path, capsys):
    (tmp_path / "t.csv").write_text(_table("1e308"), encoding="utf-8")
    out = tmp_path / "c"
    assert main(["carbon", str(forest), "--densities", str(tmp_path / "t.csv"), "--out", str(out), "-q"]) == 2
    assert "'1e308' Mg C/ha is more than any ecosystem stores" in one_line_error(capsys.readouterr().err)
    assert not out.exists()


# ------------------------------------------------------------------ density rasters


def test_a_dem_is_not_a_density_raster(forest, tmp_path, capsys):
    dem = _tif(tmp_path / "dem.tif", np.full((10, 10), 1200.0), "float32", nodata=-9999)
    out = tmp_path / "c"
    assert main(["carbon", str(forest), "--density-raster", str(dem), "--out", str(out), "-q"]) == 2
    assert one_line_error(capsys.readouterr().err) == (
        f"sinkplan carbon: error: {dem}: not a carbon-density raster (no POOLS and UNITS tag, as sinkplan "
        "density-model writes); give a density-model output, or say what it holds with --density-raster-units "
        "'Mg C/ha' (kg C/m2 and g C/m2 are converted)")
    assert not out.exists()
    # a DEM tagged in metres says so
    _tif(dem, np.full((10, 10), 1200.0), "float32", nodata=-9999, units="m")
    assert main(["carbon", str(forest), "--density-raster", str(dem), "--out", str(out), "-q"]) == 2
    assert "not a carbon-density raster (its units are 'm')" in one_line_error(capsys.readouterr().err)
    # and units that are no density are refused when stated too
    assert main(["carbon", str(forest), "--density-raster", str(dem), "--density-raster-units", "m",
                 "--out", str(out), "-q"]) == 2
    assert "units 'm' are not a carbon density" in one_line_error(capsys.readouterr().err)


def _stock_per_ha(out) -> float:
    s = json.loads((out / rs.SUMMARY.name).read_text(encoding="utf-8"))
    return s["stock_mgc"] / s["area_ha"]


def test_stated_units_are_converted(forest, tmp_path):
    # 5 kg C/m² × 10 000 m²/ha ÷ 1000 kg/Mg = 50 Mg C/ha for above + below, the table's soil
    # 115 and dead 2.9 (inner_mongolia_30cm forest) for the rest: 167.9 Mg C/ha
    dens = _tif(tmp_path / "d.tif", np.full((10, 10), 5.0), "float32", nodata=-1)
    out = tmp_path / "c"
    assert main(["carbon", str(forest), "--density-raster", str(dens), "--density-raster-units", "kg C/m2",
                 "--out", str(out), "-q"]) == 0
    assert _stock_per_ha(out) == pytest.approx(50 + 115 + 2.9, rel=1e-9)
    assert json.loads((out / rs.SUMMARY.name).read_text())["density_raster"]["units"] == "kg C/m2"


def test_tagged_raster_is_accepted_as_density_model_writes_it(forest, tmp_path):
    dens = _tif(tmp_path / "d.tif", np.full((10, 10), 40.0), "float32", nodata=-1,
                tags={"POOLS": "above,below", "UNITS": "Mg C/ha"})
    out = tmp_path / "c"
    assert main(["carbon", str(forest), "--density-raster", str(dens), "--out", str(out), "-q"]) == 0
    assert _stock_per_ha(out) == pytest.approx(40 + 115 + 2.9, rel=1e-9)  # 157.9 Mg C/ha


def test_density_raster_value_above_the_bound(forest, tmp_path, capsys):
    vals = np.full((10, 10), 40.0)
    vals[3, 4] = vals[7, 1] = 1e308  # finite in float64, inf once float32: both refused
    dens = _tif(tmp_path / "d.tif", vals, "float64", nodata=-1, tags={"POOLS": "above,below", "UNITS": "Mg C/ha"})
    out = tmp_path / "c"
    assert main(["carbon", str(forest), "--density-raster", str(dens), "--out", str(out), "-q"]) == 2
    assert one_line_error(capsys.readouterr().err) == (
        f"sinkplan carbon: error: {dens}: 2 px in rows 0–9, columns 0–9 hold more than 10,000 Mg C/ha (largest "
        "1e+308), more than any ecosystem stores; check the raster's units (--density-raster-units) or its nodata value")
    assert not out.exists()


def test_density_units_factors():
    # kg C/m² → Mg C/ha: × 10 000 m²/ha ÷ 1 000 kg/Mg = × 10; g C/m² → × 0.01
    assert density_units_factor("Mg C/ha") == density_units_factor("t C ha-1") == 1.0
    assert density_units_factor("kg C/m²") == density_units_factor("kg C m-2") == 10.0
    assert density_units_factor("g C/m2") == 0.01
    assert density_units_factor("m") is None and density_units_factor("t/ha") is None  # biomass or carbon? refused


# ------------------------------------------------------------------ options


def test_max_cells_zero_and_one_get_the_same_message(forest, tmp_path, capsys):
    lines = []
    for n in ("0", "1", "1023"):
        assert main(["carbon", str(forest), "--max-cells", n, "--out", str(tmp_path / "c"), "-q"]) == 2
        lines.append(one_line_error(capsys.readouterr().err))
    assert lines == [f"sinkplan carbon: error: --max-cells {n}: a block needs at least 1024 cells; give 1024 or more "
                     "(default 4194304)" for n in ("0", "1", "1023")]
    assert main(["carbon", str(forest), "--max-cells", "1024", "--out", str(tmp_path / "c"), "-q"]) == 0


@pytest.mark.parametrize("args, message", [
    (["--seed", "-1", "--uncertainty", "50"], "--seed -1: give a whole number from 0 to 4294967295"),
    (["--seed", str(2**32), "--uncertainty", "50"], f"--seed {2**32}: give a whole number from 0 to 4294967295"),
    (["--workers", "-1"], "--workers -1: give 0 (one process, no Dask) or a number of local worker processes"),
])
def test_out_of_range_options(forest, tmp_path, capsys, args, message):
    out = tmp_path / "c"
    assert main(["carbon", str(forest), *args, "--out", str(out), "-q"]) == 2
    assert one_line_error(capsys.readouterr().err) == f"sinkplan carbon: error: {message}"
    assert not out.exists()


def test_check_options_bounds():
    check_options(argparse.Namespace(seed=0, workers=0, max_cells=1024, scale=1.0))
    check_options(argparse.Namespace(seed=MAX_SEED, land_area_ha=[1.0, 2.0]))
    for bad, flag in ((math.inf, "--land-area-ha inf"), (math.nan, "--land-area-ha nan")):
        with pytest.raises(ConfigError, match=f"^{flag}: give a finite number$"):
            check_options(argparse.Namespace(land_area_ha=[1.0, bad]))


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_unreachable_scheduler_fails_at_once(forest, tmp_path, capsys):
    port = _free_port()  # nothing listens there once the socket is closed
    out = tmp_path / "c"
    assert main(["carbon", str(forest), "--scheduler", f"tcp://127.0.0.1:{port}", "--out", str(out), "-q"]) == 2
    assert one_line_error(capsys.readouterr().err) == (
        f"sinkplan carbon: error: Dask scheduler tcp://127.0.0.1:{port}: cannot connect (connection refused: nothing "
        "listens there); start it (dask scheduler) or fix --scheduler")
    assert not out.exists()
    with pytest.raises(ClusterError, match="give an address like tcp://host:8786"):
        check_scheduler("http://127.0.0.1:8786")
    with pytest.raises(ClusterError, match="give host and port"):
        check_scheduler("tcp://127.0.0.1")
    with pytest.raises(ClusterError, match="unknown host 'no-such-host.invalid'"):
        check_scheduler("tcp://no-such-host.invalid:8786")
    with socket.socket() as srv:  # something listening: accepted
        srv.bind(("127.0.0.1", 0))
        srv.listen()
        check_scheduler(f"127.0.0.1:{srv.getsockname()[1]}")

"""Warnings as classes an API user can filter or escalate; library messages name parameters and the
command line names options (one table: sinkplan.params)."""

from __future__ import annotations

import ast
import re
import warnings
from pathlib import Path

import numpy as np
import pytest
from affine import Affine

from sinkplan.layers.errors import InputError
from sinkplan.layers.warnings import (
    FewDrawsWarning,
    OverlappingZonesWarning,
    PartlyMappedZoneWarning,
    SinkplanWarning,
)
from sinkplan.params import OPTIONS, cli_text, option
from sinks_util import run_cli, write_polys, write_tif

ROOT = Path(__file__).resolve().parents[1]
T = Affine(0.001, 0, 110, 0, -0.001, 42)


@pytest.fixture(scope="module")
def half_mapped(tmp_path_factory):
    """A 20 × 20 raster of grassland (code 4) and zone A half on it, half beyond its east edge."""
    d = tmp_path_factory.mktemp("warn")
    lc = write_tif(d / "lc.tif", np.full((20, 20), 4, dtype="uint8"), transform=T)
    zones = write_polys(d / "z.gpkg", [(110.01, 41.99, 110.03, 42.0), (110.0, 41.98, 110.01, 41.99)], name=["A", "B"])
    return lc, zones


def test_partly_mapped_zone_is_a_warning_class_that_can_be_escalated(half_mapped):
    from sinkplan.sinks.api import carbon_stocks

    lc, zones = half_mapped
    with pytest.warns(PartlyMappedZoneWarning, match=r"maps less than 99\.5 % of 1 zone\(s\).*A: 50\.0 %") as seen:
        carbon_stocks(lc, zones=zones, zone_field="name")
    w = seen[0].message
    assert isinstance(w, SinkplanWarning) and isinstance(w, UserWarning) and w.logger == "sinkplan.sinks.mapped"
    assert seen[0].filename == __file__  # located at the user's call, not inside sinkplan
    with warnings.catch_warnings():
        warnings.simplefilter("error", PartlyMappedZoneWarning)
        with pytest.raises(PartlyMappedZoneWarning):
            carbon_stocks(lc, zones=zones, zone_field="name")
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # everything else escalated too: only the ignored class passes
        warnings.simplefilter("ignore", PartlyMappedZoneWarning)
        carbon_stocks(lc, zones=zones, zone_field="name")


def test_few_draws_warning_and_its_parameter_name(half_mapped):
    from sinkplan.sinks.api import carbon_stocks

    lc, _ = half_mapped
    with pytest.warns(FewDrawsWarning, match="40 Monte Carlo draws"):
        carbon_stocks(lc, densities="inner_mongolia_30cm", uncertainty=40, seed=1)
    with warnings.catch_warnings():
        warnings.simplefilter("error", FewDrawsWarning)
        with pytest.raises(FewDrawsWarning):
            carbon_stocks(lc, uncertainty=40, seed=1)
    # the library names its parameter, the command line its option
    with pytest.raises(InputError, match=r"^uncertainty 10: a 95 % percentile interval") as err:
        carbon_stocks(lc, uncertainty=10)
    assert err.value.params == ("uncertainty",)
    assert cli_text(str(err.value), err.value.params).startswith("--uncertainty 10: a 95 %")


def test_overlapping_zones_warning():
    import geopandas as gpd
    from pyproj import CRS
    from shapely.geometry import box

    from sinkplan.layers.grid import Grid
    from sinkplan.layers.zones import ZoneRasterizer

    grid = Grid(CRS.from_epsg(4326), Affine(0.01, 0, 110, 0, -0.01, 42), 40, 20)
    gdf = gpd.GeoDataFrame({"name": ["西", "重叠"]}, geometry=[box(110.0, 41.8, 110.2, 42.0), box(110.15, 41.8, 110.2, 42.0)],
                           crs="EPSG:4326")
    with pytest.warns(OverlappingZonesWarning, match="zones overlap: '西' and '重叠'"):
        ZoneRasterizer(gdf, grid, field="name", overlap="warn")
    with warnings.catch_warnings():
        warnings.simplefilter("error", OverlappingZonesWarning)
        with pytest.raises(OverlappingZonesWarning):
            ZoneRasterizer(gdf, grid, field="name", overlap="warn")


def test_cli_shows_warnings_as_log_lines_with_options(tmp_path, half_mapped, capsys):
    lc, zones = half_mapped
    code, err = run_cli(["coverage", str(lc), "--zones", str(zones), "--zone-field", "name", "--trees-only",
                         "--land-area-ha", "B=-1", "--out", str(tmp_path / "bad")], capsys)
    assert code == 2 and "error: --land-area-ha: land area of B must be > 0 ha, got -1.0" in err, err
    code, err = run_cli(["carbon", str(lc), "--zones", str(zones), "--zone-field", "name", "--uncertainty", "40",
                         "--seed", "1", "--no-raster", "--out", str(tmp_path / "ok")], capsys)
    assert code == 0, err
    lines = [ln for ln in err.splitlines() if ln.startswith("WARNING")]
    # zone A: 0.02° wide, its western 0.01° on the raster: 50 % mapped; B whole
    assert any(re.fullmatch(r"WARNING sinkplan\.sinks\.mapped: carbon of lc\.tif: the land-cover raster maps less than "
                            r"99\.5 % of 1 zone\(s\), whose figures cover the mapped part only: A: 50\.0 % \([\d.]+ of "
                            r"[\d.]+ ha\)", ln) for ln in lines), lines
    assert "WARNING sinkplan.sinks.uncertainty: 40 Monte Carlo draws: percentiles from fewer than 200 draws move " \
           "from seed to seed; use 200 or more (1000 for figures you report)" in lines
    # each run shows them (not once per process)
    code, err2 = run_cli(["carbon", str(lc), "--zones", str(zones), "--zone-field", "name", "--uncertainty", "40",
                          "--seed", "1", "--no-raster", "--out", str(tmp_path / "ok2")], capsys)
    assert [ln for ln in err2.splitlines() if ln.startswith("WARNING")] == lines


def test_the_api_message_names_the_parameter(half_mapped):
    from sinkplan.sinks.api import forest_coverage

    lc, zones = half_mapped
    with pytest.raises(InputError, match=r"^land_area_ha: land area of B must be > 0 ha") as err:
        forest_coverage({None: lc}, zones=zones, zone_field="name", trees_only=True, land_area_ha={"B": -1})
    assert err.value.params == ("land_area_ha",) and "--" not in str(err.value)


def test_option_table():
    assert option("land_area_ha") == "--land-area-ha" and option("folder") == "--out"
    assert all(v.startswith("--") or v[0].isupper() for v in OPTIONS.values())
    # a parameter is replaced where first named, whole, never inside a path, key or another name
    assert cli_text("zones: /data/zones/x.gpkg; exclusions.zones.path", ("zones",)) == \
        "--zones: /data/zones/x.gpkg; exclusions.zones.path"
    assert cli_text("group_by 'league' needs zones", ("group_by", "zones")) == "--group-by 'league' needs --zones"


#: Options of external tools that messages may name, by file.
ALLOWED = {
    "layers/files.py": ("--notest",),  # convmv's option, in the rename hint
}
LOG_METHODS = {"debug", "info", "warning", "error", "exception", "critical", "log"}
FLAG = re.compile(r"(?<![\w-])--[a-z][a-z0-9-]+")


def _message_flags(path: Path) -> list[tuple[int, str]]:
    """Options (--x) inside the strings of raise/return …Error(...), logger.x(...) and warn(...) calls."""
    tree = ast.parse(path.read_text("utf-8"))
    found = []
    for node in ast.walk(tree):
        call = None
        if isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call):
            call = node.exc
        elif isinstance(node, ast.Return) and isinstance(node.value, ast.Call) and \
                getattr(node.value.func, "id", "").endswith("Error"):
            call = node.value
        elif isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in LOG_METHODS \
                and getattr(node.func.value, "id", "") == "logger":
            call = node
        elif isinstance(node, ast.Call) and getattr(node.func, "id", "") in ("warn", "_warn"):
            call = node
        if call is None:
            continue
        for a in call.args:
            for n in ast.walk(a):
                if isinstance(n, ast.Constant) and isinstance(n.value, str):
                    found += [(n.lineno, m) for m in FLAG.findall(n.value)]
    return found


def test_library_messages_name_parameters_not_options():
    bad = []
    for folder in ("layers", "sinks", "siting", "seeds"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            rel = path.relative_to(ROOT).as_posix()
            allowed = ALLOWED.get(rel, ())
            for line, flag in _message_flags(path):
                if allowed is None or flag in allowed:
                    continue
                bad.append(f"{rel}:{line}: {flag}")
    assert bad == []


def test_no_import_cycle_between_the_api_modules():
    """sinks.change_api, coverage_api, series_api and arrays import nothing from sinks.api (its lazy
    re-exports are for start-up only): importing each alone in a fresh interpreter pulls in no sinks.api."""
    import subprocess
    import sys

    for mod in ("change_api", "coverage_api", "series_api", "arrays"):
        code = (f"import sys, sinkplan.sinks.{mod} as m; import sinkplan.sinks.densities\n"
                "print('sinkplan.sinks.api' in sys.modules)")
        done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        assert done.returncode == 0 and done.stdout.strip() == "False", (mod, done.stdout, done.stderr)
        # nor inside a function (the cycle sinks.api ↔ change_api was a call-time import)
        src = (ROOT / "sinks" / f"{mod}.py").read_text("utf-8")
        assert not re.search(r"^\s*from sinkplan\.sinks\.api import", src, flags=re.M), mod


def test_threads_that_leave_ignore_everything_do_not_silence_the_callers_warnings():
    """rasterio's catch_warnings() in two threads can leave "ignore" in force after a pass (the
    partly-mapped-zones warning of a carbon run was lost 1 run in 3); threaded_imap puts the
    warning state back as it found it. Here each block does what the race leaves behind."""
    import warnings

    from sinkplan.layers.parallel import threaded_imap
    from sinkplan.layers.warnings import PartlyMappedZoneWarning, state_kept, warn

    def block(i):
        warnings.simplefilter("ignore")  # a filter list with "ignore everything" first
        warnings.showwarning = lambda *a, **k: None  # and a display that drops everything
        return i * i

    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        before = warnings.filters[:]
        assert list(threaded_imap(block, list(range(6)), 2)) == [0, 1, 4, 9, 16, 25]  # i², in order
        assert warnings.filters == before
        warn(PartlyMappedZoneWarning, "zone a: 85.7 %", logger=__name__)
        with state_kept():
            warnings.simplefilter("ignore")
        warn(PartlyMappedZoneWarning, "zone b: 84.5 %", logger=__name__)
    assert [str(w.message) for w in seen] == ["zone a: 85.7 %", "zone b: 84.5 %"]

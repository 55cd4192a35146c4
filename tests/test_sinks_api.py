"""The high-level API (sinks.api) returns exactly what the commands write.

Each test runs a command on the demo region (scale 0.1, built once) and the matching API
call on the same inputs, and compares the CSV text of every table and the summary.json
content (the commands only write what the API returns).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import rasterio
from sinks_util import run_cli

from sinkplan.layers import resultspec as rs
from sinkplan.layers.errors import InputError
from sinkplan.results import write_json_atomic
from sinkplan.sinks.api import (
    carbon_stocks,
    estimate_areas,
    forest_coverage,
    land_change,
    restoration_effect,
)
from sinkplan.sinks.strata import OUTSIDE_ZONES, cache_dir, prepare_strata


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    from sinkplan.seeds.demo import build_demo

    return build_demo(tmp_path_factory.mktemp("api") / "inputs", seed=2025, scale=0.1)


#: Cells per block of both the command and the API call: sums are identical for the same blocks
#: (a different tiling moves areas in the last bits).
MAX = 4096


def _csv_text(df: pd.DataFrame) -> str:
    return df.to_csv(index=False, lineterminator="\n")


def assert_same_table(df: pd.DataFrame, path: Path) -> None:
    """The API table is the file, character for character (the file has a BOM for Excel)."""
    assert _csv_text(df) == path.read_text(encoding="utf-8-sig")


def assert_same_summary(summary: dict, folder: Path, tmp_path: Path) -> None:
    """The file is the API's summary behind the spec's header (schema_version, kind)."""
    written = json.loads((folder / rs.SUMMARY.name).read_text("utf-8"))
    mine = write_json_atomic(tmp_path / "api_summary.json", {**rs.summary_header(written["kind"]), **summary})
    assert list(written)[:2] == ["schema_version", "kind"] and written["schema_version"] == rs.SCHEMA_VERSION
    assert json.loads(mine.read_text("utf-8")) == written


def test_carbon_stocks_is_what_the_cli_writes(region, tmp_path, capsys):
    out = tmp_path / "carbon"
    args = ["carbon", str(region.landcover_2020), "--zones", str(region.banners), "--zone-field", region.zone_field,
            "--redline", str(region.redline), "--uncertainty", "50", "--seed", "7", "--max-cells", str(MAX), "--out", str(out)]
    code, err = run_cli(args, capsys)
    assert code == 0, err
    res = carbon_stocks(region.landcover_2020, zones=region.banners, zone_field=region.zone_field,
                        redline=region.redline, uncertainty=50, seed=7, max_cells=MAX)
    assert_same_table(res.by_zone, out / rs.STOCKS_BY_ZONE.name)
    assert_same_table(res.by_class, out / "stocks_by_class.csv")
    assert_same_summary(res.summary, out, tmp_path)
    # the account and the draws behind the tables: banners + outside add up to the whole
    assert res.account.stock_mgc.sum() == pytest.approx(res.summary["stock_mgc"], rel=1e-12)
    assert res.monte_carlo.total.shape == (50,)
    assert res.strata.names[0] == OUTSIDE_ZONES and res.strata.sides == 2


def test_carbon_stocks_raster_blocks_are_the_cli_raster(region, tmp_path, capsys):
    out = tmp_path / "carbon"
    assert run_cli(["carbon", str(region.landcover_2020), "--max-cells", "2000", "--out", str(out)], capsys)[0] == 0
    with rasterio.open(region.landcover_2020) as src:
        full = np.full((src.height, src.width), np.nan, dtype=np.float32)

    def put(block, window):
        full[window.row_off:window.row_off + window.height, window.col_off:window.col_off + window.width] = block

    res = carbon_stocks(region.landcover_2020, on_raster=put, max_cells=2000)
    with rasterio.open(out / "carbon_density.tif") as src:
        np.testing.assert_array_equal(src.read(1), full)
    assert_same_table(res.by_zone, out / rs.STOCKS_BY_ZONE.name)


def test_prepared_strata_are_shared_and_give_the_same_figures(region, tmp_path):
    from sinkplan.layers.landcover import open_landcover

    lc = open_landcover(region.landcover_2020, "clcd")
    with cache_dir() as folder:
        strata = prepare_strata(lc.grid, zones=region.banners, zone_field=region.zone_field, folder=folder)
        shared = carbon_stocks(lc, strata=strata)
        cov = forest_coverage({2020: lc}, strata=strata)
    direct = carbon_stocks(region.landcover_2020, zones=region.banners, zone_field=region.zone_field)
    pd.testing.assert_frame_equal(shared.by_zone, direct.by_zone)
    assert set(cov.by_zone.zone) <= set(strata.names)
    with pytest.raises(ValueError, match="either prepared strata or zone"):
        carbon_stocks(lc, strata=strata, zones=region.banners)


def test_forest_coverage_is_what_the_cli_writes(region, tmp_path, capsys):
    out = tmp_path / "coverage"
    code, err = run_cli(["coverage", f"2015={region.landcover_2015}", f"2020={region.landcover_2020}", "--zones",
                         str(region.banners), "--zone-field", region.zone_field, "--count-shrub", "--max-cells", str(MAX), "--out", str(out)], capsys)
    assert code == 0, err
    res = forest_coverage({2015: region.landcover_2015, 2020: region.landcover_2020}, zones=region.banners,
                          zone_field=region.zone_field, count_shrub=True, max_cells=MAX)
    assert_same_table(res.by_zone, out / "coverage_by_zone.csv")
    assert_same_table(res.totals, out / "coverage_totals.csv")
    assert_same_table(res.trend_by_zone, out / "trend_by_zone.csv")
    assert_same_table(res.volume_by_zone, out / "volume_by_zone.csv")
    assert_same_summary(res.summary, out, tmp_path)


def test_forest_coverage_user_target_and_land_area(region, tmp_path, capsys):
    out = tmp_path / "coverage"
    # a land area that holds the map's forest (5000 ha was below its 532,442 ha of forest: 10,649 %,
    # refused since a given land area may not hold less than the forest counted)
    code, err = run_cli(["coverage", str(region.landcover_2020), "--target", "30%", "--land-area-ha", "5000000",
                         "--max-cells", str(MAX), "--out", str(out)], capsys)
    assert code == 0, err
    res = forest_coverage({None: region.landcover_2020}, target=0.30, land_area_ha=5_000_000.0, max_cells=MAX)
    assert res.summary["target"]["source"] == "user" and res.totals.land_area_ha.tolist() == [5_000_000.0]
    assert_same_table(res.totals, out / "coverage_totals.csv")
    assert_same_summary(res.summary, out, tmp_path)
    assert res.trend_by_zone.empty
    with pytest.raises(InputError, match="must lie in"):
        forest_coverage({2020: region.landcover_2020}, target=1.5)
    with pytest.raises(InputError, match="is not in the zone layer"):
        forest_coverage({2020: region.landcover_2020}, land_area_ha={"nowhere": 10.0})


def test_land_change_is_what_the_cli_writes(region, tmp_path, capsys):
    out = tmp_path / "change"
    code, err = run_cli(["change", f"2015={region.landcover_2015}", f"2020={region.landcover_2020}", "--zones",
                         str(region.banners), "--zone-field", region.zone_field, "--redline", str(region.redline),
                         "--no-raster", "--max-cells", str(MAX), "--out", str(out)], capsys)
    assert code == 0, err
    res = land_change(region.landcover_2015, region.landcover_2020, years=(2015, 2020), zones=region.banners,
                      zone_field=region.zone_field, redline=region.redline, max_cells=MAX)
    assert_same_table(res.by_zone, out / "change_by_zone.csv")
    assert_same_table(res.transitions_by_code, out / "transitions_by_code.csv")
    assert_same_table(res.transitions_by_group, out / "transitions_by_group.csv")
    assert_same_table(res.transition_matrix.reset_index(), out / "transition_matrix_group_ha.csv")
    assert_same_summary(res.summary, out, tmp_path)
    with pytest.raises(InputError, match="must be later"):
        land_change(region.landcover_2015, region.landcover_2020, years=(2020, 2015))


def test_restoration_effect_is_what_the_cli_writes(region, tmp_path, capsys):
    out = tmp_path / "restoration"
    code, err = run_cli(["change", f"2015={region.landcover_2015}", f"2020={region.landcover_2020}", "--zones",
                         str(region.restoration), "--zone-field", "project", "--control-ring-km", "2", "--no-raster",
                         "--max-cells", str(MAX), "--out", str(out)], capsys)
    assert code == 0, err
    res = restoration_effect(region.landcover_2015, region.landcover_2020, projects=region.restoration,
                             project_field="project", control_ring_km=2.0, years=(2015, 2020),
                             max_cells=MAX)
    assert_same_table(res.effect, out / "restoration_effect.csv")
    assert_same_table(res.transitions_by_code, out / "transitions_by_code.csv")
    assert_same_table(res.transitions_by_group, out / "transitions_by_group.csv")
    assert_same_summary(res.summary, out, tmp_path)
    with pytest.raises(InputError, match="control_ring_km"):
        restoration_effect(region.landcover_2015, region.landcover_2020, projects=region.restoration)


def test_estimate_areas_is_what_the_cli_writes(region, tmp_path, capsys):
    out = tmp_path / "ae"
    code, err = run_cli(["area-estimate", str(region.landcover_2020), "--reference", str(region.reference_points),
                         "--ref-field", "ref_code", "--zones", str(region.leagues), "--zone-field", region.zone_field,
                         "--max-cells", str(MAX), "--out", str(out)], capsys)
    assert code == 0, err
    res = estimate_areas(region.landcover_2020, region.reference_points, ref_field="ref_code", zones=region.leagues,
                         zone_field=region.zone_field, max_cells=MAX)
    assert list(res.sheets()) == ["classes", "error_matrix_counts", "error_matrix_proportions", "zones"]
    for name, df in res.sheets().items():
        assert_same_table(df, out / f"{name}.csv")
    assert_same_summary(res.summary, out, tmp_path)
    with pytest.raises(InputError, match="name groups from"):
        estimate_areas(region.landcover_2020, region.reference_points, ref_field="ref_code", coverage_groups=("trees",))


def test_api_functions_are_keyword_only_typed_and_documented():
    import inspect

    from sinkplan.sinks import api

    for name in ("carbon_stocks", "forest_coverage", "land_change", "restoration_effect", "estimate_areas"):
        func = getattr(api, name)
        sig = inspect.signature(func)
        positional = [p.name for p in sig.parameters.values() if p.kind is not inspect.Parameter.KEYWORD_ONLY]
        assert len(positional) <= 2, (name, positional)
        assert all(p.annotation is not inspect.Parameter.empty for p in sig.parameters.values()), name
        assert sig.return_annotation is not inspect.Signature.empty
        doc = inspect.getdoc(func)
        assert "Parameters" in doc and "Returns" in doc and "Raises" in doc, name

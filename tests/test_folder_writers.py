"""The library writers write what the commands write, and ``sinkplan map`` draws their folders.

For every result kind the command runs on the demo region (scale 0.1, built once) and the
API call on the same inputs goes through the kind's library writer into a second folder;
both folders must hold the same files, byte for byte, except what carries a timestamp or a
path. How each is normalised (:func:`assert_same_folder`):

- timestamps: the manifest's ``started``/``finished`` are dropped (with ``argv``, ``execution``
  and ``timings_s``: how the run was made, which only the command records); GeoPackages
  (SQLite with a last-change time) are compared by layer, columns, attributes, CRS and
  geometry WKB; workbooks (docProps/core.xml holds the save time) by each cell's value and
  type; skops zips (stamped members named after object ids) by the loaded estimators, and
  model.json without the zip's SHA-256; the manifest's size and SHA-256 of those files go too;
- paths: in every text file (JSON, CSV, text) the folder's own path, absolute and as given,
  becomes ``<folder>`` before the bytes are compared; input paths are the same files in both
  runs and stay as they are, so a writer that records another input is caught;
- GeoTIFFs carry neither (GDAL writes no TIFFTAG_DATETIME unless asked): their profile, tags
  (dataset, IMAGE_STRUCTURE and per band), colour tables, overviews and pixels are compared
  first, for a readable failure, then their bytes.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path

import numpy as np
import pandas as pd
import pyogrio
import pytest

from sinks_util import run_cli

from sinkplan.layers import resultspec as rs
from sinkplan.layers.resultfolder import audit_folder

MAX = 4096  # cells per block of both runs: the same blocks give the same sums to the last bit


@pytest.fixture(scope="module")
def region(tmp_path_factory):
    from sinkplan.seeds.demo import build_demo

    return build_demo(tmp_path_factory.mktemp("writers") / "inputs", seed=2025, scale=0.1)


def _gpkg_content(path: Path) -> list:
    out = []
    for name, _ in pyogrio.list_layers(path):
        df = pyogrio.read_dataframe(path, layer=name)
        out.append((name, list(df.columns), df.crs.to_wkt() if df.crs else None, df.drop(columns="geometry").to_json(),
                    list(df.geometry.to_wkb())))
    return out


def _tif_content(path: Path) -> tuple:
    """Profile (CRS as WKT), dataset and IMAGE_STRUCTURE tags, and per band its tags,
    description, units, colour table, overview factors and pixels (as bytes: NaN equals NaN)."""
    import rasterio

    with rasterio.open(path) as src:
        profile = {k: (v.to_wkt() if k == "crs" and v is not None else tuple(v) if k == "transform" else v)
                   for k, v in src.profile.items()}
        if isinstance(profile.get("nodata"), float) and np.isnan(profile["nodata"]):
            profile["nodata"] = "nan"  # NaN != NaN: compared by name
        bands = []
        for b in src.indexes:
            try:
                cmap = src.colormap(b)
            except ValueError:  # no colour table
                cmap = None
            bands.append((src.tags(b), src.descriptions[b - 1], src.units[b - 1], cmap, src.overviews(b),
                          src.read(b).tobytes()))
        return profile, src.tags(), src.tags(ns="IMAGE_STRUCTURE"), bands


#: Files compared as text with the folder's own path normalised.
TEXT = (".json", ".csv", ".txt", ".md")


def _text(path: Path, folder: Path) -> str:
    text = path.read_bytes().decode("utf-8")
    for p in sorted({str(folder.resolve()), str(folder), folder.resolve().as_posix()}, key=len, reverse=True):
        text = text.replace(p, "<folder>")
    return text


def _xlsx_content(path: Path) -> dict:
    import openpyxl

    wb = openpyxl.load_workbook(path)
    return {ws.title: [[(c.value, c.data_type) for c in row] for row in ws.iter_rows()] for ws in wb.worksheets}


def _state(obj):
    """A comparable form of a fitted estimator: numbers and arrays by value (a structured array
    field by field: its padding bytes are whatever memory held)."""
    if isinstance(obj, np.ndarray):
        if obj.dtype.names:
            return tuple((n, obj[n].tolist()) for n in obj.dtype.names)
        return (str(obj.dtype), obj.tolist())
    if isinstance(obj, dict):
        return tuple(sorted((str(k), _state(v)) for k, v in obj.items()))
    if isinstance(obj, (list, tuple)):
        return tuple(_state(v) for v in obj)
    if hasattr(obj, "__getstate__") and type(obj).__module__.startswith("sklearn"):
        return (type(obj).__qualname__, _state(obj.__getstate__()))
    return obj


def _model_content(path: Path):
    """The fitted model itself: skops names its zip members after object ids and stamps them,
    so two saves of one model differ in bytes; the loaded estimators compare equal."""
    from sinkplan.sinks.learning.modelio import load_model

    return _state(load_model(path).model)


#: Manifest keys that differ between two runs of the same computation: when and how it ran.
VOLATILE = ("started", "finished", "argv", "execution", "timings_s")
#: Files whose bytes hold a timestamp; compared by content.
BY_CONTENT = (".gpkg", ".xlsx", ".skops")


def assert_same_folder(cmd: Path, lib: Path) -> None:
    names = sorted(p.relative_to(cmd).as_posix() for p in cmd.rglob("*") if p.is_file())
    assert names == sorted(p.relative_to(lib).as_posix() for p in lib.rglob("*") if p.is_file())
    for name in names:
        a, b = cmd / name, lib / name
        base = name.rsplit("/", 1)[-1]  # a folder's parts (site --tech pv,wind) hold manifests of their own
        if base == rs.MANIFEST.name:
            ma, mb = json.loads(_text(a, cmd)), json.loads(_text(b, lib))
            for m in (ma, mb):
                for k in VOLATILE:
                    m.pop(k, None)
                for o in m["outputs"]:  # files compared by content (or holding a time) lose size and hash
                    if o["path"].endswith(BY_CONTENT) or o["path"].rsplit("/", 1)[-1] in (rs.MODEL_JSON.name,
                                                                                         rs.MANIFEST.name):
                        o.pop("sha256")
                        o.pop("bytes")
            assert ma == mb, name
        elif base == rs.MODEL_JSON.name:  # the skops file's SHA-256 (a zip with timestamps) differs
            ja, jb = json.loads(_text(a, cmd)), json.loads(_text(b, lib))
            ja.pop("sha256"), jb.pop("sha256")
            assert ja == jb, name
        elif name.endswith(".gpkg"):
            assert _gpkg_content(a) == _gpkg_content(b), name
        elif name.endswith(".xlsx"):
            assert _xlsx_content(a) == _xlsx_content(b), name
        elif name.endswith(".skops"):
            assert _model_content(a) == _model_content(b), name
        elif name.endswith(TEXT):
            assert _text(a, cmd) == _text(b, lib), name
        elif name.endswith(".tif"):
            assert _tif_content(a) == _tif_content(b), name
            assert a.read_bytes() == b.read_bytes(), name
        else:
            assert a.read_bytes() == b.read_bytes(), name
    assert audit_folder(lib) == []


def _map_renders(folder: Path, tmp_path: Path, capsys, *layer_names: str) -> str:
    html = tmp_path / f"{folder.name}.html"
    code, err = run_cli(["map", str(folder), "--out", str(html), "--lang", "en"], capsys)
    assert code == 0, err
    text = html.read_text("utf-8")
    for name in layer_names:
        assert name in text, name
    return text


def test_carbon_writer_is_the_command(region, tmp_path, capsys):
    from sinkplan.sinks.api import carbon_stocks
    from sinkplan.sinks.folders import write_carbon

    cmd = tmp_path / "cmd" / "carbon"
    code, err = run_cli(["carbon", str(region.landcover_2020), "--zones", str(region.banners), "--zone-field",
                         region.zone_field, "--redline", str(region.redline), "--uncertainty", "50", "--seed", "7",
                         "--max-cells", str(MAX), "--out", str(cmd)], capsys)
    assert code == 0, err
    res = carbon_stocks(region.landcover_2020, zones=region.banners, zone_field=region.zone_field,
                        redline=region.redline, uncertainty=50, seed=7, max_cells=MAX)
    lib = write_carbon(res, tmp_path / "lib" / "carbon")
    assert_same_folder(cmd, lib)
    # the map of the library's folder alone: density raster, zones with their stocks, redline, land cover
    _map_renders(lib, tmp_path, capsys, "Carbon density", "Zone carbon stock density", "Ecological protection redline",
                 "Land cover")


def test_coverage_writer_is_the_command(region, tmp_path, capsys):
    from sinkplan.sinks.api import forest_coverage
    from sinkplan.sinks.folders import write_coverage

    cmd = tmp_path / "cmd" / "coverage"
    code, err = run_cli(["coverage", f"2015={region.landcover_2015}", f"2020={region.landcover_2020}", "--zones",
                         str(region.banners), "--zone-field", region.zone_field, "--max-cells", str(MAX),
                         "--out", str(cmd)], capsys)
    assert code == 0, err
    res = forest_coverage({2015: region.landcover_2015, 2020: region.landcover_2020}, zones=region.banners,
                          zone_field=region.zone_field, max_cells=MAX)
    lib = write_coverage(res, tmp_path / "lib" / "coverage")
    assert_same_folder(cmd, lib)
    targets = json.loads((lib / rs.TARGETS.name).read_text("utf-8"))
    assert [t["key"] for t in targets["targets"]] == ["forest_coverage", "forest_stock_volume"]
    assert targets["targets"][0]["value"] == 0.235 and targets["file"] is None  # the packaged targets
    _map_renders(lib, tmp_path, capsys, "Forest coverage 2015", "Forest coverage 2020")


def test_change_writer_is_the_command(region, tmp_path, capsys):
    from sinkplan.sinks.api import land_change
    from sinkplan.sinks.folders import write_change

    cmd = tmp_path / "cmd" / "change"
    code, err = run_cli(["change", f"2015={region.landcover_2015}", f"2020={region.landcover_2020}", "--zones",
                         str(region.banners), "--zone-field", region.zone_field, "--redline", str(region.redline),
                         "--max-cells", str(MAX), "--out", str(cmd)], capsys)
    assert code == 0, err
    res = land_change(region.landcover_2015, region.landcover_2020, years=(2015, 2020), zones=region.banners,
                      zone_field=region.zone_field, redline=region.redline, max_cells=MAX)
    lib = write_change(res, tmp_path / "lib" / "change")
    assert_same_folder(cmd, lib)
    _map_renders(lib, tmp_path, capsys, "Carbon density change", "Land-cover transitions", "Carbon change by zone")


def test_restoration_writer_is_the_command(region, tmp_path, capsys):
    from sinkplan.sinks.api import restoration_effect
    from sinkplan.sinks.folders import write_restoration

    cmd = tmp_path / "cmd" / "restoration"
    code, err = run_cli(["change", f"2015={region.landcover_2015}", f"2020={region.landcover_2020}", "--zones",
                         str(region.mines), "--zone-field", "name", "--control-ring-km", "1", "--max-cells", str(MAX),
                         "--out", str(cmd)], capsys)
    assert code == 0, err
    res = restoration_effect(region.landcover_2015, region.landcover_2020, projects=region.mines, project_field="name",
                             control_ring_km=1, years=(2015, 2020), max_cells=MAX)
    lib = write_restoration(res, tmp_path / "lib" / "restoration")
    assert_same_folder(cmd, lib)
    assert json.loads((lib / rs.SUMMARY.name).read_text("utf-8"))["kind"] == "restoration"
    _map_renders(lib, tmp_path, capsys, "Carbon density change")


def test_site_writer_is_the_command(region, tmp_path, capsys):
    from sinkplan.siting.folders import screen_site, write_site
    from sinkplan.siting.prepare import ScreenInputs, prepare
    from sinkplan.siting.profile import load_profile, with_overrides

    cmd = tmp_path / "cmd" / "site"
    code, err = run_cli(["site", "--landcover", str(region.landcover_2020), "--dem", str(region.dem), "--redline",
                         str(region.redline), "--farmland", str(region.farmland), "--border", str(region.border),
                         "--deserts", str(region.deserts), "--mines", str(region.mines), "--grid-lines",
                         str(region.grid_lines), str(region.substations), "--zones", str(region.banners),
                         "--zone-field", region.zone_field, "--tech", "pv", "--sweep", "pv.max_slope_deg=3,5",
                         "--max-cells", str(MAX), "--out", str(cmd)], capsys)
    assert code == 0, err
    inputs = ScreenInputs(landcover=region.landcover_2020, dem=region.dem, redline=region.redline,
                          farmland=region.farmland, border=region.border, deserts=region.deserts, mines=region.mines,
                          grid_lines=(region.grid_lines, region.substations), zones=region.banners,
                          zone_field=region.zone_field)
    with tempfile.TemporaryDirectory(dir=tmp_path) as work:
        profile = load_profile("pv")
        prep = prepare(inputs, profile, workdir=work)
        sweeps = [("pv.max_slope_deg", v, prepare(inputs, with_overrides(profile, {"pv.max_slope_deg": v}),
                                                  workdir=work, keep_rasters=False)) for v in (3, 5)]
        res = screen_site(prep, workdir=work, sweeps=sweeps, max_cells=MAX)
        lib = write_site(res, tmp_path / "lib" / "site")
    assert_same_folder(cmd, lib)
    _map_renders(lib, tmp_path, capsys, "Eligible land", "Candidate parcels (by score)", "Border belt",
                 "Transmission lines", "Substations")


def test_site_account_writer_is_the_command(region, tmp_path, capsys):
    """``site --tech pv,wind`` (one folder per technology inside, the account on top) is
    screen_techs + write_site_account; the map draws each technology's folder."""
    from sinkplan.siting.folders import screen_techs, write_site_account
    from sinkplan.siting.prepare import ScreenInputs
    from sinkplan.siting.profile import load_profile

    layers = ["--landcover", str(region.landcover_2020), "--dem", str(region.dem), "--redline", str(region.redline),
              "--farmland", str(region.farmland), "--border", str(region.border), "--deserts", str(region.deserts),
              "--mines", str(region.mines), "--grid-lines", str(region.grid_lines), str(region.substations),
              "--zones", str(region.banners), "--zone-field", region.zone_field, "--ghi", str(region.ghi),
              "--wind-speed", str(region.wind_speed)]
    cmd = tmp_path / "cmd" / "site_account"
    code, err = run_cli(["site", *layers, "--tech", "pv,wind", "--max-cells", str(MAX), "--out", str(cmd)], capsys)
    assert code == 0, err
    inputs = ScreenInputs(landcover=region.landcover_2020, dem=region.dem, redline=region.redline,
                          farmland=region.farmland, border=region.border, deserts=region.deserts, mines=region.mines,
                          grid_lines=(region.grid_lines, region.substations), zones=region.banners,
                          zone_field=region.zone_field, ghi=region.ghi, wind_speed=region.wind_speed)
    with tempfile.TemporaryDirectory(dir=tmp_path) as work:
        acc = screen_techs([(load_profile("pv"), []), (load_profile("wind"), [])], inputs, workdir=work, max_cells=MAX)
        lib = write_site_account(acc, tmp_path / "lib" / "site_account")
    assert sorted(p.name for p in lib.iterdir() if p.is_dir()) == ["pv", "wind"]
    assert_same_folder(cmd, lib)
    _map_renders(lib / "wind", tmp_path, capsys, "Eligible land", "Candidate parcels (by score)")


def test_learning_writers_are_the_commands(region, tmp_path, capsys):
    from sinkplan.sinks.learning.estimate import estimate_areas
    from sinkplan.sinks.learning.folders import (
        classify_image,
        density_model,
        sample_design,
        write_area_estimate,
        write_classify,
        write_density_model,
    )

    cmd, lib = tmp_path / "cmd", tmp_path / "lib"
    lib.mkdir()
    runs = [
        (["classify", str(region.image), "--samples", str(region.training_points), "--label-field", "label",
          "--n-estimators", "10", "--max-depth", "6", "--max-cells", str(MAX), "--out", str(cmd / "classify")],
         lambda work: write_classify(classify_image(region.image, region.training_points, "label", workdir=work,
                                                    n_estimators=10, max_depth=6, max_cells=MAX), lib / "classify")),
        (["area-estimate", str(region.landcover_2020), "--reference", str(region.reference_points), "--ref-field",
          "ref_code", "--zones", str(region.leagues), "--zone-field", region.zone_field, "--max-cells", str(MAX),
          "--out", str(cmd / "area_estimate")],
         lambda work: write_area_estimate(estimate_areas(region.landcover_2020, region.reference_points,
                                                         ref_field="ref_code", zones=region.leagues,
                                                         zone_field=region.zone_field, max_cells=MAX),
                                          lib / "area_estimate")),
        (["area-estimate", str(region.landcover_2020), "--design", "--max-cells", str(MAX), "--out", str(cmd / "design")],
         lambda work: write_area_estimate(sample_design(region.landcover_2020, max_cells=MAX), lib / "design")),
        (["density-model", "--plots", str(region.plots), "--target-field", "density_mgc_per_ha", "--covariates",
          str(region.image), str(region.dem), "--landcover", str(region.landcover_2020), "--n-estimators", "10",
          "--max-depth", "6", "--max-cells", str(MAX), "--out", str(cmd / "density_model")],
         lambda work: write_density_model(density_model(region.plots, "density_mgc_per_ha", [region.image, region.dem],
                                                        region.landcover_2020, workdir=work, n_estimators=10,
                                                        max_depth=6, max_cells=MAX), lib / "density_model")),
    ]
    for argv, write in runs:
        code, err = run_cli(argv, capsys)
        assert code == 0, err
        with tempfile.TemporaryDirectory(dir=tmp_path) as work:
            folder = write(work)
        assert_same_folder(cmd / folder.name, folder)


def test_a_changed_figure_is_caught(tmp_path):
    """The comparison is not vacuous: one changed CSV cell or summary value fails it."""
    from sinkplan.layers.resultfolder import ResultFolder

    def write(path: Path, value: float) -> Path:
        with ResultFolder(path, kind="carbon", command="carbon", parameters={}, inputs=[]) as rf:
            rf.write_csv(rs.STOCKS_BY_ZONE, pd.DataFrame({"zone": ["a"], "stock_mgc": [value]}))
            rf.write_summary({"stock_mgc": value})
        return path

    a, b = write(tmp_path / "a", 1.0), write(tmp_path / "b", 1.0 + np.finfo(float).eps)
    assert_same_folder(a, write(tmp_path / "c", 1.0))
    with pytest.raises(AssertionError):
        assert_same_folder(a, b)


def test_only_the_folders_own_path_is_normalised_and_a_pixel_is_seen(tmp_path):
    """The folder's own path in a text file is not a difference; another input path is, and
    so is one pixel of a GeoTIFF whose bytes would otherwise match in size."""
    import rasterio
    from affine import Affine

    from sinkplan.layers.resultfolder import ResultFolder

    def write(path: Path, *, landcover: str = "/data/lc.tif", pixel: float = 1.0) -> Path:
        with ResultFolder(path, kind="carbon", command="carbon", inputs=[],
                          parameters={"landcover": landcover, "out": str(path)}) as rf:
            with rasterio.open(rf.path(rs.CARBON_DENSITY), "w", driver="GTiff", width=2, height=2, count=1,
                               dtype="float32", crs="EPSG:4326", transform=Affine(0.1, 0, 110, 0, -0.1, 41)) as dst:
                dst.write(np.array([[1.0, 2.0], [3.0, pixel]], np.float32), 1)
            rf.write_summary({"stock_mgc": 1.0})
        return path

    a = write(tmp_path / "a")
    assert_same_folder(a, write(tmp_path / "b"))  # parameters.out differs by the folder's own path only
    for other in (write(tmp_path / "c", landcover="/data/lc2.tif"), write(tmp_path / "d", pixel=4.0)):
        with pytest.raises(AssertionError):
            assert_same_folder(a, other)

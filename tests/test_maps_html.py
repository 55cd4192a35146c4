"""The HTML map: offline, escaped, bounded; kinds of result folders; the map command."""

from __future__ import annotations

import json
import logging
import re

import pytest

import synthetic
from sinkplan.maps.build import build_map, write_map
from sinkplan.maps.folders import open_result
from sinkplan.maps.html import EXTERNAL_RESOURCE, leaflet_assets
from sinkplan.cli import main

XSS_ZONE = "<img src=x onerror=alert(1)>"
XSS_FIELD = "${alert(1)} `backtick` </script><script>alert(2)</script>"


def page_data(html: str) -> dict:
    m = re.search(r'<script id="sinkplan-data" type="application/json">(.*?)</script>', html, re.S)
    return json.loads(m.group(1))


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    base = tmp_path_factory.mktemp("results")
    names = [XSS_ZONE, "呼和浩特市", "${alert(1)}`x`", "</script><script>alert(3)</script>"]
    return {
        "carbon": synthetic.carbon_folder(base / "carbon", size=120, n_zones=4, names=names, extra_field=XSS_FIELD),
        "coverage": synthetic.coverage_folder(base / "coverage", names=names),
        "change": synthetic.change_folder(base / "change", size=80),
        "site": synthetic.site_folder(base / "site", size=120, names=names),
    }


def test_kinds_detected(results):
    assert {k: open_result(p).kind for k, p in results.items()} == {k: k for k in results}


def test_page_is_offline_and_self_contained(results):
    html = build_map(list(results.values()))
    assert EXTERNAL_RESOURCE.search(html) is None
    assert "<script src" not in html and "<link" not in html
    js, css = leaflet_assets()
    assert 'url("data:image/png;base64,' in css and "images/" not in css.replace("data:image", "")
    assert "sourceMappingURL" not in html
    for host in ("jsdelivr", "cdnjs", "bootstrapcdn", "jquery", "openstreetmap.org", "fontawesome", "tianditu.gov", "autonavi.com"):
        assert host not in html.lower()
    assert "default-src 'none'" in html and "img-src data:;" in html


def test_external_resource_pattern_catches_what_folium_does():
    for bad in ('<script src="https://cdn.jsdelivr.net/npm/leaflet.js">', "<link href='//x.org/a.css'>",
                "background: url(https://a.b/c.png)", '@import "https://fonts.googleapis.com/css"'):
        assert EXTERNAL_RESOURCE.search(bad), bad


def test_online_basemap_allows_only_its_tile_host(results):
    html = build_map([results["carbon"]], basemap="osm")
    assert "img-src data: https://tile.openstreetmap.org;" in html


def test_user_values_never_appear_raw(results):
    html = build_map(list(results.values()))
    for raw in ("<img src=x", "</script><script>", "${alert", "`backtick`", "`x`"):
        assert raw not in html
    data = page_data(html)
    texts = json.dumps(data, ensure_ascii=False)
    assert XSS_ZONE in texts and XSS_FIELD in texts  # kept as data, shown as text by the page


def test_title_escaped(results):
    html = build_map([results["carbon"]], title="<b>T</b> & `x` ${y}")
    assert "<title>&lt;b&gt;T&lt;/b&gt; &amp; &#96;x&#96; ${y}</title>" in html


def test_carbon_popups_have_every_figure_of_the_zone(results):
    data = page_data(build_map([results["carbon"]], lang="en"))
    zones = next(lay for lay in data["layers"] if lay["type"] == "vector" and lay["geom"].endswith(":zones"))
    first = dict((k, v) for k, v in zones["features"][1]["p"])  # zone 2: 呼和浩特市
    # synthetic zone 2: area 2000 ha; pools 30/8/60/2 Mg C/ha → 200 000 Mg C; density 100 Mg C/ha
    assert first["Zone"] == "呼和浩特市"
    assert first["Area (ha)"] == "2,000.0"
    assert first["Carbon stock (Mg C)"] == "200,000"
    assert first["Above-ground stock (Mg C)"] == "60,000"
    assert first["Mean carbon density (Mg C/ha)"] == "100"
    assert first["Forest"] == "1,000.0 ha · 140,000 Mg C"  # by-class line
    names = [lay["name"] for lay in data["layers"]]
    assert names == ["Land cover", "Carbon density", "Zone carbon stock density", "Zone outlines and names",
                     "Ecological protection redline"]
    # one green layer on at a time: the density raster; the density choropleth waits in the layer list,
    # the named outlines (same popups) stay on
    assert [lay["visible"] for lay in data["layers"]] == [False, True, False, True, True]
    outline = data["layers"][3]
    assert [lb[2] for lb in outline["labels"]] == [f["p"][0][1] for f in outline["features"]]
    lc = data["layers"][0]["legend"]
    # the folder's scheme.csv (CLCD's own colour table: Forest #446F33); the old test compared with another
    # green and passed anyway, as `(A and B) or items`
    assert lc["kind"] == "categorical" and ["#446f33", "Forest"] in [[c.lower(), n] for c, n in lc["items"]], lc
    dens = data["layers"][1]["legend"]
    assert dens["kind"] == "continuous" and dens["units"] == "Mg C/ha" and dens["vmin"] == 0.0


def test_landcover_legend_uses_scheme_names_and_colours(results):
    from sinkplan.layers.schemes import load_scheme

    scheme = load_scheme("clcd")
    for lang in ("zh", "en"):
        data = page_data(build_map([results["carbon"]], lang=lang))
        items = data["layers"][0]["legend"]["items"]
        assert items, "land-cover legend is empty"
        for color, name in items:
            cls = next(c for c in scheme.classes if (c.name_zh if lang == "zh" else c.name_en) == name)
            assert color.lower() == cls.color.lower()


def test_coverage_layers_per_year_latest_visible(results):
    data = page_data(build_map([results["coverage"]], lang="en"))
    layers = data["layers"]
    assert [lay["name"] for lay in layers] == ["Forest coverage 2015", "Forest coverage 2020", "Zone outlines and names"]
    assert [lay["visible"] for lay in layers] == [False, True, True]
    # zone 1 in 2020: coverage 0.15 + 0.01 = 0.16 → -7.5 pp → bin "-10 … -5"
    legend = dict((label, color) for color, label in layers[1]["legend"]["items"])
    assert layers[1]["features"][0]["c"] == legend["-10 … -5 pp"]
    assert layers[0]["geom"] == layers[1]["geom"]  # geometry stored once


def test_siting_layers(results):
    data = page_data(build_map([results["site"]], lang="en"))
    names = [lay["name"] for lay in data["layers"]]
    assert names[0] == "Eligible land"
    assert [n for n in names if n.startswith("Exclusion")] == [
        "Exclusion: inside redline (redline.gpkg)", "Exclusion: inside farmland (farmland.gpkg)",
        "Exclusion: slope above 3° (Horn, metres)", "Exclusion: within 400 m of water land cover"]
    assert {"Candidate parcels (by score)", "Candidate bases", "Border belt", "Transmission lines", "Substations"} <= set(names)
    eligible = dict((name, color) for color, name in data["layers"][0]["legend"]["items"])
    assert set(eligible) == {"Desert and gobi", "Border area"}
    parcels = next(lay for lay in data["layers"] if lay["name"].startswith("Candidate parcels"))
    rows = dict(parcels["features"][0]["p"])  # best rank first: parcel 6 (rank 1)
    assert rows["Rank"] == "1" and rows["Parcel id"] == "6"
    assert parcels["features"][0]["p"][0] == ["", "Parcel 6"]  # the heading names the parcel, not a bare number
    # synthetic parcel 6: 105 ha × 34 MW/km² = 35.7 MW
    assert rows["Area (ha)"] == "105.0" and rows["Capacity (MW)"] == "35.7"
    assert {"Mean slope (°)", "Distance to grid (km)", "Carbon stock (Mg C)", "Score", "Admin zone"} <= set(rows)
    assert rows["Zone type"] == "Desert and gobi"


def test_siting_zh_reason_names(results):
    data = page_data(build_map([results["site"]], lang="zh"))
    names = [lay["name"] for lay in data["layers"] if lay["name"].startswith("排除原因")]
    assert names == ["排除原因：生态保护红线", "排除原因：永久基本农田", "排除原因：坡度过大", "排除原因：邻近水体"]


def test_change_layers_carbon_change_and_transitions(results):
    data = page_data(build_map([results["change"]], lang="en"))
    names = [lay["name"] for lay in data["layers"]]
    assert names == ["Carbon density change 2015–2020", "Land-cover transitions 2015–2020", "Carbon change by zone",
                     "Zone outlines and names"]
    legend = data["layers"][1]["legend"]
    # unchanged 404 is not drawn; forest → grassland and cropland → forest are (CLCD names)
    assert sorted(label for _, label in legend["items"]) == ["Cropland → Forest", "Forest → Grassland"]
    change = data["layers"][0]["legend"]
    assert change["vmin"] == -change["vmax"] and change["units"] == "Mg C/ha"


def test_missing_layer_is_omitted_with_a_log_line(results, tmp_path, caplog):
    import shutil

    folder = tmp_path / "carbon"
    shutil.copytree(results["carbon"], folder)
    (folder / "redline.gpkg").unlink()
    (folder / "landcover_preview.tif").unlink()
    with caplog.at_level(logging.INFO, logger="sinkplan.maps"):
        data = page_data(build_map([folder], lang="en"))
    assert "Ecological protection redline" not in [lay["name"] for lay in data["layers"]]
    assert "redline.gpkg not found" in caplog.text and "landcover_preview.tif not found" in caplog.text


def test_size_bound_holds_by_halving(results):
    full = len(build_map([results["carbon"]], max_pixels=40_000).encode())
    smaller = len(build_map([results["carbon"]], max_pixels=40_000, max_bytes=full - 1).encode())
    assert smaller <= full - 1


def test_large_vector_layer_is_simplified_within_budget(tmp_path):
    folder = synthetic.carbon_folder(tmp_path / "c", size=50, n_zones=100, vertices_per_side=400, landcover=False)
    data = page_data(build_map([folder]))
    geoms = next(v for k, v in data["geometries"].items() if k.endswith(":zones"))
    n = sum(len(g["coordinates"][0]) for g in geoms)
    assert n <= 150_000 < 100 * 4 * 400  # 160 000 input vertices
    assert all(len(str(x).split(".")[-1]) <= 5 for g in geoms[:5] for x, _ in g["coordinates"][0])


# -- command line -------------------------------------------------------------------------
def test_cli_map_writes_one_file(results, tmp_path, capsys):
    out = tmp_path / "m.html"
    assert main(["map", str(results["carbon"]), str(results["site"]), "--out", str(out), "--lang", "en", "-q"]) == 0
    assert out.exists() and capsys.readouterr().out.strip().endswith("m.html")


@pytest.mark.parametrize("argv, message", [
    (["map", "{missing}", "--out", "{out}"], "result folder not found"),
    (["map", "{carbon}", "--out", "{out}", "--basemap", "tianditu"], "--tianditu-key KEY or set TIANDITU_KEY"),
    (["map", "{inputs}", "--out", "{out}"], "not a result folder"),
    (["map", "{carbon}", "--out", "{out}", "--max-pixels", "5"], "--max-pixels 5"),
    (["figures", "{missing}"], "result folder not found"),
])
def test_cli_errors_one_line_exit_2_no_output(results, tmp_path, capsys, monkeypatch, argv, message):
    monkeypatch.delenv("TIANDITU_KEY", raising=False)
    (tmp_path / "inputs").mkdir()
    fill = {"missing": str(tmp_path / "nope"), "out": str(tmp_path / "x.html"), "carbon": str(results["carbon"]),
            "inputs": str(tmp_path / "inputs")}
    assert main([a.format(**fill) for a in argv]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and "\n" not in err
    assert not (tmp_path / "x.html").exists() and not (tmp_path / "nope_figures").exists()


def test_cli_map_out_gains_html_suffix(results, tmp_path, capsys):
    assert main(["map", str(results["carbon"]), "--out", str(tmp_path / "m4"), "-q"]) == 0
    assert (tmp_path / "m4.html").exists() and not (tmp_path / "m4").exists()
    assert capsys.readouterr().out.strip() == str(tmp_path / "m4.html")


def test_cli_map_on_a_folder_of_results_lists_them(results, tmp_path, capsys):
    parent = results["carbon"].parent  # holds carbon, coverage, change, site
    assert main(["map", str(parent), "--out", str(tmp_path / "x.html")]) == 2
    err = capsys.readouterr().err.strip()
    assert "a folder of 4 result folders" in err and "None" not in err and "\n" not in err
    for k in ("carbon", "coverage", "change", "site"):
        assert str(results[k]) in err
    assert not (tmp_path / "x.html").exists()


def test_cli_map_refuses_to_overwrite(results, tmp_path, capsys):
    out = tmp_path / "m.html"
    out.write_text("old")
    assert main(["map", str(results["carbon"]), "--out", str(out)]) == 2
    assert "--overwrite" in capsys.readouterr().err and out.read_text() == "old"


def test_tianditu_key_from_environment(results, monkeypatch):
    monkeypatch.setenv("TIANDITU_KEY", "abc\"</script>")
    data = page_data(build_map([results["carbon"]], basemap="tianditu"))
    assert data["tiandituKey"] == "abc\"</script>" and data["basemap"] == "tianditu"


def test_write_map_atomic(results, tmp_path):
    p = write_map(tmp_path / "sub" / "a.html", [results["change"]], lang="en")
    assert p.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")
    assert [q.name for q in p.parent.iterdir()] == ["a.html"]


def test_demo_step_maps_every_result_folder(results, tmp_path):
    import shutil

    from sinkplan.cmd_map import maps_step
    from sinkplan.context import RunContext

    for k in ("carbon", "site"):
        shutil.copytree(results[k], tmp_path / k)
    (tmp_path / "inputs").mkdir()
    (tmp_path / "empty_change").mkdir()  # a change folder with nothing to draw: no map, no figures
    (tmp_path / "empty_change" / "manifest.json").write_text('{"command": "change"}')
    paths = maps_step(None, tmp_path, RunContext(quiet=True))
    names = sorted(p.relative_to(tmp_path).as_posix() for p in paths)
    assert names == sorted([
        "maps/carbon_zh.html", "maps/carbon_en.html", "maps/carbon_figures/carbon_by_zone.png",
        "maps/carbon_figures/carbon_density_map.png", "maps/carbon_figures/thematic_map.png",
        "maps/carbon_figures/thematic_map.pdf", "maps/site_zh.html", "maps/site_en.html",
        "maps/site_figures/capacity_by_zone_type.png", "maps/site_figures/eligible_map.png",
        "maps/site_figures/thematic_map.png", "maps/site_figures/thematic_map.pdf", "maps/all_zh.html"])
    assert all(p.exists() for p in paths)
    assert not (tmp_path / "maps" / "empty_change_figures").exists()

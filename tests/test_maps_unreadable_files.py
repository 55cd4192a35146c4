"""`sinkplan map` and `sinkplan figures` on a result folder whose files were damaged or replaced
by hand: one line naming the file, exit 2, nothing written, the folder untouched.

Before: opening a truncated ``eligible.tif``, a damaged ``parcels.gpkg`` or a CSV in another
encoding escaped as a rasterio / pyogrio / UnicodeDecodeError traceback (exit 1); only block
reads of a raster that did open were guarded."""

from __future__ import annotations

import shutil

import pytest

import synthetic
from sinkplan.cli import main
from sinkplan.layers import resultspec as rs


@pytest.fixture(scope="module")
def folders(tmp_path_factory):
    base = tmp_path_factory.mktemp("unreadable")
    return {"site": synthetic.site_folder(base / "site", size=60, n_parcels=3),
            "carbon": synthetic.carbon_folder(base / "carbon", size=60, n_zones=2)}


def _truncate(path, n):  # the first n bytes only: a copy cut short
    path.write_bytes(path.read_bytes()[:n])


def _utf16(path):  # the table re-saved by hand in another encoding (UTF-16 with its BOM)
    path.write_bytes(path.read_text(encoding="utf-8-sig").encode("utf-16"))


@pytest.mark.parametrize("kind, name, damage", [
    ("site", rs.ELIGIBLE.name, lambda p: _truncate(p, 300)),  # cut inside the TIFF directory
    ("site", rs.PARCELS_GPKG.name, lambda p: _truncate(p, 5000)),  # SQLite: "database disk image is malformed"
    ("carbon", rs.STOCKS_BY_ZONE.name, _utf16),
])
@pytest.mark.parametrize("command", ["map", "figures"])
def test_a_damaged_file_is_one_line_naming_it(folders, tmp_path, capsys, kind, name, damage, command):
    folder = tmp_path / kind
    shutil.copytree(folders[kind], folder)
    damage(folder / name)
    before = sorted((p.name, p.stat().st_size) for p in folder.iterdir())
    out = tmp_path / ("m.html" if command == "map" else "figs")
    assert main([command, str(folder), "--out", str(out), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "Traceback" not in err
    assert f"{folder / name}: cannot be read (" in err and "rerun the command that wrote this folder" in err
    assert not out.exists() and not list(tmp_path.glob(".*tmp*"))
    assert sorted((p.name, p.stat().st_size) for p in folder.iterdir()) == before  # the folder is untouched


def test_the_undamaged_folders_still_map(folders, tmp_path):
    """The guard changes nothing for readable files (the checks above fail for the damage alone)."""
    for kind in ("site", "carbon"):
        assert main(["map", str(folders[kind]), "--out", str(tmp_path / f"{kind}.html"), "-q"]) == 0
        assert main(["figures", str(folders[kind]), "--out", str(tmp_path / f"{kind}_figs"), "-q"]) == 0


def test_a_result_kind_without_a_map_is_named_with_its_article(tmp_path, capsys):
    """'a area-estimate result' before; restoration (drawn as a change result) was not named."""
    import json

    folder = tmp_path / "ae"
    folder.mkdir()
    (folder / rs.SUMMARY.name).write_text(json.dumps({"schema_version": 1, "kind": "area-estimate"}), encoding="utf-8")
    assert main(["map", str(folder), "--out", str(tmp_path / "m.html"), "-q"]) == 2
    err = capsys.readouterr().err.strip()
    assert "(an area-estimate result, which has no map;" in err and "\n" not in err
    assert "not a result folder of sinkplan carbon, coverage, change (or its restoration projects) or site" in err

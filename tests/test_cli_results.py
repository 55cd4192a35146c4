"""Result folders (atomic, manifest) and the command line's info command and error handling."""

from __future__ import annotations

import hashlib
import json
import math
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest
from affine import Affine
from pyproj import CRS, Geod, Transformer

from sinkplan.layers import resultspec as rs
from sinkplan.layers.errors import OutputExists
from sinkplan.cli import main
from sinkplan.results import ResultFolder


def test_result_folder_atomic_with_manifest(tmp_path):
    src = tmp_path / "in.txt"
    src.write_text("abc")
    out = tmp_path / "res"
    with ResultFolder(out, command="t", parameters={"k": 1}, inputs=[src]) as rf:
        rf.write_csv("t.csv", pd.DataFrame({"zone": ["四子王旗"], "area_ha": [1.5]}))
        rf.write_json(rs.SUMMARY.name, {"zone": "四子王旗", "n": np.int64(3)})
        assert not out.exists()  # nothing visible until complete
    m = json.loads((out / "manifest.json").read_text("utf-8"))
    assert m["command"] == "t" and m["parameters"] == {"k": 1}
    assert m["inputs"][0]["sha256"] == hashlib.sha256(b"abc").hexdigest()
    assert {o["path"] for o in m["outputs"]} == {"t.csv", rs.SUMMARY.name, rs.CSV_METADATA.name}
    meta = json.loads((out / rs.CSV_METADATA.name).read_text("utf-8"))  # CSVW: what each CSV column is
    cols = {c["name"]: c for c in meta["tables"][0]["tableSchema"]["columns"]}
    assert meta["tables"][0]["url"] == "t.csv" and cols["area_ha"]["titles"] == {"zh": "面积 (公顷)", "en": "Area (ha)"}
    assert "numpy" in m["versions"] and "gdal" in m["versions"]
    assert json.loads((out / rs.SUMMARY.name).read_text("utf-8")) == {"zone": "四子王旗", "n": 3}
    assert pd.read_csv(out / "t.csv", encoding="utf-8-sig").zone[0] == "四子王旗"
    with pytest.raises(OutputExists, match="result folder exists; pass overwrite=True"):
        with ResultFolder(out, command="t", parameters={}, inputs=[]):
            pass
    # a file where the folder should go: overwrite would not help (it was advised), so it is not offered
    afile = tmp_path / "afile"
    afile.write_text("keep", encoding="utf-8")
    with pytest.raises(OutputExists, match=r"afile: exists and is not a folder; choose another output folder$"):
        with ResultFolder(afile, command="t", parameters={}, inputs=[]):
            pass
    assert afile.read_text("utf-8") == "keep"


def test_failed_run_leaves_earlier_result_and_no_temp(tmp_path):
    out = tmp_path / "res"
    with ResultFolder(out, command="t", parameters={}, inputs=[]) as rf:
        rf.write_json(rs.SUMMARY.name, {"v": 1})
    with pytest.raises(RuntimeError):
        with ResultFolder(out, command="t", parameters={}, inputs=[], overwrite=True) as rf:
            rf.write_json(rs.SUMMARY.name, {"v": 2})
            raise RuntimeError("boom")
    assert json.loads((out / rs.SUMMARY.name).read_text())["v"] == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]
    with ResultFolder(out, command="t", parameters={}, inputs=[], overwrite=True) as rf:
        rf.write_json(rs.SUMMARY.name, {"v": 3})
    assert json.loads((out / rs.SUMMARY.name).read_text())["v"] == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["res"]


def run_cli(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_version(capsys):
    with pytest.raises(SystemExit) as e:
        main(["--version"])
    assert e.value.code == 0
    assert capsys.readouterr().out.startswith("sinkplan ")


def geod_footprint_area(crs, bounds, n=100):
    l, b, r, t = bounds
    xs = np.r_[np.linspace(l, r, n), np.full(n, r), np.linspace(r, l, n), np.full(n, l)]
    ys = np.r_[np.full(n, b), np.linspace(b, t, n), np.full(n, t), np.linspace(t, b, n)]
    if not CRS(crs).is_geographic:
        xs, ys = Transformer.from_crs(crs, 4326, always_xy=True).transform(xs, ys)
    return abs(Geod(ellps="WGS84").polygon_area_perimeter(xs, ys)[0])


def test_info_lonlat_at_50N(capsys, write_raster):
    codes = np.full((200, 300), 4, "uint8")
    codes[:50] = 2
    path = write_raster(codes, transform=Affine(0.001, 0, 110, 0, -0.001, 50.1), nodata=0)
    code, out, _ = run_cli(capsys, "info", str(path), "--scheme", "clcd", "--json")
    assert code == 0
    info = json.loads(out)
    assert info["crs"] == "EPSG:4326" and info["shape"] == [200, 300]
    ref_ha = geod_footprint_area("EPSG:4326", (110, 49.9, 110.3, 50.1)) / 1e4
    assert info["area_ha"] == pytest.approx(ref_ha, rel=1e-4)
    classes = {c["code"]: c for c in info["classes"]}
    assert classes[2]["pixels"] == 15_000 and classes[4]["pixels"] == 45_000
    assert classes[2]["name"] == "Forest" and classes[2]["group"] == "forest"
    assert classes[2]["area_ha"] + classes[4]["area_ha"] == pytest.approx(info["area_ha"], rel=1e-12)


def test_info_utm_170km_and_albers(capsys, write_raster):
    # UTM 49N (CM 111°E): ground area = map area / areal scale ≈ 1.0000887 × nominal at 170 km.
    path = write_raster(np.ones((100, 100), "uint8"), crs="EPSG:32649",
                        transform=Affine(30, 0, 670_000 - 1500, 0, -30, 4_600_000), name="utm.tif")
    info = json.loads(run_cli(capsys, "info", str(path), "--json")[1])
    nominal_ha = 100 * 100 * 900 / 1e4
    assert info["area_ha"] / nominal_ha - 1 == pytest.approx(8.87e-5, abs=2e-6)
    alb = "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +datum=WGS84 +units=m"
    path = write_raster(np.ones((100, 100), "uint8"), crs=alb, transform=Affine(30, 0, 0, 0, -30, 4_600_000), name="alb.tif")
    info = json.loads(run_cli(capsys, "info", str(path), "--json")[1])
    assert info["area_ha"] == nominal_ha and info["equal_area"] is True


def test_info_text_output(capsys, write_raster):
    path = write_raster(np.array([[2, 4]], "uint8"))
    code, out, _ = run_cli(capsys, "info", str(path), "--scheme", "clcd")
    assert code == 0 and "森林 Forest" in out and "area_ha" in out


def test_cli_errors_are_one_line_exit_2(capsys, write_raster, tmp_path):
    path = write_raster(np.ones((2, 2), "uint8"), crs=None, name="nocrs.tif")
    code, out, err = run_cli(capsys, "info", str(path))
    assert code == 2 and err.count("\n") == 1
    assert err.startswith("sinkplan info: error: ") and "nocrs.tif: raster has no CRS" in err
    code, _, err = run_cli(capsys, "info", str(tmp_path / "missing.tif"))
    assert code == 2 and "missing.tif: file not found" in err
    path = write_raster(np.array([[2, 250]], "uint8"), name="odd.tif")
    code, _, err = run_cli(capsys, "info", str(path), "--scheme", "clcd")
    assert code == 2 and "codes 250 (1 px) are not in scheme 'clcd'" in err and err.count("\n") == 1
    code, out, _ = run_cli(capsys, "info", str(path), "--scheme", "clcd", "--map-codes", "250=barren", "--json")
    assert code == 0 and {c["code"] for c in json.loads(out)["classes"]} >= {2, 250}


def test_debug_shows_traceback(write_raster):
    path = write_raster(np.ones((2, 2), "uint8"), crs=None, name="nocrs.tif")
    r = subprocess.run([sys.executable, "-m", "sinkplan.cli", "info", str(path), "--debug"],
                       capture_output=True, text=True)
    assert r.returncode == 2 and "Traceback" in r.stderr and "MissingCRS" in r.stderr


def test_info_vector_gbk_shapefile_without_cpg(capsys, tmp_path):
    import geopandas as gpd
    from shapely.geometry import Polygon, box

    names = ["四子王旗", "苏尼特右旗", "达尔罕茂明安联合旗"]
    bowtie = Polygon([(111, 42), (111.1, 42.1), (111.1, 42), (111, 42.1)])  # self-intersecting
    gdf = gpd.GeoDataFrame({"name": names}, geometry=[box(110, 42, 110.1, 42.1), box(110.2, 42, 110.3, 42.1), bowtie],
                           crs="EPSG:4490")
    shp = tmp_path / "banners.shp"
    gdf.to_file(shp, engine="pyogrio", encoding="GBK")
    (tmp_path / "banners.cpg").unlink(missing_ok=True)
    assert "四子王旗".encode("gbk") in (tmp_path / "banners.dbf").read_bytes()
    code, out, _ = run_cli(capsys, "info", str(shp), "--json")
    assert code == 0
    info = json.loads(out)
    assert info["encoding"] == "GB18030" and info["encoding_source"] == "detected"
    assert info["features"] == 3 and info["repaired_geometries"] == 1 and info["crs"] == "EPSG:4490"
    from sinkplan.layers.vectors import read_vector

    assert list(read_vector(shp).gdf["name"]) == names
    # Two 0.1° squares plus the bow-tie's two triangles (each a quarter of a 0.1° square).
    sq = geod_footprint_area("EPSG:4326", (110, 42, 110.1, 42.1)) / 1e4
    assert info["area_ha"] == pytest.approx(2.5 * sq, rel=2e-3)


def test_info_vector_without_crs_exit_2(capsys, tmp_path):
    # A shapefile written without .prj has no CRS at all.
    import warnings

    import geopandas as gpd
    from shapely.geometry import Point

    shp = tmp_path / "noprj.shp"
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message="'crs' was not provided")
        gpd.GeoDataFrame({"n": [1]}, geometry=[Point(500000, 4600000)]).to_file(shp, engine="pyogrio")
    (tmp_path / "noprj.prj").unlink(missing_ok=True)
    code, _, err = run_cli(capsys, "info", str(shp))
    assert code == 2 and err.count("\n") == 1 and "noprj.shp" in err and "CRS" in err


def test_outputs_are_readable_like_normal_files(tmp_path):
    import os
    import stat

    from sinkplan.layers.outputs import DIR_MODE, FILE_MODE

    out = tmp_path / "res"
    with ResultFolder(out, command="t", parameters={}, inputs=[]) as rf:
        rf.write_json(rs.SUMMARY.name, {})
        rf.write_csv("t.csv", pd.DataFrame({"a": [1]}))
    umask = os.umask(0)
    os.umask(umask)
    assert FILE_MODE == 0o666 & ~umask and DIR_MODE == 0o777 & ~umask
    assert stat.S_IMODE(out.stat().st_mode) == DIR_MODE
    assert stat.S_IMODE((out / rs.SUMMARY.name).stat().st_mode) == FILE_MODE
    assert stat.S_IMODE((out / "manifest.json").stat().st_mode) == FILE_MODE


def test_file_hashes(tmp_path):
    from sinkplan.layers.files import decode_user_text, sha256_content, sha256_file

    a = tmp_path / "a.bin"
    a.write_bytes(b"x" * (3 << 20))  # spans several 1 MiB chunks
    assert sha256_file(a) == hashlib.sha256(b"x" * (3 << 20)).hexdigest()
    gdb = tmp_path / "z.gdb"
    (gdb / "sub").mkdir(parents=True)
    (gdb / "b").write_bytes(b"b")
    (gdb / "sub" / "c").write_bytes(b"c")
    # Folder hash: relative names and file hashes in sorted order.
    h = hashlib.sha256()
    for name, data in (("b", b"b"), ("sub/c", b"c")):
        h.update(name.encode())
        h.update(hashlib.sha256(data).hexdigest().encode())
    assert sha256_content(gdb) == h.hexdigest()
    assert decode_user_text("森林".encode("gbk"), path="t.csv") == "森林"
    assert decode_user_text("\ufeff森林".encode("utf-8"), path="t.csv") == "森林"
    with pytest.raises(ValueError, match=r"bad\.csv: neither UTF-8 nor GB18030"):
        decode_user_text(b"\xff\xff\xff", path="bad.csv")


def test_xlsx_text_is_never_a_formula(tmp_path):
    import openpyxl

    out = tmp_path / "res"
    names = ["=SUM(1+1)", "=HYPERLINK(\"http://x\")", "四子王旗", "+1", "-2"]
    with ResultFolder(out, command="t", parameters={}, inputs=[]) as rf:
        rf.write_xlsx("t.xlsx", {"zones": pd.DataFrame({"zone": names, "area_ha": [1.0, 2.0, 3.0, 4.0, 5.0]})})
    ws = openpyxl.load_workbook(out / "t.xlsx")["分区"]  # the sheet "zones" of a Chinese workbook
    assert [c.value for c in ws["A"][1:6]] == names
    assert all(c.data_type == "s" for c in ws["A"][1:6])
    assert [c.value for c in ws["B"][1:6]] == [1.0, 2.0, 3.0, 4.0, 5.0]
    assert [ws["A"][6].value, ws["B"][6].value] == ["合计", 15.0]  # totals row: 1 + 2 + 3 + 4 + 5 ha

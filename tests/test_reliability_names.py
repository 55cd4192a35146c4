"""Reliability: file names that are not valid UTF-8 (GBK bytes as a Windows zip unpacks them).

GDAL takes names as UTF-8, so such a file cannot be opened: it is refused in one line that
names it by its bytes (and as GBK when it reads so), instead of a UnicodeEncodeError from
``info`` and ``carbon``. Anything written (messages, logs, JSON) shows such a name as
``\\xNN`` escapes and never fails.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

from reliability_util import one_line_error, sinkplan_cmd, write_landcover
from sinkplan.cli import main
from sinkplan.layers.errors import InputFileError
from sinkplan.layers.files import check_utf8_path, display_path, sha256_content
from sinkplan.layers.resultfolder import clean_json, write_json_atomic
from sinkplan.layers.vectors import read_vector

#: 测试 ("test") in GBK, as unzip without -O gbk leaves it on Linux
GBK = "测试".encode("gbk")  # b'\xb2\xe2\xca\xd4'


def _gbk_path(folder: Path, suffix: str) -> Path:
    return Path(os.fsdecode(os.fsencode(str(folder)) + b"/" + GBK + suffix.encode()))


@pytest.fixture
def gbk_tif(tmp_path):
    p = _gbk_path(tmp_path, ".tif")
    shutil.copy(write_landcover(tmp_path / "lc.tif", (64, 64)), p)
    assert os.path.exists(os.fsencode(p)) and not os.fsencode(p).decode("utf-8", "ignore").endswith("测试.tif")
    return p


MESSAGE = ("\\xb2\\xe2\\xca\\xd4.tif: the name is not valid UTF-8 (bytes b2 e2 ca d4 2e 74 69 66) (read as GBK: "
           "测试.tif); GDAL and the manifests take names as UTF-8: rename it (convmv -f gbk -t utf-8 --notest NAME) "
           "or unpack the zip with unzip -O gbk")


@pytest.mark.parametrize("command", ["info", "carbon"])
def test_info_and_carbon_name_the_file_by_its_bytes(gbk_tif, tmp_path, capsys, command):
    args = [command, str(gbk_tif)] + (["--out", str(tmp_path / "c"), "-q"] if command == "carbon" else [])
    assert main(args) == 2
    line = one_line_error(capsys.readouterr().err)
    assert line == f"sinkplan {command}: error: {display_path(tmp_path)}/{MESSAGE}"
    assert not (tmp_path / "c").exists()


def test_a_real_process_prints_it_on_a_utf8_terminal(gbk_tif, tmp_path):
    # stderr of a child process is strict UTF-8: printing the name used to raise UnicodeEncodeError
    r = subprocess.run([*sinkplan_cmd(), "info", os.fsencode(gbk_tif)], capture_output=True, timeout=120,
                       env={**os.environ, "LC_ALL": "C.UTF-8", "PYTHONIOENCODING": ""})
    assert r.returncode == 2
    err = r.stderr.decode("utf-8")  # valid UTF-8 through and through
    assert one_line_error(err).endswith(MESSAGE)


def test_an_output_folder_with_such_a_name_is_refused(tmp_path, capsys):
    lc = write_landcover(tmp_path / "lc.tif", (64, 64))
    out = _gbk_path(tmp_path, "_out")
    assert main(["carbon", str(lc), "--out", str(out), "-q"]) == 2
    assert "\\xb2\\xe2\\xca\\xd4_out: the name is not valid UTF-8" in one_line_error(capsys.readouterr().err)
    assert not os.path.exists(os.fsencode(out))


def test_vector_with_such_a_name(tmp_path):
    p = _gbk_path(tmp_path, ".gpkg")
    gpd.GeoDataFrame({"id": [1]}, geometry=[box(0, 0, 1, 1)], crs=4326).to_file(tmp_path / "ok.gpkg")
    shutil.copy(tmp_path / "ok.gpkg", p)
    with pytest.raises(InputFileError, match=r"\\xb2\\xe2\\xca\\xd4\.gpkg: the name is not valid UTF-8"):
        read_vector(p)
    check_utf8_path(tmp_path / "ok.gpkg")  # a UTF-8 name (测试 in UTF-8 too) passes
    check_utf8_path(tmp_path / "测试.gpkg")


def test_json_and_hashes_take_such_names(tmp_path):
    odd = os.fsdecode(GBK + b".tif")
    assert clean_json({"path": odd, odd: [odd]}) == {"path": "\\xb2\\xe2\\xca\\xd4.tif",
                                                     "\\xb2\\xe2\\xca\\xd4.tif": ["\\xb2\\xe2\\xca\\xd4.tif"]}
    p = write_json_atomic(tmp_path / "m.json", {"inputs": [{"path": str(tmp_path / odd)}]})
    assert json.loads(p.read_text(encoding="utf-8"))["inputs"][0]["path"].endswith("\\xb2\\xe2\\xca\\xd4.tif")
    folder = tmp_path / "gdb"
    folder.mkdir()
    (folder / odd).write_bytes(b"x")  # a folder format (FileGDB) holding such a name hashes as its bytes
    assert len(sha256_content(folder)) == 64

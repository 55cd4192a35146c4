"""Reliability: a write that cannot succeed ends in one line naming the file and the reason, exit 2.

Permission denied, a read-only file system, a full disk (a tiny tmpfs mounted as root),
a name over 255 bytes, ``--out`` under /proc, ``map --out EXISTING_DIR``. Nothing partial
is left on the target file system and the inputs are untouched.
"""

from __future__ import annotations

import errno
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import geopandas as gpd
import pytest
from shapely.geometry import box

from reliability_util import leftovers, one_line_error, sha256, sinkplan_cmd, write_landcover
from sinkplan.params import cli_text
from sinkplan.cli import main
from sinkplan.layers.errors import OutputError, SinkplanError
from sinkplan.layers.writing import check_output_path, guarded_write, write_error

ROOT = hasattr(os, "geteuid") and os.geteuid() == 0


@pytest.fixture(scope="module")
def rand_lc(tmp_path_factory):
    """2000 × 2000 random CLCD codes: carbon_density.tif compresses to about 1.6 MB."""
    return write_landcover(tmp_path_factory.mktemp("lc") / "lc.tif", (2000, 2000))


@pytest.fixture
def tmpfs(tmp_path):
    """Factory: mount a tmpfs of ``size`` (mount options ``opts``) and unmount it afterwards."""
    if not ROOT or shutil.which("mount") is None:
        pytest.skip("mounting a tmpfs needs root (run the suite as root to test full and read-only disks)")
    mounted = []

    def _mount(name: str, size: str, opts: str = "") -> Path:
        d = tmp_path / name
        d.mkdir()
        r = subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}{',' + opts if opts else ''}", "tmpfs", str(d)],
                           capture_output=True, text=True)
        if r.returncode != 0:
            pytest.skip(f"cannot mount a tmpfs here ({r.stderr.strip()})")
        mounted.append(d)
        return d

    yield _mount
    for d in mounted:
        subprocess.run(["umount", "-l", str(d)], capture_output=True)


def _fill(folder: Path, leave_bytes: int) -> None:
    """Fill a file system until about ``leave_bytes`` are free."""
    st = os.statvfs(folder)
    free = st.f_bavail * st.f_frsize
    (folder / "filler").write_bytes(b"\0" * max(0, free - leave_bytes))


@pytest.mark.parametrize("max_cells", ["4194304", "65536"], ids=["one-block", "many-blocks"])
def test_full_disk_is_one_line_and_leaves_nothing(tmpfs, rand_lc, capsys, max_cells):
    full = tmpfs("full", "3m")
    _fill(full, 1_300_000)  # above the 1 MiB asked before any work, below what the run writes
    before = sha256(rand_lc)
    out = full / "carbon"
    assert main(["carbon", str(rand_lc), "--out", str(out), "--max-cells", max_cells, "-q"]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert line.startswith(f"sinkplan carbon: error: {out}")  # the result folder, not its temporary name
    assert f"no space left on {full} (" in line and line.endswith("free some space or choose --out on another disk")
    assert sorted(p.name for p in full.iterdir()) == ["filler"]
    assert sha256(rand_lc) == before


def test_disk_without_room_for_a_summary_is_refused_before_any_work(tmpfs, rand_lc, capsys):
    full = tmpfs("full", "1m")
    _fill(full, 200_000)
    out = full / "sub" / "carbon"
    assert main(["carbon", str(rand_lc), "--out", str(out), "-q"]) == 2
    line = one_line_error(capsys.readouterr().err)
    # 1 MiB = 1 048 576 bytes is the least a result folder is started with
    assert f"no space left on {full} (" in line and "1.0 MiB needed" in line
    assert sorted(p.name for p in full.iterdir()) == ["filler"]


def test_read_only_file_system(tmpfs, rand_lc, capsys):
    ro = tmpfs("ro", "1m", "ro")
    assert main(["carbon", str(rand_lc), "--out", str(ro / "carbon"), "-q"]) == 2
    assert one_line_error(capsys.readouterr().err) == (
        f"sinkplan carbon: error: {ro / 'carbon'}: {ro} is mounted read-only; choose --out on a writable disk")


def test_map_on_a_full_disk(tmpfs, tmp_path, capsys):
    from synthetic import carbon_folder

    folder = carbon_folder(tmp_path / "res")
    full = tmpfs("full", "1m")
    _fill(full, 100_000)
    out = full / "m.html"
    assert main(["map", str(folder), "--out", str(out), "-q"]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert line.startswith(f"sinkplan map: error: {out}: no space left on {full} (") and "1.0 MiB needed" in line
    assert sorted(p.name for p in full.iterdir()) == ["filler"]
    # a map that does not fit after the check: the write itself fails, and leaves nothing
    from sinkplan.cmd_map import _write_text

    (full / "filler").unlink()
    _fill(full, 300_000)
    with pytest.raises(OutputError, match=f"{out}: no space left on {full}"):
        _write_text(out, "x" * 600_000)
    assert sorted(p.name for p in full.iterdir()) == ["filler"]


def _run_as_nobody(args: list[str], cwd: Path) -> subprocess.CompletedProcess:
    def drop():
        os.setgid(65534)
        os.setuid(65534)

    return subprocess.run([*sinkplan_cmd(), *args], cwd=cwd, capture_output=True, text=True, preexec_fn=drop,
                          timeout=300, env={**os.environ, "HOME": "/tmp"})


def test_permission_denied(tmp_path, capsys):
    base = Path(tempfile.mkdtemp(prefix="sinkplan-perm-"))  # not under tmp_path (0700): another user reads it
    try:
        base.chmod(0o755)
        lc = write_landcover(base / "lc.tif", (64, 64))
        locked = base / "locked"
        locked.mkdir(mode=0o755)
        out = locked / "carbon"
        if ROOT:  # root may write anywhere: run as nobody
            try:
                probe = subprocess.run([sys.executable, "-c", "import sinkplan.cli"], capture_output=True,
                                       preexec_fn=lambda: (os.setgid(65534), os.setuid(65534)))
            except OSError:
                probe = None
            if probe is None or probe.returncode != 0:
                pytest.skip("user nobody cannot run this checkout's Python (test_permission_denied_message "
                            "covers the message)")
            r = _run_as_nobody(["carbon", str(lc), "--out", str(out), "-q"], base)
            rc, err = r.returncode, r.stderr
        else:
            locked.chmod(0o555)
            rc = main(["carbon", str(lc), "--out", str(out), "-q"])
            err = capsys.readouterr().err
        assert rc == 2
        assert one_line_error(err) == (f"sinkplan carbon: error: {out}: no permission to write in {locked}; choose "
                                       "--out in a folder you can write to (or ask its owner for write access)")
        assert list(locked.iterdir()) == []
    finally:
        (base / "locked").chmod(0o755)
        shutil.rmtree(base, ignore_errors=True)


def test_permission_denied_message(tmp_path, capsys, monkeypatch):
    # what a user without write access sees, whoever runs the suite (root may write anywhere)
    lc = write_landcover(tmp_path / "lc.tif", (64, 64))
    real = os.access
    monkeypatch.setattr(os, "access", lambda p, mode, **kw: False if Path(p) == tmp_path / "locked" else real(p, mode))
    (tmp_path / "locked").mkdir()
    out = tmp_path / "locked" / "carbon"
    assert main(["carbon", str(lc), "--out", str(out), "-q"]) == 2
    assert one_line_error(capsys.readouterr().err) == (
        f"sinkplan carbon: error: {out}: no permission to write in {tmp_path / 'locked'}; choose --out in a folder "
        "you can write to (or ask its owner for write access)")


@pytest.mark.parametrize("name", ["x" * 300, "碳" * 100], ids=["300-ascii", "100-chinese"])
def test_name_longer_than_255_bytes(tmp_path, capsys, name):
    # 100 Chinese characters are 300 bytes in UTF-8: the limit is in bytes, not characters
    lc = write_landcover(tmp_path / "lc.tif", (64, 64))
    assert main(["carbon", str(lc), "--out", str(tmp_path / name / "c"), "-q"]) == 2
    line = one_line_error(capsys.readouterr().err)
    assert "… is 300 bytes, longer than the 255 this file system allows; choose a shorter --out" in line
    assert leftovers(tmp_path) == [] and sorted(p.name for p in tmp_path.iterdir()) == ["lc.tif"]


def test_out_under_proc(tmp_path, capsys):
    if not Path("/proc/self").exists():
        pytest.skip("no /proc here")
    lc = write_landcover(tmp_path / "lc.tif", (64, 64))
    assert main(["carbon", str(lc), "--out", "/proc/sinkplan-out", "-q"]) == 2
    assert one_line_error(capsys.readouterr().err) == (
        "sinkplan carbon: error: /proc/sinkplan-out: /proc is a proc file system of the kernel, not a disk; "
        "choose --out on a disk")


def test_map_out_existing_folder_with_overwrite(tmp_path, capsys):
    from synthetic import carbon_folder

    folder = carbon_folder(tmp_path / "res")
    target = tmp_path / "maps"
    target.mkdir()
    (target / "keep.txt").write_text("mine\n")
    assert main(["map", str(folder), "--out", str(target), "--overwrite", "-q"]) == 2
    assert one_line_error(capsys.readouterr().err) == (
        f"sinkplan map: error: {target}: is a folder; give the HTML file to write, e.g. --out {target / 'map.html'}")
    assert [p.name for p in target.iterdir()] == ["keep.txt"] and not (tmp_path / "maps.html").exists()


def test_write_error_reasons():
    p = Path("/data/out/stocks.csv")
    cases = {
        errno.EACCES: "permission denied; choose --out in a folder you can write to",
        errno.EROFS: "is mounted read-only; choose --out on a writable disk",
        errno.ENAMETOOLONG: "a name is longer than the file system allows (255 bytes)",
        errno.EISDIR: "is a folder",
    }
    for code, words in cases.items():
        err = write_error(OSError(code, os.strerror(code), str(p)), p)
        # the command line names --out; the library, the output folder (sinkplan.params)
        assert isinstance(err, OutputError) and words in cli_text(str(err), err.params), (code, err)
        assert words.replace("choose --out", "choose an output folder") in str(err), (code, err)
    # GDAL's messages carry no errno: the words say it
    import rasterio.errors

    try:
        try:
            raise OSError("_tiffWriteProc: No space left on device")
        except OSError as inner:
            raise rasterio.errors.RasterioIOError("Write failed. See previous exception for details.") from inner
    except rasterio.errors.RasterioIOError as exc:
        assert "no space left on" in str(write_error(exc, p))
    # an input error is no write failure, and a bug passes through guarded_write untouched
    assert write_error(OutputError("x"), p) is None
    with pytest.raises(ZeroDivisionError):
        with guarded_write(p):
            1 / 0
    with pytest.raises(OutputError, match="stocks.csv: permission denied"):
        with guarded_write(p):
            raise PermissionError(errno.EACCES, "Permission denied", str(p))


def test_check_output_path_accepts_a_writable_new_folder(tmp_path):
    check_output_path(tmp_path / "new" / "deeper" / "out")  # nothing raised, nothing made
    assert list(tmp_path.iterdir()) == []
    (tmp_path / "file").write_text("x")
    with pytest.raises(SinkplanError, match="is a file, not a folder"):
        check_output_path(tmp_path / "file" / "out")

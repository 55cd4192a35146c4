"""The one guarded writer: a failed write becomes a one-line :class:`OutputError`.

Writes fail for a few reasons a user can fix: no permission, a read-only file system, a
full disk, a name longer than the file system allows, a target that is a folder, an output
under ``/proc``. Python says ``[Errno 28] No space left on device``; GDAL, writing a raster,
only says ``Write failed`` or ``TIFFAppendToStrip:Write error``, and pyogrio something else
again. Everything sinkplan writes goes through :func:`guarded_write` (result folders, rasters,
tables, JSON, maps, figures), which names the file, the reason in plain words and the fix;
:func:`check_output_path` refuses an output that cannot work before any work is done.

Examples
--------
>>> with guarded_write("out/stocks.csv"):  # doctest: +SKIP
...     df.to_csv("out/stocks.csv")
"""

from __future__ import annotations

import errno
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sinkplan.layers.errors import OutputError, SinkplanError
from sinkplan.layers.files import display_path

__all__ = ["guarded_write", "gdal_quiet", "write_error", "check_output_path", "check_free_space", "free_bytes", "mount_of",
           "MIN_FREE_BYTES", "display_path"]

logger = logging.getLogger(__name__)

#: Free space below which an output is refused before any work: 1 MiB (a summary, a manifest
#: and one small table); rasters are checked against their own size by their writer.
MIN_FREE_BYTES = 1 << 20

#: File systems that hold no files of ours: an output there can never be written.
_PSEUDO_FS = {"proc", "sysfs", "devtmpfs", "devpts", "cgroup", "cgroup2", "debugfs", "securityfs", "tracefs",
              "pstore", "bpf", "configfs", "fusectl", "mqueue", "efivarfs", "binfmt_misc", "autofs", "nsfs"}

#: Words in GDAL's and pyogrio's messages (which carry no errno) for each errno.
_TEXT_ERRNO = (
    ("no space left", errno.ENOSPC), ("free disk space", errno.ENOSPC), ("disk full", errno.ENOSPC),
    ("quota exceeded", errno.EDQUOT), ("read-only file system", errno.EROFS), ("permission denied", errno.EACCES),
    ("file name too long", errno.ENAMETOOLONG), ("is a directory", errno.EISDIR),
    ("no such file or directory", errno.ENOENT),
)


def _existing(path: Path) -> Path:
    """The nearest of ``path`` and its parents that exists."""
    p = path.absolute()
    while p != p.parent:
        try:
            if p.exists():
                break
        except OSError:  # a name too long for the file system: its parent may still exist
            pass
        p = p.parent
    return p


def mount_of(path: str | os.PathLike) -> tuple[str, str]:
    """(mount point, file-system type) of the file system holding ``path`` (or its nearest existing parent)."""
    p = os.path.realpath(_existing(Path(path)))
    best = ("/", "")
    try:
        with open("/proc/self/mountinfo", encoding="utf-8", errors="surrogateescape") as f:
            for line in f:
                parts = line.split()
                if " - " not in line or len(parts) < 5:
                    continue
                mnt = parts[4].replace("\\040", " ")
                fstype = line.split(" - ", 1)[1].split()[0]
                if (p == mnt or p.startswith(mnt.rstrip("/") + "/")) and len(mnt) >= len(best[0]):
                    best = (mnt, fstype)
    except OSError:  # not Linux: no mount table to read
        pass
    return best


def free_bytes(path: str | os.PathLike) -> int | None:
    """Bytes an unprivileged user may still write on ``path``'s file system (None if unknown)."""
    try:
        st = os.statvfs(_existing(Path(path)))
    except (OSError, AttributeError):
        return None
    return st.f_bavail * st.f_frsize


def _size(n: float) -> str:
    for unit in ("bytes", "KiB", "MiB", "GiB", "TiB"):
        if n < 1024 or unit == "TiB":
            return f"{n:.0f} {unit}" if unit == "bytes" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} TiB"


def _no_space(path: Path, need: int | None = None) -> OutputError:
    mnt, _ = mount_of(path)
    free = free_bytes(path)
    have = f" ({_size(free)} free" + (f", {_size(need)} needed" if need else "") + ")" if free is not None else ""
    return OutputError(f"{display_path(path)}: no space left on {mnt}{have}; free some space or choose an output folder on "
                       "another disk", params=("an output folder",))


def check_free_space(path: str | os.PathLike, need_bytes: int, *, what: str = "") -> None:
    """Refuse to start writing ``need_bytes`` where fewer are free (nothing is checked when unknown).

    Raises
    ------
    OutputError
        "no space left on MOUNT (X free, Y needed)".
    """
    free = free_bytes(path)
    if free is not None and free < need_bytes:
        raise _no_space(Path(path), need_bytes)


def check_output_path(out: str | os.PathLike) -> None:
    """Refuse an output path that cannot be written, before any work is done.

    Checks: each name at most the file system's ``NAME_MAX`` bytes (255) and the whole path at
    most ``PATH_MAX``; the nearest existing folder is a folder, on a real (not /proc, /sys)
    file system that is not mounted read-only, writable by this user, with at least
    :data:`MIN_FREE_BYTES` free.

    Raises
    ------
    OutputError
        The message names the path, what is wrong and the fix.
    """
    path = Path(out)
    shown = display_path(path)
    base = _existing(path)
    name_max, path_max = 255, 4096
    try:
        name_max = os.pathconf(base if base.is_dir() else base.parent, "PC_NAME_MAX")
        path_max = os.pathconf(base if base.is_dir() else base.parent, "PC_PATH_MAX")
    except (OSError, ValueError, AttributeError):
        pass
    for part in path.parts:
        n = len(os.fsencode(part))
        if n > name_max:
            raise OutputError(f"{shown[:60]}…: the name {display_path(part)[:40]}… is {n} bytes, longer than the "
                              f"{name_max} this file system allows; choose a shorter output folder", params=("output folder",))
    if len(os.fsencode(str(path.absolute()))) > path_max:
        raise OutputError(f"{shown[:60]}…: the path is longer than the {path_max} bytes this system allows; "
                          "choose a shorter output folder", params=("output folder",))
    mnt, fstype = mount_of(path)
    if fstype in _PSEUDO_FS:
        raise OutputError(f"{shown}: {mnt} is a {fstype} file system of the kernel, not a disk; choose an output folder on a disk", params=("an output folder",))
    if base != path.absolute() and not base.is_dir():
        raise OutputError(f"{shown}: {display_path(base)} is a file, not a folder; choose another output folder", params=("output folder",))
    folder = base if base.is_dir() else base.parent
    try:
        read_only = bool(os.statvfs(folder).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):
        read_only = False
    if read_only:
        raise OutputError(f"{shown}: {mnt} is mounted read-only; choose an output folder on a writable disk", params=("an output folder",))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(f"{shown}: no permission to write in {display_path(folder)}; choose an output folder in a folder "
                          "you can write to (or ask its owner for write access)", params=("an output folder",))
    check_free_space(path, MIN_FREE_BYTES)


def _errno_of(exc: BaseException) -> int | None:
    seen = set()
    e: BaseException | None = exc
    while e is not None and id(e) not in seen:
        seen.add(id(e))
        if isinstance(e, OSError) and e.errno:
            return e.errno
        text = str(e).lower()
        for words, code in _TEXT_ERRNO:
            if words in text:
                return code
        e = e.__cause__ or e.__context__
    return None


def _reason(exc: BaseException) -> str:
    from sinkplan.layers.reading import gdal_reason

    return gdal_reason(exc)


def write_error(exc: BaseException, path: str | os.PathLike, *, need_bytes: int | None = None,
                assume_write: bool = True) -> OutputError | None:
    """The :class:`OutputError` for a failed write to ``path``, or None when ``exc`` is no write failure.

    The reason comes from the errno (Python's OSError) or the words of GDAL's / pyogrio's
    message; when neither says, a file system with less than :data:`MIN_FREE_BYTES` left is
    taken to be full (GDAL's ``Write failed`` on a full disk says nothing else). With
    ``assume_write=False`` (an error from a block of mixed work) an I/O error of no known
    cause counts only when its message speaks of writing.
    """
    if isinstance(exc, SinkplanError):
        return None
    p = Path(getattr(exc, "filename", None) or path)
    shown = display_path(p)
    code = _errno_of(exc)
    if code in (errno.ENOSPC, errno.EDQUOT):
        return _no_space(p, need_bytes)
    if code == errno.EROFS:
        return OutputError(f"{shown}: {mount_of(p)[0]} is mounted read-only; choose an output folder on a writable disk", params=("an output folder",))
    if code in (errno.EACCES, errno.EPERM):
        return OutputError(f"{shown}: permission denied; choose an output folder in a folder you can write to "
                           "(or ask its owner for write access)", params=("an output folder",))
    if code == errno.ENAMETOOLONG:
        return OutputError(f"{shown[:60]}…: a name is longer than the file system allows (255 bytes); choose a "
                           "shorter output folder", params=("output folder",))
    if code == errno.EISDIR:
        return OutputError(f"{shown}: is a folder; give a file name (or remove the folder)")
    free = free_bytes(p)
    if free is not None and free < MIN_FREE_BYTES:
        return _no_space(p, need_bytes)
    if not _is_io_error(exc) or (not assume_write and "writ" not in _reason(exc).lower()):
        return None
    return OutputError(f"{shown}: cannot write ({_reason(exc)}); check the disk and the output folder", params=("the output folder",))


def _is_io_error(exc: BaseException) -> bool:
    if isinstance(exc, OSError):
        return True
    try:
        from rasterio._err import CPLE_BaseError
        from rasterio.errors import RasterioError
    except ImportError:  # pragma: no cover - rasterio is a dependency
        return False
    if isinstance(exc, (RasterioError, CPLE_BaseError)):
        return True
    try:
        import pyogrio.errors as pe
    except ImportError:  # pragma: no cover
        return False
    return isinstance(exc, (pe.DataSourceError, pe.DataLayerError, pe.FeatureError))


@contextmanager
def guarded_write(path: str | os.PathLike, *, need_bytes: int | None = None, gdal: bool = False) -> Iterator[None]:
    """Turn a write failure inside the block into :class:`OutputError` naming ``path``.

    Other exceptions (a bug, an input error, an interrupt) pass through unchanged. With
    ``gdal=True`` (a GDAL raster write), what libtiff prints straight to the process's
    stderr (``_tiffWriteProc: No space left on device.``, bypassing every error handler) is
    held back: dropped when the write fails (the :class:`OutputError` says it in one line),
    passed on when it succeeds.
    """
    with _held_stderr(gdal) as held:
        try:
            yield
        except Exception as exc:
            held.drop()
            err = write_error(exc, path, need_bytes=need_bytes)
            if err is None:
                raise
            raise err from exc
    # GDAL flushes cached blocks whenever it likes; a flush that fails is only printed, and the
    # write "succeeds" with a broken file: that is a failed write too.
    if held.text and _ERROR_TEXT.search(held.text):
        held.drop()
        err = write_error(OSError(held.text.strip()), path, need_bytes=need_bytes)
        raise err if err is not None else OutputError(f"{display_path(path)}: cannot write ({held.text.strip()})")
    held.emit()


@contextmanager
def gdal_quiet() -> Iterator[None]:
    """Drop what GDAL / libtiff print straight to stderr in the block (cleaning up after a failure)."""
    with _held_stderr(True) as held:
        held.drop()
        yield
    held.drop()


#: What libtiff / GDAL print when a write failed.
_ERROR_TEXT = re.compile(r"no space left|write error|error \d+:|failed|read-only|permission denied", re.I)


class _Held:
    """Text held back from stderr: emitted (once) unless dropped."""

    def __init__(self) -> None:
        self.text = ""
        self.dropped = False

    def drop(self) -> None:
        self.dropped = True
        if self.text:
            logger.debug("GDAL printed: %s", self.text.strip())
            self.text = ""

    def emit(self) -> None:
        if self.text and not self.dropped:
            sys.stderr.write(self.text)
            sys.stderr.flush()
        self.text = ""


_HOLD_LOCK = threading.RLock()


@contextmanager
def _held_stderr(active: bool) -> Iterator[_Held]:
    held = _Held()
    if not active or threading.current_thread() is not threading.main_thread():
        yield held
        return
    with _HOLD_LOCK:
        try:
            sys.stderr.flush()
            saved = os.dup(2)
        except (OSError, ValueError, AttributeError):
            yield held
            return
        try:
            tmp = tempfile.TemporaryFile()
        except OSError:  # no room even for that: let GDAL print
            os.close(saved)
            yield held
            return
        os.dup2(tmp.fileno(), 2)
        try:
            yield held
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            tmp.seek(0)
            held.text = tmp.read().decode("utf-8", "replace")
            tmp.close()
            if held.dropped:
                held.drop()

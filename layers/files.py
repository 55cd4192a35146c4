"""Small file helpers shared by readers and writers: content hashes, user text tables."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sinkplan.layers.errors import InputError, InputFileError

__all__ = ["sha256_file", "sha256_content", "decode_user_text", "display_path", "check_utf8_path"]


def sha256_file(path: str | os.PathLike) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB chunks."""
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()


def sha256_content(path: str | os.PathLike) -> str:
    """SHA-256 of a file, or of a folder's files (relative names and their hashes, sorted).

    Folder formats (FileGDB) hash the same whatever order the filesystem lists them in.
    """
    p = Path(path)
    if not p.is_dir():
        return sha256_file(p)
    h = hashlib.sha256()
    for q in sorted(q for q in p.rglob("*") if q.is_file()):
        h.update(os.fsencode(q.relative_to(p).as_posix()))  # a name that is not UTF-8 hashes as its bytes
        h.update(sha256_file(q).encode())
    return h.hexdigest()


def display_path(path: str | os.PathLike | bytes) -> str:
    """A path for messages, logs and JSON: bytes that are not UTF-8 shown as ``\\xb2`` escapes.

    Python decodes such a name (GBK bytes as a Windows zip unpacks them) into lone
    surrogates, which no UTF-8 stream, JSON file or GDAL call accepts.
    """
    s = os.fspath(path)
    if isinstance(s, bytes):
        return s.decode("utf-8", "backslashreplace")
    try:
        s.encode("utf-8")
        return s
    except UnicodeEncodeError:
        return s.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


def check_utf8_path(path: str | os.PathLike) -> None:
    """Refuse a path whose name is not valid UTF-8, naming it by its bytes.

    GDAL (rasterio, pyogrio) takes file names as UTF-8 and raised UnicodeEncodeError with a
    traceback. The message shows the bytes, the name read as GB18030 when it decodes so,
    and how to rename.

    Raises
    ------
    InputFileError
    """
    s = os.fspath(path)
    if isinstance(s, bytes):
        raw = s
    else:
        try:
            s.encode("utf-8")
            return
        except UnicodeEncodeError:
            raw = s.encode("utf-8", "surrogateescape")
    try:
        raw.decode("utf-8")
        return
    except UnicodeDecodeError:
        pass
    bad = [part for part in raw.split(b"/") if not _is_utf8(part)] or [raw]
    shown = " ".join(f"{b:02x}" for b in bad[0])  # the first name at fault, byte by byte
    try:
        gbk = f" (read as GBK: {bad[0].decode('gb18030')})"
    except UnicodeDecodeError:
        gbk = ""
    raise InputFileError(
        f"{display_path(raw)}: the name is not valid UTF-8 (bytes {shown}){gbk}; GDAL and the manifests take names "
        "as UTF-8: rename it (convmv -f gbk -t utf-8 --notest NAME) or unpack the zip with unzip -O gbk")


def _is_utf8(b: bytes) -> bool:
    try:
        b.decode("utf-8")
        return True
    except UnicodeDecodeError:
        return False


def decode_user_text(raw: bytes, *, path: str | os.PathLike) -> str:
    """Text of a user's table: UTF-8 (with or without BOM), else GB18030 (Excel on Chinese Windows).

    Raises
    ------
    InputError
        Neither decodes; the message names the file.
    """
    for enc in ("utf-8-sig", "gb18030"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise InputError(f"{path}: neither UTF-8 nor GB18030 text; save it as UTF-8")

"""Small file helpers shared by readers and writers: content hashes, user text tables."""

from __future__ import annotations

import hashlib
import os
import re
from pathlib import Path

from sinkplan.layers.errors import InputError, InputFileError

__all__ = ["sha256_file", "HashStopped", "sha256_content", "file_signature", "decode_user_text", "display_path", "check_utf8_path",
           "terminal_text"]


def sha256_file(path: str | os.PathLike, *, stop=None) -> str:
    """SHA-256 (hex) of a file's bytes, read in 1 MiB chunks (hashlib releases the GIL for them).

    ``stop``: an event (``threading.Event``) that ends the read early once set, by raising
    :class:`HashStopped` (a hash computed beside a run that failed).
    """
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            if stop is not None and stop.is_set():
                raise HashStopped(str(path))
            h.update(chunk)
    return h.hexdigest()


class HashStopped(Exception):
    """:func:`sha256_file` was stopped before the end of the file."""


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


#: Files beside a vector file that are part of its content (a shapefile's attributes, index,
#: CRS and encoding; a GeoPackage's write-ahead log).
_SIDECAR_SUFFIXES = (".dbf", ".shx", ".prj", ".cpg", ".qix", ".sbn", ".sbx", "-wal")


def _stat_key(p: Path) -> tuple:
    st = p.stat()
    # ctime changes on every write and cannot be set back (unlike mtime with `touch -d`), and a
    # file replaced by a rename has another inode: together they tell a rewritten file apart
    # even when its size and mtime are the same.
    return (p.name, st.st_size, st.st_mtime_ns, st.st_ctime_ns, st.st_ino, st.st_dev)


def file_signature(path: str | os.PathLike) -> tuple:
    """What identifies a file's current content without reading it, for in-memory caches.

    The absolute path and, for the file, its sidecars (a shapefile's ``.dbf``, ``.shx``,
    ``.prj``, ``.cpg``, a GeoPackage's ``-wal``) or a folder format's files (FileGDB): name,
    size, ``mtime_ns``, ``ctime_ns``, inode and device. A file written again at the same path
    has another signature. A path that is not a local file (``/vsis3/...``) is its own
    signature.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     p = Path(d) / "a.txt"
    ...     _ = p.write_text("A")
    ...     first = file_signature(p)
    ...     p.unlink(); _ = p.write_text("B")  # same path, same size: another file
    ...     first != file_signature(p)
    True
    """
    p = Path(os.path.abspath(path))
    if not p.exists():
        return (str(p),)
    if p.is_dir():
        return (str(p), *(_stat_key(q) for q in sorted(q for q in p.rglob("*") if q.is_file())))
    parts = [_stat_key(p)]
    stem = p.stem.lower()
    try:
        siblings = sorted(os.listdir(p.parent))
    except OSError:
        siblings = []
    for name in siblings:
        low = name.lower()
        if name != p.name and (low == p.name.lower() + "-wal"
                               or (low.startswith(stem + ".") and low[len(stem):] in _SIDECAR_SUFFIXES)):
            try:
                parts.append(_stat_key(p.parent / name))
            except OSError:
                continue
    return (str(p), *parts)


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


#: Characters that break a terminal line or its order: C0/C1 controls and DEL (a newline in a zone
#: name split a warning into two lines, ESC started a colour), the line and paragraph separators,
#: and the bidirectional marks, embeddings, overrides and isolates (U+202E turned the rest of the
#: line around). Letters of every script, right-to-left ones included, are not among them.
_TERMINAL_BREAKERS = re.compile("[\x00-\x1f\x7f-\x9f\u061c\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def terminal_text(text: str) -> str:
    r"""``text`` for one terminal or log line: each control character, line separator and bidi
    mark written as its escape (``\n``, ``\x1b``, ``\u202e``), everything else unchanged. Only
    messages are escaped: tables, summaries and maps keep names exactly.

    Examples
    --------
    >>> print(terminal_text("新\n区\u202e旗"), terminal_text("四子王旗 Dörbed"))
    新\n区\u202e旗 四子王旗 Dörbed
    """
    def esc(m: re.Match) -> str:
        c = m.group(0)
        return _ESCAPES.get(c) or (f"\\x{ord(c):02x}" if ord(c) < 0x100 else f"\\u{ord(c):04x}")

    return _TERMINAL_BREAKERS.sub(esc, text)


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

"""Small file helpers shared by readers and writers: content hashes, user text tables."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

from sinkplan.layers.errors import InputError

__all__ = ["sha256_file", "sha256_content", "decode_user_text"]


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
        h.update(q.relative_to(p).as_posix().encode())
        h.update(sha256_file(q).encode())
    return h.hexdigest()


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

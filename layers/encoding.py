"""Text encodings of shapefile attributes (.cpg, or detected from the .dbf bytes).

Chinese shapefiles often lack a ``.cpg`` and are GBK/GB18030. The rule: a user's
``encoding=`` wins; else a ``.cpg`` that decodes the text; else UTF-8 if every sampled value
decodes as UTF-8; else GB18030 if the text decodes and looks like Chinese (or Mongolian),
not mojibake; else charset-normalizer's best guess among a few code pages.
"""

from __future__ import annotations

import codecs
import logging
import re
from pathlib import Path

import charset_normalizer
import numpy as np

from sinkplan.layers.errors import InputError
from sinkplan.layers.warnings import TextEncodingWarning, warn

__all__ = ["encoding_label", "shapefile_encoding"]

logger = logging.getLogger(__name__)

_GB = "GB18030"  # superset of GB2312 and GBK (code page 936): how any Chinese code page is read
_CODE_PAGES = {"65001": "UTF-8", "936": _GB, "20936": _GB, "54936": _GB, "950": "BIG5"}
_LDID = {77: _GB, 122: _GB, 78: "CP949", 79: "BIG5", 87: "ISO-8859-1", 3: "CP1252", 1: "CP437"}
_CANDIDATES = ["gb18030", "big5", "cp1252", "cp1251", "shift_jis", "euc_kr", "latin_1"]  # charset-normalizer's
_SAMPLE_BYTES = 256 * 1024  # non-ASCII .dbf text sampled for detection


def _sidecar(base: Path, ext: str) -> Path | None:
    found = [c for c in (base.with_name(base.name + ext), base.with_name(base.name + ext.upper())) if c.is_file()]
    return found[0] if found else None


def encoding_label(name: str, *, user: bool = False) -> str | None:
    """Codec label of an encoding name or code page; a .cpg's GB family reads as GB18030."""
    s = name.strip().strip("\x00").upper()
    if m := re.fullmatch(r"(?:ANSI\s*|CP\s*|WINDOWS-|MS)?(\d+)", s):
        num = m.group(1)
        s = _CODE_PAGES.get(num) or (f"ISO-8859-{num[4:]}" if num.startswith("8859") and len(num) > 4 else f"CP{num}")
    elif m := re.fullmatch(r"LDID/(\d+)", s):
        s = _LDID.get(int(m.group(1)), "")
    try:
        info = codecs.lookup(s)
    except (LookupError, ValueError):  # ValueError: a NUL in the name
        info = None
    if info is None or not getattr(info, "_is_text_encoding", True):
        if user:
            raise InputError(f"encoding {name!r} is not a known text encoding; use e.g. 'GB18030', 'GBK' or 'UTF-8'")
        return None
    if info.name in {"gb2312", "gbk", "gb18030"} and not user:
        return _GB
    return {"utf-8": "UTF-8", "iso8859-1": "ISO-8859-1"}.get(info.name, info.name.upper().replace("_", "-"))


def shapefile_encoding(base: Path) -> tuple[str, str]:
    """(encoding, source) of a shapefile: its .cpg if that decodes the text, else detected."""
    dbf = _sidecar(base, ".dbf")
    sample = _dbf_text_sample(dbf) if dbf is not None else []
    if (cpg := _sidecar(base, ".cpg")) is not None:
        raw = cpg.read_bytes()[:64].decode("ascii", errors="replace").strip()
        label = encoding_label(raw) if raw else None
        if label is not None and all(_decodes(v, label, cut) for v, cut in sample):
            return label, "cpg"
        warn(TextEncodingWarning, f"{cpg} says {raw!r}, which does not decode the text; detecting the encoding",
             logger=__name__)
    if not sample:
        return "UTF-8", "utf-8"
    if all(_decodes(v, "utf-8", cut) for v, cut in sample):
        return "UTF-8", "detected"
    if all(_decodes(v, _GB, cut) for v, cut in sample) and _plausible_chinese(
        "".join(v.decode(_GB, errors="ignore") for v, _ in sample)
    ):
        return _GB, "detected"
    best = charset_normalizer.from_bytes(b"\n".join(v for v, _ in sample), cp_isolation=_CANDIDATES).best()
    if best is None:
        warn(TextEncodingWarning, f"{dbf}: text encoding not recognised; reading it as ISO-8859-1 (name the "
             "encoding to read it otherwise)", logger=__name__)
    return (encoding_label(best.encoding) if best is not None else None) or "ISO-8859-1", "detected"


def _dbf_text_sample(dbf: Path) -> list[tuple[bytes, bool]]:
    """Non-ASCII field names and 'C' values of a .dbf, as (bytes, whether it fills its field)."""
    out: list[tuple[bytes, bool]] = []
    try:
        with open(dbf, "rb") as f:
            head = f.read(32)
            header_len, record_len = int.from_bytes(head[8:10], "little"), int.from_bytes(head[10:12], "little")
            desc, spans, pos = f.read(max(0, header_len - 32)), [], 1  # record byte 0: deletion flag
            for i in range(0, len(desc) - 31, 32):
                if desc[i] == 0x0D:
                    break
                name, ftype, width = desc[i : i + 11].split(b"\x00")[0], desc[i + 11], desc[i + 16]
                if max(name, default=0) >= 0x80:
                    out.append((name, len(name) == 11))
                if ftype == ord("C") and pos + width <= record_len:
                    spans.append((pos, width))
                pos += width
            f.seek(header_len)
            total = sum(len(v) for v, _ in out)
            while spans and total < _SAMPLE_BYTES and len(chunk := f.read(record_len * 4096)) >= record_len:
                recs = np.frombuffer(chunk, np.uint8, len(chunk) // record_len * record_len).reshape(-1, record_len)
                for start, width in spans:
                    col = recs[:, start : start + width]
                    for row in col[(col >= 0x80).any(axis=1)]:
                        value = row.tobytes().rstrip(b" \x00")
                        out.append((value, len(value) == width))
                        total += len(value)
    except (OSError, ValueError) as exc:
        warn(TextEncodingWarning, f"{dbf}: cannot sample its text to detect the encoding ({exc})", logger=__name__)
    return out


def _decodes(value: bytes, encoding: str, cut: bool) -> bool:
    """True when ``value`` decodes; one that fills its field may end mid-character."""
    for end in (len(value), len(value) - 1, len(value) - 2, len(value) - 3)[: 4 if cut else 1]:
        try:
            value[: max(end, 0)].decode(encoding)
            return True
        except UnicodeDecodeError:
            pass
    return False


def _plausible_chinese(text: str) -> bool:
    """Has CJK or Mongolian, and ≥ 80 % of its non-ASCII is GB2312 or Mongolian (not mojibake)."""
    chars = [ch for ch in text if ord(ch) >= 0x80]
    uniq = set(chars)
    mongolian = {ch for ch in uniq if 0x1800 <= ord(ch) <= 0x18AF}
    if not mongolian and not any(0x3400 <= ord(ch) <= 0x9FFF for ch in uniq):
        return False
    common = mongolian | {ch for ch in uniq if ch.encode("gb2312", errors="ignore")}
    return sum(ch in common for ch in chars) >= 0.8 * len(chars)

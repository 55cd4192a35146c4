"""A CJK-capable font for matplotlib figures.

Chinese labels need a font with CJK glyphs; DejaVu (matplotlib's default) has none and
draws boxes ("tofu"). :func:`find_cjk_font` looks for one installed on the system — Debian's
``fonts-wqy-microhei`` (``/usr/share/fonts/truetype/wqy/wqy-microhei.ttc``, what CI
installs) or ``fonts-noto-cjk``, or any font matplotlib knows that has the glyphs — and
registers it with matplotlib (its font cache may predate the font's installation).
:func:`cjk_rc` gives rcParams that put it first with DejaVu Sans as fallback.
"""

from __future__ import annotations

import logging
from functools import lru_cache
from pathlib import Path

__all__ = ["find_cjk_font", "cjk_rc", "has_glyphs", "readable", "to_pinyin", "has_cjk", "KNOWN_CJK_FONTS", "PROBE",
           "FONT_HINT"]

logger = logging.getLogger(__name__)

#: Font files of Debian packages, in order of preference.
KNOWN_CJK_FONTS = (
    "/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",  # fonts-wqy-microhei
    "/usr/share/fonts/opentype/noto/NotoSansCJK-Regular.ttc",  # fonts-noto-cjk
    "/usr/share/fonts/truetype/wqy/wqy-zenhei.ttc",  # fonts-wqy-zenhei
    "/usr/share/fonts/truetype/arphic/uming.ttc",  # fonts-arphic-uming
)
_FAMILY_HINTS = ("WenQuanYi", "Noto Sans CJK", "Noto Serif CJK", "Source Han", "SimHei", "Microsoft YaHei",
                 "PingFang", "Heiti", "AR PL", "Droid Sans Fallback")
#: Characters a CJK font must have: those the figures use most.
PROBE = "碳储量森林覆盖率目标分区装机容量"


def has_glyphs(path: str | Path, text: str = PROBE) -> bool:
    """True if the font file has a glyph for every character of ``text``."""
    from matplotlib.ft2font import FT2Font

    try:
        font = FT2Font(str(path))
    except (OSError, RuntimeError, ValueError):
        return False
    cmap = font.get_charmap()
    return all(ord(ch) in cmap for ch in text)


@lru_cache(maxsize=1)
def find_cjk_font() -> tuple[str, str] | None:
    """(family name, file) of an installed CJK font registered with matplotlib, or None."""
    from matplotlib import font_manager as fm

    candidates = [p for p in KNOWN_CJK_FONTS if Path(p).exists()]
    candidates += [f.fname for f in fm.fontManager.ttflist if any(h in f.name for h in _FAMILY_HINTS)]
    for path in candidates:
        if not has_glyphs(path):
            continue
        fm.fontManager.addfont(path)
        name = fm.FontProperties(fname=path).get_name()
        logger.debug("CJK font: %s (%s)", name, path)
        return name, path
    # not a warning here: the caller that falls back (figures) says so once, with what it does instead
    logger.debug("no CJK font found")
    return None


#: What to install for Chinese figures (the README names it before the first command).
FONT_HINT = "install Debian's fonts-wqy-microhei (apt-get install fonts-wqy-microhei) or fonts-noto-cjk"

_CJK_RANGES = ((0x2E80, 0x9FFF), (0xF900, 0xFAFF), (0xFE30, 0xFE4F), (0xFF00, 0xFFEF), (0x20000, 0x2FA1F))
#: Full-width punctuation → ASCII, so a fallback label has no glyph DejaVu lacks.
_PUNCT = str.maketrans({"（": " (", "）": ")", "，": ", ", "、": ", ", "：": ": ", "；": "; ", "。": ". ",
                        "　": " ", "《": '"', "》": '"', "“": '"', "”": '"', "－": "-", "～": "~"})
#: Suffixes of Chinese administrative names written as a word of their own in pinyin (四子王旗 → Siziwang Qi).
_ADMIN_SUFFIXES = "旗盟市县区镇乡苏木嘎查村"


def has_cjk(text: str) -> bool:
    """True if ``text`` holds a CJK character (or full-width form)."""
    return any(lo <= ord(ch) <= hi for ch in str(text) for lo, hi in _CJK_RANGES)


def to_pinyin(text: str) -> str:
    """Chinese text in pinyin without tones, a word per run of characters, the administrative
    suffix apart (``四子王旗`` → ``Siziwang Qi``; ``宝力格露天矿（已修复）`` → ``Baolige Lutiankuang (Yixiufu)``).

    Uses pypinyin; characters it does not know stay as they are only if they are ASCII.
    """
    from pypinyin import Style, lazy_pinyin

    text = str(text).translate(_PUNCT)
    words, run = [], ""

    def flush(chunk: str) -> None:
        if not chunk:
            return
        suffix = ""
        if len(chunk) > 2 and chunk[-1] in _ADMIN_SUFFIXES:
            chunk, suffix = chunk[:-1], chunk[-1]
        for part in (chunk, suffix):
            if part:
                words.append("".join(lazy_pinyin(part, style=Style.NORMAL, errors="ignore")).capitalize())

    out = []
    for ch in text:
        if has_cjk(ch):
            run += ch
            continue
        flush(run)
        run = ""
        if words:
            out.append(" ".join(words))
            words.clear()
        out.append(ch if ord(ch) < 0x2000 or ch in "−–—→…≥≤±×°·" else "?")
    flush(run)
    if words:
        out.append(" ".join(words))
    joined = "".join(out)
    # a word glued to ASCII text keeps a space: "Qi(2016)" → "Qi (2016)"
    return " ".join(joined.replace("(", " (").split()).replace("( ", "(")


def readable(text: str, *, cjk_font: bool) -> str:
    """``text`` as it can be drawn: unchanged with a CJK font, else in pinyin (see :func:`to_pinyin`)."""
    if cjk_font or not has_cjk(text):
        return str(text)
    return to_pinyin(text)


def cjk_rc() -> dict:
    """matplotlib rcParams: the CJK font first, DejaVu Sans as fallback ({} if none found)."""
    found = find_cjk_font()
    if found is None:
        return {}
    # the families themselves in font.family: matplotlib falls back glyph by glyph only along that
    # list (the generic "sans-serif" resolves to the first font alone, and Arabic or Hebrew zone
    # names came out as boxes with a missing-glyph warning each)
    return {"font.family": [found[0], "DejaVu Sans"], "font.sans-serif": [found[0], "DejaVu Sans"],
            "axes.unicode_minus": False}

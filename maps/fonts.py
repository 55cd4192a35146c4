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

__all__ = ["find_cjk_font", "cjk_rc", "has_glyphs", "KNOWN_CJK_FONTS", "PROBE"]

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
    logger.warning("no CJK font found: Chinese labels would show as boxes; install Debian's fonts-wqy-microhei "
                   "(apt-get install fonts-wqy-microhei) or fonts-noto-cjk")
    return None


def cjk_rc() -> dict:
    """matplotlib rcParams: the CJK font first, DejaVu Sans as fallback ({} if none found)."""
    found = find_cjk_font()
    if found is None:
        return {}
    return {"font.family": "sans-serif", "font.sans-serif": [found[0], "DejaVu Sans"], "axes.unicode_minus": False}

"""Colour ramps and class colours for overlays and legends (pure functions)."""

from __future__ import annotations

import re

import numpy as np

from sinkplan.layers import resultspec as rs

__all__ = ["ramp", "hex_color", "rgba_from_hex", "value_colors", "is_hex_color", "COVERAGE_BINS_PP", "ZONE_TYPE_COLORS",
           "BORDER_BELT_COLOR"]

_HEX = re.compile(r"^#[0-9a-fA-F]{6}$")

#: Coverage minus target, percentage points: class edges of the coverage choropleth.
COVERAGE_BINS_PP = (-10.0, -5.0, -2.0, 0.0, 2.0, 5.0, 10.0)

#: Zone types of eligible land, one colour each in the HTML map, the figures and the thematic map
#: (desert sand, border purple, mine brown, other green). The border *belt* outline uses its own
#: colour (:data:`BORDER_BELT_COLOR`), never the border-area fill.
ZONE_TYPE_COLORS = rs.ZONE_TYPE_COLORS  # the one source, shared with eligible.tif's colour table
BORDER_BELT_COLOR = "#d01c8b"


def ramp(name: str, n: int = 255) -> list[tuple[int, int, int, int]]:
    """``n`` opaque RGBA colours sampled evenly from a matplotlib colour map."""
    from matplotlib import colormaps

    cmap = colormaps[name]
    rgba = (np.asarray(cmap(np.linspace(0.0, 1.0, n))) * 255).round().astype(int)
    return [(int(r), int(g), int(b), 255) for r, g, b, _ in rgba]


def hex_color(rgba) -> str:
    """``#rrggbb`` of an (r, g, b[, a]) tuple of 0–255 ints."""
    r, g, b = (int(v) for v in rgba[:3])
    return f"#{r:02x}{g:02x}{b:02x}"


def is_hex_color(text: str) -> bool:
    """True for a ``#rrggbb`` string (the only colour form written into the page)."""
    return bool(_HEX.match(str(text)))


def rgba_from_hex(text: str, alpha: int = 255) -> tuple[int, int, int, int]:
    """(r, g, b, a) of ``#rrggbb``."""
    if not is_hex_color(text):
        raise ValueError(f"colour {text!r} is not #rrggbb")
    return int(text[1:3], 16), int(text[3:5], 16), int(text[5:7], 16), alpha


def value_colors(values, *, vmin: float, vmax: float, cmap: str) -> list[str]:
    """Hex colour of each value on a ramp between vmin and vmax (NaN → grey)."""
    colors = ramp(cmap, 255)
    v = np.asarray(values, dtype=float)
    span = vmax - vmin if vmax > vmin else 1.0
    idx = np.clip(((v - vmin) / span * 254).round(), 0, 254)
    return ["#bbbbbb" if not np.isfinite(x) else hex_color(colors[int(i)]) for x, i in zip(v, np.nan_to_num(idx))]

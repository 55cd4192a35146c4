"""Dotted-key overrides of a siting profile: ``--set pv.max_slope_deg=5``, ``--sweep KEY=v1,v2``.

Pure functions over the raw TOML mapping; :func:`sinkplan.siting.profile.with_overrides` validates
the result again.
"""

from __future__ import annotations

import copy
import tomllib
from typing import Any

from sinkplan.layers.errors import ConfigError

__all__ = ["parse_value", "parse_assignment", "apply_overrides", "deep_merge"]


def parse_value(text: str) -> Any:
    """A TOML literal (``3``, ``2.5``, ``true``, ``"x"``, ``["a", "b"]``); bare words stay strings."""
    try:
        return tomllib.loads(f"v = {text.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        return text.strip()


def _split_values(text: str) -> list[str]:
    parts, depth, quote, cur = [], 0, "", []
    for ch in text:
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "[":
            depth += 1
        elif ch == "]":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append("".join(cur))
            cur = []
            continue
        cur.append(ch)
    parts.append("".join(cur))
    return [p.strip() for p in parts if p.strip()]


def parse_assignment(text: str, *, many: bool = True) -> tuple[str, list[Any]]:
    """``"pv.max_slope_deg=3,5,10"`` → ``("pv.max_slope_deg", [3, 5, 10])``.

    Raises
    ------
    ConfigError
        No ``=``, an empty key or no value.
    """
    key, eq, values = text.partition("=")
    key = key.strip()
    if not eq or not key or not values.strip():
        raise ConfigError(f"override {text!r}: write KEY=VALUE{',VALUE…' if many else ''}, e.g. pv.max_slope_deg=3,5,10")
    vals = [parse_value(v) for v in (_split_values(values) if many else [values])]
    return key, vals


def apply_overrides(raw: dict[str, Any], overrides: dict[str, Any], *, origin: str = "<profile>") -> dict[str, Any]:
    """A deep copy of ``raw`` with each dotted key set to its value."""
    out = copy.deepcopy(raw)
    for key, value in overrides.items():
        node = out
        parts = key.split(".")
        for i, part in enumerate(parts[:-1]):
            nxt = node.setdefault(part, {})
            if not isinstance(nxt, dict):
                raise ConfigError(f"{origin}: override {key}: {'.'.join(parts[:i + 1])} is a value, not a table")
            node = nxt
        node[parts[-1]] = value
    return out


def deep_merge(base: dict[str, Any], top: dict[str, Any]) -> dict[str, Any]:
    """``base`` with ``top``'s keys set over it, tables merged key by key (lists replaced)."""
    out = copy.deepcopy(base)
    for key, value in top.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out

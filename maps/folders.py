"""Result folders: what kind each is (carbon, coverage, change, site) and its summary."""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sinkplan.layers.errors import InputError, InputFileError

__all__ = ["ResultInfo", "open_result", "detect_kind", "KINDS"]

logger = logging.getLogger(__name__)

KINDS = ("carbon", "coverage", "change", "site")


@dataclass(frozen=True)
class ResultInfo:
    """A result folder: its path, kind, manifest and summary (empty dicts when absent)."""

    path: Path
    kind: str
    manifest: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        obj = json.loads(path.read_text(encoding="utf-8-sig"))
    except ValueError as exc:
        raise InputFileError(f"{path}: not valid JSON ({exc}); rerun the command that wrote this folder") from exc
    return obj if isinstance(obj, dict) else {}


def detect_kind(path: Path, manifest: dict[str, Any], summary: dict[str, Any]) -> str | None:
    """The folder's kind from manifest ``command`` (e.g. ``carbon``, ``demo:site-pv``), else its files."""
    command = str(manifest.get("command", "")).lower()
    word = command.split(":")[-1].split()[0] if command else ""
    for kind in KINDS:
        if word == kind or word.startswith(kind + "-") or word.startswith(kind + "_"):
            return kind
    if (path / "carbon_density.tif").exists() or (path / "stocks_by_zone.csv").exists():
        return "carbon"
    if (path / "eligible.tif").exists() or (path / "exclusions.tif").exists() or (path / "parcels.gpkg").exists():
        return "site"
    if (path / "change.tif").exists():
        return "change"
    zones = summary.get("zones")
    if isinstance(zones, list) and zones and isinstance(zones[0], dict) and "coverage" in zones[0]:
        return "coverage"
    return None


def open_result(path: str | Path) -> ResultInfo:
    """Read a result folder's manifest and summary and tell its kind.

    Raises
    ------
    InputFileError
        The folder does not exist or is not a folder.
    InputError
        The folder is not a carbon, coverage, change or site result.
    """
    p = Path(path)
    if not p.exists():
        raise InputFileError(f"{p}: result folder not found; give a folder written by sinkplan carbon, coverage, change or site")
    if not p.is_dir():
        raise InputFileError(f"{p}: not a folder; give a result folder written by sinkplan carbon, coverage, change or site")
    manifest = _read_json(p / "manifest.json")
    summary = _read_json(p / "summary.json")
    kind = detect_kind(p, manifest, summary)
    if kind is None:
        inner = _result_folders_inside(p)
        if inner:
            shown = ", ".join(str(q) for q in inner[:12]) + (f" and {len(inner) - 12} more" if len(inner) > 12 else "")
            raise InputError(f"{p}: a folder of {len(inner)} result folders, not one result; give them by name: {shown}")
        raise InputError(
            f"{p}: not a result folder of sinkplan carbon, coverage, change or site "
            + (f"(manifest command {manifest['command']!r}; " if manifest.get("command") else "(no manifest.json; ")
            + "no carbon_density.tif, eligible.tif, change.tif or coverage zones in summary.json)"
        )
    return ResultInfo(p, kind, manifest, summary)


def _result_folders_inside(path: Path) -> list[Path]:
    """Sub-folders of ``path`` that are result folders themselves (a demo or project folder)."""
    out = []
    for q in sorted(path.iterdir()):
        if not q.is_dir() or q.name.startswith("."):
            continue
        try:
            if detect_kind(q, _read_json(q / "manifest.json"), _read_json(q / "summary.json")) is not None:
                out.append(q)
        except InputFileError:
            continue
    return out

"""Result folders as the maps read them: kind, manifest, summary and the targets, through the spec.

A folder's kind is the one its ``summary.json`` (or ``manifest.json``) declares
(:mod:`sinkplan.layers.resultspec`); a folder written before the spec had a ``kind`` is
recognised by its manifest's command, then by the files only its kind writes. The maps
read every file by the spec's names and never fall back on shipped data: a change
folder's legend comes from its own ``scheme.csv``, a target from its own ``targets.json``
or summary.
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from sinkplan.layers import resultspec as rs
from sinkplan.layers.errors import InputError, InputFileError, SinkplanError

__all__ = ["ResultInfo", "open_result", "expand_results", "detect_kind", "detect_spec_kind", "folder_targets", "KINDS",
           "reading_result_file"]

logger = logging.getLogger(__name__)

#: Kinds the maps draw (one layer loader each); a restoration folder draws as a change folder.
KINDS = ("carbon", "coverage", "change", "site")
_LOADER = {"carbon": "carbon", "coverage": "coverage", "change": "change", "restoration": "change", "site": "site"}

#: Files only one kind writes (always or usually), to recognise a folder written before the spec's ``kind``.
_SIGNATURES: tuple[tuple[str, tuple[rs.FileSpec, ...]], ...] = (
    ("carbon", (rs.CARBON_DENSITY, rs.STOCKS_BY_ZONE)),
    ("site", (rs.ELIGIBLE, rs.EXCLUSIONS, rs.PARCELS_GPKG)),
    ("restoration", (rs.RESTORATION_EFFECT, rs.PROJECTS_GPKG)),
    ("change", (rs.CARBON_CHANGE, rs.TRANSITIONS_TIF, rs.CHANGE_BY_ZONE)),
    ("coverage", (rs.COVERAGE_BY_ZONE,)),
)
_NAMES = "sinkplan carbon, coverage, change (or its restoration projects) or site"


@dataclass(frozen=True)
class ResultInfo:
    """A result folder: its path, map kind, manifest and summary (empty dicts when absent).

    ``kind`` is the layer loader (``carbon``, ``coverage``, ``change``, ``site``);
    ``spec_kind`` the folder's result kind in :mod:`sinkplan.layers.resultspec`
    (``restoration`` draws as ``change``).
    """

    path: Path
    kind: str
    manifest: dict[str, Any] = field(default_factory=dict)
    summary: dict[str, Any] = field(default_factory=dict)
    spec_kind: str | None = None

    def file(self, fs: rs.FileSpec) -> Path:
        """Path of one of the spec's files in the folder (it may not exist)."""
        return self.path / fs.name

    @property
    def targets(self) -> dict[str, dict[str, Any]]:
        """The targets the run compared against, by key (:func:`folder_targets`)."""
        return folder_targets(self.path, self.summary)


def _unreadable_errors() -> tuple[type[BaseException], ...]:
    """What GDAL, OGR, SQLite and pandas raise on a file they cannot read (damaged, truncated,
    another format under the spec's name, another encoding)."""
    import sqlite3

    import pandas as pd
    import pyogrio.errors
    from rasterio._err import CPLE_BaseError
    from rasterio.errors import RasterioError

    return (RasterioError, CPLE_BaseError, pyogrio.errors.DataSourceError, pyogrio.errors.DataLayerError,
            pyogrio.errors.FeatureError, pyogrio.errors.FieldError, pyogrio.errors.GeometryError, sqlite3.DatabaseError,
            pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError)


@contextlib.contextmanager
def reading_result_file(path: str | Path) -> Iterator[None]:
    """Read one file of a result folder inside this block: a file that cannot be read (a damaged
    or truncated GeoTIFF, GeoPackage or CSV, or one replaced by hand) becomes one
    :class:`InputFileError` naming it, instead of GDAL's, SQLite's or pandas' traceback.

    Examples
    --------
    >>> import tempfile, pathlib
    >>> bad = pathlib.Path(tempfile.mkdtemp()) / "eligible.tif"
    >>> _ = bad.write_bytes(b"not a GeoTIFF at all")
    >>> import rasterio
    >>> with reading_result_file(bad):  # doctest: +ELLIPSIS
    ...     rasterio.open(bad)
    Traceback (most recent call last):
    ...
    sinkplan.layers.errors.InputFileError: .../eligible.tif: cannot be read (...); the file is damaged or was replaced: rerun the command that wrote this folder
    """
    try:
        yield
    except SinkplanError:
        raise
    except _unreadable_errors() as exc:
        reason = " ".join(str(exc).split()) or type(exc).__name__
        raise InputFileError(f"{path}: cannot be read ({reason[:300]}); the file is damaged or was replaced: rerun "
                             "the command that wrote this folder") from None


def _read_json(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    try:
        obj = json.loads(path.read_text(encoding="utf-8-sig"))
    except ValueError as exc:
        raise InputFileError(f"{path}: not valid JSON ({exc}); rerun the command that wrote this folder") from exc
    return obj if isinstance(obj, dict) else {}


def folder_targets(folder: str | Path, summary: dict[str, Any] | None = None) -> dict[str, dict[str, Any]]:
    """{key: target record} a result folder was compared against: its ``targets.json``,
    else the target records of its summary (``target``, ``volume.target``, ``target_key``…).

    Examples
    --------
    >>> folder_targets("/nonexistent", {"target": {"key": "forest_coverage", "value": 0.3, "year": 2030}})
    {'forest_coverage': {'key': 'forest_coverage', 'value': 0.3, 'year': 2030}}
    """
    out: dict[str, dict[str, Any]] = {}
    rec = _read_json(Path(folder) / rs.TARGETS.name) if Path(folder).is_dir() else {}
    for t in rec.get("targets", []) if isinstance(rec.get("targets"), list) else []:
        if isinstance(t, dict) and t.get("key"):
            out.setdefault(str(t["key"]), t)
    s = summary or {}
    cands = [s.get("target"), (s.get("volume") or {}).get("target") if isinstance(s.get("volume"), dict) else None]
    if s.get("target_key"):
        cands.append({"key": s["target_key"], "value": s.get("target_mw"), "unit": "MW", "year": s.get("target_year"),
                      "clause": s.get("target_clause")})
    for t in cands:
        if isinstance(t, dict) and t.get("key") and t.get("value") is not None:
            out.setdefault(str(t["key"]), t)
    return out


def _command_kind(manifest: dict[str, Any]) -> str | None:
    """The kind of a manifest's command (``carbon``, ``demo:site pv``, ``change``)."""
    command = str(manifest.get("command", "")).lower()
    word = command.split(":")[-1].split()[0] if command.strip() else ""
    for kind, spec in rs.SPECS.items():
        for c in spec.commands:
            if word == c or word.startswith(c + "-") or word.startswith(c + "_"):
                return kind
    return None


def detect_spec_kind(path: Path, manifest: dict[str, Any], summary: dict[str, Any]) -> str | None:
    """The folder's result kind: declared in its summary or manifest, else its manifest's command,
    else the files only one kind writes; None when it is not a result folder."""
    for obj in (summary, manifest):
        k = obj.get("kind")
        if isinstance(k, str) and k in rs.SPECS:
            return k
    kind = _command_kind(manifest)
    if kind == "change" and ((path / rs.RESTORATION_EFFECT.name).exists() or "restoration" in summary):
        return "restoration"
    if kind is not None:
        return kind
    for k, files in _SIGNATURES:
        if any((path / f.name).exists() for f in files):
            return k
    zones = summary.get("zones")
    if isinstance(zones, list) and zones and isinstance(zones[0], dict) and "coverage" in zones[0]:
        return "coverage"
    return None


def detect_kind(path: Path, manifest: dict[str, Any], summary: dict[str, Any]) -> str | None:
    """The map kind of a folder (``carbon``, ``coverage``, ``change``, ``site``), None if it has none."""
    return _LOADER.get(detect_spec_kind(path, manifest, summary) or "")


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
        raise InputFileError(f"{p}: result folder not found; give a folder written by {_NAMES}")
    if not p.is_dir():
        raise InputFileError(f"{p}: not a folder; give a result folder written by {_NAMES}")
    manifest = _read_json(p / rs.MANIFEST.name)
    summary = _read_json(p / rs.SUMMARY.name)
    spec_kind = detect_spec_kind(p, manifest, summary)
    kind = _LOADER.get(spec_kind or "")
    if kind is None:
        inner = _result_folders_inside(p)
        if inner:
            shown = ", ".join(str(q) for q in inner[:12]) + (f" and {len(inner) - 12} more" if len(inner) > 12 else "")
            raise InputError(f"{p}: a folder of {len(inner)} result folders, not one result; give them by name: {shown}")
        what = f"{'an' if spec_kind[0] in 'aeiou' else 'a'} {spec_kind} result, which has no map" if spec_kind else (
            f"manifest command {manifest['command']!r}" if manifest.get("command") else f"no {rs.MANIFEST.name}")
        raise InputError(f"{p}: not a result folder of {_NAMES} ({what}; no {rs.CARBON_DENSITY.name}, "
                         f"{rs.ELIGIBLE.name}, {rs.CARBON_CHANGE.name} or {rs.COVERAGE_BY_ZONE.name})")
    return ResultInfo(p, kind, manifest, summary, spec_kind)


def expand_results(paths) -> list[Path]:
    """The result folders a map or figures draw for ``paths``: a ``site --tech pv,wind`` folder
    (kind ``site-account``) stands for its technologies' folders (``pv/``, ``wind/``, in the
    order of its summary's ``tech``), each drawn with its own layers on the one map; any other
    path is returned as given (:func:`open_result` judges it)."""
    out: list[Path] = []
    for path in paths:
        p = Path(path)
        if p.is_dir():
            summary = _read_json(p / rs.SUMMARY.name)
            if detect_spec_kind(p, _read_json(p / rs.MANIFEST.name), summary) == "site-account":
                inner = _result_folders_inside(p)
                if inner:
                    tech = summary.get("tech") or []
                    order = [str(t).strip() for t in (tech.split(",") if isinstance(tech, str) else tech)]
                    inner.sort(key=lambda q: order.index(q.name) if q.name in order else len(order))
                    out.extend(inner)
                    continue
        out.append(p)
    return out


def _result_folders_inside(path: Path) -> list[Path]:
    """Sub-folders of ``path`` that are result folders themselves (a demo or project folder)."""
    out = []
    for q in sorted(path.iterdir()):
        if not q.is_dir() or q.name.startswith("."):
            continue
        try:
            if detect_kind(q, _read_json(q / rs.MANIFEST.name), _read_json(q / rs.SUMMARY.name)) is not None:
                out.append(q)
        except InputFileError:
            continue
    return out

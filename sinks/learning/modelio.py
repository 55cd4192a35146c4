"""Saving and loading fitted models safely: skops files, a reviewed trust list, a checksum.

A pickle runs whatever code its author put in it, so a model file passed between offices
must not be unpickled. Models are saved with ``skops.io`` (a zip of JSON and arrays that
names every type it would construct) and loaded with an explicit, reviewed list of the
types sinkplan's own models need (:data:`TRUSTED_TYPES`); skops refuses anything else.
A sidecar JSON (``model.json`` beside ``model.skops``) carries what the model expects
(feature order, band names, class scheme, codes) and the file's SHA-256, checked before
anything is read.

Loading fails with a one-line :class:`ModelFileError` when the sidecar is missing, the
checksum differs (the file was changed after saving), the file holds types outside the
trust list (e.g. an injected function call), or the estimator is not one sinkplan makes.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from sinkplan.layers.errors import InputFileError
from sinkplan.layers.files import sha256_file
from sinkplan.layers.outputs import atomic_path

__all__ = ["FORMAT", "TRUSTED_TYPES", "ModelFileError", "SavedModel", "load_model", "save_model", "sidecar_path"]

logger = logging.getLogger(__name__)

#: Format tag of the sidecar.
FORMAT = "sinkplan-model/1"

#: Types beyond skops' defaults that sinkplan's models contain, reviewed: the tree
#: structures of scikit-learn's random forests and histogram gradient boosting (plain
#: arrays of split thresholds and leaf values; they hold no callables).
TRUSTED_TYPES: tuple[str, ...] = (
    "sklearn.tree._tree.Tree",
    "sklearn.ensemble._hist_gradient_boosting.predictor.TreePredictor",
)

#: Estimators sinkplan saves (module.qualname).
ESTIMATORS: tuple[str, ...] = (
    "sklearn.ensemble._forest.RandomForestClassifier",
    "sklearn.ensemble._forest.RandomForestRegressor",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingClassifier",
    "sklearn.ensemble._hist_gradient_boosting.gradient_boosting.HistGradientBoostingRegressor",
)


class ModelFileError(InputFileError):
    """A model file is missing, altered after saving, or holds types sinkplan does not trust."""


@dataclass(frozen=True)
class SavedModel:
    """A loaded model and its sidecar."""

    model: Any
    meta: dict
    path: Path


def sidecar_path(path: str | os.PathLike) -> Path:
    """``model.skops`` → ``model.json``."""
    return Path(path).with_suffix(".json")


def _qualname(obj: Any) -> str:
    t = type(obj)
    return f"{t.__module__}.{t.__qualname__}"


def save_model(model: Any, path: str | os.PathLike, *, meta: dict[str, Any]) -> Path:
    """Write ``model`` as skops to ``path`` and its sidecar (``meta`` + checksum) beside it.

    Both files are written under temporary names and renamed. Returns ``path``.

    Raises
    ------
    ValueError
        ``model`` is not an estimator sinkplan saves, or it contains types outside the
        trust list (it could not be loaded back).
    """
    import skops.io as sio

    name = _qualname(model)
    if name not in ESTIMATORS:
        raise ValueError(f"cannot save a {name}; sinkplan saves {', '.join(e.rsplit('.', 1)[1] for e in ESTIMATORS)}")
    path = Path(path)
    data = sio.dumps(model)
    extra = sorted(set(sio.get_untrusted_types(data=data)) - set(TRUSTED_TYPES))
    if extra:
        raise ValueError(f"model holds types outside the trust list: {extra}")
    tmp = atomic_path(path)
    side_tmp = atomic_path(sidecar_path(path))
    try:
        tmp.write_bytes(data)
        record = {
            "format": FORMAT,
            "file": path.name,
            "sha256": hashlib.sha256(data).hexdigest(),
            "estimator": name,
            "versions": {k: _version(k) for k in ("scikit-learn", "skops", "sinkplan")},
            **meta,
        }
        side_tmp.write_text(json.dumps(record, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, path)
        os.replace(side_tmp, sidecar_path(path))
    finally:
        tmp.unlink(missing_ok=True)
        side_tmp.unlink(missing_ok=True)
    logger.info("saved %s to %s (sha256 %s…)", name.rsplit(".", 1)[1], path, record["sha256"][:12])
    return path


def _version(dist: str) -> str:
    try:
        return metadata.version(dist)
    except metadata.PackageNotFoundError:
        return "unknown"


def load_model(path: str | os.PathLike, *, kind: str | None = None) -> SavedModel:
    """Load a model saved by :func:`save_model`, refusing anything altered or untrusted.

    Parameters
    ----------
    path : path-like
        The ``.skops`` file; its sidecar ``.json`` must sit beside it.
    kind : str, optional
        Expected ``kind`` in the sidecar (``"classifier"`` or ``"density-regressor"``).

    Raises
    ------
    ModelFileError
        Missing file or sidecar, checksum mismatch, untrusted types, unexpected estimator
        or kind, or a file skops cannot read.
    """
    import skops.io as sio

    path = Path(path)
    if not path.is_file():
        raise ModelFileError(f"{path}: model file not found; give the model.skops a sinkplan command wrote")
    side = sidecar_path(path)
    if not side.is_file():
        raise ModelFileError(f"{path}: its sidecar {side.name} is missing; keep model.skops and model.json together")
    try:
        meta = json.loads(side.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{side}: not a readable model sidecar ({exc})") from exc
    if not isinstance(meta, dict) or meta.get("format") != FORMAT or not isinstance(meta.get("sha256"), str):
        raise ModelFileError(f"{side}: not a sinkplan model sidecar (format {FORMAT!r} expected)")
    digest = sha256_file(path)
    if digest != meta["sha256"]:
        raise ModelFileError(
            f"{path}: SHA-256 {digest[:16]}… differs from {meta['sha256'][:16]}… recorded in {side.name}; "
            "the file was changed after it was saved: do not use it, retrain or restore the original"
        )
    try:
        found = sio.get_untrusted_types(file=path)
    except Exception as exc:  # skops raises zipfile/JSON/KeyError variants for malformed files
        raise ModelFileError(f"{path}: not a readable skops model ({type(exc).__name__}: {exc})") from exc
    untrusted = sorted(set(found) - set(TRUSTED_TYPES))
    if untrusted:
        raise ModelFileError(
            f"{path}: holds types sinkplan does not trust ({', '.join(untrusted)}); refusing to load it. "
            "Only models written by sinkplan (random forest, gradient boosting) are accepted"
        )
    try:
        model = sio.load(path, trusted=sorted(set(found)))
    except Exception as exc:
        raise ModelFileError(f"{path}: skops refused the file ({type(exc).__name__}: {exc})") from exc
    name = _qualname(model)
    if name not in ESTIMATORS or name != meta.get("estimator"):
        raise ModelFileError(f"{path}: holds a {name}, the sidecar says {meta.get('estimator')}; not a sinkplan model")
    if kind is not None and meta.get("kind") != kind:
        raise ModelFileError(f"{path}: is a {meta.get('kind')!r} model, a {kind!r} model is needed here")
    return SavedModel(model, meta, path)

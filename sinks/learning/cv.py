"""Cross-validation that respects space: samples grouped into square blocks on the ground.

Neighbouring pixels look alike (the same field, the same illumination, the same polygon).
A random split puts neighbours on both sides and reports how well the model recognises
pixels it has almost seen; a **spatially blocked** split holds out whole blocks of
``block_size_m`` metres, which is closer to mapping unseen ground. Both are reported; the
blocked figure is the honest one and is normally lower or equal.

Blocks are laid on a region-centred Lambert azimuthal equal-area projection (metres on the
ground whatever the data's CRS). Polygon samples pass one anchor point per polygon, so all
pixels of a polygon fall in one block.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
from pyproj import CRS, Transformer
from sklearn.model_selection import (
    GroupKFold,
    KFold,
    StratifiedGroupKFold,
    StratifiedKFold,
)

from sinkplan.layers.errors import InputError
from sinkplan.layers.warnings import FewSpatialBlocksWarning, warn

__all__ = [
    "CVResult",
    "classification_metrics",
    "cv_splits",
    "out_of_fold",
    "regression_metrics",
    "spatial_blocks",
]

logger = logging.getLogger(__name__)


def spatial_blocks(x: np.ndarray, y: np.ndarray, crs: CRS | str | int, block_size_m: float) -> np.ndarray:
    """Block id (int64, 0..k-1 in first-appearance order) of points ``(x, y)`` in ``crs``.

    Points are projected to a Lambert azimuthal equal-area CRS centred on their mean
    position, then binned into ``block_size_m`` squares.

    Raises
    ------
    InputError
        ``block_size_m`` is not positive.
    """
    if not block_size_m > 0:
        raise InputError(f"block size {block_size_m} m must be positive")
    x = np.asarray(x, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if x.size == 0:
        return np.zeros(0, dtype=np.int64)
    src = CRS.from_user_input(crs)
    to_ll = Transformer.from_crs(src, "EPSG:4326", always_xy=True)
    lon, lat = to_ll.transform(x, y)
    lon0, lat0 = float(np.mean(lon)), float(np.mean(lat))
    laea = CRS.from_proj4(f"+proj=laea +lat_0={lat0:.6f} +lon_0={lon0:.6f} +datum=WGS84 +units=m +no_defs")
    ex, ey = Transformer.from_crs("EPSG:4326", laea, always_xy=True).transform(lon, lat)
    ix = np.floor((ex - ex.min()) / block_size_m).astype(np.int64)
    iy = np.floor((ey - ey.min()) / block_size_m).astype(np.int64)
    key = ix * (int(iy.max()) + 1) + iy
    _, first, inverse = np.unique(key, return_index=True, return_inverse=True)
    order = np.argsort(np.argsort(first))  # relabel in order of first appearance
    return order[inverse].astype(np.int64)


def cv_splits(y: np.ndarray, groups: np.ndarray | None, *, folds: int, seed: int,
              stratify: bool) -> list[tuple[np.ndarray, np.ndarray]]:
    """Train/test index pairs: grouped by ``groups`` (blocked) or random (``groups=None``).

    The number of folds is reduced to the number of groups when there are fewer.

    Raises
    ------
    InputError
        Fewer than 2 samples or 2 groups.
    """
    n = len(y)
    if folds < 2:
        raise InputError(f"cross-validation needs at least 2 folds, got {folds}")
    if n < 2:
        raise InputError(f"cross-validation needs at least 2 samples, got {n}")
    idx = np.zeros(n)
    if groups is None:
        k = min(folds, n)
        if stratify and np.unique(y, return_counts=True)[1].min() >= k:
            return list(StratifiedKFold(k, shuffle=True, random_state=seed).split(idx, y))
        return list(KFold(k, shuffle=True, random_state=seed).split(idx))
    ngroups = len(np.unique(groups))
    if ngroups < 2:
        raise InputError(
            "all samples fall in one spatial block; lower block_size_m so that the samples span "
            "several blocks", params=("block_size_m",))
    k = min(folds, ngroups)
    if k < folds:
        warn(FewSpatialBlocksWarning, f"only {ngroups} spatial blocks hold samples: using {k} folds instead of {folds}",
             logger=__name__)
    if stratify:
        return list(StratifiedGroupKFold(k, shuffle=True, random_state=seed).split(idx, y, groups))
    return list(GroupKFold(k, shuffle=True, random_state=seed).split(idx, y, groups))


def out_of_fold(make_model: Callable[[], object], X: np.ndarray, y: np.ndarray,
                splits: list[tuple[np.ndarray, np.ndarray]]) -> np.ndarray:
    """Predictions of each sample by a model fitted without its fold.

    A forest predicts through :func:`sinkplan.sinks.learning.classify.predict_pixels` (trees summed
    in a fixed order): scikit-learn's threaded ``predict`` adds the trees in whatever order the
    threads finish, so a regression's CV figures moved in their last bits from run to run.
    """
    from sinkplan.sinks.learning.classify import predict_pixels

    pred = np.empty(len(y), dtype=y.dtype if y.dtype.kind in "iu" else np.float64)
    for train, test in splits:
        model = make_model()
        model.fit(X[train], y[train])
        pred[test] = predict_pixels(model, X[test])
    return pred


@dataclass(frozen=True)
class CVResult:
    """Metrics of one cross-validation scheme."""

    scheme: str  # 'spatial-block' or 'random'
    folds: int
    metrics: dict


def classification_metrics(reference: np.ndarray, predicted: np.ndarray, labels: list[int] | tuple[int, ...]) -> dict:
    """Confusion matrix and accuracy figures of sample predictions.

    The matrix has rows = predicted (map) class and columns = reference class, the
    layout of Olofsson et al.; producer's accuracy = diagonal / column total, user's =
    diagonal / row total, F1 their harmonic mean; Cohen's kappa from the same matrix.
    These are sample-based figures (each sample weighs the same), not area-weighted.

    Examples
    --------
    >>> m = classification_metrics(np.array([1, 1, 2, 2]), np.array([1, 2, 2, 2]), [1, 2])
    >>> m["overall_accuracy"], m["confusion_matrix"]
    (0.75, [[1, 0], [1, 2]])
    """
    labels = [int(v) for v in labels]
    q = len(labels)
    pos = {c: i for i, c in enumerate(labels)}
    ref = np.asarray(reference).astype(np.int64)
    pre = np.asarray(predicted).astype(np.int64)
    cm = np.zeros((q, q), dtype=np.int64)
    np.add.at(cm, (np.array([pos[int(v)] for v in pre], dtype=np.int64),
                   np.array([pos[int(v)] for v in ref], dtype=np.int64)), 1)
    n = cm.sum()
    diag = np.diag(cm).astype(np.float64)
    rows, cols = cm.sum(axis=1), cm.sum(axis=0)
    oa = float(diag.sum() / n) if n else float("nan")
    pe = float((rows * cols).sum() / n**2) if n else float("nan")
    kappa = (oa - pe) / (1 - pe) if pe < 1 else float("nan")
    per_class = []
    for i, c in enumerate(labels):
        pa = diag[i] / cols[i] if cols[i] else None
        ua = diag[i] / rows[i] if rows[i] else None
        f1 = 2 * pa * ua / (pa + ua) if pa is not None and ua is not None and (pa + ua) > 0 else (
            0.0 if pa is not None and ua is not None else None)
        per_class.append({
            "code": c, "reference_samples": int(cols[i]), "predicted_samples": int(rows[i]),
            "producers_accuracy": None if pa is None else float(pa),
            "users_accuracy": None if ua is None else float(ua),
            "f1": None if f1 is None else float(f1),
        })
    return {
        "samples": int(n),
        "overall_accuracy": oa,
        "kappa": float(kappa),
        "labels": labels,
        "confusion_matrix": cm.tolist(),
        "confusion_matrix_layout": "rows: predicted (map) class, columns: reference class, in 'labels' order",
        "per_class": per_class,
    }


def regression_metrics(observed: np.ndarray, predicted: np.ndarray) -> dict:
    """R² (1 − SSE/SST), RMSE, bias (mean predicted − observed) and MAE.

    Examples
    --------
    >>> regression_metrics(np.array([1.0, 2.0, 3.0]), np.array([1.0, 2.0, 4.0]))["bias"]
    0.3333333333333333
    """
    o = np.asarray(observed, dtype=np.float64)
    p = np.asarray(predicted, dtype=np.float64)
    err = p - o
    sst = float(((o - o.mean()) ** 2).sum())
    return {
        "samples": int(o.size),
        "r2": 1.0 - float((err**2).sum()) / sst if sst > 0 else float("nan"),
        "rmse": float(np.sqrt((err**2).mean())),
        "bias": float(err.mean()),
        "mae": float(np.abs(err).mean()),
    }

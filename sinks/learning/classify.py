"""Land-cover classification of a multi-band image with scikit-learn.

Training pixels come from labelled points or polygons (:func:`training_set`); the model is
assessed by spatially blocked and by random cross-validation (:func:`assess`), fitted to
all samples (:func:`fit_classifier`) and applied block by block to the whole image
(:func:`predict_map`): each block is read, turned into features, predicted in chunks of
``chunk`` pixels and written, so memory is bounded by the block budget whatever the
image's size; blocks run in this process or on Dask through :mod:`sinkplan.layers.parallel`.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Union

import geopandas as gpd
import numpy as np
from rasterio.windows import Window

from sinkplan.layers.errors import FieldError, InputError
from sinkplan.layers.grid import DEFAULT_MAX_CELLS, Grid, open_raster
from sinkplan.layers.outputs import BlockWriter
from sinkplan.layers.reading import read_window
from sinkplan.layers.parallel import BlockExecutor, map_blocks
from sinkplan.layers.schemes import ClassScheme
from sinkplan.layers.tally import area_by_key
from sinkplan.sinks.learning.cv import (
    classification_metrics,
    cv_splits,
    out_of_fold,
    spatial_blocks,
)
from sinkplan.sinks.learning.features import FeatureSpec
from sinkplan.sinks.learning.samples import point_pixels, polygon_samples, read_at_pixels, single_points
from sinkplan.layers.parallel import Progress

if TYPE_CHECKING:
    from sklearn.ensemble import (
        HistGradientBoostingClassifier,
        HistGradientBoostingRegressor,
        RandomForestClassifier,
        RandomForestRegressor,
    )

__all__ = [
    "MODELS",
    "ClassifierOptions",
    "TrainingSet",
    "assess",
    "fit_classifier",
    "make_classifier",
    "map_dtype",
    "predict_block",
    "predict_map",
    "training_set",
]

logger = logging.getLogger(__name__)


#: Fitted or unfitted scikit-learn estimators sinkplan uses (random forest / gradient boosting).
Classifier = Union["RandomForestClassifier", "HistGradientBoostingClassifier"]
Regressor = Union["RandomForestRegressor", "HistGradientBoostingRegressor"]

#: Model families: random forest and histogram gradient boosting.
MODELS = ("rf", "hgb")
#: Pixels predicted at once inside a block (bounds the predictor's temporary arrays).
CHUNK_PIXELS = 65_536
#: Groups a random forest's trees are summed in (tree i in group i mod 8), the same for any
#: number of threads (:func:`predict_pixels`).
TREE_GROUPS = 8


@dataclass(frozen=True)
class ClassifierOptions:
    """How to train and assess.

    ``n_estimators`` is the number of trees (rf) or boosting iterations (hgb);
    ``block_size_m`` the side of the spatial CV blocks on the ground.
    """

    model: str = "rf"
    n_estimators: int = 100
    max_depth: int | None = None
    seed: int = 0
    cv_folds: int = 5
    block_size_m: float = 10_000.0
    test_fraction: float | None = None
    max_samples: int = 100_000
    n_jobs: int = -1

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise InputError(f"model {self.model!r}: use one of {', '.join(MODELS)}")
        if self.n_estimators < 1:
            raise InputError(f"n_estimators {self.n_estimators} must be ≥ 1", params=("n_estimators",))
        if self.test_fraction is not None and not 0 < self.test_fraction < 1:
            raise InputError(f"test_fraction {self.test_fraction} must be between 0 and 1 (e.g. 0.3)", params=("test_fraction",))
        if self.max_samples < 10:
            raise InputError(f"max_samples {self.max_samples} is too small; give at least 10", params=("max_samples",))


def make_classifier(opts: ClassifierOptions) -> Classifier:
    """A fresh, unfitted scikit-learn classifier for ``opts``."""
    if opts.model == "rf":
        from sklearn.ensemble import RandomForestClassifier

        return RandomForestClassifier(n_estimators=opts.n_estimators, max_depth=opts.max_depth,
                                      random_state=opts.seed, n_jobs=opts.n_jobs)
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier(max_iter=opts.n_estimators, max_depth=opts.max_depth,
                                          random_state=opts.seed, early_stopping=False)


@dataclass(frozen=True)
class TrainingSet:
    """Training pixels: features ``X`` (n, f), labels ``y`` (n,), CV block of each."""

    X: np.ndarray
    y: np.ndarray
    blocks: np.ndarray
    kind: str  # 'points' or 'polygons'
    features: tuple[str, ...]
    n_features_read: int  # points or polygons in the layer
    dropped: dict = field(default_factory=dict)

    @property
    def labels(self) -> tuple[int, ...]:
        """Class codes present, sorted."""
        return tuple(int(v) for v in np.unique(self.y))

    def counts(self) -> dict[int, int]:
        """Samples per class."""
        vals, n = np.unique(self.y, return_counts=True)
        return {int(v): int(k) for v, k in zip(vals, n)}


def _labels(gdf: gpd.GeoDataFrame, field_name: str, scheme: ClassScheme, where: str) -> np.ndarray:
    if field_name not in gdf.columns:
        cols = ", ".join(c for c in gdf.columns if c != gdf.geometry.name)
        raise FieldError(f"{where}: no field '{field_name}'; available fields: {cols}")
    raw = gdf[field_name]
    if raw.isna().any():
        raise FieldError(f"{where}: field '{field_name}' is empty for {int(raw.isna().sum())} features; fill or drop them")
    try:
        vals = np.array([int(v) if float(v) == int(float(v)) else None for v in raw], dtype=object)
    except (TypeError, ValueError):
        vals = np.array([None] * len(raw), dtype=object)
    bad = sorted({str(r) for r, v in zip(raw, vals) if v is None or int(v) not in scheme or not scheme.is_land(int(v))})
    if bad:
        raise FieldError(
            f"{where}: field '{field_name}' holds {', '.join(bad[:10])}{' …' if len(bad) > 10 else ''}, not land "
            f"class codes of scheme {scheme.name!r} ({', '.join(str(c) for c in scheme.codes)}); "
            "give the class codes or another scheme", params=("scheme",))
    return vals.astype(np.int64)


def training_set(gdf: gpd.GeoDataFrame, label_field: str, grid: Grid, image: str | os.PathLike, spec: FeatureSpec,
                 scheme: ClassScheme, opts: ClassifierOptions, *, where: str = "samples",
                 max_cells: int = DEFAULT_MAX_CELLS) -> TrainingSet:
    """Features and labels at points or inside polygons (in ``grid.crs``).

    Points off the image or on nodata pixels are dropped and counted; polygons give every
    pixel whose centre is inside (subsampled to ``opts.max_samples``), and all pixels of
    a polygon share the CV block of the polygon's representative point.

    Raises
    ------
    FieldError
        Missing label field, empty labels, labels that are not land codes of ``scheme``.
    InputError
        Mixed geometry types, or fewer than 2 classes / 10 samples left.
    """
    labels = _labels(gdf, label_field, scheme, where)
    gdf = single_points(gdf, where=where)
    types = set(gdf.geom_type.unique())
    dropped: dict[str, int] = {}
    if types <= {"Point"}:
        kind = "points"
        rows, cols, inside = point_pixels(gdf, grid)
        dropped["outside_image"] = int((~inside).sum())
        vals, _ = read_at_pixels(image, grid, rows[inside], cols[inside], max_cells=max_cells)
        y = labels[inside]
        ax, ay = gdf.geometry.x.to_numpy()[inside], gdf.geometry.y.to_numpy()[inside]
        if y.size > opts.max_samples:
            sel = np.sort(np.random.default_rng(opts.seed).choice(y.size, opts.max_samples, replace=False))
            dropped["subsampled_out"] = int(y.size - sel.size)
            vals, y, ax, ay = vals[:, sel], y[sel], ax[sel], ay[sel]
    elif types <= {"Polygon", "MultiPolygon"}:
        kind = "polygons"
        ps = polygon_samples(gdf, grid, image, max_samples=opts.max_samples, seed=opts.seed, max_cells=max_cells)
        vals, y = ps.values, labels[ps.polygon]
        anchors = gdf.geometry.representative_point()
        ax, ay = anchors.x.to_numpy()[ps.polygon], anchors.y.to_numpy()[ps.polygon]
        dropped["subsampled_out"] = int(ps.pixels_inside - ps.polygon.size)
        dropped["polygons_without_pixels"] = int(len(gdf) - np.unique(ps.polygon).size)
    else:
        raise InputError(f"{where}: geometries {sorted(types)}; give points or polygons (not both, not lines)")
    ok = spec.valid(vals) if vals.size else np.zeros(0, dtype=bool)
    dropped["nodata_pixels"] = int((~ok).sum())
    vals, y, ax, ay = vals[:, ok], y[ok], ax[ok], ay[ok]
    if y.size < 10 or np.unique(y).size < 2:
        raise InputError(
            f"{where}: {y.size} usable samples in {np.unique(y).size} classes after dropping {dropped}; "
            "a classifier needs at least 10 samples of 2 or more classes on the image"
        )
    X = spec.compute(vals)
    blocks = spatial_blocks(ax, ay, grid.crs, opts.block_size_m)
    return TrainingSet(X, y, blocks, kind, spec.names, len(gdf), dropped)


def assess(ts: TrainingSet, opts: ClassifierOptions, *, progress: Progress | None = None) -> dict:
    """Spatially blocked and random k-fold CV (and a blocked hold-out with ``test_fraction``).

    Returns a dict with ``spatial_block_cv``, ``random_cv`` (each :func:`classification_metrics`
    of the pooled out-of-fold predictions, plus ``folds`` and ``blocks``) and optionally
    ``holdout``.
    """
    labels = ts.labels
    make = partial(make_classifier, opts)
    out: dict = {}
    for i, (name, groups) in enumerate((("spatial_block_cv", ts.blocks), ("random_cv", None))):
        splits = cv_splits(ts.y, groups, folds=opts.cv_folds, seed=opts.seed, stratify=True)
        pred = out_of_fold(make, ts.X, ts.y, splits)
        m = classification_metrics(ts.y, pred, labels)
        m["folds"] = len(splits)
        if groups is not None:
            m["blocks"] = int(np.unique(groups).size)
            m["block_size_m"] = opts.block_size_m
        out[name] = m
        if progress:
            progress((i + 1) / (3 if opts.test_fraction else 2), "cross-validation")
    if opts.test_fraction:
        from sklearn.model_selection import GroupShuffleSplit

        if np.unique(ts.blocks).size < 2:
            raise InputError("all samples fall in one spatial block; lower block_size_m for a blocked hold-out", params=("block_size_m",))
        gss = GroupShuffleSplit(n_splits=1, test_size=opts.test_fraction, random_state=opts.seed)
        train, test = next(gss.split(ts.X, ts.y, ts.blocks))
        model = make()
        model.fit(ts.X[train], ts.y[train])
        m = classification_metrics(ts.y[test], predict_pixels(model, ts.X[test]), labels)
        m["train_samples"], m["test_fraction"] = int(train.size), opts.test_fraction
        out["holdout"] = m
        if progress:
            progress(1.0, "hold-out test")
    return out


def fit_classifier(ts: TrainingSet, opts: ClassifierOptions) -> Classifier:
    """The model fitted to every training sample."""
    model = make_classifier(opts)
    model.fit(ts.X, ts.y)
    return model


def map_dtype(scheme: ClassScheme) -> tuple[str, int]:
    """(dtype, nodata) of a class map: uint8 when the codes fit, nodata the scheme's or a free code."""
    top = max(scheme.codes)
    dtype = "uint8" if top <= 254 else "uint16"
    if scheme.nodata is not None:
        return dtype, int(scheme.nodata)
    if 0 not in scheme.codes:
        return dtype, 0
    return dtype, 255 if dtype == "uint8" else 65535


def predict_pixels(model: Classifier | Regressor, X: np.ndarray, *, threads: int | None = None) -> np.ndarray:
    """``model.predict(X)``, with a random forest's trees run in plain threads.

    scikit-learn's own threading (``n_jobs``) wraps every tree call in a
    ``warnings.catch_warnings`` block, which is not thread-safe and, over thousands of
    calls, floods the log with spurious "sklearn.utils.parallel.delayed" warnings. The
    trees' Cython prediction releases the GIL, so splitting the trees between a few
    threads and averaging gives the same result (the forest's mean of per-tree
    probabilities or values) without that machinery.
    """
    from concurrent.futures import ThreadPoolExecutor

    from sklearn.ensemble import RandomForestClassifier, RandomForestRegressor

    if not isinstance(model, (RandomForestClassifier, RandomForestRegressor)):
        return model.predict(X)
    from sinkplan.layers.parallel import pass_threads

    X = np.ascontiguousarray(X, dtype=np.float32)
    trees = model.estimators_
    # Fixed groups of trees, summed in group order, whatever the number of threads: the
    # floating-point sum (and so a tie between classes) is the same on any machine, and a
    # Dask worker (one thread: pass_threads) gives what one process gives.
    groups = [trees[i::TREE_GROUPS] for i in range(min(TREE_GROUPS, len(trees)))]
    n = max(1, min(threads or pass_threads(), len(groups)))
    clf = isinstance(model, RandomForestClassifier)

    def part(group):
        acc = None
        for t in group:
            p = t.predict_proba(X, check_input=False) if clf else t.predict(X, check_input=False)
            acc = p.astype(np.float64) if acc is None else acc + p
        return acc

    if n == 1:
        parts = [part(g) for g in groups]
    else:
        with ThreadPoolExecutor(n) as pool:
            parts = list(pool.map(part, groups))
    total = parts[0]
    for p in parts[1:]:
        total = total + p
    total /= len(trees)
    return model.classes_.take(np.argmax(total, axis=1)) if clf else total


def predict_block(window: Window, *, image: str, model: Classifier, spec: FeatureSpec, dtype: str, nodata: int,
                  chunk: int = CHUNK_PIXELS) -> np.ndarray:
    """Class codes of one window of ``image`` (nodata where any band has none)."""
    with open_raster(image) as src:
        bands = read_window(src, window, indexes=None)
    ok = spec.valid(bands)
    out = np.full(ok.shape, nodata, dtype=dtype)
    idx = np.flatnonzero(ok.ravel())
    if idx.size:
        flat = bands.reshape(bands.shape[0], -1)
        pred = np.empty(idx.size, dtype=dtype)
        for s in range(0, idx.size, chunk):
            sl = idx[s:s + chunk]
            pred[s:s + sl.size] = predict_pixels(model, spec.compute(flat[:, sl]))
        out.ravel()[idx] = pred
    return out


def predict_map(image: str | os.PathLike, grid: Grid, model: Classifier, spec: FeatureSpec, out_path: str | os.PathLike,
                scheme: ClassScheme, *, max_cells: int = DEFAULT_MAX_CELLS, executor: BlockExecutor | None = None,
                progress: Progress | None = None, tags: dict | None = None) -> dict[int, tuple[int, float]]:
    """Predict every block of ``image`` and write a COG with the scheme's colours.

    Returns ``{code: (pixels, area_m2)}`` of the predicted map (ellipsoidal areas).
    """
    dtype, nodata = map_dtype(scheme)
    windows = list(grid.blocks(max_cells))
    func = partial(predict_block, image=str(image), model=model, spec=spec, dtype=dtype, nodata=nodata)
    nkeys = max(max(scheme.codes), nodata) + 1
    pixels = np.zeros(nkeys, dtype=np.int64)
    area = np.zeros(nkeys)
    cmap = {**scheme.colormap(), nodata: (0, 0, 0, 0)}
    with BlockWriter(out_path, grid, dtype, nodata=nodata, resampling="mode", colormap=cmap,
                     tags={"CLASS_SCHEME": scheme.name, **(tags or {})}, band_description="land cover class") as w:
        for win, codes in zip(windows, map_blocks(func, windows, executor=executor, progress=progress,
                                                   label="predicting land cover")):
            w.write(codes, win)
            px, ar = area_by_key(codes.astype(np.int64), nkeys, grid, win, valid=codes != nodata)
            pixels += px
            area += ar
    return {int(c): (int(pixels[c]), float(area[c])) for c in np.flatnonzero(pixels)}

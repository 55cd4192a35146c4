"""Carbon-density maps from field plots: a regression on covariates and land-cover group.

Inventory plots measure carbon density (Mg C/ha) where a lookup table can only give one
number per class. :func:`plot_data` reads, at each plot, the covariate rasters (any
number, each band a covariate; rasters on another grid are read through a bilinear warp
onto the land-cover grid) and the land-cover group; the model (random forest or gradient
boosting) is trained on covariates + one-hot group, assessed by spatially blocked and by
random cross-validation (R², RMSE, bias), and compared with the lookup table's prediction
at the same plots.

:func:`predict_density_block` maps it block by block. A pixel is predicted only inside the
model's **domain**: every covariate within the range seen at the plots and a land-cover
group that had plots. Elsewhere the raster holds nodata and the pixel *falls back to the
table* (``sinkplan carbon --density-raster`` does the same); the reasons are counted.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import geopandas as gpd
import numpy as np
from rasterio.windows import Window

from sinkplan.layers.errors import FieldError, InputError
from sinkplan.layers.grid import DEFAULT_MAX_CELLS, Grid, open_raster
from sinkplan.layers.landcover import LandCover
from sinkplan.layers.parallel import BlockExecutor
from sinkplan.layers.reading import read_window
from sinkplan.layers.schemes import GROUPS, ClassScheme
from sinkplan.sinks.densities import MAX_DENSITY_MGC_PER_HA, DensityTable
from sinkplan.sinks.learning.classify import Regressor, predict_pixels
from sinkplan.sinks.learning.cv import cv_splits, out_of_fold, regression_metrics, spatial_blocks
from sinkplan.sinks.learning.samples import open_on_grid, point_pixels, read_at_pixels, single_points
from sinkplan.layers.parallel import Progress

__all__ = [
    "DENSITY_NODATA",
    "REASONS",
    "DensityOptions",
    "Domain",
    "PlotData",
    "assess_density",
    "covariate_names",
    "design_matrix",
    "make_regressor",
    "plot_data",
    "predict_density_block",
]

logger = logging.getLogger(__name__)


#: Nodata of the density raster: densities are ≥ 0, so -1 is never a value.
DENSITY_NODATA = -1.0
#: Domain codes of ``domain.tif`` and of the pixel counts (0 is not land / no data).
REASONS = {1: "model", 2: "fallback_covariate_nodata", 3: "fallback_covariate_range", 4: "fallback_landcover_group"}
DOMAIN_NODATA = 0


@dataclass(frozen=True)
class DensityOptions:
    """Model and assessment settings."""

    model: str = "rf"
    n_estimators: int = 200
    max_depth: int | None = None
    min_samples_leaf: int = 3
    seed: int = 0
    cv_folds: int = 5
    block_size_m: float = 10_000.0

    def __post_init__(self) -> None:
        if self.model not in ("rf", "hgb"):
            raise InputError(f"model {self.model!r}: use rf or hgb")
        if self.n_estimators < 1 or self.min_samples_leaf < 1:
            raise InputError("n_estimators and min_samples_leaf must be ≥ 1", params=("n_estimators",))


def make_regressor(opts: DensityOptions) -> Regressor:
    """A fresh, unfitted regressor."""
    if opts.model == "rf":
        from sklearn.ensemble import RandomForestRegressor

        return RandomForestRegressor(n_estimators=opts.n_estimators, max_depth=opts.max_depth,
                                     min_samples_leaf=opts.min_samples_leaf, random_state=opts.seed, n_jobs=-1)
    from sklearn.ensemble import HistGradientBoostingRegressor

    return HistGradientBoostingRegressor(max_iter=opts.n_estimators, max_depth=opts.max_depth,
                                         min_samples_leaf=opts.min_samples_leaf, random_state=opts.seed,
                                         early_stopping=False)


def covariate_names(paths: list[str | os.PathLike]) -> tuple[str, ...]:
    """``stem`` for single-band rasters, ``stem:band`` (description or ``b<i>``) otherwise; unique."""
    names: list[str] = []
    for p in paths:
        with open_raster(p) as src:
            stem = Path(p).stem
            if src.count == 1:
                names.append(stem)
            else:
                names += [f"{stem}:{(d or f'b{i + 1}').lower()}" for i, d in enumerate(src.descriptions)]
    if len(set(names)) != len(names):
        dupes = sorted({n for n in names if names.count(n) > 1})
        raise InputError(f"covariates {dupes} are given twice; pass each raster once")
    return tuple(names)


@dataclass(frozen=True)
class PlotData:
    """Plots usable for training: covariates (n, k), group index (n,), target (n,), CV block."""

    covariates: np.ndarray
    group: np.ndarray
    code: np.ndarray
    target: np.ndarray
    blocks: np.ndarray
    names: tuple[str, ...]
    n_read: int
    dropped: dict = field(default_factory=dict)

    @property
    def groups_present(self) -> tuple[int, ...]:
        """Group indices (into :data:`GROUPS`) that have plots, sorted."""
        return tuple(int(g) for g in np.unique(self.group))


def plot_data(gdf: gpd.GeoDataFrame, target_field: str, lc: LandCover, covariates: list[str | os.PathLike],
              opts: DensityOptions, *, where: str = "plots", max_cells: int = DEFAULT_MAX_CELLS) -> PlotData:
    """Covariates, land-cover group and target at each plot (points in the land-cover CRS).

    Plots off the grid, on nodata land cover, on covariate nodata or with a missing target
    are dropped and counted.

    Raises
    ------
    FieldError
        Missing target field, non-numeric, negative, infinite or impossibly large densities.
    InputError
        Fewer than 10 plots left.
    """
    if target_field not in gdf.columns:
        cols = ", ".join(c for c in gdf.columns if c != gdf.geometry.name)
        raise FieldError(f"{where}: no field '{target_field}'; available fields: {cols}")
    try:
        y = gdf[target_field].astype("float64").to_numpy()
    except (TypeError, ValueError):
        raise FieldError(f"{where}: field '{target_field}' is not numeric; give densities in Mg C/ha") from None
    if (y[np.isfinite(y)] < 0).any():
        raise FieldError(f"{where}: field '{target_field}' has negative densities ({np.nanmin(y)}); densities are ≥ 0 Mg C/ha")
    # NaN is a missing target (dropped and counted); ±inf or a value beyond any ecosystem's
    # stock is a unit slip or a typo that would pull every prediction near it
    bad = np.flatnonzero(np.isinf(y) | (np.isfinite(y) & (y > MAX_DENSITY_MGC_PER_HA)))
    if bad.size:
        listed = ", ".join(f"feature {i + 1}: {y[i]:g}" for i in bad[:5]) + (f" and {bad.size - 5} more" if bad.size > 5 else "")
        raise FieldError(f"{where}: field '{target_field}' holds densities no plot can have ({listed}; at most "
                         f"{MAX_DENSITY_MGC_PER_HA:,.0f} Mg C/ha); check the units (Mg C/ha = t C/ha; g C/m² is 100 "
                         "times larger) or fix those plots")
    grid = lc.grid
    gdf = single_points(gdf, where=where)
    rows, cols, inside = point_pixels(gdf, grid, where=where)
    dropped = {"outside_grid": int((~inside).sum()), "missing_target": int((~np.isfinite(y) & inside).sum())}
    keep = inside & np.isfinite(y)
    rows, cols, y = rows[keep], cols[keep], y[keep]
    x_pt, y_pt = gdf.geometry.x.to_numpy()[keep], gdf.geometry.y.to_numpy()[keep]
    codes, _ = read_at_pixels(lc.path, grid, rows, cols, max_cells=max_cells, resampling="nearest")
    code = codes[0].astype(np.int64)
    lut = lc.scheme.group_lut(max(max(lc.scheme.codes) + 1, int(code.max(initial=0)) + 1))
    grp = np.where(lc.valid_mask(code), lut[np.clip(code, 0, lut.size - 1)], -1)
    grp = np.where(grp == GROUPS.index("nodata"), -1, grp)
    ok = grp >= 0
    dropped["landcover_nodata_or_unknown"] = int((~ok).sum())
    cov = []
    for p in covariates:
        vals, nodata = read_at_pixels(p, grid, rows, cols, max_cells=max_cells)
        bad = ~np.isfinite(vals) | ((vals == nodata) if nodata is not None and np.isfinite(nodata) else False)
        vals[bad] = np.nan
        cov.append(vals)
    X = np.concatenate(cov, axis=0).T if cov else np.zeros((y.size, 0))
    finite = np.isfinite(X).all(axis=1)
    dropped["covariate_nodata"] = int((ok & ~finite).sum())
    ok &= finite
    names = covariate_names(covariates)
    if ok.sum() < 10:
        raise InputError(f"{where}: {int(ok.sum())} usable plots after dropping {dropped}; the model needs at least 10")
    blocks = spatial_blocks(x_pt[ok], y_pt[ok], grid.crs, opts.block_size_m)
    return PlotData(X[ok], grp[ok].astype(np.int64), code[ok], y[ok], blocks, names, len(gdf), dropped)


@dataclass(frozen=True)
class Domain:
    """Where the model may be applied: covariate ranges and groups seen at the plots."""

    names: tuple[str, ...]
    low: tuple[float, ...]
    high: tuple[float, ...]
    groups: tuple[int, ...]  # indices into GROUPS

    @classmethod
    def of(cls, pdata: PlotData) -> Domain:
        """The domain of the training plots."""
        return cls(pdata.names, tuple(float(v) for v in pdata.covariates.min(axis=0)),
                   tuple(float(v) for v in pdata.covariates.max(axis=0)), pdata.groups_present)

    def to_dict(self) -> dict:
        """JSON-ready form."""
        return {"covariates": [{"name": n, "min": lo, "max": hi} for n, lo, hi in zip(self.names, self.low, self.high)],
                "groups": [GROUPS[g] for g in self.groups]}

    @classmethod
    def from_dict(cls, d: dict) -> Domain:
        """Inverse of :meth:`to_dict`."""
        c = d["covariates"]
        return cls(tuple(x["name"] for x in c), tuple(x["min"] for x in c), tuple(x["max"] for x in c),
                   tuple(GROUPS.index(g) for g in d["groups"]))

    def classify(self, cov: np.ndarray, group: np.ndarray) -> np.ndarray:
        """Domain code per pixel (see :data:`REASONS`); ``cov`` (n, k) with NaN for nodata."""
        out = np.full(group.shape, 1, dtype=np.uint8)
        nodata = ~np.isfinite(cov).all(axis=1)
        with np.errstate(invalid="ignore"):
            outside = ((cov < np.array(self.low)) | (cov > np.array(self.high))).any(axis=1)
        out[outside] = 3
        out[nodata] = 2
        out[~np.isin(group, self.groups)] = 4  # a group without plots wins over other reasons
        return out


def design_matrix(cov: np.ndarray, group: np.ndarray, groups: tuple[int, ...]) -> np.ndarray:
    """Covariates followed by one column per training group (1.0 where the pixel's group)."""
    onehot = (np.asarray(group)[:, None] == np.array(groups, dtype=np.int64)[None, :]).astype(np.float32)
    return np.concatenate([np.asarray(cov, dtype=np.float32), onehot], axis=1)


def assess_density(pdata: PlotData, opts: DensityOptions, *, table_at_plots: np.ndarray | None = None) -> dict:
    """Blocked and random k-fold CV of the regression; the table's own fit at the plots."""
    X = design_matrix(pdata.covariates, pdata.group, pdata.groups_present)
    make = partial(make_regressor, opts)
    out: dict = {}
    for name, groups in (("spatial_block_cv", pdata.blocks), ("random_cv", None)):
        splits = cv_splits(pdata.target, groups, folds=opts.cv_folds, seed=opts.seed, stratify=False)
        pred = np.clip(out_of_fold(make, X, pdata.target, splits), 0.0, None)
        m = regression_metrics(pdata.target, pred)
        m["folds"] = len(splits)
        if groups is not None:
            m["blocks"], m["block_size_m"] = int(np.unique(groups).size), opts.block_size_m
        out[name] = m
    if table_at_plots is not None:
        ok = np.isfinite(table_at_plots)
        out["lookup_table"] = regression_metrics(pdata.target[ok], table_at_plots[ok])
    return out


def predict_density_block(window: Window, *, landcover: str, lc_nodata: tuple[int, ...], group_lut: np.ndarray,
                          grid: Grid, covariates: tuple[str, ...], domain: Domain, model: Regressor,
                          fallback_lut: np.ndarray, chunk: int = 65_536) -> tuple[np.ndarray, np.ndarray, dict]:
    """Density (float32, Mg C/ha; nodata outside the domain) and domain codes of one window.

    Also returns, per domain code, pixels and the biomass stock (Mg C) with the table's
    value standing in for fallback pixels: ``{"pixels": int[5], "stock_mgc": float[5],
    "table_stock_mgc": float[5]}`` indexed by domain code.
    """
    with open_raster(landcover) as src:
        codes = read_window(src, window).astype(np.int64)
    land = np.ones(codes.shape, dtype=bool)
    for nd in lc_nodata:
        land &= codes != nd
    safe = np.clip(codes, 0, group_lut.size - 1)
    grp = np.where(land & (codes < group_lut.size), group_lut[safe], -1)
    land &= (grp >= 0) & (grp != GROUPS.index("nodata"))
    idx = np.flatnonzero(land.ravel())
    cov = []
    for p in covariates:
        with open_on_grid(p, grid) as src:
            vals = read_window(src, window, indexes=None, name=p).astype(np.float64)
            if src.nodata is not None and np.isfinite(src.nodata):
                vals[vals == src.nodata] = np.nan
        cov.append(vals.reshape(vals.shape[0], -1)[:, idx])
    cov_m = np.concatenate(cov, axis=0).T if cov else np.zeros((idx.size, 0))
    g = grp.ravel()[idx]
    dom = domain.classify(cov_m, g)
    density = np.full(codes.size, DENSITY_NODATA, dtype=np.float32)
    inside = np.flatnonzero(dom == 1)
    if inside.size:
        X = design_matrix(cov_m[inside], g[inside], domain.groups)
        pred = np.empty(inside.size, dtype=np.float32)
        for s in range(0, inside.size, chunk):
            pred[s:s + chunk] = predict_pixels(model, X[s:s + chunk])
        density[idx[inside]] = np.clip(pred, 0.0, None)  # boosting may undershoot 0; densities are ≥ 0
    domain_codes = np.zeros(codes.size, dtype=np.uint8)
    domain_codes[idx] = dom
    # per-pixel ground area (ha) of the land pixels
    area_ha = np.asarray(grid.pixel_areas_m2(window)).ravel()[idx] / 10_000.0  # m² → ha
    table = fallback_lut[np.clip(codes.ravel()[idx], 0, fallback_lut.size - 1)]
    used = np.where(dom == 1, density[idx], table)
    stats = {
        "pixels": np.bincount(dom, minlength=5).astype(np.int64),
        "stock_mgc": np.bincount(dom, weights=np.nan_to_num(used) * area_ha, minlength=5),  # Mg C/ha × ha
        "table_stock_mgc": np.bincount(dom, weights=np.nan_to_num(table) * area_ha, minlength=5),
    }
    h, w = int(window.height), int(window.width)
    return density.reshape(h, w), domain_codes.reshape(h, w), stats


def fallback_lut(densities: DensityTable, scheme: ClassScheme, pools: tuple[str, ...]) -> np.ndarray:
    """Table density (Mg C/ha) of ``pools`` per class code (index = code; NaN: not in the table).

    ``densities`` is a :class:`sinkplan.sinks.densities.DensityTable`.
    """
    from sinkplan.sinks.densities import POOLS

    bad = [p for p in pools if p not in POOLS]
    if bad or not pools:
        raise InputError(f"pools {list(pools)}: name pools from {', '.join(POOLS)}, e.g. above,below")
    per = densities.resolve(scheme)
    vals = per.per_class()[:, [POOLS.index(p) for p in pools]].sum(axis=1)
    lut = np.full(max(scheme.codes) + 1, np.nan)
    lut[list(per.codes)] = vals
    return lut


def predict_density_map(lc: LandCover, covariates: list[str | os.PathLike], model: Regressor, domain: Domain, lut: np.ndarray,
                        density_path: str | os.PathLike, domain_path: str | os.PathLike, *, tags: dict | None = None,
                        max_cells: int = DEFAULT_MAX_CELLS, executor: BlockExecutor | None = None,
                        progress: Progress | None = None) -> dict:
    """Write the density raster (float32 COG, Mg C/ha) and ``domain.tif``; return summed stats."""
    from sinkplan.layers.outputs import BlockWriter
    from sinkplan.layers.parallel import map_blocks

    grid = lc.grid
    nodatas = tuple(int(v) for v in {lc.nodata, lc.scheme.nodata} - {None})
    func = partial(predict_density_block, landcover=str(lc.path), lc_nodata=nodatas,
                   group_lut=lc.scheme.group_lut(max(lc.scheme.codes) + 1), grid=grid,
                   covariates=tuple(str(c) for c in covariates), domain=domain, model=model, fallback_lut=lut)
    windows = list(grid.blocks(max_cells))
    totals = {"pixels": np.zeros(5, np.int64), "stock_mgc": np.zeros(5), "table_stock_mgc": np.zeros(5)}
    colors = {0: (0, 0, 0, 0), 1: (26, 150, 65, 255), 2: (150, 150, 150, 255), 3: (253, 174, 97, 255), 4: (215, 25, 28, 255)}
    with BlockWriter(density_path, grid, "float32", nodata=DENSITY_NODATA, resampling="average",
                     tags={"UNITS": "Mg C/ha", **(tags or {})}, band_description="carbon density (Mg C/ha)") as dw, \
            BlockWriter(domain_path, grid, "uint8", nodata=DOMAIN_NODATA, resampling="mode", colormap=colors,
                        tags={"CODES": "; ".join(f"{k}={v}" for k, v in REASONS.items())},
                        band_description="model domain") as mw:
        for win, (dens, dom, stats) in zip(windows, map_blocks(func, windows, executor=executor, progress=progress,
                                                               label="predicting density")):
            dw.write(dens, win)
            mw.write(dom, win)
            for k in totals:
                totals[k] += stats[k]
    return totals

"""The learning results: classify an image, plan or estimate areas, map density from plots.

Each function does what the matching command computes and returns a frozen result; each
``write_*`` writes the result folder the command writes (the command calls them), under
the names of :mod:`sinkplan.layers.resultspec`:

* :func:`classify_image` / :func:`apply_classifier` → :class:`ClassifyResult` →
  :func:`write_classify` (``landcover.tif``, accuracies, ``model.skops``, ``scheme.csv``);
* :func:`sinkplan.sinks.learning.estimate.estimate_areas` or :func:`sample_design` →
  :func:`write_area_estimate`;
* :func:`density_model` → :class:`DensityModelResult` → :func:`write_density_model`.

Predicted rasters are streamed block by block into ``workdir`` during the call (keep it
until the writer has run); the writer hard-links (or copies) them into the folder.

Examples
--------
>>> import tempfile
>>> work = tempfile.mkdtemp()
>>> res = classify_image("image.tif", "samples.gpkg", "label", workdir=work)  # doctest: +SKIP
>>> write_classify(res, "classify")  # doctest: +SKIP
"""

from __future__ import annotations

import logging
import os
import shutil
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from sinkplan.layers import resultspec as rs
from sinkplan.layers.errors import InputError
from sinkplan.layers.grid import DEFAULT_MAX_CELLS
from sinkplan.layers.parallel import BlockExecutor, Progress
from sinkplan.layers.resultfolder import ResultFolder, result_folder

__all__ = ["ClassifyResult", "classify_image", "apply_classifier", "write_classify", "SampleDesign", "sample_design",
           "write_area_estimate", "DensityModelResult", "density_model", "write_density_model"]

logger = logging.getLogger(__name__)


def _place(src: Path, dst: Path) -> None:
    """``src`` at ``dst``: a hard link on the same filesystem, else a copy."""
    try:
        os.link(src, dst)
    except OSError:
        shutil.copyfile(src, dst)


def _staged(workdir: str | os.PathLike, fs: rs.FileSpec) -> Path:
    return Path(workdir) / f"result-{os.getpid()}-{os.urandom(4).hex()}-{fs.name}"


# --------------------------------------------------------------------------- classify
@dataclass(frozen=True)
class ClassifyResult:
    """A classified image (what ``sinkplan classify`` writes).

    Attributes
    ----------
    landcover : Path
        The predicted land cover (COG with the scheme's colours) in the workdir.
    map_classes : DataFrame
        ``map_classes.csv``: pixels and area per predicted class.
    summary : dict
        ``summary.json``.
    scheme : ClassScheme
    model : estimator or None
        The fitted model (None when a saved model was applied).
    model_meta : dict or None
        The model's metadata (``model.json``).
    accuracy : dict or None
        ``accuracy.json`` (training set, blocked and random CV); None when applied.
    accuracy_table : DataFrame or None
        ``accuracy.csv``.
    parameters : dict
    inputs : list of Path
    """

    landcover: Path
    map_classes: pd.DataFrame
    summary: dict
    scheme: Any
    model: Any = None
    model_meta: dict | None = None
    accuracy: dict | None = None
    accuracy_table: pd.DataFrame | None = None
    parameters: dict = field(default_factory=dict)
    inputs: list = field(default_factory=list)


def _share_check(map_ha: dict[int, float], compare, sch, acc: dict, *, max_cells: int) -> dict:
    """Class shares of the new map against ``compare``; a warning line naming each class far off."""
    from sinkplan.layers.landcover import class_table, open_landcover
    from sinkplan.sinks.learning.shares import DEFAULT_MIN_POINTS, DEFAULT_RATIO, share_departures

    table = class_table(open_landcover(compare, sch.name), max_cells=max_cells)
    far = share_departures(map_ha, {int(r.code): float(r.area_ha) for r in table.itertuples()})
    names = {c.code: c.name_en for c in sch.classes}
    if far:
        oa = acc.get("spatial_block_cv", {}).get("overall_accuracy")
        listed = "; ".join(f"{names.get(d.code, d.code)} {d.map_share * 100:.1f} % of the map vs {d.compare_share * 100:.1f} % "
                           f"({d.ratio:.1f} ×)" for d in far)
        logger.warning("classified map: class shares far from %s%s: %s; the classifier's samples may not represent "
                       "the classes' real shares: check with area-estimate on a reference sample before using its areas",
                       Path(str(compare)).name, f" (blocked CV OA {oa:.3f})" if isinstance(oa, float) else "", listed)
    return {"compare": str(compare), "ratio": DEFAULT_RATIO, "min_points": DEFAULT_MIN_POINTS,
            "far": [{"code": d.code, "map_share": d.map_share, "compare_share": d.compare_share,
                     "ratio": d.ratio if d.ratio != float("inf") else None} for d in far]}


def classify_image(image: str | os.PathLike, samples: str | os.PathLike, label_field: str, *,
                   workdir: str | os.PathLike, scheme: str = "clcd", band_names: str | None = None,
                   indices: str = "auto", model: str = "rf", n_estimators: int = 100, max_depth: int | None = None,
                   seed: int = 0, cv_folds: int = 5, block_size_m: float = 10_000.0, test_fraction: float | None = None,
                   max_samples: int = 100_000, max_cells: int = DEFAULT_MAX_CELLS, executor: BlockExecutor | None = None,
                   progress: Progress | None = None, compare_landcover: str | os.PathLike | None = None) -> ClassifyResult:
    """Train a classifier on ``samples``, assess it (spatially blocked and random CV) and
    predict ``image`` block by block into ``workdir``.

    Parameters
    ----------
    image : path
        Multi-band image; its grid is the output grid.
    samples, label_field
        Training points or polygons and the field with each one's class code.
    workdir : path
        Where the predicted raster is written.
    scheme, band_names, indices, model, n_estimators, max_depth, seed, cv_folds, block_size_m, test_fraction, max_samples
        As the ``classify`` command's options (``band_names`` a comma list; ``indices``
        ``ndvi``, ``ndwi``, ``none`` or ``auto``).
    max_cells, executor, progress
        Blocks, where prediction runs, ``progress(fraction, label)``.
    compare_landcover : path, optional
        A land-cover map of the area in the same scheme: the new map's class shares are
        checked against it (:func:`sinkplan.sinks.learning.shares.share_departures`); classes
        far off are named in a warning and in summary ``share_check``.

    Raises
    ------
    InputError, FieldError
        Band names that do not match the image, unusable samples.
    """
    from sinkplan.layers.grid import Grid, open_raster
    from sinkplan.layers.schemes import load_scheme
    from sinkplan.layers.vectors import read_vector
    from sinkplan.sinks.learning import classify as C
    from sinkplan.sinks.learning.features import FeatureSpec
    from sinkplan.sinks.learning.report import BLOCKED_VS_RANDOM_NOTE, accuracy_frame, map_class_frame

    sch = load_scheme(scheme)
    grid = Grid.from_raster(image)
    with open_raster(image) as src:
        count, nodata, descs = src.count, src.nodata, src.descriptions
    names = [b.strip() for b in band_names.split(",")] if band_names else [d or f"band{i + 1}" for i, d in enumerate(descs)]
    if len(names) != count:
        raise InputError(f"band_names gives {len(names)} names but {image} has {count} bands")
    if (indices or "auto").strip().lower() == "auto":
        indices = "ndvi" if {"red", "nir"} <= {n.lower() for n in names} else "none"
    idx = tuple(i.strip() for i in indices.split(",") if i.strip() and i.strip().lower() != "none")
    spec = FeatureSpec(tuple(names), idx, nodata)
    opts = C.ClassifierOptions(model=model, n_estimators=n_estimators, max_depth=max_depth, seed=seed, cv_folds=cv_folds,
                               block_size_m=block_size_m, test_fraction=test_fraction, max_samples=max_samples)
    layer = read_vector(samples, to_crs=grid.crs, field=label_field)
    ts = C.training_set(layer.gdf, label_field, grid, image, spec, sch, opts, where=str(samples), max_cells=max_cells)
    acc = C.assess(ts, opts, progress=progress)
    fitted = C.fit_classifier(ts, opts)
    out = _staged(workdir, rs.LANDCOVER_TIF)
    areas = C.predict_map(image, grid, fitted, spec, out, sch, max_cells=max_cells, executor=executor,
                          progress=progress, tags={"MODEL": model, "FEATURES": ",".join(spec.names)})
    meta = {"kind": "classifier", "features": spec.to_dict(), "feature_names": list(spec.names), "scheme": sch.name,
            "classes": list(ts.labels), "options": asdict(opts)}
    training = {"kind": ts.kind, "features_read": ts.n_features_read, "samples": int(ts.y.size),
                "samples_per_class": ts.counts(), "dropped": ts.dropped}
    summary = {"overall_accuracy": {k: acc[k]["overall_accuracy"] for k in acc},
               "kappa": {k: acc[k]["kappa"] for k in acc}, "training_samples": int(ts.y.size),
               "model": model, "features": list(spec.names), "scheme": sch.name,
               "map_area_ha": {str(c): a / 10_000.0 for c, (_, a) in areas.items()}}  # m² → ha
    if compare_landcover is not None:
        summary["share_check"] = _share_check({int(c): a / 10_000.0 for c, (_, a) in areas.items()}, compare_landcover,
                                              sch, acc, max_cells=max_cells)
    params = {"image": str(image), "samples": str(samples), "label_field": label_field, "scheme": sch.name,
              "features": list(spec.names), **asdict(opts), "max_cells": max_cells,
              **({"compare_landcover": str(compare_landcover)} if compare_landcover is not None else {})}
    logger.info("classified %s: blocked CV OA %.3f, random CV OA %.3f", image,
                acc["spatial_block_cv"]["overall_accuracy"], acc["random_cv"]["overall_accuracy"])
    return ClassifyResult(out, map_class_frame(areas, sch), summary, sch, fitted, meta,
                          {"training": training, **acc, "note": BLOCKED_VS_RANDOM_NOTE}, accuracy_frame(acc, sch),
                          params, [Path(image), Path(samples)])


def apply_classifier(image: str | os.PathLike, model_file: str | os.PathLike, *, workdir: str | os.PathLike,
                     max_cells: int = DEFAULT_MAX_CELLS, executor: BlockExecutor | None = None,
                     progress: Progress | None = None) -> ClassifyResult:
    """Predict ``image`` with a saved classifier (checked: checksum, trusted types, bands).

    Raises
    ------
    ModelFileError
        The model file or its sidecar is missing, altered or untrusted.
    InputError
        The image's bands differ from the model's.
    """
    from sinkplan.layers.grid import Grid, open_raster
    from sinkplan.layers.schemes import load_scheme
    from sinkplan.sinks.learning.classify import predict_map
    from sinkplan.sinks.learning.features import FeatureSpec
    from sinkplan.sinks.learning.modelio import load_model
    from sinkplan.sinks.learning.report import map_class_frame

    saved = load_model(model_file, kind="classifier")
    spec = FeatureSpec.from_dict(saved.meta["features"])
    sch = load_scheme(saved.meta["scheme"])
    grid = Grid.from_raster(image)
    with open_raster(image) as src:
        count, nodata = src.count, src.nodata
    if count != spec.n_bands:
        raise InputError(f"{image} has {count} bands; the model in {model_file} expects {spec.n_bands} "
                         f"({', '.join(spec.band_names)})")
    if nodata != spec.band_nodata:
        spec = FeatureSpec(spec.band_names, spec.indices, nodata)
    out = _staged(workdir, rs.LANDCOVER_TIF)
    areas = predict_map(image, grid, saved.model, spec, out, sch, max_cells=max_cells, executor=executor,
                        progress=progress, tags={"MODEL_SHA256": saved.meta["sha256"]})
    summary = {"model_file": str(model_file), "features": list(spec.names), "scheme": sch.name,
               "map_area_ha": {str(c): a / 10_000.0 for c, (_, a) in areas.items()}}
    params = {"image": str(image), "model_file": str(model_file), "model_sha256": saved.meta["sha256"],
              "scheme": sch.name, "max_cells": max_cells}
    return ClassifyResult(out, map_class_frame(areas, sch), summary, sch, parameters=params,
                          inputs=[Path(image), Path(model_file)])


def write_classify(result: ClassifyResult, folder: str | os.PathLike | ResultFolder, *, overwrite: bool = False) -> Path:
    """Write a classify result folder (what ``sinkplan classify`` writes); returns the folder."""
    from sinkplan.sinks.learning.modelio import save_model
    from sinkplan.sinks.mapfiles import scheme_csv_text

    command = "classify" if result.model is not None else "classify --model-file"
    with result_folder(folder, kind="classify", command=command, parameters=result.parameters, inputs=result.inputs,
                       overwrite=overwrite) as rf:
        _place(result.landcover, rf.path(rs.LANDCOVER_TIF))
        if result.model is not None:
            save_model(result.model, rf.path(rs.MODEL_SKOPS), meta=dict(result.model_meta or {}))
        if result.accuracy is not None:
            rf.write_json(rs.ACCURACY_JSON, result.accuracy)
            rf.write_csv(rs.ACCURACY_CSV, result.accuracy_table)
        rf.write_csv(rs.MAP_CLASSES, result.map_classes)
        rf.write_text(rs.SCHEME_CSV, scheme_csv_text(result.scheme))
        rf.write_summary(result.summary)
        return rf.out


# --------------------------------------------------------------------------- area estimate and design
@dataclass(frozen=True)
class SampleDesign:
    """The sample size and allocation of a stratified reference sample (``area-estimate --design``).

    Attributes
    ----------
    design : DataFrame
        ``design.csv``: per stratum map area, weight, anticipated user's accuracy and units
        (recommended, proportional, equal).
    summary : dict
        ``summary.json``: method, sample size, target SE, allocation.
    parameters : dict
    inputs : list of Path
    """

    design: pd.DataFrame
    summary: dict
    parameters: dict = field(default_factory=dict)
    inputs: list = field(default_factory=list)


def sample_design(map: str | os.PathLike, *, scheme: str = "clcd", target_se: float = 0.01, expected_ua: str = "",
                  default_ua: float = 0.85, rare_n: int = 75, max_cells: int = DEFAULT_MAX_CELLS,
                  progress: Progress | None = None) -> SampleDesign:
    """Sample size (Olofsson et al. 2014 eq. 13) and allocation per stratum of ``map``.

    Parameters
    ----------
    map : path
        Land-cover map: its classes are the strata.
    scheme : str
    target_se : float
        Target standard error of the overall accuracy.
    expected_ua : str
        Anticipated user's accuracy per class, ``"CODE=U,..."``.
    default_ua : float
        Anticipated user's accuracy of the other classes.
    rare_n : int
        Units of each rare stratum (50-100 advised).

    Raises
    ------
    InputError
        ``expected_ua`` names codes that are not on the map.
    """
    from sinkplan.layers.landcover import open_landcover
    from sinkplan.sinks.learning.area_estimate import allocate, sample_size
    from sinkplan.sinks.learning.area_tables import strata_areas
    from sinkplan.sinks.learning.report import parse_code_values

    lc = open_landcover(map, scheme)
    ua_given = parse_code_values(expected_ua, "expected_ua")
    px, area_m2 = strata_areas(lc, max_cells=max_cells, progress=progress).total()
    codes = [int(c) for c in np.flatnonzero(px)]
    unknown = sorted(set(ua_given) - set(codes))
    if unknown:
        raise InputError(f"expected_ua names codes {unknown} that are not on the map (codes present: {codes})")
    w = area_m2[codes] / area_m2[codes].sum()
    ua = np.array([ua_given.get(c, default_ua) for c in codes])
    n = sample_size(w, ua, target_se)
    rec, prop, equal = (allocate(n, w, rare_n=rare_n), allocate(n, w, method="proportional"),
                        allocate(n, w, method="equal"))
    df = pd.DataFrame({"code": codes, "name_en": [lc.scheme[c].name_en for c in codes],
                       "map_area_ha": area_m2[codes] / 10_000.0, "weight": w, "expected_users_accuracy": ua,
                       "n_recommended": rec, "n_proportional": prop, "n_equal": equal})
    summary = {"method": "Olofsson et al. 2014 eq. 13: n = (sum W_i S_i / S(O))^2, S_i = sqrt(U_i (1 - U_i)); "
                         f"rare strata get {rare_n} units, the rest proportional to area",
               "sample_size": n, "target_se_overall_accuracy": target_se,
               "allocation": {str(c): int(k) for c, k in zip(codes, rec)}}
    params = {"map": str(map), "scheme": lc.scheme.name, "target_se": target_se, "expected_ua": ua_given,
              "default_ua": default_ua, "rare_n": rare_n}
    return SampleDesign(df, summary, params, [Path(map)])


def write_area_estimate(result, folder: str | os.PathLike | ResultFolder, *, overwrite: bool = False) -> Path:
    """Write an area-estimate result folder (what ``sinkplan area-estimate`` writes) from
    :func:`sinkplan.sinks.learning.estimate.estimate_areas`'s result, or the design folder
    (``--design``) from :func:`sample_design`'s; returns the folder."""
    from sinkplan.layers.resultfolder import targets_record

    if isinstance(result, SampleDesign):
        with result_folder(folder, kind="area-estimate", command="area-estimate --design",
                           parameters=result.parameters, inputs=result.inputs, overwrite=overwrite) as rf:
            rf.write_csv(rs.AE_DESIGN, result.design)
            rf.write_xlsx(rs.AE_DESIGN_XLSX, {"design": result.design})
            rf.write_summary(result.summary)
            return rf.out
    with result_folder(folder, kind="area-estimate", command="area-estimate", parameters=result.parameters,
                       inputs=result.inputs, overwrite=overwrite) as rf:
        sheets = result.sheets()
        files = {"classes": rs.AE_CLASSES, "error_matrix_counts": rs.AE_COUNTS,
                 "error_matrix_proportions": rs.AE_PROPORTIONS, "zones": rs.AE_ZONES}
        for name, df in sheets.items():
            rf.write_csv(files[name], df)
        rf.write_xlsx(rs.AE_XLSX, sheets)
        target = (result.summary.get("forest_coverage") or {}).get("target")
        if target:
            rf.write_json(rs.TARGETS, targets_record(
                {"key": "forest_coverage", **{k: target[k] for k in ("value", "year", "clause") if k in target}}))
        rf.write_summary(result.summary)
        return rf.out


# --------------------------------------------------------------------------- density model
@dataclass(frozen=True)
class DensityModelResult:
    """A carbon-density map from field plots (what ``sinkplan density-model`` writes).

    Attributes
    ----------
    density, domain : Path
        ``density_mgc_per_ha.tif`` and ``domain.tif`` in the workdir.
    cv : DataFrame
        ``cv.csv``: blocked and random CV and the lookup table's error.
    summary : dict
    model : estimator
    model_meta : dict
    parameters : dict
    inputs : list of Path
    """

    density: Path
    domain: Path
    cv: pd.DataFrame
    summary: dict
    model: Any
    model_meta: dict
    parameters: dict = field(default_factory=dict)
    inputs: list = field(default_factory=list)


def density_model(plots: str | os.PathLike, target_field: str, covariates: list[str | os.PathLike],
                  landcover: str | os.PathLike, *, workdir: str | os.PathLike, scheme: str = "clcd",
                  pools: str = "above,below", densities: str | None = None, model: str = "rf", n_estimators: int = 200,
                  max_depth: int | None = None, seed: int = 0, cv_folds: int = 5, block_size_m: float = 10_000.0,
                  max_cells: int = DEFAULT_MAX_CELLS, executor: BlockExecutor | None = None,
                  progress: Progress | None = None) -> DensityModelResult:
    """Regress plot carbon density on covariates and land-cover group, assess it by spatially
    blocked CV and map it block by block into ``workdir`` (pixels outside the model's domain
    fall back to the density table and are counted).

    Raises
    ------
    FieldError, InputError
        Unusable plots (field missing, negative densities, too few plots), unknown pools.
    """
    from sinkplan.layers.grid import Grid
    from sinkplan.layers.landcover import open_landcover
    from sinkplan.layers.schemes import GROUPS
    from sinkplan.layers.vectors import read_vector
    from sinkplan.sinks.densities import load_densities
    from sinkplan.sinks.learning import density_model as D
    from sinkplan.sinks.learning.report import domain_counts

    lc = open_landcover(landcover, scheme)
    for c in covariates:
        Grid.from_raster(c)  # a covariate without CRS fails here, naming the file
    pool_names = tuple(p.strip() for p in pools.split(",") if p.strip())
    table = load_densities(densities)
    lut = D.fallback_lut(table, lc.scheme, pool_names)
    opts = D.DensityOptions(model=model, n_estimators=n_estimators, max_depth=max_depth, seed=seed, cv_folds=cv_folds,
                            block_size_m=block_size_m)
    layer = read_vector(plots, to_crs=lc.grid.crs, field=target_field)
    pdata = D.plot_data(layer.gdf, target_field, lc, covariates, opts, where=str(plots), max_cells=max_cells)
    cv = D.assess_density(pdata, opts, table_at_plots=lut[pdata.code])
    reg = D.make_regressor(opts).fit(D.design_matrix(pdata.covariates, pdata.group, pdata.groups_present), pdata.target)
    domain = D.Domain.of(pdata)
    tags = {"POOLS": ",".join(pool_names), "TARGET_FIELD": target_field, "QUANTITY": f"carbon density, pools {pools}",
            "NODATA_MEANS": "outside the model domain or not land: use the density table there"}
    dens_path, dom_path = _staged(workdir, rs.DENSITY_TIF), _staged(workdir, rs.DOMAIN_TIF)
    totals = D.predict_density_map(lc, covariates, reg, domain, lut, dens_path, dom_path, tags=tags,
                                   max_cells=max_cells, executor=executor, progress=progress)
    meta = {"kind": "density-regressor", "covariates": list(pdata.names), "groups": [GROUPS[g] for g in domain.groups],
            "domain": domain.to_dict(), "pools": list(pool_names), "target_field": target_field,
            "options": asdict(opts)}
    summary = {"target_field": target_field, "units": "Mg C/ha", "pools": list(pool_names),
               "plots": {"read": pdata.n_read, "used": int(pdata.target.size), "dropped": pdata.dropped,
                         "per_group": {GROUPS[g]: int((pdata.group == g).sum()) for g in pdata.groups_present}},
               **cv, "domain": domain.to_dict(),
               **domain_counts(totals["pixels"], totals["stock_mgc"], totals["table_stock_mgc"]),
               "densities": table.origin}
    params = {"plots": str(plots), "target_field": target_field, "covariates": [str(c) for c in covariates],
              "landcover": str(landcover), "scheme": lc.scheme.name, "pools": list(pool_names), "densities": table.origin,
              **asdict(opts), "max_cells": max_cells}
    logger.info("density model: blocked CV R² %.3f, RMSE %.3f Mg C/ha; %d px fell back to the table",
                cv["spatial_block_cv"]["r2"], cv["spatial_block_cv"]["rmse"], summary["fallback_pixels"])
    return DensityModelResult(dens_path, dom_path, pd.DataFrame([{"assessment": k, **v} for k, v in cv.items()]),
                              summary, reg, meta, params, [Path(plots), Path(landcover), *map(Path, covariates)])


def write_density_model(result: DensityModelResult, folder: str | os.PathLike | ResultFolder, *,
                        overwrite: bool = False) -> Path:
    """Write a density-model result folder (what ``sinkplan density-model`` writes); returns the folder."""
    from sinkplan.sinks.learning.modelio import save_model

    with result_folder(folder, kind="density-model", command="density-model", parameters=result.parameters,
                       inputs=result.inputs, overwrite=overwrite) as rf:
        _place(result.density, rf.path(rs.DENSITY_TIF))
        _place(result.domain, rf.path(rs.DOMAIN_TIF))
        save_model(result.model, rf.path(rs.MODEL_SKOPS), meta=dict(result.model_meta))
        rf.write_csv(rs.CV_CSV, result.cv)
        rf.write_summary(result.summary)
        return rf.out

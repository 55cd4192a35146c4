"""``sinkplan classify | area-estimate | density-model``: learning from samples and plots.

* ``classify IMAGE --samples S --label-field F --out DIR``: a random forest / gradient
  boosting classifier on the image's bands (+ NDVI), spatially blocked and random CV,
  ``landcover.tif`` predicted block by block, ``accuracy.json/.csv``, ``model.skops``.
* ``area-estimate MAP --reference P --ref-field F --out DIR``: Olofsson et al. (2014)
  error-adjusted areas with 95 % CIs, accuracies and forest coverage; ``--design`` gives
  the sample size and allocation instead.
* ``density-model --plots P --target-field F --covariates R... --landcover LC --out DIR``:
  a carbon-density map from field plots, with a domain check (fallback to the table).

Inputs are validated before the result folder is opened; any failure leaves no folder.
"""

from __future__ import annotations

import argparse
import logging
from pathlib import Path

import numpy as np
import pandas as pd

from sinkplan.layers.errors import InputError, InputFileError
from sinkplan.context import RunContext
from sinkplan.layers import resultspec as rs

logger = logging.getLogger(__name__)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, metavar="DIR", help="result folder")
    p.add_argument("--scheme", default="clcd", help="class scheme of the codes: clcd (default), worldcover, globeland30 or a CSV/TOML")
    p.add_argument("--overwrite", action="store_true", help="replace an existing result folder")


def _model_opts(p: argparse.ArgumentParser, trees: int) -> None:
    p.add_argument("--model", choices=("rf", "hgb"), default="rf", help="random forest (default) or histogram gradient boosting")
    p.add_argument("--n-estimators", type=int, default=trees, metavar="N", help=f"trees / boosting iterations (default {trees})")
    p.add_argument("--max-depth", type=int, default=None, metavar="N", help="maximum tree depth (default: unlimited)")
    p.add_argument("--seed", type=int, default=0, help="random seed (reproducible models and folds)")
    p.add_argument("--cv-folds", type=int, default=5, metavar="K", help="cross-validation folds (default 5)")
    p.add_argument("--block-size-m", type=float, default=10_000.0, metavar="M",
                   help="side of the spatial CV blocks on the ground, metres (default 10000)")


def register(sub, common) -> None:
    p = sub.add_parser("classify", parents=[common], help="classify an image into land cover (scikit-learn)",
                       description="Train a classifier on image pixels at labelled points or inside labelled polygons, "
                       "assess it by spatially blocked and random cross-validation and predict the whole image block by block.")
    p.add_argument("image", help="multi-band image (GeoTIFF); its grid is the output grid")
    p.add_argument("--samples", metavar="FILE", help="training points or polygons")
    p.add_argument("--label-field", metavar="FIELD", help="field with the class code of each sample")
    p.add_argument("--model-file", metavar="MODEL.skops", help="apply a saved model (from an earlier classify) instead of training")
    p.add_argument("--band-names", default=None, metavar="B1,B2,..", help="band names (default: the file's descriptions)")
    p.add_argument("--indices", default="auto", metavar="LIST",
                   help="indices added as features: ndvi, ndwi, none or auto (default: ndvi when bands named red and nir exist)")
    p.add_argument("--test-fraction", type=float, default=None, metavar="F", help="also hold out this share of spatial blocks as a test set")
    p.add_argument("--max-samples", type=int, default=100_000, metavar="N", help="training pixels kept (random subsample; default 100000)")
    p.add_argument("--workers", type=int, default=0, metavar="N", help="local Dask workers for prediction (default 0)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="a running Dask scheduler for prediction")
    _model_opts(p, 100)
    _common(p)
    p.set_defaults(func=run_classify)

    p = sub.add_parser("area-estimate", parents=[common], help="error-adjusted class areas with 95 %% CIs (Olofsson et al. 2014)",
                       description="Stratified estimation of class areas, accuracies and forest coverage from a reference "
                       "sample stratified by the map (Olofsson et al. 2014); --design plans the sample instead.")
    p.add_argument("map", help="land-cover map (class codes): the strata")
    p.add_argument("--reference", metavar="POINTS", help="reference points with the true class")
    p.add_argument("--ref-field", metavar="FIELD", help="field with the reference class code")
    p.add_argument("--zones", metavar="FILE", help="zone polygons: estimates per zone as well")
    p.add_argument("--zone-field", metavar="FIELD", help="field naming the zones")
    p.add_argument("--coverage-groups", default="forest", metavar="G1,G2", help="groups counted as forest cover (default forest)")
    p.add_argument("--design", action="store_true", help="plan the sample: size (eq. 13) and allocation per stratum")
    p.add_argument("--target-se", type=float, default=0.01, metavar="SE", help="design: target standard error of overall accuracy")
    p.add_argument("--expected-ua", default="", metavar="CODE=U,..", help="design: anticipated user's accuracy per class")
    p.add_argument("--default-ua", type=float, default=0.85, metavar="U", help="design: anticipated user's accuracy of other classes")
    p.add_argument("--rare-n", type=int, default=75, metavar="N", help="design: units for each rare stratum (50-100 advised; default 75)")
    _common(p)
    p.set_defaults(func=run_area_estimate)

    p = sub.add_parser("density-model", parents=[common], help="carbon-density map from field plots (regression)",
                       description="Regress plot carbon density on covariate rasters and land-cover group; spatially blocked "
                       "CV; predicted density raster with a domain check (pixels outside fall back to the table).")
    p.add_argument("--plots", required=True, metavar="POINTS", help="field plots")
    p.add_argument("--target-field", required=True, metavar="FIELD", help="density field, Mg C/ha")
    p.add_argument("--covariates", required=True, nargs="+", metavar="RASTER", help="covariate rasters (bilinear onto the land-cover grid)")
    p.add_argument("--landcover", required=True, metavar="LC", help="land-cover raster: the working grid and the group of each pixel")
    p.add_argument("--pools", default="above,below", help="table pools the target measures (default above,below)")
    p.add_argument("--densities", default=None, metavar="TABLE", help="fallback density table (default: the shipped table)")
    p.add_argument("--workers", type=int, default=0, metavar="N", help="local Dask workers for prediction (default 0)")
    p.add_argument("--scheduler", default=None, metavar="ADDRESS", help="a running Dask scheduler for prediction")
    _model_opts(p, 200)
    _common(p)
    p.set_defaults(func=run_density_model)


def _path(value: str | None, what: str) -> Path:
    if not value:
        raise InputError(f"{what} is required")
    p = Path(value)
    if not p.exists():
        raise InputFileError(f"{p}: {what} not found; check the path")
    return p


def run_classify(args: argparse.Namespace, ctx: RunContext) -> int:
    if args.model_file:
        apply_model(image=_path(args.image, "image"), model_file=Path(args.model_file), out=Path(args.out), ctx=ctx)
        return 0
    if not args.samples or not args.label_field:
        raise InputError("classify needs --samples FILE and --label-field FIELD (or --model-file to apply a saved model)")
    classify(image=_path(args.image, "image"), samples=_path(args.samples, "--samples"), label_field=args.label_field,
             out=Path(args.out), ctx=ctx, scheme=args.scheme, band_names=args.band_names, indices=args.indices,
             model=args.model, n_estimators=args.n_estimators, max_depth=args.max_depth, seed=args.seed,
             cv_folds=args.cv_folds, block_size_m=args.block_size_m, test_fraction=args.test_fraction,
             max_samples=args.max_samples)
    return 0


def run_area_estimate(args: argparse.Namespace, ctx: RunContext) -> int:
    if args.design:
        area_design(map_path=_path(args.map, "map"), out=Path(args.out), ctx=ctx, scheme=args.scheme,
                    target_se=args.target_se, expected_ua=args.expected_ua, default_ua=args.default_ua, rare_n=args.rare_n)
        return 0
    if not args.reference or not args.ref_field:
        raise InputError("area-estimate needs --reference POINTS and --ref-field FIELD (or --design to plan a sample)")
    area_estimate(map_path=_path(args.map, "map"), reference=_path(args.reference, "--reference"),
                  ref_field=args.ref_field, out=Path(args.out), ctx=ctx, scheme=args.scheme,
                  zones=_path(args.zones, "--zones") if args.zones else None, zone_field=args.zone_field,
                  coverage_groups=args.coverage_groups)
    return 0


def run_density_model(args: argparse.Namespace, ctx: RunContext) -> int:
    density_model(plots=_path(args.plots, "--plots"), target_field=args.target_field,
                  covariates=[_path(c, "covariate") for c in args.covariates], landcover=_path(args.landcover, "--landcover"),
                  out=Path(args.out), ctx=ctx, scheme=args.scheme, pools=args.pools, densities=args.densities,
                  model=args.model, n_estimators=args.n_estimators, max_depth=args.max_depth, seed=args.seed,
                  cv_folds=args.cv_folds, block_size_m=args.block_size_m)
    return 0


def learn_step(region, out: Path, ctx: RunContext) -> list[Path]:
    """Demo: classify the image, estimate areas and forest coverage from the reference sample, map density from plots."""
    ctx = RunContext(quiet=ctx.quiet, debug=ctx.debug, max_cells=ctx.max_cells, workers=ctx.workers,
                     scheduler=ctx.scheduler, overwrite=True)
    classify(image=region.image, samples=region.training_points, label_field="label", out=out / "classify", ctx=ctx,
             model="rf", n_estimators=25, max_depth=10, seed=0, block_size_m=10_000.0)
    area_estimate(map_path=region.landcover_2020, reference=region.reference_points, ref_field="ref_code",
                  out=out / "area_estimate", ctx=ctx, zones=region.leagues, zone_field=region.zone_field)
    density_model(plots=region.plots, target_field="density_mgc_per_ha", covariates=[region.image, region.dem],
                  landcover=region.landcover_2020, out=out / "density_model", ctx=ctx, n_estimators=30, max_depth=8,
                  seed=0)
    return [out / "classify", out / "area_estimate", out / "density_model"]


def classify(*, image: Path, samples: Path, label_field: str, out: Path, ctx: RunContext, scheme: str = "clcd",
             band_names: str | None = None, indices: str = "auto", model: str = "rf", n_estimators: int = 100,
             max_depth: int | None = None, seed: int = 0, cv_folds: int = 5, block_size_m: float = 10_000.0,
             test_fraction: float | None = None, max_samples: int = 100_000) -> Path:
    """Train, assess, predict and save; returns the result folder."""
    from dataclasses import asdict

    from sinkplan.layers.grid import Grid, open_raster
    from sinkplan.sinks_inputs import executor
    from sinkplan.layers.schemes import load_scheme
    from sinkplan.layers.vectors import read_vector
    from sinkplan.results import ResultFolder
    from sinkplan.sinks.learning import classify as C
    from sinkplan.sinks.learning.features import FeatureSpec
    from sinkplan.sinks.learning.modelio import save_model
    from sinkplan.sinks.learning.report import (
        BLOCKED_VS_RANDOM_NOTE,
        accuracy_frame,
        map_class_frame,
    )

    sch = load_scheme(scheme)
    grid = Grid.from_raster(image)
    with open_raster(image) as src:
        count, nodata, descs = src.count, src.nodata, src.descriptions
    names = [b.strip() for b in band_names.split(",")] if band_names else [d or f"band{i + 1}" for i, d in enumerate(descs)]
    if len(names) != count:
        raise InputError(f"--band-names gives {len(names)} names but {image} has {count} bands")
    if (indices or "auto").strip().lower() == "auto":
        indices = "ndvi" if {"red", "nir"} <= {n.lower() for n in names} else "none"
    idx = tuple(i.strip() for i in indices.split(",") if i.strip() and i.strip().lower() != "none")
    spec = FeatureSpec(tuple(names), idx, nodata)
    opts = C.ClassifierOptions(model=model, n_estimators=n_estimators, max_depth=max_depth, seed=seed, cv_folds=cv_folds,
                               block_size_m=block_size_m, test_fraction=test_fraction, max_samples=max_samples)
    layer = read_vector(samples, to_crs=grid.crs, field=label_field)
    ts = C.training_set(layer.gdf, label_field, grid, image, spec, sch, opts, where=str(samples), max_cells=ctx.max_cells)
    with ctx.progress("cross-validation") as progress:
        acc = C.assess(ts, opts, progress=progress)
    fitted = C.fit_classifier(ts, opts)
    params = {"image": str(image), "samples": str(samples), "label_field": label_field, "scheme": sch.name,
              "features": list(spec.names), **asdict(opts), "max_cells": ctx.max_cells}
    with ResultFolder(out, kind="classify", command="classify", parameters=params, inputs=[image, samples], overwrite=ctx.overwrite) as rf:
        with executor(ctx) as ex, ctx.progress("predicting") as progress:
            areas = C.predict_map(image, grid, fitted, spec, rf.path(rs.LANDCOVER_TIF), sch, max_cells=ctx.max_cells,
                                  executor=ex, progress=progress, tags={"MODEL": model, "FEATURES": ",".join(spec.names)})
        save_model(fitted, rf.path(rs.MODEL_SKOPS), meta={
            "kind": "classifier", "features": spec.to_dict(), "feature_names": list(spec.names), "scheme": sch.name,
            "classes": list(ts.labels), "options": asdict(opts)})
        training = {"kind": ts.kind, "features_read": ts.n_features_read, "samples": int(ts.y.size),
                    "samples_per_class": ts.counts(), "dropped": ts.dropped}
        rf.write_json(rs.ACCURACY_JSON, {"training": training, **acc, "note": BLOCKED_VS_RANDOM_NOTE})
        rf.write_csv(rs.ACCURACY_CSV, accuracy_frame(acc, sch))
        rf.write_csv(rs.MAP_CLASSES, map_class_frame(areas, sch))
        rf.write_summary({
            "overall_accuracy": {k: acc[k]["overall_accuracy"] for k in acc},
            "kappa": {k: acc[k]["kappa"] for k in acc}, "training_samples": int(ts.y.size),
            "model": model, "features": list(spec.names), "scheme": sch.name,
            "map_area_ha": {str(c): a / 10_000.0 for c, (_, a) in areas.items()}})  # m² → ha
    logger.info("classified %s: blocked CV OA %.3f, random CV OA %.3f", image,
                acc["spatial_block_cv"]["overall_accuracy"], acc["random_cv"]["overall_accuracy"])
    return out


def apply_model(*, image: Path, model_file: Path, out: Path, ctx: RunContext) -> Path:
    """Predict ``image`` with a saved classifier (checked: checksum, trusted types, bands)."""
    from sinkplan.layers.grid import Grid, open_raster
    from sinkplan.sinks_inputs import executor
    from sinkplan.layers.schemes import load_scheme
    from sinkplan.results import ResultFolder
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
        raise InputError(f"{image} has {count} bands; the model in {model_file} expects {spec.n_bands} ({', '.join(spec.band_names)})")
    if nodata != spec.band_nodata:
        spec = FeatureSpec(spec.band_names, spec.indices, nodata)
    params = {"image": str(image), "model_file": str(model_file), "model_sha256": saved.meta["sha256"], "scheme": sch.name}
    with ResultFolder(out, kind="classify", command="classify --model-file", parameters=params, inputs=[image, model_file],
                      overwrite=ctx.overwrite) as rf:
        with executor(ctx) as ex, ctx.progress("predicting") as progress:
            areas = predict_map(image, grid, saved.model, spec, rf.path(rs.LANDCOVER_TIF), sch, max_cells=ctx.max_cells,
                                executor=ex, progress=progress, tags={"MODEL_SHA256": saved.meta["sha256"]})
        rf.write_csv(rs.MAP_CLASSES, map_class_frame(areas, sch))
        rf.write_summary({"model_file": str(model_file), "features": list(spec.names), "scheme": sch.name,
                                       "map_area_ha": {str(c): a / 10_000.0 for c, (_, a) in areas.items()}})
    return out


def area_estimate(*, map_path: Path, reference: Path, ref_field: str, out: Path, ctx: RunContext, scheme: str = "clcd",
                  zones: Path | None = None, zone_field: str | None = None, coverage_groups: str = "forest") -> Path:
    """Olofsson et al. (2014) stratified estimates (:func:`sinkplan.sinks.learning.estimate.estimate_areas`); returns the result folder."""
    from sinkplan.layers.schemes import GROUPS
    from sinkplan.results import ResultFolder
    from sinkplan.sinks.learning.estimate import estimate_areas

    groups = tuple(g.strip() for g in coverage_groups.split(",") if g.strip())
    if not groups or set(groups) - set(GROUPS):
        raise InputError(f"--coverage-groups {coverage_groups!r}: name groups from {', '.join(GROUPS)}")
    with ctx.progress("mapped areas") as progress:
        res = estimate_areas(map_path, reference, ref_field=ref_field, scheme=scheme, zones=zones, zone_field=zone_field,
                             coverage_groups=groups, max_cells=ctx.max_cells, progress=progress)
    params = {"map": str(map_path), "reference": str(reference), "ref_field": ref_field, "scheme": res.landcover.scheme.name,
              "zones": None if zones is None else str(zones), "zone_field": zone_field, "coverage_groups": list(groups)}
    with ResultFolder(out, kind="area-estimate", command="area-estimate", parameters=params, inputs=[map_path, reference, zones],
                      overwrite=ctx.overwrite) as rf:
        sheets = res.sheets()
        for name, df in sheets.items():
            rf.write_csv(f"{name}.csv", df)
        rf.write_xlsx(rs.AE_XLSX, sheets)
        rf.write_summary(res.summary)
    return out


def area_design(*, map_path: Path, out: Path, ctx: RunContext, scheme: str = "clcd", target_se: float = 0.01,
                expected_ua: str = "", default_ua: float = 0.85, rare_n: int = 75) -> Path:
    """Sample size (eq. 13) and allocation per stratum; returns the result folder."""
    from sinkplan.layers.landcover import open_landcover
    from sinkplan.results import ResultFolder
    from sinkplan.sinks.learning.area_estimate import allocate, sample_size
    from sinkplan.sinks.learning.area_tables import strata_areas
    from sinkplan.sinks.learning.report import parse_code_values

    lc = open_landcover(map_path, scheme)
    ua_given = parse_code_values(expected_ua, "--expected-ua")
    with ctx.progress("mapped areas") as progress:
        px, area_m2 = strata_areas(lc, max_cells=ctx.max_cells, progress=progress).total()
    codes = [int(c) for c in np.flatnonzero(px)]
    unknown = sorted(set(ua_given) - set(codes))
    if unknown:
        raise InputError(f"--expected-ua names codes {unknown} that are not on the map (codes present: {codes})")
    w = area_m2[codes] / area_m2[codes].sum()
    ua = np.array([ua_given.get(c, default_ua) for c in codes])
    n = sample_size(w, ua, target_se)
    rec, prop, equal = (allocate(n, w, rare_n=rare_n), allocate(n, w, method="proportional"),
                        allocate(n, w, method="equal"))
    df = pd.DataFrame({"code": codes, "name_en": [lc.scheme[c].name_en for c in codes],
                       "map_area_ha": area_m2[codes] / 10_000.0, "weight": w, "expected_users_accuracy": ua,
                       "n_recommended": rec, "n_proportional": prop, "n_equal": equal})
    params = {"map": str(map_path), "scheme": lc.scheme.name, "target_se": target_se, "expected_ua": ua_given,
              "default_ua": default_ua, "rare_n": rare_n}
    with ResultFolder(out, kind="area-estimate", command="area-estimate --design", parameters=params, inputs=[map_path],
                      overwrite=ctx.overwrite) as rf:
        rf.write_csv(rs.AE_DESIGN, df)
        rf.write_xlsx(rs.AE_DESIGN_XLSX, {"design": df})
        rf.write_summary({
            "method": "Olofsson et al. 2014 eq. 13: n = (sum W_i S_i / S(O))^2, S_i = sqrt(U_i (1 - U_i)); "
                      f"rare strata get {rare_n} units, the rest proportional to area",
            "sample_size": n, "target_se_overall_accuracy": target_se,
            "allocation": {str(c): int(k) for c, k in zip(codes, rec)}})
    return out


def density_model(*, plots: Path, target_field: str, covariates: list[Path], landcover: Path, out: Path,
                  ctx: RunContext, scheme: str = "clcd", pools: str = "above,below", densities: str | None = None,
                  model: str = "rf", n_estimators: int = 200, max_depth: int | None = None, seed: int = 0,
                  cv_folds: int = 5, block_size_m: float = 10_000.0) -> Path:
    """Plot-based density model and map; returns the result folder."""
    from dataclasses import asdict

    from sinkplan.layers.grid import Grid
    from sinkplan.layers.landcover import open_landcover
    from sinkplan.sinks_inputs import executor
    from sinkplan.layers.schemes import GROUPS
    from sinkplan.layers.vectors import read_vector
    from sinkplan.results import ResultFolder
    from sinkplan.sinks.densities import load_densities
    from sinkplan.sinks.learning import density_model as D
    from sinkplan.sinks.learning.modelio import save_model
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
    pdata = D.plot_data(layer.gdf, target_field, lc, covariates, opts, where=str(plots), max_cells=ctx.max_cells)
    cv = D.assess_density(pdata, opts, table_at_plots=lut[pdata.code])
    reg = D.make_regressor(opts).fit(D.design_matrix(pdata.covariates, pdata.group, pdata.groups_present), pdata.target)
    domain = D.Domain.of(pdata)
    params = {"plots": str(plots), "target_field": target_field, "covariates": [str(c) for c in covariates],
              "landcover": str(landcover), "scheme": lc.scheme.name, "pools": list(pool_names), "densities": table.origin,
              **asdict(opts), "max_cells": ctx.max_cells}
    tags = {"POOLS": ",".join(pool_names), "TARGET_FIELD": target_field, "QUANTITY": f"carbon density, pools {pools}",
            "NODATA_MEANS": "outside the model domain or not land: use the density table there"}
    with ResultFolder(out, kind="density-model", command="density-model", parameters=params, inputs=[plots, landcover, *covariates],
                      overwrite=ctx.overwrite) as rf:
        with executor(ctx) as ex, ctx.progress("density map") as progress:
            totals = D.predict_density_map(lc, covariates, reg, domain, lut, rf.path(rs.DENSITY_TIF),
                                           rf.path(rs.DOMAIN_TIF), tags=tags, max_cells=ctx.max_cells, executor=ex,
                                           progress=progress)
        save_model(reg, rf.path(rs.MODEL_SKOPS), meta={
            "kind": "density-regressor", "covariates": list(pdata.names), "groups": [GROUPS[g] for g in domain.groups],
            "domain": domain.to_dict(), "pools": list(pool_names), "target_field": target_field,
            "options": asdict(opts)})
        rows = [{"assessment": k, **v} for k, v in cv.items()]
        rf.write_csv(rs.CV_CSV, pd.DataFrame(rows))
        summary = {"target_field": target_field, "units": "Mg C/ha", "pools": list(pool_names),
                   "plots": {"read": pdata.n_read, "used": int(pdata.target.size), "dropped": pdata.dropped,
                             "per_group": {GROUPS[g]: int((pdata.group == g).sum()) for g in pdata.groups_present}},
                   **cv, "domain": domain.to_dict(),
                   **domain_counts(totals["pixels"], totals["stock_mgc"], totals["table_stock_mgc"]),
                   "densities": table.origin}
        rf.write_summary(summary)
    logger.info("density model: blocked CV R² %.3f, RMSE %.3f Mg C/ha; %d px fell back to the table",
                cv["spatial_block_cv"]["r2"], cv["spatial_block_cv"]["rmse"], summary["fallback_pixels"])
    return out

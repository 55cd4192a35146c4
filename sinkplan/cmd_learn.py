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
import contextlib
import dataclasses
import logging
import tempfile
from pathlib import Path

from sinkplan.layers.errors import InputError, InputFileError
from sinkplan.context import RunContext

logger = logging.getLogger(__name__)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--out", required=True, metavar="DIR", help="result folder")
    p.add_argument("--lang", choices=("zh", "en"), default="zh",
                   help="language of the workbook's sheet titles and headers (default zh; CSVs keep field names)")
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
    p.add_argument("--compare-landcover", metavar="RASTER", default=None,
                   help="a land-cover map of the same area (same scheme) whose class shares the new map is checked "
                        "against: a class off by more than 2 × and 1 point is named on the terminal and in summary.json")
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
    p.add_argument("--zone-layer", metavar="LAYER", help="layer of a multi-layer --zones file")
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
             max_samples=args.max_samples,
             compare_landcover=_path(args.compare_landcover, "--compare-landcover") if args.compare_landcover else None)
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
                  zone_layer=args.zone_layer, coverage_groups=args.coverage_groups)
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
    ctx = dataclasses.replace(ctx, overwrite=True)
    classify(image=region.image, samples=region.training_points, label_field="label", out=out / "classify", ctx=ctx,
             model="rf", n_estimators=25, max_depth=10, seed=0, block_size_m=10_000.0,
             compare_landcover=region.landcover_2020)
    area_estimate(map_path=region.landcover_2020, reference=region.reference_points, ref_field="ref_code",
                  out=out / "area_estimate", ctx=ctx, zones=region.leagues, zone_field=region.zone_field)
    density_model(plots=region.plots, target_field="density_mgc_per_ha", covariates=[region.image, region.dem],
                  landcover=region.landcover_2020, out=out / "density_model", ctx=ctx, n_estimators=30, max_depth=8,
                  seed=0)
    return [out / "classify", out / "area_estimate", out / "density_model"]


@contextlib.contextmanager
def _run_folder(out: Path, kind: str, command: str, ctx: RunContext, inputs):
    """The result folder claimed before the run, and a work folder beside it for the predicted rasters."""
    from sinkplan.layers.resultfolder import ResultFolder

    out.parent.mkdir(parents=True, exist_ok=True)
    with ResultFolder(out, lang=ctx.lang, kind=kind, command=command, parameters={}, inputs=inputs, overwrite=ctx.overwrite) as rf, \
            tempfile.TemporaryDirectory(prefix=f".{out.name}.work-", dir=out.parent) as work:
        yield rf, work


def classify(*, image: Path, samples: Path, label_field: str, out: Path, ctx: RunContext, **options) -> Path:
    """Train, assess, predict and save (:func:`sinkplan.sinks.learning.folders.classify_image`); returns the folder."""
    from sinkplan.sinks.learning.folders import classify_image, write_classify
    from sinkplan.sinks_inputs import executor

    with _run_folder(out, "classify", "classify", ctx, [image, samples]) as (rf, work):
        with executor(ctx) as ex, ctx.progress("classifying") as progress:
            res = classify_image(image, samples, label_field, workdir=work, max_cells=ctx.max_cells, executor=ex,
                                 progress=progress, **options)
        rf.extra_manifest["execution"] = {"workers": ctx.workers, "scheduler": ctx.scheduler}
        write_classify(res, rf)
    return out


def apply_model(*, image: Path, model_file: Path, out: Path, ctx: RunContext) -> Path:
    """Predict ``image`` with a saved classifier (:func:`sinkplan.sinks.learning.folders.apply_classifier`)."""
    from sinkplan.sinks.learning.folders import apply_classifier, write_classify
    from sinkplan.sinks_inputs import executor

    with _run_folder(out, "classify", "classify --model-file", ctx, [image, model_file]) as (rf, work):
        with executor(ctx) as ex, ctx.progress("predicting") as progress:
            res = apply_classifier(image, model_file, workdir=work, max_cells=ctx.max_cells, executor=ex,
                                   progress=progress)
        rf.extra_manifest["execution"] = {"workers": ctx.workers, "scheduler": ctx.scheduler}
        write_classify(res, rf)
    return out


def area_estimate(*, map_path: Path, reference: Path, ref_field: str, out: Path, ctx: RunContext, scheme: str = "clcd",
                  zones: Path | None = None, zone_field: str | None = None, zone_layer: str | None = None,
                  coverage_groups: str = "forest") -> Path:
    """Olofsson et al. (2014) stratified estimates (:func:`sinkplan.sinks.learning.estimate.estimate_areas`); returns the result folder."""
    from sinkplan.layers.resultfolder import ResultFolder
    from sinkplan.layers.schemes import GROUPS
    from sinkplan.sinks.learning.estimate import estimate_areas
    from sinkplan.sinks.learning.folders import write_area_estimate

    groups = tuple(g.strip() for g in coverage_groups.split(",") if g.strip())
    if not groups or set(groups) - set(GROUPS):
        raise InputError(f"--coverage-groups {coverage_groups!r}: name groups from {', '.join(GROUPS)}")
    with ResultFolder(out, lang=ctx.lang, kind="area-estimate", command="area-estimate", parameters={}, inputs=[map_path, reference, zones],
                      overwrite=ctx.overwrite) as rf:
        with ctx.progress("mapped areas") as progress:
            res = estimate_areas(map_path, reference, ref_field=ref_field, scheme=scheme, zones=zones,
                                 zone_field=zone_field, zone_layer=zone_layer, coverage_groups=groups, max_cells=ctx.max_cells, progress=progress)
        write_area_estimate(res, rf)
    return out


def area_design(*, map_path: Path, out: Path, ctx: RunContext, scheme: str = "clcd", target_se: float = 0.01,
                expected_ua: str = "", default_ua: float = 0.85, rare_n: int = 75) -> Path:
    """Sample size (eq. 13) and allocation per stratum (:func:`sinkplan.sinks.learning.folders.sample_design`)."""
    from sinkplan.layers.resultfolder import ResultFolder
    from sinkplan.sinks.learning.folders import sample_design, write_area_estimate

    with ResultFolder(out, lang=ctx.lang, kind="area-estimate", command="area-estimate --design", parameters={}, inputs=[map_path],
                      overwrite=ctx.overwrite) as rf:
        with ctx.progress("mapped areas") as progress:
            res = sample_design(map_path, scheme=scheme, target_se=target_se, expected_ua=expected_ua,
                                default_ua=default_ua, rare_n=rare_n, max_cells=ctx.max_cells, progress=progress)
        write_area_estimate(res, rf)
    return out


def density_model(*, plots: Path, target_field: str, covariates: list[Path], landcover: Path, out: Path,
                  ctx: RunContext, **options) -> Path:
    """Plot-based density model and map (:func:`sinkplan.sinks.learning.folders.density_model`); returns the folder."""
    from sinkplan.sinks.learning.folders import density_model as fit_density_model, write_density_model
    from sinkplan.sinks_inputs import executor

    with _run_folder(out, "density-model", "density-model", ctx, [plots, landcover, *covariates]) as (rf, work):
        with executor(ctx) as ex, ctx.progress("density map") as progress:
            res = fit_density_model(plots, target_field, covariates, landcover, workdir=work, max_cells=ctx.max_cells,
                                    executor=ex, progress=progress, **options)
        rf.extra_manifest["execution"] = {"workers": ctx.workers, "scheduler": ctx.scheduler}
        write_density_model(res, rf)
    return out

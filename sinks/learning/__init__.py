"""Learning from samples and plots with scikit-learn.

* :mod:`sinkplan.sinks.learning.area_estimate` — Olofsson et al. (2014) stratified estimator of
  class areas and accuracies with standard errors, eq. 13 sample size and allocation.
* :mod:`sinkplan.sinks.learning.area_tables` — strata areas, the reference sample, result tables.
* :mod:`sinkplan.sinks.learning.features` — band features and spectral indices.
* :mod:`sinkplan.sinks.learning.samples` — raster values at points / inside polygons, warped reads.
* :mod:`sinkplan.sinks.learning.cv` — spatially blocked and random cross-validation, metrics.
* :mod:`sinkplan.sinks.learning.classify` — land-cover classifier, block-wise prediction to a COG.
* :mod:`sinkplan.sinks.learning.density_model` — carbon density from plots, domain check, map.
* :mod:`sinkplan.sinks.learning.carbon_raster` — ``sinkplan carbon --density-raster``.
* :mod:`sinkplan.sinks.learning.modelio` — skops models with a reviewed trust list and a checksum.
* :mod:`sinkplan.sinks.learning.report` — tables and headline dicts.
"""

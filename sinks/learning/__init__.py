"""Learning from samples and plots with scikit-learn.

* :mod:`sinks.learning.area_estimate` — Olofsson et al. (2014) stratified estimator of
  class areas and accuracies with standard errors, eq. 13 sample size and allocation.
* :mod:`sinks.learning.area_tables` — strata areas, the reference sample, result tables.
* :mod:`sinks.learning.features` — band features and spectral indices.
* :mod:`sinks.learning.samples` — raster values at points / inside polygons, warped reads.
* :mod:`sinks.learning.cv` — spatially blocked and random cross-validation, metrics.
* :mod:`sinks.learning.classify` — land-cover classifier, block-wise prediction to a COG.
* :mod:`sinks.learning.density_model` — carbon density from plots, domain check, map.
* :mod:`sinks.learning.carbon_raster` — ``sinkplan carbon --density-raster``.
* :mod:`sinks.learning.modelio` — skops models with a reviewed trust list and a checksum.
* :mod:`sinks.learning.report` — tables and headline dicts.
"""

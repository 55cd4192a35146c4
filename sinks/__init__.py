"""Carbon sinks: stocks, forest coverage and volume, change and restoration effect, uncertainty.

* :mod:`sinkplan.sinks.api` — the high-level functions (``carbon_stocks``, ``forest_coverage``,
  ``land_change``, ``restoration_effect``, ``estimate_areas``): paths in, tables and summary
  out, what the commands compute;
* :mod:`sinkplan.sinks.strata` — zones and redline rasterized once on the land-cover grid (cached);

* :mod:`sinkplan.sinks.densities` — density tables (InVEST biophysical or group-keyed, with sources,
  soil depth and uncertainty), resolved against a class scheme;
* :mod:`sinkplan.sinks.blocks` — the one streamed pass per command: pixels and ellipsoidal area per
  (zone × redline side × class [× class]), block by block, on one process or Dask;
* :mod:`sinkplan.sinks.fused` — optional numba kernel for that pass on lon/lat grids;
* :mod:`sinkplan.sinks.stocks`, :mod:`sinkplan.sinks.carbon` — stocks per pool with exact sums, tables, summary;
* :mod:`sinkplan.sinks.uncertainty` — Monte Carlo over densities applied to the area table;
* :mod:`sinkplan.sinks.coverage` — forest coverage, trend to the target, stock volume;
* :mod:`sinkplan.sinks.change` — transitions, gross and net change, annual sequestration;
* :mod:`sinkplan.sinks.restoration` — control rings in ground metres and disjoint pieces.
"""

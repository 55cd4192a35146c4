"""Carbon sinks: stocks, forest coverage and volume, change and restoration effect, uncertainty.

* :mod:`sinks.api` — the high-level functions (``carbon_stocks``, ``forest_coverage``,
  ``land_change``, ``restoration_effect``, ``estimate_areas``): paths in, tables and summary
  out, what the commands compute;
* :mod:`sinks.strata` — zones and redline rasterized once on the land-cover grid (cached);

* :mod:`sinks.densities` — density tables (InVEST biophysical or group-keyed, with sources,
  soil depth and uncertainty), resolved against a class scheme;
* :mod:`sinks.blocks` — the one streamed pass per command: pixels and ellipsoidal area per
  (zone × redline side × class [× class]), block by block, on one process or Dask;
* :mod:`sinks.fused` — optional numba kernel for that pass on lon/lat grids;
* :mod:`sinks.stocks`, :mod:`sinks.carbon` — stocks per pool with exact sums, tables, summary;
* :mod:`sinks.uncertainty` — Monte Carlo over densities applied to the area table;
* :mod:`sinks.coverage` — forest coverage, trend to the target, stock volume;
* :mod:`sinks.change` — transitions, gross and net change, annual sequestration;
* :mod:`sinks.restoration` — control rings in ground metres and disjoint pieces.
"""

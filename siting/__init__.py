"""Siting of PV and wind bases: exclusions, zones of interest, parcels, capacity, ranking.

The land planner's tool behind ``sinkplan site``. Modules, by idea:

- :mod:`sinkplan.siting.profile`: the siting profile (TOML, pydantic, dotted overrides);
- :mod:`sinkplan.siting.geometry`: ground metrics per row, Euclidean buffers in metres, slope;
- :mod:`sinkplan.siting.blocks`: the first pass over one block (exclusion bits, zones, components);
- :mod:`sinkplan.siting.components`: joining components across block edges into parcels;
- :mod:`sinkplan.siting.parcels`: final rasters, parcel outlines, compactness, distance to the grid;
- :mod:`sinkplan.siting.scoring`: criteria, score, rank, candidate bases;
- :mod:`sinkplan.siting.prepare`: validating inputs, assigning exclusion bits;
- :mod:`sinkplan.siting.screen`: running a screen or a capacity-only pass (sweeps);
- :mod:`sinkplan.siting.inputs`: the block-wise reads (land cover, DEM, vector store, scratch rasters).

Example
-------
>>> from sinkplan.siting.prepare import ScreenInputs, prepare
>>> prep = prepare(ScreenInputs(landcover="lc.tif", redline="redline.gpkg", farmland="farmland.gpkg"),
...                load_profile("pv"), workdir="/tmp")  # doctest: +SKIP
>>> run_screen(prep, workdir="/tmp", exclusions_path="ex.tif", eligible_path="el.tif",
...            parcels_raster_path="pa.tif", max_cells=4 << 20).summary["capacity_mw"]  # doctest: +SKIP
"""

from sinkplan.siting.profile import SitingProfile, load_profile, with_overrides

__all__ = ["SitingProfile", "load_profile", "with_overrides"]

"""Per-pixel results as xarray objects, for rioxarray users: lazy in, lazy out, units in ``attrs``.

The tables (stocks, coverage per zone) come from :func:`sinkplan.sinks.api.carbon_stocks` and
:func:`sinkplan.sinks.api.forest_coverage`, which take a DataArray as land cover too; here are
the maps: a Dask-backed land cover gives a Dask-backed result, computed chunk by chunk when the
caller computes or writes it (``.rio.to_raster(..., tiled=True)``), never whole in memory.
"""

from __future__ import annotations

import os

import numpy as np

from sinkplan.sinks.densities import DensityTable

__all__ = ["carbon_density"]


def carbon_density(landcover, *, scheme: str = "clcd", map_codes: str | None = None,
                   densities: str | os.PathLike | DensityTable | None = None):
    """Carbon density of every pixel (Mg C/ha, all four pools), on the land cover's grid.

    The same values as ``carbon_density.tif`` (:func:`sinkplan.sinks.folders.write_carbon`), NaN
    where that raster has nodata (no land class, or a class without a density).

    Parameters
    ----------
    landcover : xarray.DataArray
        Class codes with rioxarray's CRS and transform (e.g. ``rioxarray.open_rasterio(path,
        chunks=...)``); see :func:`sinkplan.layers.landcover.open_landcover_array`.
    scheme, map_codes : optional
        Class scheme of the codes and codes it lacks.
    densities : path, str or DensityTable, optional
        Density table (default ``inner_mongolia_30cm``).

    Returns
    -------
    xarray.DataArray
        float32 on (y, x), lazy when the input is; ``attrs``: ``units`` (``Mg C/ha``),
        ``long_name``, ``densities`` (the table), ``soil_depth_cm``, ``scheme``; CRS and transform
        of the input (``.rio``).

    Raises
    ------
    UnknownClassCode, SchemeError
        Not raised here (the map is lazy): codes the scheme lacks get NaN. Run
        :func:`sinkplan.sinks.api.carbon_stocks` for the checked account.

    Examples
    --------
    >>> import numpy as np, xarray as xr, rioxarray  # noqa: F401
    >>> lc = xr.DataArray(np.array([[2, 4], [4, 0]], dtype="uint8"), dims=("y", "x"),
    ...                   coords={"y": [41.995, 41.985], "x": [110.005, 110.015]})
    >>> lc = lc.rio.write_crs("EPSG:4326").rio.write_nodata(0)
    >>> d = carbon_density(lc)
    >>> d.attrs["units"], bool(np.isnan(d.values[1, 1])), bool(d.values[0, 0] > d.values[0, 1])  # forest > grassland
    ('Mg C/ha', True, True)
    """
    import xarray as xr

    from sinkplan.sinks.densities import as_density_table
    from sinkplan.sinks.blocks import ClassSlots
    from sinkplan.sinks.carbon import DENSITY_NODATA, density_lut
    from sinkplan.sinks.inputs import open_landcovers

    if not isinstance(landcover, xr.DataArray):
        from sinkplan.layers.errors import InputError

        raise InputError(f"carbon_density takes an xarray.DataArray, got {type(landcover).__name__}; for a file, "
                         "use carbon_stocks(...) and write_carbon(...) (carbon_density.tif)")
    (lc,) = open_landcovers([landcover], scheme=scheme, map_codes=map_codes)
    table = as_density_table(densities)
    slots = ClassSlots.build(lc.scheme, dtype=lc.dtype, nodata=(lc.nodata,))
    lut = density_lut(table.resolve(lc.scheme), slots.slots)  # Mg C/ha per class slot
    lut = np.where(lut == DENSITY_NODATA, np.float32(np.nan), lut).astype(np.float32)
    src = lc.source

    def per_block(block: np.ndarray) -> np.ndarray:
        return lut[slots.slot_of(src.codes(block))]

    out = xr.apply_ufunc(per_block, src.data, dask="parallelized", output_dtypes=[np.float32])
    out.attrs = {"units": "Mg C/ha", "long_name": "carbon density, all pools (above, below, soil, dead)",
                 "densities": str(table.origin), "scheme": lc.scheme.name}
    if table.soil_depth_cm is not None:
        out.attrs["soil_depth_cm"] = table.soil_depth_cm
    out.name = "carbon_density_mgc_per_ha"
    out = out.rio.write_crs(lc.grid.crs.to_wkt()).rio.write_transform(lc.grid.transform)
    return out.rio.write_nodata(np.nan, encoded=False)

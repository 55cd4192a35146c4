"""Inputs shared by the high-level sinks functions (:mod:`sinkplan.sinks.api`): land-cover rasters on
one grid, the thread count of a pass and GDAL's block cache."""

from __future__ import annotations

import logging
import os
from collections.abc import Mapping, Sequence
from typing import Union

from sinkplan.layers.errors import InputError
from sinkplan.layers.landcover import LandCover, open_landcover, open_landcover_array
from sinkplan.layers.parallel import pass_threads  # noqa: F401  (the sinks commands' import)
from sinkplan.layers.reading import GDAL_CACHE_MB, limit_gdal_cache  # noqa: F401
from sinkplan.layers.schemes import parse_code_mapping

__all__ = ["GDAL_CACHE_MB", "LandCoverInput", "limit_gdal_cache", "open_landcovers", "pass_threads"]

logger = logging.getLogger(__name__)

#: A land-cover raster given by path, already opened, or as an ``xarray.DataArray`` (e.g.
#: ``rioxarray.open_rasterio(path, chunks=...)``: read block by block, never whole).
LandCoverInput = Union[str, os.PathLike, LandCover, "xarray.DataArray"]

def open_landcovers(landcovers: Sequence[LandCoverInput], *, scheme: str = "clcd",
                    map_codes: str | Mapping[int, int | str] | None = None) -> list[LandCover]:
    """Open land-cover rasters with the class scheme; all must share the first one's grid.

    Parameters
    ----------
    landcovers : sequence of path, LandCover or xarray.DataArray
        Rasters of class codes; an opened :class:`~sinkplan.layers.landcover.LandCover` is used as is;
        a DataArray with rioxarray's CRS and transform is read lazily, block by block
        (:func:`sinkplan.layers.landcover.open_landcover_array`).
    scheme : str
        ``clcd``, ``worldcover``, ``globeland30`` or a CSV/TOML path.
    map_codes : str or mapping, optional
        Codes the scheme lacks, e.g. ``"200=7,201=grassland"``.

    Raises
    ------
    GridMismatch
        The rasters are not on one grid.
    """
    limit_gdal_cache()
    mapping = (parse_code_mapping(map_codes) if isinstance(map_codes, str) else dict(map_codes)) if map_codes else None
    lcs = [lc if isinstance(lc, LandCover) else open_landcover(lc, scheme, mapping=mapping)
           if isinstance(lc, (str, os.PathLike)) else open_landcover_array(lc, scheme, mapping=mapping) for lc in landcovers]
    for lc in lcs[1:]:
        lcs[0].grid.check_same(lc.grid, names=(str(lcs[0].path), str(lc.path)))
    return lcs

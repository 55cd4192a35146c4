"""Shared fixture factories: tiny rasters written to tmp_path."""

from __future__ import annotations

import os

import numpy as np
import pytest
import rasterio
from affine import Affine

# Writers refuse a column, summary key or file their result spec does not declare (in a user's
# run they only warn): set before any test, so CLI runs in subprocesses inherit it.
os.environ["SINKPLAN_STRICT_SPEC"] = "1"


@pytest.fixture
def write_raster(tmp_path):
    """Factory: write a single-band GeoTIFF and return its path.

    ``write_raster(array, crs="EPSG:4326", transform=Affine(...), nodata=0, name="r.tif")``
    """

    def _write(array, *, crs="EPSG:4326", transform=None, nodata=None, name="r.tif", tiled=False, block=256):
        array = np.asarray(array)
        if array.ndim == 2:
            array = array[None]
        path = tmp_path / name
        profile = dict(driver="GTiff", width=array.shape[2], height=array.shape[1], count=array.shape[0],
                       dtype=array.dtype.name, transform=transform or Affine(0.01, 0, 110, 0, -0.01, 42),
                       nodata=nodata)
        if crs is not None:
            profile["crs"] = crs
        if tiled:
            profile.update(tiled=True, blockxsize=block, blockysize=block)
        with rasterio.open(path, "w", **profile) as dst:
            dst.write(array)
        return path

    return _write

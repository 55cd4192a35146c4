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


@pytest.fixture(autouse=True)
def _logs_to_the_current_stderr():
    """A logging handler bound to a stream that an earlier test captured (``main()``'s
    ``basicConfig``, distributed's own handler on its first import) is closed once that test
    ends: a later log line from another thread (a LocalCluster's loop in a later test) then
    printed a "--- Logging error ---" traceback into that test's stderr and failed tests that
    assert one line there, only when run after certain others. Such handlers write to the
    current stderr instead."""
    import logging
    import sys

    loggers = [logging.getLogger()] + [lg for lg in logging.Logger.manager.loggerDict.values()
                                       if isinstance(lg, logging.Logger)]
    for lg in loggers:
        for handler in lg.handlers:
            if isinstance(handler, logging.StreamHandler) and getattr(handler.stream, "closed", False):
                with handler.lock:  # not setStream(): it flushes the closed stream first
                    handler.stream = sys.stderr
    yield

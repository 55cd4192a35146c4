"""GDAL's block cache is capped wherever blocks run, Dask workers started by `dask worker` too.

A worker of a real cluster is not started by sinkplan, so it does not inherit the cap the
client sets; with GDAL's default (5 % of RAM) two workers of a 6 Gpx screen held 1.7 GB each.
The task wrapper every block goes through applies the cap on the worker.
"""

from __future__ import annotations

import os
import subprocess
import sys

CODE = """
import os, rasterio.env
from sinkplan.layers.parallel import _apply
seen = _apply(lambda w: (os.environ.get("GDAL_CACHEMAX"), rasterio.env.get_gdal_config("GDAL_CACHEMAX")), None)
print(seen[0], seen[1])
"""


def test_a_block_run_caps_gdal_cache_in_a_fresh_process():
    env = {k: v for k, v in os.environ.items() if k != "GDAL_CACHEMAX"}
    out = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True).stdout.split()
    # 128 MB (layers.reading.GDAL_CACHE_MB) in the environment, 128 × 1024 × 1024 bytes in GDAL
    assert out == ["128", str(128 * 1024 * 1024)]


def test_a_cache_the_user_set_is_kept():
    env = dict(os.environ, GDAL_CACHEMAX="512")
    out = subprocess.run([sys.executable, "-c", CODE], env=env, capture_output=True, text=True, check=True).stdout.split()
    assert out[0] == "512"

"""A signed land-cover raster's negative nodata (int16 -1, int32 -9999) is nodata, not an unknown code.

Before the fix the class lookup mapped every negative value to "unknown", so ``carbon`` refused the
raster with "codes -1 (1 px) are not in scheme 'clcd'; map them (e.g. --map-codes -1=grassland"
although GDAL declares -1 the raster's nodata, and ``class_table`` said the
pixels "hold codes below 0".
"""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine

from sinkplan.layers.landcover import class_table, open_landcover
from sinkplan.sinks.blocks import ClassSlots

from sinks_util import run_cli, summary, write_tif

ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +ellps=WGS84 +units=m"  # equal-area: 30 m px = 0.09 ha
T = Affine(30, 0, 500000, 0, -30, 4500000)
CODES = np.array([[2, 2, 3, 4], [1, -1, 2, 9], [7, 8, 5, 4]])  # -1: nodata


@pytest.mark.parametrize("dtype,nodata", [("int16", -1), ("int32", -9999)])
def test_carbon_and_counts_honour_negative_nodata(tmp_path, capsys, dtype, nodata):
    lc = write_tif(tmp_path / "lc.tif", np.where(CODES == -1, nodata, CODES).astype(dtype), crs=ALBERS,
                   transform=T, nodata=nodata)
    code, err = run_cli(["carbon", str(lc), "--no-raster", "--out", str(tmp_path / "c")], capsys)
    assert code == 0, err
    s = summary(tmp_path / "c")
    # 11 land px × 0.09 ha = 0.99 ha; densities (shipped 30 cm table, Mg C/ha): forest 155.3 × 3,
    # shrub 46.1, grass 57.0 × 2, crop 38.5, wetland 81.0, barren 15.9, built 0, water 0
    # = 761.4 Mg C/ha·px × 0.09 ha = 68.526 Mg C
    assert s["land_pixels"] == 11
    assert s["area_ha"] == pytest.approx(0.99, rel=1e-9)
    assert s["stock_mgc"] == pytest.approx(68.526, rel=1e-9)
    df = class_table(open_landcover(lc))
    assert df.attrs["nodata_pixels"] == 1
    assert int(df["pixels"].sum()) == 11
    assert dict(zip(df["code"], df["pixels"]))[2] == 3


def test_class_slots_map_far_nodata_to_the_nodata_slot():
    from sinkplan.layers.schemes import load_scheme

    slots = ClassSlots.build(load_scheme("clcd"), dtype="int16", nodata=(-1,))
    got = slots.slot_of(np.array([-1, -2, 2], dtype=np.int16))
    # -1 is nodata; -2 is an unknown code, still reported as such
    assert got.tolist() == [slots.nodata, slots.unknown, slots.codes.index(2)]


def test_a_nodata_that_is_a_class_code_is_said(tmp_path):
    # nodata = 2 on a CLCD map: GDAL reads its 3 forest pixels as nodata, so forest dropped out of
    # every table without a word; the figures stay GDAL's, but a warning now names the class
    from sinkplan.layers.warnings import AssumptionWarning

    codes = np.where(CODES == -1, 0, CODES).astype("uint8")
    lc = write_tif(tmp_path / "lc.tif", codes, crs=ALBERS, transform=T, nodata=2)
    with pytest.warns(AssumptionWarning, match=r"declares nodata = 2, which is class 2 \(Forest, forest\) of scheme 'clcd'"):
        opened = open_landcover(lc)
    df = class_table(opened)
    # 12 px: 3 forest (nodata by the declaration) + 1 scheme nodata (0) = 4 nodata, 8 counted
    assert df.attrs["nodata_pixels"] == 4 and int(df["pixels"].sum()) == 8
    ok = write_tif(tmp_path / "ok.tif", codes, crs=ALBERS, transform=T, nodata=0)
    import warnings

    with warnings.catch_warnings():
        warnings.simplefilter("error", AssumptionWarning)
        open_landcover(ok)  # the scheme's own nodata: nothing to say

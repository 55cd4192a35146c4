"""Sample points stored as one-point MultiPoints (as QGIS and ArcGIS often write them) are points.

Before the fix area-estimate, density-model and classify refused such a layer with "sample layer
holds ['MultiPoint'] geometries; points are needed here", a message that named no file.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from affine import Affine

from sinkplan.layers.errors import InputError
from sinkplan.sinks.learning.samples import single_points

from sinks_util import run_cli, summary, write_tif

ALBERS = "+proj=aea +lat_1=25 +lat_2=47 +lon_0=105 +ellps=WGS84 +units=m"
T = Affine(30, 0, 500000, 0, -30, 4500000)


def test_area_estimate_reads_one_point_multipoints(tmp_path, capsys):
    # 10 × 10 px: west half forest (2), east half grassland (4); 20 points, each on its column's class
    # except one forest pixel labelled grassland: forest stratum 9 of 10 right, grassland 10 of 10
    a = np.full((10, 10), 4, np.uint8)
    a[:, :5] = 2
    lc = write_tif(tmp_path / "lc.tif", a, crs=ALBERS, transform=T)
    pts, ref = [], []
    for i in range(10):
        for c in (1, 7):
            pts.append(shapely.MultiPoint([T * (c + 0.5, i + 0.5)]))
            ref.append(2 if c < 5 else 4)
    ref[0] = 4
    path = tmp_path / "ref.gpkg"
    gpd.GeoDataFrame({"ref": ref}, geometry=pts, crs=ALBERS).to_file(path)
    out = tmp_path / "ae"
    code, err = run_cli(["area-estimate", str(lc), "--reference", str(path), "--ref-field", "ref", "--out", str(out)], capsys)
    assert code == 0, err
    s = summary(out)
    # W = 0.5 each; p(forest) = 0.5 × 9/10 = 0.45 of 9 ha = 4.05 ha; overall accuracy 0.5 × 0.9 + 0.5 × 1 = 0.95
    forest = next(c for c in s["classes"] if c["code"] == 2)
    assert forest["adjusted_area_ha"] == pytest.approx(4.05, rel=1e-9)
    assert s["overall_accuracy"] == pytest.approx(0.95, rel=1e-12)


def test_multipoints_with_several_points_are_refused():
    gdf = gpd.GeoDataFrame({"v": [1, 2]}, geometry=[shapely.Point(0, 0), shapely.MultiPoint([(0, 0), (1, 1)])],
                           crs="EPSG:3857")
    with pytest.raises(InputError, match=r"plots\.gpkg: 1 MultiPoint features hold several points \(first: feature 2, 2 "
                                         r"points\)"):
        single_points(gdf, where="plots.gpkg")
    one = single_points(gdf.iloc[[0]].assign(geometry=[shapely.MultiPoint([(3, 4)])]), where="x")
    assert one.geom_type.tolist() == ["Point"] and (one.geometry.x.iloc[0], one.geometry.y.iloc[0]) == (3.0, 4.0)

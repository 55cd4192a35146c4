"""Classification: features, spatially blocked vs random CV, block-wise prediction, the CLI.

The synthetic case is built to be spatially autocorrelated the way real training polygons
are: 36 square polygons of 20 × 20 px (600 m), each with a class *and* its own spectral
offset (a field's soil, a stand's age). A random split trains on pixels of the very polygon
it tests on and can recognise the offset; a blocked split cannot. So blocked CV must come
out lower than random CV, by a margin.
"""

from __future__ import annotations

import json

import geopandas as gpd
import numpy as np
import pytest
import rasterio
from affine import Affine
from shapely.geometry import Point, box

from sinkplan.layers import resultspec as rs
from sinkplan.layers.errors import FieldError, InputError
from sinkplan.layers.grid import Grid
from sinkplan.layers.schemes import load_scheme
from sinkplan.cli import main
from sinkplan.sinks.learning.classify import (
    ClassifierOptions,
    assess,
    fit_classifier,
    predict_block,
    predict_map,
    training_set,
)
from sinkplan.sinks.learning.cv import classification_metrics, spatial_blocks
from sinkplan.sinks.learning.features import FeatureSpec

CRS = "EPSG:32649"  # UTM 49N: metres
T = Affine(30, 0, 500_000, 0, -30, 4_600_000)  # 30 m pixels
N = 120  # 120 × 120 px = 3.6 km square; 6 × 6 polygons of 20 × 20 px


def _scene(seed: int = 7):
    rng = np.random.default_rng(seed)
    klass = rng.choice([2, 4], size=(6, 6))  # CLCD forest / grassland
    offset = rng.normal(0, 1.0, size=(6, 6, 3))  # per-polygon spectral offset
    cls = np.kron(klass, np.ones((20, 20), dtype=int))
    off = np.stack([np.kron(offset[..., b], np.ones((20, 20))) for b in range(3)])
    signal = np.where(cls == 2, 0.6, -0.6)[None] * np.array([1.0, 0.0, 0.0])[:, None, None]
    img = (5.0 + signal + off + 0.05 * rng.standard_normal((3, N, N))).astype("float32")
    polys = [box(*(T @ (c * 20, (r + 1) * 20)), *(T @ ((c + 1) * 20, r * 20))) for r in range(6) for c in range(6)]
    gdf = gpd.GeoDataFrame({"label": klass.ravel()}, geometry=polys, crs=CRS)
    return img, cls, gdf


def _write(path, bands, *, nodata=None, crs=CRS, transform=T, names=None):
    with rasterio.open(path, "w", driver="GTiff", width=bands.shape[2], height=bands.shape[1], count=bands.shape[0],
                       dtype=bands.dtype, crs=crs, transform=transform, nodata=nodata, tiled=True,
                       blockxsize=32, blockysize=32) as dst:
        dst.write(bands)
        for i, n in enumerate(names or []):
            dst.set_band_description(i + 1, n)
    return path


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    d = tmp_path_factory.mktemp("scene")
    img, cls, gdf = _scene()
    _write(d / "img.tif", img, names=["b1", "b2", "b3"])
    gdf.to_file(d / "polys.gpkg")
    return d, img, cls, gdf


def test_blocked_cv_is_lower_than_random_cv_on_autocorrelated_samples(scene):
    d, _, _, gdf = scene
    grid = Grid.from_raster(d / "img.tif")
    spec = FeatureSpec(("b1", "b2", "b3"))
    opts = ClassifierOptions(n_estimators=30, seed=1, cv_folds=4, block_size_m=600, max_samples=4000)
    ts = training_set(gdf, "label", grid, d / "img.tif", spec, load_scheme("clcd"), opts)
    assert ts.kind == "polygons" and ts.y.size == 4000 and ts.dropped["subsampled_out"] == N * N - 4000
    acc = assess(ts, opts)
    blocked, random = acc["spatial_block_cv"]["overall_accuracy"], acc["random_cv"]["overall_accuracy"]
    assert random > 0.97  # the offsets make neighbouring pixels give each other away
    assert blocked <= random - 0.1  # unseen polygons: the offset no longer helps
    # every polygon lies within a single block (its representative point), so ≥ 9 blocks
    assert acc["spatial_block_cv"]["blocks"] >= 9


def test_blockwise_prediction_equals_whole_image(scene, tmp_path):
    d, img, _, gdf = scene
    grid = Grid.from_raster(d / "img.tif")
    spec = FeatureSpec(("b1", "b2", "b3"))
    opts = ClassifierOptions(n_estimators=10, seed=0, max_samples=3000)
    model = fit_classifier(training_set(gdf, "label", grid, d / "img.tif", spec, load_scheme("clcd"), opts), opts)
    expected = model.predict(spec.compute(img)).reshape(N, N)
    areas = predict_map(d / "img.tif", grid, model, spec, tmp_path / "lc.tif", load_scheme("clcd"), max_cells=1024)
    with rasterio.open(tmp_path / "lc.tif") as src:
        got = src.read(1)
        cmap = src.colormap(1)
        assert src.dtypes[0] == "uint8" and src.nodata == 0
    np.testing.assert_array_equal(got, expected)
    assert cmap[2] == (68, 111, 51, 255)  # CLCD forest colour #446F33
    # pixels counted while writing = pixels in the file; 30 m UTM pixels ≈ 900 m² each
    assert sum(px for px, _ in areas.values()) == N * N
    assert sum(a for _, a in areas.values()) == pytest.approx(N * N * 900, rel=2e-3)
    # a block holding nodata predicts nodata there (0 in every band → code 0)
    blk = predict_block(rasterio.windows.Window(0, 0, 4, 4), image=str(d / "img.tif"), model=model,
                        spec=FeatureSpec(("b1", "b2", "b3"), band_nodata=float(img[0, 0, 0])), dtype="uint8", nodata=0)
    assert blk[0, 0] == 0 and (blk.ravel()[1:] > 0).all()


def test_points_outside_and_on_nodata_are_dropped(tmp_path):
    bands = np.full((2, 10, 10), 100, dtype="uint16")
    bands[:, 0, 0] = 0  # nodata pixel
    bands[0, 5:, :] = 300
    _write(tmp_path / "img.tif", bands, nodata=0)
    grid = Grid.from_raster(tmp_path / "img.tif")
    pts = [Point(T @ (c + 0.5, r + 0.5)) for r in range(10) for c in range(1, 10)]
    labels = [2 if T.f - p.y < 150 else 4 for p in pts]  # rows 0-4 forest, 5-9 grassland
    pts += [Point(T @ (0.5, 0.5)), Point(T @ (20.5, 0.5))]  # on nodata, off the image
    labels += [2, 2]
    gdf = gpd.GeoDataFrame({"label": labels}, geometry=pts, crs=CRS)
    ts = training_set(gdf, "label", grid, tmp_path / "img.tif", FeatureSpec(("a", "b"), band_nodata=0),
                      load_scheme("clcd"), ClassifierOptions(n_estimators=5))
    assert ts.dropped == {"outside_image": 1, "nodata_pixels": 1} and ts.y.size == 90
    assert ts.counts() == {2: 45, 4: 45}
    with pytest.raises(FieldError, match=r"holds 99, not land class codes of scheme 'clcd'"):
        training_set(gdf.assign(label=99), "label", grid, tmp_path / "img.tif", FeatureSpec(("a", "b")),
                     load_scheme("clcd"), ClassifierOptions())
    with pytest.raises(FieldError, match="no field 'klasse'"):
        training_set(gdf, "klasse", grid, tmp_path / "img.tif", FeatureSpec(("a", "b")), load_scheme("clcd"),
                     ClassifierOptions())
    with pytest.raises(InputError, match="at least 10 samples of 2 or more classes"):
        training_set(gdf.iloc[:5], "label", grid, tmp_path / "img.tif", FeatureSpec(("a", "b")), load_scheme("clcd"),
                     ClassifierOptions())


def test_feature_spec_ndvi_and_errors():
    spec = FeatureSpec(("Blue", "red", "NIR"), ("ndvi",))
    # (nir − red)/(nir + red): (300 − 100)/400 = 0.5; 0/0 → 0
    f = spec.compute(np.array([[1, 1], [100, 0], [300, 0]], dtype="uint16"))
    np.testing.assert_allclose(f[:, 3], [0.5, 0.0])
    assert spec.names == ("blue", "red", "nir", "ndvi")
    with pytest.raises(InputError, match="needs bands named"):
        FeatureSpec(("b1", "b2"), ("ndvi",))
    with pytest.raises(InputError, match="'evi' is not one of"):
        FeatureSpec(("red", "nir"), ("evi",))
    with pytest.raises(InputError, match="repeat"):
        FeatureSpec(("red", "red"))


def test_classification_metrics_by_hand():
    # reference 1,1,1,2,2 predicted 1,1,2,2,2: matrix rows=predicted [[2,0],[1,2]]
    m = classification_metrics(np.array([1, 1, 1, 2, 2]), np.array([1, 1, 2, 2, 2]), [1, 2])
    assert m["confusion_matrix"] == [[2, 0], [1, 2]]
    assert m["overall_accuracy"] == pytest.approx(0.8)
    # pe = (2·3 + 3·2)/25 = 0.48; kappa = (0.8 − 0.48)/0.52 = 0.6154
    assert m["kappa"] == pytest.approx(0.32 / 0.52)
    c1, c2 = m["per_class"]
    # class 1: PA 2/3, UA 2/2, F1 = 2·(2/3)·1/(5/3) = 0.8
    assert (c1["producers_accuracy"], c1["users_accuracy"], c1["f1"]) == pytest.approx((2 / 3, 1.0, 0.8))
    assert (c2["producers_accuracy"], c2["users_accuracy"]) == pytest.approx((1.0, 2 / 3))


def test_spatial_blocks_in_metres():
    # points 0, 400, 900, 1900 m east of each other in UTM; 1 km blocks → 0, 0, 0, 1
    x = 500_000 + np.array([0.0, 400.0, 900.0, 1900.0])
    y = np.full(4, 4_600_000.0)
    assert spatial_blocks(x, y, CRS, 1000).tolist() == [0, 0, 0, 1]
    assert spatial_blocks(x, y, CRS, 100).tolist() == [0, 1, 2, 3]
    with pytest.raises(InputError, match="must be positive"):
        spatial_blocks(x, y, CRS, 0)


def test_cli_classify_writes_folder_and_reapplies_model(scene, tmp_path, capsys):
    d, *_ = scene
    out = tmp_path / "cls"
    rc = main(["classify", str(d / "img.tif"), "--samples", str(d / "polys.gpkg"), "--label-field", "label",
               "--indices", "none", "--n-estimators", "10", "--block-size-m", "600", "--max-samples", "3000",
               "--test-fraction", "0.3", "--out", str(out), "-q"])
    assert rc == 0
    names = {p.name for p in out.iterdir()}
    assert {"landcover.tif", "accuracy.json", "accuracy.csv", "model.skops", "model.json", rs.SUMMARY.name,
            "manifest.json", "map_classes.csv"} <= names
    acc = json.loads((out / "accuracy.json").read_text(encoding="utf-8"))
    assert set(acc) >= {"spatial_block_cv", "random_cv", "holdout", "training", "note"}
    assert acc["spatial_block_cv"]["labels"] == [2, 4]
    assert {"producers_accuracy", "users_accuracy", "f1"} <= set(acc["random_cv"]["per_class"][0])
    meta = json.loads((out / "model.json").read_text(encoding="utf-8"))
    assert meta["feature_names"] == ["b1", "b2", "b3"] and meta["scheme"] == "clcd" and len(meta["sha256"]) == 64
    # apply the saved model to the same image: the same map
    rc = main(["classify", str(d / "img.tif"), "--model-file", str(out / "model.skops"), "--out", str(tmp_path / "re"), "-q"])
    assert rc == 0
    with rasterio.open(out / "landcover.tif") as a, rasterio.open(tmp_path / "re" / "landcover.tif") as b:
        np.testing.assert_array_equal(a.read(1), b.read(1))


def test_cli_classify_errors_leave_no_folder(scene, tmp_path, capsys):
    d, *_ = scene
    out = tmp_path / "bad"
    rc = main(["classify", str(d / "img.tif"), "--samples", str(d / "polys.gpkg"), "--label-field", "nope",
               "--out", str(out), "-q"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "field 'nope' not found" in err and len(err.splitlines()) == 1
    assert not out.exists()
    rc = main(["classify", str(d / "img.tif"), "--out", str(out), "-q"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "needs --samples" in err and not out.exists()
    rc = main(["classify", str(d / "img.tif"), "--samples", str(d / "polys.gpkg"), "--label-field", "label",
               "--band-names", "a,b", "--out", str(out), "-q"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and "gives 2 names but" in err and not out.exists()


def test_prediction_on_dask_equals_in_process(scene, tmp_path):
    # the block function (a partial of paths, the model and the spec) runs on a local Dask
    # worker and gives the same map, block for block
    from sinkplan.layers.parallel import BlockExecutor

    d, _, _, gdf = scene
    grid = Grid.from_raster(d / "img.tif")
    spec = FeatureSpec(("b1", "b2", "b3"))
    opts = ClassifierOptions(n_estimators=5, seed=0, max_samples=2000)
    model = fit_classifier(training_set(gdf, "label", grid, d / "img.tif", spec, load_scheme("clcd"), opts), opts)
    a = predict_map(d / "img.tif", grid, model, spec, tmp_path / "a.tif", load_scheme("clcd"), max_cells=4096)
    with BlockExecutor(workers=1) as ex:
        b = predict_map(d / "img.tif", grid, model, spec, tmp_path / "b.tif", load_scheme("clcd"), max_cells=4096, executor=ex)
    assert a == b
    with rasterio.open(tmp_path / "a.tif") as ra, rasterio.open(tmp_path / "b.tif") as rb:
        np.testing.assert_array_equal(ra.read(1), rb.read(1))


def test_forest_prediction_is_the_same_on_any_number_of_threads():
    """The trees are summed in 8 fixed groups in group order, so 1, 2, 3 or 8 threads (a Dask
    worker, a 2-core or a 64-core machine) give the same floating-point mean, bit for bit."""
    from sklearn.ensemble import RandomForestRegressor

    from sinkplan.sinks.learning.classify import TREE_GROUPS, predict_pixels

    rng = np.random.default_rng(4)
    X = rng.normal(size=(400, 3)).astype(np.float32)
    y = X[:, 0] * 3.1 + np.sin(X[:, 1]) + rng.normal(scale=0.1, size=400)
    model = RandomForestRegressor(n_estimators=13, random_state=0).fit(X, y)
    got = [predict_pixels(model, X, threads=t) for t in (1, 2, 3, 8)]
    assert all(np.array_equal(got[0], g) for g in got[1:])
    # by hand: group i holds trees i, i + 8, ...; groups summed in order, then ÷ 13 trees
    trees = model.estimators_
    groups = [trees[i::TREE_GROUPS] for i in range(TREE_GROUPS)]
    sums = []
    for g in groups:
        acc = None
        for t in g:
            p = t.predict(X, check_input=False).astype(np.float64)
            acc = p if acc is None else acc + p
        sums.append(acc)
    total = sums[0]
    for s in sums[1:]:
        total = total + s
    assert np.array_equal(got[0], total / 13)
    np.testing.assert_allclose(got[0], model.predict(X), rtol=1e-12)  # scikit-learn's own mean, another order

"""Saved models load only when unaltered and made of trusted types."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pytest
import skops.io as sio
from sklearn.ensemble import HistGradientBoostingRegressor, RandomForestClassifier
from sklearn.pipeline import Pipeline
from sklearn.preprocessing import FunctionTransformer

from sinkplan.cli import main
from sinkplan.sinks.learning.modelio import ModelFileError, load_model, save_model, sidecar_path


@pytest.fixture()
def saved(tmp_path):
    rng = np.random.default_rng(0)
    X = rng.random((60, 3))
    model = RandomForestClassifier(n_estimators=3, random_state=0).fit(X, (X[:, 0] > 0.5).astype(int) + 1)
    path = save_model(model, tmp_path / "model.skops", meta={"kind": "classifier", "feature_names": ["a", "b", "c"]})
    return path, model, X


def test_roundtrip_keeps_predictions_and_meta(saved):
    path, model, X = saved
    got = load_model(path, kind="classifier")
    np.testing.assert_array_equal(got.model.predict(X), model.predict(X))
    assert got.meta["feature_names"] == ["a", "b", "c"]
    assert got.meta["sha256"] == hashlib.sha256(path.read_bytes()).hexdigest()


def test_hgb_regressor_roundtrip(tmp_path):
    X = np.arange(40.0).reshape(20, 2)
    m = HistGradientBoostingRegressor(max_iter=5).fit(X, X[:, 0])
    got = load_model(save_model(m, tmp_path / "r.skops", meta={"kind": "density-regressor"}), kind="density-regressor")
    np.testing.assert_allclose(got.model.predict(X), m.predict(X))


def test_changed_bytes_fail_the_checksum(saved):
    path, *_ = saved
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    path.write_bytes(bytes(data))
    with pytest.raises(ModelFileError, match="SHA-256 .* differs .* the file was changed after it was saved"):
        load_model(path)


def test_injected_untrusted_type_is_refused_even_with_a_matching_checksum(tmp_path):
    # An attacker replaces the model with one that calls eval on load/predict and rewrites
    # the sidecar's checksum too: the trust list still refuses it, nothing is constructed.
    evil = Pipeline([("f", FunctionTransformer(func=eval)), ("m", RandomForestClassifier(n_estimators=1))])
    path = tmp_path / "model.skops"
    sio.dump(evil, path)
    side = {"format": "sinkplan-model/1", "file": "model.skops", "sha256": hashlib.sha256(path.read_bytes()).hexdigest(),
            "estimator": "sklearn.ensemble._forest.RandomForestClassifier", "kind": "classifier"}
    sidecar_path(path).write_text(json.dumps(side), encoding="utf-8")
    with pytest.raises(ModelFileError, match=r"holds types sinkplan does not trust \(builtins\.eval\)"):
        load_model(path)


def test_missing_sidecar_and_not_a_model(tmp_path, saved):
    path, *_ = saved
    sidecar_path(path).unlink()
    with pytest.raises(ModelFileError, match="sidecar model.json is missing"):
        load_model(path)
    junk = tmp_path / "junk.skops"
    junk.write_bytes(b"not a zip")
    sidecar_path(junk).write_text(json.dumps({"format": "sinkplan-model/1",
                                              "sha256": hashlib.sha256(b"not a zip").hexdigest()}))
    with pytest.raises(ModelFileError, match="not a readable skops model"):
        load_model(junk)
    with pytest.raises(ModelFileError, match="model file not found"):
        load_model(tmp_path / "none.skops")


def test_wrong_kind(saved):
    path, *_ = saved
    with pytest.raises(ModelFileError, match="is a 'classifier' model, a 'density-regressor' model is needed"):
        load_model(path, kind="density-regressor")


def test_save_refuses_foreign_estimators(tmp_path):
    with pytest.raises(ValueError, match="cannot save a"):
        save_model(FunctionTransformer(), tmp_path / "x.skops", meta={})


def test_cli_tampered_model_one_line_exit_2(saved, tmp_path, capsys):
    import rasterio
    from affine import Affine

    path, *_ = saved
    img = tmp_path / "img.tif"
    with rasterio.open(img, "w", driver="GTiff", width=4, height=4, count=3, dtype="float32", crs="EPSG:32649",
                       transform=Affine(30, 0, 500000, 0, -30, 4600000)) as dst:
        dst.write(np.ones((3, 4, 4), dtype="float32"))
    meta = json.loads(sidecar_path(path).read_text())
    meta["features"] = {"band_names": ["a", "b", "c"], "indices": [], "band_nodata": None}
    meta["scheme"] = "clcd"
    sidecar_path(path).write_text(json.dumps(meta))
    assert main(["classify", str(img), "--model-file", str(path), "--out", str(tmp_path / "ok"), "-q"]) == 0
    path.write_bytes(path.read_bytes() + b"\x00")  # appended byte: checksum differs
    rc = main(["classify", str(img), "--model-file", str(path), "--out", str(tmp_path / "bad"), "-q"])
    err = capsys.readouterr().err.strip()
    assert rc == 2 and len(err.splitlines()) == 1 and "SHA-256" in err
    assert not (tmp_path / "bad").exists()

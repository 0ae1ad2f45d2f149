"""model.export_source writes the generated code of the predict, train and test functions for
either backend: the very source the model runs, the same bytes for the same model, nothing
compiled; bad requests change nothing on disk."""

import os

import numpy as np
import pytest

import symkeras.backend as K
from symkeras.layers import Dense, Input
from symkeras.models import Model


@pytest.fixture(autouse=True)
def _numpy_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


def _model():
    x = Input((3,), name="features")
    model = Model(x, Dense(2, activation="softmax", name="scores")(Dense(4, name="hidden")(x)), name="exported")
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"])
    return model


def test_export_writes_the_code_the_model_runs(tmp_path):
    model = _model()
    paths = model.export_source(str(tmp_path / "numpy"), functions=("predict", "train", "test"))
    assert [os.path.basename(p) for p in paths] == ["exported_predict.py", "exported_train_step.py",
                                                    "exported_test_step.py"]
    with open(paths[0]) as f:
        assert f.read() == model.make_predict_function().source
    c_paths = model.export_source(str(tmp_path / "c"), backend="c", functions="train")
    with open(c_paths[0]) as f:
        source = f.read()
    assert c_paths[0].endswith("exported_train_step.c") and "int exported_train_step(" in source
    assert "hidden: gemm" in source                 # kernels name the layer they come from


def test_the_same_model_exports_the_same_bytes(tmp_path):
    first = _model().export_source(str(tmp_path / "a"), backend="c")
    K.clear_session()
    second = _model().export_source(str(tmp_path / "b"), backend="c")
    with open(first[0], "rb") as f, open(second[0], "rb") as g:
        assert f.read() == g.read()


def test_bad_requests_write_nothing(tmp_path):
    model = _model()
    with pytest.raises(ValueError, match="'predict', 'train' or 'test'"):
        model.export_source(str(tmp_path / "out"), functions=("predict", "evaluate"))
    with pytest.raises(ValueError, match="backend"):
        model.export_source(str(tmp_path / "out"), backend="fortran")
    x = Input((3,))
    uncompiled = Model(x, Dense(1)(x))
    with pytest.raises(RuntimeError, match="compile"):
        uncompiled.export_source(str(tmp_path / "out"), functions=("train",))
    assert not (tmp_path / "out").exists()
    assert np.isfinite(model.predict(np.ones((1, 3), "float32"))).all()

"""A model exported for NumPy alone runs in a process where symkeras cannot be imported: its
predictions equal the model's, and its training steps move the weights exactly as the model's
own steps do (the same generated code runs on both sides)."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import optimizers
from symkeras.aot.numpy_export import export_numpy
from symkeras.layers import Dense, Input
from symkeras.models import Model


@pytest.fixture(autouse=True)
def _numpy_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


def _model():
    x = Input((5,), name="features")
    h = Dense(8, activation="tanh", name="hidden")(x)       # no dropout: both sides' steps are then exactly equal
    model = Model(x, Dense(3, activation="softmax", name="classes")(h), name="exported model")
    model.compile(optimizers.Adam(0.01), "categorical_crossentropy", metrics=["accuracy"])
    return model


RUN = """
import sys, numpy as np
sys.modules['symkeras'] = None                      # the exported package must not need it
sys.path.insert(0, {directory!r})
from {name} import Model
model = Model()
x = np.load({data!r})['x']; y = np.load({data!r})['y']
prediction = model.predict(x)[0]
losses = [float(model.train_step(x, y, np.ones(len(x), 'float32'))[0]) for _ in range(3)]
np.savez({out!r}, prediction=prediction, losses=np.array(losses), *model.variables)
"""


def test_the_exported_package_predicts_and_trains_without_symkeras(tmp_path):
    model = _model()
    rng = np.random.RandomState(0)
    x = rng.randn(6, 5).astype("float32")
    y = np.eye(3, dtype="float32")[rng.randint(0, 3, 6)]
    model.train_on_batch(x, y)                         # optimizer state exists before export
    package = export_numpy(model, str(tmp_path), "classifier", functions=("predict", "train"))
    assert sorted(os.listdir(package)) == ["__init__.py", "predict.py", "train_step.py", "weights.npz"]
    np.savez(tmp_path / "data.npz", x=x, y=y)
    script = RUN.format(directory=str(tmp_path), name="classifier", data=str(tmp_path / "data.npz"),
                        out=str(tmp_path / "out.npz"))
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]
    out = np.load(tmp_path / "out.npz")
    np.testing.assert_array_equal(out["prediction"], model.predict(x))
    expected = [float(model.train_on_batch(x, y)[0]) for _ in range(3)]
    np.testing.assert_allclose(out["losses"], expected, rtol=1e-6)
    exported = [out[f"arr_{i}"] for i in range(len(model.weights))]
    trained = {w.op.storage.name: v for w, v in zip(model.weights, model.get_weights())}
    for value in trained.values():                     # every model weight is one of the exported arrays
        assert any(e.shape == value.shape and np.array_equal(e, value) for e in exported)


def test_bad_requests_are_refused():
    model = _model()
    with pytest.raises(ValueError, match="'predict', 'train' or 'test'"):
        export_numpy(model, "/tmp/never", "pkg", functions=("evaluate",))
    with pytest.raises(ValueError, match="identifier"):
        export_numpy(model, "/tmp/never", "not a name")
    assert not os.path.exists("/tmp/never")

"""A model exported as one NumPy-only module runs in a process where symkeras cannot be imported:
its predictions, training steps and evaluations are the model's own (NumPy backend: the same
generated code), with the weights embedded in the module or in a file beside it."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import optimizers
from symkeras.aot.numpy_module import check_module_name, export_numpy_module
from symkeras.layers import Concatenate, Dense, Embedding, Flatten, Input
from symkeras.models import Model


@pytest.fixture(autouse=True)
def _numpy_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


def _two_heads():
    a = Input((6,), name="measures")
    b = Input((3,), name="codes")
    e = Flatten(name="flat")(Embedding(10, 4, name="embed")(b))
    h = Dense(8, activation="tanh", name="shared")(Concatenate(name="join")([a, e]))
    model = Model([a, b], [Dense(3, activation="softmax", name="kind")(h), Dense(1, name="value")(h)],
                  name='heads """ \\')
    model.compile(optimizers.Adam(0.01), ["categorical_crossentropy", "mse"], metrics={"kind": "accuracy"})
    return model


def _data(rng, n=5):
    xs = [rng.randn(n, 6).astype("float32"), rng.randint(0, 10, (n, 3)).astype("float32")]
    ys = [np.eye(3, dtype="float32")[rng.randint(0, 3, n)], rng.randn(n, 1).astype("float32")]
    return xs, ys


RUN = """
import sys, numpy as np
sys.modules['symkeras'] = None                      # the exported module must not need it
sys.path.insert(0, {directory!r})
import {name} as model
data = np.load({data!r})
xs, ys = [data['x0'], data['x1']], [data['y0'], data['y1']]
predicted = model.predict(*xs)
evaluated = model.evaluate(*xs, *ys)
losses = [model.train_step(*xs, *ys)[0] for _ in range(3)]
weighted = model.train_step(*xs, *ys, sample_weights=[np.full(len(xs[0]), 0.5, 'float32')] * 2)
errors = []
for call in (lambda: model.predict(xs[0]), lambda: model.predict(xs[0][:, :5], xs[1]),
             lambda: model.predict(xs[0], xs[1] + 20)):
    try:
        call()
    except ValueError as error:
        errors.append(str(error))
np.savez({out!r}, *model.variables, p0=predicted[0], p1=predicted[1], evaluated=np.array(evaluated),
         losses=np.array(losses), weighted=np.array(weighted), errors=np.array(errors))
"""


@pytest.mark.parametrize("weights", ["embed", "file"])
def test_the_module_predicts_trains_and_evaluates_as_the_model_without_symkeras(tmp_path, weights):
    rng = np.random.RandomState(0)
    model = _two_heads()
    xs, ys = _data(rng)
    model.train_on_batch(xs, ys)                       # the optimizer state exists and is not initial
    written = export_numpy_module(model, str(tmp_path), "heads", functions=("predict", "train", "evaluate"),
                                  weights=weights)
    expected_files = ["heads.py"] + (["heads.weights.npz"] if weights == "file" else [])
    assert sorted(os.listdir(tmp_path)) == expected_files
    np.savez(tmp_path / "data.npz", x0=xs[0], x1=xs[1], y0=ys[0], y1=ys[1])
    script = RUN.format(directory=str(tmp_path), name="heads", data=str(tmp_path / "data.npz"),
                        out=str(tmp_path / "out.npz"))
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                          timeout=120, cwd=str(tmp_path))
    assert done.returncode == 0, done.stderr[-3000:]
    out = np.load(tmp_path / "out.npz")

    predicted = model.predict(xs)
    np.testing.assert_array_equal(out["p0"], predicted[0])
    np.testing.assert_array_equal(out["p1"], predicted[1])
    ones = [np.ones(5, "float32")] * 2
    np.testing.assert_array_equal(out["evaluated"], model.make_test_function()(xs + ys + ones))
    step = model.make_train_function()
    np.testing.assert_array_equal(out["losses"], [step(xs + ys + ones)[0] for _ in range(3)])
    np.testing.assert_array_equal(out["weighted"], step(xs + ys + [np.full(5, 0.5, "float32")] * 2))
    for i, storage in enumerate(written.storages):   # weights and optimizer state, bit for bit
        np.testing.assert_array_equal(out[f"arr_{i}"], storage.value, err_msg=storage.name)

    errors = list(out["errors"])
    assert len(errors) == 3
    assert "expected 2 arrays" in errors[0]
    assert "measures has shape (5, 5), expected (None, 6)" in errors[1]
    assert "codes holds indices" in errors[2]


def test_a_weights_file_of_another_shape_is_refused(tmp_path):
    model = _two_heads()
    export_numpy_module(model, str(tmp_path), "heads", weights="file")
    np.savez(tmp_path / "other.npz", v0=np.zeros(3))
    script = (f"import sys; sys.path.insert(0, {str(tmp_path)!r}); import heads\n"
              f"heads.load_weights({str(tmp_path / 'other.npz')!r})")
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert done.returncode == 1 and "ValueError: weights: expected the arrays v0 to" in done.stderr


@pytest.mark.parametrize("name", ["", "class", "my model", "naïve", "sk_model", None, "a.b"])
def test_a_module_name_that_is_not_a_plain_identifier_is_refused(name, tmp_path):
    with pytest.raises(ValueError, match="prefix"):
        check_module_name(name)


def test_bad_arguments_write_nothing(tmp_path):
    model = _two_heads()
    for kwargs, what in (({"weights": "inline"}, "weights"), ({"functions": ("fit",)}, "functions")):
        with pytest.raises(ValueError, match=what):
            export_numpy_module(model, str(tmp_path / "never"), "heads", **kwargs)
    assert not (tmp_path / "never").exists()

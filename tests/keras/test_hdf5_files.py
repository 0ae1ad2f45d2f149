"""Keras 2's HDF5 files (.h5): the layout Keras 2 writes and reads (attributes, groups, weight
names), whole models that come back compiled with their optimizer state (training resumes
exactly), weights by order and by name, a file written the way Keras 2 writes it, and damaged
files that change nothing."""

import json
import os

import h5py
import numpy as np
import pytest

import symkeras.backend as K
from symkeras import optimizers
from symkeras.layers import Dense, Dropout, Input
from symkeras.models import Model, Sequential, load_model, model_from_config


@pytest.fixture(autouse=True)
def _numpy_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


def _model(dropout=True):
    x = Input((4,), name="features")
    h = Dense(6, activation="relu", name="hidden")(x)
    if dropout:
        h = Dropout(0.1, name="drop")(h)
    return Model(x, Dense(2, activation="softmax", name="classes")(h), name="classifier")


def _text(value):
    return value.decode() if isinstance(value, bytes) else value


def _data(n=48):
    rng = np.random.RandomState(0)
    x = rng.randn(n, 4).astype("float32")
    return x, np.eye(2, dtype="float32")[(x[:, 0] > 0).astype(int)]


def test_the_file_has_keras_2_layout(tmp_path):
    model = _model()
    model.compile(optimizers.Adam(0.01), "categorical_crossentropy", metrics=["accuracy"])
    model.fit(*_data(), epochs=1, verbose=0)
    path = tmp_path / "model.h5"
    model.save(str(path))
    with h5py.File(path, "r") as f:
        assert _text(f.attrs["backend"]) == "tensorflow" and _text(f.attrs["keras_version"]) == "2.2.4"
        config = json.loads(f.attrs["model_config"])
        assert config["class_name"] in ("Model", "Functional") and config["config"]["name"] == "classifier"
        training = json.loads(f.attrs["training_config"])
        assert training["loss"] == "categorical_crossentropy" and training["metrics"] == ["accuracy"]
        assert training["optimizer_config"]["class_name"] == "Adam"
        weights = f["model_weights"]
        assert [_text(n) for n in weights.attrs["layer_names"]] == ["features", "hidden", "drop", "classes"]
        assert [_text(n) for n in weights["hidden"].attrs["weight_names"]] == ["hidden/kernel:0", "hidden/bias:0"]
        assert list(weights["drop"].attrs["weight_names"]) == []
        np.testing.assert_array_equal(weights["hidden/hidden/kernel:0"][()], model.get_layer("hidden").get_weights()[0])
        names = [_text(n) for n in f["optimizer_weights"].attrs["weight_names"]]
        assert len(names) == 1 + 2 * 4 and names[0].endswith("iterations:0")


def test_a_whole_model_comes_back_compiled_and_resumes_training_exactly(tmp_path):
    x, y = _data()
    model = _model(dropout=False)          # no random draws: the continuation is exactly determined
    model.compile(optimizers.Adam(0.01), "categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=2, batch_size=16, verbose=0, shuffle=False)
    path = str(tmp_path / "model.h5")
    model.save(path)
    again = load_model(path)
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    assert again.metrics_names == model.metrics_names and again.loss == "categorical_crossentropy"
    for a, b in zip(again.optimizer.get_weights(), model.optimizer.get_weights()):
        np.testing.assert_array_equal(a, b)
    for m in (model, again):
        m.fit(x, y, epochs=1, batch_size=16, verbose=0, shuffle=False)
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_weights_by_order_and_by_name(tmp_path):
    source = _model()
    path = str(tmp_path / "weights.h5")
    source.save_weights(path)
    with h5py.File(path, "r") as f:
        assert "model_weights" not in f and "hidden" in f         # weights files: the layout at the root
    target = _model()
    target.load_weights(path)
    for a, b in zip(target.get_weights(), source.get_weights()):
        np.testing.assert_array_equal(a, b)
    # by_name: layers found by name, others untouched; a shape mismatch skipped with a warning.
    other = Sequential([Dense(6, input_shape=(4,), name="hidden"), Dense(3, name="classes")])
    untouched = other.get_layer("classes").get_weights()
    with pytest.warns(UserWarning, match="Skipping loading of weights for layer classes"):
        other.load_weights(path, by_name=True, skip_mismatch=True)
    np.testing.assert_array_equal(other.get_layer("hidden").get_weights()[0], source.get_layer("hidden").get_weights()[0])
    np.testing.assert_array_equal(other.get_layer("classes").get_weights()[0], untouched[0])


def test_a_file_written_as_keras_2_writes_it_loads(tmp_path):
    """A Sequential of two Dense layers in the layout and config format of Keras 2.2.4."""
    rng = np.random.RandomState(3)
    w1, b1, w2, b2 = rng.randn(4, 3), rng.randn(3), rng.randn(3, 2), rng.randn(2)
    dense = {"trainable": True, "use_bias": True, "kernel_regularizer": None, "bias_regularizer": None,
             "activity_regularizer": None, "kernel_constraint": None, "bias_constraint": None,
             "kernel_initializer": {"class_name": "VarianceScaling",
                                    "config": {"scale": 1.0, "mode": "fan_avg", "distribution": "uniform", "seed": None}},
             "bias_initializer": {"class_name": "Zeros", "config": {}}}
    config = {"class_name": "Sequential", "config": {"name": "sequential_1", "layers": [
        {"class_name": "Dense", "config": dict(dense, name="dense_1", batch_input_shape=[None, 4], dtype="float32",
                                               units=3, activation="tanh")},
        {"class_name": "Dense", "config": dict(dense, name="dense_2", units=2, activation="linear")}]}}
    path = tmp_path / "keras2.h5"
    with h5py.File(path, "w") as f:
        f.attrs["keras_version"] = b"2.2.4"
        f.attrs["backend"] = b"tensorflow"
        f.attrs["model_config"] = json.dumps(config).encode()
        group = f.create_group("model_weights")
        group.attrs["layer_names"] = [b"dense_1", b"dense_2"]
        for name, (w, b) in (("dense_1", (w1, b1)), ("dense_2", (w2, b2))):
            layer = group.create_group(name)
            layer.attrs["weight_names"] = [f"{name}/kernel:0".encode(), f"{name}/bias:0".encode()]
            layer.create_dataset(f"{name}/kernel:0", data=w.astype("float32"))
            layer.create_dataset(f"{name}/bias:0", data=b.astype("float32"))
    model = load_model(str(path))
    assert [layer.name for layer in model.layers] == ["dense_1", "dense_2"] and model.optimizer is None
    x = rng.randn(5, 4).astype("float32")
    expected = np.tanh(x @ w1 + b1) @ w2 + b2
    np.testing.assert_allclose(model.predict(x), expected, rtol=1e-5, atol=1e-6)


def test_a_damaged_file_changes_nothing(tmp_path):
    model = _model()
    path = tmp_path / "model.h5"
    model.save(str(path))
    before = model.get_weights()
    with h5py.File(path, "r+") as f:                 # one layer's kernel of the wrong shape
        del f["model_weights/classes/classes/kernel:0"]
        f["model_weights/classes"].create_dataset("classes/kernel:0", data=np.zeros((5, 2), "float32"))
    with pytest.raises(ValueError, match="classes/kernel:0.*shape"):
        model.load_weights(str(path))
    for a, b in zip(model.get_weights(), before):
        np.testing.assert_array_equal(a, b)
    truncated = tmp_path / "truncated.h5"
    truncated.write_bytes(path.read_bytes()[:300])
    with pytest.raises(ValueError, match="not a readable HDF5 file"):
        load_model(str(truncated))
    weights_only = tmp_path / "weights.h5"
    model.save_weights(str(weights_only))
    with pytest.raises(ValueError, match="no model config"):
        load_model(str(weights_only))


DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def test_a_keras_3_h5_file_loads_with_its_predictions():
    """keras3_dense.h5 was written by Keras 3.15 (JAX) with model.save after one epoch of fit;
    keras3_dense_io.npz holds inputs and the predictions Keras made for them."""
    with pytest.warns(UserWarning, match="optimizer starts afresh"):      # Keras 3 keeps other optimizer variables
        model = load_model(os.path.join(DATA, "keras3_dense.h5"))
    io = np.load(os.path.join(DATA, "keras3_dense_io.npz"))
    np.testing.assert_allclose(model.predict(io["x"]), io["y"], rtol=1e-5, atol=1e-6)
    assert model.loss == "categorical_crossentropy" and model.metrics_names == ["loss", "accuracy"]
    history = model.fit(io["x"], np.eye(2, dtype="float32")[np.arange(len(io["x"])) % 2], epochs=2, verbose=0)
    assert np.isfinite(history.history["loss"]).all()


def test_a_keras_3_config_of_several_inputs_reads_as_tf_keras():
    tensor = lambda name: {"class_name": "__keras_tensor__",                              # noqa: E731
                           "config": {"shape": [None, 3], "dtype": "float32", "keras_history": [name, 0, 0]}}
    policy = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": "float32"}, "registered_name": None}
    config = {"module": "keras", "class_name": "Functional", "registered_name": "Functional", "config": {
        "name": "joined", "trainable": True,
        "layers": [
            {"module": "keras.layers", "class_name": "InputLayer", "name": "a", "inbound_nodes": [],
             "config": {"batch_shape": [None, 3], "dtype": "float32", "sparse": False, "name": "a", "optional": False}},
            {"module": "keras.layers", "class_name": "InputLayer", "name": "b", "inbound_nodes": [],
             "config": {"batch_shape": [None, 3], "dtype": "float32", "sparse": False, "name": "b", "optional": False}},
            {"module": "keras.layers", "class_name": "Concatenate", "name": "both",
             "config": {"name": "both", "trainable": True, "dtype": policy, "axis": -1},
             "build_config": {"input_shape": [[None, 3], [None, 3]]},
             "inbound_nodes": [{"args": [[tensor("a"), tensor("b")]], "kwargs": {}}]}],
        "input_layers": [["a", 0, 0], ["b", 0, 0]], "output_layers": ["both", 0, 0]}}
    model = model_from_config(config)
    assert model.output_shape == (None, 6) and len(model.inputs) == 2
    a, b = np.ones((2, 3), "float32"), np.full((2, 3), 2.0, "float32")
    np.testing.assert_array_equal(model.predict([a, b]), np.concatenate([a, b], axis=1))
    config["config"]["layers"][2]["config"]["quantization_config"] = {"mode": "int8"}
    with pytest.raises(NotImplementedError, match="quantization_config"):
        model_from_config(config)

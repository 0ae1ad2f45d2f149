"""Keras 3's .keras archive: written in Keras 3's layout (zip of metadata.json, config.json in
Keras 3's form, model.weights.h5 keyed by layer class), read back compiled with the optimizer state
so training resumes exactly, and a file written by Keras 3 itself gives Keras's predictions.
(That Keras 3 loads the archives written here was checked with Keras 3.15 beside this suite.)"""

import io
import json
import os
import zipfile

import h5py
import numpy as np
import pytest

import symkeras.backend as K
from symkeras import optimizers
from symkeras.layers import BatchNormalization, Conv2D, Dense, Flatten, Input, MaxPooling2D, concatenate
from symkeras.models import Model, Sequential, load_model

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


@pytest.fixture(autouse=True)
def _numpy_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


def _model():
    image, extra = Input((6, 6, 1), name="image"), Input((3,), name="extra")
    h = Flatten()(MaxPooling2D(2)(Conv2D(2, 3, padding="same", activation="relu")(image)))
    h = concatenate([BatchNormalization()(h), extra])
    return Model([image, extra], Dense(2, activation="softmax", name="out")(h), name="two_inputs")


def _data():
    rng = np.random.RandomState(0)
    return [rng.rand(16, 6, 6, 1).astype("float32"), rng.rand(16, 3).astype("float32")], \
        np.eye(2, dtype="float32")[np.arange(16) % 2]


def test_the_archive_has_keras_3_layout(tmp_path):
    model = _model()
    model.compile(optimizers.Adam(0.01), "categorical_crossentropy", metrics=["accuracy"])
    model.fit(*_data(), epochs=1, batch_size=8, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        assert sorted(archive.namelist()) == ["config.json", "metadata.json", "model.weights.h5"]
        config = json.loads(archive.read("config.json"))
        weights = h5py.File(io.BytesIO(archive.read("model.weights.h5")), "r")
    assert (config["module"], config["class_name"]) == ("keras.src.models.functional", "Functional")
    dense = next(entry for entry in config["config"]["layers"] if entry["name"] == "out")
    assert dense["module"] == "keras.layers" and dense["config"]["dtype"]["class_name"] == "DTypePolicy"
    joined = next(entry for entry in config["config"]["layers"] if entry["class_name"] == "Concatenate")
    histories = [t["config"]["keras_history"][0] for t in joined["inbound_nodes"][0]["args"][0]]
    assert histories == ["batch_normalization", "extra"]
    assert config["compile_config"]["optimizer"]["module"] == "keras.optimizers"
    keys = sorted(weights["layers"])
    assert "conv2d" in keys and "dense" in keys and "input_layer_1" in keys
    assert weights["layers/dense/vars"].attrs["name"] == "out"
    np.testing.assert_array_equal(weights["layers/dense/vars/0"][()], model.get_layer("out").get_weights()[0])
    assert float(weights["optimizer/vars/1"][()]) == pytest.approx(0.01)          # Keras 3: learning rate second
    assert int(weights["optimizer/vars/0"][()]) == 2                                # iterations: two steps
    weights.close()


def test_round_trip_resumes_training_exactly(tmp_path):
    x, y = _data()
    model = _model()
    model.compile(optimizers.Adam(0.01), "categorical_crossentropy", metrics=["accuracy"])
    model.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    path = str(tmp_path / "model.keras")
    model.save(path)
    again = load_model(path)
    np.testing.assert_array_equal(again.predict(x), model.predict(x))
    assert again.metrics_names == model.metrics_names
    for m in (model, again):
        m.fit(x, y, epochs=1, batch_size=8, verbose=0, shuffle=False)
    for a, b in zip(again.get_weights(), model.get_weights()):
        np.testing.assert_array_equal(a, b)


def test_a_keras_3_archive_loads_with_its_predictions():
    """keras3_dense.keras was written by Keras 3.15 (JAX) with model.save after one epoch of fit,
    from the same model as keras3_dense.h5; keras3_dense_io.npz holds Keras's predictions."""
    model = load_model(os.path.join(DATA, "keras3_dense.keras"))
    io_ = np.load(os.path.join(DATA, "keras3_dense_io.npz"))
    np.testing.assert_allclose(model.predict(io_["x"]), io_["y"], rtol=1e-5, atol=1e-6)
    assert type(model.optimizer).__name__ == "Adam" and model.loss == "categorical_crossentropy"
    assert int(K.get_value(model.optimizer.weights[0])) == 1          # the iteration count came with it


def test_a_nested_model_cannot_be_archived_yet(tmp_path):
    inner = Sequential([Dense(2, input_shape=(3,))], name="inner")
    x = Input((3,))
    outer = Model(x, inner(x))
    with pytest.raises(NotImplementedError, match="inner.*save it as .h5"):
        outer.save(str(tmp_path / "nested.keras"))
    assert not (tmp_path / "nested.keras").exists()


def test_keys_keras_3_refuses_are_left_out_and_the_archive_still_round_trips(tmp_path):
    """tf-keras writes groups for every convolution, kernel_* for separable ones and noise_shape and
    trainable for spatial dropout; Keras 3's constructors refuse them, so the archive omits them
    (checked against Keras 3.15: these models load there with the same predictions)."""
    from symkeras.layers import Conv2DTranspose, DepthwiseConv2D, SeparableConv2D, SpatialDropout2D
    x = Input((6, 6, 2))
    h = SeparableConv2D(3, 3, padding="same", name="separable")(x)
    h = DepthwiseConv2D(3, padding="same", name="depthwise")(h)
    h = SpatialDropout2D(0.2, name="spatial")(h)
    model = Model(x, Conv2DTranspose(2, 3, strides=2, padding="same", name="transposed")(h))
    path = str(tmp_path / "convs.keras")
    model.save(path)
    with zipfile.ZipFile(path) as archive:
        layers = {entry["name"]: entry["config"] for entry in json.loads(archive.read("config.json"))["config"]["layers"]}
    assert "groups" not in layers["separable"] and "kernel_initializer" not in layers["separable"]
    assert "groups" not in layers["depthwise"] and "groups" not in layers["transposed"]
    assert "noise_shape" not in layers["spatial"] and "trainable" not in layers["spatial"]
    data = np.random.RandomState(1).rand(2, 6, 6, 2).astype("float32")
    np.testing.assert_allclose(load_model(path).predict(data), model.predict(data), rtol=1e-6)


def test_a_keras_3_archive_of_many_layer_kinds_loads_with_its_predictions():
    """keras3_zoo.keras: Conv2D, BatchNormalization, LeakyReLU(negative_slope), DepthwiseConv2D,
    SeparableConv2D, MaxPooling2D, Conv2DTranspose, LayerNormalization, SpatialDropout2D,
    GlobalAveragePooling2D and Dense, written by Keras 3.15 (JAX) after two epochs of fit."""
    model = load_model(os.path.join(DATA, "keras3_zoo.keras"))
    io_ = np.load(os.path.join(DATA, "keras3_zoo_io.npz"))
    np.testing.assert_allclose(model.predict(io_["x"]), io_["y"], rtol=1e-4, atol=1e-5)
    assert model.get_layer("leaky").get_config()["alpha"] == pytest.approx(0.1)
    assert int(K.get_value(model.optimizer.weights[0])) == 4            # its two epochs of two steps

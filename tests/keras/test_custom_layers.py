"""Custom layers written the Keras 2 way: subclass Layer, create weights in ``build`` with
``add_weight``, write ``call`` with ``symkeras.backend``, give ``compute_output_shape`` and
``get_config``. They are differentiated and compiled like the built-in layers: outputs against
NumPy, gradients against finite differences, training, and a save/load round trip."""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import optimizers
from symkeras.layers import Dense, Input, Layer
from symkeras.models import Model, Sequential, load_model

from layer_checks import check_gradients, rand


@pytest.fixture(autouse=True)
def _fresh_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


class Antirectifier(Layer):
    """Centre each sample, L2-normalise it, and concatenate its positive and negative parts."""

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        shape[-1] *= 2
        return tuple(shape)

    def call(self, inputs):
        inputs -= K.mean(inputs, axis=1, keepdims=True)
        inputs = K.l2_normalize(inputs, axis=1)
        pos = K.relu(inputs)
        neg = K.relu(-inputs)
        return K.concatenate([pos, neg], axis=1)


class ScaledSquash(Layer):
    """``tanh(x * scale + shift)`` per feature, with weights made in ``build`` and a config."""

    def __init__(self, initial_scale=1.0, **kwargs):
        super().__init__(**kwargs)
        self.initial_scale = initial_scale

    def build(self, input_shape):
        features = input_shape[-1]
        self.scale = self.add_weight("scale", (features,), initializer="ones")
        self.shift = self.add_weight("shift", (features,), initializer="zeros")
        K.set_value(self.scale, np.full(features, self.initial_scale))

    def call(self, inputs):
        return K.tanh(inputs * self.scale + self.shift)

    def compute_output_shape(self, input_shape):
        return input_shape

    def get_config(self):
        return dict(super().get_config(), initial_scale=self.initial_scale)


def _np_antirectifier(x):
    x = x - x.mean(axis=1, keepdims=True)
    x = x / np.sqrt(np.maximum((x ** 2).sum(axis=1, keepdims=True), 1e-12))
    return np.concatenate([np.maximum(x, 0), np.maximum(-x, 0)], axis=1)


def test_antirectifier_output_and_shape(backend):
    x = Input((5,))
    model = Model(x, Antirectifier()(x))
    assert model.output_shape == (None, 10)
    values = np.random.RandomState(0).randn(4, 5).astype("float32")
    out = K.function([x], [model.output], backend=backend)([values])[0]
    np.testing.assert_allclose(out, _np_antirectifier(values), rtol=1e-5, atol=1e-6)


def test_custom_layer_gradients_match_finite_differences():
    layer = ScaledSquash(initial_scale=0.7, dtype="float64")
    layer.build((3, 4))
    check_gradients(lambda x: Antirectifier().call(layer.call(x)), rand(3, 4, seed=2), [layer.scale, layer.shift])


@pytest.fixture(scope="module")
def toy_data():
    rng = np.random.RandomState(3)
    x = rng.randn(96, 6).astype("float32")
    y = (x[:, :1] + x[:, 1:2] > 0).astype("float32")
    return x, y


def test_a_model_of_custom_layers_trains_and_round_trips(tmp_path, backend, toy_data):
    x_train, y_train = toy_data
    model = Sequential([Dense(16, input_shape=(6,)), Antirectifier(), ScaledSquash(0.5), Dense(1, activation="sigmoid")])
    assert model.count_params() == 6 * 16 + 16 + 2 * 32 + 32 + 1
    model.compile(optimizers.Adam(0.02), "binary_crossentropy", backend=backend)
    history = model.fit(x_train, y_train, epochs=20, batch_size=16, verbose=0)
    assert history.history["loss"][-1] < 0.8 * history.history["loss"][0]
    path = str(tmp_path / "custom.skw")
    model.save(path)
    custom = {"Antirectifier": Antirectifier, "ScaledSquash": ScaledSquash}
    with pytest.raises(ValueError, match="Antirectifier"):
        load_model(path)
    again = load_model(path, custom_objects=custom)
    assert again.layers[2].get_config()["initial_scale"] == 0.5
    np.testing.assert_allclose(again.predict(x_train[:8]), model.predict(x_train[:8]), rtol=1e-5)   # C vs NumPy

"""Convolution layers differentiated: finite differences in float64 w.r.t. the input and every
weight, the C backend against NumPy on one model of every kind of convolution (outputs and
gradients), and a small CNN whose loss falls as it trains."""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import optimizers
from symkeras.layers import (Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, Conv3D, Dense, DepthwiseConv1D,
                             DepthwiseConv2D, Flatten, Input, SeparableConv1D, SeparableConv2D)
from symkeras.models import Model, Sequential, load_model, model_from_json

from layer_checks import check_gradients


@pytest.fixture(autouse=True)
def _fresh_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


def _rand(*shape, seed=0):
    return np.random.RandomState(seed).uniform(-1.0, 1.0, size=shape)


def _check_gradients(layer, x_value):
    """d sum(y * r)/d(x and each weight) against central differences of the same compiled loss."""
    layer.build((None,) + x_value.shape[1:])
    for i, w in enumerate(layer.weights):
        K.set_value(w, _rand(*w.shape, seed=10 + i))
    check_gradients(layer.apply, x_value, layer.weights, atol=1e-9)


GRADIENT_CASES = {
    "conv2d_groups_strided_same": (lambda: Conv2D(4, 3, strides=2, padding="same", groups=2, dtype="float64"),
                                   (2, 5, 4, 2)),
    "conv1d_causal_dilated": (lambda: Conv1D(2, 2, padding="causal", dilation_rate=2, dtype="float64"), (2, 5, 2)),
    "conv3d_channels_first": (lambda: Conv3D(2, 2, data_format="channels_first", dtype="float64"), (1, 2, 3, 2, 3)),
    "depthwise_same": (lambda: DepthwiseConv2D(2, depth_multiplier=2, padding="same", dtype="float64"), (2, 3, 3, 2)),
    "depthwise1d_channels_first": (lambda: DepthwiseConv1D(2, depth_multiplier=2, data_format="channels_first",
                                                           dtype="float64"), (2, 2, 4)),
    "separable1d": (lambda: SeparableConv1D(2, 3, depth_multiplier=2, padding="same", dtype="float64"), (2, 5, 2)),
    "separable2d_channels_first": (lambda: SeparableConv2D(2, 2, data_format="channels_first", dtype="float64"),
                                   (1, 2, 3, 3)),
    "conv2d_transpose_output_padding": (lambda: Conv2DTranspose(2, 3, strides=2, padding="same", output_padding=1,
                                                                dtype="float64"), (2, 2, 3, 2)),
    "conv1d_transpose_dilated_no_bias": (lambda: Conv1DTranspose(2, 2, dilation_rate=2, use_bias=False,
                                                                 dtype="float64"), (2, 3, 3)),
}


@pytest.mark.parametrize("name", sorted(GRADIENT_CASES))
def test_gradients_match_finite_differences(name):
    make, shape = GRADIENT_CASES[name]
    _check_gradients(make(), _rand(*shape, seed=1))


# ----------------------------------------------------------------------------- C == NumPy

def _every_kind():
    """One model holding each kind of convolution, its outputs and d(sum of outputs)/d(everything)."""
    sequence, image = Input((6, 3), name="sequence"), Input((5, 4, 2), name="image")
    outputs = [
        Conv1D(3, 3, padding="causal", dilation_rate=2, activation="tanh")(sequence),
        SeparableConv1D(2, 2, strides=2, depth_multiplier=2)(sequence),
        Conv1DTranspose(2, 3, strides=2, padding="same", output_padding=1)(sequence),
        Conv2D(4, 3, strides=2, padding="same", groups=2)(image),
        Conv2D(2, 2, data_format="channels_first")(image),
        DepthwiseConv2D(2, depth_multiplier=2, dilation_rate=2, padding="same")(image),
        SeparableConv2D(3, 2, padding="same")(image),
        Conv2DTranspose(2, (3, 2), strides=(2, 1), padding="valid", activation="relu")(image),
    ]
    model = Model([sequence, image], outputs)
    for i, w in enumerate(model.weights):
        K.set_value(w, _rand(*w.shape, seed=20 + i).astype("float32"))
    loss = K.sum(K.concatenate([K.batch_flatten(o) for o in outputs]) ** 2)
    return [sequence, image], outputs + K.gradients(loss, [sequence, image] + model.weights)


def test_c_backend_matches_numpy(backend):
    if backend == "numpy":
        pytest.skip("the NumPy backend is the reference here")
    inputs, outputs = _every_kind()
    data = [_rand(3, 6, 3, seed=2).astype("float32"), _rand(3, 5, 4, 2, seed=3).astype("float32")]
    expected = K.function(inputs, outputs, backend="numpy")(data)
    got = K.function(inputs, outputs, backend="c")(data)
    assert len(got) == len(expected) == 8 + 2 + 18
    for i, (g, e) in enumerate(zip(got, expected)):
        np.testing.assert_allclose(g, e, rtol=2e-5, atol=2e-5, err_msg=f"output {i}")


# ----------------------------------------------------------------------------- training

def test_small_cnn_learns_where_the_bright_spot_is():
    rng = np.random.RandomState(0)
    x = rng.uniform(0, 0.2, (48, 6, 6, 1)).astype("float32")
    labels = rng.randint(0, 2, 48)
    for i, label in enumerate(labels):                  # a bright spot on the left or the right half
        x[i, rng.randint(0, 6), rng.randint(0, 3) + 3 * label, 0] = 1.0
    y = np.eye(2, dtype="float32")[labels]
    model = Sequential([Conv2D(4, 3, activation="relu", padding="same", input_shape=(6, 6, 1)),
                        Conv2D(4, 3, strides=2, activation="relu"), Flatten(), Dense(2, activation="softmax")])
    model.compile(optimizer=optimizers.Adam(0.02), loss="categorical_crossentropy", metrics=["accuracy"])
    history = model.fit(x, y, batch_size=16, epochs=25, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]
    assert history.history["accuracy"][-1] >= 0.9


def test_a_model_of_every_convolution_saves_and_reloads(tmp_path):
    sequence, image = Input((6, 3)), Input((5, 4, 2))
    outputs = [Conv1D(2, 3, padding="causal", kernel_regularizer="l2")(sequence),
               SeparableConv1D(2, 2, depth_multiplier=2, data_format="channels_first")(sequence),
               Conv1DTranspose(2, 3, strides=2, output_padding=1)(sequence),
               Conv2D(4, 3, groups=2, padding="same", activation="relu")(image),
               DepthwiseConv2D(2, depth_multiplier=3)(image),
               DepthwiseConv1D(3, padding="same")(sequence),
               SeparableConv2D(3, 2, dilation_rate=2)(image),
               Conv2DTranspose(2, 3, strides=2, padding="same")(image),
               Conv2D(1, 1, use_bias=False, data_format="channels_first")(image)]
    model = Model([sequence, image], outputs)
    data = [_rand(2, 6, 3, seed=4).astype("float32"), _rand(2, 5, 4, 2, seed=5).astype("float32")]
    expected = model.predict(data)
    model.save(tmp_path / "convs.npz")
    loaded = load_model(tmp_path / "convs.npz")
    assert [type(layer) for layer in loaded.layers] == [type(layer) for layer in model.layers]
    for got, want in zip(loaded.predict(data), expected):
        np.testing.assert_array_equal(got, want)
    clone = model_from_json(model.to_json())
    assert [layer.get_config() for layer in clone.layers[2:]] == [layer.get_config() for layer in model.layers[2:]]

"""Core layers: Dense with every Keras 2 argument (numbers checked against NumPy through
compiled K.functions), Activation, Dropout, Flatten, Reshape, Lambda, and the Layer base."""

import warnings

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import constraints, initializers, regularizers
from symkeras.layers import Activation, Dense, Dropout, Flatten, Input, Lambda, Layer, Reshape
from symkeras.models import Model, Sequential


@pytest.fixture(autouse=True)
def _fresh_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


def _rand(*shape, seed=0):
    return np.random.RandomState(seed).uniform(-1, 1, size=shape).astype("float32")


# ----------------------------------------------------------------------------- Dense

def test_dense_defaults_and_config():
    layer = Dense(3)
    layer(Input((4,)))
    assert layer.kernel.shape == (4, 3) and layer.bias.shape == (3,)
    assert [w.op.storage.name for w in layer.weights] == ["dense/kernel", "dense/bias"]
    np.testing.assert_array_equal(layer.get_weights()[1], np.zeros(3))
    config = layer.get_config()
    assert list(config) == ["name", "trainable", "dtype", "units", "activation", "use_bias", "kernel_initializer",
                            "bias_initializer", "kernel_regularizer", "bias_regularizer", "activity_regularizer",
                            "kernel_constraint", "bias_constraint"]
    assert config["activation"] == "linear"              # None means linear
    assert config["kernel_initializer"] == initializers.serialize(initializers.get("glorot_uniform"))
    assert config["bias_initializer"] == {"class_name": "Zeros", "config": {}}
    assert config["kernel_regularizer"] is None and config["kernel_constraint"] is None
    clone = Dense.from_config(config)
    assert clone.get_config() == config


def test_dense_arguments_take_effect():
    layer = Dense(2, activation="relu", use_bias=False, kernel_initializer="ones",
                  kernel_regularizer=regularizers.l2(0.5), activity_regularizer="l1",
                  kernel_constraint=constraints.NonNeg(), name="d")
    x = Input((3,))
    model = Model(x, layer(x))
    assert len(layer.weights) == 1 and layer.bias is None
    np.testing.assert_array_equal(layer.get_weights()[0], np.ones((3, 2)))
    assert isinstance(layer.kernel.op.storage.constraint, constraints.NonNeg)
    penalty = K.function([], model.losses, backend="numpy")([])[0]
    np.testing.assert_allclose(penalty, 0.5 * 6, rtol=1e-6)           # l2 * sum(1^2)
    config = layer.get_config()
    assert config["activation"] == "relu" and config["use_bias"] is False
    assert config["kernel_regularizer"]["class_name"] == "L2"
    assert config["activity_regularizer"]["class_name"] == "L1"
    assert config["kernel_constraint"]["class_name"] == "NonNeg"
    with pytest.raises(ValueError, match="units"):
        Dense(-1)


def test_dense_input_shape_arguments():
    assert Dense(2, input_dim=3)._batch_input_shape == (None, 3)
    assert Dense(2, input_shape=(5, 3))._batch_input_shape == (None, 5, 3)
    assert Dense(2, input_shape=(3,), batch_size=8)._batch_input_shape == (8, 3)
    assert Dense(2, batch_input_shape=(None, 4))._batch_input_shape == (None, 4)
    assert Dense(2, input_dim=3).get_config()["batch_input_shape"] == (None, 3)
    model = Sequential([Dense(2, input_dim=3)])
    assert model.input_shape == (None, 3)


def test_dense_weights_argument_sets_initial_values():
    kernel, bias = _rand(3, 2), np.array([1.0, -1.0], dtype="float32")
    layer = Dense(2, weights=[kernel, bias])
    layer(Input((3,)))
    np.testing.assert_array_equal(layer.get_weights()[0], kernel)
    np.testing.assert_array_equal(layer.get_weights()[1], bias)


def test_dense_rejects_unknown_keyword_arguments():
    with pytest.raises(TypeError, match="Keyword argument not understood: 'foo'"):
        Dense(2, foo=1)


def test_dense_legacy_keras1_arguments_convert_with_a_warning():
    with pytest.warns(UserWarning, match="Update your `Dense` call to the Keras 2 API"):
        layer = Dense(output_dim=3, init="ones", W_regularizer=regularizers.l2(0.1), bias=False)
    assert layer.units == 3 and layer.use_bias is False
    assert isinstance(layer.kernel_initializer, initializers.Ones)
    assert isinstance(layer.kernel_regularizer, regularizers.L2)
    with pytest.raises(TypeError, match="positional argument and keyword argument"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            Dense(3, output_dim=3)


def test_dense_checks_its_input():
    layer = Dense(2)
    layer(Input((3,)))
    with pytest.raises(ValueError, match="expected axis -1 of input shape to have value 3"):
        layer(Input((4,)))
    with pytest.raises(ValueError, match="expected min_ndim=2, found ndim=1"):
        Dense(2)(Input(batch_shape=(None,)))


def test_dense_forward_matches_numpy(backend):
    x = Input((4,))
    layer = Dense(3, activation="tanh", bias_initializer="ones")
    f = K.function([x], [layer(x)], backend=backend)
    data = _rand(6, 4)
    kernel, bias = layer.get_weights()
    np.testing.assert_allclose(f([data])[0], np.tanh(data @ kernel + bias), rtol=1e-5, atol=1e-6)


def test_dense_on_rank_3_acts_on_the_last_axis_with_its_gradient(backend):
    x = Input((5, 7))
    layer = Dense(3, activation="tanh", bias_initializer=initializers.Constant(0.1))
    y = layer(x)
    assert y.keras_shape == (None, 5, 3)
    assert Model(x, y).output_shape == (None, 5, 3)
    loss = K.sum(K.square(y))
    grads = K.gradients(loss, [layer.kernel, layer.bias, x])
    f = K.function([x], [y] + grads, backend=backend)
    data = _rand(2, 5, 7)
    out, g_kernel, g_bias, g_x = f([data])
    kernel, bias = layer.get_weights()
    want = np.tanh(data @ kernel + bias)
    upstream = 2 * want * (1 - want ** 2)                    # d sum(y^2) / d(pre-activation)
    np.testing.assert_allclose(out, want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(g_kernel, np.einsum("nsi,nsj->ij", data, upstream), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(g_bias, upstream.sum(axis=(0, 1)), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(g_x, upstream @ kernel.T, rtol=1e-4, atol=1e-5)


# ----------------------------------------------------------------------------- other core layers

def test_activation_layer():
    x = Input((5,))
    relu, softmax = Activation("relu"), Activation("softmax")
    f = K.function([x], [relu(x), softmax(x)], backend="numpy")
    data = _rand(3, 5)
    got_relu, got_softmax = f([data])
    np.testing.assert_allclose(got_relu, np.maximum(data, 0))
    e = np.exp(data - data.max(axis=1, keepdims=True))
    np.testing.assert_allclose(got_softmax, e / e.sum(axis=1, keepdims=True), rtol=1e-5)
    assert relu.get_config()["activation"] == "relu"
    assert Activation.from_config(softmax.get_config()).get_config() == softmax.get_config()


def test_dropout_flatten_reshape():
    assert Dropout(0.25, seed=3).get_config()["rate"] == 0.25
    with pytest.raises(ValueError, match="rate"):
        Dropout(1.5)
    x = Input((2, 3, 4))
    assert Flatten()(x).keras_shape == (None, 24)
    assert Flatten().get_config()["data_format"] == "channels_last"
    reshape = Reshape((4, -1))
    y = reshape(x)
    assert y.keras_shape == (None, 4, 6)
    assert reshape.get_config()["target_shape"] == (4, -1)
    data = _rand(2, 2, 3, 4)
    np.testing.assert_array_equal(K.function([x], [y], backend="numpy")([data])[0], data.reshape(2, 4, 6))
    with pytest.raises(ValueError, match="total size of the new array must be unchanged"):
        Reshape((5,))(x)
    with pytest.raises(ValueError, match="at most one unknown dimension"):
        Reshape((-1, -1))(x)


def double(t):
    return t * 2.0


def test_lambda_config_round_trips_named_functions_and_lambdas():
    x = Input((3,))
    offset = 1.5
    for layer in (Lambda(double), Lambda(lambda t, k: t * k + offset, arguments={"k": 3.0})):
        config = layer.get_config()
        clone = Lambda.from_config(config, safe_mode=False)     # a lambda is bytecode: trusted here
        data = _rand(2, 3)
        got = K.function([x], [clone(x)], backend="numpy")([data])[0]
        want = K.function([x], [layer(x)], backend="numpy")([data])[0]
        np.testing.assert_allclose(got, want)
    assert Lambda(double).get_config()["function_type"] == "function"


# ----------------------------------------------------------------------------- the Layer base

def test_layer_with_init_arguments_must_override_get_config():
    class Scale(Layer):
        def __init__(self, factor, **kwargs):
            super().__init__(**kwargs)
            self.factor = factor

    with pytest.raises(NotImplementedError, match="must override `get_config"):
        Scale(2.0).get_config()
    assert Layer(name="plain").get_config() == {"name": "plain", "trainable": True, "dtype": "float32"}


def test_layer_shape_and_tensor_accessors():
    layer = Dense(2)
    with pytest.raises(AttributeError, match="never been called"):
        layer.output_shape
    a, b = Input((3,)), Input((3,))
    layer(a)
    assert layer.input is a and layer.input_shape == (None, 3) and layer.output_shape == (None, 2)
    layer(b)
    assert layer.get_output_at(1)._keras_history[1] == 1
    assert layer.get_input_shape_at(1) == (None, 3)

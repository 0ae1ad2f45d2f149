"""Activations against NumPy formulas of tf-keras, with their gradients, on every backend.

All cases compile into ONE function per (backend, dtype): ``x -> [y_case, dloss_case/dx ...]``
with ``loss_case = sum(y_case * R)`` for a fixed random R. Values and gradients are compared
with NumPy formulas; elementwise gradients also with central differences (float64), and the
TensorFlow conventions at the kinks are checked exactly.
"""

import functools
import math

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import activations, initializers, optimizers
from symkeras.layers import ELU, Dense, Input, LeakyReLU, PReLU, Softmax
from symkeras.models import Model
from symkeras.utils import custom_object_scope, get_custom_objects, register_keras_serializable

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946
WIDTH = 8


def _sig(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softplus(x):
    return np.logaddexp(0.0, x)


def _elu(x, a=1.0):
    return np.where(x > 0, x, a * np.expm1(np.minimum(x, 0)))


_erf = np.vectorize(math.erf)


def _gelu(x):
    return 0.5 * x * (1 + _erf(x / math.sqrt(2)))


def _gelu_grad(x):
    return 0.5 * (1 + _erf(x / math.sqrt(2))) + x * np.exp(-x ** 2 / 2) / math.sqrt(2 * math.pi)


def _gelu_tanh(x):
    return 0.5 * x * (1 + np.tanh(np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)))


def _gelu_tanh_grad(x):
    u = np.sqrt(2 / np.pi) * (x + 0.044715 * x ** 3)
    du = np.sqrt(2 / np.pi) * (1 + 3 * 0.044715 * x ** 2)
    return 0.5 * (1 + np.tanh(u)) + 0.5 * x * (1 - np.tanh(u) ** 2) * du


def _mish_grad(x):
    t = np.tanh(_softplus(x))
    return t + x * (1 - t ** 2) * _sig(x)


# name -> (build(x), f(x), f'(x), {kink: (f, f')}) — formulas are tf-keras's.
ELEMENTWISE = {
    "linear": (activations.linear, lambda x: x, np.ones_like, {}),
    "relu": (activations.relu, lambda x: np.maximum(x, 0), lambda x: (x > 0) * 1.0, {0.0: (0.0, 0.0)}),
    "relu_alpha": (lambda x: activations.relu(x, alpha=0.1),
                   lambda x: np.where(x > 0, x, 0.1 * x), lambda x: np.where(x > 0, 1.0, 0.1),
                   {0.0: (0.0, 0.1)}),
    "relu_max6": (lambda x: activations.relu(x, max_value=6),
                  lambda x: np.clip(x, 0, 6), lambda x: ((x > 0) & (x < 6)) * 1.0,
                  {0.0: (0.0, 0.0), 6.0: (6.0, 0.0)}),
    "relu_max5": (lambda x: activations.relu(x, max_value=5.0),
                  lambda x: np.clip(x, 0, 5), lambda x: ((x > 0) & (x <= 5)) * 1.0,
                  {0.0: (0.0, 0.0), 5.0: (5.0, 1.0)}),       # clip_by_value passes at its bound
    "relu_threshold": (lambda x: activations.relu(x, threshold=1.0),
                       lambda x: x * (x > 1), lambda x: (x > 1) * 1.0,
                       {1.0: (0.0, 0.0)}),                     # 0 at the threshold, not 1
    "relu_all": (lambda x: activations.relu(x, alpha=0.1, max_value=5.0, threshold=1.0),
                 lambda x: np.clip(x * (x > 1), 0, 5) - 0.1 * np.maximum(1 - x, 0),
                 lambda x: ((x > 1) & (x <= 5)) * 1.0 + 0.1 * (x < 1),
                 {1.0: (0.0, 0.0), 5.0: (5.0, 1.0)}),
    "relu_negative_threshold": (lambda x: activations.relu(x, threshold=-1.0),
                                lambda x: x * (x > -1), lambda x: (x > -1) * 1.0,
                                {-1.0: (0.0, 0.0)}),
    "relu_negative_threshold_max": (lambda x: activations.relu(x, threshold=-1.0, max_value=5.0),
                                    lambda x: np.clip(x * (x > -1), 0, 5),
                                    lambda x: ((x >= 0) & (x <= 5)) * 1.0, {-1.0: (0.0, 0.0)}),
    "leaky_relu": (activations.leaky_relu, lambda x: np.where(x > 0, x, 0.2 * x),
                   lambda x: np.where(x > 0, 1.0, 0.2), {0.0: (0.0, 0.2)}),
    "relu6": (activations.relu6, lambda x: np.clip(x, 0, 6), lambda x: ((x > 0) & (x < 6)) * 1.0,
              {0.0: (0.0, 0.0), 6.0: (6.0, 0.0)}),
    "elu": (activations.elu, _elu, lambda x: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0))),
            {0.0: (0.0, 1.0)}),
    "elu_half": (lambda x: activations.elu(x, alpha=0.5), lambda x: _elu(x, 0.5),
                 lambda x: np.where(x > 0, 1.0, 0.5 * np.exp(np.minimum(x, 0))), {0.0: (0.0, 0.5)}),
    "selu": (activations.selu, lambda x: SELU_SCALE * _elu(x, SELU_ALPHA),
             lambda x: SELU_SCALE * np.where(x > 0, 1.0, SELU_ALPHA * np.exp(np.minimum(x, 0))),
             {0.0: (0.0, SELU_SCALE)}),                  # tf.nn.selu: linear branch at 0
    "softplus": (activations.softplus, _softplus, _sig, {}),
    "softsign": (activations.softsign, lambda x: x / (np.abs(x) + 1), lambda x: 1 / (np.abs(x) + 1) ** 2,
                 {0.0: (0.0, 1.0)}),
    "swish": (activations.swish, lambda x: x * _sig(x), lambda x: _sig(x) * (1 + x * (1 - _sig(x))), {}),
    "gelu": (activations.gelu, _gelu, _gelu_grad, {}),
    "gelu_tanh": (lambda x: activations.gelu(x, approximate=True), _gelu_tanh, _gelu_tanh_grad, {}),
    "tanh": (activations.tanh, np.tanh, lambda x: 1 - np.tanh(x) ** 2, {}),
    "sigmoid": (activations.sigmoid, _sig, lambda x: _sig(x) * (1 - _sig(x)), {}),
    "exponential": (activations.exponential, np.exp, np.exp, {}),
    "hard_sigmoid": (activations.hard_sigmoid, lambda x: np.clip(0.2 * x + 0.5, 0, 1),
                     lambda x: ((x >= -2.5) & (x <= 2.5)) * 0.2,
                     {2.5: (1.0, 0.2), -2.5: (0.0, 0.2)}),
    "mish": (activations.mish, lambda x: x * np.tanh(_softplus(x)), _mish_grad, {}),
}
KINKS = sorted({k for case in ELEMENTWISE.values() for k in case[3]})
ALL_KINKS = KINKS + [2.5, -2.5]


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


# name -> (build(x3), numpy y(x3), numpy dloss/dx(x3, R)) on a (None, 3, 4) input.
AXIS_CASES = {
    "softmax_last": (activations.softmax, lambda x: _softmax(x, -1), -1),
    "softmax_axis1": (lambda x: activations.softmax(x, axis=1), lambda x: _softmax(x, 1), 1),
    "softmax_axes12": (lambda x: activations.softmax(x, axis=(1, 2)), lambda x: _softmax(x, (1, 2)), (1, 2)),
    "log_softmax_last": (activations.log_softmax, lambda x: np.log(_softmax(x, -1)), -1),
    "log_softmax_axis1": (lambda x: activations.log_softmax(x, axis=1), lambda x: np.log(_softmax(x, 1)), 1),
}


def _axis_grad(name, x, r, axis):
    s = _softmax(x, axis)
    if name.startswith("log_"):
        return r - s * r.sum(axis=axis, keepdims=True)
    return s * (r - (r * s).sum(axis=axis, keepdims=True))


def _weights(shape, seed):
    return np.random.RandomState(seed).uniform(0.5, 1.5, shape)


@functools.lru_cache(maxsize=None)
def _compiled(backend, dtype):
    """One function for every case: (elementwise fn, its R), (axis fn, its R)."""
    x = K.placeholder((None, WIDTH), dtype=dtype, name="x")
    x3 = K.placeholder((None, 3, 4), dtype=dtype, name="x3")
    outputs = []
    for i, (build, *_rest) in enumerate(ELEMENTWISE.values()):
        y = build(x)
        r = K.constant(_weights((1, WIDTH), i), dtype=dtype)
        outputs += [y, K.gradients(K.sum(y * r), [x])[0]]
    for i, (build, _f, _axis) in enumerate(AXIS_CASES.values()):
        y = build(x3)
        r = K.constant(_weights((1, 3, 4), 100 + i), dtype=dtype)
        outputs += [y, K.gradients(K.sum(y * r), [x3])[0]]
    return K.function([x, x3], outputs, backend=backend, name=f"activations_{dtype}")


def _run(backend, dtype, x, x3=None):
    x3 = np.zeros((len(x), 3, 4)) if x3 is None else x3
    out = _compiled(backend, dtype)([x.astype(dtype), x3.astype(dtype)])
    n = len(ELEMENTWISE)
    ew = dict(zip(ELEMENTWISE, zip(out[0:2 * n:2], out[1:2 * n:2])))
    ax = dict(zip(AXIS_CASES, zip(out[2 * n::2], out[2 * n + 1::2])))
    return ew, ax


def _points(seed=0, rows=6):
    """Uniform on [-7, 8] kept 0.05 away from every kink (finite differences stay one-sided-free)."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(-7, 8, (rows, WIDTH))
    for _ in range(100):
        bad = np.zeros(x.shape, bool)
        for k in ALL_KINKS:
            bad |= np.abs(x - k) < 0.05
        if not bad.any():
            return x
        x = np.where(bad, rng.uniform(-7, 8, x.shape), x)
    raise AssertionError("could not avoid kinks")


X = _points()
X3 = np.random.RandomState(1).uniform(-3, 3, (len(X), 3, 4))


# ----------------------------------------------------------------------------- values and gradients

@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_elementwise_value_and_gradient_float64(backend, name):
    _build, f, df, _kinks = ELEMENTWISE[name]
    ew, _ = _run(backend, "float64", X)
    y, g = ew[name]
    r = _weights((1, WIDTH), list(ELEMENTWISE).index(name))
    np.testing.assert_allclose(y, f(X), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g, r * df(X), rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("name", list(ELEMENTWISE))
def test_elementwise_gradient_matches_finite_differences(backend, name):
    h = 1e-6 * np.maximum(1.0, np.abs(X))
    (_, g), = [_run(backend, "float64", X)[0][name]]
    y_plus = _run(backend, "float64", X + h)[0][name][0]
    y_minus = _run(backend, "float64", X - h)[0][name][0]
    r = _weights((1, WIDTH), list(ELEMENTWISE).index(name))
    np.testing.assert_allclose(g, r * (y_plus - y_minus) / (2 * h), rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", [n for n, case in ELEMENTWISE.items() if case[3]])
def test_tensorflow_conventions_at_kinks(backend, name):
    kinks = ELEMENTWISE[name][3]
    x = np.resize(np.array(sorted(kinks), dtype=np.float64), (1, WIDTH))
    y, g = _run(backend, "float64", x)[0][name]
    r = _weights((1, WIDTH), list(ELEMENTWISE).index(name))
    for j, value in enumerate(x[0]):
        expected_y, expected_dy = kinks[value]
        assert y[0, j] == pytest.approx(expected_y, abs=1e-12), f"{name}({value})"
        assert g[0, j] / r[0, j] == pytest.approx(expected_dy, rel=1e-12), f"{name}'({value})"


@pytest.mark.parametrize("name", list(AXIS_CASES))
def test_softmax_family_value_and_gradient(backend, name):
    _build, f, axis = AXIS_CASES[name]
    _, ax = _run(backend, "float64", np.zeros((len(X3), WIDTH)), X3)
    y, g = ax[name]
    r = _weights((1, 3, 4), 100 + list(AXIS_CASES).index(name))
    np.testing.assert_allclose(y, f(X3), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(g, _axis_grad(name, X3, r, axis), rtol=1e-10, atol=1e-12)
    if not name.startswith("log_"):
        np.testing.assert_allclose(y.sum(axis=axis), 1.0, rtol=1e-12)


def test_float32_values_close_to_formulas(backend):
    ew, ax = _run(backend, "float32", X, X3)
    for name, (_b, f, _df, _k) in ELEMENTWISE.items():
        assert ew[name][0].dtype == np.float32, name
        np.testing.assert_allclose(ew[name][0], f(X), rtol=2e-6, atol=2e-6, err_msg=name)
    for name, (_b, f, _axis) in AXIS_CASES.items():
        np.testing.assert_allclose(ax[name][0], f(X3), rtol=1e-5, atol=1e-6, err_msg=name)


def test_softmax_is_stable_for_large_logits(backend):
    _, ax = _run(backend, "float32", np.zeros((1, WIDTH)), np.full((1, 3, 4), 1000.0) + np.arange(4))
    y = ax["softmax_last"][0]
    assert np.all(np.isfinite(y))
    np.testing.assert_allclose(y[0, 0], _softmax(np.arange(4.0), -1), rtol=1e-5)


def test_tf_keras_doc_examples():
    """The values printed in tf-keras's docstrings (float32)."""
    x = K.placeholder((None, 5))
    cases = [  # (output node, inputs, expected)
        (activations.relu(x), [-10, -5, 0, 5, 10], [0, 0, 0, 5, 10]),
        (activations.relu(x, alpha=0.5), [-10, -5, 0, 5, 10], [-5, -2.5, 0, 5, 10]),
        (activations.relu(x, max_value=5.0), [-10, -5, 0, 5, 10], [0, 0, 0, 5, 5]),
        (activations.relu(x, threshold=5.0), [-10, -5, 0, 5, 10], [0, 0, 0, 0, 10]),
        (activations.hard_sigmoid(x), [-3, -1, 0, 1, 3], [0, 0.3, 0.5, 0.7, 1]),
        (activations.gelu(x), [-3, -1, 0, 1, 3], [-0.00404951, -0.15865529, 0, 0.8413447, 2.9959507]),
        (activations.gelu(x, approximate=True), [-3, -1, 0, 1, 3],
         [-0.00363752, -0.15880796, 0, 0.841192, 2.9963627]),
        (activations.mish(x), [-3, -1, 0, 1, 1], [-0.14564745, -0.30340144, 0, 0.86509836, 0.86509836]),
        (activations.swish(x), [-20, -1, 0, 1, 20], [-4.1223075e-08, -2.6894143e-01, 0, 7.3105860e-01, 20]),
        (activations.softplus(x), [-20, -1, 0, 1, 20], [2.0611537e-09, 3.1326166e-01, 6.9314718e-01,
                                                        1.3132616e+00, 2.0000000e+01]),
    ]
    for i, (node, inputs, expected) in enumerate(cases):
        (y,) = K.function([x], [node], backend="numpy")([np.array([inputs], np.float32)])
        np.testing.assert_allclose(y[0], expected, rtol=1e-5, atol=3e-7, err_msg=f"case {i}")


# ----------------------------------------------------------------------------- errors

def test_softmax_accepts_numpy_integer_axis():
    x = K.placeholder((None, 3, 4))
    assert activations.softmax(x, axis=np.int64(1)).shape == activations.softmax(x, axis=1).shape


def test_softmax_rejects_rank_1():
    with pytest.raises(ValueError, match="Cannot apply softmax to a tensor that is 1D"):
        activations.softmax(K.placeholder((None,)))




# ----------------------------------------------------------------------------- get / serialize

@pytest.mark.parametrize("name", ["linear", "relu", "elu", "selu", "softplus", "softsign", "swish",
                                  "silu", "gelu", "tanh", "sigmoid", "exponential", "hard_sigmoid",
                                  "softmax", "log_softmax", "leaky_relu", "relu6", "mish"])
def test_get_by_name_round_trips(name):
    fn = activations.get(name)
    assert fn is getattr(activations, name)
    assert activations.deserialize(activations.serialize(fn)) is fn


def test_get_none_callable_and_errors():
    assert activations.get(None) is activations.linear
    assert activations.get(abs) is abs
    assert activations.serialize(activations.relu) == "relu"
    assert activations.serialize(activations.silu) == "swish"      # silu is swish
    with pytest.raises(ValueError, match="^Unknown activation function: abcd$"):
        activations.get("abcd")
    with pytest.raises(TypeError, match="Could not interpret activation function identifier"):
        activations.get(42)


def test_custom_activations_by_name():
    def my_act(x):
        return x * 2.0
    with pytest.raises(ValueError, match="Unknown activation function: my_act"):
        activations.get("my_act")
    assert activations.deserialize("my_act", custom_objects={"my_act": my_act}) is my_act
    with custom_object_scope({"my_act": my_act}):
        assert activations.get("my_act") is my_act
        with custom_object_scope({"my_act": abs}):                   # the innermost scope wins
            assert activations.get("my_act") is abs
        assert activations.get("my_act") is my_act
    with pytest.raises(ValueError):
        activations.get("my_act")
    get_custom_objects()["my_act"] = my_act
    try:
        assert activations.get("my_act") is my_act
    finally:
        del get_custom_objects()["my_act"]


def test_registered_activation_serializes_under_its_package():
    @register_keras_serializable(package="Tests")
    def doubled(x):
        return x * 2.0
    try:
        assert activations.serialize(doubled) == "Tests>doubled"
        assert activations.deserialize("Tests>doubled") is doubled
    finally:
        get_custom_objects().pop("Tests>doubled")


def test_new_format_function_config_is_accepted():
    config = {"module": "keras.activations", "class_name": "function", "config": "relu",
              "registered_name": "relu"}
    assert activations.get(config) is activations.relu


def test_activation_layers_by_name_and_by_config():
    """As tf-keras: a config (or a class name) of an activation layer gives that layer; other
    layers are not activations; a name of a function still gives the function."""
    layer = activations.get("LeakyReLU")
    assert isinstance(layer, LeakyReLU) and layer.alpha == float(np.float32(0.3))
    config = activations.serialize(LeakyReLU(alpha=0.5, name="leaky"))
    assert config == {"class_name": "LeakyReLU",
                      "config": {"name": "leaky", "trainable": True, "dtype": "float32", "alpha": 0.5}}
    again = activations.deserialize(config)
    assert isinstance(again, LeakyReLU) and again.get_config() == config["config"]
    assert isinstance(activations.get({"class_name": "PReLU", "config": {"shared_axes": [1]}}), PReLU)
    assert isinstance(activations.get({"class_name": "Softmax", "config": {"axis": 1}}), Softmax)
    assert activations.get({"class_name": "ELU", "config": {"alpha": 0.5}}).alpha == 0.5
    assert isinstance(activations.get("ELU"), ELU) and activations.get("elu") is activations.elu
    with pytest.raises(ValueError, match="^Unknown activation function: Dense$"):
        activations.get({"class_name": "Dense", "config": {"units": 1}})


def test_selu_values_and_its_gradient_at_zero_follow_tf_nn_selu(backend):
    x = K.placeholder((None, 5), dtype="float64")
    y = activations.selu(x)
    f = K.function([x], [y, K.gradients(K.sum(y), [x])[0]], backend=backend)
    data = np.array([[-1.0, -1e-8, 0.0, 1e-8, 2.0]])
    values, grads = f([data])
    np.testing.assert_allclose(values[0], [SELU_SCALE * SELU_ALPHA * np.expm1(-1.0), SELU_SCALE * SELU_ALPHA *
                                           np.expm1(-1e-8), 0.0, SELU_SCALE * 1e-8, SELU_SCALE * 2.0], rtol=1e-12)
    np.testing.assert_allclose(grads[0], [SELU_SCALE * SELU_ALPHA * np.exp(-1.0), SELU_SCALE * SELU_ALPHA *
                                          np.exp(-1e-8), SELU_SCALE, SELU_SCALE, SELU_SCALE], rtol=1e-12)


# ----------------------------------------------------------------------------- in a model

def test_dense_with_exact_gelu_trains(backend):
    """Dense(activation="gelu") is the exact (erf) gelu, and its gradient fits a smooth target."""
    rng = np.random.RandomState(0)
    x = rng.uniform(-2, 2, (64, 3)).astype(np.float32)
    y = np.sin(x.sum(axis=1, keepdims=True)).astype(np.float32)
    inputs = Input((3,), name="x")
    hidden = Dense(16, activation="gelu", kernel_initializer=initializers.GlorotUniform(seed=0),
                   bias_initializer="ones", name="hidden")(inputs)
    features = Model(inputs, hidden)
    features.compile(loss="mse", backend=backend)
    kernel, bias = features.get_weights()
    np.testing.assert_allclose(features.predict(x, verbose=0), _gelu(x.astype(np.float64) @ kernel + bias),
                               rtol=1e-5, atol=1e-6)
    out = Dense(1, kernel_initializer=initializers.GlorotUniform(seed=100), name="out")(hidden)
    model = Model(inputs, out)
    model.compile(optimizers.Adam(learning_rate=0.02), "mse", backend=backend)
    losses = model.fit(x, y, batch_size=16, epochs=30, shuffle=False, verbose=0).history["loss"]
    assert losses[-1] < 0.25 * losses[0], losses
    assert ("_sk_erf(" if backend == "numpy" else "erff(") in model.make_train_function().source

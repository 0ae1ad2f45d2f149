"""Noise layers: GaussianNoise, GaussianDropout, AlphaDropout.

In training they are checked value for value against the counter-based generator's reference
draw (the numbers a seeded random op produces) combined by formulas written here, and
statistically on large samples; in predict/evaluate they are the identity. Gradients are
checked by finite differences in float64 with the random state held fixed.
"""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import layers
from symkeras.codegen import rng
from symkeras.ir import ops as O
from symkeras.layers import AlphaDropout, GaussianDropout, GaussianNoise, Input
from symkeras.models import Model, Sequential

SELU_ALPHA = 1.6732632423543772848170429916717
SELU_SCALE = 1.0507009873554804934193349852946


@pytest.fixture(autouse=True)
def _fresh_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


def _rand(*shape, seed=0):
    return np.random.RandomState(seed).uniform(-1, 1, size=shape)


def _states(node):
    """The random-state variables the graph of ``node`` draws from."""
    return [n.inputs[0] for n in K.toposort([node]) if isinstance(n.op, O.Random)]


def _training_fn(layer, shape, backend="numpy", dtype="float64", grad=False):
    """f(x) -> [y (, dy/dx of sum(y * r))] of ``layer`` in training mode, and y's random states."""
    x = K.placeholder((None,) + shape, dtype=dtype)
    y = layer.apply(x, training=True)
    outputs = [y]
    if grad:
        r = K.placeholder((None,) + shape, dtype=dtype)
        outputs.append(K.gradients(K.sum(y * r), [x])[0])
        return K.function([x, r], outputs, backend=backend), _states(y)
    return K.function([x], outputs, backend=backend), _states(y)


def _normal(seed, counter, shape, dtype="float64"):
    return rng.draw(np.array([seed, counter]), int(np.prod(shape)), "normal", 0, dtype).reshape(shape)


def _uniform(seed, counter, shape, dtype="float64"):
    return rng.draw(np.array([seed, counter]), int(np.prod(shape)), "uniform", 0, dtype).reshape(shape)


def _check_input_gradient(layer, shape, seed):
    """d sum(y * r)/dx against central differences, the random state reset before each call."""
    f, states = _training_fn(layer, shape, grad=True)
    x, r = _rand(2, *shape, seed=1), _rand(2, *shape, seed=2)

    def run(value):
        for s in states:
            K.set_value(s, np.array([seed, 0]))
        return f([value, r])

    analytic = run(x)[1]
    numeric = np.zeros_like(x)
    h = 1e-6
    for idx in np.ndindex(x.shape):
        plus, minus = x.copy(), x.copy()
        plus[idx] += h
        minus[idx] -= h
        numeric[idx] = (np.sum(run(plus)[0] * r) - np.sum(run(minus)[0] * r)) / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-8)


# ----------------------------------------------------------------------------- GaussianNoise

def test_gaussian_noise_adds_the_seeded_normal_draw_and_advances_per_call():
    f, states = _training_fn(GaussianNoise(0.3, seed=11), (4, 5))
    x = _rand(3, 4, 5)
    first, second = f([x])[0], f([x])[0]
    np.testing.assert_allclose(first, x + 0.3 * _normal(11, 0, (3, 4, 5)), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(second, x + 0.3 * _normal(11, 1, (3, 4, 5)), rtol=1e-12, atol=1e-12)
    assert len(states) == 1 and list(K.get_value(states[0])) == [11, 2]


def test_gaussian_noise_distribution():
    f, _ = _training_fn(GaussianNoise(0.5, seed=3), (1000,), dtype="float32")
    noise = f([np.zeros((200, 1000), dtype="float32")])[0]
    assert noise.dtype == np.float32
    assert abs(noise.mean()) < 0.005
    assert abs(noise.std() - 0.5) < 0.005
    assert abs(np.mean(np.abs(noise) < 0.5) - 0.6827) < 0.005         # one sigma holds 68.27%


def test_gaussian_noise_gradient_is_the_identity():
    _check_input_gradient(GaussianNoise(0.7, seed=5), (3,), seed=5)


def test_gaussian_noise_config_and_errors():
    layer = GaussianNoise(0.2, seed=4, name="gn")
    config = layer.get_config()
    assert config == {"name": "gn", "trainable": True, "dtype": "float32", "stddev": 0.2, "seed": 4}
    assert GaussianNoise.from_config(config).get_config() == config
    with pytest.raises(ValueError, match="stddev"):
        GaussianNoise(-0.1)
    with pytest.raises(ValueError, match="stddev"):
        GaussianNoise("0.1")
    x = Input((3,))
    assert layer(x).keras_shape == (None, 3)
    assert layer.count_params() == 0 and layer.weights == []


# ----------------------------------------------------------------------------- GaussianDropout

def test_gaussian_dropout_multiplies_by_the_seeded_draw():
    rate = 0.2
    f, _ = _training_fn(GaussianDropout(rate, seed=8), (6,))
    x = _rand(4, 6)
    want = x * (1.0 + np.sqrt(rate / (1 - rate)) * _normal(8, 0, (4, 6)))
    np.testing.assert_allclose(f([x])[0], want, rtol=1e-12, atol=1e-12)


def test_gaussian_dropout_distribution():
    rate = 0.4
    f, _ = _training_fn(GaussianDropout(rate, seed=9), (1000,), dtype="float32")
    noise = f([np.ones((200, 1000), dtype="float32")])[0]
    assert abs(noise.mean() - 1.0) < 0.01
    assert abs(noise.var() - rate / (1 - rate)) < 0.01


@pytest.mark.parametrize("rate", [0.0, 1.0])
def test_gaussian_dropout_rates_0_and_1_leave_inputs_unchanged(rate):
    f, states = _training_fn(GaussianDropout(rate, seed=1), (3,))
    x = _rand(2, 3)
    np.testing.assert_array_equal(f([x])[0], x)
    assert states == []


def test_gaussian_dropout_gradient_is_the_noise():
    _check_input_gradient(GaussianDropout(0.3, seed=6), (3,), seed=6)


def test_gaussian_dropout_config_and_errors():
    layer = GaussianDropout(0.25, name="gd")
    config = layer.get_config()
    assert config == {"name": "gd", "trainable": True, "dtype": "float32", "rate": 0.25, "seed": None}
    assert GaussianDropout.from_config(config).get_config() == config
    for bad in (-0.5, 1.5, None):
        with pytest.raises(ValueError, match="rate"):
            GaussianDropout(bad)


# ----------------------------------------------------------------------------- AlphaDropout

def _alpha_dropout(x, kept, rate):
    """tf-keras's formula, from the selu constants."""
    alpha_p = -SELU_ALPHA * SELU_SCALE
    a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5
    b = -a * alpha_p * rate
    return a * np.where(kept, x, alpha_p) + b


def test_alpha_dropout_matches_the_seeded_mask():
    rate = 0.3
    f, _ = _training_fn(AlphaDropout(rate, seed=21), (5,))
    x = _rand(4, 5)
    kept = _uniform(21, 0, (4, 5)) >= rate
    assert 0 < kept.sum() < kept.size
    np.testing.assert_allclose(f([x])[0], _alpha_dropout(x, kept, rate), rtol=1e-12, atol=1e-12)


def test_alpha_dropout_noise_shape_shares_the_mask():
    rate = 0.5
    f, _ = _training_fn(AlphaDropout(rate, noise_shape=(None, 1, 6), seed=2), (4, 6))
    x = _rand(3, 4, 6)
    kept = _uniform(2, 0, (3, 1, 6)) >= rate
    np.testing.assert_allclose(f([x])[0], _alpha_dropout(x, np.broadcast_to(kept, x.shape), rate),
                               rtol=1e-12, atol=1e-12)


def test_alpha_dropout_keeps_zero_mean_and_unit_variance():
    f, _ = _training_fn(AlphaDropout(0.2, seed=4), (1000,), dtype="float32")
    x = np.random.RandomState(0).standard_normal((200, 1000)).astype("float32")
    y = f([x])[0]
    assert abs(y.mean()) < 0.01
    assert abs(y.var() - 1.0) < 0.01
    dropped_value = _alpha_dropout(np.zeros(1), np.zeros(1, bool), 0.2)[0]     # a * alpha_p + b
    dropped = np.isclose(y, dropped_value, rtol=0, atol=1e-6)
    assert abs(dropped.mean() - 0.2) < 0.005


def test_alpha_dropout_gradient():
    _check_input_gradient(AlphaDropout(0.4, seed=3), (4,), seed=3)


def test_alpha_dropout_config_and_errors():
    layer = AlphaDropout(0.1, noise_shape=(None, 1), seed=7, name="ad")
    config = layer.get_config()
    assert config == {"name": "ad", "trainable": True, "dtype": "float32", "rate": 0.1,
                      "noise_shape": (None, 1), "seed": 7}
    assert AlphaDropout.from_config(config).get_config() == config
    for bad in (-0.1, 2):
        with pytest.raises(ValueError, match="rate"):
            AlphaDropout(bad)
    x = K.placeholder((None, 3, 2))
    with pytest.raises(ValueError, match="noise_shape"):
        layer.apply(x, training=True)
    f, _ = _training_fn(AlphaDropout(1.0), (3,))
    np.testing.assert_array_equal(f([np.ones((2, 3))])[0], np.ones((2, 3)))


# ----------------------------------------------------------------------------- inside models

def test_noise_layers_are_the_identity_in_predict_and_evaluate_and_noisy_in_fit():
    x = Input((4,))
    y = AlphaDropout(0.5, seed=1)(GaussianDropout(0.5, seed=2)(GaussianNoise(1.0, seed=3)(x)))
    model = Model(x, y)
    data = _rand(8, 4).astype("float32")
    np.testing.assert_array_equal(model.predict(data), data)
    model.compile("sgd", "mse")
    assert model.evaluate(data, data, verbose=0) == 0.0
    assert model.train_on_batch(data, data) > 0.1
    assert model.count_params() == 0


def test_deserialization_and_sequential_use():
    for layer in (GaussianNoise(0.1, seed=1), GaussianDropout(0.2), AlphaDropout(0.3, seed=5)):
        clone = layers.deserialize(layers.serialize(layer))
        assert type(clone) is type(layer) and clone.get_config() == layer.get_config()
    K.clear_session()
    model = Sequential([GaussianNoise(0.1, input_shape=(3,)), layers.Dense(2)])
    assert model.output_shape == (None, 2)
    lines = []
    model.summary(print_fn=lines.append)
    assert any(line.startswith("gaussian_noise (GaussianNois ") and "(None, 3)" in line for line in lines)
    assert model.count_params() == 8


def test_noise_layers_agree_between_backends(backend):
    """The same seeded draw in NumPy and C (one function with all three layers)."""
    if backend == "numpy":
        pytest.skip("compared against NumPy within the C case")
    outs = []
    for name in ("numpy", backend):
        K.clear_session()
        x = K.placeholder((None, 5), dtype="float32")
        ys = [GaussianNoise(0.5, seed=1).apply(x, training=True),
              GaussianDropout(0.3, seed=2).apply(x, training=True),
              AlphaDropout(0.3, seed=3).apply(x, training=True)]
        f = K.function([x], ys, backend=name)
        data = _rand(3, 5).astype("float32")
        outs.append(f([data]) + f([data]))
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)

"""Permute, RepeatVector, ActivityRegularization and SpatialDropout1D/2D/3D: values against
NumPy written here, finite-difference gradients in float64, configs, shapes and errors."""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import layers, optimizers
from symkeras.codegen import rng
from symkeras.ir import ops as O
from symkeras.layers import (ActivityRegularization, Dense, Input, Permute, RepeatVector, SpatialDropout1D,
                             SpatialDropout2D, SpatialDropout3D)
from symkeras.models import Model, Sequential


@pytest.fixture(autouse=True)
def _fresh_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


def _rand(*shape, seed=0):
    return np.random.RandomState(seed).uniform(-1, 1, size=shape)


def _states(node):
    return [n.inputs[0] for n in K.toposort([node]) if isinstance(n.op, O.Random)]


def _check_gradient(build, shape, reset=None):
    """d sum(y * r)/dx of ``y = build(x)`` against central differences (float64).

    ``reset`` (seed) puts every random state back to counter 0 before each call.
    """
    x = K.placeholder((None,) + shape, dtype="float64")
    y = build(x)
    r_value = _rand(2, *K.int_shape(y)[1:], seed=3)
    r = K.placeholder(K.int_shape(y), dtype="float64")
    f = K.function([x, r], [y, K.gradients(K.sum(y * r), [x])[0]], backend="numpy")
    states = _states(y)

    def run(value):
        for s in states:
            K.set_value(s, np.array([reset, 0]))
        return f([value, r_value])

    value = _rand(2, *shape, seed=4)
    analytic = run(value)[1]
    numeric = np.zeros_like(value)
    h = 1e-6
    for idx in np.ndindex(value.shape):
        plus, minus = value.copy(), value.copy()
        plus[idx] += h
        minus[idx] -= h
        numeric[idx] = (np.sum(run(plus)[0] * r_value) - np.sum(run(minus)[0] * r_value)) / (2 * h)
    np.testing.assert_allclose(analytic, numeric, rtol=1e-7, atol=1e-8)
    return analytic, r_value


# ----------------------------------------------------------------------------- Permute

@pytest.mark.parametrize("dims", [(2, 1), (3, 1, 2), (2, 3, 1)])
def test_permute_matches_numpy_transpose(dims):
    shape = (2, 3, 4)[:len(dims)]
    x = Input(shape)
    layer = Permute(dims)
    y = layer(x)
    want_shape = tuple(shape[d - 1] for d in dims)
    assert y.keras_shape == (None,) + want_shape
    assert layer.compute_output_shape((None,) + shape) == (None,) + want_shape
    data = _rand(5, *shape)
    got = K.function([x], [y], backend="numpy")([data.astype("float32")])[0]
    want = np.empty((5,) + want_shape)
    for idx in np.ndindex(*data.shape):                # out[b, i_dims[0]-1, ...] = x[b, i...]
        want[(idx[0],) + tuple(idx[d] for d in dims)] = data[idx]
    np.testing.assert_allclose(got, want, rtol=1e-6)


def test_permute_gradient():
    _check_gradient(lambda x: Permute((3, 1, 2)).apply(x), (2, 3, 2))


def test_permute_config_and_errors():
    layer = Permute((2, 1), name="p")
    config = layer.get_config()
    assert config == {"name": "p", "trainable": True, "dtype": "float32", "dims": (2, 1)}
    assert Permute.from_config(config).get_config() == config
    for bad in [(1, 3), (0, 1), (2, 2), (1, 2, 4), (-1, 1)]:
        with pytest.raises(ValueError, match="dims"):
            Permute(bad)
    with pytest.raises(ValueError, match="dims"):
        Permute((1.0, 2))
    with pytest.raises(TypeError, match="dims"):
        Permute(2)
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=4"):
        Permute((2, 1))(Input((2, 3, 4)))


# ----------------------------------------------------------------------------- RepeatVector

def test_repeat_vector_values_shape_and_gradient():
    x = Input((3,))
    layer = RepeatVector(4)
    y = layer(x)
    assert y.keras_shape == (None, 4, 3)
    assert layer.compute_output_shape((None, 3)) == (None, 4, 3)
    data = _rand(2, 3)
    got = K.function([x], [y], backend="numpy")([data.astype("float32")])[0]
    want = np.empty((2, 4, 3))
    for b in range(2):
        for t in range(4):
            want[b, t] = data[b]
    np.testing.assert_allclose(got, want, rtol=1e-6)
    grad, r = _check_gradient(lambda t: RepeatVector(4).apply(t), (3,))
    np.testing.assert_allclose(grad, r.sum(axis=1), rtol=1e-12)       # each copy sends its share back


def test_repeat_vector_config_and_errors():
    layer = RepeatVector(2, name="rv")
    config = layer.get_config()
    assert config == {"name": "rv", "trainable": True, "dtype": "float32", "n": 2}
    assert RepeatVector.from_config(config).get_config() == config
    with pytest.raises(TypeError, match="`n`"):
        RepeatVector(2.0)
    with pytest.raises(TypeError, match="`n`"):
        RepeatVector("3")
    with pytest.raises(ValueError, match="`n`"):
        RepeatVector(0)
    with pytest.raises(ValueError, match="expected ndim=2, found ndim=3"):
        RepeatVector(2)(Input((2, 3)))
    with pytest.raises(ValueError, match="2-D"):
        K.repeat(K.placeholder((None, 2, 3)), 2)


# ----------------------------------------------------------------------------- ActivityRegularization

def test_activity_regularization_adds_its_penalty_per_sample_to_the_loss():
    x = Input((3,))
    dense = Dense(2, use_bias=False, kernel_initializer="ones")
    reg = ActivityRegularization(l1=0.1, l2=0.2)
    model = Model(x, reg(dense(x)))
    model.compile("sgd", "mse")
    data, target = _rand(4, 3).astype("float32"), _rand(4, 2, seed=1).astype("float32")
    out = data.astype("float64") @ np.ones((3, 2))
    np.testing.assert_allclose(model.predict(data), out, rtol=1e-6)
    mse = np.mean((out - target) ** 2)
    penalty = (0.1 * np.abs(out).sum() + 0.2 * (out ** 2).sum()) / 4       # tf-keras: divided by batch size
    np.testing.assert_allclose(model.evaluate(data, target, verbose=0), mse + penalty, rtol=1e-5)
    assert model.count_params() == 6 and reg.count_params() == 0
    # one SGD step: the kernel moves by lr * x^T dL/dy, the penalty's gradient included
    model.compile(optimizers.SGD(learning_rate=0.1), "mse")
    model.train_on_batch(data, target)
    d_out = 2 * (out - target) / out.size + (0.1 * np.sign(out) + 2 * 0.2 * out) / 4
    np.testing.assert_allclose(dense.get_weights()[0], np.ones((3, 2)) - 0.1 * data.T @ d_out, rtol=1e-5)


def test_activity_regularization_config():
    layer = ActivityRegularization(l1=0.5, name="ar")
    config = layer.get_config()
    assert config == {"name": "ar", "trainable": True, "dtype": "float32", "l1": 0.5, "l2": 0.0}
    clone = ActivityRegularization.from_config(config)
    assert clone.get_config() == config
    assert float(clone.activity_regularizer.l1) == 0.5 and float(clone.activity_regularizer.l2) == 0.0
    with pytest.raises(ValueError, match="penalty"):
        ActivityRegularization(l1="big")
    with pytest.raises(TypeError, match="activity_regularizer"):
        ActivityRegularization(activity_regularizer="l2")


# ----------------------------------------------------------------------------- SpatialDropout

SPATIAL = [
    (SpatialDropout1D, {}, (6, 40), (1, 40)),
    (SpatialDropout2D, {}, (3, 4, 40), (1, 1, 40)),
    (SpatialDropout2D, {"data_format": "channels_first"}, (40, 3, 4), (40, 1, 1)),
    (SpatialDropout3D, {}, (2, 3, 2, 40), (1, 1, 1, 40)),
    (SpatialDropout3D, {"data_format": "channels_first"}, (40, 2, 3, 2), (40, 1, 1, 1)),
]


@pytest.mark.parametrize("cls, kwargs, shape, noise", SPATIAL,
                         ids=[f"{c.__name__}-{k.get('data_format', 'last')}" for c, k, _, _ in SPATIAL])
def test_spatial_dropout_drops_whole_channels_with_the_seeded_draw(cls, kwargs, shape, noise):
    rate, seed, batch = 0.4, 13, 5
    x = K.placeholder((None,) + shape, dtype="float64")
    y = cls(rate, seed=seed, **kwargs).apply(x, training=True)
    f = K.function([x], [y], backend="numpy")
    data = _rand(batch, *shape) + 2.0                  # nothing is zero before dropout
    got = f([data])[0]
    u = rng.draw(np.array([seed, 0]), batch * int(np.prod(noise)), "uniform", 0, "float64")
    keep = u.reshape((batch,) + noise) >= rate
    np.testing.assert_allclose(got, np.where(keep, data / (1 - rate), 0.0), rtol=1e-12)
    # every (sample, channel) feature map is either all zero or all scaled
    channel = 1 if kwargs.get("data_format") == "channels_first" else -1
    maps = np.moveaxis(got, channel, 1).reshape(batch, 40, -1)
    scaled = np.moveaxis(data / (1 - rate), channel, 1).reshape(batch, 40, -1)
    zero = np.all(maps == 0, axis=2)
    assert np.all(zero | np.all(np.isclose(maps, scaled), axis=2))
    assert 0.2 < zero.mean() < 0.6
    predict = K.function([x], [cls(rate, seed=seed, **kwargs).apply(x, training=False)], backend="numpy")
    np.testing.assert_array_equal(predict([data])[0], data)


def test_spatial_dropout_rate_on_a_large_sample():
    x = K.placeholder((None, 2, 2000), dtype="float32")
    f = K.function([x], [SpatialDropout1D(0.3, seed=1).apply(x, training=True)], backend="numpy")
    got = f([np.ones((50, 2, 2000), dtype="float32")])[0]
    assert abs(np.mean(got[:, 0] == 0) - 0.3) < 0.01
    np.testing.assert_array_equal(got[:, 0], got[:, 1])
    np.testing.assert_allclose(got.mean(), 1.0, atol=0.01)              # inverted dropout keeps the mean


def test_spatial_dropout_gradient():
    _check_gradient(lambda x: SpatialDropout2D(0.5, seed=2).apply(x, training=True), (2, 2, 3), reset=2)


def test_spatial_dropout_configs_and_errors():
    config = SpatialDropout1D(0.25, seed=3, name="s1").get_config()
    assert config == {"name": "s1", "trainable": True, "dtype": "float32", "rate": 0.25, "noise_shape": None,
                      "seed": 3}
    assert SpatialDropout1D.from_config(config).get_config() == config
    for cls in (SpatialDropout2D, SpatialDropout3D):
        config = cls(0.5, data_format="channels_first", name="s").get_config()
        assert config == {"name": "s", "trainable": True, "dtype": "float32", "rate": 0.5, "noise_shape": None,
                          "seed": None, "data_format": "channels_first"}
        clone = cls.from_config(config)
        assert clone.data_format == "channels_first" and clone.get_config() == config
        assert cls(0.5).data_format == "channels_last"
        with pytest.raises(ValueError, match="data_format"):
            cls(0.5, data_format="channels_middle")
    with pytest.raises(ValueError, match="rate"):
        SpatialDropout2D(1.5)
    with pytest.raises(ValueError, match="expected ndim=3"):
        SpatialDropout1D(0.5)(Input((4,)))
    with pytest.raises(ValueError, match="expected ndim=4"):
        SpatialDropout2D(0.5)(Input((4, 3)))
    with pytest.raises(ValueError, match="expected ndim=5"):
        SpatialDropout3D(0.5)(Input((4, 3, 2)))


# ----------------------------------------------------------------------------- in models

def test_model_summary_serialization_and_deserialization():
    model = Sequential([RepeatVector(3, input_shape=(4,)), Permute((2, 1)), SpatialDropout1D(0.5),
                        ActivityRegularization(l2=0.01)])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "repeat_vector (RepeatVector) (None, 3, 4)              0" in text
    assert "permute (Permute)            (None, 4, 3)              0" in text
    assert "spatial_dropout1d (SpatialDr (None, 4, 3)" in text
    assert "Total params: 0" in text
    assert model.output_shape == (None, 4, 3)
    for layer in model.layers:
        clone = layers.deserialize(layers.serialize(layer))
        assert type(clone) is type(layer) and clone.get_config() == layer.get_config()
    rebuilt = Sequential.from_config(model.get_config())
    data = _rand(2, 4).astype("float32")
    np.testing.assert_allclose(rebuilt.predict(data), model.predict(data))
    np.testing.assert_allclose(model.predict(data), np.repeat(data[:, :, None], 3, axis=2), rtol=1e-6)


def test_backends_agree(backend):
    """One function with every layer here, in training mode, for each backend against NumPy."""
    def outputs(name):
        K.clear_session()
        x = K.placeholder((None, 3, 4), dtype="float32")
        v = K.placeholder((None, 5), dtype="float32")
        ys = [Permute((2, 1)).apply(x), RepeatVector(2).apply(v),
              SpatialDropout1D(0.5, seed=4).apply(x, training=True),
              SpatialDropout2D(0.5, seed=5).apply(K.reshape(x, (-1, 3, 2, 2)), training=True)]
        ys.append(K.gradients(K.sum(ys[0] * ys[0]) + K.sum(ys[2]), [x])[0])
        f = K.function([x, v], ys, backend=name)
        return f([_rand(6, 3, 4).astype("float32"), _rand(6, 5).astype("float32")])
    for a, b in zip(outputs("numpy"), outputs(backend)):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)

"""LayerNormalization and BatchNormalization: outputs against NumPy formulas written here, the
moving statistics a train step writes, finite-difference gradients in float64 (through the batch
statistics in training mode), configs, parameter counts as Keras prints them, and C == NumPy."""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import layers, optimizers, regularizers
from symkeras.layers import BatchNormalization, Dense, Input, LayerNormalization
from symkeras.models import Model, Sequential

from layer_checks import check_gradients


@pytest.fixture(autouse=True)
def _fresh_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


def _rand(*shape, seed=0, lo=-1.0, hi=1.0):
    return np.random.RandomState(seed).uniform(lo, hi, size=shape)


def _normalized(x, mean, var, gamma, beta, epsilon):
    return (x - mean) / np.sqrt(var + epsilon) * gamma + beta


def _summary_lines(model):
    lines = []
    model.summary(print_fn=lines.append)
    return lines


# ----------------------------------------------------------------------------- LayerNormalization

def test_layer_normalization_weights_config_and_round_trip():
    layer = LayerNormalization()
    y = layer(Input((3, 5)))
    assert y.keras_shape == (None, 3, 5)
    assert [w.op.storage.name for w in layer.weights] == ["layer_normalization/gamma", "layer_normalization/beta"]
    assert [w.shape for w in layer.weights] == [(5,), (5,)]
    gamma, beta = layer.get_weights()
    np.testing.assert_array_equal(gamma, np.ones(5))
    np.testing.assert_array_equal(beta, np.zeros(5))
    config = layer.get_config()
    assert list(config) == ["name", "trainable", "dtype", "axis", "epsilon", "center", "scale", "beta_initializer",
                            "gamma_initializer", "beta_regularizer", "gamma_regularizer", "beta_constraint",
                            "gamma_constraint"]
    assert config["axis"] == [2] and config["epsilon"] == 1e-3          # tf-keras: the resolved axes
    assert config["gamma_initializer"] == {"class_name": "Ones", "config": {}}
    clone = layers.deserialize(layers.serialize(layer))
    assert type(clone) is LayerNormalization and clone.get_config() == config
    assert LayerNormalization(axis=(1, 2)).get_config()["axis"] == [1, 2]


def test_layer_normalization_matches_numpy_on_one_and_several_axes():
    x = Input((3, 4), dtype="float64")
    last = LayerNormalization(gamma_initializer="random_uniform", beta_initializer="random_uniform", dtype="float64")
    both = LayerNormalization(axis=[1, 2], epsilon=0.1, gamma_initializer="random_uniform",
                              beta_initializer="random_uniform", dtype="float64")
    plain = LayerNormalization(axis=1, center=False, scale=False, dtype="float64")
    f = K.function([x], [last(x), both(x), plain(x)])
    data = _rand(5, 3, 4, seed=1, lo=-2, hi=3)
    out_last, out_both, out_plain = f([data])
    g, b = last.get_weights()
    np.testing.assert_allclose(out_last, _normalized(data, data.mean(-1, keepdims=True), data.var(-1, keepdims=True),
                                                     g, b, 1e-3), rtol=1e-10)
    g, b = both.get_weights()
    assert g.shape == (3, 4)
    np.testing.assert_allclose(out_both, _normalized(data, data.mean((1, 2), keepdims=True),
                                                     data.var((1, 2), keepdims=True), g, b, 0.1), rtol=1e-10)
    assert plain.weights == []
    np.testing.assert_allclose(out_plain, (data - data.mean(1, keepdims=True))
                               / np.sqrt(data.var(1, keepdims=True) + 1e-3), rtol=1e-10)


@pytest.mark.parametrize("axis", [-1, [1, 2], 1])
def test_layer_normalization_gradients(axis):
    layer = LayerNormalization(axis=axis, gamma_initializer="random_uniform", beta_initializer="random_uniform",
                               dtype="float64")
    data = _rand(3, 2, 4, seed=2, lo=-2, hi=2)
    layer.build((None, 2, 4))
    check_gradients(layer.apply, data, layer.weights)


def test_layer_normalization_bad_arguments():
    with pytest.raises(TypeError, match="'axis'"):
        LayerNormalization(axis="last")
    with pytest.raises(ValueError, match="Invalid axis"):
        LayerNormalization(axis=3)(Input((4,)))
    with pytest.raises(ValueError, match="Duplicate axis"):
        LayerNormalization(axis=[1, -1])(Input((4,)))
    with pytest.raises(ValueError, match="epsilon"):
        LayerNormalization(epsilon=-1.0)
    with pytest.raises(TypeError, match="not understood"):
        LayerNormalization(momentum=0.9)


# ----------------------------------------------------------------------------- BatchNormalization: surface

def test_batch_normalization_weights_config_and_counts():
    x = Input((6, 5))
    bn = BatchNormalization()
    model = Model(x, bn(x))
    assert [w.op.storage.name for w in bn.weights] == ["batch_normalization/gamma", "batch_normalization/beta",
                                                       "batch_normalization/moving_mean",
                                                       "batch_normalization/moving_variance"]
    assert [w.shape for w in bn.weights] == [(5,)] * 4
    assert bn.trainable_weights == bn.weights[:2] and bn.non_trainable_weights == bn.weights[2:]
    initial = bn.get_weights()
    for value, want in zip(initial, [1, 0, 0, 1]):
        np.testing.assert_array_equal(value, np.full(5, want))
    assert bn.count_params() == 20
    assert _summary_lines(model)[-4:-1] == ["Total params: 20", "Trainable params: 10", "Non-trainable params: 10"]
    config = bn.get_config()
    assert list(config) == ["name", "trainable", "dtype", "axis", "momentum", "epsilon", "center", "scale",
                            "beta_initializer", "gamma_initializer", "moving_mean_initializer",
                            "moving_variance_initializer", "beta_regularizer", "gamma_regularizer",
                            "beta_constraint", "gamma_constraint"]
    assert config["axis"] == [2] and config["momentum"] == 0.99 and config["epsilon"] == 1e-3
    assert config["moving_variance_initializer"] == {"class_name": "Ones", "config": {}}
    clone = layers.deserialize(layers.serialize(bn))
    assert type(clone) is BatchNormalization and clone.get_config() == config
    rebuilt = Model.from_config(model.get_config())
    assert rebuilt.count_params() == 20 and isinstance(rebuilt.layers[1], BatchNormalization)


def test_batch_normalization_parameter_shapes_follow_the_axes():
    channels_first = BatchNormalization(axis=1, center=False)
    channels_first(Input((3, 4, 2)))
    assert [w.shape for w in channels_first.weights] == [(3,), (3,), (3,)]
    several = BatchNormalization(axis=[1, 3])
    several(Input((3, 4, 2)))
    # tf-keras: the input's rank, with 1 on the axes that are reduced
    assert [w.shape for w in several.weights] == [(1, 3, 1, 2)] * 4
    assert several.get_config()["axis"] == [1, 3]
    frozen = Sequential([BatchNormalization(input_shape=(4,), trainable=False)])
    assert _summary_lines(frozen)[-4:-1] == ["Total params: 16", "Trainable params: 0", "Non-trainable params: 16"]


def test_batch_normalization_bad_arguments():
    with pytest.raises(TypeError, match="'axis'"):
        BatchNormalization(axis=1.5)
    with pytest.raises(ValueError, match="Invalid axis"):
        BatchNormalization(axis=2)(Input((4,)))
    with pytest.raises(ValueError, match="undefined `axis` dimension"):
        BatchNormalization(axis=0)(Input((4,)))
    with pytest.raises(ValueError, match="momentum"):
        BatchNormalization(momentum="high")
    with pytest.raises(ValueError, match="renorm"):
        BatchNormalization(renorm=True)
    with pytest.raises(ValueError, match="virtual_batch_size"):
        BatchNormalization(virtual_batch_size=2)
    bn = BatchNormalization()
    bn(Input((4,)))
    with pytest.raises(ValueError, match="expected axis 1 of input shape to have value 4"):
        bn(Input((5,)))


# ----------------------------------------------------------------------------- BatchNormalization: numbers

def _bn_forward(x, gamma, beta, mean, var, epsilon=1e-3):
    return _normalized(x, mean, var, gamma, beta, epsilon)


@pytest.fixture(scope="module")
def dense_bn():
    """Input(3) -> Dense(4) -> BatchNormalization(momentum=0.8) -> Dense(2), trained with SGD."""
    K.clear_session()
    x = Input((3,))
    bn = BatchNormalization(momentum=0.8, gamma_initializer="random_uniform", beta_initializer="random_uniform",
                            moving_mean_initializer="random_uniform")
    y = Dense(2, name="head")(bn(Dense(4, name="features")(x)))
    model = Model(x, y)
    model.compile(optimizers.SGD(0.1), "mse", backend="numpy")
    return model, bn


def _forward(model_weights, data, training, epsilon=1e-3):
    """The dense_bn model in NumPy; in training also the batch statistics."""
    w1, b1, gamma, beta, moving_mean, moving_var, w2, b2 = model_weights
    h = data @ w1 + b1
    mean, var = (h.mean(0), h.var(0)) if training else (moving_mean, moving_var)
    return _bn_forward(h, gamma, beta, mean, var, epsilon) @ w2 + b2, h.mean(0), h.var(0)


def test_train_steps_normalise_with_the_batch_and_move_the_statistics(dense_bn):
    model, bn = dense_bn
    batches = [(_rand(6, 3, seed=10 + k, lo=-2, hi=2).astype("float32"), _rand(6, 2, seed=20 + k).astype("float32"))
               for k in range(3)]
    moving_mean, moving_var = [v.astype("float64") for v in bn.get_weights()[2:]]
    for data, target in batches:
        before = [w.astype("float64") for w in model.get_weights()]
        out, batch_mean, batch_var = _forward(before, data, training=True)
        loss = model.train_on_batch(data, target)
        np.testing.assert_allclose(loss, np.mean((out - target) ** 2), rtol=1e-5)
        # the statistics of the Dense output computed with the weights from before the step
        moving_mean = moving_mean * 0.8 + batch_mean * (1 - 0.8)
        moving_var = moving_var * 0.8 + batch_var * (1 - 0.8)          # biased variance (tf-keras 2)
        np.testing.assert_allclose(bn.get_weights()[2], moving_mean, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(bn.get_weights()[3], moving_var, rtol=1e-5, atol=1e-6)
        assert not np.allclose(model.get_weights()[2], before[2])      # gamma is trained
    after = [w.astype("float64") for w in model.get_weights()]
    data, target = batches[0]
    want, _, _ = _forward(after, data, training=False)
    np.testing.assert_allclose(model.predict(data), want, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(model.evaluate(data, target, verbose=0), np.mean((want - target) ** 2), rtol=1e-5)
    for value, kept in zip(model.get_weights(), after):                # predict/evaluate update nothing
        np.testing.assert_array_equal(value, kept)


def test_fit_moves_the_statistics_once_per_batch(dense_bn):
    model, bn = dense_bn
    data = _rand(8, 3, seed=30).astype("float32")
    target = _rand(8, 2, seed=31).astype("float32")
    start = model.get_weights()
    model.fit(data, target, batch_size=4, epochs=1, shuffle=False, verbose=0)
    after_fit = model.get_weights()
    model.set_weights(start)
    moving_mean = start[4].astype("float64")
    for rows in (slice(0, 4), slice(4, 8)):
        w1, b1 = [w.astype("float64") for w in model.get_weights()[:2]]
        model.train_on_batch(data[rows], target[rows])
        moving_mean = moving_mean * 0.8 + (data[rows] @ w1 + b1).mean(0) * 0.2
    np.testing.assert_allclose(after_fit[4], moving_mean, rtol=1e-5, atol=1e-6)
    for a, b in zip(after_fit, model.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)


def test_frozen_batch_normalization_runs_in_inference_mode_and_keeps_its_statistics():
    x = Input((3,))
    bn = BatchNormalization(moving_mean_initializer="random_uniform", moving_variance_initializer="ones",
                            gamma_initializer="random_uniform", trainable=False)
    model = Model(x, Dense(2, kernel_initializer="ones")(bn(x)))
    model.compile(optimizers.SGD(0.1), "mse")
    frozen = bn.get_weights()
    assert model.count_params() == 20 and len(model.trainable_weights) == 2
    data, target = _rand(5, 3, seed=40).astype("float32"), _rand(5, 2, seed=41).astype("float32")
    kernel, bias = model.get_weights()[4:]
    want = _bn_forward(data, *[w.astype("float64") for w in frozen]) @ kernel + bias
    loss = model.train_on_batch(data, target)
    np.testing.assert_allclose(loss, np.mean((want - target) ** 2), rtol=1e-5)
    for value, start in zip(bn.get_weights(), frozen):
        np.testing.assert_array_equal(value, start)


def test_updates_of_a_model_used_as_a_layer_run_unless_it_is_frozen():
    x = Input((2,))
    bn = BatchNormalization(momentum=0.5)
    inner = Model(x, bn(x), name="inner")
    outer_input = Input((2,))
    outer = Model(outer_input, Dense(1)(inner(outer_input)))
    outer.compile(optimizers.SGD(0.1), "mse")
    data = np.array([[1.0, 2.0], [3.0, 6.0]], dtype="float32")
    outer.train_on_batch(data, np.zeros((2, 1), "float32"))
    np.testing.assert_allclose(bn.get_weights()[2], data.mean(0) * 0.5, rtol=1e-6)
    np.testing.assert_allclose(bn.get_weights()[3], 0.5 + data.var(0) * 0.5, rtol=1e-6)
    inner.trainable = False
    outer.compile(optimizers.SGD(0.1), "mse")
    kept = bn.get_weights()
    outer.train_on_batch(data, np.zeros((2, 1), "float32"))
    for value, start in zip(bn.get_weights(), kept):
        np.testing.assert_array_equal(value, start)


class _StepCounter(layers.Layer):
    """Counts train steps through ``add_update`` with a (variable, value) pair."""

    def build(self, input_shape):
        self.count = self.add_weight("count", (), initializer="zeros", trainable=False)

    def call(self, inputs, training=False):
        if training:
            self.add_update((self.count, self.count + 1.0))
        return inputs


def test_a_layer_update_runs_once_per_train_step_and_never_in_predict_or_evaluate():
    x = Input((2,))
    counter = _StepCounter()
    model = Model(x, Dense(1)(counter(x)))
    model.compile("sgd", "mse")
    data, target = np.ones((4, 2), "float32"), np.ones((4, 1), "float32")
    model.fit(data, target, batch_size=2, epochs=2, verbose=0)
    model.predict(data)
    model.evaluate(data, target, verbose=0)
    assert counter.get_weights()[0] == 4


def test_batch_normalization_channels_first_and_several_axes_in_both_modes():
    x = Input((3, 4, 2), dtype="float64")
    first = BatchNormalization(axis=1, gamma_initializer="random_uniform", moving_mean_initializer="random_uniform",
                               dtype="float64")
    several = BatchNormalization(axis=[1, 3], epsilon=0.01, beta_initializer="random_uniform",
                                 moving_variance_initializer="random_uniform", dtype="float64")
    train = K.function([x], [first.apply(x, training=True), several.apply(x, training=True)])
    infer = K.function([x], [first.apply(x, training=False), several.apply(x, training=False)])
    data = _rand(5, 3, 4, 2, seed=50, lo=-1, hi=3)
    K.set_value(several.moving_variance, _rand(1, 3, 1, 2, seed=51, lo=0.5, hi=2))
    trained_first, trained_several = train([data])
    inferred_first, inferred_several = infer([data])
    g, b, m, v = [w.reshape(1, 3, 1, 1) for w in first.get_weights()]
    np.testing.assert_allclose(trained_first, _bn_forward(data, g, b, data.mean((0, 2, 3), keepdims=True),
                                                          data.var((0, 2, 3), keepdims=True)), rtol=1e-10)
    np.testing.assert_allclose(inferred_first, _bn_forward(data, g, b, m, v), rtol=1e-10)
    g, b, m, v = several.get_weights()
    np.testing.assert_allclose(trained_several, _bn_forward(data, g, b, data.mean((0, 2), keepdims=True),
                                                            data.var((0, 2), keepdims=True), 0.01), rtol=1e-10)
    np.testing.assert_allclose(inferred_several, _bn_forward(data, g, b, m, v, 0.01), rtol=1e-10)


@pytest.mark.parametrize("training", [True, False])
def test_batch_normalization_gradients(training):
    bn = BatchNormalization(gamma_initializer="random_uniform", beta_initializer="random_uniform",
                            moving_mean_initializer="random_uniform", dtype="float64")
    bn.build((None, 3))
    K.set_value(bn.moving_variance, [0.5, 1.5, 2.0])
    data = _rand(4, 3, seed=60, lo=-2, hi=2)
    # in training the moving statistics do not reach the output
    weights = bn.weights[:2] if training else bn.weights
    check_gradients(lambda x: bn.apply(x, training=True) if training else bn.apply(x), data, weights)


def test_batch_normalization_gradient_channels_first_in_training():
    bn = BatchNormalization(axis=1, gamma_initializer="random_uniform", dtype="float64")
    bn.build((None, 2, 3))
    check_gradients(lambda x: bn.apply(x, training=True), _rand(3, 2, 3, seed=61, lo=-2, hi=2), bn.weights[:2])


def test_gamma_regularizer_adds_to_the_loss():
    x = Input((2,))
    bn = BatchNormalization(gamma_regularizer=regularizers.l2(0.5), gamma_initializer="ones")
    model = Model(x, bn(x))
    model.compile("sgd", "mse")
    data = np.array([[1.0, 2.0], [3.0, 5.0]], dtype="float32")
    want = _bn_forward(data, 1.0, 0.0, data.mean(0), data.var(0))
    np.testing.assert_allclose(model.test_on_batch(data, np.zeros((2, 2), "float32")),
                               np.mean(_bn_forward(data, 1.0, 0.0, 0.0, 1.0) ** 2) + 0.5 * 2, rtol=1e-5)
    np.testing.assert_allclose(model.train_on_batch(data, np.zeros((2, 2), "float32")),
                               np.mean(want ** 2) + 0.5 * 2, rtol=1e-5)


# ----------------------------------------------------------------------------- both backends

def test_c_and_numpy_agree_on_a_normalised_model(backend):
    if backend == "numpy":
        pytest.skip("compares the C backend with NumPy")
    K.clear_session()
    x = Input((3, 4))
    h = BatchNormalization(gamma_initializer="random_uniform")(Dense(3)(x))
    h = BatchNormalization(axis=1, beta_initializer="random_uniform")(h)
    h = LayerNormalization(axis=[1, 2], beta_initializer="random_uniform")(h)
    y = Dense(2)(layers.Flatten()(LayerNormalization(gamma_initializer="random_uniform")(h)))
    model = Model(x, y)
    start = model.get_weights()
    data, target = _rand(6, 3, 4, seed=70).astype("float32"), _rand(6, 2, seed=71).astype("float32")
    results = {}
    for name in ("numpy", "c"):
        model.set_weights(start)
        model.compile(optimizers.SGD(0.1), "mse", backend=name)
        losses = [model.train_on_batch(data, target) for _ in range(2)]
        results[name] = losses, model.get_weights(), model.predict(data)
    (np_losses, np_weights, np_pred), (c_losses, c_weights, c_pred) = results["numpy"], results["c"]
    np.testing.assert_allclose(c_losses, np_losses, rtol=1e-5)
    for a, b in zip(c_weights, np_weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c_pred, np_pred, rtol=1e-5, atol=1e-6)

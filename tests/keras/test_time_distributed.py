"""TimeDistributed (Keras 2): a layer applied to every step of a (batch, time, ...) input with one set
of weights. Outputs against NumPy written here (Dense, Conv2D, a nested Sequential and Model); one
generated function for every sequence length (T = 1, 7, 50), C == NumPy; gradients by finite
differences in float64; the mask passes through; config round trips, parameter counts, the
``symkeras.layers.wrappers`` path; ``sample_weight_mode='temporal'`` end to end."""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import layers, optimizers, regularizers
from symkeras.layers import (BatchNormalization, Conv2D, Dense, Embedding, Flatten, Input, Masking,
                             TimeDistributed)
from symkeras.models import Model, Sequential, load_model, model_from_json

from layer_checks import check_gradients, numeric_gradient, rand

LENGTHS = (1, 7, 50)


@pytest.fixture(autouse=True)
def _fresh_session():
    K.clear_session()


def _dense_model():
    x = Input((None, 4), name="steps")
    return Model(x, TimeDistributed(Dense(3, activation="tanh"), name="td")(x))


def _conv_numpy(x, kernel, bias):
    """'valid' 2D convolution of (n, h, w, c) images, written as loops."""
    n, h, w, _ = x.shape
    kh, kw, _, f = kernel.shape
    out = np.zeros((n, h - kh + 1, w - kw + 1, f))
    for i in range(h - kh + 1):
        for j in range(w - kw + 1):
            out[:, i, j] = np.einsum("nabc,abcf->nf", x[:, i:i + kh, j:j + kw], kernel)
    return out + bias


@pytest.fixture(scope="module")
def dense_functions():
    """The predict function of a TimeDistributed(Dense) model on each backend, same weights."""
    K.clear_session()
    model = _dense_model()
    return model, {backend: K.function(model.inputs, model.outputs, backend=backend, name=f"td_dense_{backend}")
                   for backend in ("numpy", "c")}


def test_dense_on_every_step_for_every_length_with_one_function(dense_functions):
    model, functions = dense_functions
    kernel, bias = model.get_weights()
    for length in LENGTHS:
        x = np.random.RandomState(length).standard_normal((3, length, 4)).astype("float32")
        want = np.tanh(x @ kernel + bias)
        (numpy_out,) = functions["numpy"]([x])
        (c_out,) = functions["c"]([x])
        np.testing.assert_allclose(numpy_out, want, rtol=1e-5, atol=1e-6)
        np.testing.assert_allclose(c_out, numpy_out, rtol=1e-5, atol=1e-6)
    assert "steps_1" in functions["c"].source          # the length is a size of the generated code


def test_conv2d_on_every_frame_c_equals_numpy():
    frames = Input((3, 5, 5, 2))
    conv = Conv2D(4, 3, name="frame_conv")
    model = Model(frames, TimeDistributed(conv)(frames))
    assert model.output_shape == (None, 3, 3, 3, 4)
    x = np.random.RandomState(1).standard_normal((2, 3, 5, 5, 2)).astype("float32")
    kernel, bias = conv.get_weights()
    want = _conv_numpy(x.reshape(6, 5, 5, 2), kernel, bias).reshape(2, 3, 3, 3, 4)
    for backend in ("numpy", "c"):
        (out,) = K.function(model.inputs, model.outputs, backend=backend, name=f"td_conv_{backend}")([x])
        np.testing.assert_allclose(out, want, rtol=1e-4, atol=1e-5)


def test_a_nested_sequential_and_model_on_every_step():
    inner = Sequential([Dense(5, activation="relu", input_shape=(4,)), Dense(2)])
    x = Input((None, 4))
    td = TimeDistributed(inner)
    model = Model(x, td(x))
    w1, b1, w2, b2 = inner.get_weights()
    data = np.random.RandomState(2).standard_normal((2, 6, 4)).astype("float32")
    np.testing.assert_allclose(model.predict(data), np.maximum(data @ w1 + b1, 0) @ w2 + b2, rtol=1e-5, atol=1e-6)
    assert td.count_params() == inner.count_params() == 4 * 5 + 5 + 5 * 2 + 2
    clone = model_from_json(model.to_json())
    clone.set_weights(model.get_weights())
    np.testing.assert_allclose(clone.predict(data), model.predict(data), rtol=1e-6)
    functional_in = Input((4,))
    functional = Model(functional_in, Dense(2)(functional_in))
    y = TimeDistributed(functional)(x)
    k, b = functional.get_weights()
    np.testing.assert_allclose(K.function([x], [y])([data])[0], data @ k + b, rtol=1e-5, atol=1e-6)


def test_gradients_by_finite_differences_through_the_time_axis():
    dense = Dense(3, activation="tanh", dtype="float64")
    td = TimeDistributed(dense, dtype="float64")
    check_gradients(td, rand(2, 3, 4, seed=1), dense.trainable_weights)
    conv = Conv2D(2, 2, dtype="float64")
    check_gradients(TimeDistributed(conv, dtype="float64"), rand(1, 2, 3, 3, 1, seed=2), conv.trainable_weights)


def test_gradients_with_a_time_axis_known_only_per_call():
    dense = Dense(2, activation="tanh", dtype="float64")
    x = K.placeholder((None, None, 3), dtype="float64", name="seq")
    y = TimeDistributed(dense, dtype="float64")(x)
    loss = K.sum(y * y)
    f = K.function([x], [loss] + K.gradients(loss, [x, dense.kernel]), backend="numpy", name="td_grad")
    for length in (1, 4):
        value = rand(2, length, 3, seed=length)
        _, dx, dkernel = f([value])
        np.testing.assert_allclose(dx, numeric_gradient(lambda v: f([v])[0], value), rtol=1e-6, atol=1e-8)
        start = K.get_value(dense.kernel)

        def at(k):
            K.set_value(dense.kernel, k)
            return f([value])[0]
        np.testing.assert_allclose(dkernel, numeric_gradient(at, start), rtol=1e-6, atol=1e-8)
        K.set_value(dense.kernel, start)


def test_weights_are_the_inner_layers_and_shared_across_steps():
    dense = Dense(3)
    td = TimeDistributed(dense)
    x = Input((7, 4))
    model = Model(x, td(x))
    assert [w.op.storage for w in td.weights] == [w.op.storage for w in dense.weights]
    assert td.count_params() == 15 and model.count_params() == 15
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[-4:-1] == ["Total params: 15", "Trainable params: 15", "Non-trainable params: 0"]
    assert any(line.startswith("time_distributed (TimeDistri") and "(None, 7, 3)" in line and line.rstrip()
               .endswith("15") for line in lines)
    td.trainable = False
    assert not dense.trainable and td.trainable_weights == [] and len(td.non_trainable_weights) == 2


def test_config_round_trip_and_module_path():
    from symkeras.layers import wrappers

    assert wrappers.TimeDistributed is layers.TimeDistributed
    td = TimeDistributed(Dense(3, activation="relu"), name="per_step", trainable=False)
    x = Input((None, 4))
    model = Model(x, td(x))
    config = td.get_config()
    assert config["name"] == "per_step" and config["trainable"] is False
    assert config["layer"]["class_name"] == "Dense" and config["layer"]["config"]["units"] == 3
    clone = layers.deserialize(layers.serialize(td))
    assert type(clone) is TimeDistributed and type(clone.layer) is Dense
    assert clone.get_config() == config and not clone.layer.trainable
    rebuilt = model_from_json(model.to_json())
    rebuilt.set_weights(model.get_weights())
    data = np.random.RandomState(4).standard_normal((2, 5, 4)).astype("float32")
    np.testing.assert_allclose(rebuilt.predict(data), model.predict(data), rtol=1e-6)


def test_masks_pass_through_and_come_from_the_inner_layer():
    tokens = Input((None,), dtype="int32")
    h = TimeDistributed(Dense(2))(Embedding(5, 3, mask_zero=True)(tokens))
    frames = Input((None, 3, 2))
    per_frame = TimeDistributed(Masking())(frames)
    ids = np.array([[1, 0], [0, 3]], "int32")
    data = np.ones((2, 2, 3, 2), "float32")
    data[0, 1, 2] = 0
    mask, frame_mask = K.function([tokens, frames], [h._keras_mask, per_frame._keras_mask])([ids, data])
    np.testing.assert_array_equal(mask, ids != 0)
    np.testing.assert_array_equal(frame_mask, [[[True, True, True], [True, True, False]]] + [[[True] * 3] * 2])
    # A masked input reduced by the inner layer (Flatten does not support masking): refused, as Keras.
    with pytest.raises(TypeError, match="does not support masking"):
        TimeDistributed(Flatten())(Embedding(5, 3, mask_zero=True)(Input((4, 2), dtype="int32")))


def test_bad_arguments():
    with pytest.raises(ValueError, match="with a `Layer` instance"):
        TimeDistributed("dense")
    with pytest.raises(ValueError, match="at least 3 dimensions"):
        TimeDistributed(Dense(2))(Input((4,)))
    td = TimeDistributed(Dense(2))
    td(Input((None, 4)))
    with pytest.raises(ValueError, match="expected axis 2 of input shape to have value 4"):
        td(Input((None, 5)))


def test_moving_statistics_and_activity_penalties_of_the_inner_layer():
    x = Input((None, 2))
    norm = BatchNormalization(momentum=0.0)
    dense = Dense(2, kernel_initializer="ones", activity_regularizer=regularizers.l1(0.1))
    model = Model(x, TimeDistributed(dense)(TimeDistributed(norm)(x)))
    model.compile(optimizers.SGD(learning_rate=0.0), "mse")
    data = np.random.RandomState(5).standard_normal((3, 4, 2)).astype("float32")
    targets = np.zeros((3, 4, 2), "float32")
    loss = model.train_on_batch(data, targets)
    # Training normalises with the statistics of all batch × time steps, and keeps them (momentum 0).
    steps = data.reshape(-1, 2).astype("float64")
    np.testing.assert_allclose(norm.get_weights()[2], steps.mean(0), rtol=1e-5, atol=1e-6)
    normalised = (data - steps.mean(0)) / np.sqrt(steps.var(0) + 1e-3)
    out = normalised @ np.ones((2, 2))
    # tf-keras: the penalty of the inner layer is averaged over its batch, batch × time.
    want = (out ** 2).mean() + 0.1 * np.abs(out).sum() / (3 * 4)
    np.testing.assert_allclose(loss, want, rtol=1e-4)


@pytest.mark.parametrize("backend", ["numpy", "c"])
def test_temporal_sample_weights_end_to_end(backend):
    x = Input((None, 4))
    model = Model(x, TimeDistributed(Dense(2, activation="sigmoid"))(x))
    model.compile(optimizers.SGD(learning_rate=0.5), "binary_crossentropy", sample_weight_mode="temporal",
                  backend=backend)
    rng = np.random.RandomState(6)
    data = rng.standard_normal((8, 6, 4)).astype("float32")
    targets = (rng.rand(8, 6, 2) > 0.5).astype("float32")
    weights = rng.rand(8, 6).astype("float32")
    weights[:, 4:] = 0                                  # the last steps do not count
    kernel, bias = model.get_weights()
    p = np.clip(1 / (1 + np.exp(-(data @ kernel + bias))), 1e-7, 1 - 1e-7)
    per_step = -(targets * np.log(p) + (1 - targets) * np.log(1 - p)).mean(-1)
    want = (per_step * weights).sum() / per_step.size   # tf-keras: Σ w·l / number of entries
    got = model.evaluate(data, targets, sample_weight=weights, batch_size=8, verbose=0)
    np.testing.assert_allclose(got, want, rtol=1e-5)
    targets[:, 4:] = 1 - targets[:, 4:]                 # zero-weight steps change nothing
    np.testing.assert_allclose(model.evaluate(data, targets, sample_weight=weights, batch_size=8, verbose=0),
                               want, rtol=1e-5)
    history = model.fit(data, targets, sample_weight=weights, batch_size=4, epochs=5, verbose=0)
    assert history.history["loss"][-1] < history.history["loss"][0]
    with pytest.raises(ValueError, match="must be 2-D"):
        model.evaluate(data, targets, sample_weight=weights[:, 0], verbose=0)


@pytest.mark.parametrize("extension", ["h5", "keras"])
def test_saved_and_loaded_with_its_mask_and_training_config(tmp_path, extension):
    tokens = Input((None,), dtype="int32")
    model = Model(tokens, TimeDistributed(Dense(3))(Embedding(10, 4, mask_zero=True)(tokens)))
    model.compile("adam", "mse", sample_weight_mode="temporal")
    rng = np.random.RandomState(7)
    x, y, w = rng.randint(0, 10, (4, 6)), rng.rand(4, 6, 3), rng.rand(4, 6)
    model.train_on_batch(x, y, sample_weight=w)
    path = str(tmp_path / f"tagger.{extension}")
    model.save(path)
    loaded = load_model(path)
    assert loaded.outputs[0]._keras_mask is not None              # computed again, not stored
    np.testing.assert_allclose(loaded.predict(x), model.predict(x), rtol=1e-6)
    if extension == "keras":          # Keras 3's compile config has no sample_weight_mode
        loaded.compile("adam", "mse", sample_weight_mode="temporal")
    np.testing.assert_allclose(loaded.evaluate(x, y, sample_weight=w, verbose=0),
                               model.evaluate(x, y, sample_weight=w, verbose=0), rtol=1e-6)


def test_keras2_sequential_with_the_input_shape_on_the_wrapper():
    model = Sequential([TimeDistributed(Dense(4), input_shape=(6, 3)), TimeDistributed(Dense(1))])
    assert model.output_shape == (None, 6, 1) and model.count_params() == (3 * 4 + 4) + (4 + 1)
    assert model.get_config()["layers"][0]["config"]["batch_input_shape"] == (None, 6, 3)
    rebuilt = Sequential.from_config(model.get_config())
    rebuilt.set_weights(model.get_weights())
    data = np.random.RandomState(8).rand(2, 6, 3).astype("float32")
    k1, b1, k2, b2 = model.get_weights()
    np.testing.assert_allclose(rebuilt.predict(data), (data @ k1 + b1) @ k2 + b2, rtol=1e-5, atol=1e-6)


def test_lstm_sequences_then_time_distributed_with_masks_and_temporal_weights():
    # The pipeline: the Embedding's mask reaches the LSTM (masked steps keep its state) and
    # the loss (padded steps never count, whatever their targets); per-step weights; training learns.
    from symkeras.layers import LSTM

    tokens = Input((None,), dtype="int32")
    hidden = LSTM(6, return_sequences=True)(Embedding(8, 4, mask_zero=True)(tokens))
    model = Model(tokens, TimeDistributed(Dense(2, activation="softmax"))(hidden))
    assert model.outputs[0]._keras_mask is not None
    model.compile(optimizers.Adam(learning_rate=0.05), "categorical_crossentropy", sample_weight_mode="temporal")
    rng = np.random.RandomState(9)
    x = rng.randint(1, 8, (16, 6)).astype("int32")
    x[:8, 4:] = 0
    y = np.eye(2, dtype="float32")[(x > 4).astype(int)]
    w = rng.uniform(0.5, 1.0, (16, 6)).astype("float32")
    flipped = y.copy()
    flipped[x == 0] = flipped[x == 0][:, ::-1]
    assert model.evaluate(x, y, sample_weight=w, verbose=0) == model.evaluate(x, flipped, sample_weight=w, verbose=0)
    history = model.fit(x, y, sample_weight=w, epochs=15, batch_size=8, verbose=0)
    assert history.history["loss"][-1] < 0.5 * history.history["loss"][0]

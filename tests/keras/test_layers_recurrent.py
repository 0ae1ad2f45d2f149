"""Recurrent layers against explicit time loops written here in NumPy (tf-keras's equations and
weight layouts): outputs and final states for any number of steps with one compiled function,
masks, initial states, stateful continuation, dropout, gradients by finite differences (BPTT
checked, not assumed), C == NumPy, configs and parameter counts."""

import os

import numpy as np
import pytest

import symkeras as keras
import symkeras.backend as K
from symkeras import layers
from tests.keras.layer_checks import numeric_gradient

F = 3


def sigmoid(x):
    return 1 / (1 + np.exp(-x))


def hard_sigmoid(x):
    return np.clip(0.2 * x + 0.5, 0, 1)


# ----------------------------------------------------------------------------- NumPy references

def simple_rnn_step(x, states, w, activation=np.tanh):
    kernel, recurrent, *bias = w
    h = activation(x @ kernel + states[0] @ recurrent + (bias[0] if bias else 0))
    return h, [h]


def gru_step(x, states, w, reset_after=True, recurrent_activation=sigmoid):
    kernel, recurrent, *bias = w
    h = states[0]
    u = recurrent.shape[0]
    if bias:
        b_in, b_rec = (bias[0][0], bias[0][1]) if reset_after else (bias[0], np.zeros(3 * u))
    else:
        b_in = b_rec = np.zeros(3 * u)
    xz, xr, xh = np.split(x @ kernel + b_in, 3, axis=-1)
    if reset_after:
        hz, hr, hh = np.split(h @ recurrent + b_rec, 3, axis=-1)
        z, r = recurrent_activation(xz + hz), recurrent_activation(xr + hr)
        candidate = np.tanh(xh + r * hh)
    else:
        z = recurrent_activation(xz + h @ recurrent[:, :u])
        r = recurrent_activation(xr + h @ recurrent[:, u:2 * u])
        candidate = np.tanh(xh + (r * h) @ recurrent[:, 2 * u:])
    h = z * h + (1 - z) * candidate
    return h, [h]


def lstm_step(x, states, w, recurrent_activation=sigmoid):
    kernel, recurrent, *bias = w
    h, c = states
    i, f, g, o = np.split(x @ kernel + h @ recurrent + (bias[0] if bias else 0), 4, axis=-1)
    c = recurrent_activation(f) * c + recurrent_activation(i) * np.tanh(g)
    h = recurrent_activation(o) * np.tanh(c)
    return h, [h, c]


def run(step, x, states, mask=None, go_backwards=False):
    """Keras 2's loop: a masked step keeps the previous output (zeros at first) and states;
    outputs in the order the steps ran."""
    order = range(x.shape[1] - 1, -1, -1) if go_backwards else range(x.shape[1])
    outputs, last = [], None
    for t in order:
        out, new = step(x[:, t], states)
        if mask is not None:
            keep = mask[:, t][:, None]
            out = np.where(keep, out, np.zeros_like(out) if last is None else last)
            new = [np.where(keep, n, s) for n, s in zip(new, states)]
        outputs.append(out)
        last, states = out, new
    return np.stack(outputs, axis=1), last, states


# ----------------------------------------------------------------------------- one model, every layer

LAYERS = {
    "lstm": (lambda: layers.LSTM(4, return_sequences=True, return_state=True), lstm_step, 2),
    "gru": (lambda: layers.GRU(3, return_sequences=True, return_state=True), gru_step, 1),
    "gru_reset_before": (lambda: layers.GRU(3, reset_after=False, recurrent_activation="hard_sigmoid",
                                            return_sequences=True, return_state=True),
                         lambda x, s, w: gru_step(x, s, w, False, hard_sigmoid), 1),
    "simple_rnn_backwards": (lambda: layers.SimpleRNN(5, go_backwards=True, return_sequences=True,
                                                      return_state=True), simple_rnn_step, 1),
    "lstm_no_bias": (lambda: layers.LSTM(2, use_bias=False, return_sequences=True, return_state=True), lstm_step, 2),
}


@pytest.fixture(scope="module")
def zoo():
    """Every layer of LAYERS on one input of unknown length, with and without a mask."""
    x = layers.Input((None, F), name="x")
    mask = K.not_equal(K.sum(K.abs(x), axis=-1), 0)
    made, outputs = {}, []
    for name, (make, _, n_states) in LAYERS.items():
        layer = make()
        made[name] = layer
        outputs += layer(x)
        outputs += layer(x, mask=mask)
    model = keras.Model(x, outputs)
    return made, model


def _masked_batch(steps, seed=0):
    x = np.random.RandomState(seed).uniform(-1, 1, (3, steps, F)).astype("float32")
    if steps > 2:
        x[0, -2:] = 0          # padding at the end
        x[1, 1] = 0            # a gap inside
    return x


@pytest.mark.parametrize("backend", ["numpy", "c"])
def test_outputs_and_states_match_time_loops_for_any_length(zoo, backend):
    made, model = zoo
    model.compile("sgd", "mse", backend=backend)
    for steps in (1, 7, 50):
        x = _masked_batch(steps)
        got = model.predict(x, batch_size=3)
        at = 0
        for name, (_, step, n_states) in LAYERS.items():
            layer = made[name]
            w = layer.get_weights()
            units = layer.units
            for masked in (False, True):
                states = [np.zeros((3, units))] * n_states
                mask = np.abs(x).sum(-1) != 0 if masked else None
                seq, last, final = run(lambda a, s: step(a, s, w), x.astype("float64"), states, mask,
                                       layer.go_backwards)
                want = [seq] + final
                for i, expected in enumerate(want):
                    np.testing.assert_allclose(got[at + i], expected, rtol=2e-5, atol=2e-6,
                                               err_msg=f"{name} masked={masked} steps={steps} output {i}")
                at += 1 + n_states


def test_c_matches_numpy(zoo):
    _, model = zoo
    x = _masked_batch(9, seed=3)
    model.compile("sgd", "mse", backend="numpy")
    a = model.predict(x)
    model.compile("sgd", "mse", backend="c")
    b = model.predict(x)
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-5, atol=1e-6)


# ----------------------------------------------------------------------------- gradients (BPTT)

@pytest.mark.parametrize("backend", ["numpy", "c"])
@pytest.mark.parametrize("name", ["lstm", "gru", "gru_reset_before", "simple_rnn_backwards"])
def test_gradients_through_time_match_finite_differences(name, backend):
    make, step, n_states = LAYERS[name]
    layer = make()
    layer.dtype = layer.cell.dtype = "float64"
    layer.build((None, None, F))
    x = K.placeholder((None, 5, F), dtype="float64", name="x")
    initial = [K.placeholder((None, layer.units), dtype="float64", name=f"s{i}") for i in range(n_states)]
    mask = K.placeholder((None, 5), dtype="bool", name="mask")
    seq, *final = layer.call([x] + initial, mask=mask)
    rs = np.random.RandomState(5)
    r_seq = rs.randn(5, layer.units)
    loss = K.sum(seq * K.constant(r_seq, dtype="float64")) + sum(K.sum(s * s) for s in final)
    weights = layer.trainable_weights
    f = K.function([x, mask] + initial, [loss] + K.gradients(loss, [x] + initial + weights), backend=backend,
                   name=f"bptt_{name}")
    xv = rs.uniform(-1, 1, (4, 5, F))
    mv = np.ones((4, 5), bool)
    mv[0, 3:] = mv[1, 1] = False
    sv = [rs.uniform(-1, 1, (4, layer.units)) for _ in range(n_states)]
    values = [K.get_value(w) for w in weights]

    def reference_loss(xa, states, ws):
        out, _, fin = run(lambda a, s: step(a, s, ws), xa, list(states), mv, layer.go_backwards)
        return np.sum(out * r_seq) + sum(np.sum(s * s) for s in fin)

    got = f([xv, mv] + sv)
    np.testing.assert_allclose(got[0], reference_loss(xv, sv, values), rtol=1e-10)
    numeric = [numeric_gradient(lambda a: reference_loss(a, sv, values), xv)]
    for i in range(n_states):
        numeric.append(numeric_gradient(lambda a, i=i: reference_loss(xv, sv[:i] + [a] + sv[i + 1:], values), sv[i]))
    for i in range(len(values)):
        numeric.append(numeric_gradient(
            lambda a, i=i: reference_loss(xv, sv, values[:i] + [a] + values[i + 1:]), values[i]))
    for j, (g, n) in enumerate(zip(got[1:], numeric)):
        np.testing.assert_allclose(g, n, rtol=1e-6, atol=1e-8, err_msg=f"{name}: gradient {j}")



# ----------------------------------------------------------------------------- layer options

def test_stateful_continuation_equals_one_long_sequence():
    x = np.random.RandomState(0).uniform(-1, 1, (2, 6, F)).astype("float32")
    stateful = keras.Sequential([layers.GRU(4, stateful=True, batch_input_shape=(2, 3, F)), layers.Dense(1)])
    whole = keras.Sequential([layers.GRU(4, input_shape=(6, F)), layers.Dense(1)])
    part = keras.Sequential([layers.GRU(4, input_shape=(3, F)), layers.Dense(1)])
    whole.set_weights(stateful.get_weights())
    part.set_weights(stateful.get_weights())
    stateful.compile("sgd", "mse", backend="c")
    first = stateful.predict(x[:, :3], batch_size=2)
    np.testing.assert_allclose(first, part.predict(x[:, :3]), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(stateful.predict(x[:, 3:], batch_size=2), whole.predict(x), rtol=1e-5, atol=1e-6)
    stateful.reset_states()
    np.testing.assert_allclose(stateful.predict(x[:, :3], batch_size=2), first, rtol=1e-6)
    gru = stateful.layers[0]
    gru.reset_states([np.ones((2, 4))])
    np.testing.assert_array_equal(K.get_value(gru.states[0]), np.ones((2, 4)))
    with pytest.raises(ValueError, match="exactly 2 samples"):
        stateful.predict(x[:1, :3])
    with pytest.raises(ValueError, match="shape"):
        gru.reset_states([np.ones((3, 4))])
    # Training carries the states from batch to batch too.
    stateful.reset_states()
    stateful.fit(x[:, :3], np.ones((2, 1)), epochs=1, verbose=0, shuffle=False)
    assert np.abs(K.get_value(gru.states[0])).sum() > 0


def test_a_stateful_layer_needs_its_batch_size():
    with pytest.raises(ValueError, match="batch size"):
        keras.Sequential([layers.LSTM(2, stateful=True, input_shape=(3, F))])


def test_dropout_is_training_only_and_one_mask_serves_every_step():
    """SimpleRNN with an identity kernel and no recurrence: h_t = dropout(x_t), so the mask shows."""
    layer = layers.SimpleRNN(F, activation="linear", use_bias=False, dropout=0.5, return_sequences=True,
                             kernel_initializer="identity", recurrent_initializer="zeros")
    x = K.placeholder((None, None, F), name="x")
    layer.build((None, None, F))
    trained, predicted = layer.call(x, training=True), layer.call(x, training=False)
    f = K.function([x], [trained, predicted], backend="c", name="rnn_dropout")
    xv = np.random.RandomState(1).uniform(0.5, 1.5, (64, 7, F)).astype("float32")
    out, plain = f([xv])
    np.testing.assert_allclose(plain, xv, rtol=1e-6)
    ratio = out / xv
    assert set(np.round(np.unique(ratio), 5)) <= {0.0, 2.0}
    np.testing.assert_array_equal(ratio, np.repeat(ratio[:, :1], 7, axis=1))    # the same mask at every step
    assert 0.3 < (ratio == 0).mean() < 0.7


@pytest.mark.parametrize("implementation", [1, 2])
def test_lstm_with_both_dropouts_trains(implementation):
    model = keras.Sequential([layers.LSTM(6, dropout=0.2, recurrent_dropout=0.3, implementation=implementation,
                                          input_shape=(None, F)), layers.Dense(1)])
    model.compile("adam", "mse", backend="c")
    x = np.random.RandomState(0).uniform(-1, 1, (32, 5, F)).astype("float32")
    y = x.sum(axis=(1, 2))[:, None]
    losses = model.fit(x, y, epochs=8, batch_size=8, verbose=0).history["loss"]
    assert losses[-1] < losses[0]
    np.testing.assert_array_equal(model.predict(x), model.predict(x))      # no dropout in predict


def test_unrolled_equals_rolled():
    x = np.random.RandomState(2).uniform(-1, 1, (3, 4, F)).astype("float32")
    rolled = keras.Sequential([layers.LSTM(3, return_sequences=True, input_shape=(4, F))])
    unrolled = keras.Sequential([layers.LSTM(3, return_sequences=True, unroll=True, input_shape=(4, F))])
    unrolled.set_weights(rolled.get_weights())
    np.testing.assert_allclose(unrolled.predict(x), rolled.predict(x), rtol=1e-5, atol=1e-6)


class MinimalRNNCell(layers.Layer):
    """The custom cell of the Keras RNN documentation's pattern."""

    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units = units
        self.state_size = units

    def build(self, input_shape):
        self.kernel = self.add_weight("kernel", (input_shape[-1], self.units), initializer="uniform")
        self.recurrent_kernel = self.add_weight("recurrent_kernel", (self.units, self.units),
                                                initializer="uniform")
        self.built = True

    def call(self, inputs, states):
        output = K.dot(inputs, self.kernel) + K.dot(states[0], self.recurrent_kernel)
        return output, [output]

    def get_config(self):
        config = super().get_config()
        config["units"] = self.units
        return config


def test_rnn_of_custom_and_stacked_cells():
    x = layers.Input((None, F))
    single = layers.RNN(MinimalRNNCell(4))
    stacked = layers.RNN([MinimalRNNCell(2), layers.LSTMCell(3)], return_sequences=True)
    model = keras.Model(x, [single(x), stacked(x)])
    xv = np.random.RandomState(3).uniform(-1, 1, (2, 5, F)).astype("float32")
    a, b = model.predict(xv)
    k, r = single.get_weights()
    want, _, _ = run(lambda v, s: ((v @ k + s[0] @ r),) * 1 + ([v @ k + s[0] @ r],), xv.astype("float64"),
                     [np.zeros((2, 4))])
    np.testing.assert_allclose(a, want[:, -1], rtol=1e-5, atol=1e-6)
    k1, r1, k2, r2, b2 = stacked.get_weights()

    def two(v, s):
        h1 = v @ k1 + s[0] @ r1
        h2, (h, c) = lstm_step(h1, s[1:], [k2, r2, b2])
        return h2, [h1, h, c]
    want, _, _ = run(two, xv.astype("float64"), [np.zeros((2, 2)), np.zeros((2, 3)), np.zeros((2, 3))])
    np.testing.assert_allclose(b, want, rtol=1e-5, atol=1e-6)
    restored = keras.Model.from_config(model.get_config(), custom_objects={"MinimalRNNCell": MinimalRNNCell})
    restored.set_weights(model.get_weights())
    for u, v in zip(restored.predict(xv), (a, b)):
        np.testing.assert_allclose(u, v, rtol=1e-6)


def test_initial_state_from_other_tensors():
    x, h0, c0 = layers.Input((None, F)), layers.Input((4,)), layers.Input((4,))
    lstm = layers.LSTM(4)
    model = keras.Model([x, h0, c0], lstm(x, initial_state=[h0, c0]))
    rs = np.random.RandomState(4)
    xv, hv, cv = rs.uniform(-1, 1, (2, 3, F)), rs.uniform(-1, 1, (2, 4)), rs.uniform(-1, 1, (2, 4))
    w = lstm.get_weights()
    _, last, _ = run(lambda v, s: lstm_step(v, s, w), xv, [hv, cv])
    np.testing.assert_allclose(model.predict([xv, hv, cv]), last, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="expects 2 states"):
        layers.LSTM(4)(x, initial_state=[h0])


@pytest.mark.parametrize("make, params", [
    (lambda: layers.SimpleRNN(5), F * 5 + 25 + 5),
    (lambda: layers.GRU(5), 3 * (F * 5 + 25 + 2 * 5)),
    (lambda: layers.GRU(5, reset_after=False), 3 * (F * 5 + 25 + 5)),
    (lambda: layers.LSTM(5), 4 * (F * 5 + 25 + 5)),
    (lambda: layers.LSTM(5, use_bias=False), 4 * (F * 5 + 25)),
])
def test_parameter_counts_weight_names_and_config_round_trip(make, params):
    layer = make()
    model = keras.Sequential([layer], name="m")
    model.build((None, 7, F))
    assert layer.count_params() == params
    kinds = [w.op.storage.name.split("/")[-1] for w in layer.weights]
    assert kinds == ["kernel", "recurrent_kernel", "bias"][:len(kinds)]
    assert all(w.op.storage.name.startswith(f"{layer.name}/{layer.cell.name}/") for w in layer.weights)
    config = layer.get_config()
    again = type(layer).from_config(config)
    assert again.get_config() == config
    assert again.units == layer.units


def test_lstm_forget_bias_starts_at_one():
    layer = layers.LSTM(3)
    layer.build((None, 2, F))
    np.testing.assert_array_equal(layer.get_weights()[2], [0, 0, 0, 1, 1, 1, 0, 0, 0, 0, 0, 0])
    plain = layers.LSTM(3, unit_forget_bias=False)
    plain.build((None, 2, F))
    np.testing.assert_array_equal(plain.get_weights()[2], np.zeros(12))


def test_bad_arguments():
    with pytest.raises(ValueError, match="units"):
        layers.LSTM(0)
    with pytest.raises(ValueError, match="dropout"):
        layers.GRU(2, dropout=1.5)
    with pytest.raises(ValueError, match="implementation"):
        layers.LSTM(2, implementation=3)
    with pytest.raises(ValueError, match="state_size"):
        layers.RNN(layers.Dense(2))


# ----------------------------------------------------------------------------- Bidirectional

@pytest.mark.parametrize("merge_mode", ["concat", "sum", "ave", "mul", None])
def test_bidirectional_merges_a_forward_and_a_backward_run(merge_mode):
    x = layers.Input((None, F))
    bi = layers.Bidirectional(layers.LSTM(4, return_sequences=True), merge_mode=merge_mode)
    model = keras.Model(x, bi(x))
    xv = _masked_batch(6, seed=8)
    got = model.predict(xv)
    w = bi.get_weights()
    states = [np.zeros((3, 4))] * 2
    forward, _, _ = run(lambda a, s: lstm_step(a, s, w[:3]), xv.astype("float64"), states)
    backward, _, _ = run(lambda a, s: lstm_step(a, s, w[3:]), xv.astype("float64"), states, go_backwards=True)
    backward = backward[:, ::-1]                       # back in time order
    want = {"concat": np.concatenate([forward, backward], -1), "sum": forward + backward,
            "ave": (forward + backward) / 2, "mul": forward * backward, None: [forward, backward]}[merge_mode]
    for g, e in zip(got if merge_mode is None else [got], want if merge_mode is None else [want]):
        np.testing.assert_allclose(g, e, rtol=2e-5, atol=2e-6)
    assert bi.count_params() == 2 * 4 * (F * 4 + 16 + 4)
    names = [v.op.storage.name for v in bi.weights]
    assert names[0] == f"{bi.name}/{bi.forward_layer.name}/lstm_cell/kernel"
    assert names[3] == f"{bi.name}/{bi.backward_layer.name}/lstm_cell/kernel"
    assert bi.forward_layer.name.startswith("forward_lstm") and bi.backward_layer.name.startswith("backward_lstm")

def test_bidirectional_states_masks_and_config():
    x = layers.Input((None, F))
    mask = K.not_equal(K.sum(K.abs(x), axis=-1), 0)
    backward = layers.GRU(3, go_backwards=True, return_state=True)
    bi = layers.Bidirectional(layers.GRU(3, return_state=True), backward_layer=backward)
    out, h_forward, h_backward = bi(x, mask=mask)
    model = keras.Model(x, [out, h_forward, h_backward])
    xv = _masked_batch(7, seed=9)
    got = model.predict(xv)
    w = bi.get_weights()
    m = np.abs(xv).sum(-1) != 0
    _, last_f, (hf,) = run(lambda a, s: gru_step(a, s, w[:3]), xv.astype("float64"), [np.zeros((3, 3))], m)
    _, last_b, (hb,) = run(lambda a, s: gru_step(a, s, w[3:]), xv.astype("float64"), [np.zeros((3, 3))], m, True)
    np.testing.assert_allclose(got[0], np.concatenate([last_f, last_b], -1), rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(got[1], hf, rtol=2e-5, atol=2e-6)
    np.testing.assert_allclose(got[2], hb, rtol=2e-5, atol=2e-6)
    again = layers.Bidirectional.from_config(bi.get_config())
    assert again.get_config() == bi.get_config()
    assert again.backward_layer.go_backwards
    with pytest.raises(ValueError, match="merge mode"):
        layers.Bidirectional(layers.LSTM(2), merge_mode="max")
    with pytest.raises(ValueError, match="go_backwards"):
        layers.Bidirectional(layers.LSTM(2), backward_layer=layers.LSTM(2))
    with pytest.raises(ValueError, match="recurrent layer"):
        layers.Bidirectional(layers.Dense(2))


def test_bidirectional_model_trains():
    model = keras.Sequential([layers.Bidirectional(layers.GRU(3), input_shape=(None, F)), layers.Dense(1)])
    model.compile("adam", "mse", backend="c")
    rs = np.random.RandomState(0)
    x = rs.uniform(-1, 1, (32, 5, F)).astype("float32")
    losses = model.fit(x, x.sum(axis=(1, 2))[:, None], epochs=10, batch_size=8, verbose=0).history["loss"]
    assert losses[-1] < losses[0]


# ----------------------------------------------------------------------------- ConvLSTM2D

def conv2d_reference(x, kernel, stride, padding):
    """Direct loops: (batch, rows, cols, in) * (kh, kw, in, out), 'same' padding as TensorFlow pads."""
    kh, kw = kernel.shape[:2]
    rows, cols = x.shape[1:3]
    if padding == "same":
        out_r, out_c = -(-rows // stride[0]), -(-cols // stride[1])
        pad_r = max((out_r - 1) * stride[0] + kh - rows, 0)
        pad_c = max((out_c - 1) * stride[1] + kw - cols, 0)
        x = np.pad(x, ((0, 0), (pad_r // 2, pad_r - pad_r // 2), (pad_c // 2, pad_c - pad_c // 2), (0, 0)))
    else:
        out_r, out_c = (rows - kh) // stride[0] + 1, (cols - kw) // stride[1] + 1
    out = np.zeros((x.shape[0], out_r, out_c, kernel.shape[3]))
    for r in range(out_r):
        for c in range(out_c):
            patch = x[:, r * stride[0]:r * stride[0] + kh, c * stride[1]:c * stride[1] + kw]
            out[:, r, c] = np.tensordot(patch, kernel, axes=([1, 2, 3], [0, 1, 2]))
    return out


@pytest.mark.parametrize("padding, strides", [("same", (1, 1)), ("valid", (2, 1))])
def test_conv_lstm_matches_a_time_loop_of_convolutions(padding, strides):
    layer = layers.ConvLSTM2D(2, (3, 2), strides=strides, padding=padding, return_sequences=True,
                              return_state=True)
    x = layers.Input((None, 5, 4, 3))
    model = keras.Model(x, layer(x))
    xv = np.random.RandomState(11).uniform(-1, 1, (2, 4, 5, 4, 3)).astype("float32")
    got = model.predict(xv)
    kernel, recurrent, bias = (w.astype("float64") for w in layer.get_weights())

    def step(v, states):
        h, c = states
        z = conv2d_reference(v, kernel, strides, padding) + bias + conv2d_reference(h, recurrent, (1, 1), "same")
        i, f, g, o = np.split(z, 4, axis=-1)
        c = hard_sigmoid(f) * c + hard_sigmoid(i) * np.tanh(g)
        h = hard_sigmoid(o) * np.tanh(c)
        return h, [h, c]
    shape = (2,) + layer.cell.sides + (2,)
    seq, _, (h, c) = run(step, xv.astype("float64"), [np.zeros(shape), np.zeros(shape)])
    for g, want in zip(got, [seq, h, c]):
        np.testing.assert_allclose(g, want, rtol=2e-5, atol=2e-6)
    assert layer.count_params() == 3 * 2 * 3 * 8 + 3 * 2 * 2 * 8 + 8
    assert layers.ConvLSTM2D.from_config(layer.get_config()).get_config() == layer.get_config()


def test_conv_lstm_needs_channels_last():
    with pytest.raises(ValueError, match="channels_last"):
        layers.ConvLSTM2D(2, 3, data_format="channels_first")


# ----------------------------------------------------------------------------- Keras files

DATA = os.path.join(os.path.dirname(os.path.abspath(__file__)), "data")


def test_recurrent_layers_written_by_keras3_load_with_its_predictions():
    """keras3_rnn.keras: LSTM(return_sequences) feeding GRU, GRU(reset_after=False),
    SimpleRNN(go_backwards) and Bidirectional(LSTM), random weights, saved by Keras 3.15 (its
    weights under each layer's cell); keras3_rnn_io.npz: the input and Keras's four outputs."""
    model = keras.models.load_model(os.path.join(DATA, "keras3_rnn.keras"))
    io_ = np.load(os.path.join(DATA, "keras3_rnn_io.npz"))
    for i, got in enumerate(model.predict(io_["x"])):
        np.testing.assert_allclose(got, io_[f"arr_{i}"], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("suffix", [".keras", ".h5"])
def test_recurrent_models_round_trip_through_keras_files(tmp_path, suffix):
    x = layers.Input((None, F))
    seq = layers.LSTM(3, return_sequences=True)(x)
    out = layers.Bidirectional(layers.GRU(2, reset_after=False))(seq)
    model = keras.Model(x, [out, layers.SimpleRNN(2, go_backwards=True)(seq)])
    model.compile("adam", "mse")
    path = str(tmp_path / ("rnn" + suffix))
    model.save(path)
    again = keras.models.load_model(path)
    xv = _masked_batch(5, seed=12)
    for a, b in zip(model.predict(xv), again.predict(xv)):
        np.testing.assert_array_equal(a, b)

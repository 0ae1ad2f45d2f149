"""Sizes other than the batch: each None of an input's shape is a size symbol of its own
(``signal_1`` for axis 1 of input ``signal``), bound from the arrays at each call, so one
generated function serves every sequence length."""

import builtins

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import version
from symkeras.codegen import backends
from symkeras.ir import dims
from symkeras.ir import ops as O
from symkeras.layers import (Conv1D, Dense, Embedding, GlobalAveragePooling1D, Input, Lambda, MaxPooling1D,
                             Reshape)
from symkeras.models import Model
from symkeras.runtime import artifact, graph_cache
from symkeras.runtime.function import GeneratedFunction

LENGTHS = (1, 7, 50)


def _sequence_model(pooling):
    x = Input((None, 8), name="signal")
    h = Dense(4, activation="relu")(x)
    pooled = GlobalAveragePooling1D()(h) if pooling == "layer" else Lambda(lambda t: K.mean(t, axis=1))(h)
    return Model(x, Dense(1)(pooled))


@pytest.mark.parametrize("pooling", ["layer", "K.mean"])
def test_one_function_serves_every_sequence_length(backend, pooling):
    model = _sequence_model(pooling)
    f = K.function(model.inputs, model.outputs, backend=backend, name=f"sequence_{pooling.replace('.', '_')}")
    w1, b1, w2, b2 = model.get_weights()
    rng = np.random.default_rng(0)
    for length in LENGTHS:
        x = rng.standard_normal((3, length, 8)).astype("float32")
        (out,) = f([x])
        expected = np.maximum(x @ w1 + b1, 0).mean(axis=1) @ w2 + b2
        np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    assert "signal_1" in f.source


def test_reshape_layer_with_an_unknown_axis_infers_it(backend):
    x = Input((None, 8))
    model = Model(x, GlobalAveragePooling1D()(Reshape((-1, 4))(x)))
    model.compile("sgd", "mse", backend=backend)
    assert model.output_shape == (None, 4)
    for steps in (1, 5):
        values = np.random.RandomState(steps).rand(2, steps, 8).astype("float32")
        np.testing.assert_allclose(model.predict(values), values.reshape(2, 2 * steps, 4).mean(axis=1), rtol=1e-6)
    with pytest.raises(ValueError, match="needs a -1"):
        Reshape((2, 4))(x)


def test_predict_on_no_samples_keeps_the_other_sizes():
    x = Input((None, 8))
    model = Model(x, Dense(2)(x))
    assert model.predict(np.zeros((0, 5, 8), "float32")).shape == (0, 5, 2)


def test_batch_only_functions_take_no_size_argument(backend):
    x = Input((8,), name="flat")
    f = K.function([x], [Dense(2)(x)], backend=backend, name="batch_only")
    assert "flat_1" not in f.source and f.sizes == (dims.BATCH,)


def test_embedding_of_a_sequence_of_any_length(backend):
    tokens = Input((None,), dtype="int32", name="tokens")
    embedded = Embedding(20, 3)(tokens)
    model = Model(tokens, Dense(1)(GlobalAveragePooling1D()(embedded)))
    f = K.function(model.inputs, model.outputs, backend=backend, name="embedding_sequence")
    table, w, b = model.get_weights()
    rng = np.random.default_rng(1)
    for length in LENGTHS:
        idx = rng.integers(0, 20, (4, length)).astype("int32")
        (out,) = f([idx])
        np.testing.assert_allclose(out, table[idx].mean(axis=1) @ w + b, rtol=1e-5, atol=1e-6)


def test_fit_on_one_length_then_predict_on_another(backend):
    model = _sequence_model("layer")
    model.compile("adam", "mse", backend=backend)
    rng = np.random.default_rng(2)
    history = model.fit(rng.standard_normal((16, 7, 8)), rng.standard_normal((16, 1)), epochs=2, batch_size=8,
                        verbose=0)
    assert np.all(np.isfinite(history.history["loss"]))
    x = rng.standard_normal((5, 50, 8)).astype("float32")
    w1, b1, w2, b2 = model.get_weights()
    np.testing.assert_allclose(model.predict(x), np.maximum(x @ w1 + b1, 0).mean(axis=1) @ w2 + b2,
                               rtol=1e-4, atol=1e-5)


def test_two_inputs_have_sizes_of_their_own(backend):
    # As in tf-keras, each None is its own unknown: two inputs' lengths may differ...
    a, b = Input((None, 4), name="left"), Input((None, 4), name="right")
    f = K.function([a, b], [K.sum(a, axis=1) + K.sum(b, axis=1)], backend=backend, name="two_lengths")
    xa, xb = np.ones((2, 3, 4), "float32"), np.ones((2, 5, 4), "float32")
    np.testing.assert_allclose(f([xa, xb])[0], np.full((2, 4), 8.0))
    # ...so an elementwise op between them is refused when the graph is built.
    with pytest.raises(ValueError, match="do not broadcast"):
        a + b


def test_a_size_shown_twice_must_agree(backend):
    x = Input((None, 4), name="signal")
    f = K.function([x], [K.sum(x, axis=1)], backend=backend, name="one_length")
    y = Input((None, 4), name="other")
    same = K.function([x, y], [K.sum(x * 2, axis=1)], backend=backend, name="two_inputs")
    assert f([np.ones((2, 6, 4), "float32")])[0].shape == (2, 4)
    assert same([np.ones((2, 6, 4), "float32"), np.ones((2, 9, 4), "float32")])[0].shape == (2, 4)
    with pytest.raises(ValueError, match=r"input 1 \('other'\): batch size 3 differs from 2"):
        same([np.ones((2, 6, 4), "float32"), np.ones((3, 6, 4), "float32")])


def test_a_wrong_static_size_names_the_input_the_axis_and_the_size(backend):
    x = Input((None, 8), name="signal")
    f = K.function([x], [x * 2], backend=backend, name="static_check")
    with pytest.raises(ValueError, match=r"input 0 \('signal'\).*axis 2 has size 7, expected 8"):
        f([np.zeros((2, 3, 7), "float32")])


def test_ops_that_cannot_take_an_unknown_size_say_so_at_graph_build():
    x = Input((None, 8), name="signal")
    with pytest.raises(ValueError, match="spatial"):
        Conv1D(2, 3)(x)
    with pytest.raises(ValueError, match="spatial"):
        MaxPooling1D(2)(x)
    length = dims.size_symbol("signal_1")
    with pytest.raises(ValueError, match="unknown size"):
        O.Window((length,), (2,), (1,), (1,), (0,), (0,))
    with pytest.raises(ValueError, match="divide an unknown size"):
        O.Reshape((dims.BATCH, length / 2, 16))


def test_gradient_over_a_symbolic_axis_matches_finite_differences(backend):
    x = Input((None, 3), dtype="float64", name="steps")
    w = K.variable(np.linspace(-1, 1, 6).reshape(3, 2), dtype="float64", name="w")
    scores = K.softmax(K.dot(x, w), axis=1)                         # softmax over the time axis
    loss = K.sum(K.mean(scores * K.tanh(K.dot(x, w)), axis=1))
    f = K.function([x], [loss] + K.gradients(loss, [w]), backend=backend, name="symbolic_gradient")
    rng = np.random.default_rng(3)
    for length in (1, 5):
        xs = rng.standard_normal((2, length, 3))
        _, grad = f([xs])
        value, numeric, eps = w.op.storage.value, np.zeros((3, 2)), 1e-6
        for i in np.ndindex(3, 2):
            saved = value[i]
            value[i] = saved + eps
            up = f([xs])[0]
            value[i] = saved - eps
            down = f([xs])[0]
            value[i] = saved
            numeric[i] = (up - down) / (2 * eps)
        np.testing.assert_allclose(grad, numeric, rtol=1e-5, atol=1e-7)


def _length_graph(name):
    x = Input((None, 3), name="signal")
    w = K.variable(np.arange(6, dtype="float32").reshape(3, 2), name="w")
    return K.function_graph([x], [K.dot(x, w), K.reshape(K.dot(x, w), (-1,))], name=name)


def _check_length_function(f):
    x = np.ones((2, 5, 3), "float32")
    out, flat = f([x])
    np.testing.assert_allclose(out, x @ np.arange(6, dtype="float32").reshape(3, 2))
    assert flat.shape == (20,)


def test_a_symbolic_size_round_trips_through_the_cache(backend):
    graph = _length_graph("cached_length")
    first = GeneratedFunction(graph, backend)
    key = graph_cache.graph_key(graph, first.backend, version.__version__)
    stored = graph_cache.load(key)
    assert stored["sizes"] == [["size", "signal_1"]]
    assert stored["inputs"][0][1] == ["batch", ["size", "signal_1"], 3]
    again = GeneratedFunction(_length_graph("cached_length"), backend)
    assert again.source == first.source and again.sizes == (dims.BATCH, dims.size_symbol("signal_1"))
    _check_length_function(again)


def _rename_everywhere(a):
    a["sizes"] = [["size", "other_1"]]
    a["inputs"][0][1][1] = ["size", "other_1"]


def _rename_in_inputs(a):
    a["inputs"][0][1][1] = ["size", "other_1"]


def _hostile_name(a):
    a["sizes"] = [["size", "x); __import__('builtins').SK_SIZE_PAYLOAD = (1"]]


@pytest.mark.parametrize("tamper", [_rename_everywhere, _rename_in_inputs, _hostile_name])
def test_a_tampered_size_symbol_is_a_miss(backend, tamper):
    name = "tampered_" + tamper.__name__
    graph = _length_graph(name)
    f = GeneratedFunction(graph, backend)
    key = graph_cache.graph_key(graph, f.backend, version.__version__)
    stored = graph_cache.load(key)
    tamper(stored)
    assert artifact.decode(stored, backends.get(f.backend), 1) is None
    graph_cache.store(key, stored)
    again = GeneratedFunction(_length_graph(name), backend)
    assert not hasattr(builtins, "SK_SIZE_PAYLOAD")
    _check_length_function(again)
    assert graph_cache.load(key)["sizes"] == [["size", "signal_1"]]          # rendered again and stored

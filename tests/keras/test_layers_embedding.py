"""Embedding: lookups against NumPy indexing, integer and float inputs, the range check before
generated code runs, the table's gradient (finite differences in float64, and a train step that
moves only the rows looked up), mask_zero, config and parameter counts, C == NumPy."""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import constraints, initializers, layers, optimizers, regularizers
from symkeras.layers import Dense, Embedding, Flatten, Input
from symkeras.models import Sequential


@pytest.fixture(autouse=True)
def _fresh_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


INDICES = np.array([[1, 0, 4, 4], [6, 2, 0, 3]])


def _summary_lines(model):
    lines = []
    model.summary(print_fn=lines.append)
    return lines


def test_embedding_weights_config_and_round_trip():
    layer = Embedding(7, 3, embeddings_regularizer="l2", embeddings_constraint=constraints.NonNeg(),
                      mask_zero=True, input_length=4)
    model = Sequential([layer])
    assert model.output_shape == (None, 4, 3)
    assert [w.op.storage.name for w in layer.weights] == ["embedding/embeddings"]
    assert layer.embeddings.shape == (7, 3)
    table = layer.get_weights()[0]
    assert np.all(np.abs(table) <= 0.05)                     # 'uniform': RandomUniform(-0.05, 0.05)
    config = layer.get_config()
    assert list(config) == ["name", "trainable", "dtype", "batch_input_shape", "input_dim", "output_dim",
                            "embeddings_initializer", "embeddings_regularizer", "activity_regularizer",
                            "embeddings_constraint", "mask_zero", "input_length"]
    assert config["batch_input_shape"] == (None, 4)
    assert config["embeddings_initializer"] == initializers.serialize(initializers.RandomUniform(-0.05, 0.05))
    assert config["embeddings_regularizer"] == regularizers.serialize(regularizers.get("l2"))
    assert config["mask_zero"] is True and config["input_length"] == 4
    clone = layers.deserialize(layers.serialize(layer))
    assert type(clone) is Embedding and clone.get_config() == config
    rebuilt = Sequential.from_config(model.get_config())
    assert rebuilt.output_shape == (None, 4, 3) and rebuilt.count_params() == 21
    assert _summary_lines(model)[-4:-1] == ["Total params: 21", "Trainable params: 21", "Non-trainable params: 0"]


def test_embedding_looks_up_rows_for_int_and_float_inputs():
    ints = Input((4,), dtype="int32")
    floats = Input((2, 4))
    layer = Embedding(7, 3, embeddings_initializer="random_normal")
    out_int, out_float = layer(ints), layer(floats)
    assert out_int.keras_shape == (None, 4, 3) and out_float.keras_shape == (None, 2, 4, 3)
    f = K.function([ints, floats], [out_int, out_float])
    got_int, got_float = f([INDICES.astype("int32"), np.stack([INDICES, INDICES[::-1]], 1).astype("float32")])
    table = layer.get_weights()[0]
    want = np.array([[table[i] for i in row] for row in INDICES])        # row by row, as a loop
    np.testing.assert_array_equal(got_int, want)
    np.testing.assert_array_equal(got_float[:, 0], want)
    np.testing.assert_array_equal(got_float[:, 1], want[::-1])


def test_indices_out_of_range_are_refused_before_the_generated_code_runs():
    model = Sequential([Embedding(5, 2, input_length=3)])
    np.testing.assert_array_equal(model.predict(np.array([[0, 4, 2]])), model.get_weights()[0][[[0, 4, 2]]])
    for bad in ([[0, 5, 1]], [[-1, 0, 1]]):
        with pytest.raises(ValueError, match=r"indices must be integers in \[0, 5\)"):
            model.predict(np.array(bad))
    with pytest.raises(ValueError, match=r"indices must be integers in \[0, 5\)"):
        model.predict(np.array([[0.5, 1.0, 2.0]]))


def test_embedding_bad_arguments():
    with pytest.raises(ValueError, match="`input_dim` and `output_dim` should be positive"):
        Embedding(0, 3)
    with pytest.raises(ValueError, match="`input_dim` and `output_dim` should be positive"):
        Embedding(4, -1)
    with pytest.raises(ValueError, match="`input_length`"):
        Embedding(4, 2, input_length=0)
    with pytest.raises(ValueError, match='"input_length" is 3'):
        Embedding(4, 2, input_length=3)(Input((5,)))
    with pytest.raises(TypeError, match="not understood"):
        Embedding(4, 2, units=3)


def test_mask_zero_reports_padding():
    x = Input((4,), dtype="int32")
    masked, plain = Embedding(7, 2, mask_zero=True), Embedding(7, 2)
    assert masked.supports_masking and not plain.supports_masking
    assert plain.compute_mask(x) is None
    mask = masked.compute_mask(x)
    assert mask.dtype == "bool"
    got = K.function([x], [mask])([INDICES.astype("int32")])[0]
    np.testing.assert_array_equal(got, INDICES != 0)


def test_embedding_gradient_by_finite_differences():
    layer = Embedding(5, 3, embeddings_initializer="random_normal", dtype="float64")
    ids = K.placeholder((2, 4), dtype="int32")
    y = layer(ids)
    r = np.random.RandomState(1).uniform(-1, 1, (2, 4, 3))
    loss = K.sum(y * K.constant(r, dtype="float64"))
    f = K.function([ids], [loss, K.gradients(loss, [layer.embeddings])[0]])
    indices = np.array([[1, 0, 4, 4], [2, 2, 0, 1]], dtype="int32")
    _, grad = f([indices])
    want = np.zeros((5, 3))                 # each looked-up row gathers the upstream rows that read it
    for b in range(2):
        for t in range(4):
            want[indices[b, t]] += r[b, t]
    np.testing.assert_allclose(grad, want, rtol=1e-12)
    start = layer.get_weights()[0]
    numeric = np.zeros_like(start)
    for i in np.ndindex(start.shape):
        for sign in (1, -1):
            moved = start.copy()
            moved[i] += sign * 1e-6
            layer.set_weights([moved])
            numeric[i] += sign * f([indices])[0] / 2e-6
    layer.set_weights([start])
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_a_train_step_moves_only_the_rows_looked_up():
    model = Sequential([Embedding(6, 2, input_length=3), Flatten(), Dense(1)])
    model.compile(optimizers.SGD(0.5), "mse")
    before = model.get_weights()[0]
    model.train_on_batch(np.array([[1, 3, 3], [4, 1, 3]], dtype="float32"), np.array([[1.0], [-1.0]], "float32"))
    after = model.get_weights()[0]
    moved = np.any(after != before, axis=1)
    np.testing.assert_array_equal(moved, [False, True, False, True, True, False])


def test_c_and_numpy_agree_on_an_embedding(backend):
    if backend == "numpy":
        pytest.skip("compares the C backend with NumPy")
    ids = Input((4,), dtype="int32")
    layer = Embedding(7, 3, embeddings_initializer="random_normal")
    y = layer(ids)
    loss = K.sum(K.square(y))
    outputs = [y, K.gradients(loss, [layer.embeddings])[0]]
    data = INDICES.astype("int32")
    got_c = K.function([ids], outputs, backend="c")([data])
    got_numpy = K.function([ids], outputs, backend="numpy")([data])
    for c, n in zip(got_c, got_numpy):
        np.testing.assert_allclose(c, n, rtol=1e-6)
    with pytest.raises(ValueError, match=r"indices must be integers in \[0, 7\)"):
        K.function([ids], outputs, backend="c")([np.array([[0, 7, 1, 1]], dtype="int32")])

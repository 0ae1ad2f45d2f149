"""The Keras 2 backend namespace: each function's values against NumPy written here, on both
backends (one compiled function per group of functions, to keep the compiles few), its dtypes and
shapes, and its argument errors. Gradients are in tests/ir/test_gradients.py."""

import numpy as np
import pytest

import symkeras.backend as K

XV = np.array([[0.5, -1.5, 2.5, 3.0], [-2.5, 0.0, 1.2, -0.7], [4.0, -3.5, 1.5, 0.25]], dtype=np.float32)


def run(backend, inputs, outputs, values, name):
    names = list(outputs)
    f = K.function(inputs, [outputs[n] for n in names], backend=backend, name=name)
    return dict(zip(names, f(values)))


def close(actual, expected, rtol=1e-6, atol=1e-6):
    np.testing.assert_allclose(actual, expected, rtol=rtol, atol=atol)


# ----------------------------------------------------------------------------- comparisons and logic

def test_comparison_operators_and_functions_give_bool_tensors(backend):
    x = K.placeholder((None, 4), name="x")
    y = K.placeholder((None, 4), name="y")
    yv = np.round(XV[::-1].copy() * 0.5) + 0.5
    out = run(backend, [x, y], {
        "lt": x < 0.5, "le": x <= 0.5, "gt": x > y, "ge": x >= y, "rgt": 0.5 < x,
        "equal": K.equal(x, y), "not_equal": K.not_equal(x, 0.5), "greater": K.greater(x, y),
        "greater_equal": K.greater_equal(x, 1.5), "less": K.less(x, y), "less_equal": K.less_equal(x, 0.0),
        "and": (x > 0) & (x < 2.6), "or": (x > 2) | (x < -2), "xor": (x > 0) ^ (x > 1), "not": ~(x > 0),
        "any_rows": K.any(x > 2, axis=1), "all": K.all(x > -4), "any_keep": K.any(x, axis=0, keepdims=True),
        "all_cols": K.all(x > -3, axis=0),
        # usable in casts, switch, arithmetic and means (Keras's accuracy)
        "cast": K.cast(x > 0, "float32"), "switch": K.switch(x > y, x, y), "arith": (x > 0) * x + (x < 0),
        "mean": K.mean(K.equal(K.round(x), y), axis=-1), "count": K.sum(x > 0, axis=1),
    }, [XV, yv], "comparisons")
    expected = {
        "lt": XV < 0.5, "le": XV <= 0.5, "gt": XV > yv, "ge": XV >= yv, "rgt": XV > 0.5,
        "equal": XV == yv, "not_equal": XV != 0.5, "greater": XV > yv, "greater_equal": XV >= 1.5,
        "less": XV < yv, "less_equal": XV <= 0.0,
        "and": (XV > 0) & (XV < 2.6), "or": (XV > 2) | (XV < -2), "xor": (XV > 0) ^ (XV > 1), "not": ~(XV > 0),
        "any_rows": (XV > 2).any(1), "all": (XV > -4).all(), "any_keep": (XV != 0).any(0, keepdims=True),
        "all_cols": (XV > -3).all(0),
    }
    for name, value in expected.items():
        assert out[name].dtype == np.bool_, name
        np.testing.assert_array_equal(out[name], value, err_msg=name)
    close(out["cast"], (XV > 0).astype(np.float32))
    close(out["switch"], np.where(XV > yv, XV, yv))
    close(out["arith"], (XV > 0) * XV + (XV < 0))
    close(out["mean"], np.mean(np.round(XV) == yv, axis=-1))
    assert out["count"].dtype == np.int32
    np.testing.assert_array_equal(out["count"], (XV > 0).sum(1))


def test_python_equality_keeps_identity():
    x = K.placeholder((None, 4), name="x")
    y = K.placeholder((None, 4), name="y")
    assert (x == x) is True and (x == y) is False and (x != y) is True
    assert len({x, y, x}) == 2 and {x: 1}[x] == 1 and x in [y, x]
    assert (x < 0.5).dtype == "bool" and K.int_shape(x < y) == (None, 4)
    assert isinstance(np.ones(4) * x, K.Node) and isinstance(np.float32(0.5) < x, K.Node)
    with pytest.raises(TypeError, match="no truth value"):
        if x > 0.5:
            pass


def test_logical_operators_need_bool_tensors():
    x = K.placeholder((None, 4), name="x")
    with pytest.raises(TypeError, match="bool"):
        x & (x > 0)
    with pytest.raises(TypeError, match="bool"):
        ~x


# ----------------------------------------------------------------------------- math

def test_elementwise_math_products_and_scans(backend):
    x = K.placeholder((None, 4), name="x")
    ties = K.constant([-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, 3.5, -0.49, 0.51, 2 ** 24 + 1.0])
    out = run(backend, [x], {
        "sin": K.sin(x), "cos": K.cos(x), "round": K.round(x), "ties": K.round(ties),
        "prod_static": K.prod(x, axis=1), "prod_keep": K.prod(x, axis=-1, keepdims=True),
        "prod_batch": K.prod(x, axis=0), "prod_all": K.prod(x), "prod_12": K.prod(K.reshape(x, (-1, 2, 2)), (1, 2)),
        "cumsum": K.cumsum(x, axis=1), "cumprod": K.cumprod(x, axis=1), "cumsum_3": K.cumsum(K.tile(x, (1, 2)), 1),
        "logsumexp": K.logsumexp(x, axis=1), "pow": K.pow(x, 2), "clip": K.clip(x, -1.0, 2.0),
    }, [XV], "math")
    close(out["sin"], np.sin(XV))
    close(out["cos"], np.cos(XV))
    close(out["round"], np.round(XV))
    np.testing.assert_array_equal(out["ties"], [-2, -2, -0, 0, 2, 2, 4, -0, 1, 2 ** 24])
    close(out["prod_static"], XV.prod(1))
    close(out["prod_keep"], XV.prod(-1, keepdims=True))
    close(out["prod_batch"], XV.prod(0), rtol=1e-5)
    close(out["prod_all"], XV.prod())
    close(out["prod_12"], XV.reshape(-1, 2, 2).prod((1, 2)))
    close(out["cumsum"], XV.cumsum(1))
    close(out["cumprod"], XV.cumprod(1))
    close(out["cumsum_3"], np.tile(XV, (1, 2)).cumsum(1), rtol=1e-5)
    close(out["logsumexp"], np.log(np.exp(XV).sum(1)), rtol=1e-5)
    close(out["pow"], XV ** 2)
    close(out["clip"], np.clip(XV, -1, 2))


def test_scans_and_products_over_the_batch_axis():
    x = K.placeholder((None, 4), name="x")
    with pytest.raises(NotImplementedError, match="batch"):
        K.cumsum(x, axis=0)
    with pytest.raises(NotImplementedError, match="batch"):
        K.cumprod(x)
    with pytest.raises(ValueError, match="axis"):
        K.cumsum(x, axis=2)
    with pytest.raises(TypeError, match="axis"):
        K.cumsum(x, axis=1.5)
    assert K.int_shape(K.prod(x, axis=1)) == (None,) and K.int_shape(K.prod(x)) == ()


# ----------------------------------------------------------------------------- shapes

def test_shape_functions(backend):
    x = K.placeholder((None, 4), name="x")
    i = K.placeholder((None,), dtype="int32", name="i")
    s = K.shape(x)
    assert s[1] == 4 and K.int_shape(x) == (None, 4) and K.ndim(x) == 2 and K.dtype(x) == "float32"
    assert K.int_shape(s) == (2,) and K.ndim(s) == 1 and K.dtype(s) == "int32"
    np.testing.assert_array_equal(K.eval(K.shape(K.constant(XV))), [3, 4])
    out = run(backend, [x, i], {
        "shape": s, "batch_size": K.cast(s[0], "float32"), "per_sample": x / s[0],
        "reshape": K.reshape(x, (s[0], 2, 2)), "reshape_neg": K.reshape(x, (-1, 2, 2)),
        "stack0": K.stack([x, 2 * x]), "stack1": K.stack([x, 2 * x], axis=1), "stack_last": K.stack([x, x], -1),
        "unstack1": K.unstack(x, axis=1)[2], "tile": K.tile(x, (2, 3)), "tile_rank1": K.tile(K.constant([1.0, 2.0]), 3),
        "repeat": K.repeat(x, 3), "repeat_elements": K.repeat_elements(x, 2, axis=1),
        "expand": K.expand_dims(x, 1), "squeeze": K.squeeze(K.expand_dims(x), -1), "flatten": K.flatten(x),
        "batch_flatten": K.batch_flatten(K.reshape(x, (-1, 2, 2))), "permute": K.permute_dimensions(
            K.reshape(x, (-1, 2, 2)), (0, 2, 1)), "transpose": K.transpose(K.constant(XV)),
        "reverse": K.reverse(x, 1), "reverse_2": K.reverse(K.reshape(x, (-1, 2, 2)), (1, 2)),
        "slice": K.slice(x, (0, 1), (-1, 2)), "slice_static": K.slice(K.constant(XV), (1, 0), (2, 3)),
        "gather": K.gather(K.constant(XV.T), i), "one_hot": K.one_hot(i, 5), "arange": K.arange(5),
        "arange_3": K.arange(1, 8, 3, dtype="float32"), "concatenate": K.concatenate([x, x * 2], axis=-1),
    }, [XV, np.array([3, 0, 2], dtype=np.int32)], "shapes")
    np.testing.assert_array_equal(out["shape"], [3, 4])
    assert out["shape"].dtype == np.int32
    close(out["batch_size"], 3.0)
    close(out["per_sample"], XV / 3)
    close(out["reshape"], XV.reshape(3, 2, 2))
    close(out["reshape_neg"], XV.reshape(3, 2, 2))
    close(out["stack0"], np.stack([XV, 2 * XV]))
    close(out["stack1"], np.stack([XV, 2 * XV], 1))
    close(out["stack_last"], np.stack([XV, XV], -1))
    close(out["unstack1"], XV[:, 2])
    close(out["tile"], np.tile(XV, (2, 3)))
    close(out["tile_rank1"], [1, 2, 1, 2, 1, 2])
    close(out["repeat"], np.repeat(XV[:, None], 3, 1))
    close(out["repeat_elements"], np.repeat(XV, 2, 1))
    close(out["expand"], XV[:, None])
    close(out["squeeze"], XV)
    close(out["flatten"], XV.reshape(-1))
    close(out["batch_flatten"], XV)
    close(out["permute"], XV.reshape(3, 2, 2).transpose(0, 2, 1))
    close(out["transpose"], XV.T)
    close(out["reverse"], XV[:, ::-1])
    close(out["reverse_2"], XV.reshape(3, 2, 2)[:, ::-1, ::-1])
    close(out["slice"], XV[:, 1:3])
    close(out["slice_static"], XV[1:3, 0:3])
    close(out["gather"], XV.T[[3, 0, 2]])
    close(out["one_hot"], np.eye(5)[[3, 0, 2]])
    np.testing.assert_array_equal(out["arange"], np.arange(5))
    assert out["arange"].dtype == np.int32 and out["arange_3"].dtype == np.float32
    close(out["arange_3"], [1, 4, 7])
    close(out["concatenate"], np.concatenate([XV, 2 * XV], -1))


def test_placeholders_with_unknown_axes_after_the_batch(backend):
    x = K.placeholder((None, None, 3), name="seq")
    assert K.int_shape(x) == (None, None, 3)
    out = run(backend, [x], {"sum": K.sum(x * 2.0, axis=1), "steps": K.cast(K.shape(x)[1], "float32"),
                             "mean": x / K.shape(x)[1], "map": K.map_fn(lambda s: K.max(s, axis=0), x)},
              [np.arange(30, dtype=np.float32).reshape(2, 5, 3)], "unknown_axes")
    v = np.arange(30, dtype=np.float32).reshape(2, 5, 3)
    close(out["sum"], 2 * v.sum(1)), close(out["steps"], 5.0), close(out["mean"], v / 5), close(out["map"], v.max(1))
    with pytest.raises(NotImplementedError, match="unknown size"):
        K.cumsum(x, axis=1)


def test_reverse_along_axes_of_unknown_size(backend):
    x = K.placeholder((None, None, 3), name="x")
    (g,) = K.gradients(K.sum(K.reverse(x, 1) * K.reverse(x, 0)), [x])
    f = K.function([x], [K.reverse(x, 1), K.reverse(x, [0, 1]), g], backend=backend, name="reverse_unknown")
    v = np.random.RandomState(0).randn(2, 5, 3).astype("float32")
    by_time, both, grad = f([v])
    np.testing.assert_array_equal(by_time, v[:, ::-1])
    np.testing.assert_array_equal(both, v[::-1, ::-1])
    np.testing.assert_allclose(grad, 2 * v[::-1, ::-1], rtol=1e-6)


def test_shape_function_errors():
    x = K.placeholder((None, 4), name="x")
    with pytest.raises(ValueError, match="stack"):
        K.stack([x, K.placeholder((None, 3))])
    with pytest.raises(ValueError, match="`n`"):
        K.tile(x, (2,))
    with pytest.raises(ValueError, match="batch"):
        K.slice(x, (1, 0), (-1, 2))
    with pytest.raises(ValueError, match="start"):
        K.slice(x, (0, 3), (-1, 2))
    with pytest.raises(ValueError, match="`start` and `size`"):
        K.slice(x, (0,), (-1,))
    with pytest.raises(ValueError, match="batch"):
        K.unstack(x, 0)
    with pytest.raises(ValueError, match="step"):
        K.arange(0, 3, 0)
    assert K.arange(-3).shape == (0,)
    with pytest.raises(ValueError, match="`axis`"):
        K.expand_dims(x, 3)
    with pytest.raises(TypeError, match="`axis`"):
        K.squeeze(x, None)
    with pytest.raises(ValueError, match="not 1"):
        K.squeeze(x, 1)
    with pytest.raises(ValueError, match="`num_classes`"):
        K.one_hot(K.placeholder((None,), dtype="int32"), 0)
    assert K.one_hot(K.placeholder((None,)), 3).op.depth == 3          # float labels are cast
    assert K.int_shape(K.flatten(K.constant(XV))) == (12,) and K.int_shape(K.reshape(x, (-1, 2))) == (None, 2)
    with pytest.raises(ValueError, match="cannot reshape"):
        K.reshape(K.constant(XV), (-1, 5))
    with pytest.raises(TypeError, match="`shape`"):
        K.reshape(x, K.constant([3, 4], "int32"))
    with pytest.raises(ValueError, match="Multiple target dimensions"):
        K.batch_dot(x, x, axes=[[1], [1]])
    with pytest.raises(ValueError, match="`axis`"):
        K.batch_dot(x, x, axes=(1, 4))
    with pytest.raises(ValueError, match="`tensors`"):
        K.concatenate([])
    with pytest.raises(ValueError, match="`axis`"):
        K.concatenate([x, x], axis=2)
    assert K.concatenate([x]) is x
    assert K.int_shape(K.reshape(K.expand_dims(x), K.shape(x))) == (None, 4)


# ----------------------------------------------------------------------------- conditionals and phases

def test_switch_with_a_lower_rank_condition_callables_and_python_flags(backend):
    x = K.placeholder((None, 4), name="x")
    out = run(backend, [x], {
        "rows": K.switch(K.any(x > 2, axis=1), x, -x), "scalar": K.switch(K.all(x > -5), lambda: x * 2, lambda: x),
        "python": K.switch(True, lambda: x + 1, lambda: x),
    }, [XV], "switch")
    close(out["rows"], np.where((XV > 2).any(1)[:, None], XV, -XV))
    close(out["scalar"], 2 * XV)
    close(out["python"], XV + 1)
    with pytest.raises(ValueError, match="rank"):
        K.switch(K.reshape(x, (-1, 2, 2)) > 0, x, x)


def test_learning_phase_placeholder_scope_and_in_train_phase(backend):
    x = K.placeholder((None, 4), name="x")
    phase = K.learning_phase()
    assert K.is_placeholder(phase) and phase.dtype == "int32" and phase.shape == ()
    y = K.in_train_phase(x * 2, x)
    z = K.in_test_phase(x * 2, x)
    f = K.function([x, phase], [y, z], backend=backend, name="phase_fed")
    train, test = f([XV, 1]), f([XV, 0])
    close(train[0], 2 * XV), close(train[1], XV), close(test[0], XV), close(test[1], 2 * XV)
    # A function that does not take the phase runs in the test phase.
    (unfed,) = K.function([x], [y], backend=backend, name="phase_default")([XV])
    close(unfed, XV)
    assert K.in_train_phase(lambda: x * 2, x, training=True).op == (x * 2).op
    assert K.in_train_phase(x * 2, x, training=False) is x and K.in_test_phase(x, 1.0, training=0) is x
    with K.learning_phase_scope(1):
        assert K.learning_phase() == 1
        assert K.in_train_phase(x, 0.0) is x
    assert K.learning_phase() is phase
    with pytest.raises(ValueError, match="0 or 1"):
        K.set_learning_phase(2)
    K.set_learning_phase(0)
    try:
        assert K.learning_phase() == 0 and K.in_train_phase(0.0, x) is x
    finally:
        K.state.reset_learning_phase()


def test_a_custom_layer_receives_the_training_flag_for_in_train_phase():
    from symkeras import layers, models

    class Noisy(layers.Layer):
        def call(self, inputs, training=None):
            return K.in_train_phase(inputs * 10.0, inputs, training=training)

    inp = layers.Input((4,))
    model = models.Model(inp, Noisy()(inp))
    model.compile("sgd", "mse")
    close(model.predict(XV, verbose=0), XV)
    assert model.run_graph([model.inputs[0]], training=True)[0].op == (model.inputs[0] * 10.0).op


# ----------------------------------------------------------------------------- loops

def test_map_fn_foldl_foldr_and_unrolled_rnn(backend):
    x = K.placeholder((None, 3, 2), name="x")
    m = K.placeholder((None, 3), name="m")
    table = K.constant(XV)
    xv = XV[:, :3, None] * np.array([1.0, -0.5], dtype=np.float32)
    mv = np.array([[1, 1, 0], [1, 0, 1], [0, 1, 1]], dtype=np.float32)
    w = np.array([[0.5, -0.3], [0.2, 0.8]], dtype=np.float32)

    def step(inputs, states):
        h = K.tanh(K.dot(inputs, K.constant(w)) + states[0] * states[1])     # states[1]: the constant
        return h, [h]

    h0 = K.zeros_like(x[:, 0])
    half = [K.constant(0.5)]
    last, outputs, states = K.rnn(step, x, [h0], constants=half, unroll=True)
    last_b, outputs_b, _ = K.rnn(step, x, [h0], constants=half, unroll=True, go_backwards=True, mask=m)
    out = run(backend, [x, m], {
        "map": K.map_fn(lambda row: K.sum(row * row), table), "foldl": K.foldl(lambda a, r: a * 0.5 + r, table),
        "foldr": K.foldr(lambda a, r: a * 0.5 + r, table, initializer=K.constant(np.ones(4, np.float32))),
        "last": last, "outputs": outputs, "state": states[0], "last_b": last_b, "outputs_b": outputs_b,
    }, [xv, mv], "loops")
    close(out["map"], (XV ** 2).sum(1))
    close(out["foldl"], (XV[0] * 0.5 + XV[1]) * 0.5 + XV[2])
    close(out["foldr"], ((np.ones(4) * 0.5 + XV[2]) * 0.5 + XV[1]) * 0.5 + XV[0])
    h, hs = np.zeros((3, 2), np.float32), []
    for t in range(3):
        h = np.tanh(xv[:, t] @ w + h * 0.5)
        hs.append(h)
    close(out["last"], h, rtol=1e-5), close(out["state"], h, rtol=1e-5)
    close(out["outputs"], np.stack(hs, 1), rtol=1e-5)
    h, prev, hs = np.zeros((3, 2), np.float32), np.zeros((3, 2), np.float32), []
    for t in (2, 1, 0):
        new = np.tanh(xv[:, t] @ w + h * 0.5)
        keep = mv[:, t:t + 1] != 0
        h = np.where(keep, new, h)
        prev = np.where(keep, new, prev)
        hs.append(prev)
    close(out["last_b"], prev, rtol=1e-5)
    close(out["outputs_b"], np.stack(hs, 1), rtol=1e-5)


def test_map_fn_over_the_batch_axis_applies_fn_to_the_whole_batch(backend):
    x = K.placeholder((None, 3, 2), name="x")
    w = np.array([[1.0, -1.0], [0.5, 2.0]], dtype=np.float32)
    xv = np.random.RandomState(0).standard_normal((4, 3, 2)).astype(np.float32)
    out = run(backend, [x], {
        "sum": K.map_fn(lambda m: K.sum(m * m), x),
        "dot_softmax": K.map_fn(lambda m: K.softmax(K.dot(m, K.constant(w))) * m[0], x),
        "transpose_max": K.map_fn(lambda m: K.transpose(m)[1] + K.max(m, axis=1), x),
        "constant": K.map_fn(lambda m: K.constant(2.0), x, dtype="float64"),
        "concat_reverse": K.map_fn(lambda m: K.concatenate([m, K.ones_like(m)], 0)[:, ::-1], x),
        "argmax_one_hot": K.map_fn(lambda m: K.one_hot(K.argmax(m, -1), 2), x),
    }, [xv], "map_fn_batch")
    e = np.exp(xv @ w)
    close(out["sum"], (xv ** 2).sum((1, 2)), rtol=1e-5)
    close(out["dot_softmax"], e / e.sum(-1, keepdims=True) * xv[:, :1], rtol=1e-5)
    close(out["transpose_max"], xv[:, :, 1] + xv.max(2))
    close(out["constant"], np.full(4, 2.0))
    assert out["constant"].dtype == np.float64
    close(out["concat_reverse"], np.concatenate([xv, np.ones_like(xv)], 1)[:, :, ::-1])
    close(out["argmax_one_hot"], np.eye(2)[xv.argmax(-1)])
    with pytest.raises(NotImplementedError, match="Random"):
        K.map_fn(lambda m: m * K.random_normal((3, 2)), x)
    with pytest.raises(TypeError, match="one tensor"):
        K.map_fn(lambda m: [m, m], x)


def test_loops_over_the_batch_axis_are_not_implemented():
    x = K.placeholder((None, 3), name="x")
    for fn in (lambda: K.foldl(lambda a, b: a + b, x), lambda: K.foldr(lambda a, b: a + b, x)):
        with pytest.raises(NotImplementedError, match="batch axis"):
            fn()


@pytest.mark.parametrize("go_backwards", [False, True])
@pytest.mark.parametrize("masked", [False, True])
def test_rolled_rnn_equals_the_unrolled_one(go_backwards, masked):
    """K.rnn(unroll=False) is one compiled loop; its outputs, states and gradients are those of the
    loop written out step by step."""
    rs = np.random.RandomState(0)
    w = K.variable(rs.randn(3, 4) * 0.5, dtype="float64", name="w")
    v = K.variable(rs.randn(4, 4) * 0.5, dtype="float64", name="v")
    x = K.placeholder((None, 6, 3), dtype="float64", name="x")
    m = K.placeholder((None, 6), dtype="float64", name="m")

    def step(x_t, states):
        h = K.tanh(K.dot(x_t, w) + K.dot(states[0], v) + states[1])
        return h * 2, [h]

    bias = K.zeros_like(K.dot(x[:, 0], w)) + 0.1
    results = []
    for unroll in (True, False):
        last, outputs, (state,) = K.rnn(step, x, [K.zeros_like(bias)], go_backwards=go_backwards,
                                        mask=m if masked else None, constants=[bias], unroll=unroll)
        grads = K.gradients(K.sum(outputs) + K.sum(last * state), [w, v, x])
        f = K.function([x, m], [last, outputs, state] + grads, backend="numpy", name="rnn_rolled")
        results.append(f([rs.randn(2, 6, 3), (rs.rand(2, 6) > 0.4).astype("float64")]))
        rs = np.random.RandomState(0)
        rs.randn(3, 4), rs.randn(4, 4)
    for rolled, unrolled in zip(results[1], results[0]):
        np.testing.assert_allclose(rolled, unrolled, rtol=1e-12, atol=1e-12)


# ----------------------------------------------------------------------------- tensors like others, random

def test_tensors_made_like_others_and_variables(backend):
    x = K.placeholder((None, 4), name="x")
    v = K.random_uniform_variable((3, 4), -2.0, 3.0, seed=1)
    n = K.random_normal_variable((200, 50), 1.0, 2.0, dtype="float64", seed=2)
    assert K.get_value(v).dtype == np.float32 and K.get_value(n).dtype == np.float64
    assert -2 <= K.get_value(v).min() and K.get_value(v).max() < 3
    assert abs(K.get_value(n).mean() - 1.0) < 0.05 and abs(K.get_value(n).std() - 2.0) < 0.05
    np.testing.assert_array_equal(K.get_value(v), K.get_value(K.random_uniform_variable((3, 4), -2.0, 3.0, seed=1)))
    eye = K.eye(3)
    close(K.get_value(eye), np.eye(3)), close(K.get_value(K.eye((2, 3))), np.eye(2, 3))
    out = run(backend, [x], {
        "zeros_like": K.zeros_like(x), "ones_like": K.ones_like(x, dtype="int32"), "identity": K.identity(x),
        "print": K.print_tensor(x, "x ="), "eye_dot": K.dot(x, K.eye(4)),
    }, [XV], "like")
    close(out["zeros_like"], np.zeros_like(XV)), close(out["identity"], XV), close(out["print"], XV)
    assert out["ones_like"].dtype == np.int32 and out["ones_like"].shape == XV.shape
    close(out["eye_dot"], XV)
    assert K.cast_to_floatx([1, 2]).dtype == np.float32
    close(K.eval(K.variable(XV) * 2), 2 * XV)
    close(K.get_value(K.variable(XV) + 1), XV + 1)
    assert ((x > 0) * 2.0).dtype == "float32" and ((x > 0) * K.cast(x, "float64")).dtype == "float64"


def test_random_binomial_and_truncated_normal(backend):
    out = run(backend, [], {
        "binomial": K.random_binomial((4000,), p=0.3, seed=3),
        "truncated": K.truncated_normal((4000,), mean=1.0, stddev=2.0, seed=4, dtype="float64"),
    }, [], "random_variants")
    b, t = out["binomial"], out["truncated"]
    assert b.dtype == np.float32 and set(np.unique(b)) <= {0.0, 1.0} and abs(b.mean() - 0.3) < 0.03
    assert t.dtype == np.float64 and t.min() >= -3.0 and t.max() <= 5.0
    # A normal truncated at two standard deviations has mean 1 and std 0.8796 * 2.
    assert abs(t.mean() - 1.0) < 0.08 and abs(t.std() - 0.8796 * 2) < 0.08
    assert (np.abs(t - 1.0) > 1.9).any()


# ----------------------------------------------------------------------------- neural-network functions

def _np_softmax(z, axis=-1):
    e = np.exp(z - z.max(axis, keepdims=True))
    return e / e.sum(axis, keepdims=True)


def test_crossentropies_as_keras_computes_them(backend):
    z = K.placeholder((None, 4), name="z")
    t = K.placeholder((None, 4), name="t")
    s = K.placeholder((None,), dtype="int32", name="s")
    s2 = K.placeholder((None, 2), dtype="int32", name="s2")
    z3 = K.reshape(z, (-1, 2, 2))
    tv = np.eye(4, dtype=np.float32)[[2, 0, 3]]
    sv = np.array([2, 0, 3], dtype=np.int32)
    probs = K.softmax(z)
    out = run(backend, [z, t, s, s2], {
        "cce": K.categorical_crossentropy(t, probs), "cce_logits": K.categorical_crossentropy(t, z, True),
        "cce_unnormalised": K.categorical_crossentropy(t, probs * 3.0),
        "cce_axis": K.categorical_crossentropy(K.reshape(t, (-1, 2, 2)), K.softmax(z3, 1), axis=1),
        "scce": K.sparse_categorical_crossentropy(s, probs), "scce_logits": K.sparse_categorical_crossentropy(
            K.expand_dims(s), z, from_logits=True),
        "scce_axis": K.sparse_categorical_crossentropy(s2, z3, True, axis=1),
        "bce": K.binary_crossentropy(t, K.sigmoid(z)), "bce_logits": K.binary_crossentropy(t, z, from_logits=True),
    }, [XV, tv, sv, np.stack([sv % 2, 1 - sv % 2], 1)], "crossentropy")
    eps = 1e-7
    p = _np_softmax(XV.astype(np.float64))
    close(out["cce"], -(tv * np.log(np.clip(p, eps, 1 - eps))).sum(-1), rtol=1e-5)
    close(out["cce_logits"], -(tv * np.log(p)).sum(-1), rtol=1e-5)
    close(out["cce_unnormalised"], out["cce"], rtol=1e-5)
    t3, p3 = tv.reshape(3, 2, 2), _np_softmax(XV.reshape(3, 2, 2).astype(np.float64), 1)
    close(out["cce_axis"], -(t3 * np.log(np.clip(p3, eps, 1 - eps))).sum(1), rtol=1e-5)
    close(out["scce"], -np.log(np.clip(p, eps, 1 - eps))[np.arange(3), sv], rtol=1e-5)
    close(out["scce_logits"], -np.log(p)[np.arange(3), sv], rtol=1e-5)
    labels = np.stack([sv % 2, 1 - sv % 2], 1)                         # (3, 2) labels along axis 1
    logp = np.log(p3.transpose(0, 2, 1))                                # (3, 2, classes)
    close(out["scce_axis"], -np.take_along_axis(logp, labels[..., None], -1)[..., 0], rtol=1e-5)
    q = np.clip(1 / (1 + np.exp(-XV.astype(np.float64))), eps, 1 - eps)
    close(out["bce"], -(tv * np.log(q) + (1 - tv) * np.log(1 - q)), rtol=1e-4, atol=1e-5)
    close(out["bce_logits"], np.maximum(XV, 0) - XV * tv + np.log1p(np.exp(-np.abs(XV))), rtol=1e-5)
    assert out["scce"].shape == (3,) and out["bce"].shape == (3, 4)
    with pytest.raises(ValueError, match="channels axis"):
        K.categorical_crossentropy(t, z, axis=3)


def test_normalize_batch_in_training_in_top_k_and_local_convolutions(backend):
    x4 = K.placeholder((None, 3, 2, 2), name="x4")
    x2 = K.placeholder((None, 4), name="x2")
    labels = K.placeholder((None,), dtype="int64", name="labels")
    rng = np.random.RandomState(0)
    x4v = rng.standard_normal((3, 3, 2, 2)).astype(np.float32)
    gamma, beta = np.array([1.5, 0.5], np.float32), np.array([0.1, -0.2], np.float32)
    normed, mean, var = K.normalize_batch_in_training(x4, K.constant(gamma), K.constant(beta), [0, 1, 2])
    normed_cf, mean_cf, var_cf = K.normalize_batch_in_training(x4, K.constant([1.0, 2.0, 3.0]), None, [0, 2, 3])
    normed2, mean2, var2 = K.normalize_batch_in_training(x2, None, K.constant(np.ones(4, np.float32)), [0])
    k1 = rng.standard_normal((2, 2 * 2, 5)).astype(np.float32)             # 2 steps, kernel 2, 2 channels
    k2 = rng.standard_normal((2 * 1, 2 * 2 * 2, 3)).astype(np.float32)     # 2x1 outputs, kernel 2x2
    seq = K.reshape(x4, (-1, 3, 4))[:, :, :2]
    out = run(backend, [x4, x2, labels], {
        "normed": normed, "mean": mean, "var": var, "normed_cf": normed_cf, "mean_cf": mean_cf, "var_cf": var_cf,
        "normed2": normed2, "var2": var2, "top1": K.in_top_k(x2, labels, 1), "top2": K.in_top_k(x2, labels, 2),
        "local1": K.local_conv1d(seq, K.constant(k1), (2,), (1,)),
        "local2": K.local_conv2d(x4, K.constant(k2), (2, 2), (1, 1), (2, 1)),
        "local2_cf": K.local_conv2d(K.permute_dimensions(x4, (0, 3, 1, 2)), K.constant(k2), (2, 2), (1, 1), (2, 1),
                                    data_format="channels_first"),
    }, [x4v, XV, np.array([3, 0, 2])], "normalize_topk_local")
    m, v = x4v.mean((0, 1, 2)), x4v.var((0, 1, 2))
    close(out["normed"], (x4v - m) / np.sqrt(v + 1e-3) * gamma + beta, rtol=1e-5, atol=1e-5)
    close(out["mean"], m, atol=1e-6)
    close(out["var"], v * 18 / 17, rtol=1e-5)                   # the fused batch norm's unbiased variance
    m, v = x4v.mean((0, 2, 3)), x4v.var((0, 2, 3))
    close(out["normed_cf"], (x4v - m[:, None, None]) / np.sqrt(v[:, None, None] + 1e-3) *
          np.array([1.0, 2.0, 3.0])[:, None, None], rtol=1e-5, atol=1e-5)
    close(out["mean_cf"], m, atol=1e-6), close(out["var_cf"], v * 12 / 11, rtol=1e-5)
    close(out["normed2"], (XV - XV.mean(0)) / np.sqrt(XV.var(0) + 1e-3) + 1, rtol=1e-5, atol=1e-5)
    close(out["var2"], XV.var(0), rtol=1e-5)
    np.testing.assert_array_equal(out["top1"], [True, False, False])
    np.testing.assert_array_equal(out["top2"], [True, False, True])
    seqv = x4v.reshape(3, 3, 4)[:, :, :2]
    expected = np.stack([seqv[:, t:t + 2].reshape(3, -1) @ k1[t] for t in range(2)], 1)
    close(out["local1"], expected, rtol=1e-5, atol=1e-5)
    expected = np.stack([x4v[:, r:r + 2, 0:2].reshape(3, -1) @ k2[r] for r in range(2)], 1)[:, :, None]
    close(out["local2"], expected, rtol=1e-5, atol=1e-5)
    xcf = x4v.transpose(0, 3, 1, 2)
    expected = np.stack([xcf[:, :, r:r + 2, 0:2].reshape(3, -1) @ k2[r] for r in range(2)], -1)[..., None]
    close(out["local2_cf"], expected, rtol=1e-5, atol=1e-5)


# ----------------------------------------------------------------------------- the rest of the namespace

KERAS_224_BACKEND = """
abs all any arange argmax argmin backend batch_dot batch_flatten batch_get_value batch_normalization
batch_set_value bias_add binary_crossentropy cast cast_to_floatx categorical_crossentropy clear_session clip
concatenate constant conv1d conv2d conv2d_transpose conv3d conv3d_transpose cos count_params ctc_batch_cost
ctc_decode ctc_label_dense_to_sparse cumprod cumsum depthwise_conv2d dot dropout dtype elu epsilon equal eval
exp expand_dims eye flatten floatx foldl foldr function gather get_session get_uid get_value
get_variable_shape gradients greater greater_equal hard_sigmoid identity image_data_format image_dim_ordering
in_test_phase in_top_k in_train_phase int_shape is_keras_tensor is_placeholder is_sparse is_tensor l2_normalize
learning_phase less less_equal local_conv1d local_conv2d log logsumexp manual_variable_initialization map_fn
max maximum mean min minimum moving_average_update name_scope ndim normalize_batch_in_training not_equal
one_hot ones ones_like permute_dimensions placeholder pool2d pool3d pow print_tensor prod random_binomial
random_normal random_normal_variable random_uniform random_uniform_variable relu repeat repeat_elements
reset_uids reshape resize_images resize_volumes reverse rnn round separable_conv1d separable_conv2d
set_epsilon set_floatx set_image_data_format set_image_dim_ordering set_learning_phase set_session set_value
shape sigmoid sign sin slice softmax softplus softsign sparse_categorical_crossentropy spatial_2d_padding
spatial_3d_padding sqrt square squeeze stack std stop_gradient sum switch tanh temporal_padding tile to_dense
transpose truncated_normal update update_add update_sub var variable zeros zeros_like
""".split()


def test_every_function_of_the_keras_2_backend_page_is_there():
    missing = [name for name in KERAS_224_BACKEND if not callable(getattr(K, name, None))]
    assert not missing


def test_functions_without_meaning_here_say_why():
    for fn, reason in ((K.get_session, "session"), (lambda: K.set_session(None), "session"),
                       (lambda: K.ctc_batch_cost(None, None, None, None), "temporal classification"),
                       (lambda: K.ctc_decode(None, None), "temporal classification"),
                       (lambda: K.ctc_label_dense_to_sparse(None, None), "temporal classification")):
        with pytest.raises(NotImplementedError, match=reason):
            fn()


def test_small_namespace_functions():
    x = K.placeholder((None, 4), name="x")
    assert K.backend() == "symkeras" and K.is_sparse(x) is False and K.to_dense(x) is x
    assert K.is_placeholder(x) and not K.is_placeholder(x * 2) and K.is_tensor(x)
    assert K.is_keras_tensor(x) is False
    with pytest.raises(ValueError, match="symbolic tensor"):
        K.is_keras_tensor(np.ones(2))
    K.reset_uids()
    assert [K.get_uid("a"), K.get_uid("a"), K.get_uid("b")] == [1, 2, 1]
    assert K.get_variable_shape(K.variable(np.ones((2, 3)))) == (2, 3)
    assert K.count_params(K.variable(np.ones((2, 3)))) == 6 and K.count_params(K.constant(np.ones((4, 5)))) == 20
    with pytest.raises(ValueError, match="not fully known"):
        K.count_params(x)
    nonneg = K.variable(np.ones(2), constraint=lambda w: K.maximum(w, 0.0))
    assert callable(nonneg.op.storage.constraint)
    with pytest.raises(TypeError, match="`constraint`"):
        K.variable(np.ones(2), constraint="non_neg_please")
    assert K.image_dim_ordering() == "tf"
    K.set_image_dim_ordering("th")
    try:
        assert K.image_data_format() == "channels_first"
    finally:
        K.set_image_data_format("channels_last")
    with pytest.raises(ValueError, match="dim_ordering"):
        K.set_image_dim_ordering("xy")
    old = K.epsilon()
    K.set_epsilon(1e-5)
    try:
        assert K.epsilon() == 1e-5
    finally:
        K.set_epsilon(old)
    assert K.floatx() == "float32"
    assert K.stop_gradient([x, x])[1].op == K.stop_gradient(x).op


def test_comparisons_in_a_custom_metric_and_loss_of_a_model(backend):
    from symkeras import layers, models

    def above_half_accuracy(y_true, y_pred):
        return K.mean(K.equal(y_true, K.cast(y_pred > 0.5, K.floatx())), axis=-1)

    def hinge_where_wrong(y_true, y_pred):
        wrong = K.not_equal(y_true, K.cast(y_pred >= 0.5, K.floatx()))
        return K.mean(K.switch(wrong, K.abs(y_pred - y_true), K.zeros_like(y_pred)), axis=-1)

    inp = layers.Input((4,))
    model = models.Model(inp, layers.Dense(2, activation="sigmoid", kernel_initializer="ones")(inp))
    model.compile("sgd", hinge_where_wrong, metrics=[above_half_accuracy], backend=backend)
    y = np.array([[1, 0], [0, 1], [1, 1]], dtype=np.float32)
    loss, accuracy = model.evaluate(XV, y, verbose=0)
    p = 1 / (1 + np.exp(-XV.sum(1, keepdims=True) * np.ones((1, 2))))
    close(accuracy, np.mean(y == (p > 0.5)), rtol=1e-5)
    close(loss, np.mean(np.where(y != (p >= 0.5), np.abs(p - y), 0.0)), rtol=1e-5)

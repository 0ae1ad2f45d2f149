"""GeneratedFunction: calling conventions, validation of inputs, determinism, caching."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import symkeras.backend as K


def _mlp_step(backend, name="step", seed=0):
    rng = np.random.RandomState(seed)
    x = K.placeholder((None, 3), name="x")
    y = K.placeholder((None, 1), name="y")
    w = K.variable(rng.randn(3, 4), name="w")
    b = K.variable(np.zeros(4), name="b")
    v = K.variable(rng.randn(4, 1), name="v")
    p = K.dot(K.relu(K.dot(x, w) + b), v)
    loss = K.mean(K.square(p - y))
    grads = K.gradients(loss, [w, b, v])
    updates = [K.update_sub(p_, 0.1 * g) for p_, g in zip([w, b, v], grads)]
    f = K.function([x, y], [loss, p], updates=updates, backend=backend, name=name)
    return f, [w, b, v]


def _data(batch, seed=1):
    rng = np.random.RandomState(seed)
    return rng.randn(batch, 3).astype("float32"), rng.randn(batch, 1).astype("float32")


def test_outputs_and_updates_match_numpy(backend):
    f, params = _mlp_step(backend)
    w0, b0, v0 = (K.get_value(p) for p in params)
    x, y = _data(5)
    loss, p = f([x, y])
    h = np.maximum(x @ w0 + b0, 0)
    expected_p = h @ v0
    np.testing.assert_allclose(p, expected_p, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(loss, np.mean((expected_p - y) ** 2), rtol=1e-5)
    d_p = 2 * (expected_p - y) / len(x)
    d_h = (d_p @ v0.T) * (h > 0)
    np.testing.assert_allclose(K.get_value(params[2]), v0 - 0.1 * h.T @ d_p, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(K.get_value(params[0]), w0 - 0.1 * x.T @ d_h, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(K.get_value(params[1]), b0 - 0.1 * d_h.sum(0), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("batch", [1, 7, 128])
def test_one_function_serves_every_batch_size(backend, batch):
    f, _ = _mlp_step(backend)
    x, y = _data(batch)
    loss, p = f([x, y])
    assert p.shape == (batch, 1)
    assert np.isfinite(loss)


def test_scalar_output_is_a_numpy_scalar(backend):
    x = K.placeholder((None, 2), name="x")
    f = K.function([x], [K.sum(x)], backend=backend, name="total")
    (total,) = f([np.ones((3, 2), "float32")])
    assert np.ndim(total) == 0 and total == 6


def test_wrong_number_of_inputs(backend):
    f, _ = _mlp_step(backend)
    x, _ = _data(4)
    with pytest.raises(ValueError, match=r"expected 2 arrays \['x', 'y'\], got 1"):
        f([x])


def test_wrong_feature_size_names_the_input_and_shape(backend):
    f, params = _mlp_step(backend)
    before = [K.get_value(p) for p in params]
    x, y = _data(4)
    with pytest.raises(ValueError, match=r"input 0 \('x'\): expected shape \(None, 3\), got \(4, 5\)"):
        f([np.zeros((4, 5), "float32"), y])
    with pytest.raises(ValueError, match=r"input 1 \('y'\).*2 dimensions.*got shape \(4,\)"):
        f([x, y[:, 0]])
    for b, p in zip(before, params):
        np.testing.assert_array_equal(b, K.get_value(p))


def test_mismatched_batch_sizes(backend):
    f, params = _mlp_step(backend)
    before = [K.get_value(p) for p in params]
    x, y = _data(4)
    with pytest.raises(ValueError, match=r"input 1 \('y'\): batch size 3 differs from 4"):
        f([x, y[:3]])
    for b, p in zip(before, params):
        np.testing.assert_array_equal(b, K.get_value(p))


def test_dtypes(backend):
    f, params = _mlp_step(backend)
    x, y = _data(4)
    before = [K.get_value(p) for p in params]
    with pytest.raises(TypeError, match=r"input 0 \('x'\): expected float32 data of shape \(None, 3\)"):
        f([x.astype("complex64"), y])
    with pytest.raises(TypeError, match=r"input 1 \('y'\)"):
        f([x, np.array([["a"]] * 4)])
    for b, p in zip(before, params):
        np.testing.assert_array_equal(b, K.get_value(p))
    # Same-kind conversions are data, not errors: float64, ints, non-contiguous views.
    loss64, _ = f([x.astype("float64"), y])
    assert np.isfinite(loss64)
    f([np.asfortranarray(np.ones((4, 3))), np.arange(4).reshape(4, 1)])


def test_nan_passes_through_as_data(backend):
    x = K.placeholder((None, 2), name="x")
    f = K.function([x], [x * 2.0], backend=backend, name="double")
    (out,) = f([np.array([[np.nan, 1.0]], "float32")])
    assert np.isnan(out[0, 0]) and out[0, 1] == 2.0


def _step_graph(seed):
    rng = np.random.RandomState(seed)
    x = K.placeholder((None, 3), name="x")
    w = K.variable(rng.randn(3, 4), name="w")
    loss = K.mean(K.square(K.tanh(K.dot(x, w))))
    (g,) = K.gradients(loss, [w])
    return K.function_graph([x], [loss], [(w, w - 0.1 * g)], name="step")


def test_same_graph_gives_byte_identical_source(backend):
    from symkeras.runtime.function import render_source
    # Rendered from scratch each time (no cache), from graphs built independently with
    # different weight values: the text depends on the structure only.
    first, second = render_source(_step_graph(0), backend), render_source(_step_graph(1), backend)
    assert first == second
    assert "step" in first


def test_set_value_is_seen_by_compiled_function(backend):
    x = K.placeholder((None, 2), name="x")
    w = K.variable(np.ones((2, 1)), name="w")
    f = K.function([x], [K.dot(x, w)], backend=backend, name="linear")
    assert f([np.ones((1, 2))])[0][0, 0] == 2
    K.set_value(w, np.full((2, 1), 3.0))
    assert f([np.ones((1, 2))])[0][0, 0] == 6
    w.op.storage.value = np.full((2, 1), 5.0, dtype="float32")     # a new array object
    assert f([np.ones((1, 2))])[0][0, 0] == 10


_CHILD = textwrap.dedent("""
    import numpy as np, symkeras.backend as K
    x = K.placeholder((None, 4), name="x")
    w = K.variable(np.arange(8.0).reshape(4, 2), name="w")
    f = K.function([x], [K.tanh(K.dot(x, w))], backend="c", name="shared_cache_probe")
    from symkeras.codegen.c import build as cbuild
    print(f([np.ones((2, 4))])[0][0, 0], f.compiled)
""")


def test_cache_shared_between_processes(tmp_path):
    pytest.importorskip("symkeras.codegen.c.render")
    from symkeras.codegen.c import build as cbuild
    if not cbuild.compiler_available():
        pytest.skip("no C compiler")
    env = dict(os.environ, SYMKERAS_CACHE_DIR=str(tmp_path / "cache"))
    runs = [subprocess.run([sys.executable, "-c", _CHILD], env=env, capture_output=True, text=True, check=True)
            for _ in range(2)]
    first, second = (r.stdout.split() for r in runs)
    assert first[0] == second[0]
    assert first[1] == "True" and second[1] == "False"


def test_backend_choice_argument_beats_environment(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    x = K.placeholder((None, 2), name="x")
    assert K.function([x], [x * 2.0], name="env_choice").backend == "numpy"
    from symkeras.codegen.c import build as cbuild
    if cbuild.compiler_available():
        assert K.function([x], [x * 2.0], backend="c", name="arg_choice").backend == "c"
    with pytest.raises(ValueError, match="backend"):
        K.function([x], [x * 2.0], backend="fortran")


def test_without_a_compiler_c_falls_back_to_numpy_with_one_warning(monkeypatch):
    import warnings
    from symkeras.runtime import function as function_module
    monkeypatch.setenv("CC", "/nonexistent/cc")
    monkeypatch.setattr(function_module, "_warned_no_compiler", False)
    x = K.placeholder((None, 2), name="x")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        f1 = K.function([x], [x + 1.0], backend="c", name="fallback_1")
        f2 = K.function([x], [x + 2.0], backend="c", name="fallback_2")
    assert f1.backend == f2.backend == "numpy"
    messages = [str(w.message) for w in caught if issubclass(w.category, RuntimeWarning)]
    assert len(messages) == 1 and "no working C compiler" in messages[0]
    np.testing.assert_array_equal(f2([np.ones((1, 2))])[0], [[3.0, 3.0]])


def test_graph_cache_skips_passes_for_a_structurally_equal_graph(monkeypatch):
    from symkeras.runtime import function as function_module
    first = K.function(*_graph_args(0), backend="numpy", name="cached_step")

    def no_passes(*args, **kwargs):
        raise AssertionError("the passes ran: the graph cache missed")

    monkeypatch.setattr(function_module, "optimize", no_passes)
    again = K.function(*_graph_args(1), backend="numpy", name="cached_step")   # other weights, same graph
    assert again.source == first.source
    with pytest.raises(AssertionError, match="graph cache missed"):
        K.function(*_graph_args(0, units=5), backend="numpy", name="cached_step")


def _graph_args(seed, units=4):
    rng = np.random.RandomState(seed)
    x = K.placeholder((None, 3), name="x")
    w = K.variable(rng.randn(3, units), name="w")
    return [x], [K.sum(K.dot(x, w))]


def test_disabling_a_pass_is_not_hidden_by_the_graph_cache(monkeypatch):
    def build():
        x = K.placeholder((None, 3), name="x")
        return K.function([x], [K.tanh(K.exp(x) * 2.0 + 1.0)], backend="numpy", name="pass_switch").source
    fused = build()
    monkeypatch.setenv("SYMKERAS_DISABLE_PASSES", "fuse_elementwise")
    assert build() != fused


def test_a_variable_array_is_replaced_only_by_one_of_the_same_dtype_and_shape():
    w = K.variable(np.ones(3), name="w")
    for bad in (np.ones(3, dtype="float64"), np.ones(4, dtype="float32"), np.ones((3, 2), "float32")[:, 0]):
        with pytest.raises(ValueError, match="variable 'w'"):
            w.op.storage.value = bad
    np.testing.assert_array_equal(K.get_value(w), np.ones(3))


@pytest.mark.parametrize("bad", [[[10, 1]], [[-1, 1]], [[0.5, 1.0]]])
def test_gather_indices_out_of_range_never_reach_generated_code(backend, bad):
    table = K.variable(np.arange(20.0).reshape(10, 2), name="table")
    ids = K.placeholder((None, 2), name="ids")                 # float ids, cast as an Embedding would
    f = K.function([ids], [K.gather(table, K.cast(ids, "int64"))], backend=backend, name="lookup")
    np.testing.assert_array_equal(f([np.array([[9, 0]])])[0], [[[18, 19], [0, 1]]])
    with pytest.raises(ValueError, match=r"input 0 \('ids'\): indices must be integers in \[0, 10\)"):
        f([np.array(bad)])

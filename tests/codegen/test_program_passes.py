"""The program pipeline: each optional pass can be switched off and the numbers stay the same on
both backends; required passes refuse to be; SYMKERAS_DEBUG=2 prints the pipeline."""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras.codegen import program_passes, schedule
from symkeras.ir.passes import is_required, optimize
from symkeras.runtime.function import GeneratedFunction, render_source

PASSES = [p for _, passes in program_passes.PIPELINE for p in passes]
OPTIONAL = [p.__name__ for p in PASSES if not is_required(p)]
REQUIRED = [p.__name__ for p in PASSES if is_required(p)]


def _adam_step():
    """One Adam step of a linear model: in-place updates, a scalar step size, mergeable loops,
    a bias read with broadcasting, and a swap of two variables; beside it, two convolutions of the
    input seen as a sequence (window gathers read only by their product), one narrow (then a bias,
    relu and max pooling, differentiated), one wide."""
    rng = np.random.RandomState(0)
    x = K.placeholder((None, 5), name="x")
    y = K.placeholder((None, 2), name="y")
    w = K.variable(rng.randn(5, 2) * 0.3, name="w")
    b = K.variable(rng.randn(2) * 0.1, name="b")
    t = K.variable(0.0, name="t")
    p, q = K.variable(np.array([1.0, 2.0]), name="p"), K.variable(np.array([3.0, 4.0]), name="q")
    prediction = K.dot(x, w) + b
    loss = K.mean(K.square(prediction - y))
    t_new = t + 1.0
    step = 0.01 * K.sqrt(1.0 - K.exp(t_new * np.log(0.999))) / (1.0 - K.exp(t_new * np.log(0.9)))
    updates = [(t, t_new), (p, q), (q, p)]
    for param, grad in zip((w, b), K.gradients(loss, [w, b])):
        m = K.variable(np.zeros(param.shape), name=param.name + "_m")
        v = K.variable(np.zeros(param.shape), name=param.name + "_v")
        m_new = 0.9 * m + 0.1 * grad
        v_new = 0.999 * v + 0.001 * K.square(grad)
        updates += [(m, m_new), (v, v_new), (param, param - step * m_new / (K.sqrt(v_new) + 1e-7))]
    sequence = K.conv1d(K.reshape(x, (-1, 5, 1)), K.variable(rng.randn(3, 1, 2), name="conv"), padding="same")
    sequence = K.relu(K.bias_add(sequence, K.variable(rng.randn(2), name="conv_bias")))
    # Windows of 3 x 12 channels: too wide to be computed directly, so they go through a matrix product.
    wide = K.conv1d(K.repeat_elements(K.reshape(x, (-1, 5, 1)), 12, 2), K.variable(rng.randn(3, 12, 2), name="wide"))
    # Max pooling of the narrow one, and its gradient.
    pooled = K.pool2d(K.reshape(sequence, (-1, 5, 1, 2)), (5, 1), strides=(5, 1))
    pool_grad = K.gradients(K.sum(K.square(pooled)), [x])[0]
    return K.function_graph([x, y], [loss, prediction, sequence, wide, pool_grad], updates, name="adam_step")


def _run(graph, backend, steps=2):
    fn = GeneratedFunction(graph, backend=backend)
    start = [s.value.copy() for s in fn.storages]
    rng = np.random.RandomState(1)
    outputs = [fn([rng.randn(4, 5), rng.randn(4, 2)]) for _ in range(steps)]
    state = [s.value.copy() for s in fn.storages]
    for s, v in zip(fn.storages, start):
        s.value[...] = v
    return outputs, state


def _assert_same(a, b, rtol):
    for x, y in zip(a[0], b[0]):
        for u, v in zip(x, y):
            np.testing.assert_allclose(u, v, rtol=rtol, atol=rtol)
    for u, v in zip(a[1], b[1]):
        np.testing.assert_allclose(u, v, rtol=rtol, atol=rtol)


@pytest.mark.parametrize("name", OPTIONAL)
def test_each_optional_pass_switched_off_keeps_the_results(name, backend, monkeypatch):
    graph = _adam_step()
    expected = _run(graph, "numpy")
    default_source = render_source(graph, backend)
    monkeypatch.setenv("SYMKERAS_DISABLE_PASSES", name)
    assert render_source(graph, backend) != default_source      # the pass does something here
    _assert_same(_run(graph, backend), expected, rtol=1e-5)


def test_optional_passes_change_the_program_as_documented(monkeypatch):
    graph = optimize(_adam_step())
    full = schedule.lower(graph, "adam_step")
    late = [k for k in full.kernels[3:] if k.kind == "copy" and k.dst.role == "variable"]
    assert [k.dst.name for k in late] == ["q"]        # the swap's second half needs its snapshot of p
    monkeypatch.setenv("SYMKERAS_DISABLE_PASSES", "write_updates_in_place")
    copies = [k for k in schedule.lower(graph, "adam_step").kernels if k.kind == "copy" and k.dst.role == "variable"]
    assert {k.dst.name for k in copies} >= {"w", "b", "w_m", "w_v", "b_m", "b_v", "t", "p", "q"}
    monkeypatch.setenv("SYMKERAS_DISABLE_PASSES", "merge_elementwise_loops")
    assert len(schedule.lower(graph, "adam_step").kernels) > len(full.kernels)


@pytest.mark.parametrize("name", REQUIRED)
def test_a_required_pass_says_it_cannot_be_switched_off(name, monkeypatch):
    graph = _adam_step()
    default_source = render_source(graph, "c")
    monkeypatch.setenv("SYMKERAS_DISABLE_PASSES", name)
    with pytest.warns(UserWarning, match=f"{name} is required"):
        assert render_source(graph, "c") == default_source


def test_an_unknown_pass_name_is_an_error(monkeypatch):
    monkeypatch.setenv("SYMKERAS_DISABLE_PASSES", "cse,write_update_in_place")
    with pytest.raises(ValueError, match="no pass named 'write_update_in_place'.*write_updates_in_place"):
        render_source(_adam_step(), "numpy")


def test_lowering_alone_leaves_updates_as_copies_and_temps_unplaced():
    program = schedule.lower_unoptimized(optimize(_adam_step()), "adam_step")
    assert program.regions == [] and all(t.region is None for t in program.temps)
    assert sum(k.kind == "copy" and k.dst.role == "variable" for k in program.kernels) == 9


def test_debug_level_2_prints_the_program_pipeline(monkeypatch, capsys):
    monkeypatch.setenv("SYMKERAS_DEBUG", "2")
    render_source(_adam_step(), "numpy")
    err = capsys.readouterr().err
    assert "adam_step: program passes\n" + program_passes.describe_pipeline() in err
    for phase, passes in program_passes.PIPELINE:
        for p in passes:
            assert f"adam_step: after {phase}/{p.__name__}: " in err
    assert "memory: plan_workspace (required)" in program_passes.describe_pipeline()


def test_a_convolution_fused_in_chunks_computes_what_gather_then_product_does(backend, monkeypatch):
    rng = np.random.RandomState(2)
    image = K.placeholder((None, 6, 5, 4), name="image")        # 3x3 windows of 4 channels: not narrow
    kernel = K.variable(rng.randn(3, 3, 4, 4), name="kernel")
    out = K.conv2d(image, kernel, strides=(2, 1), padding="same")
    per_sample = 3 * 5 * 36 * 4                      # output positions x window values x float32
    monkeypatch.setattr(program_passes, "WINDOW_CHUNK_BYTES", 2 * per_sample)     # 2 samples a chunk
    fused = GeneratedFunction(K.function_graph([image], [out], name="conv_chunks"), backend=backend)
    assert "window_gemm" in fused.source
    assert ("2 samples at a time" if backend == "c" else "range(0, batch, 2)") in fused.source
    monkeypatch.setenv("SYMKERAS_DISABLE_PASSES", "fuse_window_gemm")
    plain = GeneratedFunction(K.function_graph([image], [out], name="conv_whole"), backend=backend)
    assert "window_gemm" not in plain.source
    values = rng.randn(5, 6, 5, 4).astype("float32")            # two full chunks and one of one sample
    np.testing.assert_allclose(fused([values])[0], plain([values])[0], rtol=1e-5, atol=1e-6)

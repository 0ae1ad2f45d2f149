"""The C backend computes what the NumPy backend computes: same outputs, same variable
updates, at batch sizes 1, 7 and 128, for graphs that exercise every kernel kind."""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras.runtime.function import GeneratedFunction
from symkeras.ir import build as B
from symkeras.ir import ops as O

pytest.importorskip("symkeras.codegen.c.render")


def _c_available():
    from symkeras.codegen.c import build as cbuild
    return cbuild.compiler_available()


pytestmark = pytest.mark.skipif(not _c_available(), reason="no C compiler")


def _mlp_adam():
    rng = np.random.RandomState(0)
    x = K.placeholder((None, 6), name="x")
    y = K.placeholder((None, 3), name="y")
    w1 = K.variable(rng.randn(6, 8) * 0.3, name="w1")
    b1 = K.variable(rng.randn(8) * 0.1, name="b1")
    w2 = K.variable(rng.randn(8, 3) * 0.3, name="w2")
    h = K.dropout(K.relu(K.dot(x, w1) + b1), 0.25, seed=3)
    logits = K.dot(h, w2)
    loss = -K.mean(K.sum(y * K.log_softmax(logits), axis=-1))
    params = [w1, b1, w2]
    grads = K.gradients(loss, params)
    updates = []
    t = K.variable(0.0, name="t")
    updates.append((t, t + 1.0))
    for p, g in zip(params, grads):
        m = K.variable(np.zeros(p.shape), name=p.name + "_m")
        v = K.variable(np.zeros(p.shape), name=p.name + "_v")
        m_new = 0.9 * m + 0.1 * g
        v_new = 0.999 * v + 0.001 * K.square(g)
        updates += [(m, m_new), (v, v_new), (p, p - 0.01 * m_new / (K.sqrt(v_new) + 1e-7))]
    inputs = [x, y]
    outputs = [loss, K.softmax(logits), K.argmax(logits, axis=-1)]

    def feed(batch, rng):
        return [rng.randn(batch, 6), np.eye(3)[rng.randint(0, 3, batch)]]
    return inputs, outputs, updates, feed


def _shape_ops():
    x = K.placeholder((None, 4, 5), name="x")
    table = K.variable(np.arange(30.0).reshape(10, 3), name="table")
    ids = K.placeholder((None, 2), dtype="int64", name="ids")
    a = K.permute_dimensions(x, (0, 2, 1))
    b = K.concatenate([K.reshape(a, (-1, 20)), K.batch_flatten(x)], axis=-1)
    c = B.full_slice(x, 2, 4, 0, -2)
    d = K.gather(table, ids)
    e = K.max(x, axis=1) - K.min(x, axis=(1, 2), keepdims=True)[:, :, 0]
    f = K.logsumexp(x, axis=-1)
    g = K.one_hot(ids, 10)
    outputs = [b, c, d, e, f, g, K.var(x, axis=0), K.sum(x, axis=(0, 2)), K.argmin(x, axis=1)]

    def feed(batch, rng):
        return [rng.randn(batch, 4, 5), rng.randint(0, 10, (batch, 2))]
    return [x, ids], outputs, [], feed


def _elementwise_zoo():
    x = K.placeholder((None, 7), name="x")
    s = K.placeholder((), name="s")
    outs = [K.sigmoid(x * 40.0), K.softplus(x * 40.0), K.elu(x), K.hard_sigmoid(x), K.softsign(x),
            K.clip(x, -0.5, 0.7), K.relu(x, alpha=0.1, max_value=1.2), K.abs(x) + K.sign(x),
            K.pow(K.abs(x) + 1.0, 2.5), K.switch(K.greater(x, s), K.exp(x), K.tanh(x)),
            K.maximum(x, s) * K.minimum(x, 0.3), K.log(K.abs(x) + 1e-3) / (1.0 + x * x)]

    def feed(batch, rng):
        return [rng.randn(batch, 7), np.float64(rng.randn())]
    return [x, s], outs, [], feed


CASES = {"mlp_adam_dropout": _mlp_adam, "shape_ops": _shape_ops, "elementwise": _elementwise_zoo}


@pytest.mark.parametrize("floatx", ["float32", "float64"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_c_matches_numpy(case, floatx):
    previous = K.floatx()
    K.set_floatx(floatx)
    try:
        inputs, outputs, updates, feed = CASES[case]()
    finally:
        K.set_floatx(previous)
    graph = K.function_graph(inputs, outputs, updates, name=f"parity_{case}")
    fns = {b: GeneratedFunction(graph, backend=b) for b in ("numpy", "c")}
    storages = fns["c"].storages
    start = [s.value.copy() for s in storages]
    rtol = 1e-5 if floatx == "float32" else 1e-12
    for batch in (1, 7, 128):
        data = feed(batch, np.random.RandomState(batch))
        results = {}
        for backend, fn in fns.items():
            for s, v in zip(storages, start):
                s.value[...] = v
            outs = fn(data)
            results[backend] = (outs, [s.value.copy() for s in storages])
        (out_np, vars_np), (out_c, vars_c) = results["numpy"], results["c"]
        for i, (a, b) in enumerate(zip(out_np, out_c)):
            assert np.asarray(a).dtype == np.asarray(b).dtype
            np.testing.assert_allclose(b, a, rtol=rtol, atol=rtol, err_msg=f"output {i}, batch {batch}")
        for s, a, b in zip(storages, vars_np, vars_c):
            np.testing.assert_allclose(b, a, rtol=rtol, atol=rtol, err_msg=f"variable {s.name}, batch {batch}")
        start = vars_c      # the next batch continues from the updated state


def test_float32_kernels_use_no_double_math():
    inputs, outputs, updates, _ = _elementwise_zoo()
    source = GeneratedFunction(K.function_graph(inputs, outputs, updates, name="discipline"), backend="c").source
    import re
    code = re.sub(r"/\*.*?\*/", "", source, flags=re.S)        # comments may say what they like
    body = code[code.index("int discipline("):]
    assert "double" not in body
    for fn in ("exp", "log", "sqrt", "pow", "tanh", "fabs", "log1p", "expm1"):
        assert f" {fn}(" not in body and f"({fn}(" not in body and f"-{fn}(" not in body, fn
    literals = re.findall(r"(?<![\w.])(\d+\.\d*(?:[eE][-+]?\d+)?|\d+[eE][-+]?\d+)(?![\w.])", body)
    assert not literals, f"unsuffixed floating literals in a float32 kernel: {literals[:5]}"

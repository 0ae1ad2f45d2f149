"""Graph passes and lowering: each rewrite does its job and keeps the values."""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras.codegen.schedule import lower
from symkeras.ir import FunctionGraph
from symkeras.ir import ops as O
from symkeras.ir.passes import PIPELINE, optimize
from symkeras.ir.passes.cse import cse
from symkeras.ir.passes.fold import inline_constants, remove_stop_gradient
from symkeras.ir.passes.fuse import fuse_elementwise
from symkeras.ir.passes.gemm import fold_transposes
from symkeras.ir.scan import scan


def _count(graph, op_type):
    return sum(isinstance(n.op, op_type) for n in graph.nodes())


def test_cse_merges_structurally_equal_nodes():
    x = K.placeholder((None, 3), name="x")
    a, b = K.exp(x) * 2.0, K.exp(x) * 2.0
    graph = cse(FunctionGraph([x], [a + b]))
    assert _count(graph, O.Elemwise) == 3        # exp, *2, + (two copies became one)


def test_inline_constants_turns_scalars_into_literals():
    x = K.placeholder((None, 3), name="x")
    graph = inline_constants(FunctionGraph([x], [x * 2.0 + 1.0]))
    assert _count(graph, O.Constant) == 0
    exprs = [n.op.expr for n in graph.nodes() if isinstance(n.op, O.Elemwise)]
    assert all(len(e.free_symbols) == 1 for e in exprs)


def test_fusion_makes_one_elementwise_kernel_of_a_chain():
    x = K.placeholder((None, 3), name="x")
    y = K.tanh(K.exp(x) * 2.0 + 1.0)
    graph = fuse_elementwise(inline_constants(FunctionGraph([x], [y])))
    assert _count(graph, O.Elemwise) == 1


def test_fusion_keeps_a_value_that_has_two_readers():
    x = K.placeholder((None, 3), name="x")
    e = K.exp(x)
    graph = fuse_elementwise(FunctionGraph([x], [K.sum(e), e * 3.0]))
    assert _count(graph, O.Elemwise) == 2


def test_transposes_become_gemm_flags():
    a = K.placeholder((None, 3), name="a")
    w = K.variable(np.ones((4, 3)), name="w")
    graph = fold_transposes(FunctionGraph([a], [K.dot(a, K.transpose(w))]))
    (mm,) = [n for n in graph.nodes() if isinstance(n.op, O.MatMul)]
    assert mm.op.transpose_b and _count(graph, O.Transpose) == 0


def test_stop_gradient_disappears_after_differentiation():
    x = K.placeholder((None, 3), name="x")
    graph = remove_stop_gradient(FunctionGraph([x], [K.stop_gradient(x) * 2.0]))
    assert _count(graph, O.StopGradient) == 0


def test_pipeline_can_switch_passes_off(monkeypatch):
    x = K.placeholder((None, 3), name="x")
    y = K.tanh(K.exp(x) * 2.0)
    monkeypatch.setenv("SYMKERAS_DISABLE_PASSES", "fuse_elementwise")
    assert _count(optimize(FunctionGraph([x], [y])), O.Elemwise) == 3
    monkeypatch.delenv("SYMKERAS_DISABLE_PASSES")
    assert _count(optimize(FunctionGraph([x], [y])), O.Elemwise) == 1
    assert [name for name, _ in PIPELINE] == ["lower", "simplify", "gemm", "fuse"]


def _sgd_graph():
    x = K.placeholder((None, 4), name="x")
    w = K.variable(np.ones((4, 2)), name="w")
    b = K.variable(np.zeros(2), name="b")
    loss = K.mean(K.square(K.dot(x, w) + b))
    gw, gb = K.gradients(loss, [w, b])
    graph = FunctionGraph.from_pairs([x], [loss], [(w, w - 0.1 * gw), (b, b - 0.1 * gb)])
    return optimize(graph), w, b


def test_updates_are_written_in_place_into_the_variables():
    graph, w, b = _sgd_graph()
    program = lower(graph, "step")
    writes = {buf.name for k in program.kernels for buf in k.writes}
    assert {"w", "b"} <= writes
    assert not any(k.kind == "copy" for k in program.kernels)


def test_adam_style_updates_merge_into_one_loop():
    x = K.placeholder((None, 4), name="x")
    w = K.variable(np.ones((4, 2)), name="w")
    m = K.variable(np.zeros((4, 2)), name="m")
    v = K.variable(np.zeros((4, 2)), name="v")
    (g,) = K.gradients(K.sum(K.dot(x, w)), [w])
    m_new = 0.9 * m + 0.1 * g
    v_new = 0.999 * v + 0.001 * K.square(g)
    w_new = w - 0.01 * m_new / (K.sqrt(v_new) + 1e-7)
    graph = optimize(FunctionGraph.from_pairs([x], [], [(m, m_new), (v, v_new), (w, w_new)]))
    program = lower(graph, "adam")
    loops = [k for k in program.kernels if {b.name for b in k.writes} & {"m", "v", "w"}]
    assert len(loops) == 1 and {b.name for b in loops[0].outputs} == {"m", "v", "w"}


def test_workspace_reuses_dead_temporaries():
    x = K.placeholder((None, 8), name="x")
    h = x
    for i in range(6):
        h = K.dot(K.exp(h), K.variable(np.eye(8), name=f"w{i}"))
    program = lower(optimize(FunctionGraph([x], [h])), "chain")
    assert len(program.temps) >= 10
    assert len(program.regions) <= 3


def test_swap_updates_read_old_values(backend):
    a = K.variable(np.array([1.0]), name="a")
    b = K.variable(np.array([2.0]), name="b")
    x = K.placeholder((None, 1), name="x")
    f = K.function([x], [K.sum(x)], updates=[(a, b), (b, a)], backend=backend, name="swap")
    f([np.ones((1, 1))])
    assert K.get_value(a)[0] == 2.0 and K.get_value(b)[0] == 1.0


def test_update_that_reads_a_variable_written_in_place_elsewhere(backend):
    """w is updated from g(w); u reads the *old* w afterwards: no in-place write may clobber it."""
    w = K.variable(np.array([1.0, 2.0]), name="w")
    u = K.variable(np.array([0.0, 0.0]), name="u")
    x = K.placeholder((None, 2), name="x")
    f = K.function([x], [K.sum(x)], updates=[(w, w * 3.0), (u, u + w)], backend=backend, name="order")
    f([np.ones((1, 2))])
    np.testing.assert_array_equal(K.get_value(w), [3.0, 6.0])
    np.testing.assert_array_equal(K.get_value(u), [1.0, 2.0])


def test_an_update_reads_the_old_value_of_a_variable_updated_in_place(backend):
    w = K.variable(np.array([1.0]), name="w")
    v = K.variable(np.array([0.0]), name="v")
    x = K.placeholder((None, 1), name="x")
    f = K.function([x], [K.sum(x)], updates=[(w, w * 2.0 + K.sum(x, axis=0)), (v, w)], backend=backend,
                   name="old_value")
    f([np.zeros((1, 1))])
    assert K.get_value(w)[0] == 2.0 and K.get_value(v)[0] == 1.0


def test_one_value_assigned_to_two_variables(backend):
    a = K.variable(np.zeros(3), name="a")
    b = K.variable(np.zeros(3), name="b")
    x = K.placeholder((None, 3), name="x")
    t = K.sum(x, axis=0) * 2.0
    f = K.function([x], [K.sum(x)], updates=[(a, t), (b, t)], backend=backend, name="shared_value")
    f([np.ones((2, 3))])
    np.testing.assert_array_equal(K.get_value(a), [4.0, 4.0, 4.0])
    np.testing.assert_array_equal(K.get_value(b), [4.0, 4.0, 4.0])


def test_update_add_and_update_sub(backend):
    a = K.variable(np.array([1.0, 2.0]), name="a")
    b = K.variable(np.array([5.0, 5.0]), name="b")
    x = K.placeholder((None, 2), name="x")
    f = K.function([x], [K.sum(x)], updates=[K.update_add(a, K.sum(x, axis=0)), K.update_sub(b, 1.5)],
                   backend=backend, name="add_sub")
    f([np.ones((3, 2))])
    np.testing.assert_array_equal(K.get_value(a), [4.0, 5.0])
    np.testing.assert_array_equal(K.get_value(b), [3.5, 3.5])


def test_schedule_refuses_a_loop_that_overwrites_what_it_reads_with_broadcasting():
    from symkeras.codegen.kernels import Buffer, Elementwise, Program
    from symkeras.codegen.program_passes import check_broadcast_reads
    from symkeras.ir.scalar import X
    row = Buffer("row", (4,), "float32", "variable")
    wide = Buffer("wide", (3, 4), "float32", "temp")

    def program(kernel):
        return Program("f", [], [], [row], [], [wide], [kernel])
    ok = Elementwise(scope="", operands=(row,), outputs=(wide,), exprs=(X[0],), shape=(3, 4), dtype="float32")
    check_broadcast_reads(program(ok))
    bad = Elementwise(scope="", operands=(row,), outputs=(row,), exprs=(X[0] * 2,), shape=(3, 4), dtype="float32")
    with pytest.raises(RuntimeError, match="reads with broadcasting"):
        check_broadcast_reads(program(bad))


def _scoped_graph():
    """A graph built inside one layer's scope where every pass has something to rewrite."""
    x = K.placeholder((None, 4), name="x")
    w = K.variable(np.ones((3, 4), dtype="float32"), name="w")
    with K.name_scope("dense_1"):
        h = K.dot(x, K.transpose(w))                               # fold_transposes
        h = K.reshape(h, (-1, 3))                                  # remove_identities
        h = K.stop_gradient(h) * 2.0 + 1.0                         # remove_stop_gradient, inline_constants
        y = K.tanh(h) + K.tanh(h)                                  # cse, fuse_elementwise
        y = K.sum(K.reshape(y, (-1, 3, 1)), axis=-1)               # a reduction over a length-1 axis
        (total,), _ = scan(lambda seq, states: ([states[0] + K.tanh(seq[0])], []),   # prune_scan_outputs
                           [K.reshape(y, (1, -1, 3))], [K.zeros_like(y)])
    return FunctionGraph([x], [total])


@pytest.mark.parametrize("rewrite", [p for _, passes in PIPELINE for p in passes], ids=lambda p: p.__name__)
def test_every_pass_keeps_the_scope_of_the_nodes_it_replaces(rewrite):
    graph = _scoped_graph()
    rewritten = rewrite(graph)
    assert rewritten.nodes() != graph.nodes() or rewrite.__name__ == "cse"
    for n in rewritten.nodes():
        if not isinstance(n.op, (O.Placeholder, O.Variable)):
            assert n.scope == "dense_1", (rewrite.__name__, n)


def test_the_whole_pipeline_keeps_scopes():
    for n in optimize(_scoped_graph()).nodes():
        if not isinstance(n.op, (O.Placeholder, O.Variable)):
            assert n.scope == "dense_1", n


def test_gradient_nodes_take_the_scope_of_the_node_they_differentiate():
    x = K.placeholder((None, 4), name="x")
    w = K.variable(np.ones((4, 2), dtype="float32"), name="w")
    with K.name_scope("dense_1"):
        y = K.tanh(K.dot(x, w))
    with K.name_scope("loss"):
        loss = K.sum(y * y)
    (g,) = K.gradients(loss, [w])
    scopes = {n.scope for n in FunctionGraph([x], [g]).nodes() if not isinstance(n.op, (O.Placeholder, O.Variable))}
    assert scopes <= {"gradients/loss", "gradients/dense_1", "dense_1"}
    assert g.scope == "gradients/dense_1"


def test_cse_scopes_a_shared_node_by_what_its_copies_have_in_common():
    x = K.placeholder((None, 3), name="x")
    copies = []
    for weight in ("dense_1/kernel", "dense_2/kernel"):
        with K.name_scope("Adam"), K.name_scope(weight):
            copies.append(K.exp(x) * 2.0)
    with K.name_scope("loss"):
        total = copies[0] + copies[1]
    graph = cse(FunctionGraph([x], [total]))
    assert {n.scope for n in graph.nodes() if isinstance(n.op, O.Elemwise)} == {"Adam", "loss"}

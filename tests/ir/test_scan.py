"""The loop op: ``Scan`` against explicit time loops in NumPy, its gradient (backpropagation
through time) against finite differences, on both backends, with one compiled function serving
every number of steps."""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras.codegen import schedule
from symkeras.ir import ops as O
from symkeras.ir import passes
from symkeras.ir.graph import FunctionGraph
from symkeras.ir.scan import Scan, scan

F, U = 3, 4


def finite_difference(fn, array, eps=1e-6):
    grad = np.zeros_like(array)
    for i in np.ndindex(array.shape):
        plus, minus = array.copy(), array.copy()
        plus[i] += eps
        minus[i] -= eps
        grad[i] = (fn(plus) - fn(minus)) / (2 * eps)
    return grad


# ----------------------------------------------------------------------------- a gated recurrence

class Recurrence:
    """h_t = g_t * tanh(x_t W + h_{t-1} V + b) + (1 - g_t) * h_{t-1}, with g_t = sigmoid(x_t G + c_{t-1});
    c_t = c_{t-1} + 0.5 * h_t; a masked step keeps both states. Outputs: every h_t and h_t * c_t."""

    def __init__(self, reverse=False, masked=False):
        rs = np.random.RandomState(0)
        self.values = {"W": rs.randn(F, U) * 0.5, "V": rs.randn(U, U) * 0.5, "b": rs.randn(U) * 0.1,
                       "G": rs.randn(F, U) * 0.5}
        self.reverse, self.masked = reverse, masked

    def build(self):
        self.vars = {k: K.variable(v, dtype="float64", name=k) for k, v in self.values.items()}
        W, V, b, G = (self.vars[k] for k in "WVbG")
        self.x = K.placeholder((None, None, F), dtype="float64", name="x")
        self.h0 = K.placeholder((None, U), dtype="float64", name="h0")
        self.c0 = K.placeholder((None, U), dtype="float64", name="c0")
        self.mask = K.greater(self.x[:, :, 0], -0.6)      # shares x's number of steps
        sequences = [K.permute_dimensions(self.x, (1, 0, 2))]
        if self.masked:
            sequences.append(K.expand_dims(K.transpose(self.mask), -1))

        def step(seq, states):
            x_t, (h, c) = seq[0], states
            g = K.sigmoid(K.dot(x_t, G) + c)
            h_new = g * K.tanh(K.dot(x_t, W) + K.dot(h, V) + b) + (1 - g) * h
            c_new = c + 0.5 * h_new
            if self.masked:
                m = seq[1]
                h_new, c_new = K.switch(m, h_new, h), K.switch(m, c_new, c)
            return [h_new, c_new], [h_new, h_new * c_new]

        (self.hT, self.cT), (self.hs, self.hc) = scan(step, sequences, [self.h0, self.c0], reverse=self.reverse)
        return self

    def reference(self, x, h0, c0, W, V, b, G):
        mask = x[:, :, 0] > -0.6
        steps = x.shape[1]
        order = range(steps - 1, -1, -1) if self.reverse else range(steps)
        h, c = h0, c0
        hs, hc = np.zeros((steps,) + h0.shape), np.zeros((steps,) + h0.shape)
        for t in order:
            g = 1 / (1 + np.exp(-(x[:, t] @ G + c)))
            h_new = g * np.tanh(x[:, t] @ W + h @ V + b) + (1 - g) * h
            c_new = c + 0.5 * h_new
            if self.masked:
                m = mask[:, t][:, None]
                h_new, c_new = np.where(m, h_new, h), np.where(m, c_new, c)
            h, c = h_new, c_new
            hs[t], hc[t] = h, h * c
        return h, c, hs, hc

    def loss_reference(self, x, h0, c0, W, V, b, G):
        h, c, hs, hc = self.reference(x, h0, c0, W, V, b, G)
        return np.sum(h * c) + np.sum(np.sin(hs)) + 0.5 * np.sum(hc)


def data(steps, batch=2, seed=1):
    rs = np.random.RandomState(seed)
    return rs.randn(batch, steps, F), rs.randn(batch, U), rs.randn(batch, U)


CASES = {"forward": {}, "reverse": {"reverse": True}, "masked": {"masked": True}}


@pytest.fixture(scope="module", params=sorted(CASES))
def recurrence(request):
    return request.param, Recurrence(**CASES[request.param]).build()


@pytest.fixture(scope="module", params=["numpy", "c"])
def compiled(request, recurrence):
    name, r = recurrence
    loss = K.sum(r.hT * r.cT) + K.sum(K.sin(r.hs)) + 0.5 * K.sum(r.hc)
    wrt = [r.x, r.h0, r.c0] + [r.vars[k] for k in "WVbG"]
    grads = K.gradients(loss, wrt)
    f = K.function([r.x, r.h0, r.c0], [r.hT, r.cT, r.hs, r.hc, loss] + grads,
                   backend=request.param, name=f"scan_{name}")
    return request.param, r, f


@pytest.mark.parametrize("steps", [1, 7, 12])
def test_outputs_match_an_explicit_loop_for_any_number_of_steps(compiled, steps):
    _, r, f = compiled
    x, h0, c0 = data(steps)
    got = f([x, h0, c0])
    want = r.reference(x, h0, c0, *(r.values[k] for k in "WVbG"))
    for g, w in zip(got[:2], want[:2]):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)
    for g, w in zip(got[2:4], want[2:4]):
        np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12)   # stacked time-major
    np.testing.assert_allclose(got[4], r.loss_reference(x, h0, c0, *(r.values[k] for k in "WVbG")),
                               rtol=1e-12)


def test_backpropagation_through_time_matches_finite_differences(compiled):
    _, r, f = compiled
    x, h0, c0 = data(5)
    got = f([x, h0, c0])[5:]
    values = [r.values[k] for k in "WVbG"]
    args = [x, h0, c0] + values
    for i, g in enumerate(got):
        def loss(a, i=i):
            call = list(args)
            call[i] = a
            return r.loss_reference(*call)
        np.testing.assert_allclose(g, finite_difference(loss, args[i]), rtol=1e-6, atol=1e-7,
                                   err_msg=f"gradient {i}")


def test_c_matches_numpy():
    r = Recurrence(masked=True).build()
    loss = K.sum(r.hT) + K.sum(r.hc)
    grads = K.gradients(loss, [r.x] + [r.vars[k] for k in "WVbG"])
    outs = [r.hT, r.cT, r.hs, r.hc] + grads
    x, h0, c0 = data(6)
    results = [K.function([r.x, r.h0, r.c0], outs, backend=b, name="scan_parity")([x, h0, c0])
               for b in ("numpy", "c")]
    for a, b in zip(*results):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-13)


# ----------------------------------------------------------------------------- structure

def _scan_kernels(graph):
    program = schedule.lower(passes.optimize(graph), graph.name)
    return [k for k in program.kernels if k.kind == "scan"]


def test_a_function_without_the_gradient_keeps_no_residuals():
    r = Recurrence().build()
    graph = FunctionGraph([r.x, r.h0, r.c0], [r.hs])
    (loop,) = _scan_kernels(graph)
    assert len(loop.stacked) == 1          # h_t only: the values kept for the gradient are gone
    assert not loop.body.outputs[2:] or len(loop.body.outputs) == 3


def test_the_input_projection_is_one_product_before_the_loop():
    r = Recurrence().build()
    (node,) = [n for n in FunctionGraph([r.x, r.h0, r.c0], [r.hs]).nodes() if isinstance(n.op, Scan)]
    body_products = [n for n in node.op.body.nodes() if isinstance(n.op, O.MatMul)]
    assert len(body_products) == 1                       # only h @ V is left in the step
    assert body_products[0].inputs[0].name == "state0"
    hoisted = [x for x in node.inputs if isinstance(x.op, O.MatMul)]
    assert len(hoisted) == 2 and all(x.shape[1:] == (x.shape[1], U) for x in hoisted)


def test_weight_gradients_are_products_over_all_steps():
    """dV = sum_t h_{t-1}^T dz_t is one matrix product after the backward loop, not one per step."""
    r = Recurrence().build()
    loss = K.sum(r.hs)
    (dV,) = K.gradients(loss, [r.vars["V"]])
    assert isinstance(dV.op, O.MatMul) and dV.op.transpose_a
    assert dV.inputs[0].shape[0] == r.x.shape[0] * r.x.shape[1]


def test_a_step_state_of_the_wrong_shape_is_an_error():
    x = K.placeholder((None, None, F), name="x")
    h0 = K.placeholder((None, U), name="h0")
    with pytest.raises(ValueError, match="state 0"):
        scan(lambda seq, states: ([K.sum(states[0], axis=1, keepdims=True)], []),
             [K.permute_dimensions(x, (1, 0, 2))], [h0])
    with pytest.raises(ValueError, match="at least one sequence"):
        scan(lambda seq, states: (states, []), [], [h0])


def test_a_constant_output_and_an_outer_tensor_read_in_the_step():
    """What the step reads from outside (an outer tensor, a constant) comes in as a parameter."""
    x = K.placeholder((None, None, F), dtype="float64", name="x")
    scale = K.placeholder((None, F), dtype="float64", name="scale")

    def step(seq, states):
        total = states[0] + seq[0] * scale
        return [total], [total, K.constant(np.ones(2), dtype="float64")]

    (final,), (totals, ones) = scan(step, [K.permute_dimensions(x, (1, 0, 2))], [K.zeros_like(scale)])
    (dscale,) = K.gradients(K.sum(final), [scale])
    f = K.function([x, scale], [final, totals, ones, dscale], backend="numpy", name="scan_outer")
    xv, sv = np.random.RandomState(2).randn(2, 4, F), np.random.RandomState(3).randn(2, F)
    got = f([xv, sv])
    np.testing.assert_allclose(got[0], (xv * sv[:, None]).sum(1))
    np.testing.assert_allclose(got[1], np.cumsum(xv * sv[:, None], axis=1).transpose(1, 0, 2))
    np.testing.assert_array_equal(got[2], np.ones((4, 2)))
    np.testing.assert_allclose(got[3], xv.sum(1))

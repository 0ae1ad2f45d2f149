"""Symbolic gradients against central finite differences, in float64, on every backend.

Each case builds ``y = op(inputs)`` with ``K``, the scalar ``loss = sum(y * R)`` for a fixed
random R of y's shape, and compiles ONE function ``inputs -> [loss] + gradients``. The
gradients it returns are compared with central differences of the loss computed by calling
that same function. Points are kept away from kinks; the TensorFlow conventions at the
kinks themselves are checked exactly at the end of the file.
"""

import math
import re
import zlib

import numpy as np
import pytest

import symkeras.backend as K
from symkeras.ir import build as B
from symkeras.ir import ops as O

H = 1e-6          # relative step: h = H * max(1, |x|)
RTOL = 1e-6
ATOL = 1e-7
BATCH = 3         # fed for the symbolic (None) batch dimension
POINTS = 2        # random points per case


# ----------------------------------------------------------------------------- samplers

def uniform(lo=-2.0, hi=2.0):
    return lambda rng, shape: rng.uniform(lo, hi, shape)


def avoiding(*kinks, lo=-2.0, hi=2.0, gap=0.1):
    """Uniform on [lo, hi] with every value at least ``gap`` from each kink."""
    def sample(rng, shape):
        x = rng.uniform(lo, hi, shape)
        for _ in range(1000):
            bad = np.zeros(np.shape(x), dtype=bool)
            for k in kinks:
                bad |= np.abs(x - k) < gap
            if not bad.any():
                return x
            x = np.where(bad, rng.uniform(lo, hi, np.shape(x)), x)
        raise AssertionError("sampler: could not avoid the kinks")
    return sample


def distinct(lo=-2.0, hi=2.0):
    """All values distinct and spaced at least 0.2 * (hi - lo) / n apart (no ties for max/min)."""
    def sample(rng, shape):
        n = int(np.prod(shape))
        x = lo + (hi - lo) * (rng.permutation(n) + rng.uniform(0.1, 0.9, n)) / n
        return x.reshape(shape)
    return sample


def fixed(values):
    return lambda rng, shape: np.array(values, dtype=np.float64).reshape(shape)


def each(sampler):
    """The same sampler for every input."""
    return lambda rng, shapes: [sampler(rng, s) for s in shapes]


def per(*samplers):
    """One sampler per input."""
    return lambda rng, shapes: [s(rng, shape) for s, shape in zip(samplers, shapes)]


def apart(gap=0.1):
    """Two inputs (x, y) broadcastable to each other with |x - y| >= gap everywhere."""
    def sample(rng, shapes):
        sx, sy = shapes
        y = rng.uniform(-2, 2, sy)
        full = np.broadcast_shapes(sx, sy)
        # x is drawn on its own shape; redraw until it is apart from every y it meets.
        for _ in range(1000):
            x = rng.uniform(-2, 2, sx)
            if np.all(np.abs(np.broadcast_to(x, full) - np.broadcast_to(y, full)) >= gap):
                return [x, y]
        raise AssertionError("sampler: could not keep x and y apart")
    return sample


# ----------------------------------------------------------------------------- cases

class Case:
    def __init__(self, id, inputs, build, gen=None, ref=None, extra=()):
        self.id = id
        self.inputs = [tuple(s) for s in inputs]   # differentiated placeholders
        self.build = build                          # (*inputs, *extra) -> y
        self.gen = gen or each(uniform())
        self.ref = ref                              # NumPy reference of y (optional)
        self.extra = list(extra)                    # (shape, sampler): fed, not differentiated

    def __repr__(self):
        return self.id


CASES = []


def case(id, inputs, build, **kw):
    CASES.append(Case(id, inputs, build, **kw))


def np_sigmoid(x):
    e = np.exp(-np.abs(x))
    return np.where(x >= 0, 1 / (1 + e), e / (1 + e))


def np_sigmoid_grad(x):
    e = np.exp(-np.abs(x))
    return e / (1 + e) ** 2


def np_softplus(x):
    return np.logaddexp(0, x)


def np_softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def np_logsumexp(x, axis=None, keepdims=False):
    m = x.max(axis=axis, keepdims=True)
    out = np.log(np.exp(x - m).sum(axis=axis, keepdims=True)) + m
    return out if keepdims else np.squeeze(out, axis=axis) if axis is not None else out.reshape(())


BT = (None, 4)     # a batch of 3 x 4 = 12 elements
# --- elementwise primitives
case("square", [BT], K.square, ref=np.square)
case("sqrt", [BT], K.sqrt, gen=each(uniform(0.3, 3.0)), ref=np.sqrt)
case("exp", [BT], K.exp, ref=np.exp)
case("log", [BT], K.log, gen=each(uniform(0.3, 3.0)), ref=np.log)
case("abs", [BT], K.abs, gen=each(avoiding(0.0)), ref=np.abs)
case("sign", [BT], K.sign, gen=each(avoiding(0.0)), ref=np.sign)
case("tanh", [BT], K.tanh, ref=np.tanh)
case("erf", [BT], K.erf, gen=each(uniform(-3, 3)), ref=np.vectorize(math.erf))
case("sigmoid", [BT], K.sigmoid, gen=each(uniform(-4, 4)), ref=np_sigmoid)
case("sigmoid_saturated", [(8,)], K.sigmoid,
     gen=each(fixed([-60.0, 60.0, -40.0, 40.0, -745.0, 745.0, -1000.0, 1000.0])), ref=np_sigmoid)
case("softplus", [BT], K.softplus, gen=each(uniform(-4, 4)), ref=np_softplus)
case("softplus_large", [(8,)], K.softplus,
     gen=each(fixed([-60.0, 60.0, -40.0, 40.0, -750.0, 750.0, -1000.0, 1000.0])), ref=np_softplus)
case("softsign", [BT], K.softsign, gen=each(uniform(-3, 3)), ref=lambda x: x / (1 + np.abs(x)))
case("hard_sigmoid", [BT], K.hard_sigmoid, gen=each(avoiding(-2.5, 2.5, lo=-4, hi=4)),
     ref=lambda x: np.clip(0.2 * x + 0.5, 0, 1))
case("relu", [BT], K.relu, gen=each(avoiding(0.0)), ref=lambda x: np.maximum(x, 0))
case("relu_alpha", [BT], lambda x: K.relu(x, alpha=0.3), gen=each(avoiding(0.0)),
     ref=lambda x: np.where(x > 0, x, 0.3 * x))
case("relu_max_value", [BT], lambda x: K.relu(x, max_value=1.2), gen=each(avoiding(0.0, 1.2)),
     ref=lambda x: np.clip(x, 0, 1.2))
case("relu_threshold", [BT], lambda x: K.relu(x, threshold=0.5), gen=each(avoiding(0.5)),
     ref=lambda x: np.where(x > 0.5, x, 0.0))
# tf-keras composition: the positive part x*(x > threshold) is clipped to [0, max_value], so with
# a negative threshold the values between it and 0 come out as 0.
case("relu_all", [BT], lambda x: K.relu(x, alpha=0.2, max_value=1.5, threshold=-0.5),
     gen=each(avoiding(-0.5, 0.0, 1.5)),
     ref=lambda x: np.where(x >= 1.5, 1.5, np.where(x > 0, x, np.where(x > -0.5, 0.0, 0.2 * (x + 0.5)))))
case("elu", [BT], K.elu, gen=each(avoiding(0.0)), ref=lambda x: np.where(x > 0, x, np.expm1(x)))
case("elu_alpha", [BT], lambda x: K.elu(x, 0.5), gen=each(avoiding(0.0)),
     ref=lambda x: np.where(x > 0, x, 0.5 * np.expm1(x)))
case("pow_int", [BT], lambda x: K.pow(x, 3), ref=lambda x: x ** 3)
case("pow_frac", [BT], lambda x: K.pow(x, 2.5), gen=each(uniform(0.3, 2.0)), ref=lambda x: x ** 2.5)
case("pow_neg", [BT], lambda x: K.pow(x, -2), gen=each(avoiding(0.0, lo=-2, hi=2, gap=0.5)),
     ref=lambda x: x ** -2.0)
case("clip", [BT], lambda x: K.clip(x, -0.5, 0.75), gen=each(avoiding(-0.5, 0.75)),
     ref=lambda x: np.clip(x, -0.5, 0.75))
case("clip_one_sided", [BT], lambda x: K.clip(x, None, 0.25), gen=each(avoiding(0.25)),
     ref=lambda x: np.minimum(x, 0.25))
case("maximum", [BT, BT], K.maximum, gen=apart(), ref=np.maximum)
case("minimum", [BT, BT], K.minimum, gen=apart(), ref=np.minimum)
case("maximum_broadcast", [BT, (4,)], K.maximum, gen=apart(), ref=np.maximum)
case("minimum_broadcast", [(1, 4), BT], K.minimum, gen=apart(), ref=np.minimum)
case("maximum_python_scalar", [BT], lambda x: K.maximum(x, 0.3), gen=each(avoiding(0.3)),
     ref=lambda x: np.maximum(x, 0.3))
COND = np.array([[1.0, 0.0, 2.0, 0.0], [0.0, -1.0, 0.0, 1.0], [1.0, 1.0, 0.0, 0.0]])
case("switch", [(3, 4), (3, 4)], lambda a, b: K.switch(K.constant(COND, "float64"), a * a, K.exp(b)),
     ref=lambda a, b: np.where(COND != 0, a * a, np.exp(b)))
case("switch_greater", [BT, BT], lambda a, b: K.switch(K.greater(a, b), a * b, a - 2 * b),
     gen=apart(), ref=lambda a, b: np.where(a > b, a * b, a - 2 * b))
case("switch_broadcast", [BT, (4,)], lambda a, b: K.switch(K.greater(a, 0.0), a, b),
     gen=per(avoiding(0.0), uniform()), ref=lambda a, b: np.where(a > 0, a, b))
# --- arithmetic operators, with broadcasting summed back to each operand
case("add", [BT, BT], lambda a, b: a + b, ref=np.add)
case("sub", [BT, BT], lambda a, b: a - b, ref=np.subtract)
case("mul", [BT, BT], lambda a, b: a * b, ref=np.multiply)
case("div", [BT, BT], lambda a, b: a / b, gen=per(uniform(), avoiding(0.0, gap=0.5)), ref=np.divide)
case("pow_tensors", [BT, BT], lambda a, b: a ** b, gen=per(uniform(0.3, 2.0), uniform(-2, 2)), ref=np.power)
case("neg", [BT], lambda a: -a, ref=np.negative)
case("abs_operator", [BT], lambda a: abs(a), gen=each(avoiding(0.0)), ref=np.abs)
case("add_bcast_vector", [BT, (4,)], lambda a, b: a + b, ref=np.add)
case("sub_bcast_row", [BT, (1, 4)], lambda a, b: a - b, ref=np.subtract)
case("rsub_bcast_vector", [(4,), BT], lambda b, a: b - a, ref=np.subtract)
case("mul_bcast_row", [(1, 4), BT], lambda b, a: b * a, ref=np.multiply)
case("div_bcast_vector", [BT, (4,)], lambda a, b: a / b, gen=per(uniform(), avoiding(0.0, gap=0.5)),
     ref=np.divide)
case("rdiv_bcast_row", [(1, 4), BT], lambda b, a: b / a, gen=per(uniform(), avoiding(0.0, gap=0.5)),
     ref=np.divide)
case("pow_bcast_vector", [BT, (4,)], lambda a, b: a ** b, gen=per(uniform(0.3, 2.0), uniform()),
     ref=np.power)
case("mul_scalar_input", [BT, ()], lambda a, s: a * s, ref=np.multiply)
case("sub_scalar_input", [(), BT], lambda s, a: s - a, ref=np.subtract)
case("div_by_scalar_input", [BT, ()], lambda a, s: a / s, gen=per(uniform(), fixed(1.7)), ref=np.divide)
case("outer_broadcast", [(3, 1), (1, 4)], lambda a, b: a * b + a / (b * b + 1),
     ref=lambda a, b: a * b + a / (b * b + 1))
case("rank3_broadcast", [(2, 3, 4), (3, 1)], lambda a, b: (a - b) * b, ref=lambda a, b: (a - b) * b)
case("python_scalars", [BT], lambda a: 2.5 * a - 1.5 / (a * a + 1) + a / 4.0 - (3.0 - a) ** 2 + 2.0 ** a,
     ref=lambda a: 2.5 * a - 1.5 / (a * a + 1) + a / 4.0 - (3.0 - a) ** 2 + 2.0 ** a)
case("pow_python_scalar", [BT], lambda a: a ** 2 + a ** 3, ref=lambda a: a ** 2 + a ** 3)
case("cast_float64", [BT], lambda a: K.cast(a * a, "float64"), ref=np.square)
case("same_input_twice", [BT], lambda a: a * a + K.exp(a) * a, ref=lambda a: a * a + np.exp(a) * a)

# --- reductions: rank-3 inputs, static and with a symbolic batch axis
# Every axis choice x keepdims on a rank-3 input with a symbolic batch axis (3 x 2 x 4 = 24
# elements; axis 0 reduces over the batch, so mean divides by the symbolic batch size), and a
# few on a static (2, 3, 4) input. Kept to this size so the C compiles stay few.
REDUCE_AXES = [(axis, keepdims, (None, 2, 4)) for axis in (None, 0, 1, (0, 2)) for keepdims in (False, True)]
REDUCE_AXES += [(-1, False, (2, 3, 4)), ((0, 2), True, (2, 3, 4))]
REDUCERS = {"sum": (K.sum, np.sum), "mean": (K.mean, np.mean), "max": (K.max, np.max), "min": (K.min, np.min)}


def _axis_id(axis):
    return "_".join(str(a) for a in axis) if isinstance(axis, tuple) else str(axis)


def _reduction(kfn, nfn, axis, keepdims):
    return (lambda x: kfn(x, axis=axis, keepdims=keepdims)), (lambda x: nfn(x, axis=axis, keepdims=keepdims))


for rname, (kfn, nfn) in REDUCERS.items():
    for axis, keepdims, shape in REDUCE_AXES:
        build, ref = _reduction(kfn, nfn, axis, keepdims)
        case(f"{rname}_axis{_axis_id(axis)}_keepdims{keepdims}_{'batch' if shape[0] is None else 'static'}",
             [shape], build, gen=each(distinct() if rname in ("max", "min") else uniform()), ref=ref)
for fname, (kfn, nfn) in {"var": (K.var, np.var), "std": (K.std, np.std)}.items():
    for axis, keepdims in ((None, False), (0, True), (-1, False), ((0, 2), False)):
        build, ref = _reduction(kfn, nfn, axis, keepdims)
        case(f"{fname}_axis{_axis_id(axis)}_keepdims{keepdims}", [(None, 2, 4)], build, ref=ref)
case("softmax_last", [(None, 2, 4)], K.softmax, ref=lambda x: np_softmax(x, -1))
case("softmax_middle", [(None, 3, 4)], lambda x: K.softmax(x, axis=1), gen=each(uniform(-3, 3)),
     ref=lambda x: np_softmax(x, 1))
case("softmax_2d", [BT], K.softmax, ref=lambda x: np_softmax(x, -1))
case("log_softmax_last", [(None, 2, 4)], K.log_softmax, ref=lambda x: np.log(np_softmax(x, -1)))
case("log_softmax_middle", [(2, 3, 4)], lambda x: K.log_softmax(x, axis=1),
     ref=lambda x: np.log(np_softmax(x, 1)))
case("log_softmax_large", [(2, 4)], K.log_softmax,
     gen=each(fixed([[900.0, 901.0, 899.5, 898.0], [-900.0, -901.0, -899.0, -902.5]])),
     ref=lambda x: x - np_logsumexp(x, -1, keepdims=True))
case("logsumexp_all", [(None, 2, 4)], K.logsumexp, ref=np_logsumexp)
case("logsumexp_last", [(None, 2, 4)], lambda x: K.logsumexp(x, axis=-1),
     ref=lambda x: np_logsumexp(x, -1))
case("logsumexp_middle_keepdims", [(2, 3, 4)], lambda x: K.logsumexp(x, axis=1, keepdims=True),
     ref=lambda x: np_logsumexp(x, 1, keepdims=True))

# --- linear algebra
case("dot_2d", [(None, 3), (3, 4)], K.dot, ref=np.matmul)
case("dot_2d_static", [(2, 5), (5, 3)], K.dot, ref=np.matmul)
case("dot_3d_2d", [(None, 2, 3), (3, 4)], K.dot, ref=np.matmul)
case("dot_3d_2d_transposed", [(None, 2, 3), (4, 3)], lambda a, b: K.dot(a, K.transpose(b)),
     ref=lambda a, b: a @ b.T)
case("matmul_2d_transpose_a", [(3, 2), (3, 4)], lambda a, b: B.matmul(a, b, transpose_a=True),
     ref=lambda a, b: a.T @ b)
case("matmul_2d_transpose_both", [(3, 2), (4, 3)], lambda a, b: B.matmul(a, b, True, True),
     ref=lambda a, b: a.T @ b.T)
case("matmul_3d_2d_transpose_b", [(None, 2, 3), (4, 3)], lambda a, b: B.matmul(a, b, transpose_b=True),
     ref=lambda a, b: a @ b.T)
case("matmul_3d_3d_transpose_both", [(None, 3, 2), (None, 4, 3)], lambda a, b: B.matmul(a, b, True, True),
     ref=lambda a, b: np.einsum("bji,bkj->bik", a, b))
case("batch_dot_2d", [(None, 4), (None, 4)], K.batch_dot,
     ref=lambda a, b: np.sum(a * b, axis=1, keepdims=True))
case("batch_dot_3d_axes_2_1", [(None, 2, 3), (None, 3, 4)], lambda a, b: K.batch_dot(a, b, axes=(2, 1)),
     ref=lambda a, b: np.einsum("bij,bjk->bik", a, b))
case("batch_dot_3d_axes_1_1", [(None, 3, 2), (None, 3, 4)], lambda a, b: K.batch_dot(a, b, axes=(1, 1)),
     ref=lambda a, b: np.einsum("bji,bjk->bik", a, b))
case("batch_dot_3d_axes_2_2", [(None, 2, 3), (None, 4, 3)], lambda a, b: K.batch_dot(a, b, axes=(2, 2)),
     ref=lambda a, b: np.einsum("bij,bkj->bik", a, b))
case("batch_dot_3d_default", [(None, 2, 3), (None, 3, 2)], K.batch_dot,
     ref=lambda a, b: np.einsum("bij,bjk->bik", a, b))

# --- shape ops
case("transpose_2d", [(3, 4)], K.transpose, ref=lambda x: x.T)
case("transpose_3d", [(2, 3, 4)], K.transpose, ref=lambda x: x.transpose())
case("permute_static", [(2, 3, 4)], lambda x: K.permute_dimensions(x, (1, 2, 0)),
     ref=lambda x: x.transpose(1, 2, 0))
case("permute_batch", [(None, 2, 4)], lambda x: K.permute_dimensions(x, (0, 2, 1)),
     ref=lambda x: x.transpose(0, 2, 1))
case("reshape_batch", [(None, 2, 4)], lambda x: K.reshape(x, (-1, 4, 2)), ref=lambda x: x.reshape(-1, 4, 2))
case("reshape_static", [(2, 3, 4)], lambda x: K.reshape(x, (6, 4)) * K.reshape(x, (6, 4)),
     ref=lambda x: x.reshape(6, 4) ** 2)
case("batch_flatten", [(None, 2, 4)], K.batch_flatten, ref=lambda x: x.reshape(x.shape[0], -1))
case("expand_dims_last", [BT], lambda x: K.expand_dims(x), ref=lambda x: x[..., None])
case("expand_dims_middle", [BT], lambda x: K.expand_dims(x, 1), ref=lambda x: x[:, None])
case("squeeze", [(None, 1, 4)], lambda x: K.squeeze(x, 1), ref=lambda x: x[:, 0])
case("squeeze_last", [(None, 4, 1)], lambda x: K.squeeze(x, -1) ** 2, ref=lambda x: x[..., 0] ** 2)
case("broadcast_to_rows", [(1, 4)], lambda x: B.broadcast_to(x, (3, 4)) * 1.5,
     ref=lambda x: np.broadcast_to(x, (3, 4)) * 1.5)
case("broadcast_to_batch", [(4,)], lambda x: O.BroadcastTo((None, 2, 4))(x),
     ref=lambda x: np.broadcast_to(x, (BATCH, 2, 4)))
case("concatenate_axis0", [(2, 4), (3, 4)], lambda a, b: K.concatenate([a, b], axis=0),
     ref=lambda a, b: np.concatenate([a, b], 0))
case("concatenate_axis1", [(None, 2), (None, 3), (None, 1)], lambda a, b, c: K.concatenate([a, b, c], axis=1),
     ref=lambda a, b, c: np.concatenate([a, b, c], 1))
case("concatenate_axis_neg1", [(None, 2, 3), (None, 2, 1)], lambda a, b: K.concatenate([a, b], axis=-1),
     ref=lambda a, b: np.concatenate([a, b], -1))
case("concatenate_same_input", [(None, 2)], lambda a: K.concatenate([a, a * a], axis=1),
     ref=lambda a: np.concatenate([a, a * a], 1))
case("slice_axis1", [(None, 6)], lambda x: B.full_slice(x, 1, 1, 5, 2), ref=lambda x: x[:, 1:5:2])
case("slice_axis0_static", [(4, 6)], lambda x: B.full_slice(x, 0, 1, 3), ref=lambda x: x[1:3])
case("slice_rank3_middle", [(None, 4, 2)], lambda x: B.full_slice(x, 1, 0, 3), ref=lambda x: x[:, 0:3])
case("slice_index_drop", [(None, 3, 4)],
     lambda x: O.Slice((0, 1, 0), (x.shape[0], 2, 4), (1, 1, 1), drop=(1,))(x), ref=lambda x: x[:, 1])
case("slice_twice_overlapping", [(None, 6)], lambda x: B.full_slice(x, 1, 0, 4) * B.full_slice(x, 1, 2, 6),
     ref=lambda x: x[:, 0:4] * x[:, 2:6])
# Slice takes range() semantics: start 5, stop -1, step -1 is the whole axis reversed.
case("slice_reversed", [(None, 6)], lambda x: O.Slice((0, 5), (x.shape[0], -1), (1, -1))(x) * x,
     ref=lambda x: x[:, ::-1] * x)
case("slice_reversed_step2", [(3, 6)], lambda x: O.Slice((2, 4), (-1, 0), (-1, -2))(x),
     ref=lambda x: x[::-1, 4:0:-2])
GATHER_IDX = np.array([[0, 2, 2], [4, 0, 2]], dtype=np.int64)
case("gather_repeated", [(5, 3)], lambda t: K.gather(t, GATHER_IDX), ref=lambda t: t[GATHER_IDX])
case("gather_1d_indices", [(4, 2)], lambda t: K.gather(t, np.array([3, 3, 1, 3], dtype=np.int64)) ** 2,
     ref=lambda t: t[[3, 3, 1, 3]] ** 2)
WINDOW_2D = O.Window((4, 5), (3, 2), (1, 2), (1, 1), (1, 0), (1, 1))
WINDOW_1D = O.Window((7,), (3,), (2,), (2,), (2,), (1,))
case("window_gather_2d_padded_strided", [(None, 4, 5, 2)], lambda x: O.WindowGather(WINDOW_2D)(x) ** 2)
case("window_gather_1d_dilated", [(None, 7, 3)], lambda x: O.WindowGather(WINDOW_1D, -1.0)(x) * 1.5)
case("window_scatter_2d", [(None, 4, 3, 3, 2, 2)], lambda g: O.WindowScatter(WINDOW_2D)(g) ** 2)
case("window_max_2d_padded", [(None, 4, 5, 2)], lambda x: O.WindowMax(WINDOW_2D)(x) * 1.5, gen=each(distinct()))
# stop_gradient cannot be checked by finite differences (the loss does move): see the exact tests.

# --- backend functions composed of existing ops (tests/backend has their values on both backends)
case("sin", [BT], K.sin, ref=np.sin)
case("cos", [BT], K.cos, ref=np.cos)
case("prod_static_keepdims", [(None, 5)], lambda x: K.prod(x, axis=1, keepdims=True),
     ref=lambda x: x.prod(1, keepdims=True))
case("prod_batch_axis", [(None, 3)], lambda x: K.prod(x, axis=0), gen=each(avoiding(0.0, gap=0.3)),
     ref=lambda x: x.prod(0))
case("prod_rank3_two_axes", [(2, 3, 2)], lambda x: K.prod(x, (0, 2)), ref=lambda x: x.prod((0, 2)))
case("cumsum_axis1", [(None, 5)], lambda x: K.cumsum(x, axis=1), ref=lambda x: x.cumsum(1))
case("cumprod_axis1", [(None, 5)], lambda x: K.cumprod(x, axis=1), ref=lambda x: x.cumprod(1))
case("cumprod_static_axis0", [(3, 2)], K.cumprod, ref=lambda x: x.cumprod(0))
case("tile_batch", [(None, 3)], lambda x: K.tile(x, (1, 2)) ** 2, ref=lambda x: np.tile(x, (1, 2)) ** 2)
case("tile_static", [(2, 3)], lambda x: K.tile(x, (2, 2)) ** 2, ref=lambda x: np.tile(x, (2, 2)) ** 2)
case("stack_axis1", [BT, BT], lambda a, b: K.stack([a, a * b], axis=1), ref=lambda a, b: np.stack([a, a * b], 1))
case("reverse_slice", [(None, 5)], lambda x: K.reverse(K.slice(x, (0, 1), (-1, 3)), 1) * x[:, :3],
     ref=lambda x: x[:, 3:0:-1] * x[:, :3])
case("switch_row_condition", [BT, BT], lambda a, b: K.switch(K.any(K.greater(a, 1.0), axis=1), a * b, b),
     gen=each(avoiding(1.0)), ref=lambda a, b: np.where((a > 1).any(1)[:, None], a * b, b))
case("categorical_crossentropy", [BT], lambda z, t: K.categorical_crossentropy(t, K.softmax(z)),
     extra=[((None, 4), lambda rng, shape: np.eye(shape[1])[rng.randint(0, shape[1], shape[0])])],
     ref=lambda z, t: -(t * np.log(np_softmax(z, -1))).sum(-1))
case("categorical_crossentropy_logits_axis1", [(None, 3, 2)],
     lambda z, t: K.categorical_crossentropy(t, z, from_logits=True, axis=1),
     extra=[((None, 3, 2), lambda rng, shape: rng.uniform(0, 1, shape))],
     ref=lambda z, t: -(t * np.log(np_softmax(z, 1))).sum(1))
case("sparse_categorical_crossentropy", [BT], lambda z, t: K.sparse_categorical_crossentropy(t, K.softmax(z)),
     extra=[((None, 1), lambda rng, shape: rng.randint(0, 4, shape).astype(float))],
     ref=lambda z, t: -np.log(np_softmax(z, -1))[np.arange(len(t)), t[:, 0].astype(int)])
case("binary_crossentropy", [BT], lambda z, t: K.binary_crossentropy(t, K.sigmoid(z)),
     extra=[((None, 4), lambda rng, shape: rng.uniform(0, 1, shape))],
     ref=lambda z, t: -(t * np.log(np_sigmoid(z)) + (1 - t) * np.log(1 - np_sigmoid(z))))
case("binary_crossentropy_logits", [BT, BT], lambda z, t: K.binary_crossentropy(t, z, from_logits=True),
     ref=lambda z, t: np_softplus(z) - z * t)
case("normalize_batch_in_training", [(None, 3), (3,), (3,)],
     lambda x, g, b: K.normalize_batch_in_training(x, g, b, [0])[0],
     ref=lambda x, g, b: (x - x.mean(0)) / np.sqrt(x.var(0) + 1e-3) * g + b)
case("normalize_batch_in_training_fused_variance", [(None, 2, 2, 3)],
     lambda x: K.normalize_batch_in_training(x, None, None, [0, 1, 2])[2], ref=lambda x: x.var((0, 1, 2), ddof=1))
case("local_conv1d", [(None, 4, 2), (3, 4, 2)], lambda x, k: K.local_conv1d(x, k, (2,), (1,)),
     ref=lambda x, k: np.stack([x[:, t:t + 2].reshape(len(x), -1) @ k[t] for t in range(3)], 1))
case("repeat", [BT], lambda x: K.repeat(x, 3) * K.constant(np.arange(3.0)[:, None], "float64"),
     ref=lambda x: np.repeat(x[:, None], 3, 1) * np.arange(3.0)[:, None])
case("repeat_elements_flatten", [(2, 3)], lambda x: K.flatten(K.repeat_elements(x, 2, axis=1)) ** 2,
     ref=lambda x: np.repeat(x, 2, 1).reshape(-1) ** 2)
case("l2_normalize", [BT], lambda x: K.l2_normalize(x, axis=-1),
     ref=lambda x: x / np.sqrt((x ** 2).sum(-1, keepdims=True)))
case("in_train_phase_fed", [BT], lambda x, p: K.in_train_phase(x * x, K.exp(x), training=K.cast(p, "int32")),
     extra=[((), lambda rng, shape: np.array(1.0))], ref=lambda x, p: x * x)
case("local_conv2d_channels_first", [(None, 2, 3, 2), (2, 8, 2)],
     lambda x, k: K.local_conv2d(x, k, (2, 2), (1, 1), (2, 1), data_format="channels_first"),
     ref=lambda x, k: np.stack([x[:, :, r:r + 2, 0:2].reshape(len(x), -1) @ k[r] for r in range(2)], -1)[..., None])
case("map_fn_batch_axis", [(None, 3, 2), (2, 2)], lambda x, w: K.map_fn(lambda m: K.softmax(K.dot(m, w)) * m[0], x),
     ref=lambda x, w: np_softmax(x @ w, -1) * x[:, :1])
case("foldl_map_fn", [(3, 4)], lambda x: K.foldl(lambda a, r: a * r + r, K.map_fn(K.tanh, x)),
     ref=lambda x: (np.tanh(x[0]) * np.tanh(x[1]) + np.tanh(x[1])) * np.tanh(x[2]) + np.tanh(x[2]))


def _unrolled_rnn(x, w, mask):
    step = lambda inputs, states: (lambda h: (h, [h]))(K.tanh(K.dot(inputs, w) + states[0]))
    return K.rnn(step, x, [K.zeros_like(x[:, 0, :2])], mask=mask, unroll=True, go_backwards=True)[1]


def _np_unrolled_rnn(x, w, mask):
    h, hs = np.zeros((len(x), 2)), []
    for t in (2, 1, 0):
        h = np.where(mask[:, t:t + 1] != 0, np.tanh(x[:, t] @ w + h), h)
        hs.append(h)
    return np.stack(hs, 1)


case("rnn_unrolled_masked", [(None, 3, 2), (2, 2)], _unrolled_rnn,
     extra=[((None, 3), lambda rng, shape: (rng.uniform(0, 1, shape) > 0.3).astype(float))], ref=_np_unrolled_rnn)


# --- second order: y = d sum(fn(x) * S) / dx, so the gradient rules are differentiated too
def _first_gradient(fn):
    def build(x):
        fx = fn(x)
        s = np.random.RandomState(7).standard_normal(K.int_shape(fx))
        return K.gradients(K.sum(fx * K.constant(s, dtype="float64")), [x])[0]
    return build


case("second_order_tanh_softmax", [(3, 4)], _first_gradient(lambda x: K.softmax(K.tanh(x) * 2.0)))
case("second_order_log_softmax_max", [(3, 4)], _first_gradient(lambda x: K.log_softmax(x) * K.max(x, 1, True)),
     gen=each(distinct()))
case("second_order_slice_concat", [(3, 4)],
     _first_gradient(lambda x: K.concatenate([B.full_slice(x, 1, 1, 3) ** 3, x * x], 1)))
case("second_order_gather", [(3, 4)], _first_gradient(lambda x: K.gather(x, np.array([0, 2, 2])) ** 3))
case("second_order_dot_bcast", [(3, 4)],
     _first_gradient(lambda x: K.dot(K.sigmoid(x), K.constant(np.eye(4)[:, :2] + 0.5, "float64")) ** 2))


# --- composite: 2-layer MLP with softmax cross-entropy (targets fed, not differentiated)
def _mlp(x, w1, b1, w2, b2, target):
    h = K.tanh(K.dot(x, w1) + b1)
    logits = K.dot(h, w2) + b2
    probs = K.softmax(logits)
    ce_probs = -K.sum(target * K.log(probs), axis=-1)
    ce_logits = -K.sum(target * K.log_softmax(logits), axis=-1)
    return K.mean(ce_probs) + 0.5 * K.mean(ce_logits) + 0.01 * K.sum(K.square(w1))


def _one_hot(rng, shape):
    return np.eye(shape[-1])[rng.randint(0, shape[-1], shape[0])]


def _np_mlp(x, w1, b1, w2, b2, target):
    logits = np.tanh(x @ w1 + b1) @ w2 + b2
    logp = logits - np_logsumexp(logits, -1, keepdims=True)
    ce = -np.sum(target * logp, axis=-1)
    return np.mean(ce) * 1.5 + 0.01 * np.sum(w1 ** 2)


case("mlp_softmax_crossentropy", [(None, 4), (4, 5), (5,), (5, 3), (3,)], _mlp,
     gen=each(uniform(-1, 1)), extra=[((None, 3), _one_hot)], ref=_np_mlp)


# ----------------------------------------------------------------------------- harness

def _concrete(shape):
    return tuple(BATCH if d is None else d for d in shape)


def _name(text):
    return "grad_" + re.sub(r"\W", "_", text)


def _compile(case_, backend):
    """Build y, loss = sum(y * R), its gradients, and one function [loss] + grads."""
    rng = np.random.RandomState(zlib.crc32(case_.id.encode()))
    xs = [K.placeholder(s, dtype="float64", name=f"x{i}") for i, s in enumerate(case_.inputs)]
    extra = [K.placeholder(s, dtype="float64", name=f"e{i}") for i, (s, _) in enumerate(case_.extra)]
    y = case_.build(*xs, *extra)
    assert y.dtype == "float64", f"{case_.id}: y is {y.dtype}"
    y_shape = K.int_shape(y)
    r_value = rng.standard_normal(_concrete(y_shape))
    feeds = []
    if None in y_shape:
        assert y_shape[0] is None and None not in y_shape[1:], y_shape
        r = K.placeholder(y_shape, dtype="float64", name="r")
        feeds.append(r)
    else:
        r = K.constant(r_value, dtype="float64")
    loss = K.sum(y * r)
    grads = K.gradients(loss, xs)
    present = [g for g in grads if g is not None]
    f = K.function(xs + extra + feeds, [loss] + present, backend=backend, name=_name(case_.id))
    extra_values = [sampler(rng, _concrete(s)) for s, sampler in case_.extra]
    fed = extra_values + ([r_value] if feeds else [])

    def call(values):
        out = f([np.array(v, dtype=np.float64) for v in values] + fed)
        loss_value, it = out[0], iter(out[1:])
        return loss_value, [next(it) if g is not None else None for g in grads]

    return rng, call, r_value, extra_values


def _finite_differences(loss_of, values):
    numeric = []
    for i, x in enumerate(values):
        g = np.zeros(np.shape(x))
        for idx in np.ndindex(g.shape):
            h = H * max(1.0, abs(x[idx]))
            plus, minus = [v.copy() for v in values], [v.copy() for v in values]
            plus[i][idx] = x[idx] + h
            minus[i][idx] = x[idx] - h
            g[idx] = (loss_of(plus) - loss_of(minus)) / (plus[i][idx] - minus[i][idx])
        numeric.append(g)
    return numeric


@pytest.mark.parametrize("case_", CASES, ids=[c.id for c in CASES])
def test_gradient_matches_finite_differences(case_, backend):
    rng, call, r_value, extra_values = _compile(case_, backend)
    shapes = [_concrete(s) for s in case_.inputs]
    for _ in range(POINTS):
        values = [np.asarray(v, dtype=np.float64) for v in case_.gen(rng, shapes)]
        loss_value, grads = call(values)
        assert np.isfinite(loss_value), f"{case_.id}: loss is {loss_value}"
        if case_.ref is not None:
            expected = np.sum(case_.ref(*values, *extra_values) * r_value)
            np.testing.assert_allclose(loss_value, expected, rtol=1e-10, atol=1e-12,
                                       err_msg=f"{case_.id}: forward value")
        numeric = _finite_differences(lambda vs: call(vs)[0], values)
        for i, (g, n) in enumerate(zip(grads, numeric)):
            if g is None:       # no dependence: the gradient is zero
                g = np.zeros_like(n)
            assert np.shape(g) == shapes[i], f"{case_.id}: gradient {i} has shape {np.shape(g)}"
            assert np.all(np.isfinite(g)), f"{case_.id}: gradient {i} is not finite: {g}"
            np.testing.assert_allclose(g, n, rtol=RTOL, atol=ATOL,
                                       err_msg=f"{case_.id}: gradient wrt input {i}")


# ----------------------------------------------------------------------------- exact checks

def _exact_grads(backend, name, shapes, build, values, r_value=None):
    """Gradients of sum(y * R) at ``values`` (R = 1 unless given), None replaced by zeros."""
    xs = [K.placeholder(s, dtype="float64", name=f"x{i}") for i, s in enumerate(shapes)]
    y = build(*xs)
    r_value = np.ones(K.int_shape(y)) if r_value is None else np.asarray(r_value, dtype=np.float64)
    loss = K.sum(y * K.constant(r_value, dtype="float64"))
    grads = K.gradients(loss, xs)
    f = K.function(xs, [loss] + [g for g in grads if g is not None], backend=backend, name=_name(name))
    out = iter(f([np.asarray(v, dtype=np.float64) for v in values])[1:])
    return [next(out) if g is not None else np.zeros(s) for g, s in zip(grads, shapes)]


R4 = np.array([1.5, -2.0, 0.25, 3.0])


def test_sign_gradient_is_zero_everywhere(backend):
    (g,) = _exact_grads(backend, "sign_zero", [(4,)], K.sign, [[-1.0, 0.0, 2.0, 0.0]], R4)
    np.testing.assert_array_equal(g, np.zeros(4))


def test_stop_gradient_blocks_everything(backend):
    (g,) = _exact_grads(backend, "stop_all", [(4,)], lambda x: K.stop_gradient(K.exp(x) * x),
                        [[-1.0, 0.0, 2.0, 0.5]], R4)
    np.testing.assert_array_equal(g, np.zeros(4))


def test_stop_gradient_partial(backend):
    x = np.array([-1.0, 0.3, 2.0, 0.5])
    (g,) = _exact_grads(backend, "stop_partial", [(4,)], lambda x: x * K.stop_gradient(K.exp(x)), [x], R4)
    np.testing.assert_allclose(g, np.exp(x) * R4, rtol=1e-14)


def test_relu_gradient_at_zero_is_zero(backend):
    (g,) = _exact_grads(backend, "relu_at_0", [(4,)], K.relu, [[0.0, -0.0, 1.0, -1.0]], R4)
    np.testing.assert_array_equal(g, [0.0, 0.0, R4[2], 0.0])


def test_abs_gradient_at_zero_is_zero(backend):
    (g,) = _exact_grads(backend, "abs_at_0", [(4,)], K.abs, [[0.0, -0.0, 1.0, -1.0]], R4)
    np.testing.assert_array_equal(g, [0.0, 0.0, R4[2], -R4[3]])


@pytest.mark.parametrize("fn", ["maximum", "minimum"])
def test_maximum_minimum_ties_give_the_gradient_to_x(backend, fn):
    x = np.array([1.0, -2.0, 0.5, 3.0])
    y = np.array([1.0, -2.0, 0.0, 4.0])     # ties at 0 and 1
    gx, gy = _exact_grads(backend, f"{fn}_ties", [(4,), (4,)], getattr(K, fn), [x, y], R4)
    wins_x = (x >= y) if fn == "maximum" else (x <= y)
    np.testing.assert_array_equal(gx, np.where(wins_x, R4, 0.0))
    np.testing.assert_array_equal(gy, np.where(wins_x, 0.0, R4))
    np.testing.assert_array_equal(gx[:2], R4[:2])
    np.testing.assert_array_equal(gy[:2], [0.0, 0.0])


def test_clip_gradient_passes_at_the_bounds_and_inside(backend):
    # TF clip_by_value: zero strictly outside [lo, hi], the gradient itself on it.
    x = np.array([-0.5, 0.75, 0.0, -1.0, 1.0, -0.5000001])
    r = np.array([1.5, -2.0, 0.25, 3.0, 5.0, 7.0])
    (g,) = _exact_grads(backend, "clip_bounds", [(6,)], lambda t: K.clip(t, -0.5, 0.75), [x], r)
    np.testing.assert_array_equal(g, [1.5, -2.0, 0.25, 0.0, 0.0, 0.0])


def test_clip_bound_keeps_full_float64_precision(backend):
    # A bound that needs 17 significant digits must still compare equal to itself.
    lo, hi = 0.1 + 0.2, 0.7 + 0.1      # 0.30000000000000004, 0.7999999999999999
    x = np.array([lo, hi, np.nextafter(lo, 0), np.nextafter(hi, 1)])
    xs = K.placeholder((4,), dtype="float64", name="x")
    y = K.clip(xs, lo, hi)
    (g,) = K.gradients(K.sum(y * K.constant(R4, dtype="float64")), [xs])
    f = K.function([xs], [y, g], backend=backend, name="clip_precision")
    value, grad = f([x])
    np.testing.assert_array_equal(value, [lo, hi, lo, hi])
    np.testing.assert_array_equal(grad, [R4[0], R4[1], 0.0, 0.0])


@pytest.mark.parametrize("fn", ["max", "min"])
def test_max_min_reduction_ties_share_the_gradient_equally(backend, fn):
    x = np.array([[1.0, 3.0, 3.0], [2.0, 2.0, 2.0], [-1.0, 0.0, -1.0]])
    if fn == "min":
        x = -x
    r = np.array([2.0, 3.0, -6.0])
    (g,) = _exact_grads(backend, f"{fn}_ties_axis1", [(3, 3)], lambda t: getattr(K, fn)(t, axis=1), [x], r)
    np.testing.assert_allclose(g, [[0.0, 1.0, 1.0], [1.0, 1.0, 1.0], [0.0, -6.0, 0.0]], rtol=1e-15)
    (g,) = _exact_grads(backend, f"{fn}_ties_all", [(3, 3)], lambda t: getattr(K, fn)(t), [x], 6.0)
    expected = np.zeros((3, 3))
    expected[0, 1:] = 3.0
    np.testing.assert_allclose(g, expected, rtol=1e-15)


def test_sigmoid_and_softplus_gradients_finite_at_extremes(backend):
    x = np.array([-1000.0, -60.0, 60.0, 1000.0])
    gs, gp = _exact_grads(backend, "saturation", [(4,), (4,)],
                          lambda a, b: K.sigmoid(a) + K.softplus(b), [x, x], R4)
    assert np.all(np.isfinite(gs)) and np.all(np.isfinite(gp))
    # s * (1 - s) rounds to 0 for large positive x (as in TF); the true value is < 1e-26.
    np.testing.assert_allclose(gs, np_sigmoid_grad(x) * R4, rtol=1e-12, atol=1e-20)
    np.testing.assert_allclose(gp, np_sigmoid(x) * R4, rtol=1e-12, atol=1e-300)


def test_gradient_through_float32_cast_comes_back_as_float64(backend):
    # cast within floats: the gradient of a float64 input has the input's dtype.
    x32 = K.placeholder((4,), dtype="float64", name="x")
    y = K.cast(K.cast(x32, "float32") * 2.0, "float64")
    (g,) = K.gradients(K.sum(y * K.constant(R4, dtype="float64")), [x32])
    assert g.dtype == "float64"
    f = K.function([x32], [g], backend=backend, name="cast_roundtrip")
    (value,) = f([np.array([0.1, 0.2, 0.3, 0.4])])
    assert value.dtype == np.float64
    np.testing.assert_allclose(value, 2.0 * R4, rtol=1e-7)
    (g,) = K.gradients(K.sum(K.cast(x32, "float32")), [x32])
    assert g.dtype == "float64", "gradient of a float64 input through a float32 cast is float32"


def test_kink_conventions_of_hard_sigmoid_elu_and_leaky_relu(backend):
    # hard_sigmoid = clip(0.2 x + 0.5, 0, 1): the clip passes the gradient at its bounds (TF).
    x = np.array([-2.5, 2.5, -3.0, 3.0])
    (g,) = _exact_grads(backend, "hard_sigmoid_kinks", [(4,)], K.hard_sigmoid, [x], R4)
    np.testing.assert_allclose(g, [0.2 * R4[0], 0.2 * R4[1], 0.0, 0.0], rtol=1e-15)
    # TF EluGrad: g * (y + 1) for x <= 0, so 1 at x = 0; leaky relu: alpha at x = 0.
    z = np.array([0.0, 0.0, 1.0, -1.0])
    (g,) = _exact_grads(backend, "elu_at_0", [(4,)], K.elu, [z], R4)
    np.testing.assert_allclose(g, [R4[0], R4[1], R4[2], np.exp(-1.0) * R4[3]], rtol=1e-15)
    (g,) = _exact_grads(backend, "leaky_relu_at_0", [(4,)], lambda t: K.relu(t, alpha=0.25), [z], R4)
    np.testing.assert_allclose(g, [0.25 * R4[0], 0.25 * R4[1], R4[2], 0.25 * R4[3]], rtol=1e-15)


def test_round_has_no_gradient_as_in_tensorflow():
    x = K.placeholder((None, 4), dtype="float64", name="x")
    assert K.gradients(K.sum(K.round(x)), [x]) == [None]
    assert K.gradients(K.sum(K.round(x) + x), [x])[0] is not None


def test_unconnected_input_has_no_gradient():
    a = K.placeholder((None, 4), dtype="float64", name="a")
    b = K.placeholder((None, 4), dtype="float64", name="b")
    assert K.gradients(K.sum(K.exp(a)), [a, b])[1] is None
    assert K.gradients(K.sum(K.stop_gradient(b) * a), [b]) == [None]

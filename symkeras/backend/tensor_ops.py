"""Tensor functions of the Keras 2 backend built from the IR's existing ops: symbolic shapes,
comparisons and logic, more elementwise math, products and cumulative sums, stacking, tiling,
slicing and reversing, tensors made like others, and the random variants.

No function here needs a gradient of its own: each composes ops that have one.
"""

import builtins

import numpy as np
import sympy

from symkeras import backend as K
from symkeras import session
from symkeras.ir import build as B
from symkeras.ir import dims, scalar
from symkeras.ir import ops as O
from symkeras.ir.node import Node

X = scalar.X


# ----------------------------------------------------------------------------- shapes

class Shape(tuple):
    """``K.shape(x)``: the shape as a tuple of dimensions, each an int or, for an axis of unknown
    size (the batch axis, an input's other None), an expression that generated code evaluates at
    call time.

    It goes where a shape goes (``K.reshape(x, (K.shape(x)[0], -1))``, ``K.random_normal(K.shape(x))``),
    its entries combine with Python arithmetic (``K.shape(x)[0] * 2``), and a batch entry becomes
    a scalar tensor in arithmetic with tensors or through ``K.cast``
    (``K.cast(K.shape(x)[0], 'float32')``). As a tensor (a ``K.function`` output) it is a rank-1
    int32 tensor. Limits: the IR's shapes are fixed when the graph is built, so only the unknown
    entries vary per call; a shape computed from tensor values (``K.reshape(x, some_tensor)``)
    is refused, and so are repeat counts that depend on it (``K.tile``).
    """

    def __getitem__(self, key):
        item = tuple.__getitem__(self, key)
        return Shape(item) if isinstance(key, builtins.slice) else item

    @property
    def ndim(self):
        return 1

    @property
    def shape(self):
        return (len(self),)

    @property
    def dtype(self):
        return "int32"


def shape(x):
    """The symbolic shape of ``x`` (see ``Shape``)."""
    return Shape(K._tensor(x).shape)


def is_dim(d):
    """An int, or an expression in the sizes known only at call time (the batch size, an input's
    other unknown axes)."""
    return isinstance(d, (int, np.integer)) and not isinstance(d, bool) or (
        isinstance(d, sympy.Basic) and bool(d.free_symbols))


def _static_shape(shape_, name):
    """A shape of ints (or the batch size) given as a tuple, a ``Shape`` or an int."""
    if isinstance(shape_, Node):
        raise TypeError(f"{name}: `shape` must be a tuple of ints or K.shape(x), got a tensor")
    values = (shape_,) if isinstance(shape_, (int, np.integer)) else tuple(shape_)
    for d in values:
        if not (d is None or is_dim(d)):
            raise TypeError(f"{name}: `shape` must hold ints, got {shape_!r}")
        if isinstance(d, (int, np.integer)) and d < 0:
            raise ValueError(f"{name}: `shape` must not hold negative sizes, got {shape_!r}")
    return dims.as_shape(values)


def _axis(axis, rank, name):
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name}: `axis` must be an integer, got {axis!r}")
    if not -rank <= axis < rank:
        raise ValueError(f"{name}: `axis` {axis} is out of range for a tensor of rank {rank}")
    return int(axis) % rank


# ----------------------------------------------------------------------------- comparisons and logic

def _comparison(relation, name):
    def compare(x, y):
        x = K._tensor(x)
        y = K._tensor(y, dtype=x.dtype if x.dtype.startswith("float") else None)
        return B.ew(sympy.Piecewise((1, relation(X[0], X[1])), (0, True)), x, y, dtype="bool")
    compare.__name__ = compare.__qualname__ = name
    compare.__doc__ = f"Elementwise ``{name}`` of x and y (broadcast): a bool tensor."
    return compare


equal = _comparison(sympy.Eq, "equal")
not_equal = _comparison(sympy.Ne, "not_equal")
greater = _comparison(lambda a, b: a > b, "greater")
greater_equal = _comparison(lambda a, b: a >= b, "greater_equal")
less = _comparison(lambda a, b: a < b, "less")
less_equal = _comparison(lambda a, b: a <= b, "less_equal")


def _truth(x):
    """``x != 0`` as a bool tensor (``x`` itself when it is bool)."""
    x = K._tensor(x)
    return x if x.dtype == "bool" else B.ew(sympy.Piecewise((1, sympy.Ne(X[0], 0)), (0, True)), x, dtype="bool")


def any(x, axis=None, keepdims=False):
    """Logical OR over ``axis``: a bool tensor (non-zero counts as true)."""
    return B.reduce("max", _truth(x), _axes(x, axis), keepdims)


def all(x, axis=None, keepdims=False):
    """Logical AND over ``axis``: a bool tensor (non-zero counts as true)."""
    return B.reduce("min", _truth(x), _axes(x, axis), keepdims)


def _axes(x, axis):
    x = K._tensor(x)
    return dims.normalize_axes(axis, x.ndim)


# ----------------------------------------------------------------------------- elementwise math

def sin(x):
    return B.ew(sympy.sin(X[0]), K._tensor(x))


def cos(x):
    return B.ew(sympy.cos(X[0]), K._tensor(x))


def round(x):
    """Round to the nearest integer, halves to even (as ``tf.round``); no gradient, as in TF."""
    x = K._tensor(x)
    if not x.dtype.startswith("float"):
        return x
    a = X[0]
    nearest = sympy.floor(a + sympy.Rational(1, 2))
    odd = sympy.Eq(nearest - 2 * sympy.floor(nearest / 2), 1)
    tie = sympy.Eq(nearest - a, sympy.Rational(1, 2))
    # From 2**23 (float32) or 2**52 (float64) every value is an integer and x + 1/2 would round.
    exact = sympy.Integer(2 ** (23 if x.dtype == "float32" else 52))
    expr = sympy.Piecewise((a, sympy.Abs(a) >= exact), (nearest - 1, sympy.And(tie, odd)), (nearest, True))
    return K.stop_gradient(B.ew(expr, x))


# ----------------------------------------------------------------------------- products and cumulative ops

def _take(x, axis, start, stop):
    return B.full_slice(x, axis, start, stop)


def _product_along(x, axis):
    """The product over one static axis, keeping it (size 1): halves multiplied pairwise."""
    n = x.shape[axis]
    if n == 0:
        return B.broadcast_to(O.constant(1, dtype=x.dtype), B.keepdims_shape(x.shape, (axis,)))
    leftovers = []
    while x.shape[axis] > 1:
        n = x.shape[axis]
        half = n // 2
        if n % 2:
            leftovers.append(_take(x, axis, n - 1, n))
        x = B.ew(X[0] * X[1], _take(x, axis, 0, half), _take(x, axis, half, 2 * half))
    for rest in leftovers:
        x = B.ew(X[0] * X[1], x, rest)
    return x


def prod(x, axis=None, keepdims=False):
    """The product of the elements over ``axis`` (all axes when None).

    Static axes are multiplied out pairwise (exact, with the exact gradient even at zeros). The
    symbolic batch axis has no static size to unroll: its product is
    ``sign * exp(sum(log|x|))`` (0 where a factor is 0), whose gradient at a zero factor is 0
    rather than the product of the others."""
    x = K._tensor(x)
    if x.dtype == "bool":
        x = K.cast(x, "int32")
    axes = dims.normalize_axes(axis, x.ndim)
    out = x
    for a in axes:
        if dims.is_static(out.shape[a]):
            out = _product_along(out, a)
    batch_axes = [a for a in axes if not dims.is_static(out.shape[a])]
    if batch_axes:
        if not out.dtype.startswith("float"):
            raise NotImplementedError("prod: an integer product over the batch axis (its size is known only "
                                      "when called, and integers have no log form)")
        magnitude = B.reduce("sum", B.ew(sympy.log(scalar.select(X[0], sympy.Abs(X[0]), 1)), out),
                             batch_axes, keepdims=True)
        negatives = B.reduce("sum", B.ew(scalar.less(X[0], 0), out), batch_axes, keepdims=True)
        zeros = B.reduce("max", B.ew(scalar.equal(X[0], 0), out), batch_axes, keepdims=True)
        sign = 1 - 2 * (X[1] - 2 * sympy.floor(X[1] / 2))
        out = B.ew(scalar.select(X[2], 0, sign * sympy.exp(X[0])), magnitude, K.stop_gradient(negatives),
                   K.stop_gradient(zeros))
    if not keepdims:
        out = B.reshape(out, tuple(d for i, d in enumerate(out.shape) if i not in axes))
    return out


def _scan(x, axis, combine, name):
    """Inclusive scan along a static axis in log2(n) steps: at step d each element takes in the
    one d before it (Hillis and Steele)."""
    x = K._tensor(x)
    axis = _axis(axis, x.ndim, name)
    n = x.shape[axis]
    if not dims.is_static(n):
        raise NotImplementedError(f"{name}: along an axis of unknown size, such as the batch axis (its size is "
                                  "known only when called, so the scan cannot be unrolled)")
    if x.dtype == "bool":
        x = K.cast(x, "int32")
    step = 1
    while step < n:
        head = _take(x, axis, 0, step)
        tail = B.ew(combine(X[0], X[1]), _take(x, axis, step, n), _take(x, axis, 0, n - step))
        x = O.Concat(axis)(head, tail)
        step *= 2
    return x


def cumsum(x, axis=0):
    """Cumulative sum along ``axis`` (a static axis)."""
    return _scan(x, axis, lambda a, b: a + b, "cumsum")


def cumprod(x, axis=0):
    """Cumulative product along ``axis`` (a static axis)."""
    return _scan(x, axis, lambda a, b: a * b, "cumprod")


# ----------------------------------------------------------------------------- shape manipulation

def stack(x, axis=0):
    """Stack a list of tensors of one shape along a new axis."""
    tensors = [K._tensor(t) for t in x]
    if not tensors:
        raise ValueError("stack: `x` must hold at least one tensor")
    rank = tensors[0].ndim
    axis = _axis(axis, rank + 1, "stack")
    for t in tensors[1:]:
        if t.shape != tensors[0].shape:
            raise ValueError(f"stack: every tensor must have the shape {K.int_shape(tensors[0])}, got "
                             f"{K.int_shape(t)}")
    parts = [K.expand_dims(t, axis) for t in tensors]
    return O.Concat(axis)(*parts) if len(parts) > 1 else parts[0]


def unstack(x, axis=0):
    """The tensors along a static ``axis``, as a list (the axis dropped)."""
    x = K._tensor(x)
    axis = _axis(axis, x.ndim, "unstack")
    n = x.shape[axis]
    if not dims.is_static(n):
        raise ValueError("unstack: an axis of unknown size, such as the batch axis, cannot be split into a list")
    key = [builtins.slice(None)] * x.ndim
    out = []
    for i in range(n):
        key[axis] = i
        out.append(B.getitem(x, tuple(key)))
    return out


def tile(x, n):
    """``x`` repeated ``n[i]`` times along each axis i (``n`` one int per axis; an int tiles a
    rank-1 tensor)."""
    x = K._tensor(x)
    reps = (n,) if isinstance(n, (int, np.integer)) else tuple(n)
    if isinstance(n, Node):
        raise TypeError("tile: `n` must be ints (a tensor of repeats would give a shape known only when called)")
    if len(reps) != x.ndim or not builtins.all(isinstance(r, (int, np.integer)) and r >= 0 for r in reps):
        raise ValueError(f"tile: `n` must be one non-negative int per axis of x (rank {x.ndim}), got {n!r}")
    if builtins.all(r == 1 for r in reps):
        return x
    spread = []
    for r, d in zip(reps, x.shape):
        spread += [int(r), d]
    wide = B.reshape(x, [1 if i % 2 == 0 else d for i, d in enumerate(spread)])
    return B.reshape(B.broadcast_to(wide, spread), [dims.as_dim(r * d) for r, d in zip(reps, x.shape)])


def arange(start, stop=None, step=1, dtype="int32"):
    """``[start, start + step, ...)`` below ``stop`` (one argument: ``[0, start)``); a negative
    single argument gives an empty tensor, as Keras."""
    if stop is None:
        start, stop = (0, start) if start >= 0 else (0, 0)
    if step == 0:
        raise ValueError("arange: `step` must not be 0")
    return O.constant(np.arange(start, stop, step).astype(K._float_dtype(dtype)))


def reverse(x, axes):
    """``x`` reversed along ``axes`` (an int or a list of ints)."""
    x = K._tensor(x)
    axes = dims.normalize_axes(axes, x.ndim)
    starts, stops, steps = [0] * x.ndim, list(x.shape), [1] * x.ndim
    for a in axes:
        starts[a], stops[a], steps[a] = x.shape[a] - 1, -1, -1
    return O.Slice(starts, stops, steps)(x) if axes else x


def slice(x, start, size):
    """``x[start[i] : start[i] + size[i]]`` per axis; a size of -1 takes the rest of the axis."""
    x = K._tensor(x)
    start, size = tuple(start), tuple(size)
    if len(start) != x.ndim or len(size) != x.ndim:
        raise ValueError(f"slice: `start` and `size` need one entry per axis of x (rank {x.ndim}), got "
                         f"{start} and {size}")
    starts, stops = [], []
    for axis, (d, a, n) in enumerate(zip(x.shape, start, size)):
        if not dims.is_static(d):
            if a != 0 or n not in (-1, d):
                raise ValueError("slice: an axis of unknown size, such as the batch axis, can only be taken whole "
                                 "(start 0, size -1)")
            starts.append(0), stops.append(d)
            continue
        a, n = int(a), int(n)
        stop = d if n == -1 else a + n
        if a < 0 or n < -1 or stop > d:
            raise ValueError(f"slice: start {a} and size {n} do not fit in axis {axis} of size {d}")
        starts.append(a), stops.append(stop)
    return O.Slice(starts, stops, [1] * x.ndim)(x)


# ----------------------------------------------------------------------------- tensors made like others

def _fill_like(x, value, dtype):
    x = K._tensor(x)
    dtype = K._float_dtype(dtype or x.dtype)
    return B.broadcast_to(O.constant(value, dtype=dtype), x.shape)


def zeros_like(x, dtype=None, name=None):
    """Zeros of x's shape (and dtype, unless given)."""
    return _fill_like(x, 0, dtype)


def ones_like(x, dtype=None, name=None):
    """Ones of x's shape (and dtype, unless given)."""
    return _fill_like(x, 1, dtype)


def identity(x, name=None):
    """A tensor with the value of ``x``."""
    return B.ew(X[0], K._tensor(x))


def eye(size, dtype=None, name=None):
    """An identity-matrix variable; ``size`` is n or (rows, columns)."""
    rows, cols = (size, size) if isinstance(size, (int, np.integer)) else tuple(size)
    return K.variable(np.eye(int(rows), int(cols)), dtype, name)


def cast_to_floatx(x):
    """``x`` as a NumPy array of dtype ``floatx()``."""
    return np.asarray(x, dtype=K.floatx())


def _variable_shape(shape_, name):
    shape_ = _static_shape(shape_, name)
    if not builtins.all(dims.is_static(d) for d in shape_):
        raise ValueError(f"{name}: a variable's shape must be known, got {dims.to_keras(shape_)}")
    return shape_


def random_uniform_variable(shape, low, high, dtype=None, name=None, seed=None):
    """A variable drawn uniformly from [low, high) (NumPy's generator, seeded by ``seed``)."""
    rng = session.global_random_state() if seed is None else np.random.RandomState(seed)
    return K.variable(rng.uniform(low, high, _variable_shape(shape, "random_uniform_variable")), dtype, name)


def random_normal_variable(shape, mean, scale, dtype=None, name=None, seed=None):
    """A variable drawn from a normal distribution of ``mean`` and standard deviation ``scale``."""
    rng = session.global_random_state() if seed is None else np.random.RandomState(seed)
    return K.variable(rng.normal(mean, scale, _variable_shape(shape, "random_normal_variable")), dtype, name)


def random_binomial(shape, p=0.0, dtype=None, seed=None):
    """1 with probability ``p``, else 0 (a uniform draw ``u <= p``)."""
    u = K.random_uniform(_static_shape(shape, "random_binomial"), dtype=dtype, seed=seed)
    return B.ew(scalar.less_equal(X[0], sympy.Float(p)), u)


TRUNCATED_DRAWS = 8


def truncated_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    """Normal numbers more than two standard deviations from the mean drawn again (as
    ``tf.truncated_normal``): the first of up to eight draws that falls within; if none does
    (probability 0.0455 ** 8, about 2e-11) the last draw clipped to the bounds."""
    shape = _static_shape(shape, "truncated_normal")
    first = K.random_normal(shape, dtype=dtype, seed=seed)
    state = first.inputs[0]
    draws = [first] + [O.Random("normal", shape, first.dtype, stream=k)(state) for k in range(1, TRUNCATED_DRAWS)]
    expr = scalar.clip(X[len(draws) - 1], -2, 2)
    for k in reversed(range(len(draws) - 1)):
        expr = sympy.Piecewise((X[k], sympy.Abs(X[k]) <= 2), (expr, True))
    return B.ew(sympy.Float(mean) + sympy.Float(stddev) * expr, *draws)

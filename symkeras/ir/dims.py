"""Shapes with a symbolic batch dimension.

A dimension is a Python int or a SymPy expression in the single symbol ``batch``; one
generated function therefore serves every batch size, and generated code evaluates the
expression at call time.
"""

import functools
import operator

import sympy

BATCH = sympy.Symbol("batch", integer=True, positive=True)


def as_dim(d):
    """Normalise a dimension: ``None`` means the batch size, integers stay ints."""
    if d is None:
        return BATCH
    if isinstance(d, sympy.Basic):
        d = sympy.sympify(d)
        return int(d) if d.is_Integer else d
    if isinstance(d, bool) or int(d) != d or int(d) < 0:
        raise ValueError(f"dimension: expected a non-negative integer or None, got {d!r}")
    return int(d)


def as_shape(shape):
    return tuple(as_dim(d) for d in shape)


def size(shape):
    """Number of elements: an int, or a SymPy expression in ``batch``."""
    return as_dim(functools.reduce(operator.mul, shape, 1))


def is_static(d):
    return isinstance(d, int)


def evaluate(d, batch):
    """The concrete value of a dimension for a given batch size."""
    if isinstance(d, int):
        return d
    return batch if d is BATCH else int(d.subs(BATCH, batch))


def concrete_shape(shape, batch):
    return tuple(evaluate(d, batch) for d in shape)


def to_keras(shape):
    """The Keras view of a shape: the batch dimension shows as None."""
    return tuple(d if isinstance(d, int) else None for d in shape)


def broadcast_shapes(*shapes):
    """NumPy broadcasting over symbolic shapes (a 1 stretches; equal dims match)."""
    rank = max((len(s) for s in shapes), default=0)
    out = []
    for axis in range(rank):
        dims = [s[axis - rank + len(s)] for s in shapes if axis - rank + len(s) >= 0]
        known = {d for d in dims if d != 1}
        if len(known) > 1:
            raise ValueError(f"shapes {[to_keras(s) for s in shapes]} do not broadcast")
        out.append(known.pop() if known else 1)
    return tuple(out)


def normalize_axes(axes, rank):
    """Axes as a sorted tuple of non-negative ints; None means all axes."""
    if axes is None:
        return tuple(range(rank))
    if isinstance(axes, int):
        axes = (axes,)
    result = []
    for a in axes:
        a = int(a)
        if not -rank <= a < rank:
            raise ValueError(f"axis {a} is out of range for a tensor of rank {rank}")
        result.append(a % rank)
    return tuple(sorted(set(result)))


def shape_function(shape):
    """A fast ``batch -> concrete shape`` function (no SymPy at call time: per-call hot path)."""
    if all(is_static(d) for d in shape):
        fixed = tuple(shape)
        return lambda batch: fixed
    parts = ", ".join(str(d) if is_static(d) else f"({sympy.pycode(d)})" for d in shape)
    return eval(f"lambda batch: ({parts},)", {"math": __import__("math")})

"""Shapes with a symbolic batch dimension.

A dimension is a Python int or a SymPy expression in the single symbol ``batch``; one
generated function therefore serves every batch size, and generated code evaluates the
expression at call time.
"""

import fractions
import functools
import math
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
    if shape[0] == BATCH and all(is_static(d) for d in shape[1:]):
        rest = tuple(shape[1:])
        return lambda batch: (batch,) + rest
    parts = [dim_function(d) for d in shape]
    return lambda batch: tuple(part(batch) for part in parts)


# ----------------------------------------------------------------------------- dimensions as data
# A dimension stored outside the process (the cache of rendered functions) is a small JSON tree of
# a few node kinds, decoded without parsing text: an int, "batch", ["add", ...], ["mul", ...],
# ["pow", base, exponent], ["rational", p, q]. Anything else is refused.

_MAX_DEPTH = 16
_MAX_EXPONENT = 8
_MAX_INT = 2 ** 63


def encode(d):
    """``d`` as a JSON-able tree (ValueError for expressions outside the allow-list)."""
    if isinstance(d, int):
        return d
    if d == BATCH:
        return "batch"
    if d.is_Integer:
        return int(d)
    if d.is_Rational:
        return ["rational", int(d.p), int(d.q)]
    if d.is_Add or d.is_Mul:
        return ["add" if d.is_Add else "mul"] + [encode(a) for a in d.args]
    if d.is_Pow and d.exp.is_Integer and 1 <= int(d.exp) <= _MAX_EXPONENT:
        return ["pow", encode(d.base), int(d.exp)]
    raise ValueError(f"dimension {d}: only sums, products and small powers of integers and the batch "
                     "size can be stored")


def decode(tree):
    """The dimension ``encode`` made of ``tree``; ValueError for anything else."""
    d = _decode(tree, 0)
    if is_static(d) and d < 0:
        raise ValueError(f"dimension: negative size {d}")
    encode(d)       # SymPy may have combined the parts into something outside the allow-list
    return d


def _decode(tree, depth):
    if depth > _MAX_DEPTH:
        raise ValueError("dimension: expression nested too deeply")
    if type(tree) is int:
        if abs(tree) >= _MAX_INT:
            raise ValueError(f"dimension: integer {tree} out of range")
        return tree
    if tree == "batch":
        return BATCH
    if type(tree) is not list or not tree or tree[0] not in ("add", "mul", "pow", "rational"):
        raise ValueError(f"dimension: unexpected {type(tree).__name__} in a stored shape")
    kind, args = tree[0], tree[1:]
    if kind == "rational":
        if len(args) != 2 or any(type(a) is not int or abs(a) >= _MAX_INT for a in args) or args[1] <= 0:
            raise ValueError("dimension: a rational needs two integers, the second positive")
        return as_dim(sympy.Rational(*args))
    if kind == "pow":
        if len(args) != 2 or type(args[1]) is not int or not 1 <= args[1] <= _MAX_EXPONENT:
            raise ValueError(f"dimension: a power needs an integer exponent in [1, {_MAX_EXPONENT}]")
        return as_dim(sympy.Pow(_sympy(_decode(args[0], depth + 1)), args[1]))
    if len(args) < 2:
        raise ValueError(f"dimension: {kind} needs at least two terms")
    terms = [_sympy(_decode(a, depth + 1)) for a in args]
    return as_dim(sympy.Add(*terms) if kind == "add" else sympy.Mul(*terms))


def _sympy(d):
    return sympy.Integer(d) if isinstance(d, int) else d


def dim_function(d):
    """``batch -> int`` for a dimension, built from its allow-listed parts (no eval)."""
    if isinstance(d, int):
        return lambda batch: d
    if d == BATCH:
        return lambda batch: batch
    exact = _exact_function(d)
    return lambda batch: int(exact(batch))


def _exact_function(d):
    """``batch -> int or Fraction`` for an expression of encode's node kinds."""
    if d == BATCH:
        return lambda batch: batch
    if d.is_Integer:
        value = int(d)
        return lambda batch: value
    if d.is_Rational:
        value = fractions.Fraction(int(d.p), int(d.q))
        return lambda batch: value
    if d.is_Pow and d.exp.is_Integer and 1 <= int(d.exp) <= _MAX_EXPONENT:
        base, exponent = _exact_function(d.base), int(d.exp)
        return lambda batch: base(batch) ** exponent
    if d.is_Add or d.is_Mul:
        terms = [_exact_function(a) for a in d.args]
        if d.is_Add:
            return lambda batch: sum(t(batch) for t in terms)
        return lambda batch: math.prod(t(batch) for t in terms)
    raise ValueError(f"dimension {d}: not a sum, product or small power of integers and the batch size")

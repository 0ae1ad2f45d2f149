"""Shapes with symbolic sizes.

A dimension is a Python int or a SymPy expression in size symbols: ``batch``, and one symbol
per other unknown axis of an input (``size_symbol``, named after the input and the axis). One
generated function therefore serves every value of them, and generated code evaluates the
expressions at call time. A function's sizes are ``batch`` first, then its other symbols in the
order its inputs show them (``sizes_of``); size functions take them in that order.
"""

import fractions
import functools
import math
import operator
import re

import sympy

BATCH = sympy.Symbol("batch", integer=True, positive=True)

# A size symbol's name reaches generated code as a local and an argument: an identifier only.
_SIZE_NAME = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,63}\Z")


def size_symbol(name):
    """The size symbol called ``name`` (an identifier, not ``batch``): the unknown size of one
    axis of an input. Equal names give the same symbol."""
    if type(name) is not str or not _SIZE_NAME.match(name) or name == BATCH.name:
        raise ValueError(f"size symbol: {name!r} is not an identifier other than 'batch'")
    return sympy.Symbol(name, integer=True, positive=True)


def is_size_symbol(s):
    return isinstance(s, sympy.Symbol) and s.is_integer is True and s.is_positive is True


def symbols_in(d):
    """The size symbols a dimension depends on."""
    return set() if isinstance(d, int) else {s for s in d.free_symbols if is_size_symbol(s)}


def is_integer_polynomial(d):
    """Whether ``d`` is an int or a polynomial with integer coefficients in its size symbols."""
    if isinstance(d, int):
        return True
    symbols = sorted(symbols_in(d), key=str)
    return d.is_Integer if not symbols else (d.is_polynomial(*symbols) and sympy.Poly(d, *symbols).domain == sympy.ZZ)


def sizes_of(shapes):
    """``(batch, *others)``: the size symbols of ``shapes`` in order of first appearance."""
    found = [BATCH]
    for shape in shapes:
        for d in shape:
            if isinstance(d, sympy.Symbol) and d not in found:
                found.append(d)
            for s in sorted(symbols_in(d) - set(found), key=str):
                found.append(s)
    return tuple(found)


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
    """The Keras view of a shape: every symbolic dimension shows as None."""
    return tuple(d if isinstance(d, int) else None for d in shape)


def describe(shape):
    """A shape as comments of generated code show it: None for the batch size, other unknown
    sizes by their expressions, ``(None, signal_1, 8)``."""
    shown = tuple(d if is_static(d) else None if symbols_in(d) <= {BATCH} else str(d) for d in shape)
    return str(shown).replace("'", "")


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


def shape_function(shape, sizes=(BATCH,)):
    """A fast ``(*sizes) -> concrete shape`` function (no SymPy at call time: per-call hot path);
    ``sizes`` are the symbols it takes, in order."""
    if all(is_static(d) for d in shape):
        fixed = tuple(shape)
        return lambda *values: fixed
    if shape[0] == BATCH and all(is_static(d) for d in shape[1:]):
        rest = tuple(shape[1:])
        return lambda batch, *others: (batch,) + rest
    parts = [dim_function(d, sizes) for d in shape]
    return lambda *values: tuple(part(*values) for part in parts)


# ----------------------------------------------------------------------------- dimensions as data
# A dimension stored outside the process (the cache of rendered functions) is a small JSON tree of
# a few node kinds, decoded without parsing text: an int, "batch", ["size", name] (a size symbol,
# its name an identifier), ["add", ...], ["mul", ...], ["pow", base, exponent], ["rational", p, q].
# Anything else is refused.

_MAX_DEPTH = 16
_MAX_EXPONENT = 8
_MAX_INT = 2 ** 63


def encode(d):
    """``d`` as a JSON-able tree (ValueError for expressions outside the allow-list)."""
    if isinstance(d, int):
        return d
    if d == BATCH:
        return "batch"
    if is_size_symbol(d):
        return ["size", d.name]
    if d.is_Integer:
        return int(d)
    if d.is_Rational:
        return ["rational", int(d.p), int(d.q)]
    if d.is_Add or d.is_Mul:
        return ["add" if d.is_Add else "mul"] + [encode(a) for a in d.args]
    if d.is_Pow and d.exp.is_Integer and 1 <= int(d.exp) <= _MAX_EXPONENT:
        return ["pow", encode(d.base), int(d.exp)]
    raise ValueError(f"dimension {d}: only sums, products and small powers of integers and size symbols "
                     "can be stored")


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
    if type(tree) is not list or not tree or tree[0] not in ("add", "mul", "pow", "rational", "size"):
        raise ValueError(f"dimension: unexpected {type(tree).__name__} in a stored shape")
    kind, args = tree[0], tree[1:]
    if kind == "size":
        if len(args) != 1:
            raise ValueError("dimension: a size symbol needs one name")
        return size_symbol(args[0])
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


def dim_function(d, sizes=(BATCH,)):
    """``(*sizes) -> int`` for a dimension, built from its allow-listed parts (no eval); ``sizes``
    are the symbols it takes, in order."""
    if isinstance(d, int):
        return lambda *values: d
    if d == BATCH:
        return lambda batch, *others: batch
    missing = symbols_in(d) - set(sizes)
    if missing:
        raise ValueError(f"dimension {d}: {sorted(map(str, missing))} not among the sizes {list(sizes)}")
    exact = _exact_function(d, {s: i for i, s in enumerate(sizes)})
    return lambda *values: int(exact(values))


def _exact_function(d, position):
    """``values -> int or Fraction`` for an expression of encode's node kinds; ``values[position[s]]``
    is the value of size symbol ``s``."""
    if d in position:
        i = position[d]
        return lambda values: values[i]
    if d.is_Integer:
        value = int(d)
        return lambda values: value
    if d.is_Rational:
        value = fractions.Fraction(int(d.p), int(d.q))
        return lambda values: value
    if d.is_Pow and d.exp.is_Integer and 1 <= int(d.exp) <= _MAX_EXPONENT:
        base, exponent = _exact_function(d.base, position), int(d.exp)
        return lambda values: base(values) ** exponent
    if d.is_Add or d.is_Mul:
        terms = [_exact_function(a, position) for a in d.args]
        if d.is_Add:
            return lambda values: sum(t(values) for t in terms)
        return lambda values: math.prod(t(values) for t in terms)
    raise ValueError(f"dimension {d}: not a sum, product or small power of integers and size symbols")

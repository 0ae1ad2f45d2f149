"""Small constructors used by gradient rules, passes and the backend API.

They create nodes only; nothing is computed here.
"""

import operator

import sympy

from symkeras.ir import dims, scalar
from symkeras.ir import ops as O
from symkeras.ir.node import Node

X = scalar.X


def ew(expr, *inputs, dtype=None):
    return O.Elemwise(_booleans_as_numbers(sympy.sympify(expr), inputs), dtype)(*inputs)


def _booleans_as_numbers(expr, inputs):
    """A bool operand read as the number 0 or 1 (``select(b, 1, 0)``), so that every backend
    computes with it in the kernel's type (NumPy's ``True + True`` is ``True``); a bool read only
    as a condition (``b != 0``) stays as it is."""
    bools = [X[i] for i, x in enumerate(inputs) if x.dtype == "bool" and X[i] in expr.free_symbols]
    if not bools:
        return expr
    held = {sympy.Ne(b, 0): sympy.Dummy() for b in bools}
    expr = expr.xreplace(held)
    expr = expr.xreplace({b: scalar.select(b, 1, 0) for b in bools})
    return expr.xreplace({d: cond for cond, d in held.items()})


def add_n(terms):
    terms = [t for t in terms if t is not None]
    if len(terms) == 1:
        return terms[0]
    return ew(sympy.Add(*X[:len(terms)]), *terms)


def reshape(x, shape):
    shape = dims.as_shape(shape)
    return x if shape == x.shape else O.Reshape(shape)(x)


def transpose(x, perm):
    perm = tuple(perm)
    return x if perm == tuple(range(x.ndim)) else O.Transpose(perm)(x)


def broadcast_to(x, shape):
    shape = dims.as_shape(shape)
    return x if x.shape == shape else O.BroadcastTo(shape)(x)


def reduce(kind, x, axes=None, keepdims=False):
    """Reduce over any set of axes, as a chain of contiguous-run ``Reduce`` nodes."""
    axes = dims.normalize_axes(axes, x.ndim)
    if not axes:
        return x
    runs, run = [], [axes[0]]
    for a in axes[1:]:
        if a == run[-1] + 1:
            run.append(a)
        else:
            runs.append(run)
            run = [a]
    runs.append(run)
    out = x
    for run in reversed(runs):   # from the last run so earlier axis numbers stay valid
        out = O.Reduce(kind, run, keepdims)(out)
    return out


def mean(x, axes=None, keepdims=False):
    axes = dims.normalize_axes(axes, x.ndim)
    count = dims.size([x.shape[a] for a in axes])
    return ew(X[0] / count, reduce("sum", x, axes, keepdims))


def keepdims_shape(shape, axes):
    return tuple(1 if i in axes else d for i, d in enumerate(shape))


def unbroadcast(g, shape):
    """Sum a gradient over the axes that broadcasting stretched, back to ``shape``."""
    shape = dims.as_shape(shape)
    if g.shape == shape:
        return g
    lead = g.ndim - len(shape)
    axes = list(range(lead))
    axes += [lead + i for i, d in enumerate(shape) if d == 1 and g.shape[lead + i] != 1]
    return reshape(reduce("sum", g, axes, keepdims=False), shape)


def matmul(a, b, transpose_a=False, transpose_b=False):
    return O.MatMul(transpose_a, transpose_b)(a, b)


def zeros_like(x):
    return broadcast_to(O.constant(0, dtype=x.dtype), x.shape)


def is_float(node):
    return node.dtype.startswith("float")


def full_slice(x, axis, start, stop, step=1):
    starts = [0] * x.ndim
    stops = list(x.shape)
    steps = [1] * x.ndim
    starts[axis], stops[axis], steps[axis] = start, stop, step
    return O.Slice(starts, stops, steps)(x)


__all__ = ["ew", "add_n", "reshape", "transpose", "broadcast_to", "reduce", "mean", "unbroadcast",
           "matmul", "zeros_like", "is_float", "full_slice", "keepdims_shape", "dim_scalar", "dims_tensor",
           "Node"]


def getitem(x, key):
    """``x[key]`` for ints, slices and Ellipsis (NumPy basic indexing; the batch axis whole)."""
    key = key if isinstance(key, tuple) else (key,)
    if sum(k is Ellipsis for k in key) > 1:
        raise IndexError("an index can only have a single ellipsis ('...')")
    if Ellipsis in key:
        at = key.index(Ellipsis)
        key = key[:at] + (slice(None),) * (x.ndim - len(key) + 1) + key[at + 1:]
    if len(key) > x.ndim:
        raise IndexError(f"too many indices for a tensor of rank {x.ndim}")
    key = key + (slice(None),) * (x.ndim - len(key))
    starts, stops, steps, drop = [], [], [], []
    for axis, (k, d) in enumerate(zip(key, x.shape)):
        if not dims.is_static(d):
            if k != slice(None):
                raise IndexError("the batch axis can only be taken whole (`:`)")
            starts.append(0), stops.append(d), steps.append(1)
        elif isinstance(k, slice):
            start, stop, step = k.indices(d)
            starts.append(start), stops.append(stop), steps.append(step)
        elif isinstance(k, int) or hasattr(k, "__index__"):
            i = int(k)
            if not -d <= i < d:
                raise IndexError(f"index {i} is out of bounds for axis {axis} with size {d}")
            i %= d
            starts.append(i), stops.append(i + 1), steps.append(1)
            drop.append(axis)
        else:
            raise TypeError(f"unsupported index {k!r}: use ints, slices or ...")
    if all(s == slice(None) for s in key):
        return x
    return O.Slice(starts, stops, steps, drop)(x)


# ----------------------------------------------------------------------------- Python operators
# ``x + y``, ``-x``, ``abs(x)``, ``x[i]`` on nodes: defined here, beside the constructors they stand
# for, and installed on Node once (node.py stays free of ops and build; see its docstring).

def _operand(node, other):
    """A Python number beside a float tensor takes the tensor's dtype, a float beside a bool one
    float32; a dimension that holds the batch size (``K.shape(x)[0]``) becomes a scalar computed
    at call time."""
    if isinstance(other, Node):
        return other
    if isinstance(other, sympy.Basic) and other.free_symbols:
        return dim_scalar(other, node.dtype if is_float(node) else "int32")
    if node.dtype == "bool" and isinstance(other, float):
        return O.constant(other, dtype="float32")
    return O.constant(other, dtype=node.dtype if is_float(node) else None)


def dim_scalar(d, dtype="int32"):
    """A scalar node holding the dimension ``d`` (an int, or an expression in the batch size)."""
    return ew(sympy.sympify(d), dtype=dtype)


def dims_tensor(values, dtype="int32"):
    """A rank-1 tensor of dimensions (a shape), the batch-dependent ones computed at call time."""
    values = [dims.as_dim(d) for d in values]
    if all(isinstance(d, int) for d in values):
        return O.constant([int(d) for d in values], dtype=dtype)
    parts = [reshape(dim_scalar(d, dtype), (1,)) for d in values]
    return O.Concat(0)(*parts) if len(parts) > 1 else parts[0]


def _binary(combine, reflected=False):
    def method(self, other):
        other = _operand(self, other)
        a, b = (other, self) if reflected else (self, other)
        return ew(combine(X[0], X[1]), a, b)
    return method


def _unary(apply):
    def method(self):
        return ew(apply(X[0]), self)
    return method


def _compare(relation):
    """``x < y`` and the like: an elementwise bool tensor. (``==`` and ``!=`` keep Python's
    identity, which graphs and caches rely on: ``K.equal`` compares elements.)"""
    def method(self, other):
        return ew(sympy.Piecewise((1, relation(X[0], X[1])), (0, True)), self, _operand(self, other),
                  dtype="bool")
    return method


def _logical(combine, name):
    def method(self, other):
        other = other if isinstance(other, Node) else O.constant(bool(other), dtype="bool")
        for x in (self, other):
            if x.dtype != "bool":
                raise TypeError(f"operator {name}: expected bool tensors, got {x.dtype}")
        cond = combine(sympy.Ne(X[0], 0), sympy.Ne(X[1], 0))
        return ew(sympy.Piecewise((1, cond), (0, True)), self, other, dtype="bool")
    return method


def _invert(self):
    if self.dtype != "bool":
        raise TypeError(f"operator ~: expected a bool tensor, got {self.dtype}")
    return ew(sympy.Piecewise((1, sympy.Eq(X[0], 0)), (0, True)), self, dtype="bool")


def _no_truth_value(self):
    raise TypeError("a symbolic tensor has no truth value when the graph is built: use K.switch, "
                    "K.in_train_phase or K.any/K.all (a layer's `training` flag is a Python bool)")


def _not_iterable(self):
    raise TypeError("a symbolic tensor is not iterable; index it with x[i] or slice it with x[a:b]")


NODE_OPERATORS = {
    "__add__": _binary(operator.add), "__radd__": _binary(operator.add, reflected=True),
    "__sub__": _binary(operator.sub), "__rsub__": _binary(operator.sub, reflected=True),
    "__mul__": _binary(operator.mul), "__rmul__": _binary(operator.mul, reflected=True),
    "__truediv__": _binary(operator.truediv), "__rtruediv__": _binary(operator.truediv, reflected=True),
    "__pow__": _binary(operator.pow), "__rpow__": _binary(operator.pow, reflected=True),
    "__neg__": _unary(operator.neg), "__abs__": _unary(abs),
    "__getitem__": getitem, "__iter__": _not_iterable,
    "__lt__": _compare(operator.lt), "__le__": _compare(operator.le),
    "__gt__": _compare(operator.gt), "__ge__": _compare(operator.ge),
    "__and__": _logical(sympy.And, "&"), "__rand__": _logical(sympy.And, "&"),
    "__or__": _logical(sympy.Or, "|"), "__ror__": _logical(sympy.Or, "|"),
    "__xor__": _logical(sympy.Xor, "^"), "__rxor__": _logical(sympy.Xor, "^"),
    "__invert__": _invert, "__bool__": _no_truth_value,
    # NumPy arrays and scalars defer to these operators rather than making arrays of nodes.
    "__array_ufunc__": None,
}
for _name, _method in NODE_OPERATORS.items():
    setattr(Node, _name, _method)

"""Scalar expressions for elementwise ops, written once in SymPy.

Every elementwise op holds a SymPy expression over the operand symbols ``x0, x1, ...``.
Its derivative is ``sympy.diff`` of that expression. Non-smooth points follow
TensorFlow: relu'(0) = 0, abs'(0) = 0 (sign), clip passes the gradient on
[lo, hi] inclusive, maximum/minimum give the gradient to the first operand on ties.
Those conventions come from writing such functions as ``Piecewise``.
"""

import functools

import sympy
from sympy.codegen.cfunctions import expm1, log1p  # noqa: F401  (printed as C99 log1pf/expm1f)

X = tuple(sympy.Symbol(f"x{i}", real=True) for i in range(64))
X[0] + X[1]   # SymPy imports its tensor module on the first Add: pay for it at import time


def operand(i):
    return X[i]


class sigmoid(sympy.Function):
    """1 / (1 + e^-x), evaluated in generated code without overflow."""

    def fdiff(self, argindex=1):
        s = sigmoid(self.args[0])
        return s * (1 - s)


class softplus(sympy.Function):
    """log(1 + e^x), evaluated in generated code without overflow."""

    def fdiff(self, argindex=1):
        return sigmoid(self.args[0])


def relu(x):
    return sympy.Piecewise((x, x > 0), (0, True))


def maximum(a, b):
    return sympy.Piecewise((a, a >= b), (b, True))


def minimum(a, b):
    return sympy.Piecewise((a, a <= b), (b, True))


def clip(x, lo, hi):
    return sympy.Piecewise((lo, x < lo), (hi, x > hi), (x, True))


def select(cond, a, b):
    """cond != 0 ? a : b."""
    return sympy.Piecewise((a, sympy.Ne(cond, 0)), (b, True))


def greater(a, b):
    return sympy.Piecewise((1, a > b), (0, True))


def greater_equal(a, b):
    return sympy.Piecewise((1, a >= b), (0, True))


def less(a, b):
    return sympy.Piecewise((1, a < b), (0, True))


def less_equal(a, b):
    return sympy.Piecewise((1, a <= b), (0, True))


def equal(a, b):
    return sympy.Piecewise((1, sympy.Eq(a, b)), (0, True))


def not_equal(a, b):
    return sympy.Piecewise((1, sympy.Ne(a, b)), (0, True))


def sign(x):
    return sympy.sign(x)


@functools.lru_cache(maxsize=4096)
def derivative(expr, i):
    """d expr / d x_i, with Piecewise derivatives cleaned of impossible branches.

    The distributional parts (``DiracDelta`` from sign/Heaviside) are dropped: like
    TensorFlow, the gradient of sign is zero everywhere, and no backend can print them.
    """
    d = sympy.diff(expr, X[i])
    d = d.doit() if d.has(sympy.Derivative) else d
    return d.replace(sympy.DiracDelta, lambda *args: sympy.S.Zero) if d.has(sympy.DiracDelta) else d


def arity(expr):
    """Number of operand symbols an expression may reference (highest index + 1)."""
    used = [X.index(s) for s in expr.free_symbols if s in X]
    return max(used) + 1 if used else 0

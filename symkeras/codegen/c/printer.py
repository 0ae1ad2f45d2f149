"""SymPy → C99 expression printers for the C backend, one per compute type.

``C99CodePrinter`` with ``type_aliases={real: float32}`` already picks ``expf``/``logf``/
``sqrtf``, but it prints ``x**2`` as ``powf(x, 2)``, ``Piecewise`` across several lines,
``pi`` as ``M_PI`` (not C99) and ``batch`` as an int64 in float math. The printers here fix
that and name the generated code's locals: operand ``x<k>`` prints as ``sk_x<k>``. The
``sk_sigmoid``/``sk_softplus``/``sk_mod`` helpers they call are defined by the template.

Float32 discipline: a float32 kernel does no hidden double math — float functions, ``f``
literals, ``(float)batch``.
"""

import numpy as np
import sympy
from sympy.codegen.ast import float32, float64, real
from sympy.printing.c import C99CodePrinter
from sympy.printing.precedence import PRECEDENCE, precedence

from symkeras.ir import dims, scalar

OPERAND_NAMES = {x: f"sk_x{i}" for i, x in enumerate(scalar.X)}


class _CPrinter(C99CodePrinter):
    """Rules every generated-C printer shares: ternaries, comparisons, C99 booleans."""

    def _print_Piecewise(self, expr):
        pieces = list(expr.args)
        if pieces[-1].cond == sympy.true:
            code = self._print(pieces.pop().expr)
        else:
            code = self.no_branch                       # no branch taken: NumPy's select default
        for value, cond in reversed(pieces):
            code = f"(({self._print(cond)}) ? {self._print(value)} : {code})"
        return code

    def _print_Relational(self, expr):
        lhs = self.parenthesize(expr.lhs, precedence(expr))
        rhs = self.parenthesize(expr.rhs, precedence(expr))
        return f"{lhs} {expr.rel_op} {rhs}"

    def _print_BooleanTrue(self, expr):                 # C99 without <stdbool.h> has no `true`
        return "1"

    def _print_BooleanFalse(self, expr):
        return "0"


class _FloatPrinter(_CPrinter):
    """Shared rules; subclasses fix the C type, the literal suffix and the function suffix."""

    no_branch = "NAN"

    ctype = "double"
    literal_suffix = ""
    numpy_type = np.float64
    sympy_type = float64

    def __init__(self):
        fs = "f" if self.ctype == "float" else ""
        super().__init__(settings={
            "type_aliases": {real: self.sympy_type},
            # float's tanh is the template's vectorisable one (see helpers.j2); double's is libm's.
            "user_functions": {"sigmoid": f"sk_sigmoid{fs}", "softplus": f"sk_softplus{fs}",
                               **({"tanh": "sk_tanhf"} if fs else {})},
        })
        self.math_suffix = fs

    # ------------------------------------------------------------------ names
    def _print_Symbol(self, symbol):
        if symbol in OPERAND_NAMES:
            return OPERAND_NAMES[symbol]
        if dims.is_size_symbol(symbol):
            return f"(({self.ctype}){symbol.name})"
        return symbol.name

    # ------------------------------------------------------------------ literals
    def literal(self, value):
        """A C literal of the compute type that parses back to exactly the rounded value."""
        value = self.numpy_type(value)
        if np.isnan(value):
            return "NAN"
        if np.isinf(value):
            return "INFINITY" if value > 0 else "(-INFINITY)"
        text = str(value) if self.numpy_type is np.float32 else repr(float(value))
        if "e" not in text and "." not in text:
            text += ".0"
        if text.startswith("-"):
            return f"({text}{self.literal_suffix})"
        return text + self.literal_suffix

    def _print_Float(self, flt):
        return self.literal(float(flt))

    def _print_Rational(self, expr):
        p, q = int(expr.p), int(expr.q)
        if q & (q - 1) == 0 and abs(p) < 2 ** 24:      # a power-of-two denominator is exact
            return self.literal(p / q)
        one = self.literal_suffix
        return f"{p}.0{one}/{q}.0{one}"

    def _print_NumberSymbol(self, expr):              # pi, E, ... (M_PI is not C99)
        return self.literal(float(expr.evalf(20)))

    _print_Pi = _print_Exp1 = _print_NumberSymbol

    def _print_Infinity(self, expr):
        return "INFINITY"

    def _print_NegativeInfinity(self, expr):
        return "(-INFINITY)"

    def _print_NaN(self, expr):
        return "NAN"

    # ------------------------------------------------------------------ powers
    def _print_Pow(self, expr):
        base, exp = expr.base, _exact_exponent(expr.exp)
        one = self.literal(1.0)
        if exp.is_Integer and 2 <= abs(int(exp)) <= 4:
            factor = self.parenthesize(base, PRECEDENCE["Mul"])
            product = "*".join([factor] * abs(int(exp)))
            return f"({product})" if exp > 0 else f"{one}/({product})"   # () so a/(t*t) stays right
        if exp == -1:
            return f"{one}/{self.parenthesize(base, PRECEDENCE['Mul'])}"
        if exp == sympy.S.Half:
            return f"sqrt{self.math_suffix}({self._print(base)})"
        if exp == -sympy.S.Half:
            return f"{one}/sqrt{self.math_suffix}({self._print(base)})"
        if exp == sympy.Rational(1, 3):
            return f"cbrt{self.math_suffix}({self._print(base)})"
        if base == sympy.E:
            return f"exp{self.math_suffix}({self._print(exp)})"
        return f"pow{self.math_suffix}({self._print(base)}, {self._print_exponent(exp)})"

    def _print_exponent(self, exp):
        if exp.is_Integer:
            return self.literal(int(exp))
        return self._print(exp)

    # ------------------------------------------------------------------ control flow
    def _print_sign(self, expr):
        arg = self._print(expr.args[0])
        return f"(({self.ctype})(({arg} > 0) - ({arg} < 0)))"

    def _print_Mod(self, expr):                         # Python/NumPy sign convention
        return f"sk_mod{self.math_suffix}({self._print(expr.args[0])}, {self._print(expr.args[1])})"


def _exact_exponent(exp):
    """A Float exponent equal to an integer or a half (``x**0.5``) as the exact Rational."""
    if exp.is_Float and float(exp * 2).is_integer():
        return sympy.Rational(int(exp * 2), 2)
    return exp


class Float32Printer(_FloatPrinter):
    ctype = "float"
    literal_suffix = "f"
    numpy_type = np.float32
    sympy_type = float32


class Float64Printer(_FloatPrinter):
    ctype = "double"
    literal_suffix = ""
    numpy_type = np.float64
    sympy_type = float64


class Round64(sympy.Function):
    """A byte count rounded up to a multiple of 64 (printed as the template's SK_ROUND64)."""


class IntegerPrinter(_CPrinter):
    """Integer compute (int64 kernels) and index/size expressions in ``batch``."""

    no_branch = "0"

    def _print_Symbol(self, symbol):
        return OPERAND_NAMES.get(symbol, symbol.name)

    def _print_Pow(self, expr):
        if expr.exp.is_Integer and 2 <= int(expr.exp) <= 4:
            factor = self.parenthesize(expr.base, PRECEDENCE["Mul"])
            return "(" + "*".join([factor] * int(expr.exp)) + ")"
        return super()._print_Pow(expr)

    def _print_sign(self, expr):
        arg = self._print(expr.args[0])
        return f"(({arg} > 0) - ({arg} < 0))"

    def _print_Round64(self, expr):
        return f"SK_ROUND64({self._print(expr.args[0])})"


def printer_for(dtype):
    """A fresh printer for a kernel computing in ``dtype``."""
    if dtype == "float32":
        return Float32Printer()
    if dtype == "float64":
        return Float64Printer()
    return IntegerPrinter()


_INDEX_PRINTER = IntegerPrinter()


def dim(expr):
    """An int or a SymPy expression in the size symbols as a C integer expression (each symbol is a
    local of its name)."""
    if isinstance(expr, (int, np.integer)):
        return str(int(expr))
    expr = sympy.sympify(expr)
    if expr.is_Integer:
        return str(int(expr))
    return _INDEX_PRINTER.doprint(expr)


def dim_term(expr):
    """``dim`` parenthesised when it is not a single name or number (for use in products)."""
    code = dim(expr)
    return code if code.isidentifier() or code.isdigit() else f"({code})"

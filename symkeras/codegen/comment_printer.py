"""Kernel expressions as readable math for the comments of generated code.

The code printers spell what runs (``np.where(np.greater_equal(...))``, ``sk_x1``); a comment says
what it means: ``t8 = where(t7 >= 0.1, 1.1111112*t6, 0)`` in Python, ``t7 >= 0.1 ? 1.1111112f*t6 :
0`` style ternaries in C, operands by their buffer names, float literals as short as their dtype
allows. The text is returned raw: the caller passes it through ``names.c_comment`` or
``names.python_comment``.
"""

import numpy as np
import sympy
from sympy.printing.str import StrPrinter

from symkeras.ir import scalar

_RELATIONS = {"==": "==", "!=": "!=", "<": "<", "<=": "<=", ">": ">", ">=": ">="}


class _CommentPrinter(StrPrinter):
    def __init__(self, operands, dtype):
        super().__init__()
        self.operands = operands            # x<k> -> the operand's name
        self.dtype = dtype

    def _print_Symbol(self, expr):
        return self.operands.get(expr, expr.name)

    def _print_Float(self, expr):
        # The shortest text that rounds to the kernel's value: 1.1111112, not 1.11111111111111.
        return str(np.float32(expr)) if self.dtype == "float32" else repr(float(expr))

    def _print_Relational(self, expr):
        return f"{self._print(expr.lhs)} {_RELATIONS[expr.rel_op]} {self._print(expr.rhs)}"

    def _print_Abs(self, expr):
        return f"abs({self._print(expr.args[0])})"

    def _print_BooleanTrue(self, expr):
        return "true"


class _PythonPrinter(_CommentPrinter):
    def _print_Piecewise(self, expr):
        result = None
        for value, cond in reversed(expr.args):
            printed = self._print(value)
            result = printed if cond == sympy.true else f"where({self._print(cond)}, {printed}, {result})"
        return result


class _CPrinter(_CommentPrinter):
    def _print_Piecewise(self, expr):
        result = None
        for value, cond in reversed(expr.args):
            printed = self._print(value)
            result = printed if cond == sympy.true else f"({self._print(cond)} ? {printed} : {result})"
        return result


def _assignments(printer_type, outputs, exprs, operands, dtype):
    printer = printer_type({scalar.X[i]: name for i, name in enumerate(operands)}, dtype)
    return "; ".join(f"{out} = {_unwrapped(printer.doprint(e))}" for out, e in zip(outputs, exprs))


def _unwrapped(text):
    """Without parentheses around the whole of it (they add nothing after ``=``)."""
    if not (text.startswith("(") and text.endswith(")")):
        return text
    depth = 0
    for i, char in enumerate(text):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and i < len(text) - 1:
            return text
    return text[1:-1]


def python_math(outputs, exprs, operands, dtype):
    """``out = expr; …`` of an elementwise kernel, Python-flavoured (``where(c, a, b)``)."""
    return _assignments(_PythonPrinter, outputs, exprs, operands, dtype)


def c_math(outputs, exprs, operands, dtype):
    """``out = expr; …`` of an elementwise kernel, C-flavoured (``c ? a : b``)."""
    return _assignments(_CPrinter, outputs, exprs, operands, dtype)

"""Kernel comments print readable math over named operands, in each language's idiom."""

import sympy

from symkeras.codegen.comment_printer import c_math, python_math
from symkeras.ir import scalar

X = scalar.X
DROPOUT = sympy.Piecewise((sympy.Float(1 / 0.9, 9) * X[0], X[1] >= sympy.Float(0.1, 9)), (0, True))


def test_python_prints_where_with_operands_named():
    assert python_math(["t8"], [DROPOUT], ["t6", "t7"], "float32") == "t8 = where(t7 >= 0.1, 1.1111112*t6, 0)"


def test_c_prints_a_ternary_with_operands_named():
    assert c_math(["t8"], [DROPOUT], ["t6", "t7"], "float32") == "t8 = t7 >= 0.1 ? 1.1111112*t6 : 0"


def test_a_ternary_inside_an_expression_keeps_its_parentheses():
    relu_grad = X[1] * sympy.Piecewise((1, X[0] > 0), (0, True))
    assert c_math(["g"], [relu_grad], ["h", "dy"], "float32") == "g = dy*(h > 0 ? 1 : 0)"


def test_equality_and_abs_read_as_operators():
    exprs = [sympy.Piecewise((1, sympy.Eq(X[0], X[1])), (0, True)), sympy.Abs(X[0] - X[1])]
    assert python_math(["hit", "err"], exprs, ["a", "b"], "float64") == "hit = where(a == b, 1, 0); err = abs(a - b)"


def test_float64_literals_keep_their_digits():
    assert python_math(["y"], [sympy.Float(0.1, 17) * X[0]], ["x"], "float64") == "y = 0.1*x"

"""SymPy → NumPy expression printer for the NumPy backend."""

import sympy
from sympy.printing.numpy import NumPyPrinter


class SymkerasNumPyPrinter(NumPyPrinter):
    """Prints with the ``np.`` prefix; Piecewise as nested ``np.where``; the stable
    ``sigmoid``/``softplus`` and ``erf`` (NumPy has none) as helpers defined in the generated module."""

    _module = "np"

    def __init__(self, dtype="float32", operands=None):
        super().__init__({"fully_qualified_modules": True})
        self.dtype = dtype
        self.operands = operands or {}      # symbol -> the code that reads that operand
        self.helpers = set()                # the module-level helpers the printed code calls

    def _helper(self, name, expr):
        self.helpers.add(name)
        return f"{name}({self._print(expr.args[0])})"

    def _branch(self, value):
        # A bare literal branch would make np.where return int64/float64 arrays.
        if value.is_Number:
            return f"np.{self.dtype}({self._print(value)})"
        return self._print(value)

    def _print_Piecewise(self, expr):
        result = None
        for value, cond in reversed(expr.args):
            printed = self._branch(value)
            if cond == sympy.true:
                result = printed
            else:
                result = f"np.where({self._print(cond)}, {printed}, {result})"
        return result

    def _print_sigmoid(self, expr):
        return self._helper("_sk_sigmoid", expr)

    def _print_softplus(self, expr):
        return self._helper("_sk_softplus", expr)

    def _print_erf(self, expr):
        return self._helper("_sk_erf", expr)

    def _print_Float(self, expr):
        # SymPy prints 15 significant digits; a float64 literal needs up to 17 to round-trip.
        return repr(float(expr))

    def _print_Relational(self, expr):
        ops = {"==": "equal", "!=": "not_equal", "<": "less", "<=": "less_equal",
               ">": "greater", ">=": "greater_equal"}
        return f"np.{ops[expr.rel_op]}({self._print(expr.lhs)}, {self._print(expr.rhs)})"

    def _print_Symbol(self, expr):
        return self.operands.get(expr, expr.name)


_printers = {}


def print_expr(expr, dtype="float32", operands=None, helpers=None):
    """NumPy code for ``expr``; the names of the module-level helpers it calls are added to ``helpers``."""
    if operands or helpers is not None:
        printer = SymkerasNumPyPrinter(dtype, operands)
    else:
        printer = _printers.get(dtype) or _printers.setdefault(dtype, SymkerasNumPyPrinter(dtype))
    code = printer.doprint(expr).replace("numpy.", "np.")
    if helpers is not None:
        helpers.update(printer.helpers)
    return code

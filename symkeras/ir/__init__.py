"""The symbolic IR: immutable tensor graph, gradients, passes."""

from symkeras.ir import build, dims, ops, scalar  # noqa: F401
from symkeras.ir.graph import FunctionGraph  # noqa: F401
from symkeras.ir.grad import gradients  # noqa: F401
from symkeras.ir.node import Node, name_scope, toposort  # noqa: F401

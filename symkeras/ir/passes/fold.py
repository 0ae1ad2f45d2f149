"""Constant inlining and removal of no-op nodes."""

import numpy as np
import sympy

from symkeras.ir import dims, scalar
from symkeras.ir import ops as O
from symkeras.ir.graph import copy_node

X = scalar.X


def remove_stop_gradient(graph):
    """After differentiation a stop-gradient is the identity."""
    return graph.rebuild(lambda n, ins: ins[0] if isinstance(n.op, O.StopGradient) else copy_node(n, ins))


def _scalar_constant(node):
    """The value of a one-element constant (possibly broadcast), else None."""
    while isinstance(node.op, (O.BroadcastTo, O.Reshape)):
        node = node.inputs[0]
    if isinstance(node.op, O.Constant) and node.op.value.size == 1:
        return node.op.value.reshape(()).item()
    return None


def _literal(value, dtype):
    if dtype.startswith("int") or dtype == "bool" or float(value).is_integer():
        return sympy.Integer(int(value))
    return sympy.Float(float(np.asarray(value, dtype=dtype)), 17 if dtype == "float64" else 9)


def inline_constants(graph):
    """Scalar constants become literals in elementwise expressions; all-constant
    elementwise nodes are evaluated now."""

    def replace(node, inputs):
        if not isinstance(node.op, O.Elemwise):
            return copy_node(node, inputs)
        expr, keep, subs = node.op.expr, [], {}
        for i, x in enumerate(inputs):
            value = _scalar_constant(x)
            rest_shape = dims.broadcast_shapes(*(inputs[j].shape for j in keep + list(range(i + 1, len(inputs)))))
            if rest_shape != node.shape:
                keep.append(i)
            elif X[i] not in expr.free_symbols:
                subs[X[i]] = X[i]          # unused operand: dropped
            elif value is not None:
                subs[X[i]] = _literal(value, x.dtype)
            else:
                keep.append(i)
        if not subs:
            return copy_node(node, inputs)
        expr = expr.xreplace(subs).xreplace({X[i]: X[k] for k, i in enumerate(keep)})
        if not keep and not expr.free_symbols:
            value = np.asarray(complex(expr).real, dtype=node.dtype)
            return O.broadcast_to_constant(value, node.shape)
        if not keep and node.shape != ():
            return copy_node(node, inputs)
        return O.Elemwise(expr, node.dtype)(*[inputs[i] for i in keep])

    return graph.rebuild(replace)


def remove_identities(graph):
    """x0 with no cast or broadcast, reshape/broadcast to the same shape, reductions over
    length-1 axes."""

    def replace(node, inputs):
        node = copy_node(node, inputs)
        op = node.op
        if isinstance(op, O.Elemwise) and op.expr == X[0] and len(inputs) == 1 \
                and inputs[0].shape == node.shape and inputs[0].dtype == node.dtype:
            return inputs[0]
        if isinstance(op, (O.Reshape, O.BroadcastTo)) and inputs[0].shape == node.shape:
            return inputs[0]
        if isinstance(op, O.Reshape) and isinstance(inputs[0].op, O.Reshape):
            return O.Reshape(op.shape)(inputs[0].inputs[0])
        if isinstance(op, O.Reduce) and all(inputs[0].shape[a] == 1 for a in op.axes):
            return O.Reshape(node.shape)(inputs[0])     # reducing over length-1 axes moves nothing
        return node

    return graph.rebuild(replace)

"""Transposes feeding a GEMM become GEMM flags instead of copies."""

from symkeras.ir import ops as O
from symkeras.ir.graph import copy_node


def _swaps_last_two(node):
    perm = node.op.perm
    n = len(perm)
    return n >= 2 and perm[:-2] == tuple(range(n - 2)) and perm[-2:] == (n - 1, n - 2)


def fold_transposes(graph):
    def replace(node, inputs):
        if not isinstance(node.op, O.MatMul):
            return copy_node(node, inputs)
        a, b = inputs
        ta, tb = node.op.transpose_a, node.op.transpose_b
        if isinstance(a.op, O.Transpose) and _swaps_last_two(a) and (a.ndim == 2 or b.ndim > 2):
            a, ta = a.inputs[0], not ta
        if isinstance(b.op, O.Transpose) and _swaps_last_two(b):
            b, tb = b.inputs[0], not tb
        if (a, b, ta, tb) == (*inputs, node.op.transpose_a, node.op.transpose_b):
            return copy_node(node, inputs)
        return O.MatMul(ta, tb)(a, b)

    return graph.rebuild(replace)

"""Structural common-subexpression elimination: equal op + same inputs → one node."""

from symkeras.ir import ops as O
from symkeras.ir.graph import copy_node


def cse(graph):
    seen = {}

    def replace(node, inputs):
        node = copy_node(node, inputs)
        if isinstance(node.op, (O.Placeholder, O.Variable)):
            return node
        key = (node.op, tuple(id(x) for x in node.inputs), node.shape, node.dtype)
        return seen.setdefault(key, node)

    return graph.rebuild(replace)

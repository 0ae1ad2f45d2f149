"""Elementwise fusion: a producer→consumer chain of elementwise ops becomes one
elementwise op whose expression is the composition (one kernel, one loop).

A producer is folded in when the consumer is its only reader, it is not a function
output, and it has the consumer's shape and dtype (so no work is repeated). A
broadcast feeding an elementwise op is dropped: the kernel broadcasts by itself.
"""

from symkeras.ir import dims, scalar
from symkeras.ir import ops as O
from symkeras.ir.graph import copy_node
from symkeras.ir.node import consumers

X = scalar.X


def _absorbable_broadcast(node, out_shape):
    return (isinstance(node.op, O.BroadcastTo) and node.shape == out_shape
            and dims.broadcast_shapes(node.inputs[0].shape, out_shape) == out_shape)


def _literal_behind_reshape(node):
    """An operand-free elementwise node seen through reshapes of its one element."""
    while isinstance(node.op, (O.Reshape, O.BroadcastTo)) and dims.size(node.inputs[0].shape) == 1:
        node = node.inputs[0]
    if isinstance(node.op, O.Elemwise) and not node.inputs and node.shape == ():
        return node
    return None


def fuse_elementwise(graph):
    order = graph.nodes()
    readers = consumers(order)
    roots = {id(r) for r in graph.roots}

    def fusible(original, new, consumer):
        if not isinstance(new.op, O.Elemwise) or id(original) in roots:
            return False
        if not new.inputs:          # a literal expression (e.g. 1/batch): free to repeat anywhere
            return True
        return (len(readers[id(original)]) == 1 and new.shape == consumer.shape
                and new.dtype == consumer.dtype)

    def replace(node, inputs):
        if not isinstance(node.op, O.Elemwise):
            return copy_node(node, inputs)
        operands, terms = [], []

        def slot(x):
            for k, y in enumerate(operands):
                if y is x:
                    return X[k]
            operands.append(x)
            return X[len(operands) - 1]

        changed = False
        for original, new in zip(node.inputs, inputs):
            literal = _literal_behind_reshape(new)
            if literal is not None:
                terms.append(literal.op.expr)
                changed = True
            elif fusible(original, new, node):
                sub = {X[j]: slot(y) for j, y in enumerate(new.inputs)}
                terms.append(new.op.expr.xreplace(sub))
                changed = True
            elif _absorbable_broadcast(new, node.shape):
                terms.append(slot(new.inputs[0]))
                changed = True
            else:
                terms.append(slot(new))
        if not changed and len(operands) == len(inputs):
            return copy_node(node, inputs)
        expr = node.op.expr.xreplace({X[i]: t for i, t in enumerate(terms)})
        fused = O.Elemwise(expr, node.dtype)(*operands)
        if fused.shape != node.shape:      # a dropped broadcast was the only source of the shape
            return copy_node(node, inputs)
        return fused

    return graph.rebuild(replace)

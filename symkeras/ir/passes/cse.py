"""Structural common-subexpression elimination: equal op + same inputs → one node.

The node kept for several equal ones is scoped by what their scopes share (Adam's step size,
built once per weight as Adam/dense_1/kernel, Adam/dense_1/bias …, reads as Adam), so it is
not credited to whichever copy came first.
"""

import os

from symkeras.ir import ops as O
from symkeras.ir.graph import copy_node
from symkeras.ir.node import Node, exact_scope


def cse(graph):
    seen, scopes = {}, {}

    def replace(node, inputs):
        node = copy_node(node, inputs)
        if isinstance(node.op, (O.Placeholder, O.Variable)):
            return node
        key = (node.op, tuple(id(x) for x in node.inputs), node.shape, node.dtype)
        kept = seen.setdefault(key, node)
        if kept is not node:
            scopes.setdefault(id(kept), [kept.scope]).append(node.scope)
        return kept

    merged = graph.rebuild(replace)
    # Nothing in common (a loss and a metric sharing batch): the first copy's scope stays.
    rescoped = {key: shared for key, shared in ((k, _shared_scope(s)) for k, s in scopes.items())
                if shared and shared != scopes[key][0]}
    if not rescoped:
        return merged

    def rescope(node, inputs):
        if id(node) in rescoped:
            with exact_scope(rescoped[id(node)]):
                return Node(node.op, inputs, name=node.name)
        return copy_node(node, inputs)

    return merged.rebuild(rescope)


def _shared_scope(scopes):
    """The leading path all ``scopes`` share (``Adam`` of ``Adam/a/kernel`` and ``Adam/b/bias``)."""
    return "/".join(os.path.commonprefix([s.split("/") for s in scopes]))

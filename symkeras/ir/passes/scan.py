"""Scan rewrites: drop the step outputs nothing reads, and the inputs the step no longer needs.

A forward scan keeps residuals (values the backward scan reads); a function that does not take
the gradient never reads them, so predict and evaluate compute only what they use.
"""

from symkeras.ir import ops as O
from symkeras.ir.graph import FunctionGraph, copy_node
from symkeras.ir.node import Node, toposort
from symkeras.ir.scan import Scan


def prune_scan_outputs(graph):
    used = {}
    for n in graph.nodes():
        if isinstance(n.op, O.TupleGet) and isinstance(n.inputs[0].op, Scan):
            used.setdefault(id(n.inputs[0]), set()).add(n.op.index)
    if not used:
        return graph
    renumbered = {}   # id(old scan) -> (new scan node, {old result index: new index})

    def replace(node, inputs):
        if isinstance(node.op, Scan):
            new, index = _pruned(node, inputs, used.get(id(node), set()))
            renumbered[id(node)] = (new, index)
            return new
        if isinstance(node.op, O.TupleGet) and id(node.inputs[0]) in renumbered:
            new, index = renumbered[id(node.inputs[0])]
            return O.TupleGet(index[node.op.index])(new, name=node.name)
        return copy_node(node, inputs)

    return graph.rebuild(replace)


def _pruned(node, inputs, used):
    op = node.op
    n_seq, n_states, n_params, n_out = op.counts
    body = op.body
    keep_out = [j for j in range(n_out) if n_states + j in used]
    outputs = body.outputs[:n_states] + [body.outputs[n_states + j] for j in keep_out]
    needed = {id(n) for n in toposort(outputs)}
    seqs, inits, params = op.split_inputs(inputs)
    ph_seqs, ph_states, ph_params = op.split_inputs(body.inputs)
    keep_seq = [i for i, ph in enumerate(ph_seqs) if id(ph) in needed] or [0]
    keep_par = [i for i, ph in enumerate(ph_params) if id(ph) in needed]
    if len(keep_out) == n_out and len(keep_seq) == n_seq and len(keep_par) == n_params:
        return copy_node(node, inputs), {i: i for i in range(n_states + n_out)}
    new_body = FunctionGraph([ph_seqs[i] for i in keep_seq] + ph_states + [ph_params[i] for i in keep_par],
                             outputs, name=body.name)
    new_op = Scan(new_body, (len(keep_seq), n_states, len(keep_par), len(keep_out)), op.reverse)
    index = {k: k for k in range(n_states)}
    index.update({n_states + j: n_states + i for i, j in enumerate(keep_out)})
    new = Node(new_op, [seqs[i] for i in keep_seq] + inits + [params[i] for i in keep_par], name=node.name)
    return new, index

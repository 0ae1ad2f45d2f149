"""``map_fn`` over the batch axis: ``fn`` is traced once on one element, and the graph it builds
is rewritten to carry the batch axis in front of every value that depends on the element.

The batch size is known only when a function is called, so the loop cannot be unrolled; but an
op applied to each element is, for most ops, the same op with its axes shifted by one applied to
the whole batch. Each op kind below has that rule; an op without one (a convolution, a random
draw, a table indexed by the element) is refused with NotImplementedError naming it.
"""

from symkeras.ir import build as B
from symkeras.ir import ops as O
from symkeras.ir.node import Node, toposort


def map_over_batch(fn, elems):
    """``stack([fn(e) for e in elems])`` for ``elems`` whose first axis is the batch."""
    element = O.placeholder(elems.shape[1:], dtype=elems.dtype, name="map_fn_element")
    out = fn(element)
    if not isinstance(out, Node):
        raise TypeError(f"map_fn: `fn` must return one tensor, got {type(out).__name__}")
    batch = elems.shape[0]
    values = {id(element): (elems, True)}
    for node in toposort([out]):
        if isinstance(node.op, O.Random):
            raise NotImplementedError("map_fn over the batch axis: `fn` draws random numbers (Random), which "
                                      "would be drawn once for the whole batch rather than per element")
        if id(node) in values:
            continue
        inputs = [values[id(x)] for x in node.inputs]
        if not any(batched for _, batched in inputs):
            values[id(node)] = (node, False)          # does not depend on the element: shared
            continue
        rule = _RULES.get(type(node.op))
        if rule is None:
            raise NotImplementedError(f"map_fn over the batch axis: `fn` uses {type(node.op).__name__}, which "
                                      "has no rule to apply it to a whole batch at once")
        values[id(node)] = (rule(node, inputs, batch), True)
    result, batched = values[id(out)]
    if not batched:
        result = _spread(result, batch)
    return result


def _spread(x, batch):
    """An element-independent value repeated for every sample."""
    return B.broadcast_to(B.reshape(x, (1,) + x.shape), (batch,) + x.shape)


def _aligned(x, batched, rank):
    """A batched operand of an op of element rank ``rank``: its element axes right-aligned after
    the batch axis (NumPy broadcasting aligns from the right, and the batch axis is in front)."""
    if not batched or x.ndim - 1 == rank:
        return x
    return B.reshape(x, x.shape[:1] + (1,) * (rank - x.ndim + 1) + x.shape[1:])


def _elemwise(node, inputs, batch):
    args = [_aligned(x, b, node.ndim) for x, b in inputs]
    return O.Elemwise(node.op.expr, node.op.dtype)(*args)


def _broadcast(node, inputs, batch):
    (x, b), = inputs
    return O.BroadcastTo((batch,) + node.op.shape)(_aligned(x, b, node.ndim))


def _reduce(node, inputs, batch):
    return O.Reduce(node.op.kind, [a + 1 for a in node.op.axes], node.op.keepdims)(inputs[0][0])


def _reshape(node, inputs, batch):
    return O.Reshape((batch,) + node.op.shape)(inputs[0][0])


def _transpose(node, inputs, batch):
    return O.Transpose((0,) + tuple(p + 1 for p in node.op.perm))(inputs[0][0])


def _slice(node, inputs, batch):
    op = node.op
    return O.Slice((0,) + op.starts, (batch,) + op.stops, (1,) + op.steps, tuple(d + 1 for d in op.drop))(
        inputs[0][0])


def _concat(node, inputs, batch):
    parts = [x if b else _spread(x, batch) for x, b in inputs]
    return O.Concat(node.op.axis + 1)(*parts)


def _softmax(node, inputs, batch):
    return O.Softmax(node.op.axis + 1, node.op.log)(inputs[0][0])


def _argmax(node, inputs, batch):
    return O.ArgMax(node.op.axis + 1, node.op.kind)(inputs[0][0])


def _same(node, inputs, batch):
    """Ops that act on each position alone (one-hot, stop_gradient): the same op."""
    return node.op(*(x for x, _ in inputs))


def _gather(node, inputs, batch):
    (table, table_batched), (indices, _) = inputs
    if table_batched:
        raise NotImplementedError("map_fn over the batch axis: `fn` indexes a table made from the element")
    return O.Gather()(table, indices)


def _matmul(node, inputs, batch):
    (a, ba), (b, bb) = inputs
    ta, tb = node.op.transpose_a, node.op.transpose_b
    if ba and not bb and b.ndim == 2 and not ta:
        return B.matmul(a, b, False, tb)                 # (batch, ..., m, k) @ (k, n)
    if not ba:
        a = B.broadcast_to(B.reshape(a, (1,) + a.shape), (batch,) + a.shape)
    if not bb:
        b = B.broadcast_to(B.reshape(b, (1,) + b.shape), (batch,) + b.shape)
    if a.shape[:-2] != b.shape[:-2]:
        raise NotImplementedError("map_fn over the batch axis: a matrix product whose operands have "
                                  "different leading axes")
    return B.matmul(a, b, ta, tb)


_RULES = {
    O.Elemwise: _elemwise, O.BroadcastTo: _broadcast, O.Reduce: _reduce, O.Reshape: _reshape,
    O.Transpose: _transpose, O.Slice: _slice, O.Concat: _concat, O.Softmax: _softmax, O.ArgMax: _argmax,
    O.OneHot: _same, O.StopGradient: _same, O.Gather: _gather, O.MatMul: _matmul,
}

"""Reverse-mode differentiation over the IR: one vector-Jacobian rule per op.

``gradients(loss, wrt)`` walks the graph from ``loss`` backwards and returns new IR
nodes; elementwise derivatives come from ``sympy.diff`` (see ``scalar.py``).
"""

import sympy

from symkeras.ir import build as B
from symkeras.ir import dims, scalar
from symkeras.ir import ops as O
from symkeras.ir.node import gradient_scope, toposort

X = scalar.X
VJP = {}


def vjp(op_type):
    def register(fn):
        VJP[op_type] = fn
        return fn
    return register


@vjp(O.Elemwise)
def _elemwise(node, g):
    expr, n = node.op.expr, len(node.inputs)
    grads = []
    for i, x in enumerate(node.inputs):
        if not B.is_float(x):
            grads.append(None)
            continue
        d = scalar.derivative(expr, i)
        if d == 0:
            grads.append(None)
            continue
        if d == 1:
            contribution = g
        elif not expr.is_Symbol and d.has(expr):
            # tanh' = 1 - tanh², sigmoid' = sigmoid (1 - sigmoid): read the value already computed
            # instead of computing the function again.
            contribution = B.ew(X[n] * d.xreplace({expr: X[n + 1]}), *node.inputs, g, node, dtype=x.dtype)
        else:
            contribution = B.ew(X[n] * d, *node.inputs, g, dtype=x.dtype)
        grads.append(B.unbroadcast(contribution, x.shape))
    return grads


@vjp(O.BroadcastTo)
def _broadcast(node, g):
    return [B.unbroadcast(g, node.inputs[0].shape)]


@vjp(O.MatMul)
def _matmul(node, g):
    a, b = node.inputs
    ta, tb = node.op.transpose_a, node.op.transpose_b
    if b.ndim == 2 and a.ndim > 2:
        # Leading axes of `a` act as rows: flatten them for the weight gradient.
        ga = B.matmul(g, b, False, not tb)
        k = a.shape[-1]
        a2 = B.reshape(a, (dims.size(a.shape[:-1]), k))
        g2 = B.reshape(g, (dims.size(g.shape[:-1]), g.shape[-1]))
        gb = B.matmul(g2, a2, True, False) if tb else B.matmul(a2, g2, True, False)
        return [ga, gb]
    ga = B.matmul(b, g, tb, True) if ta else B.matmul(g, b, False, not tb)
    gb = B.matmul(g, a, True, ta) if tb else B.matmul(a, g, not ta, False)
    return [ga, gb]


@vjp(O.Reduce)
def _reduce(node, g):
    (x,) = node.inputs
    kd_shape = B.keepdims_shape(x.shape, node.op.axes)
    g_kd = B.reshape(g, kd_shape)
    if node.op.kind == "sum":
        return [B.broadcast_to(g_kd, x.shape)]
    # max/min: the gradient is shared equally by every element equal to the extremum (TF).
    y_kd = B.reshape(node, kd_shape)
    hit = B.ew(scalar.equal(X[0], X[1]), x, y_kd, dtype=x.dtype)
    count = B.reduce("sum", hit, node.op.axes, keepdims=True)
    return [B.ew(X[0] * X[1] / X[2], hit, g_kd, count)]


@vjp(O.Softmax)
def _softmax(node, g):
    axis = node.op.axis
    if node.op.log:
        total = B.reduce("sum", g, [axis], keepdims=True)
        return [B.ew(X[0] - sympy.exp(X[1]) * X[2], g, node, total)]
    gy = B.reduce("sum", B.ew(X[0] * X[1], g, node), [axis], keepdims=True)
    return [B.ew(X[1] * (X[0] - X[2]), g, node, gy)]


@vjp(O.Reshape)
def _reshape(node, g):
    return [B.reshape(g, node.inputs[0].shape)]


@vjp(O.Transpose)
def _transpose(node, g):
    perm = node.op.perm
    inverse = [perm.index(i) for i in range(len(perm))]
    return [B.transpose(g, inverse)]


@vjp(O.Concat)
def _concat(node, g):
    axis, start, grads = node.op.axis, 0, []
    for x in node.inputs:
        stop = dims.as_dim(start + x.shape[axis])
        grads.append(B.full_slice(g, axis, start, stop))
        start = stop
    return grads


@vjp(O.Slice)
def _slice(node, g):
    return [O.SliceGrad(node.inputs[0].shape, node.op)(g)]


@vjp(O.SliceGrad)
def _slice_grad(node, g):
    return [node.op.slice_op(g)]


@vjp(O.Gather)
def _gather(node, g):
    table, indices = node.inputs
    return [O.ScatterAdd(table.shape)(g, indices), None]


@vjp(O.ScatterAdd)
def _scatter_add(node, g):
    # The gradient of gather's gradient (second order): each update row reads its table row.
    updates, indices = node.inputs
    return [O.Gather()(g, indices), None]


@vjp(O.WindowGather)
def _window_gather(node, g):
    return [O.WindowScatter(node.op.window)(g)]


@vjp(O.WindowScatter)
def _window_scatter(node, g):
    return [O.WindowGather(node.op.window)(g)]


@vjp(O.WindowMax)
def _window_max(node, g):
    return [O.WindowMaxGrad(node.op.window)(node.inputs[0], g)]


@vjp(O.WindowMaxGrad)
def _window_max_grad(node, g):
    raise NotImplementedError("second derivatives through max pooling (WindowMaxGrad) are not supported")


@vjp(O.StopGradient)
def _stop(node, g):
    return [None]


def gradients(loss, wrt):
    """d loss / d w for each node in ``wrt`` (None where ``loss`` does not depend on it).

    A non-scalar ``loss`` is summed first, as ``tf.gradients`` does.
    """
    if loss.shape != ():
        loss = B.reduce("sum", loss)
    with gradient_scope(loss):
        one = B.broadcast_to(O.constant(1.0, dtype=loss.dtype), ())
    return backpropagate([(loss, one)], wrt)


def backpropagate(seeds, wrt):
    """The vector-Jacobian product: for each node in ``wrt``, the sum over the (output, cotangent)
    pairs of ``seeds`` of cotangent · d output / d w (None where no output depends on it)."""
    wrt = list(wrt)
    outputs = [out for out, _ in seeds]
    order = toposort(outputs)
    needed = _nodes_between(order, wrt)
    pending = {}
    for out, cotangent in seeds:
        pending.setdefault(id(out), []).append(cotangent)
    grads, result_grads = {}, {}
    for node in reversed(order):
        if id(node) not in needed:
            continue
        if getattr(node.op, "results", None) is not None:
            # A node of several results: its gradient is one cotangent per result (None: zero).
            parts = result_grads.pop(id(node), None)
            if parts is None:
                continue
            count = len(node.op.results(node.inputs))
            with gradient_scope(node):
                input_grads = VJP[type(node.op)](node, [parts.get(i) for i in range(count)])
            _pass_down(node, input_grads, needed, pending)
            continue
        parts = pending.pop(id(node), [])
        if not parts:
            continue
        with gradient_scope(node):
            g = B.add_n(parts)
        grads[id(node)] = g
        if isinstance(node.op, O.TupleGet):
            whole, index = node.inputs[0], node.op.index
            slot = result_grads.setdefault(id(whole), {})
            if index in slot:
                with gradient_scope(node):
                    g = B.add_n([slot[index], g])
            slot[index] = g
            continue
        if not node.inputs:
            continue
        rule = VJP.get(type(node.op))
        if rule is None:
            if node.op.differentiable:
                raise NotImplementedError(f"no gradient rule for {type(node.op).__name__}")
            continue
        with gradient_scope(node):
            input_grads = rule(node, g)
        _pass_down(node, input_grads, needed, pending)
    return [grads.get(id(w)) for w in wrt]


def _pass_down(node, input_grads, needed, pending):
    for x, gx in zip(node.inputs, input_grads):
        if gx is not None and id(x) in needed:
            if gx.dtype != x.dtype and B.is_float(x):   # e.g. through a cast: grad has x's dtype
                with gradient_scope(node):
                    gx = B.ew(X[0], gx, dtype=x.dtype)
            pending.setdefault(id(x), []).append(gx)


def _nodes_between(order, wrt):
    """Nodes on some path from a ``wrt`` node to the loss (the only ones worth differentiating)."""
    reaches = {id(w) for w in wrt}
    for node in order:
        if node.op.differentiable and any(id(x) in reaches for x in node.inputs):
            reaches.add(id(node))
    return reaches

"""Loops in the IR: ``Scan`` runs a step over the leading (time) axis of its sequences.

A scan node reads sequences (time-major: (steps, ...)), initial states and parameters; its
*body* is a ``FunctionGraph`` of one step::

    body(sequence steps..., states..., parameters...) -> (new states..., step outputs...)

Its results (through ``TupleGet``) are each state's value after the last step, then each step
output stacked over time. ``reverse`` runs the steps from the last one down; a step's output is
stored at the position of the step it read either way.

The reverse-mode gradient is backpropagation through time, built in the IR: a second scan runs
the other way over the vector-Jacobian product of the body (``grad.backpropagate``). What that
backward step needs of the forward one (each step's states, and the values the body's gradient
reads) the forward scan keeps as extra stacked outputs, its *residuals*: the backward scan reads
them instead of recomputing the step. A function that is never differentiated drops them
(``passes.scan.prune_scan_outputs``), so predict pays nothing for them.

``scan(step, sequences, states)`` builds a scan from a Python step function: the step is traced
once on placeholders; whatever outer tensor it reads (weights, a dropout mask, constants of the
layer) becomes a parameter, and a matrix product of a sequence step by a parameter (an RNN's
input projection) is hoisted out of the loop into one product over all steps.
"""

import hashlib

import sympy

from symkeras.ir import build as B
from symkeras.ir import dims, grad
from symkeras.ir import ops as O
from symkeras.ir.graph import FunctionGraph, copy_node
from symkeras.ir.node import Op, scope_of, toposort


def structure_key(graph):
    """A hash of ``graph``'s structure: ops and attributes, shapes, dtypes, names and scopes, with
    inputs known by position (equal bodies make equal scans, and the same generated code)."""
    order = toposort(graph.outputs)
    index = {id(n): i for i, n in enumerate(order)}
    inputs = {id(x): i for i, x in enumerate(graph.inputs)}
    parts = []
    for n in order:
        if isinstance(n.op, O.Placeholder):
            props = ("input", inputs.get(id(n)))
        elif isinstance(n.op, O.Variable):
            raise ValueError(f"scan body: reads variable {n.name!r} directly; variables are parameters")
        else:
            props = tuple(sympy.srepr(p) if isinstance(p, sympy.Basic) else repr(p) for p in n.op.props())
        parts.append(repr((type(n.op).__name__, props, tuple(index[id(x)] for x in n.inputs), str(n.shape),
                           n.dtype, n.name, n.scope)))
    parts.append(repr(("outputs", [index[id(x)] for x in graph.outputs])))
    parts.append(repr(("inputs", [index.get(id(x)) for x in graph.inputs], [str(x.shape) for x in graph.inputs],
                       [x.dtype for x in graph.inputs])))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()[:32]


class Scan(Op):
    """A loop over the leading axis of the sequences (see the module's docstring).

    ``counts`` = (sequences, states, parameters, step outputs); ``residuals`` maps a forward
    body node (by id) to the index of the step output that keeps it for the gradient."""

    __props__ = ("structure", "counts", "reverse")

    def __init__(self, body, counts, reverse=False, residuals=None):
        self.body = body
        self.counts = tuple(int(c) for c in counts)
        self.reverse = bool(reverse)
        self.residuals = dict(residuals or {})
        self.structure = structure_key(body)
        n_seq, n_states, n_params, n_out = self.counts
        if n_seq < 1:
            raise ValueError("scan: needs at least one sequence (it sets the number of steps)")
        if len(body.inputs) != n_seq + n_states + n_params or len(body.outputs) != n_states + n_out:
            raise ValueError("scan: the body's inputs and outputs do not match its counts")

    def split_inputs(self, items):
        n_seq, n_states, _, _ = self.counts
        items = list(items)
        return items[:n_seq], items[n_seq:n_seq + n_states], items[n_seq + n_states:]

    def results(self, inputs):
        steps = inputs[0].shape[0]
        n_states = self.counts[1]
        outs = self.body.outputs
        return ([(s.shape, s.dtype) for s in outs[:n_states]]
                + [((steps,) + y.shape, y.dtype) for y in outs[n_states:]])

    def infer(self, inputs):
        seqs, inits, params = self.split_inputs(inputs)
        ph_seqs, ph_states, ph_params = self.split_inputs(self.body.inputs)
        steps = seqs[0].shape[0] if seqs[0].ndim else None
        for x, ph in zip(seqs, ph_seqs):
            if x.ndim < 1 or x.shape[0] != steps or x.shape[1:] != ph.shape or x.dtype != ph.dtype:
                raise ValueError(f"scan: sequence {dims.to_keras(x.shape)} {x.dtype} does not match the step's "
                                 f"input {dims.to_keras(ph.shape)} {ph.dtype} over {steps} steps")
        for kind, given, expected in (("initial state", inits, ph_states), ("parameter", params, ph_params)):
            for x, ph in zip(given, expected):
                if x.shape != ph.shape or x.dtype != ph.dtype:
                    raise ValueError(f"scan: {kind} {dims.to_keras(x.shape)} {x.dtype} does not match the "
                                     f"step's {dims.to_keras(ph.shape)} {ph.dtype}")
        return (), "float32"


def _split(items, sizes):
    out, at = [], 0
    for n in sizes:
        out.append(list(items[at:at + n]))
        at += n
    return out


# ----------------------------------------------------------------------------- building a scan

def scan(step, sequences, states, reverse=False, names=None):
    """Build a scan from ``step(sequence_steps, states) -> (new_states, outputs)``.

    ``sequences`` are time-major nodes (steps, ...); ``states`` the initial states. Returns
    (final states, stacked outputs) as nodes. ``names`` (optional) names the step's inputs in
    the generated code: {"sequences": [...], "states": [...]}."""
    sequences, states = list(sequences), list(states)
    if not sequences:
        raise ValueError("scan: needs at least one sequence")
    steps = sequences[0].shape[0] if sequences[0].ndim else None
    for s in sequences:
        if s.ndim < 1 or s.shape[0] != steps:
            raise ValueError(f"scan: every sequence needs the same leading (time) axis; got "
                             f"{[dims.to_keras(x.shape) for x in sequences]}")
    names = names or {}
    seq_names = list(names.get("sequences", ())) + [f"step_input{i}" for i in range(len(sequences))]
    state_names = list(names.get("states", ())) + [f"state{i}" for i in range(len(states))]
    seq_ph = [O.placeholder(s.shape[1:], s.dtype, name=seq_names[i]) for i, s in enumerate(sequences)]
    state_ph = [O.placeholder(s.shape, s.dtype, name=state_names[i]) for i, s in enumerate(states)]

    new_states, outputs = step(list(seq_ph), list(state_ph))
    new_states, outputs = list(new_states), list(outputs)
    if len(new_states) != len(states):
        raise ValueError(f"scan: the step returned {len(new_states)} states for {len(states)}")
    for i, (new, ph) in enumerate(zip(new_states, state_ph)):
        if new.shape != ph.shape:
            raise ValueError(f"scan: state {i} is {dims.to_keras(ph.shape)} but the step returned "
                             f"{dims.to_keras(new.shape)}")
        if new.dtype != ph.dtype:
            new_states[i] = B.ew(B.X[0], new, dtype=ph.dtype)
    return _assemble(sequences, states, seq_ph, state_ph, new_states, outputs, reverse)


def _assemble(sequences, states, seq_ph, state_ph, new_states, outputs, reverse):
    """The scan node of a traced step: parameters found, products hoisted, residuals kept."""
    roots = new_states + outputs
    leaves = {id(p) for p in seq_ph + state_ph}
    order = toposort(roots)
    dependent = set(leaves)
    for n in order:
        if any(id(x) in dependent for x in n.inputs):
            dependent.add(id(n))
    seq_of = {id(ph): s for ph, s in zip(seq_ph, sequences)}

    params, param_ph, memo = [], {}, {}
    body_seqs, body_seq_ph = list(sequences), list(seq_ph)

    def param(x):
        if isinstance(x.op, O.Constant):
            return x
        if id(x) not in param_ph:
            param_ph[id(x)] = O.placeholder(x.shape, x.dtype, name=x.name or f"param{len(params)}")
            params.append(x)
        return param_ph[id(x)]

    def mapped(x):
        return memo[id(x)] if id(x) in dependent else param(x)

    for p in seq_ph + state_ph:
        memo[id(p)] = p
    for n in order:
        if id(n) in leaves or id(n) not in dependent:
            continue
        a = n.inputs[0] if n.inputs else None
        if (isinstance(n.op, O.MatMul) and not n.op.transpose_a and id(a) in seq_of and a.ndim == 2
                and id(n.inputs[1]) not in dependent and n.inputs[1].ndim == 2):
            # x_t @ W for every t is one product over all steps, made before the loop.
            with scope_of(n):
                whole = n.op(seq_of[id(a)], n.inputs[1])
            ph = O.placeholder(n.shape, n.dtype, name=f"{a.name}_projected")
            body_seqs.append(whole)
            body_seq_ph.append(ph)
            memo[id(n)] = ph
            continue
        memo[id(n)] = copy_node(n, [mapped(x) for x in n.inputs])
    # A constant returned as it is still needs a buffer of its own: it comes in as a parameter.
    body_outputs = [param(B.ew(B.X[0], x)) if isinstance(x.op, O.Constant) else mapped(x) for x in roots]

    used = {id(n) for n in toposort(body_outputs)}
    kept = [(s, ph) for s, ph in zip(body_seqs, body_seq_ph) if id(ph) in used] or [(body_seqs[0], body_seq_ph[0])]
    body_seqs, body_seq_ph = [s for s, _ in kept], [ph for _, ph in kept]
    param_list = [param_ph[id(p)] for p in params]
    n_states = len(states)
    residuals = _residuals(body_seq_ph, state_ph, param_list, body_outputs, n_states)
    step_outputs = body_outputs[n_states:] + [r for r in residuals]
    body = FunctionGraph(body_seq_ph + state_ph + param_list, body_outputs[:n_states] + step_outputs, name="step")
    n_user = len(outputs)
    op = Scan(body, (len(body_seq_ph), n_states, len(param_list), len(step_outputs)), reverse,
              residuals={id(r): n_user + i for i, r in enumerate(residuals)})
    node = op(*body_seqs, *states, *params)
    finals = [O.TupleGet(k)(node) for k in range(n_states)]
    stacked = [O.TupleGet(n_states + j)(node) for j in range(n_user)]
    return finals, stacked


def _residuals(seq_ph, state_ph, param_ph, body_outputs, n_states):
    """The forward nodes the step's gradient reads (each state read, and the values the body's
    vector-Jacobian product uses), which the forward scan keeps per step for the backward one."""
    floats = [o for o in body_outputs if B.is_float(o)]
    wrt = [x for x in seq_ph + state_ph + param_ph if B.is_float(x)]
    if not floats or not wrt:
        return list(state_ph)
    seeds = [(o, O.placeholder(o.shape, o.dtype, name="cotangent")) for o in floats]
    try:
        grads = grad.backpropagate(seeds, wrt)
    except NotImplementedError:
        return list(state_ph)
    forward = toposort(body_outputs)
    in_forward = {id(n) for n in forward}
    leaves = {id(p) for p in seq_ph + state_ph}
    dependent = set(leaves)
    for n in forward:
        if any(id(x) in dependent for x in n.inputs):
            dependent.add(id(n))
    kept, seen = list(state_ph), {id(p) for p in state_ph} | {id(p) for p in seq_ph}

    def keep(x):
        """Keep ``x``, or, when it is cheap to compute again (elementwise, a slice, a reshape),
        what it is computed from: a step stores what took a product to make, not every gate."""
        stack = [x]
        while stack:
            n = stack.pop()
            if id(n) not in dependent or id(n) in seen:
                continue
            seen.add(id(n))
            if _cheap(n):
                stack.extend(reversed(n.inputs))
            else:
                kept.append(n)

    for v in toposort([g for g in grads if g is not None]):
        if id(v) in in_forward:
            continue
        for x in v.inputs:
            keep(x)
    for g in grads:
        if g is not None:
            keep(g)
    return kept


# What the backward step computes again rather than reading from a stored step output: moving
# data, and arithmetic without transcendental functions (an exp costs more than a load).
_MOVES = (O.Slice, O.Reshape, O.BroadcastTo, O.Transpose, O.Concat)
_ARITHMETIC = {"Piecewise", "Max", "Min", "Abs", "sign", "floor", "ceiling", "Mod"}


def _cheap(node):
    if isinstance(node.op, O.Elemwise):
        return all(type(f).__name__ in _ARITHMETIC for f in node.op.expr.atoms(sympy.Function))
    return isinstance(node.op, _MOVES)


# ----------------------------------------------------------------------------- the gradient

@grad.vjp(Scan)
def _scan_vjp(node, cotangents):
    """Backpropagation through time: a scan the other way over the body's vector-Jacobian product."""
    op = node.op
    n_seq, n_states, n_params, _ = op.counts
    seqs, inits, params = op.split_inputs(node.inputs)
    xs, ss, ps = op.split_inputs(op.body.inputs)
    new_states, step_outputs = op.body.outputs[:n_states], op.body.outputs[n_states:]
    g_finals, g_stacked = cotangents[:n_states], cotangents[n_states:]

    # The step's vector-Jacobian product, seeded by placeholders for the cotangents.
    carried = [O.placeholder(s.shape, s.dtype, name=f"d_{s.name}") if B.is_float(s) else None for s in ss]
    per_step = {j: O.placeholder(y.shape, y.dtype, name=f"d_output{j}")
                for j, (y, g) in enumerate(zip(step_outputs, g_stacked)) if g is not None and B.is_float(y)}
    seeds = [(new_states[k], carried[k]) for k in range(n_states) if carried[k] is not None]
    seeds += [(step_outputs[j], ph) for j, ph in per_step.items()]
    wrt = list(xs) + list(ss) + list(ps)
    grads = grad.backpropagate(seeds, wrt) if seeds else [None] * len(wrt)
    grads = [g if B.is_float(x) else None for g, x in zip(grads, wrt)]
    g_xs, g_ss, g_ps = _split(grads, (n_seq, n_states, n_params))

    # The backward body: forward values come from the residuals, the rest is recomputed.
    back = _BackwardBody(node)
    slots = {}
    for k, ph in enumerate(carried):
        if ph is not None:
            initial = g_finals[k] if g_finals[k] is not None else B.zeros_like(inits[k])
            slots[k] = back.state(ph, initial)
    for j, ph in per_step.items():
        back.memo[id(ph)] = back.sequence(g_stacked[j], ph)
    for k, slot in slots.items():
        back.new_states[slot] = back.map(g_ss[k]) if g_ss[k] is not None else B.zeros_like(carried[k])
    seq_stacks = [back.stack(back.map(g)) if g is not None else None for g in g_xs]
    param_plans = [back.parameter_gradient(g, p) if g is not None else None for g, p in zip(g_ps, params)]
    finals, stacked = back.build()

    input_grads = [None if ref is None else back.resolve_stack(ref, stacked) for ref in seq_stacks]
    input_grads += [finals[slots[k]] if k in slots else None for k in range(n_states)]
    input_grads += [None if plan is None else plan(finals, stacked) for plan in param_plans]
    return input_grads


class _BackwardBody:
    """The backward scan's inputs and outputs, collected while the step's VJP graph is rebuilt
    over them (``map``)."""

    def __init__(self, forward):
        self.forward = forward
        op = forward.op
        self.seqs_fw, _, self.params_fw = op.split_inputs(forward.inputs)
        xs, _, ps = op.split_inputs(op.body.inputs)
        self.memo = {}
        self.sources, self.seq_ph = [], []          # outer node (or recipe) per sequence
        self.initial, self.state_ph, self.new_states = [], [], []
        self.param_index, self.param_ph = [], []
        self.outputs = []
        self.lazy = {id(x): ("input", i, x) for i, x in enumerate(xs)}
        self.lazy.update({id(p): ("param", i, p) for i, p in enumerate(ps)})
        self.residuals = op.residuals

    def sequence(self, source, like):
        ph = O.placeholder(like.shape, like.dtype, name=like.name)
        self.sources.append(source)
        self.seq_ph.append(ph)
        return ph

    def state(self, like, initial):
        ph = O.placeholder(like.shape, like.dtype, name=like.name)
        self.memo[id(like)] = ph
        self.state_ph.append(ph)
        self.initial.append(initial)
        self.new_states.append(ph)
        return len(self.state_ph) - 1

    def stack(self, node):
        """A reference to ``node`` stacked over the steps: a sequence the backward scan already
        reads, or a new step output."""
        for i, ph in enumerate(self.seq_ph):
            if ph is node:
                return ("sequence", i)
        for i, out in enumerate(self.outputs):
            if out is node:
                return ("output", i)
        self.outputs.append(node)
        return ("output", len(self.outputs) - 1)

    def resolve_stack(self, ref, stacked):
        kind, i = ref
        return stacked[i] if kind == "output" else self._outer(self.sources[i])

    def _outer(self, source):
        if isinstance(source, tuple) and source[0] == "input":
            return self.seqs_fw[source[1]]
        if isinstance(source, tuple) and source[0] == "residual":
            return O.TupleGet(self.forward.op.counts[1] + source[1])(self.forward)
        return source

    def _leaf(self, n):
        """The backward body's value for a forward leaf or residual ``n``, or None to recompute."""
        if id(n) in self.residuals:
            saved = O.placeholder(n.shape, n.dtype, name=f"saved_{n.name or 'value'}")
            return self.sequence(("residual", self.residuals[id(n)]), saved)
        if id(n) in self.lazy:
            kind, i, x = self.lazy[id(n)]
            if kind == "input":
                return self.sequence(("input", i), x)
            ph = O.placeholder(x.shape, x.dtype, name=x.name)
            self.param_index.append(i)
            self.param_ph.append(ph)
            return ph
        if isinstance(n.op, O.Placeholder):
            raise RuntimeError(f"scan gradient: the step's input {n.name!r} is not available backwards")
        return None

    def map(self, node):
        """``node`` of the VJP graph rebuilt over the backward body's inputs: residuals and inputs
        are read, every other forward value recomputed."""
        stack = [(node, False)]
        while stack:
            n, expanded = stack.pop()
            if id(n) in self.memo:
                continue
            if not expanded:
                leaf = self._leaf(n)
                if leaf is not None:
                    self.memo[id(n)] = leaf
                    continue
                stack.append((n, True))
                stack.extend((x, False) for x in reversed(n.inputs) if id(x) not in self.memo)
                continue
            self.memo[id(n)] = copy_node(n, [self.memo[id(x)] for x in n.inputs])
        return self.memo[id(node)]

    def parameter_gradient(self, g, outer_param):
        """How one parameter's gradient is summed over the steps: a product of two per-step values
        (``h_t^T @ dz_t``) becomes one product over all steps after the loop, a sum over the
        batch axis one sum after the loop; any other term is accumulated in a carried state."""
        terms = list(g.inputs) if _is_sum(g) else [g]
        after, accumulated = [], []
        for term in terms:
            if isinstance(term.op, O.MatMul) and term.op.transpose_a and not term.op.transpose_b \
                    and all(x.ndim == 2 for x in term.inputs):
                after.append(("matmul",) + tuple(self.stack(self.map(x)) for x in term.inputs))
            elif isinstance(term.op, O.Reduce) and term.op.kind == "sum" and term.op.axes == (0,) \
                    and term.inputs[0].ndim == 2 and not term.op.keepdims:
                after.append(("sum", self.stack(self.map(term.inputs[0]))))
            else:
                accumulated.append(self.map(term))
        slot = None
        if accumulated:
            like = O.placeholder(outer_param.shape, outer_param.dtype, name=f"d_{outer_param.name}")
            slot = self.state(like, B.zeros_like(outer_param))
            self.new_states[slot] = B.add_n([self.state_ph[slot]] + accumulated)

        def plan(finals, stacked):
            parts = [] if slot is None else [finals[slot]]
            for item in after:
                if item[0] == "matmul":
                    a, b = (self.resolve_stack(ref, stacked) for ref in item[1:])
                    rows = dims.as_dim(a.shape[0] * a.shape[1])
                    parts.append(B.matmul(B.reshape(a, (rows, a.shape[2])), B.reshape(b, (rows, b.shape[2])), True))
                else:
                    parts.append(B.reduce("sum", self.resolve_stack(item[1], stacked), (0, 1)))
            return B.add_n(parts)
        return plan

    def build(self):
        """The backward scan; returns its (final states, stacked outputs)."""
        if not self.seq_ph:                       # nothing per step is read: the steps still count
            self.sequence(("input", 0), self.forward.op.body.inputs[0])
        body = FunctionGraph(self.seq_ph + self.state_ph + self.param_ph, self.new_states + self.outputs,
                             name="step_gradient")
        op = Scan(body, (len(self.seq_ph), len(self.state_ph), len(self.param_ph), len(self.outputs)),
                  not self.forward.op.reverse)
        node = op(*[self._outer(s) for s in self.sources], *self.initial,
                  *[self.params_fw[i] for i in self.param_index])
        finals = [O.TupleGet(k)(node) for k in range(len(self.state_ph))]
        stacked = [O.TupleGet(len(self.state_ph) + j)(node) for j in range(len(self.outputs))]
        return finals, stacked


def _is_sum(node):
    return (isinstance(node.op, O.Elemwise) and len(node.inputs) > 1
            and node.op.expr == sympy.Add(*B.X[:len(node.inputs)])
            and all(x.shape == node.shape for x in node.inputs))

"""Lowering: an optimised FunctionGraph → a Program of kernels over named buffers.

Also the schedule-level optimisations that need buffers to exist:
- updates written in place into their variable when that is safe,
- adjacent elementwise loops of the same shape merged into one (Adam's m, v, w),
- temporaries packed into per-dtype workspaces by liveness, with exact-size reuse.
"""

import sympy

from symkeras.codegen import names
from symkeras.codegen.kernels import Buffer, Kernel, Program
from symkeras.ir import dims, scalar
from symkeras.ir import ops as O

X = scalar.X


def lower(graph, name="function"):
    lowering = _Lowering(graph, name)
    return lowering.run()


class _Lowering:
    def __init__(self, graph, name):
        self.graph, self.name = graph, names.function_name(name)
        # Buffer names are shared by both backends' sources, beside the function's own name.
        self.names = names.UniqueNames(taken={self.name})
        self.buffers = {}         # id(node) -> Buffer
        self.kernels = []
        self.inputs = [self._leaf(x, "input") for x in graph.inputs]
        self.variables = [self._leaf(v, "variable") for v in graph.variables()]
        self.constants, self.temps, self.outputs = [], [], []
        self.temp_count = 0
        self.views = []

    # --------------------------------------------------------------- buffers
    def _leaf(self, node, role):
        buf = Buffer(self.names(node.name or role), node.shape, node.dtype, role, scope=node.scope)
        self.buffers[id(node)] = buf
        return buf

    def _temp(self, node):
        buf = Buffer(self.names(f"t{self.temp_count}"), node.shape, node.dtype, "temp", scope=node.scope)
        self.temp_count += 1
        self.temps.append(buf)
        return buf

    def buf(self, node):
        return self.buffers[id(node)]

    def emit(self, kind, node, reads, writes, **attrs):
        k = Kernel(kind, node.scope if node is not None else "", list(reads), list(writes), attrs)
        self.kernels.append(k)
        return k

    # --------------------------------------------------------------- main
    def run(self):
        for node in self.graph.nodes():
            if id(node) in self.buffers or isinstance(node.op, O.Assign):
                continue
            self._lower_node(node)
        self._bind_outputs()
        self._apply_updates()
        self.kernels = _hoist_scalar_kernels(self.kernels)
        self._merge_elementwise()
        regions = _plan_workspace(self.kernels, self.temps)
        _check_broadcast_reads(self.kernels)
        return Program(self.name, self.inputs, self.outputs, self.variables, self.constants,
                       [t for t in self.temps if t.role == "temp"], self.kernels, regions)

    def _lower_node(self, node):
        op = node.op
        if isinstance(op, O.Constant):
            buf = Buffer(self.names(f"const{len(self.constants)}"), node.shape, node.dtype, "constant",
                         value=op.value, scope=node.scope)
            self.constants.append(buf)
            self.buffers[id(node)] = buf
            return
        if isinstance(op, O.Placeholder):
            raise ValueError(f"graph disconnected: placeholder {node.name!r} is not a function input")
        if isinstance(op, O.Reshape):
            src = self.buf(node.inputs[0])
            view = Buffer(src.name, node.shape, node.dtype, "view", base=src.root, scope=node.scope)
            self.views.append(view)
            self.buffers[id(node)] = view
            return
        out = self._temp(node)
        self.buffers[id(node)] = out
        ins = [self.buf(x) for x in node.inputs]
        handler = getattr(self, "_lower_" + type(op).__name__)
        handler(node, ins, out)

    # --------------------------------------------------------------- per op
    def _lower_Elemwise(self, node, ins, out):
        self.emit("elementwise", node, ins, [out], operands=ins, outputs=[out], exprs=[node.op.expr],
                  shape=node.shape, dtype=node.dtype)

    def _lower_BroadcastTo(self, node, ins, out):
        self.emit("elementwise", node, ins, [out], operands=ins, outputs=[out], exprs=[X[0]],
                  shape=node.shape, dtype=node.dtype)

    def _lower_MatMul(self, node, ins, out):
        a, b = node.inputs
        op = node.op
        m, k, _, n = op.operand_dims(a, b)
        if b.ndim == 2:
            count = 1
            if a.ndim > 2:
                m = dims.size(a.shape[:-1])
        else:
            count = dims.size(a.shape[:-2])
        a_rows, a_cols = a.shape[-2], a.shape[-1]
        b_rows, b_cols = b.shape[-2], b.shape[-1]
        self.emit("gemm", node, ins, [out], a=ins[0], b=ins[1], c=out, ta=op.transpose_a,
                  tb=op.transpose_b, m=m, n=n, k=k, lda=a_cols, ldb=b_cols, ldc=n, count=count,
                  stride_a=a_rows * a_cols if count != 1 else 0,
                  stride_b=b_rows * b_cols if count != 1 else 0, stride_c=m * n if count != 1 else 0,
                  dtype=node.dtype)

    def _outer_n_inner(self, shape, axes):
        outer = dims.size(shape[:axes[0]])
        n = dims.size([shape[a] for a in axes])
        inner = dims.size(shape[axes[-1] + 1:])
        return outer, n, inner

    def _lower_Reduce(self, node, ins, out):
        x = node.inputs[0]
        outer, n, inner = self._outer_n_inner(x.shape, node.op.axes)
        self.emit("reduce", node, ins, [out], x=ins[0], out=out, op=node.op.kind, outer=outer, n=n,
                  inner=inner, dtype=node.dtype)

    def _lower_ArgMax(self, node, ins, out):
        x = node.inputs[0]
        outer, n, inner = self._outer_n_inner(x.shape, (node.op.axis,))
        self.emit("argmax", node, ins, [out], x=ins[0], out=out, op=node.op.kind, outer=outer, n=n,
                  inner=inner)

    def _lower_Softmax(self, node, ins, out):
        x = node.inputs[0]
        outer, n, inner = self._outer_n_inner(x.shape, (node.op.axis % x.ndim,))
        self.emit("softmax", node, ins, [out], x=ins[0], out=out, log=node.op.log, outer=outer, n=n,
                  inner=inner, dtype=node.dtype)

    def _lower_Transpose(self, node, ins, out):
        self.emit("transpose", node, ins, [out], x=ins[0], out=out, perm=node.op.perm,
                  in_shape=node.inputs[0].shape)

    def _lower_Concat(self, node, ins, out):
        axis = node.op.axis
        outer = dims.size(node.shape[:axis])
        total = dims.size(node.shape[axis:])
        pieces, offset = [], 0
        for x, buf in zip(node.inputs, ins):
            width = dims.size(x.shape[axis:])
            pieces.append((buf, width, offset))
            offset = dims.as_dim(offset + width)
        self.emit("concat", node, ins, [out], out=out, outer=outer, total=total, pieces=pieces)

    def _lower_Slice(self, node, ins, out):
        x = node.inputs[0]
        self.emit("slice", node, ins, [out], x=ins[0], out=out, **_slice_plan(x.shape, node.op))

    def _lower_SliceGrad(self, node, ins, out):
        self.emit("slice_grad", node, ins, [out], g=ins[0], out=out, **_slice_plan(node.shape, node.op.slice_op))

    def _lower_Gather(self, node, ins, out):
        table, indices = node.inputs
        self.emit("gather", node, ins, [out], table=ins[0], indices=ins[1], out=out,
                  rows=table.shape[0], width=dims.size(table.shape[1:]), count=dims.size(indices.shape))

    def _lower_ScatterAdd(self, node, ins, out):
        updates, indices = node.inputs
        self.emit("scatter_add", node, ins, [out], updates=ins[0], indices=ins[1], out=out,
                  rows=node.shape[0], width=dims.size(node.shape[1:]), count=dims.size(indices.shape))

    def _lower_OneHot(self, node, ins, out):
        self.emit("one_hot", node, ins, [out], indices=ins[0], out=out, count=dims.size(node.inputs[0].shape),
                  depth=node.op.depth)

    def _lower_Random(self, node, ins, out):
        self.emit("random", node, ins, [out], state=ins[0], out=out, size=dims.size(node.shape),
                  distribution=node.op.distribution, stream=node.op.stream, dtype=node.dtype)

    # --------------------------------------------------------------- outputs and updates
    def _bind_outputs(self):
        claimed = set()
        for i, node in enumerate(self.graph.outputs):
            buf = self.buf(node)
            name = _output_name(self.graph, i)
            if buf.role == "temp" and id(buf) not in claimed:
                buf.role, buf.name = "output", self.names(name)
                claimed.add(id(buf))
                self.outputs.append(buf)
                continue
            dst = Buffer(self.names(name), node.shape, node.dtype, "output", scope=node.scope)
            self.emit("copy", node, [buf], [dst], src=buf, dst=dst, size=dims.size(node.shape))
            self.outputs.append(dst)

    def _apply_updates(self):
        """Every update reads the values from before the call (Theano/Keras semantics).

        1. An update whose value is another variable copies that variable first, before any
           kernel can write to it in place.
        2. Each remaining value is written straight into its variable when no later kernel
           reads the variable's old value; a value already moved into one variable is copied
           from there for the next.
        3. Everything else is copied at the end."""
        pairs = [(a, self.buf(a.inputs[0]), a.inputs[1]) for a in self.graph.assigns]
        values = {}
        for assign, var, value_node in pairs:
            value = self.buf(value_node)
            if value.root.role == "variable" and value.root is not var:
                value = self._snapshot_first(value, value_node)
            values[id(assign)] = value
        moved, late_copies = {}, []
        for assign, var, _ in pairs:
            value = values[id(assign)]
            value = moved.get(id(value), value)
            if value is var:
                continue
            if value.role == "temp" and self._write_in_place(var, value):
                moved[id(value)] = var
                continue
            late_copies.append((assign, value, var))
        for assign, value, var in late_copies:
            value = moved.get(id(value), value)
            self.emit("copy", assign, [value], [var], src=value, dst=var, size=dims.size(var.shape))

    def _snapshot_first(self, value, node):
        """A copy of a variable's value taken before any kernel runs."""
        tmp = self._temp(node)
        self.emit("copy", node, [value], [tmp], src=value, dst=tmp, size=dims.size(value.shape))
        self.kernels.insert(0, self.kernels.pop())
        return tmp

    def _write_in_place(self, var, value):
        writer = next((i for i, k in enumerate(self.kernels) if value in k.writes), None)
        if writer is None:
            return False
        kernel = self.kernels[writer]
        for i, k in enumerate(self.kernels):
            reads_var = any(b.root is var for b in k.reads)
            if i > writer and reads_var:
                return False
            if i == writer and reads_var and not _reads_full_index(k, var):
                return False
        if any(b.root is var for b in kernel.writes):
            return False
        self._redirect(value, var)
        self.temps.remove(value)
        return True

    def _redirect(self, old, new):
        for k in self.kernels:
            k.reads = [new if b is old else b for b in k.reads]
            k.writes = [new if b is old else b for b in k.writes]
            for key, val in k.attrs.items():
                if val is old:
                    k.attrs[key] = new
                elif isinstance(val, list):
                    k.attrs[key] = [new if b is old else (_swap_piece(b, old, new)) for b in val]
        for v in self.views:
            if v.base is old:
                v.base, v.name = new, new.name

    # --------------------------------------------------------------- loop merging
    def _merge_elementwise(self):
        """Fold each elementwise kernel into an earlier one of the same shape when the kernels in
        between neither produce what it reads nor touch what it writes (it may then run earlier)."""
        merged = []
        for k in self.kernels:
            target = _merge_target(merged, k) if k.kind == "elementwise" else None
            if target is not None:
                _merge_into(target, k)
            else:
                merged.append(k)
        self.kernels = merged


def _output_name(graph, i):
    """The name the graph gives output ``i`` (made an identifier by ``names``), else ``out<i>``."""
    if graph.output_names is not None:
        return graph.output_names[i]
    return f"out{i}" if len(graph.outputs) > 1 else "out"


_MERGE_LOOKBACK = 16


def _conflicts(a, b):
    """Whether kernels a and b cannot swap places (one writes what the other touches)."""
    a_reads, a_writes = {id(x.root) for x in a.reads}, {id(x.root) for x in a.writes}
    b_reads, b_writes = {id(x.root) for x in b.reads}, {id(x.root) for x in b.writes}
    return bool(a_writes & (b_reads | b_writes) or b_writes & a_reads)


def _hoist_scalar_kernels(kernels):
    """Move one-element elementwise kernels (step sizes, bias corrections) up to just after what
    they depend on, so they do not sit between loops that could otherwise be merged."""
    out = []
    for k in kernels:
        if k.kind == "elementwise" and dims.size(k.shape) == 1:
            at = len(out)
            while at > 0 and not _conflicts(out[at - 1], k):
                at -= 1
            out.insert(at, k)
        else:
            out.append(k)
    return out


def _merge_target(kernels, k):
    reads = {id(b.root) for b in k.reads}
    writes = {id(b.root) for b in k.writes}
    for earlier in reversed(kernels[-_MERGE_LOOKBACK:]):
        if _can_merge(earlier, k):
            return earlier
        earlier_writes = {id(b.root) for b in earlier.writes}
        earlier_reads = {id(b.root) for b in earlier.reads}
        if earlier_writes & (reads | writes) or earlier_reads & writes:
            return None
    return None


def _swap_piece(item, old, new):
    if isinstance(item, tuple) and item and item[0] is old:
        return (new,) + item[1:]
    return item


def _reads_full_index(kernel, buf):
    if kernel.kind != "elementwise":
        return False
    return all(b.shape == kernel.shape for b in kernel.operands if b.root is buf)


def _can_merge(k1, k2):
    if k1.kind != "elementwise" or k2.kind != "elementwise":
        return False
    if k1.shape != k2.shape or k1.dtype != k2.dtype:
        return False
    written1 = {id(b.root) for b in k1.outputs}
    written2 = {id(b.root) for b in k2.outputs}
    for b in k2.operands:
        if id(b.root) in written1 and b.shape != k2.shape:
            return False
    for b in k1.operands:
        if id(b.root) in written2 and b.shape != k1.shape:
            return False
    return True


def _merge_into(k1, k2):
    """Append k2's outputs to k1; k2 reads k1's outputs as the values just computed."""
    operands = list(k1.operands)
    produced = {id(b): i for i, b in enumerate(k1.outputs)}
    subs = {}
    for j, b in enumerate(k2.operands):
        if id(b) in produced:
            subs[X[j]] = sympy.Symbol(f"y{produced[id(b)]}", real=True)
        else:
            if b not in operands:
                operands.append(b)
            subs[X[j]] = X[operands.index(b)]
    new_exprs = [e.xreplace(subs) for e in k2.exprs]
    # Results of k1 referenced as y<i> are inlined so each output stays one expression over operands.
    y_subs = {sympy.Symbol(f"y{i}", real=True): e for i, e in enumerate(k1.exprs)}
    new_exprs = [e.xreplace(y_subs) for e in new_exprs]
    k1.attrs["operands"] = operands
    k1.attrs["outputs"] = k1.outputs + k2.outputs
    k1.attrs["exprs"] = k1.exprs + new_exprs
    k1.reads = list(operands)
    k1.writes = list(k1.outputs)
    k1.scope = _joined_scopes(k1.scope, k2.scope)


def _joined_scopes(*scopes):
    """The scopes of a merged loop, each named once, in order: ``level_loss; level_mae``."""
    parts = [p for s in scopes for p in s.split("; ") if p]
    return "; ".join(dict.fromkeys(parts))


def _slice_plan(shape, op):
    """Per-axis (start, step, count) of a slice over ``shape``, and whether axes are dropped."""
    axes = []
    for axis, (d, a, b, s) in enumerate(zip(shape, op.starts, op.stops, op.steps)):
        count = d if not dims.is_static(d) else len(range(a, b, s))
        if axis in op.drop:
            count = 1
        axes.append((a, s, count))
    return {"in_shape": shape, "axes": axes}


def _storage(buf):
    root = buf.root
    return ("region", root.region) if root.role == "temp" and root.region is not None else id(root)


def _check_broadcast_reads(kernels):
    """The schedule's invariant, for every backend: a loop never writes memory it reads with
    broadcasting (an element would be overwritten before its last read)."""
    for k in kernels:
        if k.kind != "elementwise":
            continue
        written = {_storage(out) for out in k.outputs}
        for buf in k.operands:
            if buf.shape != k.shape and _storage(buf) in written:
                raise RuntimeError(f"internal scheduling error: elementwise kernel ({k.scope}) writes "
                                   f"{buf.name!r}, which it also reads with broadcasting")


def _plan_workspace(kernels, temps):
    """Pack temps into regions by liveness; a region is reused only by an equal-size temp."""
    temp_ids = {id(t) for t in temps if t.role == "temp"}
    last_use = {}
    for i, k in enumerate(kernels):
        for b in k.reads + k.writes:
            r = b.root
            if id(r) in temp_ids:
                last_use[id(r)] = i
    regions, free, placed = [], {}, set()
    for i, k in enumerate(kernels):
        dying = [b.root for b in k.reads if id(b.root) in temp_ids and last_use[id(b.root)] == i
                 and b.root not in k.writes]
        in_place_ok = k.kind == "elementwise"
        if in_place_ok:
            dying = _release(dying, free, k, kernels_elementwise=True)
        for b in k.writes:
            r = b.root
            if id(r) not in temp_ids or id(r) in placed:
                continue
            key = (r.dtype, sympy.sympify(r.size))
            if free.get(key):
                r.region = free[key].pop()
            else:
                regions.append((r.dtype, r.size))
                r.region = len(regions) - 1
            placed.add(id(r))
        _release(dying, free, k, kernels_elementwise=False)
        for b in k.writes:          # written but never read again (dead outputs of merged loops)
            r = b.root
            if id(r) in temp_ids and last_use.get(id(r)) == i and all(r is not d for d in dying):
                free.setdefault((r.dtype, sympy.sympify(r.size)), []).append(r.region)
    return regions


def _release(dying, free, kernel, kernels_elementwise):
    """Return the regions of dying temps to the free lists; give back those kept busy."""
    kept, seen = [], set()
    for r in dying:
        if id(r) in seen or r.region is None:
            continue
        if kernels_elementwise and not all(b.shape == kernel.shape for b in kernel.operands if b.root is r):
            kept.append(r)     # read with broadcasting: its memory is still read while we write
            continue
        seen.add(id(r))
        free.setdefault((r.dtype, sympy.sympify(r.size)), []).append(r.region)
    return kept

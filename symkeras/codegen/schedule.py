"""Lowering: an optimised FunctionGraph → a Program of kernels over named buffers.

One kernel per graph node, in graph order; outputs bound, and each variable update a copy at
the end. The optimisations that need buffers to exist (in-place updates, loop merging,
workspace packing) are the program passes of ``program_passes``, which ``lower`` runs last.
"""

from symkeras.codegen import names, program_passes
from symkeras.codegen.kernels import (LOWERINGS, ArgMax, Buffer, Concat, Copy, Elementwise, Gather, Gemm, OneHot,
                                      Program, Random, Reduce, Scan, ScatterAdd, Slice, SliceGrad, Softmax, Transpose)
from symkeras.ir import dims, passes, scalar
from symkeras.ir import ops as O
from symkeras.ir.scan import Scan as ScanOp

X = scalar.X


def lower(graph, name="function", log=None):
    """The Program of ``graph``, ready to render: lowered, then optimised by the program passes
    (``log(phase, pass_name, program)`` sees each pass's result)."""
    return program_passes.optimize(lower_unoptimized(graph, name), log)


def lower_unoptimized(graph, name="function"):
    """The Program of ``graph`` as lowered, the program passes' input (its temps not yet placed)."""
    return _Lowering(graph, name).run()


def _extra_sizes(graph):
    """The size symbols other than batch, in the order the inputs show them. Each becomes a local
    and an argument of generated code, so its name must suit both targets; every size the
    function computes with must be known from its inputs."""
    sizes = dims.sizes_of(x.shape for x in graph.inputs)[1:]
    for s in sizes:
        if names.reserved(s.name):
            raise ValueError(f"size symbol {s.name!r}: a reserved name in generated code")
    known = set(sizes) | {dims.BATCH}
    for node in graph.nodes():
        unknown = set().union(*(dims.symbols_in(d) for d in node.shape)) - known
        if unknown:
            raise ValueError(f"graph disconnected: the sizes {sorted(map(str, unknown))} of {node.name!r} are "
                             "not the size of any input's axis")
    return sizes


class _Lowering:
    def __init__(self, graph, name, unique_names=None):
        self.graph, self.name = graph, names.function_name(name)
        self.sizes = _extra_sizes(graph)
        # Buffer names are shared by both backends' sources, beside the function's own name and sizes
        # (a loop body's buffers share the names of the function they are in).
        self.names = unique_names or names.UniqueNames(taken={self.name, *(s.name for s in self.sizes)})
        self.results = {}         # id(node of several results) -> the buffer of each result
        self.buffers = {}         # id(node) -> Buffer
        self.kernels = []
        self.inputs = [self._leaf(x, "input") for x in graph.inputs]
        self.variables = [self._leaf(v, "variable") for v in graph.variables()]
        self.constants, self.temps, self.outputs = [], [], []
        self.temp_count = 0

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

    def emit(self, kernel_type, node, **fields):
        self.kernels.append(kernel_type(scope=node.scope, **fields))

    # --------------------------------------------------------------- main
    def run(self):
        for node in self.graph.nodes():
            if id(node) in self.buffers or isinstance(node.op, O.Assign):
                continue
            self._lower_node(node)
        self._bind_outputs()
        self._emit_updates()
        return Program(self.name, self.inputs, self.outputs, self.variables, self.constants,
                       [t for t in self.temps if t.role == "temp"], self.kernels, sizes=self.sizes)

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
        if isinstance(op, O.TupleGet):
            self.buffers[id(node)] = self.results[id(node.inputs[0])][op.index]
            return
        if isinstance(op, ScanOp):
            self._lower_scan(node)
            return
        if isinstance(op, (O.Reshape, O.BatchCast)):
            src = self.buf(node.inputs[0])
            view = Buffer(src.name, node.shape, node.dtype, "view", base=src.root, scope=node.scope)
            self.buffers[id(node)] = view
            return
        out = self._temp(node)
        self.buffers[id(node)] = out
        ins = [self.buf(x) for x in node.inputs]
        handler = getattr(self, "_lower_" + type(op).__name__, None)
        if handler is not None:
            handler(node, ins, out)
        else:
            kind = LOWERINGS[type(op).__name__]
            self.emit(kind, node, **kind.fields_from(node, ins, out))

    # --------------------------------------------------------------- per op
    def _lower_Elemwise(self, node, ins, out):
        self.emit(Elementwise, node, operands=tuple(ins), outputs=(out,), exprs=(node.op.expr,),
                  shape=node.shape, dtype=node.dtype)

    def _lower_BroadcastTo(self, node, ins, out):
        self.emit(Elementwise, node, operands=tuple(ins), outputs=(out,), exprs=(X[0],),
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
        self.emit(Gemm, node, a=ins[0], b=ins[1], c=out, ta=op.transpose_a, tb=op.transpose_b,
                  m=m, n=n, k=k, lda=a_cols, ldb=b_cols, ldc=n, count=count,
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
        self.emit(Reduce, node, x=ins[0], out=out, op=node.op.kind, outer=outer, n=n, inner=inner,
                  dtype=node.dtype)

    def _lower_ArgMax(self, node, ins, out):
        x = node.inputs[0]
        outer, n, inner = self._outer_n_inner(x.shape, (node.op.axis,))
        self.emit(ArgMax, node, x=ins[0], out=out, op=node.op.kind, outer=outer, n=n, inner=inner)

    def _lower_Softmax(self, node, ins, out):
        x = node.inputs[0]
        outer, n, inner = self._outer_n_inner(x.shape, (node.op.axis % x.ndim,))
        self.emit(Softmax, node, x=ins[0], out=out, log=node.op.log, outer=outer, n=n, inner=inner,
                  dtype=node.dtype)

    def _lower_Transpose(self, node, ins, out):
        self.emit(Transpose, node, x=ins[0], out=out, perm=node.op.perm, in_shape=node.inputs[0].shape)

    def _lower_Concat(self, node, ins, out):
        axis = node.op.axis
        outer = dims.size(node.shape[:axis])
        total = dims.size(node.shape[axis:])
        pieces, offset = [], 0
        for x, buf in zip(node.inputs, ins):
            width = dims.size(x.shape[axis:])
            pieces.append((buf, width, offset))
            offset = dims.as_dim(offset + width)
        self.emit(Concat, node, pieces=tuple(pieces), out=out, outer=outer, total=total)

    def _lower_Slice(self, node, ins, out):
        x = node.inputs[0]
        self.emit(Slice, node, x=ins[0], out=out, **_slice_plan(x.shape, node.op))

    def _lower_SliceGrad(self, node, ins, out):
        self.emit(SliceGrad, node, g=ins[0], out=out, **_slice_plan(node.shape, node.op.slice_op))

    def _lower_Gather(self, node, ins, out):
        table, indices = node.inputs
        self.emit(Gather, node, table=ins[0], indices=ins[1], out=out, rows=table.shape[0],
                  width=dims.size(table.shape[1:]), count=dims.size(indices.shape))

    def _lower_ScatterAdd(self, node, ins, out):
        updates, indices = node.inputs
        self.emit(ScatterAdd, node, updates=ins[0], indices=ins[1], out=out,
                  rows=node.shape[0], width=dims.size(node.shape[1:]), count=dims.size(indices.shape))

    def _lower_OneHot(self, node, ins, out):
        self.emit(OneHot, node, indices=ins[0], out=out, count=dims.size(node.inputs[0].shape),
                  depth=node.op.depth)

    def _lower_Random(self, node, ins, out):
        self.emit(Random, node, state=ins[0], out=out, size=dims.size(node.shape),
                  distribution=node.op.distribution, stream=node.op.stream, dtype=node.dtype)

    def _lower_scan(self, node):
        """The loop kernel: its body lowered into a Program of its own whose buffers are named
        with this function's, and whose temps (with each step's new states) become this
        program's temps, live while the loop runs."""
        op = node.op
        body = _Lowering(passes.optimize(op.body), "step", unique_names=self.names).run()
        body = program_passes.optimize_body(body)
        n_states = op.counts[1]
        results = [self._result_temp(node, shape, dtype) for shape, dtype in op.results(node.inputs)]
        next_states = body.outputs[:n_states]
        for buf in next_states:
            buf.role = "temp"
        self.temps.extend(body.temps)
        self.temps.extend(next_states)
        self.constants.extend(body.constants)
        seqs, inits, params = op.split_inputs([self.buf(x) for x in node.inputs])
        self.emit(Scan, node, sequences=tuple(seqs), initial=tuple(inits), parameters=tuple(params),
                  constants=tuple(body.constants), finals=tuple(results[:n_states]),
                  stacked=tuple(results[n_states:]), next_states=tuple(next_states), scratch=tuple(body.temps),
                  body=body, steps=node.inputs[0].shape[0], reverse=op.reverse)
        self.results[id(node)] = results

    def _result_temp(self, node, shape, dtype):
        buf = Buffer(self.names(f"t{self.temp_count}"), dims.as_shape(shape), dtype, "temp", scope=node.scope)
        self.temp_count += 1
        self.temps.append(buf)
        return buf

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
            self.emit(Copy, node, src=buf, dst=dst, size=dims.size(node.shape))
            self.outputs.append(dst)

    def _emit_updates(self):
        """Every update reads the values from before the call (Theano/Keras semantics): an update
        whose value is another variable copies that variable before any kernel runs (so no update
        can overwrite it first); each update is then a copy into its variable at the end.
        ``program_passes.write_updates_in_place`` turns those copies into in-place writes."""
        for assign in self.graph.assigns:
            var, value_node = self.buf(assign.inputs[0]), assign.inputs[1]
            value = self.buf(value_node)
            if value.root.role == "variable" and value.root is not var:
                value = self._snapshot_first(value, value_node)
            if value is not var:
                self.emit(Copy, assign, src=value, dst=var, size=dims.size(var.shape))

    def _snapshot_first(self, value, node):
        """A copy of a variable's value taken before any kernel runs."""
        tmp = self._temp(node)
        self.emit(Copy, node, src=value, dst=tmp, size=dims.size(value.shape))
        self.kernels.insert(0, self.kernels.pop())
        return tmp


def _output_name(graph, i):
    """The name the graph gives output ``i`` (made an identifier by ``names``), else ``out<i>``."""
    if graph.output_names is not None:
        return graph.output_names[i]
    return f"out{i}" if len(graph.outputs) > 1 else "out"


def _slice_plan(shape, op):
    """Per-axis (start, step, count) of a slice over ``shape``, and whether axes are dropped."""
    axes = []
    for axis, (d, a, b, s) in enumerate(zip(shape, op.starts, op.stops, op.steps)):
        count = d if not dims.is_static(d) else len(range(a, b, s))
        if axis in op.drop:
            count = 1
        axes.append((a, s, count))
    return {"in_shape": shape, "axes": axes}

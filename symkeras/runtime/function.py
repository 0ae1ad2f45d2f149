"""GeneratedFunction: a compiled graph callable on NumPy arrays.

Build: optimise the graph, lower it to a Program, render it for the backend, build
(C: through the on-disk cache). Call: validate and convert the inputs, take a call context
(workspace and argument block, bound to the variables' arrays) so that concurrent calls share
nothing, check the sizes the batch needs, allocate the outputs, run the generated code.
"""

import hashlib
import linecache
import os
import sys
import types
import warnings

import numpy as np

from symkeras import config, version
from symkeras.codegen import c_backend, cache, cbuild, names, numpy_backend, program_passes, schedule
from symkeras.ir import dims
from symkeras.ir import ops as O
from symkeras.ir.ops import VariableStorage
from symkeras.ir.passes import describe_pipeline, optimize
from symkeras.ir.scalar import X
from symkeras.runtime import graph_cache
from symkeras.runtime.artifact import decode_shape, encode_shape, is_valid as is_valid_artifact
from symkeras.runtime.contexts import ContextPool, MemoryLayout
from symkeras.runtime.inputs import InputSpec, convert_all

_warned_no_compiler = False


def resolve_backend(backend=None):
    """argument > $SYMKERAS_BACKEND > 'c'; 'c' without a working compiler falls back to NumPy."""
    global _warned_no_compiler
    choice = config.requested_backend(backend)
    if choice == "c":
        if not cbuild.compiler_available():
            if not _warned_no_compiler:
                warnings.warn("symkeras: no working C compiler found; using the NumPy backend",
                              RuntimeWarning, stacklevel=3)
                _warned_no_compiler = True
            return "numpy"
    return choice


class GeneratedFunction:
    """A graph compiled for one backend. Call it with a list of input arrays."""

    def __init__(self, graph, backend=None, name=None):
        self.name = names.function_name(name or graph.name)
        self.backend = resolve_backend(backend)
        graph.name = self.name
        key = graph_cache.graph_key(graph, self.backend, version.__version__)
        variables = graph.variables()
        # Debug output shows the passes at work, so it bypasses the cache of rendered functions.
        artifact = graph_cache.load(key) if config.debug_level() == 0 else None
        if artifact is not None and not is_valid_artifact(artifact, self.backend, len(variables)):
            artifact = None                     # malformed: rendered again, as on a miss
        if artifact is None:
            artifact = _render(graph, self.backend)
            graph_cache.store(key, artifact)
        self.storages = [variables[i].op.storage for i in artifact["variables"]]
        self.input_specs = [InputSpec(name, decode_shape(shape), dtype, bound)
                            for name, shape, dtype, bound in artifact["inputs"]]
        self._outputs = [(dims.shape_function(decode_shape(shape)), np.dtype(dtype))
                         for shape, dtype in artifact["outputs"]]
        runner = _CRunner if self.backend == "c" else _NumPyRunner
        self._runner = runner(artifact, self.storages)
        layout = MemoryLayout([(dtype, dims.dim_function(dims.decode(size))) for dtype, size in artifact["workspace"]],
                              self._outputs)
        # Each call takes its own workspace (and C argument block) from here, so calls may overlap;
        # calls that update variables take turns (overlapping ones would lose updates).
        self.contexts = ContextPool(layout, self._runner.prepare, self._runner.workspace_bytes,
                                    self._runner.new_args, exclusive=artifact["updates"])
        self.source, self.path = artifact["source"], self._runner.path
        self.compiled = self._runner.compiled     # False when the build came from the cache
        if config.debug_level() >= 3:
            print(f"[symkeras] {self.name} ({self.backend}): {self.path}", file=sys.stderr)

    @property
    def inputs(self):
        return list(self.input_specs)

    def __call__(self, inputs):
        arrays, batch = convert_all(self.input_specs, inputs)
        contexts = self.contexts
        context = contexts.acquire()
        try:
            workspace = contexts.workspace(context, batch)      # sizes are checked here, first
            outputs = [np.empty(shape_of(batch), dtype) for shape_of, dtype in self._outputs]
            self._runner.run(context, batch, arrays, outputs, workspace)
        finally:
            contexts.release(context)
        return [o[()] if o.ndim == 0 else o for o in outputs]

    def __repr__(self):
        return f"<GeneratedFunction {self.name} backend={self.backend} path={self.path}>"


def render_source(graph, backend):
    """The generated source of ``graph`` for ``backend`` ('c' or 'numpy'), without building it."""
    return _render(graph, config.requested_backend(backend))["source"]


def _render(graph, backend):
    """Optimise, lower and render ``graph``: everything a runner needs, as JSON-able data."""
    debug = config.debug_level()
    if debug >= 1:
        print(f"[symkeras] graph {graph.name}:\n{graph.describe()}", file=sys.stderr)
    optimized = optimize(graph, log=_pass_logger(graph.name) if debug >= 2 else None)
    program = schedule.lower(optimized, graph.name, log=_program_pass_logger(graph.name) if debug >= 2 else None)
    position = {id(v.op.storage): i for i, v in enumerate(graph.variables())}
    bounds = _index_bounds(optimized)
    artifact = {
        "inputs": [[b.name, encode_shape(b.shape), b.dtype, bounds.get(i)] for i, b in enumerate(program.inputs)],
        "outputs": [[encode_shape(b.shape), b.dtype] for b in program.outputs],
        "variables": [position[id(v.op.storage)] for v in optimized.variables()],
        "updates": bool(optimized.assigns),
        "workspace": [[dtype, dims.encode(size)] for dtype, size in program.regions],
    }
    if backend == "c":
        rendered = c_backend.render(program)
        artifact.update(source=rendered.source, cdef=rendered.cdef, symbol=rendered.symbol,
                        args_type=rendered.args_type, workspace_symbol=rendered.workspace_symbol,
                        fields=[[field, role, buf.dtype] for field, role, buf in rendered.fields])
    else:
        artifact.update(source=numpy_backend.render(program, version.__version__), symbol=program.name)
    return artifact


def _index_bounds(graph):
    """{input position: number of table rows} for inputs used (through casts and reshapes) as
    gather/scatter indices: those are range-checked in Python before the generated code runs."""
    position = {id(x): i for i, x in enumerate(graph.inputs)}
    bounds = {}
    for node in graph.nodes():
        if not isinstance(node.op, (O.Gather, O.ScatterAdd)):
            continue
        rows = node.inputs[0].shape[0] if isinstance(node.op, O.Gather) else node.shape[0]
        source = node.inputs[1]
        while isinstance(source.op, O.Reshape) or (isinstance(source.op, O.Elemwise) and source.op.expr == X[0]):
            source = source.inputs[0]
        if id(source) in position and dims.is_static(rows):
            i = position[id(source)]
            bounds[i] = min(rows, bounds.get(i, rows))
    return bounds


def _pass_logger(name):
    print(f"[symkeras] {name}: passes\n{describe_pipeline()}", file=sys.stderr)
    print(f"[symkeras] {name}: program passes\n{program_passes.describe_pipeline()}", file=sys.stderr)

    def log(phase, pass_name, graph):
        print(f"[symkeras] {name}: after {phase}/{pass_name}: {len(graph.nodes())} nodes", file=sys.stderr)
    return log


def _program_pass_logger(name):
    def log(phase, pass_name, program):
        print(f"[symkeras] {name}: after {phase}/{pass_name}: {len(program.kernels)} kernels", file=sys.stderr)
    return log


class _NumPyRunner:
    def __init__(self, artifact, storages):
        self.path, module, self.compiled = _load_python_module(artifact["source"], artifact["symbol"])
        self.fn = getattr(module, artifact["symbol"])
        self.storages = storages
        self.workspace_bytes, self.prepare = module.workspace_bytes, module.workspace_views

    @staticmethod
    def new_args():
        return None

    def run(self, context, batch, inputs, outputs, workspace):
        # NumPy evaluates both branches of np.where: its warnings there are not the user's business
        # (the C backend computes the same values silently).
        with np.errstate(all="ignore"):
            self.fn(batch, *inputs, *outputs, *[s.value for s in self.storages], workspace)


def _load_python_module(source, name):
    digest = hashlib.sha256(source.encode()).hexdigest()
    folder = os.path.join(cache.cache_root(), "numpy")
    os.makedirs(folder, exist_ok=True)
    # The name only makes the file easier to spot: bounded, so no name is too long for a path.
    path = os.path.join(folder, f"{names.identifier(name)[:40]}_{digest[:20]}.py")
    written = not os.path.exists(path) or _read(path) != source
    if written:
        cache.write_atomic(path, source)
    # What runs is the source rendered here, never the file read back (and no bytecode is cached).
    module = types.ModuleType(f"symkeras_generated_{digest[:20]}")
    module.__file__ = path
    linecache.cache[path] = (len(source), None, source.splitlines(keepends=True), path)
    exec(compile(source, path, "exec"), module.__dict__)
    return path, module, written


def _read(path):
    try:
        with open(path) as f:
            return f.read()
    except OSError:
        return None


class _CRunner:
    def __init__(self, artifact, storages):
        built = cbuild.build_module(artifact["source"], artifact["cdef"])
        self.path, self.compiled = built.source_path, built.compiled
        self.ffi, lib = built.ffi, built.lib
        self.fn = getattr(lib, artifact["symbol"])
        self.args_type = f"{artifact['args_type']} *"
        self.workspace_bytes = getattr(lib, artifact["workspace_symbol"])
        roles = {"input": [], "output": [], "variable": []}
        for field, role, dtype in artifact["fields"]:
            roles[role].append((field, c_backend.CTYPES[dtype] + "[]"))
        self.input_fields, self.output_fields = roles["input"], roles["output"]
        self.storages = storages
        self.variable_fields = roles["variable"]

    def new_args(self):
        return self.ffi.new(self.args_type)

    def prepare(self, batch, buffer):
        """The workspace pointer: the buffer's first 64-byte aligned address."""
        return self.ffi.from_buffer("char[]", buffer[(-buffer.ctypes.data) % 64:])

    def _bind_variables(self, context):
        """Point the context's args at the variables' arrays (they are updated in place), and
        hold them: an array replaced meanwhile stays valid until the next call re-binds."""
        epoch = VariableStorage.epoch                   # read first: a later change re-binds again
        arrays = [storage.value for storage in self.storages]
        for (field, ctype), storage, arr in zip(self.variable_fields, self.storages, arrays):
            if not arr.flags.c_contiguous or not arr.flags.writeable:
                raise ValueError(f"variable {storage.name!r}: its array must be C-contiguous and writeable")
            setattr(context.args, field, self.ffi.from_buffer(ctype, arr))
        context.variables, context.epoch = arrays, epoch

    def run(self, context, batch, inputs, outputs, workspace):
        if context.epoch != VariableStorage.epoch:
            self._bind_variables(context)
        args, from_buffer = context.args, self.ffi.from_buffer
        args.batch = batch
        for (field, ctype), arr in zip(self.input_fields, inputs):
            setattr(args, field, from_buffer(ctype, arr))
        for (field, ctype), arr in zip(self.output_fields, outputs):
            setattr(args, field, from_buffer(ctype, arr))
        self.fn(args, workspace)

"""GeneratedFunction: a compiled graph callable on NumPy arrays.

Build: optimise the graph, lower it to a Program, render it for the backend, build
(C: through the on-disk cache). Call: validate and convert the inputs, binding the batch size and
any other unknown size from their shapes, take a call context (workspace and argument block,
bound to the variables' arrays) so that concurrent calls share nothing, check the bytes those
sizes need, allocate the outputs, run the generated code with the sizes as its first arguments.
"""

import sys
import warnings

import numpy as np

from symkeras import config, version
from symkeras.codegen import backends, names, program_passes, schedule
from symkeras.ir import dims
from symkeras.ir import ops as O
from symkeras.ir import passes as graph_passes
from symkeras.ir.passes import describe_pipeline, optimize
from symkeras.ir.scalar import X
from symkeras.runtime import artifact as artifacts
from symkeras.runtime import graph_cache
from symkeras.runtime.contexts import ContextPool, MemoryLayout
from symkeras.runtime.inputs import InputSpec, convert_all

_warned_no_compiler = False


def resolve_backend(backend=None):
    """argument > $SYMKERAS_BACKEND > 'c'; 'c' without a working compiler falls back to NumPy."""
    global _warned_no_compiler
    choice = config.requested_backend(backend)
    if choice == "c":
        if not backends.get("c").available():
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
        backend = backends.get(self.backend)
        # Debug output shows the passes at work, so it bypasses the cache of rendered functions.
        stored = graph_cache.load(key) if config.debug_level() == 0 else None
        # A malformed entry decodes to None: rendered again, as on a miss.
        artifact = artifacts.decode(stored, backend, len(variables)) if stored is not None else None
        if artifact is None:
            artifact = _render(graph, backend, config.profile_enabled())
            graph_cache.store(key, artifacts.encode(artifact, backend))
        signature = artifact.signature
        self.storages = [variables[i].op.storage for i in signature.variables]
        self.input_specs = [InputSpec(slot.name, slot.shape, slot.dtype, slot.bound) for slot in signature.inputs]
        # The values a call binds, in the generated code's order: batch, then the inputs' other unknown sizes.
        self.sizes = (dims.BATCH,) + signature.sizes
        self.output_specs = [(tuple(shape), dtype) for shape, dtype in signature.outputs]   # shapes in the sizes
        self._outputs = [(dims.shape_function(shape, self.sizes), np.dtype(dtype))
                         for shape, dtype in signature.outputs]
        self._runner = backend.load(artifact.code, self.storages)
        layout = MemoryLayout([(dtype, dims.dim_function(size, self.sizes)) for dtype, size in signature.workspace],
                              self._outputs)
        # Each call takes its own workspace (and C argument block) from here, so calls may overlap;
        # calls that update variables take turns (overlapping ones would lose updates).
        self.contexts = ContextPool(layout, self._runner.prepare, self._runner.workspace_bytes,
                                    self._runner.new_args, exclusive=signature.updates)
        self.fixed_batch = _fixed_batch(graph)
        self.source, self.path = artifact.source, self._runner.path
        self.compiled = self._runner.compiled     # False when the build came from the cache
        if config.debug_level() >= 3:
            print(f"[symkeras] {self.name} ({self.backend}): {self.path}", file=sys.stderr)

    @property
    def inputs(self):
        return list(self.input_specs)

    def __call__(self, inputs):
        arrays, sizes = convert_all(self.input_specs, inputs, self.sizes)
        if self.fixed_batch is not None and sizes[0] != self.fixed_batch[0]:
            raise ValueError(f"inputs: batch size {sizes[0]}, but {self.fixed_batch[1]} keeps state for batches of "
                             f"exactly {self.fixed_batch[0]} samples (a stateful layer's batch_input_shape)")
        contexts = self.contexts
        context = contexts.acquire()
        try:
            workspace = contexts.workspace(context, sizes)      # sizes are checked here, first
            outputs = [np.empty(shape_of(*sizes), dtype) for shape_of, dtype in self._outputs]
            self._runner.run(context, sizes, arrays, outputs, workspace)
        finally:
            contexts.release(context)
        return [o[()] if o.ndim == 0 else o for o in outputs]

    def profile(self):
        """[(kernel comment, seconds over all calls so far)] in program order, for a function built
        with SYMKERAS_PROFILE=1 set."""
        seconds = self._runner.profile()
        if seconds is None:
            raise RuntimeError(f"{self.name} was built without profiling: set SYMKERAS_PROFILE=1 before "
                               "building it")
        return list(zip(self._runner.kernel_labels, seconds))

    def __repr__(self):
        return f"<GeneratedFunction {self.name} backend={self.backend} path={self.path}>"


def render_source(graph, backend):
    """The generated source of ``graph`` for ``backend`` ('c' or 'numpy'), without building it."""
    return _render(graph, backends.get(config.requested_backend(backend))).source


def _render(graph, backend, profile=False):
    """Optimise, lower and render ``graph``: its signature and ``backend``'s artifact."""
    graph_passes.check_disabled(graph_passes.PIPELINE, program_passes.PIPELINE)
    debug = config.debug_level()
    if debug >= 1:
        print(f"[symkeras] graph {graph.name}:\n{graph.describe()}", file=sys.stderr)
    optimized = optimize(graph, log=_pass_logger(graph.name) if debug >= 2 else None)
    program = schedule.lower(optimized, graph.name, log=_program_pass_logger(graph.name) if debug >= 2 else None)
    position = {id(v.op.storage): i for i, v in enumerate(graph.variables())}
    bounds = _index_bounds(optimized)
    signature = artifacts.Signature(
        inputs=tuple(artifacts.InputSlot(b.name, tuple(b.shape), b.dtype, bounds.get(i))
                     for i, b in enumerate(program.inputs)),
        outputs=tuple((tuple(b.shape), b.dtype) for b in program.outputs),
        variables=tuple(position[id(v.op.storage)] for v in optimized.variables()),
        updates=bool(optimized.assigns),
        workspace=tuple((dtype, size) for dtype, size in program.regions),
        sizes=tuple(program.sizes),
    )
    return artifacts.Artifact(signature, backend.render(program, profile))


def _fixed_batch(graph):
    """(size, what) when the graph reads state kept for a fixed batch size (``BatchCast``), else None."""
    for node in graph.nodes():
        if isinstance(node.op, O.BatchCast):
            return node.op.size, repr(node.scope.split("/")[0] if node.scope else node.name)
    return None


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

"""Program rewrites, grouped in named phases: the optimisations that need buffers to exist.

Like the graph passes, the pipeline is data: ``PIPELINE`` is printed by ``SYMKERAS_DEBUG=2``
and an optional pass is switched off by name with ``SYMKERAS_DISABLE_PASSES``. Passes marked
``required`` (workspace packing, the no-overwrite check) always run. Each pass maps a Program
to a new one; kernels are immutable, buffers are swapped with ``Kernel.replace_buffer``.
"""

import dataclasses

import sympy

from symkeras.codegen.kernels import (Buffer, Copy, Elementwise, Gemm, WindowConv, WindowConvFilterGrad, WindowGather,
                                      WindowGemm, WindowMax, WindowMaxArg, WindowMaxGrad, WindowMaxGradAt)
from symkeras.ir import dims, scalar
from symkeras.ir.passes import describe, required, run_pipeline

X = scalar.X


# ----------------------------------------------------------------------------- in-place updates

def write_updates_in_place(program):
    """Write each update's value straight into its variable when no later kernel reads the
    variable's old value; a value moved into one variable is copied from there for the next.
    Lowering made every update a copy into its variable at the end: those copies go away."""
    kernels, temps = list(program.kernels), list(program.temps)
    updates = [i for i, k in enumerate(kernels) if _is_update(k)]
    dropped = set()
    for i in updates:
        value, var = kernels[i].src, kernels[i].dst
        body = [k for j, k in enumerate(kernels) if j not in updates]
        if value.role == "temp" and _safe_in_place(body, var, value):
            kernels = _redirect(kernels, value, var)
            temps.remove(value)
            dropped.add(i)
    kernels = [k for j, k in enumerate(kernels) if j not in dropped]
    return dataclasses.replace(program, kernels=kernels, temps=temps)


def _is_update(kernel):
    return isinstance(kernel, Copy) and kernel.dst.role == "variable"


def _safe_in_place(kernels, var, value):
    writer = next((i for i, k in enumerate(kernels) if value in k.writes), None)
    if writer is None:
        return False
    for i, k in enumerate(kernels):
        reads_var = any(b.root is var for b in k.reads)
        if i > writer and reads_var:
            return False
        if i == writer and reads_var and not _reads_full_index(k, var):
            return False
    return not any(b.root is var for b in kernels[writer].writes)


def _reads_full_index(kernel, buf):
    if not isinstance(kernel, Elementwise):
        return False
    return all(b.shape == kernel.shape for b in kernel.operands if b.root is buf)


def _redirect(kernels, old, new):
    """``kernels`` with buffer ``old`` replaced by ``new``; views of ``old`` now view ``new``."""
    for view in {id(b): b for k in kernels for b in k.reads + k.writes if b.base is old}.values():
        view.base, view.name = new, new.name
    return [k.replace_buffer(old, new) for k in kernels]


# ----------------------------------------------------------------------------- loop order and merging

def hoist_scalar_kernels(program):
    """Move one-element elementwise kernels (step sizes, bias corrections) up to just after what
    they depend on, so they do not sit between loops that could otherwise be merged."""
    out = []
    for k in program.kernels:
        if isinstance(k, Elementwise) and dims.size(k.shape) == 1:
            at = len(out)
            while at > 0 and not _conflicts(out[at - 1], k):
                at -= 1
            out.insert(at, k)
        else:
            out.append(k)
    return dataclasses.replace(program, kernels=out)


def _roots(buffers):
    return {id(b.root) for b in buffers}


def _conflicts(a, b):
    """Whether kernels a and b cannot swap places (one writes what the other touches)."""
    a_reads, a_writes, b_reads, b_writes = _roots(a.reads), _roots(a.writes), _roots(b.reads), _roots(b.writes)
    return bool(a_writes & (b_reads | b_writes) or b_writes & a_reads)


_MERGE_LOOKBACK = 16


def merge_elementwise_loops(program):
    """Fold each elementwise kernel into an earlier one of the same shape (Adam's m, v and w
    become one loop) when the kernels in between neither produce what it reads nor touch what
    it writes (it may then run earlier)."""
    merged = []
    for k in program.kernels:
        at = _merge_target(merged, k) if isinstance(k, Elementwise) else None
        if at is not None:
            merged[at] = _merged(merged[at], k)
        else:
            merged.append(k)
    return dataclasses.replace(program, kernels=merged)


def _merge_target(kernels, k):
    """The index of the kernel ``k`` can join, or None."""
    reads, writes = _roots(k.reads), _roots(k.writes)
    for at in range(len(kernels) - 1, max(len(kernels) - _MERGE_LOOKBACK, 0) - 1, -1):
        earlier = kernels[at]
        if _can_merge(earlier, k):
            return at
        if _roots(earlier.writes) & (reads | writes) or _roots(earlier.reads) & writes:
            return None
    return None


def _can_merge(k1, k2):
    if not (isinstance(k1, Elementwise) and isinstance(k2, Elementwise)):
        return False
    if k1.shape != k2.shape or k1.dtype != k2.dtype:
        return False
    written1, written2 = _roots(k1.outputs), _roots(k2.outputs)
    # A result of one loop read with broadcasting by the other is not ready element by element.
    if any(id(b.root) in written1 and b.shape != k2.shape for b in k2.operands):
        return False
    return not any(id(b.root) in written2 and b.shape != k1.shape for b in k1.operands)


def _merged(k1, k2):
    """One loop computing k1's outputs then k2's; k2 reads k1's outputs as the values just computed."""
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
    return dataclasses.replace(k1, operands=tuple(operands), outputs=k1.outputs + k2.outputs,
                               exprs=k1.exprs + tuple(new_exprs), scope=_joined_scopes(k1.scope, k2.scope))


def _joined_scopes(*scopes):
    """The scopes of a merged loop, each named once, in order: ``level_loss; level_mae``."""
    parts = [p for s in scopes for p in s.split("; ") if p]
    return "; ".join(dict.fromkeys(parts))


# ----------------------------------------------------------------------------- convolution

# The bytes of windows a fused convolution gathers at a time: well inside a core's L2 cache.
WINDOW_CHUNK_BYTES = 384 * 1024
_ITEMSIZE = {"float32": 4, "float64": 8}


def fuse_window_gemm(program):
    """A window gather whose windows only the next kernel reads, as the untransposed left operand
    of one matrix product (convolution's im2col, then GEMM), becomes one kernel that gathers and
    multiplies a few samples at a time: the windows stay in cache instead of going through
    memory. (In training, the weight gradient reads the windows too, so they stay whole.)"""
    kernels, temps = list(program.kernels), list(program.temps)
    out, i = [], 0
    while i < len(kernels):
        gather, product = kernels[i], kernels[i + 1] if i + 1 < len(kernels) else None
        if _fusable(gather, product, kernels):
            fused, scratch = _window_gemm(gather, product)
            temps[temps.index(gather.out)] = scratch
            out.append(fused)
            i += 2
            continue
        out.append(gather)
        i += 1
    return dataclasses.replace(program, kernels=out, temps=temps)


def _fusable(gather, product, kernels):
    if not (isinstance(gather, WindowGather) and isinstance(product, Gemm)):
        return False
    windows = gather.out
    if windows.role != "temp" or product.a.root is not windows or product.ta or product.count != 1:
        return False
    if product.b.root is windows or product.c.root is windows or gather.dtype not in _ITEMSIZE:
        return False
    rows = dims.size(gather.out_spatial)
    if sympy.expand(product.m - gather.batch * rows) != 0 or sympy.expand(product.k - dims.size(gather.size)
                                                                          * gather.channels) != 0:
        return False
    return sum(any(b.root is windows for b in k.reads) for k in kernels) == 1


def _window_gemm(gather, product):
    rows = dims.size(gather.out_spatial)
    per_sample = rows * product.k * _ITEMSIZE[gather.dtype]
    chunk = max(1, WINDOW_CHUNK_BYTES // per_sample)
    if dims.is_static(gather.batch):
        chunk = min(chunk, gather.batch)
    scratch = Buffer(gather.out.name, (chunk * rows, product.k), gather.dtype, "temp", scope=gather.scope)
    geometry = {f: getattr(gather, f) for f in ("batch", "channels", "spatial", "out_spatial", "size", "strides",
                                                 "dilation", "pad_before", "pad_after", "dtype")}
    fused = WindowGemm(scope=product.scope, x=gather.x, b=product.b, c=product.c, scratch=scratch,
                       pad_value=gather.pad_value, chunk=chunk, rows=rows, k=product.k, n=product.n,
                       tb=product.tb, ldb=product.ldb, **geometry)
    return fused, scratch


# A convolution whose windows hold at most this many values (window positions x input channels) is
# computed directly from its input: a matrix product with so short an inner dimension (the first
# layer of an image model: 3x3 windows of 1 or 3 channels) runs far below the machine's peak, and
# the windows cost more to write than the product does (tools/bench_conv.py measures both ways).
DIRECT_CONV_MAX_DEPTH = 32

# Sums a direct kernel keeps in registers at a time: 26 of the 32 vector registers of 16 floats
# that AVX-512 has (fewer machines just spill, the results are the same).
_REGISTER_SUMS = {"float32": 26 * 16, "float64": 26 * 8}


def direct_narrow_convolutions(program):
    """A window gather of zero padding whose windows only matrix products read, as convolution's
    forward product (windows @ kernel) and kernel gradient (windows.T @ g), becomes direct kernels
    reading the input itself (``WindowConv``, ``WindowConvFilterGrad``) when the windows are
    narrow (``DIRECT_CONV_MAX_DEPTH``): the windows are never written."""
    kernels, temps = list(program.kernels), list(program.temps)
    for i, gather in enumerate(kernels):
        if not (isinstance(gather, WindowGather) and _narrow(gather)):
            continue
        readers = [j for j, k in enumerate(kernels) if k is not None and any(b.root is gather.out for b in k.reads)]
        direct = [_direct_kernel(gather, kernels[j]) for j in readers]
        if not readers or None in direct or _input_overwritten(kernels, i, readers[-1], gather.x):
            continue
        for j, kernel in zip(readers, direct):
            kernels[j] = kernel
        kernels[i] = None
        temps.remove(gather.out)
    return dataclasses.replace(program, kernels=[k for k in kernels if k is not None], temps=temps)


def _narrow(gather):
    depth = dims.size(gather.size) * gather.channels
    return (gather.out.role == "temp" and gather.pad_value == 0.0 and gather.dtype in _REGISTER_SUMS
            and dims.is_static(gather.channels) and depth <= DIRECT_CONV_MAX_DEPTH)


def _direct_kernel(gather, product):
    """The direct kernel doing ``product``'s work from the gather's input, or None when ``product``
    is not a convolution's forward product or kernel gradient over these windows."""
    windows = gather.out
    if not isinstance(product, Gemm) or product.count != 1 or product.tb or product.dtype != gather.dtype:
        return None
    if product.b.root is windows or product.c.root is windows or product.a.root is not windows:
        return None
    depth, rows = dims.size(gather.size) * gather.channels, gather.batch * dims.size(gather.out_spatial)
    n = product.n
    if not dims.is_static(n) or product.ldb != n or product.ldc != n:
        return None
    geometry = {f: getattr(gather, f) for f in ("batch", "channels", "spatial", "out_spatial", "size", "strides",
                                                 "dilation", "pad_before", "pad_after", "dtype")}
    sums = _REGISTER_SUMS[gather.dtype]
    if not product.ta and sympy.expand(product.m - rows) == 0 and sympy.expand(product.k - depth) == 0:
        # Output positions along the last axis at a time, in blocks of nearly equal size.
        last = gather.out_spatial[-1]
        blocks = -(-last // max(1, min(last, sums // n)))
        return WindowConv(scope=product.scope, x=gather.x, w=product.b, operands=(), outputs=(product.c,),
                          exprs=(X[0],), n=int(n), block=-(-last // blocks), **geometry)
    if product.ta and sympy.expand(product.m - depth) == 0 and sympy.expand(product.k - rows) == 0:
        return WindowConvFilterGrad(scope=product.scope, x=gather.x, g=product.b, dw=product.c, n=int(n),
                                    block=max(1, min(int(depth), sums // n)), **geometry)
    return None


def direct_conv_epilogues(program):
    """An elementwise kernel right after a direct convolution, reading its sums (only it does) and
    otherwise per-channel values (bias) and writing arrays shaped as the sums, is done by the
    convolution as it stores them: the sums never go through memory (conv, bias and activation in
    one pass)."""
    kernels, temps = list(program.kernels), list(program.temps)
    out, i = [], 0
    while i < len(kernels):
        conv, after = kernels[i], kernels[i + 1] if i + 1 < len(kernels) else None
        fused = _with_epilogue(conv, after, kernels) if isinstance(conv, WindowConv) else None
        if fused is None:
            out.append(conv)
            i += 1
            continue
        temps.remove(conv.outputs[0])
        out.append(fused)
        i += 2
    return dataclasses.replace(program, kernels=out, temps=temps)


def _with_epilogue(conv, ew, kernels):
    if not isinstance(ew, Elementwise) or len(conv.outputs) != 1 or conv.exprs != (X[0],):
        return None
    sums = conv.outputs[0]
    if sums.role != "temp" or ew.dtype != conv.dtype or sum(any(b.root is sums for b in k.reads) for k in kernels) != 1:
        return None
    shape = ew.shape          # the sums' shape, or a view of it: (batch, *out_spatial, n)
    if sympy.expand(dims.size(shape) - dims.size(sums.shape)) != 0 or shape[-1] != conv.n:
        return None
    if any(b.shape != shape or b.dtype != conv.dtype or b.root is sums for b in ew.outputs):
        return None
    subs, operands = {}, []
    for j, b in enumerate(ew.operands):
        if b.root is sums:
            if b.shape != shape:
                return None
            subs[X[j]] = X[0]
        elif dims.size(b.shape) in (1, conv.n) and (dims.size(b.shape) == 1 or b.shape[-1] == conv.n):
            if b not in operands:
                operands.append(b)
            subs[X[j]] = X[1 + operands.index(b)]
        else:
            return None
    exprs = tuple(e.xreplace(subs) for e in ew.exprs)
    return dataclasses.replace(conv, operands=tuple(operands), outputs=ew.outputs, exprs=exprs,
                               scope=_joined_scopes(conv.scope, ew.scope))


def _input_overwritten(kernels, start, stop, x):
    """Whether a kernel after ``start``, up to ``stop``, writes ``x`` (the direct kernels read it later
    than the gather did)."""
    return any(k is not None and any(b.root is x.root for b in k.writes) for k in kernels[start + 1:stop + 1])


# ----------------------------------------------------------------------------- max pooling

_GEOMETRY = ("batch", "channels", "spatial", "out_spatial", "size", "strides", "dilation", "pad_before", "pad_after",
             "dtype")


def pool_argmax_from_forward(program):
    """Max pooling and its gradient in one program: the forward pass also writes, per window and
    channel, the number of the position that won (int32), and the gradient reads it instead of
    searching the pooled input again."""
    kernels, temps = list(program.kernels), list(program.temps)
    taken = {b.name for b in _all_buffers(program)}
    for j, grad in enumerate(kernels):
        if not isinstance(grad, WindowMaxGrad):
            continue
        forward = next((i for i in range(j) if isinstance(kernels[i], WindowMax) and kernels[i].x is grad.x
                        and all(getattr(kernels[i], f) == getattr(grad, f) for f in _GEOMETRY)), None)
        if forward is None:
            continue
        pooled = kernels[forward]
        name = _fresh(f"{pooled.out.name}_arg", taken)
        arg = Buffer(name, pooled.out.shape, "int32", "temp", scope=pooled.scope)
        temps.append(arg)
        geometry = {f: getattr(pooled, f) for f in _GEOMETRY}
        kernels[forward] = WindowMaxArg(scope=pooled.scope, x=pooled.x, out=pooled.out, arg=arg, **geometry)
        kernels[j] = WindowMaxGradAt(scope=grad.scope, arg=arg, g=grad.g, operands=(), outputs=(grad.out,),
                                     exprs=(X[0],), **geometry)
    return dataclasses.replace(program, kernels=kernels, temps=temps)


def direct_pool_grad_epilogues(program):
    """An elementwise kernel right after a max pooling gradient whose windows tile the input, reading
    that gradient (only it does) and otherwise arrays of its shape (the activation before the
    pooling), is done by the pooling gradient as it stores each element: a ReLU's mask costs no pass
    of its own."""
    kernels, temps = list(program.kernels), list(program.temps)
    out, i = [], 0
    while i < len(kernels):
        grad, after = kernels[i], kernels[i + 1] if i + 1 < len(kernels) else None
        fused = _pool_grad_with_epilogue(grad, after, kernels) if isinstance(grad, WindowMaxGradAt) else None
        if fused is None:
            out.append(grad)
            i += 1
            continue
        temps.remove(grad.outputs[0])
        out.append(fused)
        i += 2
    return dataclasses.replace(program, kernels=out, temps=temps)


def _pool_grad_with_epilogue(grad, ew, kernels):
    if not isinstance(ew, Elementwise) or not grad.tiles or len(grad.outputs) != 1 or grad.exprs != (X[0],):
        return None
    s = grad.outputs[0]
    if s.role != "temp" or ew.dtype != grad.dtype or sum(any(b.root is s for b in k.reads) for k in kernels) != 1:
        return None
    shape = ew.shape
    if sympy.expand(dims.size(shape) - dims.size(s.shape)) != 0:
        return None
    if any(b.shape != shape or b.dtype != grad.dtype or b.root is s for b in ew.outputs):
        return None
    subs, operands = {}, []
    for j, b in enumerate(ew.operands):
        if b.shape != shape:           # read with broadcasting: not element by element
            return None
        if b.root is s:
            subs[X[j]] = X[0]
            continue
        if b not in operands:
            operands.append(b)
        subs[X[j]] = X[1 + operands.index(b)]
    exprs = tuple(e.xreplace(subs) for e in ew.exprs)
    return dataclasses.replace(grad, operands=tuple(operands), outputs=ew.outputs, exprs=exprs,
                               scope=_joined_scopes(grad.scope, ew.scope))


def _all_buffers(program):
    return program.inputs + program.outputs + program.variables + program.constants + program.temps


def _fresh(name, taken):
    """``name``, or ``name_<k>`` when a buffer already has it (buffer names are locals of generated code)."""
    fresh, k = name, 1
    while fresh in taken:
        fresh, k = f"{name}_{k}", k + 1
    taken.add(fresh)
    return fresh


# ----------------------------------------------------------------------------- workspace

@required
def plan_workspace(program):
    """Pack temps into per-dtype regions by liveness; a region is reused only by an equal-size temp."""
    kernels = program.kernels
    temp_ids = {id(t) for t in program.temps}
    last_use = {}
    for i, k in enumerate(kernels):
        for b in k.reads + k.writes:
            if id(b.root) in temp_ids:
                last_use[id(b.root)] = i
    regions, free, placed = [], {}, set()
    for i, k in enumerate(kernels):
        writes = k.writes
        dying = [b.root for b in k.reads if id(b.root) in temp_ids and last_use[id(b.root)] == i
                 and b.root not in writes]
        if isinstance(k, Elementwise):
            dying = _release(dying, free, k, kernels_elementwise=True)
        for b in writes:
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
        for b in writes:          # written but never read again (dead outputs of merged loops)
            r = b.root
            if id(r) in temp_ids and last_use.get(id(r)) == i and all(r is not d for d in dying):
                free.setdefault((r.dtype, sympy.sympify(r.size)), []).append(r.region)
    return dataclasses.replace(program, regions=regions)


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


# ----------------------------------------------------------------------------- invariant

def _storage(buf):
    root = buf.root
    return ("region", root.region) if root.role == "temp" and root.region is not None else id(root)


@required
def check_broadcast_reads(program):
    """The program's invariant, for every backend: a loop never writes memory it reads with
    broadcasting (an element would be overwritten before its last read)."""
    for k in program.kernels:
        if not isinstance(k, Elementwise):
            continue
        written = {_storage(out) for out in k.outputs}
        for buf in k.operands:
            if buf.shape != k.shape and _storage(buf) in written:
                raise RuntimeError(f"internal scheduling error: elementwise kernel ({k.scope}) writes "
                                   f"{buf.name!r}, which it also reads with broadcasting")
    return program


# ----------------------------------------------------------------------------- the pipeline

PIPELINE = (
    ("updates", (write_updates_in_place,)),
    ("loops", (hoist_scalar_kernels, merge_elementwise_loops, direct_narrow_convolutions, direct_conv_epilogues,
               fuse_window_gemm, pool_argmax_from_forward, direct_pool_grad_epilogues)),
    ("memory", (plan_workspace,)),
    ("check", (check_broadcast_reads,)),
)


# A loop body's program: its temps are placed by the enclosing program (see ``kernels.Scan``).
BODY_PIPELINE = tuple((phase, passes) for phase, passes in PIPELINE if phase in ("updates", "loops"))


def optimize_body(program, log=None):
    return run_pipeline(BODY_PIPELINE, program, log)


def optimize(program, log=None):
    """Run every enabled pass in order; ``log(phase, pass_name, program)`` sees each result."""
    return run_pipeline(PIPELINE, program, log)


def describe_pipeline():
    return describe(PIPELINE)

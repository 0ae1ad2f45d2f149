"""Render a Program as a Python module of NumPy calls (the readable reference backend).

Each kernel kind has its template ``templates/numpy/kernels/<kind>.j2``; the module-level
helpers written into the file are those the kernels' expressions call.
"""

import dataclasses
import inspect
import textwrap
from types import SimpleNamespace

import numpy as np
import sympy

from symkeras import version
from symkeras.codegen import rng, templates
from symkeras.codegen.backend_interface import check_identifier
from symkeras.codegen.comment_printer import python_math
from symkeras.codegen.names import python_comment
from symkeras.codegen.numpy.printer import print_expr
from symkeras.ir import dims, scalar


class _Refs:
    """How buffers, sizes and shapes are spelled inside the generated function."""

    def __init__(self, program):
        self.program = program

    def dim(self, d):
        return str(d) if isinstance(d, int) else print_expr(d)

    def shape(self, shape):
        return "(" + "".join(self.dim(d) + ", " for d in shape) + ")"

    def ref(self, buf):
        if buf.role == "view":
            return f"{buf.root.name}.reshape({self.shape(buf.shape)})"
        return buf.name

    def temp_view(self, buf):
        return f"sk_ws{buf.region}[:{self.dim(buf.size)}].reshape({self.shape(buf.shape)})"

    def gemm_operand(self, buf, transposed):
        text = self.ref(buf)
        return f"np.swapaxes({text}, -1, -2)" if transposed else text

    def slices(self, axes):
        parts = []
        for start, step, count in axes:
            stop = start + step * (count - 1) + (1 if step > 0 else -1) if dims.is_static(count) else None
            stop_text = "None" if stop is None or stop < 0 else str(stop)
            parts.append(f"{start}:{stop_text}:{step}")
        return ", ".join(parts)

    def number(self, value):
        return _number(value)

    # Window kernels: the input padded on every side, then one strided slice per window position.
    def window_padded_shape(self, k, batch=None):
        """The padded input's shape; ``batch`` (code) in place of the kernel's batch size."""
        padded = self.shape((k.batch,) + tuple(s + b + a for s, b, a in zip(k.spatial, k.pad_before, k.pad_after))
                            + (k.channels,))
        return padded if batch is None else f"({batch}, " + padded.split(", ", 1)[1]

    def window_inner(self, k):
        """The slices of the padded array that hold the input."""
        return ", ".join(f"{b}:{b + s}" for s, b in zip(k.spatial, k.pad_before))

    def window_positions(self, k):
        """The window axes of the windows array at window position ``sk_k``, after its output axes."""
        return ":, " * len(k.spatial) + ", ".join(f"sk_k[{j}]" for j in range(len(k.spatial)))

    def window_taken(self, k):
        """The slices of the padded array read at window position ``sk_k`` (a tuple of ints)."""
        parts = []
        for j, (out, stride, dilation) in enumerate(zip(k.out_spatial, k.strides, k.dilation)):
            start = f"sk_k[{j}]" + ("" if dilation == 1 else f"*{dilation}")
            parts.append(f"{start}:{start} + {stride * (out - 1) + 1}" + ("" if stride == 1 else f":{stride}"))
        return ", ".join(parts)

    def literal(self, buf):
        return "[" + ", ".join(_number(v) for v in np.asarray(buf.value).reshape(-1).tolist()) + "]"


def _number(value):
    """A Python literal for one constant element; NaN and infinities have none of their own."""
    if isinstance(value, float) and not np.isfinite(value):
        return "np.nan" if value != value else ("np.inf" if value > 0 else "-np.inf")
    return repr(value)


def _elementwise_view(kernel, helpers):
    dtype = kernel.dtype
    # Operands stay x<k> until printed: SymPy orders terms by symbol name, and that order (so the
    # rounding) must not depend on what the buffers are called.
    operands = {scalar.X[i]: _operand_name(b) for i, b in enumerate(kernel.operands)}
    symbols = (sympy.Symbol(f"sk_t{i}", real=True) for i in range(10 ** 6))
    temps, results = sympy.cse(list(kernel.exprs), symbols=symbols, order="none")
    printed = [print_expr(e, dtype, operands, helpers) for e in results]
    for i, e in enumerate(results):
        # A result that is an operand as it is stays a view of that operand's buffer; when the
        # loop's other outputs may share that memory (a workspace region), copy it before storing.
        if e in operands:
            operand = kernel.operands[scalar.X.index(e)]
            if any(_shares_memory(operand, out) for j, out in enumerate(kernel.outputs) if j != i):
                printed[i] = f"np.array({printed[i]})"
    return {"temps": [(s.name, print_expr(e, dtype, operands, helpers)) for s, e in temps],
            "results": printed}


def _epilogue_view(kernel, helpers):
    """Each output of a window kernel with an epilogue printed as NumPy over the kernel's own result
    (``sk_s``) and its operands."""
    # A pooling gradient's operands are shaped as its output, maybe with other axes: seen as sk_s.
    shaped = ".reshape(sk_s.shape)" if kernel.kind == "window_max_grad_at" else ""
    operands = {scalar.X[0]: "sk_s",
                **{scalar.X[j + 1]: _operand_name(b) + shaped for j, b in enumerate(kernel.operands)}}
    return {"results": [print_expr(e, kernel.dtype, operands, helpers) for e in kernel.exprs]}


def _shares_memory(a, b):
    a, b = a.root, b.root
    return a is b or (a.role == b.role == "temp" and a.region is not None and a.region == b.region)


def _operand_name(buf):
    return f"{buf.root.name}.reshape({_Refs(None).shape(buf.shape)})" if buf.role == "view" else buf.name


def _summary(kernel):
    if kernel.kind == "elementwise":
        return " " + python_math([b.name for b in kernel.outputs], kernel.exprs,
                                 [b.name for b in kernel.operands], kernel.dtype)
    if kernel.kind == "gemm":
        a = kernel.a.name + (".T" if kernel.ta else "")
        b = kernel.b.name + (".T" if kernel.tb else "")
        return f" {kernel.c.name} = {a} @ {b}"
    return " " + ", ".join(b.name for b in kernel.writes) + " <- " + ", ".join(b.name for b in kernel.reads)


@dataclasses.dataclass(frozen=True)
class PythonSource:
    """The NumPy backend's artifact: a module's source and the name of its function."""
    source: str
    symbol: str
    kernel_labels: tuple = ()   # with profiling: each kernel's comment, in order

    def check(self, argument_counts):
        """ValueError/TypeError unless every field is what ``render`` makes (for one read back)."""
        if type(self.source) is not str:
            raise TypeError("artifact: source is not a string")
        check_identifier(self.symbol, "symbol")
        if not all(type(label) is str for label in self.kernel_labels):
            raise TypeError("artifact: a kernel label is not a string")


def render(program, profile=False) -> PythonSource:
    """The module of ``program``; with ``profile``, it also adds each kernel's run time to
    ``_sk_profile_seconds``."""
    refs = _Refs(program)
    used = set()
    kernels = _kernel_views(program.kernels, refs, used)
    arguments = program.inputs + program.outputs + program.variables
    regions = [(dtype, str(size)) for dtype, size in program.regions]
    if any(k.kind == "random" for k in program.kernels):
        used.add("_sk_random")
    temps = [SimpleNamespace(name=t.name, view=refs.temp_view(t),
                             comment=python_comment(f"{t.scope or '-'} {t.keras_shape}")) for t in program.temps]
    source = templates.render(
        "numpy/function.py.j2", p=program, r=refs, kernels=kernels, temps=temps, arguments=arguments,
        signature=", ".join(b.name for b in arguments), version=version.__version__, regions=regions,
        region_names=", ".join(f"sk_ws{i}" for i in range(len(program.regions))),
        workspace_formula=" + ".join(f"{size} x {dtype}" for dtype, size in regions) or "empty",
        rng_source=_rng_source(), used=used, profile=profile,
        sizes=", ".join(["batch"] + [s.name for s in program.sizes]))
    return PythonSource(source, program.name, tuple(k.comment for k in kernels) if profile else ())


def _kernel_views(kernels, refs, used, depth=0):
    """Each kernel's template context, its code rendered (``code``)."""
    views = []
    for k in kernels:
        view = SimpleNamespace(kind=k.kind, comment=python_comment(f"{k.scope or '-'}: {k.kind}{_summary(k)}"),
                               **k.field_values())
        if k.kind == "elementwise":
            view.__dict__.update(_elementwise_view(k, used))
        if k.kind == "scan":
            view.__dict__.update(_scan_view(k, refs, used, depth))
        if k.kind in ("window_conv", "window_max_grad_at"):
            view.__dict__.update(_epilogue_view(k, used))
        view.code = templates.render_kernel("numpy", k.kind, k=view, r=refs)
        views.append(view)
    return views


def _scan_view(k, refs, used, depth):
    """The loop: the body's inputs and outputs bound to this step's slices, then its kernels."""
    body = k.body
    n_seq, n_states = len(k.sequences), len(k.finals)
    ph_seqs, ph_states = body.inputs[:n_seq], body.inputs[n_seq:n_seq + n_states]
    ph_params = body.inputs[n_seq + n_states:]
    step, position = f"sk_step{depth}", f"sk_at{depth}"

    def at_step(buf, ph):
        return f"{refs.ref(buf)}[{position}:{position} + 1].reshape({refs.shape(ph.shape)})"

    bindings = [f"{ph.name} = {at_step(seq, ph)}" for ph, seq in zip(ph_seqs, k.sequences)]
    bindings += [f"{ph.name} = {refs.ref(fin)}" for ph, fin in zip(ph_states, k.finals)]
    bindings += [f"{ph.name} = {refs.ref(par)}" for ph, par in zip(ph_params, k.parameters)]
    bindings += [f"{out.name} = {at_step(st, out)}" for out, st in zip(body.outputs[n_states:], k.stacked)]
    inner = _kernel_views(body.kernels, refs, used, depth + 1)
    code = "".join(f"    # {v.comment}\n{v.code}" for v in inner)
    steps = refs.dim(k.steps)
    return {"step": step, "t": position, "steps_text": steps,
            "position": f"{steps} - 1 - {step}" if k.reverse else step,
            "starts": [(refs.ref(fin), refs.ref(init)) for fin, init in zip(k.finals, k.initial)],
            "carries": [(refs.ref(fin), refs.ref(nxt)) for fin, nxt in zip(k.finals, k.next_states)],
            "bindings": bindings, "body_code": textwrap.indent(code, "    ")}


def _rng_source():
    """The reference generator's code, copied into the module so it runs without symkeras."""
    parts = [f"_GOLDEN = {rng.GOLDEN:#x}\n_M1 = {rng.M1:#x}\n_M2 = {rng.M2:#x}\n"]
    for fn in (rng._mix, rng._key, rng._bits, rng._fraction, rng.draw):
        src = inspect.getsource(fn)
        src = src.replace("GOLDEN", "_GOLDEN").replace("M1", "_M1").replace("M2", "_M2")
        src = src.replace("def draw(", "def _sk_random(")
        parts.append(src)
    return "\n\n".join(parts).rstrip()

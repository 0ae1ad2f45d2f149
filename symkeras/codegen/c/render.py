"""Render a ``Program`` as one plain-C99 translation unit, and the cffi declarations to call it.

Python decides everything that needs the IR (loop nests, index expressions, printed SymPy
expressions, workspace layout): a planner per kernel kind turns the kernel into the values its
template ``templates/c/kernels/<kind>.j2`` lays out. Each plan also names the static helper
functions its code calls, so the file defines only those, and declares only the locals its
kernels touch (``-Wall -Werror`` clean, and shorter to read).
"""

import dataclasses
import itertools
import re

import numpy as np
import sympy

from symkeras import version
from symkeras.codegen import templates
from symkeras.codegen.backend_interface import check_identifier
from symkeras.codegen.c.printer import Round64, dim, dim_term, printer_for
from symkeras.codegen.comment_printer import c_math
from symkeras.codegen.kernels import Buffer
from symkeras.codegen.names import UniqueNames, c_comment, c_reserved, function_name
from symkeras.ir import dims, scalar

TEMPLATE = "c/function.c.j2"
CDEF_TEMPLATE = "c/cdef.j2"

CTYPES = {"float32": "float", "float64": "double", "int64": "int64_t", "int32": "int32_t",
          "bool": "uint8_t"}
ITEMSIZE = {"float32": 4, "float64": 8, "int64": 8, "int32": 4, "bool": 1}
FLOATS = ("float32", "float64")
ROLES = ("input", "output", "variable")


@dataclasses.dataclass(frozen=True)
class CSource:
    """The C backend's artifact: the source, its cffi declarations, and the names to call it by."""
    source: str
    cdef: str
    symbol: str
    args_type: str
    workspace_symbol: str
    fields: tuple   # ((field name, role, dtype), ...) in struct order after ``batch`` and ``size_fields``
    profile_symbol: str = ""   # with profiling: the function returning each kernel's seconds so far
    kernel_labels: tuple = ()  # with profiling: each kernel's comment, in order
    size_fields: tuple = ()    # the int64_t fields after ``batch``: the inputs' other unknown sizes

    def check(self, argument_counts):
        """ValueError/TypeError unless every field is what ``render`` makes (for one read back)."""
        for name in ("source", "cdef"):
            if type(getattr(self, name)) is not str:
                raise TypeError(f"artifact: {name} is not a string")
        for name in ("symbol", "args_type", "workspace_symbol"):
            check_identifier(getattr(self, name), name)
        if self.profile_symbol:
            check_identifier(self.profile_symbol, "profile_symbol")
        if not all(type(label) is str for label in self.kernel_labels):
            raise TypeError("artifact: a kernel label is not a string")
        for name in self.size_fields:
            check_identifier(name, "a size field")
        roles = []
        for entry in self.fields:
            if type(entry) is not tuple or len(entry) != 3:
                raise ValueError("artifact: malformed argument field")
            name, role, dtype = entry
            check_identifier(name, "an argument field")
            if role not in ROLES or dtype not in CTYPES:
                raise ValueError("artifact: malformed argument field")
            roles.append(role)
        if tuple(roles.count(r) for r in ROLES) != tuple(argument_counts):
            raise ValueError("artifact: argument fields do not match inputs, outputs and variables")


def render(program, profile=False) -> CSource:
    """The C source of ``program`` and what a caller needs to declare and call it; with
    ``profile``, the function also adds each kernel's run time to a table ``<symbol>_profile()``
    returns."""
    symbol = function_name(program.name)
    profile_symbol = symbol + "_profile" if profile else ""
    sizes = [s.name for s in program.sizes]
    buffer_names = _BufferNames(program, taken={symbol, symbol + "_args", symbol + "_workspace_bytes",
                                                symbol + "_profile", *sizes})
    kernels, helpers, touched = [], set(), set()
    for kernel in program.kernels:
        plan = _PLANNERS.get(kernel.kind, _plan_fields)(kernel, buffer_names)
        helpers.update(plan.pop("helpers", ()))
        plan["comment"] = _comment(kernel, plan.pop("summary"))
        plan["code"] = templates.render_kernel("c", kernel.kind, k=plan).rstrip("\n")
        kernels.append(plan)
        touched.update(id(b.root) for b in kernel.reads + kernel.writes)

    fields = tuple((buffer_names[b], role, b) for role, bufs in
                   (("input", program.inputs), ("output", program.outputs),
                    ("variable", program.variables)) for b in bufs)
    regions = _regions(program)
    temps = [_temp(t, buffer_names, regions) for t in program.temps if id(t) in touched]
    pointer_fields = [_field(n, r, b) for n, r, b in fields if id(b) in touched]
    context = dict(
        symbol=symbol, args_type=symbol + "_args", workspace_symbol=symbol + "_workspace_bytes",
        version=version.__version__,
        fields=[_field(name, role, buf) for name, role, buf in fields],
        regions=regions, workspace_bytes=dim(_total_bytes(regions)),
        temps=temps,
        constants=[_constant(c, buffer_names) for c in program.constants if id(c) in touched],
        pointer_fields=pointer_fields,
        uses_batch=_uses_batch(program, touched, temps) or bool(_used_sizes(["batch"], kernels, [])),
        sizes=[{"name": name, "comment": c_comment(f"an unknown size: the {name} of the shapes below")}
               for name in sizes],
        size_params="".join(f", int64_t {name}" for name in sizes),
        size_args="".join(f", {name}" for name in sizes),
        helpers=_with_dependencies(helpers),
        kernels=kernels,
        memory=_memory(program, regions, buffer_names),
        profile_symbol=profile_symbol,
    )
    context["uses_workspace"] = bool(temps)
    context["used_sizes"] = _used_sizes(sizes, kernels, temps)
    source = templates.render(TEMPLATE, **context)
    cdef = templates.render(CDEF_TEMPLATE, **context)
    return CSource(source, cdef, symbol, context["args_type"], context["workspace_symbol"],
                   tuple((name, role, buf.dtype) for name, role, buf in fields), profile_symbol,
                   tuple(k["comment"] for k in kernels) if profile else (), tuple(sizes))


def _uses_batch(program, touched, temps):
    """Whether the function body reads ``batch``: a kernel over a batch-sized buffer, or a
    temp whose workspace offset depends on it."""
    symbolic = any(dims.BATCH in dims.symbols_in(d) for b in _all_buffers(program) if id(b.root) in touched
                   for d in b.shape)
    return symbolic or any("batch" in t["local"] for t in temps)


def _used_sizes(sizes, kernels, temps):
    """The sizes after ``batch`` the function body reads (an unused local fails -Werror); their
    names are unique in the file, so a whole-word match is exact."""
    text = "\n".join([k["code"] for k in kernels] + [t["local"] for t in temps])
    return [name for name in sizes if re.search(rf"\b{name}\b", text)]


def _all_buffers(program):
    return (program.inputs + program.outputs + program.variables + program.constants + program.temps)


# ----------------------------------------------------------------------------- names

class _BufferNames:
    """The C identifier of each buffer's storage: its root's name, kept clear of C's reserved
    names and of the identifiers this file derives from the function's name."""

    def __init__(self, program, taken):
        self.names = {}
        self.unique = UniqueNames(c_reserved, taken)
        for buf in _all_buffers(program):
            self[buf]

    def __getitem__(self, buf):
        root = buf.root
        if id(root) not in self.names:
            self.names[id(root)] = self.unique(root.name)
        return self.names[id(root)]


# ----------------------------------------------------------------------------- file-level context

def _field(name, role, buf):
    const = "const " if role == "input" else ""
    return {"name": name, "role": role, "decl": f"{const}{CTYPES[buf.dtype]} *{name};",
            "local": f"{const}{CTYPES[buf.dtype]} *const {name} = args->{name};",
            "comment": c_comment(f"{role} {_keras_shape(buf.shape)} {buf.dtype}")}


def _keras_shape(shape):
    return dims.describe(shape)


def _round64(nbytes):
    nbytes = sympy.expand(nbytes)
    if nbytes.is_Integer:
        return -(-int(nbytes) // 64) * 64
    coefficients = sympy.Poly(nbytes, *sorted(dims.symbols_in(nbytes), key=str)).coeffs()
    if all(int(c) % 64 == 0 for c in coefficients):
        return nbytes
    return Round64(nbytes)


def _regions(program):
    """Each workspace region: dtype, elements, and its byte offset (64-byte aligned)."""
    regions, offset = [], sympy.Integer(0)
    for region in program.regions:
        dtype, size = region[0], region[-1]
        nbytes = _round64(sympy.sympify(size) * ITEMSIZE[dtype])
        regions.append({"dtype": dtype, "size": size, "offset": offset, "bytes": nbytes})
        offset = offset + nbytes
    return regions


def _total_bytes(regions):
    return sum((r["bytes"] for r in regions), sympy.Integer(0))


def _temp(buf, names, regions):
    offset = dim(regions[buf.region]["offset"])
    ctype = CTYPES[buf.dtype]
    return {"name": names[buf], "region": buf.region, "shape": _shape_text(buf.shape),
            "local": f"{ctype} *const {names[buf]} = ({ctype} *)(sk_ws + {offset});"}


def _constant(buf, names):
    values = np.asarray(buf.value, dtype=buf.dtype).ravel()
    literals = _array_literals(values, buf.dtype) or ["0"]    # C has no empty initialiser
    rows = [", ".join(literals[i:i + 8]) for i in range(0, len(literals), 8)]
    return {"name": names[buf], "ctype": CTYPES[buf.dtype], "count": len(literals), "rows": rows,
            "shape": _keras_shape(buf.shape)}


def _array_literals(values, dtype):
    if dtype == "float32":
        return [_float_literal(v, "%.9g", "f") for v in values.tolist()]
    if dtype == "float64":
        return [_float_literal(v, "%.17g", "") for v in values.tolist()]
    if dtype == "int64":
        return [f"INT64_C({v})" for v in values.tolist()]
    return [str(int(v)) for v in values.tolist()]


def _float_literal(value, fmt, suffix):
    if value != value:
        return "NAN"
    if value in (float("inf"), float("-inf")):
        return "INFINITY" if value > 0 else "-INFINITY"
    text = fmt % value
    if "." not in text and "e" not in text:
        text += ".0"
    return text + suffix


def _memory(program, regions, buffer_names):
    def total(bufs):
        return sum(dims.size(b.shape) * ITEMSIZE[b.dtype] for b in bufs)
    return {
        "regions": len(regions),
        "variables": [(buffer_names[b], dims.size(b.shape) * ITEMSIZE[b.dtype]) for b in program.variables],
        "variable_bytes": total(program.variables),
        "constant_bytes": total(program.constants),
    }


# Helper functions the template defines, and the helpers each one calls.
_HELPER_DEPENDENCIES = {
    "sk_rng_key": ("sk_rng_mix",), "sk_rng_bits": ("sk_rng_mix",),
    "sk_rng_uniformf": ("sk_rng_bits",), "sk_rng_uniform": ("sk_rng_bits",),
    "sk_rng_normalf": ("sk_rng_bits",), "sk_rng_normal": ("sk_rng_bits",),
    "sk_sigmoidf": ("sk_expvf",), "sk_tanhf": ("sk_expvf",),
}


def _with_dependencies(helpers):
    needed, pending = set(helpers), list(helpers)
    while pending:
        for dep in _HELPER_DEPENDENCIES.get(pending.pop(), ()):
            if dep not in needed:
                needed.add(dep)
                pending.append(dep)
    return needed


# ----------------------------------------------------------------------------- kernel comments

def _shape_text(shape):
    return "[" + ",".join(dim(d) for d in shape) + "]"


def _comment(kernel, summary):
    return c_comment(f"{kernel.scope}: {summary}" if kernel.scope else summary)


# ----------------------------------------------------------------------------- kernel planners
# Each returns the dict the kind's template renders; "summary" becomes the comment, "helpers"
# names the static functions its code calls.

def _plan_fields(k, names):
    """The plan of a kind without a planner of its own: its fields as C text (buffers by name,
    with ``<field>_ctype``; sizes printed; floats as literals of the kernel's type)."""
    dtype = getattr(k, "dtype", "float64")
    plan = {}
    for f in dataclasses.fields(k):
        value = getattr(k, f.name)
        plan[f.name] = _c_text(value, names, dtype)
        if isinstance(value, Buffer):
            plan[f.name + "_ctype"] = CTYPES[value.dtype]
    written = ", ".join(f"{names[b]}{_shape_text(b.shape)}" for b in k.writes)
    plan["summary"] = f"{k.kind} {written} <- " + ", ".join(names[b] for b in k.reads)
    return plan


def _c_text(value, names, dtype):
    if isinstance(value, Buffer):
        return names[value]
    if isinstance(value, (tuple, list)):
        return tuple(_c_text(v, names, dtype) for v in value)
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, float):
        return _array_literals(np.array([value]), dtype if dtype in FLOATS else "float64")[0]
    return dim(value)


def _plan_elementwise(k, names):
    compute = _compute_dtype(k)
    ctype = CTYPES[compute]
    printer = printer_for(compute)
    loops = _broadcast_loops(k.shape, [b.shape for b in k.operands])
    index_vars = [sympy.Symbol(f"sk_i{g}", integer=True) for g in range(len(loops.extents))]

    replacements, reduced = sympy.cse(list(k.exprs), symbols=sympy.numbered_symbols("sk_t", real=True),
                                      optimizations=None)
    used_symbols = set().union(*(e.free_symbols for e in list(reduced) + [r for _, r in replacements]))

    levels = [{"var": str(v), "extent": dim(e), "loads": []} for v, e in zip(index_vars, loops.extents)]
    preloads = []
    for j, buf in enumerate(k.operands):
        if scalar.X[j] not in used_symbols:
            continue
        strides = loops.strides[j]
        index = dim(sum((v * s for v, s in zip(index_vars, strides)), sympy.Integer(0)))
        cast = "" if buf.dtype == compute else f"({ctype})"
        load = {"ctype": ctype, "name": f"sk_x{j}", "value": f"{cast}{names[buf]}[{index}]"}
        depth = max((g for g, s in enumerate(strides) if s != 0), default=-1)   # hoist loads
        (levels[depth]["loads"] if depth >= 0 else preloads).append(load)

    temps = [{"ctype": "int" if isinstance(value, sympy.logic.boolalg.Boolean) and not value.is_Symbol
              else ctype, "name": str(sym), "value": _unwrap(printer.doprint(value))}
             for sym, value in replacements]
    out_index = dim(sum((v * s for v, s in zip(index_vars, loops.full_strides)), sympy.Integer(0)))
    stores = [{"target": f"{names[buf]}[{out_index}]",
               "value": _store_cast(_unwrap(printer.doprint(expr)), compute, buf.dtype)}
              for buf, expr in zip(k.outputs, reduced)]
    math = c_math([names[b] for b in k.outputs], k.exprs, [names[b] for b in k.operands], k.dtype)
    return {"summary": f"elementwise{_shape_text(k.shape)} {math}", "helpers": _expression_helpers(k.exprs, compute),
            "levels": levels, "preloads": preloads, "temps": temps, "stores": stores,
            "block": bool(preloads) or not levels}


def _expression_helpers(exprs, compute):
    """The template's helper functions the printed expressions call (see ``printer``)."""
    suffix = "f" if compute == "float32" else ""
    kinds = {type(a) for e in exprs for a in e.atoms(sympy.Function, sympy.Mod)}
    used = {name + suffix for name, kind in (("sk_sigmoid", scalar.sigmoid), ("sk_softplus", scalar.softplus),
                                             ("sk_mod", sympy.Mod)) if kind in kinds}
    if suffix and sympy.tanh in kinds:
        used.add("sk_tanhf")
    return used


def _unwrap(code):
    """``code`` without one pair of parentheses around all of it (they add nothing to a statement)."""
    if not (code.startswith("(") and code.endswith(")")):
        return code
    depth = 0
    for i, char in enumerate(code):
        depth += {"(": 1, ")": -1}.get(char, 0)
        if depth == 0 and i < len(code) - 1:
            return code        # the first "(" closes before the end: "(a) + (b)"
    return code[1:-1]


def _compute_dtype(k):
    """The type an elementwise kernel computes in: its own if float, else its operands' float."""
    if k.dtype in FLOATS:
        return k.dtype
    operand_types = {b.dtype for b in k.operands}
    for dtype in ("float64", "float32"):
        if dtype in operand_types:
            return dtype
    return "int64"


def _store_cast(code, compute, dtype):
    if dtype == compute:
        return code
    if dtype == "bool":
        return f"(uint8_t)(({code}) != 0)"
    return f"({CTYPES[dtype]})({code})"


@dataclasses.dataclass
class _Loops:
    extents: list        # collapsed loop extents, outermost first
    strides: list        # per operand: element stride on each loop (0 where broadcast)
    full_strides: list   # the outputs' strides (row-major over the whole shape)


def _broadcast_loops(shape, operand_shapes):
    """Loops over ``shape``: size-1 axes dropped, adjacent axes merged where every operand
    broadcasts the same way, so the common no-broadcast case is a single flat loop."""
    rank = len(shape)
    axes = [a for a in range(rank) if shape[a] != 1]

    def present(op_shape, axis):
        k = axis - rank + len(op_shape)
        return k >= 0 and op_shape[k] != 1

    groups = []
    for a in axes:
        pattern = tuple(present(s, a) for s in operand_shapes)
        if groups and groups[-1][0] == pattern:
            groups[-1][1].append(a)
        else:
            groups.append((pattern, [a]))
    extents = [dims.size([shape[a] for a in group]) for _, group in groups]

    def strides(flags):
        out, step = [], 1
        for extent, flag in zip(reversed(extents), reversed(flags)):
            out.append(step if flag else 0)
            if flag:
                step = dims.as_dim(step * extent)
        return out[::-1]

    operand_strides = [strides([g[0][j] for g in groups]) for j in range(len(operand_shapes))]
    return _Loops(extents, operand_strides, strides([True] * len(groups)))


def _plan_gemm(k, names):
    letter = {"float32": "s", "float64": "d"}[k.dtype]
    a, b = names[k.a], names[k.b]
    batched = k.count != 1

    def at(name, stride):
        return f"{name} + sk_g*{dim_term(stride)}" if batched else name

    args = [str(int(k.ta)), str(int(k.tb)), dim(k.m), dim(k.n), dim(k.k),
            at(a, k.stride_a), dim(k.lda), at(b, k.stride_b), dim(k.ldb),
            at(names[k.c], k.stride_c), dim(k.ldc)]
    summary = (f"gemm {names[k.c]}{_shape_text(k.c.shape)} = {a}{'.T' if k.ta else ''} @ "
               f"{b}{'.T' if k.tb else ''}" + (f" ({dim(k.count)} products)" if batched else ""))
    return {"summary": summary, "function": f"sk_{letter}gemm", "helpers": {f"sk_{letter}gemm"}, "args": args,
            "count": dim(k.count) if batched else None}


def _math(dtype):
    """Names of the math functions and literals for a float type."""
    if dtype == "float32":
        return {"exp": "expf", "log": "logf", "zero": "0.0f"}
    return {"exp": "exp", "log": "log", "zero": "0.0"}


def _identity(op, dtype):
    """The start value of a sum/max/min reduction over ``dtype``."""
    if op == "sum":
        return "0"
    if dtype in FLOATS:
        return "-INFINITY" if op == "max" else "INFINITY"
    low, high = {"int64": ("INT64_MIN", "INT64_MAX"), "int32": ("INT32_MIN", "INT32_MAX"),
                 "bool": ("0", "1")}[dtype]
    return low if op == "max" else high


def _plan_reduce(k, names):
    dtype = k.x.dtype
    floating = dtype in FLOATS
    rows = k.inner == 1
    row = dims.as_dim(k.n * k.inner)
    plan = {
        "summary": f"reduce {names[k.out]}{_shape_text(k.out.shape)} = {k.op}({names[k.x]}"
                   f"{_shape_text(k.x.shape)})",
        "op": k.op, "ctype": CTYPES[dtype], "floating": floating, "rows": rows,
        "identity": _identity(k.op, dtype),
        "outer": dim(k.outer), "n": dim(k.n), "inner": dim(k.inner),
        "src": _offset(names[k.x], [("sk_o", k.outer, row)]),
        "dst": _offset(names[k.out], [("sk_o", k.outer, k.inner)]),
        "out": names[k.out], "out_index": _loop_index([("sk_o", k.outer, 1)]),
        "line": _loop_index([("sk_r", k.n, k.inner)]),
        "pairwise": None,
    }
    if rows and k.op == "sum" and floating:
        plan["pairwise"] = "sk_sum_f32" if dtype == "float32" else "sk_sum_f64"
        plan["helpers"] = {plan["pairwise"]}
    return plan


def _plan_argmax(k, names):
    dtype = k.x.dtype
    floating = dtype in FLOATS
    loops = [("sk_o", k.outer, dims.as_dim(k.n * k.inner)), ("sk_j", k.inner, 1)]
    return {
        "summary": f"arg{k.op} {names[k.out]}{_shape_text(k.out.shape)} over an axis of "
                   f"{names[k.x]}{_shape_text(k.x.shape)}",
        "ctype": CTYPES[dtype], "floating": floating, "better": ">" if k.op == "max" else "<",
        "start": _identity(k.op, dtype),
        "outer": dim(k.outer), "n": dim(k.n), "inner": dim(k.inner),
        "src": _offset(names[k.x], loops), "step": _loop_index([("sk_r", k.n, k.inner)]),
        "out": names[k.out], "out_index": _loop_index([("sk_o", k.outer, k.inner), ("sk_j", k.inner, 1)]),
    }


def _plan_softmax(k, names):
    loops = [("sk_o", k.outer, dims.as_dim(k.n * k.inner)), ("sk_j", k.inner, 1)]
    name = "log_softmax" if k.log else "softmax"
    return {
        "summary": f"{name} {names[k.out]}{_shape_text(k.out.shape)} = {name}({names[k.x]})",
        "ctype": CTYPES[k.dtype], "log": k.log, "math": _math(k.dtype),
        "outer": dim(k.outer), "n": dim(k.n), "inner": dim(k.inner),
        "src": _offset(names[k.x], loops), "dst": _offset(names[k.out], loops),
        "step": _loop_index([("sk_r", k.n, k.inner)]),
    }


def _loop_index(loops):
    """sum of var*stride over (var, extent, stride) loops, skipping loops of extent 1."""
    return dim(sum((sympy.Symbol(var, integer=True) * stride for var, extent, stride in loops
                    if extent != 1), sympy.Integer(0)))


def _offset(pointer, loops):
    index = _loop_index(loops)
    return pointer if index == "0" else f"{pointer} + {index}"


def _plan_copy(k, names):
    return {"summary": f"copy {names[k.dst]}{_shape_text(k.dst.shape)} = {names[k.src]}",
            "src": names[k.src], "dst": names[k.dst], "ctype": CTYPES[k.dst.dtype],
            "size": dim_term(k.size)}


def _row_major_strides(shape):
    strides, step = [], 1
    for d in reversed(shape):
        strides.append(step)
        step = dims.as_dim(step * d)
    return strides[::-1]


def _copy_loops(extents, src_strides, dst_strides):
    """Canonical strided-copy loops: extent-1 loops dropped, mergeable neighbours merged."""
    loops = [[e, s, d] for e, s, d in zip(extents, src_strides, dst_strides) if e != 1]
    merged = []
    for loop in loops:
        if merged:
            outer = merged[-1]
            if (sympy.expand(outer[1] - loop[0] * loop[1]) == 0
                    and sympy.expand(outer[2] - loop[0] * loop[2]) == 0):
                outer[:] = [dims.as_dim(outer[0] * loop[0]), loop[1], loop[2]]
                continue
        merged.append(loop)
    return merged


def _strided_copy(src, dst, loops, src_base=0, dst_base=0, cast=""):
    """Plan for nested loops doing ``dst[...] = src[...]`` over canonical ``loops``."""
    variables = [sympy.Symbol(f"sk_i{g}", integer=True) for g in range(len(loops))]

    def index(base, column):
        return dim(sum((v * loop[column] for v, loop in zip(variables, loops)), sympy.sympify(base)))

    return {"levels": [{"var": str(v), "extent": dim(loop[0])} for v, loop in zip(variables, loops)],
            "statement": f"{dst}[{index(dst_base, 2)}] = {cast}{src}[{index(src_base, 1)}];"}


def _plan_transpose(k, names):
    in_strides = _row_major_strides(k.in_shape)
    out_shape = [k.in_shape[p] for p in k.perm]
    loops = _copy_loops(out_shape, [in_strides[p] for p in k.perm], _row_major_strides(out_shape))
    plan = _strided_copy(names[k.x], names[k.out], loops)
    plan["summary"] = (f"transpose {names[k.out]}{_shape_text(k.out.shape)} = "
                       f"{names[k.x]}.transpose{tuple(k.perm)}")
    return plan


def _slice_loops(in_shape, axes):
    """(loops over the slice, element offset of its first element in the full array)."""
    in_strides = _row_major_strides(in_shape)
    counts = [count for _, _, count in axes]
    base = sum((start * stride for (start, _, _), stride in zip(axes, in_strides)), 0)
    loops = _copy_loops(counts, [step * stride for (_, step, _), stride in zip(axes, in_strides)],
                        _row_major_strides(counts))
    return loops, dims.as_dim(base)


def _plan_slice(k, names):
    loops, base = _slice_loops(k.in_shape, k.axes)
    plan = _strided_copy(names[k.x], names[k.out], [[e, s, d] for e, s, d in loops], src_base=base)
    plan["summary"] = f"slice {names[k.out]}{_shape_text(k.out.shape)} = {names[k.x]}[{_slice_text(k.axes)}]"
    return plan


def _plan_slice_grad(k, names):
    loops, base = _slice_loops(k.in_shape, k.axes)
    plan = _strided_copy(names[k.g], names[k.out], [[e, d, s] for e, s, d in loops], dst_base=base)
    plan["summary"] = (f"slice_grad {names[k.out]}{_shape_text(k.out.shape)} = 0; "
                       f"{names[k.out]}[{_slice_text(k.axes)}] = {names[k.g]}")
    plan.update(out=names[k.out], ctype=CTYPES[k.out.dtype], size=dim_term(k.out.size))
    return plan


def _slice_text(axes):
    """NumPy slice notation for the comment: start:stop[:step] per axis."""
    parts = []
    for start, step, count in axes:
        stop = sympy.sympify(start + step * count)
        stop_text = "" if stop.is_negative else dim(stop)     # a reversed slice down to index 0
        parts.append(f"{dim(start)}:{stop_text}" + (f":{step}" if step != 1 else ""))
    return ", ".join(parts)


def _plan_concat(k, names):
    pieces = []
    for buf, width, offset in k.pieces:
        cast = "" if buf.dtype == k.out.dtype else f"({CTYPES[k.out.dtype]})"
        loops = _copy_loops([k.outer, width], [width, 1], [k.total, 1])
        pieces.append(_strided_copy(names[buf], names[k.out], loops, dst_base=offset, cast=cast))
    return {"summary": f"concat {names[k.out]}{_shape_text(k.out.shape)} = concat("
                       + ", ".join(names[b] for b, _, _ in k.pieces) + ")",
            "pieces": pieces}


def _plan_gather(k, names):
    return {"summary": f"gather {names[k.out]}{_shape_text(k.out.shape)} = "
                       f"{names[k.table]}[{names[k.indices]}]",
            "table": names[k.table], "indices": names[k.indices], "out": names[k.out],
            "ctype": CTYPES[k.out.dtype], "count": dim(k.count), "width": dim_term(k.width)}


def _plan_scatter_add(k, names):
    return {"summary": f"scatter_add {names[k.out]}{_shape_text(k.out.shape)} = 0; "
                       f"{names[k.out]}[{names[k.indices]}] += {names[k.updates]}",
            "updates": names[k.updates], "indices": names[k.indices], "out": names[k.out],
            "ctype": CTYPES[k.out.dtype], "count": dim(k.count), "width": dim_term(k.width),
            "size": dim_term(dims.as_dim(k.rows * k.width))}


def _plan_one_hot(k, names):
    one = {"float32": "1.0f", "float64": "1.0"}.get(k.out.dtype, "1")
    return {"summary": f"one_hot {names[k.out]}{_shape_text(k.out.shape)} = one_hot({names[k.indices]}, "
                       f"{k.depth})",
            "indices": names[k.indices], "out": names[k.out], "ctype": CTYPES[k.out.dtype],
            "count": dim(k.count), "depth": dim(k.depth), "one": one,
            "size": dim_term(dims.as_dim(k.count * k.depth))}


def _plan_random(k, names):
    suffix = "f" if k.dtype == "float32" else ""
    draw = f"sk_rng_{k.distribution}{suffix}"
    return {"helpers": {"sk_rng_key", draw},"summary": f"random {names[k.out]}{_shape_text(k.out.shape)} = {k.distribution}"
                       f"(state={names[k.state]}, stream={k.stream})",
            "state": names[k.state], "out": names[k.out], "size": dim(k.size),
            "stream": int(k.stream), "draw": draw}


def _plan_window_gemm(k, names):
    plan = _plan_fields(k, names)
    letter = {"float32": "s", "float64": "d"}[k.dtype]
    plan.update(function=f"sk_{letter}gemm", helpers={f"sk_{letter}gemm"}, rows=int(k.rows), tb=k.tb,
                summary=f"window_gemm {names[k.c]}{_shape_text(k.c.shape)} = windows({names[k.x]}) @ "
                        f"{names[k.b]}{'.T' if k.tb else ''}, {k.chunk} samples at a time through {names[k.scratch]}")
    return plan


def _plan_scan(k, names, depth=0):
    """The loop: bind the body's inputs and outputs to this step's slices, then its kernels."""
    body = k.body
    n_seq, n_states = len(k.sequences), len(k.finals)
    ph_seqs = body.inputs[:n_seq]
    ph_states = body.inputs[n_seq:n_seq + n_states]
    ph_params = body.inputs[n_seq + n_states:]
    step, position = f"sk_step{depth}", f"sk_at{depth}"
    kernels, helpers, touched = [], set(), set()
    for inner in body.kernels:
        if inner.kind == "scan":
            plan = _plan_scan(inner, names, depth + 1)
        else:
            plan = _PLANNERS.get(inner.kind, _plan_fields)(inner, names)
        helpers.update(plan.pop("helpers", ()))
        kernels.append({"comment": _comment(inner, plan.pop("summary")),
                        "code": templates.render_kernel("c", inner.kind, k=plan).rstrip("\n")})
        touched.update(id(b.root) for b in inner.reads + inner.writes)

    def pointer(ph, target, offset=None, const=True):
        qualifier = "const " if const else ""
        at = "" if offset is None else f" + {position}*{dim_term(dims.size(ph.shape))}"
        return f"{qualifier}{CTYPES[ph.dtype]} *const {names[ph]} = {names[target]}{at};"

    bindings = [pointer(ph, seq, position) for ph, seq in zip(ph_seqs, k.sequences) if id(ph) in touched]
    bindings += [pointer(ph, fin) for ph, fin in zip(ph_states, k.finals) if id(ph) in touched]
    bindings += [pointer(ph, par) for ph, par in zip(ph_params, k.parameters) if id(ph) in touched]
    bindings += [pointer(out, st, position, const=False) for out, st in zip(body.outputs[n_states:], k.stacked)
                 if id(out) in touched]
    starts = [f"if ((const void *){names[fin]} != (const void *){names[init]}) "
              f"memcpy({names[fin]}, {names[init]}, {dim_term(dims.size(fin.shape))}*sizeof({CTYPES[fin.dtype]}));"
              for fin, init in zip(k.finals, k.initial)]
    carries = [f"memcpy({names[fin]}, {names[nxt]}, {dim_term(dims.size(fin.shape))}*sizeof({CTYPES[fin.dtype]}));"
               for fin, nxt in zip(k.finals, k.next_states)]
    steps = dim(k.steps)
    return {"step": step, "t": position, "steps": steps,
            "position": f"{dim_term(k.steps)} - 1 - {step}" if k.reverse else step,
            "starts": starts, "bindings": bindings, "kernels": kernels, "carries": carries,
            "helpers": helpers,
            "summary": (f"loop over {steps} steps{' from the last' if k.reverse else ''}: "
                        + ", ".join(names[b] for b in k.finals + k.stacked) + " <- "
                        + ", ".join(names[b] for b in k.sequences + k.initial + k.parameters))}


def _blocks(total, block):
    """(full blocks, size of the last partial one) of ``total`` items taken ``block`` at a time."""
    return total // block, total % block


def _plan_window_conv(k, names):
    plan = _plan_fields(k, names)
    rank = len(k.spatial)
    row = sympy.Symbol("sk_n", integer=True)
    for j in range(rank - 1):
        row = row * k.out_spatial[j] + sympy.Symbol(f"sk_o{j}", integer=True)
    full, tail = _blocks(k.out_spatial[-1], k.block)
    loads, stores = _epilogue(k, names, lambda b: "sk_f" if dims.size(b.shape) != 1 else "0")
    if k.exprs == (scalar.X[0],):
        # Plus 0: a plain copy of the sums would become a memcpy call, and the sums would then
        # live in memory rather than in registers (several times slower).
        stores[0]["value"] = "sk_s + 0"
    sums_name = "sums" if k.exprs != (scalar.X[0],) else names[k.outputs[0]]
    math = c_math([names[b] for b in k.outputs], k.exprs, ["sums"] + [names[b] for b in k.operands], k.dtype)
    epilogue = f"; then {math}" if k.exprs != (scalar.X[0],) else ""
    plan.update(ctype=CTYPES[k.dtype], block=k.block, full_blocks=full, tail=tail,
                out_row=dim(row * k.out_spatial[-1]), loads=loads, stores=stores,
                helpers=_expression_helpers(k.exprs, k.dtype),
                summary=f"window_conv {sums_name}{_shape_text(k.outputs[0].shape)} = windows({names[k.x]}) @ "
                        f"{names[k.w]}, computed directly, {k.block} output positions at a time{epilogue}")
    return plan


def _epilogue(k, names, index):
    """(loads, stores) of a window kernel's ``outputs[i] = exprs[i]`` of ``sk_s`` (``X[0]``) and its
    ``operands`` (``X[1]`` …, operand b read at ``index(b)``)."""
    printer = printer_for(k.dtype)
    loads = [{"name": f"sk_x{j + 1}", "value": f"{names[b]}[{index(b)}]"} for j, b in enumerate(k.operands)]
    symbols = {scalar.X[0]: sympy.Symbol("sk_s", real=True),
               **{scalar.X[j + 1]: sympy.Symbol(f"sk_x{j + 1}", real=True) for j in range(len(k.operands))}}
    stores = [{"name": names[b], "value": _unwrap(printer.doprint(e.xreplace(symbols)))}
              for b, e in zip(k.outputs, k.exprs)]
    return loads, stores


def _plan_window_max_grad_at(k, names):
    plan = _plan_fields(k, names)
    loads, stores = _epilogue(k, names, lambda b: "sk_row + sk_c")
    out = names[k.outputs[0]]
    epilogue = "" if k.exprs == (scalar.X[0],) else "; then " + c_math(
        [names[b] for b in k.outputs], k.exprs, ["s"] + [names[b] for b in k.operands], k.dtype)
    plan.update(tiles=k.tiles, loads=loads, stores=stores, out=out, out_ctype=CTYPES[k.dtype],
                ctype=CTYPES[k.dtype], helpers=_expression_helpers(k.exprs, k.dtype),
                summary=f"window_max_grad_at {'s' if epilogue else out}{_shape_text(k.outputs[0].shape)} <- "
                        f"{names[k.arg]}, {names[k.g]}{epilogue}")
    return plan


def _plan_window_conv_filter_grad(k, names):
    plan = _plan_fields(k, names)
    rank = len(k.spatial)
    x_strides = [dims.size(k.spatial[j + 1:]) * k.channels for j in range(rank)]
    rows = [(taps, ch) for taps in itertools.product(*map(range, k.size)) for ch in range(k.channels)]
    start = sympy.Symbol("sk_n", integer=True)
    for j in range(rank):
        start = start * k.spatial[j] + sympy.Symbol(f"sk_first{j}", integer=True)
    full, tail = _blocks(len(rows), k.block)
    plan.update(ctype=CTYPES[k.dtype], block=k.block, full_blocks=full, tail=tail, depth=len(rows),
                positions=dims.size(k.out_spatial), window_start=dim(start * k.channels),
                padded=any(k.pad_before) or any(k.pad_after),
                row_at=[sum(t * d * s for t, d, s in zip(taps, k.dilation, x_strides)) + ch for taps, ch in rows],
                row_k=[[taps[j] * k.dilation[j] for taps, _ in rows] for j in range(rank)],
                summary=f"window_conv_filter_grad {names[k.dw]}{_shape_text(k.dw.shape)} = windows({names[k.x]}).T @ "
                        f"{names[k.g]}, computed directly, {k.block} rows at a time")
    return plan


_PLANNERS = {
    "elementwise": _plan_elementwise, "gemm": _plan_gemm, "reduce": _plan_reduce,
    "argmax": _plan_argmax, "softmax": _plan_softmax, "transpose": _plan_transpose,
    "copy": _plan_copy, "concat": _plan_concat, "slice": _plan_slice,
    "slice_grad": _plan_slice_grad, "gather": _plan_gather, "scatter_add": _plan_scatter_add,
    "one_hot": _plan_one_hot, "random": _plan_random, "window_gemm": _plan_window_gemm,
    "scan": _plan_scan,
    "window_conv": _plan_window_conv, "window_conv_filter_grad": _plan_window_conv_filter_grad,
    "window_max_grad_at": _plan_window_max_grad_at,
}

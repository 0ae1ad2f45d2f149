"""A model written out as C that builds and runs without symkeras (``symkeras-aot --target c``).

``export_c(model, directory, prefix, functions, blas, weights)`` writes into ``directory``:

- ``PREFIX.h``: the API (an opaque state, ``PREFIX_init``/``_free``, ``PREFIX_predict`` and, when
  asked, ``PREFIX_train_step``/``PREFIX_evaluate``, each also with a caller's workspace (``_ws``),
  error codes, weights files), documented slot by slot;
- ``PREFIX.c``: the generated functions exactly as the C backend renders them for the model, then
  the variables (``weights="embed"``: their values as ``static const`` arrays) and the API;
- ``PREFIX.weights.bin`` (``weights="file"``): the variables, read and checked by ``PREFIX_init``
  (format in ``weights_file``);
- ``Makefile`` (``BLAS=openblas`` or ``BLAS=none``; ``blas`` picks the default) and ``main.c``, an
  example program that reads inputs from a binary file and writes the outputs.

User text reaches the files only through ``codegen.names``: the prefix must already be an
identifier no C rule reserves (checked, never altered), argument names are the generated code's
own identifiers, and model and variable names appear in comments made inert by ``c_comment``.
"""

import os
import re
import shlex

import numpy as np

from symkeras import version
from symkeras.aot import weights_file
from symkeras.aot.functions import Written, all_storages, check_functions, render_functions
from symkeras.codegen import names, templates
from symkeras.codegen.c import build
from symkeras.codegen.c.render import CTYPES, ITEMSIZE, _array_literals
from symkeras.ir import dims
from symkeras.utils.atomic_files import write_atomically

BLAS_CHOICES = ("openblas", "none")
WEIGHT_CHOICES = ("embed", "file")
API_NAME = {"predict": "predict", "train": "train_step", "evaluate": "evaluate"}

_PREFIX = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,39}\Z")
_LARGEST_BYTES = 2 ** 62           # no size the code computes may reach past this
_LARGEST_BATCH = 2 ** 31 - 1

# The API's own parameter and local names: argument names keep clear of them.
_API_NAMES = ("state", "batch", "loss", "metrics", "workspace", "workspace_size", "model", "data", "bytes",
              "status", "result", "steps", "losses", "results")

ERRORS = (
    ("OK", "success"),
    ("ERR_NULL_ARGUMENT", "a required pointer argument is NULL"),
    ("ERR_BATCH", "the batch is out of range (below 1, or above the state's max_batch)"),
    ("ERR_WORKSPACE", "no workspace: the state has none, or the one given is too small"),
    ("ERR_NO_MEMORY", "out of memory"),
    ("ERR_INDEX", "an index input is not a whole number in range"),
    ("ERR_WEIGHTS_OPEN", "the weights file cannot be opened or read"),
    ("ERR_WEIGHTS_FORMAT", "the weights file is not this model's (magic, version, byte order or variables differ)"),
    ("ERR_WEIGHTS_SIZE", "the weights file is truncated or too long"),
    ("ERR_WEIGHTS_CHECKSUM", "the weights file's checksum does not match its contents"),
    ("ERR_WEIGHTS_WRITE", "the weights file cannot be written"),
    ("ERR_VARIABLE", "no variable has this index"),
)


def check_prefix(prefix):
    """``prefix`` if every C name made from it is a plain identifier no rule of ``codegen.names``
    reserves; else ValueError naming the argument."""
    if type(prefix) is not str or not _PREFIX.match(prefix):
        raise ValueError(f"prefix: expected a C identifier of at most 40 characters (a letter, then letters, "
                         f"digits or _), got {prefix!r}")
    for suffix in ("_state", "_init", "_predict", "_train_step_kernel", "_status"):
        if names.function_name(prefix + suffix) != prefix + suffix:
            raise ValueError(f"prefix: {prefix!r} makes the name {prefix + suffix!r}, which C or symkeras reserves")
    return prefix


def check_choice(value, choices, what):
    if value not in choices:
        raise ValueError(f"{what}: expected one of {', '.join(choices)}, got {value!r}")
    return value


def export_c(model, directory, prefix, functions=("predict",), blas="openblas", weights="embed"):
    """Write the C export of ``model`` into ``directory`` (see the module docstring); a ``Written``.
    Everything is rendered before anything is written."""
    prefix = check_prefix(prefix)
    functions = check_functions(functions)
    check_choice(blas, BLAS_CHOICES, "blas")
    check_choice(weights, WEIGHT_CHOICES, "weights")
    exported = render_functions(model, functions, "c", lambda kind: f"{prefix}_{API_NAME[kind]}_kernel")
    storages = all_storages(exported)
    context = _context(model, prefix, exported, storages, blas, weights)
    files = {f"{prefix}.h": templates.render("aot/c/header.h.j2", **context),
             f"{prefix}.c": templates.render("aot/c/source.c.j2", **context),
             "main.c": templates.render("aot/c/main.c.j2", **context),
             "Makefile": templates.render("aot/c/Makefile.j2", **context)}
    files = {name: text.encode("utf-8") for name, text in files.items()}
    if weights == "file":
        files[f"{prefix}.weights.bin"] = weights_file.encode(storages)
    os.makedirs(directory, exist_ok=True)
    paths = []
    for name, data in files.items():
        path = os.path.join(directory, name)
        write_atomically(path, lambda f, data=data: f.write(data))
        paths.append(path)
    return Written(paths, storages)


# ----------------------------------------------------------------------------- context

def _context(model, prefix, exported, storages, blas, weights):
    variables = _variables(storages, embed=weights == "embed")
    functions = {kind: _function(prefix, fn, storages) for kind, fn in exported.items()}
    workspace = _workspace_function(exported, functions)
    return dict(
        p=prefix, P=prefix.upper(), guard=prefix.upper() + "_H", version=version.__version__,
        model_comment="'" + names.c_comment(model.name) + "'", weights_mode=weights, blas=blas,
        functions=functions, train_or_evaluate=any(kind != "predict" for kind in exported),
        kernels=[_kernel(exported, kind) for kind in exported],
        variables=variables, variable_bytes=sum(v["nbytes"] for v in variables),
        variable_block=sum(_round64(v["nbytes"]) for v in variables),
        layout_crc=weights_file.layout_crc(storages),
        max_batch=_max_batch(workspace, functions.values()),
        workspace_examples=[workspace(1), workspace(32)],
        errors=[{"name": name, "text": text} for name, text in ERRORS],
        opt_flags=" ".join(f for f in build.BASE_CFLAGS if f not in ("-fPIC", "-std=c99")),
        arch_flags="-march=native", openblas=_openblas(),
    )


def _round64(n):
    return -(-n // 64) * 64


def _variables(storages, embed):
    variables, offset = [], 0
    idents = names.UniqueNames(names.c_reserved)
    for i, storage in enumerate(storages):
        value = np.asarray(storage.value)
        dtype = str(value.dtype)
        if dtype not in CTYPES:
            raise ValueError(f"cannot export the variable {storage.name!r}: dtype {dtype} has no C type")
        entry = {"ident": idents(storage.name), "ctype": CTYPES[dtype], "nbytes": value.nbytes, "offset": offset,
                 "comment": names.c_comment(f"{storage.name}: {dtype} {tuple(value.shape)}")}
        if embed:
            literals = _array_literals(value.ravel(), dtype) or ["0"]     # C has no empty initialiser
            entry.update(count=len(literals), rows=[", ".join(literals[j:j + 8]) for j in range(0, len(literals), 8)])
        variables.append(entry)
        offset += _round64(value.nbytes)
    return variables


def _kernel(exported, kind):
    """One generated function's section of the .c file. A static helper an earlier function's
    code already defines is renamed by a macro around this code (the same template made both)."""
    kinds = list(exported)
    code = exported[kind].code
    earlier = set().union(*(_static_helpers(exported[k].code.source) for k in kinds[:kinds.index(kind)]))
    renamed = [(h, f"{code.symbol}_{h}") for h in sorted(_static_helpers(code.source) & earlier)]
    return {"symbol": code.symbol, "workspace_symbol": code.workspace_symbol, "source": code.source.rstrip("\n"),
            "title": f"the model's {'test' if kind == 'evaluate' else kind} function", "renamed": renamed}


def _static_helpers(source):
    return set(re.findall(r"^static (?:inline )?[a-z0-9_ ]+?\b(sk_[a-z0-9_]+)\(", source, re.M))


def _function(prefix, fn, storages):
    """What the templates need to declare, document and call one function."""
    unique = names.UniqueNames(names.c_reserved, taken=_API_NAMES)
    fields = fn.code.fields
    inputs = [f for f in fields if f[1] == "input"]
    outputs = [f for f in fields if f[1] == "output"]
    variable_fields = [f for f in fields if f[1] == "variable"]
    groups = ["x"] * fn.x + ["y"] * fn.y + ["weight"] * fn.weights
    params, ones, ones_total = [], "", []
    for (field, _, dtype), slot, group in zip(inputs, fn.signature.inputs, groups):
        param = _param(unique(field), field, slot.shape, dtype, "input", slot.name, fn.kind)
        param.update(bound=slot.bound, required=group != "weight", ones=None)
        if group == "weight":
            param["ones"] = ones
            region = f"sk_aot_round64((size_t)batch*{param['row']}*sizeof({param['ctype']}))"
            ones += f" + {region}"
            ones_total.append(region)
        params.append(param)
    results = []
    if fn.kind == "predict":
        for (field, _, dtype), (shape, _) in zip(outputs, fn.signature.outputs):
            param = _param(unique(field), field, shape, dtype, "output", field, fn.kind)
            param.update(bound=None, required=True, ones=None)
            params.append(param)
    else:
        for (field, _, dtype), (shape, _) in zip(outputs, fn.signature.outputs):
            if tuple(shape) != () or dtype != outputs[0][2]:
                raise ValueError(f"cannot export {fn.kind}: its result {field!r} is not a scalar of the loss's dtype")
            results.append({"field": field})
    index = {id(s): i for i, s in enumerate(storages)}
    variables = [{"field": field, "ctype": CTYPES[dtype], "index": index[id(storage)]}
                 for (field, _, dtype), storage in zip(variable_fields, fn.storages)]
    api = f"{prefix}_{API_NAME[fn.kind]}"
    metrics = [names.c_comment(n) for n in fn.output_names[1:]]
    result_ctype = CTYPES[outputs[0][2]] if fn.kind != "predict" else None
    file_arrays = [p for p in params if p["ones"] is None]
    return dict(
        kind=fn.kind, api=api, symbol=fn.code.symbol, args_type=fn.code.args_type, params=params,
        outputs=results, variables=variables, metrics=metrics, result_ctype=result_ctype,
        weights=fn.weights, ones_total=" + ".join(ones_total) or "0",
        doc=_doc(fn.kind, api), call_example=", ".join([p["name"] for p in params] + ["batch"]),
        file_arrays=file_arrays, read_count=sum(1 for p in file_arrays if p["role"] == "input"),
        file_doc=_file_doc(fn.kind, file_arrays), usage=_usage(fn.kind),
    )


def _param(name, field, shape, dtype, role, label, kind):
    if not shape or shape[0] != dims.BATCH:
        raise ValueError(f"cannot export {kind}: {role} {label!r} has shape {dims.describe(shape)}, "
                         "not the batch first")
    row = dims.size(shape[1:])
    if not dims.is_static(row):
        raise ValueError(f"cannot export {kind}: {role} {label!r} has an axis of unknown size")
    ctype = CTYPES[dtype]
    const = "const " if role == "input" else ""
    return {"name": name, "field": field, "role": role, "dtype": dtype, "ctype": ctype, "row": int(row),
            "decl": f"{const}{ctype} *{name}", "cast": f"{const}{ctype} *",
            "floating": dtype in ("float32", "float64"), "unsigned": dtype == "bool",
            "doc": names.c_comment(f"{role} {ctype}{_c_shape(shape)}: {label}")}


def _c_shape(shape):
    return "".join(f"[{'batch' if i == 0 else int(d)}]" for i, d in enumerate(shape))


def _doc(kind, api):
    if kind == "predict":
        return [f"{api}: the model's outputs for a batch of inputs."]
    if kind == "train":
        return [f"{api}: one training step on a batch, as the model's train_on_batch: the variables",
                "(weights and optimizer state) are updated in place. A sample weights argument may be",
                "NULL for all ones."]
    return [f"{api}: the loss and metric sums of a batch, as the model's test_on_batch (streaming",
            "metrics update their state). A sample weights argument may be NULL for all ones."]


def _file_doc(kind, arrays):
    listed = ", ".join(f"{a['name']} ({a['ctype']} x batch*{a['row']})" for a in arrays if a["role"] == "input")
    if kind == "predict":
        return f"INPUTS.bin holds {listed}; OUTPUTS.bin gets " + ", ".join(
            a["name"] for a in arrays if a["role"] == "output")
    return f"DATA.bin holds {listed}" + ("" if kind == "train" else "; RESULTS.bin gets the loss, then the metrics")


def _usage(kind):
    return {"predict": "predict BATCH INPUTS.bin OUTPUTS.bin",
            "train": "train BATCH STEPS DATA.bin LOSSES.bin TRAINED.weights.bin",
            "evaluate": "evaluate BATCH DATA.bin RESULTS.bin"}[kind]


def _workspace_function(exported, functions):
    """bytes(batch) of PREFIX_workspace_bytes, computed as the C does."""
    regions = [[(ITEMSIZE[dtype], dims.dim_function(size)) for dtype, size in fn.signature.workspace]
               for fn in exported.values()]
    ones = [[ITEMSIZE[p["dtype"]] * p["row"] for p in f["params"] if p["ones"] is not None]
            for f in functions.values()]

    def workspace(batch):
        kernel = max((sum(_round64(int(size(batch)) * item) for item, size in r) for r in regions), default=0)
        return 64 + _round64(kernel) + max((sum(_round64(batch * b) for b in o) for o in ones), default=0)
    return workspace


def _max_batch(workspace, functions):
    """The largest batch whose workspace and argument arrays stay below 2**62 bytes."""
    row_bytes = max([ITEMSIZE[p["dtype"]] * p["row"] for f in functions for p in f["params"]] + [1])

    def fits(batch):
        return workspace(batch) < _LARGEST_BYTES and batch * row_bytes < _LARGEST_BYTES
    if fits(_LARGEST_BATCH):
        return _LARGEST_BATCH
    low, high = 0, _LARGEST_BATCH          # fits(low), not fits(high)
    while high - low > 1:
        middle = (low + high) // 2
        low, high = (middle, high) if fits(middle) else (low, middle)
    return low


def _openblas():
    """Where the scipy-openblas32 wheel keeps its header and library (as the C backend builds with
    them); empty, for the Makefile's user to fill in, when it is not installed or its path would
    not survive make."""
    try:
        import scipy_openblas32 as openblas
        found = {"include": openblas.get_include_dir(), "lib": openblas.get_lib_dir(),
                 "name": openblas.get_library(), "prefix": "scipy_cblas_"}
    except ImportError:
        return {"include": "", "lib": "", "name": "openblas", "prefix": "cblas_"}
    if any(re.search(r"[\s#$\\'\"]", value) or shlex.quote(value) != value for value in found.values()):
        return {"include": "", "lib": "", "name": "openblas", "prefix": "cblas_"}
    return found

"""A model written out as one Python module that needs NumPy alone (``symkeras-aot --target numpy``).

``export_numpy_module(model, directory, name, functions, weights)`` writes ``directory/name.py``
with ``predict(*inputs)`` and, when asked, ``train_step(*x, *y, sample_weights=None)`` and
``evaluate(...)``: each the very NumPy code symkeras runs for the model, indented into a function of
its own so the generated modules' top-level names stay apart. The variables are embedded in the
module (``weights="embed"``, a base64 .npz) or in ``name.weights.npz`` beside it (``"file"``).

(``symkeras.aot.export_numpy`` writes the same functions as a package of modules instead.)

No user string becomes code: the module's names are the generated code's identifiers and
``name``, which must be a plain identifier; model and variable names appear in comments made
inert by ``codegen.names``.
"""

import base64
import io
import keyword
import os

import numpy as np

from symkeras import version
from symkeras.aot.functions import MODEL_KIND, Written, all_storages, check_functions, render_functions
from symkeras.codegen import names, templates
from symkeras.codegen.numpy.printer import print_expr
from symkeras.ir import dims
from symkeras.utils.atomic_files import write_atomically

API_NAME = {"predict": "predict", "train": "train_step", "evaluate": "evaluate"}
WEIGHT_CHOICES = ("embed", "file")


def check_module_name(name):
    """``name`` if it can be the module's name (a plain identifier, not a keyword); else ValueError."""
    if (type(name) is not str or not name.isascii() or not name.isidentifier() or keyword.iskeyword(name)
            or names.identifier(name, names.python_reserved) != name):
        raise ValueError(f"prefix: expected a plain Python identifier for the module's name, got {name!r}")
    return name


def export_numpy_module(model, directory, name, functions=("predict",), weights="embed"):
    """Write the module (see the module docstring); a ``Written`` with the paths and variables."""
    name = check_module_name(name)
    functions = check_functions(functions)
    if weights not in WEIGHT_CHOICES:
        raise ValueError(f"weights: expected one of {', '.join(WEIGHT_CHOICES)}, got {weights!r}")
    exported = render_functions(model, functions, "numpy", lambda kind: f"generated_{API_NAME[kind]}")
    storages = all_storages(exported)
    values = [np.asarray(s.value) for s in storages]
    arrays = {f"v{i}": value for i, value in enumerate(values)}
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii") if weights == "embed" else ""
    context = dict(
        module=name, version=version.__version__, weights_mode=weights,
        model_comment="'" + names.python_comment(model.name) + "'",
        functions=[_function(fn, storages, name) for fn in exported.values()],
        train_or_evaluate=any(kind != "predict" for kind in exported),
        variables=[names.python_comment(f"{s.name}: {v.dtype} {tuple(v.shape)}") for s, v in zip(storages, values)],
        layout=repr([(str(v.dtype), tuple(v.shape)) for v in values]),
        weights_lines=[encoded[i:i + 96] for i in range(0, len(encoded), 96)],
    )
    files = {f"{name}.py": templates.render("aot/numpy/module.py.j2", **context).encode("utf-8")}
    if weights == "file":
        files[f"{name}.weights.npz"] = buffer.getvalue()
    os.makedirs(directory, exist_ok=True)
    paths = []
    for filename, data in files.items():
        path = os.path.join(directory, filename)
        write_atomically(path, lambda f, data=data: f.write(data))
        paths.append(path)
    return Written(paths, storages)


def _function(fn, storages, module):
    index = {id(s): i for i, s in enumerate(storages)}
    slots = list(fn.signature.inputs)
    for slot in slots:
        if slot.shape[0] != dims.BATCH:
            raise ValueError(f"cannot export {fn.kind}: input {slot.name!r} does not have the batch first")
    specs = [(slot.name, slot.dtype, dims.to_keras(slot.shape), slot.bound) for slot in slots]
    n_in = fn.x + fn.y
    outputs = [{"shape": "(" + "".join(print_expr(d) + ", " for d in shape) + ")", "dtype": dtype}
               for shape, dtype in fn.signature.outputs]
    api = API_NAME[fn.kind]
    labels = [s[0] for s in specs[:n_in]]
    call = f"{module}.{api}({', '.join(labels)})"
    usage = f"outputs = {call}" if fn.kind == "predict" else f"loss, *metrics = {call}"
    summary = {"predict": "The model's outputs for a batch of inputs.",
               "train": "One training step on a batch, as the model's train_on_batch.",
               "evaluate": "The loss and metric sums of a batch, as the model's test_on_batch."}[fn.kind]
    returns = ("a list of arrays, one per output" if fn.kind == "predict" else
               "[loss" + "".join(", " + names.python_comment(n) for n in fn.output_names[1:]) + "]")
    return dict(
        kind=fn.kind, api=api, model_kind=MODEL_KIND[fn.kind], symbol=fn.code.symbol,
        source=_indented(fn.code.source), specs=repr(specs[:n_in]), weight_specs=repr(specs[n_in:]),
        weights=fn.weights, outputs=outputs, variable_indices=repr([index[id(s)] for s in fn.storages]),
        inputs=[{"label": label, "dtype": dtype, "shape": shape} for label, dtype, shape, _ in specs[:n_in]],
        usage=usage, summary=summary, returns=returns,
    )


def _indented(source):
    """The generated module's source as the body of a function (blank lines kept blank)."""
    if any(line.lstrip().startswith(("global ", "nonlocal ", "from __future__")) for line in source.splitlines()):
        raise AssertionError("generated NumPy code declares names a function body cannot")
    return "\n".join("    " + line if line.strip() else "" for line in source.rstrip("\n").splitlines())

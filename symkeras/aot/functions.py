"""A model's functions as an exporter needs them: rendered (never built) for one target, with
their signatures and the variables they read and update.

An exported function takes the batch as its only unknown size, and every op in it must have a
kernel for the target; anything else is refused here, naming the input or the layer, before a
file is written.
"""

import dataclasses
import os

from symkeras.codegen import backends, templates
from symkeras.codegen.kernels import LOWERINGS
from symkeras.ir import dims
from symkeras.ir import ops as O
from symkeras.runtime.function import _render

# The exporters' names for the model's functions ('evaluate' is the model's 'test' function).
MODEL_KIND = {"predict": "predict", "train": "train", "evaluate": "test"}

# Ops the lowering places without a kernel of their own (leaves, views, updates).
_STRUCTURAL = (O.Placeholder, O.Variable, O.Constant, O.Reshape, O.Assign, O.StopGradient, O.TupleGet)

# The kernel kinds ops lowered by a method of their own become (schedule._Lowering._lower_<Op>).
_HANDLER_KINDS = {"Elemwise": "elementwise", "BroadcastTo": "elementwise", "MatMul": "gemm", "Reduce": "reduce",
                  "ArgMax": "argmax", "Softmax": "softmax", "Transpose": "transpose", "Concat": "concat",
                  "Slice": "slice", "SliceGrad": "slice_grad", "Gather": "gather", "ScatterAdd": "scatter_add",
                  "OneHot": "one_hot", "Random": "random", "Scan": "scan"}


@dataclasses.dataclass
class Exported:
    """One rendered function: ``kind`` ('predict', 'train', 'evaluate'), its signature, the
    backend's artifact (``code``), and the storage of each variable argument in the code's order.
    ``x``, ``y`` and ``weights`` count its inputs that are model inputs, targets and sample weights."""
    kind: str
    signature: object
    code: object
    storages: list
    x: int
    y: int
    weights: int
    output_names: list


@dataclasses.dataclass(frozen=True)
class Written:
    """What an export wrote: the files' paths, and the variables in the order the export holds
    them (the C state and its weights file, the NumPy module's ``variables``)."""
    paths: list
    storages: list


def check_functions(functions, what="functions"):
    """``functions`` as a list of names from MODEL_KIND, or ValueError naming the argument."""
    functions = [functions] if isinstance(functions, str) else list(functions)
    unknown = [f for f in functions if f not in MODEL_KIND]
    if not functions or unknown:
        raise ValueError(f"{what}: expected names among {sorted(MODEL_KIND)}, got {functions!r}")
    if len(set(functions)) != len(functions):
        raise ValueError(f"{what}: a function is named twice in {functions!r}")
    return functions


def render_functions(model, functions, backend, name_of):
    """{kind: Exported} of ``functions`` rendered for ``backend`` ('c' or 'numpy'); the generated
    function of ``kind`` is called ``name_of(kind)``."""
    functions = check_functions(functions)
    if any(f != "predict" for f in functions) and getattr(model, "optimizer", None) is None:
        raise ValueError(f"functions {functions!r}: training and evaluation need a compiled model (the model "
                         "file has no training configuration; compile it and save it again)")
    target = backends.get(backend)
    exported = {}
    for kind in functions:
        graph = model.function_graph(MODEL_KIND[kind])
        _check_exportable(graph, kind, backend)
        graph.name = name_of(kind)
        artifact = _render(graph, target)
        variables = graph.variables()
        storages = [variables[i].op.storage for i in artifact.signature.variables]
        n_x, n_y, n_weights = _input_groups(model, kind)
        if n_x + n_y + n_weights != len(artifact.signature.inputs):
            raise AssertionError(f"{kind}: the function's inputs are not the model's inputs, targets and weights")
        exported[kind] = Exported(kind, artifact.signature, artifact.code, storages, n_x, n_y, n_weights,
                                  list(graph.output_names or []))
    return exported


def _input_groups(model, kind):
    """(model inputs, fed targets, sample weights): how a function's inputs fall, in that order."""
    if kind == "predict":
        return len(model.inputs), 0, 0
    targets = [t for t in model._compiled["targets"] if t is not None]
    return len(model.inputs), sum(1 for t in targets if t.fed), len(targets)


def all_storages(exported):
    """Every variable of the exported functions once, in the order first met."""
    storages = []
    for fn in exported.values():
        for storage in fn.storages:
            if all(storage is not s for s in storages):
                storages.append(storage)
    return storages


def _check_exportable(graph, kind, backend):
    for x in graph.inputs:
        for axis, d in enumerate(x.shape[1:], start=1):
            if not dims.is_static(d):
                raise ValueError(f"cannot export {kind}: input {x.name!r} has an axis of unknown size (axis {axis}); "
                                 "an exported model knows every size but the batch: give the Input a full shape")
    _check_ops(graph, kind, backend)


def _check_ops(graph, kind, backend):
    """Every op of ``graph`` (and of a loop's body) lowers to a kernel the target has a template for."""
    for node in graph.nodes():
        op_name = type(node.op).__name__
        if isinstance(node.op, _STRUCTURAL):
            continue
        kind_name = _HANDLER_KINDS.get(op_name) or getattr(LOWERINGS.get(op_name), "kind", None)
        if kind_name is None or not _has_template(backend, kind_name):
            raise ValueError(f"cannot export {kind}: layer {node.scope or '?'!r} uses the op {op_name}, "
                             f"which has no {backend} kernel to export")
        if getattr(node.op, "body", None) is not None:
            _check_ops(node.op.body, kind, backend)


def _has_template(backend, kind):
    return os.path.isfile(os.path.join(templates.template_dir(), backend, "kernels", kind + ".j2"))


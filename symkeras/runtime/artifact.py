"""What a rendered function is rebuilt from: its signature and its backend's code artifact,
stored as plain JSON data and checked when read back.

Shapes are stored as trees of allow-listed node kinds (``dims.encode``), never as text to
parse. An artifact read back from the cache is checked field by field before anything uses
it; a malformed one counts as a cache miss.
"""

import dataclasses

from symkeras.codegen.backend_interface import DTYPES
from symkeras.ir import dims


@dataclasses.dataclass(frozen=True)
class InputSlot:
    name: str
    shape: tuple
    dtype: str
    bound: int = None          # indices into a table of this many rows: range-checked before a call


@dataclasses.dataclass(frozen=True)
class Signature:
    """What the runtime needs to call a function, whatever its backend."""
    inputs: tuple              # InputSlot per input
    outputs: tuple             # (shape, dtype) per output
    variables: tuple           # position of each variable the code uses in the graph's variables
    updates: bool              # whether a call writes variables (such calls take turns)
    workspace: tuple           # (dtype, elements) per workspace region
    sizes: tuple = ()          # the size symbols after batch the code takes, in order

    @property
    def argument_counts(self):
        return len(self.inputs), len(self.outputs), len(self.variables)


@dataclasses.dataclass(frozen=True)
class Artifact:
    signature: Signature
    code: object               # the backend's artifact (CSource, PythonSource)

    @property
    def source(self):
        return self.code.source


def encode(artifact, backend):
    """The JSON data stored for ``artifact``."""
    s = artifact.signature
    data = {
        "inputs": [[i.name, encode_shape(i.shape), i.dtype, i.bound] for i in s.inputs],
        "outputs": [[encode_shape(shape), dtype] for shape, dtype in s.outputs],
        "variables": list(s.variables),
        "updates": s.updates,
        "workspace": [[dtype, dims.encode(size)] for dtype, size in s.workspace],
    }
    if s.sizes:
        data["sizes"] = [dims.encode(symbol) for symbol in s.sizes]
    data.update(backend.encode(artifact.code))
    return data


def decode(data, backend, n_variables):
    """The artifact stored as ``data``, or None when it is malformed in any way."""
    try:
        signature = _signature(data, n_variables)
        code = backend.decode(data, signature.argument_counts)
        # A C argument block has one field per size symbol after batch: the same names, in order.
        if hasattr(code, "size_fields") and code.size_fields != tuple(s.name for s in signature.sizes):
            raise ValueError("artifact: the code's size fields do not match the signature")
        return Artifact(signature, code)
    except (ValueError, TypeError, KeyError, RecursionError):
        return None


def encode_shape(shape):
    return [dims.encode(d) for d in shape]


def decode_shape(data):
    if type(data) is not list:
        raise ValueError(f"shape: expected a list, got {type(data).__name__}")
    return tuple(dims.decode(d) for d in data)


def _signature(data, n_variables):
    if type(data) is not dict:
        raise ValueError("artifact: not a mapping")
    for field, kind in (("inputs", list), ("outputs", list), ("variables", list), ("updates", bool),
                        ("workspace", list)):
        if type(data.get(field)) is not kind:
            raise TypeError(f"artifact: {field} is not a {kind.__name__}")
    inputs = []
    for entry in data["inputs"]:
        name, shape, dtype, bound = _entry(entry, 4)
        if type(name) is not str or (bound is not None and (type(bound) is not int or bound <= 0)):
            raise ValueError("artifact: malformed input")
        inputs.append(InputSlot(name, _shape(shape, dtype), dtype, bound))
    outputs = tuple((_shape(shape, dtype), dtype) for shape, dtype in (_entry(e, 2) for e in data["outputs"]))
    workspace = tuple((dtype, _shape([size], dtype)[0]) for dtype, size in (_entry(e, 2) for e in data["workspace"]))
    if any(type(i) is not int or not 0 <= i < n_variables for i in data["variables"]):
        raise ValueError("artifact: variable index out of range")
    sizes = _sizes(data.get("sizes", []), inputs, outputs, workspace)
    return Signature(tuple(inputs), outputs, tuple(data["variables"]), data["updates"], workspace, sizes)


def _sizes(stored, inputs, outputs, workspace):
    """The size symbols after batch: exactly those the inputs show, in their order, and every
    size of the outputs and workspace made of them."""
    if type(stored) is not list:
        raise ValueError("artifact: sizes is not a list")
    sizes = tuple(dims.decode(s) for s in stored)
    if sizes != dims.sizes_of(slot.shape for slot in inputs)[1:] or not all(s.is_Symbol for s in sizes):
        raise ValueError("artifact: the size symbols do not match the inputs' unknown axes")
    known = {dims.BATCH, *sizes}
    shapes = [shape for shape, _ in outputs] + [[size] for _, size in workspace]
    if any(not dims.symbols_in(d) <= known or not dims.symbols_in(d) == d.free_symbols
           for shape in shapes for d in shape if not dims.is_static(d)):
        raise ValueError("artifact: a size is not made of the inputs' unknown sizes")
    return sizes


def _entry(entry, length):
    if type(entry) is not list or len(entry) != length:
        raise ValueError(f"artifact: expected a list of {length} items")
    return entry


def _shape(shape, dtype):
    if dtype not in DTYPES:
        raise ValueError(f"artifact: unknown dtype {dtype!r}")
    return decode_shape(shape)

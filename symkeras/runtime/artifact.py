"""What a rendered function is rebuilt from: plain JSON data, and its check when read back.

Shapes are stored as trees of allow-listed node kinds (``dims.encode``), never as text to
parse. An artifact read back from the cache is checked field by field before anything uses
it; a malformed one counts as a cache miss.
"""

import re

from symkeras.ir import dims

DTYPES = frozenset(("float32", "float64", "int64", "int32", "bool"))
ROLES = ("input", "output", "variable")
_IDENTIFIER = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")

_COMMON = {"inputs": list, "outputs": list, "variables": list, "updates": bool, "workspace": list,
           "source": str, "symbol": str}
_BY_BACKEND = {"c": {"cdef": str, "args_type": str, "workspace_symbol": str, "fields": list}, "numpy": {}}


def encode_shape(shape):
    return [dims.encode(d) for d in shape]


def decode_shape(data):
    if type(data) is not list:
        raise ValueError(f"shape: expected a list, got {type(data).__name__}")
    return tuple(dims.decode(d) for d in data)


def is_valid(artifact, backend, n_variables):
    """Whether ``artifact`` has every field of ``backend``'s artifacts, each of the right kind."""
    try:
        _check(artifact, backend, n_variables)
    except (ValueError, TypeError):
        return False
    return True


def _check(artifact, backend, n_variables):
    expected = dict(_COMMON, **_BY_BACKEND[backend])
    if type(artifact) is not dict or not set(expected) <= set(artifact):
        raise ValueError("artifact: missing fields")
    for field, kind in expected.items():
        if type(artifact[field]) is not kind:
            raise TypeError(f"artifact: {field} is not a {kind.__name__}")
    for entry in artifact["inputs"]:
        name, shape, dtype, bound = _entry(entry, 4)
        if type(name) is not str or (bound is not None and (type(bound) is not int or bound <= 0)):
            raise ValueError("artifact: malformed input")
        if any(not dims.is_static(d) and d != dims.BATCH for d in _shape_and_dtype(shape, dtype)):
            raise ValueError("artifact: an input's unknown dimension is not the batch size")
    for entry in artifact["outputs"]:
        _shape_and_dtype(*_entry(entry, 2))
    for entry in artifact["workspace"]:
        dtype, size = _entry(entry, 2)
        _shape_and_dtype([size], dtype)
    if any(type(i) is not int or not 0 <= i < n_variables for i in artifact["variables"]):
        raise ValueError("artifact: variable index out of range")
    names = [artifact[f] for f in ("symbol", "args_type", "workspace_symbol") if f in expected]
    if backend == "c":
        roles = []
        for entry in artifact["fields"]:
            name, role, dtype = _entry(entry, 3)
            if role not in ROLES or dtype not in DTYPES:
                raise ValueError("artifact: malformed argument field")
            names.append(name)
            roles.append(role)
        counts = [roles.count(r) for r in ROLES]
        if counts != [len(artifact[k]) for k in ("inputs", "outputs", "variables")]:
            raise ValueError("artifact: argument fields do not match inputs, outputs and variables")
    if not all(type(n) is str and _IDENTIFIER.fullmatch(n) for n in names):
        raise ValueError("artifact: a symbol is not an identifier")


def _entry(entry, length):
    if type(entry) is not list or len(entry) != length:
        raise ValueError(f"artifact: expected a list of {length} items")
    return entry


def _shape_and_dtype(shape, dtype):
    if dtype not in DTYPES:
        raise ValueError(f"artifact: unknown dtype {dtype!r}")
    return decode_shape(shape)

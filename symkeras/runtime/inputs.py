"""Validation of the arrays fed to a generated function: nothing malformed reaches
generated code, and every error names the argument and what was expected.

The unknown sizes of a call (``batch`` and the inputs' other size symbols) are read off the
arrays' shapes: the first input showing a symbol binds it, every other one must agree.
"""

import numpy as np

from symkeras.codegen import names
from symkeras.ir import dims


def symbolic_shape(batch_shape, name):
    """The IR shape of an input named ``name`` whose shape (batch axis included) is ``batch_shape``:
    the batch axis is ``batch``; any other None gets a size symbol of its own (``signal_1`` for
    axis 1 of input ``signal``), bound from the array fed at each call. Two inputs' unknown axes
    are therefore independent (tf-keras does the same: each None is its own unknown), and an
    elementwise op between them is refused at graph build."""
    return (None,) + tuple(dims.size_symbol(names.size_name(name, axis)) if d is None else d
                           for axis, d in enumerate(tuple(batch_shape)[1:], start=1))


class InputSpec:
    """What one placeholder accepts."""

    __slots__ = ("name", "shape", "dtype", "symbolic", "static", "tail", "index_bound")

    def __init__(self, name, shape, dtype, index_bound=None):
        self.name, self.shape, self.dtype = name, tuple(shape), np.dtype(dtype)
        self.index_bound = index_bound      # used as table indices: values must lie in [0, bound)
        # (axis, size symbol) of each unknown axis; an axis sized by an expression (a target shaped
        # like an output) is checked once the symbols are bound.
        self.symbolic = tuple((i, d) for i, d in enumerate(shape) if not dims.is_static(d))
        self.static = tuple((i, d) for i, d in enumerate(shape) if dims.is_static(d))
        # The common case, batch first and every other axis known: one tuple comparison.
        self.tail = tuple(shape[1:]) if self.symbolic == ((0, dims.BATCH),) else None

    def accepts(self, value):
        """Whether ``value`` is already exactly what the generated code reads (no conversion)."""
        return (type(value) is np.ndarray and value.dtype == self.dtype and self.tail is not None
                and value.ndim == len(self.shape) and value.shape[1:] == self.tail
                and value.flags.c_contiguous)

    @property
    def keras_shape(self):
        return dims.to_keras(self.shape)

    def convert(self, value, position):
        """The value as a C-contiguous array of this input's dtype, or a clear error."""
        arr = value if type(value) is np.ndarray else np.asarray(value)
        if arr.dtype != self.dtype:
            if arr.dtype.kind not in "biuf" or not np.can_cast(arr.dtype, self.dtype, "same_kind"):
                raise TypeError(f"input {position} ({self.name!r}): expected {self.dtype.name} data "
                                f"of shape {self.keras_shape}, got an array of dtype {arr.dtype}")
            arr = arr.astype(self.dtype)
        if arr.ndim != len(self.shape):
            raise ValueError(f"input {position} ({self.name!r}): expected an array of shape "
                             f"{self.keras_shape} ({len(self.shape)} dimensions), got shape {arr.shape}")
        for i, d in self.static:
            if arr.shape[i] != d:
                raise ValueError(f"input {position} ({self.name!r}): expected shape {self.keras_shape}, "
                                 f"got {arr.shape}: axis {i} has size {arr.shape[i]}, expected {d}")
        if not arr.flags.c_contiguous:
            arr = np.ascontiguousarray(arr)
        return arr


def _check_indices(arr, spec, position):
    """Indices are read by the generated code as memory offsets: out of range is an error here."""
    if arr.size and (arr.min() < 0 or arr.max() >= spec.index_bound or
                     (arr.dtype.kind == "f" and not np.array_equal(arr, np.floor(arr)))):
        raise ValueError(f"input {position} ({spec.name!r}): indices must be integers in "
                         f"[0, {spec.index_bound}), got values from {arr.min()} to {arr.max()}")


def convert_all(specs, values, sizes=(dims.BATCH,)):
    """Check the number of inputs, convert each, and bind the size symbols ``sizes`` (batch first)
    from their shapes: ``(arrays, (batch, *others))``."""
    if isinstance(values, np.ndarray) or not isinstance(values, (list, tuple)):
        values = [values]
    if len(values) != len(specs):
        names = [s.name for s in specs]
        raise ValueError(f"inputs: expected {len(specs)} arrays {names}, got {len(values)}")
    if len(sizes) == 1 and specs and all(spec.tail is not None for spec in specs):
        return _convert_batch_only(specs, values)
    arrays, bound, derived = [], {}, []    # bound: symbol -> (value, input name, axis)
    for position, (spec, value) in enumerate(zip(specs, values)):
        arr = value if spec.accepts(value) else spec.convert(value, position)
        if spec.index_bound is not None:
            _check_indices(arr, spec, position)
        for axis, d in spec.symbolic:
            if d.is_Symbol:
                _bind(bound, d, arr.shape[axis], spec.name, position, axis)
            else:
                derived.append((position, spec, axis, d))
        arrays.append(arr)
    batch = bound.get(dims.BATCH, (1,))[0]
    if batch == 0:
        raise ValueError("inputs: the batch is empty (0 samples)")
    values = tuple(bound[s][0] if s in bound else 1 for s in sizes)
    for position, spec, axis, d in derived:
        expected = dims.dim_function(d, sizes)(*values)
        if arrays[position].shape[axis] != expected:
            raise ValueError(f"input {position} ({spec.name!r}): axis {axis} has size {arrays[position].shape[axis]}, "
                             f"expected {expected} ({d}, from the shapes of the other inputs)")
    return arrays, values


def _convert_batch_only(specs, values):
    """``convert_all`` when every input's only unknown axis is its first, the batch: the common case,
    on every call of a training step, kept to a few comparisons per input."""
    arrays, batch, first = [], None, None
    for position, (spec, value) in enumerate(zip(specs, values)):
        arr = value if spec.accepts(value) else spec.convert(value, position)
        if spec.index_bound is not None:
            _check_indices(arr, spec, position)
        if batch is None:
            batch, first = arr.shape[0], spec.name
        elif arr.shape[0] != batch:
            raise ValueError(f"input {position} ({spec.name!r}): batch size {arr.shape[0]} differs from {batch} of "
                             f"input {first!r}")
        arrays.append(arr)
    if batch == 0:
        raise ValueError("inputs: the batch is empty (0 samples)")
    return arrays, (batch,)


def _bind(bound, symbol, value, name, position, axis):
    """The first input showing ``symbol`` sets its value; the others must agree."""
    seen = bound.get(symbol)
    if seen is None:
        bound[symbol] = (value, name, axis)
        return
    if value != seen[0]:
        if symbol == dims.BATCH:
            raise ValueError(f"input {position} ({name!r}): batch size {value} differs from {seen[0]} of "
                             f"input {seen[1]!r}")
        raise ValueError(f"input {position} ({name!r}): axis {axis} has size {value}, expected {seen[0]} "
                         f"(the size {symbol} set by axis {seen[2]} of input {seen[1]!r})")

"""Validation of the arrays fed to a generated function: nothing malformed reaches
generated code, and every error names the argument and what was expected."""

import numpy as np

from symkeras.ir import dims


class InputSpec:
    """What one placeholder accepts."""

    __slots__ = ("name", "shape", "dtype", "batch_axes", "static", "tail", "index_bound")

    def __init__(self, name, shape, dtype, index_bound=None):
        self.name, self.shape, self.dtype = name, tuple(shape), np.dtype(dtype)
        self.index_bound = index_bound      # used as table indices: values must lie in [0, bound)
        self.batch_axes = tuple(i for i, d in enumerate(shape) if not dims.is_static(d))
        for i in self.batch_axes:
            if shape[i] != dims.BATCH:
                raise ValueError(f"placeholder {name!r}: only the batch dimension may be unknown")
        self.static = tuple((i, d) for i, d in enumerate(shape) if dims.is_static(d))
        # The common case, batch first and every other axis known: one tuple comparison.
        self.tail = tuple(shape[1:]) if self.batch_axes == (0,) else None

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
                                 f"got {arr.shape}")
        if not arr.flags.c_contiguous:
            arr = np.ascontiguousarray(arr)
        return arr


def _check_indices(arr, spec, position):
    """Indices are read by the generated code as memory offsets: out of range is an error here."""
    if arr.size and (arr.min() < 0 or arr.max() >= spec.index_bound or
                     (arr.dtype.kind == "f" and not np.array_equal(arr, np.floor(arr)))):
        raise ValueError(f"input {position} ({spec.name!r}): indices must be integers in "
                         f"[0, {spec.index_bound}), got values from {arr.min()} to {arr.max()}")


def convert_all(specs, values):
    """Check the number of inputs, convert each, and agree on one batch size."""
    if isinstance(values, np.ndarray) or not isinstance(values, (list, tuple)):
        values = [values]
    if len(values) != len(specs):
        names = [s.name for s in specs]
        raise ValueError(f"inputs: expected {len(specs)} arrays {names}, got {len(values)}")
    arrays, batch, batch_from = [], None, None
    for position, (spec, value) in enumerate(zip(specs, values)):
        arr = value if spec.accepts(value) else spec.convert(value, position)
        if spec.index_bound is not None:
            _check_indices(arr, spec, position)
        for axis in spec.batch_axes:
            if batch is None:
                batch, batch_from = arr.shape[axis], spec.name
            elif arr.shape[axis] != batch:
                raise ValueError(f"input {position} ({spec.name!r}): batch size {arr.shape[axis]} differs "
                                 f"from {batch} of input {batch_from!r}")
        arrays.append(arr)
    if batch == 0:
        raise ValueError("inputs: the batch is empty (0 samples)")
    return arrays, (1 if batch is None else batch)

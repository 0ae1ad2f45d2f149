"""Weight constraints (tf-keras 2.x): ``constraint(w) -> projected w`` as an IR node.

They run after each optimizer update. Norms are taken over ``axis`` (an int or a list,
e.g. ``[0, 1, 2]`` for a channels-last Conv2D kernel) with ``keepdims``.
"""

import numpy as np

from symkeras import backend as K
from symkeras.utils.generic_utils import get_from_identifier, deserialize_keras_object, serialize_keras_object


def _node(x):
    """An IR node for ``x`` (arrays and numbers become constants of floatx)."""
    return x if K.is_tensor(x) else K.constant(x)


def _norms(w, axis):
    return K.sqrt(K.sum(K.square(w), axis=axis, keepdims=True))


def _axis_config(axis):
    return list(axis) if isinstance(axis, tuple) else axis


class Constraint:
    """Base class: the identity projection."""

    def __call__(self, w):
        return w

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class MaxNorm(Constraint):
    """``w * clip(‖w‖, 0, max_value) / (ε + ‖w‖)``."""

    def __init__(self, max_value=2, axis=0):
        self.max_value, self.axis = max_value, _axis_config(axis)

    def __call__(self, w):
        w = _node(w)
        norms = _norms(w, self.axis)
        desired = K.clip(norms, 0, self.max_value)
        return w * (desired / (K.epsilon() + norms))

    def get_config(self):
        return {"max_value": self.max_value, "axis": self.axis}


class NonNeg(Constraint):
    """``w * (w >= 0)``."""

    def __call__(self, w):
        w = _node(w)
        return w * K.cast(K.greater_equal(w, 0.0), w.dtype)


class UnitNorm(Constraint):
    """``w / (ε + ‖w‖)``."""

    def __init__(self, axis=0):
        self.axis = _axis_config(axis)

    def __call__(self, w):
        w = _node(w)
        return w / (K.epsilon() + _norms(w, self.axis))

    def get_config(self):
        return {"axis": self.axis}


class MinMaxNorm(Constraint):
    """``w * desired / (ε + ‖w‖)``, ``desired = rate * clip(‖w‖, min, max) + (1 - rate) * ‖w‖``."""

    def __init__(self, min_value=0.0, max_value=1.0, rate=1.0, axis=0):
        self.min_value, self.max_value, self.rate = min_value, max_value, rate
        self.axis = _axis_config(axis)

    def __call__(self, w):
        w = _node(w)
        norms = _norms(w, self.axis)
        desired = self.rate * K.clip(norms, self.min_value, self.max_value) + (1 - self.rate) * norms
        return w * (desired / (K.epsilon() + norms))

    def get_config(self):
        return {"min_value": self.min_value, "max_value": self.max_value, "rate": self.rate,
                "axis": self.axis}


def _radial_source_indices(size):
    """For a ``size x size`` kernel, the flat index each output cell copies (tf-keras's loop).

    tf-keras starts from the ``[start-1, start-1]`` element (``start = size // 2``), as one
    cell for odd sizes or a 2x2 block for even ones, then pads ring after ring with the
    diagonal element ``[start+i, start+i]``, i counting up from 0 (odd) or 1 (even).
    """
    start = size // 2
    corner = (start - 1) * size + (start - 1)
    if size % 2:
        grid, i = np.full((1, 1), corner), 0
    else:
        grid, i = np.full((2, 2), corner), 1
    while i < start:
        grid = np.pad(grid, 1, constant_values=(start + i) * size + (start + i))
        i += 1
    return grid


class RadialConstraint(Constraint):
    """Make a square ``(rows, cols, in, out)`` kernel constant on concentric rings.

    Every ring copies one diagonal element of its (in, out) slice, exactly as tf-keras's
    implementation chooses it (see ``_radial_source_indices``). Sizes below 2 are rejected.
    """

    def __call__(self, w):
        w = _node(w)
        shape = K.int_shape(w)
        if len(shape) != 4:
            raise ValueError(f"The weight tensor must have rank 4. Received weight tensor with shape: {shape}")
        height, width, channels, kernels = (int(d) for d in shape)
        if height != width or height < 2:
            raise ValueError(f"RadialConstraint: expected a square kernel of size >= 2, got {shape}")
        index = K.constant(_radial_source_indices(height).reshape(-1), dtype="int64")
        flat = K.reshape(w, (height * width, channels * kernels))
        return K.reshape(K.gather(flat, index), (height, width, channels, kernels))


# Aliases (tf-keras) and the Keras 1 spellings.
max_norm = maxnorm = MaxNorm
non_neg = nonneg = NonNeg
unit_norm = unitnorm = UnitNorm
min_max_norm = MinMaxNorm
radial_constraint = RadialConstraint

_OBJECTS = {"Constraint": Constraint, "MaxNorm": MaxNorm, "NonNeg": NonNeg, "UnitNorm": UnitNorm,
            "MinMaxNorm": MinMaxNorm, "RadialConstraint": RadialConstraint,
            "max_norm": MaxNorm, "non_neg": NonNeg, "unit_norm": UnitNorm,
            "min_max_norm": MinMaxNorm, "radial_constraint": RadialConstraint,
            "maxnorm": MaxNorm, "nonneg": NonNeg, "unitnorm": UnitNorm}


def serialize(constraint):
    return serialize_keras_object(constraint)


def deserialize(config, custom_objects=None):
    return deserialize_keras_object(config, module_objects=_OBJECTS, custom_objects=custom_objects,
                                    printable_module_name="constraint")


def get(identifier):
    """A constraint from a name, a config dict, or a callable."""
    return get_from_identifier(identifier, deserialize, "constraint function")
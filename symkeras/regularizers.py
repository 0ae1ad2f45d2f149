"""Weight and activity regularizers (tf-keras 2.x): ``regularizer(x) -> scalar node``."""

import math

import numpy as np

from symkeras import backend as K
from symkeras.utils.generic_utils import get_from_identifier, deserialize_keras_object, serialize_keras_object


def _node(x):
    """An IR node for ``x`` (arrays and numbers become constants of floatx)."""
    return x if K.is_tensor(x) else K.constant(x)


def _check_penalty_number(x):
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        raise ValueError(f"Value {x!r} is not a valid regularization penalty number, "
                         f"expected an int or float value.")
    if math.isinf(x) or math.isnan(x):
        raise ValueError(f"Value {x} is not a valid regularization penalty number, "
                         f"an infinite number or NaN are not valid values.")


def _floatx(x):
    """Factors are stored in floatx like tf-keras (so get_config shows the float32 value)."""
    return np.dtype(K.floatx()).type(x)


class Regularizer:
    """Base class: ``__call__(x)`` returns the penalty to add to the loss."""

    def __call__(self, x):
        return 0.0

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def get_config(self):
        raise NotImplementedError(f"{type(self).__name__} does not implement get_config()")

    def __repr__(self):
        try:
            args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        except NotImplementedError:
            args = ""
        return f"{type(self).__name__}({args})"


class L1L2(Regularizer):
    """``l1 * sum(|x|) + l2 * sum(x^2)``; both factors default to 0 (``l1_l2()`` uses 0.01)."""

    def __init__(self, l1=0.0, l2=0.0):
        l1 = 0.0 if l1 is None else l1
        l2 = 0.0 if l2 is None else l2
        _check_penalty_number(l1)
        _check_penalty_number(l2)
        self.l1, self.l2 = _floatx(l1), _floatx(l2)

    def __call__(self, x):
        x = _node(x)
        terms = []
        if self.l1:
            terms.append(float(self.l1) * K.sum(K.abs(x)))
        if self.l2:
            terms.append(float(self.l2) * K.sum(K.square(x)))
        if not terms:
            return K.constant(0.0, dtype=x.dtype)
        return terms[0] if len(terms) == 1 else terms[0] + terms[1]

    def get_config(self):
        return {"l1": float(self.l1), "l2": float(self.l2)}


class L1(Regularizer):
    """``l1 * sum(|x|)``."""

    def __init__(self, l1=0.01, **kwargs):
        l1 = kwargs.pop("l", l1)          # Keras 2 spelling: l1(l=0.01)
        if kwargs:
            raise TypeError(f"Argument(s) not recognized: {kwargs}")
        l1 = 0.01 if l1 is None else l1
        _check_penalty_number(l1)
        self.l1 = _floatx(l1)

    def __call__(self, x):
        return float(self.l1) * K.sum(K.abs(_node(x)))

    def get_config(self):
        return {"l1": float(self.l1)}


class L2(Regularizer):
    """``l2 * sum(x^2)``."""

    def __init__(self, l2=0.01, **kwargs):
        l2 = kwargs.pop("l", l2)
        if kwargs:
            raise TypeError(f"Argument(s) not recognized: {kwargs}")
        l2 = 0.01 if l2 is None else l2
        _check_penalty_number(l2)
        self.l2 = _floatx(l2)

    def __call__(self, x):
        return float(self.l2) * K.sum(K.square(_node(x)))

    def get_config(self):
        return {"l2": float(self.l2)}


class OrthogonalRegularizer(Regularizer):
    """``factor * 0.5 * sum|P - diag(P)| / (n (n - 1) / 2)`` where P holds the dot products
    of the L2-normalised rows (``mode='rows'``) or columns of a rank-2 input."""

    def __init__(self, factor=0.01, mode="rows"):
        _check_penalty_number(factor)
        if mode not in ("rows", "columns"):
            raise ValueError(f'Invalid value for argument `mode`. Expected one of {{"rows", "columns"}}. '
                             f"Received: mode={mode}")
        self.factor, self.mode = _floatx(factor), mode

    def __call__(self, x):
        x = _node(x)
        if x.ndim != 2:
            raise ValueError(f"Inputs to OrthogonalRegularizer must have rank 2. "
                             f"Received: inputs.shape == {K.int_shape(x)}")
        axis = 1 if self.mode == "rows" else 0
        # tf.math.l2_normalize: x / sqrt(max(sum(x^2), 1e-12))
        x = x / K.sqrt(K.maximum(K.sum(K.square(x), axis=axis, keepdims=True), 1e-12))
        product = K.dot(x, K.transpose(x)) if self.mode == "rows" else K.dot(K.transpose(x), x)
        size = int(K.int_shape(x)[1 - axis])
        off_diagonal = K.constant(1.0 - np.eye(size), dtype=x.dtype)
        num_pairs = size * (size - 1.0) / 2.0
        return float(self.factor) * 0.5 * K.sum(K.abs(product * off_diagonal)) / num_pairs

    def get_config(self):
        return {"factor": float(self.factor), "mode": self.mode}


def l1_l2(l1=0.01, l2=0.01):
    """An L1L2 regularizer with both factors (default 0.01 each)."""
    return L1L2(l1=l1, l2=l2)


# tf-keras aliases: the classes themselves (``l1(0.1)``, ``l2(l=0.1)``).
l1 = L1
l2 = L2
orthogonal_regularizer = OrthogonalRegularizer

_OBJECTS = {"Regularizer": Regularizer, "L1L2": L1L2, "L1": L1, "L2": L2,
            "OrthogonalRegularizer": OrthogonalRegularizer, "l1": L1, "l2": L2, "l1_l2": l1_l2,
            "orthogonal_regularizer": OrthogonalRegularizer}


def serialize(regularizer):
    return serialize_keras_object(regularizer)


def deserialize(config, custom_objects=None):
    if config == "l1_l2":       # the string means l1_l2()'s defaults, not L1L2()'s zeros
        return L1L2(l1=0.01, l2=0.01)
    return deserialize_keras_object(config, module_objects=_OBJECTS, custom_objects=custom_objects,
                                    printable_module_name="regularizer")


def get(identifier):
    """A regularizer from a name ('l1', 'l2', 'l1_l2', ...), a config dict, or a callable."""
    return get_from_identifier(identifier, deserialize, "regularizer")
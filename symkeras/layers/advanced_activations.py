"""Activation layers: ReLU, LeakyReLU, PReLU, ELU, ThresholdedReLU, Softmax (tf-keras 2.x)."""

import math
import numbers

import numpy as np
import sympy

from symkeras import backend as K
from symkeras import constraints, initializers, regularizers
from symkeras.engine.base_layer import InputSpec, Layer
from symkeras.ir import build as B
from symkeras.ir.scalar import X

# What Softmax adds to masked logits (tf-keras: -1e9 outside float16, which symkeras has not).
_MASKED_LOGIT = -1e9


def _floatx_number(value, name, layer):
    """``value`` rounded to floatx: tf-keras stores these arguments through ``cast_to_floatx``,
    so its configs and its arithmetic both see the rounded number."""
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise TypeError(f"{layer}: `{name}` must be a number, got {value!r}")
    if math.isnan(value):
        raise ValueError(f"{layer}: `{name}` must be a number, got {value!r}")
    return float(np.asarray(value, dtype=K.floatx()))


def _relu_argument(value, name):
    if value is None or _floatx_number(value, name, "ReLU") < 0.0:
        raise ValueError(f"{name} of a ReLU layer cannot be a negative value. Received: {value}")
    return _floatx_number(value, name, "ReLU")


class ReLU(Layer):
    """``max_value`` at and above it; ``x`` above ``threshold``; ``negative_slope * (x - threshold)``
    below (``K.relu``)."""

    def __init__(self, max_value=None, negative_slope=0.0, threshold=0.0, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.max_value = None if max_value is None else _relu_argument(max_value, "max_value")
        self.negative_slope = _relu_argument(negative_slope, "negative_slope")
        self.threshold = _relu_argument(threshold, "threshold")

    def call(self, inputs):
        return K.relu(inputs, alpha=self.negative_slope, max_value=self.max_value, threshold=self.threshold)

    def get_config(self):
        config = super().get_config()
        config.update(max_value=self.max_value, negative_slope=self.negative_slope, threshold=self.threshold)
        return config


class LeakyReLU(Layer):
    """``x`` if ``x > 0`` else ``alpha * x`` (any sign of ``alpha``, as in tf-keras)."""

    def __init__(self, alpha=0.3, **kwargs):
        super().__init__(**kwargs)
        if alpha is None:
            raise ValueError("The alpha value of a Leaky ReLU layer cannot be None, Expecting a float. "
                             f"Received: {alpha}")
        self.supports_masking = True
        self.alpha = _floatx_number(alpha, "alpha", "LeakyReLU")

    def call(self, inputs):
        return K.relu(inputs, alpha=self.alpha)

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


class PReLU(Layer):
    """``relu(x) - alpha * relu(-x)`` with a learned ``alpha`` per input entry, shared along
    ``shared_axes`` (axis numbers count the batch axis as 0)."""

    def __init__(self, alpha_initializer="zeros", alpha_regularizer=None, alpha_constraint=None,
                 shared_axes=None, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True
        self.alpha_initializer = initializers.get(alpha_initializer)
        self.alpha_regularizer = regularizers.get(alpha_regularizer)
        self.alpha_constraint = constraints.get(alpha_constraint)
        if shared_axes is None:
            self.shared_axes = None
        else:
            axes = list(shared_axes) if isinstance(shared_axes, (list, tuple)) else [shared_axes]
            for axis in axes:
                if isinstance(axis, bool) or not isinstance(axis, numbers.Integral):
                    raise TypeError(f"PReLU: `shared_axes` must be an int or a list of ints, got {shared_axes!r}")
            self.shared_axes = [int(axis) for axis in axes]

    def build(self, input_shape):
        ndim = len(input_shape)
        shared = set(self.shared_axes or ())
        for axis in shared:
            if not 1 <= axis < ndim:
                # axis 0 is the batch; tf-keras would silently share the last axis instead
                raise ValueError(f"PReLU: `shared_axes` must name axes 1 to {ndim - 1} of the input of shape "
                                 f"{tuple(input_shape)}. Received: shared_axes={self.shared_axes}")
        param_shape = [1 if i in shared else input_shape[i] for i in range(1, ndim)]
        self.alpha = self.add_weight("alpha", param_shape, initializer=self.alpha_initializer,
                                     regularizer=self.alpha_regularizer, constraint=self.alpha_constraint)
        # Every unshared axis is fixed (tf-keras fixes them only when some axis is shared).
        self.input_spec = InputSpec(ndim=ndim, axes={i: input_shape[i] for i in range(1, ndim) if i not in shared})
        self.built = True

    def call(self, inputs):
        return K.relu(inputs) - self.alpha * K.relu(-inputs)

    def get_config(self):
        config = super().get_config()
        config.update(
            alpha_initializer=initializers.serialize(self.alpha_initializer),
            alpha_regularizer=regularizers.serialize(self.alpha_regularizer),
            alpha_constraint=constraints.serialize(self.alpha_constraint),
            shared_axes=self.shared_axes,
        )
        return config


class ELU(Layer):
    """``x`` if ``x > 0`` else ``alpha * (exp(x) - 1)``."""

    def __init__(self, alpha=1.0, **kwargs):
        super().__init__(**kwargs)
        if alpha is None:
            raise ValueError(f"Alpha of an ELU layer cannot be None, expecting a float. Received: {alpha}")
        self.supports_masking = True
        self.alpha = _floatx_number(alpha, "alpha", "ELU")

    def call(self, inputs):
        return K.elu(inputs, self.alpha)

    def get_config(self):
        config = super().get_config()
        config["alpha"] = self.alpha
        return config


class ThresholdedReLU(Layer):
    """``x`` if ``x > theta`` else 0."""

    def __init__(self, theta=1.0, **kwargs):
        super().__init__(**kwargs)
        if theta is None:
            raise ValueError(f"Theta of a Thresholded ReLU layer cannot be None, expecting a float. "
                             f"Received: {theta}")
        if _floatx_number(theta, "theta", "ThresholdedReLU") < 0:
            raise ValueError(f"The theta value of a Thresholded ReLU layer should be >=0. Received: {theta}")
        self.supports_masking = True
        self.theta = _floatx_number(theta, "theta", "ThresholdedReLU")

    def call(self, inputs):
        return inputs * K.cast(K.greater(inputs, self.theta), self.dtype)

    def get_config(self):
        config = super().get_config()
        config["theta"] = self.theta
        return config


class Softmax(Layer):
    """Softmax along ``axis`` (an int, or a list of ints normalised together).

    ``mask`` (call argument, or the mask the input carries; 1 keeps, 0 drops) pushes dropped logits
    to -1e9 before the softmax: by adding ``(1 - mask) * -1e9``, or with ``robust_masking`` by
    replacing them. As in tf-keras the mask must broadcast against the logits.
    """

    def __init__(self, axis=-1, robust_masking=False, **kwargs):
        super().__init__(**kwargs)
        axes = axis if isinstance(axis, (list, tuple)) else [axis]
        if not axes or any(isinstance(a, bool) or not isinstance(a, numbers.Integral) for a in axes):
            raise TypeError(f"Softmax: `axis` must be an int or a non-empty list of ints, got {axis!r}")
        self.supports_masking = True
        self.robust_masking = bool(robust_masking)
        self.axis = axis

    def call(self, inputs, mask=None):
        axes = self.axis if isinstance(self.axis, (list, tuple)) else [self.axis]
        if any(not -inputs.ndim <= a < inputs.ndim for a in axes):
            raise ValueError(f"Softmax layer {self.name!r}: `axis` {self.axis} is out of range for an input "
                             f"of rank {inputs.ndim}")
        if mask is not None:
            inputs = self._apply_mask(inputs, mask)
        if isinstance(self.axis, (list, tuple)):
            if len(self.axis) > 1:
                axes = tuple(int(a) for a in self.axis)
                return K.exp(inputs - K.logsumexp(inputs, axis=axes, keepdims=True))
            return K.softmax(inputs, axis=int(self.axis[0]))
        return K.softmax(inputs, axis=int(self.axis))

    def _apply_mask(self, inputs, mask):
        mask = mask if K.is_tensor(mask) else K.constant(mask, dtype=inputs.dtype)
        if self.robust_masking:
            keep = mask if mask.dtype == "bool" else K.greater(mask, 0.5)
            return K.switch(keep, inputs, _MASKED_LOGIT)
        # inputs + (1 - mask) * -1e9, written so that a kept logit (mask 1) stays exactly itself: SymPy
        # would expand the product to inputs + 1e9 * mask - 1e9, which cancels catastrophically.
        kept = sympy.Piecewise((X[0], sympy.Eq(X[1], 1)), (X[0] + (1 - X[1]) * _MASKED_LOGIT, True))
        return B.ew(kept, inputs, K.cast(mask, inputs.dtype))

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        if self.robust_masking:
            config["robust_masking"] = True
        return config

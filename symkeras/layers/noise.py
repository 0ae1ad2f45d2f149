"""Noise layers: GaussianNoise, GaussianDropout, AlphaDropout.

Each draws from the seeded random op in training (fit) and is the identity in
evaluate/predict, like Dropout.
"""

import math

from symkeras import backend as K
from symkeras.engine.base_layer import Layer

# The selu constants (Klambauer et al., 2017), as tf-keras writes them.
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


def _check_number(value, name, low, high=None):
    """``value`` as a float in [low, high] (high None: no upper bound), or a ValueError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) and not hasattr(value, "__float__"):
        raise ValueError(f"Invalid value received for argument `{name}`. Expected a float, got {value!r}")
    value = float(value)
    if not (low <= value and (high is None or value <= high)):
        bound = f"between {low} and {high}" if high is not None else f"of at least {low}"
        raise ValueError(f"Invalid value received for argument `{name}`. Expected a float value {bound}. "
                         f"Received: {name}={value}")
    return value


class GaussianNoise(Layer):
    """Adds zero-centred Gaussian noise of standard deviation ``stddev`` in training."""

    def __init__(self, stddev, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.stddev, self.seed = _check_number(stddev, "stddev", 0.0), seed
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or self.stddev == 0:
            return inputs
        return inputs + K.random_normal(inputs.shape, 0.0, self.stddev, dtype=inputs.dtype, seed=self.seed)

    def get_config(self):
        config = super().get_config()
        config.update(stddev=self.stddev, seed=self.seed)
        return config


class GaussianDropout(Layer):
    """Multiplies by Gaussian noise of mean 1 and variance ``rate / (1 - rate)`` in training.

    As in tf-keras, a rate of 0 or 1 leaves the inputs unchanged.
    """

    def __init__(self, rate, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate, self.seed = _check_number(rate, "rate", 0.0, 1.0), seed
        self.supports_masking = True

    def call(self, inputs, training=False):
        if not training or not 0 < self.rate < 1:
            return inputs
        stddev = math.sqrt(self.rate / (1.0 - self.rate))
        return inputs * K.random_normal(inputs.shape, 1.0, stddev, dtype=inputs.dtype, seed=self.seed)

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, seed=self.seed)
        return config


class AlphaDropout(Layer):
    """Dropout that keeps the mean and variance of selu activations.

    Dropped units take selu's negative saturation value ``-alpha * scale``; then
    ``a * x + b`` restores zero mean and unit variance. A rate of 0 or 1 leaves the
    inputs unchanged (tf-keras).
    """

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        self.rate = _check_number(rate, "rate", 0.0, 1.0)
        self.noise_shape = None if noise_shape is None else tuple(noise_shape)
        self.seed = seed
        self.supports_masking = True

    def _get_noise_shape(self, inputs):
        if not self.noise_shape:
            return inputs.shape
        if len(self.noise_shape) != inputs.ndim:
            raise ValueError(f"AlphaDropout: `noise_shape` {self.noise_shape} must have one entry per input "
                             f"axis; the input has {inputs.ndim}")
        return tuple(inputs.shape[i] if d is None else d for i, d in enumerate(self.noise_shape))

    def call(self, inputs, training=False):
        if not training or not 0 < self.rate < 1:
            return inputs
        rate = self.rate
        alpha_p = -_SELU_ALPHA * _SELU_SCALE
        a = ((1 - rate) * (1 + rate * alpha_p ** 2)) ** -0.5
        b = -a * alpha_p * rate
        uniform = K.random_uniform(self._get_noise_shape(inputs), dtype=inputs.dtype, seed=self.seed)
        kept = K.cast(K.greater_equal(uniform, rate), inputs.dtype)
        return a * (inputs * kept + alpha_p * (1 - kept)) + b

    def get_config(self):
        # tf-keras leaves noise_shape out (it reloads as None); keeping it makes the round trip exact.
        config = super().get_config()
        config.update(rate=self.rate, noise_shape=self.noise_shape, seed=self.seed)
        return config

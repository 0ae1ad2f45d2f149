"""Core layers: Dense, Activation, Dropout, Flatten, Reshape, Lambda."""

import warnings

import numpy as np

from symkeras import activations, constraints, initializers, regularizers
from symkeras import backend as K
from symkeras.engine.base_layer import Layer

_LEGACY_DENSE = {"output_dim": "units", "init": "kernel_initializer", "W_regularizer": "kernel_regularizer",
                 "b_regularizer": "bias_regularizer", "W_constraint": "kernel_constraint",
                 "b_constraint": "bias_constraint", "bias": "use_bias"}


def _convert_legacy(kwargs):
    """Keras 1 argument names, converted with a warning."""
    converted = {}
    for old, new in _LEGACY_DENSE.items():
        if old in kwargs:
            warnings.warn(f"Update your `Dense` call to the Keras 2 API: `{old}` is now `{new}`",
                          UserWarning, stacklevel=3)
            converted[new] = kwargs.pop(old)
    return converted


class Dense(Layer):
    """``activation(dot(x, kernel) + bias)`` on the last axis of inputs of any rank."""

    def __init__(self, units=None, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, kernel_constraint=None, bias_constraint=None, **kwargs):
        legacy = _convert_legacy(kwargs)
        units = legacy.pop("units", units)
        kernel_initializer = legacy.get("kernel_initializer", kernel_initializer)
        kernel_regularizer = legacy.get("kernel_regularizer", kernel_regularizer)
        bias_regularizer = legacy.get("bias_regularizer", bias_regularizer)
        kernel_constraint = legacy.get("kernel_constraint", kernel_constraint)
        bias_constraint = legacy.get("bias_constraint", bias_constraint)
        use_bias = legacy.get("use_bias", use_bias)
        if "input_dim" in kwargs:
            kwargs["input_shape"] = (kwargs.pop("input_dim"),)
        super().__init__(**kwargs)
        if units is None or int(units) != units or int(units) <= 0:
            raise ValueError(f"Dense: units must be a positive integer, got {units!r}")
        self.units = int(units)
        self.activation = activations.get(activation)
        self.use_bias = bool(use_bias)
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.activity_regularizer = regularizers.get(activity_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)

    def build(self, input_shape):
        input_dim = input_shape[-1]
        if input_dim is None:
            raise ValueError(f"Dense {self.name!r}: the last dimension of the input must be known, "
                             f"got shape {input_shape}")
        self.kernel = self.add_weight("kernel", (input_dim, self.units), initializer=self.kernel_initializer,
                                      regularizer=self.kernel_regularizer, constraint=self.kernel_constraint)
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", (self.units,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)
        self.built = True

    def call(self, inputs):
        output = K.dot(inputs, self.kernel)
        if self.use_bias:
            output = output + self.bias
        return self.activation(output)

    def compute_output_shape(self, input_shape):
        return tuple(input_shape[:-1]) + (self.units,)

    def get_config(self):
        config = super().get_config()
        config.update(
            units=self.units,
            activation=activations.serialize(self.activation),
            use_bias=self.use_bias,
            kernel_initializer=initializers.serialize(self.kernel_initializer),
            bias_initializer=initializers.serialize(self.bias_initializer),
            kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
            bias_regularizer=regularizers.serialize(self.bias_regularizer),
            activity_regularizer=regularizers.serialize(self.activity_regularizer),
            kernel_constraint=constraints.serialize(self.kernel_constraint),
            bias_constraint=constraints.serialize(self.bias_constraint),
        )
        return config


class Activation(Layer):
    def __init__(self, activation, **kwargs):
        super().__init__(**kwargs)
        self.activation = activations.get(activation)

    def call(self, inputs):
        return self.activation(inputs)

    def get_config(self):
        config = super().get_config()
        config["activation"] = activations.serialize(self.activation)
        return config


class Dropout(Layer):
    """Inverted dropout in training (fit); the identity in evaluate/predict."""

    def __init__(self, rate, noise_shape=None, seed=None, **kwargs):
        super().__init__(**kwargs)
        if not 0 <= rate < 1:
            raise ValueError(f"Dropout: rate must be in [0, 1), got {rate}")
        self.rate, self.noise_shape, self.seed = float(rate), noise_shape, seed

    def call(self, inputs, training=False):
        if not training or self.rate == 0:
            return inputs
        noise_shape = None
        if self.noise_shape is not None:
            noise_shape = tuple(inputs.shape[i] if d is None else d for i, d in enumerate(self.noise_shape))
        return K.dropout(inputs, self.rate, noise_shape, seed=self.seed)

    def get_config(self):
        config = super().get_config()
        config.update(rate=self.rate, noise_shape=self.noise_shape, seed=self.seed)
        return config


class Flatten(Layer):
    def call(self, inputs):
        return K.batch_flatten(inputs)

    def compute_output_shape(self, input_shape):
        return (input_shape[0], int(np.prod(input_shape[1:])))


class Reshape(Layer):
    def __init__(self, target_shape, **kwargs):
        super().__init__(**kwargs)
        self.target_shape = tuple(target_shape)

    def call(self, inputs):
        return K.reshape(inputs, (-1,) + self.target_shape)

    def get_config(self):
        config = super().get_config()
        config["target_shape"] = self.target_shape
        return config


class Lambda(Layer):
    """Wraps a function of backend tensors as a layer."""

    def __init__(self, function, output_shape=None, arguments=None, **kwargs):
        super().__init__(**kwargs)
        self.function, self.arguments = function, dict(arguments or {})

    def call(self, inputs):
        return self.function(inputs, **self.arguments)

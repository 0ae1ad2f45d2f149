"""Merge layers: combine a list of tensors into one."""

import functools

from symkeras import backend as K
from symkeras.engine.base_layer import Layer
from symkeras.ir import dims


class _Merge(Layer):
    min_inputs = 2

    def build(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) < self.min_inputs:
            raise ValueError(f"A `{type(self).__name__}` layer should be called on a list of at least "
                             f"{self.min_inputs} inputs, got {input_shape}")
        try:
            dims.broadcast_shapes(*[tuple(None if d is None else d for d in s) for s in input_shape])
        except ValueError:
            raise ValueError(f"Operands could not be broadcast together with shapes {input_shape}") from None
        self.built = True

    def call(self, inputs):
        return functools.reduce(self._merge, inputs[1:], inputs[0])


class Add(_Merge):
    @staticmethod
    def _merge(a, b):
        return a + b


class Subtract(_Merge):
    def build(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs, got {input_shape}")
        super().build(input_shape)

    @staticmethod
    def _merge(a, b):
        return a - b


class Multiply(_Merge):
    @staticmethod
    def _merge(a, b):
        return a * b


class Maximum(_Merge):
    _merge = staticmethod(K.maximum)


class Minimum(_Merge):
    _merge = staticmethod(K.minimum)


class Average(_Merge):
    def call(self, inputs):
        return functools.reduce(lambda a, b: a + b, inputs[1:], inputs[0]) * (1.0 / len(inputs))


class Concatenate(Layer):
    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = int(axis)

    def build(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) < 2:
            raise ValueError("A `Concatenate` layer should be called on a list of at least 2 inputs")
        ranks = {len(s) for s in input_shape}
        axis = self.axis % max(ranks)
        reduced = {tuple(d for i, d in enumerate(s) if i != axis) for s in input_shape}
        if len(ranks) > 1 or len(reduced) > 1:
            raise ValueError("A `Concatenate` layer requires inputs with matching shapes except for the "
                             f"concat axis. Got inputs shapes: {input_shape}")
        self.built = True

    def call(self, inputs):
        return K.concatenate(inputs, axis=self.axis)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


class Dot(Layer):
    """Dot product of two tensors along ``axes`` (per sample), as ``K.batch_dot``."""

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        self.axes = tuple(axes) if isinstance(axes, (list, tuple)) else (int(axes), int(axes))
        self.normalize = bool(normalize)

    def build(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) != 2:
            raise ValueError("A `Dot` layer should be called on a list of 2 inputs.")
        a, b = input_shape
        ax, bx = self.axes[0] % len(a), self.axes[1] % len(b)
        if a[ax] != b[bx]:
            raise ValueError(f"Dimension incompatibility {a[ax]} != {b[bx]}. Layer shapes: {a}, {b}")
        self.built = True

    def call(self, inputs):
        a, b = inputs
        axes = (self.axes[0] % a.ndim, self.axes[1] % b.ndim)
        if self.normalize:
            a = _l2_normalize(a, axes[0])
            b = _l2_normalize(b, axes[1])
        return K.batch_dot(a, b, axes)

    def get_config(self):
        config = super().get_config()
        config.update(axes=self.axes, normalize=self.normalize)
        return config


def _l2_normalize(x, axis):
    return x / K.sqrt(K.maximum(K.sum(K.square(x), axis=axis, keepdims=True), 1e-12))


def add(inputs, **kwargs):
    return Add(**kwargs)(inputs)


def subtract(inputs, **kwargs):
    return Subtract(**kwargs)(inputs)


def multiply(inputs, **kwargs):
    return Multiply(**kwargs)(inputs)


def average(inputs, **kwargs):
    return Average(**kwargs)(inputs)


def maximum(inputs, **kwargs):
    return Maximum(**kwargs)(inputs)


def minimum(inputs, **kwargs):
    return Minimum(**kwargs)(inputs)


def concatenate(inputs, axis=-1, **kwargs):
    return Concatenate(axis=axis, **kwargs)(inputs)


def dot(inputs, axes, normalize=False, **kwargs):
    return Dot(axes=axes, normalize=normalize, **kwargs)(inputs)

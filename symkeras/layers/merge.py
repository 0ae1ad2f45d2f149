"""Merge layers: combine a list of tensors into one (tf-keras semantics and errors)."""

import functools

from symkeras import backend as K
from symkeras.engine.base_layer import Layer


def _check_list(input_shape, what="A merge layer"):
    if not isinstance(input_shape, list) or not input_shape or not isinstance(input_shape[0], tuple):
        raise ValueError(f"{what} should be called on a list of inputs. Received: input_shape={input_shape} "
                         "(not a list of shapes)")


def _elemwise_shape(shape1, shape2):
    """Broadcast two shapes without their batch axis, aligned from the right (None = unknown)."""
    if len(shape1) < len(shape2):
        shape1, shape2 = shape2, shape1
    if not shape2:
        return shape1
    out = list(shape1[:-len(shape2)])
    for i, j in zip(shape1[-len(shape2):], shape2):
        if i is None or j is None:
            out.append(None)
        elif i == 1 or j == 1:
            out.append(j if i == 1 else i)
        elif i != j:
            raise ValueError(f"Inputs have incompatible shapes. Received shapes {shape1} and {shape2}")
        else:
            out.append(i)
    return tuple(out)


def _mask_list(inputs, mask):
    """``mask`` as one entry per input, or None when no input is masked (Keras's checks)."""
    if mask is None:
        return None
    if not isinstance(mask, (list, tuple)):
        raise ValueError(f"`mask` should be a list. Received: mask={mask}")
    if not isinstance(inputs, (list, tuple)):
        raise ValueError(f"`inputs` should be a list. Received: inputs={inputs}")
    if len(mask) != len(inputs):
        raise ValueError(f"The lists `inputs` and `mask` should have the same length. Received: "
                         f"inputs={inputs} of length {len(inputs)}, and mask={mask} of length {len(mask)}")
    return None if all(m is None for m in mask) else list(mask)


class _Merge(Layer):
    """Elementwise merge of one or more tensors; lower-rank inputs get size-1 axes after the
    batch axis so that they broadcast against the others per sample. The output mask is the
    logical AND of the inputs' masks (Keras 2)."""

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        masks = _mask_list(inputs, mask)
        if masks is None:
            return None
        masks = [K.expand_dims(m, 0) for m in masks if m is not None]
        return K.all(K.concatenate(masks, axis=0), axis=0)

    def build(self, input_shape):
        _check_list(input_shape)
        batch_sizes = {s[0] for s in input_shape if s} - {None}
        if len(batch_sizes) > 1:
            raise ValueError(f"Cannot merge tensors with different batch sizes. Got tensors with shapes "
                             f"{input_shape}")
        functools.reduce(_elemwise_shape, [s[1:] for s in input_shape])
        self.built = True

    def call(self, inputs):
        if not isinstance(inputs, (list, tuple)):
            raise ValueError(f"A merge layer should be called on a list of inputs. Received: inputs={inputs} "
                             "(not a list of tensors)")
        rank = max(x.ndim for x in inputs)
        aligned = []
        for x in inputs:
            while x.ndim < rank:
                x = K.expand_dims(x, 1)
            aligned.append(x)
        return self._merge_function(aligned)

    def compute_output_shape(self, input_shape):
        shape = functools.reduce(_elemwise_shape, [s[1:] for s in input_shape])
        batch_sizes = {s[0] for s in input_shape} - {None}
        return (batch_sizes.pop() if len(batch_sizes) == 1 else None,) + shape


class Add(_Merge):
    """Sum of the inputs."""

    def _merge_function(self, inputs):
        return functools.reduce(lambda a, b: a + b, inputs)


class Subtract(_Merge):
    """``inputs[0] - inputs[1]`` (exactly two inputs)."""

    def build(self, input_shape):
        super().build(input_shape)
        if len(input_shape) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. "
                             f"Received: input_shape={input_shape}")

    def _merge_function(self, inputs):
        if len(inputs) != 2:
            raise ValueError(f"A `Subtract` layer should be called on exactly 2 inputs. Received: inputs={inputs}")
        return inputs[0] - inputs[1]


class Multiply(_Merge):
    """Product of the inputs."""

    def _merge_function(self, inputs):
        return functools.reduce(lambda a, b: a * b, inputs)


class Average(_Merge):
    """Mean of the inputs."""

    def _merge_function(self, inputs):
        return functools.reduce(lambda a, b: a + b, inputs) / float(len(inputs))


class Maximum(_Merge):
    """Elementwise maximum of the inputs."""

    def _merge_function(self, inputs):
        return functools.reduce(K.maximum, inputs)


class Minimum(_Merge):
    """Elementwise minimum of the inputs."""

    def _merge_function(self, inputs):
        return functools.reduce(K.minimum, inputs)


class Concatenate(Layer):
    """Concatenation along ``axis``; every other axis must match (unknown sizes excepted)."""

    def __init__(self, axis=-1, **kwargs):
        super().__init__(**kwargs)
        self.axis = axis
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        """The inputs' masks concatenated along ``axis`` (all True for an unmasked input; a mask of
        lower rank gets a last axis), then reduced with ``all`` over the last axis (Keras 2)."""
        masks = _mask_list(inputs, mask)
        if masks is None:
            return None
        full = []
        for x, m in zip(inputs, masks):
            if m is None:
                full.append(K.ones_like(x, dtype="bool"))
            elif m.ndim < x.ndim:
                full.append(K.expand_dims(m, -1))
            else:
                full.append(m)
        return K.all(K.concatenate(full, axis=self.axis), axis=-1)

    def build(self, input_shape):
        _check_list(input_shape, "A `Concatenate` layer")
        reduced = set()
        for shape in input_shape:
            shape = list(shape)
            del shape[self.axis]
            reduced.add(tuple(shape))
        if len(reduced) != 1:
            message = ("A `Concatenate` layer requires inputs with matching shapes except for the "
                       f"concatenation axis. Received: input_shape={input_shape}")
            if len({len(s) for s in reduced}) != 1:
                raise ValueError(message)
            for column in zip(*reduced):
                if len(set(column) - {None}) > 1:
                    raise ValueError(message)
        self.built = True

    def call(self, inputs):
        return K.concatenate(inputs, axis=self.axis)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape[0])
        for other in input_shape[1:]:
            if shape[self.axis] is None or other[self.axis] is None:
                shape[self.axis] = None
                break
            shape[self.axis] += other[self.axis]
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        config["axis"] = self.axis
        return config


class Dot(Layer):
    """Per-sample dot product of two tensors along ``axes`` (``K.batch_dot``); with
    ``normalize=True`` both are L2-normalised first, giving the cosine similarity."""

    def __init__(self, axes, normalize=False, **kwargs):
        super().__init__(**kwargs)
        if not isinstance(axes, int):
            if not isinstance(axes, (list, tuple)):
                raise TypeError(f"Invalid type for argument `axes`: it should be a list or an int. "
                                f"Received: axes={axes}")
            if len(axes) != 2:
                raise ValueError(f"Invalid format for argument `axes`: it should contain two elements. "
                                 f"Received: axes={axes}")
            if not all(isinstance(a, int) for a in axes):
                raise ValueError(f"Invalid format for argument `axes`: list elements should be integers. "
                                 f"Received: axes={axes}")
        self.axes, self.normalize = axes, normalize
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return None          # Keras 2: the product consumes the masks

    def _axes(self, rank1, rank2):
        axes = (self.axes, self.axes) if isinstance(self.axes, int) else tuple(self.axes)
        return axes[0] % rank1, axes[1] % rank2

    def build(self, input_shape):
        if not isinstance(input_shape, list) or len(input_shape) != 2 or not isinstance(input_shape[0], tuple):
            raise ValueError(f"A `Dot` layer should be called on a list of 2 inputs. Received: "
                             f"input_shape={input_shape}")
        shape1, shape2 = input_shape
        a1, a2 = self._axes(len(shape1), len(shape2))
        if shape1[a1] != shape2[a2]:
            raise ValueError(f"Incompatible input shapes: axis values {shape1[a1]} (at axis {a1}) != "
                             f"{shape2[a2]} (at axis {a2}). Full input shapes: {shape1}, {shape2}")
        self.built = True

    def call(self, inputs):
        x1, x2 = inputs
        axes = self._axes(x1.ndim, x2.ndim)
        if self.normalize:
            x1, x2 = _l2_normalize(x1, axes[0]), _l2_normalize(x2, axes[1])
        return K.batch_dot(x1, x2, axes)

    def compute_output_shape(self, input_shape):
        shape1, shape2 = list(input_shape[0]), list(input_shape[1])
        a1, a2 = self._axes(len(shape1), len(shape2))
        shape1.pop(a1)
        shape2.pop(a2)
        shape = shape1 + shape2[1:]
        return tuple(shape + [1] if len(shape) == 1 else shape)

    def get_config(self):
        config = super().get_config()
        config.update(axes=self.axes, normalize=self.normalize)
        return config


def _l2_normalize(x, axis):
    """``tf.math.l2_normalize``: x / sqrt(max(sum(x²), 1e-12))."""
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

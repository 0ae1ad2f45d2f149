"""Spatial reshaping layers (tf-keras 2): UpSampling, ZeroPadding and Cropping in 1, 2 and 3
dimensions. Upsampling repeats (or, in 2D, interpolates bilinearly), padding writes the input
into a slice of zeros, cropping takes a slice: all compose backend ops."""

import numbers

from symkeras import backend as K
from symkeras.engine.base_layer import InputSpec, Layer
from symkeras.layers.conv_utils import normalize_data_format, normalize_tuple

_ORDINALS = ("1st", "2nd", "3rd")
# tf.image.resize's methods: tf-keras accepts each name; the ones symkeras computes.
_RESIZE_METHODS = ("area", "bicubic", "bilinear", "gaussian", "lanczos3", "lanczos5", "mitchellcubic", "nearest")
_SUPPORTED_RESIZE = ("nearest", "bilinear")


def _pairs(value, rank, name):
    """An int, ``rank`` ints (symmetric) or ``rank`` (before, after) pairs, as ``rank`` pairs."""
    if isinstance(value, numbers.Integral) and not isinstance(value, bool):
        return (normalize_tuple(value, 2, name, allow_zero=True),) * rank
    if not hasattr(value, "__len__") or isinstance(value, str):
        raise ValueError(f"`{name}` should be either an int, a tuple of {rank} ints, or a tuple of {rank} tuples "
                         f"of 2 ints. Received: {value}.")
    if len(value) != rank:
        raise ValueError(f"`{name}` should have {rank} elements. Received: {value}.")
    return tuple(normalize_tuple(v, 2, f"{_ORDINALS[i]} entry of {name}", allow_zero=True)
                 for i, v in enumerate(value))


def _first_spatial(data_format):
    return 1 if data_format == "channels_last" else 2


class _Spatial(Layer):
    """A layer over the ``_rank`` spatial axes of (batch, *spatial, channels) inputs (or
    channels first)."""

    _rank = None

    def __init__(self, data_format=None, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self._rank + 2)

    def _spatial_axes(self):
        first = _first_spatial(self.data_format)
        return range(first, first + self._rank)

    def compute_output_shape(self, input_shape):
        shape = list(input_shape)
        for i, axis in enumerate(self._spatial_axes()):
            if shape[axis] is not None:
                shape[axis] = self._length(i, shape[axis])
        return tuple(shape)


# ----------------------------------------------------------------------------- upsampling

class UpSampling1D(_Spatial):
    """Repeats each step of (batch, steps, features) inputs ``size`` times."""

    _rank = 1

    def __init__(self, size=2, **kwargs):
        super().__init__("channels_last", **kwargs)
        self.size = normalize_tuple(size, 1, "size")[0]

    def _length(self, i, n):
        return n * self.size

    def call(self, inputs):
        return K.repeat_elements(inputs, self.size, axis=1)

    def get_config(self):
        config = super().get_config()
        config["size"] = self.size
        return config


class UpSampling2D(_Spatial):
    """Scales rows and columns by ``size``: 'nearest' repeats pixels, 'bilinear' interpolates as
    tf.image.resize does (half-pixel centres, edges clamped)."""

    _rank = 2

    def __init__(self, size=(2, 2), data_format=None, interpolation="nearest", **kwargs):
        super().__init__(data_format, **kwargs)
        self.size = normalize_tuple(size, 2, "size")
        method = interpolation.lower() if isinstance(interpolation, str) else interpolation
        if method not in _RESIZE_METHODS:
            raise ValueError(f"Value not recognized for `interpolation`: {interpolation}. Supported values are: "
                             f"{_SUPPORTED_RESIZE}")
        if method not in _SUPPORTED_RESIZE:
            raise ValueError(f"`interpolation`={interpolation!r} is not supported; use one of {_SUPPORTED_RESIZE}")
        self.interpolation = method

    def _length(self, i, n):
        return n * self.size[i]

    def call(self, inputs):
        return K.resize_images(inputs, self.size[0], self.size[1], self.data_format, interpolation=self.interpolation)

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size, data_format=self.data_format, interpolation=self.interpolation)
        return config


class UpSampling3D(_Spatial):
    """Repeats each voxel ``size`` times along each of the three spatial axes."""

    _rank = 3

    def __init__(self, size=(2, 2, 2), data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.size = normalize_tuple(size, 3, "size")

    def _length(self, i, n):
        return n * self.size[i]

    def call(self, inputs):
        return K.resize_volumes(inputs, *self.size, self.data_format)

    def get_config(self):
        config = super().get_config()
        config.update(size=self.size, data_format=self.data_format)
        return config


# ----------------------------------------------------------------------------- zero padding

class ZeroPadding1D(_Spatial):
    """Zeros before and after the steps: ``padding`` is an int or (before, after)."""

    _rank = 1

    def __init__(self, padding=1, **kwargs):
        super().__init__("channels_last", **kwargs)
        self.padding = normalize_tuple(padding, 2, "padding", allow_zero=True)

    def _length(self, i, n):
        return n + sum(self.padding)

    def call(self, inputs):
        return K.temporal_padding(inputs, self.padding)

    def get_config(self):
        config = super().get_config()
        config["padding"] = self.padding
        return config


class _ZeroPaddingND(_Spatial):
    def __init__(self, padding, data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.padding = _pairs(padding, self._rank, "padding")

    def _length(self, i, n):
        return n + sum(self.padding[i])

    def get_config(self):
        config = super().get_config()
        config.update(padding=self.padding, data_format=self.data_format)
        return config


class ZeroPadding2D(_ZeroPaddingND):
    """Zeros around images: ``padding`` is an int, (rows, cols) or ((top, bottom), (left, right))."""

    _rank = 2

    def __init__(self, padding=(1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)

    def call(self, inputs):
        return K.spatial_2d_padding(inputs, self.padding, self.data_format)


class ZeroPadding3D(_ZeroPaddingND):
    """Zeros around volumes: ``padding`` is an int, three ints, or three (before, after) pairs."""

    _rank = 3

    def __init__(self, padding=(1, 1, 1), data_format=None, **kwargs):
        super().__init__(padding, data_format, **kwargs)

    def call(self, inputs):
        return K.spatial_3d_padding(inputs, self.padding, self.data_format)


# ----------------------------------------------------------------------------- cropping

class _Cropping(_Spatial):
    """Drops ``cropping[i]`` = (before, after) elements at the ends of each spatial axis."""

    def _length(self, i, n):
        return n - sum(self.cropping[i])

    def call(self, inputs):
        key = [slice(None)] * inputs.ndim
        for (before, after), axis in zip(self.cropping, self._spatial_axes()):
            size = inputs.shape[axis]
            if before + after >= size:
                raise ValueError(f"`cropping` {self._config_cropping()} removes every element of axis {axis} of "
                                 f"input shape {K.int_shape(inputs)}")
            key[axis] = slice(before, size - after)
        return inputs[tuple(key)]

    def _config_cropping(self):
        return self.cropping

    def get_config(self):
        config = super().get_config()
        config.update(cropping=self._config_cropping(), data_format=self.data_format)
        return config


class Cropping1D(_Cropping):
    """Drops steps at the start and end of (batch, steps, features): an int or (start, end)."""

    _rank = 1

    def __init__(self, cropping=(1, 1), **kwargs):
        super().__init__("channels_last", **kwargs)
        self.cropping = (normalize_tuple(cropping, 2, "cropping", allow_zero=True),)

    def _config_cropping(self):
        return self.cropping[0]

    def get_config(self):
        config = Layer.get_config(self)
        config["cropping"] = self._config_cropping()
        return config


class Cropping2D(_Cropping):
    """Crops images: ``cropping`` is an int, (rows, cols) or ((top, bottom), (left, right))."""

    _rank = 2

    def __init__(self, cropping=((0, 0), (0, 0)), data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.cropping = _pairs(cropping, 2, "cropping")


class Cropping3D(_Cropping):
    """Crops volumes: ``cropping`` is an int, three ints, or three (before, after) pairs."""

    _rank = 3

    def __init__(self, cropping=((1, 1), (1, 1), (1, 1)), data_format=None, **kwargs):
        super().__init__(data_format, **kwargs)
        self.cropping = _pairs(cropping, 3, "cropping")

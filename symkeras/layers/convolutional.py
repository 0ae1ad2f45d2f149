"""Convolution layers (tf-keras 2): Conv1D/2D/3D, their transposes, DepthwiseConv1D/2D and
SeparableConv1D/2D. Each calls the backend's convolution (im2col and a matrix product), then
adds its bias and applies its activation."""

import numpy as np

from symkeras import activations, constraints, initializers, regularizers
from symkeras import backend as K
from symkeras.engine.base_layer import InputSpec, Layer
from symkeras.layers.conv_utils import (conv_output_length, deconv_output_length, normalize_data_format,
                                        normalize_padding, normalize_tuple)
# Keras 2's keras.layers.convolutional also holds the spatial reshaping layers.
from symkeras.layers.reshaping import (Cropping1D, Cropping2D, Cropping3D, UpSampling1D, UpSampling2D,  # noqa: F401
                                       UpSampling3D, ZeroPadding1D, ZeroPadding2D, ZeroPadding3D)


# ----------------------------------------------------------------------------- argument checks

def _positive_int(value, name, allow_none=False):
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer)):
        raise TypeError(f"Invalid value for argument `{name}`. Expected a positive integer. Received: {name}={value!r}")
    if value <= 0 or int(value) != value:
        raise ValueError(f"Invalid value for argument `{name}`. Expected a strictly positive value. "
                         f"Received {name}={value}.")
    return int(value)


def _bool(value, name):
    if isinstance(value, (int, np.integer)) and value in (0, 1):
        return bool(value)
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"Invalid value for argument `{name}`. Expected a boolean. Received: {name}={value!r}")
    return bool(value)


# ----------------------------------------------------------------------------- Conv1D/2D/3D

class Conv(Layer):
    """The N-D convolution layer (``rank`` spatial axes): ``activation(conv(x, kernel) + bias)``
    with a kernel of shape (*kernel_size, input_channels // groups, filters)."""

    _convolve = {1: K.conv1d, 2: K.conv2d, 3: K.conv3d}

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(activity_regularizer=activity_regularizer, **kwargs)
        self.rank = rank
        self.filters = _positive_int(filters, "filters", allow_none=True)
        self.groups = _positive_int(groups or 1, "groups")
        self.kernel_size = normalize_tuple(kernel_size, rank, "kernel_size")
        self.strides = normalize_tuple(strides, rank, "strides")
        self.padding = normalize_padding(padding, allow_causal=self._allows_causal())
        self.data_format = normalize_data_format(data_format)
        self.dilation_rate = normalize_tuple(dilation_rate, rank, "dilation_rate")
        self.activation = activations.get(activation)
        self.use_bias = _bool(use_bias, "use_bias")
        self.kernel_initializer = initializers.get(kernel_initializer)
        self.bias_initializer = initializers.get(bias_initializer)
        self.kernel_regularizer = regularizers.get(kernel_regularizer)
        self.bias_regularizer = regularizers.get(bias_regularizer)
        self.kernel_constraint = constraints.get(kernel_constraint)
        self.bias_constraint = constraints.get(bias_constraint)
        self.input_spec = InputSpec(min_ndim=rank + 2)
        if self.filters is not None and self.filters % self.groups:
            raise ValueError("The number of filters must be evenly divisible by the number of groups. "
                             f"Received: groups={self.groups}, filters={self.filters}")
        if max(self.strides) > 1 and max(self.dilation_rate) > 1:
            raise ValueError("`strides > 1` not supported in conjunction with `dilation_rate > 1`. "
                             f"Received: strides={self.strides} and dilation_rate={self.dilation_rate}")

    def _allows_causal(self):
        return False

    @property
    def _channel_axis(self):
        return 1 if self.data_format == "channels_first" else -1

    def _input_channels(self, input_shape, owner=None):
        input_shape = tuple(input_shape)
        if len(input_shape) != self.rank + 2:
            raise ValueError(f"Inputs to `{owner or type(self).__name__}` should have rank {self.rank + 2}. "
                             f"Received input_shape={input_shape}.")
        channels = input_shape[self._channel_axis]
        if channels is None:
            raise ValueError("The channel dimension of the inputs should be defined. The input_shape received "
                             f"is {input_shape}, where axis {self._channel_axis} (0-based) is the channel "
                             "dimension, which found to be `None`.")
        return int(channels)

    def _spatial(self, shape):
        shape = tuple(shape)
        return shape[2:] if self.data_format == "channels_first" else shape[1:-1]

    def _with_spatial(self, input_shape, spatial, channels):
        if self.data_format == "channels_first":
            return (input_shape[0], channels) + tuple(spatial)
        return (input_shape[0],) + tuple(spatial) + (channels,)

    def _add_bias(self, size):
        self.bias = None
        if self.use_bias:
            self.bias = self.add_weight("bias", (size,), initializer=self.bias_initializer,
                                        regularizer=self.bias_regularizer, constraint=self.bias_constraint)

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        if channels % self.groups:
            raise ValueError("The number of input channels must be evenly divisible by the number of groups. "
                             f"Received groups={self.groups}, but the input has {channels} channels (full "
                             f"input shape is {tuple(input_shape)}).")
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight("kernel", self.kernel_size + (channels // self.groups, self.filters),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self._add_bias(self.filters)
        self.input_spec = InputSpec(min_ndim=self.rank + 2, axes={self._channel_axis: channels})
        self.built = True

    def convolution_op(self, inputs):
        return self._convolve[self.rank](inputs, self.kernel, self.strides, self.padding, self.data_format,
                                         self.dilation_rate)

    def call(self, inputs):
        outputs = self.convolution_op(inputs)
        if self.use_bias:
            outputs = K.bias_add(outputs, self.bias, self.data_format)
        return self.activation(outputs)

    def compute_output_shape(self, input_shape):
        spatial = [conv_output_length(n, k, self.padding, s, d) for n, k, s, d in
                   zip(self._spatial(input_shape), self.kernel_size, self.strides, self.dilation_rate)]
        if any(n is not None and n <= 0 for n in spatial):
            raise ValueError(f"One of the dimensions in the output is <= 0 due to downsampling in {self.name}. "
                             f"Consider increasing the input size. Received input shape {tuple(input_shape)} "
                             "which would produce output shape with a zero or negative value in a dimension.")
        return self._with_spatial(input_shape, spatial, self._output_channels(input_shape))

    def _output_channels(self, input_shape):
        return self.filters

    def _base_config(self):
        """tf-keras's Conv config: everything up to the kernel arguments."""
        config = super().get_config()
        config.update(filters=self.filters, kernel_size=self.kernel_size, strides=self.strides,
                      padding=self.padding, data_format=self.data_format, dilation_rate=self.dilation_rate,
                      groups=self.groups, activation=activations.serialize(self.activation), use_bias=self.use_bias)
        return config

    def get_config(self):
        config = self._base_config()
        config.update(kernel_initializer=initializers.serialize(self.kernel_initializer),
                      bias_initializer=initializers.serialize(self.bias_initializer),
                      kernel_regularizer=regularizers.serialize(self.kernel_regularizer),
                      bias_regularizer=regularizers.serialize(self.bias_regularizer),
                      activity_regularizer=regularizers.serialize(self.activity_regularizer),
                      kernel_constraint=constraints.serialize(self.kernel_constraint),
                      bias_constraint=constraints.serialize(self.bias_constraint))
        return config


class Conv1D(Conv):
    """1D convolution over (batch, steps, channels); ``padding='causal'`` pads only the past."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format="channels_last",
                 dilation_rate=1, groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(1, filters, kernel_size, strides, padding, data_format, dilation_rate, groups, activation,
                         use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, **kwargs)

    def _allows_causal(self):
        return True


class Conv2D(Conv):
    """2D convolution over (batch, rows, cols, channels) images (or channels first)."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1), groups=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(2, filters, kernel_size, strides, padding, data_format, dilation_rate, groups, activation,
                         use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, **kwargs)


class Conv3D(Conv):
    """3D convolution over (batch, depth, rows, cols, channels) volumes (or channels first)."""

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", data_format=None,
                 dilation_rate=(1, 1, 1), groups=1, activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        super().__init__(3, filters, kernel_size, strides, padding, data_format, dilation_rate, groups, activation,
                         use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                         activity_regularizer, kernel_constraint, bias_constraint, **kwargs)


# ----------------------------------------------------------------------------- transposed convolutions

class _ConvTranspose(Conv):
    """The adjoint of a convolution: kernel (*kernel_size, filters, input_channels); the output
    length is tf-keras's deconv_output_length, ``output_padding`` adding to its end. Each
    ConvNDTranspose is also a ConvND, as in tf-keras."""

    _transpose = {1: K.conv1d_transpose, 2: K.conv2d_transpose, 3: K.conv3d_transpose}

    def __init__(self, rank, filters, kernel_size, strides, padding, output_padding, data_format, dilation_rate,
                 activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                 activity_regularizer, kernel_constraint, bias_constraint, groups=1, **kwargs):
        if groups not in (None, 1):
            raise ValueError(f"`groups` is not supported by {type(self).__name__}. Received: groups={groups}")
        Conv.__init__(self, rank, filters, kernel_size, strides, padding, data_format, dilation_rate, 1, activation,
                      use_bias, kernel_initializer, bias_initializer, kernel_regularizer, bias_regularizer,
                      activity_regularizer, kernel_constraint, bias_constraint, **kwargs)
        if self.filters is None:
            raise TypeError("Invalid value for argument `filters`. Expected a positive integer. Received: None")
        self.output_padding = output_padding
        if output_padding is not None:
            self.output_padding = normalize_tuple(output_padding, rank, "output_padding", allow_zero=True)
            if any(p >= s for s, p in zip(self.strides, self.output_padding)):
                raise ValueError(f"Strides must be greater than output padding. Received strides={self.strides}, "
                                 f"output_padding={self.output_padding}.")

    def _allows_causal(self):
        return False

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.compute_output_shape(input_shape)
        self.kernel = self.add_weight("kernel", self.kernel_size + (self.filters, channels),
                                      initializer=self.kernel_initializer, regularizer=self.kernel_regularizer,
                                      constraint=self.kernel_constraint)
        self._add_bias(self.filters)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})
        self.built = True

    def _output_spatial(self, input_shape):
        output_padding = self.output_padding or (None,) * self.rank
        return [deconv_output_length(n, k, self.padding, p, s, d) for n, k, p, s, d in
                zip(self._spatial(input_shape), self.kernel_size, output_padding, self.strides, self.dilation_rate)]

    def convolution_op(self, inputs):
        output_shape = self._with_spatial((None,), self._output_spatial(K.int_shape(inputs)), self.filters)
        if self.rank == 3:
            return K.conv3d_transpose(inputs, self.kernel, output_shape, self.strides, self.padding, self.data_format)
        return self._transpose[self.rank](inputs, self.kernel, output_shape, self.strides, self.padding,
                                          self.data_format, self.dilation_rate)

    def compute_output_shape(self, input_shape):
        return self._with_spatial(input_shape, self._output_spatial(input_shape), self.filters)

    def get_config(self):
        config = super().get_config()
        config["output_padding"] = self.output_padding
        return config


class Conv1DTranspose(_ConvTranspose, Conv1D):
    """Transposed 1D convolution (a learned upsampling of (batch, steps, channels))."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", output_padding=None, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(1, filters, kernel_size, strides, padding, output_padding, data_format, dilation_rate,
                         activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                         bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint, **kwargs)


class Conv2DTranspose(_ConvTranspose, Conv2D):
    """Transposed 2D convolution (a learned upsampling of images)."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", output_padding=None, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, kernel_initializer="glorot_uniform",
                 bias_initializer="zeros", kernel_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 kernel_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(2, filters, kernel_size, strides, padding, output_padding, data_format, dilation_rate,
                         activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                         bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint, **kwargs)


class Conv3DTranspose(_ConvTranspose, Conv3D):
    """Transposed 3D convolution. As in tf-keras it has no dilation (and its config no
    ``dilation_rate``); a dilation other than 1 is refused rather than ignored."""

    def __init__(self, filters, kernel_size, strides=(1, 1, 1), padding="valid", output_padding=None,
                 data_format=None, dilation_rate=(1, 1, 1), activation=None, use_bias=True,
                 kernel_initializer="glorot_uniform", bias_initializer="zeros", kernel_regularizer=None,
                 bias_regularizer=None, activity_regularizer=None, kernel_constraint=None, bias_constraint=None,
                 **kwargs):
        if normalize_tuple(dilation_rate, 3, "dilation_rate") != (1, 1, 1):
            raise ValueError(f"`dilation_rate` is not supported by Conv3DTranspose. Received: "
                             f"dilation_rate={dilation_rate}")
        super().__init__(3, filters, kernel_size, strides, padding, output_padding, data_format, dilation_rate,
                         activation, use_bias, kernel_initializer, bias_initializer, kernel_regularizer,
                         bias_regularizer, activity_regularizer, kernel_constraint, bias_constraint, **kwargs)

    def get_config(self):
        config = super().get_config()
        config.pop("dilation_rate")
        return config


# ----------------------------------------------------------------------------- depthwise and separable

class DepthwiseConv(Conv):
    """Each input channel convolved with its own ``depth_multiplier`` filters: a depthwise
    kernel (*kernel_size, channels, depth_multiplier), a bias of channels * depth_multiplier."""

    def __init__(self, rank, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, groups=1, **kwargs):
        if groups not in (None, 1):
            raise ValueError(f"`groups` is not supported by {type(self).__name__}. Received: groups={groups}")
        super().__init__(rank, None, kernel_size, strides, padding, data_format, dilation_rate, 1, activation,
                         use_bias, bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, bias_constraint=bias_constraint, **kwargs)
        self.depth_multiplier = _positive_int(depth_multiplier, "depth_multiplier")
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)

    def build(self, input_shape):
        channels = self._input_channels(input_shape, "DepthwiseConv")
        self.compute_output_shape(input_shape)
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self._add_bias(channels * self.depth_multiplier)
        self.input_spec = InputSpec(min_ndim=self.rank + 2, axes={self._channel_axis: channels})
        self.built = True

    def convolution_op(self, inputs):
        if self.rank == 2:
            return K.depthwise_conv2d(inputs, self.depthwise_kernel, self.strides, self.padding, self.data_format,
                                      self.dilation_rate)
        # One dimension as two, the first of length 1 (as tf-keras does).
        axis = 2 if self.data_format == "channels_first" else 1
        outputs = K.depthwise_conv2d(K.expand_dims(inputs, axis), K.expand_dims(self.depthwise_kernel, 0),
                                     (1,) + self.strides, self.padding, self.data_format, (1,) + self.dilation_rate)
        return K.squeeze(outputs, axis)

    def _output_channels(self, input_shape):
        channels = input_shape[self._channel_axis]
        return None if channels is None else channels * self.depth_multiplier

    def get_config(self):
        config = self._base_config()
        del config["filters"]
        config.update(bias_initializer=initializers.serialize(self.bias_initializer),
                      bias_regularizer=regularizers.serialize(self.bias_regularizer),
                      activity_regularizer=regularizers.serialize(self.activity_regularizer),
                      bias_constraint=constraints.serialize(self.bias_constraint),
                      depth_multiplier=self.depth_multiplier,
                      depthwise_initializer=initializers.serialize(self.depthwise_initializer),
                      depthwise_regularizer=regularizers.serialize(self.depthwise_regularizer),
                      depthwise_constraint=constraints.serialize(self.depthwise_constraint))
        return config


class DepthwiseConv1D(DepthwiseConv):
    """Depthwise 1D convolution of (batch, steps, channels) (or channels first)."""

    def __init__(self, kernel_size, strides=1, padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(1, kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate, activation,
                         use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
                         activity_regularizer, depthwise_constraint, bias_constraint, **kwargs)


class DepthwiseConv2D(DepthwiseConv):
    """Depthwise 2D convolution of images."""

    def __init__(self, kernel_size, strides=(1, 1), padding="valid", depth_multiplier=1, data_format=None,
                 dilation_rate=(1, 1), activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 bias_initializer="zeros", depthwise_regularizer=None, bias_regularizer=None,
                 activity_regularizer=None, depthwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(2, kernel_size, strides, padding, depth_multiplier, data_format, dilation_rate, activation,
                         use_bias, depthwise_initializer, bias_initializer, depthwise_regularizer, bias_regularizer,
                         activity_regularizer, depthwise_constraint, bias_constraint, **kwargs)


class SeparableConv(Conv):
    """A depthwise convolution (``depth_multiplier`` filters per channel), then a pointwise 1x1
    convolution to ``filters`` channels. tf-keras's config also carries the unused kernel_*
    arguments and groups of its base class; they are accepted and written back the same."""

    _separable = {1: K.separable_conv1d, 2: K.separable_conv2d}

    def __init__(self, rank, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, groups=1, **kwargs):
        if groups not in (None, 1):
            raise ValueError(f"`groups` is not supported by {type(self).__name__}. Received: groups={groups}")
        super().__init__(rank, filters, kernel_size, strides, padding, data_format, dilation_rate, 1, activation,
                         use_bias, bias_initializer=bias_initializer, bias_regularizer=bias_regularizer,
                         activity_regularizer=activity_regularizer, bias_constraint=bias_constraint, **kwargs)
        if self.filters is None:
            raise TypeError("Invalid value for argument `filters`. Expected a positive integer. Received: None")
        self.depth_multiplier = _positive_int(depth_multiplier, "depth_multiplier")
        self.depthwise_initializer = initializers.get(depthwise_initializer)
        self.pointwise_initializer = initializers.get(pointwise_initializer)
        self.depthwise_regularizer = regularizers.get(depthwise_regularizer)
        self.pointwise_regularizer = regularizers.get(pointwise_regularizer)
        self.depthwise_constraint = constraints.get(depthwise_constraint)
        self.pointwise_constraint = constraints.get(pointwise_constraint)

    def _allows_causal(self):
        return self.rank == 1

    def build(self, input_shape):
        channels = self._input_channels(input_shape)
        self.compute_output_shape(input_shape)
        self.depthwise_kernel = self.add_weight(
            "depthwise_kernel", self.kernel_size + (channels, self.depth_multiplier),
            initializer=self.depthwise_initializer, regularizer=self.depthwise_regularizer,
            constraint=self.depthwise_constraint)
        self.pointwise_kernel = self.add_weight(
            "pointwise_kernel", (1,) * self.rank + (channels * self.depth_multiplier, self.filters),
            initializer=self.pointwise_initializer, regularizer=self.pointwise_regularizer,
            constraint=self.pointwise_constraint)
        self._add_bias(self.filters)
        self.input_spec = InputSpec(ndim=self.rank + 2, axes={self._channel_axis: channels})
        self.built = True

    def convolution_op(self, inputs):
        return self._separable[self.rank](inputs, self.depthwise_kernel, self.pointwise_kernel, self.strides,
                                          self.padding, self.data_format, self.dilation_rate)

    def get_config(self):
        config = super().get_config()
        config.update(depth_multiplier=self.depth_multiplier,
                      depthwise_initializer=initializers.serialize(self.depthwise_initializer),
                      pointwise_initializer=initializers.serialize(self.pointwise_initializer),
                      depthwise_regularizer=regularizers.serialize(self.depthwise_regularizer),
                      pointwise_regularizer=regularizers.serialize(self.pointwise_regularizer),
                      depthwise_constraint=constraints.serialize(self.depthwise_constraint),
                      pointwise_constraint=constraints.serialize(self.pointwise_constraint))
        return config


class SeparableConv1D(SeparableConv):
    """Depthwise separable 1D convolution; ``padding='causal'`` pads only the past."""

    def __init__(self, filters, kernel_size, strides=1, padding="valid", data_format=None, dilation_rate=1,
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(1, filters, kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
                         activation, use_bias, depthwise_initializer, pointwise_initializer, bias_initializer,
                         depthwise_regularizer, pointwise_regularizer, bias_regularizer, activity_regularizer,
                         depthwise_constraint, pointwise_constraint, bias_constraint, **kwargs)


class SeparableConv2D(SeparableConv):
    """Depthwise separable 2D convolution."""

    def __init__(self, filters, kernel_size, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1),
                 depth_multiplier=1, activation=None, use_bias=True, depthwise_initializer="glorot_uniform",
                 pointwise_initializer="glorot_uniform", bias_initializer="zeros", depthwise_regularizer=None,
                 pointwise_regularizer=None, bias_regularizer=None, activity_regularizer=None,
                 depthwise_constraint=None, pointwise_constraint=None, bias_constraint=None, **kwargs):
        super().__init__(2, filters, kernel_size, strides, padding, data_format, dilation_rate, depth_multiplier,
                         activation, use_bias, depthwise_initializer, pointwise_initializer, bias_initializer,
                         depthwise_regularizer, pointwise_regularizer, bias_regularizer, activity_regularizer,
                         depthwise_constraint, pointwise_constraint, bias_constraint, **kwargs)


# Keras 2 and tf-keras names of the same layers.
Convolution1D, Convolution2D, Convolution3D = Conv1D, Conv2D, Conv3D
Convolution1DTranspose, Convolution2DTranspose, Convolution3DTranspose = Conv1DTranspose, Conv2DTranspose, \
    Conv3DTranspose
Deconvolution2D, Deconvolution3D = Conv2DTranspose, Conv3DTranspose
SeparableConvolution1D, SeparableConvolution2D = SeparableConv1D, SeparableConv2D

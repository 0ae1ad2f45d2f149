"""Pooling layers (tf-keras 2): max and average pooling over sliding windows in 1, 2 and 3
dimensions, and global max and average pooling; with the Keras aliases (MaxPool2D, ...)."""

from symkeras import backend as K
from symkeras.engine.base_layer import InputSpec, Layer
from symkeras.layers.conv_utils import conv_output_length, normalize_data_format, normalize_padding, normalize_tuple


class _Pooling(Layer):
    """Max or average pooling of rank ``_rank``; ``strides`` defaults to ``pool_size``."""

    _rank = None
    _mode = None            # 'max' or 'avg' (K.pool2d's pool_mode)

    def __init__(self, pool_size, strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(**kwargs)
        strides = pool_size if strides is None else strides
        self.pool_size = normalize_tuple(pool_size, self._rank, "pool_size")
        self.strides = normalize_tuple(strides, self._rank, "strides")
        self.padding = normalize_padding(padding)
        self.data_format = normalize_data_format(data_format)
        self.input_spec = InputSpec(ndim=self._rank + 2)

    def call(self, inputs):
        if self._rank == 3:
            return K.pool3d(inputs, self.pool_size, self.strides, self.padding, self.data_format, self._mode)
        if self._rank == 2:
            return K.pool2d(inputs, self.pool_size, self.strides, self.padding, self.data_format, self._mode)
        # A 1D pooling is a 2D one over a unit width (as tf-keras does it).
        axis = 2 if self.data_format == "channels_last" else 3
        outputs = K.pool2d(K.expand_dims(inputs, axis), self.pool_size + (1,), self.strides + (1,), self.padding,
                           self.data_format, self._mode)
        return K.squeeze(outputs, axis)

    def compute_output_shape(self, input_shape):
        first = 1 if self.data_format == "channels_last" else 2
        shape = list(input_shape)
        for i in range(self._rank):
            shape[first + i] = conv_output_length(shape[first + i], self.pool_size[i], self.padding, self.strides[i])
        return tuple(shape)

    def get_config(self):
        config = super().get_config()
        if self._rank == 1:     # tf-keras's 1D layers write their keys in this order
            config.update(strides=self.strides, pool_size=self.pool_size)
        else:
            config.update(pool_size=self.pool_size)
        config.update(padding=self.padding, strides=self.strides, data_format=self.data_format)
        return config


class MaxPooling1D(_Pooling):
    """The maximum over windows of ``pool_size`` steps of (batch, steps, features) inputs."""

    _rank, _mode = 1, "max"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format="channels_last", **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling1D(_Pooling):
    """The mean over windows of ``pool_size`` steps; with 'same' padding over the steps inside
    the input only."""

    _rank, _mode = 1, "avg"

    def __init__(self, pool_size=2, strides=None, padding="valid", data_format="channels_last", **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling2D(_Pooling):
    """The maximum over ``pool_size`` windows of images."""

    _rank, _mode = 2, "max"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling2D(_Pooling):
    """The mean over ``pool_size`` windows of images; with 'same' padding over the pixels inside
    the image only."""

    _rank, _mode = 2, "avg"

    def __init__(self, pool_size=(2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class MaxPooling3D(_Pooling):
    """The maximum over ``pool_size`` windows of volumes."""

    _rank, _mode = 3, "max"

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class AveragePooling3D(_Pooling):
    """The mean over ``pool_size`` windows of volumes; with 'same' padding over the voxels inside
    the volume only."""

    _rank, _mode = 3, "avg"

    def __init__(self, pool_size=(2, 2, 2), strides=None, padding="valid", data_format=None, **kwargs):
        super().__init__(pool_size, strides, padding, data_format, **kwargs)


class _GlobalPooling(Layer):
    """Max or mean over every spatial axis; ``keepdims`` keeps them with length 1."""

    _rank = None

    def __init__(self, data_format=None, keepdims=False, **kwargs):
        super().__init__(**kwargs)
        self.data_format = normalize_data_format(data_format)
        if not isinstance(keepdims, bool):
            raise TypeError(f"`keepdims` must be a bool, got {keepdims!r}")
        self.keepdims = keepdims
        self.input_spec = InputSpec(ndim=self._rank + 2)

    def _spatial_axes(self):
        first = 1 if self.data_format == "channels_last" else 2
        return list(range(first, first + self._rank))

    def build(self, input_shape):
        for axis in self._spatial_axes():
            if input_shape[axis] == 0:
                raise ValueError(f"Incorrect input shape {tuple(input_shape)} with dimension 0 at reduction "
                                 f"axis {axis}.")
        self.built = True

    def compute_output_shape(self, input_shape):
        axes = self._spatial_axes()
        if self.keepdims:
            return tuple(1 if i in axes else d for i, d in enumerate(input_shape))
        return tuple(d for i, d in enumerate(input_shape) if i not in axes)

    def get_config(self):
        config = super().get_config()
        config.update(data_format=self.data_format, keepdims=self.keepdims)
        return config


class _GlobalMax(_GlobalPooling):
    def call(self, inputs):
        return K.max(inputs, self._spatial_axes(), keepdims=self.keepdims)


class _GlobalAverage(_GlobalPooling):
    def call(self, inputs, mask=None):
        axes = self._spatial_axes()
        if mask is None:
            return K.mean(inputs, axes, keepdims=self.keepdims)
        if self._rank != 1:
            raise ValueError(f"{type(self).__name__} takes no `mask`")
        # A (batch, steps) mask: the mean over the unmasked steps only (tf-keras's 1D layer).
        mask = K.expand_dims(K.cast(mask, inputs.dtype), 2 if self.data_format == "channels_last" else 1)
        return K.sum(inputs * mask, axes, keepdims=self.keepdims) / K.sum(mask, axes, keepdims=self.keepdims)


class GlobalMaxPooling1D(_GlobalMax):
    """The maximum over the steps of (batch, steps, features) inputs."""

    _rank = 1

    def __init__(self, data_format="channels_last", keepdims=False, **kwargs):
        super().__init__(data_format, keepdims, **kwargs)


class GlobalAveragePooling1D(_GlobalAverage):
    """The mean over the steps; a (batch, steps) mask (the input's, or a ``mask`` call argument)
    leaves out masked steps, and the output has no mask (Keras 2)."""

    _rank = 1

    def __init__(self, data_format="channels_last", keepdims=False, **kwargs):
        super().__init__(data_format, keepdims, **kwargs)
        self.supports_masking = True

    def compute_mask(self, inputs, mask=None):
        return None


class GlobalMaxPooling2D(_GlobalMax):
    """The maximum over the rows and columns of images."""

    _rank = 2


class GlobalAveragePooling2D(_GlobalAverage):
    """The mean over the rows and columns of images."""

    _rank = 2


class GlobalMaxPooling3D(_GlobalMax):
    """The maximum over the three spatial axes of volumes."""

    _rank = 3


class GlobalAveragePooling3D(_GlobalAverage):
    """The mean over the three spatial axes of volumes."""

    _rank = 3


# Keras's other names for the same classes.
MaxPool1D, MaxPool2D, MaxPool3D = MaxPooling1D, MaxPooling2D, MaxPooling3D
AvgPool1D, AvgPool2D, AvgPool3D = AveragePooling1D, AveragePooling2D, AveragePooling3D
GlobalMaxPool1D, GlobalMaxPool2D, GlobalMaxPool3D = GlobalMaxPooling1D, GlobalMaxPooling2D, GlobalMaxPooling3D
GlobalAvgPool1D, GlobalAvgPool2D, GlobalAvgPool3D = (GlobalAveragePooling1D, GlobalAveragePooling2D,
                                                     GlobalAveragePooling3D)

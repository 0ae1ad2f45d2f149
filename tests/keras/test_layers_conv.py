"""Convolution layers against a convolution written here with direct loops (over output
positions, kernel positions and channels), numbers worked by hand in tf-keras's kernel layout,
configs in tf-keras's key order, parameter counts as Keras prints them, argument errors, and
the backend's conv functions."""

import itertools

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import layers
from symkeras.layers import (Conv1D, Conv1DTranspose, Conv2D, Conv2DTranspose, Conv3D, Conv3DTranspose,
                             DepthwiseConv1D, DepthwiseConv2D, Input, SeparableConv1D, SeparableConv2D)
from symkeras.models import Sequential


@pytest.fixture(autouse=True)
def _fresh_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


# ----------------------------------------------------------------------------- the reference

def _geometry(length, size, stride, dilation, padding):
    """(padding before, output length) of TensorFlow's convolution along one axis."""
    span = (size - 1) * dilation + 1
    if padding == "valid":
        return 0, (length - span) // stride + 1
    if padding == "causal":
        return span - 1, (length - 1) // stride + 1
    out = -(-length // stride)
    return max((out - 1) * stride + span - length, 0) // 2, out


def _positions(shape):
    return itertools.product(*(range(n) for n in shape))


def reference_conv(x, kernel, strides, dilation, padding, groups=1):
    """x (batch, *spatial, C), kernel (*size, C // groups, F), channels last."""
    rank, size = x.ndim - 2, kernel.shape[:-2]
    geometry = [_geometry(n, k, s, d, padding) for n, k, s, d in zip(x.shape[1:-1], size, strides, dilation)]
    before, out_spatial = [g[0] for g in geometry], tuple(g[1] for g in geometry)
    per_group, filters = kernel.shape[-2], kernel.shape[-1]
    out = np.zeros((x.shape[0],) + out_spatial + (filters,))
    for o in _positions(out_spatial):
        for k in _positions(size):
            at = tuple(o[j] * strides[j] + k[j] * dilation[j] - before[j] for j in range(rank))
            if not all(0 <= a < n for a, n in zip(at, x.shape[1:-1])):
                continue
            for f in range(filters):
                group = f // (filters // groups)
                for c in range(per_group):
                    channel = group * per_group + c
                    out[(slice(None),) + o + (f,)] += x[(slice(None),) + at + (channel,)] * kernel[k + (c, f)]
    return out


def reference_depthwise(x, depthwise_kernel, strides, dilation, padding):
    """Channel c times its own filters m: output channel c * multiplier + m."""
    channels, multiplier = depthwise_kernel.shape[-2:]
    rank, size = x.ndim - 2, depthwise_kernel.shape[:-2]
    geometry = [_geometry(n, k, s, d, padding) for n, k, s, d in zip(x.shape[1:-1], size, strides, dilation)]
    before, out_spatial = [g[0] for g in geometry], tuple(g[1] for g in geometry)
    out = np.zeros((x.shape[0],) + out_spatial + (channels * multiplier,))
    for o in _positions(out_spatial):
        for k in _positions(size):
            at = tuple(o[j] * strides[j] + k[j] * dilation[j] - before[j] for j in range(rank))
            if all(0 <= a < n for a, n in zip(at, x.shape[1:-1])):
                for c in range(channels):
                    for m in range(multiplier):
                        out[(slice(None),) + o + (c * multiplier + m,)] += \
                            x[(slice(None),) + at + (c,)] * depthwise_kernel[k + (c, m)]
    return out


def reference_pointwise(y, pointwise_kernel):
    out = np.zeros(y.shape[:-1] + (pointwise_kernel.shape[-1],))
    for f in range(pointwise_kernel.shape[-1]):
        for j in range(y.shape[-1]):
            out[..., f] += y[..., j] * pointwise_kernel.reshape(pointwise_kernel.shape[-2:])[j, f]
    return out


def _deconv_length(length, size, stride, dilation, padding, output_padding):
    """tf-keras's conv_utils.deconv_output_length."""
    span = (size - 1) * dilation + 1
    if output_padding is None:
        return length * stride + (max(span - stride, 0) if padding == "valid" else 0)
    return (length - 1) * stride + span - 2 * (span // 2 if padding == "same" else 0) + output_padding


def reference_conv_transpose(x, kernel, strides, dilation, padding, output_padding):
    """x (batch, *spatial, C), kernel (*size, F, C): input position i, kernel position k add
    x[i] . kernel[k] at output position i * stride + k * dilation - (the forward padding)."""
    rank, size = x.ndim - 2, kernel.shape[:-2]
    filters, channels = kernel.shape[-2:]
    output_padding = output_padding or (None,) * rank
    out_spatial = tuple(_deconv_length(*a, padding, p) for a, p in
                        zip(zip(x.shape[1:-1], size, strides, dilation), output_padding))
    before = [_geometry(n, k, s, d, padding)[0] for n, k, s, d in zip(out_spatial, size, strides, dilation)]
    out = np.zeros((x.shape[0],) + out_spatial + (filters,))
    for i in _positions(x.shape[1:-1]):
        for k in _positions(size):
            at = tuple(i[j] * strides[j] + k[j] * dilation[j] - before[j] for j in range(rank))
            if all(0 <= a < n for a, n in zip(at, out_spatial)):
                for f in range(filters):
                    for c in range(channels):
                        out[(slice(None),) + at + (f,)] += x[(slice(None),) + i + (c,)] * kernel[k + (f, c)]
    return out


def _last(x):
    return np.moveaxis(x, 1, -1)


def _first(x):
    return np.moveaxis(x, -1, 1)


def reference(layer, x):
    """The layer's output on ``x`` from its weights and arguments, by the loops above."""
    first = layer.data_format == "channels_first"
    x = _last(x) if first else x
    weights = layer.get_weights()
    dilation = getattr(layer, "dilation_rate", (1,) * layer.rank)
    if isinstance(layer, (Conv1DTranspose, Conv2DTranspose, Conv3DTranspose)):
        y = reference_conv_transpose(x, weights[0], layer.strides, dilation, layer.padding, layer.output_padding)
    elif isinstance(layer, (DepthwiseConv1D, DepthwiseConv2D)):
        y = reference_depthwise(x, weights[0], layer.strides, dilation, layer.padding)
    elif isinstance(layer, (SeparableConv1D, SeparableConv2D)):
        y = reference_pointwise(reference_depthwise(x, weights[0], layer.strides, dilation, layer.padding),
                                weights[1])
    else:
        y = reference_conv(x, weights[0], layer.strides, dilation, layer.padding, layer.groups)
    if layer.use_bias:
        y = y + weights[-1]
    return _first(y) if first else y


# ----------------------------------------------------------------------------- every layer and option

CASES = {
    "conv1d_valid": (lambda: Conv1D(3, 3), (7, 2)),
    "conv1d_same_strided": (lambda: Conv1D(2, 4, strides=2, padding="same"), (7, 3)),
    "conv1d_causal_dilated": (lambda: Conv1D(2, 3, padding="causal", dilation_rate=2), (6, 2)),
    "conv1d_causal_strided": (lambda: Conv1D(2, 2, padding="causal", strides=2), (5, 1)),
    "conv1d_groups": (lambda: Conv1D(4, 2, groups=2), (5, 4)),
    "conv1d_channels_first": (lambda: Conv1D(2, 3, padding="same", data_format="channels_first"), (3, 6)),
    "conv2d_valid": (lambda: Conv2D(3, (2, 3)), (5, 6, 2)),
    "conv2d_same_strided": (lambda: Conv2D(2, 3, strides=(2, 1), padding="same"), (5, 4, 3)),
    "conv2d_same_even_kernel": (lambda: Conv2D(1, 2, padding="same"), (3, 4, 1)),
    "conv2d_dilated_no_bias": (lambda: Conv2D(2, 2, dilation_rate=(2, 1), use_bias=False), (5, 4, 2)),
    "conv2d_groups_same": (lambda: Conv2D(6, 3, groups=3, padding="same", strides=2), (4, 5, 3)),
    "conv2d_channels_first": (lambda: Conv2D(2, 2, strides=2, padding="same", data_format="channels_first"),
                              (3, 5, 4)),
    "conv3d_same": (lambda: Conv3D(2, (2, 3, 2), strides=(1, 2, 1), padding="same"), (3, 4, 3, 2)),
    "conv3d_channels_first_groups": (lambda: Conv3D(2, 2, groups=2, data_format="channels_first"), (2, 3, 3, 3)),
    "depthwise1d_same_strided": (lambda: DepthwiseConv1D(3, strides=2, padding="same", depth_multiplier=2), (7, 2)),
    "depthwise1d_dilated_channels_first": (lambda: DepthwiseConv1D(2, dilation_rate=2, data_format="channels_first"),
                                           (3, 6)),
    "depthwise_valid": (lambda: DepthwiseConv2D(2, depth_multiplier=2), (4, 3, 3)),
    "depthwise_same_strided": (lambda: DepthwiseConv2D((3, 2), strides=2, padding="same"), (5, 4, 2)),
    "depthwise_dilated_channels_first": (lambda: DepthwiseConv2D(2, dilation_rate=2, depth_multiplier=3,
                                                                 use_bias=False, data_format="channels_first"),
                                         (2, 5, 4)),
    "separable1d_causal": (lambda: SeparableConv1D(3, 3, padding="causal", depth_multiplier=2), (6, 2)),
    "separable1d_strided_channels_first": (lambda: SeparableConv1D(2, 2, strides=2, padding="same",
                                                                   data_format="channels_first"), (3, 7)),
    "separable2d_same": (lambda: SeparableConv2D(3, 3, padding="same", depth_multiplier=2), (4, 5, 2)),
    "separable2d_dilated_no_bias": (lambda: SeparableConv2D(2, 2, dilation_rate=2, use_bias=False), (5, 5, 3)),
    "conv1d_transpose_valid": (lambda: Conv1DTranspose(2, 3, strides=2), (4, 3)),
    "conv1d_transpose_same_output_padding": (lambda: Conv1DTranspose(2, 3, strides=3, padding="same",
                                                                     output_padding=2), (3, 2)),
    "conv1d_transpose_dilated": (lambda: Conv1DTranspose(2, 2, dilation_rate=2, padding="same"), (5, 2)),
    "conv2d_transpose_same": (lambda: Conv2DTranspose(3, 3, strides=2, padding="same"), (3, 2, 2)),
    "conv2d_transpose_valid_output_padding": (lambda: Conv2DTranspose(2, (2, 3), strides=(2, 3),
                                                                      output_padding=(1, 2)), (2, 3, 3)),
    "conv2d_transpose_kernel_below_stride": (lambda: Conv2DTranspose(2, 1, strides=2), (3, 2, 2)),
    "conv2d_transpose_channels_first_no_bias": (lambda: Conv2DTranspose(2, 2, strides=2, padding="same",
                                                                        use_bias=False,
                                                                        data_format="channels_first"), (3, 2, 3)),
    "conv3d_transpose_same": (lambda: Conv3DTranspose(2, 2, strides=(1, 2, 1), padding="same"), (2, 2, 3, 2)),
}


@pytest.fixture(scope="module")
def all_cases():
    """Every case's layer (float64, random weights) and its output on one random input,
    from one compiled function."""
    K.clear_session()
    rng = np.random.RandomState(0)
    built, inputs, outputs, data = {}, [], [], []
    for name in sorted(CASES):
        make, shape = CASES[name]
        layer = make()
        layer.dtype = "float64"
        x = Input(shape, dtype="float64", name=f"x_{name}")
        y = layer(x)
        layer.set_weights([rng.uniform(-1, 1, w.shape) for w in layer.get_weights()])
        built[name] = layer
        inputs.append(x)
        outputs.append(y)
        data.append(rng.uniform(-1, 1, (2,) + shape))
    f = K.function(inputs, outputs, backend="numpy")
    results = f(data)
    return {name: (built[name], data[i], outputs[i], results[i]) for i, name in enumerate(sorted(CASES))}


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_matches_direct_loops(all_cases, name):
    layer, x, symbolic, value = all_cases[name]
    expected = reference(layer, x)
    assert symbolic.keras_shape == (None,) + expected.shape[1:]
    assert tuple(layer.compute_output_shape((None,) + x.shape[1:])) == (None,) + expected.shape[1:]
    np.testing.assert_allclose(value, expected, rtol=1e-10, atol=1e-12)


# ----------------------------------------------------------------------------- tf-keras's numbers

def test_numbers_worked_by_hand_in_keras_layout():
    x = np.array([1.0, 2.0, 3.0, 4.0]).reshape(1, 4, 1)
    edge = np.array([1.0, 0.0, -1.0]).reshape(3, 1, 1)           # kernel (width, in, out)
    inputs = Input((4, 1))
    valid, same = Conv1D(1, 3, use_bias=False), Conv1D(1, 3, padding="same", use_bias=False)
    causal = Conv1D(1, 3, padding="causal", bias_initializer="ones")
    f = K.function([inputs], [valid(inputs), same(inputs), causal(inputs)])
    for layer in (valid, same):
        layer.set_weights([edge])
    causal.set_weights([edge, np.array([1.0])])
    got_valid, got_same, got_causal = f([x.astype("float32")])
    np.testing.assert_array_equal(got_valid.ravel(), [-2, -2])
    np.testing.assert_array_equal(got_same.ravel(), [-2, -2, -2, 3])
    np.testing.assert_array_equal(got_causal.ravel(), [0, -1, -1, -1])  # 1 + (x[t-2] - x[t])

    # An even kernel under 'same' pads after (TensorFlow): [1, 2, 3] * [1, 10] -> 21, 32, 3.
    x2 = Input((3, 1))
    even = Conv1D(1, 2, padding="same", use_bias=False)
    y = K.function([x2], [even(x2)])
    even.set_weights([np.array([1.0, 10.0]).reshape(2, 1, 1)])
    np.testing.assert_array_equal(y([np.array([[[1.0], [2.0], [3.0]]], "float32")])[0].ravel(), [21, 32, 3])

    # A transposed convolution of one pixel: the kernel itself, cut as TensorFlow cuts 'same'.
    pixel = Input((1, 1, 1))
    full, cut = Conv2DTranspose(1, 3, strides=2, use_bias=False), Conv2DTranspose(1, 3, strides=2, padding="same",
                                                                                  use_bias=False)
    g = K.function([pixel], [full(pixel), cut(pixel)])
    kernel = np.arange(1.0, 10.0).reshape(3, 3, 1, 1)
    full.set_weights([kernel])
    cut.set_weights([kernel])
    got_full, got_cut = g([np.ones((1, 1, 1, 1), "float32")])
    np.testing.assert_array_equal(got_full[0, :, :, 0], np.arange(1.0, 10.0).reshape(3, 3))
    np.testing.assert_array_equal(got_cut[0, :, :, 0], [[1, 2], [4, 5]])


def test_kernel_layouts_and_weight_names():
    x2, x1 = Input((5, 5, 4)), Input((6, 4))
    cases = [
        (Conv2D(6, (3, 2), groups=2), x2, [("conv2d/kernel", (3, 2, 2, 6)), ("conv2d/bias", (6,))]),
        (Conv1D(3, 2, use_bias=False), x1, [("conv1d/kernel", (2, 4, 3))]),
        (Conv3D(2, 2), Input((3, 3, 3, 1)), [("conv3d/kernel", (2, 2, 2, 1, 2)), ("conv3d/bias", (2,))]),
        (DepthwiseConv2D(3, depth_multiplier=2), x2, [("depthwise_conv2d/depthwise_kernel", (3, 3, 4, 2)),
                                                      ("depthwise_conv2d/bias", (8,))]),
        (SeparableConv2D(7, 2, depth_multiplier=3), x2, [("separable_conv2d/depthwise_kernel", (2, 2, 4, 3)),
                                                         ("separable_conv2d/pointwise_kernel", (1, 1, 12, 7)),
                                                         ("separable_conv2d/bias", (7,))]),
        (DepthwiseConv1D(2, depth_multiplier=3), x1, [("depthwise_conv1d/depthwise_kernel", (2, 4, 3)),
                                                      ("depthwise_conv1d/bias", (12,))]),
        (SeparableConv1D(5, 3), x1, [("separable_conv1d/depthwise_kernel", (3, 4, 1)),
                                     ("separable_conv1d/pointwise_kernel", (1, 4, 5)),
                                     ("separable_conv1d/bias", (5,))]),
        (Conv2DTranspose(3, 2), x2, [("conv2d_transpose/kernel", (2, 2, 3, 4)), ("conv2d_transpose/bias", (3,))]),
        (Conv1DTranspose(3, 2), x1, [("conv1d_transpose/kernel", (2, 3, 4)), ("conv1d_transpose/bias", (3,))]),
    ]
    for layer, x, expected in cases:
        layer(x)
        assert [(w.op.storage.name, w.shape) for w in layer.weights] == expected
    bias = cases[0][0].get_weights()[1]
    np.testing.assert_array_equal(bias, np.zeros(6))


def test_count_params_and_summary_as_keras():
    model = Sequential([Conv2D(32, (3, 3), activation="relu", input_shape=(8, 8, 1)), Conv2D(64, (3, 3)),
                        DepthwiseConv2D(3, depth_multiplier=2, padding="same"), SeparableConv2D(16, 3, padding="same"),
                        Conv2DTranspose(8, 3, strides=2)])
    counts = [layer.count_params() for layer in model.layers]
    # 3*3*1*32+32; 3*3*32*64+64; 3*3*64*2+128; 3*3*128 + 128*16 + 16; 3*3*8*16+8
    assert counts == [320, 18496, 1280, 3216, 1160]
    assert model.output_shape == (None, 9, 9, 8)
    lines = []
    model.summary(print_fn=lines.append)
    assert lines[-4:-1] == ["Total params: 24,472", "Trainable params: 24,472", "Non-trainable params: 0"]
    assert "conv2d_transpose (Conv2DTran (None, 9, 9, 8)           1160      " in lines
    grouped = Conv1D(6, 3, groups=3)
    grouped(Input((5, 9)))
    assert grouped.count_params() == 3 * 3 * 6 + 6
    volume = Conv3DTranspose(4, 2)
    volume(Input((2, 2, 2, 3)))
    assert volume.count_params() == 2 * 2 * 2 * 4 * 3 + 4


# ----------------------------------------------------------------------------- configs

CONV_KEYS = ["name", "trainable", "dtype", "filters", "kernel_size", "strides", "padding", "data_format",
             "dilation_rate", "groups", "activation", "use_bias", "kernel_initializer", "bias_initializer",
             "kernel_regularizer", "bias_regularizer", "activity_regularizer", "kernel_constraint", "bias_constraint"]
DEPTHWISE_KEYS = ["name", "trainable", "dtype", "kernel_size", "strides", "padding", "data_format", "dilation_rate",
                  "groups", "activation", "use_bias", "bias_initializer", "bias_regularizer", "activity_regularizer",
                  "bias_constraint", "depth_multiplier", "depthwise_initializer", "depthwise_regularizer",
                  "depthwise_constraint"]
SEPARABLE_KEYS = CONV_KEYS + ["depth_multiplier", "depthwise_initializer", "pointwise_initializer",
                              "depthwise_regularizer", "pointwise_regularizer", "depthwise_constraint",
                              "pointwise_constraint"]


@pytest.mark.parametrize("make, keys", [
    (lambda: Conv1D(3, 2, padding="causal", dilation_rate=2, activation="relu", kernel_regularizer="l2"), CONV_KEYS),
    (lambda: Conv2D(4, (3, 1), strides=2, groups=2, data_format="channels_first", use_bias=False), CONV_KEYS),
    (lambda: Conv3D(2, 2, padding="same", bias_constraint="non_neg"), CONV_KEYS),
    (lambda: DepthwiseConv2D(3, depth_multiplier=2, depthwise_regularizer="l1"), DEPTHWISE_KEYS),
    (lambda: DepthwiseConv1D(3, padding="same", depthwise_constraint="max_norm"), DEPTHWISE_KEYS),
    (lambda: SeparableConv1D(3, 2, padding="causal", depth_multiplier=2), SEPARABLE_KEYS),
    (lambda: SeparableConv2D(3, 2, pointwise_initializer="ones", activity_regularizer="l2"), SEPARABLE_KEYS),
    (lambda: Conv1DTranspose(2, 3, strides=2, output_padding=1), CONV_KEYS + ["output_padding"]),
    (lambda: Conv2DTranspose(2, 3, padding="same", dilation_rate=2), CONV_KEYS + ["output_padding"]),
    (lambda: Conv3DTranspose(2, 3, strides=2, output_padding=(1, 0, 1)),
     [k for k in CONV_KEYS if k != "dilation_rate"] + ["output_padding"]),
])
def test_config_keys_and_round_trip(make, keys):
    layer = make()
    config = layer.get_config()
    assert list(config) == keys
    clone = layers.deserialize(layers.serialize(layer))
    assert type(clone) is type(layer) and clone.get_config() == dict(config, name=config["name"])
    again = type(layer).from_config(config)
    assert again.get_config() == config


def test_config_values_as_tf_keras():
    config = Conv2D(4, 3, strides=(2, 1), padding="SAME").get_config()
    assert config["kernel_size"] == (3, 3) and config["strides"] == (2, 1) and config["padding"] == "same"
    assert config["data_format"] == "channels_last" and config["dilation_rate"] == (1, 1) and config["groups"] == 1
    assert config["activation"] == "linear" and config["use_bias"] is True
    assert config["kernel_initializer"]["class_name"] == "GlorotUniform"
    assert config["bias_initializer"] == {"class_name": "Zeros", "config": {}}
    separable = SeparableConv2D(3, 2).get_config()
    assert separable["kernel_initializer"]["class_name"] == "GlorotUniform"       # its base class's, unused
    assert Conv2DTranspose(2, 2).get_config()["output_padding"] is None
    assert Conv1DTranspose(2, 2, strides=3, output_padding=2).get_config()["output_padding"] == (2,)
    assert DepthwiseConv2D(2).get_config()["depth_multiplier"] == 1


def test_keras_2_names_are_the_same_layers():
    assert layers.Convolution2D is Conv2D and layers.Convolution1D is Conv1D and layers.Convolution3D is Conv3D
    assert layers.Deconvolution2D is Conv2DTranspose and layers.Convolution2DTranspose is Conv2DTranspose
    assert layers.SeparableConvolution2D is SeparableConv2D and layers.SeparableConvolution1D is SeparableConv1D
    legacy = layers.deserialize({"class_name": "Convolution2D", "config": {"filters": 2, "kernel_size": 3}})
    assert type(legacy) is Conv2D


def test_class_hierarchy_as_tf_keras():
    assert isinstance(Conv2DTranspose(2, 2), Conv2D) and isinstance(Conv1DTranspose(2, 2), Conv1D)
    assert isinstance(Conv3DTranspose(2, 2), Conv3D)
    assert isinstance(DepthwiseConv2D(2), layers.convolutional.Conv)
    assert isinstance(SeparableConv2D(2, 2), layers.convolutional.Conv)
    assert Conv2D(4.0, 2).filters == 4 and Conv1D(2, 2, padding="CAUSAL").padding == "causal"


def test_data_format_none_reads_the_backend_setting():
    assert K.image_data_format() == "channels_last"
    assert Conv2D(2, 2).data_format == "channels_last"
    assert Conv1D(2, 2).data_format == "channels_last"                  # tf-keras's Conv1D default
    K.set_image_data_format("channels_first")
    try:
        assert Conv2D(2, 2).data_format == "channels_first"
        assert Conv1D(2, 2).data_format == "channels_last"
        assert SeparableConv1D(2, 2).data_format == "channels_first"
    finally:
        K.set_image_data_format("channels_last")


# ----------------------------------------------------------------------------- bad arguments

@pytest.mark.parametrize("make, error, argument", [
    (lambda: Conv2D(0, 3), ValueError, "filters"),
    (lambda: Conv2D(-2, 3), ValueError, "filters"),
    (lambda: Conv2D("8", 3), TypeError, "filters"),
    (lambda: Conv2D(2, (3, 3, 3)), ValueError, "kernel_size"),
    (lambda: Conv2D(2, 0), ValueError, "kernel_size"),
    (lambda: Conv1D(2, 3, strides=0), ValueError, "strides"),
    (lambda: Conv2D(2, 3, padding="full"), ValueError, "padding"),
    (lambda: Conv2D(2, 3, padding="causal"), ValueError, "padding"),
    (lambda: Conv2DTranspose(2, 3, padding="causal"), ValueError, "padding"),
    (lambda: Conv1DTranspose(2, 3, padding="causal"), ValueError, "padding"),
    (lambda: DepthwiseConv2D(3, padding="causal"), ValueError, "padding"),
    (lambda: Conv2D(2, 3, data_format="NHWC"), ValueError, "data_format"),
    (lambda: Conv2D(2, 3, dilation_rate=(1, 0)), ValueError, "dilation_rate"),
    (lambda: Conv2D(2, 3, strides=2, dilation_rate=2), ValueError, "dilation_rate"),
    (lambda: Conv2D(3, 3, groups=2), ValueError, "groups"),
    (lambda: Conv2D(4, 3, groups=-2), ValueError, "groups"),
    (lambda: Conv2D(4, 3, use_bias="yes"), TypeError, "use_bias"),
    (lambda: Conv2D(4, 3, activation="nope"), ValueError, "nope"),
    (lambda: DepthwiseConv2D(3, depth_multiplier=0), ValueError, "depth_multiplier"),
    (lambda: DepthwiseConv1D(3, padding="causal"), ValueError, "padding"),
    (lambda: DepthwiseConv1D(3, groups=2), ValueError, "groups"),
    (lambda: SeparableConv2D(3, 3, depth_multiplier=1.5), ValueError, "depth_multiplier"),
    (lambda: SeparableConv2D(3, 3, groups=2), ValueError, "groups"),
    (lambda: Conv2DTranspose(3, 3, strides=2, output_padding=2), ValueError, "output_padding"),
    (lambda: Conv2DTranspose(3, 3, output_padding=(1, -1)), ValueError, "output_padding"),
    (lambda: Conv3DTranspose(3, 3, dilation_rate=2), ValueError, "dilation_rate"),
    (lambda: Conv2D(2, 3, bogus=1), TypeError, "bogus"),
])
def test_bad_arguments_are_refused_at_construction(make, error, argument):
    with pytest.raises(error, match=argument):
        make()


def test_bad_inputs_are_refused_at_build():
    with pytest.raises(ValueError, match="groups"):
        Conv2D(4, 2, groups=2)(Input((4, 4, 3)))
    with pytest.raises(ValueError, match="<= 0"):
        Conv2D(2, 5)(Input((4, 4, 3)))
    with pytest.raises(ValueError, match="ndim|rank"):
        Conv2D(2, 2)(Input((4, 3)))
    with pytest.raises(ValueError, match="rank 4"):
        DepthwiseConv2D(2)(Input((4, 4, 4, 3)))
    layer = Conv2D(2, 2)
    layer(Input((4, 4, 3)))
    with pytest.raises(ValueError, match="axis -1"):
        layer(Input((4, 4, 5)))


# ----------------------------------------------------------------------------- the backend functions

def test_backend_conv_functions_match_the_loops():
    rng = np.random.RandomState(3)
    x = K.placeholder((None, 5, 4, 4), dtype="float64")
    kernel = rng.uniform(-1, 1, (2, 3, 2, 6))                       # 2 groups of 2 input channels
    kernel_first = rng.uniform(-1, 1, (2, 2, 5, 3))
    depthwise = rng.uniform(-1, 1, (3, 3, 4, 2))
    pointwise = rng.uniform(-1, 1, (1, 1, 8, 3))
    transpose_kernel = rng.uniform(-1, 1, (3, 3, 2, 4))
    bias, bias_first = rng.uniform(-1, 1, (4,)), rng.uniform(-1, 1, (5,))
    outputs = [
        K.conv2d(x, K.constant(kernel, "float64"), (2, 1), "same"),
        K.conv2d(x, K.constant(kernel_first, "float64"), padding="same", data_format="channels_first"),
        K.depthwise_conv2d(x, K.constant(depthwise, "float64"), padding="same"),
        K.separable_conv2d(x, K.constant(depthwise, "float64"), K.constant(pointwise, "float64")),
        K.conv2d_transpose(x, K.constant(transpose_kernel, "float64"), (None, 10, 8, 2), (2, 2), "same"),
        K.bias_add(x, K.constant(bias, "float64")),
        K.bias_add(x, K.constant(bias_first, "float64"), data_format="channels_first"),
    ]
    data = rng.uniform(-1, 1, (2, 5, 4, 4))
    got = K.function([x], outputs, backend="numpy")([data])
    np.testing.assert_allclose(got[0], reference_conv(data, kernel, (2, 1), (1, 1), "same", groups=2), rtol=1e-10)
    first = _first(reference_conv(_last(data), kernel_first, (1, 1), (1, 1), "same"))
    np.testing.assert_allclose(got[1], first, rtol=1e-10)
    np.testing.assert_allclose(got[2], reference_depthwise(data, depthwise, (1, 1), (1, 1), "same"), rtol=1e-10)
    np.testing.assert_allclose(got[3], reference_pointwise(reference_depthwise(data, depthwise, (1, 1), (1, 1),
                                                                               "valid"), pointwise), rtol=1e-10)
    np.testing.assert_allclose(got[4], reference_conv_transpose(data, transpose_kernel, (2, 2), (1, 1), "same", None),
                               rtol=1e-10)
    np.testing.assert_allclose(got[5], data + bias, rtol=1e-12)
    np.testing.assert_allclose(got[6], data + bias_first.reshape(1, 5, 1, 1), rtol=1e-12)


def test_backend_conv_functions_refuse_mismatched_shapes():
    x = K.placeholder((None, 5, 4))
    with pytest.raises(ValueError, match="rank 4"):
        K.conv2d(x, K.constant(np.ones((2, 2, 4, 1))))
    x = K.placeholder((None, 5, 5, 4))
    with pytest.raises(ValueError, match="does not fit"):
        K.conv2d(x, K.constant(np.ones((2, 2, 3, 1))))
    with pytest.raises(ValueError, match="padding"):
        K.conv2d(x, K.constant(np.ones((2, 2, 4, 1))), padding="causal")
    with pytest.raises(ValueError, match="output_shape"):
        K.conv2d_transpose(x, K.constant(np.ones((3, 3, 2, 4))), (None, 7, 7, 2), (2, 2), "same")
    with pytest.raises(ValueError, match="data_format"):
        K.conv2d(x, K.constant(np.ones((2, 2, 4, 1))), data_format="NCHW")
    steps_by_batch = K.expand_dims(K.permute_dimensions(K.placeholder((None, 3)), (1, 0)))    # (3, batch, 1)
    with pytest.raises(ValueError, match="spatial dimensions of the input must be known"):
        K.conv1d(steps_by_batch, K.constant(np.ones((2, 1, 1))))

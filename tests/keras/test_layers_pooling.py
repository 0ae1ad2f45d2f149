"""Pooling layers: outputs against direct loops written here (TensorFlow's 'same' padding, the
average over the elements inside the input), finite-difference gradients in float64, configs
and their round trips, argument errors, shapes in summary(), a model that trains, C == NumPy."""

import itertools
import json

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import layers, optimizers
from symkeras.layers import Dense, Input, Reshape
from symkeras.layers import pooling
from symkeras.models import Model, Sequential

from layer_checks import numeric_gradient


@pytest.fixture(autouse=True)
def _fresh_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


def _rand(*shape, seed=0):
    # Distinct values, so a window's maximum is never tied.
    return np.random.RandomState(seed).permutation(np.prod(shape)).reshape(shape) / np.prod(shape) - 0.5


# ----------------------------------------------------------------------------- references

def _same_pads(size, window, stride):
    out = -(-size // stride)
    total = max((out - 1) * stride + window - size, 0)
    return total // 2, out


def reference_pool(x, pool_size, strides, padding, mode, channels_first=False):
    """Pooling of channels-last ``x`` by loops over outputs and window positions: 'same' pads
    as TensorFlow (the odd element after); the average counts only elements inside the input."""
    if channels_first:
        x = np.moveaxis(x, 1, -1)
    spatial = x.shape[1:-1]
    if padding == "same":
        before, out = zip(*(_same_pads(s, k, st) for s, k, st in zip(spatial, pool_size, strides)))
    else:
        before = (0,) * len(spatial)
        out = tuple((s - k) // st + 1 for s, k, st in zip(spatial, pool_size, strides))
    y = np.zeros((x.shape[0],) + out + (x.shape[-1],))
    for b in range(x.shape[0]):
        for c in range(x.shape[-1]):
            for o in itertools.product(*map(range, out)):
                values = []
                for k in itertools.product(*map(range, pool_size)):
                    at = tuple(o[j] * strides[j] + k[j] - before[j] for j in range(len(o)))
                    if all(0 <= at[j] < spatial[j] for j in range(len(o))):
                        values.append(x[(b,) + at + (c,)])
                y[(b,) + o + (c,)] = max(values) if mode == "max" else sum(values) / len(values)
    return np.moveaxis(y, -1, 1) if channels_first else y


def reference_global(x, mode, channels_first, keepdims):
    axes = tuple(range(2, x.ndim)) if channels_first else tuple(range(1, x.ndim - 1))
    channel_axis = 1 if channels_first else x.ndim - 1
    y = np.zeros((x.shape[0], x.shape[channel_axis]))
    for b in range(x.shape[0]):
        for c in range(x.shape[channel_axis]):
            values = np.take(x[b], c, axis=channel_axis - 1).ravel().tolist()
            y[b, c] = max(values) if mode == "max" else sum(values) / len(values)
    return np.expand_dims(y, axes) if keepdims else y


# (layer class, kwargs, input shape without the batch axis, reference pool_size, strides)
POOL_CASES = {
    "max1d_default": (layers.MaxPooling1D, {}, (7, 3)),
    "avg1d_same_stride1": (layers.AveragePooling1D, dict(pool_size=3, strides=1, padding="same"), (7, 3)),
    "max1d_channels_first_same": (layers.MaxPooling1D, dict(pool_size=2, padding="same",
                                                            data_format="channels_first"), (3, 7)),
    "max2d_default": (layers.MaxPooling2D, {}, (5, 6, 2)),
    "max2d_same_strided": (layers.MaxPooling2D, dict(pool_size=(3, 2), strides=(2, 1), padding="same"), (5, 6, 2)),
    "avg2d_valid_overlap": (layers.AveragePooling2D, dict(pool_size=(2, 3), strides=1), (5, 6, 2)),
    "avg2d_same": (layers.AveragePooling2D, dict(pool_size=3, strides=2, padding="same"), (5, 6, 2)),
    "avg2d_channels_first_same": (layers.AveragePooling2D, dict(pool_size=2, padding="SAME",
                                                                data_format="channels_first"), (2, 5, 6)),
    "max3d_default": (layers.MaxPooling3D, {}, (4, 5, 3, 2)),
    "max3d_same_channels_first": (layers.MaxPooling3D, dict(pool_size=(2, 3, 2), strides=(1, 2, 2), padding="same",
                                                            data_format="channels_first"), (2, 4, 5, 3)),
    "avg3d_same": (layers.AveragePooling3D, dict(pool_size=2, strides=(2, 1, 2), padding="same"), (4, 5, 3, 2)),
}

GLOBAL_CASES = {
    f"{cls.__name__}_{fmt}_{keep}": (cls, fmt, keep)
    for cls, fmt, keep in [
        (layers.GlobalMaxPooling1D, "channels_last", False), (layers.GlobalAveragePooling1D, "channels_first", True),
        (layers.GlobalMaxPooling2D, "channels_first", False), (layers.GlobalAveragePooling2D, "channels_last", True),
        (layers.GlobalAveragePooling2D, "channels_last", False), (layers.GlobalMaxPooling3D, "channels_last", True),
        (layers.GlobalAveragePooling3D, "channels_first", False)]
}
GLOBAL_SHAPES = {1: (7, 3), 2: (5, 6, 2), 3: (4, 5, 3, 2)}


@pytest.fixture(scope="module")
def pooled():
    """Every case's layer and output, from one compiled function (NumPy backend)."""
    K.clear_session()
    inputs, outputs, cases = [], [], {}
    for name, (cls, kwargs, shape) in POOL_CASES.items():
        layer = cls(**kwargs)
        x = K.placeholder((None,) + shape, dtype="float64")
        inputs.append(x)
        outputs.append(layer(x))
        cases[name] = layer, _rand(2, *shape, seed=len(cases))
    for name, (cls, fmt, keep) in GLOBAL_CASES.items():
        layer = cls(data_format=fmt, keepdims=keep)
        x = K.placeholder((None,) + GLOBAL_SHAPES[layer._rank], dtype="float64")
        inputs.append(x)
        outputs.append(layer(x))
        cases[name] = layer, _rand(2, *GLOBAL_SHAPES[layer._rank], seed=len(cases))
    f = K.function(inputs, outputs, backend="numpy")
    results = f([data for _, data in cases.values()])
    return {name: (layer, data, out) for (name, (layer, data)), out in zip(cases.items(), results)}


@pytest.mark.parametrize("name", sorted(POOL_CASES))
def test_pooling_matches_direct_loops(pooled, name):
    layer, data, out = pooled[name]
    expected = reference_pool(data, layer.pool_size, layer.strides, layer.padding, layer._mode,
                              layer.data_format == "channels_first")
    assert out.shape == expected.shape
    assert layer.compute_output_shape((2,) + data.shape[1:]) == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(GLOBAL_CASES))
def test_global_pooling_matches_direct_loops(pooled, name):
    layer, data, out = pooled[name]
    mode = "max" if "Max" in type(layer).__name__ else "avg"
    expected = reference_global(data, mode, layer.data_format == "channels_first", layer.keepdims)
    assert out.shape == expected.shape
    assert layer.compute_output_shape((2,) + data.shape[1:]) == expected.shape
    np.testing.assert_allclose(out, expected, rtol=1e-12, atol=1e-12)


def test_same_average_at_the_edges_counts_only_the_input():
    # 1D, window 3, stride 1, 'same': the ends average two elements, not three (with a zero).
    x = K.placeholder((None, 4, 1))
    f = K.function([x], [layers.AveragePooling1D(3, 1, "same")(x)], backend="numpy")
    out = f([np.array([[[1.0], [2.0], [3.0], [10.0]]], "float32")])[0]
    np.testing.assert_allclose(out[0, :, 0], [1.5, 2.0, 5.0, 6.5], rtol=1e-6)


def test_global_average_pooling_1d_mask_leaves_out_masked_steps():
    x, m = K.placeholder((None, 4, 2)), K.placeholder((None, 4))
    layer = layers.GlobalAveragePooling1D()
    f = K.function([x, m], [layer(x, mask=m)], backend="numpy")
    data, mask = _rand(3, 4, 2, seed=5), np.array([[1, 1, 0, 0], [1, 0, 1, 1], [1, 1, 1, 1]], "float32")
    expected = np.stack([data[i][mask[i] > 0].mean(axis=0) for i in range(3)])
    np.testing.assert_allclose(f([data.astype("float32"), mask])[0], expected, rtol=1e-5)


# ----------------------------------------------------------------------------- gradients

@pytest.mark.parametrize("make, shape", [
    (lambda: layers.MaxPooling2D((3, 2), (2, 1), "same"), (2, 5, 4, 2)),
    (lambda: layers.AveragePooling2D(3, 2, "same"), (2, 5, 4, 2)),
    (lambda: layers.MaxPooling1D(3, 2, "same", data_format="channels_first"), (2, 2, 5)),
    (lambda: layers.AveragePooling3D(2, 1, "same"), (1, 3, 2, 3, 2)),
    (lambda: layers.GlobalMaxPooling2D(), (2, 3, 4, 2)),
    (lambda: layers.GlobalAveragePooling3D(data_format="channels_first", keepdims=True), (2, 2, 2, 3, 2)),
], ids=["max2d_same", "avg2d_same", "max1d_same_channels_first", "avg3d_same", "global_max2d", "global_avg3d"])
def test_pooling_gradients_match_finite_differences(make, shape):
    x = K.placeholder(shape, dtype="float64")
    y = make()(x)
    r = K.constant(np.random.RandomState(3).uniform(-1, 1, K.int_shape(y)), dtype="float64")
    loss = K.sum(y * r)
    f = K.function([x], [loss] + K.gradients(loss, [x]), backend="numpy")
    data = _rand(*shape, seed=11)
    numeric = numeric_gradient(lambda v: f([v])[0], data)
    np.testing.assert_allclose(f([data])[1], numeric, rtol=1e-6, atol=1e-9)


# ----------------------------------------------------------------------------- configs and errors

ALL_CLASSES = [layers.MaxPooling1D, layers.MaxPooling2D, layers.MaxPooling3D, layers.AveragePooling1D,
               layers.AveragePooling2D, layers.AveragePooling3D, layers.GlobalMaxPooling1D, layers.GlobalMaxPooling2D,
               layers.GlobalMaxPooling3D, layers.GlobalAveragePooling1D, layers.GlobalAveragePooling2D,
               layers.GlobalAveragePooling3D]


def test_defaults_and_config_keys_follow_tf_keras():
    base = ["name", "trainable", "dtype"]
    assert list(layers.MaxPooling1D().get_config()) == base + ["strides", "pool_size", "padding", "data_format"]
    config = layers.AveragePooling2D().get_config()
    assert list(config) == base + ["pool_size", "padding", "strides", "data_format"]
    assert (config["pool_size"], config["strides"], config["padding"], config["data_format"]) == \
        ((2, 2), (2, 2), "valid", "channels_last")
    assert layers.MaxPooling3D(strides=1).get_config()["pool_size"] == (2, 2, 2)
    assert layers.MaxPooling3D(strides=1).strides == (1, 1, 1)
    assert layers.MaxPooling1D(padding="Same").padding == "same"
    for cls in (layers.GlobalMaxPooling1D, layers.GlobalAveragePooling2D):
        assert list(cls().get_config()) == base + ["data_format", "keepdims"]
        assert cls().get_config()["keepdims"] is False


@pytest.mark.parametrize("cls", ALL_CLASSES, ids=lambda c: c.__name__)
def test_config_round_trip(cls):
    global_pool = cls.__name__.startswith("Global")
    layer = cls(data_format="channels_first", keepdims=True) if global_pool else \
        cls(pool_size=3, strides=1, padding="same", data_format="channels_first")
    config = layer.get_config()
    again = cls.from_config(json.loads(json.dumps(config)))      # as a model file stores it
    assert again.get_config() == config
    restored = layers.deserialize(layers.serialize(layer))
    assert type(restored) is cls and restored.get_config() == config


def test_aliases_and_module_path():
    for rank in (1, 2, 3):
        for alias, name in (("MaxPool", "MaxPooling"), ("AvgPool", "AveragePooling"),
                            ("GlobalMaxPool", "GlobalMaxPooling"), ("GlobalAvgPool", "GlobalAveragePooling")):
            assert getattr(layers, f"{alias}{rank}D") is getattr(layers, f"{name}{rank}D")
            assert getattr(pooling, f"{alias}{rank}D") is getattr(layers, f"{name}{rank}D")


def test_data_format_none_reads_the_image_data_format():
    assert K.image_data_format() == "channels_last"
    K.set_image_data_format("channels_first")
    try:
        assert layers.MaxPooling2D().data_format == "channels_first"
        assert layers.GlobalAveragePooling3D().data_format == "channels_first"
        assert layers.MaxPooling1D().data_format == "channels_last"     # tf-keras's 1D default is explicit
        assert layers.MaxPooling1D(data_format=None).data_format == "channels_first"
    finally:
        K.set_image_data_format("channels_last")
    with pytest.raises(ValueError, match="data_format"):
        K.set_image_data_format("NHWC")


@pytest.mark.parametrize("make, match", [
    (lambda: layers.MaxPooling2D(pool_size=0), "pool_size"),
    (lambda: layers.MaxPooling2D(pool_size=(2, 2, 2)), "pool_size"),
    (lambda: layers.AveragePooling1D(pool_size=2.5), "pool_size"),
    (lambda: layers.MaxPooling3D(strides=(1, 0, 1)), "strides"),
    (lambda: layers.AveragePooling2D(strides="2"), "strides"),
    (lambda: layers.MaxPooling1D(padding="causal"), "padding"),
    (lambda: layers.MaxPooling2D(padding="full"), "padding"),
    (lambda: layers.AveragePooling3D(data_format="NDHWC"), "data_format"),
    (lambda: layers.GlobalMaxPooling2D(data_format="channels_middle"), "data_format"),
], ids=["size0", "size_len", "size_float", "strides0", "strides_str", "causal", "full", "fmt", "global_fmt"])
def test_bad_arguments_raise_at_construction(make, match):
    with pytest.raises(ValueError, match=match):
        make()


def test_bad_keepdims_and_wrong_rank():
    with pytest.raises(TypeError, match="keepdims"):
        layers.GlobalAveragePooling2D(keepdims="yes")
    with pytest.raises(ValueError, match="ndim=4"):
        layers.MaxPooling2D()(Input((5, 3)))
    with pytest.raises(ValueError, match="does not fit"):
        layers.MaxPooling2D(pool_size=4)(Input((3, 5, 1)))


def test_backend_pooling_checks_its_arguments():
    x = K.placeholder((None, 4, 4, 1))
    for kwargs, match in [(dict(padding="full"), "padding"), (dict(pool_mode="sum"), "pooling mode"),
                          (dict(pool_size=(2,)), "pool_size"), (dict(strides=(1, 1, 1)), "strides"),
                          (dict(data_format="NCHW"), "data_format")]:
        with pytest.raises(ValueError, match=match):
            K.pool2d(x, **{"pool_size": (2, 2), **kwargs})


def test_summary_shapes_and_no_parameters():
    model = Sequential([Input((6, 5, 2)), layers.MaxPooling2D(padding="same"), layers.AveragePooling2D((2, 1)),
                        layers.GlobalMaxPooling2D(keepdims=True)])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    for shape in ("(None, 3, 3, 2)", "(None, 1, 3, 2)", "(None, 1, 1, 2)"):
        assert shape in text
    assert model.count_params() == 0 and "Total params: 0" in text
    assert [layer.output_shape for layer in model.layers] == [(None, 3, 3, 2), (None, 1, 3, 2), (None, 1, 1, 2)]


# ----------------------------------------------------------------------------- models

def test_a_model_with_pooling_after_dense_and_reshape_trains():
    rng = np.random.RandomState(0)
    data = rng.uniform(-1, 1, (32, 8)).astype("float32")
    target = np.stack([data[:, :4].sum(1), data[:, 4:].max(1)], axis=1).astype("float32")
    x = Input((8,))
    h = Reshape((4, 6, 2))(Dense(48, activation="tanh")(x))
    h = layers.MaxPooling2D(padding="same")(h)
    h = layers.AveragePooling2D((2, 1), strides=1)(h)
    h = layers.GlobalAveragePooling2D()(h)
    y = Dense(2)(layers.concatenate([h, layers.GlobalMaxPooling1D()(layers.MaxPooling1D(2)(Reshape((8, 1))(x)))]))
    model = Model(x, y)
    model.compile(optimizers.Adam(0.02), "mse", backend="numpy")
    history = model.fit(data, target, batch_size=8, epochs=15, verbose=0)
    losses = history.history["loss"]
    assert losses[-1] < 0.5 * losses[0]


def test_c_and_numpy_agree_on_a_model_of_every_pooling_and_reshaping_layer(backend):
    if backend == "numpy":
        pytest.skip("compares the C backend with NumPy")
    x = Input((4, 6, 2))
    h = Dense(2)(x)
    branches = [
        layers.GlobalMaxPooling2D()(layers.MaxPooling2D((3, 2), (2, 1), "same")(h)),
        layers.GlobalAveragePooling2D()(layers.AveragePooling2D(3, 2, "same", "channels_first")(h)),
        layers.GlobalAveragePooling2D()(layers.UpSampling2D((2, 3), interpolation="bilinear")(h)),
        layers.GlobalMaxPooling2D()(layers.Cropping2D(((1, 0), (2, 1)))(layers.UpSampling2D()(h))),
        layers.GlobalAveragePooling2D()(layers.ZeroPadding2D(((1, 0), (2, 1)))(h)),
        layers.Flatten()(layers.GlobalMaxPooling3D(keepdims=True)(layers.MaxPooling3D(2, 1, "same")(
            layers.ZeroPadding3D(1)(layers.UpSampling3D((1, 2, 1))(Reshape((4, 6, 2, 1))(h)))))),
        layers.GlobalAveragePooling1D()(layers.AveragePooling1D(3, 1, "same")(layers.Cropping1D((1, 2))(
            layers.ZeroPadding1D(2)(layers.UpSampling1D(2)(layers.MaxPooling1D(2)(Reshape((24, 2))(h))))))),
        layers.Flatten()(layers.Cropping3D(((0, 1), (1, 0), (0, 0)))(Reshape((4, 6, 2, 1))(h))),
    ]
    model = Model(x, Dense(2)(layers.concatenate(branches)))
    rng = np.random.RandomState(4)
    data, target = rng.uniform(-1, 1, (3, 4, 6, 2)).astype("float32"), rng.uniform(-1, 1, (3, 2)).astype("float32")
    start = model.get_weights()
    results = {}
    for name in ("numpy", "c"):
        model.set_weights(start)
        model.compile(optimizers.SGD(0.1), "mse", backend=name)
        losses = [model.train_on_batch(data, target) for _ in range(2)]
        results[name] = losses, model.get_weights(), model.predict(data, verbose=0)
    (np_losses, np_weights, np_pred), (c_losses, c_weights, c_pred) = results["numpy"], results["c"]
    np.testing.assert_allclose(c_losses, np_losses, rtol=1e-5)
    for a, b in zip(c_weights, np_weights):
        np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(c_pred, np_pred, rtol=1e-5, atol=1e-6)

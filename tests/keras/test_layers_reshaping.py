"""UpSampling, ZeroPadding and Cropping layers: outputs against direct loops written here
(bilinear with tf.image.resize's half-pixel centres), finite-difference gradients in float64,
configs and their round trips, argument errors, shapes in summary(). The C == NumPy check of
these layers is the mixed model in test_layers_pooling.py."""

import itertools
import json

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import layers
from symkeras.layers import Input, reshaping
from symkeras.models import Sequential

from layer_checks import numeric_gradient


@pytest.fixture(autouse=True)
def _fresh_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


def _rand(*shape, seed=0):
    return np.random.RandomState(seed).uniform(-1, 1, shape)


# ----------------------------------------------------------------------------- references
# Each works on channels-last arrays; channels-first inputs are moved there and back.

def _channels_last(fn):
    def wrapped(x, *args, channels_first=False):
        if channels_first:
            return np.moveaxis(fn(np.moveaxis(x, 1, -1), *args), -1, 1)
        return fn(x, *args)
    return wrapped


@_channels_last
def ref_nearest(x, factors):
    spatial = x.shape[1:-1]
    out = np.zeros((x.shape[0],) + tuple(s * f for s, f in zip(spatial, factors)) + (x.shape[-1],))
    for o in itertools.product(*(range(s * f) for s, f in zip(spatial, factors))):
        out[(slice(None),) + o] = x[(slice(None),) + tuple(i // f for i, f in zip(o, factors))]
    return out


def _source(o, size, factor):
    """tf.image.resize 'bilinear' (half_pixel_centers): the two inputs and the weight of the upper."""
    src = (o + 0.5) / factor - 0.5
    low = int(np.floor(src))
    return max(low, 0), min(low + 1, size - 1), src - low


@_channels_last
def ref_bilinear(x, factors):
    (h, w), (fh, fw) = x.shape[1:3], factors
    out = np.zeros((x.shape[0], h * fh, w * fw, x.shape[-1]))
    for i in range(h * fh):
        top, bottom, y_lerp = _source(i, h, fh)
        for j in range(w * fw):
            left, right, x_lerp = _source(j, w, fw)
            upper = x[:, top, left] + (x[:, top, right] - x[:, top, left]) * x_lerp
            lower = x[:, bottom, left] + (x[:, bottom, right] - x[:, bottom, left]) * x_lerp
            out[:, i, j] = upper + (lower - upper) * y_lerp
    return out


@_channels_last
def ref_pad(x, pads):
    spatial = x.shape[1:-1]
    out = np.zeros((x.shape[0],) + tuple(s + b + a for s, (b, a) in zip(spatial, pads)) + (x.shape[-1],))
    for i in itertools.product(*map(range, spatial)):
        out[(slice(None),) + tuple(k + b for k, (b, _) in zip(i, pads))] = x[(slice(None),) + i]
    return out


@_channels_last
def ref_crop(x, crops):
    spatial = x.shape[1:-1]
    out_spatial = tuple(s - b - a for s, (b, a) in zip(spatial, crops))
    out = np.zeros((x.shape[0],) + out_spatial + (x.shape[-1],))
    for i in itertools.product(*map(range, out_spatial)):
        out[(slice(None),) + i] = x[(slice(None),) + tuple(k + b for k, (b, _) in zip(i, crops))]
    return out


CF = "channels_first"
# name: (layer factory, input shape without batch, reference, its argument, channels first?)
CASES = {
    "up1d": (lambda: layers.UpSampling1D(3), (4, 2), ref_nearest, (3,), False),
    "up2d_nearest": (lambda: layers.UpSampling2D((2, 3)), (3, 4, 2), ref_nearest, (2, 3), False),
    "up2d_nearest_cf": (lambda: layers.UpSampling2D(2, CF), (2, 3, 4), ref_nearest, (2, 2), True),
    "up2d_bilinear": (lambda: layers.UpSampling2D((2, 4), interpolation="bilinear"), (3, 4, 2), ref_bilinear,
                      (2, 4), False),
    "up2d_bilinear_cf": (lambda: layers.UpSampling2D((3, 2), CF, "Bilinear"), (2, 3, 4), ref_bilinear, (3, 2), True),
    "up3d": (lambda: layers.UpSampling3D((1, 2, 3)), (2, 3, 2, 2), ref_nearest, (1, 2, 3), False),
    "up3d_cf": (lambda: layers.UpSampling3D(2, CF), (2, 2, 3, 2), ref_nearest, (2, 2, 2), True),
    "pad1d_default": (lambda: layers.ZeroPadding1D(), (4, 2), ref_pad, ((1, 1),), False),
    "pad1d_pair": (lambda: layers.ZeroPadding1D((0, 3)), (4, 2), ref_pad, ((0, 3),), False),
    "pad2d_int": (lambda: layers.ZeroPadding2D(2), (3, 4, 2), ref_pad, ((2, 2), (2, 2)), False),
    "pad2d_symmetric": (lambda: layers.ZeroPadding2D((1, 0)), (3, 4, 2), ref_pad, ((1, 1), (0, 0)), False),
    "pad2d_pairs_cf": (lambda: layers.ZeroPadding2D(((1, 0), (0, 2)), CF), (2, 3, 4), ref_pad, ((1, 0), (0, 2)), True),
    "pad3d_default": (lambda: layers.ZeroPadding3D(), (2, 3, 2, 2), ref_pad, ((1, 1),) * 3, False),
    "pad3d_pairs_cf": (lambda: layers.ZeroPadding3D(((0, 1), (2, 0), 1), CF), (2, 2, 3, 2), ref_pad,
                       ((0, 1), (2, 0), (1, 1)), True),
    "crop1d_default": (lambda: layers.Cropping1D(), (6, 2), ref_crop, ((1, 1),), False),
    "crop1d_int": (lambda: layers.Cropping1D(2), (6, 2), ref_crop, ((2, 2),), False),
    "crop1d_pair": (lambda: layers.Cropping1D((0, 3)), (6, 2), ref_crop, ((0, 3),), False),
    "crop2d_int": (lambda: layers.Cropping2D(1), (4, 5, 2), ref_crop, ((1, 1), (1, 1)), False),
    "crop2d_symmetric": (lambda: layers.Cropping2D((1, 0)), (4, 5, 2), ref_crop, ((1, 1), (0, 0)), False),
    "crop2d_pairs_cf": (lambda: layers.Cropping2D(((2, 0), (1, 3)), CF), (2, 4, 5), ref_crop, ((2, 0), (1, 3)), True),
    "crop3d_default": (lambda: layers.Cropping3D(), (3, 4, 3, 2), ref_crop, ((1, 1),) * 3, False),
    "crop3d_pairs_cf": (lambda: layers.Cropping3D(((0, 1), (2, 0), 0), CF), (2, 3, 4, 3), ref_crop,
                        ((0, 1), (2, 0), (0, 0)), True),
}


@pytest.fixture(scope="module")
def outputs():
    """Every case's layer, input and output, from one compiled function (NumPy backend)."""
    K.clear_session()
    inputs, outs, cases = [], [], {}
    for i, (name, (make, shape, *_)) in enumerate(CASES.items()):
        layer = make()
        x = K.placeholder((None,) + shape, dtype="float64")
        inputs.append(x)
        outs.append(layer(x))
        cases[name] = layer, _rand(2, *shape, seed=i)
    results = K.function(inputs, outs, backend="numpy")([data for _, data in cases.values()])
    return {name: (layer, data, out) for (name, (layer, data)), out in zip(cases.items(), results)}


@pytest.mark.parametrize("name", sorted(CASES))
def test_layer_matches_direct_loops(outputs, name):
    layer, data, out = outputs[name]
    _, _, reference, argument, channels_first = CASES[name]
    expected = reference(data, argument, channels_first=channels_first)
    assert out.shape == expected.shape
    assert layer.compute_output_shape((2,) + data.shape[1:]) == expected.shape
    # The bilinear weights are float32, as TensorFlow's.
    np.testing.assert_allclose(out, expected, rtol=1e-6 if "bilinear" in name else 1e-12, atol=1e-7)


def test_bilinear_upsampling_matches_tf_image_resize_values():
    # tf.image.resize([[1, 2], [3, 4]], (4, 4)): half-pixel centres, edges clamped.
    x = K.placeholder((None, 2, 2, 1))
    f = K.function([x], [layers.UpSampling2D(interpolation="bilinear")(x)], backend="numpy")
    out = f([np.array([[1, 2], [3, 4]], "float32").reshape(1, 2, 2, 1)])[0][0, :, :, 0]
    np.testing.assert_allclose(out, [[1.0, 1.25, 1.75, 2.0], [1.5, 1.75, 2.25, 2.5], [2.5, 2.75, 3.25, 3.5],
                                     [3.0, 3.25, 3.75, 4.0]], rtol=1e-6)


def test_backend_functions_directly():
    x = K.placeholder((None, 2, 3))
    f = K.function([x], [K.repeat_elements(x, 2, axis=-1), K.temporal_padding(x, (2, 1)),
                         K.spatial_2d_padding(K.expand_dims(x), ((0, 1), (1, 0)))], backend="numpy")
    data = _rand(2, 2, 3, seed=9).astype("float32")
    repeated, temporal, spatial = f([data])
    np.testing.assert_array_equal(repeated, np.repeat(data, 2, axis=-1))
    np.testing.assert_array_equal(temporal, np.pad(data, ((0, 0), (2, 1), (0, 0))))
    np.testing.assert_array_equal(spatial, np.pad(data[..., None], ((0, 0), (0, 1), (1, 0), (0, 0))))


# ----------------------------------------------------------------------------- gradients

@pytest.mark.parametrize("shape, makes", [
    ((2, 3, 4, 2), [lambda: layers.UpSampling2D((2, 3)), lambda: layers.UpSampling2D((3, 2), interpolation="bilinear"),
                    lambda: layers.UpSampling2D(2, CF, "bilinear"), lambda: layers.ZeroPadding2D(((1, 0), (2, 1))),
                    lambda: layers.Cropping2D(((1, 0), (0, 1)), CF)]),
    ((2, 5, 2), [lambda: layers.UpSampling1D(2), lambda: layers.ZeroPadding1D((2, 0)), lambda: layers.Cropping1D()]),
    ((1, 3, 2, 3, 2), [lambda: layers.UpSampling3D((2, 1, 2)), lambda: layers.ZeroPadding3D(1, CF),
                       lambda: layers.Cropping3D(((1, 0), 0, (1, 1)))]),
], ids=["2d", "1d", "3d"])
def test_gradients_match_finite_differences(shape, makes):
    x = K.placeholder(shape, dtype="float64")
    rng = np.random.RandomState(2)
    loss = None
    for make in makes:
        y = make()(x)
        term = K.sum(y * K.constant(rng.uniform(-1, 1, K.int_shape(y)), dtype="float64"))
        loss = term if loss is None else loss + term
    f = K.function([x], [loss] + K.gradients(loss, [x]), backend="numpy")
    data = _rand(*shape, seed=13)
    np.testing.assert_allclose(f([data])[1], numeric_gradient(lambda v: f([v])[0], data), rtol=1e-6, atol=1e-9)


# ----------------------------------------------------------------------------- configs and errors

def test_defaults_and_config_keys_follow_tf_keras():
    base = ["name", "trainable", "dtype"]
    expected = {
        layers.UpSampling1D: {"size": 2},
        layers.UpSampling2D: {"size": (2, 2), "data_format": "channels_last", "interpolation": "nearest"},
        layers.UpSampling3D: {"size": (2, 2, 2), "data_format": "channels_last"},
        layers.ZeroPadding1D: {"padding": (1, 1)},
        layers.ZeroPadding2D: {"padding": ((1, 1), (1, 1)), "data_format": "channels_last"},
        layers.ZeroPadding3D: {"padding": ((1, 1), (1, 1), (1, 1)), "data_format": "channels_last"},
        layers.Cropping1D: {"cropping": (1, 1)},
        layers.Cropping2D: {"cropping": ((0, 0), (0, 0)), "data_format": "channels_last"},
        layers.Cropping3D: {"cropping": ((1, 1), (1, 1), (1, 1)), "data_format": "channels_last"},
    }
    for cls, own in expected.items():
        config = cls().get_config()
        assert list(config) == base + list(own), cls.__name__
        assert {k: config[k] for k in own} == own, cls.__name__


@pytest.mark.parametrize("make", [
    lambda: layers.UpSampling1D(3), lambda: layers.UpSampling2D((2, 3), CF, "bilinear"),
    lambda: layers.UpSampling3D(2, CF), lambda: layers.ZeroPadding1D((0, 2)),
    lambda: layers.ZeroPadding2D(((1, 0), (2, 3)), CF), lambda: layers.ZeroPadding3D((1, 2, 0)),
    lambda: layers.Cropping1D(2), lambda: layers.Cropping2D((1, 2), CF), lambda: layers.Cropping3D(((0, 1), 2, 0)),
], ids=lambda make: type(make()).__name__)
def test_config_round_trip(make):
    layer = make()
    config = layer.get_config()
    again = type(layer).from_config(json.loads(json.dumps(config)))      # as a model file stores it
    assert again.get_config() == config
    restored = layers.deserialize(layers.serialize(layer))
    assert type(restored) is type(layer) and restored.get_config() == config


def test_module_path_and_data_format_from_the_backend():
    assert reshaping.UpSampling2D is layers.UpSampling2D and reshaping.Cropping3D is layers.Cropping3D
    K.set_image_data_format(CF)
    try:
        assert layers.ZeroPadding2D().data_format == CF and layers.UpSampling3D().data_format == CF
    finally:
        K.set_image_data_format("channels_last")


@pytest.mark.parametrize("make, error, match", [
    (lambda: layers.UpSampling1D(0), ValueError, "size"),
    (lambda: layers.UpSampling2D((2,)), ValueError, "size"),
    (lambda: layers.UpSampling3D((2, 2, -1)), ValueError, "size"),
    (lambda: layers.UpSampling2D(interpolation="cubic"), ValueError, "interpolation"),
    (lambda: layers.UpSampling2D(interpolation="bicubic"), ValueError, "interpolation"),
    (lambda: layers.UpSampling2D(data_format="NHWC"), ValueError, "data_format"),
    (lambda: layers.ZeroPadding1D(-1), ValueError, "padding"),
    (lambda: layers.ZeroPadding2D((1, 2, 3)), ValueError, "padding"),
    (lambda: layers.ZeroPadding2D(((1, 2, 3), (1, 1))), ValueError, "1st entry of padding"),
    (lambda: layers.ZeroPadding3D("same"), ValueError, "padding"),
    (lambda: layers.Cropping1D((1, 2, 3)), ValueError, "cropping"),
    (lambda: layers.Cropping2D(((0, 0), (0, -1))), ValueError, "2nd entry of cropping"),
    (lambda: layers.Cropping3D(1.5), ValueError, "cropping"),
], ids=["up1d_size0", "up2d_size_len", "up3d_negative", "unknown_method", "unsupported_method", "data_format",
        "pad_negative", "pad_three", "pad_entry", "pad_string", "crop_three", "crop_entry", "crop_float"])
def test_bad_arguments_raise_at_construction(make, error, match):
    with pytest.raises(error, match=match):
        make()


def test_cropping_everything_and_wrong_rank_raise_at_call():
    with pytest.raises(ValueError, match="cropping"):
        layers.Cropping1D((2, 2))(Input((4, 1)))
    with pytest.raises(ValueError, match="cropping"):
        layers.Cropping2D(((0, 0), (3, 0)), CF)(Input((3, 4, 3)))
    with pytest.raises(ValueError, match="ndim=5"):
        layers.ZeroPadding3D()(Input((3, 4, 3)))


def test_summary_shapes_and_no_parameters():
    model = Sequential([Input((3, 4, 2)), layers.UpSampling2D((2, 1), interpolation="bilinear"),
                        layers.ZeroPadding2D(((1, 0), (0, 2))), layers.Cropping2D(((2, 1), 1))])
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    shapes = [(None, 6, 4, 2), (None, 7, 6, 2), (None, 4, 4, 2)]
    assert all(str(s) in text for s in shapes) and "Total params: 0" in text
    assert [layer.output_shape for layer in model.layers] == shapes
    assert model.count_params() == 0


def test_a_model_of_these_layers_reloads_from_json_and_from_a_file(tmp_path):
    from symkeras.models import Model, load_model, model_from_json
    x = Input((4, 3, 2))
    h = layers.Cropping2D(((1, 0), (0, 1)))(layers.ZeroPadding2D(((0, 1), 1), CF)(x))
    h = layers.MaxPooling2D(2, 1, "same")(layers.UpSampling2D((1, 2), interpolation="bilinear")(h))
    y = layers.GlobalAveragePooling2D(keepdims=True)(layers.AveragePooling2D((2, 1), padding="same")(h))
    model = Model(x, y)
    data = _rand(2, 4, 3, 2, seed=21).astype("float32")
    expected = model.predict(data, verbose=0)
    again = model_from_json(model.to_json())
    assert [layer.get_config() for layer in again.layers] == [layer.get_config() for layer in model.layers]
    np.testing.assert_allclose(again.predict(data, verbose=0), expected, rtol=1e-6)
    model.save(str(tmp_path / "model.h5"))
    np.testing.assert_allclose(load_model(str(tmp_path / "model.h5")).predict(data, verbose=0), expected, rtol=1e-6)

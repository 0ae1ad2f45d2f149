"""symkeras.preprocessing.image against Keras 2's semantics (keras-preprocessing 1.1.x), with
expected values worked out by hand on tiny images: the affine transforms for every fill_mode
(shifts, a 90-degree rotation, zooms, a shear), channel shifts and flips; the generator's random
parameters, standardize and fit against NumPy formulas; flow's batching, shuffling, sample
weights and validation subsets; files and directories through Pillow (skipped without it).

Keras's transform acts about ``(n / 2 + 0.5)`` and reads the input at ``A @ out + b``; a pure
shift by ``tx`` therefore makes ``out[r] = in[r + tx]``, and 'wrap' repeats with period n - 1
(scipy.ndimage's rule), so those values appear below."""

import os
import sys

import numpy as np
import pytest

from symkeras.preprocessing import image
from symkeras.preprocessing.image import (DirectoryIterator, ImageDataGenerator, Iterator,
                                          NumpyArrayIterator, apply_affine_transform,
                                          apply_channel_shift, flip_axis, random_rotation,
                                          random_shift, random_zoom)
from symkeras.utils.data_utils import Sequence

try:
    import PIL  # noqa: F401
    HAVE_PIL = True
except ImportError:
    HAVE_PIL = False
needs_pil = pytest.mark.skipif(not HAVE_PIL, reason="Pillow is not installed (pip install symkeras[image])")

GRID = np.arange(16, dtype="float32").reshape(4, 4, 1)        # value 4 * row + col, channels last
ROW = np.array([0, 1, 4, 9], dtype="float32").reshape(1, 4, 1)  # one row of four pixels


def _plane(x):
    return x[..., 0].tolist()


# --- apply_affine_transform ----------------------------------------------------------------------

@pytest.mark.parametrize("mode, down, up", [
    # tx=1 reads row r+1 (row 4 lies outside), tx=-1 reads row r-1 (row -1 lies outside)
    ("constant", [-1] * 4, [-1] * 4),
    ("nearest", [12, 13, 14, 15], [0, 1, 2, 3]),
    ("reflect", [12, 13, 14, 15], [0, 1, 2, 3]),
    ("wrap", [4, 5, 6, 7], [8, 9, 10, 11]),      # period 3: row 4 is row 1, row -1 is row 2
])
def test_one_row_shift_for_every_fill_mode(mode, down, up):
    out = apply_affine_transform(GRID, tx=1, fill_mode=mode, cval=-1)
    assert out.shape == (4, 4, 1) and out.dtype == np.float32
    assert _plane(out) == [[4, 5, 6, 7], [8, 9, 10, 11], [12, 13, 14, 15], down]
    out = apply_affine_transform(GRID, tx=-1, fill_mode=mode, cval=-1)
    assert _plane(out) == [up, [0, 1, 2, 3], [4, 5, 6, 7], [8, 9, 10, 11]]


@pytest.mark.parametrize("mode, left", [
    # ty=-1 reads column c-1: column -1 is cval, column 0, column 0, column 2 (period 3)
    ("constant", [-1, -1, -1, -1]), ("nearest", [0, 4, 8, 12]), ("reflect", [0, 4, 8, 12]),
    ("wrap", [2, 6, 10, 14])])
def test_one_column_shift(mode, left):
    out = apply_affine_transform(GRID, ty=-1, fill_mode=mode, cval=-1)
    assert _plane(out) == [[left[r], 4 * r, 4 * r + 1, 4 * r + 2] for r in range(4)]


@pytest.mark.parametrize("mode, values", [
    # out[c] = in[c + 0.5]: the mean of two neighbours; in[3.5] lies past the last pixel
    ("constant", [0.5, 2.5, 6.5, -1]),
    ("nearest", [0.5, 2.5, 6.5, 9]),
    ("reflect", [0.5, 2.5, 6.5, 9]),      # d c b a | a b c d | d c b a
    ("wrap", [0.5, 2.5, 6.5, 0.5]),       # 3.5 wraps to 0.5
])
def test_half_pixel_shift_interpolates(mode, values):
    out = apply_affine_transform(ROW, ty=0.5, fill_mode=mode, cval=-1)
    assert out[0, :, 0].tolist() == values


@pytest.mark.parametrize("mode, values", [
    # out[c] = in[c - 1.5]: in[-1.5] and in[-0.5] lie before the first pixel
    ("constant", [-1, -1, 0.5, 2.5]),
    ("nearest", [0, 0, 0.5, 2.5]),
    ("reflect", [0.5, 0, 0.5, 2.5]),      # between b and a, then between a and a
    ("wrap", [2.5, 6.5, 0.5, 2.5]),       # -1.5 and -0.5 wrap to 1.5 and 2.5
])
def test_shift_by_one_and_a_half_before_the_edge(mode, values):
    out = apply_affine_transform(ROW, ty=-1.5, fill_mode=mode, cval=-1)
    assert out[0, :, 0].tolist() == values


def test_rotation_by_90_degrees():
    # About Keras's centre (2.5, 2.5): out[r, c] reads in[5 - c, r], row 4 and 5 clamp to 3
    out = apply_affine_transform(GRID, theta=90)
    np.testing.assert_allclose(_plane(out), [[12, 12, 12, 8], [13, 13, 13, 9], [14, 14, 14, 10],
                                             [15, 15, 15, 11]], atol=1e-5)


def test_zoom_by_two_and_by_half():
    # zoom 2 reads 2 * out - 2.5 = (-2.5, -0.5, 1.5, 3.5), clamped to (0, 0, 1.5, 3)
    out = apply_affine_transform(GRID, zx=2, zy=2)
    assert _plane(out) == [[0, 0, 1.5, 3], [0, 0, 1.5, 3], [6, 6, 7.5, 9], [12, 12, 13.5, 15]]
    # zoom 0.5 reads 0.5 * out + 1.25 = (1.25, 1.75, 2.25, 2.75): 4 * row + col of those
    out = apply_affine_transform(GRID, zx=0.5, zy=0.5)
    assert _plane(out)[0] == [6.25, 6.75, 7.25, 7.75]
    assert _plane(out)[3] == [12.25, 12.75, 13.25, 13.75]


def test_shear_by_30_degrees():
    # Rows read r - sin(30) * (c - 2.5) = r - c / 2 + 1.25 (clamped to [0, 3]); the image holds
    # its row number so the column read does not matter.
    x = np.repeat(np.arange(4, dtype="float32"), 4).reshape(4, 4, 1)
    out = apply_affine_transform(x, shear=30)
    np.testing.assert_allclose(_plane(out), [[1.25, 0.75, 0.25, 0], [2.25, 1.75, 1.25, 0.75],
                                             [3, 2.75, 2.25, 1.75], [3, 3, 3, 2.75]], atol=1e-6)


def test_identity_returns_the_input_and_channels_first_agrees():
    assert apply_affine_transform(GRID) is GRID
    x = np.stack([GRID[..., 0], 100 + GRID[..., 0]], axis=-1)
    last = apply_affine_transform(x, theta=30, tx=0.5, zx=1.2, fill_mode="reflect")
    first = apply_affine_transform(x.transpose(2, 0, 1), theta=30, tx=0.5, zx=1.2,
                                   fill_mode="reflect", row_axis=1, col_axis=2, channel_axis=0)
    np.testing.assert_array_equal(first, last.transpose(2, 0, 1))


def test_integer_images_round_half_up_and_nearest_order():
    out = apply_affine_transform(ROW.astype("uint8"), ty=0.5)
    assert out.dtype == np.uint8 and out[0, :, 0].tolist() == [1, 3, 7, 9]
    # order 0 takes the nearest pixel: in[c + 0.4] is in[c]
    out = apply_affine_transform(ROW, ty=0.4, order=0)
    assert out[0, :, 0].tolist() == [0, 1, 4, 9]


def test_affine_argument_errors():
    with pytest.raises(ValueError, match="fill_mode"):
        apply_affine_transform(GRID, tx=1, fill_mode="mirror")
    with pytest.raises(ValueError, match="order"):
        apply_affine_transform(GRID, tx=1, order=3)
    with pytest.raises(ValueError, match="`x`"):
        apply_affine_transform(GRID[..., 0], tx=1)


def test_same_values_as_scipy_ndimage_when_installed():
    """Keras's own path, scipy.ndimage.affine_transform per channel, as a second oracle."""
    ndimage = pytest.importorskip("scipy.ndimage")
    rng = np.random.RandomState(0)
    for trial in range(40):
        h, w = rng.randint(1, 7, size=2)
        x = rng.rand(h, w, 2).astype("float32")
        params = dict(theta=rng.uniform(-180, 180), tx=rng.uniform(-3, 3), ty=rng.uniform(-3, 3),
                      shear=rng.uniform(-40, 40), zx=rng.uniform(0.5, 2), zy=rng.uniform(0.5, 2))
        # Keras's matrix: rotation @ shift @ shear @ zoom, about (h / 2 + 0.5, w / 2 + 0.5)
        theta, shear = np.deg2rad(params["theta"]), np.deg2rad(params["shear"])
        matrix = np.array([[np.cos(theta), -np.sin(theta), 0], [np.sin(theta), np.cos(theta), 0],
                           [0, 0, 1]])
        matrix = np.dot(matrix, np.array([[1, 0, params["tx"]], [0, 1, params["ty"]], [0, 0, 1]]))
        matrix = np.dot(matrix, np.array([[1, -np.sin(shear), 0], [0, np.cos(shear), 0], [0, 0, 1]]))
        matrix = np.dot(matrix, np.diag([params["zx"], params["zy"], 1]))
        matrix = image.transform_matrix_offset_center(matrix, h, w)
        for mode in ("constant", "nearest", "reflect", "wrap"):
            for order in (0, 1):
                expected = np.stack([ndimage.affine_transform(x[..., k], matrix[:2, :2], matrix[:2, 2],
                                                              order=order, mode=mode, cval=0.25)
                                     for k in range(2)], axis=-1)
                got = apply_affine_transform(x, fill_mode=mode, cval=0.25, order=order, **params)
                np.testing.assert_array_equal(got, expected)


# --- the other transforms --------------------------------------------------------------------------

def test_flip_axis_and_channel_shift():
    x = np.arange(6).reshape(1, 2, 3)
    assert flip_axis(x, 2).tolist() == [[[2, 1, 0], [5, 4, 3]]]
    assert flip_axis(x, 1).tolist() == [[[3, 4, 5], [0, 1, 2]]]
    # channel 0 holds (0, 10), channel 1 (5, 20): +8, clipped to the image's range [0, 20]
    x = np.array([[[0.0, 10.0]], [[5.0, 20.0]]])
    assert apply_channel_shift(x, 8, channel_axis=0).tolist() == [[[8, 18]], [[13, 20]]]
    assert apply_channel_shift(x, -8, channel_axis=0).tolist() == [[[0, 2]], [[0, 12]]]


def test_random_transforms_draw_like_keras():
    x = np.random.RandomState(0).rand(1, 5, 6)       # channels first, the default of random_*
    np.random.seed(3)
    theta = np.random.uniform(-40, 40)
    np.random.seed(3)
    np.testing.assert_array_equal(random_rotation(x, 40),
                                  apply_affine_transform(x, theta=theta, row_axis=1, col_axis=2,
                                                         channel_axis=0))
    np.random.seed(4)
    tx, ty = np.random.uniform(-0.2, 0.2) * 5, np.random.uniform(-0.1, 0.1) * 6
    np.random.seed(4)
    np.testing.assert_array_equal(random_shift(x, 0.1, 0.2),
                                  apply_affine_transform(x, tx=tx, ty=ty, row_axis=1, col_axis=2,
                                                         channel_axis=0))
    state = np.random.get_state()[1].copy()
    assert random_zoom(x, (1, 1)) is x                   # no zoom, no draw
    np.testing.assert_array_equal(np.random.get_state()[1], state)
    with pytest.raises(ValueError, match="zoom_range"):
        random_zoom(x, (0.5,))


# --- ImageDataGenerator: random parameters and apply_transform --------------------------------------

def test_get_random_transform_draws_in_keras_order():
    gen = ImageDataGenerator(rotation_range=20, width_shift_range=0.25, height_shift_range=0.1,
                             shear_range=5, zoom_range=0.2, channel_shift_range=3,
                             horizontal_flip=True, vertical_flip=True, brightness_range=(0.5, 1.5))
    params = gen.get_random_transform((10, 8, 3), seed=7)
    np.random.seed(7)
    theta = np.random.uniform(-20, 20)
    tx = np.random.uniform(-0.1, 0.1) * 10                 # height shift, in rows
    ty = np.random.uniform(-0.25, 0.25) * 8                # width shift, in columns
    shear = np.random.uniform(-5, 5)
    zx, zy = np.random.uniform(0.8, 1.2, 2)
    flip_h, flip_v = np.random.random() < 0.5, np.random.random() < 0.5
    channel, brightness = np.random.uniform(-3, 3), np.random.uniform(0.5, 1.5)
    assert params == {"theta": theta, "tx": tx, "ty": ty, "shear": shear, "zx": zx, "zy": zy,
                      "flip_horizontal": flip_h, "flip_vertical": flip_v,
                      "channel_shift_intensity": channel, "brightness": brightness}
    plain = ImageDataGenerator().get_random_transform((4, 4, 1), seed=0)
    assert plain == {"theta": 0, "tx": 0, "ty": 0, "shear": 0, "zx": 1, "zy": 1,
                     "flip_horizontal": 0, "flip_vertical": 0, "channel_shift_intensity": None,
                     "brightness": None}


def test_integer_and_list_shift_ranges_draw_whole_pixels():
    # an int n draws one of 0 .. n-1, then a sign
    np.random.seed(5)
    expected = np.random.choice(3) * np.random.choice([-1, 1])
    assert ImageDataGenerator(height_shift_range=3).get_random_transform((9, 9, 1), seed=5)["tx"] == expected
    draws = {ImageDataGenerator(height_shift_range=3).get_random_transform((9, 9, 1))["tx"]
             for _ in range(60)}
    assert draws == {-2, -1, 0, 1, 2}
    gen = ImageDataGenerator(width_shift_range=[2, 4])
    draws = {gen.get_random_transform((9, 9, 1))["ty"] for _ in range(60)}
    assert draws == {-4, -2, 2, 4}
    # a float of 1 or more is pixels, drawn uniformly
    draws = [ImageDataGenerator(width_shift_range=2.0).get_random_transform((9, 9, 1))["ty"]
             for _ in range(50)]
    assert all(-2 <= d < 2 for d in draws) and len(set(draws)) == 50


def test_apply_transform_shifts_and_flips_in_both_data_formats():
    gen = ImageDataGenerator(fill_mode="constant", cval=-1)
    out = gen.apply_transform(GRID.copy(), {"tx": 1, "flip_horizontal": True})
    assert _plane(out) == [[7, 6, 5, 4], [11, 10, 9, 8], [15, 14, 13, 12], [-1, -1, -1, -1]]
    out = gen.apply_transform(GRID.copy(), {"ty": 1, "flip_vertical": True})
    assert _plane(out) == [[13, 14, 15, -1], [9, 10, 11, -1], [5, 6, 7, -1], [1, 2, 3, -1]]
    first = ImageDataGenerator(fill_mode="constant", cval=-1, data_format="channels_first")
    out = first.apply_transform(GRID.transpose(2, 0, 1).copy(), {"tx": 1, "flip_horizontal": True})
    assert out[0].tolist() == [[7, 6, 5, 4], [11, 10, 9, 8], [15, 14, 13, 12], [-1, -1, -1, -1]]
    out = gen.apply_transform(np.array([[[0.0, 4.0]]]), {"channel_shift_intensity": 3})
    assert out.tolist() == [[[3, 4]]]


def test_random_transform_with_seed_is_reproducible():
    gen = ImageDataGenerator(rotation_range=30, zoom_range=0.3, horizontal_flip=True)
    x = np.random.RandomState(1).rand(6, 6, 3).astype("float32")
    np.testing.assert_array_equal(gen.random_transform(x, seed=11), gen.random_transform(x, seed=11))
    params = gen.get_random_transform(x.shape, seed=11)
    np.testing.assert_array_equal(gen.random_transform(x, seed=11), gen.apply_transform(x, params))


# --- standardize and fit -----------------------------------------------------------------------------

def test_standardize_order_preprocessing_rescale_samplewise():
    gen = ImageDataGenerator(preprocessing_function=lambda x: x + 1, rescale=0.5,
                             samplewise_center=True, samplewise_std_normalization=True)
    x = np.array([1.0, 2.0, 3.0, 7.0], dtype="float32").reshape(2, 2, 1)
    out = gen.standardize(x)
    # +1 then *0.5: (1, 1.5, 2, 4), mean 2.125, deviations (-1.125, -0.625, -0.125, 1.875)
    std = np.sqrt((1.125 ** 2 + 0.625 ** 2 + 0.125 ** 2 + 1.875 ** 2) / 4)
    np.testing.assert_allclose(out.ravel(), np.array([-1.125, -0.625, -0.125, 1.875]) / (std + 1e-6),
                               rtol=1e-6)


def test_featurewise_flags_imply_each_other_and_warn_before_fit():
    with pytest.warns(UserWarning, match="featurewise_center"):
        gen = ImageDataGenerator(featurewise_std_normalization=True)
    assert gen.featurewise_center
    with pytest.warns(UserWarning):
        gen = ImageDataGenerator(zca_whitening=True, featurewise_std_normalization=True)
    assert gen.featurewise_center and not gen.featurewise_std_normalization
    with pytest.warns(UserWarning, match="hasn't been fit"):
        ImageDataGenerator(featurewise_center=True).standardize(np.ones((2, 2, 1), "float32"))


@pytest.mark.parametrize("data_format", ["channels_last", "channels_first"])
def test_fit_mean_and_std_per_channel(data_format):
    rng = np.random.RandomState(2)
    x = (rng.rand(5, 3, 4, 3) * [1, 10, 100]).astype("float32")   # channels of different widths
    gen = ImageDataGenerator(featurewise_center=True, featurewise_std_normalization=True,
                             rescale=2.0, data_format=data_format)
    data = x if data_format == "channels_last" else x.transpose(0, 3, 1, 2)
    gen.fit(data)
    mean = (2 * x).mean(axis=(0, 1, 2))
    std = (2 * x - mean).std(axis=(0, 1, 2))
    shape = (1, 1, 3) if data_format == "channels_last" else (3, 1, 1)
    assert gen.mean.shape == shape and gen.std.shape == shape
    np.testing.assert_allclose(gen.mean.ravel(), mean, rtol=1e-5)
    np.testing.assert_allclose(gen.std.ravel(), std, rtol=1e-5)
    out = gen.standardize(data[0].copy())            # rescale, centre, scale
    expected = (2 * data[0] - gen.mean) / (gen.std + 1e-6)
    np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
    with pytest.raises(ValueError, match="rank 4"):
        gen.fit(data[0])


def test_fit_zca_whitening_decorrelates():
    rng = np.random.RandomState(0)
    mixing = np.array([[1.0, 0.5, 0.0, 0.2], [0.0, 1.0, 0.3, 0.0], [0.0, 0.0, 1.0, 0.4], [0, 0, 0, 1]])
    x = (rng.randn(400, 4) @ mixing).reshape(400, 2, 2, 1).astype("float64")
    with pytest.warns(UserWarning):
        gen = ImageDataGenerator(zca_whitening=True, zca_epsilon=1e-9, dtype="float64")
    gen.fit(x)
    flat = (x - x.mean(axis=(0, 1, 2))).reshape(400, 4)
    sigma = flat.T @ flat / 400
    # W = U diag(1/sqrt(s + eps)) U^T is symmetric and whitens: W sigma W = I
    w = gen.principal_components
    np.testing.assert_allclose(w, w.T, atol=1e-10)
    np.testing.assert_allclose(w @ sigma @ w, np.eye(4), atol=1e-6)
    assert gen.zca_whitening_matrix is w
    white = np.stack([gen.standardize(img.copy()) for img in x]).reshape(400, 4)
    np.testing.assert_allclose(white.T @ white / 400, np.eye(4), atol=1e-6)


def test_fit_with_augmentation_is_seeded():
    x = np.random.RandomState(3).rand(4, 5, 5, 1).astype("float32")
    gen = ImageDataGenerator(featurewise_center=True, rotation_range=40, horizontal_flip=True)
    gen.fit(x, augment=True, rounds=2, seed=9)
    # the same draws by hand: seed, then two rounds over the images in order
    np.random.seed(9)
    copies = [gen.random_transform(x[i]) for _ in range(2) for i in range(4)]
    np.testing.assert_allclose(gen.mean.ravel(), np.mean(copies), rtol=1e-5)
    mean = gen.mean.copy()
    gen.fit(x, augment=True, rounds=2, seed=9)
    np.testing.assert_array_equal(gen.mean, mean)


# --- flow ------------------------------------------------------------------------------------------

def _data(n=10):
    x = np.arange(n, dtype="float32").reshape(n, 1, 1, 1) * np.ones((1, 2, 2, 1), "float32")
    return x, np.arange(n) % 2


def test_flow_batches_in_order_without_shuffle():
    x, y = _data()
    it = ImageDataGenerator().flow(x, y, batch_size=4, shuffle=False)
    assert isinstance(it, NumpyArrayIterator) and isinstance(it, Iterator)
    assert isinstance(it, Sequence) and len(it) == 3
    batches = [it[i] for i in range(3)]
    assert [b[0][:, 0, 0, 0].tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert batches[2][1].tolist() == [0, 1]
    assert batches[0][0].dtype == np.float32 and batches[0][0].shape == (4, 2, 2, 1)
    # as a Python iterator it goes on for ever, passes after passes
    seen = [next(it)[0][:, 0, 0, 0].tolist() for _ in range(4)]
    assert seen == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [0, 1, 2, 3]]
    with pytest.raises(ValueError, match="length 3"):
        it[3]


def test_flow_shuffle_with_seed_is_reproducible():
    x, y = _data()
    a = ImageDataGenerator().flow(x, y, batch_size=4, seed=42)
    b = ImageDataGenerator().flow(x, y, batch_size=4, seed=42)
    first = a[0][0][:, 0, 0, 0]
    np.testing.assert_array_equal(first, b[0][0][:, 0, 0, 0])
    # Keras seeds NumPy with seed + batches seen, then permutes the indices
    assert first.tolist() == np.random.RandomState(42).permutation(10)[:4].tolist()
    order = np.concatenate([a[i][0][:, 0, 0, 0] for i in range(3)])
    assert sorted(order.tolist()) == list(range(10))          # every sample once per pass


def test_flow_sample_weight_misc_inputs_and_no_labels():
    x, y = _data(6)
    w = np.linspace(0.5, 3, 6)
    bx, by, bw = ImageDataGenerator().flow(x, y, batch_size=3, shuffle=False, sample_weight=w)[1]
    assert bx[:, 0, 0, 0].tolist() == [3, 4, 5] and by.tolist() == [1, 0, 1]
    assert bw.tolist() == w[3:].tolist()
    extra = np.arange(12).reshape(6, 2)
    (images, misc), labels = ImageDataGenerator().flow((x, extra), y, batch_size=2, shuffle=False)[2]
    assert images[:, 0, 0, 0].tolist() == [4, 5] and misc.tolist() == [[8, 9], [10, 11]]
    only_x = ImageDataGenerator().flow(x, batch_size=6, shuffle=False)[0]
    assert isinstance(only_x, np.ndarray) and only_x.shape == (6, 2, 2, 1)


def test_flow_applies_transform_then_standardize():
    x, y = _data(2)
    gen = ImageDataGenerator(rescale=0.5, horizontal_flip=True, dtype="float64")
    bx, _ = gen.flow(x, y, batch_size=2, shuffle=False)[0]
    assert bx.dtype == np.float64 and bx[:, 0, 0, 0].tolist() == [0, 0.5]
    assert x[1, 0, 0, 0] == 1                     # the source array is left alone


def test_flow_validation_split_subsets():
    x, y = _data(10)
    gen = ImageDataGenerator(validation_split=0.3)
    val = gen.flow(x, y, batch_size=10, shuffle=False, subset="validation")
    train = gen.flow(x, y, batch_size=10, shuffle=False, subset="training")
    assert val.n == 3 and train.n == 7          # int(10 * 0.3) first samples validate
    assert val[0][0][:, 0, 0, 0].tolist() == [0, 1, 2]
    assert train[0][1].tolist() == [1, 0, 1, 0, 1, 0, 1]
    sorted_y = np.array([0] * 5 + [1] * 5)
    with pytest.raises(ValueError, match="different number of classes"):
        gen.flow(x, sorted_y, subset="training")
    assert gen.flow(x, sorted_y, subset="validation", ignore_class_split=True).n == 3
    with pytest.raises(ValueError, match="subset"):
        gen.flow(x, y, subset="test")


def test_flow_argument_errors():
    x, y = _data(4)
    gen = ImageDataGenerator()
    with pytest.raises(ValueError, match="rank 4"):
        gen.flow(x[:, :, :, 0], y)
    with pytest.raises(ValueError, match="same length"):
        gen.flow(x, y[:3])
    with pytest.raises(ValueError, match="sample_weight"):
        gen.flow(x, y, sample_weight=np.ones(3))
    with pytest.raises(ValueError, match="batch_size"):
        gen.flow(x, y, batch_size=0)


def test_generator_argument_errors():
    with pytest.raises(ValueError, match="data_format"):
        ImageDataGenerator(data_format="channels_middle")
    with pytest.raises(ValueError, match="validation_split"):
        ImageDataGenerator(validation_split=1.5)
    with pytest.raises(ValueError, match="zoom_range"):
        ImageDataGenerator(zoom_range=(0.5, 1, 2))
    with pytest.raises(ValueError, match="brightness_range"):
        ImageDataGenerator(brightness_range=0.5)
    with pytest.raises(ValueError, match="fill_mode"):
        ImageDataGenerator(fill_mode="edge")
    with pytest.raises(ValueError, match="interpolation_order"):
        ImageDataGenerator(interpolation_order=2)
    with pytest.raises(TypeError, match="preprocessing_function"):
        ImageDataGenerator(preprocessing_function="normalize")
    with pytest.raises(TypeError, match="width_shift_range"):
        ImageDataGenerator(width_shift_range="0.1")
    assert ImageDataGenerator(zoom_range=0.25).zoom_range == [0.75, 1.25]
    assert ImageDataGenerator(zoom_range=[0.5, 2]).zoom_range == [0.5, 2]


# --- without Pillow --------------------------------------------------------------------------------

def test_without_pillow_a_clear_import_error(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "PIL", None)
    for call in (lambda: image.load_img(str(tmp_path / "a.png")),
                 lambda: image.array_to_img(np.zeros((2, 2, 3))),
                 lambda: image.apply_brightness_shift(np.zeros((2, 2, 3)), 0.5),
                 lambda: ImageDataGenerator().flow_from_directory(str(tmp_path))):
        with pytest.raises(ImportError, match=r"Pillow.*pip install symkeras\[image\]"):
            call()


# --- with Pillow: files, conversions, directories ---------------------------------------------------

@needs_pil
def test_array_image_conversions():
    x = np.array([[[0, 10, 20], [30, 40, 50]]], dtype="float32")      # 1 x 2, RGB
    img = image.array_to_img(x, scale=False)
    assert img.mode == "RGB" and img.size == (2, 1)
    np.testing.assert_array_equal(image.img_to_array(img), x)
    assert image.img_to_array(img, data_format="channels_first").shape == (3, 1, 2)
    assert image.img_to_array(img, dtype="uint8").dtype == np.uint8
    # scale: shift the minimum to 0 and the maximum to 255
    gray = image.array_to_img(np.array([[[-1.0], [1.0]]]))
    assert gray.mode == "L" and np.asarray(gray).tolist() == [[0, 255]]
    assert image.array_to_img(np.full((1, 1, 1), 300.0), scale=False).mode == "I"
    assert image.array_to_img(np.zeros((1, 1, 4))).mode == "RGBA"
    with pytest.raises(ValueError, match="rank 3"):
        image.array_to_img(np.zeros((2, 2)))
    with pytest.raises(ValueError, match="channel"):
        image.array_to_img(np.zeros((2, 2, 2)))


@needs_pil
def test_save_and_load_image(tmp_path):
    x = np.zeros((4, 6, 3), dtype="float32")
    x[:, :, 0] = 255                                        # pure red
    x[0, 0] = [0, 0, 255]
    path = str(tmp_path / "red.png")
    image.save_img(path, x, scale=False)
    img = image.load_img(path)
    assert img.mode == "RGB" and img.size == (6, 4)
    np.testing.assert_array_equal(image.img_to_array(img), x)
    # ITU-R 601 luma: (255 * 19595 + 32768) >> 16 = 76 for red, 29 for blue
    gray = image.img_to_array(image.load_img(path, color_mode="grayscale"))
    assert gray.shape == (4, 6, 1) and gray[1, 1, 0] == 76 and gray[0, 0, 0] == 29
    assert image.img_to_array(image.load_img(path, color_mode="rgba")).shape == (4, 6, 4)
    small = image.load_img(path, target_size=(2, 3))
    assert small.size == (3, 2)
    with pytest.raises(ValueError, match="Invalid interpolation"):
        image.load_img(path, target_size=(2, 3), interpolation="cubicspline")
    with pytest.raises(ValueError, match="color_mode"):
        image.load_img(path, color_mode="cmyk")


@needs_pil
def test_brightness_shift_through_pillow():
    x = np.array([0.0, 100.0, 200.0], dtype="float32").reshape(1, 1, 3)
    # stretched to [0, 255] (0, 127.5 -> 127, 255), then Pillow scales and truncates
    assert image.apply_brightness_shift(x, 1.0).ravel().tolist() == [0, 127, 255]
    assert image.apply_brightness_shift(x, 0.5).ravel().tolist() == [0, 63, 127]
    assert image.apply_brightness_shift(x, 1.5).ravel().tolist() == [0, 190, 255]
    assert image.apply_brightness_shift(x, 0.5, scale=False).ravel().tolist() == [0, 50, 100]
    with pytest.raises(ValueError, match="brightness_range"):
        image.random_brightness(x, (0.5,))
    gen = ImageDataGenerator(data_format="channels_first")
    out = gen.apply_transform(x.transpose(2, 0, 1), {"brightness": 1.0})
    assert out.ravel().tolist() == [0, 127, 255]


def _image_tree(root):
    """Two classes of three 3x4 images each; the red channel holds the image's number."""
    from PIL import Image
    for label, name in enumerate(["cat", "dog"]):
        os.makedirs(os.path.join(root, name, "more"))
        for i in range(3):
            x = np.zeros((3, 4, 3), dtype="uint8")
            x[..., 0] = 10 * (3 * label + i)
            x[..., 1] = 255
            folder = os.path.join(root, name, "more") if i == 2 else os.path.join(root, name)
            Image.fromarray(x).save(os.path.join(folder, f"img{i}.png"))
        open(os.path.join(root, name, "notes.txt"), "w").close()
    os.makedirs(os.path.join(root, "empty"))


@needs_pil
def test_flow_from_directory_classes_and_labels(tmp_path, capsys):
    _image_tree(str(tmp_path))
    gen = ImageDataGenerator(rescale=1 / 10)
    it = gen.flow_from_directory(str(tmp_path), target_size=(3, 4), batch_size=4, shuffle=False)
    assert "Found 6 images belonging to 3 classes." in capsys.readouterr().out
    assert isinstance(it, DirectoryIterator) and isinstance(it, Sequence) and len(it) == 2
    assert it.class_indices == {"cat": 0, "dog": 1, "empty": 2}
    assert it.filenames == [os.path.join("cat", "img0.png"), os.path.join("cat", "img1.png"),
                            os.path.join("cat", "more", "img2.png"), os.path.join("dog", "img0.png"),
                            os.path.join("dog", "img1.png"), os.path.join("dog", "more", "img2.png")]
    assert it.classes.dtype == np.int32 and it.classes.tolist() == [0, 0, 0, 1, 1, 1]
    bx, by = it[0]
    assert bx.shape == (4, 3, 4, 3) and bx.dtype == np.float32
    assert bx[:, 0, 0, 0].tolist() == [0, 1, 2, 3] and bx[0, 0, 0, 1] == 25.5
    assert by.tolist() == [[1, 0, 0], [1, 0, 0], [1, 0, 0], [0, 1, 0]]


@needs_pil
def test_flow_from_directory_class_modes_sizes_and_subsets(tmp_path):
    _image_tree(str(tmp_path))
    gen = ImageDataGenerator(validation_split=1 / 3)
    flow = dict(classes=["cat", "dog"], batch_size=6, shuffle=False)
    bx, by = gen.flow_from_directory(str(tmp_path), class_mode="binary", **flow)[0]
    assert bx.shape == (6, 256, 256, 3) and by.dtype == np.float32
    assert by.tolist() == [0, 0, 0, 1, 1, 1]
    _, by = gen.flow_from_directory(str(tmp_path), target_size=(2, 2), class_mode="sparse", **flow)[0]
    assert by.tolist() == [0, 0, 0, 1, 1, 1]
    bx, by = gen.flow_from_directory(str(tmp_path), target_size=(2, 2), class_mode="input", **flow)[0]
    np.testing.assert_array_equal(bx, by)
    bx = gen.flow_from_directory(str(tmp_path), target_size=(2, 2), class_mode=None,
                                 color_mode="grayscale", **flow)[0]
    assert isinstance(bx, np.ndarray) and bx.shape == (6, 2, 2, 1)
    # a third of each class folder (int(3 / 3) = 1 file) validates
    val = gen.flow_from_directory(str(tmp_path), target_size=(3, 4), subset="validation", **flow)
    train = gen.flow_from_directory(str(tmp_path), target_size=(3, 4), subset="training", **flow)
    assert val.filenames == [os.path.join("cat", "img0.png"), os.path.join("dog", "img0.png")]
    assert train.samples == 4 and train.classes.tolist() == [0, 0, 1, 1]
    first = ImageDataGenerator(data_format="channels_first").flow_from_directory(
        str(tmp_path), target_size=(3, 4), color_mode="rgba", **flow)
    assert first[0][0].shape == (6, 4, 3, 4)
    with pytest.raises(ValueError, match="class_mode"):
        gen.flow_from_directory(str(tmp_path), class_mode="multi_output")
    with pytest.raises(ValueError, match="color mode"):
        gen.flow_from_directory(str(tmp_path), color_mode="cmyk")
    with pytest.raises(ValueError, match="subset"):
        gen.flow_from_directory(str(tmp_path), subset="test")


@needs_pil
def test_flow_from_directory_seed_and_save_to_dir(tmp_path):
    _image_tree(str(tmp_path / "data"))
    out = tmp_path / "seen"
    out.mkdir()
    gen = ImageDataGenerator(rotation_range=30, horizontal_flip=True)
    kwargs = dict(target_size=(3, 4), classes=["cat", "dog"], batch_size=3, seed=5)
    a = gen.flow_from_directory(str(tmp_path / "data"), save_to_dir=str(out), save_prefix="aug",
                                **kwargs)[1]
    b = gen.flow_from_directory(str(tmp_path / "data"), **kwargs)[1]
    np.testing.assert_array_equal(a[0], b[0])
    np.testing.assert_array_equal(a[1], b[1])
    saved = sorted(os.listdir(out))
    assert len(saved) == 3 and all(name.startswith("aug_") and name.endswith(".png") for name in saved)

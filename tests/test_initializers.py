"""Initializers: shapes, dtypes, limits, moments on large draws, seeding, configs, errors.

Moments are checked on draws of ~10^5-10^6 values, within a few percent of tf-keras's
formulas; every random draw here is seeded, so the tests are deterministic.
"""

import math

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import initializers as I
from symkeras.utils import custom_object_scope, set_random_seed

TRUNC_STD = 0.87962566103423978          # std of N(0, 1) truncated to [-2, 2]
BIG_2D = (500, 400)                       # fan_in 500, fan_out 400
BIG_4D = (3, 3, 64, 96)                   # receptive field 9: fan_in 576, fan_out 864

ALL = [I.Zeros(), I.Ones(), I.Constant(2.5), I.RandomNormal(seed=1), I.RandomUniform(seed=1),
       I.TruncatedNormal(seed=1), I.VarianceScaling(seed=1), I.Orthogonal(seed=1), I.GlorotUniform(1),
       I.GlorotNormal(1), I.HeNormal(1), I.HeUniform(1), I.LecunNormal(1), I.LecunUniform(1)]


def _id(init):
    return type(init).__name__


# ----------------------------------------------------------------------------- shapes and dtypes

@pytest.mark.parametrize("init", ALL, ids=_id)
@pytest.mark.parametrize("shape", [(3, 4), (2, 3, 4, 5), [6, 2]])
def test_shape_and_default_dtype(init, shape):
    value = init(shape)
    assert isinstance(value, np.ndarray)
    assert value.shape == tuple(shape)
    assert value.dtype == np.float32


@pytest.mark.parametrize("init", ALL, ids=_id)
def test_dtype_argument_and_floatx(init):
    assert init((3, 4), dtype="float64").dtype == np.float64
    old = K.floatx()
    K.set_floatx("float64")
    try:
        assert init((3, 4)).dtype == np.float64
    finally:
        K.set_floatx(old)


def test_integer_dtypes():
    assert I.Zeros()((2, 2), dtype="int32").dtype == np.int32
    np.testing.assert_array_equal(I.Ones()((2,), dtype="int64"), [1, 1])
    ints = I.RandomUniform(0, 10, seed=3)((1000,), dtype="int32")
    assert ints.dtype == np.int32 and ints.min() >= 0 and ints.max() <= 9
    for init in (I.RandomNormal(), I.TruncatedNormal(), I.GlorotUniform(), I.Orthogonal(), I.Identity()):
        with pytest.raises(ValueError, match="Expected floating point type"):
            init((3, 3), dtype="int32")


def test_identity_and_rank_errors():
    np.testing.assert_array_equal(I.Identity()((3, 3)), np.eye(3))
    np.testing.assert_allclose(I.Identity(gain=2.0)((2, 4)), 2 * np.eye(2, 4))     # rectangular eye
    with pytest.raises(ValueError, match="only be used for 2D matrices"):
        I.Identity()((3, 3, 3))
    with pytest.raises(ValueError, match="at least two-dimensional"):
        I.Orthogonal()((5,))


def test_constant():
    np.testing.assert_array_equal(I.Constant(3)((2, 2)), np.full((2, 2), 3.0))
    np.testing.assert_array_equal(I.Constant([1, 2, 3, 4])((2, 2)), [[1, 2], [3, 4]])
    np.testing.assert_array_equal(I.Constant(np.arange(6))((3, 2)), np.arange(6).reshape(3, 2))
    with pytest.raises(ValueError, match="cannot fill"):
        I.Constant([1, 2, 3])((2, 2))
    assert I.Constant(np.array([1.5, 2.0])).get_config() == {"value": [1.5, 2.0]}   # JSON-able


# ----------------------------------------------------------------------------- fans

@pytest.mark.parametrize("shape, fans", [
    ((), (1, 1)),
    ((7,), (7, 7)),
    ((3, 4), (3, 4)),
    ((5, 16, 32), (80, 160)),             # Conv1D kernel (width, in, out)
    ((3, 3, 16, 32), (144, 288)),         # Conv2D kernel, channels_last
    ((2, 3, 4, 5, 6), (120, 144)),        # Conv3D kernel
])
def test_fans(shape, fans):
    assert I.compute_fans(shape) == fans


# ----------------------------------------------------------------------------- distributions

def test_random_uniform_limits_and_moments():
    v = I.RandomUniform(-0.3, 0.7, seed=2)((1000, 500), dtype="float64")
    assert v.min() >= -0.3 and v.max() < 0.7
    assert v.mean() == pytest.approx(0.2, abs=2e-3)
    assert v.std() == pytest.approx(1.0 / math.sqrt(12), rel=0.01)


def test_random_normal_moments():
    v = I.RandomNormal(mean=1.0, stddev=0.5, seed=2)((1000, 500), dtype="float64")
    assert v.mean() == pytest.approx(1.0, abs=3e-3)
    assert v.std() == pytest.approx(0.5, rel=0.01)


def test_truncated_normal_within_two_stddev():
    v = I.TruncatedNormal(mean=-1.0, stddev=0.2, seed=2)((1000, 500), dtype="float64")
    assert np.all(np.abs(v + 1.0) <= 0.4)
    assert v.mean() == pytest.approx(-1.0, abs=2e-3)
    assert v.std() == pytest.approx(0.2 * TRUNC_STD, rel=0.01)
    assert np.abs(v + 1.0).max() > 0.39               # the tails are there, just cut at 2 stddev


def _n(mode, shape):
    fan_in, fan_out = I.compute_fans(shape)
    return {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]


@pytest.mark.parametrize("shape", [BIG_2D, BIG_4D], ids=["2d", "4d"])
@pytest.mark.parametrize("mode", ["fan_in", "fan_out", "fan_avg"])
@pytest.mark.parametrize("distribution", ["truncated_normal", "untruncated_normal", "uniform"])
def test_variance_scaling(shape, mode, distribution):
    scale = 2.5
    v = I.VarianceScaling(scale, mode, distribution, seed=4)(shape, dtype="float64")
    std = math.sqrt(scale / _n(mode, shape))
    assert v.std() == pytest.approx(std, rel=0.02)      # std after truncation is sqrt(s)
    assert abs(v.mean()) < 0.02 * std
    if distribution == "uniform":
        assert np.abs(v).max() <= math.sqrt(3) * std
    if distribution == "truncated_normal":
        assert np.abs(v).max() <= 2 * std / TRUNC_STD


@pytest.mark.parametrize("cls, limit", [
    (I.GlorotUniform, lambda fi, fo: math.sqrt(6 / (fi + fo))),
    (I.HeUniform, lambda fi, fo: math.sqrt(6 / fi)),
    (I.LecunUniform, lambda fi, fo: math.sqrt(3 / fi)),
])
@pytest.mark.parametrize("shape", [BIG_2D, BIG_4D], ids=["2d", "4d"])
def test_uniform_presets_within_limit(cls, limit, shape):
    v = cls(seed=5)(shape, dtype="float64")
    bound = limit(*I.compute_fans(shape))
    assert np.abs(v).max() <= bound
    assert np.abs(v).max() > 0.99 * bound
    assert v.std() == pytest.approx(bound / math.sqrt(3), rel=0.02)


@pytest.mark.parametrize("cls, std", [
    (I.GlorotNormal, lambda fi, fo: math.sqrt(2 / (fi + fo))),
    (I.HeNormal, lambda fi, fo: math.sqrt(2 / fi)),
    (I.LecunNormal, lambda fi, fo: math.sqrt(1 / fi)),
])
@pytest.mark.parametrize("shape", [BIG_2D, BIG_4D], ids=["2d", "4d"])
def test_normal_presets_std_and_truncation(cls, std, shape):
    v = cls(seed=5)(shape, dtype="float64")
    expected = std(*I.compute_fans(shape))
    assert v.std() == pytest.approx(expected, rel=0.02)
    assert np.abs(v).max() <= 2 * expected / TRUNC_STD


@pytest.mark.parametrize("shape", [(6, 6), (10, 4), (4, 10), (3, 3, 4, 8)])
@pytest.mark.parametrize("gain", [1.0, 1.7])
def test_orthogonal(shape, gain):
    v = I.Orthogonal(gain=gain, seed=6)(shape, dtype="float64")
    w = v.reshape(-1, shape[-1])
    gram = w.T @ w if w.shape[0] >= w.shape[1] else w @ w.T
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(len(gram)), atol=1e-12)


def test_variance_scaling_scale_with_few_units_uses_max_one():
    """n < 1 (a zero-size fan) is clamped to 1 like tf-keras: s = scale / max(1, n)."""
    v = I.VarianceScaling(scale=1.0, distribution="uniform", seed=1)((0, 5))
    assert v.shape == (0, 5)


# ----------------------------------------------------------------------------- seeding

@pytest.mark.parametrize("init_cls", [I.RandomNormal, I.RandomUniform, I.TruncatedNormal, I.Orthogonal,
                                      I.GlorotUniform, I.GlorotNormal, I.HeNormal, I.LecunUniform])
def test_seeded_initializer_is_reproducible(init_cls):
    a = init_cls(seed=11)
    first = a((8, 8))
    np.testing.assert_array_equal(a((8, 8)), first)                # same instance, every call
    np.testing.assert_array_equal(init_cls(seed=11)((8, 8)), first)  # same seed, new instance
    assert not np.array_equal(init_cls(seed=12)((8, 8)), first)
    np.testing.assert_allclose(a((8, 8), dtype="float64"), first, rtol=1e-6)  # dtype-independent draw


def test_unseeded_initializers_follow_set_random_seed():
    init = I.GlorotUniform()
    set_random_seed(123)
    first = [init((5, 5)), I.RandomNormal()((3,)), I.Orthogonal()((4, 4))]
    assert not np.array_equal(init((5, 5)), first[0])              # each call draws anew
    set_random_seed(123)
    again = [init((5, 5)), I.RandomNormal()((3,)), I.Orthogonal()((4, 4))]
    for a, b in zip(first, again):
        np.testing.assert_array_equal(a, b)


def test_set_random_seed_also_fixes_random_ops():
    x = K.placeholder((None, 50))
    outs = []
    for _ in range(2):
        set_random_seed(9)
        f = K.function([x], [K.dropout(x, 0.5)], backend="numpy")
        outs.append(f([np.ones((4, 50), np.float32)])[0])
    np.testing.assert_array_equal(outs[0], outs[1])


def test_set_random_seed_rejects_non_integers():
    for bad in (1.5, "3", None, True):
        with pytest.raises(ValueError, match="Expected `seed` argument to be an integer"):
            set_random_seed(bad)


# ----------------------------------------------------------------------------- errors

def test_variance_scaling_validation():
    with pytest.raises(ValueError, match="`scale` must be positive"):
        I.VarianceScaling(scale=0.0)
    with pytest.raises(ValueError, match="`scale` must be positive"):
        I.VarianceScaling(scale=-1.0)
    with pytest.raises(ValueError, match="Invalid `mode` argument: fan_sum"):
        I.VarianceScaling(mode="fan_sum")
    with pytest.raises(ValueError, match="Invalid `distribution` argument: poisson"):
        I.VarianceScaling(distribution="poisson")
    assert I.VarianceScaling(distribution="normal").distribution == "truncated_normal"   # keras alias
    assert I.VarianceScaling(distribution="Uniform").distribution == "uniform"


# ----------------------------------------------------------------------------- get / serialize

@pytest.mark.parametrize("name, cls", [
    ("zeros", I.Zeros), ("zero", I.Zeros), ("Zeros", I.Zeros), ("ones", I.Ones), ("one", I.Ones),
    ("constant", I.Constant), ("uniform", I.RandomUniform), ("random_uniform", I.RandomUniform),
    ("normal", I.RandomNormal), ("random_normal", I.RandomNormal), ("truncated_normal", I.TruncatedNormal),
    ("variance_scaling", I.VarianceScaling), ("identity", I.Identity), ("orthogonal", I.Orthogonal),
    ("glorot_uniform", I.GlorotUniform), ("glorot_normal", I.GlorotNormal), ("he_normal", I.HeNormal),
    ("he_uniform", I.HeUniform), ("lecun_normal", I.LecunNormal), ("lecun_uniform", I.LecunUniform),
    ("GlorotUniform", I.GlorotUniform),
])
def test_get_by_name(name, cls):
    init = I.get(name)
    assert type(init) is cls
    assert getattr(I, name) is cls


def test_presets_match_variance_scaling():
    expected = {I.GlorotUniform: (1.0, "fan_avg", "uniform"), I.GlorotNormal: (1.0, "fan_avg", "truncated_normal"),
                I.HeNormal: (2.0, "fan_in", "truncated_normal"), I.HeUniform: (2.0, "fan_in", "uniform"),
                I.LecunNormal: (1.0, "fan_in", "truncated_normal"), I.LecunUniform: (1.0, "fan_in", "uniform")}
    for cls, (scale, mode, distribution) in expected.items():
        init = cls(seed=3)
        assert (init.scale, init.mode, init.distribution) == (scale, mode, distribution)
        np.testing.assert_array_equal(init((4, 5)), I.VarianceScaling(scale, mode, distribution, seed=3)((4, 5)))


@pytest.mark.parametrize("init", ALL + [I.Identity(gain=3.0), I.Constant([1.0, 2.0]),
                                        I.VarianceScaling(0.5, "fan_out", "untruncated_normal", seed=2),
                                        I.RandomUniform(-1, 2, seed=None)], ids=_id)
def test_config_round_trip(init):
    config = I.serialize(init)
    assert config == {"class_name": type(init).__name__, "config": init.get_config()}
    again = I.deserialize(config)
    assert type(again) is type(init) and again.get_config() == init.get_config()
    assert type(I.get(config)) is type(init)
    assert type(type(init).from_config({**init.get_config(), "dtype": "float32"})) is type(init)
    if getattr(init, "seed", None) is not None or type(init) in (I.Zeros, I.Ones, I.Constant, I.Identity):
        shape = (2, 2) if not isinstance(init, I.Constant) else (2,)
        np.testing.assert_array_equal(again(shape), init(shape))


def test_get_instances_classes_callables_and_errors():
    init = I.HeNormal(seed=1)
    assert I.get(init) is init
    assert type(I.get(I.Orthogonal)) is I.Orthogonal

    def my_init(shape, dtype=None):
        return np.full(shape, 7.0, dtype=dtype or "float32")
    assert I.get(my_init) is my_init
    assert I.get(None) is None
    with pytest.raises(ValueError, match="^Unknown initializer: foo$"):
        I.get("foo")
    with pytest.raises(ValueError, match="^Unknown initializer: Foo$"):
        I.get({"class_name": "Foo", "config": {}})
    with pytest.raises(ValueError, match="Could not interpret initializer identifier"):
        I.get(42)
    assert I.serialize(my_init) == "my_init"
    with custom_object_scope({"my_init": my_init}):
        assert I.get("my_init") is my_init


def test_custom_initializer_class_by_config():
    class Scaled(I.Initializer):
        def __init__(self, factor=1.0):
            self.factor = factor

        def __call__(self, shape, dtype=None, **kwargs):
            return self.factor * np.ones(shape, dtype=dtype or K.floatx())

        def get_config(self):
            return {"factor": self.factor}

    config = I.serialize(Scaled(3.0))
    assert config == {"class_name": "Scaled", "config": {"factor": 3.0}}
    restored = I.deserialize(config, custom_objects={"Scaled": Scaled})
    np.testing.assert_array_equal(restored((2,)), [3.0, 3.0])


def test_large_and_negative_seeds_and_unknown_kwargs():
    for seed in (2 ** 40 + 3, -5):
        init = I.RandomNormal(seed=seed)
        np.testing.assert_array_equal(init((3,)), init((3,)))
    with pytest.raises(TypeError):
        I.GlorotUniform()((2, 2), partition_info=None)

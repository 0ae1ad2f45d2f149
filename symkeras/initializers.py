"""Weight initializers (tf-keras 2.x semantics), run in NumPy when a layer builds.

``initializer(shape, dtype=None) -> np.ndarray`` of ``dtype`` (default ``floatx()``).

Seeds: an initializer given a ``seed`` returns the same values on every call (tf-keras).
An unseeded one draws from one module-level ``np.random.RandomState`` that
``symkeras.utils.set_random_seed(seed)`` reseeds, so whole models are reproducible; two
calls of the same unseeded instance give different values (tf-keras returns the same values
again and warns). TensorFlow's random streams themselves cannot be reproduced: only the
distributions, limits and seeding semantics match.
"""

import math

import numpy as np

from symkeras import config
from symkeras.utils.generic_utils import (get_from_identifier, deserialize_keras_object, global_random_state,
                                          serialize_keras_object)

# std of a standard normal truncated to [-2, 2] (scipy.stats.truncnorm.std(a=-2, b=2)).
_TRUNCATED_STD = 0.87962566103423978


def _rng(seed):
    return global_random_state() if seed is None else np.random.RandomState(int(seed) % 2 ** 32)


def _as_shape(shape):
    try:
        shape = tuple(int(d) for d in shape)
    except TypeError:
        raise ValueError(f"shape: expected a tuple of ints, got {shape!r}") from None
    if any(d < 0 for d in shape):
        raise ValueError(f"shape: dimensions must be non-negative, got {shape}")
    return shape


def _dtype(dtype, floating=True):
    dtype = np.dtype(dtype or config.floatx())
    if floating and dtype.kind != "f":
        raise ValueError(f"Expected floating point type, got {dtype.name}.")
    return dtype


def compute_fans(shape):
    """(fan_in, fan_out) of a weight shape, as tf-keras counts them.

    Rank 0 → (1, 1); rank 1 → (n, n); rank 2 → (rows, cols); rank ≥ 3 is taken for a
    channels-last convolution kernel ``(*spatial, in, out)``: the receptive field size
    ``prod(spatial)`` multiplies both.
    """
    shape = _as_shape(shape)
    if len(shape) < 1:
        fan_in = fan_out = 1
    elif len(shape) == 1:
        fan_in = fan_out = shape[0]
    elif len(shape) == 2:
        fan_in, fan_out = shape
    else:
        receptive_field = int(np.prod(shape[:-2]))
        fan_in, fan_out = shape[-2] * receptive_field, shape[-1] * receptive_field
    return int(fan_in), int(fan_out)


def _truncated_standard_normal(rng, shape):
    """N(0, 1) with every value beyond 2 redrawn until none is."""
    z = rng.standard_normal(shape)
    bad = np.abs(z) > 2.0
    while bad.any():
        z[bad] = rng.standard_normal(int(bad.sum()))
        bad = np.abs(z) > 2.0
    return z


class Initializer:
    """Base class: subclasses implement ``__call__(shape, dtype=None)``."""

    def __call__(self, shape, dtype=None, **kwargs):
        raise NotImplementedError("Initializer subclasses must implement the `__call__()` method.")

    def get_config(self):
        return {}

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        config.pop("dtype", None)
        return cls(**config)

    def __repr__(self):
        args = ", ".join(f"{k}={v!r}" for k, v in self.get_config().items())
        return f"{type(self).__name__}({args})"


class Zeros(Initializer):
    def __call__(self, shape, dtype=None):
        return np.zeros(_as_shape(shape), dtype=_dtype(dtype, floating=False))


class Ones(Initializer):
    def __call__(self, shape, dtype=None):
        return np.ones(_as_shape(shape), dtype=_dtype(dtype, floating=False))


class Constant(Initializer):
    """Fill with ``value``: a scalar, or an array with as many elements as the shape."""

    def __init__(self, value=0):
        if isinstance(value, np.ndarray):
            value = value.tolist()
        elif isinstance(value, np.generic):
            value = value.item()
        self.value = value

    def __call__(self, shape, dtype=None):
        shape = _as_shape(shape)
        value = np.asarray(self.value, dtype=_dtype(dtype, floating=False))
        if value.size == 1:
            return np.full(shape, value.reshape(()), dtype=value.dtype)
        if value.size != int(np.prod(shape)):
            raise ValueError(f"Constant: a value of {value.size} elements cannot fill shape {shape}")
        return value.reshape(shape).copy()

    def get_config(self):
        return {"value": self.value}


class RandomUniform(Initializer):
    """U[minval, maxval); integer dtypes give integers in that range."""

    def __init__(self, minval=-0.05, maxval=0.05, seed=None):
        self.minval, self.maxval, self.seed = minval, maxval, seed

    def __call__(self, shape, dtype=None):
        dtype = _dtype(dtype, floating=False)
        rng, shape = _rng(self.seed), _as_shape(shape)
        if dtype.kind in "iu":
            return rng.randint(self.minval, self.maxval, size=shape).astype(dtype)
        if dtype.kind != "f":
            raise ValueError(f"Expected float or integer dtype, got {dtype.name}.")
        return rng.uniform(self.minval, self.maxval, shape).astype(dtype)

    def get_config(self):
        return {"minval": self.minval, "maxval": self.maxval, "seed": self.seed}


class RandomNormal(Initializer):
    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        dtype = _dtype(dtype)
        z = _rng(self.seed).standard_normal(_as_shape(shape))
        return (self.mean + self.stddev * z).astype(dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class TruncatedNormal(Initializer):
    """N(mean, stddev) with values more than two stddev from the mean redrawn."""

    def __init__(self, mean=0.0, stddev=0.05, seed=None):
        self.mean, self.stddev, self.seed = mean, stddev, seed

    def __call__(self, shape, dtype=None):
        dtype = _dtype(dtype)
        z = _truncated_standard_normal(_rng(self.seed), _as_shape(shape))
        return (self.mean + self.stddev * z).astype(dtype)

    def get_config(self):
        return {"mean": self.mean, "stddev": self.stddev, "seed": self.seed}


class VarianceScaling(Initializer):
    """Scale the variance to the fans: ``s = scale / max(1, n)``, n by ``mode``.

    ``truncated_normal`` (and the legacy name ``normal``): truncated N(0, sqrt(s)/0.8796…),
    so the std *after* truncation is sqrt(s); ``untruncated_normal``: N(0, sqrt(s));
    ``uniform``: U(-sqrt(3 s), sqrt(3 s)).
    """

    _MODES = ("fan_in", "fan_out", "fan_avg")
    _DISTRIBUTIONS = ("truncated_normal", "untruncated_normal", "uniform")

    def __init__(self, scale=1.0, mode="fan_in", distribution="truncated_normal", seed=None):
        if scale <= 0.0:
            raise ValueError(f"`scale` must be positive float. Received: scale={scale}.")
        if mode not in self._MODES:
            raise ValueError(f"Invalid `mode` argument: {mode}. Please use one of {self._MODES}.")
        distribution = str(distribution).lower()
        if distribution == "normal":          # compatibility with keras-team/keras
            distribution = "truncated_normal"
        if distribution not in self._DISTRIBUTIONS:
            raise ValueError(f"Invalid `distribution` argument: {distribution}. "
                             f"Allowed distributions: {self._DISTRIBUTIONS}.")
        self.scale, self.mode, self.distribution, self.seed = scale, mode, distribution, seed

    def __call__(self, shape, dtype=None):
        dtype, shape = _dtype(dtype), _as_shape(shape)
        fan_in, fan_out = compute_fans(shape)
        n = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2.0}[self.mode]
        scale = self.scale / max(1.0, n)
        rng = _rng(self.seed)
        if self.distribution == "truncated_normal":
            values = math.sqrt(scale) / _TRUNCATED_STD * _truncated_standard_normal(rng, shape)
        elif self.distribution == "untruncated_normal":
            values = math.sqrt(scale) * rng.standard_normal(shape)
        else:
            limit = math.sqrt(3.0 * scale)
            values = rng.uniform(-limit, limit, shape)
        return values.astype(dtype)

    def get_config(self):
        return {"scale": self.scale, "mode": self.mode, "distribution": self.distribution,
                "seed": self.seed}


class Orthogonal(Initializer):
    """An orthogonal matrix (QR of a Gaussian, signs fixed by R's diagonal) times ``gain``.

    Shapes of rank > 2 are flattened to ``(prod(shape[:-1]), shape[-1])``; with fewer rows
    than columns the rows are orthonormal, otherwise the columns.
    """

    def __init__(self, gain=1.0, seed=None):
        self.gain, self.seed = gain, seed

    def __call__(self, shape, dtype=None):
        dtype, shape = _dtype(dtype), _as_shape(shape)
        if len(shape) < 2:
            raise ValueError(f"The tensor to initialize must be at least two-dimensional. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        rows, cols = int(np.prod(shape[:-1])), shape[-1]
        a = _rng(self.seed).standard_normal((max(rows, cols), min(rows, cols)))
        q, r = np.linalg.qr(a)
        q = q * np.sign(np.diag(r))
        if rows < cols:
            q = q.T
        return (self.gain * q.reshape(shape)).astype(dtype)

    def get_config(self):
        return {"gain": self.gain, "seed": self.seed}


class Identity(Initializer):
    """``gain * eye(rows, cols)`` (rectangular allowed); 2-D shapes only."""

    def __init__(self, gain=1.0):
        self.gain = gain

    def __call__(self, shape, dtype=None):
        dtype, shape = _dtype(dtype), _as_shape(shape)
        if len(shape) != 2:
            raise ValueError(f"Identity matrix initializer can only be used for 2D matrices. "
                             f"Received: shape={shape} of rank {len(shape)}.")
        return (self.gain * np.eye(*shape)).astype(dtype)

    def get_config(self):
        return {"gain": self.gain}


class _SeededVarianceScaling(VarianceScaling):
    """A VarianceScaling preset: only ``seed`` is configurable."""

    _PRESET = (1.0, "fan_in", "truncated_normal")

    def __init__(self, seed=None):
        scale, mode, distribution = self._PRESET
        super().__init__(scale=scale, mode=mode, distribution=distribution, seed=seed)

    def get_config(self):
        return {"seed": self.seed}


class GlorotUniform(_SeededVarianceScaling):
    """U(-limit, limit), ``limit = sqrt(6 / (fan_in + fan_out))``."""
    _PRESET = (1.0, "fan_avg", "uniform")


class GlorotNormal(_SeededVarianceScaling):
    """Truncated normal with std ``sqrt(2 / (fan_in + fan_out))`` after truncation."""
    _PRESET = (1.0, "fan_avg", "truncated_normal")


class HeNormal(_SeededVarianceScaling):
    """Truncated normal with std ``sqrt(2 / fan_in)`` after truncation."""
    _PRESET = (2.0, "fan_in", "truncated_normal")


class HeUniform(_SeededVarianceScaling):
    """U(-limit, limit), ``limit = sqrt(6 / fan_in)``."""
    _PRESET = (2.0, "fan_in", "uniform")


class LecunNormal(_SeededVarianceScaling):
    """Truncated normal with std ``sqrt(1 / fan_in)`` after truncation."""
    _PRESET = (1.0, "fan_in", "truncated_normal")


class LecunUniform(_SeededVarianceScaling):
    """U(-limit, limit), ``limit = sqrt(3 / fan_in)``."""
    _PRESET = (1.0, "fan_in", "uniform")


# Snake-case aliases (tf-keras: the classes themselves, so ``glorot_uniform(seed=1)`` works
# and serializes as ``GlorotUniform``) and the Keras 2 short names.
zeros = zero = Zeros
ones = one = Ones
constant = Constant
random_uniform = uniform = RandomUniform
random_normal = normal = RandomNormal
truncated_normal = TruncatedNormal
variance_scaling = VarianceScaling
orthogonal = Orthogonal
identity = Identity
glorot_uniform = GlorotUniform
glorot_normal = GlorotNormal
he_normal = HeNormal
he_uniform = HeUniform
lecun_normal = LecunNormal
lecun_uniform = LecunUniform

_CLASSES = (Zeros, Ones, Constant, RandomUniform, RandomNormal, TruncatedNormal, VarianceScaling,
            Orthogonal, Identity, GlorotUniform, GlorotNormal, HeNormal, HeUniform, LecunNormal,
            LecunUniform)
_OBJECTS = {cls.__name__: cls for cls in _CLASSES}
_OBJECTS.update(zeros=Zeros, zero=Zeros, ones=Ones, one=Ones, constant=Constant,
                random_uniform=RandomUniform, uniform=RandomUniform, random_normal=RandomNormal,
                normal=RandomNormal, truncated_normal=TruncatedNormal,
                variance_scaling=VarianceScaling, orthogonal=Orthogonal, identity=Identity,
                glorot_uniform=GlorotUniform, glorot_normal=GlorotNormal, he_normal=HeNormal,
                he_uniform=HeUniform, lecun_normal=LecunNormal, lecun_uniform=LecunUniform)


def serialize(initializer):
    return serialize_keras_object(initializer)


def deserialize(config, custom_objects=None):
    return deserialize_keras_object(config, module_objects=_OBJECTS, custom_objects=custom_objects,
                                    printable_module_name="initializer")


def get(identifier):
    """An initializer from a name, a config dict, an instance, a class or any callable."""
    return get_from_identifier(identifier, deserialize, "initializer", instantiate_classes=True)
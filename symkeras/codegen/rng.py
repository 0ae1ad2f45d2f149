"""The counter-based random generator both backends implement bit for bit.

Values are a pure function of (seed, counter, stream, element index), so a generated
function draws the same numbers in NumPy and in C, on any batch size split, and a
training run is reproducible from the seed alone. All arithmetic is modulo 2**64.

    mix(z)  = splitmix64 finaliser:  z ^= z >> 30; z *= 0xBF58476D1CE4E5B9;
                                     z ^= z >> 27; z *= 0x94D049BB133111EB; z ^= z >> 31
    key     = mix(mix(seed + GOLDEN * (stream + 1)) ^ counter)
    bits(i) = mix(key + GOLDEN * (i + 1))
    uniform float32: (bits >> 40) * 2**-24       float64: (bits >> 11) * 2**-53
    normal (Box-Muller, one value per element i, from bits(2i) and bits(2i+1)):
        u1 = ((bits(2i) >> 40) + 1) * 2**-24  (in (0, 1]),  u2 = (bits(2i+1) >> 40) * 2**-24
        z  = sqrt(-2 log u1) * cos(2 pi u2)      (float64 variant: 53-bit fractions)
"""

import numpy as np

GOLDEN = 0x9E3779B97F4A7C15
M1 = 0xBF58476D1CE4E5B9
M2 = 0x94D049BB133111EB


def _mix(z):
    z = np.asarray(z, dtype=np.uint64)
    with np.errstate(over="ignore"):
        z = (z ^ (z >> np.uint64(30))) * np.uint64(M1)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(M2)
    return z ^ (z >> np.uint64(31))


def _key(seed, counter, stream):
    with np.errstate(over="ignore"):
        start = np.uint64(np.int64(seed).astype(np.uint64)) + np.uint64(GOLDEN) * np.uint64(stream + 1)
    return _mix(_mix(start) ^ np.int64(counter).astype(np.uint64))


def _bits(k, index):
    with np.errstate(over="ignore"):
        return _mix(k + np.uint64(GOLDEN) * (index.astype(np.uint64) + np.uint64(1)))


def _fraction(b, dtype, plus_one=False):
    if dtype == "float64":
        v = (b >> np.uint64(11)).astype(np.float64) + (1.0 if plus_one else 0.0)
        return v * 2.0 ** -53
    v = (b >> np.uint64(40)).astype(np.float32) + np.float32(1.0 if plus_one else 0.0)
    return v * np.float32(2.0 ** -24)


def draw(state, size, distribution, stream, dtype):
    """Reference draw: ``size`` numbers for state (seed, counter)."""
    k = _key(state[0], state[1], stream)
    if distribution == "uniform":
        return _fraction(_bits(k, np.arange(size)), dtype).astype(dtype)
    i = np.arange(size)
    u1 = _fraction(_bits(k, 2 * i), dtype, plus_one=True)
    u2 = _fraction(_bits(k, 2 * i + 1), dtype)
    ftype = np.dtype(dtype).type
    r = np.sqrt(ftype(-2.0) * np.log(u1))
    return (r * np.cos(ftype(2.0 * np.pi) * u2)).astype(dtype)

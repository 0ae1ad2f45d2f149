"""erf as an elementwise primitive: values against ``math.erf`` on both backends and dtypes,
the derivative SymPy gives it, and the NumPy helper written only into modules that call it.

C calls libm's ``erf``/``erff``; NumPy has no erf, so a generated module that needs one carries
``_sk_erf`` (fdlibm's rational approximations, evaluated in float64).
"""

import functools
import math
import re

import numpy as np
import pytest
import sympy

import symkeras.backend as K
from symkeras.codegen.c import build as cbuild
from symkeras.codegen.c import render as c_render
from symkeras.codegen.schedule import lower
from symkeras.ir import FunctionGraph, build as B, gradients, ops as O, scalar
from symkeras.ir.passes import optimize

SPECIAL = [0.0, -0.0, np.inf, -np.inf, np.nan]


def _grid(dtype):
    """Dense on [-6, 6] (the boundaries of every approximation interval inside), the tails out
    to 30, tiny and subnormal magnitudes of the dtype, and both signs of each."""
    tiny = np.finfo(dtype).smallest_subnormal
    magnitudes = np.concatenate([
        np.linspace(0, 6, 60001),
        np.geomspace(6, 30, 200),
        np.geomspace(tiny, 1e-3, 2000),
        [2.0 ** -28, 0.84375, 1.25, 1 / 0.35, 1.0, 2.0, 4.0],
    ])
    values = np.concatenate([magnitudes, -magnitudes]).astype(dtype)
    return np.concatenate([values, np.array(SPECIAL, dtype=dtype)])


def _reference(x, backend="numpy"):
    """math.erf of each value, rounded to x's dtype (correct to within libm's last bit).

    Generated C runs with denormals flushed to zero (FTZ|DAZ, see templates/c/function.c.j2):
    there a subnormal input or result is a zero of its sign.
    """
    ref = np.array([math.erf(float(v)) for v in x], dtype=np.float64).astype(x.dtype)
    if backend == "c":
        flushed = (np.abs(x) < np.finfo(x.dtype).tiny) | (np.abs(ref) < np.finfo(x.dtype).tiny)
        ref = np.where(flushed, np.copysign(0, x), ref).astype(x.dtype)
    return ref


def _ulps(y, ref):
    """|y - ref| in units of the last place of ref (0 where both are the same NaN or infinity)."""
    same = (y == ref) | (np.isnan(y) & np.isnan(ref))
    return np.where(same, 0.0, np.abs(y.astype(np.float64) - ref) / np.spacing(np.abs(ref)))


@functools.lru_cache(maxsize=None)
def _erf_function(backend, dtype):
    """x -> [erf(x), d sum(erf(x)) / dx]."""
    x = K.placeholder((None,), dtype=dtype, name="x")
    y = K.erf(x)
    return K.function([x], [y, K.gradients(K.sum(y), [x])[0]], backend=backend, name=f"erf_{dtype}")


def _erf(backend, x):
    return _erf_function(backend, x.dtype.name)([x])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_erf_within_one_ulp_of_math_erf(backend, dtype):
    x = _grid(dtype)
    y, _ = _erf(backend, x)
    assert y.dtype == dtype
    ref = _reference(x, backend)
    ulps = _ulps(y, ref)
    assert ulps.max() <= 1.0, f"{ulps.max()} ulp at x = {x[ulps.argmax()]!r}"
    assert np.array_equal(np.signbit(y), np.signbit(ref))
    if dtype == "float64":
        np.testing.assert_allclose(y, ref, rtol=1e-15, atol=1e-300)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_erf_special_values(backend, dtype):
    y, _ = _erf(backend, np.array(SPECIAL + [1e-30, -40.0], dtype=dtype))
    assert y[0] == 0 and not np.signbit(y[0])
    assert y[1] == 0 and np.signbit(y[1])                    # erf is odd: -0 stays -0
    assert y[2] == 1.0 and y[3] == -1.0
    assert np.isnan(y[4])
    assert _ulps(y[5:6], _reference(np.array([1e-30], dtype=dtype))) <= 1.0      # x (2 / sqrt(pi))
    assert y[6] == -1.0


@pytest.mark.skipif(not cbuild.compiler_available(), reason="no C compiler")
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_numpy_and_c_agree_to_one_ulp(dtype):
    x = _grid(dtype)
    x = x[~(np.abs(x) < np.finfo(dtype).tiny) | (x == 0)]       # C flushes subnormals (see above)
    (y_numpy, _), (y_c, _) = _erf("numpy", x), _erf("c", x)
    assert _ulps(y_numpy, y_c).max() <= 1.0


def test_erf_derivative_is_the_gaussian(backend):
    x = np.linspace(-6, 6, 1201)
    _, grad = _erf(backend, x)
    np.testing.assert_allclose(grad, 2 / math.sqrt(math.pi) * np.exp(-x ** 2), rtol=1e-14, atol=1e-300)


def test_erf_of_a_scalar_tensor(backend):
    x = K.placeholder((None, 3), dtype="float64", name="x")
    f = K.function([x], [K.erf(K.sum(x))], backend=backend, name="erf_scalar")
    (y,) = f([np.array([[0.25, -1.0, 0.5]])])
    assert y.shape == () and y == pytest.approx(math.erf(-0.25), rel=1e-15)


# ----------------------------------------------------------------------------- generated source

def test_numpy_helper_only_in_modules_that_call_erf():
    x = K.placeholder((None, 2), dtype="float64", name="x")
    with_erf = K.function([x], [K.erf(x) + K.tanh(x)], backend="numpy", name="uses_erf").source
    without = K.function([x], [K.tanh(x) * 2.0], backend="numpy", name="no_erf").source
    assert "def _sk_erf(" in with_erf and "_sk_erf(" in with_erf.split("def _sk_erf(")[1]
    assert "_sk_erf" not in without
    assert "scipy" not in with_erf and "math." not in with_erf


def _c_kernels(dtype):
    """The rendered C (no compiler needed) of erf and its derivative, comments removed."""
    x = O.placeholder((None, 2), dtype=dtype, name="x")
    y = B.ew(sympy.erf(scalar.X[0]), x)
    graph = FunctionGraph.from_pairs([x], [y, gradients(B.reduce("sum", y), [x])[0]], [], name="erf")
    source = c_render.render(lower(optimize(graph), "erf")).source
    return re.sub(r"/\*.*?\*/", "", source[source.index("#define SK_ROUND64"):], flags=re.S)


def test_float32_c_calls_erff_and_no_double_math():
    code = _c_kernels("float32")
    assert "erff(" in code and "expf(" in code
    assert not re.search(r"\b(erf|exp|sqrt)\(", code) and "double" not in code


def test_float64_c_calls_erf():
    code = _c_kernels("float64")
    assert "erf(" in code and "exp(" in code
    assert not re.search(r"\b(erff|expf|sqrtf)\(", code)

"""float32 sigmoid and tanh in C are the template's branch-free versions (they vectorise; libm's
are a call per element): within 3 ulp of the exact values over their whole range, with IEEE
special values and signed zeros kept."""

import numpy as np
import pytest

import symkeras.backend as K


def _ulps(got, exact):
    exact32 = exact.astype(np.float32)
    spacing = np.spacing(np.abs(exact32)).astype(np.float64)
    normal = np.isfinite(exact) & (np.abs(exact) >= np.finfo(np.float32).tiny)
    return np.abs(got[normal].astype(np.float64) - exact[normal]) / spacing[normal]


@pytest.fixture(scope="module")
def activations():
    x = K.placeholder((None,), dtype="float32", name="x")
    f = K.function([x], [K.sigmoid(x), K.tanh(x)], backend="c", name="float_activations")
    return f


def test_sigmoid_and_tanh_within_three_ulp(activations):
    tiny = np.geomspace(1e-30, 1e-2, 20001)
    x = np.concatenate([np.linspace(-110, 110, 400001), np.linspace(-1, 1, 400001), tiny, -tiny,
                        np.linspace(85, 90, 2001), -np.linspace(85, 90, 2001)]).astype(np.float32)
    sigmoid, tanh = activations([x])
    exact = x.astype(np.float64)
    assert _ulps(sigmoid, 1 / (1 + np.exp(-exact))).max() <= 3
    assert _ulps(tanh, np.tanh(exact)).max() <= 3


def test_special_values(activations):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1e30, -1e30, 200.0, -200.0], np.float32)
    sigmoid, tanh = activations([x])
    np.testing.assert_array_equal(sigmoid, [0.5, 0.5, 1, 0, np.nan, 1, 0, 1, 0])
    np.testing.assert_array_equal(tanh, [0, -0.0, 1, -1, np.nan, 1, -1, 1, -1])
    assert np.signbit(tanh[1]) and not np.signbit(tanh[0])


def test_the_float_source_calls_no_libm_exponential(activations):
    source = activations.source
    body = source[source.index("SK_FTZ_BEGIN();"):]
    assert "sk_sigmoidf(" in body and "sk_tanhf(" in body
    assert "tanhf(" not in body.replace("sk_tanhf(", "") and "expf(" not in body

"""The sliding-window ops (im2col's gather and its scatter-add adjoint) against direct loops,
on every backend. Their gradients are checked by finite differences in test_gradients.py."""

import itertools

import numpy as np
import pytest

import symkeras.backend as K
from symkeras.ir import ops as O

GEOMETRIES = {
    "2d_same_strided": ((5, 6), (3, 2), (1, 2), (1, 1), (1, 0), (1, 1)),
    "1d_dilated_padded": ((7,), (3,), (2,), (2,), (2,), (1,)),
    "3d_valid": ((4, 4, 3), (2, 2, 2), (1, 1, 1), (1, 1, 1), (0, 0, 0), (0, 0, 0)),
    "2d_window_is_input": ((3, 3), (3, 3), (1, 1), (1, 1), (0, 0), (0, 0)),
    "2d_tiles": ((4, 6), (2, 3), (2, 3), (1, 1), (0, 0), (0, 0)),    # pooling windows that tile the input
}


def reference_windows(x, w, pad_value):
    """Direct loops over output and window positions (no strided views)."""
    out = np.full((x.shape[0],) + w.out_spatial + w.size + (x.shape[-1],), pad_value, x.dtype)
    for o in itertools.product(*map(range, w.out_spatial)):
        for k in itertools.product(*map(range, w.size)):
            at = [o[j] * w.strides[j] + k[j] * w.dilation[j] - w.pad_before[j] for j in range(len(o))]
            if all(0 <= at[j] < w.spatial[j] for j in range(len(o))):
                out[(slice(None),) + o + k] = x[(slice(None),) + tuple(at)]
    return out


def reference_scatter(g, w, channels):
    out = np.zeros((g.shape[0],) + w.spatial + (channels,), g.dtype)
    for o in itertools.product(*map(range, w.out_spatial)):
        for k in itertools.product(*map(range, w.size)):
            at = [o[j] * w.strides[j] + k[j] * w.dilation[j] - w.pad_before[j] for j in range(len(o))]
            if all(0 <= at[j] < w.spatial[j] for j in range(len(o))):
                out[(slice(None),) + tuple(at)] += g[(slice(None),) + o + k]
    return out


@pytest.fixture(scope="module", params=sorted(GEOMETRIES))
def geometry(request):
    return request.param, O.Window(*GEOMETRIES[request.param])


@pytest.mark.parametrize("pad_value", [0.0, -np.inf])
def test_window_gather_matches_direct_loops(backend, geometry, pad_value):
    name, w = geometry
    x = K.placeholder((None,) + w.spatial + (3,), name="x")
    f = K.function([x], [O.WindowGather(w, pad_value)(x)], backend=backend, name=f"gather_{name}")
    values = np.random.RandomState(0).randn(2, *w.spatial, 3).astype("float32")
    np.testing.assert_array_equal(f([values])[0], reference_windows(values, w, pad_value))


def test_window_scatter_matches_direct_loops(backend, geometry):
    name, w = geometry
    g = K.placeholder((None,) + w.out_spatial + w.size + (2,), name="g", dtype="float64")
    f = K.function([g], [O.WindowScatter(w)(g)], backend=backend, name=f"scatter_{name}")
    values = np.random.RandomState(1).randn(3, *w.out_spatial, *w.size, 2)
    np.testing.assert_allclose(f([values])[0], reference_scatter(values, w, 2), rtol=1e-12, atol=1e-12)


def test_window_geometry_is_checked():
    with pytest.raises(ValueError, match="does not fit"):
        O.Window((2, 2), (3, 3), (1, 1), (1, 1), (0, 0), (0, 0))
    with pytest.raises(ValueError, match="positive"):
        O.Window((4,), (2,), (0,), (1,), (0,), (0,))
    with pytest.raises(ValueError, match="one value per spatial axis"):
        O.Window((4, 4), (2,), (1, 1), (1, 1), (0, 0), (0, 0))
    w = O.Window((4, 4), (2, 2), (1, 1), (1, 1), (0, 0), (0, 0))
    with pytest.raises(ValueError, match="spatial axes"):
        O.WindowGather(w)(K.placeholder((None, 5, 4, 1)))
    assert O.WindowGather(w) == O.WindowGather(O.Window((4, 4), (2, 2), (1, 1), (1, 1), (0, 0), (0, 0)))


def reference_max(x, w):
    """Each window's maximum over its positions inside the input, and the flat index (into x) of
    the first position holding it."""
    n, c = x.shape[0], x.shape[-1]
    best = np.full((n,) + w.out_spatial + (c,), -np.inf, x.dtype)
    first = np.full(best.shape, -1)
    flat = np.arange(x.size).reshape(x.shape)
    for o in itertools.product(*map(range, w.out_spatial)):
        for k in itertools.product(*map(range, w.size)):
            at = [o[j] * w.strides[j] + k[j] * w.dilation[j] - w.pad_before[j] for j in range(len(o))]
            if all(0 <= at[j] < w.spatial[j] for j in range(len(o))):
                value, index = x[(slice(None),) + tuple(at)], flat[(slice(None),) + tuple(at)]
                wins = (first[(slice(None),) + o] < 0) | (value > best[(slice(None),) + o])
                best[(slice(None),) + o] = np.where(wins, value, best[(slice(None),) + o])
                first[(slice(None),) + o] = np.where(wins, index, first[(slice(None),) + o])
    return best, first


def test_window_max_and_its_gradient_match_direct_loops(backend, geometry):
    name, w = geometry
    x = K.placeholder((None,) + w.spatial + (3,), name="x", dtype="float64")
    g = K.placeholder((None,) + w.out_spatial + (3,), name="g", dtype="float64")
    f = K.function([x, g], [O.WindowMax(w)(x), O.WindowMaxGrad(w)(x, g)], backend=backend, name=f"max_{name}")
    rng = np.random.RandomState(4)
    values = rng.randint(-3, 4, size=(2,) + w.spatial + (3,)).astype("float64")     # many ties: first wins
    grads = rng.randn(2, *w.out_spatial, 3)
    best, first = reference_max(values, w)
    expected_grad = np.zeros(values.size)
    np.add.at(expected_grad, first.reshape(-1), grads.reshape(-1))
    out, grad = f([values, grads])
    np.testing.assert_array_equal(out, best)
    np.testing.assert_allclose(grad, expected_grad.reshape(values.shape), rtol=1e-12, atol=1e-12)


def test_window_max_propagates_nan(backend):
    w = O.Window((4,), (2,), (2,), (1,), (0,), (0,))
    x = K.placeholder((None, 4, 1), name="x")
    f = K.function([x], [O.WindowMax(w)(x)], backend=backend, name="max_nan")
    out = f([np.array([[[1.0], [np.nan], [3.0], [2.0]]], "float32")])[0]
    assert np.isnan(out[0, 0, 0]) and out[0, 1, 0] == 3.0

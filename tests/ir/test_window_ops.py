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

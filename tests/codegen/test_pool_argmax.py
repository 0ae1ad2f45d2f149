"""Max pooling whose gradient is in the same function takes the winning positions from the forward
pass (``pool_argmax_from_forward``: the ``window_max_arg`` and ``window_max_grad_at`` kernels), and
applies the activation's derivative as it stores them (``direct_pool_grad_epilogues``): the same
maxima and gradients as with either pass switched off, on both backends, with ties, NaN and
infinities, padding, strides and overlapping windows; the gradient against direct loops."""

import itertools

import numpy as np
import pytest

import symkeras.backend as K
from symkeras.ir import ops as O
from symkeras.runtime.function import GeneratedFunction

GEOMETRIES = {
    "2d_tiles": ((6, 4), (2, 2), (2, 2), (1, 1), (0, 0), (0, 0)),
    "2d_same_overlapping": ((5, 6), (3, 2), (1, 2), (1, 1), (1, 0), (1, 1)),
    "1d_dilated_padded": ((7,), (3,), (2,), (2,), (2,), (1,)),
    "3d_valid": ((4, 4, 3), (2, 2, 2), (1, 1, 1), (1, 1, 1), (0, 0, 0), (0, 0, 0)),
}


def _graph(name, w, channels):
    x = K.placeholder((None,) + w.spatial + (channels,), name="x", dtype="float64")
    g = K.placeholder((None,) + w.out_spatial + (channels,), name="g", dtype="float64")
    return K.function_graph([x, g], [O.WindowMax(w)(x), O.WindowMaxGrad(w)(x, g)], name=name)


def _values(w, channels, batch=2, seed=0):
    rng = np.random.RandomState(seed)
    x = rng.randint(-2, 3, size=(batch,) + w.spatial + (channels,)).astype("float64")   # many ties
    x.reshape(-1)[::7] = np.nan
    x.reshape(-1)[3::11] = -np.inf
    x.reshape(-1)[5::13] = np.inf
    return x, rng.randn(batch, *w.out_spatial, channels)


def reference_grad(x, g, w):
    """Each window's gradient added at its first position (inside the input) holding the maximum,
    a NaN winning over any number."""
    out = np.zeros_like(x)
    for n, c in itertools.product(range(x.shape[0]), range(x.shape[-1])):
        for o in itertools.product(*map(range, w.out_spatial)):
            best, won = None, None
            for k in itertools.product(*map(range, w.size)):
                at = tuple(o[j] * w.strides[j] + k[j] * w.dilation[j] - w.pad_before[j] for j in range(len(o)))
                if not all(0 <= at[j] < w.spatial[j] for j in range(len(o))):
                    continue
                v = x[(n,) + at + (c,)]
                if won is None or v > best or (np.isnan(v) and not np.isnan(best)):
                    best, won = v, at
            out[(n,) + won + (c,)] += g[(n,) + o + (c,)]
    return out


@pytest.mark.parametrize("name", sorted(GEOMETRIES))
def test_forward_positions_give_the_gradient_of_the_search(backend, name, monkeypatch):
    w = O.Window(*GEOMETRIES[name])
    x, g = _values(w, 3)
    fused = GeneratedFunction(_graph(f"argmax_{name}", w, 3), backend=backend)
    assert "window_max_arg" in fused.source and "window_max_grad_at" in fused.source
    monkeypatch.setenv("SYMKERAS_DISABLE_PASSES", "pool_argmax_from_forward")
    plain = GeneratedFunction(_graph(f"search_{name}", w, 3), backend=backend)
    assert "window_max_arg" not in plain.source
    (best, grad), (best_plain, grad_plain) = fused([x, g]), plain([x, g])
    np.testing.assert_array_equal(best, best_plain)
    np.testing.assert_allclose(grad, grad_plain, rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(grad, reference_grad(x, g, w), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("switched_off,pool", [("pool_argmax_from_forward", dict(pool_size=2, padding="same")),
                                                ("direct_pool_grad_epilogues", dict(pool_size=2)),
                                                ("direct_pool_grad_epilogues", dict(pool_size=3))])
def test_a_pooled_conv_trains_the_same_either_way(backend, monkeypatch, switched_off, pool):
    """Conv2D(relu) then MaxPooling2D (windows that tile the conv's output, or not): one batch of 1,
    the gradients of every weight."""
    from symkeras.layers import Conv2D, Flatten, Input, MaxPooling2D
    from symkeras.models import Model
    K.clear_session()
    image = Input((8, 6, 5))
    model = Model(image, Flatten()(MaxPooling2D(**pool)(Conv2D(3, 3, activation="relu")(image))))
    for i, v in enumerate(model.weights):
        K.set_value(v, np.random.RandomState(i).randn(*v.shape))
    loss = K.sum(model.outputs[0] ** 2)
    inputs = [model.inputs[0]]
    grads = K.gradients(loss, model.weights)
    data = [np.random.RandomState(9).randn(1, 8, 6, 5).astype("float32")]
    fused = K.function(inputs, grads, backend=backend)
    if switched_off == "direct_pool_grad_epilogues" and backend == "c":     # the relu's mask in the pooling's loop
        assert ("; then" in fused.source) == (pool["pool_size"] == 2)
    monkeypatch.setenv("SYMKERAS_DISABLE_PASSES", switched_off)
    plain = K.function(inputs, grads, backend=backend)
    assert (plain.source != fused.source) == (switched_off == "pool_argmax_from_forward" or pool["pool_size"] == 2)
    fused, plain = fused(data), plain(data)
    for a, b in zip(fused, plain):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-6)

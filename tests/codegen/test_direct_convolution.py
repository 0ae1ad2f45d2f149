"""Narrow convolutions computed directly (``direct_narrow_convolutions``: the ``window_conv`` and
``window_conv_filter_grad`` kernels), their bias and activation done as the sums are stored
(``direct_conv_epilogues``): outputs and kernel gradients against direct loops written here, on
both backends, for strides, dilations, 'same' and 'valid' padding, 1, 3 and 5 channels and a batch
of 1; the same numbers with either pass switched off; finite differences in float64."""

import itertools

import numpy as np
import pytest

import symkeras.backend as K
from symkeras.codegen import program_passes
from symkeras.runtime.function import GeneratedFunction

# (input spatial, channels, kernel size, strides, dilation, padding, filters)
CASES = {
    "2d_valid_1ch": ((9, 8), 1, (3, 3), (1, 1), (1, 1), "valid", 32),
    "2d_same_strided_3ch": ((7, 6), 3, (3, 3), (2, 1), (1, 1), "same", 5),
    "2d_same_dilated_3ch": ((7, 9), 3, (3, 2), (1, 1), (2, 2), "same", 4),
    "2d_valid_strided_5ch": ((8, 7), 5, (2, 3), (1, 2), (1, 1), "valid", 3),
    "1d_causal_dilated_1ch": ((11,), 1, (3,), (1,), (2,), "causal", 7),
    "3d_same_1ch": ((4, 5, 3), 1, (2, 3, 2), (1, 1, 2), (1, 1, 1), "same", 2),
}


def _pads(spatial, size, strides, dilation, padding):
    if padding == "valid":
        return [(0, 0)] * len(spatial)
    if padding == "causal":
        return [((size[0] - 1) * dilation[0], 0)]
    pads = []
    for n, k, s, d in zip(spatial, size, strides, dilation):
        total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
        pads.append((total // 2, total - total // 2))
    return pads


def reference_conv(x, w, strides, dilation, pads):
    """y[n, o, f] = sum over window positions k and channels c of x[n, o*s + k*d - pad, c] * w[k, c, f]."""
    size, spatial = w.shape[:-2], x.shape[1:-1]
    out = [(n + b + a - d * (k - 1) - 1) // s + 1 for n, k, s, d, (b, a) in zip(spatial, size, strides, dilation, pads)]
    y = np.zeros((x.shape[0], *out, w.shape[-1]))
    for o in itertools.product(*map(range, out)):
        for k in itertools.product(*map(range, size)):
            at = [o[j] * strides[j] + k[j] * dilation[j] - pads[j][0] for j in range(len(o))]
            if all(0 <= at[j] < spatial[j] for j in range(len(o))):
                y[(slice(None),) + o] += x[(slice(None),) + tuple(at)] @ w[k]
    return y


def reference_kernel_grad(x, g, size, strides, dilation, pads):
    """dw[k, c, f] = sum over samples and output positions o of x[n, o*s + k*d - pad, c] * g[n, o, f]."""
    spatial = x.shape[1:-1]
    dw = np.zeros(tuple(size) + (x.shape[-1], g.shape[-1]))
    for o in itertools.product(*map(range, g.shape[1:-1])):
        for k in itertools.product(*map(range, size)):
            at = [o[j] * strides[j] + k[j] * dilation[j] - pads[j][0] for j in range(len(o))]
            if all(0 <= at[j] < spatial[j] for j in range(len(o))):
                dw[k] += x[(slice(None),) + tuple(at)].T @ g[(slice(None),) + o]
    return dw


_CONV = {1: K.conv1d, 2: K.conv2d, 3: K.conv3d}


def _function(case, dtype, name, training=True):
    """(function of (x, r) -> [y = relu(conv(x) + bias), d sum(y*r)/d kernel, d sum(y*r)/dx], the
    kernel and bias variables); without ``training``, of x -> [y]."""
    spatial, channels, size, strides, dilation, padding, filters = CASES[case]
    x = K.placeholder((None,) + spatial + (channels,), name="x", dtype=dtype)
    kernel = K.variable(np.random.RandomState(1).randn(*size, channels, filters), dtype=dtype, name="kernel")
    bias = K.variable(np.random.RandomState(5).randn(filters), dtype=dtype, name="bias")
    y = K.relu(K.bias_add(_CONV[len(spatial)](x, kernel, strides=strides, padding=padding, dilation_rate=dilation),
                          bias))
    if not training:
        return K.function_graph([x], [y], name=name), kernel, bias
    r = K.placeholder((None,) + K.int_shape(y)[1:], name="r", dtype=dtype)
    loss = K.sum(y * r)
    return K.function_graph([x, r], [y] + K.gradients(loss, [kernel, x]), name=name), kernel, bias


def _data(case, batch, dtype, seed=2):
    spatial, channels, size, strides, dilation, padding, filters = CASES[case]
    rng = np.random.RandomState(seed)
    x = rng.randn(batch, *spatial, channels).astype(dtype)
    pads = _pads(spatial, size, strides, dilation, padding)
    out = [(n + b + a - d * (k - 1) - 1) // s + 1 for n, k, s, d, (b, a) in zip(spatial, size, strides, dilation, pads)]
    r = rng.randn(batch, *out, filters).astype(dtype)
    return x, r, pads


@pytest.mark.parametrize("batch", [1, 3])
@pytest.mark.parametrize("case", sorted(CASES))
def test_direct_convolution_matches_direct_loops(backend, case, batch):
    graph, kernel, bias = _function(case, "float32", f"direct_{case}")
    f = GeneratedFunction(graph, backend=backend)
    assert "window_conv " in f.source and "window_conv_filter_grad" in f.source and "window_gather" not in f.source
    predict = GeneratedFunction(_function(case, "float32", f"direct_predict_{case}", training=False)[0],
                                backend=backend)
    spatial, channels, size, strides, dilation, padding, filters = CASES[case]
    x, r, pads = _data(case, batch, "float32")
    y, dw, dx = f([x, r])
    w, b = K.get_value(kernel).astype("float64"), K.get_value(bias).astype("float64")
    expected = np.maximum(reference_conv(x.astype("float64"), w, strides, dilation, pads) + b, 0)
    np.testing.assert_allclose(y, expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(predict([x])[0], expected, rtol=1e-5, atol=1e-5)
    live = (expected > 0) * r.astype("float64")              # the gradient the relu lets through
    np.testing.assert_allclose(dw, reference_kernel_grad(x.astype("float64"), live, size, strides, dilation, pads),
                               rtol=1e-5, atol=1e-4)
    assert dx.shape == x.shape
    if backend == "c":       # bias and relu are done as the sums are stored: the sums never reach memory
        assert "; then" in predict.source


@pytest.mark.parametrize("switched_off", ["direct_narrow_convolutions", "direct_conv_epilogues"])
@pytest.mark.parametrize("case", sorted(CASES))
def test_the_same_numbers_without_the_pass(backend, case, switched_off, monkeypatch):
    x, r, _ = _data(case, 2, "float64", seed=3)
    direct = GeneratedFunction(_function(case, "float64", f"direct64_{case}")[0], backend=backend)
    monkeypatch.setenv("SYMKERAS_DISABLE_PASSES", switched_off)
    plain = GeneratedFunction(_function(case, "float64", f"plain64_{case}")[0], backend=backend)
    assert plain.source != direct.source
    if switched_off == "direct_narrow_convolutions":
        assert "window_conv" not in plain.source and "window_gather" in plain.source
    for got, want in zip(direct([x, r]), plain([x, r])):
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)


def test_kernel_gradient_matches_finite_differences(backend):
    case = "2d_same_strided_3ch"
    graph, kernel, _ = _function(case, "float64", "direct_fd")
    f = GeneratedFunction(graph, backend=backend)
    x, r, _ = _data(case, 2, "float64", seed=4)
    start = K.get_value(kernel)

    def loss_at(w):
        K.set_value(kernel, w)
        return float(np.sum(f([x, r])[0] * r))
    numeric = np.zeros_like(start)
    for i in np.ndindex(start.shape):
        up, down = start.copy(), start.copy()
        up[i] += 1e-6
        down[i] -= 1e-6
        numeric[i] = (loss_at(up) - loss_at(down)) / 2e-6
    K.set_value(kernel, start)
    np.testing.assert_allclose(f([x, r])[1], numeric, rtol=1e-6, atol=1e-7)


def test_wide_windows_stay_a_matrix_product(backend):
    """Windows deeper than DIRECT_CONV_MAX_DEPTH (3x3 of 4 channels: 36) keep im2col and GEMM."""
    x = K.placeholder((None, 6, 6, 4), name="x")
    kernel = K.variable(np.ones((3, 3, 4, 2)), name="kernel")
    f = GeneratedFunction(K.function_graph([x], [K.conv2d(x, kernel)], name="wide"), backend=backend)
    assert 3 * 3 * 4 > program_passes.DIRECT_CONV_MAX_DEPTH
    assert "window_conv" not in f.source and "window_gemm" in f.source

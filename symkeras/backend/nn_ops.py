"""Neural-network functions of the Keras 2 backend: cross-entropies (as the Keras 2.2 TensorFlow
backend computes them), batch statistics for normalization, top-k membership and the locally
connected (unshared-weight) convolutions."""

import sympy

from symkeras import backend as K
from symkeras.ir import build as B
from symkeras.ir import dims, scalar
from symkeras.ir import ops as O

X = scalar.X


def _class_axis(output, axis, name):
    if axis != -1 and axis not in range(output.ndim):
        raise ValueError(f"{name}: Unexpected channels axis {axis}. Expected to be -1 or one of the axes of "
                         f"`output`, which has {output.ndim} dimensions.")
    return axis % output.ndim


def categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """``-sum(target * log(output), axis)``: probabilities are first scaled to sum to 1 and
    clipped to ``[epsilon, 1 - epsilon]``; logits go through ``log_softmax``."""
    output = K._tensor(output)
    target = K._tensor(target, output.dtype)
    axis = _class_axis(output, axis, "categorical_crossentropy")
    if from_logits:
        return -K.sum(target * K.log_softmax(output, axis), axis)
    output = output / K.sum(output, axis, keepdims=True)
    eps = K.epsilon()
    return -K.sum(target * K.log(K.clip(output, eps, 1.0 - eps)), axis)


def sparse_categorical_crossentropy(target, output, from_logits=False, axis=-1):
    """The categorical cross-entropy of integer labels ``target`` (one per row of ``output``:
    shape ``output.shape[:-1]``, or that with a trailing 1). Probabilities are clipped to
    ``[epsilon, 1 - epsilon]`` and their log taken as logits; logits go through ``log_softmax``
    (so probabilities are normalised too). Result: ``output``'s shape without the class axis."""
    output = K._tensor(output)
    axis = _class_axis(output, axis, "sparse_categorical_crossentropy")
    if axis != output.ndim - 1:
        output = B.transpose(output, [a for a in range(output.ndim) if a != axis] + [axis])
    if not from_logits:
        eps = K.epsilon()
        output = K.log(K.clip(output, eps, 1.0 - eps))
    target = K._tensor(target)
    rows = output.shape[:-1]
    if dims.size(target.shape) != dims.size(rows):
        raise ValueError(f"sparse_categorical_crossentropy: `target` of shape {K.int_shape(target)} does not "
                         f"hold one label per row of `output` {K.int_shape(output)}")
    labels = B.reshape(K.cast(target, "int64") if target.dtype != "int64" else target, rows)
    picked = O.OneHot(output.shape[-1], output.dtype)(labels)
    return -K.sum(picked * K.log_softmax(output, -1), -1)


def binary_crossentropy(target, output, from_logits=False):
    """Elementwise ``-(t log p + (1 - t) log(1 - p))``: probabilities are clipped to
    ``[epsilon, 1 - epsilon]`` and turned into logits ``log(p / (1 - p))``; from logits z it is
    ``softplus(z) - t z`` (TensorFlow's sigmoid cross-entropy with logits)."""
    output = K._tensor(output)
    target = K._tensor(target, output.dtype)
    if not from_logits:
        eps = K.epsilon()
        p = K.clip(output, eps, 1.0 - eps)
        output = B.ew(sympy.log(X[0] / (1 - X[0])), p)
    return B.ew(scalar.softplus(X[0]) - X[0] * X[1], output, target)


def normalize_batch_in_training(x, gamma, beta, reduction_axes, epsilon=1e-3):
    """``(normed, mean, variance)`` of ``x`` over ``reduction_axes``: ``x`` normalised by its batch
    statistics, then ``* gamma + beta`` (either may be None; they have the shape of the axes
    kept, or x's rank). ``mean`` and ``variance`` have the kept axes only.

    As Keras 2.2 on TensorFlow: a rank-4 input reduced over (0, 1, 2) or (0, 2, 3) goes through
    the fused batch norm, whose returned variance is the unbiased one (``n / (n - 1)`` times the
    variance it normalises by); otherwise the variance is the population variance."""
    x = K._tensor(x)
    axes = dims.normalize_axes(tuple(reduction_axes), x.ndim)
    if not axes:
        raise ValueError("normalize_batch_in_training: `reduction_axes` must name at least one axis")
    kept = tuple(d for i, d in enumerate(x.shape) if i not in axes)
    target = tuple(1 if i in axes else d for i, d in enumerate(x.shape))
    mean_kd = K.mean(x, axes, keepdims=True)
    var_kd = K.mean(K.square(x - mean_kd), axes, keepdims=True)
    operands = [x, mean_kd, var_kd]
    expr = (X[0] - X[1]) / sympy.sqrt(X[2] + sympy.Float(epsilon))
    for name, param in (("gamma", gamma), ("beta", beta)):
        if param is None:
            continue
        param = K._tensor(param, x.dtype)
        if param.ndim != x.ndim:
            if dims.size(param.shape) != dims.size(kept):
                raise ValueError(f"normalize_batch_in_training: `{name}` of shape {K.int_shape(param)} does not "
                                 f"fit the kept axes {dims.to_keras(kept)}")
            param = B.reshape(param, target)
        operands.append(param)
        expr = expr * X[len(operands) - 1] if name == "gamma" else expr + X[len(operands) - 1]
    normed = B.ew(expr, *operands)
    mean, variance = B.reshape(mean_kd, kept), B.reshape(var_kd, kept)
    if x.ndim == 4 and tuple(axes) in ((0, 1, 2), (0, 2, 3)):
        n = sympy.sympify(dims.size([x.shape[a] for a in axes]))
        if n != 1:
            variance = B.ew(X[0] * n / (n - 1), variance)
    return normed, mean, variance


def in_top_k(predictions, targets, k):
    """Whether each row's target class is among its ``k`` largest predictions: a bool tensor
    (batch,). Ties at the boundary count as inside (fewer than ``k`` predictions are larger);
    a non-finite target prediction is never inside."""
    predictions = K._tensor(predictions)
    if predictions.ndim != 2:
        raise ValueError(f"in_top_k: `predictions` must be (batch, classes), got {K.int_shape(predictions)}")
    targets = K._tensor(targets)
    labels = K.cast(B.reshape(targets, predictions.shape[:1]), "int64") if targets.dtype != "int64" else targets
    picked = O.OneHot(predictions.shape[1], predictions.dtype)(labels)
    target_value = K.sum(picked * predictions, -1, keepdims=True)
    larger = K.sum(B.ew(scalar.greater(X[0], X[1]), predictions, target_value), -1)
    finite = B.ew(sympy.Piecewise((1, sympy.Abs(X[0]) < sympy.oo), (0, True)), B.reshape(target_value, larger.shape))
    return B.ew(sympy.Piecewise((1, sympy.And(X[0] < int(k), sympy.Ne(X[1], 0))), (0, True)), larger, finite,
                dtype="bool")


def _local(inputs, kernel, kernel_size, strides, rank, data_format, name):
    """Each output position has its own weights: the windows of the input (batch, *out, taps)
    times, position by position, the kernel (positions, taps, filters)."""
    data_format = K._data_format(data_format)
    x, spatial = K._to_channels_last(K._tensor(inputs), rank, data_format, name)
    kernel = K._tensor(kernel)
    size = K._per_axis(kernel_size, rank, "kernel_size")
    window = O.Window(spatial, size, K._per_axis(strides, rank, "strides"), (1,) * rank, (0,) * rank, (0,) * rank)
    batch, channels, positions = x.shape[0], x.shape[-1], dims.size(window.out_spatial)
    taps = dims.size(size) * channels
    if kernel.ndim != 3 or kernel.shape[:2] != (positions, taps):
        raise ValueError(f"{name}: expected a kernel of shape ({positions}, {taps}, filters), got "
                         f"{K.int_shape(kernel)}")
    cols = O.WindowGather(window)(x)                           # (batch, *out, *size, channels)
    if data_format == "channels_first":                        # Keras flattens (channels, *size)
        cols = B.transpose(cols, tuple(range(rank + 1)) + (2 * rank + 1,) + tuple(range(rank + 1, 2 * rank + 1)))
    cols = B.transpose(B.reshape(cols, (batch, positions, taps)), (1, 0, 2))
    y = B.transpose(B.matmul(cols, kernel), (1, 0, 2))         # (batch, positions, filters)
    y = B.reshape(y, (batch,) + window.out_spatial + (kernel.shape[-1],))
    return K._from_channels_last(y, data_format)


def local_conv1d(inputs, kernel, kernel_size, strides, data_format=None):
    """Locally connected 1D convolution: ``kernel`` is (output_length, kernel_size * channels,
    filters), one weight matrix per output step ('valid' windows)."""
    return _local(inputs, kernel, kernel_size, strides, 1, data_format, "local_conv1d")


def local_conv2d(inputs, kernel, kernel_size, strides, output_shape, data_format=None):
    """Locally connected 2D convolution: ``kernel`` is (rows * cols of the output, kernel rows *
    kernel cols * channels, filters), one weight matrix per output pixel ('valid' windows)."""
    y = _local(inputs, kernel, kernel_size, strides, 2, data_format, "local_conv2d")
    spatial = y.shape[2:] if K._data_format(data_format) == "channels_first" else y.shape[1:-1]
    if tuple(output_shape) != tuple(spatial):
        raise ValueError(f"local_conv2d: `output_shape` {tuple(output_shape)} does not match the windows "
                         f"{tuple(spatial)}")
    return y

"""What the layer tests share: seeded random values, central differences, and the check of a
layer's symbolic gradients against them in float64."""

import numpy as np

import symkeras.backend as K


def rand(*shape, seed=0, lo=-1.0, hi=1.0):
    return np.random.RandomState(seed).uniform(lo, hi, size=shape)


def numeric_gradient(loss_at, value, h=1e-6):
    """Central differences of the scalar ``loss_at`` at ``value``, a step of h*max(1, |v|) per element."""
    grad = np.zeros_like(value)
    for i in np.ndindex(value.shape):
        step = h * max(1.0, abs(value[i]))
        up, down = value.copy(), value.copy()
        up[i] += step
        down[i] -= step
        grad[i] = (loss_at(up) - loss_at(down)) / (2 * step)
    return grad


def check_gradients(output_of, x_value, weights=(), rtol=1e-6, atol=1e-8):
    """d sum(y * r)/d(x and each weight) of ``y = output_of(x)``, for a fixed random ``r``, against
    central differences of the same compiled loss (float64, NumPy backend)."""
    x = K.placeholder(x_value.shape, dtype="float64")
    y = output_of(x)
    loss = K.sum(y * K.constant(rand(*K.int_shape(y), seed=7), dtype="float64"))
    weights = list(weights)
    f = K.function([x], [loss] + K.gradients(loss, [x] + weights), backend="numpy")
    _, *symbolic = f([x_value])
    numeric = [numeric_gradient(lambda v: f([v])[0], x_value)]
    for w in weights:
        start = K.get_value(w)

        def loss_at(v, w=w):
            K.set_value(w, v)
            return f([x_value])[0]
        numeric.append(numeric_gradient(loss_at, start))
        K.set_value(w, start)
    for name, s, n in zip(["x"] + [w.op.storage.name for w in weights], symbolic, numeric):
        np.testing.assert_allclose(s, n, rtol=rtol, atol=atol, err_msg=name)

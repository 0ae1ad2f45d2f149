"""The Keras 2 backend API (``import symkeras.backend as K``) over the symbolic IR.

Every function here builds graph nodes; ``function`` compiles a graph into a
GeneratedFunction (NumPy or C). Semantics follow the Keras 2 TensorFlow backend.
"""

import builtins
import importlib

import numpy as np
import sympy

from symkeras import config, session
from symkeras.backend import state
from symkeras.backend.state import (  # noqa: F401
    get_uid, learning_phase, learning_phase_scope, manual_variable_initialization, reset_uids, set_learning_phase)
from symkeras.ir import build as B
from symkeras.ir import dims, scalar
from symkeras.ir import ops as O
from symkeras.ir.grad import gradients as _gradients
from symkeras.ir.graph import FunctionGraph
from symkeras.ir.node import Node, current_scope, name_scope, scope_of, toposort  # noqa: F401
from symkeras.runtime.function import GeneratedFunction
from symkeras.runtime.inputs import symbolic_shape

X = scalar.X
floatx, set_floatx, epsilon, set_epsilon = config.floatx, config.set_floatx, config.epsilon, config.set_epsilon


# ----------------------------------------------------------------------------- tensors

def clear_session():
    """Reset the automatic layer and model names (``dense``, ``dense_1``, ...), the uids of
    ``get_uid`` and the learning phase."""
    session.reset_layer_names()
    state.reset_uids()
    state.reset_learning_phase()


def is_tensor(x):
    return isinstance(x, Node)


def _tensor(x, dtype=None):
    """A node for ``x``: nodes as they are, numbers and arrays as constants, a dimension that
    holds the batch size (``shape(x)[0]``) as a scalar, ``shape(x)`` as an int32 vector."""
    if isinstance(x, Node):
        return x
    if isinstance(x, sympy.Basic) and x.free_symbols:
        return B.dim_scalar(x, dtype or "int32")
    if isinstance(x, tuple) and hasattr(x, "dtype") or (
            isinstance(x, (tuple, list)) and builtins.any(isinstance(d, sympy.Basic) for d in x)):
        return B.dims_tensor(x, dtype or "int32")
    return O.constant(np.asarray(x, dtype=dtype or floatx()))


def _float_dtype(dtype):
    dtype = np.dtype(dtype or floatx()).name
    if dtype not in ("float32", "float64", "int32", "int64", "bool"):
        raise TypeError(f"dtype: expected float32, float64, int32, int64 or bool, got {dtype!r}")
    return dtype


def placeholder(shape=None, ndim=None, dtype=None, sparse=False, name=None):
    """A symbolic input. ``shape`` includes the batch axis: ``(None, 32)``; a None elsewhere is a
    size of its own, bound from the array fed at each call (``(None, None, 8)``)."""
    if shape is None:
        if ndim is None:
            raise ValueError("placeholder: give shape or ndim")
        shape = (None,) * ndim
    if sparse:
        raise ValueError("placeholder: sparse tensors are not supported")
    shape = tuple(shape)
    name = name or f"placeholder_{session.next_tensor_id()}"
    if shape:
        shape = shape[:1] + symbolic_shape(shape, name)[1:]
    return O.placeholder(shape, dtype=_float_dtype(dtype), name=name)


def variable(value, dtype=None, name=None, constraint=None):
    """A persistent tensor initialised from ``value``; its array is updated in place. A
    ``constraint`` (a callable) is applied after each optimizer update, as a layer weight's."""
    if constraint is not None and not callable(constraint):
        raise TypeError(f"variable: `constraint` must be callable, got {constraint!r}")
    arr = np.array(value, dtype=_float_dtype(dtype))
    storage = O.VariableStorage(arr, name or f"variable_{session.next_tensor_id()}")
    if constraint is not None:
        storage.constraint = constraint
    node = O.variable(storage)
    return node


def constant(value, dtype=None, shape=None, name=None):
    arr = np.asarray(value, dtype=_float_dtype(dtype))
    if shape is not None:
        arr = np.broadcast_to(arr, shape) if arr.size == 1 else arr.reshape(shape)
    return O.constant(np.array(arr, order="C"))


def zeros(shape, dtype=None, name=None):
    return variable(np.zeros(shape), dtype, name)


def ones(shape, dtype=None, name=None):
    return variable(np.ones(shape), dtype, name)


def _storage(x):
    if not (isinstance(x, Node) and isinstance(x.op, O.Variable)):
        raise TypeError(f"expected a variable, got {x!r}")
    return x.op.storage


def get_value(x):
    """A copy of a variable's value; the value of any tensor that needs no input."""
    if isinstance(x, Node) and not isinstance(x.op, O.Variable):
        return function([], [x], backend="numpy", name="get_value")([])[0]
    return _storage(x).value.copy()


def batch_get_value(xs):
    return [get_value(x) for x in xs]


def set_value(x, value):
    """Write ``value`` into the variable's array in place (compiled functions keep seeing it)."""
    storage = _storage(x)
    value = np.asarray(value)
    if value.shape != storage.value.shape:
        raise ValueError(f"set_value({storage.name!r}): expected shape {storage.value.shape}, got {value.shape}")
    storage.value[...] = value


def batch_set_value(tuples):
    for x, value in tuples:
        set_value(x, value)


def int_shape(x):
    return dims.to_keras(x.shape)


def ndim(x):
    return x.ndim


def dtype(x):
    return x.dtype


def count_params(x):
    """The number of elements of ``x`` (a variable, or any tensor of static shape)."""
    if isinstance(x, Node) and not isinstance(x.op, O.Variable):
        if not builtins.all(dims.is_static(d) for d in x.shape):
            raise ValueError(f"count_params: the shape {int_shape(x)} is not fully known")
        return int(np.prod(x.shape, dtype=np.int64))
    return int(np.prod(_storage(x).value.shape))


def cast(x, dtype):
    x, dtype = _tensor(x), _float_dtype(dtype)
    if x.dtype == "bool" and dtype != "bool" and isinstance(x.op, O.Elemwise):
        # A comparison cast to numbers is the comparison computed in that type: one kernel.
        return B.ew(x.op.expr, *x.inputs, dtype=dtype)
    return B.ew(X[0], x, dtype=dtype)


def stop_gradient(variables):
    """``variables`` (a tensor or a list of them) with no gradient flowing back through."""
    if isinstance(variables, (list, tuple)):
        return [O.StopGradient()(_tensor(v)) for v in variables]
    return O.StopGradient()(_tensor(variables))


# ----------------------------------------------------------------------------- elementwise

def _unary(fn):
    def op(x):
        return B.ew(fn(X[0]), _tensor(x))
    return op


def _binary(fn):
    def op(x, y):
        x = _tensor(x)
        y = _tensor(y, dtype=x.dtype if x.dtype.startswith("float") else None)
        return B.ew(fn(X[0], X[1]), x, y)
    return op


square = _unary(lambda a: a ** 2)
sqrt = _unary(lambda a: sympy.sqrt(scalar.maximum(a, 0)))
exp = _unary(sympy.exp)
log = _unary(sympy.log)
abs = _unary(sympy.Abs)
sign = _unary(sympy.sign)
tanh = _unary(sympy.tanh)
erf = _unary(sympy.erf)
sigmoid = _unary(scalar.sigmoid)
softplus = _unary(scalar.softplus)
softsign = _unary(lambda a: a / (sympy.Abs(a) + 1))
hard_sigmoid = _unary(lambda a: scalar.clip(sympy.Rational(1, 5) * a + sympy.Rational(1, 2), 0, 1))
maximum = _binary(scalar.maximum)
minimum = _binary(scalar.minimum)

# Each wrapper reports its own name (a Lambda layer saves a function by name).
for _name in ("square", "sqrt", "exp", "log", "abs", "sign", "tanh", "erf", "sigmoid", "softplus",
              "softsign", "hard_sigmoid", "maximum", "minimum"):
    globals()[_name].__name__ = globals()[_name].__qualname__ = _name
del _name


def pow(x, a):
    # strict: a string (say, from a Lambda's `arguments` in a model file) is refused, not parsed,
    # since SymPy parses text by evaluating it.
    try:
        exponent = sympy.sympify(a, strict=True)
    except sympy.SympifyError:
        raise TypeError(f"pow: the exponent `a` must be a number, got {a!r}") from None
    return B.ew(X[0] ** exponent, _tensor(x))


def clip(x, min_value, max_value):
    """Keras: max_value below min_value is raised to min_value."""
    if max_value is not None and min_value is not None and max_value < min_value:
        max_value = min_value
    lo = -np.inf if min_value is None else min_value
    hi = np.inf if max_value is None else max_value
    return B.ew(scalar.clip(X[0], sympy.Float(lo) if np.isfinite(lo) else -sympy.oo,
                            sympy.Float(hi) if np.isfinite(hi) else sympy.oo), _tensor(x))


def relu(x, alpha=0.0, max_value=None, threshold=0.0):
    """Rectified linear unit, composed as the tf-keras backend composes it.

    ``x >= max_value`` → ``max_value``; ``threshold < x < max_value`` → ``x``; otherwise
    ``alpha * (x - threshold)``. With ``threshold != 0`` the positive part is
    ``x * (x > threshold)`` (0 at the threshold itself), and ``max_value`` clips that
    positive part to ``[0, max_value]``; ``max_value=6`` is relu6 (zero gradient at 6).
    """
    x = _tensor(x)
    plain = B.ew(scalar.relu(X[0]), x)
    if alpha == 0.0 and max_value is None and threshold == 0:
        return plain
    if alpha != 0.0 and max_value is None and threshold == 0:
        return B.ew(scalar.select(scalar.greater(X[0], 0), X[0], sympy.Float(alpha) * X[0]), x)
    negative = relu(float(threshold) - x if threshold != 0 else -x) if alpha != 0.0 else None
    clip_max = max_value is not None
    if threshold != 0:
        out = x * cast(B.ew(scalar.greater(X[0], X[1]), x, _tensor(float(threshold), x.dtype)), x.dtype)
    elif max_value == 6:
        out, clip_max = B.ew(scalar.select(scalar.less(X[0], 6), scalar.relu(X[0]), 6), x), False
    else:
        out = plain
    if clip_max:
        out = clip(out, 0.0, float(max_value))
    if negative is not None:
        out = out - float(alpha) * negative
    return out


def elu(x, alpha=1.0):
    a = X[0]
    return B.ew(sympy.Piecewise((a, a > 0), (sympy.Float(alpha) * scalar.expm1(a), True)), _tensor(x))


# ----------------------------------------------------------------------------- reductions

def _numeric(x, dtype):
    """``x`` as a tensor, cast to ``dtype`` if it is bool (sums count, means average)."""
    x = _tensor(x)
    return cast(x, dtype) if x.dtype == "bool" else x


def sum(x, axis=None, keepdims=False):
    """The sum over ``axis``; a bool tensor is counted in int32."""
    return B.reduce("sum", _numeric(x, "int32"), axis, keepdims)


def max(x, axis=None, keepdims=False):
    return B.reduce("max", _tensor(x), axis, keepdims)


def min(x, axis=None, keepdims=False):
    return B.reduce("min", _tensor(x), axis, keepdims)


def mean(x, axis=None, keepdims=False):
    """The mean over ``axis``; a bool tensor is averaged as ``floatx()`` (Keras)."""
    return B.mean(_numeric(x, floatx()), axis, keepdims)


def var(x, axis=None, keepdims=False):
    x = _numeric(x, floatx())
    m = mean(x, axis, keepdims=True)
    return mean(square(x - m), axis, keepdims)


def std(x, axis=None, keepdims=False):
    return sqrt(var(x, axis, keepdims))


def l2_normalize(x, axis=None):
    """``x / sqrt(max(sum(x**2, axis), 1e-12))``, as ``tf.math.l2_normalize``."""
    x = _tensor(x)
    return x / sqrt(maximum(sum(square(x), axis, keepdims=True), 1e-12))


def batch_normalization(x, mean, var, beta, gamma, axis=-1, epsilon=1e-3):
    """``(x - mean) / sqrt(var + epsilon) * gamma + beta`` as one elementwise node; ``beta`` or
    ``gamma`` may be None. Rank-1 statistics and parameters lie along ``axis`` of ``x``."""
    x = _tensor(x)
    axis = dims.normalize_axes(axis, x.ndim)[0]
    along = tuple(x.shape[i] if i == axis else 1 for i in range(x.ndim))
    operands = [x] + [B.reshape(t, along) if t.ndim == 1 and axis != x.ndim - 1 else t
                      for t in (_tensor(v, x.dtype) for v in (mean, var, gamma, beta) if v is not None)]
    expr = (X[0] - X[1]) / sympy.sqrt(X[2] + sympy.Float(epsilon))
    if gamma is not None:
        expr = expr * X[3]
    if beta is not None:
        expr = expr + X[len(operands) - 1]
    return B.ew(expr, *operands)


def moving_average_update(x, value, momentum):
    """The update ``x = x * momentum + value * (1 - momentum)`` (tf-keras 2).

    Keras 2.2's TensorFlow backend debiases instead (``zero_debias=True``: two hidden variables
    per average, and ``x`` becomes ``biased / (1 - momentum ** step)``, so its initial value is
    ignored); BatchNormalization's moving statistics here follow tf-keras 2."""
    return update(x, B.ew(X[0] * sympy.Float(momentum) + X[1] * sympy.Float(1 - momentum), x,
                          _tensor(value, x.dtype)))


def argmax(x, axis=-1):
    x = _tensor(x)
    return O.ArgMax(dims.normalize_axes(axis, x.ndim)[0], "max")(x)


def argmin(x, axis=-1):
    x = _tensor(x)
    return O.ArgMax(dims.normalize_axes(axis, x.ndim)[0], "min")(x)


def softmax(x, axis=-1):
    x = _tensor(x)
    return O.Softmax(dims.normalize_axes(axis, x.ndim)[0])(x)


def log_softmax(x, axis=-1):
    x = _tensor(x)
    return O.Softmax(dims.normalize_axes(axis, x.ndim)[0], log=True)(x)


def logsumexp(x, axis=None, keepdims=False):
    """log(sum(exp(x))) computed as max + log(sum(exp(x - max)))."""
    x = _tensor(x)
    m = stop_gradient(max(x, axis, keepdims=True))
    total = sum(B.ew(sympy.exp(X[0] - X[1]), x, m), axis, keepdims=True)
    out = B.ew(X[1] + sympy.log(X[0]), total, m)
    if not keepdims:
        axes = dims.normalize_axes(axis, x.ndim)
        out = B.reshape(out, tuple(d for i, d in enumerate(out.shape) if i not in axes))
    return out


# ----------------------------------------------------------------------------- linear algebra

def dot(x, y):
    """Keras ``K.dot``: 2-D @ 2-D, or N-D @ 2-D contracting the last axis of x."""
    x, y = _tensor(x), _tensor(y)
    if y.ndim != 2 or x.ndim < 2:
        raise ValueError(f"dot: expected x of rank >= 2 and y of rank 2, got shapes "
                         f"{int_shape(x)} and {int_shape(y)}")
    return B.matmul(x, y)


def batch_dot(x, y, axes=None):
    """Keras ``K.batch_dot``: per sample, contract axis ``axes[0]`` of x with ``axes[1]`` of y.

    The result has x's other axes then y's other non-batch axes, (batch, 1) if nothing is left.
    Ranks 2 and 3 give Keras 2.2's numbers. Two differences from its TensorFlow code: with
    ``axes=None`` and a rank-2 ``y`` the last axes are contracted (Keras 2.2 names y's batch axis,
    which only works for square inputs), and at rank 4 and above the result is the shape rule
    above (as Keras 2.3 computes it) rather than a matrix product batched over the leading axes.
    """
    x, y = _tensor(x), _tensor(y)
    if x.ndim < 2 or y.ndim < 2:
        raise ValueError(f"Cannot do batch_dot on inputs with rank < 2. Received inputs with shapes "
                         f"{int_shape(x)} and {int_shape(y)}.")
    if isinstance(axes, (int, np.integer)):
        axes = (axes, axes)
    if axes is None:
        axes = (x.ndim - 1, y.ndim - 2 if y.ndim > 2 else y.ndim - 1)
    if len(axes) != 2 or not builtins.all(isinstance(a, (int, np.integer)) for a in axes):
        raise ValueError(f"Multiple target dimensions are not supported. Expected: None, int, (int, int), "
                         f"Provided: axes={axes!r}")
    ax, ay = (_axis_of(a, t.ndim, "batch_dot") for a, t in zip(axes, (x, y)))
    if ax == 0 or ay == 0:
        raise ValueError("Cannot perform batch_dot over axis 0. If your inputs are not batched, add a dummy "
                         "batch dimension to your inputs using K.expand_dims(x, 0)")
    if x.shape[ax] != y.shape[ay]:
        raise ValueError(f"Cannot do batch_dot on inputs with shapes {int_shape(x)} and {int_shape(y)} with "
                         f"axes={axes}: x.shape[{ax}] != y.shape[{ay}].")
    if x.ndim == 2 and y.ndim == 2:
        return sum(x * y, axis=1, keepdims=True)
    if x.ndim == 3 and y.ndim == 3:
        return B.matmul(x, y, transpose_a=(ax == 1), transpose_b=(ay == 2))
    # (batch, m, k) @ (batch, k, n): x's contracted axis last, y's first after the batch axis.
    x_rest = [i for i in range(1, x.ndim) if i != ax]
    y_rest = [i for i in range(1, y.ndim) if i != ay]
    x3 = B.reshape(B.transpose(x, [0] + x_rest + [ax]),
                   (x.shape[0], dims.size([x.shape[i] for i in x_rest]), x.shape[ax]))
    y3 = B.reshape(B.transpose(y, [0, ay] + y_rest),
                   (y.shape[0], y.shape[ay], dims.size([y.shape[i] for i in y_rest])))
    out_shape = (x.shape[0],) + tuple(x.shape[i] for i in x_rest) + tuple(y.shape[i] for i in y_rest)
    return B.reshape(B.matmul(x3, y3), out_shape if len(out_shape) > 1 else out_shape + (1,))


def transpose(x):
    x = _tensor(x)
    return B.transpose(x, tuple(reversed(range(x.ndim))))


def permute_dimensions(x, pattern):
    return B.transpose(_tensor(x), pattern)


def reshape(x, shape):
    """``shape`` may hold one -1 (inferred) and None/-1 for the batch axis in position 0; it may be
    ``K.shape(y)`` or hold its entries."""
    x = _tensor(x)
    if isinstance(shape, Node):
        raise TypeError("reshape: `shape` must be a tuple (ints, or entries of K.shape(x)), not a tensor: "
                        "the IR fixes shapes when the graph is built")
    shape = list(shape)
    total = dims.size(x.shape)
    known = [d for d in shape if d not in (-1, None)]
    free = [i for i, d in enumerate(shape) if d in (-1, None)]
    if len(free) > 1:
        raise ValueError(f"reshape: at most one unknown dimension, got {tuple(shape)}")
    if free:
        inferred = sympy.simplify(sympy.sympify(total) / sympy.sympify(dims.size(known)))
        if inferred.is_Rational and not inferred.is_Integer:
            raise ValueError(f"reshape: cannot reshape {int_shape(x)} into {tuple(shape)}")
        shape[free[0]] = dims.as_dim(inferred)
    return B.reshape(x, shape)


def flatten(x):
    return reshape(x, (-1,))


def batch_flatten(x):
    x = _tensor(x)
    return B.reshape(x, (x.shape[0], dims.size(x.shape[1:])))


def _axis_of(axis, rank, name):
    """``axis`` as a non-negative int below ``rank`` (Python's negative indexing allowed)."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise TypeError(f"{name}: `axis` must be an integer, got {axis!r}")
    if not -rank <= axis < rank:
        raise ValueError(f"{name}: `axis` {axis} is out of range for {rank} axes")
    return int(axis) % rank


def expand_dims(x, axis=-1):
    x = _tensor(x)
    axis = _axis_of(axis, x.ndim + 1, "expand_dims")
    return B.reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def squeeze(x, axis):
    x = _tensor(x)
    axis = _axis_of(axis, x.ndim, "squeeze")
    if x.shape[axis] != 1:
        raise ValueError(f"squeeze: axis {axis} has size {x.shape[axis]}, not 1")
    return B.reshape(x, x.shape[:axis] + x.shape[axis + 1:])


def repeat(x, n):
    """Keras ``K.repeat``: (batch, features) → (batch, n, features)."""
    x = _tensor(x)
    if x.ndim != 2:
        raise ValueError(f"repeat: x must be 2-D (batch, features), got shape {int_shape(x)}")
    return B.broadcast_to(expand_dims(x, 1), (x.shape[0], int(n), x.shape[1]))


def concatenate(tensors, axis=-1):
    tensors = [_tensor(t) for t in tensors]
    if not tensors:
        raise ValueError("concatenate: `tensors` must hold at least one tensor")
    axis = _axis_of(axis, tensors[0].ndim, "concatenate")
    return O.Concat(axis)(*tensors) if len(tensors) > 1 else tensors[0]


def _indices(indices):
    """Integer indices: an array or a tensor; a float or bool tensor is cast to int64."""
    indices = _tensor(indices, dtype="int64")
    return indices if indices.dtype in ("int32", "int64") else cast(indices, "int64")


def gather(reference, indices):
    """The rows ``reference[indices]`` (along its first axis)."""
    return O.Gather()(_tensor(reference), _indices(indices))


def one_hot(indices, num_classes):
    """``floatx()`` one-hot vectors of ``num_classes`` along a new last axis (an index outside
    [0, num_classes) gives zeros)."""
    if isinstance(num_classes, bool) or not isinstance(num_classes, (int, np.integer)) or num_classes < 1:
        raise ValueError(f"one_hot: `num_classes` must be a positive integer, got {num_classes!r}")
    return O.OneHot(num_classes, floatx())(_indices(indices))


# ----------------------------------------------------------------------------- images
# Pooling, resizing and padding of (batch, *spatial, channels) tensors, or channels first.

_IMAGE_DATA_FORMAT = ["channels_last"]


def image_data_format():
    """The default ``data_format`` of image layers: 'channels_last' unless set."""
    return _IMAGE_DATA_FORMAT[0]


def set_image_data_format(data_format):
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"Unknown `data_format`: {data_format}")
    _IMAGE_DATA_FORMAT[0] = str(data_format)


def _data_format(data_format):
    data_format = image_data_format() if data_format is None else data_format
    if data_format not in ("channels_last", "channels_first"):
        raise ValueError(f"Unknown data_format: {data_format}")
    return data_format


def _channels_last(x, data_format):
    """``x`` with its channels last, and the permutation that puts them back."""
    if data_format == "channels_last":
        return x, None
    return B.transpose(x, (0,) + tuple(range(2, x.ndim)) + (1,)), (0, x.ndim - 1) + tuple(range(1, x.ndim - 1))


def _same_padding(size, window, stride):
    """TensorFlow's 'same': ceil(size / stride) outputs, the odd pad element after."""
    total = (-(-size // stride) - 1) * stride + window - size
    total = total if total > 0 else 0
    return total // 2, total - total // 2


def _pool(x, pool_size, strides, padding, data_format, pool_mode, rank):
    x = _tensor(x)
    for name, value in (("pool_size", pool_size), ("strides", strides)):
        if len(value) != rank:
            raise ValueError(f"`{name}` must be a tuple of {rank} integers.")
    if padding not in ("valid", "same"):
        raise ValueError(f"Invalid padding: {padding}")
    if pool_mode not in ("max", "avg"):
        raise ValueError(f"Invalid pooling mode: {pool_mode}")
    x, back = _channels_last(x, _data_format(data_format))
    spatial = tuple(x.shape[1:-1])
    if not all(dims.is_static(d) for d in spatial):
        raise ValueError(f"pooling: the spatial dimensions of the input must be known, got {int_shape(x)}")
    pads = [_same_padding(*a) if padding == "same" else (0, 0) for a in zip(spatial, pool_size, strides)]
    out = [(s + b + a - k) // st + 1 for s, (b, a), k, st in zip(spatial, pads, pool_size, strides)]
    if builtins.any(o < 1 for o in out):
        raise ValueError(f"pooling: a window of {tuple(pool_size)} does not fit in the spatial shape {spatial}")
    window = O.Window(spatial, pool_size, strides, (1,) * rank, [b for b, _ in pads], [a for _, a in pads])
    window_axes = list(range(1 + rank, 1 + 2 * rank))
    if pool_mode == "max":
        # One pass over the input; the padding never wins, and the gradient goes to each
        # window's first maximum, as TensorFlow's.
        result = O.WindowMax(window)(x)
    else:
        # TensorFlow averages over the window's elements inside the input, never the padding.
        counts = np.ones((1,) * (rank + 2))
        for axis, (s, k, st, (before, _), n) in enumerate(zip(spatial, pool_size, strides, pads, out)):
            starts = np.arange(n) * st - before
            inside = np.minimum(starts + k, s) - np.maximum(starts, 0)
            counts = counts * inside.reshape((1,) * (axis + 1) + (n,) + (1,) * (rank - axis))
        total = B.reduce("sum", O.WindowGather(window, 0.0)(x), window_axes)
        if counts.min() == counts.max():
            result = B.ew(X[0] / int(counts.flat[0]), total)
        else:
            result = B.ew(X[0] / X[1], total, _tensor(counts, x.dtype))
    return result if back is None else B.transpose(result, back)


def pool2d(x, pool_size, strides=(1, 1), padding="valid", data_format=None, pool_mode="max"):
    """2D max or average ('avg') pooling; 'same' padding as TensorFlow pads."""
    return _pool(x, tuple(pool_size), tuple(strides), padding, data_format, pool_mode, 2)


def pool3d(x, pool_size, strides=(1, 1, 1), padding="valid", data_format=None, pool_mode="max"):
    """3D max or average ('avg') pooling; 'same' padding as TensorFlow pads."""
    return _pool(x, tuple(pool_size), tuple(strides), padding, data_format, pool_mode, 3)


def repeat_elements(x, rep, axis):
    """Each slice of ``x`` along ``axis`` repeated ``rep`` times in place (``np.repeat``)."""
    x = _tensor(x)
    axis = axis % x.ndim
    spread = x.shape[:axis + 1] + (int(rep),) + x.shape[axis + 1:]
    merged = x.shape[:axis] + (dims.as_dim(x.shape[axis] * int(rep)),) + x.shape[axis + 1:]
    return B.reshape(B.broadcast_to(B.reshape(x, x.shape[:axis + 1] + (1,) + x.shape[axis + 1:]), spread), merged)


def _linear_resize_matrix(size, factor):
    """(size, size * factor): column o blends the two inputs nearest to TensorFlow's half-pixel
    source ``(o + 0.5) / factor - 0.5``, clamped to the edges (tf.image.resize 'bilinear')."""
    out = size * factor
    matrix = np.zeros((size, out))
    scale = np.float32(size) / np.float32(out)
    for o in range(out):
        source = (np.float32(o) + np.float32(0.5)) * scale - np.float32(0.5)
        low = np.floor(source)
        lerp = float(source - low)
        matrix[int(np.clip(low, 0, size - 1)), o] += 1.0 - lerp
        matrix[int(np.clip(np.ceil(source), 0, size - 1)), o] += lerp
    return matrix


def resize_images(x, height_factor, width_factor, data_format, interpolation="nearest"):
    """Upsample rows and columns by integer factors: 'nearest' repeats, 'bilinear' interpolates
    as tf.image.resize does (half-pixel centres)."""
    x = _tensor(x)
    data_format = _data_format(data_format)
    rows = 1 if data_format == "channels_last" else 2
    factors = (int(height_factor), int(width_factor))
    if interpolation == "nearest":
        return repeat_elements(repeat_elements(x, factors[0], rows), factors[1], rows + 1)
    if interpolation != "bilinear":
        raise ValueError('`interpolation` argument should be one of: "nearest", "bilinear". '
                         f"Received: {interpolation}.")
    # Each axis in turn is moved last and multiplied by its interpolation matrix; `order` names
    # the original axis at each position, so one transpose at the end restores the layout.
    order = list(range(x.ndim))
    for axis, factor in zip((rows, rows + 1), factors):
        matrix = _tensor(_linear_resize_matrix(x.shape[order.index(axis)], factor), x.dtype)
        moved = [a for a in order if a != axis] + [axis]
        x = B.matmul(B.transpose(x, [order.index(a) for a in moved]), matrix)
        order = moved
    return B.transpose(x, [order.index(a) for a in range(x.ndim)])


def resize_volumes(x, depth_factor, height_factor, width_factor, data_format):
    """Upsample the three spatial axes by repeating (nearest neighbour)."""
    x = _tensor(x)
    first = 1 if _data_format(data_format) == "channels_last" else 2
    for axis, factor in enumerate((depth_factor, height_factor, width_factor), first):
        x = repeat_elements(x, factor, axis)
    return x


def _pad_axes(x, pads):
    """Zeros around ``x``: ``pads`` maps an axis to its (before, after) count."""
    if not builtins.any(before or after for before, after in pads.values()):
        return x
    starts = [pads.get(a, (0, 0))[0] for a in range(x.ndim)]
    stops = [b + d for b, d in zip(starts, x.shape)]
    shape = [dims.as_dim(d + starts[a] + pads.get(a, (0, 0))[1]) for a, d in enumerate(x.shape)]
    return O.SliceGrad(shape, O.Slice(starts, stops, [1] * x.ndim))(x)


def temporal_padding(x, padding=(1, 1)):
    """Zeros before and after the steps of (batch, steps, features)."""
    return _pad_axes(_tensor(x), {1: tuple(padding)})


def spatial_2d_padding(x, padding=((1, 1), (1, 1)), data_format=None):
    """Zeros around the rows and columns: ``padding`` is ((top, bottom), (left, right))."""
    first = 1 if _data_format(data_format) == "channels_last" else 2
    return _pad_axes(_tensor(x), {first + i: tuple(p) for i, p in enumerate(padding)})


def spatial_3d_padding(x, padding=((1, 1), (1, 1), (1, 1)), data_format=None):
    """Zeros around the three spatial axes, ``padding`` one (before, after) pair per axis."""
    first = 1 if _data_format(data_format) == "channels_last" else 2
    return _pad_axes(_tensor(x), {first + i: tuple(p) for i, p in enumerate(padding)})


# ----------------------------------------------------------------------------- convolution
# Every convolution is im2col: WindowGather of the windows, then one matrix product by the
# reshaped kernel. A transposed convolution is the adjoint: a matrix product, then WindowScatter.

def _per_axis(value, rank, name):
    values = (value,) * rank if isinstance(value, int) else tuple(value)
    if len(values) != rank or not builtins.all(isinstance(v, (int, np.integer)) and v > 0 for v in values):
        raise ValueError(f"`{name}` must be a positive integer or {rank} of them, got {value!r}")
    return tuple(int(v) for v in values)


def _window(spatial, size, strides, padding, dilation, name):
    rank = len(spatial)
    strides, dilation = _per_axis(strides, rank, "strides"), _per_axis(dilation, rank, "dilation_rate")
    if padding == "same":
        pads = [_same_padding(n, (k - 1) * d + 1, st) for n, k, st, d in zip(spatial, size, strides, dilation)]
    elif padding == "valid":
        pads = [(0, 0)] * rank
    elif padding == "causal" and rank == 1:
        pads = [((size[0] - 1) * dilation[0], 0)]
    else:
        raise ValueError(f"{name}: Unknown padding: {padding!r} (expected 'valid' or 'same'"
                         f"{', or causal' if rank == 1 else ''})")
    return O.Window(spatial, size, strides, dilation, [p[0] for p in pads], [p[1] for p in pads])


def _to_channels_last(x, rank, data_format, name):
    """``x`` with channels last, and its static spatial shape."""
    if x.ndim != rank + 2:
        raise ValueError(f"{name}: expected an input of rank {rank + 2}, got shape {int_shape(x)}")
    if data_format == "channels_first":
        x = B.transpose(x, (0,) + tuple(range(2, rank + 2)) + (1,))
    spatial = tuple(x.shape[1:-1])
    if not builtins.all(dims.is_static(d) for d in spatial):
        raise ValueError(f"{name}: the spatial dimensions of the input must be known, got {int_shape(x)}")
    return x, spatial


def _from_channels_last(y, data_format):
    if data_format == "channels_first":
        y = B.transpose(y, (0, y.ndim - 1) + tuple(range(1, y.ndim - 1)))
    return y


def _grouped_conv(x, kernel, window, groups):
    """Channels-last convolution of x (batch, *spatial, C) by kernel (*size, C // groups, F):
    the windows of x (im2col) times the kernel, one matrix product per group."""
    batch, out = x.shape[0], window.out_spatial
    positions, taps = dims.size(out), dims.size(window.size)
    channels, filters = x.shape[-1], kernel.shape[-1]
    cols = O.WindowGather(window)(x)
    if groups == 1:
        y = B.matmul(B.reshape(cols, (batch, positions, taps * channels)),
                     B.reshape(kernel, (taps * channels, filters)))
    else:
        cg, fg = channels // groups, filters // groups
        cols = B.transpose(B.reshape(cols, (batch * positions, taps, groups, cg)), (2, 0, 1, 3))
        k = B.transpose(B.reshape(kernel, (taps, cg, groups, fg)), (2, 0, 1, 3))
        y = B.matmul(B.reshape(cols, (groups, batch * positions, taps * cg)), B.reshape(k, (groups, taps * cg, fg)))
        y = B.transpose(y, (1, 0, 2))
    return B.reshape(y, (batch,) + out + (filters,))


def _conv(x, kernel, rank, strides, padding, data_format, dilation_rate, name):
    """An N-D convolution; the kernel's input-channel axis (C // groups) sets the groups, as in TF."""
    x, kernel = _tensor(x), _tensor(kernel)
    data_format = _data_format(data_format)
    x, spatial = _to_channels_last(x, rank, data_format, name)
    if kernel.ndim != rank + 2:
        raise ValueError(f"{name}: expected a kernel of rank {rank + 2}, got shape {int_shape(kernel)}")
    channels, per_group = x.shape[-1], kernel.shape[-2]
    if channels % per_group or kernel.shape[-1] % (channels // per_group):
        raise ValueError(f"{name}: a kernel of shape {int_shape(kernel)} does not fit {channels} input channels")
    window = _window(spatial, kernel.shape[:rank], strides, padding, dilation_rate, name)
    return _from_channels_last(_grouped_conv(x, kernel, window, channels // per_group), data_format)


def _depthwise(x, depthwise_kernel, rank, strides, padding, data_format, dilation_rate, name):
    """Each channel convolved with its own ``depth_multiplier`` filters: a convolution of
    ``channels`` groups whose kernel (*size, C, M) is read as (*size, 1, C * M)."""
    k = _tensor(depthwise_kernel)
    if k.ndim != rank + 2:
        raise ValueError(f"{name}: expected a depthwise kernel of rank {rank + 2}, got shape {int_shape(k)}")
    flat = B.reshape(k, tuple(k.shape[:rank]) + (1, k.shape[-2] * k.shape[-1]))
    x = _tensor(x)
    channels = x.shape[1 if _data_format(data_format) == "channels_first" else -1]
    if channels != k.shape[-2]:
        raise ValueError(f"{name}: a depthwise kernel of shape {int_shape(k)} does not fit {channels} channels")
    return _conv(x, flat, rank, strides, padding, data_format, dilation_rate, name)


def _separable(x, depthwise_kernel, pointwise_kernel, rank, strides, padding, data_format, dilation_rate, name):
    """A depthwise convolution, then a 1x1 convolution mixing its channels."""
    data_format = _data_format(data_format)
    x, _ = _to_channels_last(_tensor(x), rank, data_format, name)
    y = _depthwise(x, depthwise_kernel, rank, strides, padding, "channels_last", dilation_rate, name)
    p = _tensor(pointwise_kernel)
    if p.ndim != rank + 2 or tuple(p.shape[:rank]) != (1,) * rank or p.shape[-2] != y.shape[-1]:
        raise ValueError(f"{name}: expected a pointwise kernel of shape {(1,) * rank + (y.shape[-1], 'filters')}, "
                         f"got {int_shape(p)}")
    return _from_channels_last(B.matmul(y, B.reshape(p, p.shape[-2:])), data_format)


def _conv_transpose(x, kernel, output_shape, rank, strides, padding, data_format, dilation_rate, name):
    """The adjoint of the convolution whose input has ``output_shape`` (in ``data_format``
    layout, batch axis first): each input position adds kernel-weighted copies to the output."""
    x, kernel = _tensor(x), _tensor(kernel)
    data_format = _data_format(data_format)
    x, spatial = _to_channels_last(x, rank, data_format, name)
    output_shape = tuple(output_shape)
    if kernel.ndim != rank + 2 or len(output_shape) != rank + 2:
        raise ValueError(f"{name}: expected a kernel and output_shape of rank {rank + 2}, got "
                         f"{int_shape(kernel)} and {output_shape}")
    out_spatial = output_shape[2:] if data_format == "channels_first" else output_shape[1:-1]
    out_channels = output_shape[1 if data_format == "channels_first" else -1]
    filters, channels = kernel.shape[-2], kernel.shape[-1]
    if channels != x.shape[-1] or out_channels not in (None, filters):
        raise ValueError(f"{name}: a kernel of shape {int_shape(kernel)} (*size, filters, input channels) does "
                         f"not take {x.shape[-1]} channels to output_shape {output_shape}")
    window = _window(tuple(int(d) for d in out_spatial), kernel.shape[:rank], strides, padding, dilation_rate, name)
    if window.out_spatial != spatial:
        raise ValueError(f"{name}: output_shape {output_shape} does not give back the input's spatial shape "
                         f"{spatial} when convolved (it gives {window.out_spatial})")
    batch, positions, taps = x.shape[0], dims.size(spatial), dims.size(window.size)
    cols = B.matmul(B.reshape(x, (batch, positions, channels)), B.reshape(kernel, (taps * filters, channels)),
                    transpose_b=True)
    cols = B.reshape(cols, (batch,) + spatial + window.size + (filters,))
    return _from_channels_last(O.WindowScatter(window)(cols), data_format)


def conv1d(x, kernel, strides=1, padding="valid", data_format=None, dilation_rate=1):
    """1D convolution; ``padding`` may also be 'causal' (all the padding before)."""
    return _conv(x, kernel, 1, strides, padding, data_format, dilation_rate, "conv1d")


def conv2d(x, kernel, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1)):
    return _conv(x, kernel, 2, strides, padding, data_format, dilation_rate, "conv2d")


def conv3d(x, kernel, strides=(1, 1, 1), padding="valid", data_format=None, dilation_rate=(1, 1, 1)):
    return _conv(x, kernel, 3, strides, padding, data_format, dilation_rate, "conv3d")


def conv1d_transpose(x, kernel, output_shape, strides=1, padding="valid", data_format=None, dilation_rate=1):
    return _conv_transpose(x, kernel, output_shape, 1, strides, padding, data_format, dilation_rate,
                           "conv1d_transpose")


def conv2d_transpose(x, kernel, output_shape, strides=(1, 1), padding="valid", data_format=None,
                     dilation_rate=(1, 1)):
    return _conv_transpose(x, kernel, output_shape, 2, strides, padding, data_format, dilation_rate,
                           "conv2d_transpose")


def conv3d_transpose(x, kernel, output_shape, strides=(1, 1, 1), padding="valid", data_format=None):
    return _conv_transpose(x, kernel, output_shape, 3, strides, padding, data_format, 1, "conv3d_transpose")


def depthwise_conv2d(x, depthwise_kernel, strides=(1, 1), padding="valid", data_format=None, dilation_rate=(1, 1)):
    return _depthwise(x, depthwise_kernel, 2, strides, padding, data_format, dilation_rate, "depthwise_conv2d")


def separable_conv1d(x, depthwise_kernel, pointwise_kernel, strides=1, padding="valid", data_format=None,
                     dilation_rate=1):
    return _separable(x, depthwise_kernel, pointwise_kernel, 1, strides, padding, data_format, dilation_rate,
                      "separable_conv1d")


def separable_conv2d(x, depthwise_kernel, pointwise_kernel, strides=(1, 1), padding="valid", data_format=None,
                     dilation_rate=(1, 1)):
    return _separable(x, depthwise_kernel, pointwise_kernel, 2, strides, padding, data_format, dilation_rate,
                      "separable_conv2d")


def bias_add(x, bias, data_format=None):
    """``x + bias`` along the channel axis; a bias of rank ndim(x) - 1 is given channels last."""
    x = _tensor(x)
    bias = _tensor(bias, x.dtype)
    data_format = _data_format(data_format)
    if bias.ndim not in (1, x.ndim - 1):
        raise ValueError(f"Unexpected bias dimensions {bias.ndim}, expect to be 1 or {x.ndim - 1} dimensions")
    if data_format == "channels_first" and x.ndim > 2:
        if bias.ndim == 1:
            bias = B.reshape(bias, (bias.shape[0],) + (1,) * (x.ndim - 2))
        else:
            bias = B.transpose(bias, (bias.ndim - 1,) + tuple(range(bias.ndim - 1)))
    return x + bias


# ----------------------------------------------------------------------------- randomness

def _random(distribution, shape, dtype, seed):
    seed = session.new_op_seed() if seed is None else int(seed)
    label = f"{current_scope()}/rng_state" if current_scope() else f"rng_state_{session.next_tensor_id()}"
    state = O.variable(O.VariableStorage(np.array([seed, 0], dtype=np.int64), label))
    return O.Random(distribution, shape, _float_dtype(dtype))(state)


def random_uniform(shape, minval=0.0, maxval=1.0, dtype=None, seed=None):
    u = _random("uniform", shape, dtype, seed)
    return B.ew(sympy.Float(minval) + sympy.Float(maxval - minval) * X[0], u) if (minval, maxval) != (0, 1) else u


def random_normal(shape, mean=0.0, stddev=1.0, dtype=None, seed=None):
    z = _random("normal", shape, dtype, seed)
    return B.ew(sympy.Float(mean) + sympy.Float(stddev) * X[0], z) if (mean, stddev) != (0, 1) else z


def dropout(x, level, noise_shape=None, seed=None):
    """Inverted dropout: keep with probability 1 - level and scale by 1 / (1 - level)."""
    x = _tensor(x)
    if not 0 <= level < 1:
        raise ValueError(f"dropout: level must be in [0, 1), got {level}")
    shape = x.shape if noise_shape is None else dims.as_shape(noise_shape)
    u = _random("uniform", shape, x.dtype, seed)
    keep = 1.0 - level
    return B.ew(scalar.select(scalar.greater_equal(X[1], level), X[0] / sympy.Float(keep), 0), x, u)


# ----------------------------------------------------------------------------- gradients and updates

def gradients(loss, variables):
    return _gradients(_tensor(loss), list(variables))


def update(x, new_x):
    """Assign ``new_x`` to variable ``x`` (cast to its dtype, broadcast to its shape)."""
    new_x = _tensor(new_x, dtype=x.dtype)
    if new_x.dtype != x.dtype:
        new_x = cast(new_x, x.dtype)
    if new_x.shape != x.shape:
        new_x = B.broadcast_to(new_x, x.shape)
    return O.Assign()(x, new_x)


def update_add(x, increment):
    return update(x, x + _tensor(increment, dtype=x.dtype))


def update_sub(x, decrement):
    return update(x, x - _tensor(decrement, dtype=x.dtype))


def _random_state_updates(roots):
    """Each random op advances its state's counter once per call."""
    updates, seen = [], set()
    for n in toposort(roots):
        if isinstance(n.op, O.Random):
            state = n.inputs[0]
            if id(state) not in seen:
                seen.add(id(state))
                with scope_of(n):              # the advance belongs to the layer that draws
                    step = O.constant(np.array([0, 1], dtype=np.int64))
                    updates.append(O.Assign()(state, B.ew(X[0] + X[1], state, step, dtype="int64")))
    return updates


def function_graph(inputs, outputs, updates=None, name=None, output_names=None):
    """The FunctionGraph ``function`` compiles: outputs (named by ``output_names`` in the generated
    code), updates (and random-state advances)."""
    outputs = [outputs] if not isinstance(outputs, (list, tuple)) else list(outputs)
    outputs = [_tensor(o) for o in outputs]
    inputs = list(inputs) if isinstance(inputs, (list, tuple)) else [inputs]
    assigns = []
    for u in updates or []:
        if isinstance(u, Node) and isinstance(u.op, O.Assign):
            assigns.append(u)
        elif isinstance(u, (list, tuple)) and len(u) == 2:
            assigns.append(update(u[0], u[1]))
        else:
            raise TypeError(f"updates: expected update ops or (variable, new_value) pairs, got {u!r}")
    written = {id(a.inputs[0]) for a in assigns}
    assigns += [a for a in _random_state_updates(outputs + assigns) if id(a.inputs[0]) not in written]
    roots = state.feed_default_phase(inputs, outputs + assigns)
    outputs, assigns = roots[:len(outputs)], roots[len(outputs):]
    return FunctionGraph([_check_input(x) for x in inputs], outputs, assigns,
                         name=name or "function", output_names=output_names)


def function(inputs, outputs, updates=None, backend=None, name=None, output_names=None, **kwargs):
    """Compile ``outputs`` (and ``updates``) of ``inputs`` into a GeneratedFunction."""
    if kwargs:
        raise TypeError(f"function: unexpected keyword arguments {sorted(kwargs)}")
    return GeneratedFunction(function_graph(inputs, outputs, updates, name, output_names), backend=backend)


def _check_input(x):
    if not (isinstance(x, Node) and isinstance(x.op, O.Placeholder)):
        raise TypeError(f"function inputs must be placeholders, got {x!r}")
    return x



# ----------------------------------------------------------------------------- the rest of the namespace
# Functions built on the ones above live in modules of their own, which import this one; each
# loads on first use (PEP 562), so importing the backend imports none of them and no cycle forms.

_SUBMODULE_FUNCTIONS = {
    "control": """backend ctc_batch_cost ctc_decode ctc_label_dense_to_sparse eval foldl foldr get_session
        get_variable_shape image_dim_ordering in_test_phase in_train_phase is_keras_tensor is_placeholder
        is_sparse map_fn print_tensor rnn set_image_dim_ordering set_session switch to_dense""",
    "nn_ops": """binary_crossentropy categorical_crossentropy in_top_k local_conv1d local_conv2d
        normalize_batch_in_training sparse_categorical_crossentropy""",
    "tensor_ops": """all any arange cast_to_floatx cos cumprod cumsum equal eye greater greater_equal identity
        less less_equal not_equal ones_like prod random_binomial random_normal_variable random_uniform_variable
        reverse round shape sin slice stack tile truncated_normal unstack zeros_like""",
}
_LAZY = {name: module for module, names in _SUBMODULE_FUNCTIONS.items() for name in names.split()}


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    # Not kept in this module's globals: `any`, `all`, `round` and `slice` would hide the builtins.
    return getattr(importlib.import_module(f"{__name__}.{module}"), name)


def __dir__():
    return sorted(set(globals()) | set(_LAZY))

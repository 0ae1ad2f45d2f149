"""The Keras 2 backend API (``import symkeras.backend as K``) over the symbolic IR.

Every function here builds graph nodes; ``function`` compiles a graph into a
GeneratedFunction (NumPy or C). Semantics follow the Keras 2 TensorFlow backend.
"""

import numpy as np
import sympy

from symkeras import config, session
from symkeras.ir import build as B
from symkeras.ir import dims, scalar
from symkeras.ir import ops as O
from symkeras.ir.grad import gradients as _gradients
from symkeras.ir.graph import FunctionGraph
from symkeras.ir.node import Node, current_scope, name_scope, scope_of, toposort  # noqa: F401
from symkeras.runtime.function import GeneratedFunction

X = scalar.X
floatx, set_floatx, epsilon, set_epsilon = config.floatx, config.set_floatx, config.epsilon, config.set_epsilon


# ----------------------------------------------------------------------------- tensors

def clear_session():
    """Reset the automatic layer and model names (``dense``, ``dense_1``, ...)."""
    session.reset_layer_names()


def is_tensor(x):
    return isinstance(x, Node)


def _tensor(x, dtype=None):
    if isinstance(x, Node):
        return x
    return O.constant(np.asarray(x, dtype=dtype or floatx()))


def _float_dtype(dtype):
    dtype = np.dtype(dtype or floatx()).name
    if dtype not in ("float32", "float64", "int32", "int64", "bool"):
        raise TypeError(f"dtype: expected float32, float64, int32, int64 or bool, got {dtype!r}")
    return dtype


def placeholder(shape=None, ndim=None, dtype=None, sparse=False, name=None):
    """A symbolic input. ``shape`` includes the batch axis: ``(None, 32)``."""
    if shape is None:
        if ndim is None:
            raise ValueError("placeholder: give shape or ndim")
        shape = (None,) * ndim
    if sparse:
        raise ValueError("placeholder: sparse tensors are not supported")
    for i, d in enumerate(shape):
        if d is None and i != 0:
            raise ValueError(f"placeholder: only the first (batch) dimension may be None, got {tuple(shape)}")
    return O.placeholder(shape, dtype=_float_dtype(dtype), name=name or f"placeholder_{session.next_tensor_id()}")


def variable(value, dtype=None, name=None, constraint=None):
    """A persistent tensor initialised from ``value``; its array is updated in place."""
    arr = np.array(value, dtype=_float_dtype(dtype))
    storage = O.VariableStorage(arr, name or f"variable_{session.next_tensor_id()}")
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
    return int(np.prod(_storage(x).value.shape))


def cast(x, dtype):
    return B.ew(X[0], _tensor(x), dtype=_float_dtype(dtype))


def stop_gradient(x):
    return O.StopGradient()(_tensor(x))


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
greater = _binary(scalar.greater)
greater_equal = _binary(scalar.greater_equal)
less = _binary(scalar.less)
less_equal = _binary(scalar.less_equal)
equal = _binary(scalar.equal)
not_equal = _binary(scalar.not_equal)

# Each wrapper reports its own name (a Lambda layer saves a function by name).
for _name in ("square", "sqrt", "exp", "log", "abs", "sign", "tanh", "erf", "sigmoid", "softplus",
              "softsign", "hard_sigmoid", "maximum", "minimum", "greater", "greater_equal", "less", "less_equal",
              "equal", "not_equal"):
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
        out = x * cast(greater(x, float(threshold)), x.dtype)
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


def switch(condition, then_expression, else_expression):
    return B.ew(scalar.select(X[0], X[1], X[2]), _tensor(condition), _tensor(then_expression),
                _tensor(else_expression))


# ----------------------------------------------------------------------------- reductions

def sum(x, axis=None, keepdims=False):
    return B.reduce("sum", _tensor(x), axis, keepdims)


def max(x, axis=None, keepdims=False):
    return B.reduce("max", _tensor(x), axis, keepdims)


def min(x, axis=None, keepdims=False):
    return B.reduce("min", _tensor(x), axis, keepdims)


def mean(x, axis=None, keepdims=False):
    return B.mean(_tensor(x), axis, keepdims)


def var(x, axis=None, keepdims=False):
    x = _tensor(x)
    m = mean(x, axis, keepdims=True)
    return mean(square(x - m), axis, keepdims)


def std(x, axis=None, keepdims=False):
    return sqrt(var(x, axis, keepdims))


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
    """The update ``x = x * momentum + value * (1 - momentum)`` (tf-keras 2)."""
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
    """
    x, y = _tensor(x), _tensor(y)
    if x.ndim < 2 or y.ndim < 2:
        raise ValueError(f"Cannot do batch_dot on inputs with rank < 2. Received inputs with shapes "
                         f"{int_shape(x)} and {int_shape(y)}.")
    if isinstance(axes, int):
        axes = (axes, axes)
    if axes is None:
        axes = (x.ndim - 1, y.ndim - 2 if y.ndim > 2 else y.ndim - 1)
    ax, ay = (a % t.ndim for a, t in zip(axes, (x, y)))
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
    """``shape`` may hold one -1 (inferred) and None/-1 for the batch axis in position 0."""
    x = _tensor(x)
    shape = list(shape)
    total = dims.size(x.shape)
    known = [d for d in shape if d not in (-1, None)]
    free = [i for i, d in enumerate(shape) if d in (-1, None)]
    if len(free) > 1:
        raise ValueError(f"reshape: at most one unknown dimension, got {tuple(shape)}")
    if free:
        shape[free[0]] = dims.as_dim(sympy.simplify(total / dims.size(known)))
    return B.reshape(x, shape)


def flatten(x):
    return reshape(x, (-1,))


def batch_flatten(x):
    x = _tensor(x)
    return B.reshape(x, (x.shape[0], dims.size(x.shape[1:])))


def expand_dims(x, axis=-1):
    x = _tensor(x)
    axis = axis % (x.ndim + 1)
    return B.reshape(x, x.shape[:axis] + (1,) + x.shape[axis:])


def squeeze(x, axis):
    x = _tensor(x)
    axis = axis % x.ndim
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
    axis = axis % tensors[0].ndim
    return O.Concat(axis)(*tensors)


def gather(reference, indices):
    return O.Gather()(_tensor(reference), _tensor(indices, dtype="int64"))


def one_hot(indices, num_classes):
    return O.OneHot(num_classes, floatx())(_tensor(indices, dtype="int64"))


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
    return FunctionGraph([_check_input(x) for x in inputs], [_tensor(o) for o in outputs], assigns,
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

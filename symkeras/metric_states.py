"""The graph side of streaming metrics: state updates as IR, and their eager evaluation.

A streaming metric keeps its state in variables (``Metric.add_weight``). Its update is a
graph: the new value of every state from the old value and a batch, and its result a graph
of the states. A model's compile puts those assigns in the train and test functions (as the
optimizer's updates); ``update_state``/``result`` on NumPy arrays run the same graphs through
small generated NumPy functions, so both give the same numbers.

The confusion-matrix update follows tf-keras's ``update_confusion_matrix_variables``: a
prediction counts as positive at threshold ``t`` when ``y_pred > t``; thresholds spread evenly
over [0, 1] (AUC's, or ``[0, 0.5, 1]``) are compared as tf-keras's bucketed path does:
``clip(y_pred, 0, 1) * (T - 1) > i``, where the first threshold of AUC (``0 - epsilon``) takes
every prediction.
"""

import numpy as np

from symkeras import backend as K
from symkeras.ir import build as B
from symkeras.ir import dims
from symkeras.ir import ops as O

NEG_INF = -1e10


# ----------------------------------------------------------------------------- small graph helpers

def div_no_nan(a, b):
    """``a / b``, 0 where ``b == 0``: a true division (as TensorFlow's), never by zero."""
    zero = K.equal(b, 0.0)
    return K.switch(zero, 0.0, a / (b + zero))


def div_positive(a, b):
    """``div_no_nan(a, maximum(b, 0))``: ``a / b`` where ``b > 0``, else 0."""
    not_positive = K.less_equal(b, 0.0)
    return K.switch(not_positive, 0.0, a / (b + not_positive * (1.0 - b)))


def align(y_true, y_pred):
    """tf-keras ``squeeze_or_expand_dimensions`` for a pair: a trailing 1 squeezed off the one
    whose rank is higher by one."""
    if y_pred.ndim - y_true.ndim == 1 and K.int_shape(y_pred)[-1] == 1:
        y_pred = K.squeeze(y_pred, -1)
    elif y_true.ndim - y_pred.ndim == 1 and K.int_shape(y_true)[-1] == 1:
        y_true = K.squeeze(y_true, -1)
    return y_true, y_pred


def broadcast_weights(sample_weight, values):
    """Sample weights shaped like ``values``: a trailing 1 squeezed, trailing axes added, then
    broadcast (``(B,)``, ``(B, 1)`` or the shape of ``values``)."""
    w = sample_weight
    if w.dtype != values.dtype:
        w = K.cast(w, values.dtype)
    if w.ndim - values.ndim == 1 and K.int_shape(w)[-1] == 1:
        w = K.squeeze(w, -1)
    while w.ndim < values.ndim:
        w = K.expand_dims(w, -1)
    if w.ndim != values.ndim or any(a != 1 and a != b for a, b in zip(w.shape[1:], values.shape[1:])):
        raise ValueError(f"sample_weight: shape {K.int_shape(sample_weight)} cannot be broadcast to "
                         f"the values' shape {K.int_shape(values)}")
    return B.broadcast_to(w, values.shape)


def as_float(x):
    return x if x.dtype == K.floatx() else K.cast(x, K.floatx())


def weighted_sums(values, sample_weight):
    """(Σ w·v, Σ w) of ``values`` (the count of elements when unweighted), as tf-keras's Mean."""
    values = as_float(values)
    if values.ndim == 0:
        values = K.reshape(values, (1,))
    if sample_weight is None:
        return K.sum(values), O.Elemwise(dims.size(values.shape), K.floatx())()
    w = broadcast_weights(sample_weight, values)
    return K.sum(values * w), K.sum(w)


def filter_top_k(x, k):
    """tf-keras ``_filter_top_k``: the ``k`` largest values along the last axis kept, the others
    set to -1e10 (ties go to the lower index, as ``tf.math.top_k``)."""
    n = K.int_shape(x)[-1]
    if n is None:
        raise ValueError("top_k: predictions need a class axis (their last axis) to take the top k of")
    xj, xl = K.expand_dims(x, -1), K.expand_dims(x, -2)          # (..., n, 1), (..., 1, n)
    earlier = K.constant(np.tril(np.ones((n, n)), -1), dtype=x.dtype)   # [j, l] = l < j
    ahead = K.sum(K.greater(xl, xj), axis=-1) + K.sum(K.equal(xl, xj) * earlier, axis=-1)
    return K.switch(K.less(ahead, float(k)), x, NEG_INF)


# ----------------------------------------------------------------------------- confusion matrix

def is_evenly_distributed(thresholds):
    """tf-keras ``is_evenly_distributed_thresholds``: at least 3, equal to ``i / (T - 1)``."""
    n = len(thresholds)
    if n < 3:
        return False
    even = np.arange(n, dtype=np.float32) / (n - 1)
    return bool(np.allclose(thresholds, even, atol=K.epsilon()))


def confusion_counts(y_true, y_pred, thresholds, kinds, *, evenly=False, top_k=None, class_id=None,
                     sample_weight=None, multi_label=False, label_weights=None):
    """``{kind: counts}`` for ``kinds`` among 'tp', 'fp', 'tn', 'fn': one weighted count per threshold
    (shape ``(T,)``; ``(T, labels)`` when ``multi_label``)."""
    y_true, y_pred = as_float(y_true), as_float(y_pred)
    y_true, y_pred = align(y_true, y_pred)
    if sample_weight is not None:
        sample_weight = as_float(sample_weight)
    if K.int_shape(y_true)[1:] != K.int_shape(y_pred)[1:] or y_true.ndim != y_pred.ndim:
        raise ValueError(f"y_true and y_pred must have the same shape: got {K.int_shape(y_true)} and "
                         f"{K.int_shape(y_pred)}")
    if top_k is not None:
        y_pred = filter_top_k(y_pred, top_k)
    if class_id is not None:
        n = K.int_shape(y_pred)[-1] if y_pred.ndim > 1 else None
        if n is None or not 0 <= class_id < n:
            raise ValueError(f"class_id: {class_id} is not a class of predictions of shape "
                             f"{K.int_shape(y_pred)}")
        y_true, y_pred = y_true[..., class_id:class_id + 1], y_pred[..., class_id:class_id + 1]
    if y_pred.ndim == 1:
        y_true, y_pred = K.expand_dims(y_true, -1), K.expand_dims(y_pred, -1)
    weights = None
    if sample_weight is not None:
        weights = broadcast_weights(sample_weight, y_pred)
    if label_weights is not None:
        lw = B.broadcast_to(K.constant(np.asarray(label_weights, dtype=K.floatx())), y_pred.shape)
        weights = lw if weights is None else weights * lw
    if y_pred.ndim > 2:
        y_true, y_pred = K.batch_flatten(y_true), K.batch_flatten(y_pred)
        weights = K.batch_flatten(weights) if weights is not None else None
    thresholds = np.asarray(thresholds, dtype=np.float64)
    count = len(thresholds)
    pred = K.expand_dims(y_pred, -1)                                   # (B, M, 1) against (T,)
    if evenly:
        scaled = K.clip(pred, 0.0, 1.0) * float(count - 1)
        steps = np.arange(count, dtype=np.float32)
        if thresholds[0] < 0.0 or thresholds[-1] > 1.0:                # AUC's thresholds: ±epsilon ends
            steps[0] = -1.0
        positive = K.cast(K.greater(scaled, K.constant(steps)), K.floatx())
    else:
        positive = K.cast(K.greater(pred, K.constant(thresholds.astype(np.float32))), K.floatx())
    label = K.expand_dims(K.cast(K.not_equal(y_true, 0.0), K.floatx()), -1)
    w = K.expand_dims(weights, -1) if weights is not None else None
    axes = (0,) if multi_label else (0, 1)
    terms = {"tp": (label, positive), "fp": (1.0 - label, positive),
             "tn": (1.0 - label, 1.0 - positive), "fn": (label, 1.0 - positive)}
    out = {}
    for kind in kinds:
        a, b = terms[kind]
        joint = a * b if w is None else a * b * w
        total = K.sum(joint, axis=axes)
        out[kind] = K.transpose(total) if multi_label else total    # (labels, T) -> (T, labels)
    return out


# ----------------------------------------------------------------------------- eager evaluation

def _array(x, name):
    arr = np.asarray(x)
    if arr.dtype == object:
        raise TypeError(f"{name}: expected numbers, got {x!r}")
    if arr.ndim == 0:
        arr = arr.reshape(1)
    return np.ascontiguousarray(arr, dtype=K.floatx())


def _placeholder(arr, name, exact):
    """A batch of any size, or exactly ``arr``'s shape (1-D data, whose last axis is the batch)."""
    return K.placeholder(arr.shape if exact else (None,) + arr.shape[1:], dtype=arr.dtype, name=name)


def run_update(metric, named_args, sample_weight):
    """Update ``metric``'s state with NumPy arrays (``named_args``: [(argument name, array)]) and
    return its result, through a generated NumPy function kept per input signature."""
    arrays = [_array(a, n) for n, a in named_args]
    if any(a.shape[0] != arrays[0].shape[0] for a in arrays[1:]):
        raise ValueError(f"{' and '.join(n for n, _ in named_args)} must have the same number of "
                         f"samples; got shapes {[a.shape for a in arrays]}")
    weight = None
    if sample_weight is not None:
        weight = _array(sample_weight, "sample_weight")
        if weight.size == 1 and arrays[0].shape[0] != 1:
            weight = np.full(arrays[0].shape[:1], weight.reshape(()), dtype=weight.dtype)
        if weight.shape[0] != arrays[0].shape[0]:
            raise ValueError(f"sample_weight: {weight.shape[0]} samples, expected {arrays[0].shape[0]}")
    exact = all(a.ndim == 1 for a in arrays)
    key = tuple(a.shape if exact else a.shape[1:] for a in arrays + [weight] if a is not None) \
        + (weight is None, exact)
    cache = metric.__dict__.setdefault("_eager_updates", {})
    fn = cache.get(key)
    if fn is None:
        placeholders = [_placeholder(a, n, exact) for a, (n, _) in zip(arrays, named_args)]
        w = _placeholder(weight, "sample_weight", exact) if weight is not None else None
        updates, result = metric._stream_graph(*placeholders, sample_weight=w)
        fn = cache[key] = K.function(placeholders + ([w] if w is not None else []), [result], updates=updates,
                                     backend="numpy", name=f"{metric.name}_update_state")
    return fn(arrays + ([weight] if weight is not None else []))[0]


def run_result(metric):
    """``metric``'s result from the current values of its state, through a generated function."""
    states = metric.variables
    fn = metric.__dict__.get("_eager_result")
    if fn is None:
        placeholders = [K.placeholder(K.int_shape(v) or (1,), name=f"state_{i}") for i, v in enumerate(states)]
        nodes = [p if v.ndim else K.reshape(p, ()) for p, v in zip(placeholders, states)]
        fn = metric._eager_result = K.function(placeholders, [metric._result_graph(nodes)], backend="numpy",
                                               name=f"{metric.name}_result")
    values = [K.get_value(v) if v.ndim else K.get_value(v).reshape(1) for v in states]
    return fn(values)[0]

"""Built-in metrics (tf-keras 2.x names and formulas).

A metric function maps ``(y_true, y_pred)`` to a per-sample tensor (``(B,)`` for
``(B, C)`` predictions, ``(B, T)`` for ``(B, T, C)``); the model's compile averages those
values itself. Their classes are ``MeanMetricWrapper`` objects: callables with a ``.name``.

The streaming metrics (``Precision``, ``Recall``, ``AUC``, the confusion counts, ``MeanIoU``)
keep their state in variables: a compiled model's train and test functions update them and
return the running result, and the model sets them back to zero at the start of each epoch,
evaluation and validation pass (see ``symkeras.metric_states``). Every metric object also has
tf-keras's standalone API on arrays: ``update_state``, ``result``, ``reset_state``.

Every loss function is also a metric under the same names and aliases, except
``cosine_similarity`` (aliases ``cosine_proximity``, ``cosine``), which as a *metric* is the
positive similarity, as in tf-keras.

The strings ``'accuracy'``/``'acc'`` and ``'crossentropy'``/``'ce'`` are resolved by the model's
compile from the shapes of the targets and outputs (see ``resolve_by_shapes``);
``get('accuracy')`` alone returns the element-wise ``accuracy`` function, as tf-keras does.
"""

import copy
import numbers

import numpy as np

from symkeras import backend as K
from symkeras import losses as _losses
from symkeras import metric_states
from symkeras.losses import (  # noqa: F401  (re-exported: every loss is a metric)
    BCE, KLD, MAE, MAPE, MSE, MSLE, bce, binary_crossentropy, categorical_crossentropy,
    categorical_hinge, hinge, huber, huber_loss, kl_divergence, kld, kullback_leibler_divergence,
    log_cosh, logcosh, mae, mape, mean_absolute_error, mean_absolute_percentage_error,
    mean_squared_error, mean_squared_logarithmic_error, mse, msle, poisson,
    sparse_categorical_crossentropy, squared_hinge)
from symkeras.utils.generic_utils import get_from_identifier

__all__ = [
    "Metric", "MeanMetricWrapper",
    "Accuracy", "BinaryAccuracy", "CategoricalAccuracy", "SparseCategoricalAccuracy",
    "TopKCategoricalAccuracy", "SparseTopKCategoricalAccuracy",
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "Hinge", "SquaredHinge", "CategoricalHinge", "LogCoshError",
    "BinaryCrossentropy", "CategoricalCrossentropy", "SparseCategoricalCrossentropy",
    "KLDivergence", "Poisson", "CosineSimilarity",
    "Reduce", "Mean", "Sum", "TruePositives", "FalsePositives", "TrueNegatives", "FalseNegatives",
    "Precision", "Recall", "AUC", "MeanIoU",
    "accuracy", "binary_accuracy", "categorical_accuracy", "sparse_categorical_accuracy",
    "top_k_categorical_accuracy", "sparse_top_k_categorical_accuracy", "cosine_similarity",
    "resolve_by_shapes", "get", "serialize", "deserialize",
]


# ----------------------------------------------------------------------------- helpers

def _prepare(y_true, y_pred):
    return _losses._prepare(y_true, y_pred)


def _float_dtype(y_pred):
    return y_pred.dtype if y_pred.dtype.startswith("float") else K.floatx()


def _sparse_labels(y_true, y_pred):
    """Integer-valued labels shaped like ``y_pred`` without its last axis."""
    labels = y_true if K.is_tensor(y_true) else K.constant(y_true)
    if labels.ndim == y_pred.ndim and K.int_shape(labels)[-1] == 1:
        labels = K.squeeze(labels, -1)
    if labels.shape != y_pred.shape[:-1]:
        labels = K.reshape(labels, (-1,) + K.int_shape(y_pred)[1:-1])
    return labels


# ----------------------------------------------------------------------------- accuracy family

def accuracy(y_true, y_pred):
    """How often ``y_pred == y_true`` exactly, averaged over the last axis.

    (tf-keras returns the element-wise matches; the mean over the last axis keeps the
    per-sample contract of this module and gives the same overall mean.)
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    return K.mean(K.cast(K.equal(y_true, y_pred), _float_dtype(y_pred)), axis=-1)


def binary_accuracy(y_true, y_pred, threshold=0.5):
    """``mean(y_true == (y_pred > threshold), axis=-1)``."""
    y_true, y_pred = _prepare(y_true, y_pred)
    dtype = _float_dtype(y_pred)
    predicted = K.cast(K.greater(y_pred, float(threshold)), y_pred.dtype)
    return K.mean(K.cast(K.equal(y_true, predicted), dtype), axis=-1)


def categorical_accuracy(y_true, y_pred):
    """``argmax(y_true) == argmax(y_pred)`` over the last axis (ties: first index)."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return K.cast(K.equal(K.argmax(y_true, axis=-1), K.argmax(y_pred, axis=-1)),
                  _float_dtype(y_pred))


def sparse_categorical_accuracy(y_true, y_pred):
    """``y_true == argmax(y_pred)`` with integer labels of shape ``(B,)`` or ``(B, 1)``."""
    y_pred = y_pred if K.is_tensor(y_pred) else K.constant(y_pred)
    labels = _sparse_labels(y_true, y_pred)
    predicted = K.argmax(y_pred, axis=-1)
    if predicted.dtype != labels.dtype:
        predicted = K.cast(predicted, labels.dtype)
    return K.cast(K.equal(labels, predicted), _float_dtype(y_pred))


def _in_top_k(y_pred, target_one_hot, k):
    """TF ``in_top_k``: the target is in when fewer than ``k`` predictions beat it strictly."""
    target = K.sum(K.switch(target_one_hot, y_pred, K.constant(0.0, dtype=y_pred.dtype)),
                   axis=-1, keepdims=True)
    better = K.sum(K.greater(y_pred, target), axis=-1)
    return K.cast(K.less(better, float(k)), _float_dtype(y_pred))


def top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Is ``argmax(y_true)`` among the top ``k`` of ``y_pred`` (ties at the k-th value count)."""
    y_true, y_pred = _prepare(y_true, y_pred)
    num_classes = K.int_shape(y_pred)[-1]
    return _in_top_k(y_pred, K.one_hot(K.argmax(y_true, axis=-1), num_classes), k)


def sparse_top_k_categorical_accuracy(y_true, y_pred, k=5):
    """Is the integer label among the top ``k`` of ``y_pred`` (ties at the k-th value count)."""
    y_pred = y_pred if K.is_tensor(y_pred) else K.constant(y_pred)
    labels = _sparse_labels(y_true, y_pred)
    num_classes = K.int_shape(y_pred)[-1]
    return _in_top_k(y_pred, K.one_hot(K.cast(labels, "int64"), num_classes), k)


def cosine_similarity(y_true, y_pred, axis=-1):
    """The tf-keras *metric*: ``+sum(l2_normalize(y_true) · l2_normalize(y_pred), axis)``."""
    return -_losses.cosine_similarity(y_true, y_pred, axis=axis)


acc = ACC = accuracy
cosine_proximity = cosine = cosine_similarity


# ----------------------------------------------------------------------------- metric objects

class Metric:
    """Base of the metric objects: a name, a config, and tf-keras's streaming API.

    ``update_state(y_true, y_pred, sample_weight=None)``, ``result()`` and ``reset_state()``
    work on NumPy arrays; the state lives in variables (``variables``) and both the update and
    the result are graphs (``_update_graph``/``_result_graph``, see ``symkeras.metric_states``).
    Classes with ``_compiled_state`` (every built-in metric object) keep that state inside a
    compiled model's train and test functions; the metric *functions* (``'accuracy'``, ``mae``...)
    give per-sample values the model averages itself.
    """

    _compiled_state = False

    def __init__(self, name=None, dtype=None):
        self.name = name or _snake(type(self).__name__)
        self.dtype = dtype

    def __call__(self, y_true, y_pred):
        raise NotImplementedError("Must be implemented in subclasses.")

    # -------------------------------------------------------------- state
    def _state_shapes(self, pred_shape):
        """[(state name, shape)], or None while the shape of the predictions is needed."""
        return []

    def _update_graph(self, states, y_true, y_pred, sample_weight=None):
        """The new value of each state (IR nodes) after a batch."""
        raise NotImplementedError("Must be implemented in subclasses.")

    def _result_graph(self, states):
        raise NotImplementedError("Must be implemented in subclasses.")

    def _ensure_states(self, pred_shape=None):
        states = self.__dict__.get("_states")
        if states is None:
            shapes = self._state_shapes(pred_shape)
            if shapes is None:
                return []
            states = self._states = [self.add_weight(n, shape) for n, shape in shapes]
        return states

    def add_weight(self, name, shape=(), initializer="zeros", dtype=None):
        """A state variable of zeros (the only initializer of metric states in tf-keras)."""
        if initializer not in ("zeros", None):
            raise ValueError(f"initializer: metric states start at zeros, got {initializer!r}")
        return K.variable(np.zeros(tuple(shape)), dtype=dtype or K.floatx(), name=f"{self.name}/{name}")

    @property
    def variables(self):
        return list(self._ensure_states())

    weights = variables

    def _stream_graph(self, *inputs, sample_weight=None):
        """(assigns as (variable, new value) pairs, result after them) for one batch of inputs."""
        states = self._ensure_states(K.int_shape(inputs[-1]))
        new = self._update_graph(states, *inputs, sample_weight=sample_weight)
        return list(zip(states, new)), self._result_graph(new)

    def update_state(self, y_true, y_pred, sample_weight=None):
        """Accumulate a batch of NumPy arrays."""
        metric_states.run_update(self, [("y_true", y_true), ("y_pred", y_pred)], sample_weight)

    def result(self):
        """The value from the state accumulated so far (a NumPy scalar, or an array)."""
        if not self._ensure_states():
            return np.float32(0.0)
        return metric_states.run_result(self)

    def reset_state(self):
        """All states back to zero."""
        for v in self.__dict__.get("_states") or ():
            K.set_value(v, np.zeros(K.int_shape(v)))

    reset_states = reset_state

    def _fresh_copy(self):
        """The same metric with a state of its own (a model's second output gets one)."""
        clone = copy.copy(self)
        for key in ("_states", "_eager_updates", "_eager_result"):
            clone.__dict__.pop(key, None)
        return clone

    # -------------------------------------------------------------- config
    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


class _StreamingMetric(Metric):
    """A metric whose state a compiled model keeps in its train and test functions; calling it
    on arrays is ``update_state`` then ``result``, as tf-keras."""

    _compiled_state = True

    def __init__(self, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype or K.floatx())

    def __call__(self, y_true, y_pred, sample_weight=None):
        if K.is_tensor(y_true) or K.is_tensor(y_pred):
            raise TypeError(f"{type(self).__name__}: call it on arrays, or pass it to compile(metrics=...)")
        return metric_states.run_update(self, [("y_true", y_true), ("y_pred", y_pred)], sample_weight)


def _snake(name):
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


class MeanMetricWrapper(Metric):
    """Wraps ``fn(y_true, y_pred, **kwargs)``; calling it on tensors gives the per-sample values,
    whose weighted mean its state (total, count) accumulates."""

    _compiled_state = True

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def __call__(self, y_true, y_pred, sample_weight=None):
        """On tensors: the per-sample values (a graph). On arrays: ``update_state`` then ``result``,
        as tf-keras."""
        if not (K.is_tensor(y_true) or K.is_tensor(y_pred)):
            return metric_states.run_update(self, [("y_true", y_true), ("y_pred", y_pred)], sample_weight)
        if sample_weight is not None:
            raise TypeError(f"{self.name}: sample_weight applies to arrays (update_state); a compiled model "
                            "weights its metrics itself")
        y_true, y_pred = _losses._align_ranks(y_true, y_pred)
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        if self.dtype is not None and values.dtype != self.dtype:
            values = K.cast(values, self.dtype)
        return values

    def get_fn(self):
        return self._fn

    def _state_shapes(self, pred_shape):
        return [("total", ()), ("count", ())]

    def _update_graph(self, states, y_true, y_pred, sample_weight=None):
        total, count = metric_states.weighted_sums(self(y_true, y_pred), sample_weight)
        return [states[0] + total, states[1] + count]

    def _result_graph(self, states):
        return metric_states.div_no_nan(states[0], states[1])

    def get_config(self):
        config = dict(super().get_config())
        config.update(self._fn_kwargs)
        if type(self) is MeanMetricWrapper:
            config["fn"] = getattr(self._fn, "__name__", None)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if cls is MeanMetricWrapper:
            fn = config.pop("fn", None)
            return cls(get(fn) if isinstance(fn, str) else fn, **config)
        return cls(**config)


class Accuracy(MeanMetricWrapper):
    def __init__(self, name="accuracy", dtype=None):
        super().__init__(accuracy, name, dtype=dtype)


class BinaryAccuracy(MeanMetricWrapper):
    def __init__(self, name="binary_accuracy", dtype=None, threshold=0.5):
        super().__init__(binary_accuracy, name, dtype=dtype, threshold=threshold)


class CategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name="categorical_accuracy", dtype=None):
        super().__init__(categorical_accuracy, name, dtype=dtype)


class SparseCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, name="sparse_categorical_accuracy", dtype=None):
        super().__init__(sparse_categorical_accuracy, name, dtype=dtype)


class TopKCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, k=5, name="top_k_categorical_accuracy", dtype=None):
        super().__init__(top_k_categorical_accuracy, name, dtype=dtype, k=k)


class SparseTopKCategoricalAccuracy(MeanMetricWrapper):
    def __init__(self, k=5, name="sparse_top_k_categorical_accuracy", dtype=None):
        super().__init__(sparse_top_k_categorical_accuracy, name, dtype=dtype, k=k)


class MeanSquaredError(MeanMetricWrapper):
    def __init__(self, name="mean_squared_error", dtype=None):
        super().__init__(mean_squared_error, name, dtype=dtype)


class MeanAbsoluteError(MeanMetricWrapper):
    def __init__(self, name="mean_absolute_error", dtype=None):
        super().__init__(mean_absolute_error, name, dtype=dtype)


class MeanAbsolutePercentageError(MeanMetricWrapper):
    def __init__(self, name="mean_absolute_percentage_error", dtype=None):
        super().__init__(mean_absolute_percentage_error, name, dtype=dtype)


class MeanSquaredLogarithmicError(MeanMetricWrapper):
    def __init__(self, name="mean_squared_logarithmic_error", dtype=None):
        super().__init__(mean_squared_logarithmic_error, name, dtype=dtype)


class Hinge(MeanMetricWrapper):
    def __init__(self, name="hinge", dtype=None):
        super().__init__(hinge, name, dtype=dtype)


class SquaredHinge(MeanMetricWrapper):
    def __init__(self, name="squared_hinge", dtype=None):
        super().__init__(squared_hinge, name, dtype=dtype)


class CategoricalHinge(MeanMetricWrapper):
    def __init__(self, name="categorical_hinge", dtype=None):
        super().__init__(categorical_hinge, name, dtype=dtype)


class LogCoshError(MeanMetricWrapper):
    def __init__(self, name="logcosh", dtype=None):
        super().__init__(log_cosh, name, dtype=dtype)


class BinaryCrossentropy(MeanMetricWrapper):
    def __init__(self, name="binary_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0.0):
        super().__init__(binary_crossentropy, name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing)


class CategoricalCrossentropy(MeanMetricWrapper):
    def __init__(self, name="categorical_crossentropy", dtype=None, from_logits=False,
                 label_smoothing=0.0, axis=-1):
        super().__init__(categorical_crossentropy, name, dtype=dtype, from_logits=from_logits,
                         label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(MeanMetricWrapper):
    def __init__(self, name="sparse_categorical_crossentropy", dtype=None, from_logits=False,
                 ignore_class=None, axis=-1):
        super().__init__(sparse_categorical_crossentropy, name, dtype=dtype,
                         from_logits=from_logits, ignore_class=ignore_class, axis=axis)


class KLDivergence(MeanMetricWrapper):
    def __init__(self, name="kullback_leibler_divergence", dtype=None):
        super().__init__(kl_divergence, name, dtype=dtype)


class Poisson(MeanMetricWrapper):
    def __init__(self, name="poisson", dtype=None):
        super().__init__(poisson, name, dtype=dtype)


class CosineSimilarity(MeanMetricWrapper):
    def __init__(self, name="cosine_similarity", dtype=None, axis=-1):
        super().__init__(cosine_similarity, name, dtype=dtype, axis=axis)


# ----------------------------------------------------------------------------- streaming metrics

class Reduce(Metric):
    """Mean or sum of values over the batches (``update_state(values, sample_weight=None)``)."""

    def __init__(self, reduction, name, dtype=None):
        super().__init__(name=name, dtype=dtype or K.floatx())
        self.reduction = reduction

    def _state_shapes(self, pred_shape):
        return [("total", ()), ("count", ())] if self.reduction == "weighted_mean" else [("total", ())]

    def update_state(self, values, sample_weight=None):
        metric_states.run_update(self, [("values", values)], sample_weight)

    def __call__(self, values, sample_weight=None):
        if K.is_tensor(values):
            raise TypeError(f"{type(self).__name__} takes `values` and `sample_weight`, not (y_true, y_pred): "
                            "it cannot be a compile metric")
        return metric_states.run_update(self, [("values", values)], sample_weight)

    def _update_graph(self, states, values, sample_weight=None):
        total, count = metric_states.weighted_sums(values, sample_weight)
        return [states[0] + total] + ([states[1] + count] if len(states) > 1 else [])

    def _result_graph(self, states):
        if len(states) == 1:
            return states[0] + 0.0
        return metric_states.div_no_nan(states[0], states[1])


class Sum(Reduce):
    """The (weighted) sum of the values seen."""

    def __init__(self, name="sum", dtype=None):
        super().__init__("sum", name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


class Mean(Reduce):
    """The (weighted) mean of the values seen: ``Σ w·v / Σ w``."""

    def __init__(self, name="mean", dtype=None):
        super().__init__("weighted_mean", name=name, dtype=dtype)

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}


def _parse_thresholds(thresholds, default):
    """tf-keras ``parse_init_thresholds``: a number or a list of numbers in [0, 1]."""
    if thresholds is None:
        return [default]
    values = list(thresholds) if isinstance(thresholds, (list, tuple, np.ndarray)) else [thresholds]
    if not values:
        raise ValueError("thresholds: expected at least one threshold, got an empty list")
    for t in values:
        if isinstance(t, bool) or not isinstance(t, numbers.Real):
            raise TypeError(f"thresholds: expected numbers in [0, 1], got {t!r}")
        if not 0 <= t <= 1:
            raise ValueError(f"thresholds: threshold values must be in [0, 1]; invalid values: {[t]}")
    return [float(t) for t in values]


def _check_int(value, argument, minimum):
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, numbers.Integral):
        raise TypeError(f"{argument}: expected an integer, got {value!r}")
    if value < minimum:
        raise ValueError(f"{argument}: expected an integer >= {minimum}, got {value}")
    return int(value)


class _ConfusionMatrixConditionCount(_StreamingMetric):
    """The weighted count of one confusion-matrix condition, one per threshold."""

    _condition = None

    def __init__(self, thresholds=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.thresholds = _parse_thresholds(thresholds, 0.5)
        self._thresholds_distributed_evenly = metric_states.is_evenly_distributed(self.thresholds)

    def _state_shapes(self, pred_shape):
        return [("accumulator", (len(self.thresholds),))]

    def _update_graph(self, states, y_true, y_pred, sample_weight=None):
        counts = metric_states.confusion_counts(y_true, y_pred, self.thresholds, [self._condition],
                                                evenly=self._thresholds_distributed_evenly,
                                                sample_weight=sample_weight)
        return [states[0] + counts[self._condition]]

    def _result_graph(self, states):
        return states[0][0] if len(self.thresholds) == 1 else states[0] + 0.0

    def get_config(self):
        return dict(super().get_config(), thresholds=self.init_thresholds)


class TruePositives(_ConfusionMatrixConditionCount):
    """Weighted count of ``y_true`` true and ``y_pred > threshold``."""
    _condition = "tp"


class FalsePositives(_ConfusionMatrixConditionCount):
    """Weighted count of ``y_true`` false and ``y_pred > threshold``."""
    _condition = "fp"


class TrueNegatives(_ConfusionMatrixConditionCount):
    """Weighted count of ``y_true`` false and ``y_pred <= threshold``."""
    _condition = "tn"


class FalseNegatives(_ConfusionMatrixConditionCount):
    """Weighted count of ``y_true`` true and ``y_pred <= threshold``."""
    _condition = "fn"


class _PrecisionRecall(_StreamingMetric):
    _other = None          # 'fp' (precision) or 'fn' (recall)

    def __init__(self, thresholds=None, top_k=None, class_id=None, name=None, dtype=None):
        super().__init__(name=name, dtype=dtype)
        self.init_thresholds = thresholds
        self.top_k = _check_int(top_k, "top_k", 1)
        self.class_id = _check_int(class_id, "class_id", 0)
        self.thresholds = _parse_thresholds(thresholds, 0.5 if top_k is None else metric_states.NEG_INF)
        self._thresholds_distributed_evenly = metric_states.is_evenly_distributed(self.thresholds)

    def _state_shapes(self, pred_shape):
        other = "false_positives" if self._other == "fp" else "false_negatives"
        return [("true_positives", (len(self.thresholds),)), (other, (len(self.thresholds),))]

    def _update_graph(self, states, y_true, y_pred, sample_weight=None):
        counts = metric_states.confusion_counts(y_true, y_pred, self.thresholds, ["tp", self._other],
                                                evenly=self._thresholds_distributed_evenly, top_k=self.top_k,
                                                class_id=self.class_id, sample_weight=sample_weight)
        return [states[0] + counts["tp"], states[1] + counts[self._other]]

    def _result_graph(self, states):
        tp, other = states
        value = metric_states.div_no_nan(tp, tp + other)
        return value[0] if len(self.thresholds) == 1 else value

    def get_config(self):
        return dict(super().get_config(), thresholds=self.init_thresholds, top_k=self.top_k,
                    class_id=self.class_id)


class Precision(_PrecisionRecall):
    """``tp / (tp + fp)`` over everything seen (0 when nothing was predicted positive)."""
    _other = "fp"


class Recall(_PrecisionRecall):
    """``tp / (tp + fn)`` over everything seen (0 when there was no positive)."""
    _other = "fn"


_AUC_CURVES = {"roc": "ROC", "pr": "PR"}
_AUC_SUMMATIONS = ("interpolation", "minoring", "majoring")


class AUC(_StreamingMetric):
    """Area under the ROC or PR curve, by a Riemann sum over ``num_thresholds`` thresholds
    (tf-keras: thresholds ``i / (num_thresholds - 1)`` with the ends moved by epsilon; the PR curve
    with 'interpolation' uses Davis & Goadrich's interpolation of precision)."""

    def __init__(self, num_thresholds=200, curve="ROC", summation_method="interpolation", name=None, dtype=None,
                 thresholds=None, multi_label=False, num_labels=None, label_weights=None, from_logits=False):
        if not isinstance(curve, str) or curve.lower() not in _AUC_CURVES or curve not in (
                "ROC", "roc", "PR", "pr"):
            raise ValueError(f'curve: invalid AUC curve value "{curve}". Expected values are ["PR", "ROC"]')
        if not isinstance(summation_method, str) or summation_method.lower() not in _AUC_SUMMATIONS \
                or summation_method not in _AUC_SUMMATIONS + tuple(m.capitalize() for m in _AUC_SUMMATIONS):
            raise ValueError(f'summation_method: invalid AUC summation method value "{summation_method}". '
                             f'Expected values are {list(_AUC_SUMMATIONS)}')
        self._init_from_thresholds = thresholds is not None
        if thresholds is not None:
            given = sorted(_parse_thresholds(thresholds, 0.5))
            self.num_thresholds = len(given) + 2
            self._thresholds_distributed_evenly = metric_states.is_evenly_distributed([0.0] + given + [1.0])
        else:
            num_thresholds = _check_int(num_thresholds, "num_thresholds", 2)
            self.num_thresholds = num_thresholds
            given = [(i + 1) * 1.0 / (num_thresholds - 1) for i in range(num_thresholds - 2)]
            self._thresholds_distributed_evenly = True
        self._thresholds = [0.0 - K.epsilon()] + given + [1.0 + K.epsilon()]
        self.curve = _AUC_CURVES[curve.lower()]
        self.summation_method = summation_method.lower()
        super().__init__(name=name, dtype=dtype)
        self.multi_label = bool(multi_label)
        self.num_labels = _check_int(num_labels, "num_labels", 1)
        if num_labels and not multi_label:
            raise ValueError("num_labels: `num_labels` is needed only when `multi_label` is True.")
        if label_weights is not None:
            label_weights = np.asarray(label_weights, dtype=K.floatx())
            if label_weights.ndim != 1 or (label_weights < 0).any():
                raise ValueError("label_weights: expected a list of non-negative weights, one per label")
        self.label_weights = label_weights
        self._from_logits = bool(from_logits)

    @property
    def thresholds(self):
        return list(self._thresholds)

    def _state_shapes(self, pred_shape):
        if not self.multi_label:
            shape = (self.num_thresholds,)
        elif self.num_labels:
            shape = (self.num_thresholds, self.num_labels)
        elif pred_shape is None:
            return None
        elif len(pred_shape) != 2:
            raise ValueError(f"y_pred: must have rank 2 when `multi_label=True`; got shape {pred_shape}")
        else:
            shape = (self.num_thresholds, pred_shape[-1])
        return [(n, shape) for n in ("true_positives", "true_negatives", "false_positives", "false_negatives")]

    def _update_graph(self, states, y_true, y_pred, sample_weight=None):
        labels = states[0].shape[1] if self.multi_label else None
        for name, arg in (("y_pred", y_pred), ("y_true", y_true)):
            if self.multi_label and (arg.ndim != 2 or arg.shape[1] != labels):
                raise ValueError(f"{name}: expected shape (None, {labels}) with multi_label=True, "
                                 f"got {K.int_shape(arg)}")
        if self.label_weights is not None and K.int_shape(y_pred)[-1] != len(self.label_weights):
            raise ValueError(f"label_weights: {len(self.label_weights)} weights for predictions of shape "
                             f"{K.int_shape(y_pred)}")
        if self._from_logits:
            y_pred = K.sigmoid(y_pred)
        counts = metric_states.confusion_counts(
            y_true, y_pred, self._thresholds, ["tp", "tn", "fp", "fn"],
            evenly=self._thresholds_distributed_evenly, sample_weight=sample_weight, multi_label=self.multi_label,
            label_weights=None if self.multi_label else self.label_weights)
        return [s + counts[k] for s, k in zip(states, ("tp", "tn", "fp", "fn"))]

    def _by_label(self, terms):
        """The sum over thresholds; with several labels, their (weighted) mean."""
        if not self.multi_label:
            return K.sum(terms)
        by_label = K.sum(terms, axis=0)
        if self.label_weights is None:
            return K.mean(by_label)
        w = K.constant(self.label_weights)
        return metric_states.div_no_nan(K.sum(by_label * w), K.sum(w))

    def _result_graph(self, states):
        tp, tn, fp, fn = states
        n = self.num_thresholds
        div = metric_states.div_no_nan
        if self.curve == "PR" and self.summation_method == "interpolation":
            dtp = tp[:n - 1] - tp[1:]
            p = tp + fp
            dp = p[:n - 1] - p[1:]
            slope = metric_states.div_positive(dtp, dp)
            intercept = tp[1:] - slope * p[1:]
            both = K.greater(p[:n - 1], 0.0) * K.greater(p[1:], 0.0)
            ratio = K.switch(both, metric_states.div_positive(p[:n - 1], p[1:]), 1.0)
            increment = metric_states.div_positive(slope * (dtp + intercept * K.log(ratio)), tp[1:] + fn[1:])
            return self._by_label(increment)
        recall = div(tp, tp + fn)
        if self.curve == "ROC":
            x, y = div(fp, fp + tn), recall
        else:
            x, y = recall, div(tp, tp + fp)
        if self.summation_method == "interpolation":
            heights = (y[:n - 1] + y[1:]) / 2.0
        elif self.summation_method == "minoring":
            heights = K.minimum(y[:n - 1], y[1:])
        else:
            heights = K.maximum(y[:n - 1], y[1:])
        return self._by_label((x[:n - 1] - x[1:]) * heights)

    def get_config(self):
        config = dict(super().get_config(), num_thresholds=self.num_thresholds, curve=self.curve,
                      summation_method=self.summation_method, multi_label=self.multi_label,
                      num_labels=self.num_labels,
                      label_weights=None if self.label_weights is None else self.label_weights.tolist(),
                      from_logits=self._from_logits)
        if self._init_from_thresholds:
            config["thresholds"] = self.thresholds[1:-1]
        return config


class MeanIoU(_StreamingMetric):
    """Mean intersection-over-union over the classes seen, from a confusion matrix accumulated
    over the batches (``num_classes x num_classes``, rows true, columns predicted)."""

    def __init__(self, num_classes, name=None, dtype=None, ignore_class=None, sparse_y_true=True,
                 sparse_y_pred=True, axis=-1):
        super().__init__(name=name, dtype=dtype)
        self.num_classes = _check_int(num_classes, "num_classes", 1)
        if ignore_class is not None and (isinstance(ignore_class, bool)
                                         or not isinstance(ignore_class, numbers.Integral)):
            raise TypeError(f"ignore_class: expected an integer or None, got {ignore_class!r}")
        if not isinstance(axis, numbers.Integral) or isinstance(axis, bool):
            raise TypeError(f"axis: expected an integer, got {axis!r}")
        self.ignore_class = ignore_class
        self.sparse_y_true, self.sparse_y_pred, self.axis = bool(sparse_y_true), bool(sparse_y_pred), int(axis)

    def _state_shapes(self, pred_shape):
        return [("total_confusion_matrix", (self.num_classes, self.num_classes))]

    def _update_graph(self, states, y_true, y_pred, sample_weight=None):
        if not self.sparse_y_true:
            y_true = K.argmax(y_true, axis=self.axis)
        if not self.sparse_y_pred:
            y_pred = K.argmax(y_pred, axis=self.axis)
        y_true, y_pred = metric_states.as_float(y_true), metric_states.as_float(y_pred)
        if y_true.ndim == 1:
            y_true = K.expand_dims(y_true, -1)
        if y_pred.ndim == 1:
            y_pred = K.expand_dims(y_pred, -1)
        y_true, y_pred = K.batch_flatten(y_true), K.batch_flatten(y_pred)
        if K.int_shape(y_true)[1:] != K.int_shape(y_pred)[1:]:
            raise ValueError(f"y_true and y_pred must hold as many labels per sample: got shapes "
                             f"{K.int_shape(y_true)} and {K.int_shape(y_pred)}")
        weights = None
        if sample_weight is not None:
            weights = K.batch_flatten(metric_states.broadcast_weights(
                K.expand_dims(sample_weight, -1) if sample_weight.ndim == 1 else sample_weight, y_true))
        if self.ignore_class is not None:
            keep = K.cast(K.not_equal(y_true, float(self.ignore_class)), K.floatx())
            weights = keep if weights is None else weights * keep
        c = self.num_classes
        true_1h, pred_1h = (K.one_hot(K.cast(y, "int64"), c) for y in (y_true, y_pred))   # (B, M, C)
        if weights is not None:
            true_1h = true_1h * K.expand_dims(weights, -1)
        if K.int_shape(y_true)[1] == 1:
            true_1h, pred_1h = K.squeeze(true_1h, 1), K.squeeze(pred_1h, 1)
        else:
            true_1h, pred_1h = K.reshape(true_1h, (-1, c)), K.reshape(pred_1h, (-1, c))
        return [states[0] + K.dot(K.transpose(true_1h), pred_1h)]

    def _result_graph(self, states):
        cm = states[0]
        eye = K.constant(np.eye(self.num_classes))
        tp = K.sum(cm * eye, axis=1)
        denominator = K.sum(cm, axis=0) + K.sum(cm, axis=1) - tp
        valid = K.sum(K.not_equal(denominator, 0.0))
        return metric_states.div_no_nan(K.sum(metric_states.div_no_nan(tp, denominator)), valid)

    def get_config(self):
        return dict(super().get_config(), num_classes=self.num_classes, ignore_class=self.ignore_class,
                    sparse_y_true=self.sparse_y_true, sparse_y_pred=self.sparse_y_pred, axis=self.axis)


# ----------------------------------------------------------------------------- lookup

def resolve_by_shapes(identifier, y_true_shape, y_pred_shape):
    """tf-keras compile's resolution of ``'accuracy'``/``'acc'`` and ``'crossentropy'``/``'ce'``.

    Binary when the prediction's last dim is 1; sparse when ``y_true`` has a lower rank than
    ``y_pred`` or a last dim of 1 against a wider ``y_pred``; categorical otherwise. Shapes are
    Keras shapes (``None`` for the batch). Other identifiers go through ``get``.
    """
    key = str(identifier).lower() if isinstance(identifier, str) else None
    if key not in ("accuracy", "acc", "crossentropy", "ce"):
        return get(identifier)
    y_true_shape, y_pred_shape = tuple(y_true_shape), tuple(y_pred_shape)
    is_binary = y_pred_shape[-1] == 1
    is_sparse = (len(y_true_shape) < len(y_pred_shape)
                 or (y_true_shape[-1] == 1 and y_pred_shape[-1] != 1))
    if key in ("accuracy", "acc"):
        if is_binary:
            return binary_accuracy
        return sparse_categorical_accuracy if is_sparse else categorical_accuracy
    if is_binary:
        return binary_crossentropy
    return sparse_categorical_crossentropy if is_sparse else categorical_crossentropy


_CLASSES = {c.__name__: c for c in (
    MeanMetricWrapper, Accuracy, BinaryAccuracy, CategoricalAccuracy, SparseCategoricalAccuracy,
    TopKCategoricalAccuracy, SparseTopKCategoricalAccuracy, MeanSquaredError, MeanAbsoluteError,
    MeanAbsolutePercentageError, MeanSquaredLogarithmicError, Hinge, SquaredHinge,
    CategoricalHinge, LogCoshError, BinaryCrossentropy, CategoricalCrossentropy,
    SparseCategoricalCrossentropy, KLDivergence, Poisson, CosineSimilarity, Mean, Sum, TruePositives,
    FalsePositives, TrueNegatives, FalseNegatives, Precision, Recall, AUC, MeanIoU)}

_FUNCTIONS = dict(_losses._FUNCTIONS)
_FUNCTIONS.update({
    "accuracy": accuracy, "acc": acc, "ACC": ACC,
    "binary_accuracy": binary_accuracy, "categorical_accuracy": categorical_accuracy,
    "sparse_categorical_accuracy": sparse_categorical_accuracy,
    "top_k_categorical_accuracy": top_k_categorical_accuracy,
    "sparse_top_k_categorical_accuracy": sparse_top_k_categorical_accuracy,
    "cosine_similarity": cosine_similarity, "cosine_proximity": cosine_proximity,
    "cosine": cosine,
})


def serialize(metric):
    """A metric object → ``{'class_name', 'config'}``; a function → its name."""
    if metric is None:
        return None
    if isinstance(metric, Metric):
        return {"class_name": type(metric).__name__, "config": metric.get_config()}
    name = getattr(metric, "__name__", None)
    if name is None:
        raise ValueError(f"Cannot serialize metric {metric!r}")
    return name


def deserialize(config, custom_objects=None):
    if isinstance(config, dict):
        return _losses._from_dict(config, _FUNCTIONS, _CLASSES, "metric function", custom_objects)
    return _losses._lookup(str(config), _FUNCTIONS, _CLASSES, "metric function", custom_objects)


def get(identifier):
    """A metric from a name, alias, class name (→ default instance), config dict or callable."""
    return get_from_identifier(identifier, deserialize, "metric")
"""Built-in metrics (tf-keras 2.x names and formulas), as per-sample tensors.

A metric function maps ``(y_true, y_pred)`` to a per-sample tensor (``(B,)`` for
``(B, C)`` predictions, ``(B, T)`` for ``(B, T, C)``); the model's compile averages those
values itself, so tf-keras's stateful ``Metric`` machinery is not reproduced. The metric
classes here are small ``MeanMetricWrapper`` objects: callables with a ``.name``.

Every loss function is also a metric under the same names and aliases, except
``cosine_similarity`` (aliases ``cosine_proximity``, ``cosine``), which as a *metric* is the
positive similarity, as in tf-keras.

The strings ``'accuracy'``/``'acc'`` and ``'crossentropy'``/``'ce'`` are resolved by the model's
compile from the shapes of the targets and outputs (see ``resolve_by_shapes``);
``get('accuracy')`` alone returns the element-wise ``accuracy`` function, as tf-keras does.
"""

from symkeras import backend as K
from symkeras import losses as _losses
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
    """Base of the metric objects: a name, a config and ``__call__ -> per-sample tensor``."""

    def __init__(self, name=None, dtype=None):
        self.name = name or _snake(type(self).__name__)
        self.dtype = dtype

    def __call__(self, y_true, y_pred):
        raise NotImplementedError("Must be implemented in subclasses.")

    def get_config(self):
        return {"name": self.name, "dtype": self.dtype}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r}>"


def _snake(name):
    out = []
    for i, ch in enumerate(name):
        if ch.isupper() and i and not name[i - 1].isupper():
            out.append("_")
        out.append(ch.lower())
    return "".join(out)


class MeanMetricWrapper(Metric):
    """Wraps ``fn(y_true, y_pred, **kwargs)``; calling it gives the per-sample values."""

    def __init__(self, fn, name=None, dtype=None, **kwargs):
        super().__init__(name=name or getattr(fn, "__name__", None), dtype=dtype)
        self._fn = fn
        self._fn_kwargs = kwargs

    def __call__(self, y_true, y_pred):
        y_true, y_pred = _losses._align_ranks(y_true, y_pred)
        values = self._fn(y_true, y_pred, **self._fn_kwargs)
        if self.dtype is not None and values.dtype != self.dtype:
            values = K.cast(values, self.dtype)
        return values

    def get_fn(self):
        return self._fn

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
    SparseCategoricalCrossentropy, KLDivergence, Poisson, CosineSimilarity)}

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
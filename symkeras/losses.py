"""Built-in losses (tf-keras 2.x names, formulas and conventions).

A loss *function* maps ``(y_true, y_pred)`` to a per-sample tensor: it reduces the last
axis, so ``(B, C)`` predictions give ``(B,)`` and ``(B, T, C)`` give ``(B, T)``. A ``Loss``
*object* also reduces over the batch (``'sum_over_batch_size'`` by default: Σ w·l divided
by the number of elements of l). Everything here builds IR nodes through ``K``; nothing
is computed until the graph is compiled.

Conventions follow tf-keras: probabilities are clipped to ``[ε, 1 − ε]`` with
``ε = K.epsilon()``; categorical crossentropy renormalises by the sum before clipping;
binary crossentropy is ``−(y·log(p + ε) + (1 − y)·log(1 − p + ε))`` after clipping; the
``from_logits`` paths use ``log_softmax`` / ``softplus``. As in tf-keras, a prediction that
is the direct output of a softmax (sigmoid) is traced back to its logits and the
crossentropy is computed from them, without clipping.
"""

import math
import warnings

import numpy as np

from symkeras import backend as K
from symkeras.ir import ops as _ops
from symkeras.ir import scalar as _scalar
from symkeras.utils.generic_utils import get_from_identifier

__all__ = [
    "Reduction", "Loss", "LossFunctionWrapper",
    "MeanSquaredError", "MeanAbsoluteError", "MeanAbsolutePercentageError",
    "MeanSquaredLogarithmicError", "Hinge", "SquaredHinge", "CategoricalHinge", "LogCosh",
    "Huber", "CategoricalCrossentropy", "SparseCategoricalCrossentropy", "BinaryCrossentropy",
    "KLDivergence", "Poisson", "CosineSimilarity",
    "mean_squared_error", "mean_absolute_error", "mean_absolute_percentage_error",
    "mean_squared_logarithmic_error", "squared_hinge", "hinge", "categorical_hinge", "log_cosh",
    "huber", "categorical_crossentropy", "sparse_categorical_crossentropy", "binary_crossentropy",
    "kl_divergence", "poisson", "cosine_similarity",
    "get", "serialize", "deserialize",
]


# ----------------------------------------------------------------------------- helpers

def _as_tensor(x, dtype=None):
    return x if K.is_tensor(x) else K.constant(x, dtype=dtype)


def _prepare(y_true, y_pred):
    """Tensors for both arguments, ``y_true`` cast to the dtype of ``y_pred`` (tf-keras)."""
    y_pred = _as_tensor(y_pred)
    y_true = _as_tensor(y_true, dtype=y_pred.dtype)
    if y_true.dtype != y_pred.dtype:
        y_true = K.cast(y_true, y_pred.dtype)
    return y_true, y_pred


def _epsilon():
    return K.epsilon()


def _logits_of(y_pred, kind, axis, fn_name, from_logits):
    """tf-keras ``_get_logits``: a softmax/sigmoid output is replaced by its input.

    Returns ``(tensor, from_logits)``. ``kind`` is ``'softmax'`` (along ``axis``) or
    ``'sigmoid'``.
    """
    op = y_pred.op
    found = None
    if kind == "softmax" and isinstance(op, _ops.Softmax) and not op.log and op.axis == axis:
        found = y_pred.inputs[0]
    elif (kind == "sigmoid" and isinstance(op, _ops.Elemwise) and len(y_pred.inputs) == 1
          and op.expr == _scalar.sigmoid(_scalar.X[0])):
        found = y_pred.inputs[0]
    if found is None:
        return y_pred, from_logits
    if from_logits:
        warnings.warn(f"`{fn_name}` received `from_logits=True`, but the `output` argument was "
                      f"produced by a {kind} activation and thus does not represent logits. "
                      "Was this intended?", UserWarning, stacklevel=3)
    return found, True


def _axis(axis, ndim):
    if isinstance(axis, bool) or not -ndim <= int(axis) < ndim:
        raise ValueError(f"`axis` must be an int in [{-ndim}, {ndim}), got {axis!r}")
    return int(axis) % ndim


# ----------------------------------------------------------------------------- regression losses

def mean_squared_error(y_true, y_pred):
    """``mean(square(y_pred − y_true), axis=-1)``."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return K.mean(K.square(y_pred - y_true), axis=-1)


def mean_absolute_error(y_true, y_pred):
    """``mean(|y_pred − y_true|, axis=-1)``."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return K.mean(K.abs(y_pred - y_true), axis=-1)


def mean_absolute_percentage_error(y_true, y_pred):
    """``100 · mean(|(y_true − y_pred) / max(|y_true|, ε)|, axis=-1)``."""
    y_true, y_pred = _prepare(y_true, y_pred)
    diff = K.abs((y_true - y_pred) / K.maximum(K.abs(y_true), _epsilon()))
    return 100.0 * K.mean(diff, axis=-1)


def mean_squared_logarithmic_error(y_true, y_pred):
    """``mean(square(log(max(y_pred, ε) + 1) − log(max(y_true, ε) + 1)), axis=-1)``."""
    y_true, y_pred = _prepare(y_true, y_pred)
    first = K.log(K.maximum(y_pred, _epsilon()) + 1.0)
    second = K.log(K.maximum(y_true, _epsilon()) + 1.0)
    return K.mean(K.square(first - second), axis=-1)


def _maybe_convert_labels(y_true):
    """tf-keras: if every entry of ``y_true`` (whole batch) is 0 or 1, map it to −1/1."""
    is_zero_or_one = K.maximum(K.equal(y_true, 0.0), K.equal(y_true, 1.0))
    is_binary = K.min(is_zero_or_one)          # 1 when all entries are 0 or 1
    return K.switch(is_binary, 2.0 * y_true - 1.0, y_true)


def squared_hinge(y_true, y_pred):
    """``mean(square(max(1 − y_true·y_pred, 0)), axis=-1)``; {0, 1} labels become {−1, 1}."""
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true = _maybe_convert_labels(y_true)
    return K.mean(K.square(K.maximum(1.0 - y_true * y_pred, 0.0)), axis=-1)


def hinge(y_true, y_pred):
    """``mean(max(1 − y_true·y_pred, 0), axis=-1)``; {0, 1} labels become {−1, 1}."""
    y_true, y_pred = _prepare(y_true, y_pred)
    y_true = _maybe_convert_labels(y_true)
    return K.mean(K.maximum(1.0 - y_true * y_pred, 0.0), axis=-1)


def categorical_hinge(y_true, y_pred):
    """``max(max((1 − y_true)·y_pred) − sum(y_true·y_pred) + 1, 0)`` over the last axis."""
    y_true, y_pred = _prepare(y_true, y_pred)
    pos = K.sum(y_true * y_pred, axis=-1)
    neg = K.max((1.0 - y_true) * y_pred, axis=-1)
    return K.maximum(neg - pos + 1.0, 0.0)


def huber(y_true, y_pred, delta=1.0):
    """``mean(0.5·e² if |e| ≤ δ else δ·|e| − 0.5·δ², axis=-1)`` with ``e = y_pred − y_true``."""
    y_true, y_pred = _prepare(y_true, y_pred)
    delta = float(delta)
    error = y_pred - y_true
    abs_error = K.abs(error)
    quadratic = 0.5 * K.square(error)
    linear = delta * abs_error - 0.5 * delta ** 2
    return K.mean(K.switch(K.less_equal(abs_error, delta), quadratic, linear), axis=-1)


def log_cosh(y_true, y_pred):
    """``mean(x + softplus(−2x) − log 2, axis=-1)`` with ``x = y_pred − y_true``."""
    y_true, y_pred = _prepare(y_true, y_pred)
    x = y_pred - y_true
    return K.mean(x + K.softplus(-2.0 * x) - math.log(2.0), axis=-1)


# ----------------------------------------------------------------------------- probabilistic losses

def categorical_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """``−sum(y_true · log p, axis)`` with ``p = clip(y_pred / sum(y_pred), ε, 1 − ε)``.

    ``from_logits=True``: ``−sum(y_true · log_softmax(y_pred), axis)``. ``label_smoothing``
    ``s``: ``y_true ← y_true·(1 − s) + s / num_classes``.
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    axis = _axis(axis, y_pred.ndim)
    if K.int_shape(y_pred)[axis] == 1:
        warnings.warn("In loss categorical_crossentropy, expected y_pred.shape to be "
                      f"(batch_size, num_classes) with num_classes > 1. Received: "
                      f"y_pred.shape={K.int_shape(y_pred)}. Consider using 'binary_crossentropy' "
                      "if you only have 2 classes.", SyntaxWarning, stacklevel=2)
    if label_smoothing:
        num_classes = K.int_shape(y_true)[axis]
        s = float(label_smoothing)
        y_true = y_true * (1.0 - s) + s / num_classes
    y_pred, from_logits = _logits_of(y_pred, "softmax", axis, "categorical_crossentropy",
                                     from_logits)
    if from_logits:
        return -K.sum(y_true * K.log_softmax(y_pred, axis=axis), axis=axis)
    probs = y_pred / K.sum(y_pred, axis=axis, keepdims=True)
    eps = _epsilon()
    probs = K.clip(probs, eps, 1.0 - eps)
    return -K.sum(y_true * K.log(probs), axis=axis)


def sparse_categorical_crossentropy(y_true, y_pred, from_logits=False, axis=-1, ignore_class=None):
    """Categorical crossentropy with integer labels (given as any dtype).

    ``y_true`` has the shape of ``y_pred`` without its class axis, optionally with a trailing
    1: ``(B,)``/``(B, 1)`` for ``(B, C)``; ``(B, T)``/``(B, T, 1)`` for ``(B, T, C)``. As in
    tf-keras, probabilities are clipped *before* they are renormalised:
    ``−log(clip(p_k) / sum_j clip(p_j))``. Labels are truncated to integers.
    """
    if ignore_class is not None:
        raise NotImplementedError("sparse_categorical_crossentropy: ignore_class is not supported")
    y_pred = _as_tensor(y_pred)
    y_true = _as_tensor(y_true, dtype=y_pred.dtype)
    axis = _axis(axis, y_pred.ndim)
    y_pred, from_logits = _logits_of(y_pred, "softmax", axis, "sparse_categorical_crossentropy",
                                     from_logits)
    if from_logits:
        logits = y_pred
    else:
        eps = _epsilon()
        logits = K.log(K.clip(y_pred, eps, 1.0 - eps))
    last = logits.ndim - 1
    if axis != last:
        logits = K.permute_dimensions(logits, [i for i in range(logits.ndim) if i != axis] + [axis])
    num_classes = K.int_shape(logits)[-1]
    labels = y_true
    if labels.ndim == logits.ndim and K.int_shape(labels)[-1] == 1:
        labels = K.squeeze(labels, -1)
    if labels.shape != logits.shape[:-1]:
        want, have = K.int_shape(logits)[1:-1], K.int_shape(labels)[1:]
        if None in have or int(np.prod(have)) != int(np.prod(want)):
            raise ValueError(f"sparse_categorical_crossentropy: labels of shape "
                             f"{K.int_shape(y_true)} do not match predictions of shape "
                             f"{K.int_shape(logits)} (classes last)")
        labels = K.reshape(labels, (-1,) + want)
    one_hot = K.one_hot(K.cast(labels, "int64"), num_classes)
    if one_hot.dtype != logits.dtype:
        one_hot = K.cast(one_hot, logits.dtype)
    return -K.sum(one_hot * K.log_softmax(logits, axis=-1), axis=-1)


def _binary_crossentropy_elementwise(y_true, y_pred, from_logits):
    """tf-keras ``K.binary_crossentropy`` (no reduction)."""
    y_pred, from_logits = _logits_of(y_pred, "sigmoid", -1, "binary_crossentropy", from_logits)
    if from_logits:
        # sigmoid cross-entropy with logits x: softplus(x) − x·z, stable for any x.
        return K.softplus(y_pred) - y_pred * y_true
    eps = _epsilon()
    dt = np.dtype(y_pred.dtype)
    hi = dt.type(1.0) - dt.type(eps)                   # 1 − ε as the compute dtype rounds it
    p = K.clip(y_pred, eps, float(hi))
    # 1 − clip(p, ε, hi) is written clip(1 − p, 1 − hi, 1 − ε) with both bounds rounded in the
    # dtype: equal to tf-keras's (1 − p) + ε step by step, and SymPy cannot fold the constants
    # of "1 − p + ε" into (1 + ε) − p, which is not the same number in float32.
    q = K.clip(1.0 - y_pred, float(dt.type(1.0) - hi), float(dt.type(1.0) - dt.type(eps)))
    return -(y_true * K.log(p + eps) + (1.0 - y_true) * K.log(q + eps))


def binary_crossentropy(y_true, y_pred, from_logits=False, label_smoothing=0.0, axis=-1):
    """``mean(−(y·log(p + ε) + (1 − y)·log(1 − p + ε)), axis)``, ``p = clip(y_pred, ε, 1 − ε)``.

    ``from_logits=True``: ``mean(softplus(x) − x·y, axis)``. ``label_smoothing`` ``s``:
    ``y ← y·(1 − s) + 0.5·s``.
    """
    y_true, y_pred = _prepare(y_true, y_pred)
    if label_smoothing:
        s = float(label_smoothing)
        y_true = y_true * (1.0 - s) + 0.5 * s
    return K.mean(_binary_crossentropy_elementwise(y_true, y_pred, from_logits), axis=axis)


def kl_divergence(y_true, y_pred):
    """``sum(y·log(y / p), axis=-1)`` with both clipped to ``[ε, 1]``."""
    y_true, y_pred = _prepare(y_true, y_pred)
    eps = _epsilon()
    y_true = K.clip(y_true, eps, 1.0)
    y_pred = K.clip(y_pred, eps, 1.0)
    return K.sum(y_true * K.log(y_true / y_pred), axis=-1)


def poisson(y_true, y_pred):
    """``mean(y_pred − y_true·log(y_pred + ε), axis=-1)``."""
    y_true, y_pred = _prepare(y_true, y_pred)
    return K.mean(y_pred - y_true * K.log(y_pred + _epsilon()), axis=-1)


def _l2_normalize(x, axis):
    """``tf.linalg.l2_normalize``: ``x / sqrt(max(sum(x²), 1e-12))``."""
    norm_sq = K.maximum(K.sum(K.square(x), axis=axis, keepdims=True), 1e-12)
    return x / K.sqrt(norm_sq)


def cosine_similarity(y_true, y_pred, axis=-1):
    """The tf-keras *loss*: ``−sum(l2_normalize(y_true) · l2_normalize(y_pred), axis)``."""
    y_true, y_pred = _prepare(y_true, y_pred)
    axis = _axis(axis, y_pred.ndim)
    return -K.sum(_l2_normalize(y_true, axis) * _l2_normalize(y_pred, axis), axis=axis)


# Aliases (tf-keras module names; `cosine_proximity`/`cosine` are the tf-keras v1 names).
mse = MSE = mean_squared_error
mae = MAE = mean_absolute_error
mape = MAPE = mean_absolute_percentage_error
msle = MSLE = mean_squared_logarithmic_error
kld = KLD = kullback_leibler_divergence = kl_divergence
logcosh = log_cosh
huber_loss = huber
bce = BCE = binary_crossentropy
cosine_proximity = cosine = cosine_similarity


# ----------------------------------------------------------------------------- Loss objects

class Reduction:
    """tf-keras ``ReductionV2``."""

    AUTO = "auto"
    NONE = "none"
    SUM = "sum"
    SUM_OVER_BATCH_SIZE = "sum_over_batch_size"

    @classmethod
    def all(cls):
        return (cls.AUTO, cls.NONE, cls.SUM, cls.SUM_OVER_BATCH_SIZE)

    @classmethod
    def validate(cls, key):
        if key not in cls.all():
            raise ValueError(f"Invalid Reduction Key: {key}. Expected keys are \"{cls.all()}\"")


def _match_weight_rank(losses, sample_weight):
    """tf-keras ``squeeze_or_expand_dimensions`` for the weights: differ in rank by one at most."""
    if sample_weight.ndim == 0:
        return sample_weight
    if sample_weight.ndim - losses.ndim == 1:
        return K.squeeze(sample_weight, -1)
    if losses.ndim - sample_weight.ndim == 1:
        return K.expand_dims(sample_weight, -1)
    return sample_weight


def compute_weighted_loss(losses, sample_weight=None, reduction=Reduction.SUM_OVER_BATCH_SIZE):
    """Weight ``losses`` and reduce them: ``'none'``, ``'sum'`` or ``'sum_over_batch_size'``.

    ``'sum_over_batch_size'`` divides Σ w·l by the number of elements of w·l (zero-weight
    entries count), as tf-keras does.
    """
    Reduction.validate(reduction)
    if reduction == Reduction.AUTO:
        reduction = Reduction.SUM_OVER_BATCH_SIZE
    if sample_weight is not None:
        sample_weight = _as_tensor(sample_weight, dtype=losses.dtype)
        if sample_weight.dtype != losses.dtype:
            sample_weight = K.cast(sample_weight, losses.dtype)
        losses = losses * _match_weight_rank(losses, sample_weight)
    if reduction == Reduction.NONE:
        return losses
    if reduction == Reduction.SUM:
        return K.sum(losses)
    return K.mean(losses)


class Loss:
    """Base class: ``call(y_true, y_pred)`` gives per-sample losses; ``__call__`` reduces them."""

    def __init__(self, reduction=Reduction.AUTO, name=None):
        Reduction.validate(reduction)
        self.reduction = reduction
        self.name = name

    def __call__(self, y_true, y_pred, sample_weight=None):
        scope = (self.name or type(self).__name__).strip("_").replace("<lambda>", "lambda")
        with K.name_scope(scope):
            losses = self.call(y_true, y_pred)
            return compute_weighted_loss(losses, sample_weight, self._get_reduction())

    def call(self, y_true, y_pred):
        raise NotImplementedError("Must be implemented in subclasses.")

    def _get_reduction(self):
        return Reduction.SUM_OVER_BATCH_SIZE if self.reduction == Reduction.AUTO else self.reduction

    def get_config(self):
        return {"reduction": self.reduction, "name": self.name}

    @classmethod
    def from_config(cls, config):
        return cls(**config)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name!r} reduction={self.reduction!r}>"


def _align_ranks(y_true, y_pred):
    """tf-keras squeezes a trailing 1 so that y_true and y_pred have the same rank.

    One deliberate difference: for ``y_true (B,)`` against ``y_pred (B, 1)`` tf-keras squeezes
    ``y_pred`` (and loses the per-sample axis); here ``y_true`` gets the trailing 1 instead,
    which gives the same unweighted value and keeps one loss per sample.
    """
    if not (K.is_tensor(y_true) and K.is_tensor(y_pred)):
        return y_true, y_pred
    if y_pred.ndim - y_true.ndim == 1 and K.int_shape(y_pred)[-1] == 1:
        y_true = K.expand_dims(y_true, -1)
    elif y_true.ndim - y_pred.ndim == 1 and K.int_shape(y_true)[-1] == 1:
        y_true = K.squeeze(y_true, -1)
    return y_true, y_pred


class LossFunctionWrapper(Loss):
    """Wraps a loss function ``fn(y_true, y_pred, **kwargs)`` in the ``Loss`` class."""

    def __init__(self, fn, reduction=Reduction.AUTO, name=None, **kwargs):
        super().__init__(reduction=reduction, name=name)
        self.fn = fn
        self._fn_kwargs = kwargs

    def call(self, y_true, y_pred):
        y_true, y_pred = _align_ranks(y_true, y_pred)
        return self.fn(y_true, y_pred, **self._fn_kwargs)

    def get_config(self):
        config = dict(super().get_config())
        config.update(self._fn_kwargs)
        if type(self) is LossFunctionWrapper:
            config["fn"] = getattr(self.fn, "__name__", None)
        return config

    @classmethod
    def from_config(cls, config):
        config = dict(config)
        if cls is LossFunctionWrapper and isinstance(config.get("fn"), str):
            config["fn"] = get(config["fn"])
        return cls(**config)


class MeanSquaredError(LossFunctionWrapper):
    def __init__(self, reduction=Reduction.AUTO, name="mean_squared_error"):
        super().__init__(mean_squared_error, name=name, reduction=reduction)


class MeanAbsoluteError(LossFunctionWrapper):
    def __init__(self, reduction=Reduction.AUTO, name="mean_absolute_error"):
        super().__init__(mean_absolute_error, name=name, reduction=reduction)


class MeanAbsolutePercentageError(LossFunctionWrapper):
    def __init__(self, reduction=Reduction.AUTO, name="mean_absolute_percentage_error"):
        super().__init__(mean_absolute_percentage_error, name=name, reduction=reduction)


class MeanSquaredLogarithmicError(LossFunctionWrapper):
    def __init__(self, reduction=Reduction.AUTO, name="mean_squared_logarithmic_error"):
        super().__init__(mean_squared_logarithmic_error, name=name, reduction=reduction)


class Hinge(LossFunctionWrapper):
    def __init__(self, reduction=Reduction.AUTO, name="hinge"):
        super().__init__(hinge, name=name, reduction=reduction)


class SquaredHinge(LossFunctionWrapper):
    def __init__(self, reduction=Reduction.AUTO, name="squared_hinge"):
        super().__init__(squared_hinge, name=name, reduction=reduction)


class CategoricalHinge(LossFunctionWrapper):
    def __init__(self, reduction=Reduction.AUTO, name="categorical_hinge"):
        super().__init__(categorical_hinge, name=name, reduction=reduction)


class LogCosh(LossFunctionWrapper):
    def __init__(self, reduction=Reduction.AUTO, name="log_cosh"):
        super().__init__(log_cosh, name=name, reduction=reduction)


class Huber(LossFunctionWrapper):
    def __init__(self, delta=1.0, reduction=Reduction.AUTO, name="huber_loss"):
        super().__init__(huber, name=name, reduction=reduction, delta=delta)


class CategoricalCrossentropy(LossFunctionWrapper):
    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=Reduction.AUTO,
                 name="categorical_crossentropy"):
        super().__init__(categorical_crossentropy, name=name, reduction=reduction,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)


class SparseCategoricalCrossentropy(LossFunctionWrapper):
    def __init__(self, from_logits=False, ignore_class=None, reduction=Reduction.AUTO,
                 name="sparse_categorical_crossentropy"):
        super().__init__(sparse_categorical_crossentropy, name=name, reduction=reduction,
                         from_logits=from_logits, ignore_class=ignore_class)


class BinaryCrossentropy(LossFunctionWrapper):
    def __init__(self, from_logits=False, label_smoothing=0.0, axis=-1, reduction=Reduction.AUTO,
                 name="binary_crossentropy"):
        super().__init__(binary_crossentropy, name=name, reduction=reduction,
                         from_logits=from_logits, label_smoothing=label_smoothing, axis=axis)
        self.from_logits = from_logits


class KLDivergence(LossFunctionWrapper):
    def __init__(self, reduction=Reduction.AUTO, name="kl_divergence"):
        super().__init__(kl_divergence, name=name, reduction=reduction)


class Poisson(LossFunctionWrapper):
    def __init__(self, reduction=Reduction.AUTO, name="poisson"):
        super().__init__(poisson, name=name, reduction=reduction)


class CosineSimilarity(LossFunctionWrapper):
    def __init__(self, axis=-1, reduction=Reduction.AUTO, name="cosine_similarity"):
        super().__init__(cosine_similarity, name=name, reduction=reduction, axis=axis)


# ----------------------------------------------------------------------------- lookup

_CLASSES = {c.__name__: c for c in (
    LossFunctionWrapper, MeanSquaredError, MeanAbsoluteError, MeanAbsolutePercentageError,
    MeanSquaredLogarithmicError, Hinge, SquaredHinge, CategoricalHinge, LogCosh, Huber,
    CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryCrossentropy, KLDivergence,
    Poisson, CosineSimilarity)}

_FUNCTIONS = {
    "mean_squared_error": mean_squared_error, "mse": mse, "MSE": MSE,
    "mean_absolute_error": mean_absolute_error, "mae": mae, "MAE": MAE,
    "mean_absolute_percentage_error": mean_absolute_percentage_error, "mape": mape, "MAPE": MAPE,
    "mean_squared_logarithmic_error": mean_squared_logarithmic_error, "msle": msle, "MSLE": MSLE,
    "squared_hinge": squared_hinge, "hinge": hinge, "categorical_hinge": categorical_hinge,
    "log_cosh": log_cosh, "logcosh": logcosh, "huber": huber, "huber_loss": huber_loss,
    "categorical_crossentropy": categorical_crossentropy,
    "sparse_categorical_crossentropy": sparse_categorical_crossentropy,
    "binary_crossentropy": binary_crossentropy, "bce": bce, "BCE": BCE,
    "kl_divergence": kl_divergence, "kullback_leibler_divergence": kullback_leibler_divergence,
    "kld": kld, "KLD": KLD, "poisson": poisson,
    "cosine_similarity": cosine_similarity, "cosine_proximity": cosine_proximity, "cosine": cosine,
}


def _lookup(name, functions, classes, what, custom_objects=None):
    if custom_objects and name in custom_objects:
        obj = custom_objects[name]
    elif name in functions:
        return functions[name]
    elif name in classes:
        obj = classes[name]
    else:
        raise ValueError(f"Unknown {what}: {name}")
    return obj() if isinstance(obj, type) else obj


def _from_dict(config, functions, classes, what, custom_objects=None):
    if "class_name" not in config:
        raise ValueError(f"Improper config format for {what}: {config!r} (expected 'class_name')")
    class_name, inner = config["class_name"], config.get("config") or {}
    if class_name == "function":                     # tf-keras v3 format for functions
        return _lookup(inner if isinstance(inner, str) else config.get("registered_name"),
                       functions, classes, what, custom_objects)
    table = dict(classes)
    table.update({k: v for k, v in (custom_objects or {}).items() if isinstance(v, type)})
    if class_name not in table:
        raise ValueError(f"Unknown {what}: {class_name}")
    return table[class_name].from_config(dict(inner))


def serialize(loss):
    """A ``Loss`` → ``{'class_name', 'config'}``; a function → its name."""
    if loss is None:
        return None
    if isinstance(loss, Loss):
        return {"class_name": type(loss).__name__, "config": loss.get_config()}
    name = getattr(loss, "__name__", None)
    if name is None:
        raise ValueError(f"Cannot serialize loss {loss!r}")
    return name


def deserialize(name, custom_objects=None):
    """Inverse of ``serialize``: a name or a ``{'class_name', 'config'}`` dict."""
    if isinstance(name, dict):
        return _from_dict(name, _FUNCTIONS, _CLASSES, "loss function", custom_objects)
    return _lookup(str(name), _FUNCTIONS, _CLASSES, "loss function", custom_objects)


def get(identifier):
    """A loss from a name, alias, class name (→ default instance), config dict or callable."""
    return get_from_identifier(identifier, deserialize, "loss function")
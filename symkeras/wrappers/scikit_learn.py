"""Keras models as scikit-learn estimators: ``KerasClassifier`` and ``KerasRegressor``, as in
Keras 2. scikit-learn itself is optional: the wrappers have the estimator interface
(``get_params``/``set_params``, ``fit``, ``predict``, ``score``) that its tools call, and when it
is installed they also derive from its ``BaseEstimator`` and mixins, which recent versions of
its tools require.

``build_fn`` builds and compiles a fresh model on each ``fit``. The keyword arguments given to the
wrapper (``sk_params``) go to ``build_fn`` and to the model's ``fit``/``predict``/``evaluate``
wherever those take an argument of that name.
"""

import copy
import inspect
import types

import numpy as np

try:
    from sklearn.base import BaseEstimator, ClassifierMixin, RegressorMixin
except ImportError:                       # the optional extra is not installed: empty stand-ins
    class BaseEstimator:
        pass

    class ClassifierMixin:
        pass

    class RegressorMixin:
        pass

from symkeras.engine.training import Model
from symkeras.models import Sequential
from symkeras.utils.np_utils import to_categorical

# The signatures sk_params are matched against (Sequential's own fit & co. only forward *args).
_FIT, _PREDICT, _EVALUATE = Model.fit, Model.predict, Model.evaluate


def _accepts(fn, name):
    """Whether ``fn`` takes an argument called ``name`` (by name, not through **kwargs)."""
    try:
        parameters = inspect.signature(fn).parameters
    except (TypeError, ValueError):
        return False
    return name in parameters and parameters[name].kind in (inspect.Parameter.POSITIONAL_OR_KEYWORD,
                                                            inspect.Parameter.KEYWORD_ONLY)


class BaseWrapper(BaseEstimator):
    """The shared part of the two wrappers; use ``KerasClassifier`` or ``KerasRegressor``.

    ``build_fn`` is a function, an object with ``__call__``, or None (then the subclass's own
    ``__call__`` builds the model)."""

    def __init__(self, build_fn=None, **sk_params):
        self.build_fn = build_fn
        self.sk_params = sk_params
        self.check_params(sk_params)

    def _build_function(self):
        if self.build_fn is None:
            return self.__call__
        if isinstance(self.build_fn, (types.FunctionType, types.MethodType)):
            return self.build_fn
        return self.build_fn.__call__

    def check_params(self, params):
        """ValueError for a parameter that neither ``build_fn`` nor fit/predict/evaluate take."""
        legal = [_FIT, _PREDICT, Sequential.predict_classes, _EVALUATE,
                 self._build_function()]
        for name in params:
            if not any(_accepts(fn, name) for fn in legal) and name != "nb_epoch":
                raise ValueError(f"{name} is not a legal parameter")

    def get_params(self, **params):
        """The wrapper's parameters: ``sk_params`` and ``build_fn`` (scikit-learn's clone reads them)."""
        res = dict(self.sk_params)
        res.update({"build_fn": self.build_fn})
        return res

    def set_params(self, **params):
        self.check_params(params)
        self.sk_params.update(params)
        return self

    def filter_sk_params(self, fn, override=None):
        """The ``sk_params`` that ``fn`` takes, updated with ``override``."""
        res = {name: value for name, value in self.sk_params.items() if _accepts(fn, name)}
        res.update(override or {})
        return res

    def fit(self, x, y, **kwargs):
        """Build a new model with ``build_fn`` and fit it to (x, y); returns the History."""
        build = self._build_function()
        self.model = build(**self.filter_sk_params(build))
        if _loss_name(self.model) == "categorical_crossentropy" and len(np.shape(y)) != 2:
            y = to_categorical(y)
        fit_args = copy.deepcopy(self.filter_sk_params(_FIT))
        fit_args.update(kwargs)
        return self.model.fit(x, y, **fit_args)


def _loss_name(model):
    loss = getattr(model, "loss", None)
    return getattr(loss, "__name__", loss)


class KerasClassifier(ClassifierMixin, BaseWrapper):
    """The scikit-learn classifier interface: labels of any kind in ``y``; ``predict`` gives them back."""

    def fit(self, x, y, **kwargs):
        y = np.array(y)
        if y.ndim == 2 and y.shape[1] > 1:
            self.classes_ = np.arange(y.shape[1])
        elif (y.ndim == 2 and y.shape[1] == 1) or y.ndim == 1:
            self.classes_ = np.unique(y)
            y = np.searchsorted(self.classes_, y)
        else:
            raise ValueError(f"Invalid shape for y: {y.shape}")
        self.n_classes_ = len(self.classes_)
        return super().fit(x, y, **kwargs)

    def predict(self, x, **kwargs):
        """The predicted labels (as given to ``fit``)."""
        kwargs = self.filter_sk_params(Sequential.predict_classes, kwargs)
        if hasattr(self.model, "predict_classes"):
            classes = self.model.predict_classes(x, **kwargs)
        else:                                   # a functional model: the same rule as Sequential's
            proba = self.model.predict(x, **kwargs)
            classes = proba.argmax(axis=-1) if proba.shape[-1] > 1 else (proba > 0.5).astype("int32")
        return self.classes_[np.reshape(classes, -1) if np.ndim(classes) > 1 else classes]

    def predict_proba(self, x, **kwargs):
        """Class probabilities, (n_samples, n_classes): a single sigmoid unit gives [1 - p, p]."""
        kwargs = self.filter_sk_params(Sequential.predict_proba, kwargs)
        predict = getattr(self.model, "predict_proba", self.model.predict)
        probs = predict(x, **kwargs)
        if probs.shape[1] == 1:
            probs = np.hstack([1 - probs, probs])
        return probs

    def score(self, x, y, **kwargs):
        """The model's accuracy on (x, y); the model must be compiled with ``metrics=['accuracy']``."""
        y = np.searchsorted(self.classes_, y)
        kwargs = self.filter_sk_params(_EVALUATE, kwargs)
        if _loss_name(self.model) == "categorical_crossentropy" and len(np.shape(y)) != 2:
            y = to_categorical(y)
        outputs = self.model.evaluate(x, y, **kwargs)
        outputs = outputs if isinstance(outputs, list) else [outputs]
        for name, output in zip(self.model.metrics_names, outputs):
            if name in ("accuracy", "acc"):
                return output
        raise ValueError("The model is not configured to compute accuracy. You should pass "
                         "`metrics=[\"accuracy\"]` to the `model.compile()` method.")


class KerasRegressor(RegressorMixin, BaseWrapper):
    """The scikit-learn regressor interface; ``score`` is the negated loss (greater is better)."""

    def predict(self, x, **kwargs):
        kwargs = self.filter_sk_params(_PREDICT, kwargs)
        return np.squeeze(self.model.predict(x, **kwargs))

    def score(self, x, y, **kwargs):
        kwargs = self.filter_sk_params(_EVALUATE, kwargs)
        loss = self.model.evaluate(x, y, **kwargs)
        return -loss[0] if isinstance(loss, list) else -loss

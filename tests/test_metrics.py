"""Metrics against their formulas computed by hand in NumPy, on every backend.

One function per (backend, dtype, rank) computes every metric case at once from the same
placeholders (y_true, y_pred, integer labels shaped (B[,T]) and (B[,T],1)); the data is
quantised so that predictions tie (argmax ties, ties at the k-th value, values exactly at
the threshold).
"""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import losses, metrics

B, T, C = 9, 3, 6
TOL = {"float64": dict(rtol=1e-5, atol=1e-9), "float32": dict(rtol=1e-4, atol=1e-5)}


# ----------------------------------------------------------------------------- references

def ref_binary_accuracy(y, p, threshold=0.5, dt="float64"):
    threshold = float(np.dtype(dt).type(threshold))     # tf-keras casts it to y_pred's dtype
    return np.mean(y == (p > threshold).astype(p.dtype), -1)


def ref_categorical_accuracy(y, p):
    return (np.argmax(y, -1) == np.argmax(p, -1)).astype(np.float64)   # ties: first index


def ref_sparse_categorical_accuracy(lab, p):
    return (lab == np.argmax(p, -1)).astype(np.float64)


def ref_in_top_k(p, target, k):
    """Target in the top k when its value is at least the k-th largest (ties count as in)."""
    kth = -np.sort(-p, -1)[..., min(k, p.shape[-1]) - 1]
    picked = np.take_along_axis(p, target[..., None].astype(np.int64), -1)[..., 0]
    return (picked >= kth).astype(np.float64)


def ref_top_k(y, p, k=5):
    return ref_in_top_k(p, np.argmax(y, -1), k)


def ref_accuracy(y, p):
    return np.mean(y == p, -1)


def ref_cosine_metric(y, p):
    def normalize(x):
        return x / np.sqrt(np.maximum(np.sum(x * x, -1, keepdims=True), 1e-12))
    return np.sum(normalize(y) * normalize(p), -1)


def ref_mse(y, p):
    return np.mean((p - y) ** 2, -1)


# ----------------------------------------------------------------------------- data

def make_data(kind, rng, shape):
    labels = rng.randint(0, shape[-1], shape[:-1]).astype(np.float64)
    if kind == "binary":
        y = rng.choice([0.0, 1.0], size=shape)
        p = rng.choice([0.0, 0.2, 0.3, 0.5, 0.7, 0.9, 1.0], size=shape)   # 0.3/0.5/0.7: thresholds
    elif kind == "ties":
        y = np.eye(shape[-1])[rng.randint(0, shape[-1], shape[:-1])]
        p = rng.randint(0, 3, size=shape) / 2.0                           # many ties
        p.reshape(-1, shape[-1])[0] = 0.5                                 # a row that is all ties
        labels = np.argmax(y, -1).astype(np.float64)
    elif kind == "real":
        y, p = rng.randn(*shape), rng.randn(*shape)
        p.reshape(-1)[:4] = y.reshape(-1)[:4]
    else:
        raise KeyError(kind)
    return y, p, labels


CASES = {
    "binary_accuracy": (lambda yt, yp, lab, lab1: metrics.binary_accuracy(yt, yp),
                        lambda y, p, lab, dt: ref_binary_accuracy(y, p, 0.5, dt), "binary"),
    "binary_accuracy_threshold": (
        lambda yt, yp, lab, lab1: metrics.binary_accuracy(yt, yp, threshold=0.7),
        lambda y, p, lab, dt: ref_binary_accuracy(y, p, 0.7, dt), "binary"),
    "BinaryAccuracy": (lambda yt, yp, lab, lab1: metrics.BinaryAccuracy(threshold=0.3)(yt, yp),
                       lambda y, p, lab, dt: ref_binary_accuracy(y, p, 0.3, dt), "binary"),
    "categorical_accuracy": (lambda yt, yp, lab, lab1: metrics.categorical_accuracy(yt, yp),
                             lambda y, p, lab, dt: ref_categorical_accuracy(y, p), "ties"),
    "CategoricalAccuracy": (lambda yt, yp, lab, lab1: metrics.CategoricalAccuracy()(yt, yp),
                            lambda y, p, lab, dt: ref_categorical_accuracy(y, p), "ties"),
    "sparse_categorical_accuracy": (
        lambda yt, yp, lab, lab1: metrics.sparse_categorical_accuracy(lab, yp),
        lambda y, p, lab, dt: ref_sparse_categorical_accuracy(lab, p), "ties"),
    "sparse_categorical_accuracy_trailing1": (
        lambda yt, yp, lab, lab1: metrics.sparse_categorical_accuracy(lab1, yp),
        lambda y, p, lab, dt: ref_sparse_categorical_accuracy(lab, p), "ties"),
    "SparseCategoricalAccuracy": (
        lambda yt, yp, lab, lab1: metrics.SparseCategoricalAccuracy()(lab1, yp),
        lambda y, p, lab, dt: ref_sparse_categorical_accuracy(lab, p), "ties"),
    "top_k_1": (lambda yt, yp, lab, lab1: metrics.top_k_categorical_accuracy(yt, yp, k=1),
                lambda y, p, lab, dt: ref_top_k(y, p, 1), "ties"),
    "top_k_2": (lambda yt, yp, lab, lab1: metrics.top_k_categorical_accuracy(yt, yp, k=2),
                lambda y, p, lab, dt: ref_top_k(y, p, 2), "ties"),
    "top_k_default": (lambda yt, yp, lab, lab1: metrics.top_k_categorical_accuracy(yt, yp),
                      lambda y, p, lab, dt: ref_top_k(y, p, 5), "ties"),
    "top_k_default_real": (lambda yt, yp, lab, lab1: metrics.top_k_categorical_accuracy(yt, yp),
                           lambda y, p, lab, dt: ref_top_k(y, p, 5), "real"),
    "top_k_all": (lambda yt, yp, lab, lab1: metrics.top_k_categorical_accuracy(yt, yp, k=C + 2),
                  lambda y, p, lab, dt: np.ones(p.shape[:-1]), "ties"),
    "TopKCategoricalAccuracy": (
        lambda yt, yp, lab, lab1: metrics.TopKCategoricalAccuracy(k=3)(yt, yp),
        lambda y, p, lab, dt: ref_top_k(y, p, 3), "ties"),
    "sparse_top_k_2": (
        lambda yt, yp, lab, lab1: metrics.sparse_top_k_categorical_accuracy(lab, yp, k=2),
        lambda y, p, lab, dt: ref_in_top_k(p, lab, 2), "ties"),
    "sparse_top_k_trailing1": (
        lambda yt, yp, lab, lab1: metrics.sparse_top_k_categorical_accuracy(lab1, yp, k=3),
        lambda y, p, lab, dt: ref_in_top_k(p, lab, 3), "ties"),
    "SparseTopKCategoricalAccuracy": (
        lambda yt, yp, lab, lab1: metrics.SparseTopKCategoricalAccuracy()(lab, yp),
        lambda y, p, lab, dt: ref_in_top_k(p, lab, 5), "real"),
    "accuracy": (lambda yt, yp, lab, lab1: metrics.accuracy(yt, yp),
                 lambda y, p, lab, dt: ref_accuracy(y, p), "binary"),
    "cosine_similarity": (lambda yt, yp, lab, lab1: metrics.cosine_similarity(yt, yp),
                          lambda y, p, lab, dt: ref_cosine_metric(y, p), "real"),
    "CosineSimilarity": (lambda yt, yp, lab, lab1: metrics.CosineSimilarity()(yt, yp),
                         lambda y, p, lab, dt: ref_cosine_metric(y, p), "real"),
    "mse_by_name": (lambda yt, yp, lab, lab1: metrics.get("mse")(yt, yp),
                    lambda y, p, lab, dt: ref_mse(y, p), "real"),
    "MeanSquaredError": (lambda yt, yp, lab, lab1: metrics.MeanSquaredError()(yt, yp),
                         lambda y, p, lab, dt: ref_mse(y, p), "real"),
}

# Loss-metric classes: the same values as the loss functions they wrap.
LOSS_METRICS = [
    (metrics.MeanAbsoluteError(), losses.mean_absolute_error),
    (metrics.MeanAbsolutePercentageError(), losses.mean_absolute_percentage_error),
    (metrics.MeanSquaredLogarithmicError(), losses.mean_squared_logarithmic_error),
    (metrics.Hinge(), losses.hinge),
    (metrics.SquaredHinge(), losses.squared_hinge),
    (metrics.CategoricalHinge(), losses.categorical_hinge),
    (metrics.LogCoshError(), losses.log_cosh),
    (metrics.KLDivergence(), losses.kl_divergence),
    (metrics.Poisson(), losses.poisson),
]


# ----------------------------------------------------------------------------- compiled functions

_CACHE = {}


def metric_function(backend, dtype, rank):
    key = (backend, dtype, rank)
    if key not in _CACHE:
        inner = (C,) if rank == 2 else (T, C)
        yt = K.placeholder((None,) + inner, dtype=dtype, name="y_true")
        yp = K.placeholder((None,) + inner, dtype=dtype, name="y_pred")
        lab = K.placeholder((None,) + inner[:-1], dtype=dtype, name="labels")
        lab1 = K.placeholder((None,) + inner[:-1] + (1,), dtype=dtype, name="labels_1")
        outputs = [build(yt, yp, lab, lab1) for build, _, _ in CASES.values()]
        for metric, fn in LOSS_METRICS:
            outputs += [metric(yt, K.abs(yp)), fn(yt, K.abs(yp))]
        _CACHE[key] = K.function([yt, yp, lab, lab1], outputs, backend=backend, name="metrics")
    return _CACHE[key]


def _call(f, y, p, lab, dtype):
    with np.errstate(all="ignore"):
        return f([np.asarray(a, dtype=dtype) for a in (y, p, lab, lab[..., None])])


# ----------------------------------------------------------------------------- value tests

@pytest.mark.parametrize("rank", [2, 3])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(CASES))
def test_metric_matches_formula(backend, dtype, rank, name):
    f = metric_function(backend, dtype, rank)
    index = list(CASES).index(name)
    _, reference, kind = CASES[name]
    shape = (B, C) if rank == 2 else (B, T, C)
    rng = np.random.RandomState(2000 + index + 11 * rank)
    y, p, lab = (np.asarray(a, dtype=dtype) for a in make_data(kind, rng, shape))
    got = _call(f, y, p, lab, dtype)[index]
    expected = reference(y.astype(np.float64), p.astype(np.float64), lab.astype(np.float64), dtype)
    assert got.shape == shape[:-1]
    assert got.dtype == np.dtype(dtype)
    np.testing.assert_allclose(got, expected, **TOL[dtype])


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_loss_metric_classes_equal_loss_functions(backend, dtype):
    f = metric_function(backend, dtype, 2)
    rng = np.random.RandomState(7)
    y = rng.choice([0.0, 1.0], size=(B, C))
    out = _call(f, y, rng.randn(B, C), np.zeros(B), dtype)[len(CASES):]
    for (metric, _), got, expected in zip(LOSS_METRICS, out[::2], out[1::2]):
        np.testing.assert_allclose(got, expected, rtol=1e-6, err_msg=metric.name)
        assert np.all(np.isfinite(got)), metric.name


def test_tie_conventions_by_hand():
    """argmax ties go to the first index; in_top_k counts ties at the k-th value as in."""
    yt = K.placeholder((None, 4), dtype="float64", name="y_true")
    yp = K.placeholder((None, 4), dtype="float64", name="y_pred")
    f = K.function([yt, yp], [metrics.categorical_accuracy(yt, yp),
                              metrics.top_k_categorical_accuracy(yt, yp, k=1),
                              metrics.top_k_categorical_accuracy(yt, yp, k=2),
                              metrics.binary_accuracy(yt, yp)], backend="numpy")
    y = np.array([[0, 1, 0, 0], [0, 0, 0, 1], [0, 0, 0, 1]], dtype=np.float64)
    p = np.array([[0.4, 0.4, 0.1, 0.1],       # tie for first: argmax → 0, but in top-1
                  [0.5, 0.2, 0.2, 0.2],       # tie at the 2nd value: in top-2
                  [0.5, 0.3, 0.2, 0.2]])      # below the 2nd value: out of top-2
    cat, top1, top2, binary = f([y, p])
    np.testing.assert_array_equal(cat, [0, 0, 0])
    np.testing.assert_array_equal(top1, [1, 0, 0])
    np.testing.assert_array_equal(top2, [1, 1, 0])
    # p = 0.5 is not > 0.5: predicted 0, so in rows 2 and 3 only the y = 1 column misses
    np.testing.assert_allclose(binary, [0.75, 0.75, 0.75])


# ----------------------------------------------------------------------------- lookup

def test_get_accuracy_functions_and_loss_aliases():
    assert metrics.get("binary_accuracy") is metrics.binary_accuracy
    assert metrics.get("categorical_accuracy") is metrics.categorical_accuracy
    assert metrics.get("sparse_categorical_accuracy") is metrics.sparse_categorical_accuracy
    assert metrics.get("top_k_categorical_accuracy") is metrics.top_k_categorical_accuracy
    assert metrics.get("sparse_top_k_categorical_accuracy") is \
        metrics.sparse_top_k_categorical_accuracy
    assert metrics.get("accuracy") is metrics.accuracy is metrics.get("acc")
    for name in ["mse", "MSE", "mean_squared_error", "mae", "MAE", "mape", "MAPE", "msle",
                 "MSLE", "kld", "KLD", "kullback_leibler_divergence", "kl_divergence", "hinge",
                 "squared_hinge", "categorical_hinge", "logcosh", "log_cosh", "huber", "poisson",
                 "binary_crossentropy", "categorical_crossentropy",
                 "sparse_categorical_crossentropy"]:
        assert metrics.get(name) is losses.get(name), name
    for name in ["cosine_similarity", "cosine_proximity", "cosine"]:
        assert metrics.get(name) is metrics.cosine_similarity          # positive as a metric
    assert metrics.mae is losses.mean_absolute_error


def test_get_classes_configs_callables_and_errors():
    m = metrics.get("BinaryAccuracy")
    assert isinstance(m, metrics.BinaryAccuracy) and m.name == "binary_accuracy"
    m = metrics.get({"class_name": "TopKCategoricalAccuracy", "config": {"k": 3, "name": "top3"}})
    assert isinstance(m, metrics.TopKCategoricalAccuracy)
    assert m.name == "top3" and m.get_config()["k"] == 3
    assert isinstance(metrics.get("MeanSquaredError"), metrics.MeanSquaredError)

    def custom(y_true, y_pred):
        return y_pred

    assert metrics.get(custom) is custom
    with pytest.raises(ValueError, match="Unknown metric function: nope"):
        metrics.get("nope")
    with pytest.raises(ValueError, match="Could not interpret metric identifier"):
        metrics.get(3)


def test_metric_class_names_and_configs():
    defaults = {
        metrics.Accuracy: "accuracy",
        metrics.BinaryAccuracy: "binary_accuracy",
        metrics.CategoricalAccuracy: "categorical_accuracy",
        metrics.SparseCategoricalAccuracy: "sparse_categorical_accuracy",
        metrics.TopKCategoricalAccuracy: "top_k_categorical_accuracy",
        metrics.SparseTopKCategoricalAccuracy: "sparse_top_k_categorical_accuracy",
        metrics.MeanSquaredError: "mean_squared_error",
        metrics.MeanAbsoluteError: "mean_absolute_error",
        metrics.MeanAbsolutePercentageError: "mean_absolute_percentage_error",
        metrics.MeanSquaredLogarithmicError: "mean_squared_logarithmic_error",
        metrics.Hinge: "hinge",
        metrics.SquaredHinge: "squared_hinge",
        metrics.CategoricalHinge: "categorical_hinge",
        metrics.LogCoshError: "logcosh",
        metrics.BinaryCrossentropy: "binary_crossentropy",
        metrics.CategoricalCrossentropy: "categorical_crossentropy",
        metrics.SparseCategoricalCrossentropy: "sparse_categorical_crossentropy",
        metrics.KLDivergence: "kullback_leibler_divergence",
        metrics.Poisson: "poisson",
        metrics.CosineSimilarity: "cosine_similarity",
    }
    for cls, name in defaults.items():
        m = cls()
        assert m.name == name
        assert callable(m)
        clone = cls.from_config(m.get_config())
        assert type(clone) is cls and clone.get_config() == m.get_config()
    assert metrics.BinaryAccuracy(threshold=0.7).get_config() == {
        "name": "binary_accuracy", "dtype": None, "threshold": 0.7}
    assert metrics.TopKCategoricalAccuracy(k=2).get_config()["k"] == 2
    wrapped = metrics.MeanMetricWrapper(losses.mean_squared_error)
    assert wrapped.name == "mean_squared_error"
    config = metrics.serialize(wrapped)
    assert config == {"class_name": "MeanMetricWrapper",
                      "config": {"name": "mean_squared_error", "dtype": None,
                                 "fn": "mean_squared_error"}}
    assert metrics.deserialize(config).get_fn() is losses.mean_squared_error
    assert metrics.serialize(metrics.binary_accuracy) == "binary_accuracy"
    assert metrics.deserialize("binary_accuracy") is metrics.binary_accuracy


def test_metric_wrapper_dtype_cast():
    yt = K.placeholder((None, C), dtype="float64", name="y_true")
    yp = K.placeholder((None, C), dtype="float64", name="y_pred")
    out = metrics.CategoricalAccuracy(dtype="float32")(yt, yp)
    assert out.dtype == "float32"
    assert K.int_shape(out) == (None,)


def test_resolve_by_shapes():
    r = metrics.resolve_by_shapes
    assert r("accuracy", (None, 1), (None, 1)) is metrics.binary_accuracy
    assert r("acc", (None, 1), (None, 10)) is metrics.sparse_categorical_accuracy
    assert r("accuracy", (None,), (None, 10)) is metrics.sparse_categorical_accuracy
    assert r("accuracy", (None, 10), (None, 10)) is metrics.categorical_accuracy
    assert r("Accuracy", (None, T, C), (None, T, C)) is metrics.categorical_accuracy
    assert r("accuracy", (None, T), (None, T, C)) is metrics.sparse_categorical_accuracy
    assert r("crossentropy", (None, 1), (None, 1)) is losses.binary_crossentropy
    assert r("ce", (None, 1), (None, 4)) is losses.sparse_categorical_crossentropy
    assert r("ce", (None, 4), (None, 4)) is losses.categorical_crossentropy
    assert r("mae", (None, 4), (None, 4)) is losses.mean_absolute_error

"""Losses against their formulas computed by hand in NumPy, on every backend.

One function per (backend, dtype, rank) computes every loss at once from the same four
placeholders (y_true, y_pred, integer labels (B[,T]) and (B[,T],1)); each test feeds data
suited to one loss (edge values included) and checks that loss's output against a NumPy
reference written from the tf-keras formula. Gradients are checked to be finite at
probabilities 0 and 1 and, in float64, against central differences of the references.
"""

import warnings

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import losses

EPS = 1e-7
B, T, C = 7, 3, 5
TOL = {"float64": dict(rtol=1e-5, atol=1e-9), "float32": dict(rtol=1e-4, atol=1e-5)}


# ----------------------------------------------------------------------------- references

def _clip_bounds(dt):
    """[ε, 1 − ε] as the generated code sees them in dtype ``dt``."""
    dt = np.dtype(dt)
    return float(dt.type(EPS)), float(dt.type(1.0) - dt.type(EPS))


def _lse(x, axis=-1):
    m = x.max(axis=axis, keepdims=True)
    return (m + np.log(np.exp(x - m).sum(axis=axis, keepdims=True))).squeeze(axis)


def ref_mse(y, p, **_):
    return np.mean((p - y) ** 2, -1)


def ref_mae(y, p, **_):
    return np.mean(np.abs(p - y), -1)


def ref_mape(y, p, **_):
    return 100.0 * np.mean(np.abs((y - p) / np.maximum(np.abs(y), EPS)), -1)


def ref_msle(y, p, **_):
    return np.mean((np.log(np.maximum(p, EPS) + 1) - np.log(np.maximum(y, EPS) + 1)) ** 2, -1)


def _hinge_labels(y):
    return 2 * y - 1 if np.all((y == 0) | (y == 1)) else y


def ref_hinge(y, p, **_):
    return np.mean(np.maximum(1 - _hinge_labels(y) * p, 0), -1)


def ref_squared_hinge(y, p, **_):
    return np.mean(np.maximum(1 - _hinge_labels(y) * p, 0) ** 2, -1)


def ref_categorical_hinge(y, p, **_):
    return np.maximum(np.max((1 - y) * p, -1) - np.sum(y * p, -1) + 1, 0)


def ref_log_cosh(y, p, **_):
    x = p - y
    return np.mean(np.logaddexp(x, -x) - np.log(2.0), -1)    # log(cosh x), overflow-free


def ref_huber(y, p, delta=1.0, **_):
    e = p - y
    a = np.abs(e)
    return np.mean(np.where(a <= delta, 0.5 * e ** 2, delta * a - 0.5 * delta ** 2), -1)


def ref_cce(y, p, dt, label_smoothing=0.0, **_):
    lo, hi = _clip_bounds(dt)
    if label_smoothing:
        y = y * (1 - label_smoothing) + label_smoothing / y.shape[-1]
    q = np.clip(p / p.sum(-1, keepdims=True), lo, hi)
    return -np.sum(y * np.log(q), -1)


def ref_cce_logits(y, x, label_smoothing=0.0, **_):
    if label_smoothing:
        y = y * (1 - label_smoothing) + label_smoothing / y.shape[-1]
    return -np.sum(y * (x - _lse(x)[..., None]), -1)


def ref_scce(lab, p, dt, **_):
    lo, hi = _clip_bounds(dt)
    q = np.clip(p, lo, hi)
    picked = np.take_along_axis(q, lab.astype(np.int64)[..., None], -1)[..., 0]
    return -np.log(picked / q.sum(-1))


def ref_scce_logits(lab, x, **_):
    picked = np.take_along_axis(x, lab.astype(np.int64)[..., None], -1)[..., 0]
    return -(picked - _lse(x))


def ref_bce(y, p, dt, label_smoothing=0.0, **_):
    lo, hi = _clip_bounds(dt)
    if label_smoothing:
        y = y * (1 - label_smoothing) + 0.5 * label_smoothing
    q = np.clip(p, lo, hi)
    return np.mean(-(y * np.log(q + EPS) + (1 - y) * np.log(1 - q + EPS)), -1)


def ref_bce_logits(y, x, label_smoothing=0.0, **_):
    if label_smoothing:
        y = y * (1 - label_smoothing) + 0.5 * label_smoothing
    # TensorFlow's sigmoid_cross_entropy_with_logits formula.
    return np.mean(np.maximum(x, 0) - x * y + np.log1p(np.exp(-np.abs(x))), -1)


def ref_kld(y, p, **_):
    y, p = np.clip(y, EPS, 1), np.clip(p, EPS, 1)
    return np.sum(y * np.log(y / p), -1)


def ref_poisson(y, p, **_):
    return np.mean(p - y * np.log(p + EPS), -1)


def ref_cosine(y, p, **_):
    def normalize(x):
        return x / np.sqrt(np.maximum(np.sum(x * x, -1, keepdims=True), 1e-12))
    return -np.sum(normalize(y) * normalize(p), -1)


# ----------------------------------------------------------------------------- data

def _with_edges(rng, x, values, frac=0.25):
    """Replace a random fraction of ``x`` by the given edge values."""
    x = x.copy()
    mask = rng.rand(*x.shape) < frac
    x[mask] = rng.choice(values, size=int(mask.sum()))
    return x


def _one_hot(rng, shape):
    return np.eye(shape[-1])[rng.randint(0, shape[-1], shape[:-1])]


def _probabilities(rng, shape):
    """Rows of probabilities with exact 0 and 1 entries, one-hot rows and unnormalised rows."""
    p = rng.dirichlet(np.ones(shape[-1]), size=shape[:-1])
    p = np.where(rng.rand(*shape) < 0.2, 0.0, p)
    flat = p.reshape(-1, shape[-1])
    flat[0] = np.eye(shape[-1])[0]                     # a prediction of exactly 1 and 0s
    flat[1] = np.eye(shape[-1])[1]
    flat[2] *= 3.0                                     # unnormalised (CCE renormalises)
    flat[3, :2] = 0.5
    flat[3, 2:] = 0.0
    bad = flat.sum(-1) == 0
    flat[bad, 0] = 1.0
    return flat.reshape(shape)


def make_data(kind, rng, shape):
    """(y_true, y_pred, labels) for one kind of loss; labels have shape ``shape[:-1]``."""
    labels = rng.randint(0, shape[-1], shape[:-1]).astype(np.float64)
    if kind == "real":
        y = _with_edges(rng, rng.randn(*shape), [0.0, 1.0, -1.0])
        p = _with_edges(rng, rng.randn(*shape) * 2, [0.0, 1.0])
        p.reshape(-1)[:3] = y.reshape(-1)[:3]          # exact hits
    elif kind == "mape":
        y = _with_edges(rng, rng.randn(*shape), [0.0], frac=0.3)
        p = rng.randn(*shape)
    elif kind == "msle":
        y = _with_edges(rng, np.abs(rng.randn(*shape)) * 3, [0.0, -0.5])
        p = _with_edges(rng, np.abs(rng.randn(*shape)) * 3, [0.0, -0.5])
    elif kind == "pm1":
        y = rng.choice([-1.0, 1.0], size=shape)
        p = rng.randn(*shape) * 1.5
    elif kind == "01":
        y = rng.choice([0.0, 1.0], size=shape)
        p = rng.randn(*shape) * 1.5
    elif kind == "mixed":                              # not all in {0, 1}: no conversion
        y = rng.choice([0.0, 1.0], size=shape)
        y.reshape(-1)[0] = -1.0
        p = rng.randn(*shape) * 1.5
    elif kind == "onehot":
        y = _one_hot(rng, shape)
        y.reshape(-1, shape[-1])[-1] = 0.0              # an all-zero target row
        p = _probabilities(rng, shape)
    elif kind == "soft":
        y = _probabilities(rng, shape)
        y = y / y.sum(-1, keepdims=True)
        p = _probabilities(rng, shape)
    elif kind == "binary":
        y = _with_edges(rng, rng.choice([0.0, 1.0], size=shape), [0.3, 0.5])
        p = _with_edges(rng, rng.rand(*shape), [0.0, 1.0, 0.5, EPS], frac=0.4)
    elif kind == "logits":
        y = _one_hot(rng, shape)
        p = rng.randn(*shape) * 3
    elif kind == "binary_logits":
        y = rng.choice([0.0, 1.0], size=shape)
        p = _with_edges(rng, rng.randn(*shape) * 3, [0.0, 40.0, -40.0])
    elif kind == "poisson":
        y = rng.poisson(2.0, size=shape).astype(np.float64)
        p = _with_edges(rng, rng.rand(*shape) * 4, [0.0])
    elif kind == "cos":
        y = rng.randn(*shape)
        p = rng.randn(*shape)
        p.reshape(-1, shape[-1])[0] = 0.0               # a zero vector
    else:
        raise KeyError(kind)
    return y, p, labels


# name: (build(yt, yp, lab, lab1) -> node, reference(y, p, lab, dt) -> array, data kind)
CASES = {
    "mean_squared_error": (lambda yt, yp, lab, lab1: losses.mean_squared_error(yt, yp),
                           lambda y, p, lab, dt: ref_mse(y, p), "real"),
    "mean_absolute_error": (lambda yt, yp, lab, lab1: losses.mean_absolute_error(yt, yp),
                            lambda y, p, lab, dt: ref_mae(y, p), "real"),
    "mean_absolute_percentage_error": (
        lambda yt, yp, lab, lab1: losses.mean_absolute_percentage_error(yt, yp),
        lambda y, p, lab, dt: ref_mape(y, p), "mape"),
    "mean_squared_logarithmic_error": (
        lambda yt, yp, lab, lab1: losses.mean_squared_logarithmic_error(yt, yp),
        lambda y, p, lab, dt: ref_msle(y, p), "msle"),
    "hinge_pm1": (lambda yt, yp, lab, lab1: losses.hinge(yt, yp),
                  lambda y, p, lab, dt: ref_hinge(y, p), "pm1"),
    "hinge_01": (lambda yt, yp, lab, lab1: losses.hinge(yt, yp),
                 lambda y, p, lab, dt: ref_hinge(y, p), "01"),
    "hinge_mixed": (lambda yt, yp, lab, lab1: losses.hinge(yt, yp),
                    lambda y, p, lab, dt: ref_hinge(y, p), "mixed"),
    "squared_hinge_pm1": (lambda yt, yp, lab, lab1: losses.squared_hinge(yt, yp),
                          lambda y, p, lab, dt: ref_squared_hinge(y, p), "pm1"),
    "squared_hinge_01": (lambda yt, yp, lab, lab1: losses.squared_hinge(yt, yp),
                         lambda y, p, lab, dt: ref_squared_hinge(y, p), "01"),
    "categorical_hinge": (lambda yt, yp, lab, lab1: losses.categorical_hinge(yt, yp),
                          lambda y, p, lab, dt: ref_categorical_hinge(y, p), "onehot"),
    "log_cosh": (lambda yt, yp, lab, lab1: losses.log_cosh(yt, yp),
                 lambda y, p, lab, dt: ref_log_cosh(y, p), "real"),
    "huber": (lambda yt, yp, lab, lab1: losses.huber(yt, yp),
              lambda y, p, lab, dt: ref_huber(y, p), "real"),
    "huber_delta": (lambda yt, yp, lab, lab1: losses.huber(yt, yp, delta=2.5),
                    lambda y, p, lab, dt: ref_huber(y, p, delta=2.5), "real"),
    "categorical_crossentropy": (
        lambda yt, yp, lab, lab1: losses.categorical_crossentropy(yt, yp),
        lambda y, p, lab, dt: ref_cce(y, p, dt), "onehot"),
    "categorical_crossentropy_soft": (
        lambda yt, yp, lab, lab1: losses.categorical_crossentropy(yt, yp),
        lambda y, p, lab, dt: ref_cce(y, p, dt), "soft"),
    "categorical_crossentropy_smoothing": (
        lambda yt, yp, lab, lab1: losses.categorical_crossentropy(yt, yp, label_smoothing=0.2),
        lambda y, p, lab, dt: ref_cce(y, p, dt, label_smoothing=0.2), "onehot"),
    "categorical_crossentropy_logits": (
        lambda yt, yp, lab, lab1: losses.categorical_crossentropy(yt, yp, from_logits=True),
        lambda y, p, lab, dt: ref_cce_logits(y, p), "logits"),
    "categorical_crossentropy_logits_smoothing": (
        lambda yt, yp, lab, lab1: losses.categorical_crossentropy(
            yt, yp, from_logits=True, label_smoothing=0.1),
        lambda y, p, lab, dt: ref_cce_logits(y, p, label_smoothing=0.1), "logits"),
    "sparse_categorical_crossentropy": (
        lambda yt, yp, lab, lab1: losses.sparse_categorical_crossentropy(lab, yp),
        lambda y, p, lab, dt: ref_scce(lab, p, dt), "onehot"),
    "sparse_categorical_crossentropy_trailing1": (
        lambda yt, yp, lab, lab1: losses.sparse_categorical_crossentropy(lab1, yp),
        lambda y, p, lab, dt: ref_scce(lab, p, dt), "onehot"),
    "sparse_categorical_crossentropy_logits": (
        lambda yt, yp, lab, lab1: losses.sparse_categorical_crossentropy(lab, yp, from_logits=True),
        lambda y, p, lab, dt: ref_scce_logits(lab, p), "logits"),
    "binary_crossentropy": (lambda yt, yp, lab, lab1: losses.binary_crossentropy(yt, yp),
                            lambda y, p, lab, dt: ref_bce(y, p, dt), "binary"),
    "binary_crossentropy_smoothing": (
        lambda yt, yp, lab, lab1: losses.binary_crossentropy(yt, yp, label_smoothing=0.1),
        lambda y, p, lab, dt: ref_bce(y, p, dt, label_smoothing=0.1), "binary"),
    "binary_crossentropy_logits": (
        lambda yt, yp, lab, lab1: losses.binary_crossentropy(yt, yp, from_logits=True),
        lambda y, p, lab, dt: ref_bce_logits(y, p), "binary_logits"),
    "binary_crossentropy_logits_smoothing": (
        lambda yt, yp, lab, lab1: losses.binary_crossentropy(
            yt, yp, from_logits=True, label_smoothing=0.3),
        lambda y, p, lab, dt: ref_bce_logits(y, p, label_smoothing=0.3), "binary_logits"),
    "kl_divergence": (lambda yt, yp, lab, lab1: losses.kl_divergence(yt, yp),
                      lambda y, p, lab, dt: ref_kld(y, p), "soft"),
    "poisson": (lambda yt, yp, lab, lab1: losses.poisson(yt, yp),
                lambda y, p, lab, dt: ref_poisson(y, p), "poisson"),
    "cosine_similarity": (lambda yt, yp, lab, lab1: losses.cosine_similarity(yt, yp),
                          lambda y, p, lab, dt: ref_cosine(y, p), "cos"),
}


# ----------------------------------------------------------------------------- compiled functions

_CACHE = {}


def _placeholders(dtype, rank):
    inner = (C,) if rank == 2 else (T, C)
    yt = K.placeholder((None,) + inner, dtype=dtype, name="y_true")
    yp = K.placeholder((None,) + inner, dtype=dtype, name="y_pred")
    lab = K.placeholder((None,) + inner[:-1], dtype=dtype, name="labels")
    lab1 = K.placeholder((None,) + inner[:-1] + (1,), dtype=dtype, name="labels_1")
    return yt, yp, lab, lab1


def loss_function(backend, dtype, rank):
    """inputs [y_true, y_pred, labels, labels_1] → one output per case, in CASES order."""
    key = ("values", backend, dtype, rank)
    if key not in _CACHE:
        holders = _placeholders(dtype, rank)
        outputs = [build(*holders) for build, _, _ in CASES.values()]
        _CACHE[key] = K.function(list(holders), outputs, backend=backend, name="losses")
    return _CACHE[key]


def gradient_function(backend, dtype):
    """inputs as above (rank 2) → d sum(loss) / d y_pred for every case."""
    key = ("grads", backend, dtype)
    if key not in _CACHE:
        holders = _placeholders(dtype, 2)
        outputs = [K.gradients(K.sum(build(*holders)), [holders[1]])[0]
                   for build, _, _ in CASES.values()]
        _CACHE[key] = K.function(list(holders), outputs, backend=backend, name="loss_grads")
    return _CACHE[key]


def _call(f, y, p, lab, dtype):
    arrays = [y, p, lab, lab[..., None]]
    with np.errstate(all="ignore"):
        return f([np.asarray(a, dtype=dtype) for a in arrays])


# ----------------------------------------------------------------------------- value tests

@pytest.mark.parametrize("rank", [2, 3])
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", list(CASES))
def test_loss_matches_formula(backend, dtype, rank, name):
    f = loss_function(backend, dtype, rank)
    index = list(CASES).index(name)
    _, reference, kind = CASES[name]
    shape = (B, C) if rank == 2 else (B, T, C)
    rng = np.random.RandomState(1000 + index + 7 * rank)
    y, p, lab = make_data(kind, rng, shape)
    y, p, lab = (np.asarray(a, dtype=dtype) for a in (y, p, lab))
    got = _call(f, y, p, lab, dtype)[index]
    with np.errstate(all="ignore"):
        expected = reference(y.astype(np.float64), p.astype(np.float64), lab.astype(np.float64),
                             dtype)
    assert got.shape == shape[:-1]
    assert got.dtype == np.dtype(dtype)
    assert np.all(np.isfinite(expected))
    np.testing.assert_allclose(got, expected, **TOL[dtype])


def test_hinge_label_conversion_is_batch_wide(backend):
    """tf-keras maps {0,1} labels to {−1,1} only when the whole y_true is binary."""
    f = loss_function(backend, "float64", 2)
    index = list(CASES).index("hinge_01")
    p = np.full((2, C), 0.5)
    binary = np.zeros((2, C))
    not_binary = binary.copy()
    not_binary[1, 0] = 2.0
    lab = np.zeros(2)
    converted = _call(f, binary, p, lab, "float64")[index]
    kept = _call(f, not_binary, p, lab, "float64")[index]
    np.testing.assert_allclose(converted, [1.5, 1.5])         # y = −1: max(1 + 0.5, 0)
    np.testing.assert_allclose(kept[0], 1.0)                  # y = 0: max(1 − 0, 0)


def test_known_values():
    """Documented tf-keras examples (values printed in the tf-keras docstrings)."""
    yt = K.placeholder((None, 3), dtype="float32", name="yt")
    yp = K.placeholder((None, 3), dtype="float32", name="yp")
    lab = K.placeholder((None,), dtype="float32", name="lab")
    f = K.function([yt, yp, lab], [losses.categorical_crossentropy(yt, yp),
                                   losses.sparse_categorical_crossentropy(lab, yp)],
                   backend="numpy")
    cce, scce = f([np.array([[0, 1, 0], [0, 0, 1]], "float32"),
                   np.array([[0.05, 0.95, 0], [0.1, 0.8, 0.1]], "float32"),
                   np.array([1, 2], "float32")])
    np.testing.assert_allclose(cce, [0.0513, 2.303], atol=1e-3)
    np.testing.assert_allclose(scce, [0.0513, 2.303], atol=1e-3)
    y2 = K.placeholder((None, 2), dtype="float32", name="y2")
    p2 = K.placeholder((None, 2), dtype="float32", name="p2")
    g = K.function([y2, p2], [losses.binary_crossentropy(y2, p2),
                              losses.cosine_similarity(y2, p2, axis=1)], backend="numpy")
    bce, _ = g([np.array([[0, 1], [0, 0]], "float32"), np.array([[0.6, 0.4], [0.4, 0.6]], "float32")])
    np.testing.assert_allclose(bce, [0.916, 0.714], atol=1e-3)
    _, cos = g([np.array([[0, 1], [1, 1], [1, 1]], "float32"),
                np.array([[1, 0], [1, 1], [-1, -1]], "float32")])
    np.testing.assert_allclose(cos, [0.0, -1.0, 1.0], atol=1e-3)


# ----------------------------------------------------------------------------- from_logits

def _softmax(x):
    e = np.exp(x - x.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def _sigmoid(x):
    return 1 / (1 + np.exp(-x))


@pytest.fixture(scope="module")
def logits_functions():
    return {}


def _logits_function(cache, backend):
    """CE on logits, CE on probability placeholders, and CE on K.softmax / K.sigmoid nodes."""
    if backend not in cache:
        yt = K.placeholder((None, C), dtype="float64", name="y_true")
        x = K.placeholder((None, C), dtype="float64", name="logits")
        probs = K.placeholder((None, C), dtype="float64", name="probs")
        lab = K.placeholder((None,), dtype="float64", name="labels")
        outputs = [
            losses.categorical_crossentropy(yt, x, from_logits=True),
            losses.categorical_crossentropy(yt, probs),
            losses.categorical_crossentropy(yt, K.softmax(x)),
            losses.sparse_categorical_crossentropy(lab, x, from_logits=True),
            losses.sparse_categorical_crossentropy(lab, probs),
            losses.sparse_categorical_crossentropy(lab, K.softmax(x)),
            losses.binary_crossentropy(yt, x, from_logits=True),
            losses.binary_crossentropy(yt, probs),
            losses.binary_crossentropy(yt, K.sigmoid(x)),
        ]
        cache[backend] = K.function([yt, x, probs, lab], outputs, backend=backend, name="ce_logits")
    return cache[backend]


def test_from_logits_matches_probabilities(backend, logits_functions):
    """Away from the clip bounds, CE(logits) == CE(softmax/sigmoid(logits)) as probabilities."""
    f = _logits_function(logits_functions, backend)
    rng = np.random.RandomState(3)
    x = rng.randn(B, C)
    y_cat = np.eye(C)[rng.randint(0, C, B)]
    lab = y_cat.argmax(-1).astype(np.float64)
    cce_x, cce_p, cce_node, scce_x, scce_p, scce_node, *_ = f([y_cat, x, _softmax(x), lab])
    np.testing.assert_allclose(cce_x, cce_p, rtol=1e-6)
    np.testing.assert_allclose(cce_x, cce_node, rtol=1e-12)
    np.testing.assert_allclose(scce_x, scce_p, rtol=1e-6)
    np.testing.assert_allclose(scce_x, scce_node, rtol=1e-12)
    y_bin = rng.choice([0.0, 1.0], size=(B, C))
    *_, bce_x, bce_p, bce_node = f([y_bin, x, _sigmoid(x), lab])
    # the probability path adds ε inside the logs: agreement to ~ε / min(p, 1 − p)
    np.testing.assert_allclose(bce_x, bce_p, rtol=1e-5)
    np.testing.assert_allclose(bce_x, bce_node, rtol=1e-12)


def test_softmax_and_sigmoid_outputs_use_their_logits(backend, logits_functions):
    """tf-keras: the output of a softmax/sigmoid is traced back to its logits (no clipping)."""
    f = _logits_function(logits_functions, backend)
    x = np.array([[60.0, 0.0, -60.0, 0.0, 0.0]] * 2)
    y = np.array([[0.0, 0.0, 1.0, 0.0, 0.0]] * 2)
    lab = np.array([2.0, 2.0])
    with np.errstate(all="ignore"):
        cce_x, cce_p, cce_node, scce_x, scce_p, scce_node, *_ = f([y, x, _softmax(x), lab])
    np.testing.assert_allclose(cce_node, 120.0, rtol=1e-9)     # unclipped: 60 − (−60)
    np.testing.assert_allclose(cce_x, 120.0, rtol=1e-9)
    np.testing.assert_allclose(cce_p, -np.log(EPS), rtol=1e-9)  # clipped probability path
    np.testing.assert_allclose(scce_node, 120.0, rtol=1e-9)
    yb = np.array([[1.0, 0.0, 0.0, 0.0, 1.0]] * 2)
    xb = np.array([[-50.0, -50.0, 50.0, 3.0, 0.0]] * 2)
    *_, bce_x, _, bce_node = f([yb, xb, _sigmoid(xb), lab])
    expected = np.mean([50.0, 0.0, 50.0, 3.0 + np.log1p(np.exp(-3.0)), np.log(2.0)])
    np.testing.assert_allclose(bce_x, expected, rtol=1e-9)
    np.testing.assert_allclose(bce_node, expected, rtol=1e-9)


def test_from_logits_on_softmax_output_warns():
    x = K.placeholder((None, C), name="x")
    y = K.placeholder((None, C), name="y")
    with pytest.warns(UserWarning, match="from_logits=True"):
        losses.categorical_crossentropy(y, K.softmax(x), from_logits=True)


# ----------------------------------------------------------------------------- gradients

def _grad_data(rng):
    """Predictions exactly 0 or 1 (each row has a 1), one-hot targets, labels."""
    p = rng.choice([0.0, 1.0], size=(B, C))
    p[np.arange(B), rng.randint(0, C, B)] = 1.0
    y = np.eye(C)[rng.randint(0, C, B)]
    return y, p, y.argmax(-1).astype(np.float64)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gradients_finite_at_probabilities_0_and_1(backend, dtype):
    f = gradient_function(backend, dtype)
    rng = np.random.RandomState(5)
    for _ in range(3):
        y, p, lab = _grad_data(rng)
        grads = _call(f, y, p, lab, dtype)
        for name, g in zip(CASES, grads):
            assert g.shape == (B, C), name
            assert np.all(np.isfinite(g)), f"{name}: non-finite gradient {g}"


def test_gradients_finite_for_extreme_logits(backend):
    f = gradient_function(backend, "float64")
    rng = np.random.RandomState(6)
    y, _, lab = _grad_data(rng)
    x = rng.choice([-200.0, 0.0, 200.0], size=(B, C))
    grads = _call(f, y, x, lab, "float64")
    for name, g in zip(CASES, grads):
        if "logits" in name:
            assert np.all(np.isfinite(g)), name
            assert np.all(np.abs(g) <= 1.0 + 1e-12), name       # softmax/sigmoid − y


def _interior_data(kind, rng):
    """Smooth points: away from clip bounds, kinks, ties and zero denominators."""
    y, p, lab = make_data(kind, rng, (B, C))
    if kind in ("onehot", "soft", "binary"):
        p = rng.uniform(0.05, 0.95, (B, C))
    elif kind == "msle":
        y, p = np.abs(y) + 0.1, rng.uniform(0.1, 3.0, (B, C))
    elif kind == "poisson":
        p = rng.uniform(0.2, 4.0, (B, C))
    elif kind == "mape":
        y = np.where(np.abs(y) < 0.1, 0.5, y)
    elif kind == "real":
        p = rng.randn(B, C) * 2
        p = np.where(np.abs(np.abs(p - y) - 1.0) < 0.05, p + 0.2, p)   # huber kink
        p = np.where(np.abs(np.abs(p - y) - 2.5) < 0.05, p + 0.2, p)
    elif kind == "cos":
        p = rng.randn(B, C)
    elif kind in ("pm1", "01", "mixed"):
        yy = _hinge_labels(y)
        p = np.where(np.abs(1 - yy * p) < 0.05, p + 0.2, p)
    return y, p, lab


def test_gradients_match_finite_differences_of_references(backend):
    f = gradient_function(backend, "float64")
    h = 1e-6
    for index, (name, (_, reference, kind)) in enumerate(CASES.items()):
        rng = np.random.RandomState(100 + index)
        y, p, lab = _interior_data(kind, rng)
        g = _call(f, y, p, lab, "float64")[index]
        numeric = np.zeros_like(p)
        for i in np.ndindex(p.shape):
            up, down = p.copy(), p.copy()
            up[i] += h
            down[i] -= h
            numeric[i] = (reference(y, up, lab, "float64").sum()
                          - reference(y, down, lab, "float64").sum()) / (2 * h)
        np.testing.assert_allclose(g, numeric, rtol=1e-4, atol=1e-5, err_msg=name)


# ----------------------------------------------------------------------------- Loss objects

def test_loss_reductions_with_sample_weight(backend):
    yt = K.placeholder((None, T, C), dtype="float64", name="y_true")
    yp = K.placeholder((None, T, C), dtype="float64", name="y_pred")
    w_b = K.placeholder((None,), dtype="float64", name="w_batch")
    w_bt = K.placeholder((None, T), dtype="float64", name="w_temporal")
    w_bt1 = K.placeholder((None, T, 1), dtype="float64", name="w_temporal_1")
    lab = K.placeholder((None,), dtype="float64", name="labels")
    yt2 = K.placeholder((None, C), dtype="float64", name="y_true_2d")
    yp2 = K.placeholder((None, C), dtype="float64", name="y_pred_2d")
    mse = losses.MeanSquaredError()
    outputs = [
        mse(yt2, yp2),
        mse(yt2, yp2, sample_weight=w_b),
        losses.MeanSquaredError(reduction="sum")(yt2, yp2, sample_weight=w_b),
        losses.MeanSquaredError(reduction="none")(yt2, yp2, sample_weight=w_b),
        mse(yt2, yp2, sample_weight=2.5),
        mse(yt, yp),
        mse(yt, yp, sample_weight=w_b),
        mse(yt, yp, sample_weight=w_bt),
        mse(yt, yp, sample_weight=w_bt1),
        losses.MeanSquaredError(reduction=losses.Reduction.SUM)(yt, yp, sample_weight=w_bt),
        losses.MeanSquaredError(reduction=losses.Reduction.NONE)(yt, yp, sample_weight=w_b),
        losses.CategoricalCrossentropy(label_smoothing=0.1)(yt2, K.softmax(yp2), sample_weight=w_b),
        losses.SparseCategoricalCrossentropy(from_logits=True)(lab, yp2),
    ]
    f = K.function([yt, yp, w_b, w_bt, w_bt1, lab, yt2, yp2], outputs, backend=backend)
    rng = np.random.RandomState(9)
    y, p = rng.randn(B, T, C), rng.randn(B, T, C)
    y2, p2 = rng.randn(B, C), rng.randn(B, C)
    wb = rng.rand(B)
    wb[0] = 0.0                                        # zero weights still count in the size
    wbt = rng.rand(B, T)
    labels = rng.randint(0, C, B).astype(np.float64)
    got = f([y, p, wb, wbt, wbt[..., None], labels, y2, p2])
    l2, l3 = ref_mse(y2, p2), ref_mse(y, p)
    np.testing.assert_allclose(got[0], l2.mean())
    np.testing.assert_allclose(got[1], (wb * l2).sum() / B)
    np.testing.assert_allclose(got[2], (wb * l2).sum())
    np.testing.assert_allclose(got[3], wb * l2)
    np.testing.assert_allclose(got[4], 2.5 * l2.mean())
    np.testing.assert_allclose(got[5], l3.mean())
    np.testing.assert_allclose(got[6], (wb[:, None] * l3).sum() / (B * T))
    np.testing.assert_allclose(got[7], (wbt * l3).sum() / (B * T))
    np.testing.assert_allclose(got[8], (wbt * l3).sum() / (B * T))
    np.testing.assert_allclose(got[9], (wbt * l3).sum())
    np.testing.assert_allclose(got[10], wb[:, None] * l3)
    np.testing.assert_allclose(got[11], (wb * ref_cce_logits(y2, p2, label_smoothing=0.1)).sum() / B)
    np.testing.assert_allclose(got[12], ref_scce_logits(labels, p2).mean())


def test_loss_object_aligns_trailing_one():
    """y_true (B,) against y_pred (B, 1): one loss per sample."""
    yt = K.placeholder((None,), dtype="float64", name="y_true")
    yp = K.placeholder((None, 1), dtype="float64", name="y_pred")
    out = losses.MeanSquaredError(reduction="none")(yt, yp)
    assert K.int_shape(out) == (None,)
    f = K.function([yt, yp], [out, losses.BinaryCrossentropy()(yt, K.sigmoid(yp))], backend="numpy")
    y, p = np.array([0.0, 1.0, 1.0]), np.array([[0.5], [2.0], [-1.0]])
    none, bce = f([y, p])
    np.testing.assert_allclose(none, (p[:, 0] - y) ** 2)
    np.testing.assert_allclose(bce, ref_bce_logits(y[:, None], p).mean())


def test_loss_classes_configs_and_defaults():
    expected = {
        losses.MeanSquaredError: ("mean_squared_error", {}),
        losses.MeanAbsoluteError: ("mean_absolute_error", {}),
        losses.MeanAbsolutePercentageError: ("mean_absolute_percentage_error", {}),
        losses.MeanSquaredLogarithmicError: ("mean_squared_logarithmic_error", {}),
        losses.Hinge: ("hinge", {}),
        losses.SquaredHinge: ("squared_hinge", {}),
        losses.CategoricalHinge: ("categorical_hinge", {}),
        losses.LogCosh: ("log_cosh", {}),
        losses.Huber: ("huber_loss", {"delta": 1.0}),
        losses.CategoricalCrossentropy: ("categorical_crossentropy",
                                         {"from_logits": False, "label_smoothing": 0.0, "axis": -1}),
        losses.SparseCategoricalCrossentropy: ("sparse_categorical_crossentropy",
                                               {"from_logits": False, "ignore_class": None}),
        losses.BinaryCrossentropy: ("binary_crossentropy",
                                    {"from_logits": False, "label_smoothing": 0.0, "axis": -1}),
        losses.KLDivergence: ("kl_divergence", {}),
        losses.Poisson: ("poisson", {}),
        losses.CosineSimilarity: ("cosine_similarity", {"axis": -1}),
    }
    for cls, (name, kwargs) in expected.items():
        obj = cls()
        assert obj.name == name
        assert obj.reduction == "auto"
        assert obj.get_config() == dict({"reduction": "auto", "name": name}, **kwargs)
        clone = cls.from_config(obj.get_config())
        assert type(clone) is cls and clone.get_config() == obj.get_config()
    custom = losses.CategoricalCrossentropy(from_logits=True, label_smoothing=0.2, name="cce",
                                            reduction="sum")
    assert custom.get_config() == {"reduction": "sum", "name": "cce", "from_logits": True,
                                   "label_smoothing": 0.2, "axis": -1}
    with pytest.raises(ValueError, match="Invalid Reduction Key"):
        losses.MeanSquaredError(reduction="mean")


def test_loss_function_wrapper_and_subclass():
    def scaled_mae(y_true, y_pred, scale=1.0):
        return scale * losses.mean_absolute_error(y_true, y_pred)

    class Twice(losses.Loss):
        def call(self, y_true, y_pred):
            return 2.0 * losses.mean_squared_error(y_true, y_pred)

    yt = K.placeholder((None, C), dtype="float64", name="y_true")
    yp = K.placeholder((None, C), dtype="float64", name="y_pred")
    wrapper = losses.LossFunctionWrapper(scaled_mae, name="smae", scale=3.0)
    assert wrapper.get_config()["scale"] == 3.0
    f = K.function([yt, yp], [wrapper(yt, yp), Twice(reduction="sum")(yt, yp)], backend="numpy")
    rng = np.random.RandomState(4)
    y, p = rng.randn(B, C), rng.randn(B, C)
    a, b = f([y, p])
    np.testing.assert_allclose(a, 3.0 * ref_mae(y, p).mean())
    np.testing.assert_allclose(b, 2.0 * ref_mse(y, p).sum())
    plain = losses.LossFunctionWrapper(losses.mean_squared_error)
    clone = losses.LossFunctionWrapper.from_config(plain.get_config())
    assert clone.fn is losses.mean_squared_error


# ----------------------------------------------------------------------------- lookup

def test_get_names_and_aliases():
    table = {
        losses.mean_squared_error: ["mean_squared_error", "mse", "MSE"],
        losses.mean_absolute_error: ["mean_absolute_error", "mae", "MAE"],
        losses.mean_absolute_percentage_error: ["mean_absolute_percentage_error", "mape", "MAPE"],
        losses.mean_squared_logarithmic_error: ["mean_squared_logarithmic_error", "msle", "MSLE"],
        losses.squared_hinge: ["squared_hinge"],
        losses.hinge: ["hinge"],
        losses.categorical_hinge: ["categorical_hinge"],
        losses.log_cosh: ["log_cosh", "logcosh"],
        losses.huber: ["huber", "huber_loss"],
        losses.categorical_crossentropy: ["categorical_crossentropy"],
        losses.sparse_categorical_crossentropy: ["sparse_categorical_crossentropy"],
        losses.binary_crossentropy: ["binary_crossentropy", "bce", "BCE"],
        losses.kl_divergence: ["kl_divergence", "kullback_leibler_divergence", "kld", "KLD"],
        losses.poisson: ["poisson"],
        losses.cosine_similarity: ["cosine_similarity", "cosine_proximity", "cosine"],
    }
    for fn, names in table.items():
        for name in names:
            assert losses.get(name) is fn, name
            assert getattr(losses, name) is fn, name
    assert losses.mse.__name__ == "mean_squared_error"


def test_get_classes_configs_callables_and_errors():
    obj = losses.get("MeanSquaredError")
    assert isinstance(obj, losses.MeanSquaredError)
    obj = losses.get({"class_name": "CategoricalCrossentropy", "config": {"from_logits": True}})
    assert isinstance(obj, losses.CategoricalCrossentropy)
    assert obj.get_config()["from_logits"] is True

    def custom(y_true, y_pred):
        return y_pred

    assert losses.get(custom) is custom
    assert losses.get(None) is None
    with pytest.raises(ValueError, match="Unknown loss function: nope"):
        losses.get("nope")
    with pytest.raises(ValueError, match="Unknown loss function: Nope"):
        losses.get({"class_name": "Nope", "config": {}})
    with pytest.raises(ValueError, match="Could not interpret loss function identifier"):
        losses.get(42)


def test_serialize_deserialize_round_trip():
    assert losses.serialize(losses.mse) == "mean_squared_error"
    assert losses.deserialize("mean_squared_error") is losses.mean_squared_error
    obj = losses.Huber(delta=2.0, reduction="sum", name="h")
    config = losses.serialize(obj)
    assert config == {"class_name": "Huber",
                      "config": {"reduction": "sum", "name": "h", "delta": 2.0}}
    clone = losses.deserialize(config)
    assert isinstance(clone, losses.Huber) and clone.get_config() == obj.get_config()
    assert losses.deserialize({"class_name": "function", "config": "mae"}) is losses.mae

    class MyLoss(losses.Loss):
        def call(self, y_true, y_pred):
            return y_pred

    restored = losses.deserialize({"class_name": "MyLoss", "config": {"name": "m"}},
                                  custom_objects={"MyLoss": MyLoss})
    assert isinstance(restored, MyLoss) and restored.name == "m"
    assert losses.serialize(None) is None


def test_no_warnings_when_building():
    yt = K.placeholder((None, T, C), name="y_true")
    yp = K.placeholder((None, T, C), name="y_pred")
    lab = K.placeholder((None, T), name="labels")
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        for build, _, _ in CASES.values():
            out = build(yt, yp, lab, K.expand_dims(lab, -1))
            assert K.int_shape(out) == (None, T)


def test_categorical_crossentropy_axis_and_single_class_warning():
    yt = K.placeholder((None, C, T), dtype="float64", name="y_true")
    yp = K.placeholder((None, C, T), dtype="float64", name="y_pred")
    lab = K.placeholder((None, T), dtype="float64", name="labels")
    outs = [losses.categorical_crossentropy(yt, yp, axis=1),
            losses.categorical_crossentropy(yt, yp, axis=1, from_logits=True),
            losses.sparse_categorical_crossentropy(lab, yp, axis=1, from_logits=True),
            losses.cosine_similarity(yt, yp, axis=1)]
    f = K.function([yt, yp, lab], outs, backend="numpy")
    rng = np.random.RandomState(8)
    y = np.moveaxis(np.eye(C)[rng.randint(0, C, (B, T))], -1, 1)
    p = np.moveaxis(_softmax(np.moveaxis(rng.randn(B, C, T), 1, -1)), -1, 1)
    got = f([y, p, y.argmax(1).astype(np.float64)])
    move = lambda a: np.moveaxis(a, 1, -1)  # noqa: E731
    np.testing.assert_allclose(got[0], ref_cce(move(y), move(p), "float64"), rtol=1e-9)
    np.testing.assert_allclose(got[1], ref_cce_logits(move(y), move(p)), rtol=1e-9)
    np.testing.assert_allclose(got[2], ref_scce_logits(y.argmax(1), move(p)), rtol=1e-9)
    np.testing.assert_allclose(got[3], ref_cosine(move(y), move(p)), rtol=1e-9)
    one = K.placeholder((None, 1), name="one")
    with pytest.warns(SyntaxWarning, match="binary_crossentropy"):
        losses.categorical_crossentropy(one, one)

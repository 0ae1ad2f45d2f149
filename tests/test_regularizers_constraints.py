"""Regularizer penalties and constraint projections against NumPy formulas, on every backend.

All regularizers compile into one function per backend, all constraints into another; the
expected values are tf-keras's formulas written in NumPy.
"""

import functools
import math

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import constraints as C
from symkeras import regularizers as R
from symkeras.utils import custom_object_scope

EPS = 1e-7
W = np.random.RandomState(0).uniform(-2, 2, (5, 4))
W[0, 0] = 0.0                                          # |x| and sign at 0
KERNEL = np.random.RandomState(1).uniform(-1, 1, (3, 3, 2, 4))


def _f32(x):
    return float(np.float32(x))


# ----------------------------------------------------------------------------- regularizers

def _l2_normalize(x, axis):
    return x / np.sqrt(np.maximum((x ** 2).sum(axis=axis, keepdims=True), 1e-12))


def _orthogonal_penalty(x, factor, mode):
    x = _l2_normalize(x, 1 if mode == "rows" else 0)
    product = x @ x.T if mode == "rows" else x.T @ x
    n = len(product)
    return factor * 0.5 * np.abs(product * (1 - np.eye(n))).sum() / (n * (n - 1) / 2)


# name -> (regularizer, numpy penalty(x), numpy d penalty / dx or None)
REGULARIZERS = {
    "l1l2": (R.L1L2(l1=0.1, l2=0.2), lambda x: _f32(0.1) * np.abs(x).sum() + _f32(0.2) * (x ** 2).sum(),
             lambda x: _f32(0.1) * np.sign(x) + 2 * _f32(0.2) * x),
    "l1l2_l1_only": (R.L1L2(l1=0.3), lambda x: _f32(0.3) * np.abs(x).sum(), lambda x: _f32(0.3) * np.sign(x)),
    "l1": (R.L1(0.05), lambda x: _f32(0.05) * np.abs(x).sum(), lambda x: _f32(0.05) * np.sign(x)),
    "l2": (R.L2(0.05), lambda x: _f32(0.05) * (x ** 2).sum(), lambda x: 2 * _f32(0.05) * x),
    "l1_l2_fn": (R.l1_l2(), lambda x: _f32(0.01) * (np.abs(x).sum() + (x ** 2).sum()),
                 lambda x: _f32(0.01) * (np.sign(x) + 2 * x)),
    "zero": (R.L1L2(), lambda x: 0.0, None),
    "orthogonal_rows": (R.OrthogonalRegularizer(0.1, "rows"),
                        lambda x: _orthogonal_penalty(x, _f32(0.1), "rows"), None),
    "orthogonal_columns": (R.OrthogonalRegularizer(0.2, "columns"),
                           lambda x: _orthogonal_penalty(x, _f32(0.2), "columns"), None),
}


@functools.lru_cache(maxsize=None)
def _regularizer_function(backend):
    x = K.placeholder(W.shape, dtype="float64", name="w")
    outputs = []
    for reg, _f, df in REGULARIZERS.values():
        penalty = reg(x)
        outputs.append(penalty)
        if df is not None:
            outputs.append(K.gradients(penalty, [x])[0])
    f = K.function([x], outputs, backend=backend, name="regularizers")
    return lambda w: iter(f([w]))


@pytest.mark.parametrize("name", list(REGULARIZERS))
def test_regularizer_penalty_and_gradient(backend, name):
    results = _regularizer_function(backend)(W)
    for key, (_reg, f, df) in REGULARIZERS.items():
        penalty = next(results)
        grad = next(results) if df is not None else None
        if key == name:
            break
    assert np.ndim(penalty) == 0, f"{name}: penalty must be a scalar, got shape {np.shape(penalty)}"
    assert float(penalty) == pytest.approx(f(W), rel=1e-12, abs=1e-15)
    if df is not None:
        np.testing.assert_allclose(grad, df(W), rtol=1e-12, atol=1e-15)   # abs'(0) = sign(0) = 0


def test_tf_keras_doc_example():
    """tf-keras: L2(2.)(ones((5, 5))) == 50; L1(0.01) on a ones((5, 5)) kernel gives 0.25."""
    x = K.placeholder((5, 5))
    f = K.function([x], [R.L2(2.0)(x), R.L1(0.01)(x)], backend="numpy")
    l2, l1 = f([np.ones((5, 5), np.float32)])
    assert l2 == pytest.approx(50.0) and l1 == pytest.approx(0.25)


def test_regularizer_validation():
    for bad in ("0.1", float("inf"), float("nan"), True):
        with pytest.raises(ValueError, match="not a valid regularization penalty number"):
            R.L1L2(l1=bad)
    with pytest.raises(ValueError, match="not a valid regularization penalty number"):
        R.L2(l2="x")
    with pytest.raises(TypeError, match="Argument\\(s\\) not recognized"):
        R.L1(0.1, foo=1)
    assert R.L1(l=0.3).get_config() == {"l1": _f32(0.3)}       # Keras 2 spelling
    assert R.l2(l=0.3).get_config() == {"l2": _f32(0.3)}
    assert R.L1(None).get_config() == {"l1": _f32(0.01)}
    with pytest.raises(ValueError, match="Invalid value for argument `mode`"):
        R.OrthogonalRegularizer(mode="diagonal")
    with pytest.raises(ValueError, match="must have rank 2"):
        R.OrthogonalRegularizer()(K.placeholder((2, 3, 4)))
    with pytest.raises(NotImplementedError):
        R.Regularizer().get_config()


@pytest.mark.parametrize("name, cls, config", [
    ("l1", R.L1, {"l1": _f32(0.01)}),
    ("l2", R.L2, {"l2": _f32(0.01)}),
    ("l1_l2", R.L1L2, {"l1": _f32(0.01), "l2": _f32(0.01)}),       # the string means l1_l2()'s 0.01s
    ("L1L2", R.L1L2, {"l1": 0.0, "l2": 0.0}),
    ("L1", R.L1, {"l1": _f32(0.01)}),
    ("orthogonal_regularizer", R.OrthogonalRegularizer, {"factor": _f32(0.01), "mode": "rows"}),
])
def test_regularizer_get_by_name(name, cls, config):
    reg = R.get(name)
    assert type(reg) is cls and reg.get_config() == config


@pytest.mark.parametrize("reg", [R.L1L2(0.1, 0.2), R.L1(0.3), R.L2(0.4), R.OrthogonalRegularizer(0.5, "columns")],
                         ids=lambda r: type(r).__name__)
def test_regularizer_round_trip(reg):
    config = R.serialize(reg)
    assert config == {"class_name": type(reg).__name__, "config": reg.get_config()}
    again = R.get(config)
    assert type(again) is type(reg) and again.get_config() == reg.get_config()
    assert R.deserialize(config).get_config() == reg.get_config()


def test_regularizer_get_other_identifiers():
    reg = R.L2(0.5)
    assert R.get(reg) is reg
    assert R.get(None) is None

    def my_penalty(x):
        return 0.01 * K.sum(x)
    assert R.get(my_penalty) is my_penalty
    assert R.serialize(my_penalty) == "my_penalty"
    with pytest.raises(ValueError, match="^Unknown regularizer: l3$"):
        R.get("l3")
    with pytest.raises(ValueError, match="Could not interpret regularizer identifier"):
        R.get(0.1)
    with custom_object_scope({"my_penalty": my_penalty}):
        assert R.get("my_penalty") is my_penalty
    assert R.get({"class_name": "l1_l2", "config": {"l1": 0.5, "l2": 0.0}}).get_config() == {"l1": 0.5, "l2": 0.0}


# ----------------------------------------------------------------------------- constraints

def _norms(w, axis):
    return np.sqrt((w ** 2).sum(axis=axis, keepdims=True))


def _max_norm(w, m, axis):
    n = _norms(w, axis)
    return w * np.clip(n, 0, m) / (EPS + n)


def _min_max_norm(w, lo, hi, rate, axis):
    n = _norms(w, axis)
    return w * (rate * np.clip(n, lo, hi) + (1 - rate) * n) / (EPS + n)


def _radial_reference(kernel):
    """tf-keras's RadialConstraint loop, literally: seed block, then pad ring by ring."""
    height, width, channels, kernels = kernel.shape
    out = np.empty_like(kernel)
    for c in range(channels):
        for k in range(kernels):
            slice_ = kernel[:, :, c, k]
            start = height // 2
            if height % 2:
                new, index = slice_[start - 1:start, start - 1:start], 0
            else:
                new, index = slice_[start - 1:start, start - 1:start] + np.zeros((2, 2)), 1
            while index < start:
                new = np.pad(new, 1, constant_values=slice_[start + index, start + index])
                index += 1
            out[:, :, c, k] = new
    return out


# name -> (constraint, numpy projection)
CONSTRAINTS = {
    "max_norm": (C.MaxNorm(1.5), lambda w: _max_norm(w, 1.5, 0)),
    "max_norm_axes": (C.MaxNorm(2.0, axis=[0, 1, 2]), lambda w: _max_norm(w, 2.0, (0, 1, 2))),
    "non_neg": (C.NonNeg(), lambda w: w * (w >= 0)),
    "unit_norm": (C.UnitNorm(), lambda w: w / (EPS + _norms(w, 0))),
    "unit_norm_axis3": (C.UnitNorm(axis=3), lambda w: w / (EPS + _norms(w, 3))),
    "min_max_norm": (C.MinMaxNorm(1.0, 1.2), lambda w: _min_max_norm(w, 1.0, 1.2, 1.0, 0)),
    "min_max_norm_rate": (C.MinMaxNorm(0.5, 0.8, rate=0.3, axis=(0, 1)),
                          lambda w: _min_max_norm(w, 0.5, 0.8, 0.3, (0, 1))),
    "radial": (C.RadialConstraint(), _radial_reference),
    "identity": (C.Constraint(), lambda w: w),
}


@functools.lru_cache(maxsize=None)
def _constraint_function(backend):
    w = K.placeholder(KERNEL.shape, dtype="float64", name="kernel")
    outputs = [c(w) for c, _ in CONSTRAINTS.values()]
    outputs[-1] = outputs[-1] * 1.0          # the identity constraint returns the input itself
    f = K.function([w], outputs, backend=backend, name="constraints")
    return dict(zip(CONSTRAINTS, f([KERNEL])))


@pytest.mark.parametrize("name", list(CONSTRAINTS))
def test_constraint_projection(backend, name):
    out = _constraint_function(backend)[name]
    np.testing.assert_allclose(out, CONSTRAINTS[name][1](KERNEL), rtol=1e-12, atol=1e-15)


def test_constraint_norms_land_in_range(backend):
    outs = _constraint_function(backend)
    assert np.all(_norms(outs["max_norm"], 0) <= 1.5 + 1e-9)
    np.testing.assert_allclose(_norms(outs["unit_norm"], 0), 1.0, rtol=1e-6)
    n = _norms(outs["min_max_norm"], 0)
    assert np.all((n >= 1.0 - 1e-6) & (n <= 1.2 + 1e-6))
    assert outs["non_neg"].min() == 0.0


def test_max_norm_tf_keras_example():
    x = np.array([[0, 0, 0], [1.0, 0, 0], [3, 0, 0], [3, 3, 3]]).T
    target = np.array([[0, 0, 0], [1.0, 0, 0], [2.0, 0, 0], [2 / np.sqrt(3)] * 3]).T
    w = K.placeholder(x.shape)
    (out,) = K.function([w], [C.max_norm(2.0)(w)], backend="numpy")([x.astype(np.float32)])
    np.testing.assert_allclose(out, target, rtol=1e-5)


@pytest.mark.parametrize("width", [2, 3, 4, 5, 6])
def test_radial_constraint_rings(width):
    kernel = np.random.RandomState(3537).rand(width, width, 2, 2)
    w = K.placeholder(kernel.shape, dtype="float64")
    (out,) = K.function([w], [C.radial_constraint()(w)], backend="numpy")([kernel])
    np.testing.assert_array_equal(out, _radial_reference(kernel))
    assert len(set(out[..., 0, 0].flatten())) == math.ceil(width / 2)        # tf-keras's own check
    np.testing.assert_array_equal(out, out[::-1, ::-1])                      # concentric


def test_radial_constraint_errors():
    with pytest.raises(ValueError, match="must have rank 4"):
        C.RadialConstraint()(K.placeholder((3, 3, 2)))
    with pytest.raises(ValueError, match="square kernel"):
        C.RadialConstraint()(K.placeholder((3, 4, 2, 2)))


def test_constraint_applied_as_variable_update(backend):
    """How training uses a constraint: assign the projection right after the update."""
    value = np.array([[3.0, -1.0], [4.0, 2.0]])
    var = K.variable(value, dtype="float64", name="w")
    lr = K.placeholder((), dtype="float64", name="lr")
    stepped = var - lr * 1.0
    f = K.function([lr], [K.sum(var)], updates=[(var, C.MaxNorm(2.0)(C.NonNeg()(stepped)))], backend=backend)
    f([np.float64(0.5)])
    expected = np.maximum(value - 0.5, 0)
    np.testing.assert_allclose(K.get_value(var), _max_norm(expected, 2.0, 0), rtol=1e-12)


@pytest.mark.parametrize("name, cls", [
    ("max_norm", C.MaxNorm), ("maxnorm", C.MaxNorm), ("MaxNorm", C.MaxNorm), ("non_neg", C.NonNeg),
    ("nonneg", C.NonNeg), ("unit_norm", C.UnitNorm), ("unitnorm", C.UnitNorm), ("min_max_norm", C.MinMaxNorm),
    ("radial_constraint", C.RadialConstraint), ("MinMaxNorm", C.MinMaxNorm),
])
def test_constraint_get_by_name(name, cls):
    assert type(C.get(name)) is cls
    assert getattr(C, name) is cls


def test_constraint_defaults():
    assert C.MaxNorm().get_config() == {"max_value": 2, "axis": 0}
    assert C.UnitNorm().get_config() == {"axis": 0}
    assert C.MinMaxNorm().get_config() == {"min_value": 0.0, "max_value": 1.0, "rate": 1.0, "axis": 0}
    assert C.MaxNorm(axis=(0, 1)).get_config()["axis"] == [0, 1]           # JSON-friendly


@pytest.mark.parametrize("con", [C.MaxNorm(3, axis=[0, 1]), C.NonNeg(), C.UnitNorm(axis=1),
                                 C.MinMaxNorm(0.1, 0.9, 0.5, 1), C.RadialConstraint()],
                         ids=lambda c: type(c).__name__)
def test_constraint_round_trip(con):
    config = C.serialize(con)
    assert config == {"class_name": type(con).__name__, "config": con.get_config()}
    again = C.get(config)
    assert type(again) is type(con) and again.get_config() == con.get_config()


def test_constraint_get_other_identifiers():
    con = C.UnitNorm()
    assert C.get(con) is con
    assert C.get(None) is None

    def clip_positive(w):
        return K.relu(w)
    assert C.get(clip_positive) is clip_positive
    with pytest.raises(ValueError, match="^Unknown constraint: positive$"):
        C.get("positive")
    with pytest.raises(ValueError, match="Could not interpret constraint function identifier"):
        C.get(3)
    with custom_object_scope({"clip_positive": clip_positive}):
        assert C.get("clip_positive") is clip_positive

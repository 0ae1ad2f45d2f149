"""Activation layers: ReLU, LeakyReLU, PReLU, ELU, ThresholdedReLU, Softmax.

Every case is one layer applied to a (None, 3, 4) float64 input; all cases compile into ONE
function ``x -> [y, d sum(y * R)/dx (, d sum(y * R)/d alpha)] per case``. Values and gradients are
checked against NumPy formulas written here, against central differences (inputs and PReLU's
alpha), at the kinks against TensorFlow's conventions, and C against NumPy. Configs, names,
weights, parameter counts and argument errors are checked against tf-keras 2.x.
"""

import json

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import activations, constraints, initializers, optimizers, regularizers
from symkeras import layers
from symkeras.layers import ELU, Dense, Input, LeakyReLU, PReLU, ReLU, Softmax, ThresholdedReLU
from symkeras.models import Model, Sequential, model_from_json

SHAPE = (3, 4)
F32_03 = float(np.float32(0.3))          # tf-keras keeps LeakyReLU's default alpha as a float32
MASK = np.array([[[1, 1, 0, 1], [0, 1, 1, 1], [1, 0, 0, 1]]], dtype=np.float64)
SOFT_MASK = np.array([[[0.9, 0.2, 0.7, 1.0], [0.6, 0.4, 1.0, 0.51], [1.0, 0.0, 0.3, 0.8]]])


@pytest.fixture(autouse=True)
def _fresh_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


def _softmax(x, axis):
    e = np.exp(x - x.max(axis=axis, keepdims=True))
    return e / e.sum(axis=axis, keepdims=True)


def _masked(x, mask):
    return x + (1.0 - mask) * -1e9


PRELU_ALPHA = np.random.RandomState(5).uniform(-0.5, 1.5, SHAPE)
PRELU_SHARED_ALPHA = np.array([[0.1, -0.3, 0.7, 1.2]])


def _ew(df):
    """d sum(y * r)/dx of an elementwise layer with derivative ``df``."""
    return lambda x, a, r: r * df(x, a)


def _softmax_vjp(axis, mask=None, keep=None):
    def vjp(x, a, r):
        s = _softmax(x if mask is None else _masked(x, mask) if keep is None else np.where(keep, x, -1e9), axis)
        g = s * (r - (r * s).sum(axis=axis, keepdims=True))
        return g if keep is None else g * keep
    return vjp


# name -> (class, arguments, call kwargs, y(x, alpha), d sum(y * r)/dx (x, alpha, r), {kink: (y, dy/dx)}).
# Arguments are exact in float32, so the float64 references hold to rounding.
CASES = {
    "relu": (ReLU, {}, {}, lambda x, a: np.maximum(x, 0), _ew(lambda x, a: (x > 0) * 1.0), {0.0: (0.0, 0.0)}),
    "relu_all": (ReLU, dict(max_value=5.0, negative_slope=0.25, threshold=1.5), {},
                 lambda x, a: np.where(x >= 5, 5.0, np.where(x > 1.5, x, 0.25 * (x - 1.5))),
                 _ew(lambda x, a: np.where(x > 5, 0.0, np.where(x > 1.5, 1.0, 0.25))),
                 {1.5: (0.0, 0.0), 5.0: (5.0, 1.0)}),       # clip passes at its bound; 0 at the threshold
    "relu_max6": (ReLU, dict(max_value=6), {}, lambda x, a: np.clip(x, 0, 6),
                  _ew(lambda x, a: ((x > 0) & (x < 6)) * 1.0), {0.0: (0.0, 0.0), 6.0: (6.0, 0.0)}),   # relu6
    "relu_slope": (ReLU, dict(negative_slope=0.5), {}, lambda x, a: np.where(x > 0, x, 0.5 * x),
                   _ew(lambda x, a: np.where(x > 0, 1.0, 0.5)), {0.0: (0.0, 0.5)}),
    "leaky": (LeakyReLU, {}, {}, lambda x, a: np.where(x > 0, x, F32_03 * x),
              _ew(lambda x, a: np.where(x > 0, 1.0, F32_03)), {0.0: (0.0, F32_03)}),
    "leaky_negative": (LeakyReLU, dict(alpha=-0.5), {}, lambda x, a: np.where(x > 0, x, -0.5 * x),
                       _ew(lambda x, a: np.where(x > 0, 1.0, -0.5)), {0.0: (0.0, -0.5)}),
    "prelu": (PReLU, {}, {}, lambda x, a: np.where(x > 0, x, a * x),
              _ew(lambda x, a: np.where(x > 0, 1.0, a)), {0.0: (0.0, 0.0)}),
    "prelu_shared": (PReLU, dict(shared_axes=1), {}, lambda x, a: np.where(x > 0, x, a * x),
                     _ew(lambda x, a: np.where(x > 0, 1.0, a)), {0.0: (0.0, 0.0)}),
    "elu": (ELU, {}, {}, lambda x, a: np.where(x > 0, x, np.expm1(np.minimum(x, 0))),
            _ew(lambda x, a: np.where(x > 0, 1.0, np.exp(np.minimum(x, 0)))), {0.0: (0.0, 1.0)}),
    "elu_half": (ELU, dict(alpha=0.5), {}, lambda x, a: np.where(x > 0, x, 0.5 * np.expm1(np.minimum(x, 0))),
                 _ew(lambda x, a: np.where(x > 0, 1.0, 0.5 * np.exp(np.minimum(x, 0)))), {0.0: (0.0, 0.5)}),
    "thresholded": (ThresholdedReLU, dict(theta=0.5), {}, lambda x, a: np.where(x > 0.5, x, 0.0),
                    _ew(lambda x, a: (x > 0.5) * 1.0), {0.5: (0.0, 0.0)}),
    "thresholded_default": (ThresholdedReLU, {}, {}, lambda x, a: np.where(x > 1, x, 0.0),
                            _ew(lambda x, a: (x > 1) * 1.0), {1.0: (0.0, 0.0)}),
    "softmax": (Softmax, {}, {}, lambda x, a: _softmax(x, -1), _softmax_vjp(-1), {}),
    "softmax_axis1": (Softmax, dict(axis=1), {}, lambda x, a: _softmax(x, 1), _softmax_vjp(1), {}),
    "softmax_axis_list1": (Softmax, dict(axis=[1]), {}, lambda x, a: _softmax(x, 1), _softmax_vjp(1), {}),
    "softmax_axes12": (Softmax, dict(axis=[1, 2]), {}, lambda x, a: _softmax(x, (1, 2)), _softmax_vjp((1, 2)), {}),
    "softmax_mask": (Softmax, {}, {"mask": MASK}, lambda x, a: _softmax(_masked(x, MASK), -1),
                     _softmax_vjp(-1, MASK), {}),
    "softmax_robust": (Softmax, dict(robust_masking=True), {"mask": SOFT_MASK},
                       lambda x, a: _softmax(np.where(SOFT_MASK > 0.5, x, -1e9), -1),
                       _softmax_vjp(-1, SOFT_MASK, keep=SOFT_MASK > 0.5), {}),
}
ALPHAS = {"prelu": PRELU_ALPHA, "prelu_shared": PRELU_SHARED_ALPHA}
SUMS_TO_ONE = {"softmax": -1, "softmax_axis1": 1, "softmax_axis_list1": 1, "softmax_axes12": (1, 2),
               "softmax_mask": -1, "softmax_robust": -1}
KINKS = sorted({k for case in CASES.values() for k in case[5]})


def _r(name):
    return np.random.RandomState(sorted(CASES).index(name)).uniform(0.5, 1.5, (1,) + SHAPE)


@pytest.fixture(scope="module")
def compiled():
    """(layers by case, backend -> function): the float64 graph of every case, built once."""
    K.clear_session()
    x = K.placeholder((None,) + SHAPE, dtype="float64", name="x")
    built, outputs = {}, []
    for name, (cls, arguments, call_kwargs, *_rest) in CASES.items():
        layer = cls(dtype="float64", **arguments)
        y = layer.apply(x, **call_kwargs)
        if name in ALPHAS:
            layer.set_weights([ALPHAS[name]])
        wrt = [x] + layer.trainable_weights
        outputs += [y] + K.gradients(K.sum(y * K.constant(_r(name), dtype="float64")), wrt)
        built[name] = layer
    functions = {}

    def function(backend):
        if backend not in functions:
            functions[backend] = K.function([x], outputs, backend=backend, name="activation_layers")
        return functions[backend]
    return built, function


def _run(compiled, x, backend="numpy"):
    """{case: (y, dx, [d alpha])}."""
    built, function = compiled
    out, results = list(function(backend)([x])), {}
    for name, layer in built.items():
        n = 2 + len(layer.trainable_weights)
        results[name], out = (out[0], out[1], out[2:n]), out[n:]
    return results


def _points(seed=0, rows=4):
    """Uniform on [-7, 8], kept 0.05 away from every kink."""
    rng = np.random.RandomState(seed)
    x = rng.uniform(-7, 8, (rows,) + SHAPE)
    for _ in range(100):
        bad = np.zeros(x.shape, bool)
        for k in KINKS:
            bad |= np.abs(x - k) < 0.05
        if not bad.any():
            return x
        x = np.where(bad, rng.uniform(-7, 8, x.shape), x)
    raise AssertionError("could not avoid the kinks")


X = _points()
X_SOFT = np.random.RandomState(1).uniform(-3, 3, (4,) + SHAPE)      # softmax: moderate logits


def _x_for(name):
    return X_SOFT if name in SUMS_TO_ONE else X


# ----------------------------------------------------------------------------- values and gradients

@pytest.mark.parametrize("name", list(CASES))
def test_value_and_gradients_match_formulas(compiled, name):
    _cls, _args, _kw, f, vjp, _kinks = CASES[name]
    x = _x_for(name)
    y, dx, dalpha = _run(compiled, x)[name]
    r, alpha = _r(name), ALPHAS.get(name)
    np.testing.assert_allclose(y, f(x, alpha), rtol=1e-12, atol=1e-12)
    np.testing.assert_allclose(dx, vjp(x, alpha, r), rtol=1e-10, atol=1e-12)
    if name in SUMS_TO_ONE:
        np.testing.assert_allclose(y.sum(axis=SUMS_TO_ONE[name]), 1.0, rtol=1e-12)
    if alpha is not None:       # d/d alpha of sum(r * alpha * min(x, 0)), summed over the shared axes
        shared = (0,) + tuple(i + 1 for i, d in enumerate(alpha.shape) if d == 1)
        want = (r * np.minimum(x, 0)).sum(axis=shared, keepdims=True)[0]
        np.testing.assert_allclose(dalpha[0], want, rtol=1e-12, atol=1e-12)


def _loss(compiled, name, x):
    return float(np.sum(_run(compiled, x)[name][0] * _r(name)))


@pytest.mark.parametrize("name", list(CASES))
def test_gradients_match_finite_differences(compiled, name):
    """Central differences of sum(y * R), entry by entry, for x and for PReLU's alpha."""
    x = _x_for(name)[:2]
    _y, dx, dalpha = _run(compiled, x)[name]
    numeric = np.zeros_like(x)
    for idx in np.ndindex(x.shape):
        h = 1e-6 * max(1.0, abs(x[idx]))
        plus, minus = x.copy(), x.copy()
        plus[idx] += h
        minus[idx] -= h
        numeric[idx] = (_loss(compiled, name, plus) - _loss(compiled, name, minus)) / (2 * h)
    np.testing.assert_allclose(dx, numeric, rtol=1e-6, atol=1e-7)
    if name in ALPHAS:
        layer = compiled[0][name]
        alpha = ALPHAS[name]
        numeric = np.zeros_like(alpha)
        try:
            for idx in np.ndindex(alpha.shape):
                values = []
                for sign in (1, -1):
                    shifted = alpha.copy()
                    shifted[idx] += sign * 1e-6
                    layer.set_weights([shifted])
                    values.append(_loss(compiled, name, x))
                numeric[idx] = (values[0] - values[1]) / 2e-6
        finally:
            layer.set_weights([alpha])
        np.testing.assert_allclose(dalpha[0], numeric, rtol=1e-6, atol=1e-7)


@pytest.mark.parametrize("name", [n for n, case in CASES.items() if case[5]])
def test_tensorflow_conventions_at_kinks(compiled, name):
    kinks = CASES[name][5]
    x = np.resize(np.array(sorted(kinks), dtype=np.float64), (1,) + SHAPE)
    y, dx, _ = _run(compiled, x)[name]
    r = _r(name)
    for idx in np.ndindex(x.shape):
        expected_y, expected_dy = kinks[x[idx]]
        assert y[idx] == pytest.approx(expected_y, abs=1e-12), f"{name}({x[idx]})"
        assert dx[idx] / r[idx] == pytest.approx(expected_dy, rel=1e-12, abs=1e-12), f"{name}'({x[idx]})"


def test_prelu_alpha_gradient_is_zero_at_zero(compiled):
    (ga,) = _run(compiled, np.zeros((2,) + SHAPE))["prelu"][2]
    np.testing.assert_array_equal(ga, 0.0)


def test_c_backend_matches_numpy(compiled, backend):
    if backend != "c":
        pytest.skip("compares the C backend with NumPy")
    x = np.concatenate([X[:2], X_SOFT[:2]])
    want, got = _run(compiled, x), _run(compiled, x, backend="c")
    for name in CASES:
        for w, g in zip((want[name][0], want[name][1], *want[name][2]), (got[name][0], got[name][1], *got[name][2])):
            np.testing.assert_allclose(g, w, rtol=1e-12, atol=1e-12, err_msg=name)


def test_tf_keras_doc_examples():
    """The values printed in tf-keras's docstrings (float32)."""
    cases = [  # (layer, call kwargs, inputs, expected)
        (ReLU(), {}, [-3.0, -1.0, 0.0, 2.0], [0.0, 0.0, 0.0, 2.0]),
        (ReLU(max_value=1.0), {}, [-3.0, -1.0, 0.0, 2.0], [0.0, 0.0, 0.0, 1.0]),
        (ReLU(negative_slope=1.0), {}, [-3.0, -1.0, 0.0, 2.0], [-3.0, -1.0, 0.0, 2.0]),
        (ReLU(threshold=1.5), {}, [-3.0, -1.0, 1.0, 2.0], [0.0, 0.0, 0.0, 2.0]),
        (LeakyReLU(), {}, [-3.0, -1.0, 0.0, 2.0], [-0.9, -0.3, 0.0, 2.0]),
        (LeakyReLU(alpha=0.1), {}, [-3.0, -1.0, 0.0, 2.0], [-0.3, -0.1, 0.0, 2.0]),
        (Softmax(), {}, [1.0, 2.0, 1.0, -np.inf], [0.21194157, 0.5761169, 0.21194157, 0.0]),
        (Softmax(), {"mask": np.array([[True, False, True, False]])}, [1.0, 2.0, 1.0, 5.0], [0.5, 0.0, 0.5, 0.0]),
    ]
    data = [np.array([inputs], np.float32) for _l, _k, inputs, _e in cases]
    xs = [K.placeholder((None, 4), name=f"x{i}") for i in range(len(cases))]
    f = K.function(xs, [layer.apply(xi, **kwargs) for xi, (layer, kwargs, _i, _e) in zip(xs, cases)],
                   backend="numpy")
    for i, (y, (_l, _k, _i, expected)) in enumerate(zip(f(data), cases)):
        assert y.dtype == np.float32
        np.testing.assert_allclose(y[0], expected, rtol=1e-6, atol=1e-7, err_msg=f"case {i}")


# ----------------------------------------------------------------------------- configs and names

DEFAULT_CONFIGS = {   # tf-keras 2.x get_config() of each layer built with no arguments (float32)
    ReLU: {"max_value": None, "negative_slope": 0.0, "threshold": 0.0},
    LeakyReLU: {"alpha": F32_03},
    PReLU: {"alpha_initializer": {"class_name": "Zeros", "config": {}}, "alpha_regularizer": None,
            "alpha_constraint": None, "shared_axes": None},
    ELU: {"alpha": 1.0},
    ThresholdedReLU: {"theta": 1.0},
    Softmax: {"axis": -1},
}
DEFAULT_NAMES = {ReLU: "re_lu", LeakyReLU: "leaky_re_lu", PReLU: "p_re_lu", ELU: "elu",
                 ThresholdedReLU: "thresholded_re_lu", Softmax: "softmax"}


@pytest.mark.parametrize("cls", list(DEFAULT_CONFIGS), ids=lambda c: c.__name__)
def test_default_config_names_and_round_trip(cls):
    layer = cls()
    config = layer.get_config()
    assert config == {"name": DEFAULT_NAMES[cls], "trainable": True, "dtype": "float32", **DEFAULT_CONFIGS[cls]}
    assert list(config)[:3] == ["name", "trainable", "dtype"]
    assert list(config)[3:] == list(DEFAULT_CONFIGS[cls])
    assert layer.supports_masking is True
    clone = cls.from_config(config)
    assert type(clone) is cls and clone.get_config() == config
    again = layers.deserialize(json.loads(json.dumps(layers.serialize(layer))))
    assert type(again) is cls and again.get_config() == config
    assert getattr(layers, cls.__name__) is cls


@pytest.mark.parametrize("layer, expected", [
    (ReLU(max_value=6, negative_slope=0.1, threshold=0.5),
     {"max_value": 6.0, "negative_slope": float(np.float32(0.1)), "threshold": 0.5}),
    (LeakyReLU(alpha=0.1), {"alpha": float(np.float32(0.1))}),
    (LeakyReLU(alpha=np.float64(-2)), {"alpha": -2.0}),
    (ELU(alpha=0.7), {"alpha": float(np.float32(0.7))}),
    (ThresholdedReLU(theta=0), {"theta": 0.0}),
    (Softmax(axis=[1, 2]), {"axis": [1, 2]}),
    (Softmax(axis=1, robust_masking=True), {"axis": 1, "robust_masking": True}),
    (PReLU(alpha_initializer=initializers.Constant(0.25), alpha_regularizer=regularizers.l2(0.01),
           alpha_constraint=constraints.NonNeg(), shared_axes=2),
     {"alpha_initializer": {"class_name": "Constant", "config": {"value": 0.25}},
      "alpha_regularizer": {"class_name": "L2", "config": {"l2": float(np.float32(0.01))}},
      "alpha_constraint": {"class_name": "NonNeg", "config": {}}, "shared_axes": [2]}),
    (PReLU(shared_axes=(1, 2)), {"shared_axes": [1, 2]}),
], ids=lambda v: type(v).__name__ if not isinstance(v, dict) else "")
def test_arguments_in_config(layer, expected):
    config = layer.get_config()
    for key, value in expected.items():
        assert config[key] == value, key
    assert type(layer).from_config(config).get_config() == config


def test_floatx_float64_keeps_arguments_exact():
    old = K.floatx()
    K.set_floatx("float64")
    try:
        assert LeakyReLU().get_config()["alpha"] == 0.3
        assert ReLU(negative_slope=0.1).get_config()["negative_slope"] == 0.1
    finally:
        K.set_floatx(old)


# ----------------------------------------------------------------------------- bad arguments

@pytest.mark.parametrize("make, error, message", [
    (lambda: ReLU(max_value=-10), ValueError, "max_value of a ReLU layer cannot be a negative value. Received: -10"),
    (lambda: ReLU(negative_slope=-10), ValueError,
     "negative_slope of a ReLU layer cannot be a negative value. Received: -10"),
    (lambda: ReLU(negative_slope=None), ValueError,
     "negative_slope of a ReLU layer cannot be a negative value. Received: None"),
    (lambda: ReLU(threshold=-10), ValueError, "threshold of a ReLU layer cannot be a negative value. Received: -10"),
    (lambda: ReLU(threshold=None), ValueError, "threshold of a ReLU layer cannot be a negative value. Received: None"),
    (lambda: ReLU(max_value="6"), TypeError, "`max_value` must be a number"),
    (lambda: ReLU(negative_slope=float("nan")), ValueError, "`negative_slope` must be a number"),
    (lambda: LeakyReLU(alpha=None), ValueError,
     "The alpha value of a Leaky ReLU layer cannot be None, Expecting a float. Received: None"),
    (lambda: LeakyReLU(alpha="0.3"), TypeError, "`alpha` must be a number"),
    (lambda: ELU(alpha=None), ValueError, "Alpha of an ELU layer cannot be None, expecting a float. Received: None"),
    (lambda: ELU(alpha=[1.0]), TypeError, "`alpha` must be a number"),
    (lambda: ThresholdedReLU(theta=None), ValueError,
     "Theta of a Thresholded ReLU layer cannot be None, expecting a float. Received: None"),
    (lambda: ThresholdedReLU(theta=-1), ValueError,
     "The theta value of a Thresholded ReLU layer should be >=0. Received: -1"),
    (lambda: ThresholdedReLU(theta=True), TypeError, "`theta` must be a number"),
    (lambda: PReLU(shared_axes="1"), TypeError, "`shared_axes` must be an int or a list of ints"),
    (lambda: PReLU(shared_axes=[1, 2.5]), TypeError, "`shared_axes`"),
    (lambda: PReLU(alpha_initializer="no_such_init"), ValueError, "no_such_init"),
    (lambda: Softmax(axis="last"), TypeError, "`axis` must be an int or a non-empty list of ints"),
    (lambda: Softmax(axis=[]), TypeError, "`axis`"),
    (lambda: ReLU(alpha=0.1), TypeError, "Keyword argument not understood: 'alpha'"),
])
def test_bad_arguments_raise_naming_them(make, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(".", r"\.").replace("[", r"\[")):
        make()


@pytest.mark.parametrize("shared_axes", [0, 3, -1, [1, 3]])
def test_prelu_shared_axes_out_of_range(shared_axes):
    with pytest.raises(ValueError, match=r"`shared_axes` must name axes 1 to 2"):
        PReLU(shared_axes=shared_axes)(Input(SHAPE))


def test_softmax_axis_out_of_range():
    for axis in (3, -4, [1, 3]):
        with pytest.raises(ValueError, match="`axis`"):
            Softmax(axis=axis)(Input(SHAPE))


def test_softmax_takes_a_keras_tensor_mask_that_the_model_feeds():
    # The mask is an input of the call: the model computes it, and a call of the model on new
    # tensors passes their values.
    x, keep = Input(SHAPE), Input(SHAPE)
    model = Model([x, keep], Softmax()(x, mask=keep))
    values = np.random.RandomState(3).rand(1, *SHAPE)
    np.testing.assert_allclose(model.predict([values, MASK]), _softmax(_masked(values, MASK), -1), rtol=1e-5)
    x2, keep2 = Input(SHAPE), Input(SHAPE)
    reused = Model([x2, keep2], model([x2, keep2]))
    np.testing.assert_allclose(reused.predict([values, 1 - MASK]), _softmax(_masked(values, 1 - MASK), -1),
                               rtol=1e-5)


# ----------------------------------------------------------------------------- PReLU's weight

def test_prelu_weight_shape_name_and_input_spec():
    x = Input(SHAPE)
    layer = PReLU()
    y = layer(x)
    assert y.keras_shape == (None,) + SHAPE
    assert [w.op.storage.name for w in layer.weights] == ["p_re_lu/alpha"]
    assert layer.trainable_weights == layer.weights and layer.non_trainable_weights == []
    np.testing.assert_array_equal(layer.get_weights()[0], np.zeros(SHAPE, np.float32))
    assert layer.count_params() == 12
    with pytest.raises(ValueError, match="expected axis 2 of input shape to have value 4"):
        layer(Input((3, 5)))
    with pytest.raises(ValueError, match="expected ndim=3, found ndim=2"):
        layer(Input((12,)))
    shared = PReLU(shared_axes=[1], alpha_initializer="ones")
    shared(x)
    assert shared.get_weights()[0].shape == (1, 4) and shared.count_params() == 4
    shared(Input((7, 4)))                                   # a shared axis may change length
    with pytest.raises(ValueError, match="expected axis 2 of input shape to have value 4"):
        shared(Input((3, 5)))
    both = PReLU(shared_axes=[1, 2])
    both(x)
    assert both.get_weights()[0].shape == (1, 1) and both.count_params() == 1


def test_prelu_frozen_keeps_alpha_out_of_training():
    x = Input(SHAPE)
    layer = PReLU(trainable=False, shared_axes=[1, 2])
    model = Model(x, layer(x))
    assert layer.trainable_weights == [] and len(layer.non_trainable_weights) == 1
    assert model.count_params() == 1 and model.trainable_weights == []
    assert PReLU.from_config(layer.get_config()).trainable is False


def test_prelu_regularizer_and_constraint_take_effect():
    x = Input((3,))
    layer = PReLU(alpha_initializer=initializers.Constant(-0.5), alpha_regularizer=regularizers.l2(0.01),
                  alpha_constraint=constraints.NonNeg())
    model = Model(x, layer(x))
    (penalty,) = K.function([], model.losses, backend="numpy")([])
    np.testing.assert_allclose(penalty, 0.01 * 3 * 0.25, rtol=1e-6)
    model.compile(optimizers.SGD(learning_rate=0.1), "mse")
    model.fit(-np.ones((4, 3), np.float32), np.zeros((4, 3), np.float32), epochs=1, verbose=0)
    np.testing.assert_array_equal(layer.get_weights()[0], 0.0)      # NonNeg after the step


# ----------------------------------------------------------------------------- in models

def _all_layers_model():
    x = Input((6,), name="x")
    h = x
    for i, layer in enumerate([PReLU(alpha_initializer=initializers.Constant(0.1)), LeakyReLU(alpha=0.2),
                               ELU(alpha=0.8), ReLU(max_value=6.0, negative_slope=0.05, threshold=0.1),
                               ThresholdedReLU(theta=0.05)]):
        h = Dense(12, kernel_initializer=initializers.GlorotUniform(seed=i), bias_initializer="ones")(h)
        h = layer(h)
    logits = Dense(3, kernel_initializer=initializers.GlorotUniform(seed=9))(h)
    return Model(x, Softmax()(logits))


def test_summary_and_count_params_match_keras():
    model = Sequential([PReLU(input_shape=SHAPE), PReLU(shared_axes=[1, 2]), ReLU(), LeakyReLU(), ELU(),
                        ThresholdedReLU(), Softmax(axis=1)])
    assert [layer.count_params() for layer in model.layers] == [12, 1, 0, 0, 0, 0, 0]
    assert model.count_params() == 13
    lines = []
    model.summary(print_fn=lines.append)
    text = "\n".join(lines)
    assert "p_re_lu (PReLU)              (None, 3, 4)              12" in text
    assert "p_re_lu_1 (PReLU)            (None, 3, 4)              1" in text
    assert "thresholded_re_lu (Threshold (None, 3, 4)              0" in text
    assert "Total params: 13" in text and "Trainable params: 13" in text


def test_model_json_round_trip_predicts_the_same():
    model = _all_layers_model()
    clone = model_from_json(model.to_json())
    assert [type(layer).__name__ for layer in clone.layers] == [type(layer).__name__ for layer in model.layers]
    assert clone.get_config() == model.get_config()
    clone.set_weights(model.get_weights())
    data = np.random.RandomState(0).uniform(-2, 2, (5, 6)).astype(np.float32)
    np.testing.assert_array_equal(clone.predict(data, verbose=0), model.predict(data, verbose=0))


def test_activation_layer_as_dense_activation():
    """tf-keras accepts a layer as `activation`; its config names the layer and comes back as one."""
    x = Input((4,))
    dense = Dense(3, activation=LeakyReLU(alpha=0.5), kernel_initializer="ones", bias_initializer="zeros")
    model = Model(x, dense(x))
    data = np.array([[1.0, -2.0, -1.0, 0.5], [1.0, 1.0, 1.0, 1.0]], np.float32)
    np.testing.assert_allclose(model.predict(data, verbose=0), [[-0.75] * 3, [4.0] * 3])
    config = dense.get_config()
    assert config["activation"]["class_name"] == "LeakyReLU"
    assert config["activation"]["config"]["alpha"] == 0.5
    clone = Dense.from_config(json.loads(json.dumps(config)))
    assert isinstance(clone.activation, LeakyReLU) and clone.activation.alpha == 0.5
    assert isinstance(activations.get({"class_name": "PReLU", "config": {"shared_axes": [1]}}), PReLU)
    assert isinstance(activations.get("ReLU"), ReLU)
    assert activations.get("relu") is activations.relu            # functions win over layers


def test_model_of_every_activation_layer_trains(backend):
    rng = np.random.RandomState(0)
    data = rng.uniform(-2, 2, (96, 6)).astype(np.float32)
    labels = np.eye(3, dtype=np.float32)[(data[:, 0] + data[:, 1] > 0).astype(int) + (data[:, 2] > 1)]
    model = _all_layers_model()
    model.compile(optimizers.Adam(learning_rate=0.01), "categorical_crossentropy", backend=backend)
    losses = model.fit(data, labels, batch_size=32, epochs=25, shuffle=False, verbose=0).history["loss"]
    assert losses[-1] < 0.5 * losses[0], losses
    alpha = model.layers[2].get_weights()[0]
    assert not np.allclose(alpha, 0.1)                              # PReLU's alpha learned too

"""Optimizers: every update rule against an independent NumPy reference written from the
tf-keras formulas, plus hyper-parameter variables, clipping, weights, config and lookup."""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import optimizers

STEPS = 5


# ----------------------------------------------------------------------------- NumPy reference

def _clip(grads, cfg):
    """tf-keras: the first of clipnorm / global_clipnorm / clipvalue that is set is applied."""
    if cfg.get("clipnorm"):
        c = cfg["clipnorm"]
        return [g * c / max(np.sqrt(np.sum(g * g)), c) for g in grads]
    if cfg.get("global_clipnorm"):
        c = cfg["global_clipnorm"]
        norm = np.sqrt(sum(np.sum(g * g) for g in grads))
        return [g * c / max(norm, c) for g in grads]
    if cfg.get("clipvalue"):
        return [np.clip(g, -cfg["clipvalue"], cfg["clipvalue"]) for g in grads]
    return grads


class Reference:
    """One optimizer in NumPy (float64): ``step(params, grads)`` returns the new parameters."""

    DEFAULTS = {
        "SGD": dict(learning_rate=0.01, momentum=0.0, nesterov=False),
        "RMSprop": dict(learning_rate=0.001, rho=0.9, momentum=0.0, epsilon=1e-7, centered=False),
        "Adagrad": dict(learning_rate=0.001, initial_accumulator_value=0.1, epsilon=1e-7),
        "Adadelta": dict(learning_rate=0.001, rho=0.95, epsilon=1e-7),
        "Adam": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7, amsgrad=False),
        "Adamax": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
        "Nadam": dict(learning_rate=0.001, beta_1=0.9, beta_2=0.999, epsilon=1e-7),
    }

    def __init__(self, kind, **cfg):
        cfg = dict(cfg)
        if "lr" in cfg:
            cfg["learning_rate"] = cfg.pop("lr")
        self.kind, self.cfg = kind, {**self.DEFAULTS[kind], "decay": 0.0, **cfg}
        self.iterations, self.state, self.u_product = 0, None, 1.0

    def step(self, params, grads):
        c = self.cfg
        grads = _clip([np.asarray(g, np.float64) for g in grads], c)
        if self.state is None:
            init = c.get("initial_accumulator_value", 0.0) if self.kind == "Adagrad" else 0.0
            self.state = [{k: np.full(p.shape, init) for k in ("a", "b", "c")} for p in params]
        lr = c["learning_rate"] / (1 + c["decay"] * self.iterations)
        t = self.iterations + 1
        if self.kind == "Nadam":
            mu_t = c["beta_1"] * (1 - 0.5 * 0.96 ** t)
            mu_next = c["beta_1"] * (1 - 0.5 * 0.96 ** (t + 1))
            self.u_product *= mu_t
        out = []
        for p, g, s in zip(params, grads, self.state):
            p = np.asarray(p, np.float64)
            if self.kind == "SGD":
                s["a"] = c["momentum"] * s["a"] - lr * g
                p = p + (c["momentum"] * s["a"] - lr * g if c["nesterov"] else s["a"])
            elif self.kind == "RMSprop":
                s["a"] = c["rho"] * s["a"] + (1 - c["rho"]) * g ** 2
                if c["centered"]:
                    s["c"] = c["rho"] * s["c"] + (1 - c["rho"]) * g
                    denominator = s["a"] - s["c"] ** 2 + c["epsilon"]
                else:
                    denominator = s["a"] + c["epsilon"]
                increment = lr * g / np.sqrt(denominator)
                if c["momentum"] > 0:
                    s["b"] = c["momentum"] * s["b"] + increment
                    p = p - s["b"]
                else:
                    p = p - increment
            elif self.kind == "Adagrad":
                s["a"] = s["a"] + g ** 2
                p = p - lr * g / np.sqrt(s["a"] + c["epsilon"])
            elif self.kind == "Adadelta":
                s["a"] = c["rho"] * s["a"] + (1 - c["rho"]) * g ** 2
                delta = -np.sqrt(s["b"] + c["epsilon"]) / np.sqrt(s["a"] + c["epsilon"]) * g
                s["b"] = c["rho"] * s["b"] + (1 - c["rho"]) * delta ** 2
                p = p + lr * delta
            elif self.kind == "Adam":
                s["a"] = c["beta_1"] * s["a"] + (1 - c["beta_1"]) * g
                s["b"] = c["beta_2"] * s["b"] + (1 - c["beta_2"]) * g ** 2
                v = s["b"]
                if c["amsgrad"]:
                    s["c"] = np.maximum(s["c"], s["b"])
                    v = s["c"]
                alpha = lr * np.sqrt(1 - c["beta_2"] ** t) / (1 - c["beta_1"] ** t)
                p = p - alpha * s["a"] / (np.sqrt(v) + c["epsilon"])
            elif self.kind == "Adamax":
                s["a"] = c["beta_1"] * s["a"] + (1 - c["beta_1"]) * g
                s["b"] = np.maximum(c["beta_2"] * s["b"], np.abs(g))
                p = p - lr / (1 - c["beta_1"] ** t) * s["a"] / (s["b"] + c["epsilon"])
            elif self.kind == "Nadam":
                s["a"] = c["beta_1"] * s["a"] + (1 - c["beta_1"]) * g
                s["b"] = c["beta_2"] * s["b"] + (1 - c["beta_2"]) * g ** 2
                m_hat = (mu_next * s["a"] / (1 - self.u_product * mu_next)
                         + (1 - mu_t) * g / (1 - self.u_product))
                v_hat = s["b"] / (1 - c["beta_2"] ** t)
                p = p - lr * m_hat / (np.sqrt(v_hat) + c["epsilon"])
            out.append(p)
        self.iterations += 1
        return out


# ----------------------------------------------------------------------------- the problem

def _batches(seed=0):
    rng = np.random.RandomState(seed)
    return [(rng.randn(4, 3), rng.randn(4, 2)) for _ in range(STEPS)]


def _initial(seed=1):
    rng = np.random.RandomState(seed)
    return [rng.randn(3, 2), 0.5 * rng.randn(2)]


def _grads(params, x, y):
    """d/dw, d/db of mean((x @ w + b - y)**2)."""
    w, b = params
    r = x @ w + b - y
    scale = 2.0 / r.size
    return [scale * x.T @ r, scale * r.sum(axis=0)]


def _problem(dtype):
    x = K.placeholder((None, 3), dtype=dtype, name="x")
    y = K.placeholder((None, 2), dtype=dtype, name="y")
    w0, b0 = _initial()
    w = K.variable(w0, dtype=dtype, name="dense_kernel")
    b = K.variable(b0, dtype=dtype, name="dense_bias")
    loss = K.mean(K.square(K.dot(x, w) + b - y))
    return x, y, [w, b], loss


@pytest.fixture
def floatx64():
    K.set_floatx("float64")
    try:
        yield
    finally:
        K.set_floatx("float32")


def _train_and_compare(opt, ref, backend, dtype, rtol, atol):
    x, y, params, loss = _problem(dtype)
    f = K.function([x, y], [loss], updates=opt.get_updates(loss, params), backend=backend)
    expected = _initial()
    for step, (xb, yb) in enumerate(_batches()):
        f([xb.astype(dtype), yb.astype(dtype)])
        expected = ref.step(expected, _grads(expected, xb, yb))
        for p, e in zip(params, expected):
            got = K.get_value(p)
            assert got.dtype == np.dtype(dtype)
            np.testing.assert_allclose(got, e, rtol=rtol, atol=atol,
                                       err_msg=f"{p.name} after step {step + 1}")
    assert int(K.get_value(opt.iterations)) == STEPS


CASES = {
    "sgd": ("SGD", dict(learning_rate=0.1)),
    "sgd_momentum": ("SGD", dict(learning_rate=0.1, momentum=0.9)),
    "sgd_nesterov": ("SGD", dict(learning_rate=0.1, momentum=0.9, nesterov=True)),
    "sgd_decay": ("SGD", dict(learning_rate=0.2, momentum=0.5, decay=0.5)),
    "sgd_lr_alias": ("SGD", dict(lr=0.3)),
    "rmsprop": ("RMSprop", dict(learning_rate=0.05)),
    "rmsprop_momentum": ("RMSprop", dict(learning_rate=0.05, momentum=0.8, epsilon=0.01)),
    "rmsprop_centered": ("RMSprop", dict(learning_rate=0.05, centered=True)),
    "rmsprop_centered_momentum": ("RMSprop", dict(learning_rate=0.05, rho=0.8, momentum=0.5, centered=True)),
    "adagrad": ("Adagrad", dict(learning_rate=0.2)),
    "adagrad_init_acc": ("Adagrad", dict(learning_rate=0.2, initial_accumulator_value=0.0, epsilon=1e-3)),
    "adadelta": ("Adadelta", dict(learning_rate=1.0)),
    "adam": ("Adam", dict(learning_rate=0.05)),
    "adam_amsgrad": ("Adam", dict(learning_rate=0.05, beta_2=0.9, amsgrad=True)),
    "adam_decay_epsilon": ("Adam", dict(learning_rate=0.05, decay=0.3, epsilon=0.1)),
    "adamax": ("Adamax", dict(learning_rate=0.05)),
    "adamax_epsilon": ("Adamax", dict(learning_rate=0.05, beta_1=0.8, epsilon=0.1)),
    "nadam": ("Nadam", dict(learning_rate=0.05)),
    "nadam_epsilon": ("Nadam", dict(learning_rate=0.05, beta_1=0.8, beta_2=0.9, epsilon=0.1)),
    "clipnorm": ("SGD", dict(learning_rate=0.1, clipnorm=4.0)),
    "global_clipnorm": ("SGD", dict(learning_rate=0.5, momentum=0.5, global_clipnorm=0.4)),
    "clipvalue": ("SGD", dict(learning_rate=0.5, clipvalue=0.1)),
    "adam_global_clipnorm": ("Adam", dict(learning_rate=0.05, global_clipnorm=0.1)),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_updates_match_reference_float64(case, backend, floatx64):
    kind, kwargs = CASES[case]
    opt = getattr(optimizers, kind)(**kwargs)
    _train_and_compare(opt, Reference(kind, **kwargs), backend, "float64", rtol=1e-5, atol=1e-9)


@pytest.mark.parametrize("case", ["sgd_nesterov", "rmsprop_centered_momentum", "adagrad", "adadelta",
                                  "adam_amsgrad", "adamax", "nadam", "clipnorm"])
def test_updates_match_reference_float32(case, backend):
    kind, kwargs = CASES[case]
    opt = getattr(optimizers, kind)(**kwargs)
    _train_and_compare(opt, Reference(kind, **kwargs), backend, "float32", rtol=1e-4, atol=1e-6)


def test_clipping_is_active_in_the_clip_cases():
    """The reference problem's gradients are large enough for every clip case to bite."""
    grads = _grads(_initial(), *_batches()[0])
    norms = [np.sqrt(np.sum(g * g)) for g in grads]
    assert max(norms) > 4.0 > min(norms)                # clipnorm=4.0 clips one tensor, not the other
    assert np.sqrt(sum(n * n for n in norms)) > 0.4       # global_clipnorm=0.4
    assert max(np.abs(g).max() for g in grads) > 0.1      # clipvalue=0.1


def test_constraint_is_applied_to_the_new_value(floatx64):
    x, y, (w, b), loss = _problem("float64")
    opt = optimizers.SGD(0.1)
    updates = opt.get_updates(loss, [w, b], constraints={id(w): lambda v: K.minimum(v, 0.2)})
    f = K.function([x, y], [loss], updates=updates, backend="numpy")
    xb, yb = _batches()[0]
    w0, b0 = _initial()
    f([xb, yb])
    gw, gb = _grads([w0, b0], xb, yb)
    np.testing.assert_allclose(K.get_value(w), np.minimum(w0 - 0.1 * gw, 0.2), rtol=1e-12)
    np.testing.assert_allclose(K.get_value(b), b0 - 0.1 * gb, rtol=1e-12)


# ----------------------------------------------------------------------------- hyper-parameters

def test_set_value_of_learning_rate_changes_the_next_step(backend, floatx64):
    x, y, params, loss = _problem("float64")
    opt = optimizers.Adam(learning_rate=0.05)
    f = K.function([x, y], [loss], updates=opt.get_updates(loss, params), backend=backend)
    ref = Reference("Adam", learning_rate=0.05)
    expected = _initial()
    for step, (xb, yb) in enumerate(_batches()):
        if step == 2:
            K.set_value(opt.learning_rate, 0.2)
            ref.cfg["learning_rate"] = 0.2
        if step == 3:
            opt.lr = 0.01                           # the property setter writes the same variable
            ref.cfg["learning_rate"] = 0.01
        f([xb, yb])
        expected = ref.step(expected, _grads(expected, xb, yb))
        for p, e in zip(params, expected):
            np.testing.assert_allclose(K.get_value(p), e, rtol=1e-5, atol=1e-9)
    assert opt.lr is opt.learning_rate
    assert K.get_value(opt.lr) == pytest.approx(0.01)
    assert opt.get_config()["learning_rate"] == 0.01


def test_momentum_and_betas_are_variables_read_each_step(floatx64):
    x, y, params, loss = _problem("float64")
    opt = optimizers.SGD(0.1, momentum=0.9)
    f = K.function([x, y], [loss], updates=opt.get_updates(loss, params), backend="numpy")
    ref = Reference("SGD", learning_rate=0.1, momentum=0.9)
    expected = _initial()
    for step, (xb, yb) in enumerate(_batches()[:3]):
        if step == 1:
            K.set_value(opt.momentum, 0.3)
            ref.cfg["momentum"] = 0.3
        f([xb, yb])
        expected = ref.step(expected, _grads(expected, xb, yb))
    for p, e in zip(params, expected):
        np.testing.assert_allclose(K.get_value(p), e, rtol=1e-10)
    adam = optimizers.Adam()
    for key in ("learning_rate", "beta_1", "beta_2", "decay"):
        var = getattr(adam, key)
        assert K.is_tensor(var) and var.dtype == "float64" and K.int_shape(var) == ()
    assert adam.iterations.dtype == "int64" and K.int_shape(adam.iterations) == ()
    assert K.is_tensor(optimizers.RMSprop().rho) and K.is_tensor(optimizers.Adadelta().rho)


# ----------------------------------------------------------------------------- weights

def _built(opt, dtype="float64"):
    x, y, params, loss = _problem(dtype)
    updates = opt.get_updates(loss, params)
    return x, y, params, loss, updates


def test_weights_order_follows_tf_keras():
    expectations = {
        optimizers.SGD(): ["SGD/iterations", "dense_kernel/m", "dense_bias/m"],
        optimizers.RMSprop(momentum=0.5, centered=True): [
            "RMSprop/iterations", "dense_kernel/velocity", "dense_bias/velocity", "dense_kernel/momentum",
            "dense_bias/momentum", "dense_kernel/average_gradient", "dense_bias/average_gradient"],
        optimizers.RMSprop(): ["RMSprop/iterations", "dense_kernel/velocity", "dense_bias/velocity"],
        optimizers.Adagrad(): ["Adagrad/iterations", "dense_kernel/accumulator", "dense_bias/accumulator"],
        optimizers.Adadelta(): ["Adadelta/iterations", "dense_kernel/accumulated_grad",
                                "dense_kernel/accumulated_delta_var", "dense_bias/accumulated_grad",
                                "dense_bias/accumulated_delta_var"],
        optimizers.Adam(amsgrad=True): ["Adam/iterations", "dense_kernel/m", "dense_kernel/v", "dense_bias/m",
                                        "dense_bias/v", "dense_kernel/vhat", "dense_bias/vhat"],
        optimizers.Adam(): ["Adam/iterations", "dense_kernel/m", "dense_kernel/v", "dense_bias/m", "dense_bias/v"],
        optimizers.Adamax(): ["Adamax/iterations", "dense_kernel/m", "dense_kernel/u", "dense_bias/m",
                              "dense_bias/u"],
        optimizers.Nadam(): ["Nadam/iterations", "dense_kernel/m", "dense_kernel/v", "dense_bias/m", "dense_bias/v"],
    }
    for opt, names in expectations.items():
        assert [v.name for v in opt.weights] == ["{}/iterations".format(opt.name)]
        _built(opt)
        assert [v.name for v in opt.weights] == names, type(opt).__name__
        shapes = [np.shape(a) for a in opt.get_weights()]
        assert shapes[0] == () and all(s in ((3, 2), (2,)) for s in shapes[1:])
    acc = optimizers.Adagrad(initial_accumulator_value=0.25)
    _built(acc)
    assert np.all(acc.get_weights()[1] == 0.25)


def test_get_weights_set_weights_round_trip_and_errors():
    opt = optimizers.Adam(amsgrad=True)
    with pytest.raises(ValueError, match="get_updates"):
        opt.set_weights([np.array(0)])
    _built(opt)
    rng = np.random.RandomState(0)
    new = [np.array(7, dtype="int64")] + [rng.rand(*np.shape(w)) for w in opt.get_weights()[1:]]
    opt.set_weights(new)
    for got, want in zip(opt.get_weights(), new):
        np.testing.assert_array_equal(got, want)
    with pytest.raises(ValueError, match="shape"):
        opt.set_weights(new[:1] + [np.zeros((2, 3))] + new[2:])
    with pytest.raises(ValueError, match="7"):
        opt.set_weights(new[:-1])


@pytest.mark.parametrize("kind", ["Adam", "Nadam", "RMSprop"])
def test_restored_weights_continue_training_identically(kind, floatx64):
    """Copying weights into a fresh optimizer mid-training gives the same next steps
    (Nadam: its momentum-cache product is recomputed from the restored iterations)."""
    batches = _batches()
    x, y, params, loss = _problem("float64")
    first = getattr(optimizers, kind)(learning_rate=0.05)
    f = K.function([x, y], [loss], updates=first.get_updates(loss, params), backend="numpy")
    for xb, yb in batches[:3]:
        f([xb, yb])
    state, values = first.get_weights(), K.batch_get_value(params)
    for xb, yb in batches[3:]:
        f([xb, yb])
    expected = K.batch_get_value(params)

    x2, y2, params2, loss2 = _problem("float64")
    second = getattr(optimizers, kind)(learning_rate=0.05)
    g = K.function([x2, y2], [loss2], updates=second.get_updates(loss2, params2), backend="numpy")
    K.batch_set_value(zip(params2, values))
    second.set_weights(state)
    for xb, yb in batches[3:]:
        g([xb, yb])
    for got, want in zip(K.batch_get_value(params2), expected):
        np.testing.assert_allclose(got, want, rtol=1e-12)


def test_none_gradient_is_an_error():
    x, y, (w, b), loss = _problem("float32")
    unused = K.variable(np.zeros(3), name="unused_weight")
    with pytest.raises(ValueError, match="None.*unused_weight"):
        optimizers.Adam().get_updates(loss, [w, b, unused])
    with pytest.raises(ValueError, match="unused_weight"):
        optimizers.SGD().get_gradients(loss, [unused])


# ----------------------------------------------------------------------------- config and lookup

TF_KERAS_DEFAULT_CONFIGS = {
    "SGD": {"name": "SGD", "learning_rate": 0.01, "momentum": 0.0, "nesterov": False},
    "RMSprop": {"name": "RMSprop", "learning_rate": 0.001, "rho": 0.9, "momentum": 0.0, "epsilon": 1e-7,
                "centered": False},
    "Adagrad": {"name": "Adagrad", "learning_rate": 0.001, "initial_accumulator_value": 0.1, "epsilon": 1e-7},
    "Adadelta": {"name": "Adadelta", "learning_rate": 0.001, "rho": 0.95, "epsilon": 1e-7},
    "Adam": {"name": "Adam", "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7,
             "amsgrad": False},
    "Adamax": {"name": "Adamax", "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
    "Nadam": {"name": "Nadam", "learning_rate": 0.001, "beta_1": 0.9, "beta_2": 0.999, "epsilon": 1e-7},
}


@pytest.mark.parametrize("kind", sorted(TF_KERAS_DEFAULT_CONFIGS))
def test_defaults_and_config_round_trip(kind):
    cls = getattr(optimizers, kind)
    assert cls().get_config() == TF_KERAS_DEFAULT_CONFIGS[kind]
    custom = {key: (value if isinstance(value, bool) or key == "name" else value * 0.5)
              for key, value in TF_KERAS_DEFAULT_CONFIGS[kind].items()}
    custom.update(name=f"my_{kind}", clipvalue=0.5, decay=0.01)
    opt = cls(**custom)
    config = opt.get_config()
    assert config == custom
    clone = cls.from_config(config)
    assert type(clone) is cls and clone.get_config() == config
    assert optimizers.deserialize(optimizers.serialize(opt)).get_config() == config
    assert cls(global_clipnorm=1.0).get_config()["global_clipnorm"] == 1.0
    assert "clipnorm" in cls(clipnorm=1.0).get_config()


def test_from_config_accepts_tf_keras_configs():
    tf_keras_config = {"name": "Adam", "weight_decay": None, "clipnorm": None, "global_clipnorm": None,
                       "clipvalue": None, "use_ema": False, "ema_momentum": 0.99,
                       "ema_overwrite_frequency": None, "jit_compile": False, "is_legacy_optimizer": False,
                       "learning_rate": 0.002, "beta_1": 0.8, "beta_2": 0.99, "epsilon": 1e-7, "amsgrad": False}
    opt = optimizers.get({"class_name": "Adam", "config": tf_keras_config})
    assert opt.get_config() == {"name": "Adam", "learning_rate": 0.002, "beta_1": 0.8, "beta_2": 0.99,
                                "epsilon": 1e-7, "amsgrad": False}
    with pytest.raises(ValueError, match="weight_decay"):
        optimizers.Adam(weight_decay=0.1)


def test_get():
    adam = optimizers.get("Adam")
    assert isinstance(adam, optimizers.Adam) and adam.get_config() == TF_KERAS_DEFAULT_CONFIGS["Adam"]
    for name, cls in [("sgd", optimizers.SGD), ("RMSprop", optimizers.RMSprop), ("adagrad", optimizers.Adagrad),
                      ("ADADELTA", optimizers.Adadelta), ("adam", optimizers.Adam),
                      ("adamax", optimizers.Adamax), ("nadam", optimizers.Nadam)]:
        assert type(optimizers.get(name)) is cls
    assert optimizers.get(adam) is adam
    sgd = optimizers.get({"class_name": "SGD", "config": {"learning_rate": 0.5, "momentum": 0.9}})
    assert isinstance(sgd, optimizers.SGD) and K.get_value(sgd.momentum) == pytest.approx(0.9)
    with pytest.raises(ValueError, match="Unknown optimizer: foo"):
        optimizers.get("foo")
    with pytest.raises(ValueError, match="Could not interpret optimizer identifier"):
        optimizers.get(3)


def test_lr_alias_and_decay():
    opt = optimizers.SGD(lr=0.5, decay=1e-3)
    assert opt.lr is opt.learning_rate
    assert K.get_value(opt.learning_rate) == pytest.approx(0.5)
    assert opt.get_config()["learning_rate"] == 0.5 and opt.get_config()["decay"] == 1e-3


def test_argument_errors():
    with pytest.raises(TypeError, match="bogus_arg"):
        optimizers.Adam(bogus_arg=1)
    with pytest.raises(TypeError, match="schedule_decay"):
        optimizers.Nadam(schedule_decay=0.004)
    for make in [lambda: optimizers.SGD(learning_rate=-0.1),
                 lambda: optimizers.SGD(momentum=1.5),
                 lambda: optimizers.SGD(momentum=-0.1),
                 lambda: optimizers.RMSprop(rho=2.0),
                 lambda: optimizers.Adam(beta_1=1.1),
                 lambda: optimizers.Adam(epsilon=-1.0),
                 lambda: optimizers.Adagrad(initial_accumulator_value=-0.1),
                 lambda: optimizers.Adam(decay=-0.5),
                 lambda: optimizers.Adam(clipnorm=-1.0),
                 lambda: optimizers.Adam(clipnorm=1.0, global_clipnorm=1.0)]:
        with pytest.raises(ValueError):
            make()
    with pytest.raises(ValueError):
        optimizers.SGD().learning_rate = -1.0
    with pytest.raises(TypeError, match="schedule"):
        optimizers.SGD(learning_rate=lambda: 0.1)
    with pytest.warns(UserWarning, match="clipvalue"):
        optimizers.SGD(clipnorm=1.0, clipvalue=0.5)

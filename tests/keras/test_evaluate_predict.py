"""evaluate / predict / train_on_batch / test_on_batch / predict_on_batch, and the Keras
formulas by hand on both backends."""

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import optimizers, regularizers
from symkeras.layers import Dense, Input
from symkeras.models import Model

NP = "numpy"


@pytest.fixture
def float64():
    K.set_floatx("float64")
    yield
    K.set_floatx("float32")


def linear(units=1, seed=0, **compile_kwargs):
    x = Input((3,), name="x")
    model = Model(x, Dense(units, name="out")(x))
    rng = np.random.RandomState(seed)
    model.set_weights([rng.randn(3, units), rng.randn(units)])
    if compile_kwargs:
        compile_kwargs.setdefault("backend", NP)
        model.compile(**compile_kwargs)
    return model


def data(n=10, units=1, seed=1):
    rng = np.random.RandomState(seed)
    return rng.rand(n, 3).astype("float32"), rng.rand(n, units).astype("float32")


# ----------------------------------------------------------------------------- evaluate

def test_evaluate_is_the_batch_size_weighted_mean_over_batches():
    model = linear(optimizer="sgd", loss="mse", metrics=["mae"], weighted_metrics=["mae"])
    x, y = data(10)
    w = np.linspace(0.0, 2.0, 10)
    err = (model.predict(x) - y)[:, 0]
    batch_losses = [np.sum(w[s:s + 4] * err[s:s + 4] ** 2) / len(err[s:s + 4]) for s in (0, 4, 8)]
    expected = [np.dot(batch_losses, [4, 4, 2]) / 10, np.abs(err).mean(), (w * np.abs(err)).sum() / w.sum()]
    np.testing.assert_allclose(model.evaluate(x, y, sample_weight=w, batch_size=4, verbose=0), expected, rtol=1e-5)
    assert not np.isclose(np.mean(batch_losses), expected[0])


def test_evaluate_returns_scalar_list_or_dict():
    model = linear(optimizer="sgd", loss="mse")
    x, y = data()
    loss = model.evaluate(x, y, verbose=0)
    assert isinstance(loss, float)
    assert model.evaluate(x, y, verbose=0, return_dict=True) == {"loss": loss}
    model.compile("sgd", "mse", metrics=["mae"], backend=NP)
    result = model.evaluate(x, y, verbose=0)
    assert isinstance(result, list) and len(result) == 2 and result[0] == pytest.approx(loss)
    logs = model.evaluate(x, y, verbose=0, return_dict=True)
    assert list(logs) == ["loss", "mae"] and logs["mae"] == result[1]


def test_evaluate_steps_and_default_batch_size():
    model = linear(optimizer="sgd", loss="mse")
    x, y = data(70)
    calls = []
    fn = model.make_test_function()
    model.test_function = lambda inputs: calls.append(len(inputs[0])) or fn(inputs)
    model.evaluate(x, y, verbose=0)
    assert calls == [32, 32, 6]
    calls.clear()
    loss = model.evaluate(x, y, steps=2, verbose=0)            # tf-keras: batch_size = ceil(70 / 2)
    assert calls == [35, 35]
    np.testing.assert_allclose(loss, np.mean((model.predict(x) - y) ** 2), rtol=1e-5)
    calls.clear()
    model.evaluate(x, y, batch_size=10, steps=2, verbose=0)
    assert calls == [10, 10]


def test_evaluate_runs_in_inference_mode():
    from symkeras.layers import Dropout
    x = Input((3,), name="x")
    model = Model(x, Dense(1, name="out")(Dropout(0.9, seed=1)(x)))
    model.compile("sgd", "mse", backend=NP)
    xs, ys = data()
    expected = np.mean((model.predict(xs) - ys) ** 2)
    np.testing.assert_allclose(model.evaluate(xs, ys, verbose=0), expected, rtol=1e-5)
    np.testing.assert_allclose(model.test_on_batch(xs, ys), expected, rtol=1e-5)


# ----------------------------------------------------------------------------- predict

def test_predict_batches_and_concatenates():
    model = linear(units=2)
    x, _ = data(11)
    kernel, bias = model.get_weights()
    for batch_size in (None, 1, 4, 11, 50):
        np.testing.assert_allclose(model.predict(x, batch_size=batch_size), x @ kernel + bias, rtol=1e-5)
    assert model.predict(x[:0]).shape == (0, 2)
    sizes = []
    fn = model.make_predict_function()
    model.predict_function = lambda inputs: sizes.append(len(inputs[0])) or fn(inputs)
    assert model.predict(x, steps=2, batch_size=4).shape == (8, 2)
    assert model.predict(x, batch_size=5).shape == (11, 2)
    assert model.predict(x, steps=2).shape == (11, 2)                 # tf-keras: batch_size = ceil(11 / 2)
    assert sizes == [4, 4, 5, 5, 1, 6, 5]


def test_predict_multi_input_multi_output_by_list_and_dict():
    a, b = Input((2,), name="a"), Input((1,), name="b")
    from symkeras.layers import concatenate
    h = concatenate([a, b])
    model = Model([a, b], [Dense(1, name="p")(h), Dense(3, name="q")(h)])
    xa, xb = np.random.rand(5, 2), np.random.rand(5, 1)
    p, q = model.predict([xa, xb])
    assert p.shape == (5, 1) and q.shape == (5, 3)
    p2, q2 = model.predict({"a": xa, "b": xb}, batch_size=2)     # a last batch of one: BLAS's gemv, its own rounding
    np.testing.assert_allclose(p, p2, rtol=1e-6, atol=1e-7)
    np.testing.assert_allclose(q, q2, rtol=1e-6, atol=1e-7)
    p3, q3 = model.predict_on_batch([xa, xb])
    np.testing.assert_allclose(q, q3, rtol=1e-6, atol=1e-7)


def test_predict_on_batch_and_predict_agree():
    model = linear(units=2)
    x, _ = data(7)
    np.testing.assert_allclose(model.predict_on_batch(x), model.predict(x, batch_size=3), rtol=1e-6)


# ----------------------------------------------------------------------------- *_on_batch

def test_train_on_batch_reports_pre_update_values_and_updates_once():
    model = linear(optimizer=optimizers.SGD(learning_rate=0.1), loss="mse", metrics=["mae"])
    x, y = data(6)
    kernel, bias = model.get_weights()
    err = x @ kernel + bias - y
    loss, mae = model.train_on_batch(x, y)
    np.testing.assert_allclose([loss, mae], [np.mean(err ** 2), np.abs(err).mean()], rtol=1e-5)
    np.testing.assert_allclose(model.get_weights()[0], kernel - 0.1 * 2 * x.T @ err / 6, rtol=1e-5)
    assert model.train_on_batch(x, y, return_dict=True).keys() == {"loss", "mae"}


def test_train_on_batch_sample_and_class_weight():
    x = Input((1,), name="x")
    model = Model(x, Dense(1, use_bias=False, kernel_initializer="zeros", name="out")(x))
    model.compile(optimizers.SGD(learning_rate=0.0), "mae", backend=NP)
    xs, y = np.zeros((4, 1)), np.array([[0.0], [1.0], [1.0], [0.0]])
    assert model.train_on_batch(xs, y) == pytest.approx(0.5)
    assert model.train_on_batch(xs, y, sample_weight=np.array([1, 2, 3, 4])) == pytest.approx(5 / 4)
    assert model.train_on_batch(xs, y, class_weight={0: 1, 1: 4}) == pytest.approx(8 / 4)
    assert model.train_on_batch(xs, y, sample_weight=np.array([1, 2, 3, 4]), class_weight={0: 1, 1: 4}) \
        == pytest.approx(20 / 4)
    assert model.test_on_batch(xs, y, sample_weight=np.array([1, 2, 3, 4])) == pytest.approx(5 / 4)


def test_reset_metrics_false_accumulates_over_calls():
    x = Input((1,), name="x")
    model = Model(x, Dense(1, use_bias=False, kernel_initializer="zeros", name="out")(x))
    model.compile(optimizers.SGD(learning_rate=0.0), "mae", metrics=["mse"], backend=NP)
    first = (np.zeros((2, 1)), np.array([[1.0], [1.0]]))
    second = (np.zeros((1, 1)), np.array([[4.0]]))
    assert model.test_on_batch(*first, reset_metrics=False) == pytest.approx([1.0, 1.0])
    assert model.test_on_batch(*second, reset_metrics=False) == pytest.approx([2.0, 6.0])
    assert model.train_on_batch(*second) == pytest.approx([(2 + 4 + 4) / 4, (2 + 16 + 16) / 4])
    assert model.train_on_batch(*second) == pytest.approx([4.0, 16.0])       # reset after the last call
    model.test_on_batch(*first, reset_metrics=False)
    model.reset_metrics()
    assert model.test_on_batch(*second) == pytest.approx([4.0, 16.0])


@pytest.mark.parametrize("call", ["evaluate", "evaluate_generator", "fit", "fit_generator"])
def test_evaluate_and_fit_forget_the_values_accumulated_on_batches(call):
    """Arrays or batches from a generator alike: the loops start from fresh metric values."""
    x = Input((1,), name="x")
    model = Model(x, Dense(1, use_bias=False, kernel_initializer="zeros", name="out")(x))
    model.compile(optimizers.SGD(learning_rate=0.0), "mae", backend=NP)
    xs, ys = np.zeros((2, 1)), np.array([[1.0], [1.0]])
    model.test_on_batch(np.zeros((1, 1)), np.array([[4.0]]), reset_metrics=False)
    if call.endswith("_generator"):
        getattr(model, call)(iter([(xs, ys)]), 1, verbose=0)
    else:
        getattr(model, call)(xs, ys, verbose=0)
    assert model.test_on_batch(xs, ys, reset_metrics=False) == pytest.approx(1.0)


def test_test_on_batch_does_not_change_weights():
    model = linear(optimizer="adam", loss="mse")
    x, y = data()
    weights = model.get_weights()
    model.test_on_batch(x, y)
    model.evaluate(x, y, verbose=0)
    model.predict(x)
    for a, b in zip(weights, model.get_weights()):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------- formulas by hand

def test_keras_formulas_by_hand(backend, float64):
    """Two outputs: Σ w·l / N per output, loss_weights, L2 penalty, activity penalty / batch,
    accuracy, and a weighted metric Σ w·m / Σ w — the same on both backends."""
    rng = np.random.RandomState(0)
    x = Input((3,), name="x")
    h = Dense(2, name="h", kernel_regularizer=regularizers.l2(0.1),
              activity_regularizer=regularizers.l1(0.01))(x)
    a = Dense(1, activation="sigmoid", name="a")(h)
    b = Dense(2, name="b")(h)
    model = Model(x, [a, b])
    weights = [rng.randn(*w.shape) for w in model.get_weights()]
    model.set_weights(weights)
    model.compile("sgd", ["binary_crossentropy", "mse"], loss_weights=[0.5, 2.0], metrics={"a": ["accuracy"]},
                  weighted_metrics={"b": ["mae"]}, backend=backend)
    xs = rng.rand(5, 3)
    ya, yb = (rng.rand(5, 1) > 0.5) * 1.0, rng.randn(5, 2)
    w = np.array([1.0, 0.0, 2.0, 3.0, 0.5])
    logs = model.test_on_batch(xs, [ya, yb], sample_weight=[w, w], return_dict=True)

    k1, b1, k2, b2, k3, b3 = weights
    hidden = xs @ k1 + b1
    pa = np.clip(1 / (1 + np.exp(-(hidden @ k2 + b2))), 1e-7, 1 - 1e-7)
    pb = hidden @ k3 + b3
    la = (w * -(ya * np.log(pa) + (1 - ya) * np.log(1 - pa)).mean(-1)).sum() / 5
    lb = (w * ((pb - yb) ** 2).mean(-1)).sum() / 5
    expected = {
        "loss": 0.5 * la + 2.0 * lb + 0.1 * (k1 ** 2).sum() + 0.01 * np.abs(hidden).sum() / 5,
        "a_loss": la,
        "b_loss": lb,
        "a_accuracy": np.mean((pa > 0.5) == ya),
        "b_mae": (w * np.abs(pb - yb).mean(-1)).sum() / w.sum(),
    }
    assert list(logs) == list(expected)
    for key in expected:
        np.testing.assert_allclose(logs[key], expected[key], rtol=1e-5, err_msg=key)
    evaluated = model.evaluate(xs, {"a": ya, "b": yb}, sample_weight={"a": w, "b": w}, batch_size=5, verbose=0)
    np.testing.assert_allclose(evaluated, list(expected.values()), rtol=1e-5)


def test_temporal_weighted_formula_by_hand(backend, float64):
    rng = np.random.RandomState(2)
    x = Input((4, 3), name="x")
    model = Model(x, Dense(2, activation="softmax", name="out")(x))
    model.set_weights([rng.randn(3, 2), rng.randn(2)])
    model.compile("sgd", "categorical_crossentropy", sample_weight_mode="temporal", metrics=["accuracy"],
                  weighted_metrics=["accuracy"], backend=backend)
    xs = rng.rand(3, 4, 3)
    labels = rng.randint(0, 2, (3, 4))
    ys = np.eye(2)[labels]
    w = rng.rand(3, 4)
    loss, acc, wacc = model.test_on_batch(xs, ys, sample_weight=w)
    p = np.clip(model.predict(xs), 1e-7, 1 - 1e-7)
    ce = -(ys * np.log(p)).sum(-1)
    hits = p.argmax(-1) == labels
    np.testing.assert_allclose(loss, (w * ce).sum() / ce.size, rtol=1e-5)
    np.testing.assert_allclose(acc, hits.mean(), rtol=1e-5)
    np.testing.assert_allclose(wacc, (w * hits).sum() / w.sum(), rtol=1e-5)


# ----------------------------------------------------------------------------- verbose and callbacks

def test_verbose_and_callbacks_of_evaluate_and_predict(capsys):
    from symkeras import callbacks

    class Batches(callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.events = []

        def on_test_batch_end(self, batch, logs=None):
            self.events.append(("test", batch))

        def on_predict_batch_end(self, batch, logs=None):
            self.events.append(("predict", batch, logs["outputs"].shape))     # one output: its array

    model = linear(optimizer="sgd", loss="mse")
    x, y = data(5)
    record = Batches()
    model.evaluate(x, y, batch_size=2, verbose=0, callbacks=[record])
    model.predict(x, batch_size=4, verbose=0, callbacks=[record])
    assert record.events == [("test", 0), ("test", 1), ("test", 2), ("predict", 0, (4, 1)), ("predict", 1, (1, 1))]
    assert capsys.readouterr().out == ""
    model.evaluate(x, y, verbose=1)
    assert "1/1" in capsys.readouterr().out
    model.predict(x, verbose=1)
    assert "1/1" in capsys.readouterr().out


def test_single_batch_predict_short_path_agrees_with_the_loop():
    model = linear(units=2)
    x, _ = data(7)
    x32 = np.ascontiguousarray(x, dtype="float32")
    short = model.predict(x32)                                # one batch of plain float32: direct call
    looped = model.predict(x32.astype("float64"), batch_size=3)   # converted and batched
    np.testing.assert_allclose(short, looped, rtol=1e-6)
    np.testing.assert_allclose(model.predict_on_batch(x32), short, rtol=1e-6)

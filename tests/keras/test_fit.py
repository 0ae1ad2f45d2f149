"""Model.fit: every parameter with tf-keras semantics. The order of the samples a step sees is
read by wrapping the compiled train/test function; loss values are checked against NumPy."""

import warnings

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import callbacks, optimizers, regularizers
from symkeras.engine import data_handler
from symkeras.layers import Dense, Input
from symkeras.models import Model

NP = "numpy"


@pytest.fixture
def float64():
    K.set_floatx("float64")
    yield
    K.set_floatx("float32")


def probe(units=1, loss="mae", lr=0.0, **compile_kwargs):
    """x = (N, 1) → Dense without bias, kernel 0: with lr 0 each sample's mae loss is |y|."""
    x = Input((1,), name="x")
    model = Model(x, Dense(units, use_bias=False, kernel_initializer="zeros", name="out")(x))
    model.compile(optimizers.SGD(learning_rate=lr), loss, backend=NP, **compile_kwargs)
    return model


def spy(model, kind="train"):
    """Replace the compiled train/test function by a wrapper recording what each call is fed."""
    fn = model.make_train_function() if kind == "train" else model.make_test_function()
    calls = []

    def wrapper(inputs):
        calls.append([np.array(a) for a in inputs])
        return fn(inputs)

    setattr(model, f"{kind}_function", wrapper)
    return calls


def seen(calls):
    """Sample ids (the x values) of each batch."""
    return [c[0][:, 0].astype(int).tolist() for c in calls]


def ids(n):
    return np.arange(n, dtype="float32").reshape(-1, 1)


# ----------------------------------------------------------------------------- batches and shuffling

def test_batches_in_order_with_last_partial_batch():
    model = probe()
    calls = spy(model)
    model.fit(ids(10), ids(10), batch_size=4, shuffle=False, verbose=0)
    assert seen(calls) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


def test_default_batch_size_is_32():
    model = probe()
    calls = spy(model)
    model.fit(ids(70), ids(70), shuffle=False, verbose=0)
    assert [len(b) for b in seen(calls)] == [32, 32, 6]


def test_shuffle_true_permutes_every_epoch():
    model = probe()
    calls = spy(model)
    np.random.seed(3)
    model.fit(ids(12), ids(12), batch_size=4, epochs=2, shuffle=True, verbose=0)
    epochs = [sum(seen(calls)[:3], []), sum(seen(calls)[3:], [])]
    for order in epochs:
        assert sorted(order) == list(range(12))
    assert epochs[0] != list(range(12)) and epochs[1] != epochs[0]


def test_shuffle_batch_permutes_whole_batches_and_keeps_the_partial_one_last():
    model = probe()
    calls = spy(model)
    np.random.seed(0)
    model.fit(ids(10), ids(10), batch_size=3, epochs=3, shuffle="batch", verbose=0)
    batches = seen(calls)
    assert len(batches) == 12
    for epoch in range(3):
        group = batches[4 * epoch:4 * epoch + 4]
        assert group[-1] == [9]
        assert sorted(tuple(b) for b in group[:3]) == [(0, 1, 2), (3, 4, 5), (6, 7, 8)]
    assert len({tuple(tuple(b) for b in batches[4 * e:4 * e + 3]) for e in range(3)}) > 1


def test_batch_order_helper():
    np.random.seed(1)
    index = np.arange(10)
    order = data_handler.batch_order(index, 4, "batch")
    assert sorted(order[:8].reshape(2, 4).tolist()) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert order[8:].tolist() == [8, 9]
    assert data_handler.batch_order(index, 4, False).tolist() == list(range(10))
    perm = data_handler.batch_order(index, 4, True)
    assert sorted(perm.tolist()) == list(range(10)) and perm.tolist() != list(range(10))


def test_shuffle_rejects_other_values():
    with pytest.raises(ValueError, match="shuffle"):
        probe().fit(ids(4), ids(4), shuffle="epoch", verbose=0)


# ----------------------------------------------------------------------------- validation

def test_validation_split_takes_the_last_samples_before_shuffling():
    model = probe()
    train_calls, test_calls = spy(model), spy(model, "test")
    np.random.seed(0)
    history = model.fit(ids(10), ids(10), batch_size=3, validation_split=0.3, shuffle=True, epochs=2, verbose=0)
    train = sorted(sum(seen(train_calls), []))
    assert train == sorted(list(range(7)) * 2)
    assert sum(seen(test_calls), []) == [7, 8, 9] * 2
    np.testing.assert_allclose(history.history["val_loss"], [8.0, 8.0], rtol=1e-6)   # mean |y| of 7, 8, 9


def test_validation_split_too_small_to_split():
    with pytest.raises(ValueError, match="validation_split"):
        probe().fit(ids(1), ids(1), validation_split=0.5, verbose=0)


@pytest.mark.parametrize("three", [False, True])
def test_validation_data_tuple(three):
    model = probe()
    vx, vy, vw = ids(4), ids(4) + 1, np.array([0.0, 1.0, 0.0, 1.0])
    data = (vx, vy, vw) if three else (vx, vy)
    history = model.fit(ids(6), ids(6), validation_data=data, verbose=0)
    # SUM_OVER_BATCH_SIZE: Σ w·|y| / 4
    expected = (2 + 4) / 4 if three else np.mean(vy)
    np.testing.assert_allclose(history.history["val_loss"], [expected], rtol=1e-6)


def test_validation_data_overrides_validation_split_and_is_not_shuffled():
    model = probe()
    test_calls = spy(model, "test")
    model.fit(ids(6), ids(6), validation_data=(ids(5), ids(5)), validation_split=0.5, verbose=0)
    assert seen(test_calls) == [[0, 1, 2, 3, 4]]


def test_validation_batch_size_and_steps():
    model = probe()
    test_calls = spy(model, "test")
    history = model.fit(ids(6), ids(6), validation_data=(ids(7), ids(7)), validation_batch_size=2,
                        validation_steps=2, verbose=0)
    assert seen(test_calls) == [[0, 1], [2, 3]]
    np.testing.assert_allclose(history.history["val_loss"], [1.5], rtol=1e-6)


@pytest.mark.parametrize("freq, validated", [(1, [0, 1, 2, 3]), (2, [1, 3]), ([1, 4], [0, 3]), ((3,), [2])])
def test_validation_freq(freq, validated):
    class Epochs(callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.with_val = []

        def on_epoch_end(self, epoch, logs=None):
            if "val_loss" in logs:
                self.with_val.append(epoch)

    record = Epochs()
    history = probe().fit(ids(4), ids(4), epochs=4, validation_split=0.5, validation_freq=freq, verbose=0,
                          callbacks=[record])
    assert record.with_val == validated
    assert len(history.history["val_loss"]) == len(validated)
    assert len(history.history["loss"]) == 4


@pytest.mark.parametrize("freq", [0, -1, "often", 1.5])
def test_validation_freq_invalid(freq):
    with pytest.raises(ValueError, match="validation_freq"):
        probe().fit(ids(4), ids(4), validation_split=0.5, validation_freq=freq, verbose=0)


# ----------------------------------------------------------------------------- epochs and steps

def test_initial_epoch():
    class Count(callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.epochs = []

        def on_epoch_begin(self, epoch, logs=None):
            self.epochs.append(epoch)

    count = Count()
    model = probe()
    calls = spy(model)
    history = model.fit(ids(4), ids(4), batch_size=4, epochs=5, initial_epoch=2, verbose=0, callbacks=[count])
    assert history.epoch == [2, 3, 4] and count.epochs == [2, 3, 4]
    assert len(calls) == 3 and len(history.history["loss"]) == 3
    history = model.fit(ids(4), ids(4), epochs=2, initial_epoch=2, verbose=0)
    assert history.epoch == [] and history.history == {}


def test_nb_epoch_legacy_kwarg_warns_and_sets_epochs():
    with pytest.warns(UserWarning, match="nb_epoch"):
        history = probe().fit(ids(4), ids(4), nb_epoch=3, verbose=0)
    assert history.epoch == [0, 1, 2]


def test_unknown_fit_kwarg_is_a_type_error():
    model = probe()
    with pytest.raises(TypeError, match="epoch_count"):
        model.fit(ids(4), ids(4), epoch_count=3, verbose=0)


def test_steps_per_epoch_continues_through_the_data():
    model = probe()
    calls = spy(model)
    history = model.fit(ids(10), ids(10), batch_size=4, steps_per_epoch=2, epochs=3, shuffle=False, verbose=0)
    assert seen(calls) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9], [0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    assert len(history.history["loss"]) == 3


def test_steps_per_epoch_without_batch_size_divides_the_data():
    model = probe()
    calls = spy(model)
    model.fit(ids(10), ids(10), steps_per_epoch=3, shuffle=False, verbose=0)
    assert seen(calls) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


# ----------------------------------------------------------------------------- weights

def test_class_weight_multiplies_sample_weight():
    model = probe(units=3, loss="categorical_crossentropy")
    calls = spy(model)
    y = np.eye(3)[[0, 1, 2, 1]]
    model.fit(ids(4), y, class_weight={0: 1.0, 1: 5.0, 2: 0.5}, sample_weight=np.array([1.0, 2.0, 3.0, 4.0]),
              shuffle=False, verbose=0)
    np.testing.assert_allclose(calls[0][-1], [1.0, 10.0, 1.5, 20.0])


def test_class_weight_binary_labels_and_loss_value():
    model = probe(loss="mae")
    y = np.array([[0.0], [1.0], [1.0], [0.0]])
    history = model.fit(ids(4), y, class_weight={0: 1.0, 1: 3.0}, verbose=0)
    np.testing.assert_allclose(history.history["loss"], [(3 + 3) / 4], rtol=1e-6)


def test_class_weight_applies_to_training_data_only():
    model = probe()
    test_calls = spy(model, "test")
    y = np.array([[0.0], [1.0], [0.0], [1.0]])
    model.fit(ids(4), y, class_weight={0: 2.0, 1: 3.0}, validation_split=0.5, verbose=0)
    np.testing.assert_allclose(test_calls[0][-1], [1.0, 1.0])


def test_sample_weight_1d_and_temporal():
    model = probe()
    calls = spy(model)
    w = np.arange(1, 7, dtype="float32")
    history = model.fit(ids(6), ids(6), sample_weight=w, batch_size=4, shuffle=False, verbose=0)
    np.testing.assert_allclose(np.concatenate([c[-1] for c in calls]), w)
    np.testing.assert_allclose(history.history["loss"], [(w * np.arange(6)).sum() / 6], rtol=1e-6)

    x = Input((3, 1), name="x")
    model = Model(x, Dense(1, use_bias=False, kernel_initializer="zeros", name="out")(x))
    model.compile(optimizers.SGD(learning_rate=0.0), "mae", sample_weight_mode="temporal", backend=NP)
    y = np.arange(12, dtype="float32").reshape(4, 3, 1)
    w = np.array([[1, 0, 0], [0, 1, 0], [0, 0, 1], [1, 1, 1]], dtype="float32")
    history = model.fit(np.zeros((4, 3, 1)), y, sample_weight=w, batch_size=4, verbose=0)
    np.testing.assert_allclose(history.history["loss"], [(0 + 4 + 8 + 9 + 10 + 11) / 12], rtol=1e-6)


# ----------------------------------------------------------------------------- x and y forms

def two_in_two_out():
    a, b = Input((2,), name="a"), Input((1,), name="b")
    from symkeras.layers import concatenate
    h = concatenate([a, b])
    model = Model([a, b], [Dense(1, name="p")(h), Dense(1, name="q")(h)])
    model.compile("sgd", "mse", backend=NP)
    return model


def test_x_and_y_as_lists_and_dicts_by_name():
    model = two_in_two_out()
    rng = np.random.RandomState(0)
    a, b, p, q = rng.rand(5, 2), rng.rand(5, 1), rng.rand(5, 1), rng.rand(5, 1)
    weights = model.get_weights()
    by_list = model.evaluate([a, b], [p, q], verbose=0)
    by_dict = model.evaluate({"b": b, "a": a, "extra": a}, {"q": q, "p": p}, verbose=0)
    assert by_list == by_dict
    swapped = model.evaluate([a, b], [q, p], verbose=0)
    assert swapped != by_list
    model.fit({"a": a, "b": b}, {"p": p, "q": q}, verbose=0)
    assert not np.array_equal(weights[0], model.get_weights()[0])


def test_history_keys_as_tf_keras_names_them():
    K.clear_session()
    x = Input((3,))
    model = Model(x, [Dense(2, activation="softmax")(x), Dense(1)(x)])
    model.compile("sgd", ["categorical_crossentropy", "mse"], metrics={"dense": ["accuracy"]}, backend=NP)
    history = model.fit(np.random.rand(6, 3), [np.eye(2)[[0, 1, 0, 1, 0, 1]], np.random.rand(6, 1)],
                        validation_split=0.5, verbose=0)
    assert list(history.history) == ["loss", "dense_loss", "dense_1_loss", "dense_accuracy",
                                     "val_loss", "val_dense_loss", "val_dense_1_loss", "val_dense_accuracy"]
    assert model.history is history

    model = Model(x, Dense(1, activation="sigmoid")(x))
    model.compile("sgd", "binary_crossentropy", metrics=["accuracy"], backend=NP)
    history = model.fit(np.random.rand(4, 3), np.array([0, 1, 1, 0]), validation_split=0.5, verbose=0)
    assert list(history.history) == ["loss", "accuracy", "val_loss", "val_accuracy"]


# ----------------------------------------------------------------------------- epoch values by hand

def test_history_values_are_batch_size_weighted_means_of_sgd_steps(float64):
    """Dense(1) + mse + SGD, simulated in NumPy over the same batches (shuffle=False)."""
    rng = np.random.RandomState(0)
    x, y = rng.randn(10, 3), rng.randn(10, 1)
    vx, vy = rng.randn(4, 3), rng.randn(4, 1)
    inp = Input((3,), name="x")
    model = Model(inp, Dense(1, name="out")(inp))
    kernel, bias = rng.randn(3, 1), rng.randn(1)
    model.set_weights([kernel, bias])
    model.compile(optimizers.SGD(learning_rate=0.1), "mse", metrics=["mae"], backend=NP)
    history = model.fit(x, y, batch_size=4, epochs=2, shuffle=False, validation_data=(vx, vy), verbose=0)

    expected = {"loss": [], "mae": [], "val_loss": [], "val_mae": []}
    for _ in range(2):
        losses, maes, sizes = [], [], []
        for start in range(0, 10, 4):
            xb, yb = x[start:start + 4], y[start:start + 4]
            err = xb @ kernel + bias - yb
            losses.append(np.mean(err ** 2))
            maes.append(np.abs(err).sum())
            sizes.append(len(xb))
            kernel = kernel - 0.1 * 2 * xb.T @ err / len(xb)
            bias = bias - 0.1 * 2 * err.sum(0) / len(xb)
        expected["loss"].append(np.dot(losses, sizes) / 10)
        expected["mae"].append(sum(maes) / 10)
        verr = vx @ kernel + bias - vy
        expected["val_loss"].append(np.mean(verr ** 2))
        expected["val_mae"].append(np.mean(np.abs(verr)))
        assert not np.isclose(np.mean(losses), expected["loss"][-1])     # the weighting matters here
    for key, values in expected.items():
        np.testing.assert_allclose(history.history[key], values, rtol=1e-7, err_msg=key)
    np.testing.assert_allclose(model.get_weights()[0], kernel, rtol=1e-7)


def test_fit_reports_the_keras_formula_for_one_batch(backend, float64):
    """loss = Σ w·l / N · loss_weight + L2 penalty + activity penalty / batch, before the update."""
    rng = np.random.RandomState(1)
    inp = Input((3,), name="x")
    h = Dense(2, name="h", kernel_regularizer=regularizers.l2(0.05),
              activity_regularizer=regularizers.l1(0.1))(inp)
    model = Model(inp, Dense(1, activation="sigmoid", name="out")(h))
    weights = [rng.randn(*w.shape) for w in model.get_weights()]
    model.set_weights(weights)
    model.compile(optimizers.SGD(learning_rate=0.5), "binary_crossentropy", loss_weights=[3.0],
                  metrics=["accuracy"], weighted_metrics=["accuracy"], backend=backend)
    x, y = rng.rand(5, 3), np.array([[0.0], [1.0], [1.0], [0.0], [1.0]])
    w = np.array([1.0, 0.0, 2.0, 0.5, 1.5])
    history = model.fit(x, y, sample_weight=w, batch_size=5, verbose=0)

    k1, b1, k2, b2 = weights
    hidden = x @ k1 + b1
    p = np.clip(1 / (1 + np.exp(-(hidden @ k2 + b2))), 1e-7, 1 - 1e-7)
    bce = -(y * np.log(p) + (1 - y) * np.log(1 - p))[:, 0]
    loss = 3.0 * (w * bce).sum() / 5 + 0.05 * (k1 ** 2).sum() + 0.1 * np.abs(hidden).sum() / 5
    hits = ((p > 0.5) == y)[:, 0]
    np.testing.assert_allclose(history.history["loss"], [loss], rtol=1e-5)
    np.testing.assert_allclose(history.history["accuracy"], [hits.mean()], rtol=1e-5)
    np.testing.assert_allclose(history.history["weighted_accuracy"], [(w * hits).sum() / w.sum()], rtol=1e-5)
    assert not np.allclose(model.get_weights()[0], k1)


def test_fit_returns_history_with_params_and_calls_callbacks_in_order():
    events = []

    class Log(callbacks.Callback):
        def on_train_begin(self, logs=None):
            events.append("train_begin")

        def on_epoch_begin(self, epoch, logs=None):
            events.append(f"epoch_begin {epoch}")

        def on_train_batch_end(self, batch, logs=None):
            events.append(f"batch_end {batch}")

        def on_epoch_end(self, epoch, logs=None):
            events.append(f"epoch_end {epoch} {sorted(logs)}")

        def on_train_end(self, logs=None):
            events.append("train_end")

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        history = probe().fit(ids(6), ids(6), batch_size=4, epochs=1, verbose=0, callbacks=[Log()],
                              validation_split=0.5)
    assert isinstance(history, callbacks.History)
    assert history.params["epochs"] == 1 and history.params["steps"] == 1
    assert events == ["train_begin", "epoch_begin 0", "batch_end 0", "epoch_end 0 ['loss', 'val_loss']",
                      "train_end"]


def test_stop_training_ends_fit_after_the_current_batch():
    class Stop(callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            if batch == 1:
                self.model.stop_training = True

    model = probe()
    calls = spy(model)
    history = model.fit(ids(10), ids(10), batch_size=2, epochs=3, verbose=0, callbacks=[Stop()], shuffle=False)
    assert len(calls) == 2 and history.epoch == [0]
    np.testing.assert_allclose(history.history["loss"], [1.5], rtol=1e-6)       # mean |y| of 0..3


@pytest.mark.parametrize("verbose, expected", [(0, None), (1, "[="), (2, "loss:"), ("auto", "[=")])
def test_verbose(verbose, expected, capsys):
    probe().fit(ids(4), ids(4), epochs=2, verbose=verbose)
    out = capsys.readouterr().out
    if expected is None:
        assert out == ""
    else:
        assert "Epoch 2/2" in out and expected in out


def test_on_batch_fast_path_agrees_with_the_general_path():
    """Plain float32 arrays take a shortcut past validation; the numbers must not change."""
    import symkeras.backend as K
    from symkeras.layers import Dense, Input
    from symkeras.models import Model
    from symkeras.optimizers import SGD
    rng = np.random.RandomState(5)
    x, y = rng.rand(6, 3).astype("float32"), rng.rand(6, 2).astype("float32")
    results = []
    for feed_x, feed_y in ((x, y), (x.astype("float64"), y.astype("float64"))):    # fast path, general path
        K.clear_session()
        inp = Input(shape=(3,))
        model = Model(inp, Dense(2, kernel_initializer="ones")(inp))
        model.compile(SGD(0.1), "mse", metrics=["mae"], backend="numpy")
        results.append((model.train_on_batch(feed_x, feed_y), model.test_on_batch(feed_x, feed_y),
                        model.get_weights()))
    (tr1, te1, w1), (tr2, te2, w2) = results
    np.testing.assert_allclose(tr1, tr2, rtol=1e-6)
    np.testing.assert_allclose(te1, te2, rtol=1e-6)
    for a, b in zip(w1, w2):
        np.testing.assert_allclose(a, b, rtol=1e-6)

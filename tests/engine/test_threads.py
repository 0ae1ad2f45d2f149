"""Generated functions called from several threads: every result equals the single-threaded
one; calls that update variables are serialised."""

import itertools
import sys
import threading

import numpy as np
import pytest

import symkeras.backend as K
from symkeras.layers import Dense, Input
from symkeras.models import Model

BATCHES = (1, 3, 16, 33, 64)


@pytest.fixture(autouse=True)
def _frequent_thread_switches():
    """Python code of the NumPy backend interleaves only at switch points: make them frequent."""
    interval = sys.getswitchinterval()
    sys.setswitchinterval(1e-5)
    yield
    sys.setswitchinterval(interval)


def _run_threads(n, target):
    """Run ``target(i)`` in ``n`` threads started together; re-raise the first failure."""
    barrier, errors = threading.Barrier(n), []

    def body(i):
        try:
            barrier.wait()
            target(i)
        except BaseException as exc:  # reported in the main thread
            errors.append(exc)
    threads = [threading.Thread(target=body, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _forward(backend, name):
    rng = np.random.RandomState(0)
    x = K.placeholder((None, 8), name="x")
    w1 = K.variable(rng.randn(8, 48) * 0.3, name="w1")
    w2 = K.variable(rng.randn(48, 4) * 0.3, name="w2")
    h = K.tanh(K.dot(x, w1))
    return K.function([x], [K.dot(h, w2), K.sum(h, axis=1)], backend=backend, name=name)


def test_concurrent_calls_equal_single_threaded_calls(backend):
    f = _forward(backend, "threads_forward")
    rng = np.random.RandomState(1)
    feeds = [rng.randn(b, 8).astype("float32") for b in BATCHES for _ in range(3)]
    expected = [f([x]) for x in feeds]

    def calls(i):
        order = np.random.RandomState(10 + i).randint(0, len(feeds), 500)
        for k in order:
            got = f([feeds[k]])
            for g, e in zip(got, expected[k]):
                np.testing.assert_allclose(g, e, rtol=1e-6, atol=1e-6)
    _run_threads(4, calls)


def _model(backend):
    x = Input((6,), name="x")
    h = Dense(32, activation="relu", name="hidden")(x)
    model = Model(x, Dense(2, name="out")(h))
    rng = np.random.RandomState(2)
    model.set_weights([rng.randn(*w.shape).astype("float32") * 0.5 for w in model.get_weights()])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"], backend=backend)
    return model


def test_model_methods_from_threads(backend):
    model = _model(backend)
    weights = model.get_weights()
    rng = np.random.RandomState(3)
    data = [(rng.randn(n, 6).astype("float32"), rng.randn(n, 2).astype("float32")) for n in (5, 32, 70)]
    methods = {
        "predict": lambda x, y: model.predict(x),
        "predict_small_batches": lambda x, y: model.predict(x, batch_size=4),
        "predict_on_batch": lambda x, y: model.predict_on_batch(x),
        "evaluate": lambda x, y: np.array(model.evaluate(x, y, batch_size=16, verbose=0)),
        "test_on_batch": lambda x, y: np.array(model.test_on_batch(x, y)),
    }
    jobs = [(name, i) for name in methods for i in range(len(data))]
    expected = {(name, i): methods[name](*data[i]) for name, i in jobs}

    def calls(t):
        for k in np.random.RandomState(20 + t).randint(0, len(jobs), 60):
            name, i = jobs[k]
            np.testing.assert_allclose(methods[name](*data[i]), expected[name, i], rtol=1e-6, atol=1e-6,
                                       err_msg=name)
    _run_threads(4, calls)
    for w, w0 in zip(model.get_weights(), weights):
        np.testing.assert_array_equal(w, w0)


def _train_step(backend):
    rng = np.random.RandomState(4)
    x = K.placeholder((None, 5), name="x")
    y = K.placeholder((None, 1), name="y")
    w = K.variable(rng.randn(5, 64) * 0.3, name="tw")
    v = K.variable(rng.randn(64, 1) * 0.3, name="tv")
    loss = K.mean(K.square(K.dot(K.tanh(K.dot(x, w)), v) - y))
    updates = [K.update_sub(p, 0.05 * g) for p, g in zip([w, v], K.gradients(loss, [w, v]))]
    return K.function([x, y], [loss], updates=updates, backend=backend, name="threads_train"), [w, v]


def test_training_calls_from_two_threads_are_serialised(backend):
    step, params = _train_step(backend)
    start = [K.get_value(p) for p in params]
    rng = np.random.RandomState(5)
    x, y = rng.randn(256, 5).astype("float32"), rng.randn(256, 1).astype("float32")
    for _ in range(100):
        step([x, y])
    serial = [K.get_value(p) for p in params]        # 2 threads x 50 identical steps, in any order

    for p, value in zip(params, start):
        K.set_value(p, value)
    _run_threads(2, lambda i: [step([x, y]) for _ in range(50)])
    for p, expected in zip(params, serial):
        np.testing.assert_allclose(K.get_value(p), expected, rtol=1e-5, atol=1e-6)


def test_two_threads_training_on_different_data_end_in_a_serial_order(backend):
    step, params = _train_step(backend)
    start = [K.get_value(p) for p in params]
    rng = np.random.RandomState(6)
    feeds = {t: [(rng.randn(128, 5).astype("float32"), rng.randn(128, 1).astype("float32")) for _ in range(2)]
             for t in "ab"}

    def restart():
        for p, value in zip(params, start):
            K.set_value(p, value)

    outcomes = []
    for order in set(itertools.permutations("aabb")):
        restart()
        taken = {"a": iter(feeds["a"]), "b": iter(feeds["b"])}
        for t in order:
            step(list(next(taken[t])))
        outcomes.append([K.get_value(p) for p in params])

    def matches_a_serial_order(state):
        return any(all(np.allclose(s, o, rtol=1e-5, atol=1e-6) for s, o in zip(state, outcome))
                   for outcome in outcomes)
    for _ in range(20):
        restart()
        _run_threads(2, lambda i: [step(list(feed)) for feed in feeds["ab"[i]]])
        assert matches_a_serial_order([K.get_value(p) for p in params])


def test_model_train_on_batch_from_two_threads_equals_serial_training(backend):
    model = _model(backend)
    start = model.get_weights()
    rng = np.random.RandomState(7)
    x, y = rng.randn(512, 6).astype("float32"), rng.randn(512, 2).astype("float32")
    for _ in range(60):
        model.train_on_batch(x, y)
    serial = model.get_weights()
    model.set_weights(start)
    _run_threads(2, lambda i: [model.train_on_batch(x, y) for _ in range(30)])
    for w, expected in zip(model.get_weights(), serial):
        np.testing.assert_allclose(w, expected, rtol=1e-5, atol=1e-6)

"""Faults while training on generators: errors raised in a generator or Sequence (main thread,
worker threads, worker processes) reach the caller with their traceback, leave no thread or
process behind and keep the weights of the last completed step; bad batches get the array
errors; a Ctrl-C stops the workers and leaves the model usable."""

import multiprocessing
import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
import traceback

import numpy as np
import pytest

from symkeras import callbacks, optimizers
from symkeras.layers import Dense, Input
from symkeras.models import Model
from symkeras.utils import Sequence

X = np.linspace(-1, 1, 32, dtype="float32").reshape(16, 2)
Y = X.sum(1, keepdims=True) + 0.5
WORKERS = [(0, False), (1, False), (2, False), (1, True), (2, True)]


def linear():
    x = Input((2,))
    model = Model(x, Dense(1, kernel_initializer="zeros")(x))
    model.compile(optimizers.SGD(0.1), "mse", backend="numpy")
    return model


def weights_after(steps):
    model = linear()
    for i in range(steps):
        model.train_on_batch(X[4 * (i % 4):4 * (i % 4) + 4], Y[4 * (i % 4):4 * (i % 4) + 4])
    return model.get_weights()


class Faulty(Sequence):
    """Batches of 4; batch ``bad`` raises ``error`` (or runs ``action``)."""

    def __init__(self, bad=2, error=None, action=None):
        self.bad, self.error, self.action = bad, error or ZeroDivisionError("explode in batch"), action

    def __len__(self):
        return 4

    def __getitem__(self, i):
        if i == self.bad:
            if self.action is not None:
                self.action()
            raise self.error
        return X[4 * i:4 * i + 4], Y[4 * i:4 * i + 4]


def faulty_generator(bad=2, error=None):
    for i in range(100):
        if i == bad:
            raise error or ZeroDivisionError("explode in batch")
        yield X[4 * (i % 4):4 * (i % 4) + 4], Y[4 * (i % 4):4 * (i % 4) + 4]


@pytest.fixture
def no_leftovers():
    """After the test: no new thread, no child process."""
    before = set(threading.enumerate())
    yield
    assert multiprocessing.active_children() == []
    assert set(threading.enumerate()) <= before


def full_text(exc):
    return "".join(traceback.format_exception(exc))


@pytest.mark.parametrize("source,workers,processes", [("sequence", *w) for w in WORKERS] +
                         [("generator", *w) for w in WORKERS[:4]])     # a generator is not shared by processes
def test_an_error_in_the_data_reaches_the_caller(source, workers, processes, no_leftovers):
    model = linear()
    data = Faulty() if source == "sequence" else faulty_generator()
    with pytest.raises(ZeroDivisionError, match="explode in batch") as info:
        model.fit_generator(data, steps_per_epoch=4, epochs=2, shuffle=False, verbose=0, workers=workers,
                            use_multiprocessing=processes)
    where = "__getitem__" if source == "sequence" else "faulty_generator"
    assert where in full_text(info.value)             # a worker process's traceback is the __cause__
    np.testing.assert_allclose(model.get_weights()[0], weights_after(2)[0], rtol=1e-6)


def test_errors_in_evaluate_and_predict_generators(no_leftovers):
    model = linear()
    with pytest.raises(ZeroDivisionError):
        model.evaluate_generator(Faulty(), workers=2)
    with pytest.raises(ZeroDivisionError):
        model.predict_generator(Faulty(bad=0), workers=1, use_multiprocessing=True)


@pytest.mark.parametrize("workers,processes", [(0, False), (1, False), (1, True)])
def test_a_batch_of_the_wrong_shape_gets_the_array_error(workers, processes, no_leftovers):
    model = linear()
    with pytest.raises(ValueError) as for_arrays:
        model.fit(X[:, :1], Y, verbose=0)
    with pytest.raises(ValueError) as for_batches:
        model.fit_generator(((X[:4, :1], Y[:4]) for _ in range(3)), steps_per_epoch=3, verbose=0,
                            workers=workers, use_multiprocessing=processes)
    assert str(for_batches.value) == str(for_arrays.value).replace("`fit`", "`fit_generator`")
    with pytest.raises(ValueError, match="should be a tuple"):
        model.fit_generator((X[:4] for _ in range(3)), steps_per_epoch=3, verbose=0, workers=workers,
                            use_multiprocessing=processes)


def test_a_generator_shared_by_threads_must_be_thread_safe(no_leftovers):
    def slow():
        while True:
            time.sleep(0.02)
            yield X[:4], Y[:4]

    with pytest.raises(RuntimeError, match="NOT thread-safe"):
        linear().fit_generator(slow(), steps_per_epoch=20, verbose=0, workers=2)


def test_a_dead_worker_process_is_an_error_not_a_hang(no_leftovers):
    with pytest.raises(RuntimeError, match="died unexpectedly"):
        linear().fit_generator(Faulty(action=lambda: os._exit(3)), verbose=0, workers=1, use_multiprocessing=True,
                               shuffle=False)


@pytest.mark.parametrize("workers,processes", WORKERS)
def test_interrupt_from_a_callback_keeps_the_last_completed_weights(workers, processes, no_leftovers):
    def interrupt(batch, logs):
        if batch == 2:
            raise KeyboardInterrupt

    model = linear()
    with pytest.raises(KeyboardInterrupt):
        model.fit_generator(Faulty(bad=None), epochs=3, shuffle=False, verbose=0, workers=workers,
                            use_multiprocessing=processes,
                            callbacks=[callbacks.LambdaCallback(on_batch_end=interrupt)])
    expected = weights_after(3)
    for a, b in zip(model.get_weights(), expected):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    model.fit(X, Y, epochs=1, verbose=0)                # still usable
    assert model.predict(X).shape == (16, 1)


@pytest.mark.parametrize("workers,processes", [(0, False), (2, False), (1, True)])
def test_interrupt_raised_in_the_data(workers, processes, no_leftovers):
    model = linear()
    with pytest.raises(KeyboardInterrupt):
        model.fit_generator(Faulty(error=KeyboardInterrupt()), shuffle=False, verbose=0, workers=workers,
                            use_multiprocessing=processes)
    np.testing.assert_allclose(model.get_weights()[0], weights_after(2)[0], rtol=1e-6)


SCRIPT = textwrap.dedent("""
    import multiprocessing, sys, time
    import numpy as np
    from symkeras import callbacks, optimizers
    from symkeras.layers import Dense, Input
    from symkeras.models import Model
    from symkeras.utils import Sequence

    class Slow(Sequence):
        def __len__(self):
            return 1000
        def __getitem__(self, i):
            time.sleep(0.01)
            return np.ones((4, 2), "float32"), np.ones((4, 1), "float32")

    x = Input((2,))
    model = Model(x, Dense(1)(x))
    model.compile(optimizers.SGD(0.1), "mse", backend="numpy")
    started = callbacks.LambdaCallback(on_batch_end=lambda b, l: b == 3 and print("started", flush=True))
    try:
        model.fit_generator(Slow(), epochs=5, verbose=0, workers=2, use_multiprocessing=True, callbacks=[started])
    except KeyboardInterrupt:
        print("interrupted", len(multiprocessing.active_children()), flush=True)
        print("usable", model.predict(np.ones((3, 2), "float32")).shape, flush=True)
""")


@pytest.mark.skipif(not hasattr(os, "killpg"), reason="needs process groups")
def test_ctrl_c_stops_the_worker_processes():
    proc = subprocess.Popen([sys.executable, "-c", SCRIPT], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, start_new_session=True)
    try:
        assert proc.stdout.readline().strip() == "started"
        os.killpg(proc.pid, signal.SIGINT)             # what the terminal does on Ctrl-C
        out, err = proc.communicate(timeout=30)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGKILL)
    assert proc.returncode == 0, err
    assert out.splitlines() == ["interrupted 0", "usable (3, 1)"]
    with pytest.raises(ProcessLookupError):             # nothing of the process group is left
        os.killpg(proc.pid, 0)


def test_stop_returns_when_the_process_pool_will_not_close(monkeypatch):
    """A process pool whose own terminate() hangs must not hang stop(): its workers are killed."""
    from symkeras.utils import data_utils
    release = threading.Event()
    monkeypatch.setattr(data_utils, "_POOL_CLOSE_SECONDS", 0.5)
    monkeypatch.setattr(data_utils, "_terminate_quietly", lambda pool: release.wait())
    enqueuer = data_utils.OrderedEnqueuer(Faulty(bad=99), use_multiprocessing=True)
    enqueuer.start(workers=2, max_queue_size=2)
    next(enqueuer.get())
    workers = list(enqueuer._processes)
    started = time.monotonic()
    enqueuer.stop()
    assert time.monotonic() - started < 5
    deadline = time.monotonic() + 5       # the pool's own thread may be the one that reaps them
    while any(p.exitcode is None for p in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert [p.exitcode for p in workers] == [-signal.SIGKILL] * len(workers)
    release.set()

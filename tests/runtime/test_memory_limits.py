"""Sizes a batch needs are checked in Python before generated code runs; the workspace a
function keeps between calls is bounded."""

import threading

import numpy as np
import pytest

import symkeras.backend as K

HUGE_BATCH = 2 ** 60        # a (HUGE_BATCH, 0) array is legal NumPy, and takes no memory


def _empty_features(backend, name, reduce=True):
    """(None, 0) input -> (batch, 16) temp -> scalar output (or the (batch, 16) itself); each
    call also counts itself in a variable."""
    x = K.placeholder((None, 0), name="x")
    w = K.variable(np.ones((0, 16)), name="w")
    calls = K.variable(np.zeros(()), name="calls")
    h = K.relu(K.dot(x, w))
    out = K.sum(h) if reduce else h
    f = K.function([x], [out], updates=[K.update_add(calls, 1.0)], backend=backend, name=name)
    return f, calls


@pytest.mark.parametrize("reduce", [True, False], ids=["workspace", "output"])
def test_an_impossible_batch_size_is_a_memory_error_naming_it(backend, reduce):
    f, calls = _empty_features(backend, "empty_features_" + ("ws" if reduce else "out"), reduce)
    huge = np.zeros((HUGE_BATCH, 0), "float32")
    with pytest.raises(MemoryError, match=f"batch size {HUGE_BATCH}"):
        f([huge])
    assert K.get_value(calls) == 0
    (out,) = f([np.zeros((3, 0), "float32")])
    assert K.get_value(calls) == 1
    np.testing.assert_array_equal(out, 0 if reduce else np.zeros((3, 16)))


def _wide(backend):
    """A workspace of 1 KiB per row."""
    x = K.placeholder((None, 8), name="x")
    w = K.variable(np.full((8, 256), 0.01), name="w")
    return K.function([x], [K.sum(K.tanh(K.dot(x, w)), axis=1)], backend=backend, name="wide_workspace")


def test_one_thread_reuses_one_workspace_across_batch_sizes(backend):
    f = _wide(backend)
    for batch in (600, 599, 598, 597, 20):
        f([np.ones((batch, 8), "float32")])
    assert f.contexts.idle_bytes() < 700 * 1024


def test_workspace_kept_between_calls_is_bounded(backend):
    f = _wide(backend)
    limit = f.contexts.retained_bytes = 1 << 20
    big = np.ones((4096, 8), "float32")                 # a 4 MiB workspace
    small = np.ones((16, 8), "float32")
    expected_big, expected_small = (f([a])[0] for a in (big, small))
    barrier = threading.Barrier(4)

    def calls():
        barrier.wait()
        for _ in range(5):
            np.testing.assert_allclose(f([big])[0], expected_big, rtol=1e-6)
    threads = [threading.Thread(target=calls) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert f.contexts.idle_bytes() <= limit + 4096 * 1024 + 4096    # the last one used stays
    np.testing.assert_allclose(f([small])[0], expected_small, rtol=1e-6)
    assert f.contexts.idle_bytes() <= limit

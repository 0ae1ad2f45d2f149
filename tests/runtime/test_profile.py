"""SYMKERAS_PROFILE=1 builds functions that time each kernel: ``GeneratedFunction.profile()``
names every kernel by its comment with the seconds spent in it, and the results are unchanged."""

import numpy as np
import pytest

import symkeras.backend as K


def _step(name):
    x = K.placeholder((None, 6), name="x")
    w = K.variable(np.linspace(-1, 1, 24).reshape(6, 4), name="w")
    loss = K.mean(K.square(K.tanh(K.dot(x, w))))
    return K.function([x], [loss], updates=[K.update_sub(w, 0.1 * K.gradients(loss, [w])[0])], name=name), w


def test_profiled_function_times_each_kernel_and_computes_the_same(backend, monkeypatch):
    plain, w_plain = _step("plain_step")
    monkeypatch.setenv("SYMKERAS_PROFILE", "1")
    profiled, w_profiled = _step("profiled_step")
    x = np.random.RandomState(0).randn(16, 6).astype("float32")
    for _ in range(3):
        np.testing.assert_array_equal(profiled([x])[0], plain([x])[0])
    np.testing.assert_array_equal(K.get_value(w_profiled), K.get_value(w_plain))
    timings = profiled.profile()
    assert len(timings) >= 3
    assert all(isinstance(label, str) and label and seconds >= 0 for label, seconds in timings)
    assert sum(seconds for _, seconds in timings) > 0
    assert any("gemm" in label for label, _ in timings)
    assert [label for label, _ in timings] == [line.split("/* ", 1)[-1].rstrip(" */").strip()
                                               for line in _kernel_comments(profiled)]


def _kernel_comments(fn):
    """The kernel comments of the generated source, in order."""
    marker = "/* " if fn.backend == "c" else "    # "
    lines = fn.source.split("SK_FTZ_BEGIN();")[-1].splitlines() if fn.backend == "c" else \
        fn.source.split(f"def {fn.name}(")[-1].splitlines()
    found = [line.strip() for line in lines if line.strip().startswith(marker.strip())]
    return [line[2:].strip() if fn.backend == "numpy" else line for line in found]


def test_profile_without_profiling_says_how_to_turn_it_on(backend, monkeypatch):
    monkeypatch.delenv("SYMKERAS_PROFILE", raising=False)
    fn, _ = _step("unprofiled_step")
    with pytest.raises(RuntimeError, match="SYMKERAS_PROFILE=1"):
        fn.profile()

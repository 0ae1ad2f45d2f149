"""Model files are data, not code: loading never runs bytecode from a file unless asked to
(``safe_mode=False``), weights are assigned all or none, every weight name round-trips, an
interrupted save leaves nothing behind for long, and a wrong file gets an error naming it."""

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import zipfile

import numpy as np
import pytest

import symkeras.backend as K
from symkeras.engine import saving
from symkeras.layers import Dense, Input, Lambda, Layer
from symkeras.models import Model, Sequential, load_model, model_from_config, model_from_json
from symkeras.utils import atomic_files

HOSTILE_NAMES = ["nul\x00inside", "trailing nul\x00", "new\nline", "quote'\"`", "back\\slash",
                 "unicodé-名前-🙂", "lone \udc80 surrogate", "slash/in/name", "__model_config__", "__weight__/0",
                 " spaced "]


@pytest.fixture(autouse=True)
def _fresh_session(monkeypatch):
    monkeypatch.setenv("SYMKERAS_BACKEND", "numpy")
    K.clear_session()


def _rand(*shape, seed=0):
    return np.random.RandomState(seed).uniform(-1, 1, size=shape).astype("float32")


def _two_dense(first="first", second="second"):
    x = Input((3,), name="x")
    return Model(x, Dense(2, name=second)(Dense(4, name=first)(x)), name="two")


def _assert_weights_equal(actual, expected):
    assert len(actual) == len(expected)
    for a, b in zip(actual, expected):
        np.testing.assert_array_equal(a, b)


# ----------------------------------------------------------------------------- Lambda bytecode and safe_mode

def _model_whose_lambda_touches(marker):
    """A model whose Lambda, when called (as loading replays it), creates ``marker``."""
    path = str(marker)
    x = Input((3,), name="x")
    y = Lambda(lambda t: (open(path, "w").close(), t * 2.0)[1], name="touch")(x)
    model = Model(x, Dense(2, name="head")(y))
    os.unlink(path)                                # building the model called it once
    return model


def test_load_model_refuses_lambda_bytecode_unless_safe_mode_is_false(tmp_path):
    marker, path = tmp_path / "marker", tmp_path / "lambda.npz"
    model = _model_whose_lambda_touches(marker)
    model.save(path)
    with pytest.raises(ValueError, match=r"safe_mode=False") as info:
        load_model(path)
    assert "Lambda" in str(info.value) and "touch" in str(info.value)
    assert not marker.exists()
    loaded = load_model(path, safe_mode=False)
    assert marker.exists()
    _assert_weights_equal(loaded.get_weights(), model.get_weights())
    data = _rand(4, 3)
    np.testing.assert_allclose(loaded.predict(data), model.predict(data), rtol=1e-6)


def test_every_config_entry_point_refuses_lambda_bytecode_by_default(tmp_path):
    marker = tmp_path / "marker"
    model = _model_whose_lambda_touches(marker)
    text, config = model.to_json(), model.get_config()
    layer_config = model.get_layer("touch").get_config()
    attempts = [lambda: model_from_json(text), lambda: model_from_config(json.loads(text)),
                lambda: Model.from_config(config), lambda: Lambda.from_config(layer_config),
                lambda: model_from_json(text, safe_mode=True),
                lambda: Model.from_config(config, safe_mode=True)]
    for attempt in attempts:
        with pytest.raises(ValueError, match="safe_mode"):
            attempt()
        assert not marker.exists()
    seq = Sequential([Input((3,)), Lambda(lambda t: t + 1.0, name="inc")])
    with pytest.raises(ValueError, match="safe_mode"):
        Sequential.from_config(seq.get_config())
    with pytest.raises(ValueError, match="safe_mode"):
        model_from_json(seq.to_json())
    assert isinstance(Sequential.from_config(seq.get_config(), safe_mode=False), Sequential)
    for allowed in (lambda: model_from_json(text, safe_mode=False),
                    lambda: model_from_config(json.loads(text), safe_mode=False),
                    lambda: Model.from_config(config, safe_mode=False)):
        allowed()
        assert marker.exists()
        os.unlink(marker)
    assert callable(Lambda.from_config(layer_config, safe_mode=False).function)


def test_a_lambda_output_shape_is_bytecode_too():
    layer = Lambda(K.relu, output_shape=lambda shape: shape, name="r")
    with pytest.raises(ValueError, match="`output_shape`.*safe_mode=False"):
        Lambda.from_config(layer.get_config())
    assert Lambda.from_config(layer.get_config(), safe_mode=False).function is K.relu


def triple(t):
    return t * 3.0


def test_named_functions_load_from_custom_objects_in_safe_mode(tmp_path):
    x = Input((3,), name="x")
    model = Model(x, Lambda(triple, name="t3")(x))
    model.save(tmp_path / "named.npz")
    loaded = load_model(tmp_path / "named.npz", custom_objects={"triple": triple})
    assert loaded.get_layer("t3").function is triple
    # Without it, the name is not looked up in whatever module the file names.
    with pytest.raises(ValueError, match="triple.*custom_objects.*safe_mode=False"):
        load_model(tmp_path / "named.npz")
    assert load_model(tmp_path / "named.npz", safe_mode=False).get_layer("t3").function is triple
    # symkeras's own functions need nothing.
    backend_model = Model(x, Lambda(K.relu, name="r")(x))
    assert model_from_json(backend_model.to_json()).get_layer("r").function is K.relu


def test_a_file_cannot_name_an_arbitrary_module_function():
    config = Lambda(triple, name="sneaky").get_config()
    config.update(function="system", module="os")
    with pytest.raises(ValueError, match="safe_mode"):
        Lambda.from_config(config)
    config.update(function="eval", module="builtins")
    with pytest.raises(ValueError, match="safe_mode"):
        Lambda.from_config(config)


# ----------------------------------------------------------------------------- set_weights: all or none

@pytest.mark.parametrize("bad", [np.array([["a", "b"]] * 4), np.array([None, None], dtype=object),
                                 np.zeros(3, "float32"), np.zeros((2, 2), "float32"),
                                 np.zeros(2, "complex64"), [1.0, [2.0, 3.0]]],
                         ids=["strings", "objects", "short", "rank", "complex", "ragged"])
def test_set_weights_with_a_bad_third_array_changes_nothing(bad):
    model = _two_dense()
    before = model.get_weights()
    new = [w + 1.0 for w in before]
    new[2] = bad
    with pytest.raises(ValueError, match="second/kernel|second/bias"):
        model.set_weights(new)
    _assert_weights_equal(model.get_weights(), before)
    layer = model.get_layer("first")
    with pytest.raises(ValueError, match="first/bias"):
        layer.set_weights([before[0] + 1.0, bad])
    _assert_weights_equal(model.get_weights(), before)


def test_set_weights_converts_numbers_safely():
    model = _two_dense()
    values = [np.ones(w.shape, "float64") for w in model.get_weights()]
    values[1] = [0, 1, 2, 3]                          # ints and lists convert
    model.set_weights(values)
    assert [w.dtype for w in model.get_weights()] == [np.float32] * 4
    np.testing.assert_array_equal(model.get_weights()[1], [0, 1, 2, 3])
    before = model.get_weights()
    values[3] = np.full(2, 1e300)                     # does not fit in float32
    with pytest.raises(ValueError, match="second/bias"):
        model.set_weights(values)
    _assert_weights_equal(model.get_weights(), before)


def test_load_weights_with_a_bad_third_array_changes_nothing(tmp_path):
    model = _two_dense()
    before = model.get_weights()
    path = tmp_path / "bad.npz"
    np.savez(path, **{"first/kernel": before[0] + 1, "first/bias": before[1] + 1,
                      "second/kernel": np.full(before[2].shape, "x"), "second/bias": before[3] + 1})
    with pytest.raises(ValueError, match="second/kernel"):
        model.load_weights(path)
    _assert_weights_equal(model.get_weights(), before)
    with pytest.raises(ValueError, match="second/kernel"):
        model.load_weights(path, by_name=True)
    _assert_weights_equal(model.get_weights(), before)


# ----------------------------------------------------------------------------- any weight name round-trips

def test_save_weights_round_trips_hostile_names(tmp_path):
    for i, name in enumerate(HOSTILE_NAMES):
        K.clear_session()
        model = _two_dense(first=name, second=name + "\x00")
        path = tmp_path / f"w{i}.npz"
        model.save_weights(path)
        other = _two_dense(first=name, second=name + "\x00")
        other.load_weights(path)
        _assert_weights_equal(other.get_weights(), model.get_weights())
        fresh = _two_dense(first=name, second=name + "\x00")
        fresh.load_weights(path, by_name=True)
        _assert_weights_equal(fresh.get_weights(), model.get_weights())
        assert saving.weight_names(path) == [w.op.storage.name for w in model.weights]


def test_save_model_round_trips_hostile_names(tmp_path):
    for i, name in enumerate(HOSTILE_NAMES):
        K.clear_session()
        model = _two_dense(first=name, second=name + "\x00")
        model.save(tmp_path / f"m{i}.npz")
        loaded = load_model(tmp_path / f"m{i}.npz")
        assert [layer.name for layer in loaded.layers] == ["x", name, name + "\x00"]
        _assert_weights_equal(loaded.get_weights(), model.get_weights())


class TwoSameNames(Layer):
    """Two weights under one name: files keep both; only by_name cannot tell them apart."""

    def build(self, input_shape):
        self.a = self.add_weight("w", (input_shape[-1],), initializer="ones")
        self.b = self.add_weight("w", (input_shape[-1],), initializer="zeros")
        self.built = True

    def call(self, inputs):
        return inputs * self.a + self.b


def test_weights_sharing_a_name_round_trip_by_position(tmp_path):
    x = Input((3,))
    model = Model(x, TwoSameNames(name="same")(x))
    model.set_weights([np.full(3, 2.0), np.full(3, 5.0)])
    model.save_weights(tmp_path / "w.npz")
    other = Model(x, TwoSameNames(name="same")(x))
    other.load_weights(tmp_path / "w.npz")
    _assert_weights_equal(other.get_weights(), model.get_weights())
    fresh = Model(x, TwoSameNames(name="same")(x))
    before = fresh.get_weights()
    with pytest.raises(ValueError, match="2 weights named 'same/w'"):
        fresh.load_weights(tmp_path / "w.npz", by_name=True)
    _assert_weights_equal(fresh.get_weights(), before)


def test_files_in_the_first_format_still_load(tmp_path):
    model = _two_dense()
    values = [w + 1.0 for w in model.get_weights()]
    weights = dict(zip(["first/kernel", "first/bias", "second/kernel", "second/bias"], values))
    np.savez(tmp_path / "old_weights.npz", **weights)
    model.load_weights(tmp_path / "old_weights.npz")
    _assert_weights_equal(model.get_weights(), values)
    np.savez(tmp_path / "old_model.npz", __model_config__=np.array(model.to_json()),
             **{"__optimizer__/0": np.zeros(1)}, **weights)
    loaded = load_model(tmp_path / "old_model.npz")
    _assert_weights_equal(loaded.get_weights(), values)
    assert saving.model_config(tmp_path / "old_model.npz")["class_name"] == "Model"


def test_a_load_names_a_missing_weight(tmp_path):
    model = _two_dense()
    path = tmp_path / "w.npz"
    model.save_weights(path)
    with zipfile.ZipFile(path) as full, zipfile.ZipFile(tmp_path / "cut.npz", "w") as cut:
        members = full.namelist()
        for member in members:
            if member != members[-1]:
                cut.writestr(member, full.read(member))
    before = model.get_weights()
    with pytest.raises(ValueError, match="second/bias"):
        model.load_weights(tmp_path / "cut.npz")
    _assert_weights_equal(model.get_weights(), before)


# ----------------------------------------------------------------------------- temporary files of interrupted saves

def _dead_pid():
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    child.wait()
    return child.pid


def _temp_files(directory):
    return sorted(name for name in os.listdir(directory) if name.endswith(".tmp"))


KILLED_WRITER = textwrap.dedent("""
    import os, sys, time
    from symkeras.layers import Dense, Input
    from symkeras.models import Model

    x = Input((50,))
    model = Model(x, Dense(200)(Dense(200)(x)))
    model.save_weights(sys.argv[1])

    def stall(fd):
        print("writing", flush=True)
        time.sleep(60)

    os.fsync = stall                  # the next save stops between writing and renaming
    model.save_weights(sys.argv[1])
""")


@pytest.mark.skipif(not hasattr(signal, "SIGKILL"), reason="needs SIGKILL")
def test_a_save_killed_with_sigkill_leaves_a_temp_file_that_the_next_save_removes(tmp_path):
    path = tmp_path / "w.npz"
    proc = subprocess.Popen([sys.executable, "-c", KILLED_WRITER, str(path)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "writing", proc.stderr.read()
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=30)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert len(_temp_files(tmp_path)) == 1
    assert len(saving.weight_names(path)) == 4          # the previous save is intact
    x = Input((50,))
    model = Model(x, Dense(200)(Dense(200)(x)))
    model.load_weights(path)
    model.save_weights(path)
    assert _temp_files(tmp_path) == []


def test_a_save_removes_stale_temp_files_of_its_target_only(tmp_path):
    dead, live = _dead_pid(), os.getppid()
    host = atomic_files.host_tag()
    stale = [f".w.npz.{host}.{dead}.140000.tmp", f".w.npz.{dead}.140000.tmp"]   # the second: older names
    kept = [f".w.npz.{host}.{live}.140000.tmp",           # another live writer
            f".other.npz.{host}.{dead}.140000.tmp",       # another target
            ".w.npz.notes.tmp", "w.npz.12.13.tmp",        # not our pattern
            f".w.npz.otherhost.{dead}.140000.tmp"]        # a writer on another machine, recent
    old = f".w.npz.otherhost.{live}.140001.tmp"           # untouched for days: abandoned
    for name in stale + kept + [old]:
        (tmp_path / name).write_bytes(b"partial")
    week_ago = time.time() - 7 * 24 * 3600
    os.utime(tmp_path / old, (week_ago, week_ago))
    _two_dense().save_weights(tmp_path / "w.npz")
    assert sorted(os.listdir(tmp_path)) == sorted(kept + ["w.npz"])


# ----------------------------------------------------------------------------- wrong arguments and wrong files

def test_skip_mismatch_needs_by_name(tmp_path):
    model = _two_dense()
    model.save_weights(tmp_path / "w.npz")
    other = _two_dense(first="a", second="b")
    before = other.get_weights()
    with pytest.raises(ValueError, match="skip_mismatch can only be set to True when by_name is True"):
        other.load_weights(tmp_path / "w.npz", skip_mismatch=True)
    _assert_weights_equal(other.get_weights(), before)


def test_a_file_of_another_format_is_named_in_the_error(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("these are not weights\n")
    npy = tmp_path / "array.npy"
    np.save(npy, np.zeros(3))
    truncated = tmp_path / "truncated.npz"
    _two_dense().save_weights(truncated)
    truncated.write_bytes(truncated.read_bytes()[:200])
    h5 = tmp_path / "keras.h5"
    h5.write_bytes(b"\x89HDF\r\n\x1a\n" + bytes(100))
    model = _two_dense()
    before = model.get_weights()
    for path in (text, npy, truncated, h5):
        for load in (model.load_weights, load_model):
            with pytest.raises(ValueError) as info:
                load(path)
            message = str(info.value)
            expected = "HDF5" if path is h5 else ".npz"       # an HDF5 file is read as Keras's .h5
            assert str(path) in message and expected in message and "pickle" not in message
    _assert_weights_equal(model.get_weights(), before)
    missing = tmp_path / "missing.npz"
    for load in (model.load_weights, load_model, saving.model_config):
        with pytest.raises(FileNotFoundError, match="missing.npz"):
            load(missing)


def test_load_model_of_a_weights_file_says_so(tmp_path):
    _two_dense().save_weights(tmp_path / "w.npz")
    with pytest.raises(ValueError, match="w.npz.*save_weights"):
        load_model(tmp_path / "w.npz")


def test_a_lambda_of_a_backend_function_round_trips_by_name(tmp_path):
    x = Input(shape=(3,))
    model = Model(x, Lambda(K.exp)(x))
    path = str(tmp_path / "exp.h5")
    model.save(path)
    restored = load_model(path)          # safe mode: a symkeras function, named
    data = np.linspace(-1, 1, 6, dtype="float32").reshape(2, 3)
    np.testing.assert_allclose(restored.predict(data), np.exp(data), rtol=1e-6)


def test_a_config_value_reaching_a_backend_function_is_not_evaluated(tmp_path):
    marker = tmp_path / "ran"
    x = Input(shape=(2,))
    config = json.loads(Model(x, Lambda(K.pow, arguments={"a": 2})(x)).to_json())
    lambda_config = next(layer for layer in config["config"]["layers"] if layer["class_name"] == "Lambda")
    lambda_config["config"]["arguments"] = {"a": f"__import__('pathlib').Path({str(marker)!r}).touch() or 2"}
    with pytest.raises(TypeError, match="exponent `a` must be a number"):
        model_from_json(json.dumps(config))
    assert not marker.exists()

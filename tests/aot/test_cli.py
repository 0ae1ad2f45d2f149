"""``symkeras-aot`` end to end: from a saved model file to a built C program that predicts and
trains as the model, and to a NumPy module; bad arguments are usage errors naming the argument."""

import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from symkeras import optimizers
from symkeras.aot import cli, weights_file
from symkeras.codegen.c import build
from symkeras.layers import Dense, Input
from symkeras.models import Model

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def _env():
    path = os.pathsep.join(filter(None, [ROOT, os.environ.get("PYTHONPATH")]))
    return dict(os.environ, PYTHONPATH=path)


def _model(compiled=True):
    x = Input((4,), name="x")
    model = Model(x, Dense(2, activation="softmax", name="out")(Dense(6, activation="relu", name="h")(x)),
                  name="small")
    if compiled:
        model.compile(optimizers.Adam(0.02), "categorical_crossentropy")
    return model


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A trained model saved as .keras and as .h5, with one batch of data."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SYMKERAS_BACKEND", "c")
        folder = tmp_path_factory.mktemp("saved")
        rng = np.random.RandomState(0)
        x = rng.randn(4, 4).astype("float32")
        y = np.eye(2, dtype="float32")[rng.randint(0, 2, 4)]
        model = _model()
        model.train_on_batch(x, y)
        model.save(str(folder / "small.keras"))
        model.save(str(folder / "small.h5"))
        model.predicted = model.predict(x)               # what the saved model predicts (C backend)
        yield model, folder, x, y


@pytest.mark.skipif(shutil.which("make") is None or not build.compiler_available(), reason="needs make and cc")
def test_a_keras_file_becomes_a_c_program_that_predicts_and_trains_as_the_model(saved, tmp_path):
    model, folder, x, y = saved
    out = tmp_path / "c"
    done = subprocess.run([sys.executable, "-m", "symkeras.aot", str(folder / "small.keras"), "-o", str(out),
                           "--target", "c", "--functions", "predict,train", "--weights", "file", "--prefix", "small"],
                          capture_output=True, text=True, timeout=300, env=_env())
    assert done.returncode == 0, done.stderr
    assert sorted(os.listdir(out)) == ["Makefile", "main.c", "small.c", "small.h", "small.weights.bin"]
    built = subprocess.run(["make", "-s", "WARNINGS=-Wall -Wextra -Werror -pedantic"], cwd=out, capture_output=True,
                           text=True, timeout=300)
    assert built.returncode == 0, built.stderr
    (tmp_path / "x.bin").write_bytes(x.tobytes())
    (tmp_path / "xy.bin").write_bytes(x.tobytes() + y.tobytes())
    ran = subprocess.run(["./small_main", "predict", "4", str(tmp_path / "x.bin"), str(tmp_path / "p.bin")],
                         cwd=out, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SYMKERAS_BACKEND", "c")
        np.testing.assert_array_equal(np.fromfile(tmp_path / "p.bin", "float32").reshape(4, 2), model.predicted)
        ran = subprocess.run(["./small_main", "train", "4", "2", str(tmp_path / "xy.bin"), str(tmp_path / "l.bin"),
                              str(tmp_path / "w.bin")], cwd=out, capture_output=True, text=True, timeout=60)
        assert ran.returncode == 0, ran.stderr
        losses = [model.train_on_batch(x, y) for _ in range(2)]
    np.testing.assert_array_equal(np.fromfile(tmp_path / "l.bin", "float32"), np.float32(losses))
    trained = dict(zip(range(1000), weights_file.decode((tmp_path / "w.bin").read_bytes(),
                                                         _storages_of(model))))
    for i, value in enumerate(model.get_weights()):
        np.testing.assert_array_equal(trained[i], value)


def _storages_of(model):
    """The variables in the order an export of predict and train holds them: the predict
    function's (the model's weights) first, then the training step's others."""
    from symkeras.aot.functions import all_storages, render_functions
    return all_storages(render_functions(model, ("predict", "train"), "c", lambda kind: f"s_{kind}"))


def test_an_h5_file_becomes_a_numpy_module_through_the_tools_wrapper(saved, tmp_path):
    model, folder, x, _ = saved
    done = subprocess.run([sys.executable, os.path.join(ROOT, "tools", "symkeras_aot.py"), str(folder / "small.h5"),
                           "-o", str(tmp_path), "--target", "numpy", "--prefix", "small"],
                          capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    np.save(tmp_path / "x.npy", x)
    script = ("import sys, numpy as np; sys.modules['symkeras'] = None; import small; "
              "np.save('p.npy', small.predict(np.load('x.npy'))[0])")
    ran = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), model.predicted, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize("args, message", [
    (["--target", "rust"], "argument --target: invalid choice"),
    (["--functions", "predict,fit"], "argument --functions"),
    (["--functions", "predict,predict"], "argument --functions"),
    (["--blas", "mkl"], "argument --blas: invalid choice"),
    (["--weights", "inline"], "argument --weights: invalid choice"),
    (["--prefix", "my model"], "argument --prefix"),
    (["--prefix", "int main(){}"], "argument --prefix"),
    (["--target", "numpy", "--blas", "none"], "argument --blas: applies to --target c only"),
    (["--target", "numpy", "--prefix", "import"], "argument --prefix"),
])
def test_bad_arguments_are_usage_errors_naming_the_argument(saved, tmp_path, capsys, args, message):
    _, folder, _, _ = saved
    with pytest.raises(SystemExit) as stop:
        cli.main([str(folder / "small.keras"), "-o", str(tmp_path / "out"), *args])
    assert stop.value.code == 2 and message in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_a_missing_output_folder_argument_is_a_usage_error(saved, capsys):
    with pytest.raises(SystemExit) as stop:
        cli.main([str(saved[1] / "small.keras")])
    assert stop.value.code == 2 and "-o/--output" in capsys.readouterr().err


def test_files_that_cannot_be_read_or_exported_are_errors_naming_why(saved, tmp_path, capsys):
    assert cli.main([str(tmp_path / "missing.keras"), "-o", str(tmp_path / "a")]) == 1
    assert "cannot read" in capsys.readouterr().err
    (tmp_path / "junk.keras").write_bytes(b"not a model")
    assert cli.main([str(tmp_path / "junk.keras"), "-o", str(tmp_path / "a")]) == 1
    assert "cannot read" in capsys.readouterr().err
    _model(compiled=False).save(str(tmp_path / "plain.keras"))
    assert cli.main([str(tmp_path / "plain.keras"), "-o", str(tmp_path / "a"), "--functions", "predict,train"]) == 1
    assert "training configuration" in capsys.readouterr().err
    assert not (tmp_path / "a").exists()


# Keras 3's .h5 stores one optimizer variable more than load_model takes: it warns and starts afresh.
@pytest.mark.filterwarnings("ignore:Error in loading the saved optimizer state")
@pytest.mark.parametrize("filename", ["keras3_dense.keras", "keras3_dense.h5"])
def test_a_file_keras_wrote_exports_with_keras_predictions(filename, tmp_path, capsys):
    """keras3_dense.* were written by Keras 3.15 after one epoch of fit (tests/keras/data); the
    exported module predicts what Keras predicted, and its training steps lower the loss."""
    data = os.path.join(ROOT, "tests", "keras", "data")
    assert cli.main([os.path.join(data, filename), "-o", str(tmp_path), "--target", "numpy",
                     "--functions", "predict,train", "--prefix", "dense"]) == 0
    io = np.load(os.path.join(data, "keras3_dense_io.npz"))
    np.save(tmp_path / "x.npy", io["x"])
    script = ("import sys, numpy as np; sys.modules['symkeras'] = None; import dense; x = np.load('x.npy'); "
              "np.save('p.npy', dense.predict(x)[0]); "
              "y = np.eye(dense.predict(x)[0].shape[1], dtype='float32')[np.zeros(len(x), int)]; "
              "np.save('l.npy', np.array([dense.train_step(x, y)[0] for _ in range(3)]))")
    ran = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert ran.returncode == 0, ran.stderr
    np.testing.assert_allclose(np.load(tmp_path / "p.npy"), io["y"], rtol=1e-5, atol=1e-6)
    losses = np.load(tmp_path / "l.npy")
    assert np.all(np.isfinite(losses)) and losses[2] < losses[0]     # steps on one batch lower its loss

"""A model exported as C builds with its Makefile, and its example program, run as a subprocess,
predicts what the model predicts and trains as the model trains: with the same BLAS and flags,
the variables after k steps are bit for bit the Python model's (C backend) after the same k steps.

Each exported model is built once per module (module-scoped fixtures); every build uses
``-std=c99 -Wall -Wextra -Werror -pedantic``.
"""

import os
import shutil
import subprocess

import numpy as np
import pytest

from symkeras import optimizers
from symkeras.aot import c_export, functions, weights_file
from symkeras.codegen import schedule
from symkeras.codegen.c import build
from symkeras.layers import Concatenate, Conv2D, Dense, Embedding, Flatten, Input, MaxPooling2D
from symkeras.models import Model

STRICT = "-Wall -Wextra -Werror -pedantic"
STEPS = 3

HAVE_TOOLCHAIN = shutil.which("make") is not None and build.compiler_available()


@pytest.fixture(scope="module", autouse=True)
def _c_backend():
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("SYMKERAS_BACKEND", "c")
        yield


def make(directory, *variables, env=None):
    done = subprocess.run(["make", "-s", f"WARNINGS={STRICT}", *variables], cwd=directory, capture_output=True,
                          text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stdout + done.stderr
    return done


def run(directory, prefix, *args, env=None):
    return subprocess.run([os.path.join(directory, f"{prefix}_main"), *map(str, args)], cwd=directory,
                          capture_output=True, text=True, timeout=120, env=env)


def raw(*arrays):
    return b"".join(np.ascontiguousarray(a).tobytes() for a in arrays)


class Case:
    """A model exported and built, the data of one batch, and what the model computes on it
    (recorded before the model trains)."""

    def __init__(self, model, tmp, prefix, xs, ys, functions_, weights="file", blas="openblas"):
        if not HAVE_TOOLCHAIN:
            pytest.skip("needs make and a C compiler")
        self.model, self.prefix, self.xs, self.ys = model, prefix, xs, ys
        self.dir = str(tmp / prefix)
        self.written = c_export.export_c(model, self.dir, prefix, functions=functions_, blas=blas, weights=weights)
        make(self.dir)
        batch = len(xs[0])
        self.batch = batch
        ones = [np.ones(batch, "float32") for _ in ys]
        self.predicted = [np.asarray(p) for p in _as_list(model.predict(xs, batch_size=batch))]
        self.evaluated = [float(v) for v in model.make_test_function()(xs + ys + ones)] if ys else None
        self.initial = [np.array(s.value) for s in self.written.storages]
        step = model.make_train_function()
        self.losses = [float(step(xs + ys + ones)[0]) for _ in range(STEPS)] if "train" in functions_ else None
        self.trained = [np.array(s.value) for s in self.written.storages]

    def path(self, name):
        return os.path.join(self.dir, name)


def _as_list(value):
    return value if isinstance(value, list) else [value]


def _mlp():
    x = Input((5,), name="features")
    h = Dense(8, activation="tanh", name="hidden")(x)
    model = Model(x, Dense(3, activation="softmax", name="classes")(h), name="mlp model")
    model.compile(optimizers.Adam(0.01), "categorical_crossentropy", metrics=["accuracy"])
    return model


def _cnn():
    x = Input((8, 8, 2), name="image")
    h = Conv2D(4, 3, activation="relu", name="conv")(x)
    h = MaxPooling2D(2, name="pool")(h)
    model = Model(x, Dense(3, activation="softmax", name="classes")(Flatten(name="flat")(h)), name="cnn")
    model.compile(optimizers.SGD(0.1, momentum=0.9), "categorical_crossentropy")
    return model


def _two_in_two_out():
    a = Input((6,), name="measures")
    b = Input((3,), name="codes")
    e = Flatten(name="flat")(Embedding(10, 4, name="embed")(b))
    h = Dense(8, activation="relu", name="shared")(Concatenate(name="join")([a, e]))
    kind = Dense(3, activation="softmax", name="kind")(h)
    value = Dense(1, name="value")(h)
    model = Model([a, b], [kind, value], name="two heads */ #x \\\n\"")     # names reach files as comments only
    model.compile(optimizers.RMSprop(0.01), ["categorical_crossentropy", "mse"], loss_weights=[1.0, 0.5],
                  metrics={"kind": "accuracy"})
    return model


def _batch(rng, n, *shapes):
    return [rng.randn(n, *shape).astype("float32") for shape in shapes]


def _onehot(rng, n, k):
    return np.eye(k, dtype="float32")[rng.randint(0, k, n)]


@pytest.fixture(scope="module")
def mlp(tmp_path_factory):
    rng = np.random.RandomState(0)
    model = _mlp()
    x, y = _batch(rng, 6, (5,))[0], _onehot(rng, 6, 3)
    model.train_on_batch(x, y)                        # the optimizer's state is not its initial value
    return Case(model, tmp_path_factory.mktemp("aot"), "mlp", [x], [y], ("predict", "train", "evaluate"))


@pytest.fixture(scope="module")
def cnn(tmp_path_factory):
    rng = np.random.RandomState(1)
    model = _cnn()
    x, y = _batch(rng, 4, (8, 8, 2))[0], _onehot(rng, 4, 3)
    model.train_on_batch(x, y)
    return Case(model, tmp_path_factory.mktemp("aot"), "cnn", [x], [y], ("predict", "train"), weights="embed")


@pytest.fixture(scope="module")
def heads(tmp_path_factory):
    rng = np.random.RandomState(2)
    model = _two_in_two_out()
    a, codes = _batch(rng, 5, (6,))[0], rng.randint(0, 10, (5, 3)).astype("float32")
    ys = [_onehot(rng, 5, 3), rng.randn(5, 1).astype("float32")]
    return Case(model, tmp_path_factory.mktemp("aot"), "heads", [a, codes], ys, ("predict", "train", "evaluate"),
                weights="embed")


CASES = ["mlp", "cnn", "heads"]


@pytest.mark.parametrize("case", CASES)
def test_the_program_predicts_what_the_model_predicts(case, request, tmp_path):
    case = request.getfixturevalue(case)
    (tmp_path / "in.bin").write_bytes(raw(*case.xs))
    done = run(case.dir, case.prefix, "predict", case.batch, tmp_path / "in.bin", tmp_path / "out.bin")
    assert done.returncode == 0, done.stderr
    data = (tmp_path / "out.bin").read_bytes()
    assert len(data) == sum(p.nbytes for p in case.predicted)
    offset = 0
    for expected in case.predicted:            # the same code and flags: the same bits
        got = np.frombuffer(data, expected.dtype, expected.size, offset).reshape(expected.shape)
        np.testing.assert_array_equal(got, expected)
        offset += expected.nbytes


@pytest.mark.parametrize("case", CASES)
def test_k_training_steps_give_the_models_variables_bit_for_bit(case, request, tmp_path):
    case = request.getfixturevalue(case)
    (tmp_path / "data.bin").write_bytes(raw(*case.xs, *case.ys))
    done = run(case.dir, case.prefix, "train", case.batch, STEPS, tmp_path / "data.bin", tmp_path / "losses.bin",
               tmp_path / "trained.bin")
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(np.fromfile(tmp_path / "losses.bin", "float32"), np.float32(case.losses))
    trained = weights_file.decode((tmp_path / "trained.bin").read_bytes(), case.written.storages)
    assert len(trained) == len(case.trained)
    for storage, got, expected in zip(case.written.storages, trained, case.trained):
        np.testing.assert_array_equal(got, expected, err_msg=storage.name)
    assert any(s.name.endswith("iterations") for s in case.written.storages)   # the optimizer state went too
    assert sum(not np.array_equal(a, b) for a, b in zip(case.initial, case.trained)) > len(case.trained) // 2


@pytest.mark.parametrize("case", ["mlp", "heads"])
def test_evaluate_gives_the_models_loss_and_metric_sums(case, request, tmp_path):
    case = request.getfixturevalue(case)
    (tmp_path / "data.bin").write_bytes(raw(*case.xs, *case.ys))
    done = run(case.dir, case.prefix, "evaluate", case.batch, tmp_path / "data.bin", tmp_path / "results.bin")
    assert done.returncode == 0, done.stderr
    np.testing.assert_array_equal(np.fromfile(tmp_path / "results.bin", "float32"), np.float32(case.evaluated))


def test_an_index_out_of_range_is_an_error_code_not_a_read(heads, tmp_path):
    a, codes = heads.xs
    codes = codes.copy()
    codes[2, 1] = 10                                  # the embedding has 10 rows
    (tmp_path / "in.bin").write_bytes(raw(a, codes))
    done = run(heads.dir, heads.prefix, "predict", heads.batch, tmp_path / "in.bin", tmp_path / "out.bin")
    assert done.returncode == 1 and "index input is not a whole number in range" in done.stderr
    assert not (tmp_path / "out.bin").exists()


def test_a_wrong_weights_file_is_an_error_code(mlp, tmp_path):
    good = open(mlp.path("mlp.weights.bin"), "rb").read()
    (tmp_path / "in.bin").write_bytes(raw(*mlp.xs))
    flipped = bytearray(good)
    flipped[-7] ^= 0x10
    foreign = bytearray(good)
    foreign[16] ^= 0x01                               # the layout CRC of another model
    cases = {"truncated": (good[:-5], "truncated"), "longer": (good + b"\0", "truncated or too long"),
             "flipped": (bytes(flipped), "checksum"), "foreign": (bytes(foreign), "not this model's"),
             "magic": (b"NOTASKWT" + good[8:], "not this model's"), "empty": (b"", "truncated")}
    for name, (data, message) in cases.items():
        (tmp_path / name).write_bytes(data)
        done = run(mlp.dir, mlp.prefix, "-w", tmp_path / name, "predict", 1, tmp_path / "in.bin", tmp_path / "o")
        assert done.returncode == 1 and message in done.stderr, (name, done.stderr)
    done = run(mlp.dir, mlp.prefix, "-w", tmp_path / "missing", "predict", 1, tmp_path / "in.bin", tmp_path / "o")
    assert done.returncode == 1 and "cannot be opened" in done.stderr


def test_the_python_reader_refuses_what_the_c_refuses(mlp):
    good = open(mlp.path("mlp.weights.bin"), "rb").read()
    assert len(weights_file.decode(good, mlp.written.storages)) == len(mlp.written.storages)
    for bad in (good[:-1], good[:10], good[:50], good[:-1] + bytes([good[-1] ^ 1])):
        with pytest.raises(ValueError, match="weights file"):
            weights_file.decode(bad, mlp.written.storages)


def test_without_blas_the_products_run_in_plain_c(mlp, tmp_path):
    """The same export built with BLAS=none links no BLAS and agrees with the model to rounding."""
    copy = tmp_path / "plain"
    shutil.copytree(mlp.dir, copy, ignore=shutil.ignore_patterns("*.o", "*.a", "mlp_main"))
    make(str(copy), "BLAS=none", "OPT=-O1")
    linked = subprocess.run(["ldd", str(copy / "mlp_main")], capture_output=True, text=True).stdout
    assert "openblas" not in linked
    (tmp_path / "in.bin").write_bytes(raw(*mlp.xs))
    done = run(str(copy), "mlp", "predict", mlp.batch, tmp_path / "in.bin", tmp_path / "out.bin")
    assert done.returncode == 0, done.stderr
    got = np.fromfile(tmp_path / "out.bin", "float32").reshape(mlp.predicted[0].shape)
    np.testing.assert_allclose(got, mlp.predicted[0], rtol=1e-5, atol=1e-7)


def test_under_address_and_undefined_behaviour_sanitizers_runs_clean(heads, tmp_path):
    copy = tmp_path / "asan"
    shutil.copytree(heads.dir, copy, ignore=shutil.ignore_patterns("*.o", "*.a", "heads_main"))
    sanitize = "-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all"
    make(str(copy), "OPT=-O1 -g", f"CFLAGS={sanitize}", f"LDFLAGS={sanitize}")
    env = dict(os.environ, ASAN_OPTIONS="detect_leaks=1:abort_on_error=0", OPENBLAS_NUM_THREADS="1")
    (tmp_path / "in.bin").write_bytes(raw(*heads.xs))
    (tmp_path / "data.bin").write_bytes(raw(*heads.xs, *heads.ys))
    for args in (("predict", heads.batch, tmp_path / "in.bin", tmp_path / "out.bin"),
                 ("train", heads.batch, STEPS, tmp_path / "data.bin", tmp_path / "l.bin", tmp_path / "w.bin"),
                 ("evaluate", heads.batch, tmp_path / "data.bin", tmp_path / "r.bin")):
        done = run(str(copy), "heads", *args, env=env)
        assert done.returncode == 0 and done.stderr == "", done.stderr
    trained = weights_file.decode((tmp_path / "w.bin").read_bytes(), heads.written.storages)
    for got, expected in zip(trained, heads.trained):
        np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-6)


@pytest.mark.skipif(shutil.which("clang") is None, reason="clang is not installed")
@pytest.mark.parametrize("blas", ["openblas", "none"])
def test_clang_compiles_it_with_strict_warnings(mlp, blas):
    flags = ["-DSK_USE_CBLAS", "-DSK_CBLAS_SGEMM=scipy_cblas_sgemm", "-DSK_CBLAS_DGEMM=scipy_cblas_dgemm",
                  "-DSK_CBLAS_SGEMV=scipy_cblas_sgemv", "-DSK_CBLAS_DGEMV=scipy_cblas_dgemv",
             "-I" + c_export._openblas()["include"]] if blas == "openblas" else []
    for source in ("mlp.c", "main.c"):
        # clang warns from its front end: checking the syntax is the whole strict compile.
        done = subprocess.run(["clang", "-std=c99", *STRICT.split(), *flags, "-fsyntax-only", source],
                              cwd=mlp.dir, capture_output=True, text=True, timeout=300)
        assert done.returncode == 0, done.stderr


def test_the_header_documents_the_api(mlp):
    header = open(mlp.path("mlp.h")).read()
    for declaration in ("int mlp_init(mlp_state **state, const char *weights_path, int64_t max_batch);",
                        "void mlp_free(mlp_state *state);", "size_t mlp_workspace_bytes(int64_t batch);",
                        "int mlp_predict(mlp_state *state, const float *features, float *classes, int64_t batch);",
                        "int mlp_train_step(mlp_state *state, const float *features, const float *classes_target, "
                        "const float *classes_sample_weights, int64_t batch, float *loss, float *metrics);",
                        "const char *mlp_strerror(int status);", "MLP_ERR_WEIGHTS_CHECKSUM", "} mlp_status;"):
        assert declaration in header
    assert "exit(" not in open(mlp.path("mlp.c")).read()


def test_embedded_weights_are_the_models_values(cnn):
    source = open(cnn.path("cnn.c")).read()
    assert not os.path.exists(cnn.path("cnn.weights.bin"))
    assert "static const float sk_aot_value0[" in source


# ----------------------------------------------------------------------------- refusals (no compiler)

@pytest.mark.parametrize("prefix", ["", "2fast", "my model", "a" * 41, "sk", "Py", "int;", "naïve", None, "x\n"])
def test_a_prefix_that_is_not_a_plain_c_identifier_is_refused(prefix):
    with pytest.raises(ValueError, match="prefix"):
        c_export.check_prefix(prefix)


def test_bad_arguments_are_refused_before_anything_is_written(tmp_path):
    model = _mlp()
    target = tmp_path / "never"
    for kwargs, what in (({"blas": "mkl"}, "blas"), ({"weights": "inline"}, "weights"),
                         ({"functions": ("predict", "fit")}, "functions"), ({"prefix": "a-b"}, "prefix")):
        with pytest.raises(ValueError, match=what):
            c_export.export_c(model, str(target), **{"prefix": "ok", **kwargs})
    assert not target.exists()


def test_an_input_of_unknown_length_is_named():
    x = Input((None, 4), name="sequence")
    model = Model(x, Dense(2, name="proj")(x))
    with pytest.raises(ValueError, match="input 'sequence' has an axis of unknown size"):
        c_export.export_c(model, "/nonexistent/never", "seq")


def test_an_op_without_a_kernel_for_the_target_names_its_layer(monkeypatch):
    monkeypatch.setattr(functions, "_has_template", lambda backend, kind: kind != "gemm")
    with pytest.raises(ValueError, match="layer 'hidden' uses the op MatMul, which has no c kernel"):
        c_export.export_c(_mlp(), "/nonexistent/never", "mlp")


def test_the_kernel_table_covers_every_lowering_method():
    methods = {name[len("_lower_"):].lower() for name in dir(schedule._Lowering) if name.startswith("_lower_")}
    assert methods - {"node"} <= {name.lower() for name in functions._HANDLER_KINDS}

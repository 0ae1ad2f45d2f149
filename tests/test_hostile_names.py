"""No user string becomes code: names reach generated C and Python only as identifiers and inert
comments, whatever they hold, on both backends and through a saved model file."""

import ast
import io
import os
import random
import re
import tokenize

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import metrics
from symkeras.layers import Dense, Input, concatenate
from symkeras.models import Model, load_model
from symkeras.optimizers import Adam


@pytest.fixture
def sandbox(tmp_path, monkeypatch):
    """A private cache in tmp_path; afterwards, the working directory is as it was, every file
    written has a plain name (no user text reached a path) and no temporary file is left."""
    cache = tmp_path / "cache"
    monkeypatch.setenv("SYMKERAS_CACHE_DIR", str(cache))
    cwd = os.getcwd()
    before = sorted(os.listdir(cwd))
    yield tmp_path
    assert os.getcwd() == cwd and sorted(os.listdir(cwd)) == before
    for _, folders, files in os.walk(cache):
        for entry in folders + files:
            assert re.fullmatch(r"[A-Za-z0-9_.-]+", entry) and not entry.endswith(".tmp"), entry


def _expected_linear(model, *inputs):
    """A chain of linear Dense layers, computed by NumPy from the model's weights."""
    x = inputs[0]
    weights = model.get_weights()
    for kernel, bias in zip(weights[::2], weights[1::2]):
        x = x @ kernel + bias
    return x


# ----------------------------------------------------------------------------- the exploits

def _exploit_names(folder, backend):
    """Layer names that ran code when the generated source was compiled or imported: each would
    create its marker file."""
    markers = [folder / f"ran_{i}" for i in range(2)]
    if backend == "numpy":                      # a newline or a carriage return ends a # comment
        code = "    __import__('builtins').open('{}', 'w')"
        return [f"newline\n{code.format(markers[0])}\n    #", f"return\r{code.format(markers[1])}\r    #"], markers
    statement = '{{ extern int system(const char *); system(": > {}"); }}'
    return ["splice *\\\n/ " + statement.format(markers[0]) + " /*",       # backslash-newline ends /* */
            "trigraph *??/\n/ " + statement.format(markers[1]) + " /*"], markers   # ??/ is a backslash


def test_layer_names_that_ran_code_do_not(backend, sandbox):
    names, markers = _exploit_names(sandbox, backend)
    x = Input((3,), name="x")
    h = x
    for name in names:
        h = Dense(3, name=name)(h)
    model = Model(x, h)
    model.compile("sgd", "mse", backend=backend)
    data = np.arange(12, dtype="float32").reshape(4, 3)
    np.testing.assert_allclose(model.predict(data), _expected_linear(model, data), rtol=1e-5)
    assert model.predict_function.backend == backend
    assert not [m for m in markers if m.exists()]


def test_layer_names_from_a_model_file_do_not_run(backend, sandbox):
    names, markers = _exploit_names(sandbox, backend)
    x = Input((3,), name="x")
    h = x
    for name in names:
        h = Dense(3, name=name)(h)
    path = sandbox / "dense_only.npz"
    Model(x, h).save(str(path))
    K.clear_session()
    loaded = load_model(str(path))
    loaded.compile("sgd", "mse", backend=backend)
    data = np.ones((2, 3), dtype="float32")
    np.testing.assert_allclose(loaded.predict(data), _expected_linear(loaded, data), rtol=1e-5)
    assert [layer.name for layer in loaded.layers[1:]] == names
    assert not [m for m in markers if m.exists()]


# ----------------------------------------------------------------------------- legal names

@pytest.mark.parametrize("name", ["printf", "malloc", "index"])
def test_functions_named_like_the_c_library(backend, sandbox, name):
    x = K.placeholder((None, 2), name="x")
    f = K.function([x], [x * 2.0], backend=backend, name=name)
    np.testing.assert_array_equal(f([np.ones((3, 2), "float32")])[0], np.full((3, 2), 2.0))


def test_nan_and_infinity_constants(backend, sandbox):
    x = K.placeholder((None, 3), name="x")
    constant = np.array([np.nan, np.inf, -np.inf], dtype="float32")
    f = K.function([x], [x + K.constant(constant)], backend=backend)
    np.testing.assert_array_equal(f([np.ones((2, 3), "float32")])[0], np.ones((2, 3)) + constant)


# ----------------------------------------------------------------------------- fuzz

# Legal but unusual names every run holds, then hostile names drawn from these pieces.
INPUT_NAMES = ["class", "lambda", "None"]
UNUSUAL = ["é", "名前", "x²", "x2", "ﬁ", "fi", "٣", "nul\x00name", "cr\rname", "a" * 5000]
PIECES = ['"', "'", "\\", "*/", "/*", "??/", "??=", "\n", "\r", "\x00", "é", "名前", "\u2028", "\u202e",
          "{{ x }}", "{% raw %}", "{#", "%s", "%", "#", '"""', "'''", " ", "/", "*", "?", "\t", "import os",
          ";", "{", "}", "(", ")", "\\n", "x"]
ACTIVATIONS = ["tanh", "relu", "sigmoid", "softplus"]


def _hostile_names(count, seed=20240607):
    """The unusual names, and the pieces shuffled and cut into the rest: every piece is in some name."""
    rng = random.Random(seed)
    pieces = PIECES * 2
    rng.shuffle(pieces)
    cuts = sorted(rng.sample(range(1, len(pieces)), count - len(UNUSUAL) - 1))
    names = UNUSUAL + ["".join(pieces[a:b]) for a, b in zip([0] + cuts, cuts + [len(pieces)])]
    rng.shuffle(names)
    assert len(set(names)) == count
    return names


def _build(input_names, layer_names, model_name, metric_name):
    """An input and a Dense layer per input name, concatenated, then a Dense layer per remaining
    layer name; the last two are the outputs."""
    inputs = [Input((3,), name=name) for name in input_names]
    branches = [Dense(4, activation="tanh", name=name)(x) for x, name in zip(inputs, layer_names)]
    h = concatenate(branches, name=layer_names[len(inputs)])
    for i, name in enumerate(layer_names[len(inputs) + 1:-2]):
        h = Dense(5, activation=ACTIVATIONS[i % len(ACTIVATIONS)], name=name)(h)
    level = Dense(1, name=layer_names[-2])(h)
    kind = Dense(3, activation="softmax", name=layer_names[-1])(h)
    model = Model(inputs, [level, kind], name=model_name)
    return model, [metrics.MeanAbsoluteError(name=metric_name)]


def _data():
    rng = np.random.RandomState(0)
    x = [rng.normal(size=(48, 3)).astype("float32") for _ in range(len(INPUT_NAMES) + 1)]
    y = [rng.normal(size=(48, 1)).astype("float32"), np.eye(3, dtype="float32")[rng.randint(0, 3, 48)]]
    return x, y


def _run(model, level_metrics, backend, initial_weights, folder):
    model.set_weights(initial_weights)
    model.compile(Adam(learning_rate=0.01), ["mse", "categorical_crossentropy"],
                  metrics=[level_metrics, ["accuracy"]], backend=backend)
    x, y = _data()
    history = model.fit(x, y, batch_size=16, epochs=2, shuffle=False, verbose=0)
    results = {"history": [history.history[key] for key in model.metrics_names], "predict": model.predict(x)}
    folder.mkdir()
    path = folder / "model.npz"
    model.save(str(path))
    K.clear_session()
    loaded = load_model(str(path))
    loaded.compile(Adam(learning_rate=0.01), ["mse", "categorical_crossentropy"], backend=backend)
    results["loaded"] = loaded.predict(x)
    sources = [fn.source for fn in (model.train_function, model.predict_function)]
    for fn in (model.train_function, model.predict_function, loaded.predict_function):
        assert fn.backend == backend
        assert os.path.exists(fn.path) and fn.path.startswith(os.environ["SYMKERAS_CACHE_DIR"])
    return results, sources


def _python_tokens(source):
    """(type, text) of the module's code tokens: comments and the module docstring checked and left out."""
    tokens = [t for t in tokenize.generate_tokens(io.StringIO(source).readline)
              if t.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT)]
    docstring = tokens[1] if tokens[0].type == tokenize.COMMENT else tokens[0]
    assert docstring.type == tokenize.STRING and docstring.string.startswith('"""')
    for token in tokens:
        if token.type == tokenize.COMMENT or token is docstring:
            assert all(" " <= c <= "~" for c in token.string.replace("\n", "")), token.string
            assert "\\" not in token.string
    return [(t.type, t.string) for t in tokens if t.type != tokenize.COMMENT and t is not docstring]


def _c_tokens(source):
    """The C source's tokens outside comments, after checking each comment ends where it should."""
    assert all(" " <= c <= "~" for c in source.replace("\n", "")), "non-ASCII or control character"
    assert "\\" not in source and "??" not in source          # no line splice, no trigraph
    code, at = [], 0
    while True:
        start = source.find("/*", at)
        if start < 0:
            code.append(source[at:])
            break
        end = source.find("*/", start + 2)
        assert "/*" not in source[start + 2:end]
        code.append(source[at:start])
        at = end + 2
    return re.findall(r"[A-Za-z_]\w*|\d\w*|\S", " ".join(code))


def _same_code_but_names(hostile, plain, tokens):
    """The hostile source differs from the plain one in identifiers only, and those are ASCII."""
    ours, theirs = tokens(hostile), tokens(plain)
    assert len(ours) == len(theirs)
    for mine, twin in zip(ours, theirs):
        mine_text, twin_text = (mine[1], twin[1]) if isinstance(mine, tuple) else (mine, twin)
        if re.fullmatch(r"[A-Za-z_]\w*", twin_text):
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", mine_text), mine_text
        else:
            assert mine_text == twin_text


def test_hostile_names_build_fit_save_and_load(backend, sandbox):
    names = _hostile_names(16)
    inputs, layers, metric = INPUT_NAMES + names[:1], names[1:-1], names[-1]
    twin, twin_metrics = _build([f"in_{i}" for i in range(len(inputs))],
                                [f"layer_{i}" for i in range(len(layers))], "plain_model", "plain_metric")
    initial = twin.get_weights()
    expected, plain_sources = _run(twin, twin_metrics, backend, initial, sandbox / "plain")
    K.clear_session()
    # Longer than a file name: the NumPy module's file is named after the function.
    model, level_metrics = _build(inputs, layers, "model\n" * 1000, metric)
    results, sources = _run(model, level_metrics, backend, initial, sandbox / "hostile")

    for key in ("history", "predict", "loaded"):
        np.testing.assert_equal(results[key], expected[key], err_msg=key)
    for source, plain_source in zip(sources, plain_sources):
        if backend == "numpy":
            ast.parse(source)
            _same_code_but_names(source, plain_source, _python_tokens)
        else:
            _same_code_but_names(source, plain_source, _c_tokens)

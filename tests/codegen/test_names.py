"""names: the one way user strings reach generated source. No compiler needed."""

import ast
import builtins
import keyword
import re

import numpy as np
import pytest

import symkeras.backend as K
from symkeras.codegen import names
from symkeras.runtime.function import render_source
from symkeras.layers import Dense, Dropout, Input
from symkeras.models import Model

IDENTIFIER = re.compile(r"[A-Za-z][A-Za-z0-9_]*\Z")

HOSTILE = [
    "", " ", "a b", "a-b", "a_b", "é", "e\u0301", "名前", "名前/kernel", "x²", "x2", "ﬁ", "fi", "٣", "3",
    "x\x00y", "x\ry", "x\ny", "x\u2028y", "\u202eevil", "*/", "/*", "??/", "*??/\n/", "*\\\n/", '"""',
    "'''", "\\", "{{ x }}", "{% if 1 %}", "%s%d", "#", "a" * 5000, "a" * 5000 + "b", "_x", "__init__",
    "sk_t0", "_sk_random", "Py_None", "EOF", "NULL", "size_t", "1abc", "dense/1", "\udcff",
]


# ----------------------------------------------------------------------------- identifiers

@pytest.mark.parametrize("plain", ["dense_1", "x", "X", "signal", "time", "index", "level_kernel",
                                   "Conv2D_1"])
def test_plain_names_are_kept(plain):
    assert names.identifier(plain) == plain


def test_scope_separator_reads_as_underscore():
    assert names.identifier("dense_1/kernel") == "dense_1_kernel"


@pytest.mark.parametrize("text", HOSTILE)
def test_identifiers_are_ascii_bounded_and_unreserved(text):
    for make in (names.identifier, names.function_name):
        name = make(text)
        assert IDENTIFIER.match(name), name
        assert len(name) <= names.MAX_IDENTIFIER + 2
        assert not names.reserved(name)
        assert name == make(text)                     # stable
        assert make(name) == name                     # a second pass changes nothing


def test_different_names_never_share_an_identifier():
    made = {}
    for text in HOSTILE:
        made.setdefault(names.identifier(text), set()).add(text)
    shared = {name: texts for name, texts in made.items() if len(texts) > 1}
    assert not shared


def test_reserved_words_are_changed():
    for word in names.C_RESERVED | names.PYTHON_RESERVED:
        if IDENTIFIER.match(word):
            assert names.identifier(word) != word
        assert not names.reserved(names.identifier(word))


@pytest.mark.parametrize("word", ["printf", "malloc", "free", "index", "time", "system", "exit", "abs",
                                  "main", "signal"])
def test_function_names_avoid_the_c_library(word):
    assert word in names.C_LIBRARY
    assert names.function_name(word) != word


def test_python_lists_are_complete():
    for word in keyword.kwlist + keyword.softkwlist + dir(builtins):
        assert names.python_reserved(word), word


@pytest.mark.parametrize("word", ["errno", "stdin", "assert", "int64_t", "uint8_t", "size_t", "EOF",
                                  "NULL", "INFINITY", "SK_ROUND64", "sk_ws", "cblas_sgemm", "PyObject",
                                  "_mm_getcsr", "expf", "memcpy", "batch", "args", "workspace"])
def test_c_names_any_local_would_break(word):
    assert names.c_reserved(word)


def test_unique_names_number_repeats_and_skip_taken_names():
    unique = names.UniqueNames(taken={"out"})
    assert [unique("x"), unique("x"), unique("x_1"), unique("out")] == ["x", "x_1", "x_1_1", "out_1"]
    assert len({unique(text) for text in HOSTILE}) == len(HOSTILE)


# ----------------------------------------------------------------------------- comments

def _c_preprocess_comment_text(source):
    """What a C compiler's first phases make of ``source``: trigraphs replaced, lines spliced."""
    trigraphs = {"=": "#", "(": "[", "/": "\\", ")": "]", "'": "^", "<": "{", "!": "|", ">": "}", "-": "~"}
    source = re.sub(r"\?\?([=(/)'<!>-])", lambda m: trigraphs[m.group(1)], source)
    return source.replace("\\\n", "")


@pytest.mark.parametrize("text", HOSTILE + ["".join(HOSTILE)])
def test_c_comments_cannot_end_early(text):
    comment = names.c_comment(text)
    assert all(" " <= c <= "~" for c in comment)
    for context in ("/* {} */", "/*{}*/", "/* {}: gemm */", "x/*{}*/y"):
        line = _c_preprocess_comment_text(context.format(comment))
        assert line.count("/*") == 1 and line.count("*/") == 1 and line.index("/*") < line.index("*/")
        assert line.rstrip("y").endswith("*/")


@pytest.mark.parametrize("text", HOSTILE + ["".join(HOSTILE)])
def test_python_comments_and_docstrings_stay_inert(text):
    comment = names.python_comment(text)
    assert all(" " <= c <= "~" for c in comment)
    tree = ast.parse(f"x = 1  # {comment}\ny = 2\n")
    assert [node.targets[0].id for node in tree.body] == ["x", "y"]
    docstring = ast.parse(f'"""{comment}"""\n').body[0].value.value
    assert docstring == comment


def test_comments_keep_plain_text_and_show_what_they_replaced():
    assert names.c_comment("dense_1: gemm t0[batch,64] = x @ dense_1_kernel") == \
        "dense_1: gemm t0[batch,64] = x @ dense_1_kernel"
    assert names.python_comment("dense_1 (None, 64)") == "dense_1 (None, 64)"
    assert names.c_comment("é\n") == "<U+00E9><U+000A>"
    assert len(names.c_comment("名" * 5000)) <= names.MAX_COMMENT


# ----------------------------------------------------------------------------- the templates' own names

def _model_with_every_helper():
    K.clear_session()
    x = Input((4,), name="u_in")
    h = Dense(6, activation="sigmoid", name="u_a")(x)
    h = Dropout(0.5, seed=1, name="u_drop")(h)
    h = Dense(5, activation="softplus", name="u_b")(h)
    y = Dense(3, activation="softmax", name="u_out")(h)
    model = Model(x, y, name="u_model")
    model.compile("adam", "categorical_crossentropy", metrics=["accuracy"], backend="numpy")
    return model


def _sources(model, backend):
    out = {}
    for kind in ("train", "test", "predict"):
        inputs, outputs, updates, fn_name = model.function_spec(kind)
        out[kind] = render_source(K.function_graph(inputs, outputs, updates, fn_name), backend)
    return out


def test_every_name_the_numpy_module_defines_is_reserved():
    """A user name equal to one of these would shadow it: the reserved list must hold them all."""
    for source in _sources(_model_with_every_helper(), "numpy").values():
        tree = ast.parse(source)
        function = next(node for node in tree.body if isinstance(node, ast.FunctionDef)
                        and node.name.startswith("u_model"))
        user = {a.arg for a in function.args.args} - {"batch", "workspace"} | {function.name}
        defined = {node.name for node in tree.body if isinstance(node, ast.FunctionDef)}
        defined |= {t.id for node in tree.body if isinstance(node, ast.Assign) for t in node.targets
                    if isinstance(t, ast.Name)}
        used_in_function = {node.id for node in ast.walk(function) if isinstance(node, ast.Name)}
        buffers = {name for name in defined | used_in_function if re.fullmatch(r"(const|t)\d+", name)}
        for name in (defined | used_in_function) - user - buffers:
            assert names.python_reserved(name), name
        assert {"batch", "workspace"} <= names.PYTHON_RESERVED


def test_every_name_the_c_function_uses_is_reserved():
    generated = set()
    for source in _sources(_model_with_every_helper(), "c").values():
        code = re.sub(r"/\*.*?\*/", " ", source, flags=re.S)
        symbol = re.search(r"^int (\w+)\(const", code, flags=re.M).group(1)
        body = code[code.index(f"int {symbol}(const"):]
        fields = set(re.findall(r"args->(\w+)", body)) - {"batch"}
        buffers = set(re.findall(r"\b(t\d+|const\d+|out\d*)\b", body))
        macros = set(re.findall(r"#define (\w+)", code))
        user = fields | buffers | {symbol, symbol + "_args"}
        generated |= (set(re.findall(r"\b[A-Za-z_]\w*\b", body)) | macros) - user
    assert {"batch", "sk_ws", "SK_ROUND64", "float", "int64_t", "expf"} <= generated
    for name in generated:
        assert names.c_reserved(name), name


def test_nan_and_infinity_constants_render_as_numpy_values():
    K.clear_session()
    x = K.placeholder((None, 3), name="x")
    source = render_source(K.function_graph([x], [x + K.constant(np.array([np.nan, np.inf, -np.inf]))]),
                           "numpy")
    assert "np.nan" in source and "np.inf" in source and "-np.inf" in source
    ast.parse(source)

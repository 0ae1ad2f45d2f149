"""The generated code traces back to the model: every kernel names the layer (or optimizer, or
gradient) it comes from, and every argument has the model's name for it."""

import glob
import os
import re
import sys

import pytest

from symkeras.codegen import schedule
from symkeras.ir.passes import optimize

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
GENERATED = sorted(glob.glob(os.path.join(ROOT, "generated", "**", "*.*"), recursive=True))

# A scope is one path (dense_1/kernel) or, for loops merged into one, several joined by "; ".
SCOPE = re.compile(r"[A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*(; [A-Za-z0-9_.\-]+(/[A-Za-z0-9_.\-]+)*)*\Z")
GENERIC = re.compile(r"(out|output|t|tmp|const|input|variable|v|x)\d*\Z")


def _function_body(text, suffix):
    start = re.search(r"^def \w+\(batch," if suffix == ".py" else r"^int \w+\(const \w+_args \*args", text, re.M)
    assert start, "no generated function found"
    return text[start.end():]


def _kernel_comments(path):
    """(scope, rest) of each kernel's comment, from the text users read."""
    text = open(path).read()
    body = _function_body(text, os.path.splitext(path)[1])
    if path.endswith(".py"):
        comments = re.findall(r"^    # (.*)$", body, re.M)
    else:
        comments = [c for c in re.findall(r"^    /\* (.*) \*/$", body, re.M) if c != "temporaries in the workspace"]
    assert comments, f"{path}: no kernel comments found"
    return [c.partition(": ")[::2] for c in comments]


def _arguments(path):
    text = open(path).read()
    if path.endswith(".py"):
        signature = re.search(r"^def \w+\(batch, (.*), workspace\):$", text, re.M).group(1)
        return signature.split(", ")
    struct = re.search(r"typedef struct \{\n(.*?)\n\} \w+_args;", text, re.S).group(1)
    return [m.group(1) for m in re.finditer(r"\*(\w+);", struct)]


def test_the_generated_directory_has_sources():
    assert {os.path.splitext(p)[1] for p in GENERATED} == {".c", ".py"}


@pytest.mark.parametrize("path", GENERATED, ids=lambda p: os.path.relpath(p, ROOT))
def test_every_kernel_names_its_scope(path):
    unscoped = [f"{scope}: {rest}" for scope, rest in _kernel_comments(path) if not SCOPE.match(scope)]
    assert not unscoped, f"{path}: kernels without a scope:\n" + "\n".join(unscoped)


@pytest.mark.parametrize("path", GENERATED, ids=lambda p: os.path.relpath(p, ROOT))
def test_no_argument_has_a_generic_name(path):
    generic = [name for name in _arguments(path) if GENERIC.match(name)]
    assert not generic, f"{path}: arguments with generic names: {generic}"


@pytest.mark.parametrize("path", GENERATED, ids=lambda p: os.path.relpath(p, ROOT))
def test_kernel_comments_read_as_math_over_named_operands(path):
    raw = [rest for _, rest in _kernel_comments(path)
           if re.search(r"Piecewise|\bEq\(|\bAbs\(|\bx\d+\b|= f\(", rest)]
    assert not raw, f"{path}: comments in raw SymPy or without their operands' names:\n" + "\n".join(raw)


def test_scopes_survive_the_whole_pipeline():
    """The same check on the lowered programs of the reference models, kernel by kernel."""
    sys.path.insert(0, os.path.join(ROOT, "tools"))
    try:
        import regenerate_generated
        models = regenerate_generated.reference_models()
    finally:
        sys.path.remove(os.path.join(ROOT, "tools"))
    for model in models.values():
        for kind in ("train", "test", "predict"):
            graph = model.function_graph(kind)
            program = schedule.lower(optimize(graph), graph.name)
            assert all(SCOPE.match(k.scope) for k in program.kernels), \
                [(k.kind, k.scope) for k in program.kernels if not SCOPE.match(k.scope)]
            assert [b.name for b in program.outputs] == model.function_output_names(kind)

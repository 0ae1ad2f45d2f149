"""The cache of rendered functions is data: shapes are stored as trees, nothing read back is
evaluated, a malformed entry is a miss; the NumPy backend runs the source it rendered."""

import builtins
import json
import os
import re

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import version
from symkeras.runtime import artifact, graph_cache
from symkeras.codegen import backends
from symkeras.codegen.numpy import runner as numpy_runner
from symkeras.runtime.function import GeneratedFunction
from symkeras.ir import dims

PAYLOAD = "__import__('builtins').__setattr__('SK_ARTIFACT_PAYLOAD', 1) or batch"


def _graph(name, units=2):
    x = K.placeholder((None, 3), name="x")
    w = K.variable(np.arange(3 * units, dtype="float32").reshape(3, units), name="w")
    flat = K.reshape(K.dot(x, w), (-1,))                  # a (batch * units,) output
    return K.function_graph([x], [K.dot(x, w), flat], name=name)


def _stored(backend, name):
    """Build once; return the graph's cache key and the artifact stored under it."""
    graph = _graph(name)
    f = GeneratedFunction(graph, backend)
    key = graph_cache.graph_key(graph, f.backend, version.__version__)
    return key, graph_cache.load(key)


def test_shapes_are_stored_as_trees_of_allow_listed_nodes(backend):
    _, stored = _stored(backend, "stored_shapes")
    text = json.dumps([stored["inputs"], stored["outputs"], stored["workspace"]])
    assert "batch" in text and "*" not in text          # "batch" is a node, never part of an expression
    assert [artifact.decode_shape(shape) for shape, _ in stored["outputs"]] == [(dims.BATCH, 2), (2 * dims.BATCH,)]


def _tamper_shape(a):
    a["outputs"][0][0] = [PAYLOAD, "2"]


def _tamper_variables(a):
    a["variables"] = ["0"]


def _tamper_input(a):
    a["inputs"][0] = a["inputs"][0][:2]


def _tamper_missing(a):
    del a["workspace"]


def _tamper_symbol(a):
    a["symbol"] = "f; import os"


def _tamper_dimension(a):
    a["workspace"] = [["float32", ["call", "os.system", "true"]]]


@pytest.mark.parametrize("tamper", [_tamper_shape, _tamper_variables, _tamper_input, _tamper_missing,
                                    _tamper_symbol, _tamper_dimension])
def test_a_malformed_cached_artifact_is_a_miss(backend, tamper):
    name = "planted_" + tamper.__name__
    key, stored = _stored(backend, name)
    tamper(stored)
    graph_cache.store(key, stored)
    f = GeneratedFunction(_graph(name), backend)
    assert not hasattr(builtins, "SK_ARTIFACT_PAYLOAD")
    x = np.ones((4, 3), "float32")
    out, flat = f([x])
    np.testing.assert_allclose(out, x @ np.arange(6, dtype="float32").reshape(3, 2))
    assert flat.shape == (8,)
    stored_again = artifact.decode(graph_cache.load(key), backends.get(f.backend), 1)
    assert stored_again is not None and stored_again.source == f.source     # rendered again and stored


def test_stored_dimensions_decode_without_parsing_text():
    for bad in [PAYLOAD, "2*batch", True, 1.5, ["add", 1], ["pow", "batch", 99], ["call", "eval", "1"], 2 ** 80,
                ["mul"] + ["batch"] * 20]:
        with pytest.raises(ValueError):
            dims.decode(bad)
    for d in [7, dims.BATCH, 3 * dims.BATCH + 64, dims.BATCH ** 2, dims.BATCH * 5 / 2]:
        assert dims.decode(json.loads(json.dumps(dims.encode(d)))) == d


def test_shape_functions_are_built_without_eval(monkeypatch):
    def no_eval(*args, **kwargs):
        raise AssertionError("eval called")
    monkeypatch.setattr(builtins, "eval", no_eval)
    shape_of = dims.shape_function((3 * dims.BATCH + 1, 2, dims.BATCH ** 2))
    assert shape_of(4) == (13, 2, 16)
    assert dims.shape_function((dims.BATCH, 5))(7) == (7, 5)


def test_numpy_backend_runs_the_source_it_rendered_not_the_file(monkeypatch):
    f = GeneratedFunction(_graph("numpy_file"), "numpy")
    with open(f.path) as handle:
        source = handle.read()
    assert source == f.source
    with open(f.path, "a") as handle:
        handle.write("\nraise RuntimeError('the file was executed')\n")
    monkeypatch.setattr(numpy_runner, "_read", lambda path: source)     # the check saw the right bytes
    again = GeneratedFunction(_graph("numpy_file"), "numpy")
    assert again([np.ones((2, 3), "float32")])[0].shape == (2, 2)
    assert not os.path.exists(os.path.join(os.path.dirname(f.path), "__pycache__"))


def test_generated_numpy_module_evaluates_no_text():
    f = GeneratedFunction(_graph("numpy_regions"), "numpy")
    assert not re.search(r"\b(eval|exec)\(", f.source)

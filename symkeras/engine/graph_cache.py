"""Cache of rendered functions keyed by the graph's structure.

Two graphs with the same structure (ops and their attributes, shapes, dtypes, names and
layer scopes — not variable values) generate the same code. The key of a graph is a hash of
that structure, so a warm build skips the passes, the lowering and the rendering, and goes
straight to the (cached) compiled module. Entries are small JSON files written atomically.
"""

import json
import os

import sympy

from symkeras.codegen import cache, templates
from symkeras.ir import ops as O
from symkeras.ir.node import toposort


def graph_key(graph, backend, version):
    """A hash of everything in ``graph`` that the generated code depends on."""
    order = toposort(graph.roots)
    index = {id(n): i for i, n in enumerate(order)}
    inputs = {id(x): i for i, x in enumerate(graph.inputs)}
    parts = [version, templates.TEMPLATE_VERSION, backend, graph.name]
    for n in order:
        op = n.op
        if isinstance(op, O.Placeholder):
            props = ("input", inputs.get(id(n)))
        elif isinstance(op, O.Variable):
            props = ("variable", op.storage.name)
        else:
            props = tuple(sympy.srepr(p) if isinstance(p, sympy.Basic) else repr(p) for p in op.props())
        parts.append((type(op).__name__, props, tuple(index[id(x)] for x in n.inputs), str(n.shape), n.dtype,
                      n.name, n.scope))
    parts.append(("inputs", [index.get(id(x)) for x in graph.inputs]))
    parts.append(("outputs", [index[id(x)] for x in graph.outputs]))
    parts.append(("assigns", [index[id(x)] for x in graph.assigns]))
    return cache.make_key(*parts)


def _path(key):
    return os.path.join(cache.cache_root(), "graphs", key[:2], key + ".json")


def load(key):
    try:
        with open(_path(key)) as f:
            return json.load(f)
    except (OSError, ValueError):
        return None


def store(key, artifact):
    path = _path(key)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as f:
        json.dump(artifact, f)
    os.replace(tmp, path)

"""The immutable tensor graph: ``Op`` (identity by its attributes) and ``Node``.

An op declares the attributes that make it what it is in ``__props__``; equality and
hashing follow from them, so structural CSE, stable names and cache keys come free.
A node is one application of an op to input nodes, with its inferred shape and dtype.

A node is structure only. Its Python operators (``x + y``, ``-x``, ``abs(x)``, ``x[i]``) are
defined in ``build.py``, beside the constructors they stand for, and installed on ``Node`` when
that module loads; so this module needs nothing of ``ops`` or ``build``, and the IR imports one
way: node → ops → build. ``symkeras.ir`` imports ``build``, and any IR module's import runs the
package first, so every node has them.
"""

import contextlib
import itertools
import threading

import numpy as np

from symkeras.ir import dims

DTYPES = ("float32", "float64", "int32", "int64", "bool")

_scope = threading.local()
_node_ids = itertools.count()


@contextlib.contextmanager
def name_scope(name):
    """Nodes created inside carry ``name`` (a layer name) for readable generated code."""
    stack = getattr(_scope, "stack", [])
    _scope.stack = stack + [str(name)]
    try:
        yield
    finally:
        _scope.stack = stack


@contextlib.contextmanager
def exact_scope(path):
    """Nodes created inside carry exactly ``path`` (``a/b``), whatever scopes are open around."""
    stack = getattr(_scope, "stack", [])
    _scope.stack = [path] if path else []
    try:
        yield
    finally:
        _scope.stack = stack


def scope_of(node):
    """Nodes created inside take ``node``'s scope: what a rewrite builds in place of ``node``
    keeps telling which layer it comes from."""
    return exact_scope(node.scope)


def gradient_scope(node):
    """The scope of the nodes that compute the gradient of ``node``: ``gradients/<its scope>``."""
    return exact_scope("gradients/" + node.scope if node.scope else "gradients")


def current_scope():
    return "/".join(getattr(_scope, "stack", []))


def as_dtype(dtype):
    name = np.dtype(dtype).name
    if name not in DTYPES:
        raise TypeError(f"dtype: expected one of {DTYPES}, got {dtype!r}")
    return name


class Op:
    """Base class of all IR operations."""

    __props__ = ()
    differentiable = True

    def props(self):
        return tuple(getattr(self, p) for p in self.__props__)

    def __eq__(self, other):
        return type(self) is type(other) and self.props() == other.props()

    def __hash__(self):
        return hash((type(self).__name__, self.props()))

    def __repr__(self):
        args = ", ".join(f"{p}={getattr(self, p)!r}" for p in self.__props__)
        return f"{type(self).__name__}({args})"

    def infer(self, inputs):
        """Return (shape, dtype) of the output for these input nodes."""
        raise NotImplementedError

    def __call__(self, *inputs, name=None):
        return Node(self, inputs, name=name)


class Node:
    """One value in the graph. Immutable after construction."""

    __slots__ = ("op", "inputs", "shape", "dtype", "name", "scope", "uid")

    def __init__(self, op, inputs, name=None, shape=None, dtype=None):
        inputs = tuple(inputs)
        for x in inputs:
            if not isinstance(x, Node):
                raise TypeError(f"{type(op).__name__}: inputs must be IR nodes, got {type(x).__name__}")
        if shape is None:
            shape, dtype = op.infer(inputs)
        object.__setattr__(self, "op", op)
        object.__setattr__(self, "inputs", inputs)
        object.__setattr__(self, "shape", dims.as_shape(shape))
        object.__setattr__(self, "dtype", as_dtype(dtype))
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "scope", current_scope())
        object.__setattr__(self, "uid", next(_node_ids))

    def __setattr__(self, key, value):
        raise AttributeError("IR nodes are immutable")

    @property
    def ndim(self):
        return len(self.shape)

    def __repr__(self):
        label = f" {self.name!r}" if self.name else ""
        return f"<Node{label} {self.op!r} shape={dims.to_keras(self.shape)} {self.dtype}>"


def toposort(outputs):
    """Nodes reachable from ``outputs``, every node after its inputs, in a stable order."""
    order, seen = [], set()
    for root in outputs:
        stack = [(root, False)]
        while stack:
            node, expanded = stack.pop()
            if expanded:
                order.append(node)
                continue
            if id(node) in seen:
                continue
            seen.add(id(node))
            stack.append((node, True))
            for x in reversed(node.inputs):
                if id(x) not in seen:
                    stack.append((x, False))
    return order


def consumers(order):
    """Map id(node) → list of nodes that read it."""
    users = {id(n): [] for n in order}
    for n in order:
        for x in n.inputs:
            users[id(x)].append(n)
    return users

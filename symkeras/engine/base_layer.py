"""The Layer base class: naming, weights, and calls on Keras tensors that record the graph."""

import collections
import re

import numpy as np

from symkeras import config
from symkeras.engine.keras_tensor import KerasTensor, is_keras_tensor
from symkeras.ir import dims
from symkeras.ir import ops as O
from symkeras.ir.node import Node, name_scope

_name_uids = collections.defaultdict(int)

ALLOWED_LAYER_KWARGS = {"input_shape", "batch_input_shape", "batch_size", "dtype", "name", "trainable",
                        "weights", "input_dtype"}


def clear_session():
    """Reset the automatic layer and model name counters."""
    _name_uids.clear()


def to_snake_case(name):
    intermediate = re.sub("(.)([A-Z][a-z0-9]+)", r"\1_\2", name)
    insecure = re.sub("([a-z])([A-Z])", r"\1_\2", intermediate).lower()
    return "private" + insecure if insecure[0] == "_" else insecure


def unique_name(base, zero_based=True):
    """tf-keras naming: 'dense', 'dense_1', ... (zero-based); inputs use 'input_1', ... ."""
    count = _name_uids[base]
    _name_uids[base] += 1
    if zero_based:
        return base if count == 0 else f"{base}_{count}"
    return f"{base}_{count + 1}"


def to_list(x):
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


def unpack_singleton(xs):
    return xs[0] if len(xs) == 1 else xs


class LayerNode:
    """One call of a layer on Keras tensors (Keras's ``Node``)."""

    def __init__(self, layer, inputs, outputs, arguments):
        self.layer, self.input_tensors, self.output_tensors = layer, inputs, outputs
        self.arguments = arguments
        self.inbound = [t._keras_history for t in inputs]


class Layer:
    """Base class of every layer. Subclasses implement ``build(input_shape)`` and
    ``call(inputs, **kwargs)`` (which builds IR nodes, never numbers)."""

    def __init__(self, trainable=True, name=None, dtype=None, **kwargs):
        unknown = set(kwargs) - ALLOWED_LAYER_KWARGS
        if unknown:
            raise TypeError(f"Keyword argument not understood: {sorted(unknown)[0]!r}")
        self.name = name or unique_name(to_snake_case(type(self).__name__))
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"name: expected a non-empty string, got {name!r}")
        self._trainable = bool(trainable)
        self.dtype = np.dtype(dtype or kwargs.get("input_dtype") or config.floatx()).name
        self.built = False
        self._trainable_weights, self._non_trainable_weights = [], []
        self._weight_regularizers = []
        self._inbound_nodes, self._outbound_nodes = [], []
        self.activity_regularizer = None
        self._initial_weights = kwargs.get("weights")
        if "batch_input_shape" in kwargs or "input_shape" in kwargs:
            if "batch_input_shape" in kwargs:
                batch_input_shape = tuple(kwargs["batch_input_shape"])
            else:
                batch_input_shape = (kwargs.get("batch_size"),) + tuple(kwargs["input_shape"])
            self._batch_input_shape = batch_input_shape
        self.supports_masking = False

    # ------------------------------------------------------------------ weights
    @property
    def trainable(self):
        return self._trainable

    @trainable.setter
    def trainable(self, value):
        self._trainable = bool(value)

    @property
    def trainable_weights(self):
        return list(self._trainable_weights) if self.trainable else []

    @property
    def non_trainable_weights(self):
        if self.trainable:
            return list(self._non_trainable_weights)
        return self._trainable_weights + self._non_trainable_weights

    @property
    def weights(self):
        return self.trainable_weights + self.non_trainable_weights

    def add_weight(self, name, shape, dtype=None, initializer=None, regularizer=None, trainable=True,
                   constraint=None):
        from symkeras import initializers, regularizers, constraints
        initializer = initializers.get(initializer or "glorot_uniform")
        value = np.asarray(initializer(tuple(shape), dtype=dtype or self.dtype), dtype=dtype or self.dtype)
        storage = O.VariableStorage(value, f"{self.name}/{name}")
        weight = O.variable(storage)
        storage.constraint = constraints.get(constraint)
        storage.trainable = bool(trainable)
        (self._trainable_weights if trainable else self._non_trainable_weights).append(weight)
        regularizer = regularizers.get(regularizer)
        if regularizer is not None:
            self._weight_regularizers.append((weight, regularizer))
        return weight

    def get_weights(self):
        return [w.op.storage.value.copy() for w in self.weights]

    def set_weights(self, weights):
        params = self.weights
        weights = list(weights)
        if len(weights) != len(params):
            raise ValueError(f"Layer {self.name!r}: set_weights expected a list of {len(params)} arrays, "
                             f"got {len(weights)}")
        for p, w in zip(params, weights):
            w = np.asarray(w)
            if w.shape != p.shape:
                raise ValueError(f"Layer {self.name!r}: weight {p.op.storage.name!r} has shape {p.shape}, "
                                 f"the value given has shape {w.shape}")
        for p, w in zip(params, weights):
            p.op.storage.value[...] = w

    def count_params(self):
        if not self.built:
            raise ValueError(f"You tried to call count_params on layer {self.name!r}, but it isn't built yet.")
        return int(sum(np.prod(w.shape) for w in self.weights))

    @property
    def losses(self):
        """Weight penalties (scalar IR nodes); activity penalties are added per call by the model."""
        return [reg(w) for w, reg in self._weight_regularizers]

    # ------------------------------------------------------------------ building and calling
    def build(self, input_shape):
        self.built = True

    def call(self, inputs, **kwargs):
        return inputs

    def compute_output_shape(self, input_shape):
        return input_shape

    def _maybe_build(self, inputs):
        if not self.built:
            shapes = [dims.to_keras(x.shape) for x in inputs]
            self.build(unpack_singleton(shapes))
            self.built = True
            if self._initial_weights is not None:
                self.set_weights(self._initial_weights)
                self._initial_weights = None

    def __call__(self, inputs, **kwargs):
        flat = to_list(inputs)
        for x in flat:
            if not isinstance(x, Node):
                raise TypeError(f"Layer {self.name!r} was called on {type(x).__name__}; "
                                "expected a symbolic tensor (from Input or another layer)")
        self._maybe_build(flat)
        with name_scope(self.name):
            outputs = self.call(inputs, **kwargs)
        if not all(is_keras_tensor(x) for x in flat):
            return outputs          # a call inside another layer's replay: plain IR
        out_list = to_list(outputs)
        index = len(self._inbound_nodes)
        wrapped = [KerasTensor.wrap(o, self, index, i) for i, o in enumerate(out_list)]
        node = LayerNode(self, flat, wrapped, kwargs)
        self._inbound_nodes.append(node)
        for x in flat:
            x._keras_history[0]._outbound_nodes.append(node)
        return wrapped if isinstance(outputs, (list, tuple)) else wrapped[0]

    def apply(self, inputs, training=False, losses=None, **kwargs):
        """Run ``call`` on plain IR nodes (a replay of the graph); activity penalties go to ``losses``."""
        self._maybe_build(to_list(inputs))
        with name_scope(self.name):
            if self._accepts_training():
                kwargs.setdefault("training", training)
            outputs = self.call(inputs, **kwargs)
            if losses is not None and self.activity_regularizer is not None:
                losses.extend(self.activity_regularizer(o) for o in to_list(outputs))
        return outputs

    def _accepts_training(self):
        import inspect
        return "training" in inspect.signature(self.call).parameters

    # ------------------------------------------------------------------ introspection
    def _node_attr(self, attr, node_index, what):
        if not self._inbound_nodes:
            raise AttributeError(f"Layer {self.name} is not connected, no {what} to return.")
        return unpack_singleton(getattr(self._inbound_nodes[node_index], attr))

    @property
    def input(self):
        return self._node_attr("input_tensors", 0, "input")

    @property
    def output(self):
        return self._node_attr("output_tensors", 0, "output")

    @property
    def input_shape(self):
        shapes = [dims.to_keras(t.shape) for t in to_list(self.input)]
        return unpack_singleton(shapes)

    @property
    def output_shape(self):
        shapes = [dims.to_keras(t.shape) for t in to_list(self.output)]
        return unpack_singleton(shapes)

    def get_config(self):
        config_ = {"name": self.name, "trainable": self.trainable, "dtype": self.dtype}
        if hasattr(self, "_batch_input_shape"):
            config_["batch_input_shape"] = self._batch_input_shape
        return config_

    @classmethod
    def from_config(cls, config_):
        return cls(**config_)

    def __repr__(self):
        return f"<{type(self).__name__} name={self.name}>"

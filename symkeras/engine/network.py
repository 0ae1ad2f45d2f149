"""The functional graph of layers: a Network maps its inputs to its outputs through layer
calls, orders its layers as Keras does, and replays those calls on IR nodes."""

import json
import warnings

import numpy as np

from symkeras.engine.base_layer import Layer, to_list, unique_name, unpack_singleton
from symkeras.engine.input_layer import InputLayer
from symkeras.engine.keras_tensor import is_keras_tensor
from symkeras.ir import dims


class Network(Layer):
    """A directed acyclic graph of layer calls (the functional ``Model`` without training)."""

    def __init__(self, inputs=None, outputs=None, name=None, **kwargs):
        if "input" in kwargs or "output" in kwargs:
            warnings.warn("Model: the keywords `input`/`output` are deprecated; use `inputs`/`outputs`",
                          UserWarning, stacklevel=2)
            inputs = kwargs.pop("input", inputs)
            outputs = kwargs.pop("output", outputs)
        trainable = kwargs.pop("trainable", True)
        if kwargs:
            raise TypeError(f"Keyword argument not understood: {sorted(kwargs)[0]!r}")
        super().__init__(name=name or unique_name(type(self).__name__.lower()), trainable=trainable)
        self._is_graph_network = False
        self._layers = []
        if inputs is not None or outputs is not None:
            self._init_graph_network(inputs, outputs)

    # ------------------------------------------------------------------ graph construction
    def _init_graph_network(self, inputs, outputs):
        self._single_input = not isinstance(inputs, (list, tuple))
        self._single_output = not isinstance(outputs, (list, tuple))
        self.inputs, self.outputs = to_list(inputs), to_list(outputs)
        if len({id(x) for x in self.inputs}) != len(self.inputs):
            raise ValueError(f"The list of inputs passed to the model is redundant. All inputs should "
                             f"only appear once. Found: {self.inputs}")
        for x in self.inputs:
            if not is_keras_tensor(x):
                raise ValueError(f"Input tensors to a Model must come from `Input`. Received: {x!r}")
            layer = x._keras_history[0]
            if not isinstance(layer, InputLayer):
                raise TypeError(f"Input tensors to a Model must come from `Input`; {x!r} is the output "
                                f"of layer {layer.name!r} ({type(layer).__name__})")
        for x in self.outputs:
            if not is_keras_tensor(x):
                raise ValueError("Output tensors to a Model must be the output of a Keras layer "
                                 f"(thus holding past layer metadata). Found: {x!r}")
        self.input_layers = [x._keras_history[0] for x in self.inputs]
        self.output_layers = [x._keras_history[0] for x in self.outputs]
        self._map_graph()
        self._is_graph_network = True
        self.built = True

    def _map_graph(self):
        """Keras's _map_graph_network: depth = longest path to an output; layers by decreasing
        depth, ties by order of discovery (DFS from the first output, inbound order)."""
        finished, in_progress, decreasing, layer_indices = set(), set(), [], {}

        def visit(tensor):
            layer, node_index, _ = tensor._keras_history
            node = layer._inbound_nodes[node_index]
            if id(node) in in_progress:
                raise ValueError(f"The tensor {tensor!r} at layer {layer.name!r} is part of a cycle.")
            if id(node) in finished:
                return
            layer_indices.setdefault(layer, len(layer_indices))
            in_progress.add(id(node))
            for x in node.input_tensors:
                visit(x)
            finished.add(id(node))
            in_progress.discard(id(node))
            decreasing.append(node)

        for x in self.outputs:
            visit(x)
        node_depth, layer_depth = {}, {}
        for node in reversed(decreasing):
            depth = max(node_depth.setdefault(id(node), 0), layer_depth.get(node.layer, 0))
            layer_depth[node.layer] = depth
            node_depth[id(node)] = depth
            for layer, node_index, _ in node.inbound:
                inbound = layer._inbound_nodes[node_index]
                node_depth[id(inbound)] = max(depth + 1, node_depth.get(id(inbound), 0))
        by_depth = {}
        for node in decreasing:
            by_depth.setdefault(node_depth[id(node)], []).append(node)
        self._nodes_in_order = [n for d in sorted(by_depth, reverse=True) for n in by_depth[d]]
        layers_by_depth = {}
        for layer, depth in layer_depth.items():
            layers_by_depth.setdefault(depth, []).append(layer)
        self._layers = [layer for d in sorted(layers_by_depth, reverse=True)
                        for layer in sorted(layers_by_depth[d], key=lambda item: layer_indices[item])]
        self._check_connected()
        names = [layer.name for layer in self._layers]
        for name in names:
            if names.count(name) > 1:
                raise ValueError(f'The name "{name}" is used {names.count(name)} times in the model. '
                                 "All layer names should be unique.")

    def _check_connected(self):
        computable = {id(x) for x in self.inputs}
        reached = []
        for node in self._nodes_in_order:
            if isinstance(node.layer, InputLayer) and not node.input_tensors:
                if id(node.output_tensors[0]) not in computable:
                    raise ValueError(f"Graph disconnected: cannot obtain value for tensor "
                                     f"{node.output_tensors[0]!r} at layer {node.layer.name!r}. The following "
                                     f"previous layers were accessed without issue: {reached}")
                continue
            for x in node.input_tensors:
                if id(x) not in computable:
                    raise ValueError(f"Graph disconnected: cannot obtain value for tensor {x!r} at layer "
                                     f"{node.layer.name!r}. The following previous layers were accessed "
                                     f"without issue: {reached}")
            computable.update(id(x) for x in node.output_tensors)
            if node.layer.name not in reached:
                reached.append(node.layer.name)

    # ------------------------------------------------------------------ replay
    def run_graph(self, inputs, training=False, losses=None):
        """The model's outputs as IR nodes, computed from ``inputs`` (IR nodes)."""
        inputs = to_list(inputs)
        if len(inputs) != len(self.inputs):
            raise ValueError(f"Model {self.name!r} expects {len(self.inputs)} inputs, got {len(inputs)}")
        values = {id(k): v for k, v in zip(self.inputs, inputs)}
        for node in self._nodes_in_order:
            if not node.input_tensors:
                continue
            args = unpack_singleton([values[id(x)] for x in node.input_tensors])
            outputs = to_list(node.layer.apply(args, training=training, losses=losses, **node.arguments))
            for k, v in zip(node.output_tensors, outputs):
                values[id(k)] = v
        return [values[id(x)] for x in self.outputs]

    def call(self, inputs, training=False):
        return unpack_singleton(self.run_graph(inputs, training))

    def apply(self, inputs, training=False, losses=None, **kwargs):
        return unpack_singleton(self.run_graph(inputs, training, losses))

    # ------------------------------------------------------------------ properties
    @property
    def layers(self):
        return list(self._layers)

    @property
    def input_names(self):
        return [layer.name for layer in self.input_layers]

    @property
    def output_names(self):
        return [layer.name for layer in self.output_layers]

    @property
    def input(self):
        return unpack_singleton(self.inputs)

    @property
    def output(self):
        return unpack_singleton(self.outputs)

    @property
    def input_shape(self):
        return unpack_singleton([dims.to_keras(x.shape) for x in self.inputs])

    @property
    def output_shape(self):
        return unpack_singleton([dims.to_keras(x.shape) for x in self.outputs])

    def _collect(self, attr):
        seen, out = set(), []
        for layer in self._layers:
            for w in getattr(layer, attr):
                if id(w.op.storage) not in seen:
                    seen.add(id(w.op.storage))
                    out.append(w)
        return out

    @property
    def trainable_weights(self):
        return self._collect("trainable_weights") if self.trainable else []

    @property
    def non_trainable_weights(self):
        if not self.trainable:
            return self._collect("weights")
        trainable = {id(w.op.storage) for w in self._collect("trainable_weights")}
        return [w for w in self._collect("non_trainable_weights") if id(w.op.storage) not in trainable]

    @property
    def weights(self):
        """Keras order: layer by layer, each layer's trainable then non-trainable weights."""
        return self._collect("weights")

    @property
    def losses(self):
        out = []
        for layer in self._layers:
            out.extend(layer.losses)
        return out

    def get_weights(self):
        return [w.op.storage.value.copy() for w in self.weights]

    def set_weights(self, weights):
        params, weights = self.weights, list(weights)
        if len(weights) != len(params):
            raise ValueError(f"set_weights: model {self.name!r} has {len(params)} weights, "
                             f"the list given has {len(weights)}")
        for p, w in zip(params, weights):
            if np.shape(w) != p.shape:
                raise ValueError(f"set_weights: weight {p.op.storage.name!r} has shape {p.shape}, "
                                 f"the value given has shape {np.shape(w)}")
        for p, w in zip(params, weights):
            p.op.storage.value[...] = w

    def count_params(self):
        return int(sum(np.prod(w.shape) for w in self.weights))

    def get_layer(self, name=None, index=None):
        if index is not None:
            if len(self._layers) <= index:
                raise ValueError(f"Was asked to retrieve layer at index {index} but model only has "
                                 f"{len(self._layers)} layers.")
            return self._layers[index]
        if name is None:
            raise ValueError("Provide either a layer name or layer index.")
        for layer in self._layers:
            if layer.name == name:
                return layer
        raise ValueError(f"No such layer: {name}.")

    # ------------------------------------------------------------------ summary and config
    def summary(self, line_length=None, positions=None, print_fn=None):
        from symkeras.engine.summary import print_summary
        print_summary(self, line_length=line_length, positions=positions, print_fn=print_fn)

    def get_config(self):
        from symkeras.engine.serialization import network_config
        return network_config(self)

    @classmethod
    def from_config(cls, config, custom_objects=None):
        from symkeras.engine.serialization import network_from_config
        return network_from_config(cls, config, custom_objects)

    def to_json(self, **kwargs):
        from symkeras.engine.serialization import model_to_dict
        return json.dumps(model_to_dict(self), default=_json_default, **kwargs)


def _json_default(obj):
    if isinstance(obj, np.ndarray):
        return obj.tolist()
    if isinstance(obj, np.generic):
        return obj.item()
    if isinstance(obj, type):
        return obj.__name__
    raise TypeError(f"Not JSON serializable: {obj!r}")

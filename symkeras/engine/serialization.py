"""Model architecture to and from configs (the Keras 2 / tf-keras functional format).

A functional config lists every layer with the calls (``inbound_nodes``) that belong to the
model, each call as ``[[inbound_layer_name, node_index, tensor_index, kwargs], ...]``. Node
indices count only the model's own nodes, except that a nested model keeps its node 0 (the
node linking its own inputs to outputs), so its first call in the model is node 1.
"""

import collections
import json
import warnings

from symkeras.engine.base_layer import unpack_singleton
from symkeras.engine.input_layer import InputLayer
from symkeras.utils.generic_utils import serialize_keras_object

KERAS_VERSION = "2.2.4"     # what `to_json` reports, as the spec's Keras 2 format


def _skips_first_node(layer):
    """True for models whose node 0 is their own graph (it is never saved nor replayed)."""
    return getattr(layer, "_is_graph_network", False)     # network.py imports this module


def _jsonable(value):
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


def network_config(network):
    """``{'name', 'layers', 'input_layers', 'output_layers'}`` of a functional model."""
    index_in_model = {}                       # (layer, original node index) -> saved index
    for layer in network.layers:
        kept = 1 if _skips_first_node(layer) else 0
        for i, node in enumerate(layer._inbound_nodes):
            if node in network._network_nodes:
                index_in_model[(layer, i)] = kept
                kept += 1
    layers = []
    for layer in network.layers:
        inbound_nodes = []
        for node in layer._inbound_nodes:
            if node in network._network_nodes and not node.is_input:
                inbound_nodes.append([[inbound.name, index_in_model[(inbound, node_index)], tensor_index,
                                       _call_kwargs(node)]
                                      for inbound, node_index, tensor_index in node.inbound])
        entry = serialize_keras_object(layer)
        layers.append({"name": layer.name, "class_name": entry["class_name"], "config": entry["config"],
                       "inbound_nodes": inbound_nodes})

    def coordinates(tensors):
        return [[layer.name, index_in_model[(layer, node_index)], tensor_index]
                for layer, node_index, tensor_index in (x._keras_history for x in tensors)]

    return {"name": network.name, "layers": layers, "input_layers": coordinates(network.inputs),
            "output_layers": coordinates(network.outputs)}


def _call_kwargs(node):
    if node.call_args:
        raise NotImplementedError(f"Layer {node.layer.name} was called with {len(node.call_args)} positional "
                                  "argument(s) after its inputs; a model holding such a call cannot be written "
                                  "to a config yet (pass them in a list as the layer's inputs instead)")
    kwargs = {}
    for key, value in node.arguments.items():
        if _jsonable(value):
            kwargs[key] = value
        else:
            warnings.warn(f"Layer {node.layer.name} was passed non-JSON-serializable argument {key}={value!r}; "
                          "it will not be included in the config.", UserWarning, stacklevel=4)
    return kwargs


def network_from_config(cls, config, custom_objects=None):
    """Create every layer, then replay the calls (a call waits until its inputs exist)."""
    # The layers package sits above the engine (its layers subclass engine classes): a layer class
    # named in a config is looked up in its registry when a model is rebuilt.
    from symkeras.layers import deserialize as deserialize_layer
    created, pending = {}, collections.OrderedDict()
    saved_to_actual = {}                      # (layer name, saved node index) -> actual node index
    calls_made = {}
    for layer_data in config["layers"]:
        layer = deserialize_layer({"class_name": layer_data["class_name"], "config": layer_data["config"]},
                                  custom_objects=custom_objects)
        created[layer_data["name"]] = layer
        calls_made[layer] = 1 if _skips_first_node(layer) else 0
        pending[layer] = list(layer_data["inbound_nodes"])

    def node_index(layer, saved_index):
        if isinstance(layer, InputLayer) or (_skips_first_node(layer) and saved_index == 0):
            return 0
        return saved_to_actual.get((layer.name, saved_index))

    def tensor_at(name, saved_index, tensor_index):
        layer = created[name]
        index = node_index(layer, saved_index)
        return None if index is None else layer._inbound_nodes[index].output_tensors[tensor_index]

    def replay(layer, node_data):
        if any(len(entry) not in (3, 4) for entry in node_data):
            raise ValueError("Improperly formatted model config.")
        tensors = [tensor_at(*entry[:3]) for entry in node_data]
        if any(t is None for t in tensors):
            return False
        kwargs = node_data[0][3] if len(node_data[0]) == 4 else {}
        outputs = layer(unpack_singleton(tensors), **kwargs)
        first = outputs[0] if isinstance(outputs, list) else outputs
        saved_to_actual[(layer.name, calls_made[layer])] = first._keras_history[1]
        calls_made[layer] += 1
        return True

    while pending:
        progress = False
        for layer in list(pending):
            while pending[layer] and replay(layer, pending[layer][0]):
                pending[layer].pop(0)
                progress = True
            if not pending[layer]:
                del pending[layer]
        if pending and not progress:
            raise ValueError("The model config could not be replayed: the calls of layers "
                             f"{[layer.name for layer in pending]} wait for inputs that never appear.")
    inputs = [tensor_at(*entry) for entry in config["input_layers"]]
    outputs = [tensor_at(*entry) for entry in config["output_layers"]]
    return cls(inputs=unpack_singleton(inputs), outputs=unpack_singleton(outputs), name=config.get("name"))


def model_to_dict(model):
    """What ``to_json`` writes: class name, config, and the Keras version the format follows."""
    return {"class_name": type(model).__name__, "config": model.get_config(), "keras_version": KERAS_VERSION,
            "backend": "tensorflow"}

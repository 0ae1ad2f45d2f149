"""Layer utilities of Keras 2 (``keras.utils.layer_utils``): parameter counts, the summary
table, and the inputs a tensor comes from. They read layers and tensors by their Keras
attributes only, so this module needs nothing of the engine at import time."""

import numpy as np


def count_params(weights):
    """The number of scalars in ``weights`` (variables or arrays), each shared variable once.

    An unknown dimension (``None``) counts as 0, as in tf-keras."""
    unique = {}
    for weight in weights:
        storage = getattr(getattr(weight, "op", None), "storage", None)
        unique.setdefault(id(storage if storage is not None else weight), weight)
    total = 0
    for weight in unique.values():
        shape = weight.shape if hasattr(weight, "shape") else np.shape(weight)
        shape = [dim if isinstance(dim, (int, np.integer)) else 0 for dim in shape]
        total += int(np.prod(shape, dtype=np.int64))
    return int(total)


def print_summary(model, line_length=None, positions=None, print_fn=None):
    """``model.summary()``: the Keras table of layers, output shapes and parameter counts."""
    # The table lives with the engine, which sits above utils in the import order.
    from symkeras.engine.summary import print_summary as engine_print_summary
    return engine_print_summary(model, line_length=line_length, positions=positions, print_fn=print_fn)


def get_source_inputs(tensor, layer=None, node_index=None):
    """The input tensors (of ``Input`` layers) that ``tensor`` is computed from, in graph order,
    each once. A tensor without Keras history is returned as is (Keras 2.2's rule)."""
    if not hasattr(tensor, "_keras_history"):
        return tensor
    if layer is None or node_index:
        layer, node_index, _ = tensor._keras_history
    if not layer._inbound_nodes:
        return [tensor]
    node = layer._inbound_nodes[node_index]
    if not node.inbound:                     # an input node: the tensor is a source itself
        return list(node.output_tensors)
    sources = []
    for x, (inbound_layer, inbound_index, _) in zip(node.input_tensors, node.inbound):
        for source in get_source_inputs(x, inbound_layer, inbound_index):
            # By identity: == on a tensor builds a graph node instead of comparing.
            if not any(source is seen for seen in sources):
                sources.append(source)
    return sources

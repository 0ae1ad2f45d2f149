"""Model.summary(): the Keras table (Keras 2.3 layout: a `Model: "name"` header, then the
2.2.4 table with 65 columns for sequential-like models, 98 with `Connected to` otherwise)."""

from symkeras.engine.base_layer import _count_unique


def _row(fields, positions, print_fn):
    """Keras print_row: each field starts one column after the previous is cut at its end."""
    line = ""
    for i, field in enumerate(fields):
        if i > 0:
            line = line[:-1] + " "
        line += str(field)
        line = line[:positions[i]]
        line += " " * (positions[i] - len(line))
    print_fn(line)


def is_sequential_like(model):
    """Keras 2.3's test: one node per depth, no node with several inbound layers, no layer
    called twice inside the model."""
    if type(model).__name__ == "Sequential":
        return True
    nodes = []
    for depth_nodes in model._nodes_by_depth.values():
        if len(depth_nodes) > 1 or (len(depth_nodes) == 1 and len(depth_nodes[0].inbound) > 1):
            return False
        nodes += depth_nodes
    return all(sum(node in nodes for node in layer._inbound_nodes) <= 1 for layer in model.layers)


def _shape_text(layer):
    try:
        return str(layer.output_shape)
    except AttributeError:
        return "multiple"


def _connections(layer, relevant):
    return [f"{inbound.name}[{node_index}][{tensor_index}]"
            for node in layer._inbound_nodes if node in relevant
            for inbound, node_index, tensor_index in node.inbound]


def print_summary(model, line_length=None, positions=None, print_fn=None):
    print_fn = print_fn or print
    sequential = is_sequential_like(model)
    if sequential:
        line_length = line_length or 65
        positions = positions or [.45, .85, 1.]
        headers = ["Layer (type)", "Output Shape", "Param #"]
    else:
        line_length = line_length or 98
        positions = positions or [.33, .55, .67, 1.]
        headers = ["Layer (type)", "Output Shape", "Param #", "Connected to"]
    if positions[-1] <= 1:
        positions = [int(line_length * p) for p in positions]
    layers = model.layers
    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    _row(headers, positions, print_fn)
    print_fn("=" * line_length)
    for i, layer in enumerate(layers):
        fields = [f"{layer.name} ({type(layer).__name__})", _shape_text(layer), layer.count_params()]
        if sequential:
            _row(fields, positions, print_fn)
        else:
            connections = _connections(layer, model._network_nodes)
            _row(fields + [connections[0] if connections else ""], positions, print_fn)
            for extra in connections[1:]:
                _row(["", "", "", extra], positions, print_fn)
        print_fn(("=" if i == len(layers) - 1 else "_") * line_length)
    collected = getattr(model, "_collected_trainable_weights", None)
    trainable = _count_unique(collected if collected is not None else model.trainable_weights)
    non_trainable = _count_unique(model.non_trainable_weights)
    print_fn(f"Total params: {trainable + non_trainable:,}")
    print_fn(f"Trainable params: {trainable:,}")
    print_fn(f"Non-trainable params: {non_trainable:,}")
    print_fn("_" * line_length)

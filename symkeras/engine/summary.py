"""Model.summary(): the Keras table (Keras 2.3 layout: a `Model: "name"` header, then the
2.2.4 table with 65 or 98 columns)."""

import numpy as np


def _row(fields, positions, print_fn):
    line = ""
    for i, field in enumerate(fields):
        if i > 0:
            line = line[:-1] + " "
        line += str(field)
        line = line[:positions[i]]
        line += " " * (positions[i] - len(line))
    print_fn(line)


def _sequential_like(model):
    from symkeras.models import Sequential
    if isinstance(model, Sequential):
        return True
    nodes = [n for n in model._nodes_in_order if n.input_tensors]
    for layer in model.layers:
        if sum(1 for n in nodes if n.layer is layer) > 1:
            return False
    return all(len(n.input_tensors) <= 1 for n in nodes) and \
        all(sum(1 for m in nodes if any(x is t for t in n.output_tensors for x in m.input_tensors)) <= 1
            for n in nodes)


def _shape_text(layer):
    try:
        return str(layer.output_shape)
    except AttributeError:
        return "multiple"


def _count(weights):
    return int(sum(np.prod(w.shape) for w in {id(w.op.storage): w for w in weights}.values()))


def print_summary(model, line_length=None, positions=None, print_fn=None):
    print_fn = print_fn or print
    sequential = _sequential_like(model)
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
    from symkeras.models import Sequential
    if isinstance(model, Sequential):
        layers = [layer for layer in layers if type(layer).__name__ != "InputLayer"]
    print_fn(f'Model: "{model.name}"')
    print_fn("_" * line_length)
    _row(headers, positions, print_fn)
    print_fn("=" * line_length)
    for i, layer in enumerate(layers):
        name = f"{layer.name} ({type(layer).__name__})"
        params = layer.count_params() if layer.built else 0
        if sequential:
            _row([name, _shape_text(layer), params], positions, print_fn)
        else:
            connections = []
            for node in layer._inbound_nodes:
                if node not in model._nodes_in_order:
                    continue
                connections += [f"{lay.name}[{ni}][{ti}]" for lay, ni, ti in node.inbound]
            first = connections[0] if connections else ""
            _row([name, _shape_text(layer), params, first], positions, print_fn)
            for extra in connections[1:]:
                _row(["", "", "", extra], positions, print_fn)
        print_fn(("=" if i == len(layers) - 1 else "_") * line_length)
    trainable = _count(getattr(model, "_collected_trainable_weights", None) or model.trainable_weights)
    total = _count(model.weights)
    print_fn(f"Total params: {total:,}")
    print_fn(f"Trainable params: {trainable:,}")
    print_fn(f"Non-trainable params: {total - trainable:,}")
    print_fn("_" * line_length)

"""Model plots (``keras.utils.plot_model``, ``model_to_dot``) as Graphviz source.

The graph is written as DOT text by this module, with no dependency: a ``.dot`` file is always
available. Pictures (PNG, SVG, PDF, ...) are rendered by Graphviz's ``dot`` program, the
program pydot drives in Keras; without it ``plot_model`` writes the ``.dot`` beside the
requested file and raises an ImportError that says what to install.
"""

import os
import shutil
import subprocess

_RANKDIRS = ("TB", "LR")
# Record labels treat {, }, |, < and > as structure; in a quoted DOT string only " is escaped
# (Graphviz keeps every other backslash for the label's own parser).
_RECORD_SPECIAL = str.maketrans({c: "\\" + c for c in "{}|<>"})
_INSTALL = ("You must install pydot (`pip install pydot`) and install graphviz "
            "(see instructions at https://graphviz.gitlab.io/download/) for plot_model to work.")


class DotGraph:
    """The part of ``pydot.Dot`` Keras users call: ``to_string()``, ``create(prog, format)``
    and ``write(path, format)``."""

    def __init__(self, source):
        self.source = source

    def to_string(self):
        return self.source

    def __str__(self):
        return self.source

    def create(self, prog="dot", format="png"):
        """The rendered picture as bytes (Graphviz's ``prog -T{format}``)."""
        executable = shutil.which(prog)
        if executable is None:
            raise ImportError(f"{_INSTALL} (Graphviz's `{prog}` program was not found on PATH.)")
        result = subprocess.run([executable, f"-T{format}"], input=self.source.encode("utf-8"),
                                capture_output=True, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"Graphviz `{prog} -T{format}` failed: "
                               f"{result.stderr.decode('utf-8', 'replace').strip()}")
        return result.stdout

    def write(self, path, format="raw", prog="dot"):
        data = self.source.encode("utf-8") if format in ("raw", "dot") else self.create(prog, format)
        with open(path, "wb") as f:
            f.write(data)
        return True


def _quoted(text):
    return '"' + str(text).replace('"', '\\"') + '"'


def _record(text):
    return str(text).translate(_RECORD_SPECIAL)


def _graph_layers(model):
    if not getattr(model, "_is_graph_network", False):
        raise ValueError(f'This model "{model.name}" has not yet been built. Build the model first by '
                         "calling `build()` or by calling the model on a batch of data.")
    return list(model._layers)        # with the InputLayers, which `model.layers` hides for Sequential


def _shape_text(layer, attribute):
    try:
        return str(getattr(layer, attribute))
    except (AttributeError, ValueError, RuntimeError):
        return "multiple"


def _label(layer, show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable):
    class_name, layer_name = type(layer).__name__, layer.name
    inner = getattr(layer, "layer", None)
    if inner is not None and hasattr(inner, "_inbound_nodes"):     # a wrapper (TimeDistributed, ...)
        class_name, layer_name = f"{class_name}({type(inner).__name__})", f"{layer_name}({inner.name})"
    label = f"{layer_name}: {class_name}" if show_layer_names else class_name
    fields = [_record(label)]
    activation = getattr(layer, "activation", None)
    if show_layer_activations and activation is not None:
        fields.append(_record(f"activation: {getattr(activation, '__name__', activation)}"))
    if show_dtype:
        fields.append(_record(f"dtype: {layer.dtype}"))
    if show_shapes:
        outputs = _shape_text(layer, "output_shape")
        # An InputLayer's input is its own placeholder: Keras shows the same shape on both sides.
        is_input = any(cls.__name__ == "InputLayer" for cls in type(layer).__mro__)
        inputs = outputs if is_input else _shape_text(layer, "input_shape")
        fields.append("{input:|output:}|{{%s}|{%s}}" % (_record(inputs), _record(outputs)))
    if show_trainable:
        fields.append(_record(f"trainable: {'T' if layer.trainable else 'F'}"))
    return "|".join(fields)


def model_to_dot(model, show_shapes=False, show_dtype=False, show_layer_names=True, rankdir="TB",
                 expand_nested=False, dpi=96, subgraph=False, layer_range=None, show_layer_activations=False,
                 show_trainable=False):
    """The model's graph of layers as Graphviz source (a ``DotGraph``): one record node per layer
    (the InputLayers included), one edge per connection inside the model, in the model's layer order.

    With ``expand_nested`` a nested model is a cluster of its own layers, named ``outer/inner``,
    and the edges go to its input layers and from its output layers."""
    if rankdir not in _RANKDIRS:
        raise ValueError(f"`rankdir` must be 'TB' (vertical) or 'LR' (horizontal). Received: rankdir={rankdir!r}")
    if isinstance(dpi, bool) or not isinstance(dpi, (int, float)) or dpi <= 0:
        raise ValueError(f"`dpi` must be a positive number. Received: dpi={dpi!r}")
    layers = _graph_layers(model)
    if layer_range is not None:
        layers = _in_range(layers, layer_range)
    style = (show_shapes, show_dtype, show_layer_names, show_layer_activations, show_trainable)
    lines = ["digraph G {", f"  graph [rankdir={rankdir}, concentrate=true, dpi={dpi}];", "  node [shape=record];"]
    _draw(model, layers, "", bool(expand_nested), style, lines, "  ")
    lines.append("}")
    return DotGraph("\n".join(lines) + "\n")


def _is_nested(layer):
    return getattr(layer, "_is_graph_network", False)


def _draw(model, layers, prefix, expand_nested, style, lines, indent):
    """Nodes, then edges, of ``layers`` of ``model``; node names carry the nesting ``prefix``."""
    for layer in layers:
        if expand_nested and _is_nested(layer):
            lines.append(f"{indent}subgraph {_quoted('cluster_' + prefix + layer.name)} {{")
            lines.append(f"{indent}  label={_quoted(layer.name)};")
            _draw(layer, _graph_layers(layer), f"{prefix}{layer.name}/", True, style, lines, indent + "  ")
            lines.append(f"{indent}}}")
        else:
            lines.append(f"{indent}{_quoted(prefix + layer.name)} [label={_quoted(_label(layer, *style))}];")
    kept, nodes = {id(layer) for layer in layers}, getattr(model, "_network_nodes", set())
    for layer in layers:
        for node in layer._inbound_nodes:
            if node not in nodes:
                continue
            for position, (inbound_layer, _, tensor_index) in enumerate(node.inbound):
                if id(inbound_layer) in kept:
                    source = _endpoint(inbound_layer, tensor_index, "outputs", prefix, expand_nested)
                    target = _endpoint(layer, position, "inputs", prefix, expand_nested)
                    lines.append(f"{indent}{_quoted(source)} -> {_quoted(target)};")


def _endpoint(layer, index, side, prefix, expand_nested):
    """The node an edge ends at: the layer, or inside an expanded model the layer that makes
    its output ``index`` (side 'outputs') or holds its input ``index`` (side 'inputs')."""
    name = prefix + layer.name
    while expand_nested and _is_nested(layer):
        tensors = getattr(layer, side)
        layer, _, index = tensors[min(index, len(tensors) - 1)]._keras_history
        name += "/" + layer.name
    return name


def _in_range(layers, layer_range):
    """tf-keras's ``layer_range``: [first name, last name], the layers between them inclusive."""
    if not (isinstance(layer_range, (list, tuple)) and len(layer_range) == 2
            and all(isinstance(name, str) for name in layer_range)):
        raise ValueError(f"`layer_range` must be a list of two layer names. Received: layer_range={layer_range!r}")
    names = [layer.name for layer in layers]
    for name in layer_range:
        if name not in names:
            raise ValueError(f"`layer_range` names {name!r}, which is not a layer of the model")
    start, end = names.index(layer_range[0]), names.index(layer_range[1])
    if start > end:
        raise ValueError(f"`layer_range` must name its first layer before its last. Received: {list(layer_range)}")
    return layers[start:end + 1]


def plot_model(model, to_file="model.png", show_shapes=False, show_dtype=False, show_layer_names=True,
               rankdir="TB", expand_nested=False, dpi=96, layer_range=None, show_layer_activations=False,
               show_trainable=False):
    """Draws the model to ``to_file``; the format is the file's extension (``.png`` when it has none).

    A ``.dot``/``.gv`` file is the Graphviz source itself and needs nothing installed; other
    formats are rendered by Graphviz. Without Graphviz the source is written to ``{stem}.dot``
    and an ImportError names what to install."""
    graph = model_to_dot(model, show_shapes=show_shapes, show_dtype=show_dtype, show_layer_names=show_layer_names,
                         rankdir=rankdir, expand_nested=expand_nested, dpi=dpi, layer_range=layer_range,
                         show_layer_activations=show_layer_activations, show_trainable=show_trainable)
    to_file = os.fspath(to_file)
    stem, extension = os.path.splitext(to_file)
    extension = extension[1:].lower() or "png"
    if extension in ("dot", "gv"):
        graph.write(to_file, format="raw")
        return None
    if shutil.which("dot") is None:
        source_path = stem + ".dot"
        graph.write(source_path, format="raw")
        raise ImportError(f"{_INSTALL} The graph was written as Graphviz source to {source_path}; "
                          f"render it with `dot -T{extension} {source_path} -o {to_file}`.")
    graph.write(to_file, format=extension)
    return None

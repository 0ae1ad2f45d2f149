"""Model configs written by Keras 3, read as the tf-keras 2 configs symkeras understands.

Keras 3 writes the same layers with a few differences of form, all undone here before the usual
deserialisation (``to_keras2``):

- every object config may carry ``module``, ``registered_name`` and ``build_config`` keys;
- a layer's ``dtype`` is a policy object (``{"class_name": "DTypePolicy", "config": {"name": …}}``);
- ``InputLayer`` says ``batch_shape`` (and ``optional``) for ``batch_input_shape``, ``LeakyReLU``
  ``negative_slope`` for ``alpha``;
- a model with one input or output names it unnested in ``input_layers``/``output_layers``;
- a call of a layer (``inbound_nodes``) is ``{"args": [tensor, …], "kwargs": {…}}`` with each tensor a
  ``__keras_tensor__`` naming its ``keras_history``, where tf-keras writes
  ``[[layer, node_index, tensor_index, kwargs], …]``;
- arguments tf-keras does not have and that mean nothing when left at their defaults
  (``quantization_config: None``, an initializer's ``input_axes: None`` …) are dropped; one set to
  anything else raises NotImplementedError naming it.

Only data is read and rewritten: nothing from the config is evaluated.
"""

from symkeras.engine.keras_tensor import keras_shape

_OBJECT_KEYS = ("module", "registered_name", "build_config", "compile_config", "shared_object_id")
# Keras 3 arguments with no tf-keras counterpart, and the values that make them no-ops.
_NEUTRAL = {"quantization_config": (None,), "lora_rank": (None,), "lora_alpha": (None,), "optional": (False,),
            "input_axes": (None,), "output_axes": (None,), "synchronized": (False,), "rms_scaling": (False,)}
# Arguments Keras 3 renamed, per class: Keras 3's name -> tf-keras's.
_RENAMED = {"LeakyReLU": {"negative_slope": "alpha"}}


def is_keras3(config):
    """Whether ``config`` (any part of it) has Keras 3's form."""
    if isinstance(config, dict):
        if "module" in config or "registered_name" in config or "__keras_tensor__" == config.get("class_name"):
            return True
        return any(is_keras3(v) for v in config.values())
    if isinstance(config, list):
        return any(is_keras3(v) for v in config)
    return False


def to_keras2(config):
    """``config`` in tf-keras 2's form (a new structure; ``config`` is left alone)."""
    return _object(config) if isinstance(config, dict) else config


# Keras 3 optimizer arguments symkeras's optimizers do not take, and their no-op values.
_OPTIMIZER_NEUTRAL = {"loss_scale_factor": (None,), "gradient_accumulation_steps": (None,)}


def optimizer_to_keras2(entry):
    """An optimizer's ``{"class_name", "config"}`` without Keras 3's extra arguments."""
    entry = _object(entry)
    config = dict(entry.get("config") or {})
    for key, neutral in _OPTIMIZER_NEUTRAL.items():
        if key in config:
            if config[key] not in neutral:
                raise NotImplementedError(f"{entry.get('class_name')}: the Keras 3 argument {key}={config[key]!r} "
                                          "has no symkeras counterpart")
            del config[key]
    return dict(entry, config=config)


def _object(entry):
    """A ``{"class_name", "config", …}`` entry, or any dict inside one."""
    out = {}
    for key, value in entry.items():
        if key in _OBJECT_KEYS:
            continue
        if key == "config" and isinstance(value, dict):
            value = _layer_config(entry.get("class_name"), value)
        elif key == "inbound_nodes" and isinstance(value, list):
            value = [_inbound_node(node) for node in value]
        else:
            value = _value(value)
        out[key] = value
    return out


def _layer_config(class_name, config):
    out = {}
    for key, value in config.items():
        if key in _NEUTRAL:
            if value not in _NEUTRAL[key]:
                raise NotImplementedError(f"{class_name}: the Keras 3 argument {key}={value!r} has no symkeras "
                                          "counterpart")
            continue
        if key == "dtype" and isinstance(value, dict):
            value = (value.get("config") or {}).get("name", "float32")
        elif class_name == "InputLayer" and key == "batch_shape":
            key = "batch_input_shape"
        elif key in _RENAMED.get(class_name, {}):
            key = _RENAMED[class_name][key]
        elif key in ("input_layers", "output_layers") and value and isinstance(value[0], str):
            value = [value]                      # Keras 3 writes one tensor unnested: [name, node, index]
        out[key] = _value(value)
    return out


def _value(value):
    if isinstance(value, dict):
        return _object(value)
    if isinstance(value, list):
        return [_value(v) for v in value]
    return value


def _inbound_node(node):
    """One call of a layer: Keras 3's ``{"args", "kwargs"}`` as tf-keras's list of inbound tensors."""
    if not isinstance(node, dict):
        return _value(node)
    args, kwargs = node.get("args", []), _value(node.get("kwargs", {}))
    tensors = args[0] if len(args) == 1 and isinstance(args[0], list) else args
    inbound = []
    for tensor in tensors:
        if not (isinstance(tensor, dict) and tensor.get("class_name") == "__keras_tensor__"):
            raise NotImplementedError(f"a layer call with a non-tensor positional argument ({tensor!r}) cannot be "
                                      "read yet")
        layer, node_index, tensor_index = tensor["config"]["keras_history"]
        inbound.append([layer, node_index, tensor_index, kwargs])
    return inbound


# ----------------------------------------------------------------------------- the other way

# Which Keras 3 module names an object config found under a layer-config key ending so.
_OBJECT_MODULES = (("_initializer", "keras.initializers"), ("_regularizer", "keras.regularizers"),
                   ("_constraint", "keras.constraints"))


_ANY = object()
# Keys tf-keras writes that Keras 3's constructors refuse, with the values that mean nothing there.
_NOT_IN_KERAS3 = {
    **{f"Conv{n}DTranspose": {"groups": (1,)} for n in (1, 2, 3)},
    **{f"DepthwiseConv{n}D": {"groups": (1,)} for n in (1, 2)},
    **{f"SeparableConv{n}D": {"groups": (1,), "kernel_initializer": _ANY, "kernel_regularizer": _ANY,
                              "kernel_constraint": _ANY} for n in (1, 2)},
    **{f"SpatialDropout{n}D": {"noise_shape": (None,), "trainable": (True,)} for n in (1, 2, 3)},
    # How dropout masks are shared among gates: Keras 3 has one way, and no time-major layers.
    **{name: {"implementation": _ANY, "time_major": (False,)} for name in ("SimpleRNN", "GRU", "LSTM", "ConvLSTM2D")},
}
# Arguments holding a layer's config (a wrapper's layer, an RNN's cell).
_NESTED_LAYERS = ("layer", "backward_layer", "cell")


def to_keras3(config, model):
    """A model's tf-keras config (``{"class_name", "config"}``) in Keras 3's form, as its ``.keras``
    archives hold it. A Sequential is written as the functional model it is (Keras 3 loads it so)."""
    inner = config["config"]
    layers = []
    for entry in inner["layers"]:
        layers.append({"module": "keras.layers", "class_name": entry["class_name"],
                       "config": _layer_config3(entry["class_name"], entry["config"]), "registered_name": None,
                       "name": entry["name"],
                       "inbound_nodes": [_inbound_node3(model, node) for node in entry["inbound_nodes"]]})
    return {"module": "keras.src.models.functional", "class_name": "Functional", "registered_name": "Functional",
            "config": {"name": inner["name"], "trainable": inner.get("trainable", True), "layers": layers,
                       "input_layers": _unnest_one(inner["input_layers"]),
                       "output_layers": _unnest_one(inner["output_layers"])},
            "build_config": {"input_shape": None}}


def _layer_config3(class_name, config):
    out = {}
    refused = _NOT_IN_KERAS3.get(class_name, {})
    for key, value in config.items():
        if key in refused:
            if refused[key] is not _ANY and value not in refused[key]:
                raise NotImplementedError(f"{class_name}: {key}={value!r} has no Keras 3 counterpart; save the model "
                                          "as .h5")
            continue
        if key == "dtype" and isinstance(value, str):
            value = {"module": "keras", "class_name": "DTypePolicy", "config": {"name": value},
                     "registered_name": None}
        elif class_name == "InputLayer" and key == "batch_input_shape":
            key = "batch_shape"
        elif class_name == "BatchNormalization" and key == "axis" and isinstance(value, list) and len(value) == 1:
            value = value[0]                     # tf-keras lists a built layer's axis; Keras 3 takes one int
        elif key in _NESTED_LAYERS and isinstance(value, dict) and "class_name" in value:
            value = {"module": "keras.layers", "class_name": value["class_name"],
                     "config": _layer_config3(value["class_name"], value.get("config", {})), "registered_name": None}
        elif isinstance(value, dict) and "class_name" in value:
            module = next((m for suffix, m in _OBJECT_MODULES if key.endswith(suffix)), None)
            if module is not None:
                value = {"module": module, "class_name": value["class_name"], "config": value.get("config", {}),
                         "registered_name": None}
        out[key] = value
    return out


def _inbound_node3(model, node):
    """One tf-keras inbound node ([[layer, node, tensor, kwargs], …]) as Keras 3's args/kwargs."""
    tensors = [_tensor3(model, name, node_index, tensor_index) for name, node_index, tensor_index, _ in node]
    kwargs = node[0][3] if node and len(node[0]) > 3 and node[0][3] else {}
    return {"args": tensors if len(tensors) == 1 else [tensors], "kwargs": kwargs}


def _tensor3(model, name, node_index, tensor_index):
    """Keras 3's description of output ``tensor_index`` of layer ``name``'s call ``node_index``."""
    outputs = model.get_layer(name)._inbound_nodes[node_index].output_tensors
    tensor = outputs[tensor_index]
    shape = [None if d is None else int(d) for d in keras_shape(tensor)]
    return {"class_name": "__keras_tensor__",
            "config": {"shape": shape, "dtype": tensor.dtype, "keras_history": [name, node_index, tensor_index]}}


def _unnest_one(entries):
    return entries[0] if len(entries) == 1 else entries

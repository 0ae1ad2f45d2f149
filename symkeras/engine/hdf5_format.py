"""Keras 2's HDF5 files (``.h5``, ``.hdf5``): whole models and weights, laid out as Keras 2 writes
them, so that files move between symkeras and Keras.

Whole model (``model.save('m.h5')``):

- root attributes ``keras_version``, ``backend`` ('tensorflow': kernels in TensorFlow's layout,
  which symkeras shares), ``model_config`` (the model's JSON config) and ``training_config``
  (optimizer, loss, metrics, loss weights, sample-weight mode: JSON) when the model is compiled;
- group ``model_weights``: attribute ``layer_names``; one group per layer with the attribute
  ``weight_names`` (``dense/kernel:0`` …) and one dataset per weight at that path;
- group ``optimizer_weights`` (optional): attribute ``weight_names`` and a dataset per optimizer
  variable (iterations first, then the slots, in tf-keras order).

Weights only (``model.save_weights('w.h5')``): the ``model_weights`` layout at the root.

Files are data: reading takes arrays, names and JSON only. Writing is atomic (a temporary file
renamed into place). A load checks everything before it assigns anything.
"""

import json
import warnings

import numpy as np

from symkeras import optimizers, version
from symkeras.engine import keras3_config
from symkeras.utils.atomic_files import write_atomically

HDF5_SUFFIXES = (".h5", ".hdf5")
HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
KERAS_VERSION = "2.2.4"          # the layout followed (Keras 2 reads it without conversions)


def h5py():
    # Imported on first use: h5py costs tens of milliseconds, and most programs never save to HDF5.
    import h5py
    return h5py


def is_hdf5(filepath, reading):
    """Whether ``filepath`` is (to be) an HDF5 file: by its first bytes when reading, else by suffix."""
    filepath = str(filepath)
    if reading:
        try:
            with open(filepath, "rb") as f:
                return f.read(8) == HDF5_MAGIC
        except OSError:
            return False
    return filepath.lower().endswith(HDF5_SUFFIXES)


# ----------------------------------------------------------------------------- writing

def _weight_name(weight):
    return weight.op.storage.name + ":0"


def _write_layers(group, layers):
    """The ``model_weights`` layout into ``group``: every layer, with its weights (if any)."""
    group.attrs["layer_names"] = [layer.name.encode("utf8") for layer in layers]
    group.attrs["backend"] = b"tensorflow"
    group.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
    for layer in layers:
        layer_group = group.create_group(layer.name)
        weights = layer.weights
        names = [_weight_name(w) for w in weights]
        layer_group.attrs["weight_names"] = [n.encode("utf8") for n in names]
        for name, value in zip(names, layer.get_weights()):
            layer_group.create_dataset(name, data=value)


def save_weights(model, filepath, overwrite=True):
    def write(f):
        with h5py().File(f, "w") as h5:
            _write_layers(h5, model.layers)
            h5.attrs["symkeras_version"] = version.__version__.encode("utf8")
    write_atomically(filepath, write, overwrite)


def save_model(model, filepath, overwrite=True, include_optimizer=True):
    config = model.to_json()
    training = training_config(model)
    optimizer = getattr(model, "optimizer", None)
    optimizer_weights = optimizer.weights if include_optimizer and optimizer is not None and optimizer.built else []

    def write(f):
        with h5py().File(f, "w") as h5:
            h5.attrs["keras_version"] = KERAS_VERSION.encode("utf8")
            h5.attrs["backend"] = b"tensorflow"
            h5.attrs["symkeras_version"] = version.__version__.encode("utf8")
            h5.attrs["model_config"] = config.encode("utf8")
            if training is not None:
                h5.attrs["training_config"] = json.dumps(training).encode("utf8")
            _write_layers(h5.create_group("model_weights"), model.layers)
            if optimizer_weights:
                group = h5.create_group("optimizer_weights")
                names = [_weight_name(w) for w in optimizer_weights]
                group.attrs["weight_names"] = [n.encode("utf8") for n in names]
                for name, value in zip(names, optimizer.get_weights()):
                    group.create_dataset(name, data=np.asarray(value))
    write_atomically(filepath, write, overwrite)


def training_config(model):
    """Keras 2's training_config of a compiled model, or None (with a warning when it cannot be
    written as JSON: the model then loads uncompiled, as in Keras)."""
    compile_args = getattr(model, "_compile_args", None)
    if compile_args is None or getattr(model, "optimizer", None) is None:
        return None
    config = {"optimizer_config": optimizers.serialize(model.optimizer),
              **{key: _plain(value) for key, value in compile_args.items()}}
    try:
        json.dumps(config)
    except (TypeError, ValueError):
        warnings.warn("The model's compile settings (loss, metrics) are not JSON-serialisable: the file is "
                      "saved without them, and the model loads uncompiled.", UserWarning, stacklevel=3)
        return None
    return config


def _plain(value):
    """A compile argument as Keras 2 writes it: names for functions, configs for objects."""
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if hasattr(value, "get_config"):
        return {"class_name": type(value).__name__, "config": value.get_config()}
    return getattr(value, "__name__", value)


# ----------------------------------------------------------------------------- reading

def text(value):
    return value.decode("utf8") if isinstance(value, bytes) else str(value)


def _names(attrs, key):
    return [text(n) for n in attrs.get(key, [])]


def _read_layers(group, filepath):
    """[(layer name, [(weight name, array)])] of the layers that hold weights, in file order."""
    layers = []
    for layer_name in _names(group.attrs, "layer_names"):
        if layer_name not in group:
            raise ValueError(f"{filepath}: layer {layer_name!r} is listed but has no group")
        layer_group = group[layer_name]
        names = _names(layer_group.attrs, "weight_names")
        values = []
        for name in names:
            if name not in layer_group:
                raise ValueError(f"{filepath}: weight {name!r} of layer {layer_name!r} is listed but missing")
            values.append((name, np.array(layer_group[name])))
        if values:
            layers.append((layer_name, values))
    return layers


def _open(filepath, caller):
    try:
        return h5py().File(str(filepath), "r")
    except OSError as error:
        raise ValueError(f"{caller}: {filepath} is not a readable HDF5 file ({error})") from None


def load_weights(model, filepath, by_name=False, skip_mismatch=False):
    """Keras 2's ``load_weights`` of an HDF5 file: layer by layer in order (the same architecture),
    or ``by_name`` matching layer names; all weights are checked before any is set."""
    with _open(filepath, "load_weights") as h5:
        group = h5["model_weights"] if "model_weights" in h5 else h5
        saved = _read_layers(group, filepath)
    assign_layers(model, saved, filepath, by_name, skip_mismatch)


def assign_layers(model, saved, filepath, by_name=False, skip_mismatch=False):
    """Sets each layer's weights from ``saved`` ([(layer name, [(weight name, array)])]), all checked first."""
    layers = [layer for layer in model.layers if layer.weights]
    plan = []              # (layer, [arrays]) to set once everything is checked
    if by_name:
        wanted = {layer.name: layer for layer in layers}
        pairs = [(wanted[name], values) for name, values in saved if name in wanted]
    else:
        if len(saved) != len(layers):
            raise ValueError(f"load_weights: {filepath} holds weights for {len(saved)} layers, model "
                             f"{model.name!r} has {len(layers)} layers with weights")
        pairs = list(zip(layers, (values for _, values in saved)))
    for layer, values in pairs:
        current = layer.get_weights()
        if len(values) != len(current):
            if skip_mismatch:
                warnings.warn(f"Skipping loading of weights for layer {layer.name} due to mismatch in number of "
                              f"weights ({len(current)} vs {len(values)}).", UserWarning, stacklevel=3)
                continue
            raise ValueError(f"load_weights: layer {layer.name!r} has {len(current)} weights, the file holds "
                             f"{len(values)}")
        arrays = []
        for (name, value), own in zip(values, current):
            if value.shape != own.shape:
                if skip_mismatch:
                    warnings.warn(f"Skipping loading of weights for layer {layer.name} due to mismatch in shape "
                                  f"({own.shape} vs {value.shape}).", UserWarning, stacklevel=3)
                    arrays = None
                    break
                raise ValueError(f"load_weights: weight {name!r} of layer {layer.name!r} has shape {value.shape}, "
                                 f"the layer expects {own.shape}")
            arrays.append(value.astype(own.dtype, copy=False))
        if arrays is not None:
            plan.append((layer, arrays))
    for layer, arrays in plan:
        layer.set_weights(arrays)


def read_model(filepath, caller="load_model"):
    """(model config text, training config or None, layers' weights, optimizer arrays) of a file."""
    with _open(filepath, caller) as h5:
        if "model_config" not in h5.attrs:
            raise ValueError(f"{caller}: {filepath} holds no model config (a weights file? load it into a model "
                             "with `model.load_weights`)")
        config = text(h5.attrs["model_config"])
        training = json.loads(text(h5.attrs["training_config"])) if "training_config" in h5.attrs else None
        layers = _read_layers(h5["model_weights"], filepath) if "model_weights" in h5 else []
        optimizer = []
        if "optimizer_weights" in h5:
            group = h5["optimizer_weights"]
            optimizer = [np.array(group[name]) for name in _names(group.attrs, "weight_names")]
    return config, training, layers, optimizer


def compile_from(model, training, optimizer_values, custom_objects=None):
    """Compile ``model`` as ``training`` says (Keras 2's training_config or Keras 3's compile_config)
    and restore the optimizer state."""
    spec = training.get("optimizer_config", training.get("optimizer")) or "rmsprop"
    if isinstance(spec, dict):
        spec = optimizers.deserialize(keras3_config.optimizer_to_keras2(spec), custom_objects=custom_objects)
    model.compile(optimizer=spec, loss=training.get("loss"), metrics=training.get("metrics"),
                  loss_weights=training.get("loss_weights"), sample_weight_mode=training.get("sample_weight_mode"),
                  weighted_metrics=training.get("weighted_metrics"))
    if optimizer_values:
        model.make_train_function()                  # the optimizer's slots exist once its updates do
        try:
            model.optimizer.set_weights(optimizer_values)
        except ValueError as error:
            warnings.warn(f"Error in loading the saved optimizer state ({error}); the optimizer starts afresh.",
                          UserWarning, stacklevel=3)

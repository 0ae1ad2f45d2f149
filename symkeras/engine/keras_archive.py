"""Keras 3's ``.keras`` archive: a zip of ``metadata.json``, ``config.json`` (the model config, with
``compile_config`` when compiled) and ``model.weights.h5``, read and written in Keras 3's layout.

The weights file holds one group per layer, ``layers/<key>/vars/<i>``, whose key is the snake-case
class name made unique in model order (``dense``, ``dense_1`` …) and whose ``vars`` group names the
layer (attribute ``name``); the optimizer's variables are ``optimizer/vars/<i>``: its iteration
count, its learning rate, then the slots of each variable in order.

Files are data: JSON and arrays only. Writing is atomic; reading checks every array before any
weight is set.
"""

import datetime
import io
import json
import re
import zipfile

import numpy as np

from symkeras import version
from symkeras.engine import hdf5_format, keras3_config
from symkeras.utils.atomic_files import write_atomically
from symkeras.utils.generic_utils import to_snake_case

ARCHIVE_SUFFIX = ".keras"
KERAS_VERSION = "3.0.0"          # the archive layout followed


def is_archive(filepath, reading):
    filepath = str(filepath)
    if reading:
        try:
            return zipfile.is_zipfile(filepath) and "config.json" in zipfile.ZipFile(filepath).namelist()
        except OSError:
            return False
    return filepath.lower().endswith(ARCHIVE_SUFFIX)


def _layer_keys(layers):
    """Keras 3's key of each layer in the weights file, in model order."""
    seen, keys = {}, []
    for layer in layers:
        base = to_snake_case(type(layer).__name__)
        count = seen.get(base, 0)
        keys.append(base if count == 0 else f"{base}_{count}")
        seen[base] = count + 1
    return keys


# ----------------------------------------------------------------------------- writing

def save_model(model, filepath, overwrite=True, include_optimizer=True):
    for layer in model.layers:
        if hasattr(layer, "layers") and layer.weights:
            raise NotImplementedError(f"layer {layer.name!r} holds layers of its own: a model nested in a model "
                                      "cannot be written to a .keras archive yet (save it as .h5)")
    config = keras3_config.to_keras3(json.loads(model.to_json()), model)
    training = hdf5_format.training_config(model)
    if training is not None:                 # Keras 3's compile_config: only what its compile takes
        config["compile_config"] = {"optimizer": dict(training["optimizer_config"], module="keras.optimizers",
                                                      registered_name=None),
                                    **{k: training.get(k) for k in ("loss", "loss_weights", "metrics",
                                                                    "weighted_metrics")}}
    metadata = {"keras_version": KERAS_VERSION, "symkeras_version": version.__version__,
                "date_saved": datetime.datetime.now().strftime("%Y-%m-%d@%H:%M:%S")}
    optimizer = getattr(model, "optimizer", None)
    optimizer_values = optimizer.get_weights() if include_optimizer and optimizer is not None and optimizer.built \
        else []
    weights = io.BytesIO()
    h5py = hdf5_format.h5py()
    with h5py.File(weights, "w") as h5:
        layers_group = h5.create_group("layers")
        for key, layer in zip(_layer_keys(model.layers), model.layers):
            group = layers_group.create_group(key)
            group.create_group("vars").attrs["name"] = layer.name
            for path, arrays in _weight_groups(layer):
                variables = group.require_group(path + "/vars" if path else "vars")
                for i, value in enumerate(arrays):
                    variables.create_dataset(str(i), data=value)
        if optimizer_values:
            variables = h5.create_group("optimizer").create_group("vars")
            variables.attrs["name"] = optimizer.name
            # Keras 3 keeps the learning rate as the optimizer's second variable.
            values = [optimizer_values[0], np.float32(optimizer.get_config()["learning_rate"])] + optimizer_values[1:]
            for i, value in enumerate(values):
                variables.create_dataset(str(i), data=np.asarray(value))
        h5.create_group("vars").attrs["name"] = model.name

    def write(f):
        with zipfile.ZipFile(f, "w") as archive:
            archive.writestr("metadata.json", json.dumps(metadata))
            archive.writestr("config.json", json.dumps(config))
            archive.writestr("model.weights.h5", weights.getvalue())
    write_atomically(filepath, write, overwrite)


# ----------------------------------------------------------------------------- reading

# A layer's own variables come first, then those of the layers it holds, in this order (Keras 3
# writes a recurrent layer's weights under its ``cell``, a Bidirectional's under its two layers).
_SUBLAYER_ORDER = ("cell", "forward_layer", "backward_layer", "layer")


def _group_arrays(group):
    """The arrays of a layer's group: its ``vars`` then its sub-layers' (nested ones too)."""
    variables = group.get("vars")
    arrays = [np.array(variables[str(i)]) for i in range(len(variables))] if variables is not None else []
    subgroups = [k for k in group.keys() if k != "vars"]
    known = [k for k in _SUBLAYER_ORDER if k in subgroups]
    for key in known + sorted(set(subgroups) - set(known), key=_natural):
        arrays += _group_arrays(group[key])
    return arrays


def _natural(key):
    return [int(part) if part.isdigit() else part for part in re.split(r"(\d+)", key)]


def _weight_groups(layer):
    """(path inside the layer's group, arrays) as Keras 3 lays a layer's weights out."""
    forward, backward = getattr(layer, "forward_layer", None), getattr(layer, "backward_layer", None)
    if forward is not None and backward is not None:
        return [(f"{side}/{path}".rstrip("/"), arrays) for side, part in (("forward_layer", forward),
                                                                          ("backward_layer", backward))
                for path, arrays in _weight_groups(part)]
    cell = getattr(layer, "cell", None)
    if cell is not None and not hasattr(cell, "cells"):
        return [("cell", layer.get_weights())]
    return [("", layer.get_weights())]


def read_model(filepath):
    """(model config, compile config or None, {layer name: [arrays]}, optimizer arrays, optimizer name)."""
    try:
        with zipfile.ZipFile(str(filepath)) as archive:
            config = json.loads(archive.read("config.json"))
            weights = archive.read("model.weights.h5") if "model.weights.h5" in archive.namelist() else None
    except (zipfile.BadZipFile, KeyError, ValueError) as error:
        raise ValueError(f"load_model: {filepath} is not a readable .keras archive ({error})") from None
    training = config.pop("compile_config", None) if isinstance(config, dict) else None
    layers, optimizer, optimizer_name = {}, [], None
    if weights is not None:
        h5py = hdf5_format.h5py()
        try:
            with h5py.File(io.BytesIO(weights), "r") as h5:
                for group in (h5["layers"].values() if "layers" in h5 else ()):
                    variables = group.get("vars")
                    if variables is None:
                        continue
                    name = hdf5_format.text(variables.attrs.get("name", ""))
                    layers[name] = _group_arrays(group)
                if "optimizer" in h5 and "vars" in h5["optimizer"]:
                    variables = h5["optimizer/vars"]
                    optimizer = [np.array(variables[str(i)]) for i in range(len(variables))]
                    optimizer_name = hdf5_format.text(variables.attrs.get("name", "")) or None
        except (OSError, KeyError) as error:
            raise ValueError(f"load_model: the weights in {filepath} are not readable ({error})") from None
    return config, training, layers, optimizer, optimizer_name


def load_model(filepath, custom_objects, safe_mode, model_from_config):
    config, training, layers, optimizer, optimizer_name = read_model(filepath)
    model = model_from_config(config, custom_objects=custom_objects, safe_mode=safe_mode)
    saved = [(layer.name, [(f"{layer.name}/{i}", value) for i, value in enumerate(layers[layer.name])])
             for layer in model.layers if layer.weights and layer.name in layers]
    missing = [layer.name for layer in model.layers if layer.weights and layer.name not in layers]
    if missing:
        raise ValueError(f"load_model: {filepath} holds no weights for layer(s) {missing}")
    hdf5_format.assign_layers(model, saved, filepath)
    if training:                    # Keras 3 writes {} for a model that was never compiled
        if training.get("optimizer") is None and optimizer_name and len(optimizer) >= 2:
            # Keras 3 may leave the optimizer out of compile_config: its variables name it, and the
            # second of them is its learning rate.
            training = dict(training, optimizer={"class_name": optimizer_name,
                                                 "config": {"learning_rate": float(optimizer[1])}})
        if len(optimizer) >= 2:
            optimizer = [optimizer[0]] + optimizer[2:]       # Keras 3's learning-rate variable is config here
        hdf5_format.compile_from(model, keras3_config.to_keras2(training), optimizer, custom_objects)
    return model


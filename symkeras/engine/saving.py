"""Saving and loading weights and whole models — one NumPy ``.npz`` file, whatever the file name.

The format lives in this module only (the Keras HDF5 layout is later work):

- ``save_weights``: one array per weight of ``model.weights``, in that order, keyed by the
  weight's name (``dense/kernel``).
- ``save_model``: the same, plus ``__model_config__`` (the ``model.to_json()`` text) and, when the
  optimizer has state, ``__optimizer__/0``, ``__optimizer__/1``, … (``optimizer.get_weights()``).

Files are written atomically: into a temporary file beside the target, then renamed over it,
so a reader never sees half a file and an interrupted save leaves the previous file intact.
"""

import json
import os
import threading

import numpy as np

CONFIG_KEY = "__model_config__"
OPTIMIZER_PREFIX = "__optimizer__/"


def _write_atomically(filepath, arrays, overwrite=True):
    filepath = os.fspath(filepath)
    if not overwrite and os.path.exists(filepath):
        raise FileExistsError(f"{filepath} exists and overwrite=False")
    directory, base = os.path.split(os.path.abspath(filepath))
    tmp = os.path.join(directory, f".{base}.{os.getpid()}.{threading.get_ident()}.tmp")
    try:
        with open(tmp, "wb") as f:
            np.savez(f, **arrays)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, filepath)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _weight_arrays(model):
    arrays = {}
    for w, value in zip(model.weights, model.get_weights()):
        name = w.op.storage.name
        if name in arrays or name == CONFIG_KEY or name.startswith(OPTIMIZER_PREFIX):
            raise ValueError(f"save_weights: the weight name {name!r} is not unique in model {model.name!r}; "
                             "give its layers distinct names")
        arrays[name] = value
    return arrays


def save_weights(model, filepath, overwrite=True):
    """Writes ``model``'s weights to ``filepath`` (npz, keyed by weight name)."""
    _write_atomically(filepath, _weight_arrays(model), overwrite)


def load_weights(model, filepath, by_name=False, skip_mismatch=False):
    """Reads weights written by ``save_weights`` or ``save_model``. By default they are matched
    by position (the same architecture, whatever its layer names); ``by_name=True`` matches weight
    names and leaves the model's other weights alone; ``skip_mismatch`` skips weights whose shape
    differs instead of raising."""
    with np.load(os.fspath(filepath), allow_pickle=False) as data:
        saved = {k: data[k] for k in data.files if k != CONFIG_KEY and not k.startswith(OPTIMIZER_PREFIX)}
    weights, values = model.weights, model.get_weights()
    if by_name:
        pairs = [(i, saved[w.op.storage.name]) for i, w in enumerate(weights) if w.op.storage.name in saved]
    else:
        if len(saved) != len(weights):
            raise ValueError(f"load_weights: {filepath} holds {len(saved)} weights, model {model.name!r} has "
                             f"{len(weights)}")
        pairs = list(enumerate(saved.values()))
    for i, value in pairs:
        if value.shape != values[i].shape:
            if skip_mismatch:
                continue
            raise ValueError(f"load_weights: weight {weights[i].op.storage.name!r} has shape {values[i].shape}, "
                             f"the file holds shape {value.shape}")
        values[i] = value
    model.set_weights(values)


def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """Writes the model's config (JSON), its weights and its optimizer state to ``filepath``."""
    arrays = _weight_arrays(model)
    arrays[CONFIG_KEY] = np.array(model.to_json())
    optimizer = getattr(model, "optimizer", None)
    if include_optimizer and optimizer is not None:
        for i, value in enumerate(optimizer.get_weights()):
            arrays[f"{OPTIMIZER_PREFIX}{i}"] = value
    _write_atomically(filepath, arrays, overwrite)


def load_model(filepath, custom_objects=None):
    """A model rebuilt from a ``save_model`` file, with its weights (not compiled: call
    ``compile`` again; the saved optimizer state is then not restored)."""
    from symkeras.models import model_from_json
    with np.load(os.fspath(filepath), allow_pickle=False) as data:
        if CONFIG_KEY not in data.files:
            raise ValueError(f"load_model: {filepath} holds weights only (written by save_weights)")
        config = str(data[CONFIG_KEY])
    model = model_from_json(config, custom_objects=custom_objects)
    load_weights(model, filepath)
    return model


def model_config(filepath):
    """The model config (a dict) stored in a ``save_model`` file."""
    with np.load(os.fspath(filepath), allow_pickle=False) as data:
        return json.loads(str(data[CONFIG_KEY]))

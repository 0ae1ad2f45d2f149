"""Saving and loading weights and whole models.

A path ending in ``.h5`` or ``.hdf5`` is written in Keras 2's HDF5 layout (``engine/hdf5_format.py``),
one ending in ``.keras`` as Keras 3's archive (``engine/keras_archive.py``); files of those kinds are
read as such whatever their names. Any other path is symkeras's NumPy ``.npz`` file, whose layout
is in ``engine/weights_file.py``:

- ``save_weights``: every weight of ``model.weights``, in that order, with its name;
- ``save_model``: the same, plus the ``model.to_json()`` text and the optimizer's state.

Files are data: loading reads arrays and JSON, and runs no code from the file unless asked to
(``safe_mode=False`` for Lambda layers stored as bytecode). Files are written atomically (see
``utils/atomic_files.py``): a reader never sees half a file, and an interrupted save leaves
the previous file intact. A load assigns every weight or none.
"""

import json
import warnings

from symkeras.engine import hdf5_format, keras_archive, weights_file


def _names_and_values(model):
    return [w.op.storage.name for w in model.weights], model.get_weights()


def save_weights(model, filepath, overwrite=True):
    """Writes ``model``'s weights, with their names, to ``filepath``."""
    if hdf5_format.is_hdf5(filepath, reading=False):
        return hdf5_format.save_weights(model, filepath, overwrite)
    weights_file.write(filepath, *_names_and_values(model), overwrite=overwrite)


def load_weights(model, filepath, by_name=False, skip_mismatch=False):
    """Reads weights written by ``save_weights`` or ``save_model``. By default they are matched
    by position (the same architecture, whatever its layer names); ``by_name=True`` matches weight
    names and leaves the model's other weights alone; with it, ``skip_mismatch`` skips weights
    whose shape differs instead of raising."""
    if skip_mismatch and not by_name:
        raise ValueError("When calling model.load_weights, skip_mismatch can only be set to True when by_name "
                         "is True.")
    if hdf5_format.is_hdf5(filepath, reading=True):
        return hdf5_format.load_weights(model, filepath, by_name, skip_mismatch)
    saved = weights_file.read(filepath, "load_weights")
    _assign(model, saved, filepath, by_name, skip_mismatch)


def _assign(model, saved, filepath, by_name=False, skip_mismatch=False):
    """Sets ``model``'s weights from ``saved``, all or none."""
    weights, values = model.weights, model.get_weights()
    names = [w.op.storage.name for w in weights]
    if by_name:
        found = {}
        for name, value in zip(saved.names, saved.values):
            found.setdefault(name, []).append(value)
        pairs = []
        for i, name in enumerate(names):
            if len(found.get(name, ())) > 1:
                raise ValueError(f"load_weights: {filepath} holds {len(found[name])} weights named {name!r}; "
                                 "by_name=True cannot tell them apart")
            if name in found:
                pairs.append((i, found[name][0]))
    else:
        if len(saved.values) != len(weights):
            raise ValueError(f"load_weights: {filepath} holds {len(saved.values)} weights, model {model.name!r} "
                             f"has {len(weights)}")
        pairs = list(enumerate(saved.values))
    for i, value in pairs:
        if value.shape != values[i].shape:
            if skip_mismatch:
                warnings.warn(f"Skipping loading of weight {names[i]!r} due to mismatch in shape "
                              f"({values[i].shape} vs {value.shape}).", UserWarning, stacklevel=3)
                continue
            raise ValueError(f"load_weights: weight {names[i]!r} has shape {values[i].shape}, "
                             f"the file holds shape {value.shape}")
        values[i] = value
    model.set_weights(values)


def save_model(model, filepath, overwrite=True, include_optimizer=True):
    """Writes the model's config (JSON), its weights and its optimizer state to ``filepath``."""
    if hdf5_format.is_hdf5(filepath, reading=False):
        return hdf5_format.save_model(model, filepath, overwrite, include_optimizer)
    if keras_archive.is_archive(filepath, reading=False):
        return keras_archive.save_model(model, filepath, overwrite, include_optimizer)
    optimizer = getattr(model, "optimizer", None)
    optimizer_values = optimizer.get_weights() if include_optimizer and optimizer is not None else ()
    weights_file.write(filepath, *_names_and_values(model), config=model.to_json(),
                       optimizer_values=optimizer_values, overwrite=overwrite)


def load_model(filepath, custom_objects=None, *, safe_mode=True):
    """A model rebuilt from a ``save_model`` file, with its weights (not compiled: call
    ``compile`` again; the saved optimizer state is then not restored).

    ``safe_mode=True`` refuses Lambda layers stored as Python bytecode (loading them runs code
    from the file); pass ``safe_mode=False`` only for files you trust. Functions named in the
    file are taken from ``custom_objects`` (or symkeras itself)."""
    from symkeras.models import model_from_config, model_from_json   # models imports this module (load_model)
    if hdf5_format.is_hdf5(filepath, reading=True):
        return _load_hdf5_model(filepath, custom_objects, safe_mode, model_from_json)
    if keras_archive.is_archive(filepath, reading=True):
        return keras_archive.load_model(filepath, custom_objects, safe_mode, model_from_config)
    saved = weights_file.read(filepath, "load_model")
    model = model_from_json(_config_text(saved, filepath, "load_model"), custom_objects=custom_objects,
                            safe_mode=safe_mode)
    _assign(model, saved, filepath)
    return model


def _load_hdf5_model(filepath, custom_objects, safe_mode, model_from_json):
    """A Keras 2 HDF5 model file: the model, its weights and, when the file says how it was
    compiled, compiled again with its optimizer state restored (as Keras 2's load_model)."""
    config, training, layers, optimizer_values = hdf5_format.read_model(filepath)
    model = model_from_json(config, custom_objects=custom_objects, safe_mode=safe_mode)
    hdf5_format.assign_layers(model, layers, filepath)
    if training is not None:
        hdf5_format.compile_from(model, training, optimizer_values, custom_objects)
    return model


def model_config(filepath):
    """The model config (a dict) stored in a ``save_model`` file."""
    return json.loads(_config_text(weights_file.read(filepath, "model_config"), filepath, "model_config"))


def weight_names(filepath):
    """The names of the weights stored in ``filepath``, in order."""
    return weights_file.read(filepath, "weight_names").names


def _config_text(saved, filepath, caller):
    if saved.config is None:
        raise ValueError(f"{caller}: {filepath} holds weights only (written by save_weights); load them into a "
                         "model with `model.load_weights`.")
    return saved.config

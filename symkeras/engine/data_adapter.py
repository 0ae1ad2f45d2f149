"""Array data for fit/evaluate/predict: standardised per model input/output, checked
against the model's shapes with Keras's messages, split, weighted and batched.

``what`` below is ``"input"`` (the ``x`` argument) or ``"target"`` (the ``y`` argument).
"""

import numpy as np

from symkeras import config
from symkeras.engine import data_checks
from symkeras.utils.data_utils import is_sequence

_ARGUMENT = {"input": "x", "target": "y"}


def is_generator_like(data):
    """A Python generator/iterator or a ``Sequence``-like object (not array data)."""
    return is_sequence(data) or hasattr(data, "__next__")


def reject_generator(data, argument, method):
    if is_generator_like(data):
        raise TypeError(f"{method}: `{argument}` is a generator or Sequence ({type(data).__name__}); "
                        f"{method} takes NumPy arrays (an array, a list or a dict of arrays)")


def _as_array(value, what, name):
    if hasattr(value, "values") and hasattr(value, "columns"):     # pandas DataFrame
        value = value.values
    try:
        arr = np.asarray(value)
    except Exception as exc:
        raise TypeError(f"Error when checking model {what} (`{_ARGUMENT.get(what, what)}`): could not "
                        f"convert the data for {name!r} to an array ({exc})") from None
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"Error when checking model {what} (`{_ARGUMENT.get(what, what)}`): expected "
                        f"numeric data for {name!r}, got an array of dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    return arr


def standardize(data, names, shapes, what, dtypes=None, check_shapes=True):
    """``data`` (array, list or dict by name) as a list of arrays, one per name, checked."""
    arg = _ARGUMENT.get(what, what)
    if data is None:
        raise ValueError(f"Error when checking model {what}: no data provided for `{arg}`; expected "
                         f"arrays for {names}")
    if isinstance(data, dict):
        missing = [n for n in names if n not in data]
        if missing:
            raise ValueError(f"No data provided for {missing[0]!r} in the `{arg}` dictionary. Need data "
                             f"for each key in: {names}")
        arrays = [data[n] for n in names]
    elif isinstance(data, (list, tuple)):
        scalars = all(np.isscalar(d) for d in data)
        arrays = [data] if scalars and len(names) == 1 else list(data)
        if len(arrays) != len(names):
            raise ValueError(f"Error when checking model {what}: the list of Numpy arrays that you are "
                             f"passing to your model as `{arg}` is not the size the model expected. "
                             f"Expected to see {len(names)} array(s), for {names}, but instead got "
                             f"{len(arrays)} arrays")
    else:
        if len(names) != 1:
            raise ValueError(f"Error when checking model {what}: the model expects {len(names)} arrays "
                             f"{names} as `{arg}`, but only received one array")
        arrays = [data]
    out = []
    for i, (arr, name) in enumerate(zip(arrays, names)):
        arr = _as_array(arr, what, name)
        if check_shapes and shapes[i] is not None:
            check_shape(arr, name, shapes[i], what)
        out.append(np.asarray(arr, dtype=dtypes[i] if dtypes else config.floatx()))
    return out


def check_shape(arr, name, shape, what):
    """Keras's rank and non-batch-dims check (``None`` dims accept anything)."""
    arg = _ARGUMENT.get(what, what)
    if arr.ndim != len(shape):
        raise ValueError(f"Error when checking {what} (`{arg}`): expected {name} to have {len(shape)} "
                         f"dimensions, but got array with shape {arr.shape}")
    for expected, actual in zip(shape[1:], arr.shape[1:]):
        if expected is not None and expected != actual:
            raise ValueError(f"Error when checking {what} (`{arg}`): expected {name} to have shape "
                             f"{tuple(shape[1:])} but got array with shape {arr.shape[1:]}")


def check_lengths(x, y, weights):
    """Same number of samples in every x array, y array and sample-weight array."""
    xs = {a.shape[0] for a in x}
    if len(xs) > 1:
        raise ValueError(f"All input arrays (`x`) should have the same number of samples. Got array "
                         f"shapes: {[a.shape for a in x]}")
    ys = {a.shape[0] for a in y}
    if len(ys) > 1:
        raise ValueError(f"All target arrays (`y`) should have the same number of samples. Got array "
                         f"shapes: {[a.shape for a in y]}")
    if xs and ys and xs != ys:
        raise ValueError(f"Input arrays (`x`) should have the same number of samples as target arrays "
                         f"(`y`). Found {xs.pop()} input samples and {ys.pop()} target samples.")
    n = next(iter(xs or ys), None)
    for w in weights:
        if w is not None and n is not None and w.shape[0] != n:
            raise ValueError(f"`sample_weight`: found a sample_weight array with {w.shape[0]} samples "
                             f"(shape {w.shape}) for data with {n} samples.")


def standardize_sample_weights(sample_weight, names, targets, modes):
    """One weight array (or None) per output, checked against its mode and target."""
    if sample_weight is None:
        return [None] * len(names)
    if isinstance(sample_weight, dict):
        unknown = [k for k in sample_weight if k not in names]
        if unknown:
            raise ValueError(f"Unknown entries in `sample_weight` dictionary: {unknown}. Only expected "
                             f"following keys: {names}")
        entries = [sample_weight.get(n) for n in names]
    elif isinstance(sample_weight, (list, tuple)) and len(names) > 1:
        if len(sample_weight) != len(names):
            raise ValueError(f"`sample_weight`: expected a list of {len(names)} arrays (one per output "
                             f"{names}), got {len(sample_weight)}")
        entries = list(sample_weight)
    elif isinstance(sample_weight, (list, tuple)) and len(sample_weight) == 1 and np.ndim(sample_weight[0]):
        entries = [sample_weight[0]]                      # [w] for a single-output model
    else:
        entries = [sample_weight] * len(names)            # one array for every output (tf-keras)
    out = []
    for w, name, y, mode in zip(entries, names, targets, modes):
        if w is None:
            out.append(None)
            continue
        try:
            w = np.asarray(w, dtype=config.floatx())
        except (TypeError, ValueError):
            raise TypeError(f"`sample_weight` for output {name!r}: expected a numeric array, got "
                            f"{type(w).__name__}") from None
        if mode == "temporal":
            if w.ndim != 2:
                raise ValueError(f"`sample_weight`: found a sample_weight array of shape {w.shape} for "
                                 f"output {name!r}; with sample_weight_mode='temporal' it must be 2-D "
                                 "(samples, timesteps)")
        elif w.ndim != 1:
            raise ValueError(f"`sample_weight`: found a sample_weight array with shape {w.shape} for output "
                             f"{name!r}. In order to use timestep-wise sample weighting, pass a 2D "
                             "sample_weight array and compile the model with sample_weight_mode='temporal'.")
        if y is not None and y.shape[:w.ndim] != w.shape:
            raise ValueError(f"`sample_weight`: found a sample_weight array with shape {w.shape} for an "
                             f"output {name!r} with targets of shape {y.shape}. sample_weight cannot be "
                             "broadcast.")
        out.append(w)
    return out


def class_weights_to_sample_weights(class_weight, names, targets, sample_weights):
    """Per-sample weight = class_weight[class], multiplied into given sample weights (tf-keras).

    The class is ``argmax(y)`` for one-hot targets, ``round(y)`` for a single column. A
    multi-output model takes a dict by output name or a list (one dict, or None, per output).
    """
    if class_weight is None:
        return sample_weights
    if not isinstance(class_weight, (dict, list, tuple)):
        raise TypeError(f"`class_weight` must be a dict mapping class indices to weights, got "
                        f"{type(class_weight).__name__}")
    if isinstance(class_weight, (list, tuple)):
        if len(class_weight) != len(names):
            raise ValueError(f"`class_weight`: a list needs one entry per output {names}, got "
                             f"{len(class_weight)}")
        per = list(class_weight)
    elif set(class_weight) & set(names):
        unknown = [k for k in class_weight if k not in names]
        if unknown:
            raise ValueError(f"Unknown entries in `class_weight` dictionary: {unknown}. Only expected "
                             f"following keys: {names}")
        per = [class_weight.get(n) for n in names]
    else:
        per = [class_weight] * len(names) if len(names) == 1 else None
        if per is None:
            raise ValueError(f"`class_weight` for a model with several outputs {names} must be a dict "
                             "keyed by output name or a list (one dict per output)")
    out = []
    for cw, y, sw, name in zip(per, targets, sample_weights, names):
        if cw is None:
            out.append(sw)
            continue
        if not isinstance(cw, dict):
            raise TypeError(f"`class_weight` for output {name!r}: expected a dict mapping class indices "
                            f"to weights, got {cw!r}")
        if y is None:
            raise ValueError(f"`class_weight`: output {name!r} has a fixed target tensor; class weights need "
                             "target arrays")
        if y.ndim > 2:
            raise ValueError(f"`class_weight` not supported for 3+ dimensional targets (output {name!r} "
                             f"has targets of shape {y.shape}).")
        classes = y.argmax(axis=1) if y.shape[1] > 1 else np.round(y[:, 0]).astype(np.int64)
        table = {}
        for k, v in cw.items():
            try:
                table[int(k)] = float(v)
            except (TypeError, ValueError):
                raise ValueError(f"`class_weight`: keys must be class indices and values numbers, got "
                                 f"{k!r}: {v!r}") from None
        data_checks.check_class_weight(table, name if len(names) > 1 else None)
        missing = sorted(set(np.unique(classes).tolist()) - set(table))
        if missing:
            raise ValueError(f"`class_weight` must contain all classes in the data. The classes {missing} "
                             f"exist in the data but not in `class_weight` (output {name!r}).")
        weights = np.array([table[c] for c in classes.tolist()], dtype=config.floatx())
        out.append(weights if sw is None else (sw * weights).astype(config.floatx()))
    return out

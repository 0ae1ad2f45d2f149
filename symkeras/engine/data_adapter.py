"""Array data for fit/evaluate/predict: standardised per model input/output, checked
against the model's shapes with Keras's messages, split, weighted and batched."""

import numpy as np

from symkeras import config


def _as_array(value, what, name):
    if hasattr(value, "values") and hasattr(value, "columns"):     # pandas DataFrame
        value = value.values
    try:
        arr = np.asarray(value)
    except Exception as exc:
        raise TypeError(f"Error when checking {what}: could not convert data for {name!r} to an array "
                        f"({exc})") from None
    if arr.dtype == object or arr.dtype.kind not in "biuf":
        raise TypeError(f"Error when checking {what}: expected numeric data for {name!r}, "
                        f"got an array of dtype {arr.dtype}")
    if arr.ndim == 1:
        arr = arr.reshape(-1, 1)
    return arr


def standardize(data, names, shapes, what, dtypes=None, check_shapes=True):
    """``data`` (array, list or dict by name) as a list of arrays, one per name, checked."""
    if data is None:
        raise ValueError(f"Error when checking model {what}: no data provided; expected arrays for {names}")
    if isinstance(data, dict):
        missing = [n for n in names if n not in data]
        if missing:
            raise ValueError(f"No data provided for {missing[0]!r}. Need data for each key in: {names}")
        arrays = [data[n] for n in names]
    elif isinstance(data, (list, tuple)):
        scalars = all(np.isscalar(d) for d in data)
        arrays = [data] if scalars and len(names) == 1 else list(data)
        if len(arrays) != len(names):
            raise ValueError(f"Error when checking model {what}: the list of Numpy arrays that you are "
                             f"passing to your model is not the size the model expected. Expected to see "
                             f"{len(names)} array(s), for inputs {names} but instead got {len(arrays)} arrays")
    else:
        if len(names) != 1:
            raise ValueError(f"Error when checking model {what}: the model expects {len(names)} arrays "
                             f"{names}, but only received one array")
        arrays = [data]
    out = []
    for i, (arr, name, shape) in enumerate(zip(arrays, names, shapes)):
        arr = _as_array(arr, what, name)
        if check_shapes and shape is not None:
            _check_shape(arr, name, shape, what)
        dtype = dtypes[i] if dtypes else config.floatx()
        out.append(np.asarray(arr, dtype=dtype))
    return out


def _check_shape(arr, name, shape, what):
    if arr.ndim != len(shape):
        raise ValueError(f"Error when checking {what}: expected {name} to have {len(shape)} dimensions, "
                         f"but got array with shape {arr.shape}")
    for expected, actual in zip(shape[1:], arr.shape[1:]):
        if expected is not None and expected != actual:
            raise ValueError(f"Error when checking {what}: expected {name} to have shape {tuple(shape[1:])} "
                             f"but got array with shape {arr.shape[1:]}")


def check_lengths(x, y, weights):
    xs = {a.shape[0] for a in x}
    if len(xs) > 1:
        raise ValueError(f"All input arrays (x) should have the same number of samples. Got array shapes: "
                         f"{[a.shape for a in x]}")
    ys = {a.shape[0] for a in y}
    if len(ys) > 1:
        raise ValueError(f"All target arrays (y) should have the same number of samples. Got array shapes: "
                         f"{[a.shape for a in y]}")
    if xs and ys and xs != ys:
        raise ValueError(f"Input arrays should have the same number of samples as target arrays. Found "
                         f"{xs.pop()} input samples and {ys.pop()} target samples.")
    for w, t in zip(weights, y):
        if w is not None and w.shape[0] != t.shape[0]:
            raise ValueError(f"Found a sample_weight array with shape {w.shape} for an input with shape "
                             f"{t.shape}. sample_weight cannot be broadcast.")


def standardize_sample_weights(sample_weight, names, targets, modes):
    """One weight array (or None) per output, checked against its mode and target."""
    if sample_weight is None:
        return [None] * len(names)
    if isinstance(sample_weight, dict):
        unknown = [k for k in sample_weight if k not in names]
        if unknown:
            raise ValueError(f"Unknown entries in sample_weight dictionary: {unknown}. Only expected "
                             f"following keys: {names}")
        entries = [sample_weight.get(n) for n in names]
    elif isinstance(sample_weight, (list, tuple)) and len(names) > 1:
        if len(sample_weight) != len(names):
            raise ValueError(f"sample_weight: expected a list of {len(names)} arrays (one per output), "
                             f"got {len(sample_weight)}")
        entries = list(sample_weight)
    else:
        entries = [sample_weight] + [None] * (len(names) - 1) if len(names) == 1 else [sample_weight] * len(names)
    out = []
    for w, name, y, mode in zip(entries, names, targets, modes):
        if w is None:
            out.append(None)
            continue
        w = np.asarray(w, dtype=config.floatx())
        if mode == "temporal":
            if y.ndim < 3:
                raise ValueError(f"sample_weight: 'temporal' mode needs targets of rank >= 3; output {name!r} "
                                 f"has targets of shape {y.shape}")
            if w.ndim != 2:
                raise ValueError(f"sample_weight: found a sample_weight array of shape {w.shape} for output "
                                 f"{name!r}; in 'temporal' mode it must be 2-D (samples, timesteps)")
        elif w.ndim != 1:
            raise ValueError(f"sample_weight: found a sample_weight array with shape {w.shape} for output "
                             f"{name!r}. In order to use timestep-wise sample weighting, pass a 2D "
                             "sample_weight array and compile the model with sample_weight_mode='temporal'.")
        if y.shape[:w.ndim] != w.shape:
            raise ValueError(f"sample_weight: found a sample_weight array with shape {w.shape} for an input "
                             f"with shape {y.shape}. sample_weight cannot be broadcast.")
        out.append(w)
    return out


def class_weights_to_sample_weights(class_weight, names, targets, sample_weights):
    """tf-keras: per-sample weight = class_weight[class]; multiplied into given sample weights."""
    if class_weight is None:
        return sample_weights
    if len(names) > 1 and not isinstance(class_weight, dict) or (
            isinstance(class_weight, dict) and set(class_weight) & set(names)):
        per = class_weight if not isinstance(class_weight, dict) else [class_weight.get(n) for n in names]
    else:
        per = [class_weight] + [None] * (len(names) - 1)
    out = []
    for cw, y, sw, name in zip(per, targets, sample_weights, names):
        if cw is None:
            out.append(sw)
            continue
        if not isinstance(cw, dict):
            raise TypeError(f"class_weight: expected a dict mapping class indices to weights, got {cw!r}")
        if y.ndim > 2:
            raise ValueError("class_weight not supported for 3+ dimensional targets.")
        classes = y.argmax(axis=1) if y.shape[1] > 1 else np.round(y[:, 0]).astype(np.int64)
        keys = {}
        for k, v in cw.items():
            try:
                keys[int(k)] = float(v)
            except (TypeError, ValueError):
                raise ValueError(f"class_weight: keys must be class indices, got {k!r}") from None
        missing = sorted(set(np.unique(classes).tolist()) - set(keys))
        if missing:
            raise ValueError(f"`class_weight` must contain all classes in the data. The classes {missing} "
                             f"exist in the data but not in `class_weight` (output {name!r}).")
        weights = np.array([keys[c] for c in classes.tolist()], dtype=config.floatx())
        out.append(weights if sw is None else (sw.T * weights).T.astype(config.floatx()))
    return out


def split_validation(arrays, validation_split):
    """tf-keras: the last fraction of the samples, taken before any shuffling."""
    n = next(a.shape[0] for group in arrays for a in group if a is not None)
    split_at = int(n * (1.0 - validation_split))
    if split_at == 0 or split_at == n:
        raise ValueError(f"Training data contains {n} samples, which is not sufficient to split it into a "
                         f"validation and training set as specified by `validation_split={validation_split}`. "
                         "Either provide more data, or a different value for the `validation_split` argument.")
    train = [[None if a is None else a[:split_at] for a in group] for group in arrays]
    val = [[None if a is None else a[split_at:] for a in group] for group in arrays]
    return train, val


def batch_order(n, batch_size, shuffle, epoch_index_array=None):
    """The sample order of one epoch: True → a permutation (global NumPy RNG), 'batch' →
    whole batches permuted with the partial batch kept last, False → in order."""
    index = np.arange(n) if epoch_index_array is None else epoch_index_array
    if shuffle == "batch":
        full = (n // batch_size) * batch_size
        blocks = index[:full].reshape(-1, batch_size)
        np.random.shuffle(blocks)
        return np.concatenate([blocks.reshape(-1), index[full:]])
    if shuffle:
        return np.random.permutation(n)
    return index


def batches(n, batch_size):
    return [(start, min(n, start + batch_size)) for start in range(0, n, batch_size)]

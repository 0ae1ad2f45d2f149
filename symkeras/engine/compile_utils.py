"""compile() arguments resolved per output: losses, loss weights, metrics and their names,
sample-weight modes (tf-keras semantics; see the project's Keras 2 spec)."""

import warnings

from symkeras import losses
from symkeras import metrics as metrics_module     # `metrics` is a compile argument below


def per_output(value, names, what, allow_missing=True, default=None):
    """A compile argument as one entry per output: single value, list, or dict by output name."""
    if isinstance(value, dict):
        unknown = [k for k in value if k not in names]
        if unknown:
            raise ValueError(f"Unknown entries in {what} dictionary: {unknown}. Only expected following "
                             f"keys: {names}")
        missing = [n for n in names if n not in value]
        if missing and not allow_missing:
            raise ValueError(f"Output {missing[0]!r} missing from {what} dictionary. "
                             f"We assume this was done on purpose. Expected keys: {names}")
        return [value.get(n, default) for n in names]
    if isinstance(value, (list, tuple)):
        if len(value) != len(names):
            raise ValueError(f"When passing a list as {what}, it should have one entry per model output. "
                             f"The model has {len(names)} outputs, but you passed {what}={value!r}")
        return list(value)
    return [value] * len(names)


def target_tensors_per_output(target_tensors, names):
    """``target_tensors`` as one entry per output (None: the target is fed from ``y``)."""
    if target_tensors is None:
        return [None] * len(names)
    if isinstance(target_tensors, (dict, list, tuple)) and (len(names) > 1 or isinstance(target_tensors, dict)
                                                            or len(target_tensors) == 1):
        return per_output(target_tensors, names, "target_tensors")
    if len(names) == 1:
        return [target_tensors]
    raise TypeError(f"target_tensors: a model with {len(names)} outputs needs a list or a dict of targets, "
                    f"got {type(target_tensors).__name__}")


def resolve_losses(loss, names):
    entries = per_output(loss, names, "loss")
    if isinstance(loss, dict):
        for name in names:
            if name not in loss:
                warnings.warn(f"Output {name!r} missing from loss dictionary. We assume this was done on "
                              "purpose. The fit and evaluate APIs will not be expecting any data to be "
                              f"passed to {name!r}.", UserWarning, stacklevel=3)
    return [None if e is None else losses.get(e) for e in entries]


def resolve_loss_weights(loss_weights, names):
    if loss_weights is None:
        return [1.0] * len(names)
    if isinstance(loss_weights, dict):
        entries = per_output(loss_weights, names, "loss_weights", default=1.0)
    elif isinstance(loss_weights, (list, tuple)):
        entries = per_output(list(loss_weights), names, "loss_weights")
    elif isinstance(loss_weights, (int, float)) and not isinstance(loss_weights, bool) and len(names) == 1:
        entries = [loss_weights]
    else:
        raise TypeError(f"Could not interpret loss_weights argument: {loss_weights!r} - expected a list "
                        "or a dict.")
    for name, w in zip(names, entries):
        if isinstance(w, bool) or not isinstance(w, (int, float)) and not hasattr(w, "__float__"):
            raise TypeError(f"loss_weights: the weight of output {name!r} must be a number, got {w!r}")
    return [float(w) for w in entries]


def resolve_sample_weight_modes(mode, names):
    if isinstance(mode, dict):
        entries = per_output(mode, names, "sample_weight_mode")
    elif isinstance(mode, (list, tuple)):
        entries = per_output(list(mode), names, "sample_weight_mode")
    else:
        entries = [mode] * len(names)
    for e in entries:
        if e not in (None, "temporal"):
            raise ValueError(f"sample_weight_mode: expected None or 'temporal', got {e!r}")
    return entries


def metrics_per_output(metrics, names, what="metrics"):
    """A list of metric identifiers for each output."""
    if metrics is None:
        return [[] for _ in names]
    if isinstance(metrics, str) or callable(metrics):
        metrics = [metrics]
    if isinstance(metrics, dict):
        unknown = [k for k in metrics if k not in names]
        if unknown:
            raise ValueError(f"Unknown entries in {what} dictionary: {unknown}. Only expected following "
                             f"keys: {names}")
        return [_as_list(metrics.get(n)) for n in names]
    if isinstance(metrics, (list, tuple)):
        if metrics and all(isinstance(m, (list, tuple)) for m in metrics):
            if len(metrics) != len(names):
                raise ValueError(f"When passing a list of lists as {what}, it should have one entry per "
                                 f"model output. The model has {len(names)} outputs, got {len(metrics)}")
            return [list(m) for m in metrics]
        return [list(metrics) for _ in names]
    raise TypeError(f"Type of `{what}` argument not understood. Expected a list or dictionary, found: "
                    f"{metrics!r}")


def _as_list(x):
    if x is None:
        return []
    return list(x) if isinstance(x, (list, tuple)) else [x]


_BY_SHAPES = ("accuracy", "acc", "crossentropy", "ce")


def resolve_metric(identifier, y_true_shape, y_pred_shape):
    """(display name, function). 'accuracy'/'acc'/'crossentropy'/'ce' resolve by shapes as
    tf-keras does (binary, sparse or categorical) and keep the name the user wrote."""
    if isinstance(identifier, str) and identifier.lower() in _BY_SHAPES:
        return identifier, metrics_module.resolve_by_shapes(identifier, y_true_shape, y_pred_shape)
    fn = metrics_module.get(identifier)
    if isinstance(fn, metrics_module.Reduce):
        raise TypeError(f"{type(fn).__name__} reduces values it is given (`update_state(values)`); it "
                        "cannot be computed from (y_true, y_pred) as a compile metric")
    if isinstance(identifier, str) and not getattr(fn, "_compiled_state", False):
        return identifier, fn
    name = getattr(fn, "name", None) or getattr(fn, "__name__", None) or type(fn).__name__
    return name, fn


def metric_names(entries, multi_output, loss_names):
    """tf-keras metric names for ``entries`` = (output name, weighted?, name), per output plain
    then weighted: ``{output}_{name}`` for several outputs; a weighted metric whose name is taken
    becomes ``weighted_{name}`` (``{output}_weighted_{name}``); names still repeated, or equal to a
    loss name, get ``_1``, ``_2``, ... (Keras 2)."""
    names, seen = [], set()
    for output, weighted, name in entries:
        prefix = f"{output}_" if multi_output else ""
        full = prefix + name
        if weighted and full in seen:
            full = prefix + "weighted_" + name
        names.append(full)
        seen.add(full)
    return unique_names(list(loss_names) + names)[len(loss_names):]


def target_shape(loss, output_shape):
    """The shape of the targets an output's loss expects (sparse losses take class indices)."""
    fn = getattr(loss, "fn", loss)
    if fn is losses.sparse_categorical_crossentropy or getattr(loss, "sparse", False):
        return tuple(output_shape[:-1]) + (1,)
    return tuple(output_shape)


def unique_names(names):
    """Append _1, _2, ... to repeated names, keeping the first as is."""
    seen, out = {}, []
    for n in names:
        if n in seen:
            seen[n] += 1
            candidate = f"{n}_{seen[n]}"
            while candidate in seen:
                seen[n] += 1
                candidate = f"{n}_{seen[n]}"
            seen[candidate] = 0
            out.append(candidate)
        else:
            seen[n] = 0
            out.append(n)
    return out

"""The fit / evaluate / predict loops over array data."""

import numpy as np

from symkeras import callbacks as callbacks_module
from symkeras.engine import data_adapter
from symkeras.engine.training import _Results


def _should_validate(validation_freq, epoch):
    if isinstance(validation_freq, int) and not isinstance(validation_freq, bool):
        if validation_freq < 1:
            raise ValueError("`validation_freq` can not be less than 1.")
        return (epoch + 1) % validation_freq == 0
    try:
        return (epoch + 1) in validation_freq
    except TypeError:
        raise ValueError(f"`validation_freq` must be an Integer or `collections.abc.Container` (e.g. list, "
                         f"tuple, etc.). Found {validation_freq!r}") from None


def _unpack_validation(validation_data):
    if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
        raise ValueError("When passing validation_data, it must contain 2 (x_val, y_val) or 3 "
                         "(x_val, y_val, val_sample_weights) items, however it contains "
                         f"{len(validation_data) if hasattr(validation_data, '__len__') else 'an unknown number of'} items")
    x, y = validation_data[0], validation_data[1]
    w = validation_data[2] if len(validation_data) == 3 else None
    return x, y, w


def _take(arrays, index):
    if isinstance(index, slice):
        return [a[index] for a in arrays]
    return [np.take(a, index, axis=0) for a in arrays]


def fit(model, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle,
        class_weight, sample_weight, initial_epoch, steps_per_epoch, validation_steps, validation_batch_size,
        validation_freq):
    if isinstance(validation_freq, int):
        _should_validate(validation_freq, 0)
    xs, ys, ws = model._training_arrays(x, y, sample_weight, class_weight)
    arrays = [xs, ys, ws]
    val = None
    if validation_data is not None and len(validation_data) > 0:
        vx, vy, vw = _unpack_validation(validation_data)
        val = model._training_arrays(vx, vy, vw)
    elif validation_split and 0.0 < validation_split < 1.0:
        arrays, val_arrays = data_adapter.split_validation(arrays, validation_split)
        val = tuple(val_arrays)
    elif validation_split and not 0.0 <= validation_split < 1.0:
        raise ValueError(f"validation_split must be in [0, 1), got {validation_split}")
    if validation_steps is not None and val is None:
        raise ValueError("validation_steps is given but there is no validation data")
    xs, ys, ws = arrays
    n = xs[0].shape[0]
    batch_size = 32 if batch_size is None else int(batch_size)
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size}")
    steps = -(-n // batch_size) if steps_per_epoch is None else int(steps_per_epoch)
    train = model.make_train_function()
    if val is not None:
        model.make_test_function()
    history = callbacks_module.History()
    cbs = callbacks_module.CallbackList(callbacks, add_history=False, add_progbar=verbose != 0, model=model)
    cbs.callbacks.append(history)
    history.set_model(model)
    cbs.set_params({"batch_size": batch_size, "epochs": epochs, "steps": steps, "samples": n,
                    "verbose": verbose, "do_validation": val is not None,
                    "metrics": model.metrics_names + ["val_" + m for m in model.metrics_names]})
    model.stop_training = False
    model.history = history
    feed = xs + ys + ws
    order = np.arange(n)
    cursor = n             # position in the current pass over the data (steps_per_epoch mode)
    cbs.on_train_begin({})
    logs = {}
    for epoch in range(initial_epoch, epochs):
        cbs.on_epoch_begin(epoch, {})
        results = _Results(model.metrics_names, model._n_losses)
        for step in range(steps):
            if steps_per_epoch is None:
                if step == 0:
                    order = data_adapter.batch_order(n, batch_size, shuffle, order if shuffle == "batch" else None)
                start, stop = step * batch_size, min(n, (step + 1) * batch_size)
            else:
                if cursor >= n:
                    order = data_adapter.batch_order(n, batch_size, shuffle, order if shuffle == "batch" else None)
                    cursor = 0
                start, stop = cursor, min(n, cursor + batch_size)
                cursor = stop
            index = slice(start, stop) if not shuffle else order[start:stop]
            batch_logs = {"batch": step, "size": stop - start}
            cbs.on_train_batch_begin(step, batch_logs)
            values = train(_take(feed, index))
            results.add(values, stop - start)
            batch_logs = results.logs()
            cbs.on_train_batch_end(step, batch_logs)
            if model.stop_training:
                break
        logs = results.logs()
        if val is not None and _should_validate(validation_freq, epoch) and not model.stop_training:
            val_logs = _test_loop(model, val, validation_batch_size or batch_size, validation_steps, cbs,
                                  verbose=0)
            logs.update({"val_" + k: v for k, v in val_logs.items()})
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbs.on_train_end(logs)
    return history


def _test_loop(model, data, batch_size, steps, cbs, verbose):
    xs, ys, ws = data
    feed = xs + ys + ws
    n = xs[0].shape[0]
    test = model.make_test_function()
    results = _Results(model.metrics_names, model._n_losses)
    bounds = data_adapter.batches(n, batch_size)
    if steps is not None:
        bounds = bounds[:int(steps)]
    cbs.on_test_begin({})
    progbar = None
    if verbose == 1:
        from symkeras.utils.progbar import Progbar
        progbar = Progbar(len(bounds))
    for i, (start, stop) in enumerate(bounds):
        cbs.on_test_batch_begin(i, {"batch": i, "size": stop - start})
        results.add(test(_take(feed, slice(start, stop))), stop - start)
        logs = results.logs()
        cbs.on_test_batch_end(i, logs)
        if progbar is not None:
            progbar.update(i + 1, list(logs.items()))
    logs = results.logs()
    cbs.on_test_end(logs)
    return logs


def evaluate(model, x, y, batch_size, verbose, sample_weight, steps, callbacks):
    data = model._training_arrays(x, y, sample_weight)
    model.make_test_function()
    cbs = callbacks_module.CallbackList(callbacks, model=model)
    return _test_loop(model, data, 32 if batch_size is None else int(batch_size), steps, cbs, verbose)


def predict(model, x, batch_size, verbose, steps, callbacks):
    xs = model._input_arrays(x)
    n = xs[0].shape[0]
    fn = model.make_predict_function()
    bounds = data_adapter.batches(n, 32 if batch_size is None else int(batch_size))
    if steps is not None:
        bounds = bounds[:int(steps)]
    cbs = callbacks_module.CallbackList(callbacks, model=model)
    cbs.on_predict_begin({})
    progbar = None
    if verbose == 1:
        from symkeras.utils.progbar import Progbar
        progbar = Progbar(len(bounds))
    outputs = None
    for i, (start, stop) in enumerate(bounds):
        cbs.on_predict_batch_begin(i, {"batch": i, "size": stop - start})
        batch_out = fn(_take(xs, slice(start, stop)))
        if outputs is None:
            total = bounds[-1][1] - bounds[0][0]
            outputs = [np.empty((total,) + o.shape[1:], o.dtype) for o in batch_out]
        for buf, o in zip(outputs, batch_out):
            buf[start:stop] = o
        cbs.on_predict_batch_end(i, {"outputs": batch_out})
        if progbar is not None:
            progbar.update(i + 1)
    cbs.on_predict_end({})
    return outputs[0] if len(outputs) == 1 else outputs

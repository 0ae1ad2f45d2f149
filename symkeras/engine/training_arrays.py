"""The fit / evaluate / predict loops over array data (tf-keras semantics)."""

import numpy as np

from symkeras import callbacks as callbacks_module
from symkeras.engine import data_adapter
from symkeras.engine.training import _Results


def _should_validate(validation_freq, epoch):
    if isinstance(validation_freq, (int, np.integer)):
        return (epoch + 1) % validation_freq == 0
    return (epoch + 1) in validation_freq


def _unpack_validation(validation_data):
    if not isinstance(validation_data, (list, tuple)) or len(validation_data) not in (2, 3):
        size = len(validation_data) if hasattr(validation_data, "__len__") else "an unknown number of"
        raise ValueError("When passing `validation_data`, it must contain 2 (x_val, y_val) or 3 "
                         f"(x_val, y_val, val_sample_weights) items, however it contains {size} items")
    w = validation_data[2] if len(validation_data) == 3 else None
    return validation_data[0], validation_data[1], w


def _verbose(verbose):
    return 1 if verbose == "auto" else int(verbose)


def _take(arrays, index):
    if isinstance(index, slice):
        return [a[index] for a in arrays]
    return [np.take(a, index, axis=0) for a in arrays]


def _steps(value):
    return None if value is None else int(value)


def fit(model, x, y, batch_size, epochs, verbose, callbacks, validation_split, validation_data, shuffle,
        class_weight, sample_weight, initial_epoch, steps_per_epoch, validation_steps, validation_batch_size,
        validation_freq):
    """The data is validated before the first step (the arguments by Model.fit), so bad data leaves
    the model untouched."""
    verbose = _verbose(verbose)
    steps_per_epoch, validation_steps = _steps(steps_per_epoch), _steps(validation_steps)
    if data_adapter.is_generator_like(validation_data):
        raise TypeError("fit: `validation_data` is a generator or Sequence while `x` is array data; pass "
                        "validation arrays (x_val, y_val[, sample_weight]), or give `x` as a generator too")
    xs, ys, ws = model._training_arrays(x, y, sample_weight, "fit")
    val = None
    if validation_data is not None and len(validation_data) > 0:
        vx, vy, vw = _unpack_validation(validation_data)
        try:
            val = model._training_arrays(vx, vy, vw, "fit")
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"In `validation_data`: {exc}") from None
    elif validation_split:
        (xs, ys, ws), val = data_adapter.split_validation([xs, ys, ws], validation_split)
    ws = model._class_weighted(class_weight, ys, ws)       # training data only (tf-keras)
    n = xs[0].shape[0]
    batch_size = data_adapter.resolve_batch_size(batch_size, n, steps_per_epoch)
    val_batch_size = data_adapter.resolve_batch_size(validation_batch_size or batch_size, 1, None)
    steps = -(-n // batch_size) if steps_per_epoch is None else steps_per_epoch
    train = model.make_train_function()
    if val is not None:
        model.make_test_function()

    names = model.metrics_names
    cbs = callbacks_module.CallbackList(
        callbacks, add_history=True, add_progbar=verbose != 0, model=model, batch_size=batch_size, epochs=epochs,
        steps=steps, samples=n, verbose=verbose, do_validation=val is not None,
        metrics=names + (["val_" + m for m in names] if val is not None else []))
    model.stop_training = False
    model.reset_metrics()
    feed = xs + ys + ws
    order, cursor = np.arange(n), n        # the sample order of the current pass, the position in it
    cbs.on_train_begin({})
    logs = {}
    for epoch in range(initial_epoch, epochs):
        cbs.on_epoch_begin(epoch, {})
        results = _Results(model.metrics_names, model._n_losses)
        if steps_per_epoch is None:
            cursor = n                     # every epoch is one whole pass
        for step in range(steps):
            if cursor >= n:
                order, cursor = data_adapter.batch_order(order, batch_size, shuffle), 0
            start, stop = cursor, min(n, cursor + batch_size)
            cursor = stop
            cbs.on_train_batch_begin(step, {"batch": step, "size": stop - start})
            results.add(train(_take(feed, order[start:stop] if shuffle else slice(start, stop))), stop - start)
            cbs.on_train_batch_end(step, dict(results.logs(), batch=step, size=stop - start))
            if model.stop_training:
                break
        logs = results.logs()
        if val is not None and _should_validate(validation_freq, epoch):
            val_logs = _test_loop(model, val, val_batch_size, validation_steps, cbs)
            logs.update({"val_" + k: v for k, v in val_logs.items()})
        cbs.on_epoch_end(epoch, logs)
        if model.stop_training:
            break
    cbs.on_train_end(logs)
    return cbs.history


def _test_loop(model, data, batch_size, steps, cbs):
    """One evaluation; the progress bar, if any, is the ProgbarLogger in ``cbs``."""
    xs, ys, ws = data
    feed = xs + ys + ws
    test = model.make_test_function()
    results = _Results(model.metrics_names, model._n_losses)
    bounds = data_adapter.batches(xs[0].shape[0], batch_size)[:steps]
    cbs.on_test_begin({})
    for i, (start, stop) in enumerate(bounds):
        cbs.on_test_batch_begin(i, {"batch": i, "size": stop - start})
        results.add(test(_take(feed, slice(start, stop))), stop - start)
        cbs.on_test_batch_end(i, dict(results.logs(), batch=i, size=stop - start))
    logs = results.logs()
    cbs.on_test_end(logs)
    return logs


def evaluate(model, x, y, batch_size, verbose, sample_weight, steps, callbacks):
    steps = _steps(steps)
    data = model._training_arrays(x, y, sample_weight, "evaluate")
    batch_size = data_adapter.resolve_batch_size(batch_size, data[0][0].shape[0], steps)
    model.make_test_function()
    model.reset_metrics()
    verbose = _verbose(verbose)
    n_batches = len(data_adapter.batches(data[0][0].shape[0], batch_size)[:steps])
    cbs = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose,
                                        epochs=1, steps=n_batches)
    return _test_loop(model, data, batch_size, steps, cbs)


def predict(model, x, batch_size, verbose, steps, callbacks):
    steps = _steps(steps)
    if x is None:
        raise ValueError("predict: `x` is required (input arrays for the model's inputs)")
    xs = model._input_arrays(x, "predict")
    n = xs[0].shape[0]
    batch_size = data_adapter.resolve_batch_size(batch_size, n, steps)
    fn = model.make_predict_function()
    bounds = data_adapter.batches(n, batch_size)[:steps]
    verbose = _verbose(verbose)
    cbs = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose,
                                        epochs=1, steps=len(bounds))
    cbs.on_predict_begin({})
    total = bounds[-1][1] if bounds else 0
    outputs = [np.empty((total,) + tuple(o.shape[1:]), o.dtype) for o in _empty_outputs(model)]
    for i, (start, stop) in enumerate(bounds):
        cbs.on_predict_batch_begin(i, {"batch": i, "size": stop - start})
        batch_out = fn(_take(xs, slice(start, stop)))
        for buf, o in zip(outputs, batch_out):
            buf[start:stop] = o
        cbs.on_predict_batch_end(i, {"batch": i, "size": stop - start,
                                     "outputs": batch_out[0] if len(batch_out) == 1 else batch_out})
    cbs.on_predict_end({})
    return outputs[0] if len(outputs) == 1 else outputs


def _empty_outputs(model):
    """Zero-row arrays with each output's shape and dtype (what predict returns for no data)."""
    from symkeras.ir import dims
    return [np.empty(dims.concrete_shape(out.shape, 0), out.dtype) for out in model.outputs]

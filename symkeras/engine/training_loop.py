"""The one loop behind fit, evaluate and predict (and the *_generator methods): the batches of
a data handler through a generated function, with tf-keras's callback hooks.

Epoch values are means over the batches weighted by their size. Whatever interrupts a loop
(KeyboardInterrupt, an exception from the data, a worker or a callback) stops the data's workers
before it propagates; the model keeps the weights of its last completed step.
"""

import contextlib
import numbers
import warnings

import numpy as np
import sympy

from symkeras import callbacks as callbacks_module
from symkeras.engine import data_handler
from symkeras.ir import dims


class Results:
    """Running values: loss terms weighted by batch size, metrics as Σw·m / Σw; a streaming
    metric (``stateful``) reports the running result its state variables give.

    Plain Python floats: a handful of numbers per step, where NumPy's per-call cost would
    dominate a small model's training step."""

    def __init__(self, names, n_losses, stateful=()):
        self.names, self.n_losses = names, n_losses
        self.loss_sums = [0.0] * n_losses
        n_metrics = len(names) - n_losses
        self.num, self.den = [0.0] * n_metrics, [0.0] * n_metrics
        self.seen = 0
        self.stateful = list(stateful) if any(stateful) else None

    @classmethod
    def of(cls, model):
        """A new accumulation for ``model``: its streaming metrics' states start again from zero."""
        model._reset_metric_states()
        return cls(model.metrics_names, model._n_losses, model._stateful_metrics)

    def add(self, values, batch):
        self.seen += batch
        k = self.n_losses
        for i in range(k):
            self.loss_sums[i] += float(values[i]) * batch
        if self.stateful is not None:
            self._add_streaming(values, k)
            return
        for j in range(len(self.num)):
            self.num[j] += float(values[k + 2 * j])
            self.den[j] += float(values[k + 2 * j + 1])

    def _add_streaming(self, values, at):
        for j, stateful in enumerate(self.stateful):
            if stateful:
                value = values[at]
                self.num[j], self.den[j] = (float(value) if np.ndim(value) == 0 else np.array(value)), 1.0
                at += 1
            else:
                self.num[j] += float(values[at])
                self.den[j] += float(values[at + 1])
                at += 2

    def record(self, values, batch):
        """Adds one step's values; the running logs."""
        self.add(values, batch)
        return self.logs()

    def values(self):
        seen = max(self.seen, 1)
        return [s / seen for s in self.loss_sums] + [n / d if d > 0 else 0.0 for n, d in zip(self.num, self.den)]

    def logs(self):
        return dict(zip(self.names, self.values()))

    @classmethod
    def single(cls, names, n_losses, values, batch):
        """The logs of one batch on its own."""
        return cls(names, n_losses).record(values, batch)


def fit(model, method, x, y=None, sample_weight=None, *, epochs=1, initial_epoch=0, verbose=1, callbacks=None,
        validation_freq=1, **data_options):
    """Trains ``model``; returns the History. ``data_options``: see data_handler.for_fit."""
    data, val = data_handler.for_fit(model, method, x, y, sample_weight, **data_options)
    verbose, callbacks = _this_process(model, _verbose(verbose), callbacks)
    train = model.make_train_function()
    test = model.make_test_function() if val is not None else None
    names = model.metrics_names
    with contextlib.ExitStack() as stack:
        for handler in (data, val) if val is not None else (data,):
            stack.enter_context(handler)
        cbs = callbacks_module.CallbackList(
            callbacks, add_history=True, add_progbar=verbose != 0, model=model, epochs=epochs, steps=data.steps,
            verbose=verbose, do_validation=val is not None,
            metrics=names + (["val_" + n for n in names] if val is not None else []), **data.params)
        model.stop_training = False
        model.reset_metrics()
        cbs.on_train_begin({})
        logs = {}
        for epoch in range(initial_epoch, epochs):
            cbs.on_epoch_begin(epoch, {})
            results = Results.of(model)
            done = _epoch(model, train, data, cbs.on_train_batch_begin, cbs.on_train_batch_end, results.record, True)
            if done == 0:                                   # a generator that ran dry
                if epoch == initial_epoch:
                    raise ValueError(f"{method}: the training data yielded no batch")
                _warn_out_of_data(data.steps, epochs - initial_epoch)
                break
            ran_out = done < data.steps and not model.stop_training
            logs = results.logs()
            if val is not None and _should_validate(validation_freq, epoch):
                logs.update(("val_" + k, v) for k, v in _test(model, test, val, cbs, method).items())
            cbs.on_epoch_end(epoch, logs)
            if ran_out:
                _warn_out_of_data(data.steps, epochs - initial_epoch)
            if model.stop_training or ran_out:
                break
        cbs.on_train_end(logs)
    return cbs.history


def evaluate(model, method, x, y=None, sample_weight=None, *, verbose=1, callbacks=None, **data_options):
    """The evaluation logs (``metrics_names`` → value). ``data_options``: see data_handler.for_evaluate."""
    data = data_handler.for_evaluate(model, method, x, y, sample_weight, **data_options)
    test = model.make_test_function()
    model.reset_metrics()
    verbose, callbacks = _this_process(model, _verbose(verbose), callbacks)
    cbs = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose, epochs=1,
                                        steps=data.steps)
    with data:
        return _test(model, test, data, cbs, method)


def predict(model, method, x, *, verbose=0, callbacks=None, **data_options):
    """The predictions, concatenated: an array, or a list per output. ``data_options``: see
    data_handler.for_predict."""
    data = data_handler.for_predict(model, method, x, **data_options)
    fn = model.make_predict_function()
    verbose = _verbose(verbose)
    cbs = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose, epochs=1,
                                        steps=data.steps)
    outputs = []

    def keep(batch_out, size):
        outputs.append(batch_out)
        return {"outputs": batch_out[0] if len(batch_out) == 1 else batch_out}

    with data:
        cbs.on_predict_begin({})
        _epoch(model, fn, data, cbs.on_predict_batch_begin, cbs.on_predict_batch_end, keep)
        cbs.on_predict_end({})
    if outputs:
        result = [np.concatenate(parts) for parts in zip(*outputs)]
    elif data.samples == 0:                             # arrays without samples: empty predictions
        result = [np.empty(_empty_shape(out.shape, model, x), out.dtype) for out in model.outputs]
    else:
        raise ValueError(f"{method}: the data yielded no batch")
    return result[0] if len(result) == 1 else result


def _empty_shape(shape, model, x):
    """An output's shape for zero samples: batch 0, any other size as the input arrays show it."""
    arrays = [x[name] for name in model.input_names] if isinstance(x, dict) else \
        list(x) if isinstance(x, (list, tuple)) else [x]
    values = {dims.BATCH: 0}
    for tensor, array in zip(model.inputs, arrays):
        for d, n in zip(tensor.shape, np.shape(array)):
            if isinstance(d, sympy.Symbol):
                values.setdefault(d, n)
    return tuple(d if isinstance(d, int) else int(sympy.sympify(d).subs(values)) for d in shape)


def _epoch(model, fn, data, begin, end, record, stoppable=False):
    """One epoch of ``data`` through ``fn`` between the batch hooks ``begin`` and ``end``;
    ``record(values, size)`` keeps what a step returned and gives the logs it adds. Returns the
    number of steps."""
    done = 0
    for feed in data.epoch():
        batch_logs = {"batch": done, "size": feed.size}
        begin(done, batch_logs)
        end(done, dict(batch_logs, **record(fn(feed), feed.size)))
        done += 1
        if stoppable and model.stop_training:
            break
    return done


def _test(model, fn, data, cbs, method):
    """One evaluation, with the test hooks (fit's validation too); returns its logs."""
    cbs.on_test_begin({})
    results = Results.of(model)
    done = _epoch(model, fn, data, cbs.on_test_batch_begin, cbs.on_test_batch_end, results.record)
    if done == 0:
        raise ValueError(f"{method}: the evaluation data yielded no batch")
    logs = results.logs()
    cbs.on_test_end(logs)
    return logs


def _verbose(verbose):
    return 1 if verbose == "auto" else int(verbose)


def _this_process(model, verbose, callbacks):
    """(verbose, callbacks) for this process: a distributed optimizer keeps progress output and
    checkpoints to one of the processes training together."""
    policy = getattr(model.optimizer, "process_output", None)
    return policy(verbose, callbacks) if policy is not None else (verbose, callbacks)


def _should_validate(validation_freq, epoch):
    if isinstance(validation_freq, numbers.Integral):
        return (epoch + 1) % validation_freq == 0
    return (epoch + 1) in validation_freq


def _warn_out_of_data(steps, epochs):
    warnings.warn("Your input ran out of data; interrupting training. Make sure that your dataset or generator "
                  f"can generate at least `steps_per_epoch * epochs` batches (in this case, {steps * epochs} "
                  "batches).", UserWarning, stacklevel=4)

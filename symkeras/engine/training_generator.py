"""fit / evaluate / predict over generators and ``Sequence`` objects, and the Keras 2 methods
``fit_generator``, ``evaluate_generator``, ``predict_generator`` (mixed into Model).

Each item of a generator or Sequence is one batch: ``(x, y)`` or ``(x, y, sample_weight)`` for
fit/evaluate (x and y as arrays, lists or dicts by name, validated like array data, so a wrong
shape gets the same error), x alone or one of those tuples for predict. Batches come through an
enqueuer (``workers`` threads, or processes with ``use_multiprocessing=True``) or, with
``workers=0``, straight from the main thread — see ``symkeras.utils.data_utils``.

Steps per epoch: ``steps_per_epoch``, else ``len(sequence)``; a plain generator needs
``steps_per_epoch`` (and a validation generator ``validation_steps``), as in Keras 2, since it may
never end. Once the data runs out, training stops with a warning. ``steps`` of evaluate and
predict: given, else ``len(sequence)``, else until the generator ends (tf-keras). Epoch values
are the means over batches weighted by batch size, as for arrays. Whatever interrupts a loop
(KeyboardInterrupt, an exception from a generator, a worker or a callback) stops and joins the
workers before it propagates; the model keeps the weights of its last completed step.
"""

import contextlib
import functools
import itertools
import numbers
import warnings

import numpy as np

from symkeras import callbacks as callbacks_module
from symkeras.engine import data_checks
from symkeras.utils import data_utils

# Keras 1 argument names → Keras 2 names (Keras 2.2.4's legacy interface of the generator methods)
_LEGACY_NAMES = (("samples_per_epoch", "steps_per_epoch"), ("val_samples", "steps"), ("nb_epoch", "epochs"),
                 ("nb_val_samples", "validation_steps"), ("nb_worker", "workers"),
                 ("pickle_safe", "use_multiprocessing"), ("max_q_size", "max_queue_size"))


def _legacy_arguments(method):
    """Accepts the Keras 1 argument names of ``method`` with a UserWarning saying the Keras 2 call;
    giving an old name with its new name is a TypeError. ``samples_per_epoch`` is divided by the
    generator's ``batch_size`` attribute when it has one (Keras 2.2.4)."""

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        converted = []
        for old, new in _LEGACY_NAMES:
            if old not in kwargs:
                continue
            if new in kwargs:
                raise TypeError(f"The `{method.__name__}` method received both the deprecated argument `{old}` and "
                                f"its Keras 2 name `{new}`")
            value = kwargs.pop(old)
            if old == "samples_per_epoch":
                batch_size = getattr(args[0] if args else kwargs.get("generator"), "batch_size", None)
                value = value // batch_size if isinstance(batch_size, int) and batch_size > 0 else value
            kwargs[new] = value
            converted.append(new)
        if converted:
            call = ", ".join(f"{k}={kwargs[k]!r}" for k in converted)
            warnings.warn(f"Update your `{method.__name__}` call to the Keras 2 API: "
                          f"`{method.__name__}(..., {call})`", UserWarning, stacklevel=2)
            if {"steps_per_epoch", "steps", "validation_steps"} & set(converted):
                warnings.warn("The semantics of the Keras 2 argument `steps_per_epoch` is not the same as the "
                              "Keras 1 argument `samples_per_epoch`. `steps_per_epoch` is the number of batches "
                              "to draw from the generator at each epoch. Basically steps_per_epoch = "
                              "samples_per_epoch/batch_size. Similarly `nb_val_samples`->`validation_steps` and "
                              "`val_samples`->`steps` arguments have changed. Update your method calls "
                              "accordingly.", UserWarning, stacklevel=2)
        return method(self, *args, **kwargs)

    return wrapper


class GeneratorMethods:
    """The Keras 2 generator API of Model (tf-keras: aliases of fit/evaluate/predict)."""

    @_legacy_arguments
    def fit_generator(self, generator, steps_per_epoch=None, epochs=1, *, verbose=1, callbacks=None,
                      validation_data=None, validation_steps=None, validation_freq=1, class_weight=None,
                      max_queue_size=10, workers=1, use_multiprocessing=False, shuffle=True, initial_epoch=0):
        """Trains on the batches of ``generator`` (a generator or Sequence); returns the History."""
        data_checks.check_arguments(
            "fit_generator", steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose, callbacks=callbacks,
            validation_steps=validation_steps, validation_freq=validation_freq, class_weight=class_weight,
            max_queue_size=max_queue_size, workers=workers, use_multiprocessing=use_multiprocessing,
            shuffle=shuffle, initial_epoch=initial_epoch)
        return fit_loop(self, generator, steps_per_epoch=steps_per_epoch, epochs=epochs, verbose=verbose,
                        callbacks=callbacks, validation_data=validation_data, validation_steps=validation_steps,
                        validation_freq=validation_freq, class_weight=class_weight,
                        max_queue_size=max_queue_size, workers=workers, use_multiprocessing=use_multiprocessing,
                        shuffle=shuffle, initial_epoch=initial_epoch, method="fit_generator")

    @_legacy_arguments
    def evaluate_generator(self, generator, steps=None, *, callbacks=None, max_queue_size=10, workers=1,
                           use_multiprocessing=False, verbose=0):
        """The loss and metrics over the batches of ``generator``: a scalar, or a list in
        ``metrics_names`` order."""
        data_checks.check_arguments("evaluate_generator", steps=steps, callbacks=callbacks,
                                    max_queue_size=max_queue_size, workers=workers,
                                    use_multiprocessing=use_multiprocessing, verbose=verbose)
        logs = evaluate_loop(self, generator, steps=steps, callbacks=callbacks, max_queue_size=max_queue_size,
                             workers=workers, use_multiprocessing=use_multiprocessing, verbose=verbose,
                             method="evaluate_generator")
        values = list(logs.values())
        return values[0] if len(values) == 1 else values

    @_legacy_arguments
    def predict_generator(self, generator, steps=None, *, callbacks=None, max_queue_size=10, workers=1,
                          use_multiprocessing=False, verbose=0):
        """The predictions for the batches of ``generator``, concatenated (a list per output)."""
        data_checks.check_arguments("predict_generator", steps=steps, callbacks=callbacks,
                                    max_queue_size=max_queue_size, workers=workers,
                                    use_multiprocessing=use_multiprocessing, verbose=verbose)
        return predict_loop(self, generator, steps=steps, callbacks=callbacks, max_queue_size=max_queue_size,
                            workers=workers, use_multiprocessing=use_multiprocessing, verbose=verbose,
                            method="predict_generator")


def is_generator_input(data):
    """Whether fit/evaluate/predict should route ``data`` here."""
    return data_utils.is_sequence(data) or hasattr(data, "__next__")


def check_generator_call(method, **arguments):
    """tf-keras: with a generator or Sequence, y, sample_weight, batch_size and
    validation_split come from the data and must not be given."""
    given = [name for name, value in arguments.items() if value is not None and value is not False and
             not (name == "validation_split" and value == 0.0)]
    if given:
        raise ValueError(f"{method}: `{given[0]}` is not supported when `x` is a generator or a Sequence: each "
                         f"batch of the data gives x, y and sample weights")


# ------------------------------------------------------------------------ data
@contextlib.contextmanager
def batch_source(data, workers=1, use_multiprocessing=False, max_queue_size=10, shuffle=False):
    """An iterator over the items of ``data``; through an enqueuer when ``workers > 0``, which is
    stopped (threads joined, processes terminated) when the block exits, however it exits."""
    if not workers or workers < 1:
        yield data_utils.iter_sequence(data, shuffle) if data_utils.is_sequence(data) else iter(data)
        return
    if data_utils.is_sequence(data):
        enqueuer = data_utils.OrderedEnqueuer(data, use_multiprocessing=use_multiprocessing, shuffle=shuffle)
    else:
        if use_multiprocessing and workers > 1:
            warnings.warn("Using a generator with `use_multiprocessing=True` and multiple workers may duplicate "
                          "your data. Please consider using the `keras.utils.Sequence` class.", UserWarning,
                          stacklevel=4)
        enqueuer = data_utils.GeneratorEnqueuer(data, use_multiprocessing=use_multiprocessing)
    enqueuer.start(workers=workers, max_queue_size=max_queue_size)
    try:
        yield enqueuer.get()
    finally:
        enqueuer.stop()


class _Feed(list):
    """A batch already validated: model inputs + fed targets + sample weights."""

    def __init__(self, arrays, size):
        super().__init__(arrays)
        self.size = size


def _array_batches(arrays, batch_size):
    xs, ys, ws = arrays
    feed = xs + ys + ws
    n = len(feed[0])
    for start in range(0, n, batch_size):
        yield _Feed([a[start:start + batch_size] for a in feed], min(batch_size, n - start))


def _describe(item):
    text = repr(item)
    return text if len(text) < 200 else text[:200] + "..."


def _standardize(model, item, class_weight, method, batch):
    """Batch number ``batch`` as a _Feed, validated like array data."""
    if isinstance(item, _Feed):
        return item
    if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
        raise ValueError(f"{method}: output of generator should be a tuple `(x, y, sample_weight)` or `(x, y)`. "
                         f"Found: {_describe(item)}")
    try:
        xs, ys, ws = model._training_arrays(item[0], item[1], item[2] if len(item) == 3 else None, method)
        if class_weight is not None:
            ws = model._class_weighted(class_weight, ys, ws)
    except data_checks.NonFiniteDataError as exc:
        raise data_checks.NonFiniteDataError(f"{exc} (in batch {batch} of this pass over the generator or "
                                             "Sequence)") from None
    return _Feed(xs + ys + ws, len(xs[0]) if xs else len(ys[0]))


def _predict_input(item, method):
    if not isinstance(item, tuple):
        return item                                  # x alone (an array, a list or a dict of arrays)
    if len(item) in (1, 2, 3):
        return item[0]
    raise ValueError(f"{method}: output of generator should be a tuple `(x, y, sample_weight)`, `(x, y)` or x. "
                     f"Found: {_describe(item)}")


def _steps(data, steps):
    """``steps`` (checked by data_checks), else ``len(data)`` of a Sequence, else None (until the
    generator ends)."""
    if steps is not None:
        return int(steps)
    return len(data) if data_utils.is_sequence(data) else None


def _require_steps(data, steps, argument):
    """Keras 2: a plain generator has no length, and may have no end: its steps must be given."""
    if steps is None and not data_utils.is_sequence(data):
        raise ValueError(f"`{argument}=None` is only valid for a generator based on the `symkeras.utils.Sequence` "
                         f"class. Please specify `{argument}` or use the `symkeras.utils.Sequence` class.")


def _verbose(verbose):
    return 1 if verbose == "auto" else int(verbose)


def _check_data(data, method):
    if not is_generator_input(data):
        raise TypeError(f"{method}: expected a generator, an iterator or a Sequence, got {type(data).__name__}; "
                        "pass arrays to fit / evaluate / predict")


def _should_validate(validation_freq, epoch):
    if isinstance(validation_freq, numbers.Integral):
        return (epoch + 1) % validation_freq == 0
    return (epoch + 1) in validation_freq


# ------------------------------------------------------------------------ loops
def _results(model):
    from symkeras.engine.training import _Results
    return _Results(model.metrics_names, model._n_losses)


def _train_epoch(model, cbs, batches, steps, train, class_weight, method):
    """Runs up to ``steps`` batches (all, if None); returns the running results and the count."""
    results, done = _results(model), 0
    for item in itertools.islice(batches, steps):
        feed = _standardize(model, item, class_weight, method, done)
        batch_logs = {"batch": done, "size": feed.size}
        cbs.on_train_batch_begin(done, batch_logs)
        results.add(train(feed), feed.size)
        cbs.on_train_batch_end(done, dict(batch_logs, **results.logs()))
        done += 1
        if model.stop_training:
            break
    return results, done


def _test_run(model, cbs, batches, steps, test, method):
    """One evaluation over up to ``steps`` batches, with the test hooks; returns its logs."""
    cbs.on_test_begin({})
    results, done = _results(model), 0
    for item in itertools.islice(batches, steps):
        feed = _standardize(model, item, None, method, done)
        batch_logs = {"batch": done, "size": feed.size}
        cbs.on_test_batch_begin(done, batch_logs)
        results.add(test(feed), feed.size)
        cbs.on_test_batch_end(done, dict(batch_logs, **results.logs()))
        done += 1
    if done == 0:
        raise ValueError(f"{method}: the evaluation data yielded no batch")
    logs = results.logs()
    cbs.on_test_end(logs)
    return logs


class _Validation:
    """Fit's validation data: a (x, y[, sample_weight]) tuple, a generator or a Sequence (the
    last two read through their own enqueuer, started once for the whole fit)."""

    def __init__(self, model, data, steps, batch_size, method, stack, workers, use_multiprocessing,
                 max_queue_size):
        if is_generator_input(data):
            self.steps = _steps(data, steps)
            batches = stack.enter_context(batch_source(data, workers, use_multiprocessing, max_queue_size))
            self.batches = lambda: batches
            return
        if not isinstance(data, (list, tuple)) or len(data) not in (2, 3):
            raise ValueError("When passing validation_data, it must contain 2 (x_val, y_val) or 3 (x_val, y_val, "
                             f"val_sample_weights) items, however it contains {_length(data)} items")
        try:
            arrays = model._training_arrays(data[0], data[1], data[2] if len(data) == 3 else None, method)
        except (ValueError, TypeError) as exc:
            raise type(exc)(f"In `validation_data`: {exc}") from None
        self.steps = None if steps is None else int(steps)
        self.batches = lambda: _array_batches(arrays, int(batch_size or 32))


def _length(data):
    return len(data) if hasattr(data, "__len__") else "an unknown number of"


def fit_loop(model, data, steps_per_epoch=None, epochs=1, verbose=1, callbacks=None, validation_data=None,
             validation_steps=None, validation_freq=1, validation_batch_size=None, class_weight=None,
             max_queue_size=10, workers=1, use_multiprocessing=False, shuffle=True, initial_epoch=0, method="fit"):
    """Trains ``model`` on a generator or Sequence; returns the History."""
    model._check_compiled("training")
    _check_data(data, method)
    verbose = _verbose(verbose)
    _require_steps(data, steps_per_epoch, "steps_per_epoch")
    steps = _steps(data, steps_per_epoch)
    do_validation = validation_data is not None and not (isinstance(validation_data, (list, tuple))
                                                         and len(validation_data) == 0)
    if do_validation and is_generator_input(validation_data):
        _require_steps(validation_data, validation_steps, "validation_steps")
    train = model.make_train_function()
    with contextlib.ExitStack() as stack:
        batches = stack.enter_context(batch_source(data, workers, use_multiprocessing, max_queue_size, shuffle))
        val = _Validation(model, validation_data, validation_steps, validation_batch_size, method, stack,
                          workers, use_multiprocessing, max_queue_size) if do_validation else None
        test = model.make_test_function() if do_validation else None
        names = model.metrics_names
        cbs = callbacks_module.CallbackList(
            callbacks, add_history=True, add_progbar=verbose != 0, model=model, epochs=epochs, steps=steps,
            verbose=verbose, do_validation=do_validation,
            metrics=names + (["val_" + n for n in names] if do_validation else []))
        model.stop_training = False
        cbs.on_train_begin({})
        logs = {}
        for epoch in range(initial_epoch, epochs):
            cbs.on_epoch_begin(epoch, {})
            results, done = _train_epoch(model, cbs, batches, steps, train, class_weight, method)
            if done == 0:
                if epoch == initial_epoch:
                    raise ValueError(f"{method}: the training data yielded no batch")
                _warn_out_of_data(steps, epochs - initial_epoch)
                break
            ran_out = done < steps and not model.stop_training
            logs = results.logs()
            if val is not None and _should_validate(validation_freq, epoch):
                val_logs = _test_run(model, cbs, val.batches(), val.steps, test, method)
                logs.update(("val_" + k, v) for k, v in val_logs.items())
            cbs.on_epoch_end(epoch, logs)
            if ran_out:
                _warn_out_of_data(steps, epochs - initial_epoch)
            if model.stop_training or ran_out:
                break
        cbs.on_train_end(logs)
    return cbs.history


def _warn_out_of_data(steps, epochs):
    warnings.warn("Your input ran out of data; interrupting training. Make sure that your dataset or generator "
                  f"can generate at least `steps_per_epoch * epochs` batches (in this case, {steps * epochs} "
                  "batches).", UserWarning, stacklevel=3)


def evaluate_loop(model, data, steps=None, callbacks=None, max_queue_size=10, workers=1, use_multiprocessing=False,
                  verbose=0, method="evaluate"):
    """The evaluation logs (``metrics_names`` → value) over a generator or Sequence."""
    model._check_compiled("evaluating")
    _check_data(data, method)
    steps, verbose = _steps(data, steps), _verbose(verbose)
    test = model.make_test_function()
    cbs = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose, epochs=1,
                                        steps=steps)
    with batch_source(data, workers, use_multiprocessing, max_queue_size) as batches:
        return _test_run(model, cbs, batches, steps, test, method)


def predict_loop(model, data, steps=None, callbacks=None, max_queue_size=10, workers=1, use_multiprocessing=False,
                 verbose=0, method="predict"):
    """The predictions over a generator or Sequence, concatenated: an array, or a list per output."""
    _check_data(data, method)
    steps, verbose = _steps(data, steps), _verbose(verbose)
    predict = model.make_predict_function()
    cbs = callbacks_module.CallbackList(callbacks, add_progbar=verbose != 0, model=model, verbose=verbose, epochs=1,
                                        steps=steps)
    outputs = []
    with batch_source(data, workers, use_multiprocessing, max_queue_size) as batches:
        cbs.on_predict_begin({})
        for step, item in enumerate(itertools.islice(batches, steps)):
            xs = model._input_arrays(_predict_input(item, method), method)
            batch_logs = {"batch": step, "size": len(xs[0])}
            cbs.on_predict_batch_begin(step, batch_logs)
            batch_out = predict(xs)
            outputs.append(batch_out)
            cbs.on_predict_batch_end(step, dict(batch_logs, outputs=batch_out[0] if len(batch_out) == 1
                                                else batch_out))
        cbs.on_predict_end({})
    if not outputs:
        raise ValueError(f"{method}: the data yielded no batch")
    result = [np.concatenate(parts) for parts in zip(*outputs)]
    return result[0] if len(result) == 1 else result

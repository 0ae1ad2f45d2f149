"""Callbacks: hooks into fit / evaluate / predict (the tf-keras 2.x contract, Keras 2 names kept).

What the loops pass to each hook (arrays and generators alike):

==========================================================  =========================================
hook                                                        ``logs``
==========================================================  =========================================
``on_train_begin``, ``on_test_begin``, ``on_predict_begin``  ``{}``
``on_epoch_begin(epoch)``                                   ``{}``
``on_{train,test,predict}_batch_begin(batch)``              ``{'batch': i, 'size': n}``
``on_train_batch_end``, ``on_test_batch_end``               ``batch``, ``size`` and every
                                                            ``metrics_names`` entry as its running
                                                            mean over the epoch so far
``on_predict_batch_end``                                    ``batch``, ``size``, ``outputs``
``on_epoch_end(epoch)``                                     the epoch's ``metrics_names`` values,
                                                            then ``val_*`` when validated, then what
                                                            callbacks add (``lr``)
``on_test_end``                                             the evaluation's final values
``on_train_end``                                            the last epoch's logs
``on_predict_end``                                          ``{}``
==========================================================  =========================================

``on_batch_begin``/``on_batch_end`` are the Keras 2 names: ``on_train_batch_*`` calls them.
``model.stop_training = True`` ends the epoch after the current batch (the epoch still ends with
validation and ``on_epoch_end``), then training ends with ``on_train_end``.
"""

import csv
import os
import warnings

import numpy as np

from symkeras import backend as K
from symkeras.utils.progbar import Progbar

_BATCH_HOOKS = tuple(f"on_{mode}_batch_{when}" for mode in ("train", "test", "predict")
                     for when in ("begin", "end"))
_INDEX_HOOKS = ("on_epoch_begin", "on_epoch_end", "on_batch_begin", "on_batch_end") + _BATCH_HOOKS
_PLAIN_HOOKS = tuple(f"on_{mode}_{when}" for mode in ("train", "test", "predict") for when in ("begin", "end"))
_NOT_VALUES = ("batch", "size", "outputs")     # batch-log keys that are not metric values


class Callback:
    """Base class. ``self.model`` and ``self.params`` are set before training starts."""

    def __init__(self):
        self.model, self.params, self.validation_data = None, {}, None

    def set_params(self, params):
        self.params = params

    def set_model(self, model):
        self.model = model

    def on_batch_begin(self, batch, logs=None):
        """A training batch starts (Keras 2 name; ``on_train_batch_begin`` calls it)."""

    def on_batch_end(self, batch, logs=None):
        """A training batch ended (Keras 2 name; ``on_train_batch_end`` calls it)."""

    def on_epoch_begin(self, epoch, logs=None):
        pass

    def on_epoch_end(self, epoch, logs=None):
        pass

    def on_train_batch_begin(self, batch, logs=None):
        self.on_batch_begin(batch, logs)

    def on_train_batch_end(self, batch, logs=None):
        self.on_batch_end(batch, logs)

    def on_test_batch_begin(self, batch, logs=None):
        pass

    def on_test_batch_end(self, batch, logs=None):
        pass

    def on_predict_batch_begin(self, batch, logs=None):
        pass

    def on_predict_batch_end(self, batch, logs=None):
        pass

    def on_train_begin(self, logs=None):
        pass

    def on_train_end(self, logs=None):
        pass

    def on_test_begin(self, logs=None):
        pass

    def on_test_end(self, logs=None):
        pass

    def on_predict_begin(self, logs=None):
        pass

    def on_predict_end(self, logs=None):
        pass


class CallbackList:
    """Calls a hook of every callback, in order: the user's callbacks, then History and the
    ProgbarLogger when asked for and not given (tf-keras order)."""

    def __init__(self, callbacks=None, add_history=False, add_progbar=False, model=None, **params):
        self.callbacks = list(callbacks.callbacks if isinstance(callbacks, CallbackList) else callbacks or [])
        for cb in self.callbacks:
            if not isinstance(cb, Callback):
                raise TypeError(f"callbacks: expected Callback instances, got {cb!r}")
        self.history = next((cb for cb in self.callbacks if isinstance(cb, History)), None)
        if add_history and self.history is None:
            self.history = History()
            self.callbacks.append(self.history)
        if add_progbar and not any(isinstance(cb, ProgbarLogger) for cb in self.callbacks):
            self.callbacks.append(ProgbarLogger(count_mode="steps"))
        self.model, self.params = None, {}
        if model is not None:
            self.set_model(model)
        if params:
            self.set_params(params)

    def append(self, callback):
        self.callbacks.append(callback)

    def set_model(self, model):
        self.model = model
        if self.history is not None:
            model.history = self.history
        for cb in self.callbacks:
            cb.set_model(model)

    def set_params(self, params):
        self.params = params
        for cb in self.callbacks:
            cb.set_params(params)

    def _call(self, hook, *args):
        for cb in self.callbacks:
            getattr(cb, hook)(*args)

    def __getattr__(self, hook):
        if hook in ("on_batch_begin", "on_batch_end"):          # tf-keras: the train-batch hooks
            hook = hook.replace("on_", "on_train_")
        if hook in _INDEX_HOOKS:
            return lambda index, logs=None: self._call(hook, index, {} if logs is None else logs)
        if hook in _PLAIN_HOOKS:
            return lambda logs=None: self._call(hook, {} if logs is None else logs)
        raise AttributeError(hook)

    def __iter__(self):
        return iter(self.callbacks)


class BaseLogger(Callback):
    """Keras 2's epoch averages of the batch logs, weighted by the batch ``size``. symkeras's batch
    logs already hold running epoch means of ``metrics_names`` (as tf-keras's do), so those are
    taken as they are, like the ``stateful_metrics``. Writes ``params['metrics']`` keys."""

    def __init__(self, stateful_metrics=None):
        super().__init__()
        self.stateful_metrics = set(stateful_metrics or ())

    def on_epoch_begin(self, epoch, logs=None):
        self.seen, self.totals = 0, {}
        self._stateful = self.stateful_metrics | set(getattr(self.model, "metrics_names", ()))

    def on_batch_end(self, batch, logs=None):
        logs = logs or {}
        size = logs.get("size", 0)
        self.seen += size
        for k, v in logs.items():
            if k in _NOT_VALUES:
                continue
            self.totals[k] = v if k in self._stateful else self.totals.get(k, 0) + v * size

    def on_epoch_end(self, epoch, logs=None):
        if logs is None:
            return
        for k in self.params.get("metrics", []):
            if k in self.totals:
                logs[k] = self.totals[k] if k in self._stateful else self.totals[k] / max(self.seen, 1)


class History(Callback):
    """Records the epoch logs: ``history.history[key]`` is a list, one value per epoch. ``fit``
    returns it and sets ``model.history`` to it."""

    def __init__(self):
        super().__init__()
        self.history, self.epoch = {}, []

    def on_train_begin(self, logs=None):
        self.epoch = []

    def on_epoch_end(self, epoch, logs=None):
        self.epoch.append(epoch)
        for k, v in (logs or {}).items():
            self.history.setdefault(k, []).append(v)
        if self.model is not None:
            self.model.history = self


class ProgbarLogger(Callback):
    """Prints the progress bar (``verbose=1``) or one line per epoch (``verbose=2``) for fit,
    evaluate and predict; silent during fit's validation. ``count_mode='steps'`` counts batches
    (what fit adds by itself), ``'samples'`` counts samples. An unknown target (a generator
    without ``steps``) is learnt at the end of the first epoch. All logged values are shown as
    they are: symkeras's logs hold running means already."""

    def __init__(self, count_mode="samples", stateful_metrics=None):
        super().__init__()
        if count_mode not in ("samples", "steps"):
            raise ValueError(f"Unknown `count_mode`: {count_mode}. Expected values are ['samples', 'steps']")
        self.use_steps = count_mode == "steps"
        self.stateful_metrics = set(stateful_metrics or ())
        self.seen, self.progbar, self.target, self.verbose, self.epochs = 0, None, None, 1, 1
        self._in_fit = False

    def set_params(self, params):
        super().set_params(params)
        self.verbose = params.get("verbose", 1)
        self.epochs = params.get("epochs", 1)
        self.target = params.get("steps" if self.use_steps else "samples")

    def on_train_begin(self, logs=None):
        self._in_fit = True

    def on_train_end(self, logs=None):
        self._in_fit = False

    def on_epoch_begin(self, epoch, logs=None):
        self._start_bar()
        if self.verbose and self.epochs > 1:
            print(f"Epoch {epoch + 1}/{self.epochs}")

    def on_train_batch_end(self, batch, logs=None):
        self._batch_update(batch, logs)

    def on_epoch_end(self, epoch, logs=None):
        self._finalize(logs)

    def on_test_begin(self, logs=None):
        if not self._in_fit:
            self._start_bar()

    def on_test_batch_end(self, batch, logs=None):
        if not self._in_fit:
            self._batch_update(batch, logs)

    def on_test_end(self, logs=None):
        if not self._in_fit:
            self._finalize(logs)

    def on_predict_begin(self, logs=None):
        self._start_bar()

    def on_predict_batch_end(self, batch, logs=None):
        self._batch_update(batch, logs)

    def on_predict_end(self, logs=None):
        self._finalize(None)

    def _start_bar(self):
        self.seen = 0
        self.progbar = Progbar(self.target, verbose=self.verbose, stateful_metrics=self.stateful_metrics,
                               unit_name="step" if self.use_steps else "sample")

    def _values(self, logs):
        values = [(k, v) for k, v in (logs or {}).items() if k not in _NOT_VALUES]
        self.progbar.stateful_metrics.update(k for k, _ in values)
        return values

    def _batch_update(self, batch, logs):
        logs = logs or {}
        self.seen = batch + 1 if self.use_steps else self.seen + logs.get("size", 0)
        if self.verbose == 1 and (self.target is None or self.seen < self.target):
            self.progbar.update(self.seen, self._values(logs), finalize=False)

    def _finalize(self, logs):
        if self.progbar is None:
            return
        if self.target is None:
            self.target = self.progbar.target = self.seen
        self.progbar.update(self.target, self._values(logs), finalize=True)
        self.progbar = None


class TerminateOnNaN(Callback):
    """Stops training when the loss becomes NaN or infinite."""

    def on_batch_end(self, batch, logs=None):
        loss = (logs or {}).get("loss")
        if loss is not None and not np.isfinite(loss):
            print(f"Batch {batch}: Invalid loss, terminating training")
            self.model.stop_training = True


def _monitor_op(mode, monitor, owner, is_max):
    """np.greater or np.less for ``mode``; 'auto' asks ``is_max(monitor)``."""
    if mode not in ("auto", "min", "max"):
        warnings.warn(f"{owner} mode {mode} is unknown, fallback to auto mode.", RuntimeWarning, stacklevel=3)
        mode = "auto"
    if mode == "auto":
        mode = "max" if is_max(monitor) else "min"
    return np.greater if mode == "max" else np.less


def _missing_monitor(owner, monitor, logs):
    warnings.warn(f"{owner} conditioned on metric `{monitor}` which is not available. Available metrics are: "
                  f"{','.join(logs)}", RuntimeWarning, stacklevel=3)


class ModelCheckpoint(Callback):
    """Saves the model (``model.save``) or its weights (``save_weights_only``) to ``filepath``,
    formatted with ``epoch`` (1-based) and the epoch logs: ``'w.{epoch:02d}-{val_loss:.2f}.npz'``.

    ``save_best_only``: save only when ``monitor`` improves on the best so far (``mode``
    'min'/'max'; 'auto' is 'max' when the name contains 'acc' or starts with 'fmeasure').
    ``save_freq``: 'epoch', or a number of batches. ``period``: save every this many epochs
    (Keras 2). Files are written atomically (see ``symkeras.engine.saving``)."""

    def __init__(self, filepath, monitor="val_loss", verbose=0, save_best_only=False, save_weights_only=False,
                 mode="auto", save_freq="epoch", options=None, initial_value_threshold=None, period=1):
        super().__init__()
        self.filepath = os.fspath(filepath)
        self.monitor, self.verbose = monitor, verbose
        self.save_best_only, self.save_weights_only = save_best_only, save_weights_only
        if save_freq != "epoch" and (isinstance(save_freq, bool) or not isinstance(save_freq, int)):
            raise ValueError(f"Unrecognized save_freq: {save_freq}. Expected save_freq are 'epoch' or integer")
        self.save_freq, self.period = save_freq, period
        self.monitor_op = _monitor_op(mode, monitor, "ModelCheckpoint",
                                      lambda m: "acc" in m or m.startswith("fmeasure"))
        self.best = initial_value_threshold
        if self.best is None:
            self.best = -np.inf if self.monitor_op is np.greater else np.inf
        self.epochs_since_last_save = 0
        self._batches_since_save, self._epoch = 0, 0

    def on_epoch_begin(self, epoch, logs=None):
        self._epoch = epoch

    def on_train_batch_end(self, batch, logs=None):
        if self.save_freq == "epoch":
            return
        self._batches_since_save += 1
        if self._batches_since_save >= self.save_freq:
            self._batches_since_save = 0
            self._save(self._epoch, logs, batch=batch)

    def on_epoch_end(self, epoch, logs=None):
        self.epochs_since_last_save += 1
        if self.save_freq == "epoch" and self.epochs_since_last_save >= self.period:
            self.epochs_since_last_save = 0
            self._save(epoch, logs)

    def _save(self, epoch, logs, batch=None):
        logs = dict(logs or {})
        fields = dict(logs, epoch=epoch + 1)
        if batch is not None:
            fields["batch"] = batch + 1
        try:
            path = self.filepath.format(**fields)
        except KeyError as exc:
            raise KeyError(f'Failed to format this callback filepath: "{self.filepath}". Reason: {exc}') from None
        if self.save_best_only:
            current = logs.get(self.monitor)
            if current is None:
                warnings.warn(f"Can save best model only with {self.monitor} available, skipping.",
                              RuntimeWarning, stacklevel=2)
                return
            if not self.monitor_op(current, self.best):
                if self.verbose > 0:
                    print(f"\nEpoch {epoch + 1}: {self.monitor} did not improve from {self.best:.5f}")
                return
            if self.verbose > 0:
                print(f"\nEpoch {epoch + 1}: {self.monitor} improved from {self.best:.5f} to {current:.5f}, "
                      f"saving model to {path}")
            self.best = current
        elif self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: saving model to {path}")
        if os.path.isdir(path):
            raise IOError(f"Please specify a non-directory filepath for ModelCheckpoint. Filepath used is an "
                          f"existing directory: {path}")
        if os.path.dirname(path):
            os.makedirs(os.path.dirname(path), exist_ok=True)
        if self.save_weights_only:
            self.model.save_weights(path, overwrite=True)
        else:
            self.model.save(path, overwrite=True)


class EarlyStopping(Callback):
    """Stops training when ``monitor`` has not improved by more than ``min_delta`` for
    ``patience`` epochs (tf-keras rules: the first epoch never stops; a ``baseline`` must be beaten
    to reset the wait; with ``restore_best_weights`` the best epoch's weights are put back at the
    end of training, whether it stopped early or not). ``stopped_epoch`` is the epoch it stopped at."""

    def __init__(self, monitor="val_loss", min_delta=0, patience=0, verbose=0, mode="auto", baseline=None,
                 restore_best_weights=False, start_from_epoch=0):
        super().__init__()
        self.monitor, self.patience, self.verbose, self.baseline = monitor, patience, verbose, baseline
        self.restore_best_weights, self.start_from_epoch = restore_best_weights, start_from_epoch
        self.monitor_op = _monitor_op(mode, monitor, "EarlyStopping",
                                      lambda m: m.endswith(("acc", "accuracy", "auc")))
        self.min_delta = abs(min_delta) if self.monitor_op is np.greater else -abs(min_delta)
        self.wait, self.stopped_epoch, self.best_weights, self.best_epoch = 0, 0, None, 0
        self.best = np.inf if self.monitor_op is np.less else -np.inf

    def on_train_begin(self, logs=None):
        self.wait, self.stopped_epoch, self.best_weights, self.best_epoch = 0, 0, None, 0
        self.best = np.inf if self.monitor_op is np.less else -np.inf

    def _improves(self, value, reference):
        return self.monitor_op(value - self.min_delta, reference)

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        current = logs.get(self.monitor)
        if current is None:
            _missing_monitor("Early stopping", self.monitor, logs)
            return
        if epoch < self.start_from_epoch:
            return
        if self.restore_best_weights and self.best_weights is None:
            self.best_weights, self.best_epoch = self.model.get_weights(), epoch
        self.wait += 1
        if self._improves(current, self.best):
            self.best, self.best_epoch = current, epoch
            if self.restore_best_weights:
                self.best_weights = self.model.get_weights()
            if self.baseline is None or self._improves(current, self.baseline):
                self.wait = 0
            return
        if self.wait >= self.patience and epoch > 0:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs=None):
        if self.stopped_epoch > 0 and self.verbose > 0:
            print(f"Epoch {self.stopped_epoch + 1}: early stopping")
        if self.restore_best_weights and self.best_weights is not None:
            if self.verbose > 0:
                print(f"Restoring model weights from the end of the best epoch: {self.best_epoch + 1}.")
            self.model.set_weights(self.best_weights)


def _lr(model):
    """The optimizer's learning-rate variable (what the generated train function reads)."""
    if not hasattr(model.optimizer, "lr"):
        raise ValueError('Optimizer must have a "lr" attribute.')
    return model.optimizer.lr


def _set_lr(model, value):
    variable = _lr(model)
    K.set_value(variable, np.asarray(value, dtype=variable.dtype))


class ReduceLROnPlateau(Callback):
    """Multiplies the learning rate by ``factor`` when ``monitor`` has not improved by
    ``min_delta`` for ``patience`` epochs, then waits ``cooldown`` epochs; never below ``min_lr``.
    Adds ``lr`` to the epoch logs."""

    def __init__(self, monitor="val_loss", factor=0.1, patience=10, verbose=0, mode="auto", min_delta=1e-4,
                 cooldown=0, min_lr=0, **kwargs):
        super().__init__()
        if factor >= 1.0:
            raise ValueError(f"ReduceLROnPlateau does not support a factor >= 1.0. Got {factor}")
        if "epsilon" in kwargs:
            min_delta = kwargs.pop("epsilon")
            warnings.warn("`epsilon` argument is deprecated and will be removed, use `min_delta` instead.",
                          UserWarning, stacklevel=2)
        if kwargs:
            raise TypeError(f"ReduceLROnPlateau: unexpected keyword arguments {sorted(kwargs)}")
        self.monitor, self.factor, self.patience, self.verbose = monitor, factor, patience, verbose
        self.min_delta, self.cooldown, self.min_lr, self.mode = min_delta, cooldown, min_lr, mode
        self._reset()

    def _reset(self):
        op = _monitor_op(self.mode, self.monitor, "Learning rate reduction", lambda m: "acc" in m)
        if op is np.less:
            self.monitor_op, self.best = (lambda a, b: np.less(a, b - self.min_delta)), np.inf
        else:
            self.monitor_op, self.best = (lambda a, b: np.greater(a, b + self.min_delta)), -np.inf
        self.cooldown_counter, self.wait = 0, 0

    def on_train_begin(self, logs=None):
        self._reset()

    def in_cooldown(self):
        return self.cooldown_counter > 0

    def on_epoch_end(self, epoch, logs=None):
        logs = logs if logs is not None else {}
        logs["lr"] = float(K.get_value(_lr(self.model)))
        current = logs.get(self.monitor)
        if current is None:
            _missing_monitor("Learning rate reduction", self.monitor, logs)
            return
        if self.in_cooldown():
            self.cooldown_counter -= 1
            self.wait = 0
        if self.monitor_op(current, self.best):
            self.best, self.wait = current, 0
        elif not self.in_cooldown():
            self.wait += 1
            if self.wait >= self.patience:
                old_lr = logs["lr"]
                if old_lr > np.float32(self.min_lr):
                    new_lr = max(old_lr * self.factor, self.min_lr)
                    _set_lr(self.model, new_lr)
                    if self.verbose > 0:
                        print(f"\nEpoch {epoch + 1}: ReduceLROnPlateau reducing learning rate to {new_lr}.")
                    self.cooldown_counter, self.wait = self.cooldown, 0


class LearningRateScheduler(Callback):
    """Sets the learning rate at the start of every epoch to ``schedule(epoch, lr)`` (or
    ``schedule(epoch)``, Keras 2's form); the result must be a float. Adds ``lr`` to the epoch logs."""

    def __init__(self, schedule, verbose=0):
        super().__init__()
        self.schedule, self.verbose = schedule, verbose

    def on_epoch_begin(self, epoch, logs=None):
        lr = float(K.get_value(_lr(self.model)))
        try:
            lr = self.schedule(epoch, lr)
        except TypeError:                          # the Keras 2 form schedule(epoch)
            lr = self.schedule(epoch)
        if not isinstance(lr, (float, np.float32, np.float64)):
            raise ValueError(f'The output of the "schedule" function should be float. Got: {lr}')
        _set_lr(self.model, lr)
        if self.verbose > 0:
            print(f"\nEpoch {epoch + 1}: LearningRateScheduler setting learning rate to {lr}.")

    def on_epoch_end(self, epoch, logs=None):
        if logs is not None:
            logs["lr"] = float(K.get_value(_lr(self.model)))


class CSVLogger(Callback):
    """Writes one row per epoch to ``filename``: ``epoch`` (0-based) then the epoch-log keys,
    sorted (fixed at the first epoch; ``val_*`` columns added when the first epoch has none);
    missing values are ``NA``. ``append`` continues an existing file (no second header)."""

    def __init__(self, filename, separator=",", append=False):
        super().__init__()
        self.filename, self.sep, self.append = os.fspath(filename), separator, append
        self.writer, self.keys, self.csv_file = None, None, None

    def on_train_begin(self, logs=None):
        self.append_header = True
        if self.append and os.path.exists(self.filename):
            with open(self.filename) as f:
                self.append_header = not f.readline()
        self.csv_file = open(self.filename, "a" if self.append else "w", newline="")

    def on_epoch_end(self, epoch, logs=None):
        logs = logs or {}
        if self.keys is None:
            self.keys = sorted(logs)
            if not any(k.startswith("val_") for k in self.keys):
                self.keys += ["val_" + k for k in self.keys]
        if self.writer is None:
            self.writer = csv.writer(self.csv_file, delimiter=self.sep)
            if self.append_header:
                self.writer.writerow(["epoch"] + self.keys)
        self.writer.writerow([epoch] + [_csv_value(logs.get(k, "NA")) for k in self.keys])
        self.csv_file.flush()

    def on_train_end(self, logs=None):
        self.csv_file.close()
        self.writer = None


def _csv_value(value):
    if isinstance(value, str) or np.ndim(value) == 0:
        return value
    return f"[{', '.join(map(str, value))}]"


class LambdaCallback(Callback):
    """A callback from functions: ``on_epoch_begin(epoch, logs)``, ``on_epoch_end(epoch, logs)``,
    ``on_batch_begin(batch, logs)``, ``on_batch_end(batch, logs)``, ``on_train_begin(logs)``,
    ``on_train_end(logs)``; any other keyword becomes an attribute (so any ``on_*`` hook works)."""

    def __init__(self, on_epoch_begin=None, on_epoch_end=None, on_batch_begin=None, on_batch_end=None,
                 on_train_begin=None, on_train_end=None, **kwargs):
        super().__init__()
        self.__dict__.update(kwargs)
        hooks = dict(on_epoch_begin=on_epoch_begin, on_epoch_end=on_epoch_end, on_batch_begin=on_batch_begin,
                     on_batch_end=on_batch_end, on_train_begin=on_train_begin, on_train_end=on_train_end)
        for name, fn in hooks.items():
            if fn is not None:
                setattr(self, name, fn)

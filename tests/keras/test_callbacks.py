"""Callbacks: hook order and logs, and each built-in callback's effect (files and their content,
learning rates seen in the weights, the epoch training stops at, restored weights)."""

import os
import warnings

import numpy as np
import pytest

import symkeras.backend as K
from symkeras import callbacks, optimizers
from symkeras.engine import saving
from symkeras.layers import Dense, Input
from symkeras.models import Model
from symkeras.utils import Sequence

RNG = np.random.RandomState(0)
X = RNG.uniform(-1, 1, size=(16, 2)).astype("float32")
Y = (X @ np.array([[1.5], [-2.0]], "float32") + 0.5).astype("float32")


def linear(lr=0.1, backend="numpy", metrics=None):
    """Dense(1) from zeros, SGD, mse: every step is checkable with NumPy."""
    x = Input((2,), name="x")
    model = Model(x, Dense(1, kernel_initializer="zeros", name="out")(x))
    model.compile(optimizers.SGD(learning_rate=lr), "mse", metrics=metrics, backend=backend)
    return model


def sgd_delta(weights, lr):
    """The change of one full-batch SGD step on (X, Y) from ``weights``."""
    kernel, bias = weights
    err = X @ kernel + bias - Y
    return [-lr * 2 * X.T @ err / len(X), -lr * 2 * err.sum(0) / len(X)]


class Batches(Sequence):
    def __init__(self, x, y, batch_size):
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[s], self.y[s]


class Weights(callbacks.Callback):
    """Records the weights at each epoch's begin and end."""

    def on_train_begin(self, logs=None):
        self.begin, self.end = [], []

    def on_epoch_begin(self, epoch, logs=None):
        self.begin.append(self.model.get_weights())

    def on_epoch_end(self, epoch, logs=None):
        self.end.append(self.model.get_weights())


def assert_weights(a, b, **kw):
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, **kw)


# ----------------------------------------------------------------------------- hooks and logs
class Recorder(callbacks.Callback):
    """Every hook, with the keys of its logs."""

    def __init__(self):
        super().__init__()
        self.events = []

    def set_params(self, params):
        super().set_params(params)
        self.events.append(("set_params", sorted(params)))

    def _log(self, name, *args):
        *index, logs = args
        self.events.append((name, *index, sorted(logs)))

    def __getattribute__(self, name):
        if name in callbacks._INDEX_HOOKS + callbacks._PLAIN_HOOKS:
            return lambda *args: self._log(name[3:], *args)
        return super().__getattribute__(name)


M = ["loss", "mae"]
B = ["batch", "size"]
BM = sorted(B + M)


@pytest.mark.parametrize("kind", ["arrays", "sequence"])
def test_fit_hook_order_and_logs(kind):
    model, rec = linear(metrics=["mae"]), Recorder()
    if kind == "arrays":
        model.fit(X, Y, batch_size=8, epochs=2, verbose=0, validation_data=(X[:4], Y[:4]), callbacks=[rec],
                  shuffle=False)
    else:
        model.fit_generator(Batches(X, Y, 8), epochs=2, verbose=0, validation_data=Batches(X[:4], Y[:4], 4),
                            callbacks=[rec], workers=0)
    epoch = lambda e: [("epoch_begin", e, []),
                       ("train_batch_begin", 0, B), ("train_batch_end", 0, BM),
                       ("train_batch_begin", 1, B), ("train_batch_end", 1, BM),
                       ("test_begin", []), ("test_batch_begin", 0, B), ("test_batch_end", 0, BM),
                       ("test_end", M), ("epoch_end", e, M + ["val_loss", "val_mae"])]
    params = rec.events[0]
    assert params[0] == "set_params" and {"epochs", "steps", "verbose"} <= set(params[1])
    assert rec.params["epochs"] == 2 and rec.params["steps"] == 2 and rec.params["verbose"] == 0
    assert rec.events[1:] == [("train_begin", [])] + epoch(0) + epoch(1) + [
        ("train_end", M + ["val_loss", "val_mae"])]


def test_batch_logs_hold_running_means_and_epoch_logs_the_epoch_means():
    seen = []
    model = linear(lr=0.0)                 # fixed weights: each batch's loss is known
    log = callbacks.LambdaCallback(on_batch_end=lambda b, logs: seen.append(dict(logs)))
    history = model.fit_generator(Batches(X, Y, 6), epochs=1, verbose=0, callbacks=[log], workers=0, shuffle=False)
    per_sample = (Y[:, 0]) ** 2
    sizes = [6, 6, 4]
    means = [per_sample[:6].mean(), per_sample[:12].mean(), per_sample.mean()]
    assert [s["size"] for s in seen] == sizes and [s["batch"] for s in seen] == [0, 1, 2]
    np.testing.assert_allclose([s["loss"] for s in seen], means, rtol=1e-5)
    np.testing.assert_allclose(history.history["loss"], [per_sample.mean()], rtol=1e-5)


def test_evaluate_and_predict_hooks():
    model, rec = linear(), Recorder()
    model.evaluate_generator(Batches(X, Y, 8), callbacks=[rec], workers=0)
    model.predict_generator(Batches(X, Y, 8), callbacks=[rec], workers=0)
    events = [e for e in rec.events if e[0] != "set_params"]
    assert events == [("test_begin", []), ("test_batch_begin", 0, B), ("test_batch_end", 0, sorted(B + ["loss"])),
                      ("test_batch_begin", 1, B), ("test_batch_end", 1, sorted(B + ["loss"])), ("test_end", ["loss"]),
                      ("predict_begin", []), ("predict_batch_begin", 0, B),
                      ("predict_batch_end", 0, sorted(B + ["outputs"])), ("predict_batch_begin", 1, B),
                      ("predict_batch_end", 1, sorted(B + ["outputs"])), ("predict_end", [])]


def test_callback_list_order_and_type_check():
    user = callbacks.Callback()
    cbs = callbacks.CallbackList([user], add_history=True, add_progbar=True)
    assert cbs.callbacks[0] is user and isinstance(cbs.callbacks[1], callbacks.History)
    assert isinstance(cbs.callbacks[2], callbacks.ProgbarLogger) and cbs.callbacks[2].use_steps
    given = callbacks.History()
    assert callbacks.CallbackList([given], add_history=True).history is given
    with pytest.raises(TypeError, match="Callback instances"):
        callbacks.CallbackList([lambda: None])
    with pytest.raises(ValueError, match="count_mode"):
        callbacks.ProgbarLogger(count_mode="batches")


@pytest.mark.parametrize("at", ["batch", "epoch"])
def test_stop_training_is_honoured_at_batch_and_epoch(at):
    def stop(*args):
        model.stop_training = True

    model = linear()
    hook = {"on_batch_end": lambda b, logs: b == 1 and stop()} if at == "batch" else {"on_epoch_end": stop}
    counter = callbacks.LambdaCallback(on_batch_begin=lambda b, logs: steps.append(b))
    steps = []
    history = model.fit_generator(Batches(X, Y, 4), epochs=5, verbose=0, workers=0,
                                  callbacks=[callbacks.LambdaCallback(**hook), counter])
    assert history.epoch == [0]
    assert steps == ([0, 1] if at == "batch" else [0, 1, 2, 3])


def test_base_logger_weights_batch_values_by_size():
    class Extra(callbacks.Callback):
        def on_batch_end(self, batch, logs=None):
            logs["extra"] = float(batch)

    logger = callbacks.BaseLogger()
    model = linear(lr=0.0)
    seen = {}
    model.fit_generator(Batches(X, Y, 6), epochs=1, verbose=0, workers=0, shuffle=False,
                        callbacks=[Extra(), logger, callbacks.LambdaCallback(on_epoch_end=lambda e, l: seen.update(l))])
    assert logger.seen == 16
    assert logger.totals["extra"] == 0 * 6 + 1 * 6 + 2 * 4       # Σ value·size
    np.testing.assert_allclose(seen["loss"], (Y[:, 0] ** 2).mean(), rtol=1e-5)


def test_history_records_every_epoch_and_is_the_models():
    model = linear()
    history = model.fit(X, Y, epochs=3, verbose=0)
    assert history.epoch == [0, 1, 2] and len(history.history["loss"]) == 3
    assert model.history is history and history.params["epochs"] == 3


# ----------------------------------------------------------------------------- learning rate
@pytest.mark.parametrize("old_form", [False, True])
def test_learning_rate_scheduler_reaches_the_train_function(backend, old_form):
    rates = [0.1, 0.0, 0.05]
    schedule = (lambda epoch: rates[epoch]) if old_form else (lambda epoch, lr: rates[epoch])
    model, weights = linear(backend=backend), Weights()
    history = model.fit(X, Y, batch_size=16, epochs=3, verbose=0,
                        callbacks=[callbacks.LearningRateScheduler(schedule), weights])
    for lr, begin, end in zip(rates, weights.begin, weights.end):
        assert_weights(end, [b + d for b, d in zip(begin, sgd_delta(begin, lr))], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(history.history["lr"], rates, rtol=1e-6)
    assert K.get_value(model.optimizer.lr) == np.float32(0.05)


def test_learning_rate_scheduler_checks_its_schedule(capsys):
    model = linear()
    with pytest.raises(ValueError, match="should be float"):
        model.fit(X, Y, verbose=0, callbacks=[callbacks.LearningRateScheduler(lambda epoch: 1)])
    model.fit(X, Y, verbose=0, epochs=1, callbacks=[callbacks.LearningRateScheduler(lambda e: 0.5, verbose=1)])
    assert "Epoch 1: LearningRateScheduler setting learning rate to 0.5." in capsys.readouterr().out


def test_reduce_lr_on_plateau_lowers_the_rate_used_by_the_steps():
    # mode='max' on a falling loss: never improves after epoch 0, so the rate halves every epoch
    reduce = callbacks.ReduceLROnPlateau(monitor="loss", mode="max", factor=0.5, patience=1, min_delta=0,
                                         min_lr=0.02)
    model, weights = linear(), Weights()
    history = model.fit(X, Y, batch_size=16, epochs=5, verbose=0, callbacks=[reduce, weights])
    used = [0.1, 0.1, 0.05, 0.025, 0.02]
    for lr, begin, end in zip(used, weights.begin, weights.end):
        assert_weights(end, [b + d for b, d in zip(begin, sgd_delta(begin, lr))], rtol=1e-5, atol=1e-7)
    np.testing.assert_allclose(history.history["lr"], used, rtol=1e-6)       # the rate of each epoch


def test_reduce_lr_on_plateau_cooldown_and_arguments():
    reduce = callbacks.ReduceLROnPlateau(monitor="loss", mode="max", factor=0.5, patience=1, min_delta=0,
                                         cooldown=2)
    history = linear().fit(X, Y, batch_size=16, epochs=6, verbose=0, callbacks=[reduce])
    np.testing.assert_allclose(history.history["lr"], [0.1, 0.1, 0.05, 0.05, 0.025, 0.025], rtol=1e-6)
    with pytest.raises(ValueError, match="factor >= 1.0"):
        callbacks.ReduceLROnPlateau(factor=1.0)
    with pytest.warns(UserWarning, match="epsilon"):
        assert callbacks.ReduceLROnPlateau(epsilon=0.5).min_delta == 0.5


# ----------------------------------------------------------------------------- early stopping
def test_early_stopping_stops_after_patience_epochs_without_improvement():
    for patience in (1, 3):
        stop = callbacks.EarlyStopping(monitor="loss", mode="max", patience=patience)
        history = linear().fit(X, Y, batch_size=16, epochs=10, verbose=0, callbacks=[stop])
        assert stop.stopped_epoch == patience and history.epoch == list(range(patience + 1))


def test_early_stopping_min_delta_baseline_and_auto_mode():
    improving = callbacks.EarlyStopping(monitor="loss", patience=1)
    assert len(linear().fit(X, Y, epochs=5, verbose=0, callbacks=[improving]).epoch) == 5
    big_delta = callbacks.EarlyStopping(monitor="loss", patience=1, min_delta=100.0)
    assert linear().fit(X, Y, epochs=5, verbose=0, callbacks=[big_delta]).epoch == [0, 1]
    # tf-keras: an improvement that does not beat the baseline does not reset the wait
    plain = callbacks.EarlyStopping(monitor="loss", mode="max", patience=2)
    assert linear().fit(X, Y, epochs=5, verbose=0, callbacks=[plain]).epoch == [0, 1, 2]
    baseline = callbacks.EarlyStopping(monitor="loss", mode="max", patience=2, baseline=1e6)
    assert linear().fit(X, Y, epochs=5, verbose=0, callbacks=[baseline]).epoch == [0, 1]
    assert callbacks.EarlyStopping(monitor="val_accuracy").monitor_op is np.greater
    assert callbacks.EarlyStopping(monitor="val_loss").monitor_op is np.less
    with pytest.warns(RuntimeWarning, match="unknown"):
        assert callbacks.EarlyStopping(mode="sideways").monitor_op is np.less


def test_early_stopping_restores_the_best_weights(capsys):
    stop = callbacks.EarlyStopping(monitor="loss", mode="max", patience=2, restore_best_weights=True, verbose=1)
    model, weights = linear(), Weights()
    model.fit(X, Y, batch_size=16, epochs=10, verbose=0, callbacks=[weights, stop])
    assert stop.stopped_epoch == 2 and stop.best_epoch == 0
    assert_weights(model.get_weights(), weights.end[0])
    out = capsys.readouterr().out
    assert "Epoch 3: early stopping" in out and "the best epoch: 1." in out


def test_early_stopping_warns_on_a_missing_monitor():
    stop = callbacks.EarlyStopping(monitor="val_loss", patience=0)
    with pytest.warns(RuntimeWarning, match="val_loss.*Available metrics are: loss"):
        history = linear().fit(X, Y, epochs=3, verbose=0, callbacks=[stop])
    assert history.epoch == [0, 1, 2]


# ----------------------------------------------------------------------------- checkpoints
def test_model_checkpoint_writes_templated_weight_files(tmp_path):
    path = str(tmp_path / "w.{epoch:02d}-{val_loss:.2f}.npz")
    check = callbacks.ModelCheckpoint(path, save_weights_only=True)
    model, weights = linear(), Weights()
    history = model.fit(X, Y, epochs=3, verbose=0, validation_data=(X, Y), callbacks=[weights, check])
    names = [f"w.{e + 1:02d}-{v:.2f}.npz" for e, v in enumerate(history.history["val_loss"])]
    assert sorted(os.listdir(tmp_path)) == sorted(names)
    for name, expected in zip(names, weights.end):
        other = linear(lr=0.0)
        saving.load_weights(other, tmp_path / name)
        assert_weights(other.get_weights(), expected)


def test_model_checkpoint_save_best_only_and_messages(tmp_path, capsys):
    path = tmp_path / "best.npz"
    # mode='max' on the falling training loss: only epoch 1 is an improvement
    check = callbacks.ModelCheckpoint(path, monitor="loss", mode="max", save_best_only=True,
                                      save_weights_only=True, verbose=1)
    model, weights = linear(), Weights()
    model.fit(X, Y, epochs=3, verbose=0, callbacks=[weights, check])
    other = linear(lr=0.0)
    saving.load_weights(other, path)
    assert_weights(other.get_weights(), weights.end[0])
    out = capsys.readouterr().out
    assert f"Epoch 1: loss improved from -inf to {check.best:.5f}, saving model to {path}" in out
    assert f"Epoch 2: loss did not improve from {check.best:.5f}" in out
    assert os.listdir(tmp_path) == ["best.npz"]              # atomic writes leave no temporary file


def test_model_checkpoint_period_save_freq_and_missing_monitor(tmp_path):
    model = linear()
    model.fit(X, Y, epochs=5, verbose=0, callbacks=[
        callbacks.ModelCheckpoint(str(tmp_path / "p{epoch}.npz"), save_weights_only=True, period=2)])
    assert sorted(os.listdir(tmp_path)) == ["p2.npz", "p4.npz"]
    model.fit(X, Y, epochs=1, batch_size=4, verbose=0, callbacks=[
        callbacks.ModelCheckpoint(str(tmp_path / "b{epoch}-{batch}.npz"), save_weights_only=True, save_freq=2)])
    assert {"b1-2.npz", "b1-4.npz"} <= set(os.listdir(tmp_path))
    check = callbacks.ModelCheckpoint(str(tmp_path / "none.npz"), monitor="val_loss", save_best_only=True)
    with pytest.warns(RuntimeWarning, match="Can save best model only with val_loss available"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[check])
    assert not (tmp_path / "none.npz").exists()
    with pytest.raises(KeyError, match="Failed to format"):
        model.fit(X, Y, epochs=1, verbose=0, callbacks=[callbacks.ModelCheckpoint(str(tmp_path / "{nope}.npz"))])
    with pytest.raises(ValueError, match="save_freq"):
        callbacks.ModelCheckpoint("x", save_freq="often")


def test_model_checkpoint_saves_whole_models(tmp_path):
    path = tmp_path / "model.npz"
    model = linear()
    model.fit(X, Y, epochs=2, verbose=0, callbacks=[callbacks.ModelCheckpoint(path, monitor="loss")])
    loaded = saving.load_model(path)
    np.testing.assert_allclose(loaded.predict(X), model.predict(X), rtol=1e-6)
    assert saving.model_config(path)["class_name"] == "Model"


def test_saving_is_atomic(tmp_path, monkeypatch):
    path = tmp_path / "w.npz"
    model = linear()
    saving.save_weights(model, path)
    before = path.read_bytes()
    model.fit(X, Y, epochs=1, verbose=0)

    def broken(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np, "savez", broken)
    with pytest.raises(OSError, match="disk full"):
        saving.save_weights(model, path)
    assert path.read_bytes() == before and os.listdir(tmp_path) == ["w.npz"]


# ----------------------------------------------------------------------------- logs to files and others
def test_csv_logger_writes_sorted_columns_and_appends(tmp_path):
    path = tmp_path / "log.csv"
    model = linear(metrics=["mae"])
    history = model.fit(X, Y, epochs=2, verbose=0, validation_data=(X, Y), callbacks=[callbacks.CSVLogger(path)])
    lines = path.read_text().splitlines()
    assert lines[0] == "epoch,loss,mae,val_loss,val_mae"
    rows = [list(map(float, line.split(","))) for line in lines[1:]]
    h = history.history
    np.testing.assert_allclose(rows, [[e, h["loss"][e], h["mae"][e], h["val_loss"][e], h["val_mae"][e]]
                                      for e in range(2)], rtol=1e-6)
    model.fit(X, Y, epochs=1, verbose=0, callbacks=[callbacks.CSVLogger(path, separator=";", append=True)])
    lines = path.read_text().splitlines()
    assert len(lines) == 4 and lines[3].startswith("0;") and lines[3].endswith(";NA;NA")


def test_terminate_on_nan_stops_after_the_bad_batch(capsys):
    y = Y.copy()
    y[5, 0] = 3e30                         # in the second batch of 4: finite, but its squared error is inf
    steps = []
    history = linear().fit(X, y, batch_size=4, epochs=3, verbose=0, shuffle=False, callbacks=[
        callbacks.TerminateOnNaN(), callbacks.LambdaCallback(on_batch_end=lambda b, logs: steps.append(b))])
    assert steps == [0, 1] and history.epoch == [0]
    assert "Batch 1: Invalid loss, terminating training" in capsys.readouterr().out


def test_lambda_callback_hooks_and_attributes():
    calls = []
    cb = callbacks.LambdaCallback(on_train_begin=lambda logs: calls.append("train_begin"),
                                  on_epoch_end=lambda epoch, logs: calls.append(f"epoch_end {epoch}"),
                                  on_test_begin=lambda logs: calls.append("test_begin"), tag="mine")
    linear().fit(X, Y, epochs=2, verbose=0, validation_data=(X, Y), callbacks=[cb])
    assert calls == ["train_begin", "test_begin", "epoch_end 0", "test_begin", "epoch_end 1"]
    assert cb.tag == "mine"


def test_callbacks_warn_nothing_in_a_plain_fit(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        linear().fit(X, Y, epochs=2, verbose=0, validation_split=0.25, callbacks=[
            callbacks.EarlyStopping(), callbacks.ReduceLROnPlateau(), callbacks.TerminateOnNaN(),
            callbacks.ModelCheckpoint(str(tmp_path / "m.npz"), save_best_only=True),
            callbacks.CSVLogger(tmp_path / "log.csv")])

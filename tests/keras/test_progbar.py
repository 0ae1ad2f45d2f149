"""Progress output: the Progbar's lines (TTY and not, verbose 0/1/2) and what fit, evaluate and
predict print through the ProgbarLogger."""

import io
import re

import numpy as np
import pytest

from symkeras import optimizers
from symkeras.layers import Dense, Input
from symkeras.models import Model
from symkeras.utils import Sequence, progbar
from symkeras.utils.progbar import Progbar


class Clock:
    def __init__(self, now=1000.0):
        self.now = now

    def time(self):
        return self.now


class Stream(io.StringIO):
    def __init__(self, tty):
        super().__init__()
        self.tty = tty

    def isatty(self):
        return self.tty


@pytest.fixture
def clock(monkeypatch):
    clock = Clock()
    monkeypatch.setattr(progbar, "time", clock)
    return clock


def run(clock, stream, target=100, verbose=1, steps=((12, 1.2),), values=(("loss", 0.1234), ("accuracy", 0.9))):
    bar = Progbar(target, verbose=verbose, stream=stream, stateful_metrics=[k for k, _ in values])
    start = clock.now
    for current, at in steps:
        clock.now = start + at
        bar.update(current, list(values))
    return stream.getvalue()


# ----------------------------------------------------------------------------- Progbar
def test_bar_line_format(clock):
    out = run(clock, Stream(False))
    assert out == "\n 12/100 [==>...........................] - ETA: 8s - loss: 0.1234 - accuracy: 0.9000"


def test_final_line_and_small_values(clock):
    out = run(clock, Stream(False), target=4, steps=((4, 2.0),), values=(("loss", 0.0001),))
    assert out == "\n4/4 [==============================] - 2s 500ms/step - loss: 1.0000e-04\n"


def test_unknown_target(clock):
    out = run(clock, Stream(False), target=None, steps=((12, 1.2),), values=(("loss", 0.5),))
    assert out == "\n     12/Unknown - 1s 100ms/step - loss: 0.5000"


def test_tty_updates_rewrite_the_line_in_place(clock):
    out = run(clock, Stream(True), target=3, steps=((1, 0.1), (2, 0.2), (3, 0.3)))
    lines = out.split("\r")
    assert "\n" not in out[:-1] and out.endswith("\n") and len(lines) == 4 and lines[0] == ""
    first = lines[1].rstrip("\b")
    assert first.startswith("1/3 [=========>") and lines[1] == first + "\b" * len(first)   # erased, rewritten
    assert lines[2].startswith("2/3 [") and lines[3].startswith("3/3 [")
    assert lines[3].endswith(" - loss: 0.1234 - accuracy: 0.9000\n")


def test_plain_lines_are_throttled_when_not_a_tty(clock):
    steps = [(i, 1.0 * i) for i in range(1, 31)]                    # one step a second, 30 s
    plain = run(clock, Stream(False), target=30, steps=steps)
    tty = run(clock, Stream(True), target=30, steps=steps)
    plain_lines = [line for line in plain.split("\n") if line]
    assert [line.split(" [")[0].strip() for line in plain_lines] == ["1/30", "11/30", "21/30", "30/30"]
    assert tty.count("\r") == 30                                     # a terminal shows every step


def test_verbose_2_prints_one_line_at_the_end_and_0_nothing(clock):
    steps = [(i, 1.5 * i) for i in range(1, 5)]
    assert run(clock, Stream(False), target=4, verbose=2, steps=steps, values=(("loss", 0.25),)) == \
        "4/4 - 6s - loss: 0.2500 - 6s/epoch - 2s/step\n"
    assert run(clock, Stream(True), target=4, verbose=0, steps=steps) == ""


def test_values_not_stateful_are_averaged_over_steps(clock):
    bar = Progbar(4, stream=Stream(False))
    bar.update(1, [("loss", 1.0)])
    bar.update(4, [("loss", 2.0)])           # 1 step of 1.0, 3 steps of 2.0
    assert bar._average("loss") == pytest.approx(1.75)


# ----------------------------------------------------------------------------- through fit / evaluate / predict
X = np.linspace(-1, 1, 32, dtype="float32").reshape(16, 2)
Y = X.sum(1, keepdims=True)


class Batches(Sequence):
    def __len__(self):
        return 4

    def __getitem__(self, i):
        return X[4 * i:4 * i + 4], Y[4 * i:4 * i + 4]


def model():
    x = Input((2,))
    m = Model(x, Dense(1, kernel_initializer="zeros")(x))
    m.compile(optimizers.SGD(0.1), "mse", metrics=["mae"], backend="numpy")
    return m


def fit(verbose, kind, epochs=2):
    m = model()
    if kind == "arrays":
        return m.fit(X, Y, batch_size=4, epochs=epochs, verbose=verbose, validation_data=(X, Y), shuffle=False)
    return m.fit(Batches(), epochs=epochs, verbose=verbose, validation_data=Batches(), shuffle=False, workers=0)


def epoch_values(history, e):
    return "".join(f" - {k}: {v[e]:.4f}" for k, v in history.history.items())


@pytest.mark.parametrize("kind", ["arrays", "sequence"])
def test_fit_verbose_1_not_a_tty(capsys, kind):
    history = fit(1, kind)
    out = capsys.readouterr().out
    step = r"\d+(ms|us|s)/step"
    for e in range(2):
        final = re.escape(f"4/4 [{'=' * 30}] - ") + r"0s " + step + re.escape(epoch_values(history, e) + "\n")
        assert re.search(re.escape(f"Epoch {e + 1}/2\n\n1/4 [======>") + r".* - ETA: \d+s - loss: "
                         + r"\d\.\d{4} - mae: \d\.\d{4}\n" + final, out), out


@pytest.mark.parametrize("kind", ["arrays", "sequence"])
def test_fit_verbose_2_and_0(capsys, kind):
    history = fit(2, kind)
    out = capsys.readouterr().out
    lines = out.splitlines()
    assert lines[0] == "Epoch 1/2" and lines[2] == "Epoch 2/2" and len(lines) == 4
    assert re.fullmatch(re.escape("4/4 - 0s" + epoch_values(history, 1)) + r" - \d+(ms|us)/epoch - \d+(ms|us)/step",
                        lines[3]), lines[3]
    fit(0, kind)
    assert capsys.readouterr().out == ""


def test_fit_of_one_epoch_prints_no_epoch_header(capsys):
    fit(2, "sequence", epochs=1)
    out = capsys.readouterr().out
    assert not out.startswith("Epoch") and out.startswith("4/4 - ")


def test_fit_on_a_tty_updates_in_place(monkeypatch):
    stream = Stream(True)
    monkeypatch.setattr("sys.stdout", stream)
    fit(1, "sequence", epochs=1)
    out = stream.getvalue()
    assert "\r" in out and "\n\n" not in out and out.count("\n") == 1


def test_fit_on_a_log_file_does_not_flood_it(capsys):
    m = model()
    big_x, big_y = np.tile(X, (50, 1)), np.tile(Y, (50, 1))
    m.fit(big_x, big_y, batch_size=2, epochs=2, verbose=1)          # 400 steps an epoch
    lines = [line for line in capsys.readouterr().out.split("\n") if line]
    assert len(lines) <= 8 and lines[-1].startswith("400/400 [")


def test_evaluating_a_generator_without_steps_learns_its_length(capsys):
    m = model()
    m.evaluate((b for b in [Batches()[0], Batches()[1]]), verbose=1, workers=0)
    out = capsys.readouterr().out
    assert "      1/Unknown" in out and f"2/2 [{'=' * 30}]" in out


@pytest.mark.parametrize("kind", ["sequence", "arrays"])
def test_evaluate_and_predict_verbose(capsys, kind):
    m = model()
    m.fit(X, Y, epochs=1, verbose=0)
    data = dict(x=X, y=Y, batch_size=4) if kind == "arrays" else dict(x=Batches(), workers=0)
    loss, mae = m.evaluate(**data, verbose=1)
    out = capsys.readouterr().out
    assert out.endswith(f" - loss: {loss:.4f} - mae: {mae:.4f}\n") and "4/4 [" in out
    m.evaluate(**data, verbose=0)
    assert capsys.readouterr().out == ""
    data.pop("y", None)
    m.predict(**data, verbose=1)
    out = capsys.readouterr().out
    assert re.search(r"4/4 \[=+\] - 0s \d+(ms|us)/step\n$", out), out
    m.predict(**data)
    assert capsys.readouterr().out == ""

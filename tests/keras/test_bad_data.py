"""Bad numbers, endless loops and wrongly typed arguments given to the training API.

- NaN or infinity in x, y, sample_weight or class_weight is a ValueError naming the argument and
  the first bad sample (or class) — before any step, so the weights and the optimizer state are as
  they were; generator batches are checked one by one; predict is not checked.
- fit on a plain generator needs steps_per_epoch (and validation_steps for a validation generator):
  without it, an endless generator would never end an epoch.
- Every argument of fit / evaluate / predict (and their *_generator and *_on_batch forms) is checked
  at the call: a TypeError or ValueError naming it and what was expected; NumPy integers are integers.
"""

import numpy as np
import pytest

from symkeras import callbacks, optimizers
from symkeras.engine import data_checks
from symkeras.layers import Dense, Input, concatenate
from symkeras.models import Model
from symkeras.utils import Sequence

from model_state import assert_untouched, snapshot

NP = "numpy"
RNG = np.random.RandomState(7)
XA = RNG.rand(8, 3).astype("float32")
XB = RNG.rand(8, 2).astype("float32")
Y = np.eye(3, dtype="float32")[[0, 1, 2, 0, 1, 2, 0, 1]]
YR = RNG.rand(8, 1).astype("float32")


def two_by_two():
    """Inputs 'input_a' and 'input_b', outputs 'cls' and 'reg'; Adam slots exist after one fit."""
    a, b = Input((3,), name="input_a"), Input((2,), name="input_b")
    h = Dense(4, activation="relu", name="h")(concatenate([a, b]))
    model = Model([a, b], [Dense(3, activation="softmax", name="cls")(h), Dense(1, name="reg")(h)])
    model.compile("adam", ["categorical_crossentropy", "mse"], backend=NP)
    model.fit([XA, XB], [Y, YR], verbose=0)
    return model


def linear(lr=0.1):
    x = Input((2,), name="x")
    model = Model(x, Dense(1, kernel_initializer="zeros", name="out")(x))
    model.compile(optimizers.Adam(lr), "mse", backend=NP)
    return model


X2 = RNG.uniform(-1, 1, size=(16, 2)).astype("float32")
Y2 = X2.sum(1, keepdims=True).astype("float32")


def with_value(array, index, value):
    array = array.copy()
    array[index] = value
    return array


# ----------------------------------------------------------------------------- non-finite data
NAN_CALLS = [
    # (call, message pattern)
    (lambda m: m.fit([XA, with_value(XB, (5, 1), np.nan)], [Y, YR], verbose=0),
     r"`x\[1\]` \('input_b'\) contains nan at sample 5, element \(5, 1\)"),
    (lambda m: m.fit({"input_a": with_value(XA, (2, 0), np.inf), "input_b": XB}, [Y, YR], verbose=0),
     r"`x\[0\]` \('input_a'\) contains inf at sample 2"),
    (lambda m: m.fit([XA, XB], [Y, with_value(YR, (6, 0), -np.inf)], verbose=0),
     r"`y\[1\]` \('reg'\) contains -inf at sample 6"),
    (lambda m: m.fit([XA, XB], {"cls": with_value(Y, (3, 2), np.nan), "reg": YR}, verbose=0),
     r"`y\[0\]` \('cls'\) contains nan at sample 3"),
    (lambda m: m.fit([XA, XB], [Y, YR], sample_weight={"reg": with_value(np.ones(8), 4, np.nan)}, verbose=0),
     r"`sample_weight\[1\]` \('reg'\) contains nan at sample 4"),
    (lambda m: m.fit([XA, XB], [Y, YR], class_weight={"cls": {0: 1.0, 1: float("nan"), 2: 1.0}}, verbose=0),
     r"`class_weight` for output 'cls': the weight of class 1 is nan"),
    (lambda m: m.fit([XA, XB], [Y, YR], class_weight={"cls": {0: 1.0, 1: 1.0, 2: np.inf}}, verbose=0),
     r"`class_weight`.* class 2 is inf"),
    (lambda m: m.fit([XA, XB.astype("float64") * 1e39], [Y, YR], verbose=0),    # inf once in float32
     r"`x\[1\]` \('input_b'\) contains inf at sample 0"),
    (lambda m: m.fit([XA, XB], [Y, YR], validation_data=([with_value(XA, (1, 1), np.nan), XB], [Y, YR]),
                     verbose=0), r"validation_data.*`x\[0\]` \('input_a'\) contains nan at sample 1"),
    (lambda m: m.train_on_batch([XA, with_value(XB, (7, 0), np.nan)], [Y, YR]),
     r"`x\[1\]` \('input_b'\) contains nan at sample 7"),
    (lambda m: m.train_on_batch([XA, XB], [Y, YR], class_weight={"cls": {0: 1, 1: 1, 2: float("-inf")}}),
     r"class 2 is -inf"),
    (lambda m: m.test_on_batch([XA, XB], [Y, with_value(YR, (0, 0), np.nan)]), r"`y\[1\]` \('reg'\).*sample 0"),
    (lambda m: m.evaluate([XA, XB], [Y, YR], sample_weight=with_value(np.ones(8), 3, np.inf), verbose=0),
     r"`sample_weight\[0\]` \('cls'\) contains inf at sample 3"),
]


@pytest.mark.filterwarnings("ignore:overflow encountered in cast")      # NumPy's, on the 1e39 case
@pytest.mark.parametrize("index", range(len(NAN_CALLS)))
def test_non_finite_data_is_rejected_with_the_argument_and_sample(index):
    call, pattern = NAN_CALLS[index]
    model = two_by_two()
    state = snapshot(model)
    with pytest.raises(ValueError, match=pattern):
        call(model)
    assert_untouched(model, state)
    history = model.fit([XA, XB], [Y, YR], batch_size=4, verbose=0)     # still trains, and finitely
    assert np.isfinite(history.history["loss"]).all()
    assert all(np.isfinite(w).all() for w in model.get_weights())


@pytest.mark.parametrize("method", ["train_on_batch", "test_on_batch"])
def test_the_short_path_of_a_single_input_model_is_checked_too(method):
    model = linear()
    model.train_on_batch(X2, Y2)
    state = snapshot(model)
    with pytest.raises(ValueError, match=r"`x` \('x'\) contains nan at sample 9"):
        getattr(model, method)(with_value(X2, (9, 1), np.nan), Y2)
    with pytest.raises(ValueError, match=r"`y` \('out'\) contains inf at sample 0"):
        getattr(model, method)(X2, with_value(Y2, (0, 0), np.inf))
    assert_untouched(model, state)


def test_arrays_are_checked_once_per_fit_not_per_batch(monkeypatch):
    checked = []
    original = data_checks._all_finite
    monkeypatch.setattr(data_checks, "_all_finite", lambda a: checked.append(a.shape) or original(a))
    linear().fit(X2, Y2, batch_size=2, epochs=3, verbose=0, sample_weight=np.ones(16))
    assert sorted(checked) == [(16,), (16, 1), (16, 2)]                  # x, y, sample_weight: once each


def test_large_arrays_are_checked_slice_by_slice_to_the_last_element():
    big = np.zeros((3000, 100), "float32")                   # several slices of the check
    data_checks.check_finite([big, big[:, ::3], np.arange(10)], "x", ["a", "b", "c"])
    big[2999, 99] = np.inf
    with pytest.raises(ValueError, match=r"`x\[0\]` \('a'\) contains inf at sample 2999, element \(2999, 99\)"):
        data_checks.check_finite([big, big[:, ::3]], "x", ["a", "b"])
    with pytest.raises(ValueError, match=r"`x\[1\]` \('b'\) contains inf at sample 2999, element \(2999, 33\)"):
        data_checks.check_finite([big[:, :99], big[:, ::3]], "x", ["a", "b"])


@pytest.mark.filterwarnings("error")
def test_every_non_finite_element_is_found_and_huge_finite_ones_pass():
    for dtype in ("float16", "float32", "float64"):
        for n in (1, 7, 8, 9, 31, 33, 1025):
            for position in {0, n // 2, n - 1}:
                for bad in (np.nan, np.inf, -np.inf):
                    with pytest.raises(ValueError, match=f"contains {bad} at sample {position}:"):
                        data_checks.check_finite([with_value(np.ones(n, dtype), position, bad)], "y", ["o"])
    huge = [np.full((4, 3), 3e38, "float32"), np.full(5, 6e4, "float16"), np.full(3, 1e300)]
    data_checks.check_finite(huge, "x", ["a", "b", "c"])                   # sums of squares overflow: no error


class Batches(Sequence):
    def __init__(self, x=X2, y=Y2, batch_size=4):
        self.x, self.y, self.batch_size = x, y, batch_size

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return self.x[s], self.y[s]


@pytest.mark.parametrize("workers", [0, 1])
def test_generator_batches_are_checked_one_by_one(workers):
    bad = with_value(X2, (9, 0), np.nan)                      # batch 2, sample 1 of that batch
    model, reference = linear(), linear()
    with pytest.raises(ValueError, match=r"`x` \('x'\) contains nan at sample 1.*batch 2"):
        model.fit_generator(Batches(bad), epochs=2, shuffle=False, verbose=0, workers=workers)
    for i in range(2):                                        # the two good batches were trained on
        reference.train_on_batch(X2[4 * i:4 * i + 4], Y2[4 * i:4 * i + 4])
    for a, b in zip(model.get_weights(), reference.get_weights()):
        np.testing.assert_allclose(a, b, rtol=1e-6)
    assert all(np.isfinite(w).all() for w in model.get_weights())
    with pytest.raises(ValueError, match=r"`y` \('out'\) contains inf at sample 3.*batch 0"):
        model.evaluate_generator(Batches(y=with_value(Y2, (3, 0), np.inf)), workers=workers)


def test_predict_is_not_checked():
    model = linear()
    model.fit(X2, Y2, verbose=0)
    x = with_value(X2, (3, 1), np.nan)
    for out in (model.predict(x), model.predict(x, batch_size=4), model.predict_on_batch(x)):
        assert np.isnan(out[3, 0]) and np.isfinite(np.delete(out, 3, axis=0)).all()


# ----------------------------------------------------------------------------- generators without steps
def endless(consumed):
    """As good as endless for these tests (finite, so that a missing check fails instead of hanging)."""
    for _ in range(200):
        consumed.append(1)
        yield X2[:4], Y2[:4]


def test_a_plain_generator_needs_steps_per_epoch():
    for fit in (lambda m, g: m.fit_generator(g, epochs=2, verbose=0),
                lambda m, g: m.fit(g, epochs=2, verbose=0, workers=0)):
        model, consumed = linear(), []
        with pytest.raises(ValueError, match=r"`steps_per_epoch=None` is only valid for a generator based on "
                                             r"the `symkeras.utils.Sequence` class"):
            fit(model, endless(consumed))
        assert consumed == [] and model.train_function is None
    model = linear()
    model.fit_generator(endless([]), steps_per_epoch=3, epochs=2, verbose=0)    # with steps: two epochs
    assert model.history.epoch == [0, 1]


def test_a_validation_generator_needs_validation_steps():
    model, consumed = linear(), []
    with pytest.raises(ValueError, match=r"`validation_steps=None` is only valid for a generator based on "
                                         r"the `symkeras.utils.Sequence` class"):
        model.fit_generator(Batches(), validation_data=endless(consumed), verbose=0)
    assert consumed == [] and model.train_function is None
    with pytest.raises(ValueError, match=r"`validation_steps=None`"):
        model.fit(Batches(), validation_data=endless(consumed), verbose=0)
    history = model.fit_generator(Batches(), validation_data=endless([]), validation_steps=2, verbose=0)
    assert "val_loss" in history.history


# ----------------------------------------------------------------------------- argument types
def seq_fit(**kwargs):
    return lambda m: m.fit_generator(Batches(), verbose=0, **kwargs)


BAD_ARGUMENTS = [
    # (call, error, message pattern)
    (lambda m: m.fit(X2, Y2, epochs=2.5, verbose=0), TypeError, r"fit: `epochs` must be a non-negative integer.*"
                                                                r"got 2\.5 \(float\)"),
    (lambda m: m.fit(X2, Y2, epochs="3", verbose=0), TypeError, r"`epochs`.*'3' \(str\)"),
    (lambda m: m.fit(X2, Y2, epochs=-1, verbose=0), ValueError, r"`epochs` must be a non-negative integer"),
    (lambda m: m.fit(X2, Y2, callbacks=3, verbose=0), TypeError, r"`callbacks` must be a list of Callback "
                                                                 r"instances, got 3 \(int\)"),
    (lambda m: m.fit(X2, Y2, callbacks=[callbacks.EarlyStopping], verbose=0), TypeError,
     r"`callbacks`.*item 0 is the class EarlyStopping, not an instance"),
    (lambda m: m.fit(X2, Y2, callbacks=[callbacks.History(), print], verbose=0), TypeError,
     r"`callbacks`.*item 1 is <built-in function print>"),
    (lambda m: m.fit(X2, Y2, batch_size=2.5, verbose=0), TypeError, r"`batch_size` must be a positive integer "
                                                                     r"or None"),
    (lambda m: m.fit(X2, Y2, batch_size="32", verbose=0), TypeError, r"`batch_size`"),
    (lambda m: m.fit(X2, Y2, batch_size=0, verbose=0), ValueError, r"`batch_size`"),
    (lambda m: m.fit(X2, Y2, verbose=3), ValueError, r"`verbose` must be 0 \(silent\), 1 .*'auto'"),
    (lambda m: m.fit(X2, Y2, verbose=1.0), TypeError, r"`verbose`"),
    (lambda m: m.fit(X2, Y2, validation_split="0.25", verbose=0), TypeError, r"`validation_split` must be a "
                                                                              r"float in \[0, 1\)"),
    (lambda m: m.fit(X2, Y2, validation_split=1.5, verbose=0), ValueError, r"`validation_split`"),
    (lambda m: m.fit(X2, Y2, initial_epoch=0.5, verbose=0), TypeError, r"`initial_epoch`"),
    (lambda m: m.fit(X2, Y2, initial_epoch=-2, verbose=0), ValueError, r"`initial_epoch`"),
    (lambda m: m.fit(X2, Y2, steps_per_epoch=1.5, verbose=0), TypeError, r"`steps_per_epoch`"),
    (lambda m: m.fit(X2, Y2, validation_steps="2", validation_split=0.5, verbose=0), TypeError,
     r"`validation_steps`"),
    (lambda m: m.fit(X2, Y2, validation_batch_size=0.5, validation_split=0.5, verbose=0), TypeError,
     r"`validation_batch_size`"),
    (lambda m: m.fit(X2, Y2, validation_freq="2", validation_split=0.5, verbose=0), ValueError,
     r"`validation_freq`"),
    (lambda m: m.fit(X2, Y2, shuffle=1.0, verbose=0), TypeError, r"`shuffle` must be True, False or 'batch'"),
    (lambda m: m.fit(X2, Y2, shuffle="random", verbose=0), ValueError, r"`shuffle`"),
    (lambda m: m.fit(X2, Y2, class_weight=2, verbose=0), TypeError, r"`class_weight` must be a dict"),
    (lambda m: m.fit(X2, Y2, sample_weight="heavy", verbose=0), TypeError, r"`sample_weight`"),
    (lambda m: m.fit(X2, Y2, sample_weight=2.0, verbose=0), ValueError, r"`sample_weight`"),
    (lambda m: m.fit(X2, Y2, max_queue_size=0, verbose=0), ValueError, r"`max_queue_size`"),
    (lambda m: m.fit(X2, Y2, workers=1.5, verbose=0), TypeError, r"`workers`"),
    (lambda m: m.fit(X2, Y2, workers=-1, verbose=0), ValueError, r"`workers`"),
    (lambda m: m.fit(X2, Y2, use_multiprocessing="yes", verbose=0), TypeError, r"`use_multiprocessing`"),
    (lambda m: m.fit(Batches(), epochs=2.5, verbose=0), TypeError, r"fit: `epochs`"),
    (seq_fit(epochs=2.5), TypeError, r"fit_generator: `epochs`"),
    (seq_fit(steps_per_epoch=2.5), TypeError, r"fit_generator: `steps_per_epoch`"),
    (seq_fit(callbacks=3), TypeError, r"fit_generator: `callbacks`"),
    (seq_fit(workers=-1), ValueError, r"fit_generator: `workers`"),
    (seq_fit(validation_data=Batches(), validation_steps=0.5), TypeError, r"`validation_steps`"),
    (lambda m: m.evaluate(X2, Y2, batch_size=2.5, verbose=0), TypeError, r"evaluate: `batch_size`"),
    (lambda m: m.evaluate(X2, Y2, steps=1.5, verbose=0), TypeError, r"evaluate: `steps`"),
    (lambda m: m.evaluate(X2, Y2, verbose=[]), TypeError, r"evaluate: `verbose`"),
    (lambda m: m.evaluate(X2, Y2, callbacks=3, verbose=0), TypeError, r"evaluate: `callbacks`"),
    (lambda m: m.evaluate(X2, Y2, return_dict="yes", verbose=0), TypeError, r"evaluate: `return_dict`"),
    (lambda m: m.evaluate_generator(Batches(), steps=0.5), TypeError, r"evaluate_generator: `steps`"),
    (lambda m: m.predict(X2, batch_size=2.5), TypeError, r"predict: `batch_size`"),
    (lambda m: m.predict(X2[:1], batch_size=0), ValueError, r"predict: `batch_size`"),
    (lambda m: m.predict(X2, steps=1.5), TypeError, r"predict: `steps`"),
    (lambda m: m.predict(X2, callbacks=3), TypeError, r"predict: `callbacks`"),
    (lambda m: m.predict(X2, verbose="x"), ValueError, r"predict: `verbose`"),
    (lambda m: m.predict_generator(Batches(), steps="2"), TypeError, r"predict_generator: `steps`"),
    (lambda m: m.train_on_batch(X2, Y2, reset_metrics="no"), TypeError, r"train_on_batch: `reset_metrics`"),
    (lambda m: m.test_on_batch(X2, Y2, return_dict=2), TypeError, r"test_on_batch: `return_dict`"),
]


@pytest.mark.parametrize("index", range(len(BAD_ARGUMENTS)))
def test_a_wrong_argument_is_named_and_leaves_the_model_untouched(index):
    call, error, pattern = BAD_ARGUMENTS[index]
    model = linear()
    model.fit(X2, Y2, verbose=0)
    state = snapshot(model)
    with pytest.raises(error, match=pattern):
        call(model)
    assert_untouched(model, state)


@pytest.mark.parametrize("call", [lambda m: m.fit(X2, Y2, epochs=2.5, verbose=0),
                                  lambda m: m.fit(X2, Y2, callbacks=3, verbose=0),
                                  lambda m: m.fit_generator(Batches(), epochs=2.5, verbose=0),
                                  lambda m: m.evaluate(X2, Y2, batch_size=1.5, verbose=0)])
def test_a_wrong_argument_builds_nothing(call):
    model = linear()
    with pytest.raises((TypeError, ValueError)):
        call(model)
    assert model.train_function is None and model.test_function is None and not model.optimizer.built


def test_numpy_integers_are_integers():
    model = linear()
    history = model.fit(X2, Y2, epochs=np.int64(3), initial_epoch=np.int32(1), batch_size=np.int64(4),
                        verbose=np.int64(0), validation_split=np.float32(0.25), validation_freq=np.int64(1))
    assert history.epoch == [1, 2]
    history = model.fit_generator(endless([]), steps_per_epoch=np.int64(2), epochs=np.int16(2), verbose=0,
                                  workers=np.int64(0), max_queue_size=np.int64(3))
    assert history.epoch == [0, 1]
    assert np.isfinite(model.evaluate(X2, Y2, batch_size=np.int64(5), steps=np.int64(2), verbose=0))
    assert model.predict(X2, batch_size=np.int64(4), steps=np.int64(3)).shape == (12, 1)

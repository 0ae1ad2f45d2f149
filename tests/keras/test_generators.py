"""Generators and Sequences in fit / evaluate / predict and the *_generator methods: the same
results as array data on the same ordered batches, whatever the workers (none, threads,
processes); batch formats; validation data; steps; Sequence.on_epoch_end; legacy arguments."""

import warnings

import numpy as np
import pytest

from symkeras import optimizers
from symkeras.layers import Dense, Input, concatenate
from symkeras.models import Model
from symkeras.utils import GeneratorEnqueuer, OrderedEnqueuer, Sequence

RNG = np.random.RandomState(1)
X = RNG.uniform(-1, 1, size=(16, 2)).astype("float32")
Y = (X @ np.array([[1.0], [-1.0]], "float32") + 0.25).astype("float32")
SW = RNG.uniform(0.5, 2.0, size=16).astype("float32")


def linear(lr=0.1, **compile_kwargs):
    x = Input((2,), name="x")
    model = Model(x, Dense(1, kernel_initializer="zeros", name="out")(x))
    model.compile(optimizers.SGD(learning_rate=lr), "mse", backend="numpy", **compile_kwargs)
    return model


class Batches(Sequence):
    """Batches of (X, Y[, SW]) in order; counts on_epoch_end calls and records the indices asked for."""

    def __init__(self, x=X, y=Y, sw=None, batch_size=4):
        self.x, self.y, self.sw, self.batch_size = x, y, sw, batch_size
        self.epochs_ended, self.asked = 0, []

    def __len__(self):
        return -(-len(self.x) // self.batch_size)

    def __getitem__(self, i):
        self.asked.append(i)
        s = slice(i * self.batch_size, (i + 1) * self.batch_size)
        return (self.x[s], self.y[s]) if self.sw is None else (self.x[s], self.y[s], self.sw[s])

    def on_epoch_end(self):
        self.epochs_ended += 1


def batches(x=X, y=Y, sw=None, batch_size=4, repeat=True):
    """A plain generator over the same batches, passes without end."""
    while True:
        for start in range(0, len(x), batch_size):
            s = slice(start, start + batch_size)
            yield (x[s], y[s]) if sw is None else (x[s], y[s], sw[s])
        if not repeat:
            return


def reference(epochs=2, **fit_kwargs):
    model = linear()
    model.fit(X, Y, batch_size=4, epochs=epochs, shuffle=False, verbose=0, **fit_kwargs)
    return model.get_weights()


def assert_weights(a, b):
    for u, v in zip(a, b):
        np.testing.assert_allclose(u, v, rtol=1e-6, atol=1e-7)


WORKERS = [(0, False), (1, False), (2, False), (1, True), (2, True)]


@pytest.mark.parametrize("workers,processes", WORKERS)
def test_sequence_gives_the_weights_of_fit_on_the_same_batches(workers, processes):
    model, seq = linear(), Batches()
    history = model.fit_generator(seq, epochs=2, shuffle=False, verbose=0, workers=workers,
                                  use_multiprocessing=processes)
    assert_weights(model.get_weights(), reference())
    assert history.epoch == [0, 1] and seq.epochs_ended == 2


@pytest.mark.parametrize("workers,processes", WORKERS[:2] + WORKERS[3:4])
def test_generator_gives_the_weights_of_fit_on_the_same_batches(workers, processes):
    model = linear()
    model.fit_generator(batches(), steps_per_epoch=4, epochs=2, verbose=0, workers=workers,
                        use_multiprocessing=processes)
    assert_weights(model.get_weights(), reference())


def test_fit_evaluate_predict_accept_generators_and_sequences():
    model = linear()
    model.fit(Batches(), epochs=2, shuffle=False, verbose=0)
    assert_weights(model.get_weights(), reference())
    np.testing.assert_allclose(model.evaluate(batches(repeat=False), verbose=0), model.evaluate(X, Y, verbose=0),
                               rtol=1e-6)
    np.testing.assert_allclose(model.predict(Batches()), model.predict(X), rtol=1e-6)
    for kwargs in (dict(y=Y), dict(batch_size=4), dict(sample_weight=SW), dict(validation_split=0.5)):
        with pytest.raises(ValueError, match=f"`{next(iter(kwargs))}` is not supported"):
            model.fit(Batches(), verbose=0, **kwargs)


def test_sample_weights_from_the_generator():
    model = linear()
    model.fit_generator(Batches(sw=SW), epochs=2, shuffle=False, verbose=0, workers=0)
    assert_weights(model.get_weights(), reference(sample_weight=SW))


def test_class_weight_applies_to_generator_batches():
    labels = (Y > 0.25).astype("float32")

    def make():
        x = Input((2,))
        m = Model(x, Dense(1, activation="sigmoid", kernel_initializer="zeros")(x))
        m.compile(optimizers.SGD(0.5), "binary_crossentropy", backend="numpy")
        return m

    a, b = make(), make()
    a.fit_generator(Batches(y=labels), epochs=2, shuffle=False, verbose=0, class_weight={0: 1.0, 1: 3.0})
    b.fit(X, labels, batch_size=4, epochs=2, shuffle=False, verbose=0, class_weight={0: 1.0, 1: 3.0})
    assert_weights(a.get_weights(), b.get_weights())


def test_dicts_and_lists_by_name_for_several_inputs_and_outputs():
    def make():
        a, b = Input((2,), name="a"), Input((1,), name="b")
        h = concatenate([a, b])
        m = Model([a, b], [Dense(1, kernel_initializer="zeros", name="o1")(h),
                           Dense(1, kernel_initializer="ones", name="o2")(h)])
        m.compile(optimizers.SGD(0.1), "mse", backend="numpy")
        return m

    xb = X[:, :1] * 2
    ref, dicts, lists = make(), make(), make()
    ref.fit([X, xb], [Y, -Y], batch_size=8, epochs=2, shuffle=False, verbose=0)
    dicts.fit_generator((({"a": X[s], "b": xb[s]}, {"o1": Y[s], "o2": -Y[s]}) for _ in range(2)
                         for s in (slice(0, 8), slice(8, 16))), steps_per_epoch=2, epochs=2, verbose=0)
    lists.fit_generator((([X[s], xb[s]], [Y[s], -Y[s]]) for _ in range(2) for s in (slice(0, 8), slice(8, 16))),
                        steps_per_epoch=2, epochs=2, verbose=0, workers=0)
    assert_weights(dicts.get_weights(), ref.get_weights())
    assert_weights(lists.get_weights(), ref.get_weights())
    out = dicts.predict_generator(({"a": X[s], "b": xb[s]} for s in (slice(0, 8), slice(8, 16))), steps=2)
    np.testing.assert_allclose(out[1], dicts.predict([X, xb])[1], rtol=1e-6)


@pytest.mark.parametrize("kind", ["tuple", "generator", "sequence"])
def test_validation_data_of_every_kind(kind):
    xv, yv = X[:8], Y[:8]
    validation = {"tuple": (xv, yv), "generator": batches(xv, yv), "sequence": Batches(xv, yv)}[kind]
    model = linear()
    history = model.fit_generator(Batches(), epochs=2, verbose=0, validation_data=validation,
                                  validation_steps=2 if kind == "generator" else None)
    np.testing.assert_allclose(history.history["val_loss"][-1], model.evaluate(xv, yv, verbose=0), rtol=1e-6)
    assert list(history.history) == ["loss", "val_loss"]


def test_validation_generator_needs_steps_and_tuples_two_or_three_items():
    with pytest.raises(ValueError, match="validation_steps"):
        linear().fit_generator(Batches(), validation_data=batches(), verbose=0)
    with pytest.raises(ValueError, match="contain 2"):
        linear().fit_generator(Batches(), validation_data=(X,), verbose=0)


def test_epoch_values_are_means_weighted_by_batch_size():
    model = linear(lr=0.0, metrics=["mae"])          # fixed weights: every batch is scored alike
    seq = Batches(batch_size=6)                      # batches of 6, 6 and 4
    history = model.fit_generator(seq, epochs=1, verbose=0, shuffle=False)
    loss, mae = model.evaluate(X, Y, verbose=0)
    np.testing.assert_allclose([history.history["loss"][0], history.history["mae"][0]], [loss, mae], rtol=1e-6)
    per_batch = [np.mean(Y[s] ** 2) for s in (slice(0, 6), slice(6, 12), slice(12, 16))]
    assert abs(np.mean(per_batch) - loss) > 1e-3     # the plain mean of the batches would differ
    np.testing.assert_allclose(model.evaluate_generator(seq, workers=2), [loss, mae], rtol=1e-6)


@pytest.mark.parametrize("workers,processes", [(0, False), (2, False), (2, True)])
def test_evaluate_and_predict_generator(workers, processes):
    model = linear()
    model.fit(X, Y, epochs=2, verbose=0)
    kw = dict(workers=workers, use_multiprocessing=processes)
    np.testing.assert_allclose(model.evaluate_generator(Batches(), **kw), model.evaluate(X, Y, verbose=0),
                               rtol=1e-6)
    np.testing.assert_allclose(model.predict_generator(Batches(), **kw), model.predict(X), rtol=1e-6)
    xs_only = (X[s] for s in (slice(0, 10), slice(10, 16)))       # one process: a generator is not shared
    kw["workers"] = min(workers, 1) if processes else workers
    np.testing.assert_allclose(model.predict_generator(xs_only, steps=2, **kw), model.predict(X), rtol=1e-6)


def test_sequence_shuffle_visits_every_batch_once_per_epoch():
    np.random.seed(3)
    seq = Batches(batch_size=2)
    linear().fit_generator(seq, epochs=3, verbose=0, workers=0, shuffle=True)
    passes = [seq.asked[8 * e:8 * e + 8] for e in range(3)]
    assert all(sorted(p) == list(range(8)) for p in passes) and passes[0] != list(range(8))
    assert seq.epochs_ended == 3


def test_on_epoch_end_changes_reach_process_workers():
    class Growing(Batches):
        def __getitem__(self, i):
            x, y = super().__getitem__(i)
            return x, y * (1 + self.epochs_ended)

    a, b = linear(), linear()
    a.fit_generator(Growing(), epochs=3, shuffle=False, verbose=0, workers=0)
    b.fit_generator(Growing(), epochs=3, shuffle=False, verbose=0, workers=2, use_multiprocessing=True)
    assert_weights(a.get_weights(), b.get_weights())


def test_steps_per_epoch_shorter_than_the_sequence():
    model = linear()
    model.fit_generator(Batches(), steps_per_epoch=2, epochs=2, shuffle=False, verbose=0, workers=0)
    assert_weights(model.get_weights(), reference(epochs=1))          # two epochs of half the data


def test_a_generator_that_runs_out_stops_training_with_a_warning():
    model = linear()
    with pytest.warns(UserWarning, match="ran out of data"):
        history = model.fit_generator(batches(repeat=False), steps_per_epoch=4, epochs=3, verbose=0)
    assert history.epoch == [0]
    assert_weights(model.get_weights(), reference(epochs=1))


@pytest.mark.filterwarnings("ignore:The semantics of the Keras 2 argument")   # the second, general notice
def test_keras1_argument_names_warn_and_convert():
    class Sized(Batches):
        batch_size = 4

    model = linear()
    with pytest.warns(UserWarning, match="Update your `fit_generator` call"):
        model.fit_generator(Sized(), samples_per_epoch=16, nb_epoch=2, max_q_size=2, nb_worker=1,
                            pickle_safe=False, verbose=0, shuffle=False)
    assert_weights(model.get_weights(), reference())                 # 16 samples / batch_size 4 = 4 steps
    with pytest.warns(UserWarning, match="Update your `evaluate_generator` call"):
        loss = model.evaluate_generator(Batches(), val_samples=4, nb_worker=2, pickle_safe=True)
    np.testing.assert_allclose(loss, model.evaluate(X, Y, verbose=0), rtol=1e-6)
    with pytest.warns(UserWarning, match="Update your `predict_generator` call"):
        assert model.predict_generator(Batches(), val_samples=2, max_q_size=1).shape == (8, 1)
    with pytest.warns(UserWarning, match="validation_steps=1"):
        history = model.fit_generator(Batches(), nb_val_samples=1, validation_data=batches(), verbose=0)
    assert "val_loss" in history.history
    with pytest.raises(TypeError, match="both the deprecated argument `nb_epoch` and its Keras 2 name `epochs`"):
        model.fit_generator(Batches(), nb_epoch=2, epochs=2)
    with pytest.raises(TypeError):
        model.fit_generator(Batches(), 4, 2, 0)                      # only 3 positional arguments


def test_enqueuers_used_directly():
    enqueuer = OrderedEnqueuer(Batches(), use_multiprocessing=False)
    enqueuer.start(workers=2, max_queue_size=3)
    got = [x for x, _ in (next(enqueuer.get()) for _ in range(1))]
    items = enqueuer.get()
    got += [next(items)[0] for _ in range(7)]
    enqueuer.stop()
    assert not enqueuer.is_running()
    for i, x in enumerate(got):
        np.testing.assert_array_equal(x, X[4 * (i % 4):4 * (i % 4) + 4])
    enqueuer = GeneratorEnqueuer(batches(repeat=False))
    enqueuer.start(workers=1)
    assert len(list(enqueuer.get())) == 4
    enqueuer.stop()


def test_no_warning_in_a_plain_generator_fit():
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        linear().fit_generator(Batches(), epochs=2, verbose=0, validation_data=Batches(), workers=2)


def test_a_generator_shared_by_processes_warns_at_the_call():
    model = linear()
    with pytest.warns(UserWarning, match="may duplicate your data") as caught:
        model.fit(batches(), steps_per_epoch=1, verbose=0, workers=2, use_multiprocessing=True)
    assert [w.filename for w in caught] == [__file__]

"""The data of fit / evaluate / predict as epochs of batches, whatever its kind (tf-keras's
DataHandler): arrays, generators and ``Sequence`` objects all become batches the generated
functions read, ``steps`` per epoch.

Array data is validated whole before the first step, so bad data leaves the model untouched.
Each item of a generator or Sequence is one batch: ``(x, y)`` or ``(x, y, sample_weight)`` for
fit/evaluate, x alone or one of those tuples for predict, validated like array data as it comes.
Items come through an enqueuer (``workers`` threads, or processes with ``use_multiprocessing``)
or, with ``workers=0``, straight from the main thread — see ``symkeras.utils.data_utils``.

Steps per epoch: ``steps_per_epoch`` (``steps``), else one pass over the arrays or ``len()`` of
the Sequence. A plain generator has no length and may never end, so fit needs its steps (Keras
2); evaluate and predict then run until it ends (tf-keras). The epochs of a generator continue
one iterator, as do those of arrays with ``steps_per_epoch`` (tf-keras), so a short epoch
leaves the rest of the data to the next.
"""

import contextlib
import itertools
import warnings

import numpy as np

from symkeras.engine import data_adapter, data_checks
from symkeras.utils import data_utils


class Feed(list):
    """One batch as a generated function reads it (model inputs, then fed targets and sample
    weights), and its number of samples."""

    def __init__(self, arrays, size):
        super().__init__(arrays)
        self.size = size


# ------------------------------------------------------------------------ arrays
class ArrayBatches:
    """Batches of validated arrays: each epoch a pass in a new order (``shuffle``) cut at
    ``steps`` batches, or with ``carry_over`` exactly ``steps`` batches, continuing the pass
    where the last epoch stopped and starting a new one when it ends."""

    def __init__(self, feed, batch_size, steps=None, shuffle=False, carry_over=False):
        self.feed, self.batch_size, self.shuffle = feed, batch_size, shuffle
        self.samples = feed.size
        self.carry_over = carry_over and steps is not None
        passes = -(-feed.size // batch_size)
        self.steps = steps if self.carry_over else min(passes, steps or passes)
        self.params = {"batch_size": batch_size, "samples": feed.size}
        self._order, self._cursor = np.arange(feed.size), feed.size

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def epoch(self):
        n, size = self.samples, self.batch_size
        if not self.carry_over:
            self._cursor = n
        for _ in range(self.steps):
            if self._cursor >= n:
                self._order, self._cursor = batch_order(self._order, size, self.shuffle), 0
            start = self._cursor
            stop = self._cursor = min(n, start + size)
            if self.shuffle:
                yield Feed([np.take(a, self._order[start:stop], axis=0) for a in self.feed], stop - start)
            else:
                yield Feed([a[start:stop] for a in self.feed], stop - start)


def batch_order(index, batch_size, shuffle):
    """The sample order of the next pass over the data, from the previous pass's ``index``.

    ``True`` → a fresh permutation (global NumPy RNG, as ``np.random.seed`` users expect);
    ``'batch'`` → whole batches of ``index`` permuted, the partial batch kept last (Keras 2);
    ``False`` → ``index`` unchanged.
    """
    n = len(index)
    if shuffle == "batch":
        full = (n // batch_size) * batch_size
        blocks = index[:full].reshape(-1, batch_size)
        np.random.shuffle(blocks)
        return np.concatenate([blocks.reshape(-1), index[full:]])
    if shuffle:
        return np.random.permutation(n)
    return index


def _batch_size(batch_size, n, steps):
    """tf-keras: ``batch_size`` if given, else ``ceil(n / steps)`` when steps are, else 32 (both
    already checked by data_checks)."""
    if batch_size is None:
        return max(1, -(-n // int(steps))) if steps else 32
    return int(batch_size)


def _split(arrays, validation_split):
    """tf-keras: the last fraction of the samples, taken before any shuffling."""
    n = next(a.shape[0] for group in arrays for a in group if a is not None)
    split_at = int(n * (1.0 - validation_split))
    if split_at == 0 or split_at == n:
        raise ValueError(f"Training data contains {n} samples, which is not sufficient to split it into a "
                         f"validation and training set as specified by `validation_split={validation_split}`. "
                         "Either provide more data, or a different value for the `validation_split` argument.")
    train = [[None if a is None else a[:split_at] for a in group] for group in arrays]
    val = [[None if a is None else a[split_at:] for a in group] for group in arrays]
    return train, val


def _feed(xs, ys, ws):
    return Feed(xs + ys + ws, len(xs[0]) if xs else len(ys[0]))


# ------------------------------------------------------------------------ generators and Sequences
class GeneratorBatches:
    """The items of a generator or Sequence as batches, ``steps`` per epoch (None: until it ends).
    Used as a context manager: the enqueuer runs inside the block and is stopped (threads joined,
    processes terminated) when it exits, however it exits."""

    samples = None
    params = {}

    def __init__(self, data, to_feed, steps, shuffle=False, workers=1, use_multiprocessing=False,
                 max_queue_size=10):
        if use_multiprocessing and workers > 1 and not data_utils.is_sequence(data):
            warnings.warn("Using a generator with `use_multiprocessing=True` and multiple workers may duplicate "
                          "your data. Please consider using the `keras.utils.Sequence` class.", UserWarning,
                          stacklevel=5)          # the fit / evaluate / predict call
        self.data, self.to_feed, self.steps = data, to_feed, steps
        self._source = (shuffle, workers, use_multiprocessing, max_queue_size)
        self._stack = contextlib.ExitStack()

    def __enter__(self):
        self._items = self._stack.enter_context(_items(self.data, *self._source))
        return self

    def __exit__(self, *exc):
        return self._stack.__exit__(*exc)

    def epoch(self):
        for i, item in enumerate(itertools.islice(self._items, self.steps)):
            yield self.to_feed(item, i)


@contextlib.contextmanager
def _items(data, shuffle, workers, use_multiprocessing, max_queue_size):
    if not workers:
        yield data_utils.iter_sequence(data, shuffle) if data_utils.is_sequence(data) else iter(data)
        return
    if data_utils.is_sequence(data):
        enqueuer = data_utils.OrderedEnqueuer(data, use_multiprocessing=use_multiprocessing, shuffle=shuffle)
    else:
        enqueuer = data_utils.GeneratorEnqueuer(data, use_multiprocessing=use_multiprocessing)
    enqueuer.start(workers=workers, max_queue_size=max_queue_size)
    try:
        yield enqueuer.get()
    finally:
        enqueuer.stop()


def _describe(item):
    text = repr(item)
    return text if len(text) < 200 else text[:200] + "..."


def _training_item(model, class_weight, method):
    """item, batch number → Feed, for an item of fit or evaluate data."""

    def to_feed(item, batch):
        if not isinstance(item, (tuple, list)) or len(item) not in (2, 3):
            raise ValueError(f"{method}: output of generator should be a tuple `(x, y, sample_weight)` or "
                             f"`(x, y)`. Found: {_describe(item)}")
        try:
            xs, ys, ws = model._training_arrays(item[0], item[1], item[2] if len(item) == 3 else None, method)
            return _feed(xs, ys, model._class_weighted(class_weight, ys, ws))
        except data_checks.NonFiniteDataError as exc:
            raise data_checks.NonFiniteDataError(f"{exc} (in batch {batch} of this pass over the generator or "
                                                 "Sequence)") from None

    return to_feed


def _predict_item(model, method):
    """item, batch number → Feed of the model inputs, for an item of predict data."""

    def to_feed(item, batch):
        if isinstance(item, tuple):
            if len(item) not in (1, 2, 3):
                raise ValueError(f"{method}: output of generator should be a tuple `(x, y, sample_weight)`, "
                                 f"`(x, y)` or x. Found: {_describe(item)}")
            item = item[0]
        xs = model._input_arrays(item, method)
        return Feed(xs, len(xs[0]))

    return to_feed


def _steps(data, steps, argument=None):
    """``steps``, else ``len(data)`` of a Sequence, else None. Given the ``argument`` name, a plain
    generator without steps is an error (Keras 2: it may never end)."""
    if steps is not None:
        return int(steps)
    if data_utils.is_sequence(data):
        return len(data)
    if argument is not None:
        raise ValueError(f"`{argument}=None` is only valid for a generator based on the `symkeras.utils.Sequence` "
                         f"class. Please specify `{argument}` or use the `symkeras.utils.Sequence` class.")
    return None


def _optional_int(value):
    return None if value is None else int(value)


def _reject_array_arguments(method, **arguments):
    """tf-keras: with a generator or Sequence, y, sample_weight, batch_size and
    validation_split come from the data and must not be given."""
    given = [name for name, value in arguments.items() if value is not None and value is not False and
             not (name == "validation_split" and value == 0.0)]
    if given:
        raise ValueError(f"{method}: `{given[0]}` is not supported when `x` is a generator or a Sequence: each "
                         f"batch of the data gives x, y and sample weights")


# ------------------------------------------------------------------------ one call's data
def for_fit(model, method, x, y, sample_weight, batch_size=None, steps_per_epoch=None, shuffle=True,
            class_weight=None, validation_split=0.0, validation_data=None, validation_steps=None,
            validation_batch_size=None, **source):
    """(training batches, validation batches or None) of a fit call. ``source``: the enqueuer's
    ``workers``, ``use_multiprocessing`` and ``max_queue_size``."""
    validate = validation_data is not None and not (isinstance(validation_data, (list, tuple))
                                                    and len(validation_data) == 0)
    if data_adapter.is_generator_like(x):
        _reject_array_arguments(method, y=y, sample_weight=sample_weight, batch_size=batch_size,
                                validation_split=validation_split)
        train = GeneratorBatches(x, _training_item(model, class_weight, method),
                                 _steps(x, steps_per_epoch, "steps_per_epoch"), shuffle, **source)
        if not validate:
            return train, None
        if data_adapter.is_generator_like(validation_data):
            return train, GeneratorBatches(validation_data, _training_item(model, None, method),
                                           _steps(validation_data, validation_steps, "validation_steps"),
                                           **source)
        val = _validation_arrays(model, validation_data, method)
        return train, ArrayBatches(_feed(*val), int(validation_batch_size or 32), _optional_int(validation_steps))
    if data_adapter.is_generator_like(validation_data):
        raise TypeError(f"{method}: `validation_data` is a generator or Sequence while `x` is array data; pass "
                        "validation arrays (x_val, y_val[, sample_weight]), or give `x` as a generator too")
    xs, ys, ws = model._training_arrays(x, y, sample_weight, method)
    val = None
    if validate:
        val = _validation_arrays(model, validation_data, method)
    elif validation_split:
        (xs, ys, ws), val = _split([xs, ys, ws], validation_split)
    train = _feed(xs, ys, model._class_weighted(class_weight, ys, ws))      # training data only (tf-keras)
    steps = _optional_int(steps_per_epoch)
    batch_size = _batch_size(batch_size, train.size, steps)
    train = ArrayBatches(train, batch_size, steps, shuffle, carry_over=True)
    if val is None:
        return train, None
    return train, ArrayBatches(_feed(*val), _batch_size(validation_batch_size or batch_size, 1, None),
                               _optional_int(validation_steps))


def _validation_arrays(model, data, method):
    if not isinstance(data, (list, tuple)) or len(data) not in (2, 3):
        size = len(data) if hasattr(data, "__len__") else "an unknown number of"
        raise ValueError("When passing `validation_data`, it must contain 2 (x_val, y_val) or 3 "
                         f"(x_val, y_val, val_sample_weights) items, however it contains {size} items")
    try:
        return model._training_arrays(data[0], data[1], data[2] if len(data) == 3 else None, method)
    except (ValueError, TypeError) as exc:
        raise type(exc)(f"In `validation_data`: {exc}") from None


def for_evaluate(model, method, x, y=None, sample_weight=None, batch_size=None, steps=None, **source):
    if data_adapter.is_generator_like(x):
        _reject_array_arguments(method, y=y, sample_weight=sample_weight, batch_size=batch_size)
        return GeneratorBatches(x, _training_item(model, None, method), _steps(x, steps), **source)
    return _pass(_feed(*model._training_arrays(x, y, sample_weight, method)), batch_size, steps)


def for_predict(model, method, x, batch_size=None, steps=None, **source):
    if data_adapter.is_generator_like(x):
        _reject_array_arguments(method, batch_size=batch_size)
        return GeneratorBatches(x, _predict_item(model, method), _steps(x, steps), **source)
    if x is None:
        raise ValueError(f"{method}: `x` is required (input arrays for the model's inputs)")
    xs = model._input_arrays(x, method)
    return _pass(Feed(xs, xs[0].shape[0]), batch_size, steps)


def _pass(feed, batch_size, steps):
    """One pass over ``feed`` in order, cut at ``steps`` batches (evaluate, predict)."""
    steps = _optional_int(steps)
    return ArrayBatches(feed, _batch_size(batch_size, feed.size, steps), steps)

"""Sequence preprocessing (``keras.preprocessing.sequence`` of Keras 2): padding lists of
sequences into one array, word2vec skip-gram pairs, and batches of windows over a time series.

Everything here is plain NumPy and Python; it runs before data reaches a compiled model."""

import json
import random

import numpy as np

from symkeras.utils.data_utils import Sequence

__all__ = ["pad_sequences", "make_sampling_table", "skipgrams", "TimeseriesGenerator",
           "timeseries_generator_from_json"]

_SIDES = ("pre", "post")


def _lengths_and_sample_shape(sequences):
    """The length of every sequence, and the shape of one step taken from the first non-empty
    sequence (the others are checked against it while they are copied)."""
    lengths, sample_shape = [], None
    for item in sequences:
        if not hasattr(item, "__len__"):
            raise ValueError("`sequences` must be a list of iterables. Found non-iterable: " + str(item))
        lengths.append(len(item))
        if sample_shape is None and len(item):
            sample_shape = np.asarray(item).shape[1:]
    return lengths, (sample_shape if sample_shape is not None else ())


def _is_text_dtype(dtype):
    try:
        return np.issubdtype(dtype, np.str_)
    except TypeError:
        return False


def pad_sequences(sequences, maxlen=None, dtype='int32', padding='pre', truncating='pre', value=0.):
    """Pads sequences to the same length: ``num_samples`` sequences become one array of shape
    ``(num_samples, maxlen) + step_shape``.

    # Arguments
        sequences: list of sequences (lists or arrays; a step may itself be an array).
        maxlen: int, the length of every output row; default: the longest sequence.
        dtype: dtype of the output (``object`` or a string dtype for strings).
        padding: 'pre' or 'post': pad before or after each sequence.
        truncating: 'pre' or 'post': drop steps of longer sequences from the start or the end.
        value: the padding value (float or string).

    # Returns
        NumPy array of shape ``(len(sequences), maxlen) + step_shape``.

    # Raises
        ValueError: for an unknown `padding` or `truncating`, a sequence that is not iterable, or a
            step whose shape differs from the first non-empty sequence's.
    """
    if not hasattr(sequences, "__len__"):
        raise ValueError("`sequences` must be iterable.")
    if padding not in _SIDES:
        raise ValueError('Padding type "%s" not understood' % (padding,))
    if truncating not in _SIDES:
        raise ValueError('Truncating type "%s" not understood' % (truncating,))
    lengths, sample_shape = _lengths_and_sample_shape(sequences)
    if maxlen is None:
        if not lengths:
            raise ValueError("pad_sequences: `maxlen` is needed when `sequences` is empty")
        maxlen = max(lengths)
    elif isinstance(maxlen, bool) or not isinstance(maxlen, (int, np.integer)) or maxlen < 0:
        raise ValueError(f"pad_sequences: `maxlen` must be a non-negative integer or None, got {maxlen!r}")
    maxlen = int(maxlen)
    if isinstance(value, str) and dtype != object and not _is_text_dtype(dtype):
        raise ValueError("`dtype` {} is not compatible with `value`'s type: {}\n"
                         "You should set `dtype=object` for variable length strings."
                         .format(dtype, type(value)))

    out = np.full((len(sequences), maxlen) + sample_shape, value, dtype=dtype)
    if maxlen == 0:
        return out
    for idx, seq in enumerate(sequences):
        if not len(seq):
            continue
        kept = seq[-maxlen:] if truncating == "pre" else seq[:maxlen]
        kept = np.asarray(kept, dtype=dtype)
        if kept.shape[1:] != sample_shape:
            raise ValueError('Shape of sample %s of sequence at position %s is different from expected '
                             'shape %s' % (kept.shape[1:], idx, sample_shape))
        if padding == "post":
            out[idx, :len(kept)] = kept
        else:
            out[idx, -len(kept):] = kept
    return out


def make_sampling_table(size, sampling_factor=1e-5):
    """A word-rank-based sampling table for `skipgrams`: entry ``i`` is the probability of keeping
    the ``i``-th most common word, word2vec's ``min(1, sqrt(sampling_factor / frequency))``.

    Frequencies follow Zipf's law, approximated as
    ``1 / frequency(rank) ~ rank * (log(rank) + gamma) + 1/2 - 1/(12 * rank)``
    with ``gamma = 0.577`` (Euler-Mascheroni, rounded as Keras rounds it); rank 0 is counted as
    rank 1.

    # Arguments
        size: int, number of possible words.
        sampling_factor: the sampling factor of the word2vec formula.

    # Returns
        1D float array of length `size`.
    """
    if isinstance(size, bool) or not isinstance(size, (int, np.integer)) or size < 0:
        raise ValueError(f"make_sampling_table: `size` must be a non-negative integer, got {size!r}")
    gamma = 0.577
    rank = np.arange(size)
    if size:
        rank[0] = 1
    inverse_frequency = rank * (np.log(rank) + gamma) + 0.5 - 1. / (12. * rank)
    scaled = sampling_factor * inverse_frequency
    return np.minimum(1., scaled / np.sqrt(scaled))


def skipgrams(sequence, vocabulary_size, window_size=4, negative_samples=1., shuffle=True,
              categorical=False, sampling_table=None, seed=None):
    """Skip-gram word pairs of a sequence of word indices: ``(word, word within window_size of
    it)`` labelled 1, and ``(word, random word of the vocabulary)`` labelled 0.

    Index 0 is a non-word and is skipped. Randomness (sampling, negatives, the shuffle seed when
    `seed` is None) comes from Python's `random` module, as in Keras, so ``random.seed(n)`` before
    the call reproduces Keras's pairs; `seed` seeds the shuffle (and so reseeds `random`).

    # Arguments
        sequence: list of word indices (ints); with a `sampling_table`, indices are word ranks.
        vocabulary_size: int, largest word index + 1.
        window_size: int, half-width of the window: the window of word ``i`` is
            ``[i - window_size, i + window_size]``.
        negative_samples: float >= 0, negatives per positive pair (0: none).
        shuffle: whether to shuffle the pairs (pairs and labels stay aligned).
        categorical: labels as ``[0, 1]`` (positive) / ``[1, 0]`` (negative) instead of 1 / 0.
        sampling_table: 1D array of size `vocabulary_size`, probability of keeping word ``i``.
        seed: seed of the shuffle.

    # Returns
        ``couples, labels``: list of ``[word, context]`` pairs and the list of their labels.
    """
    if isinstance(vocabulary_size, bool) or not isinstance(vocabulary_size, (int, np.integer)):
        raise TypeError(f"skipgrams: `vocabulary_size` must be an integer, got {vocabulary_size!r}")
    if negative_samples < 0:
        raise ValueError(f"skipgrams: `negative_samples` must be >= 0, got {negative_samples!r}")
    if negative_samples > 0 and vocabulary_size < 2:
        raise ValueError("skipgrams: `vocabulary_size` must be >= 2 to draw negative samples, "
                         f"got {vocabulary_size!r}")
    couples, labels = [], []
    positive, negative = ([0, 1], [1, 0]) if categorical else (1, 0)
    for i, word in enumerate(sequence):
        if not word:
            continue
        if sampling_table is not None and sampling_table[word] < random.random():
            continue
        for j in range(max(0, i - window_size), min(len(sequence), i + window_size + 1)):
            if j != i and sequence[j]:
                couples.append([word, sequence[j]])
                labels.append(positive)

    if negative_samples > 0:
        count = int(len(labels) * negative_samples)
        words = [pair[0] for pair in couples]
        random.shuffle(words)
        couples += [[words[i % len(words)], random.randint(1, vocabulary_size - 1)] for i in range(count)]
        labels += [negative] * count

    if shuffle:
        if seed is None:
            seed = random.randint(0, int(10e6))
        # the same seed shuffles both lists alike, keeping each label with its pair
        random.seed(seed)
        random.shuffle(couples)
        random.seed(seed)
        random.shuffle(labels)
    return couples, labels


def _positive_int(name, value):
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value <= 0:
        raise ValueError(f"TimeseriesGenerator: `{name}` must be a positive integer, got {value!r}")
    return int(value)


def _json_list(name, values):
    """`values` as JSON text (arrays through ``tolist``)."""
    if isinstance(values, np.ndarray):
        values = values.tolist()
    try:
        return json.dumps(values)
    except TypeError:
        raise TypeError(f"TimeseriesGenerator: `{name}` is not JSON serializable") from None


class TimeseriesGenerator(Sequence):
    """Batches of windows over a series of equally spaced data points.

    Sample ``k`` of the series ends at row ``r`` (exclusive) and is
    ``data[r - length:r:sampling_rate]``; its target is ``targets[r]``. Rows go from
    ``start_index + length`` to `end_index` (inclusive) every `stride` steps.

    # Arguments
        data: indexable of consecutive data points (list or array), time on axis 0.
        targets: targets of the points of `data`, same length as `data`.
        length: history length of each window, in time steps (before sampling).
        sampling_rate: period between two steps kept in a window.
        stride: period between the ends of two consecutive windows.
        start_index, end_index: points before `start_index` or after `end_index` are not used
            as window ends (to hold out part of the series).
        shuffle: draw window ends at random (``np.random``, with replacement) instead of in order.
        reverse: steps of each window in reverse chronological order.
        batch_size: windows per batch (the last batch may be smaller).

    # Returns
        A `Sequence` of ``(samples, targets)`` batches: ``samples`` of shape
        ``(batch, length // sampling_rate, ...)`` (rounded up), ``targets`` of shape ``(batch, ...)``.
    """

    def __init__(self, data, targets, length, sampling_rate=1, stride=1, start_index=0, end_index=None,
                 shuffle=False, reverse=False, batch_size=128):
        if len(data) != len(targets):
            raise ValueError('Data and targets have to be of same length. Data length is {} while target '
                             'length is {}'.format(len(data), len(targets)))
        self.data = data
        self.targets = targets
        self.length = _positive_int("length", length)
        self.sampling_rate = _positive_int("sampling_rate", sampling_rate)
        self.stride = _positive_int("stride", stride)
        self.batch_size = _positive_int("batch_size", batch_size)
        if isinstance(start_index, bool) or not isinstance(start_index, (int, np.integer)) or start_index < 0:
            raise ValueError(f"TimeseriesGenerator: `start_index` must be a non-negative integer, got {start_index!r}")
        # Keras keeps the first window end, not the start index the caller gave
        self.start_index = int(start_index) + self.length
        self.end_index = len(data) - 1 if end_index is None else int(end_index)
        self.shuffle = bool(shuffle)
        self.reverse = bool(reverse)
        if self.start_index > self.end_index:
            raise ValueError('`start_index+length=%i > end_index=%i` is disallowed, as no part of the sequence '
                             'would be left to be used as current step.' % (self.start_index, self.end_index))

    def __len__(self):
        span = self.batch_size * self.stride
        return (self.end_index - self.start_index + span) // span

    def _rows(self, index):
        if self.shuffle:
            return np.random.randint(self.start_index, self.end_index + 1, size=self.batch_size)
        first = self.start_index + self.batch_size * self.stride * index
        return np.arange(first, min(first + self.batch_size * self.stride, self.end_index + 1), self.stride)

    def __getitem__(self, index):
        rows = self._rows(index)
        samples = np.array([self.data[row - self.length:row:self.sampling_rate] for row in rows])
        targets = np.array([self.targets[row] for row in rows])
        if self.reverse:
            return samples[:, ::-1, ...], targets
        return samples, targets

    def get_config(self):
        """The arguments of this generator, `data` and `targets` as JSON text. `start_index` is the
        one the caller gave, so ``TimeseriesGenerator(**config)`` rebuilds the same windows."""
        return {
            "data": _json_list("data", self.data),
            "targets": _json_list("targets", self.targets),
            "length": self.length,
            "sampling_rate": self.sampling_rate,
            "stride": self.stride,
            "start_index": self.start_index - self.length,
            "end_index": self.end_index,
            "shuffle": self.shuffle,
            "reverse": self.reverse,
            "batch_size": self.batch_size,
        }

    def to_json(self, **kwargs):
        """``{"class_name": "TimeseriesGenerator", "config": get_config()}`` as JSON text;
        `kwargs` go to ``json.dumps``."""
        return json.dumps({"class_name": type(self).__name__, "config": self.get_config()}, **kwargs)


def timeseries_generator_from_json(json_string):
    """The `TimeseriesGenerator` that ``to_json`` described (data and targets as lists)."""
    config = dict(json.loads(json_string).get("config"))
    config["data"] = json.loads(config.pop("data"))
    config["targets"] = json.loads(config.pop("targets"))
    return TimeseriesGenerator(**config)

"""The word-index sequence handling IMDB and Reuters share (tf-keras's rules, in its order)."""

import json

import numpy as np


def check_kwargs(kwargs, num_words):
    """Keras 1's ``nb_words`` is ``num_words``; any other extra keyword is a TypeError."""
    if "nb_words" in kwargs:
        num_words = kwargs.pop("nb_words")
    if kwargs:
        raise TypeError(f"Unrecognized keyword arguments: {kwargs}.")
    return num_words


def shuffled(rng, *arrays):
    """The arrays in one random order drawn from ``rng`` (so labels stay with their sequences)."""
    indices = np.arange(len(arrays[0]))
    rng.shuffle(indices)
    return [array[indices] for array in arrays]


def offset(xs, start_char, index_from):
    """Each sequence as a list, its indices moved up by ``index_from``, led by ``start_char``."""
    if start_char is not None:
        return [[start_char] + [w + index_from for w in x] for x in xs]
    return [[w + index_from for w in x] for x in xs]


def remove_long_seq(maxlen, seq, label):
    """The sequences shorter than ``maxlen`` (strictly), with their labels."""
    kept = [(x, y) for x, y in zip(seq, label) if len(x) < maxlen]
    return [x for x, _ in kept], [y for _, y in kept]


def cap_vocabulary(xs, num_words, skip_top, oov_char):
    """Indices outside ``[skip_top, num_words)`` become ``oov_char``, or are dropped when it is None.

    ``num_words`` defaults to the largest index present (which is then itself out of range, as in Keras)."""
    if not num_words:
        num_words = max(max(x) for x in xs if len(x))
    if oov_char is not None:
        return [[w if skip_top <= w < num_words else oov_char for w in x] for x in xs]
    return [[w for w in x if skip_top <= w < num_words] for x in xs]


def object_array(sequences):
    """A 1-D object array of lists (one per sequence), whatever their lengths."""
    array = np.empty(len(sequences), dtype="object")
    array[:] = [list(x) for x in sequences]
    return array


def load_word_index(path):
    with open(path, encoding="utf-8") as f:
        return json.load(f)

"""IMDB movie reviews: 25,000 training and 25,000 test reviews as word-index sequences, labelled
positive (1) or negative (0). Word ``i`` is the i-th most frequent word of the corpus."""

import numpy as np

from symkeras.datasets import origins, sequences
from symkeras.datasets.safe_files import load_npz


def load_data(path="imdb.npz", num_words=None, skip_top=0, maxlen=None, seed=113, start_char=1, oov_char=2,
              index_from=3, **kwargs):
    """``(x_train, y_train), (x_test, y_test)``: object arrays of lists of word indices, int64 labels.

    Indices are shifted up by ``index_from`` and each sequence starts with ``start_char``; words
    outside ``[skip_top, num_words)`` become ``oov_char`` (or are dropped when it is None); with
    ``maxlen`` only the sequences shorter than it are kept. ``seed`` fixes the shuffling."""
    num_words = sequences.check_kwargs(kwargs, num_words)
    arrays = load_npz(origins.fetch(path, "imdb.npz"))
    rng = np.random.RandomState(seed)
    x_train, labels_train = sequences.shuffled(rng, arrays["x_train"], arrays["y_train"])
    x_test, labels_test = sequences.shuffled(rng, arrays["x_test"], arrays["y_test"])
    x_train = sequences.offset(x_train, start_char, index_from)
    x_test = sequences.offset(x_test, start_char, index_from)
    if maxlen:
        x_train, labels_train = sequences.remove_long_seq(maxlen, x_train, labels_train)
        x_test, labels_test = sequences.remove_long_seq(maxlen, x_test, labels_test)
        if not x_train or not x_test:
            raise ValueError(f"After filtering for sequences shorter than maxlen={maxlen}, no sequence was kept. "
                             "Increase maxlen.")
    labels = np.concatenate([np.asarray(labels_train), np.asarray(labels_test)])
    xs = sequences.cap_vocabulary(x_train + x_test, num_words, skip_top, oov_char)
    idx = len(x_train)
    return (sequences.object_array(xs[:idx]), labels[:idx]), (sequences.object_array(xs[idx:]), labels[idx:])


def get_word_index(path="imdb_word_index.json"):
    """The dict word → index (before the ``index_from`` shift) of the IMDB sequences."""
    return sequences.load_word_index(origins.fetch(path, "imdb_word_index.json"))

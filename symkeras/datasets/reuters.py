"""Reuters newswires: 11,228 newswires as word-index sequences, labelled with one of 46 topics."""

import numpy as np

from symkeras.datasets import origins, sequences
from symkeras.datasets.safe_files import load_npz


def load_data(path="reuters.npz", num_words=None, skip_top=0, maxlen=None, test_split=0.2, seed=113,
              start_char=1, oov_char=2, index_from=3, **kwargs):
    """``(x_train, y_train), (x_test, y_test)``: object arrays of lists of word indices and int64
    topic labels; the last ``test_split`` of the shuffled newswires are the test set. The other
    arguments are those of ``imdb.load_data``."""
    num_words = sequences.check_kwargs(kwargs, num_words)
    if isinstance(test_split, bool) or not isinstance(test_split, (int, float)) or not 0 <= test_split < 1:
        raise ValueError(f"`test_split` must be a number in [0, 1). Received: test_split={test_split!r}")
    arrays = load_npz(origins.fetch(path, "reuters.npz"))
    xs, labels = sequences.shuffled(np.random.RandomState(seed), arrays["x"], arrays["y"])
    xs = sequences.offset(xs, start_char, index_from)
    if maxlen:
        xs, labels = sequences.remove_long_seq(maxlen, xs, labels)
    xs = sequences.cap_vocabulary(xs, num_words, skip_top, oov_char)
    idx = int(len(xs) * (1 - test_split))
    labels = np.asarray(labels)
    return ((sequences.object_array(xs[:idx]), np.array(labels[:idx])),
            (sequences.object_array(xs[idx:]), np.array(labels[idx:])))


def get_word_index(path="reuters_word_index.json"):
    """The dict word → index (before the ``index_from`` shift) of the Reuters sequences."""
    return sequences.load_word_index(origins.fetch(path, "reuters_word_index.json"))

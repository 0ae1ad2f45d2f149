"""Boston housing prices: 506 areas, 13 features each, and the median home value (in $1000s)."""

import numpy as np

from symkeras.datasets import origins
from symkeras.datasets.safe_files import load_npz


def load_data(path="boston_housing.npz", test_split=0.2, seed=113):
    """``(x_train, y_train), (x_test, y_test)``: float64 features ``(n, 13)`` and targets ``(n,)``;
    the last ``test_split`` of the areas, shuffled with ``seed``, are the test set."""
    if isinstance(test_split, bool) or not isinstance(test_split, (int, float)) or not 0 <= test_split < 1:
        raise ValueError(f"`test_split` must be a number in [0, 1). Received: test_split={test_split!r}")
    arrays = load_npz(origins.fetch(path, "boston_housing.npz"))
    indices = np.arange(len(arrays["x"]))
    np.random.RandomState(seed).shuffle(indices)
    x, y = arrays["x"][indices], arrays["y"][indices]
    split = int(len(x) * (1 - test_split))
    return (np.array(x[:split]), np.array(y[:split])), (np.array(x[split:]), np.array(y[split:]))

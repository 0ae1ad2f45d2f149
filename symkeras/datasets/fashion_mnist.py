"""Fashion-MNIST: 60,000 training and 10,000 test images of clothing, 28x28 grayscale, 10 classes."""

import gzip
import os

import numpy as np

from symkeras.datasets import origins

FILES = ["train-labels-idx1-ubyte.gz", "train-images-idx3-ubyte.gz",
         "t10k-labels-idx1-ubyte.gz", "t10k-images-idx3-ubyte.gz"]


def _read_idx(path, offset):
    """The bytes of a gzipped IDX file after its header (8 bytes for labels, 16 for images)."""
    with gzip.open(path, "rb") as f:
        return np.frombuffer(f.read(), np.uint8, offset=offset).copy()


def load_data():
    """``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 28, 28)``, uint8 labels ``(n,)``,
    cached in ``~/.keras/datasets/fashion-mnist``."""
    dirname = os.path.join("datasets", "fashion-mnist")
    paths = [origins.fetch(fname, fname, cache_subdir=dirname) for fname in FILES]
    y_train = _read_idx(paths[0], 8)
    x_train = _read_idx(paths[1], 16).reshape(len(y_train), 28, 28)
    y_test = _read_idx(paths[2], 8)
    x_test = _read_idx(paths[3], 16).reshape(len(y_test), 28, 28)
    return (x_train, y_train), (x_test, y_test)

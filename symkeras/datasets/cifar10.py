"""CIFAR-10: 50,000 training and 10,000 test colour images, 32x32, 10 classes."""

import os

import numpy as np

from symkeras.datasets import origins
from symkeras.datasets.cifar import load_batch, to_image_data_format


def load_data():
    """``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 32, 32, 3)`` (channels_last; ``(n, 3,
    32, 32)`` with channels_first), uint8 labels 0-9 ``(n, 1)``."""
    dirname = "cifar-10-batches-py"
    path = origins.fetch(dirname, "cifar-10-python.tar.gz", base=origins.CIFAR, untar=True)
    batches = [load_batch(os.path.join(path, f"data_batch_{i}")) for i in range(1, 6)]
    x_train = np.concatenate([data for data, _ in batches]).astype("uint8")
    y_train = np.concatenate([np.asarray(labels) for _, labels in batches]).astype("uint8")
    x_test, y_test = load_batch(os.path.join(path, "test_batch"))
    y_train = np.reshape(y_train, (len(y_train), 1))
    y_test = np.reshape(np.asarray(y_test), (len(y_test), 1)).astype(y_train.dtype)
    x_train, x_test = to_image_data_format(x_train), to_image_data_format(x_test.astype(x_train.dtype))
    return (x_train, y_train), (x_test, y_test)

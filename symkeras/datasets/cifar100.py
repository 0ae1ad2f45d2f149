"""CIFAR-100: 50,000 training and 10,000 test colour images, 32x32, 100 fine classes in 20 coarse ones."""

import os

import numpy as np

from symkeras.datasets import origins
from symkeras.datasets.cifar import load_batch, to_image_data_format


def load_data(label_mode="fine"):
    """``(x_train, y_train), (x_test, y_test)``: uint8 images ``(n, 32, 32, 3)`` (channels_last),
    int64 labels ``(n, 1)``: 0-99 with ``label_mode='fine'``, 0-19 with ``'coarse'``."""
    if label_mode not in ("fine", "coarse"):
        raise ValueError('`label_mode` must be one of `"fine"`, `"coarse"`. '
                         f"Received: label_mode={label_mode!r}.")
    dirname = "cifar-100-python"
    path = origins.fetch(dirname, "cifar-100-python.tar.gz", base=origins.CIFAR, untar=True)
    x_train, y_train = load_batch(os.path.join(path, "train"), label_key=label_mode + "_labels")
    x_test, y_test = load_batch(os.path.join(path, "test"), label_key=label_mode + "_labels")
    y_train = np.reshape(y_train, (len(y_train), 1))
    y_test = np.reshape(y_test, (len(y_test), 1))
    return (to_image_data_format(x_train), y_train), (to_image_data_format(x_test), y_test)

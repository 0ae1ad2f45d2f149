"""The CIFAR batch format shared by CIFAR-10 and CIFAR-100: a pickled dict of images and labels."""

import numpy as np

from symkeras.datasets.safe_files import load_pickle


def load_batch(fpath, label_key="labels"):
    """``(data, labels)`` of one batch file: uint8 images ``(n, 3, 32, 32)`` and the list of labels
    under ``label_key`` ('labels' for CIFAR-10, 'fine_labels' or 'coarse_labels' for CIFAR-100)."""
    batch = load_pickle(fpath, encoding="bytes")
    batch = {key.decode("utf8") if isinstance(key, bytes) else key: value for key, value in batch.items()}
    data = np.asarray(batch["data"])
    labels = batch[label_key]
    return data.reshape(data.shape[0], 3, 32, 32), labels


def to_image_data_format(x):
    """Channels-last ``(n, 32, 32, 3)`` unless the backend's image data format is channels_first."""
    # The backend (and SymPy with it) loads only when a CIFAR set is read, not with keras.datasets.
    from symkeras import backend
    return x.transpose(0, 2, 3, 1) if backend.image_data_format() == "channels_last" else x

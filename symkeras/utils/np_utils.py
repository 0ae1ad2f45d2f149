"""NumPy helpers of Keras 2 (``keras.utils.np_utils``): one-hot labels and normalisation."""

import numpy as np


def to_categorical(y, num_classes=None, dtype="float32"):
    """One-hot encode integer class labels: ``y`` of shape ``S`` gives ``S + (num_classes,)``,
    except that a trailing axis of 1 (labels as a column, ``(n, 1)``) is replaced.

    ``num_classes`` defaults to ``max(y) + 1``. Float labels are truncated to integers, as
    Keras does; a label outside ``[0, num_classes)`` is a ValueError."""
    y = np.array(y, dtype="int")
    input_shape = y.shape
    if input_shape and input_shape[-1] == 1 and len(input_shape) > 1:
        input_shape = tuple(input_shape[:-1])
    y = y.ravel()
    if num_classes is not None and (isinstance(num_classes, bool)
                                    or not isinstance(num_classes, (int, np.integer))):
        raise TypeError(f"`num_classes` must be an integer. Received: num_classes={num_classes!r}")
    if not num_classes:
        if y.size == 0:
            raise ValueError("to_categorical: `y` is empty; give `num_classes`")
        num_classes = int(np.max(y)) + 1
    num_classes = int(num_classes)
    if num_classes < 0:
        raise ValueError(f"`num_classes` must be positive. Received: num_classes={num_classes}")
    if y.size and (y.min() < 0 or y.max() >= num_classes):
        bad = int(y.min()) if y.min() < 0 else int(y.max())
        raise ValueError(f"to_categorical: `y` holds the label {bad}, outside [0, num_classes={num_classes})")
    n = y.shape[0]
    categorical = np.zeros((n, num_classes), dtype=dtype)
    categorical[np.arange(n), y] = 1
    return np.reshape(categorical, input_shape + (num_classes,))


def normalize(x, axis=-1, order=2):
    """``x`` divided by its ``order``-norm along ``axis``; a zero norm leaves the values as they are."""
    norm = np.atleast_1d(np.linalg.norm(x, order, axis))
    norm[norm == 0] = 1
    return x / np.expand_dims(norm, axis)

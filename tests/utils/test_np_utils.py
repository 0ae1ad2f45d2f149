"""to_categorical and normalize with Keras's shapes, dtypes and values."""

import numpy as np
import pytest

from symkeras.utils import normalize, to_categorical
from symkeras.utils import np_utils


def test_to_categorical_values_and_default_dtype():
    out = to_categorical([0, 2, 1])
    assert out.dtype == np.float32 and out.shape == (3, 3)
    assert out.tolist() == [[1, 0, 0], [0, 0, 1], [0, 1, 0]]
    assert to_categorical([1, 0], num_classes=4).tolist() == [[0, 1, 0, 0], [1, 0, 0, 0]]
    assert to_categorical([1], dtype="int64").dtype == np.int64
    assert to_categorical(np.array([1.9, 0.2])).tolist() == [[0, 1], [1, 0]]      # truncated as int


def test_to_categorical_shapes_squeeze_a_trailing_one():
    assert to_categorical([[1], [0]]).shape == (2, 2)
    assert to_categorical(np.zeros((2, 3, 1)), 4).shape == (2, 3, 4)
    assert to_categorical(np.zeros((2, 3)), 4).shape == (2, 3, 4)
    assert to_categorical(np.zeros((1,)), 4).shape == (1, 4)          # a 1-D (1,) keeps its axis
    assert to_categorical(2, 3).tolist() == [0, 0, 1]                 # a scalar gives a vector
    assert to_categorical([[1, 2], [0, 1]], 3)[0, 1].tolist() == [0, 0, 1]


def test_to_categorical_bad_arguments():
    with pytest.raises(ValueError, match="num_classes=2"):
        to_categorical([0, 2], num_classes=2)
    with pytest.raises(ValueError, match="-1"):
        to_categorical([0, -1])
    with pytest.raises(TypeError, match="num_classes"):
        to_categorical([0, 1], num_classes=2.5)


def test_normalize():
    x = np.array([[3.0, 4.0], [0.0, 0.0]])
    np.testing.assert_allclose(normalize(x), [[0.6, 0.8], [0.0, 0.0]])
    np.testing.assert_allclose(normalize([[1, 2], [3, 4]], axis=0, order=1), [[0.25, 1 / 3], [0.75, 2 / 3]])
    # Keras's quirk, kept: a vector comes back as a row, (1, n).
    np.testing.assert_allclose(normalize(np.array([2.0, 0.0, 0.0])), [[1.0, 0.0, 0.0]])
    assert np_utils.normalize is normalize and np_utils.to_categorical is to_categorical

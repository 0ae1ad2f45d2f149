"""Every loader against small files in the real formats, served on loopback: shapes, dtypes,
values, shuffling with the seed, and the arguments' rules, with expected values worked by hand."""

import gzip
import hashlib
import io
import json
import os
import pickle
import struct
import tarfile

import numpy as np
import pytest

from symkeras.datasets import boston_housing, cifar10, cifar100, fashion_mnist, imdb, mnist, origins, reuters


def _npz(**arrays):
    buffer = io.BytesIO()
    np.savez(buffer, **arrays)
    return buffer.getvalue()


def _tar_gz(files):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return buffer.getvalue()


def _objects(lists):
    array = np.empty(len(lists), dtype=object)
    array[:] = lists
    return array


# ----------------------------------------------------------------------------- MNIST, Fashion-MNIST

def test_mnist(origin):
    images = np.arange(5 * 28 * 28, dtype=np.uint32).reshape(5, 28, 28).astype(np.uint8)
    origin.publish("mnist.npz", _npz(x_train=images[:3], y_train=np.array([5, 0, 4], np.uint8),
                                     x_test=images[3:], y_test=np.array([7, 2], np.uint8)))
    (x_train, y_train), (x_test, y_test) = mnist.load_data()
    assert x_train.shape == (3, 28, 28) and x_test.shape == (2, 28, 28)
    assert x_train.dtype == y_train.dtype == np.uint8
    assert y_train.tolist() == [5, 0, 4] and y_test.tolist() == [7, 2]
    assert x_test[1, 0, 5] == (4 * 784 + 5) % 256
    assert os.path.isfile(origin.home / "datasets" / "mnist.npz")
    mnist.load_data()                                  # cached: no second request
    assert origin.requests == ["/mnist.npz"]


def _idx(magic, dims, data):
    return gzip.compress(struct.pack(">" + "i" * (1 + len(dims)), magic, *dims) + bytes(data))


def test_fashion_mnist_reads_gzipped_idx_files(origin):
    train = np.arange(3 * 784).reshape(3, 28, 28) % 251
    test = (np.arange(2 * 784).reshape(2, 28, 28) * 3) % 256
    origin.publish("train-labels-idx1-ubyte.gz", _idx(2049, [3], [9, 0, 3]))
    origin.publish("train-images-idx3-ubyte.gz", _idx(2051, [3, 28, 28], train.ravel().tolist()))
    origin.publish("t10k-labels-idx1-ubyte.gz", _idx(2049, [2], [1, 8]))
    origin.publish("t10k-images-idx3-ubyte.gz", _idx(2051, [2, 28, 28], test.ravel().tolist()))
    (x_train, y_train), (x_test, y_test) = fashion_mnist.load_data()
    assert x_train.shape == (3, 28, 28) and x_train.dtype == np.uint8
    assert y_train.tolist() == [9, 0, 3] and y_test.tolist() == [1, 8] and y_test.dtype == np.uint8
    np.testing.assert_array_equal(x_train, train)
    np.testing.assert_array_equal(x_test, test)
    assert x_train[2, 27, 27] == (3 * 784 - 1) % 251
    assert os.path.isfile(origin.home / "datasets" / "fashion-mnist" / "t10k-images-idx3-ubyte.gz")


# ----------------------------------------------------------------------------- CIFAR

def _cifar_batch(rows, labels, label_key=b"labels", extra=None):
    data = (np.arange(rows * 3072).reshape(rows, 3072) + 7 * labels[0]) % 256
    batch = {b"batch_label": b"a batch", label_key: labels, b"data": data.astype(np.uint8), **(extra or {})}
    return pickle.dumps(batch, protocol=2), data


def test_cifar10_is_channels_last_uint8_with_labels_as_a_column(origin):
    files, rows = {}, []
    for i in range(1, 6):
        files[f"cifar-10-batches-py/data_batch_{i}"], data = _cifar_batch(2, [i, i + 1])
        rows.append(data)
    files["cifar-10-batches-py/test_batch"], test_data = _cifar_batch(1, [9])
    origin.publish("cifar-10-python.tar.gz", _tar_gz(files))
    (x_train, y_train), (x_test, y_test) = cifar10.load_data()
    assert x_train.shape == (10, 32, 32, 3) and x_test.shape == (1, 32, 32, 3)
    assert x_train.dtype == x_test.dtype == y_train.dtype == y_test.dtype == np.uint8
    assert y_train.shape == (10, 1) and y_train.ravel().tolist() == [1, 2, 2, 3, 3, 4, 4, 5, 5, 6]
    assert y_test.tolist() == [[9]]
    # Pixel (row 1, column 2) of channel 1 (green) is byte 1024 + 32 + 2 of the image's row.
    assert x_train[2, 1, 2, 1] == rows[1][0, 1024 + 32 + 2]
    assert x_test[0, 31, 31, 2] == test_data[0, 3071]
    assert os.path.isdir(origin.home / "datasets" / "cifar-10-batches-py")
    assert not [p for p in os.listdir(origin.home / "datasets") if p.startswith(".")]


def test_cifar100_label_modes(origin):
    train, _ = _cifar_batch(3, [11, 42, 99], label_key=b"fine_labels", extra={b"coarse_labels": [1, 19, 0]})
    test, _ = _cifar_batch(2, [5, 6], label_key=b"fine_labels", extra={b"coarse_labels": [3, 4]})
    origin.publish("cifar-100-python.tar.gz", _tar_gz({"cifar-100-python/train": train,
                                                       "cifar-100-python/test": test}))
    (x_train, y_train), (x_test, y_test) = cifar100.load_data()
    assert x_train.shape == (3, 32, 32, 3) and x_train.dtype == np.uint8 and x_test.shape == (2, 32, 32, 3)
    assert y_train.tolist() == [[11], [42], [99]] and y_train.dtype == np.int64 and y_test.tolist() == [[5], [6]]
    (_, y_train), (_, y_test) = cifar100.load_data(label_mode="coarse")
    assert y_train.tolist() == [[1], [19], [0]] and y_test.tolist() == [[3], [4]]
    assert origin.requests == ["/cifar-100-python.tar.gz"]         # downloaded and extracted once
    with pytest.raises(ValueError, match="label_mode"):
        cifar100.load_data(label_mode="medium")


def test_a_batch_that_names_other_python_objects_is_refused(origin):
    evil = pickle.dumps({b"data": os.system, b"labels": []}, protocol=2)
    origin.publish("cifar-100-python.tar.gz", _tar_gz({"cifar-100-python/train": evil,
                                                       "cifar-100-python/test": evil}))
    with pytest.raises(pickle.UnpicklingError, match="refusing to load posix.system"):
        cifar100.load_data()


# ----------------------------------------------------------------------------- IMDB

def _publish_imdb(origin):
    origin.publish("imdb.npz", _npz(x_train=_objects([[1, 2], [3, 4, 5], [6]]), y_train=np.array([0, 1, 1]),
                                    x_test=_objects([[7, 8, 9, 10], [2]]), y_test=np.array([1, 0])))


def test_imdb_defaults(origin):
    _publish_imdb(origin)
    (x_train, y_train), (x_test, y_test) = imdb.load_data()
    # seed 113 orders train as [2, 0, 1] and test as [1, 0]; words move up by 3 after the start
    # mark 1; the largest index (13) is not below num_words (13 by default) and becomes 2.
    assert x_train.dtype == object and x_train.shape == (3,)
    assert x_train.tolist() == [[1, 9], [1, 4, 5], [1, 6, 7, 8]]
    assert x_test.tolist() == [[1, 5], [1, 10, 11, 12, 2]]
    assert y_train.tolist() == [1, 0, 1] and y_test.tolist() == [0, 1] and y_train.dtype == np.int64


def test_imdb_arguments(origin):
    _publish_imdb(origin)
    (x_train, _), (x_test, _) = imdb.load_data(num_words=8, oov_char=None)
    assert x_train.tolist() == [[1], [1, 4, 5], [1, 6, 7]] and x_test.tolist() == [[1, 5], [1]]
    (x_train, y_train), (x_test, y_test) = imdb.load_data(maxlen=3)
    assert x_train.tolist() == [[1, 2]] and y_train.tolist() == [1]
    assert x_test.tolist() == [[1, 5]] and y_test.tolist() == [0]
    (x_train, _), (x_test, _) = imdb.load_data(start_char=None, index_from=0)
    assert x_train.tolist() == [[6], [1, 2], [3, 4, 5]] and x_test.tolist() == [[2], [7, 8, 9, 2]]
    (x_train, y_train), _ = imdb.load_data(seed=7)
    assert y_train.tolist() == [1, 1, 0] and x_train.tolist() == [[1, 9], [1, 6, 7, 8], [1, 4, 5]]
    (x_train, _), _ = imdb.load_data(nb_words=5)
    assert x_train.tolist() == [[1, 2], [1, 4, 2], [1, 2, 2, 2]]
    with pytest.raises(ValueError, match="maxlen=2"):
        imdb.load_data(maxlen=2)
    with pytest.raises(TypeError, match="Unrecognized keyword arguments"):
        imdb.load_data(num_word=5)


def test_word_indices_are_checked_by_md5(origin):
    index = json.dumps({"the": 1, "and": 2}).encode()
    origin.publish("imdb_word_index.json", index)
    origins.FILE_HASHES["imdb_word_index.json"] = hashlib.md5(index).hexdigest()
    assert imdb.get_word_index() == {"the": 1, "and": 2}
    origin.publish("reuters_word_index.json", index)
    origins.FILE_HASHES["reuters_word_index.json"] = "0" * 32
    with pytest.raises(ValueError, match="md5 file hash does not match"):
        reuters.get_word_index()
    assert not os.path.exists(origin.home / "datasets" / "reuters_word_index.json")


# ----------------------------------------------------------------------------- Reuters, Boston

def test_reuters(origin):
    origin.publish("reuters.npz", _npz(x=_objects([[1], [2, 3], [4, 5, 6], [7], [8, 9]]),
                                       y=np.array([0, 1, 2, 3, 4])))
    (x_train, y_train), (x_test, y_test) = reuters.load_data()
    # seed 113 orders the five as [1, 0, 3, 2, 4]; 80% of 5 is 4 for training.
    assert x_train.tolist() == [[1, 5, 6], [1, 4], [1, 10], [1, 7, 8, 9]] and x_test.tolist() == [[1, 11, 2]]
    assert y_train.tolist() == [1, 0, 3, 2] and y_test.tolist() == [4] and y_train.dtype == np.int64
    (x_train, y_train), (x_test, _) = reuters.load_data(test_split=0.5, maxlen=3)
    assert x_train.tolist() == [[1, 4]] and y_train.tolist() == [0] and x_test.tolist() == [[1, 2]]
    with pytest.raises(ValueError, match="test_split"):
        reuters.load_data(test_split=1.5)


def test_boston_housing(origin):
    origin.publish("boston_housing.npz", _npz(x=np.arange(130.0).reshape(10, 13), y=np.arange(10) * 1.5))
    (x_train, y_train), (x_test, y_test) = boston_housing.load_data()
    # seed 113 orders the ten as [9, 3, 6, 1, 0, 7, 4, 8, 2, 5].
    assert x_train.shape == (8, 13) and x_test.shape == (2, 13) and x_train.dtype == np.float64
    assert y_train.tolist() == [13.5, 4.5, 9.0, 1.5, 0.0, 10.5, 6.0, 12.0] and y_test.tolist() == [3.0, 7.5]
    assert x_test[:, 0].tolist() == [26.0, 65.0]
    (x_train, _), (x_test, _) = boston_housing.load_data(test_split=0)
    assert len(x_train) == 10 and len(x_test) == 0
    with pytest.raises(ValueError, match="test_split"):
        boston_housing.load_data(test_split=-0.1)

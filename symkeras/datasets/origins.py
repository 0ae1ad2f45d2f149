"""Where the dataset files come from, and the hash each must have.

Loaders read these at call time, so a mirror (or a test server) is one assignment away:
``origins.TF_KERAS_DATASETS = "https://mirror.example/keras/"``.
"""

from symkeras.utils.data_utils import get_file

TF_KERAS_DATASETS = "https://storage.googleapis.com/tensorflow/tf-keras-datasets/"
CIFAR = "https://www.cs.toronto.edu/~kriz/"

# sha256 (64 digits) or md5 (32) of each remote file, as tf-keras checks them; None: not checked.
FILE_HASHES = {
    "mnist.npz": "731c5ac602752760c8e48fbffcf8c3b850d9dc2a2aedcf2cc48468fc17b673d1",
    "cifar-10-python.tar.gz": "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
    "cifar-100-python.tar.gz": "85cd44d02ba6437773c5bbd22e183051d648de2e7d6b014e1ef29b855ba677a7",
    "imdb.npz": "69664113be75683a8fe16e3ed0ab59fda8886cb3cd7ada244f7d9544e4676b9f",
    "imdb_word_index.json": "bfafd718b763782e994055a2d397834f",
    "reuters.npz": "d6586e694ee56d7a4e65172e12b3e987c03096cb01eab99753921ef915959916",
    "reuters_word_index.json": "4d44cc38712099c9e383dc6e5f11a921",
    "boston_housing.npz": "f553886a1f8d56431e820c5b82552d9d95cfcb96d1e678153f8839538947dff5",
}


def fetch(fname, remote_name, base=None, **kwargs):
    """``get_file`` of ``remote_name`` from the tf-keras datasets folder (or ``base``), cached as ``fname``."""
    folder = TF_KERAS_DATASETS if base is None else base
    return get_file(fname, origin=folder + remote_name, file_hash=FILE_HASHES.get(remote_name), **kwargs)

"""Reading dataset files as data: ``.npz`` archives and pickled CIFAR batches.

``np.load(allow_pickle=True)`` and ``pickle.load`` would run whatever a downloaded file names.
Here an unpickler rebuilds only NumPy arrays and dtypes (plus the lists, dicts, strings and
numbers pickle makes by itself) and raises ``pickle.UnpicklingError`` for anything else.
"""

import codecs
import pickle
import zipfile

import numpy as np
from numpy.lib import format as npy_format

# The globals a pickled array names; numpy 1 wrote numpy.core, numpy 2 writes numpy._core.
_RECONSTRUCT = np.ndarray.__reduce__(np.zeros(0))[0]
_SCALAR = np.float64(0).__reduce__()[0]
_ALLOWED = {}
for _core in ("numpy.core.multiarray", "numpy._core.multiarray"):
    _ALLOWED[(_core, "_reconstruct")] = _RECONSTRUCT
    _ALLOWED[(_core, "scalar")] = _SCALAR
_ALLOWED[("numpy", "ndarray")] = np.ndarray
_ALLOWED[("numpy", "dtype")] = np.dtype
_ALLOWED[("_codecs", "encode")] = codecs.encode      # how Python 3 pickles bytes at protocol 2


class ArrayUnpickler(pickle.Unpickler):
    """An unpickler that builds arrays, never other objects."""

    def find_class(self, module, name):
        try:
            return _ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}: a dataset file holds only arrays, "
                                         "lists and numbers") from None


def load_pickle(path, encoding="bytes"):
    """The object pickled in ``path`` (CIFAR batches are Python 2 pickles: ``encoding='bytes'``)."""
    with open(path, "rb") as f:
        return ArrayUnpickler(f, encoding=encoding).load()


def _read_npy(f):
    version = npy_format.read_magic(f)
    if version == (1, 0):
        shape, fortran_order, dtype = npy_format.read_array_header_1_0(f)
    elif version == (2, 0):
        shape, fortran_order, dtype = npy_format.read_array_header_2_0(f)
    else:
        raise ValueError(f"unsupported .npy format version {version}")
    if dtype.hasobject:
        return np.asarray(ArrayUnpickler(f, encoding="latin1").load())
    count = int(np.prod(shape, dtype=np.int64))
    data = f.read(count * dtype.itemsize)
    if len(data) != count * dtype.itemsize:
        raise ValueError(f"truncated array: expected {count} values of {dtype}")
    array = np.frombuffer(data, dtype=dtype, count=count)
    return array.reshape(shape, order="F" if fortran_order else "C").copy()


def load_npz(path):
    """Every array of a ``.npz`` archive, by name; object arrays (lists of word indices) included."""
    arrays = {}
    with zipfile.ZipFile(path) as archive:
        for name in archive.namelist():
            if name.endswith(".npy"):
                with archive.open(name) as f:
                    arrays[name[:-len(".npy")]] = _read_npy(f)
    return arrays

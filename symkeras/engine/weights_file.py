"""The layout of weight and model files: one NumPy ``.npz`` archive (a zip of ``.npy`` arrays).

Format 2, written now. Every member name is a fixed ASCII name, so no weight name can be cut
short (zip names end at a NUL) or collide with another:

- ``__format__``: the number 2;
- ``__weight_names__``: the weight names as a JSON list in ASCII bytes, so that any Python
  string (NUL, newlines, quotes, any unicode) comes back exactly;
- ``__weight__/0`` … ``__weight__/{n-1}``: the values, in ``model.weights`` order;
- ``__model_config__`` (whole models): ``model.to_json()`` as UTF-8 bytes;
- ``__optimizer__/0`` … (whole models): ``optimizer.get_weights()``.

Format 1, still read: one member per weight named by the weight (in order), and the same
``__model_config__`` (a string array) and ``__optimizer__/i`` members.
"""

import collections
import json
import os
import zipfile

import numpy as np

from symkeras.utils.atomic_files import write_atomically

FORMAT = 2
FORMAT_KEY = "__format__"
NAMES_KEY = "__weight_names__"
WEIGHT_PREFIX = "__weight__/"
CONFIG_KEY = "__model_config__"
OPTIMIZER_PREFIX = "__optimizer__/"

EXPECTED = "expected a NumPy .npz archive written by symkeras's save_weights or save"
_ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_OTHER_FORMATS = {b"\x93NUMPY": "a single NumPy array (.npy)"}   # (HDF5 files are read by hdf5_format)

SavedFile = collections.namedtuple("SavedFile", "names values config")


def write(filepath, names, values, config=None, optimizer_values=(), overwrite=True):
    """Writes ``values`` under ``names`` (and a model config and optimizer state) atomically."""
    members = {FORMAT_KEY: np.array(FORMAT), NAMES_KEY: _ascii_bytes(json.dumps(list(names)))}
    members.update((f"{WEIGHT_PREFIX}{i}", value) for i, value in enumerate(values))
    if config is not None:
        members[CONFIG_KEY] = np.frombuffer(config.encode("utf-8", "surrogatepass"), dtype=np.uint8)
    members.update((f"{OPTIMIZER_PREFIX}{i}", value) for i, value in enumerate(optimizer_values))
    write_atomically(filepath, lambda f: np.savez(f, **members), overwrite)


def read(filepath, caller):
    """The :class:`SavedFile` in ``filepath``; ValueError naming the file if it is not one."""
    filepath = os.fspath(filepath)
    with open(filepath, "rb") as f:          # a missing file: FileNotFoundError naming it
        head = f.read(8)
    if not head.startswith(_ZIP_MAGIC):
        what = next((text for magic, text in _OTHER_FORMATS.items() if head.startswith(magic)),
                    "not a symkeras model or weights file")
        raise ValueError(f"{caller}: {filepath} is {what}; {EXPECTED}.")
    try:
        with np.load(filepath, allow_pickle=False) as data:
            members = {name: data[name] for name in data.files}
    except (zipfile.BadZipFile, ValueError, EOFError, OSError) as error:
        raise ValueError(f"{caller}: {filepath} cannot be read ({error}); {EXPECTED}.") from None
    if FORMAT_KEY in members:
        names, values = _weights_v2(members, filepath, caller)
    else:
        names = [k for k in members if k != CONFIG_KEY and not k.startswith(OPTIMIZER_PREFIX)]
        values = [members[k] for k in names]
    config = members.get(CONFIG_KEY)
    if config is not None:
        try:
            config = _text(config)
        except (ValueError, UnicodeDecodeError) as error:
            raise ValueError(f"{caller}: {filepath} has an unreadable model config ({error}).") from None
    return SavedFile(names, values, config)


def _weights_v2(members, filepath, caller):
    version = members[FORMAT_KEY]
    if version.shape != () or version.dtype.kind not in "iu" or int(version) != FORMAT:
        raise ValueError(f"{caller}: {filepath} is in format {version!r}; this symkeras reads formats 1 and 2.")
    try:
        names = json.loads(_text(members[NAMES_KEY]))
    except (KeyError, ValueError, UnicodeDecodeError):
        names = None
    if not isinstance(names, list) or not all(isinstance(name, str) for name in names):
        raise ValueError(f"{caller}: {filepath} has no readable list of weight names; {EXPECTED}.")
    stored = sum(k.startswith(WEIGHT_PREFIX) for k in members)
    values = []
    for i, name in enumerate(names):
        if f"{WEIGHT_PREFIX}{i}" not in members:
            raise ValueError(f"{caller}: {filepath} is incomplete: it names {len(names)} weights but holds "
                             f"{stored}; weight {i} ({name!r}) is missing.")
        values.append(members[f"{WEIGHT_PREFIX}{i}"])
    if stored != len(names):
        raise ValueError(f"{caller}: {filepath} holds {stored} weight arrays for {len(names)} weight names.")
    return names, values


def _ascii_bytes(text):
    return np.frombuffer(text.encode("ascii"), dtype=np.uint8)


def _text(array):
    """A text member: bytes (format 2) or a string array (format 1)."""
    if array.dtype == np.uint8 and array.ndim == 1:
        return array.tobytes().decode("utf-8", "surrogatepass")
    if array.dtype.kind == "U" and array.shape == ():
        return str(array)
    raise ValueError(f"expected text, found an array of dtype {array.dtype} and shape {array.shape}")

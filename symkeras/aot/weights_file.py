"""``NAME.weights.bin``: the variables of an exported C model, checked when loaded.

Layout (integers in the writer's byte order, which the byte-order mark tells):

    offset  size  field
         0     8  magic "SKWEIGHT"
         8     4  format version (1)
        12     4  byte-order mark 0x01020304
        16     4  layout CRC: CRC-32 of the variables' names, dtypes and shapes (a file of another
                  model is refused even when its sizes agree)
        20     4  payload CRC: CRC-32 (IEEE, as zlib) of the payload
        24     8  number of variables
        32     8  payload bytes
        40   8*n  bytes of each variable
     40+8n        payload: the variables' values one after another, C order

The generated C reads and writes the same layout (NAME_init, NAME_save_weights); this module is the
Python side, for the exporter and for reading back weights a C program trained.
"""

import struct
import zlib

import numpy as np

MAGIC = b"SKWEIGHT"
VERSION = 1
BYTE_ORDER_MARK = 0x01020304
_HEADER = struct.Struct("<8sIIIIQQ")
HEADER_BYTES = _HEADER.size


def layout_crc(storages):
    """The CRC-32 of what the variables are (names, dtypes, shapes), in order."""
    text = ";".join(f"{s.name}:{np.asarray(s.value).dtype}:{tuple(np.shape(s.value))}" for s in storages)
    return zlib.crc32(text.encode("utf-8", "surrogatepass"))


def encode(storages):
    """The file's bytes for the variables' current values (little-endian)."""
    arrays = [np.ascontiguousarray(np.asarray(s.value)) for s in storages]
    arrays = [a.astype(a.dtype.newbyteorder("<"), copy=False) for a in arrays]
    payload = b"".join(a.tobytes() for a in arrays)
    header = _HEADER.pack(MAGIC, VERSION, BYTE_ORDER_MARK, layout_crc(storages), zlib.crc32(payload),
                          len(arrays), len(payload))
    table = struct.pack(f"<{len(arrays)}Q", *(a.nbytes for a in arrays))
    return header + table + payload


def decode(data, storages):
    """The arrays stored in ``data`` (the bytes of a weights file) for ``storages``' layout, or a
    ValueError saying what is wrong with it."""
    if len(data) < HEADER_BYTES:
        raise ValueError(f"weights file: {len(data)} bytes, shorter than its {HEADER_BYTES}-byte header")
    magic, version, mark, layout, checksum, count, payload_bytes = _HEADER.unpack_from(data)
    if magic != MAGIC or version != VERSION or mark != BYTE_ORDER_MARK:
        raise ValueError("weights file: not a version 1 little-endian symkeras weights file")
    if count != len(storages) or layout != layout_crc(storages):
        raise ValueError("weights file: its variables are not this model's")
    start = HEADER_BYTES + 8 * count
    if len(data) < start:
        raise ValueError(f"weights file: {len(data)} bytes, shorter than its header and table")
    sizes = struct.unpack_from(f"<{count}Q", data, HEADER_BYTES)
    if len(data) != start + payload_bytes or sum(sizes) != payload_bytes:
        raise ValueError(f"weights file: {len(data)} bytes, expected {start + payload_bytes}")
    payload = data[start:]
    if zlib.crc32(payload) != checksum:
        raise ValueError("weights file: the checksum does not match its contents")
    arrays, offset = [], 0
    for storage, nbytes in zip(storages, sizes):
        value = np.asarray(storage.value)
        if nbytes != value.nbytes:
            raise ValueError(f"weights file: variable {storage.name!r} has {nbytes} bytes, expected {value.nbytes}")
        dtype = value.dtype.newbyteorder("<")
        arrays.append(np.frombuffer(payload, dtype, value.size, offset).reshape(value.shape).astype(value.dtype))
        offset += nbytes
    return arrays

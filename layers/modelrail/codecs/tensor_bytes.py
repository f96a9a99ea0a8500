"""One tensor's raw bytes in the Open Inference Protocol binary extension, both ways.

Little-endian, row-major; BOOL is one byte; each BYTES element is a 4-byte little-endian length followed by
its bytes. Shared by the JSON header parser (``v2_json``, inputs with ``binary_data_size``) and the binary
codec (``v2_binary``), so neither imports the other's internals.
"""

from __future__ import annotations

import struct

import numpy as np

from modelrail.datatypes import NUMPY_BY_DATATYPE
from modelrail.errors import InvalidInputError

_LENGTH = struct.Struct("<I")


def encode_tensor(array: np.ndarray, datatype: str) -> bytes:
    """Raw bytes of one tensor."""
    if datatype == "BYTES":
        chunks = []
        for item in array.reshape(-1):
            data = item if isinstance(item, bytes) else str(item).encode()
            chunks += [_LENGTH.pack(len(data)), data]
        return b"".join(chunks)
    dtype = NUMPY_BY_DATATYPE[datatype].newbyteorder("<")
    return np.ascontiguousarray(array, dtype=dtype).tobytes()


def decode_tensor(data: bytes, datatype: str, count: int, *, where: str) -> np.ndarray:
    """A flat array of ``count`` elements from raw bytes."""
    if datatype == "BYTES":
        return _decode_bytes(data, count, where=where)
    dtype = NUMPY_BY_DATATYPE[datatype].newbyteorder("<")
    if len(data) != count * dtype.itemsize:
        raise InvalidInputError(
            f"{where}: {count} {datatype} values need {count * dtype.itemsize} bytes, binary_data_size is {len(data)}"
        )
    array = np.frombuffer(data, dtype=dtype).astype(NUMPY_BY_DATATYPE[datatype])
    if datatype == "BOOL" and data and max(data) > 1:
        raise InvalidInputError(f"{where}: BOOL bytes must be 0 or 1")
    if array.dtype.kind == "f" and array.size and not np.isfinite(array).all():
        raise InvalidInputError(f"{where}: values must be finite numbers")
    return array


def _decode_bytes(data: bytes, count: int, *, where: str) -> np.ndarray:
    items: list[str] = []
    offset = 0
    while offset < len(data):
        if offset + 4 > len(data):
            raise InvalidInputError(f"{where}: BYTES data ends inside an element's length prefix")
        (size,) = _LENGTH.unpack_from(data, offset)
        offset += 4
        if offset + size > len(data):
            raise InvalidInputError(f"{where}: a BYTES element of {size} bytes runs past the end of its data")
        try:
            items.append(data[offset : offset + size].decode())
        except UnicodeDecodeError:
            raise InvalidInputError(f"{where}: BYTES elements must be UTF-8 text") from None
        offset += size
    if len(items) != count:
        raise InvalidInputError(f"{where}: the shape needs {count} BYTES elements, got {len(items)}")
    array = np.empty(len(items), dtype=np.object_)
    array[:] = items
    return array

"""Open Inference Protocol binary tensor data extension (what tritonclient speaks).

Body = JSON header + raw tensor bytes; ``Inference-Header-Content-Length`` gives the header's length.
Tensors are little-endian, row-major; BOOL is one byte; each BYTES element is a 4-byte little-endian
length followed by its bytes.
"""

from __future__ import annotations

import struct
from collections.abc import Mapping

import numpy as np

from modelrail.codecs.base import (
    BINARY_HEADER,
    BINARY_MEDIA_TYPE,
    Encoded,
    InferRequest,
    InferResponse,
    dump_json,
    parse_json,
)
from modelrail.codecs.v2_json import parse_infer_header, response_header
from modelrail.datatypes import NUMPY_BY_DATATYPE
from modelrail.errors import InvalidInputError

_LENGTH = struct.Struct("<I")


class V2BinaryCodec:
    """JSON header plus binary tensor data, in both directions."""

    name = "v2-binary"

    def decode(self, body: bytes, headers: Mapping[str, str]) -> InferRequest:
        """Split the body at the header length and read binary inputs from the rest."""
        raw = headers.get(BINARY_HEADER, "")
        try:
            length = int(raw)
        except ValueError:
            raise InvalidInputError(f"header Inference-Header-Content-Length must be an integer, got {raw!r}") from None
        if not 0 < length <= len(body):
            raise InvalidInputError(
                f"header Inference-Header-Content-Length is {length} but the body has {len(body)} bytes"
            )
        document = parse_json(body[:length], what="the JSON header of the binary request")
        return parse_infer_header(document, binary=body[length:])

    def encode(self, response: InferResponse) -> Encoded:
        """Outputs in ``binary_outputs`` as raw bytes after the JSON header; the rest as JSON data."""
        parts = [encode_tensor(t.data, t.datatype) for t in response.outputs if t.name in response.binary_outputs]
        sizes = {
            tensor.name: len(part)
            for tensor, part in zip(
                [t for t in response.outputs if t.name in response.binary_outputs], parts, strict=True
            )
        }
        header = dump_json(response_header(response, binary_sizes=sizes))
        return Encoded(
            header + b"".join(parts),
            BINARY_MEDIA_TYPE,
            {"Inference-Header-Content-Length": str(len(header))},
        )


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

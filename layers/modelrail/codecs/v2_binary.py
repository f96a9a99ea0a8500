"""Open Inference Protocol binary tensor data extension (what tritonclient speaks).

Body = JSON header + raw tensor bytes; ``Inference-Header-Content-Length`` gives the header's length.
Tensors are little-endian, row-major; BOOL is one byte; each BYTES element is a 4-byte little-endian
length followed by its bytes.
"""

from __future__ import annotations

from collections.abc import Mapping

from modelrail.codecs.base import (
    BINARY_HEADER,
    BINARY_MEDIA_TYPE,
    Encoded,
    InferRequest,
    InferResponse,
    dump_json,
    parse_json,
)
from modelrail.codecs.tensor_bytes import encode_tensor
from modelrail.codecs.v2_json import parse_infer_header, response_header
from modelrail.errors import InvalidInputError


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

"""Request bodies sent with a ``Content-Encoding``: gzip is decoded, anything else is refused (415).

This is what API Gateway REST APIs do before any integration runs: a supported coding is decompressed, and
"if the specified coding isn't supported or the supplied payload isn't compressed with specified coding, API
Gateway returns the 415 Unsupported Media Type error response"
(https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-make-request-with-compressed-payload.html).
The function does the same for whatever reaches it with the header still set (local mode, direct calls), so a
body is never read as plain when its sender said it was compressed, nor the other way round.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping

from modelrail.errors import PayloadTooLargeError, UnsupportedMediaTypeError

GZIP_MAGIC = b"\x1f\x8b"
IDENTITY = frozenset({"", "identity"})
GZIP = frozenset({"gzip", "x-gzip"})


def decode_body(body: bytes, headers: Mapping[str, str], *, max_bytes: int) -> bytes:
    """The body as its sender meant it: gzip inflated (at most ``max_bytes``), identity as is, else a 415."""
    coding = headers.get("content-encoding", "").strip().lower()
    if coding in IDENTITY:
        return body
    if coding not in GZIP:
        shown = coding[:40].encode("ascii", "backslashreplace").decode("ascii")
        raise UnsupportedMediaTypeError(
            f"Content-Encoding {shown!r} is not supported: send the body uncompressed or gzip-compressed"
        )
    if not body.startswith(GZIP_MAGIC):
        raise UnsupportedMediaTypeError("Content-Encoding says gzip but the body is not gzip data")
    inflater = zlib.decompressobj(wbits=31)
    try:
        data = inflater.decompress(body, max_bytes + 1)
    except zlib.error:
        raise UnsupportedMediaTypeError("Content-Encoding says gzip but the body is not valid gzip data") from None
    if len(data) > max_bytes:
        raise PayloadTooLargeError(f"the gzip body inflates to more than the limit of {max_bytes} bytes")
    if not inflater.eof or inflater.unused_data:
        raise UnsupportedMediaTypeError("the gzip body is truncated or has data after its end")
    return data

"""Which bodies API Gateway passes as binary, both ways: the one rule of the stack, local mode and the runtime.

The REST API's ``binaryMediaTypes`` is ``*/*`` ("``*/*`` includes all content types", API Gateway developer
guide, "Binary media types for REST APIs in API Gateway"), so every request body reaches a Lambda proxy
integration base64-encoded (``isBase64Encoded: true``) and byte-exact, whatever its Content-Type, and a
tritonclient binary request (JSON header + raw tensor bytes, sent with no Content-Type at all) is never
decoded as UTF-8 text on the way. A request without Content-Type counts as ``application/json`` ("None
(default to application/json)", "Method request behavior for payloads without mapping templates").

Answers go the other way only on the caller's say-so: "API Gateway uses the first ``Accept`` header from
clients to determine if a response should return binary media" ("Return binary media from a Lambda proxy
integration"); a base64 body the caller's Accept does not cover arrives as the base64 text itself. AWS
documents no default for a request *without* Accept, so a binary answer is only sent when the first Accept
media type matches: an absent Accept gets JSON, which any Open Inference Protocol client decodes (tritonclient
sends no Accept and reads JSON outputs as well as binary ones), where a binary answer turned into base64 text
could not be decoded at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

BINARY_MEDIA_TYPES: Final[tuple[str, ...]] = ("*/*",)
"""The REST API's ``binaryMediaTypes``."""
DEFAULT_CONTENT_TYPE: Final = "application/json"
"""What API Gateway takes a request without Content-Type to be."""


def media_type(value: str | None) -> str:
    """The bare, lower-case media type of a header value (parameters dropped), ``""`` for none."""
    return (value or "").split(",", 1)[0].split(";", 1)[0].strip().lower()


def matches(value: str | None, binary_media_types: Sequence[str] = BINARY_MEDIA_TYPES) -> bool:
    """Whether a media type is one of ``binary_media_types`` (``type/*`` and ``*/*`` wildcards allowed)."""
    media = media_type(value)
    if "/" not in media:
        return False
    kind = media.split("/", 1)[0]
    return any(pattern in ("*/*", media, f"{kind}/*") for pattern in (p.lower() for p in binary_media_types))


def request_is_binary(content_type: str | None, binary_media_types: Sequence[str] = BINARY_MEDIA_TYPES) -> bool:
    """Whether API Gateway hands a request body of this Content-Type to Lambda base64-encoded."""
    return matches(content_type or DEFAULT_CONTENT_TYPE, binary_media_types)


def response_is_binary(accept: str | None, binary_media_types: Sequence[str] = BINARY_MEDIA_TYPES) -> bool:
    """Whether API Gateway decodes a base64 (``isBase64Encoded``) answer to bytes for a caller with this Accept.

    Only the first media type of the first Accept header counts; a request without Accept gets no binary answer.
    """
    return bool(accept and accept.strip()) and matches(accept, binary_media_types)

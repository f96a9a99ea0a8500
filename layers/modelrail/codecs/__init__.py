"""Protocol codecs, one module per wire format; this module picks one from a request's headers."""

from __future__ import annotations

from collections.abc import Mapping

from modelrail.codecs.base import (
    BINARY_HEADER,
    Codec,
    Encoded,
    InferRequest,
    InferResponse,
    NamedTensor,
    PredictRequest,
    PredictResponse,
    RequestedOutput,
)
from modelrail.codecs.v1_task import V1TaskCodec
from modelrail.codecs.v2_binary import V2BinaryCodec
from modelrail.codecs.v2_json import V2JsonCodec
from modelrail.errors import UnsupportedMediaTypeError

__all__ = [
    "Codec",
    "Encoded",
    "InferRequest",
    "InferResponse",
    "NamedTensor",
    "PredictRequest",
    "PredictResponse",
    "RequestedOutput",
    "V1TaskCodec",
    "V2BinaryCodec",
    "V2JsonCodec",
    "infer_codec",
    "require_json",
    "response_codec",
]

V2_JSON = V2JsonCodec()
V2_BINARY = V2BinaryCodec()
V1_TASK = V1TaskCodec()


def _media_type(headers: Mapping[str, str]) -> str:
    return headers.get("content-type", "").split(";", 1)[0].strip().lower()


def require_json(headers: Mapping[str, str]) -> None:
    """No Content-Type, or a JSON one; anything else is a 415."""
    media_type = _media_type(headers)
    if media_type and media_type != "application/json" and not media_type.endswith("+json"):
        raise UnsupportedMediaTypeError(f"Content-Type {media_type} is not supported here; send application/json")


def infer_codec(headers: Mapping[str, str]) -> Codec[InferRequest, InferResponse]:
    """Binary extension when its header is present; else JSON (tritonclient sends no Content-Type)."""
    if BINARY_HEADER in headers:
        return V2_BINARY
    require_json(headers)
    return V2_JSON


def response_codec(response: InferResponse) -> Codec[InferRequest, InferResponse]:
    """The binary format as soon as one output is to be sent binary."""
    return V2_BINARY if response.binary_outputs else V2_JSON

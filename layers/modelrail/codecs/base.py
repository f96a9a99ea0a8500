"""The codec interface: request bytes in, typed request out; typed response in, bytes out.

One module per wire format (``v2_json``, ``v2_binary``, ``v1_task``); ``codecs/__init__.py`` picks one
from the request's headers.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

import numpy as np
import orjson

from modelrail.errors import InvalidInputError

RequestT_co = TypeVar("RequestT_co", covariant=True)
ResponseT_contra = TypeVar("ResponseT_contra", contravariant=True)

JSON_MEDIA_TYPE = "application/json"
BINARY_MEDIA_TYPE = "application/octet-stream"
BINARY_HEADER = "inference-header-content-length"
"""The binary tensor data extension's header: length of the JSON part at the start of the body."""


@dataclass(frozen=True)
class NamedTensor:
    """A named tensor with its OIP datatype (the array's dtype matches it)."""

    name: str
    datatype: str
    data: np.ndarray


@dataclass(frozen=True)
class RequestedOutput:
    """An output the caller asked for; ``binary`` is None when the caller did not say."""

    name: str
    binary: bool | None = None


@dataclass(frozen=True)
class InferRequest:
    """An Open Inference Protocol infer request, whatever its wire format."""

    inputs: list[NamedTensor]
    outputs: list[RequestedOutput] | None = None
    """None: every output."""
    id: str | None = None
    binary_output: bool = False
    """``parameters.binary_data_output``: the default for outputs that do not say."""


@dataclass(frozen=True)
class InferResponse:
    """An Open Inference Protocol infer response."""

    model_name: str
    model_version: str
    outputs: list[NamedTensor]
    id: str | None = None
    binary_outputs: frozenset[str] = field(default_factory=frozenset)
    """Outputs to send in the binary extension's format rather than as JSON data."""


@dataclass(frozen=True)
class PredictRequest:
    """A v1 task API request: the instances to predict, and (tensor models) the inputs the whole batch shares."""

    instances: list[Any]
    shared: dict[str, Any] = field(default_factory=dict)
    """``{"shared": {input: value}}``: a tensor model's inputs without a batch axis, given once per request."""


@dataclass(frozen=True)
class PredictResponse:
    """A v1 task API answer."""

    model: str
    version: str
    predictions: list[Any]


@dataclass(frozen=True)
class Encoded:
    """A response body with its media type and any extra headers."""

    body: bytes
    media_type: str
    headers: dict[str, str] = field(default_factory=dict)


class Codec(Protocol[RequestT_co, ResponseT_contra]):
    """A wire format: ``decode`` raises ``InvalidInputError`` naming what was wrong, never anything else."""

    name: str

    def decode(self, body: bytes, headers: Mapping[str, str]) -> RequestT_co:
        """Parse a request body."""
        ...

    def encode(self, response: ResponseT_contra) -> Encoded:
        """Serialise an answer."""
        ...


def parse_json(data: bytes | str, *, what: str = "request body") -> Any:
    """Strict JSON (no NaN/Infinity literals) whose every failure is a 400 naming the problem."""
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError as exc:
        if "utf-8" in exc.msg.lower() or "unicode" in exc.msg.lower():
            raise InvalidInputError(f"{what} is not UTF-8 text") from None
        where = f"line {exc.lineno} column {exc.colno}"
        raise InvalidInputError(f"{what} is not valid JSON: {exc.msg} at {where}") from None


def dump_json(value: Any) -> bytes:
    """Compact JSON bytes (orjson: a 384-float embedding encodes 20x faster than with the json module)."""
    return orjson.dumps(value)

"""The v1 task API: ``{"instances": [...], "shared": {...}}`` in, ``{"model", "version", "predictions"}`` out."""

from __future__ import annotations

from collections.abc import Mapping

from modelrail.codecs.base import JSON_MEDIA_TYPE, Encoded, PredictRequest, PredictResponse, dump_json, parse_json
from modelrail.errors import InvalidInputError

MAX_INSTANCES = 1024
"""More instances than this in one request is refused (400) rather than tying a function up."""


class V1TaskCodec:
    """JSON in both directions."""

    name = "v1-task"

    def decode(self, body: bytes, headers: Mapping[str, str]) -> PredictRequest:
        """``instances`` must be a non-empty list."""
        del headers
        document = parse_json(body)
        if not isinstance(document, dict) or "instances" not in document:
            tensors = isinstance(document, dict) and "inputs" in document
            hint = " (tensors go to POST /v2/models/<name>/infer)" if tensors else ""
            raise InvalidInputError(f'the body must be a JSON object {{"instances": [...]}}{hint}')
        instances = document["instances"]
        if not isinstance(instances, list) or not instances:
            raise InvalidInputError("`instances` must be a non-empty list")
        if len(instances) > MAX_INSTANCES:
            raise InvalidInputError(f"`instances` has {len(instances)} items; at most {MAX_INSTANCES} per request")
        shared = document.get("shared", {})
        if not isinstance(shared, dict):
            raise InvalidInputError("`shared` must be an object mapping input names to values")
        return PredictRequest(instances, shared)

    def encode(self, response: PredictResponse) -> Encoded:
        """The SPEC's answer shape."""
        body = {"model": response.model, "version": response.version, "predictions": response.predictions}
        return Encoded(dump_json(body), JSON_MEDIA_TYPE)

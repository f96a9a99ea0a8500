"""The SageMaker container contract over the same app: ``GET /ping`` and ``POST /invocations`` on port 8080.

SageMaker sends every call to ``/invocations``. API Gateway names the operation in
``X-Amzn-SageMaker-Custom-Attributes: route=<operation>[;version=<v>][;body=base64]`` (``routes.custom_attributes``);
without that header, the binary extension's header or a body with ``inputs`` means v2 infer and a body
with ``instances`` means v1 predict. Answers are the very bytes the Lambda function would send, except that
outputs asked for as binary come back as JSON data.

Binary tensor data: ``InvokeEndpoint`` forwards only ``ContentType``, ``Accept`` and ``CustomAttributes`` to the
container, so a binary request's ``Inference-Header-Content-Length`` never arrives; the container finds the
end of the JSON header itself (the first JSON value of the body; the raw tensor bytes follow it). The way back
has the same gap: ``InvokeEndpoint`` answers only ``Body``, ``ContentType``, ``CustomAttributes`` and
``InvokedProductionVariant`` (SageMaker API reference, ``InvokeEndpoint``), so a binary answer would reach the
caller without the header that says where its JSON part ends. Outputs are therefore always sent as JSON data
here, which every Open Inference Protocol client decodes. The version that answered goes back in the response's
custom attributes (the bare version, e.g. ``2``), which ``InvokeEndpoint`` forwards verbatim as ``CustomAttributes``
("the model must set the custom attribute to be included on the way back", SageMaker API reference,
``InvokeEndpoint``); the integration maps it to ``X-Modelrail-Model-Version``.
"""

from __future__ import annotations

import base64
import binascii
import json
from pathlib import Path

import orjson
from fastapi import FastAPI, Request, Response

from modelrail.api import BINARY_ANSWERS_SCOPE, ModelApi
from modelrail.app import create_app
from modelrail.codecs.base import BINARY_HEADER, JSON_MEDIA_TYPE, dump_json, parse_json
from modelrail.constants import (
    MANIFEST_JSON,
    MODEL_VERSION_HEADER,
    SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER,
    SAGEMAKER_MODEL_DIR,
)
from modelrail.errors import InvalidInputError, ModelrailError
from modelrail.loader import ModelLoader
from modelrail.responses import error_response
from modelrail.routes import BASE64_BODY, CUSTOM_ATTRIBUTE_ROUTE, Operation, body_encoding, parse_custom_attributes
from modelrail.settings import Settings, get_settings

PORT = 8080


def sagemaker_settings(settings: Settings, *, model_dir: Path = Path(SAGEMAKER_MODEL_DIR)) -> Settings:
    """Serve SageMaker's model data (``/opt/ml/model``) when it holds an artifact and no other source is set."""
    if settings.model_dir is None and settings.model_bucket is None and (model_dir / MANIFEST_JSON).is_file():
        return settings.model_copy(update={"model_dir": model_dir})
    return settings


async def _operation(request: Request) -> tuple[Operation, str | None]:
    header = request.headers.get(SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER)
    operation, version = parse_custom_attributes(header)
    if operation is not None:
        return operation, version
    if header and f"{CUSTOM_ATTRIBUTE_ROUTE}=" in header:
        known = ", ".join(op.value for op in Operation)
        raise InvalidInputError(f"{SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER} names an unknown route; use one of: {known}")
    if BINARY_HEADER in request.headers:
        return Operation.V2_INFER, version
    document = parse_json(await request.body())
    if isinstance(document, dict) and "inputs" in document:
        return Operation.V2_INFER, version
    if isinstance(document, dict) and "instances" in document:
        return Operation.V1_PREDICT, version
    raise InvalidInputError(
        f'without {SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER}: route=<operation>, the body must be {{"inputs": [...]}} '
        '(v2 infer) or {"instances": [...]} (v1 predict)'
    )


def json_header_length(body: bytes) -> int | None:
    """Bytes of the JSON value that starts ``body`` when more than whitespace follows it, else ``None``.

    Latin-1 maps each byte to one character, so the decoder's end index is a byte offset; a UTF-8 header parses
    to the same structure (multi-byte characters only occur inside strings). The caller then parses
    ``body[:length]`` strictly, as JSON text.
    """
    try:
        orjson.loads(body)
    except orjson.JSONDecodeError:
        pass
    else:
        return None  # the whole body is one JSON document (the common case, parsed at orjson's speed)
    text = body.decode("latin-1")
    start = len(text) - len(text.lstrip(" \t\r\n"))
    try:
        _, end = json.JSONDecoder().raw_decode(text, start)
    except ValueError:
        return None
    return end if text[end:].strip(" \t\r\n") else None


async def _as_received(request: Request, operation: Operation, version: str | None) -> Request:
    """The request as the caller sent it: base64 undone, the binary extension's header restored."""
    body = await request.body()
    headers = list(request.scope["headers"])
    if body_encoding(request.headers.get(SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER)) == BASE64_BODY:
        try:
            body = base64.b64decode(body, validate=True)
        except binascii.Error:
            raise InvalidInputError("body=base64 was declared but the body is not base64") from None
    if operation is Operation.V2_INFER and BINARY_HEADER not in request.headers:
        length = json_header_length(body)
        if length is not None:
            headers.append((BINARY_HEADER.encode("latin-1"), str(length).encode("latin-1")))
    scope = {
        **request.scope,
        "headers": headers,
        "path_params": {} if version is None else {"version": version},
        BINARY_ANSWERS_SCOPE: False,
    }
    sent = False

    async def receive() -> dict[str, object]:
        nonlocal sent
        if sent:
            return {"type": "http.disconnect"}
        sent = True
        return {"type": "http.request", "body": body, "more_body": False}

    return Request(scope, receive)


def create_sagemaker_app(
    settings: Settings | None = None,
    *,
    loader: ModelLoader | None = None,
    preload: bool | None = None,
    model_dir: Path = Path(SAGEMAKER_MODEL_DIR),
) -> FastAPI:
    """The serving app plus ``/ping`` and ``/invocations``."""
    app = create_app(
        sagemaker_settings(settings or get_settings(), model_dir=model_dir), loader=loader, preload=preload
    )
    api: ModelApi = app.state.api
    handlers = api.handlers()

    async def ping(request: Request) -> Response:
        """200 when the model is loaded or loads now; 503 with the reason otherwise."""
        try:
            await api.model(request)
        except ModelrailError as exc:
            return error_response(exc)
        return Response(status_code=200)

    async def invocations(request: Request) -> Response:
        """Every API operation, chosen by the custom-attributes header or the body's shape."""
        operation, version = await _operation(request)
        if operation is Operation.OPENAPI:
            return Response(dump_json(app.openapi()), media_type=JSON_MEDIA_TYPE)
        response = await handlers[operation](await _as_received(request, operation, version))
        answered = response.headers.get(MODEL_VERSION_HEADER)
        if answered is not None:
            # InvokeEndpoint returns only the body, its type, the variant and these custom attributes (forwarded
            # verbatim when the container sets them): the version that answered reaches the caller this way.
            response.headers[SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER] = answered
        return response

    app.add_api_route("/ping", ping, methods=["GET"], include_in_schema=False)
    app.add_api_route("/invocations", invocations, methods=["POST"], include_in_schema=False)
    return app

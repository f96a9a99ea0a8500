"""The SageMaker container contract over the same app: ``GET /ping`` and ``POST /invocations`` on port 8080.

SageMaker sends every call to ``/invocations``. API Gateway names the operation in
``X-Amzn-SageMaker-Custom-Attributes: route=<operation>[;version=<v>]`` (``routes.custom_attributes``);
without that header, the binary extension's header or a body with ``inputs`` means v2 infer and a body
with ``instances`` means v1 predict. Answers are the very bytes the Lambda function would send.
"""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request, Response

from modelrail.api import ModelApi
from modelrail.app import create_app
from modelrail.codecs.base import BINARY_HEADER, JSON_MEDIA_TYPE, dump_json, parse_json
from modelrail.constants import MANIFEST_JSON, SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER, SAGEMAKER_MODEL_DIR
from modelrail.errors import InvalidInputError, ModelrailError
from modelrail.loader import ModelLoader
from modelrail.responses import error_response
from modelrail.routes import CUSTOM_ATTRIBUTE_ROUTE, Operation, parse_custom_attributes
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
        request.scope["path_params"] = {} if version is None else {"version": version}
        if operation is Operation.OPENAPI:
            return Response(dump_json(app.openapi()), media_type=JSON_MEDIA_TYPE)
        return await handlers[operation](request)

    app.add_api_route("/ping", ping, methods=["GET"], include_in_schema=False)
    app.add_api_route("/invocations", invocations, methods=["POST"], include_in_schema=False)
    return app

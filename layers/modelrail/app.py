"""The serving app: ``create_app()`` builds the FastAPI app every compute flavour runs.

Lambda wraps it in Mangum; the SageMaker container and local mode run it under uvicorn. Routes come from
``routes.app_routes`` and ``routes.CATALOG_ROUTES`` (the same table API Gateway is built from).

Importing this module is cheap on purpose: ``create_app`` tunes the interpreter for start-up (``startup``),
makes the S3 client and starts fetching the model in a background thread first, and only then imports the web
framework, so on a cold start the download and the session build overlap those imports.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from modelrail import __version__
from modelrail.routes import CATALOG_ROUTES, VERSION_PARAMETER, Operation, app_routes
from modelrail.startup import first_start_up

if TYPE_CHECKING:
    from fastapi import FastAPI

    from modelrail.loader import ModelLoader
    from modelrail.settings import Settings


def _docs() -> dict[Operation, tuple[dict[str, Any], dict[int | str, dict[str, Any]]]]:
    from modelrail import openapi

    common = (400, 404, 413, 415, 422, 503)
    return {
        Operation.V1_PREDICT: (
            openapi.json_body("V1TextRequest", "V1ImageRequest", "V1TabularRequest", "V1TensorRequest"),
            openapi.answers("V1PredictResponse", *common),
        ),
        Operation.V2_INFER: (
            openapi.json_body("V2InferRequest", binary=True),
            openapi.answers("V2InferResponse", *common),
        ),
        Operation.V2_MODEL_METADATA: ({}, openapi.answers("V2ModelMetadata", 404, 503)),
        Operation.V2_MODEL_READY: ({}, openapi.answers("V2ModelReady", 404, 503)),
        Operation.V1_CATALOG: ({}, openapi.answers("V1Catalog")),
        Operation.V2_HEALTH_LIVE: ({}, openapi.answers(None)),
        Operation.V2_HEALTH_READY: ({}, openapi.answers(None, 503)),
        Operation.V2_SERVER_METADATA: ({}, openapi.answers("V2ServerMetadata")),
    }


def _path_parameters(path: str) -> list[dict[str, Any]]:
    names = [part[1:-1] for part in path.split("/") if part.startswith("{") and part.endswith("}")]
    return [{"name": name, "in": "path", "required": True, "schema": {"type": "string"}} for name in names]


def create_app(
    settings: Settings | None = None,
    *,
    loader: ModelLoader | None = None,
    preload: bool | None = None,
) -> FastAPI:
    """The app for this process's model.

    ``preload`` (default: when a model source is configured) starts fetching in the background right away.
    """
    with first_start_up():
        return _create_app(settings, loader=loader, preload=preload)


def _create_app(settings: Settings | None, *, loader: ModelLoader | None, preload: bool | None) -> FastAPI:
    from modelrail.loader import ModelLoader
    from modelrail.logs import configure_logging
    from modelrail.metrics import MetricsEmitter
    from modelrail.settings import get_settings

    settings = settings or get_settings()
    configure_logging(level=settings.log_level, model=settings.model_name, version=settings.model_version)
    emitter = MetricsEmitter(namespace=settings.metrics_namespace, model=settings.model_name or "unknown")
    loader = loader or ModelLoader(settings, emitter)
    if preload if preload is not None else (settings.model_dir is not None or settings.model_bucket is not None):
        loader.preload()

    from fastapi import FastAPI
    from fastapi.exceptions import RequestValidationError
    from fastapi.openapi.utils import get_openapi
    from starlette.exceptions import HTTPException

    from modelrail import openapi
    from modelrail.api import ModelApi
    from modelrail.errors import ModelrailError
    from modelrail.lean_route import LeanRoute
    from modelrail.middleware import RequestContextMiddleware, RoutePathMiddleware
    from modelrail.responses import handle_exception

    api = ModelApi(settings, loader)
    app = FastAPI(
        title="modelrail",
        version=__version__,
        description="Open Inference Protocol v2 and the task API for one model.",
        docs_url=None,
        redoc_url=None,
        redirect_slashes=False,  # RoutePathMiddleware routes a trailing slash as API Gateway does
    )
    app.router.route_class = LeanRoute  # handlers take the Request and return the Response (lean_route.py)
    handlers = api.handlers()
    docs = _docs()
    for route in [*app_routes(), *CATALOG_ROUTES]:
        if route.operation is Operation.OPENAPI:
            continue
        extra, responses = docs[route.operation]
        parameters = _path_parameters(route.path)
        app.add_api_route(
            route.path,
            handlers[route.operation],
            methods=[route.method],
            operation_id=f"{route.operation.value}{'-versioned' if VERSION_PARAMETER in route.path else ''}",
            summary=(handlers[route.operation].__doc__ or "").strip(),
            openapi_extra={**extra, **({"parameters": parameters} if parameters else {})},
            responses=responses,
        )
    for exception in (ModelrailError, HTTPException, RequestValidationError):
        app.add_exception_handler(exception, handle_exception)
    app.add_middleware(
        RequestContextMiddleware,
        emitter=emitter,
        max_request_bytes=settings.max_request_bytes,
        cors_origin=settings.cors_origin,
    )
    app.add_middleware(RoutePathMiddleware)
    app.state.api = api
    app.state.loader = loader

    def custom_openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(title=app.title, version=app.version, description=app.description, routes=app.routes)
            schema.setdefault("components", {}).setdefault("schemas", {}).update(openapi.component_schemas())
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = custom_openapi  # type: ignore[method-assign]
    return app

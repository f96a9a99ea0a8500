"""The catalog function: ``GET /v2``, ``GET /v1/models``, the health routes and ``/openapi.json`` for the whole API.

It runs on the plain Lambda Python runtime with the ``modelrail`` package attached as a layer installed without
its dependencies, so it imports only the standard library, boto3 (part of that runtime) and stdlib-only
modelrail modules. What is deployed comes from ``MODELRAIL_CATALOG``, a JSON list the stack writes::

    [{"name": "minilm", "version": "1", "task": "text-embedding", "target": "cpu"},
     {"name": "minilm-gpu", "version": "1", "task": "text-embedding", "target": "gpu", "endpoint": "<endpoint>"}]

A model is ready when its compute can answer: a Lambda function can once deployed; a SageMaker endpoint only
while ``InService`` (asked with ``DescribeEndpoint``, cached for ``READY_CACHE_S``).
"""

from __future__ import annotations

import copy
import json
import os
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

from modelrail import __version__, constants
from modelrail.errors import (
    API_KEY_REJECTED_MESSAGE,
    NO_SUCH_ROUTE_MESSAGE,
    InternalError,
    ModelrailError,
    ModelUnavailableError,
    NotFoundError,
    shown_request,
)
from modelrail.logs import configure_logging, get_logger, request_id_var
from modelrail.routes import CATALOG_ROUTES, BasePathError, Operation, Route, normalize_base_path, route_path
from modelrail.server_metadata import server_metadata

OPENAPI_TEMPLATE = "catalog_openapi.json"
"""The serving app's own OpenAPI document (one model, ``{name}`` in paths), shipped next to this module."""
READY_CACHE_S = 15.0
API_AUTH_MODES = ("api-key", "iam", "none")

log = get_logger("catalog")

ReadyProbe = Callable[[str], tuple[bool, str]]
"""endpoint name -> (ready, status text)."""


@dataclass(frozen=True)
class CatalogEntry:
    """One deployed model."""

    name: str
    version: str
    task: str
    target: str
    endpoint: str | None = None
    """SageMaker endpoint name, for ``target: gpu``."""


class CatalogConfigError(InternalError):
    """``MODELRAIL_CATALOG`` is missing or malformed: a deployment bug, reported as 500 naming the variable."""


def parse_catalog(text: str | None) -> list[CatalogEntry]:
    """Read ``MODELRAIL_CATALOG``."""
    where = f"env {constants.ENV_CATALOG}"
    if not text:
        raise CatalogConfigError(f"{where} is not set; the stack must list the deployed models there")
    try:
        document = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CatalogConfigError(f"{where} is not JSON: {exc}") from None
    if not isinstance(document, list):
        raise CatalogConfigError(f"{where} must be a JSON list of models")
    entries = []
    for index, item in enumerate(document):
        fields = ("name", "version", "task", "target")
        if not isinstance(item, dict) or not all(isinstance(item.get(key), str) for key in fields):
            raise CatalogConfigError(f"{where}[{index}] needs string fields {', '.join(fields)}")
        endpoint = item.get("endpoint")
        if endpoint is not None and not isinstance(endpoint, str):
            raise CatalogConfigError(f"{where}[{index}].endpoint must be a string")
        entries.append(CatalogEntry(item["name"], item["version"], item["task"], item["target"], endpoint))
    return entries


def describe_endpoint_probe() -> ReadyProbe:
    """Ask SageMaker whether an endpoint is ``InService`` (boto3 is part of the Lambda runtime)."""
    import boto3
    from botocore.config import Config

    client = boto3.client("sagemaker", config=Config(connect_timeout=2, read_timeout=3, retries={"max_attempts": 2}))

    def probe(endpoint: str) -> tuple[bool, str]:
        try:
            status = str(client.describe_endpoint(EndpointName=endpoint)["EndpointStatus"])
        except Exception as exc:  # an unreachable endpoint is "not ready", never a failed catalog
            log.warning("describe_endpoint failed", extra={"endpoint": endpoint, "error": type(exc).__name__})
            return False, f"status unknown ({type(exc).__name__})"
        return status == "InService", status

    return probe


class Readiness:
    """Per-endpoint readiness, cached so a burst of catalog calls makes one SageMaker call per endpoint."""

    def __init__(self, probe_factory: Callable[[], ReadyProbe], *, ttl_s: float = READY_CACHE_S) -> None:
        self._factory = probe_factory
        self._probe: ReadyProbe | None = None
        self._ttl_s = ttl_s
        self._cache: dict[str, tuple[float, bool, str]] = {}
        self._lock = threading.Lock()

    def check(self, entry: CatalogEntry) -> tuple[bool, str]:
        """Whether the entry's compute can answer now, and why not."""
        if entry.endpoint is None:
            return True, "deployed"
        now = time.monotonic()
        with self._lock:
            cached = self._cache.get(entry.endpoint)
            if cached is not None and now - cached[0] < self._ttl_s:
                return cached[1], cached[2]
            if self._probe is None:
                self._probe = self._factory()
            ready, status = self._probe(entry.endpoint)
            self._cache[entry.endpoint] = (now, ready, status)
            return ready, status


def load_openapi_template() -> dict[str, Any]:
    """The serving app's OpenAPI document shipped with this package."""
    text = resources.files("modelrail").joinpath(OPENAPI_TEMPLATE).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document


_ERROR_REF = {"$ref": "#/components/schemas/ErrorBody"}
_CATALOG_SUMMARIES = {
    Operation.V1_CATALOG: "The deployed models: name, version, task, target, ready.",
    Operation.V2_HEALTH_LIVE: "200 while the API answers.",
    Operation.V2_HEALTH_READY: "200 when every deployed model can answer; else 503 naming the ones that cannot.",
    Operation.V2_SERVER_METADATA: "Server metadata: name, version and the protocol extensions every model serves.",
}


def _gateway_answers(auth: str) -> dict[str, str]:
    """Errors API Gateway itself answers on every route, before the function or endpoint runs."""
    answers = {
        "404": NO_SUCH_ROUTE_MESSAGE,
        "413": "request body over API Gateway's 10 MB limit",
        "429": "throttled by the usage plan (rate, burst or quota)",
    }
    if auth == "api-key":
        answers["403"] = API_KEY_REJECTED_MESSAGE
    elif auth == "iam":
        answers["403"] = "the request is not signed (SigV4) by a principal allowed to call this API"
    return answers


def build_openapi(
    template: Mapping[str, Any], entries: Sequence[CatalogEntry], *, server_url: str | None, auth: str
) -> dict[str, Any]:
    """The whole API's document: the app's operations for the deployed model names, plus the catalog's own."""
    document = copy.deepcopy(dict(template))
    names = [entry.name for entry in entries]
    document["info"] = {
        "title": "modelrail",
        "version": __version__,
        "description": (
            "Open Inference Protocol v2 and the task API for the deployed models: "
            + (", ".join(f"`{e.name}` {e.version} ({e.task}, {e.target})" for e in entries) or "none")
            + "."
        ),
    }
    if server_url:
        document["servers"] = [{"url": server_url}]
    paths: dict[str, Any] = document.setdefault("paths", {})
    for path_item in paths.values():
        for operation in path_item.values():
            for parameter in operation.get("parameters", []):
                if parameter.get("in") == "path" and parameter.get("name") == "name":
                    parameter["schema"] = {"type": "string", "enum": names}
                elif parameter.get("in") == "path" and parameter.get("name") == "version":
                    # Only served versions are routes; any other is API Gateway's 404.
                    parameter["schema"] = {"type": "string", "enum": sorted({e.version for e in entries})}
            answers = operation.setdefault("responses", {})
            for status, text in _gateway_answers(auth).items():
                answers.setdefault(
                    status, {"description": text, "content": {"application/json": {"schema": _ERROR_REF}}}
                )
    for route in CATALOG_ROUTES:
        operation = paths.get(route.path, {}).get(route.method.lower())
        if operation is not None and route.operation in _CATALOG_SUMMARIES:
            operation["summary"] = operation["description"] = _CATALOG_SUMMARIES[route.operation]
    paths["/openapi.json"] = {
        "get": {
            "summary": "This document.",
            "operationId": Operation.OPENAPI.value,
            "responses": {
                "200": {"description": "OK", "content": {"application/json": {"schema": {"type": "object"}}}}
            },
        }
    }
    components = document.setdefault("components", {})
    if auth == "api-key":
        components["securitySchemes"] = {"apiKey": {"type": "apiKey", "in": "header", "name": constants.API_KEY_HEADER}}
        document["security"] = [{"apiKey": []}]
    elif auth == "iam":
        components["securitySchemes"] = {
            "sigv4": {
                "type": "apiKey",
                "in": "header",
                "name": "Authorization",
                "x-amazon-apigateway-authtype": "awsSigv4",
            }
        }
        document["security"] = [{"sigv4": []}]
    return document


def _json(status: int, body: Any, headers: Mapping[str, str] | None = None) -> dict[str, Any]:
    return {
        "statusCode": status,
        "headers": {"Content-Type": "application/json", **(headers or {})},
        "body": json.dumps(body, separators=(",", ":")),
        "isBase64Encoded": False,
    }


def _error(error: ModelrailError) -> dict[str, Any]:
    headers = {"Retry-After": str(error.retry_after_s)} if error.retry_after_s is not None else None
    return _json(error.status, error.to_body(request_id_var.get()), headers)


class Catalog:
    """Answers the catalog routes from a list of entries."""

    def __init__(
        self,
        entries: Sequence[CatalogEntry],
        *,
        readiness: Readiness | None = None,
        openapi_template: Mapping[str, Any] | None = None,
        auth: str = "api-key",
    ) -> None:
        self.entries = list(entries)
        self.readiness = readiness or Readiness(describe_endpoint_probe)
        self._template = openapi_template
        self.auth = auth
        self._routes: dict[tuple[str, str], Route] = {(route.method, route.path): route for route in CATALOG_ROUTES}

    def models(self) -> dict[str, Any]:
        """``GET /v1/models``."""
        listed = []
        for entry in self.entries:
            ready, _ = self.readiness.check(entry)
            listed.append(
                {
                    "name": entry.name,
                    "version": entry.version,
                    "task": entry.task,
                    "target": entry.target,
                    "ready": ready,
                }
            )
        return {"models": listed}

    def not_ready(self) -> list[str]:
        """``name (status)`` of every model that cannot answer now."""
        found = []
        for entry in self.entries:
            ready, status = self.readiness.check(entry)
            if not ready:
                found.append(f"{entry.name} ({status})")
        return found

    def openapi(self, server_url: str | None) -> dict[str, Any]:
        """``GET /openapi.json``."""
        template = self._template if self._template is not None else load_openapi_template()
        return build_openapi(template, self.entries, server_url=server_url, auth=self.auth)

    def answer(self, method: str, path: str, *, server_url: str | None = None) -> dict[str, Any]:
        """The Lambda proxy response for one request."""
        route = self._routes.get((method.upper(), route_path(path)))
        if route is None:
            return _error(NotFoundError(f"{NO_SUCH_ROUTE_MESSAGE} (got {shown_request(method, path)})"))
        if route.operation is Operation.V2_HEALTH_READY:
            waiting = self.not_ready()
            if waiting:
                return _error(ModelUnavailableError(f"not ready: {', '.join(waiting)}"))
            return _json(200, {"ready": True})
        if route.operation is Operation.OPENAPI:
            return _json(200, self.openapi(server_url))
        bodies: dict[Operation, Callable[[], dict[str, Any]]] = {
            Operation.V2_SERVER_METADATA: server_metadata,
            Operation.V1_CATALOG: self.models,
            Operation.V2_HEALTH_LIVE: lambda: {"live": True},
        }
        return _json(200, bodies[route.operation]())


_BASE_PATH = re.compile(r"(/[A-Za-z0-9._~-]+)+")


def server_url_of(event: Mapping[str, Any], *, base_path: str | None = None) -> str | None:
    """``servers`` for the document: the API's base path (the stage, or a custom domain's ``base_path`` mapping,
    ``routes.normalize_base_path``) as a relative URL, which OpenAPI resolves against the document's own
    address; ``None`` at the root.

    Never the ``Host`` header or anything else a caller chooses: API Gateway's ``requestContext.path`` is the
    path it matched, ``/<stage or base path>`` + the resource path, and ``base_path`` is configuration.
    """
    context = event.get("requestContext") or {}
    full, path = str(context.get("path") or ""), str(event.get("path") or "")
    if base_path is not None and (path == base_path or path.startswith(f"{base_path}/")):
        return base_path
    if not path or not full.endswith(path):
        return None
    prefix = full[: -len(path)]
    return prefix if _BASE_PATH.fullmatch(prefix) else None


@cache
def catalog_from_env() -> Catalog:
    """The process's catalog, from ``MODELRAIL_CATALOG`` and ``MODELRAIL_API_AUTH`` (read once)."""
    configure_logging(level=os.environ.get(constants.ENV_LOG_LEVEL, "INFO").upper(), model="catalog", version=None)
    auth = os.environ.get(constants.ENV_API_AUTH, "api-key")
    if auth not in API_AUTH_MODES:
        raise CatalogConfigError(f"env {constants.ENV_API_AUTH}={auth!r}; use one of {', '.join(API_AUTH_MODES)}")
    return Catalog(parse_catalog(os.environ.get(constants.ENV_CATALOG)), auth=auth)


def handle_event(event: Mapping[str, Any], context: Any) -> dict[str, Any]:
    """The catalog's Lambda handler: a REST API (v1) proxy event in, a proxy response out; never raises."""
    started = time.perf_counter()
    token = request_id_var.set(getattr(context, "aws_request_id", None))
    http = (event.get("requestContext") or {}).get("http") or {}  # an HTTP API (payload 2.0) event
    method = str(event.get("httpMethod") or http.get("method") or "GET")
    path = str(event.get("resource") or event.get("rawPath") or event.get("path") or "/")
    try:
        # REST events route on `resource`, which never holds a custom domain's base path; 2.0 events' `rawPath`
        # never holds it either (http-api-develop-integrations-lambda.html); only `servers` needs it.
        base_path = normalize_base_path(os.environ.get(constants.ENV_API_BASE_PATH))
        response = catalog_from_env().answer(method, path, server_url=server_url_of(event, base_path=base_path))
    except ModelrailError as exc:
        log.error("catalog failed", extra={"error": exc.message})
        response = _error(exc)
    except BasePathError as exc:
        log.error("catalog failed", extra={"error": str(exc)})
        response = _error(CatalogConfigError(f"env {constants.ENV_API_BASE_PATH}: {exc}"))
    except Exception:  # a bug must still answer with the SPEC's JSON body
        log.exception("catalog bug")
        response = _error(InternalError("internal error; it has been logged"))
    cors_origin = os.environ.get(constants.ENV_CORS_ORIGIN)
    if cors_origin:
        response["headers"][constants.CORS_ALLOW_ORIGIN_HEADER] = cors_origin
    log.info(
        "request",
        extra={
            "method": method,
            "path": path,
            "status": response["statusCode"],
            "duration_ms": round((time.perf_counter() - started) * 1000, 3),
        },
    )
    request_id_var.reset(token)
    return response

"""The catalog function's Lambda handler: a REST API (v1) proxy event in, a proxy response out."""

from __future__ import annotations

import os
import re
import time
from collections.abc import Mapping
from functools import cache
from typing import Any

from modelrail import constants
from modelrail.catalog.routing import Catalog
from modelrail.catalog.settings import CatalogConfigError, load_catalog, read_auth
from modelrail.errors import InternalError, ModelrailError
from modelrail.logs import configure_logging, get_logger, request_id_var
from modelrail.proxy_responses import error_response
from modelrail.routes import BasePathError, normalize_base_path

log = get_logger("catalog")


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
    """The process's catalog: the model list (``settings.load_catalog``) and ``MODELRAIL_API_AUTH``, read once."""
    configure_logging(level=os.environ.get(constants.ENV_LOG_LEVEL, "INFO").upper(), model="catalog", version=None)
    return Catalog(load_catalog(os.environ), auth=read_auth(os.environ))


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
        response = error_response(exc)
    except BasePathError as exc:
        log.error("catalog failed", extra={"error": str(exc)})
        response = error_response(CatalogConfigError(f"env {constants.ENV_API_BASE_PATH}: {exc}"))
    except Exception:  # a bug must still answer with the SPEC's JSON body
        log.exception("catalog bug")
        response = error_response(InternalError("internal error; it has been logged"))
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

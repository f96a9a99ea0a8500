"""Per-request context: request id, body size limit, one JSON log line, metrics, a last-resort 500, and the
CORS header on every answer when ``MODELRAIL_CORS_ORIGIN`` is set.

A pure ASGI middleware (Starlette's ``BaseHTTPMiddleware`` costs a task and a stream copy per request).
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from modelrail import metrics
from modelrail.constants import CORS_ALLOW_ORIGIN_HEADER, CORS_EXPOSE_HEADERS_HEADER, MODEL_VERSION_HEADER
from modelrail.errors import PayloadTooLargeError
from modelrail.logs import get_logger, log_fields, request_id_var
from modelrail.metrics import MetricsEmitter
from modelrail.responses import ERROR_CODE_STATE, as_modelrail_error, error_response
from modelrail.routes import route_path

log = get_logger("request")

REQUEST_STATS_STATE = "modelrail_stats"
"""Key in ``request.state`` where routes leave timings and counts for the request log line."""


_REQUEST_ID = re.compile(r"[A-Za-z0-9._:=/+-]{1,128}")
"""What a request id taken from a header may look like; anything else is replaced by a fresh one, so no
header value reaches an error body or a log line unchecked."""


def request_id(scope: Scope) -> str:
    """The id the caller sees: API Gateway's (its ``x-amzn-RequestId`` answer header and access log), else the
    Lambda invocation's, else a well-formed ``x-request-id``/``x-amzn-requestid`` header, else a fresh one."""
    event = scope.get("aws.event")
    context = event.get("requestContext") if isinstance(event, dict) else None
    gateway_id = context.get("requestId") if isinstance(context, dict) else None
    if isinstance(gateway_id, str) and _REQUEST_ID.fullmatch(gateway_id):
        return gateway_id
    aws_request_id = getattr(scope.get("aws.context"), "aws_request_id", None)
    if isinstance(aws_request_id, str):
        return aws_request_id
    for name, value in scope.get("headers", ()):
        if name in (b"x-request-id", b"x-amzn-requestid"):
            text = str(value.decode("latin-1"))
            if _REQUEST_ID.fullmatch(text):
                return text
    return uuid.uuid4().hex


class RoutePathMiddleware:
    """Routes ``/v2/models/x/`` as ``/v2/models/x`` (``routes.route_path``), as API Gateway does, instead of
    Starlette's 307 redirect (whose ``Location`` loses the stage): the app is built with ``redirect_slashes=False``.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] == "http":
            path = route_path(scope["path"])
            if path != scope["path"]:
                raw = scope.get("raw_path")
                scope = {**scope, "path": path, "raw_path": raw[:-1] if raw and raw.endswith(b"/") else raw}
        await self.app(scope, receive, send)


class RequestContextMiddleware:
    """Wraps every HTTP request; see the module docstring."""

    def __init__(
        self, app: ASGIApp, *, emitter: MetricsEmitter, max_request_bytes: int, cors_origin: str | None = None
    ) -> None:
        self.app = app
        self.emitter = emitter
        self.max_request_bytes = max_request_bytes
        # With CORS on, a browser may also read which model version answered (a CORS response exposes only the
        # safelisted headers unless Access-Control-Expose-Headers names more).
        self._cors_headers = (
            [
                (CORS_ALLOW_ORIGIN_HEADER.lower().encode("latin-1"), cors_origin.encode("latin-1")),
                (CORS_EXPOSE_HEADERS_HEADER.lower().encode("latin-1"), MODEL_VERSION_HEADER.encode("latin-1")),
            ]
            if cors_origin
            else None
        )
        self._cold = True

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call."""
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        token = request_id_var.set(request_id(scope))
        state: dict[str, Any] = scope.setdefault("state", {})
        status = {"code": 0, "started": False}
        received = {"bytes": 0}
        limit = self.max_request_bytes

        async def limited_receive() -> Message:
            message = await receive()
            if message["type"] == "http.request":
                received["bytes"] += len(message.get("body", b""))
                if received["bytes"] > limit:
                    raise PayloadTooLargeError(f"request body is over the limit of {limit} bytes")
            return message

        async def tracking_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                status["code"] = message["status"]
                status["started"] = True
                if self._cors_headers is not None:  # every answer, errors included, as API Gateway's own ones
                    message = {**message, "headers": [*message.get("headers", ()), *self._cors_headers]}
            await send(message)

        if self._cold:
            self._cold = False
            self.emitter.count(metrics.COLD_START)
        try:
            declared = _content_length(scope)
            if declared is not None and declared > limit:
                await self._send_error(
                    PayloadTooLargeError(f"request body of {declared} bytes is over the limit of {limit} bytes"),
                    state,
                    tracking_send,
                )
            else:
                await self.app(scope, limited_receive, tracking_send)
        except Exception as exc:
            error = as_modelrail_error(exc)
            log.log(
                logging.ERROR if error.status >= 500 else logging.INFO,
                "unhandled error",
                exc_info=error.status >= 500,
            )
            if not status["started"]:
                await self._send_error(error, state, tracking_send)
        finally:
            self._finish(scope, state, status["code"], received["bytes"], started)
            request_id_var.reset(token)

    async def _send_error(self, error: Any, state: dict[str, Any], send: Send) -> None:
        state[ERROR_CODE_STATE] = error.code
        response = error_response(error)
        await response({"type": "http"}, _no_body, send)

    def _finish(self, scope: Scope, state: dict[str, Any], status: int, received: int, started: float) -> None:
        code = state.get(ERROR_CODE_STATE)
        if code is not None:
            self.emitter.count(metrics.ERRORS, code=str(code))
        stats = state.get(REQUEST_STATS_STATE, {})
        inference_ms = stats.get("inference_ms")
        if inference_ms is not None:
            self.emitter.emit({metrics.INFERENCE_MS: (inference_ms, "Milliseconds")})
        log_fields(
            log,
            logging.INFO,
            "request",
            {
                "method": scope.get("method"),
                **_lambda_request_id(scope),
                "path": scope.get("path"),
                "status": status,
                "duration_ms": round((time.perf_counter() - started) * 1000, 3),
                "request_bytes": received,
                **({"code": code} if code is not None else {}),
                **{key: round(value, 3) if isinstance(value, float) else value for key, value in stats.items()},
            },
        )


def _lambda_request_id(scope: Scope) -> dict[str, str]:
    """The Lambda invocation id, to find the function's START/REPORT lines for a request."""
    aws_request_id = getattr(scope.get("aws.context"), "aws_request_id", None)
    return {"lambda_request_id": aws_request_id} if isinstance(aws_request_id, str) else {}


async def _no_body() -> Message:
    return {"type": "http.request", "body": b"", "more_body": False}


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            try:
                return int(value)
            except ValueError:
                return None
    return None

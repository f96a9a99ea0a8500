"""Turning any failure into the SPEC's error body: the one exception handler the app registers."""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache

from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException

from modelrail import errors
from modelrail.codecs.base import JSON_MEDIA_TYPE, dump_json
from modelrail.constants import MODEL_VERSION_HEADER
from modelrail.contract.statuses import error_for_status
from modelrail.logs import request_id_var

MODEL_VERSION_STATE = "modelrail_model_version"
"""Key in ``request.state`` naming the model version a request reached (``api.ModelApi.model``), so an error it
answers names that version too."""
ERROR_CODE_STATE = "modelrail_error_code"
"""Key in ``request.state`` where the handler leaves the error code, for the errors metric."""


def as_modelrail_error(exc: Exception, *, method: str = "", path: str = "") -> errors.ModelrailError:
    """Our error family for any exception: Starlette's 404/405, FastAPI's validation errors, or a bug (500)."""
    if isinstance(exc, errors.ModelrailError):
        return exc
    if isinstance(exc, RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = ".".join(str(part) for part in first.get("loc", ()))
        return errors.InvalidInputError(f"{where}: {first.get('msg', 'invalid request')}")
    if isinstance(exc, HTTPException):
        if exc.status_code in (404, 405):
            # API Gateway cannot tell a wrong method from an unknown path: both are this 404 there, so here too.
            return errors.NotFoundError(f"{errors.NO_SUCH_ROUTE_MESSAGE} (got {errors.shown_request(method, path)})")
        return error_for_status(exc.status_code)(str(exc.detail))
    return errors.InternalError("internal error; it has been logged")


def error_response(error: errors.ModelrailError) -> Response:
    """The JSON error body with its status and request id (and ``Retry-After`` on a 503)."""
    headers = {"Retry-After": str(error.retry_after_s)} if error.retry_after_s is not None else None
    body = dump_json(error.to_body(request_id_var.get()))
    return Response(body, status_code=error.status, media_type=JSON_MEDIA_TYPE, headers=headers)


async def handle_exception(request: Request, exc: Exception) -> Response:
    """The app's one exception handler."""
    error = as_modelrail_error(exc, method=request.method, path=request.url.path)
    setattr(request.state, ERROR_CODE_STATE, error.code)
    response = error_response(error)
    version = getattr(request.state, MODEL_VERSION_STATE, None)
    if isinstance(version, str):  # the error came from a known model version (e.g. a bad input to it)
        response.headers[MODEL_VERSION_HEADER] = version
    return response


@cache
def _header_value(value: str) -> bytes:
    return value.encode("latin-1")


class BodyResponse(Response):
    """A finished body: its raw headers are built directly (media types encoded once), with what Starlette's
    ``Response`` would set: the given headers lower-cased, then ``content-length`` and ``content-type``."""

    def __init__(
        self, body: bytes, media_type: str, headers: Mapping[str, str] | None = None, *, status_code: int = 200
    ) -> None:
        """``body`` with its status; ``media_type`` is a non-``text/`` type, so it takes no charset."""
        self.status_code = status_code
        self.background = None
        self.body = body
        self.raw_headers = [
            *((name.lower().encode("latin-1"), value.encode("latin-1")) for name, value in (headers or {}).items()),
            (b"content-length", str(len(body)).encode("latin-1")),
            (b"content-type", _header_value(media_type)),
        ]

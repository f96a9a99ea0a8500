"""HTTP status -> the SPEC's error code, and the ``Retry-After`` that goes with a status.

Used where only a status is known: a Starlette ``HTTPException`` in the serving app, a SageMaker container's
non-JSON error body (the stack's VTL and local mode alike).
"""

from __future__ import annotations

from typing import Final

from modelrail.errors import (
    ForbiddenError,
    InternalError,
    InvalidInputError,
    MethodNotAllowedError,
    ModelrailError,
    ModelUnavailableError,
    NotFoundError,
    PayloadTooLargeError,
    ThrottledError,
    UnauthorizedError,
    UnprocessableInputError,
    UnsupportedMediaTypeError,
    UpstreamTimeoutError,
)

ERROR_BY_STATUS: Final[dict[int, type[ModelrailError]]] = {
    error.status: error
    for error in (
        InvalidInputError,
        UnauthorizedError,
        ForbiddenError,
        NotFoundError,
        MethodNotAllowedError,
        PayloadTooLargeError,
        UnsupportedMediaTypeError,
        UnprocessableInputError,
        ThrottledError,
        ModelUnavailableError,
        UpstreamTimeoutError,
    )
}
"""The error for a status; any status not listed is ``internal_error``."""

RETRY_AFTER_S: Final[dict[int, int]] = {ThrottledError.status: 1, ModelUnavailableError.status: 5}
"""``Retry-After`` seconds sent with these statuses where no function sets its own (SageMaker drops the
container's headers; API Gateway's throttling and integration-failure answers)."""


def error_for_status(status: int) -> type[ModelrailError]:
    """The error class a bare status stands for."""
    return ERROR_BY_STATUS.get(status, InternalError)

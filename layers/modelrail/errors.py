"""The typed error family. Each error carries its HTTP status and stable snake_case code.

One exception handler in the app turns any of them into the SPEC's body
``{"error": "<message>", "code": "<code>", "request_id": "<id>"}``; routes never build error JSON by hand.
Messages speak in the caller's terms; bucket names, endpoints, file paths, checksums and graph node names go
to the logs only, under the same request id. The CDK stack
uses the same codes for API Gateway's own responses (missing key, throttled, body too large).
"""

from typing import ClassVar, Final
from urllib.parse import quote

API_KEY_REJECTED_MESSAGE: Final = (
    "forbidden: send a key of this API's usage plan as header x-api-key, with a method and path this API serves "
    "(GET /openapi.json lists them)"
)
"""403 ``forbidden`` for a missing or wrong key, and for a method a path does not have: without a valid key a
known route and an unknown one answer alike, so model names cannot be probed."""
NO_SUCH_ROUTE_MESSAGE: Final = "no such route: see GET /openapi.json for the routes this API serves"
"""404 ``not_found`` for a path the route table does not have (to a caller with a valid key)."""


def shown_request(method: str, path: str) -> str:
    """A request line as an error message may echo it: printable ASCII (percent-encoded), bounded."""
    return f"{quote(method[:16], safe='')} {quote(path[:200], safe='/')}"


class ModelrailError(Exception):
    """Base of every error modelrail reports to a caller."""

    status: ClassVar[int] = 500
    code: ClassVar[str] = "internal_error"

    def __init__(self, message: str, *, retry_after_s: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.retry_after_s = retry_after_s

    def to_body(self, request_id: str | None = None) -> dict[str, str]:
        """The JSON error body the SPEC fixes, plus the request id the logs carry for this request."""
        body = {"error": self.message, "code": self.code}
        if request_id:
            body["request_id"] = request_id
        return body


class InvalidInputError(ModelrailError):
    """Malformed body, or a tensor/instance of the wrong shape or type."""

    status = 400
    code = "invalid_input"


class UnauthorizedError(ModelrailError):
    """No credentials (e.g. a missing API key)."""

    status = 401
    code = "unauthorized"


class ForbiddenError(ModelrailError):
    """Credentials given but not accepted (e.g. a wrong API key)."""

    status = 403
    code = "forbidden"


class NotFoundError(ModelrailError):
    """No such route."""

    status = 404
    code = "not_found"


class ModelNotFoundError(NotFoundError):
    """No such model."""

    code = "model_not_found"


class VersionNotFoundError(NotFoundError):
    """The model exists but not at that version."""

    code = "version_not_found"


class MethodNotAllowedError(ModelrailError):
    """The route exists but not for this HTTP method."""

    status = 405
    code = "method_not_allowed"


class PayloadTooLargeError(ModelrailError):
    """Body over the API Gateway (10 MB) or Lambda (6 MB) limit."""

    status = 413
    code = "payload_too_large"


class UnsupportedMediaTypeError(ModelrailError):
    """A Content-Type the route cannot read."""

    status = 415
    code = "unsupported_media_type"


class UnprocessableInputError(ModelrailError):
    """Well-formed but semantically invalid (e.g. an image that does not decode)."""

    status = 422
    code = "unprocessable_input"


class ThrottledError(ModelrailError):
    """Too many requests."""

    status = 429
    code = "throttled"


class ModelUnavailableError(ModelrailError):
    """The model cannot be served yet or at all (fetch failed, checksum mismatch, endpoint down)."""

    status = 503
    code = "model_unavailable"

    def __init__(self, message: str, *, retry_after_s: int | None = 5) -> None:
        super().__init__(message, retry_after_s=retry_after_s)


class FetchTimeoutError(ModelUnavailableError):
    """The model's files did not arrive within the fetch's deadline (a slow or hung S3)."""


class UpstreamTimeoutError(ModelrailError):
    """The model, or the endpoint in front of it, did not answer in time."""

    status = 504
    code = "upstream_timeout"


class InternalError(ModelrailError):
    """A bug: never an answer to bad input."""

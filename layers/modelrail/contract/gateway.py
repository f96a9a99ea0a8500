"""API Gateway's own answers (bad key, unknown route, throttled, too large, timeout) in the SPEC's error body.

Gateway-response templates are plain variable substitution, not VTL, so each response type gets one fixed
status, code and message. ``infra/gateway_responses.py`` renders this table into the stack's gateway
responses; local mode answers from the same entries (``modelrail.local.gateway_responses``).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from modelrail.contract.auth import AuthMode
from modelrail.contract.statuses import RETRY_AFTER_S
from modelrail.errors import (
    API_KEY_REJECTED_MESSAGE,
    NO_SUCH_ROUTE_MESSAGE,
    ForbiddenError,
    InternalError,
    InvalidInputError,
    ModelrailError,
    ModelUnavailableError,
    NotFoundError,
    PayloadTooLargeError,
    ThrottledError,
    UnauthorizedError,
    UnsupportedMediaTypeError,
    UpstreamTimeoutError,
)


@dataclass(frozen=True)
class GatewayAnswer:
    """One gateway response type as the API answers it."""

    response_type: str
    """An ``aws_apigateway.ResponseType`` attribute name, e.g. ``INVALID_API_KEY``."""
    error: type[ModelrailError]
    message: str | None = None
    """Fixed message, or ``None`` for API Gateway's own (``OWN_MESSAGES`` has the ones local mode imitates)."""
    retry_after_s: int | None = None
    keep_status: bool = False
    """DEFAULT_4XX/5XX: keep the status of whatever unlisted type fell through (setting one would override all)."""

    @property
    def status(self) -> int | None:
        """The HTTP status this answer sets, or ``None`` to keep API Gateway's."""
        return None if self.keep_status else self.error.status

    def body(self, own_message: str = "") -> dict[str, str]:
        """The SPEC's error body; ``own_message`` stands for API Gateway's own where the answer passes it on."""
        return {"error": own_message if self.message is None else self.message, "code": self.error.code}

    def headers(self) -> dict[str, str]:
        """The response headers and their values."""
        headers = {"Content-Type": "application/json"}
        if self.retry_after_s is not None:
            headers["Retry-After"] = str(self.retry_after_s)
        return headers


MISSING_AUTHENTICATION_TOKEN: Final = GatewayAnswer(
    "MISSING_AUTHENTICATION_TOKEN", ForbiddenError, API_KEY_REJECTED_MESSAGE
)
"""In ``api-key`` mode: a method a known path (a resource) lacks. API Gateway raises MISSING_AUTHENTICATION_TOKEN
for "an unsupported API method or resource" ("Gateway response types for API Gateway"); with the API-key
catch-all (``NO_SUCH_ROUTE``) that is a method a known path lacks. It answers as a rejected key does, so a caller
without a key cannot tell a known path from an unknown one (which reaches the catch-all and its INVALID_API_KEY)."""
NO_SUCH_ROUTE: Final = GatewayAnswer("CATCH_ALL", NotFoundError, NO_SUCH_ROUTE_MESSAGE)
"""Not a gateway response: the stack's key-protected ``ANY /{proxy+}`` mock, answering a path no route has to a
caller with a valid key (and, in local mode with no key configured, any unknown path or method)."""
MISSING_AUTHENTICATION_TOKEN_IAM: Final = GatewayAnswer(
    "MISSING_AUTHENTICATION_TOKEN",
    ForbiddenError,
    "request not signed with AWS Signature Version 4, or no such route (see GET /openapi.json)",
)
"""With IAM auth, API Gateway raises the same type for an unsigned request as for an unknown route."""
INVALID_API_KEY: Final = GatewayAnswer("INVALID_API_KEY", ForbiddenError, API_KEY_REJECTED_MESSAGE)
"""A missing and a wrong key alike."""
REQUEST_TOO_LARGE: Final = GatewayAnswer(
    "REQUEST_TOO_LARGE", PayloadTooLargeError, "request body over API Gateway's 10 MB limit; send less per call"
)
THROTTLED: Final = GatewayAnswer(
    "THROTTLED",
    ThrottledError,
    "too many requests for this API key; retry later",
    retry_after_s=RETRY_AFTER_S[ThrottledError.status],
)
UNSUPPORTED_MEDIA_TYPE: Final = GatewayAnswer("UNSUPPORTED_MEDIA_TYPE", UnsupportedMediaTypeError)
"""A non-JSON body on a SageMaker route (its integration has only an application/json template)."""
INTEGRATION_TIMEOUT: Final = GatewayAnswer(
    "INTEGRATION_TIMEOUT",
    UpstreamTimeoutError,
    "the model did not answer within API Gateway's 29 s integration timeout",
)
INTEGRATION_FAILURE: Final = GatewayAnswer(
    "INTEGRATION_FAILURE",
    ModelUnavailableError,
    "the model's compute could not be reached; retry shortly",
    retry_after_s=RETRY_AFTER_S[ModelUnavailableError.status],
)
DEFAULT_5XX: Final = GatewayAnswer("DEFAULT_5XX", InternalError, keep_status=True)
"""Among others: a Lambda function that raised, crashed, timed out or returned a malformed proxy response."""
LAMBDA_PAYLOAD_TOO_LARGE: Final = GatewayAnswer(
    "REQUEST_TOO_LARGE",
    PayloadTooLargeError,
    "request over Lambda's 6 MB invocation limit (the whole event, base64 body included); send less per call",
)
"""Lambda refuses an event over 6 MB before the function runs; the caller gets a 413."""

OWN_MESSAGES: Final[dict[str, str]] = {
    UNSUPPORTED_MEDIA_TYPE.response_type: "Unsupported Media Type",
    DEFAULT_5XX.response_type: "Internal server error",
}
"""API Gateway's own message for the types whose answer passes it on, where local mode has to say it."""
LAMBDA_FAILED_STATUS: Final = 502
"""API Gateway's status for a Lambda function that failed (kept by ``DEFAULT_5XX``)."""


def gateway_answers(auth: AuthMode) -> tuple[GatewayAnswer, ...]:
    """Every gateway response type the API customizes, for one auth mode."""
    return (
        INVALID_API_KEY,
        MISSING_AUTHENTICATION_TOKEN if auth is AuthMode.API_KEY else MISSING_AUTHENTICATION_TOKEN_IAM,
        GatewayAnswer("ACCESS_DENIED", ForbiddenError),
        GatewayAnswer("EXPIRED_TOKEN", ForbiddenError),
        GatewayAnswer("INVALID_SIGNATURE", ForbiddenError),
        GatewayAnswer("WAF_FILTERED", ForbiddenError),
        GatewayAnswer("UNAUTHORIZED", UnauthorizedError),
        GatewayAnswer("RESOURCE_NOT_FOUND", NotFoundError),
        GatewayAnswer("BAD_REQUEST_BODY", InvalidInputError),
        GatewayAnswer("BAD_REQUEST_PARAMETERS", InvalidInputError),
        UNSUPPORTED_MEDIA_TYPE,
        REQUEST_TOO_LARGE,
        THROTTLED,
        GatewayAnswer("QUOTA_EXCEEDED", ThrottledError, "this API key's request quota for the period is used up"),
        INTEGRATION_TIMEOUT,
        INTEGRATION_FAILURE,
        GatewayAnswer("API_CONFIGURATION_ERROR", InternalError),
        GatewayAnswer("AUTHORIZER_CONFIGURATION_ERROR", InternalError),
        GatewayAnswer("AUTHORIZER_FAILURE", InternalError),
        GatewayAnswer("DEFAULT_4XX", InvalidInputError, keep_status=True),
        DEFAULT_5XX,
    )


def documented_answers(auth: str) -> dict[str, str]:
    """What the OpenAPI document lists on every operation: status -> what API Gateway itself answers with it."""
    answers = {
        str(NotFoundError.status): NO_SUCH_ROUTE_MESSAGE,
        str(PayloadTooLargeError.status): str(REQUEST_TOO_LARGE.message),
        str(ThrottledError.status): "throttled by the usage plan (rate, burst or quota)",
    }
    if auth == AuthMode.API_KEY:
        answers[str(ForbiddenError.status)] = str(INVALID_API_KEY.message)
    elif auth == AuthMode.IAM:
        answers[str(ForbiddenError.status)] = (
            "the request is not signed (SigV4) by a principal allowed to call this API"
        )
    return answers

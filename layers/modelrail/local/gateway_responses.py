"""The answers API Gateway gives itself (no function ran), as the stack customizes them.

Each mirrors one gateway response type of ``infra/gateway_responses.py`` in API-key mode (status, code, message,
``Retry-After``); a functional test holds the two tables equal.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from modelrail.errors import (
    API_KEY_REJECTED_MESSAGE,
    NO_SUCH_ROUTE_MESSAGE,
    ForbiddenError,
    InternalError,
    ModelrailError,
    ModelUnavailableError,
    NotFoundError,
    PayloadTooLargeError,
    UnsupportedMediaTypeError,
    UpstreamTimeoutError,
)
from modelrail.local.events import ProxyResponse

JSON_HEADERS = (("Content-Type", "application/json"),)


@dataclass(frozen=True)
class GatewayAnswer:
    """One gateway response type: which error it is, and with which message."""

    response_type: str
    error: type[ModelrailError]
    message: str
    retry_after_s: int | None = None
    status: int | None = None
    """Set for DEFAULT_5XX, which keeps the status of what fell through (e.g. 502 for a failed function)."""

    def response(self, detail: str | None = None) -> ProxyResponse:
        """The HTTP answer: the SPEC's JSON error body."""
        headers = list(JSON_HEADERS)
        if self.retry_after_s is not None:
            headers.append(("Retry-After", str(self.retry_after_s)))
        body = {"error": self.message if detail is None else detail, "code": self.error.code}
        return ProxyResponse(self.status or self.error.status, headers, json.dumps(body).encode())


MISSING_AUTHENTICATION_TOKEN = GatewayAnswer("MISSING_AUTHENTICATION_TOKEN", ForbiddenError, API_KEY_REJECTED_MESSAGE)
"""API Gateway's answer to a method a known path (a resource) lacks: as a rejected key, so that without a key known
and unknown paths cannot be told apart."""
INVALID_API_KEY = GatewayAnswer("INVALID_API_KEY", ForbiddenError, API_KEY_REJECTED_MESSAGE)
"""A missing and a wrong key alike."""
NO_SUCH_ROUTE = GatewayAnswer("CATCH_ALL", NotFoundError, NO_SUCH_ROUTE_MESSAGE)
"""The stack's key-protected ``ANY /{proxy+}`` mock: a path no route has, to a caller with a valid key (and, with
no key configured, any unknown path or method)."""
REQUEST_TOO_LARGE = GatewayAnswer(
    "REQUEST_TOO_LARGE", PayloadTooLargeError, "request body over API Gateway's 10 MB limit; send less per call"
)
UNSUPPORTED_MEDIA_TYPE = GatewayAnswer("UNSUPPORTED_MEDIA_TYPE", UnsupportedMediaTypeError, "Unsupported Media Type")
"""A non-JSON body on a SageMaker route (its integration has only an application/json template)."""
INTEGRATION_TIMEOUT = GatewayAnswer(
    "INTEGRATION_TIMEOUT",
    UpstreamTimeoutError,
    "the model did not answer within API Gateway's 29 s integration timeout",
)
INTEGRATION_FAILURE = GatewayAnswer(
    "INTEGRATION_FAILURE",
    ModelUnavailableError,
    "the model's compute could not be reached; retry shortly",
    retry_after_s=5,
)
FUNCTION_FAILED = GatewayAnswer("DEFAULT_5XX", InternalError, "Internal server error", status=502)
"""A Lambda function that raised, crashed, timed out or returned a malformed proxy response: API Gateway's 502."""

MIRRORED = (
    MISSING_AUTHENTICATION_TOKEN,
    INVALID_API_KEY,
    REQUEST_TOO_LARGE,
    UNSUPPORTED_MEDIA_TYPE,
    INTEGRATION_TIMEOUT,
    INTEGRATION_FAILURE,
    FUNCTION_FAILED,
)
"""The answers that mirror a gateway response of the stack (a test compares them)."""

LAMBDA_PAYLOAD_TOO_LARGE = GatewayAnswer(
    "REQUEST_TOO_LARGE",
    PayloadTooLargeError,
    "request over Lambda's 6 MB invocation limit (the whole event, base64 body included); send less per call",
)
"""Lambda refuses an event over 6 MB before the function runs; the caller gets a 413."""

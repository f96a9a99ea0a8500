"""API Gateway's own answers (bad key, unknown route, throttled, too large, timeout) in the SPEC's error body.

Gateway-response templates are plain variable substitution, not VTL, so each response type gets one fixed
status, code and message. ``docs/architecture.md`` ("Auth") fixes the same answers for local mode.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

from infra.auth import AuthMode
from modelrail.errors import (
    API_KEY_REJECTED_MESSAGE,
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

OWN_MESSAGE = "$context.error.messageString"
"""API Gateway's own message, already a quoted JSON string."""


@dataclass(frozen=True)
class GatewayAnswer:
    """One gateway response type as the API answers it."""

    response_type: str
    """An ``aws_apigateway.ResponseType`` attribute name, e.g. ``INVALID_API_KEY``."""
    error: type[ModelrailError]
    message: str | None = None
    """Fixed message, or ``None`` for API Gateway's own."""
    retry_after_s: int | None = None
    keep_status: bool = False
    """DEFAULT_4XX/5XX: keep the status of whatever unlisted type fell through (setting one would override all)."""

    @property
    def status(self) -> int | None:
        """The HTTP status this answer sets, or ``None`` to keep API Gateway's."""
        return None if self.keep_status else self.error.status

    def body_template(self) -> str:
        """The ``application/json`` template: the SPEC's ``{"error": ..., "code": ...}``."""
        message = OWN_MESSAGE if self.message is None else json.dumps(self.message)
        return f'{{"error": {message}, "code": {json.dumps(self.error.code)}}}'

    def headers(self) -> dict[str, str]:
        """Response headers, as API Gateway's quoted static values."""
        headers = {"Content-Type": "'application/json'"}
        if self.retry_after_s is not None:
            headers["Retry-After"] = f"'{self.retry_after_s}'"
        return headers


def gateway_answers(auth: AuthMode) -> tuple[GatewayAnswer, ...]:
    """Every gateway response type the API customizes, for one auth mode."""
    unsigned_or_unknown = (
        # API Gateway raises MISSING_AUTHENTICATION_TOKEN for "an unsupported API method or resource" ("Gateway
        # response types for API Gateway"): with the API-key catch-all (``InferenceApi``) that is a method a known
        # path lacks. It answers as a rejected key does, so a caller without a key cannot tell a known path from
        # an unknown one (which reaches the catch-all and its INVALID_API_KEY).
        GatewayAnswer("MISSING_AUTHENTICATION_TOKEN", ForbiddenError, API_KEY_REJECTED_MESSAGE)
        if auth is AuthMode.API_KEY
        # with IAM auth, API Gateway raises the same type for an unsigned request as for an unknown route
        else GatewayAnswer(
            "MISSING_AUTHENTICATION_TOKEN",
            ForbiddenError,
            "request not signed with AWS Signature Version 4, or no such route (see GET /openapi.json)",
        )
    )
    return (
        GatewayAnswer("INVALID_API_KEY", ForbiddenError, API_KEY_REJECTED_MESSAGE),
        unsigned_or_unknown,
        GatewayAnswer("ACCESS_DENIED", ForbiddenError),
        GatewayAnswer("EXPIRED_TOKEN", ForbiddenError),
        GatewayAnswer("INVALID_SIGNATURE", ForbiddenError),
        GatewayAnswer("WAF_FILTERED", ForbiddenError),
        GatewayAnswer("UNAUTHORIZED", UnauthorizedError),
        GatewayAnswer("RESOURCE_NOT_FOUND", NotFoundError),
        GatewayAnswer("BAD_REQUEST_BODY", InvalidInputError),
        GatewayAnswer("BAD_REQUEST_PARAMETERS", InvalidInputError),
        GatewayAnswer("UNSUPPORTED_MEDIA_TYPE", UnsupportedMediaTypeError),
        GatewayAnswer(
            "REQUEST_TOO_LARGE", PayloadTooLargeError, "request body over API Gateway's 10 MB limit; send less per call"
        ),
        GatewayAnswer("THROTTLED", ThrottledError, "too many requests for this API key; retry later", retry_after_s=1),
        GatewayAnswer("QUOTA_EXCEEDED", ThrottledError, "this API key's request quota for the period is used up"),
        GatewayAnswer(
            "INTEGRATION_TIMEOUT",
            UpstreamTimeoutError,
            "the model did not answer within API Gateway's 29 s integration timeout",
        ),
        GatewayAnswer(
            "INTEGRATION_FAILURE",
            ModelUnavailableError,
            "the model's compute could not be reached; retry shortly",
            retry_after_s=5,
        ),
        GatewayAnswer("API_CONFIGURATION_ERROR", InternalError),
        GatewayAnswer("AUTHORIZER_CONFIGURATION_ERROR", InternalError),
        GatewayAnswer("AUTHORIZER_FAILURE", InternalError),
        GatewayAnswer("DEFAULT_4XX", InvalidInputError, keep_status=True),
        GatewayAnswer("DEFAULT_5XX", InternalError, keep_status=True),
    )

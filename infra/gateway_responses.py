"""API Gateway's own answers (``modelrail.contract.gateway``) rendered as gateway-response properties."""

from __future__ import annotations

import json

from modelrail.contract.gateway import GatewayAnswer

OWN_MESSAGE = "$context.error.messageString"
"""API Gateway's own message, already a quoted JSON string."""


def body_template(answer: GatewayAnswer) -> str:
    """The ``application/json`` template: the SPEC's ``{"error": ..., "code": ...}``."""
    message = OWN_MESSAGE if answer.message is None else json.dumps(answer.message)
    return f'{{"error": {message}, "code": {json.dumps(answer.error.code)}}}'


def response_headers(answer: GatewayAnswer) -> dict[str, str]:
    """Response headers, as API Gateway's quoted static values."""
    return {name: f"'{value}'" for name, value in answer.headers().items()}

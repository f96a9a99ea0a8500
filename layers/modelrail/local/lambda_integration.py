"""API Gateway's Lambda proxy integration: request -> REST proxy event -> Invoke -> HTTP response."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from typing import TextIO

import httpx

from modelrail.constants import LAMBDA_MAX_REQUEST_BYTES
from modelrail.local import gateway_responses as answers
from modelrail.local.events import (
    HttpRequest,
    MalformedProxyResponseError,
    ProxyResponse,
    build_proxy_event,
    event_payload,
    parse_proxy_response,
)
from modelrail.local.lambda_function import LambdaFunction
from modelrail.local.routing import RouteMatch

API_GATEWAY_TIMEOUT_S = 29.0
"""API Gateway's integration timeout."""


@dataclass(frozen=True)
class RequestContext:
    """What the gateway knows about one request beyond its HTTP content."""

    request_id: str
    port: int
    client: httpx.AsyncClient
    api_key: str | None = None


class LambdaIntegration:
    """One function behind its routes."""

    def __init__(self, function: LambdaFunction, *, output: TextIO | None = None) -> None:
        self.function = function
        self.output = output if output is not None else sys.stderr

    async def __call__(self, request: HttpRequest, match: RouteMatch, context: RequestContext) -> ProxyResponse:
        """Send the request to the function as API Gateway does, and turn its answer into the HTTP response."""
        event = build_proxy_event(
            request,
            resource=match.route.path,
            path_parameters=match.path_parameters,
            api_key=context.api_key,
            port=context.port,
            request_id=context.request_id,
        )
        payload = event_payload(event)  # sized in UTF-8 bytes, as Lambda counts them
        if len(payload) > LAMBDA_MAX_REQUEST_BYTES:
            return answers.LAMBDA_PAYLOAD_TOO_LARGE.response()
        limit = min(self.function.config.timeout_s, API_GATEWAY_TIMEOUT_S)
        invocation = await self.function.invoke_payload(payload, client=context.client, timeout_s=limit)
        if invocation.timed_out and self.function.config.timeout_s >= API_GATEWAY_TIMEOUT_S:
            return answers.INTEGRATION_TIMEOUT.response()
        if invocation.function_error:
            self._log_failure(invocation.payload)
            return answers.FUNCTION_FAILED.response()
        try:
            return parse_proxy_response(invocation.payload, accept=request.first_header("accept"))
        except MalformedProxyResponseError as exc:
            print(f"[gateway] {self.function.config.name}: {exc.message}", file=self.output, flush=True)
            return answers.FUNCTION_FAILED.response()

    def _log_failure(self, payload: bytes) -> None:
        try:
            document = json.loads(payload)
            what = f"{document.get('errorType')}: {document.get('errorMessage')}"
        except (ValueError, AttributeError):
            what = "unreadable error document"
        print(f"[gateway] {self.function.config.name} failed: {what}", file=self.output, flush=True)

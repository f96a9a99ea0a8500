"""The answers API Gateway gives itself (no function ran): ``modelrail.contract.gateway`` as local mode sends them."""

from __future__ import annotations

import json
from dataclasses import dataclass

from modelrail.contract import gateway
from modelrail.local.events import ProxyResponse


@dataclass(frozen=True)
class LocalAnswer:
    """One gateway response of the contract, with the status API Gateway keeps where the answer keeps one."""

    answer: gateway.GatewayAnswer
    kept_status: int | None = None

    def response(self) -> ProxyResponse:
        """The HTTP answer: the SPEC's JSON error body."""
        body = json.dumps(self.answer.body(gateway.OWN_MESSAGES.get(self.answer.response_type, ""))).encode()
        status = self.answer.status or self.kept_status or self.answer.error.status
        return ProxyResponse(status, list(self.answer.headers().items()), body)


MISSING_AUTHENTICATION_TOKEN = LocalAnswer(gateway.MISSING_AUTHENTICATION_TOKEN)
INVALID_API_KEY = LocalAnswer(gateway.INVALID_API_KEY)
NO_SUCH_ROUTE = LocalAnswer(gateway.NO_SUCH_ROUTE)
REQUEST_TOO_LARGE = LocalAnswer(gateway.REQUEST_TOO_LARGE)
UNSUPPORTED_MEDIA_TYPE = LocalAnswer(gateway.UNSUPPORTED_MEDIA_TYPE)
INTEGRATION_TIMEOUT = LocalAnswer(gateway.INTEGRATION_TIMEOUT)
INTEGRATION_FAILURE = LocalAnswer(gateway.INTEGRATION_FAILURE)
FUNCTION_FAILED = LocalAnswer(gateway.DEFAULT_5XX, kept_status=gateway.LAMBDA_FAILED_STATUS)
LAMBDA_PAYLOAD_TOO_LARGE = LocalAnswer(gateway.LAMBDA_PAYLOAD_TOO_LARGE)

"""Local mode answers as the synthesized stack does: the same gateway responses, the same SageMaker error
mapping (the stack's generated VTL, rendered by a Velocity engine), the same request to InvokeEndpoint."""

from __future__ import annotations

import asyncio
import base64
import json
import re
from typing import Any

import pytest

from infra.constructs.inference_api import catch_all_body
from infra.gateway_responses import OWN_MESSAGE, body_template, response_headers
from infra.sagemaker_errors import integration_answers, model_error_template
from infra.sagemaker_requests import request_parameters, request_template
from modelrail.constants import SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER
from modelrail.contract.auth import AuthMode
from modelrail.contract.gateway import LAMBDA_FAILED_STATUS, OWN_MESSAGES, gateway_answers
from modelrail.contract.sagemaker import SAGEMAKER_ERRORS, sagemaker_error
from modelrail.errors import NotFoundError
from modelrail.invoke_endpoint import JSON_CONTENT_TYPE
from modelrail.local import gateway_responses as local_answers
from modelrail.local import sagemaker_integration
from modelrail.local.events import HttpRequest
from modelrail.local.lambda_integration import RequestContext
from modelrail.local.routing import RouteMatch
from modelrail.local.sagemaker_endpoint import EndpointAnswer
from modelrail.local.sagemaker_integration import model_error_response
from modelrail.routes import model_routes
from tests.infra.apigateway_vtl import answer, render

CLOUD = {answer.response_type: answer for answer in gateway_answers(AuthMode.API_KEY)}
LOCAL = [
    value
    for value in vars(local_answers).values()
    if isinstance(value, local_answers.LocalAnswer) and value.answer.response_type in CLOUD
]
"""Local mode's gateway answers that stand for a gateway response of the stack (``NO_SUCH_ROUTE`` is the
stack's catch-all mock, compared below)."""


@pytest.mark.parametrize("local", LOCAL, ids=lambda local: local.answer.response_type)
def test_local_gateway_answers_are_the_stacks_rendered_gateway_responses(local: local_answers.LocalAnswer) -> None:
    """The stack's gateway response, as API Gateway fills it in, is what local mode sends."""
    cloud = CLOUD[local.answer.response_type]
    own_message = OWN_MESSAGES.get(cloud.response_type, "")
    sent = json.loads(body_template(local.answer).replace(OWN_MESSAGE, json.dumps(own_message)))
    response = local.response()
    assert json.loads(response.body) == sent
    assert response.status == (cloud.status if cloud.status is not None else LAMBDA_FAILED_STATUS)
    assert dict(response.headers) == {name: value.strip("'") for name, value in response_headers(cloud).items()}
    if local.answer is not cloud:  # Lambda's own 6 MB limit: a second message under the same response type
        assert (local.answer.error, local.answer.status) == (cloud.error, cloud.status)


def test_function_failure_keeps_api_gateways_502_like_the_default_5xx() -> None:
    assert CLOUD["DEFAULT_5XX"].status is None  # the stack keeps API Gateway's own status (502 for Lambda)
    assert local_answers.FUNCTION_FAILED.response().status == 502


SAGEMAKER_MESSAGES = [
    "Endpoint tiny-gpu of account 123456789012 not found.",
    "Endpoint tiny-gpu is not in service",
    "",
    "Rate exceeded",
    "Request payload size too large",
    "1 validation error detected: Value at 'body' failed",
    "Model is not ready yet",
    'it\'s "odd" \\ text',
]
SAGEMAKER_STATUSES = [400, 403, 404, 413, 429, 500, 503, 530]


@pytest.mark.parametrize("status", SAGEMAKER_STATUSES)
@pytest.mark.parametrize("message", SAGEMAKER_MESSAGES)
def test_sagemaker_errors_answer_like_the_stacks_rendered_vtl(status: int, message: str) -> None:
    """Every status class and message rule: the stack's integration responses (its VTL, rendered by a Velocity
    engine) and the contract's answer that local mode sends agree on status, body and Retry-After."""
    responses = [
        {
            "SelectionPattern": a.selection_pattern,
            "StatusCode": str(a.status),
            "ResponseTemplates": {JSON_CONTENT_TYPE: a.template},
            "ContentHandling": "CONVERT_TO_TEXT",  # as infra/constructs/sagemaker_routes.py sets it
        }
        for a in integration_answers()
    ]
    cloud = answer(
        {"IntegrationResponses": [{"StatusCode": "200"}, *responses]}, status, json.dumps({"message": message})
    )
    local = sagemaker_error(status, message)
    assert (local.status, json.loads(local.body)) == (cloud.status, json.loads(cloud.body))
    assert local.retry_after_s == (None if "Retry-After" not in cloud.headers else int(cloud.headers["Retry-After"]))


def test_every_status_rule_is_exercised() -> None:
    for rule in SAGEMAKER_ERRORS:
        assert any(re.fullmatch(rule.selection_pattern, str(status)) for status in SAGEMAKER_STATUSES)


def sagemaker_model_error(status: int | None, original: str | None, message: str = "Received error") -> str:
    body: dict[str, Any] = {"ErrorCode": "CLIENT_ERROR_FROM_MODEL", "Message": message}
    if status is not None:
        body |= {"OriginalStatusCode": status, "OriginalMessage": original}
    return json.dumps(body)


CONTAINER_ANSWERS = [
    (400, json.dumps({"error": "input `x`: expected shape [-1, 4]", "code": "invalid_input"})),
    (404, json.dumps({"error": "model `m` has no version `3`", "code": "version_not_found"})),
    (503, json.dumps({"error": "checksum mismatch", "code": "model_unavailable"})),
    (429, json.dumps({"error": "slow down", "code": "throttled"})),
    (500, '<html>it\'s "broken"</html>'),
    (413, "request too big"),
    (422, "cannot decode image"),
    (418, "teapot"),
]


@pytest.mark.parametrize(("status", "original"), CONTAINER_ANSWERS, ids=[str(s) for s, _ in CONTAINER_ANSWERS])
def test_container_errors_map_like_the_stacks_model_error_template(status: int, original: str) -> None:
    cloud = render(model_error_template(), body=sagemaker_model_error(status, original))
    local = model_error_response(EndpointAnswer(False, status, original.encode()))
    assert local.status == cloud.status
    assert json.loads(local.body) == json.loads(cloud.body)
    assert dict(local.headers).get("Retry-After") == cloud.headers.get("Retry-After")


def test_container_that_never_answered_maps_like_the_stack() -> None:
    cloud = render(model_error_template(), body=sagemaker_model_error(None, None, "container failed"))
    local = model_error_response(EndpointAnswer(False, 0))
    assert local.status == cloud.status == 503
    assert json.loads(local.body) == json.loads(cloud.body)


TIMEOUT_TEXT = (
    "Your invocation timed out while waiting for a response from container primary. Review the latency metrics "
    "for each container in Amazon CloudWatch, resolve the issue, and try again."
)
NEVER_ANSWERED = [
    # SageMaker's timeout: OriginalStatusCode 0 ("Troubleshoot Neo Inference Errors", SageMaker developer guide)
    (0, TIMEOUT_TEXT, f'Received server error (0) from primary with message "{TIMEOUT_TEXT}".', 504),
    (0, "", 'Received server error (0) from primary with message "".', 503),
    (None, None, TIMEOUT_TEXT, 504),
]


@pytest.mark.parametrize(("status", "original", "message", "expected"), NEVER_ANSWERED)
def test_container_that_never_answered_with_status_0_maps_like_the_stack(
    status: int | None, original: str | None, message: str, expected: int
) -> None:
    cloud = render(model_error_template(), body=sagemaker_model_error(status, original, message))
    local = model_error_response(EndpointAnswer(False, status or 0, (original or "").encode(), message=message))
    assert local.status == cloud.status == expected
    assert json.loads(local.body) == json.loads(cloud.body)
    assert json.loads(cloud.body)["code"] == ("upstream_timeout" if expected == 504 else "model_unavailable")
    assert dict(local.headers).get("Retry-After") == cloud.headers.get("Retry-After")


class RecordingEndpoint:
    """Stands in for the container: records what local mode's integration sends to InvokeEndpoint."""

    def __init__(self) -> None:
        self.sent: dict[str, Any] = {}

    async def invoke(self, body: bytes, **kwargs: Any) -> EndpointAnswer:
        self.sent = {"body": body, **kwargs}
        return EndpointAnswer(True, 200, b"{}", "application/json")


@pytest.mark.parametrize("route", model_routes("tiny-gpu", versions=["3"]), ids=lambda r: f"{r.method} {r.path}")
def test_invoke_endpoint_request_matches_the_stacks_mapping(route: Any) -> None:
    """A tritonclient-style binary request (no Content-Type): the same body, custom attributes and Content-Type
    reach InvokeEndpoint from the stack's settings (rendered, base64 where it converts to text) and locally."""
    sent = b'{"inputs": []}\x00\xff'
    template = request_template(route)
    if template is None:  # passthrough
        cloud_body, cloud_headers = sent, {}
    else:
        cloud = render(template, body=base64.b64encode(sent).decode("ascii"), request=True)
        cloud_body, cloud_headers = cloud.body.encode(), cloud.headers
    cloud_headers = {
        key.removeprefix("integration.request.header."): value.strip("'")
        for key, value in request_parameters(route).items()
        if value.startswith("'")  # a mapping from the caller's (absent) Content-Type sends nothing
    } | cloud_headers

    endpoint = RecordingEndpoint()
    integration = sagemaker_integration.SageMakerIntegration(endpoint)  # type: ignore[arg-type]
    request = HttpRequest(route.method, route.path, body=sent if route.method == "POST" else b"")
    match = RouteMatch(route, "tiny-gpu", {})
    context = RequestContext(request_id="r", port=0, client=None)  # type: ignore[arg-type]
    response = asyncio.run(integration(request, match, context))
    assert response.status == 200
    assert endpoint.sent["body"] == cloud_body
    assert endpoint.sent["custom_attributes"] == cloud_headers[SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER]
    assert endpoint.sent["content_type"] == cloud_headers.get("Content-Type")


def test_unknown_route_with_a_key_answers_as_the_stacks_catch_all() -> None:
    local = local_answers.NO_SUCH_ROUTE.response()
    assert local.status == int(NotFoundError.status)
    assert json.loads(local.body) == json.loads(catch_all_body())


def test_a_missing_method_and_a_rejected_key_answer_alike_locally() -> None:
    missing = local_answers.MISSING_AUTHENTICATION_TOKEN.response()
    rejected = local_answers.INVALID_API_KEY.response()
    assert (missing.status, missing.headers, missing.body) == (rejected.status, rejected.headers, rejected.body)

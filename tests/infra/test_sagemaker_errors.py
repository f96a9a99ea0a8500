"""SageMaker answers seen through a GPU route: real HTTP to a fake of the runtime API with SageMaker's real
error shapes, then the integration responses *synthesized in the stack* rendered by a Velocity engine."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

import boto3
import pytest
from apigateway_vtl import Rendered, answer
from botocore.config import Config
from botocore.exceptions import ClientError
from fake_repo import SynthResult
from fake_sagemaker_runtime import Canned, fake_sagemaker_runtime, model_error

from infra.sagemaker_errors import integration_answers
from modelrail.constants import SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER
from modelrail.contract.sagemaker import SAGEMAKER_ERRORS
from modelrail.errors import InternalError

CONTAINER_400 = json.dumps({"error": "input `x`: expected shape [-1, 4], got [2, 3]", "code": "invalid_input"})
CONTAINER_503 = json.dumps({"error": "model not loadable: checksum mismatch", "code": "model_unavailable"})
HTML_500 = '<html><title>500 Internal Server Error</title><p>it\'s "broken" \\ here</p></html>'

TIMEOUT_TEXT = (
    "Your invocation timed out while waiting for a response from container primary. Review the latency metrics "
    "for each container in Amazon CloudWatch, resolve the issue, and try again."
)

ANSWERS: dict[str, Canned] = {
    "ok": Canned(200, None, {"model_name": "tiny-gpu", "outputs": []}),
    "container-400": model_error(400, CONTAINER_400, "Received client error (400) from primary with message ..."),
    "container-503": model_error(503, CONTAINER_503, "Received server error (503) from primary with message ..."),
    "container-html-500": model_error(500, HTML_500, "Received server error (500) from primary with message ..."),
    "container-text-413": model_error(413, "request too big", "Received client error (413) from primary ..."),
    "container-timeout": model_error(
        None,
        None,
        "Your invocation timed out while waiting for a response from container primary. Review the latency "
        "metrics for each container in Amazon CloudWatch, resolve the issue, and try again.",
    ),
    # What SageMaker really sends for a container over its 60 s: a ModelError with OriginalStatusCode 0 (the
    # message of "Troubleshoot Neo Inference Errors", docs.aws.amazon.com/sagemaker/latest/dg/
    # neo-troubleshooting-inference.html).
    "container-timeout-status-0": model_error(
        0, TIMEOUT_TEXT, f'Received server error (0) from primary with message "{TIMEOUT_TEXT}".'
    ),
    "container-gone-status-0": model_error(0, "", 'Received server error (0) from primary with message "".'),
    "container-gone": model_error(
        None, None, "Received server error (0) from primary and could not load the entire response body."
    ),
    "throttled": Canned(400, "ThrottlingException", {"message": None}),
    "bad-request": Canned(400, "ValidationError", {"message": "1 validation error detected: Value at 'body' failed"}),
    "not-ready": Canned(429, "ModelNotReadyException", {"message": "Model is not ready yet"}),
    "unavailable": Canned(503, "ServiceUnavailable", {"message": "Service Unavailable"}),
    "internal": Canned(500, "InternalFailure", {"message": "An internal failure occurred"}),
    "dependency": Canned(530, "InternalDependencyException", {"message": "internal dependency"}),
}

# endpoint -> (status, code or None for a passthrough, Retry-After)
EXPECTED: dict[str, tuple[int, str | None, str | None]] = {
    "ok": (200, None, None),
    "container-400": (400, "invalid_input", None),
    "container-503": (503, "model_unavailable", "5"),
    "container-html-500": (500, "internal_error", None),
    "container-text-413": (413, "payload_too_large", None),
    "container-timeout": (504, "upstream_timeout", None),
    "container-gone": (503, "model_unavailable", "5"),
    "container-timeout-status-0": (504, "upstream_timeout", None),
    "container-gone-status-0": (503, "model_unavailable", "5"),
    "missing-endpoint": (503, "model_unavailable", "5"),
    "throttled": (429, "throttled", "1"),
    "bad-request": (400, "invalid_input", None),
    "not-ready": (503, "model_unavailable", "5"),
    "unavailable": (503, "model_unavailable", "5"),
    "internal": (503, "model_unavailable", "5"),
    "dependency": (503, "model_unavailable", "5"),
}

BOTO_ERROR_CODES = {
    "missing-endpoint": "ValidationError",
    "throttled": "ThrottlingException",
    "bad-request": "ValidationError",
    "not-ready": "ModelNotReadyException",
    "unavailable": "ServiceUnavailable",
    "internal": "InternalFailure",
    "dependency": "InternalDependencyException",
}

ROUTE = ("POST", "/v2/models/tiny-gpu/versions/1/infer")
REQUEST = json.dumps({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}]})


@pytest.fixture(scope="module")
def integration(with_gpu: SynthResult) -> dict[str, Any]:
    """The synthesized integration of the versioned v2 infer route."""
    integration: dict[str, Any] = with_gpu.methods()[ROUTE]["Integration"]
    return integration


def call_through_gateway(integration: dict[str, Any], base_url: str, endpoint: str) -> Rendered:
    """Do what API Gateway does: pass the body through (no template), set the static headers, call
    InvokeEndpoint, map the answer. The caller sends no Content-Type, as tritonclient does."""
    assert "RequestTemplates" not in integration
    assert "ContentHandling" not in integration
    headers = {
        key.removeprefix("integration.request.header."): value.strip("'")
        for key, value in integration["RequestParameters"].items()
        if value.startswith("'")  # mapped from the caller's (absent) headers: not sent
    }
    http_request = urllib.request.Request(
        f"{base_url}/endpoints/{endpoint}/invocations", data=REQUEST.encode(), headers=headers, method="POST"
    )
    try:
        with urllib.request.urlopen(http_request, timeout=5) as response:
            status, body = response.status, response.read().decode()
    except urllib.error.HTTPError as error:
        status, body = error.code, error.read().decode()
    return answer(integration, status, body)


@pytest.mark.parametrize("endpoint", sorted(EXPECTED))
def test_sagemaker_answer_reaches_the_caller_in_the_error_contract(integration: dict[str, Any], endpoint: str) -> None:
    status, code, retry_after = EXPECTED[endpoint]
    with fake_sagemaker_runtime(ANSWERS) as (url, received):
        result = call_through_gateway(integration, url, endpoint)
    assert received[0]["headers"][SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER.lower()] == "route=v2-infer;version=1"
    assert json.loads(received[0]["body"]) == json.loads(REQUEST)
    assert result.status == status
    body = json.loads(result.body)  # every answer is JSON
    if code is None:
        assert body == ANSWERS[endpoint].body
        return
    assert body["code"] == code
    assert set(body) == {"error", "code"}
    assert body["error"]
    assert result.headers.get("Content-Type") == "application/json"
    assert result.headers.get("Retry-After") == retry_after


def test_container_error_body_is_passed_on_byte_for_byte(integration: dict[str, Any]) -> None:
    with fake_sagemaker_runtime(ANSWERS) as (url, _):
        result = call_through_gateway(integration, url, "container-400")
    assert result.body == CONTAINER_400


def test_non_json_container_body_is_escaped_into_valid_json(integration: dict[str, Any]) -> None:
    with fake_sagemaker_runtime(ANSWERS) as (url, _):
        result = call_through_gateway(integration, url, "container-html-500")
    assert json.loads(result.body) == {"error": HTML_500, "code": InternalError.code}


def test_sagemaker_validation_message_is_passed_on(integration: dict[str, Any]) -> None:
    with fake_sagemaker_runtime(ANSWERS) as (url, _):
        result = call_through_gateway(integration, url, "bad-request")
    assert json.loads(result.body)["error"] == "1 validation error detected: Value at 'body' failed"


@pytest.mark.parametrize("endpoint", sorted(set(ANSWERS) - {"ok"} | {"missing-endpoint"}))
def test_fake_answers_parse_as_sagemaker_errors_in_boto3(endpoint: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """The fake is faithful: boto3's sagemaker-runtime client reads each answer as the real error."""
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        monkeypatch.setenv(key, "testing")
    with fake_sagemaker_runtime(ANSWERS) as (url, _):
        client = boto3.client(
            "sagemaker-runtime",
            endpoint_url=url,
            region_name="us-east-1",
            config=Config(retries={"max_attempts": 1, "mode": "standard"}),
        )
        with pytest.raises(ClientError) as caught:
            client.invoke_endpoint(EndpointName=endpoint, Body=REQUEST.encode(), ContentType="application/json")
    error = caught.value.response
    if endpoint.startswith("container-"):
        assert error["Error"]["Code"] == "ModelError"
        assert error["ResponseMetadata"]["HTTPStatusCode"] == 424
        canned = ANSWERS[endpoint].body
        assert error.get("OriginalStatusCode") == canned.get("OriginalStatusCode")
        assert error.get("OriginalMessage") == canned.get("OriginalMessage")
    else:
        assert error["Error"]["Code"] == BOTO_ERROR_CODES[endpoint]


def test_every_sagemaker_status_class_is_an_integration_response(integration: dict[str, Any]) -> None:
    patterns = {r.get("SelectionPattern") for r in integration["IntegrationResponses"]}
    assert patterns == {None, *(answer.selection_pattern for answer in integration_answers())}
    templates = {
        r["SelectionPattern"]: r["ResponseTemplates"]["application/json"]
        for r in integration["IntegrationResponses"]
        if "SelectionPattern" in r
    }
    assert templates == {a.selection_pattern: a.template for a in integration_answers()}


def test_selection_patterns_cover_every_error_status_exactly_once() -> None:
    for status in range(400, 600):
        matches = [a for a in integration_answers() if re.fullmatch(a.selection_pattern, str(status))]
        assert len(matches) == 1, (status, [m.selection_pattern for m in matches])
    assert not any(re.fullmatch(a.selection_pattern, "200") for a in integration_answers())


def test_table_has_one_rule_per_status_class() -> None:
    patterns = [rule.selection_pattern for rule in SAGEMAKER_ERRORS]
    assert len(patterns) == len(set(patterns))

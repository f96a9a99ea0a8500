"""The local gateway over real loopback HTTP: API Gateway's order of checks, its proxy events, its own answers,
and the SageMaker integration, with stand-in handlers and containers behind it."""

from __future__ import annotations

import asyncio
import base64
import http.client
import io
import json
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from modelrail.constants import SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER
from modelrail.contract.sagemaker import MODEL_ERROR_NO_ANSWER
from modelrail.errors import API_KEY_REJECTED_MESSAGE, NO_SUCH_ROUTE_MESSAGE
from modelrail.local import gateway_responses
from modelrail.local.gateway import Gateway
from modelrail.local.lambda_function import LambdaFunction
from modelrail.local.lambda_integration import LambdaIntegration
from modelrail.local.processes import bind_loopback
from modelrail.local.routing import CATALOG, RouteTable
from modelrail.local.sagemaker_endpoint import EndpointConfig, SageMakerEndpoint
from modelrail.local.sagemaker_integration import SageMakerIntegration
from modelrail.local.threaded_server import ThreadedServer
from modelrail.routes import Operation, Route, custom_attributes, model_routes
from tests.support.local_standins import start_standin_function

KEY = "test-key-1"
GPU_VERSIONS = ["3", "9", "500", "exit"]
"""Served versions of the stand-in container; it answers versions 9, 500 and exit with its test failures."""
PREDICT = Operation.V1_PREDICT
ROUTES: list[tuple[Route, str]] = [
    (Route("GET", "/echo", PREDICT), "fn"),
    (Route("POST", "/echo", PREDICT), "fn"),
    (Route("POST", "/size", PREDICT), "fn"),
    *((Route("GET", f"/{path}", PREDICT), "fn") for path in ("raise", "malformed", "binary")),
    *((route, "gpu") for route in model_routes("gpu", versions=GPU_VERSIONS)),
]


@pytest.fixture(scope="module")
def function(standin_handler: str) -> Iterator[LambdaFunction]:
    function = start_standin_function(standin_handler)
    yield function
    function.close()


@pytest.fixture(scope="module")
def endpoint(standin_container: str) -> Iterator[SageMakerEndpoint]:
    endpoint = SageMakerEndpoint(EndpointConfig(name="gpu", app=standin_container))
    endpoint.start()
    endpoint.wait_in_service(60)
    yield endpoint
    endpoint.close()


@pytest.fixture(scope="module")
def base_url(function: LambdaFunction, endpoint: SageMakerEndpoint) -> Iterator[str]:
    sock = bind_loopback()
    port = sock.getsockname()[1]
    gateway = Gateway(
        RouteTable(ROUTES),
        {"fn": LambdaIntegration(function), "gpu": SageMakerIntegration(endpoint)},
        api_key=KEY,
        port=port,
    )
    with ThreadedServer(gateway, sock) as url:
        yield url


def get(base_url: str, path: str, *, key: str | None = KEY, **kwargs: Any) -> httpx.Response:
    headers = {"x-api-key": key} if key else {}
    headers.update(kwargs.pop("headers", {}))
    return httpx.request(kwargs.pop("method", "GET"), base_url + path, headers=headers, timeout=30, **kwargs)


def error_of(response: httpx.Response) -> dict[str, str]:
    assert response.headers["content-type"] == "application/json"
    document: dict[str, str] = response.json()
    assert set(document) == {"error", "code"}
    return document


def test_request_reaches_the_handler_as_a_rest_proxy_event(base_url: str) -> None:
    response = get(base_url, "/echo?q=1&q=2", method="POST", content=b'{"a": 1}', headers={"X-Trace": "t"})
    assert response.status_code == 200
    assert response.headers["x-standin"] == "yes"
    assert response.headers["x-multi"] == "1, 2"
    assert response.headers["x-amzn-requestid"]
    event = response.json()["event"]
    assert event["httpMethod"] == "POST"
    assert event["resource"] == "/echo"
    assert base64.b64decode(event["body"]) == b'{"a": 1}'  # binaryMediaTypes */*, as the stack
    assert event["isBase64Encoded"] is True
    assert event["multiValueQueryStringParameters"] == {"q": ["1", "2"]}
    assert event["headers"]["x-trace"] == "t"
    assert event["requestContext"]["identity"]["apiKey"] == KEY
    assert event["requestContext"]["requestId"] == response.headers["x-amzn-requestid"]


@pytest.mark.parametrize("content_type", [None, "application/octet-stream", "application/json"])
def test_any_request_body_reaches_the_function_byte_exact(base_url: str, content_type: str | None) -> None:
    raw = bytes(range(256)) * 3
    headers = {"Content-Type": content_type} if content_type else {}
    event = get(base_url, "/echo", method="POST", content=raw, headers=headers).json()["event"]
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


@pytest.mark.parametrize("accept", ["application/octet-stream", "*/*", "application/octet-stream, text/html"])
def test_binary_answer_is_bytes_when_the_first_accept_is_a_binary_media_type(base_url: str, accept: str) -> None:
    received = get(base_url, "/binary", headers={"Accept": accept})
    assert received.content == bytes(range(256))
    assert received.headers["content-type"] == "application/octet-stream"


def test_binary_answer_without_accept_is_the_base64_text_as_api_gateway_sends_it(base_url: str) -> None:
    connection = http.client.HTTPConnection(base_url.removeprefix("http://"), timeout=30)  # sends no Accept
    connection.request("GET", "/binary", headers={"x-api-key": KEY})
    received = connection.getresponse()
    assert received.read() == base64.b64encode(bytes(range(256)))
    connection.close()


@pytest.mark.parametrize("key", [None, "wrong-key", KEY.upper()])
def test_missing_or_wrong_key_is_403_before_the_function_runs(base_url: str, key: str | None) -> None:
    response = get(base_url, "/echo", key=key)
    assert response.status_code == 403
    assert error_of(response) == {"error": API_KEY_REJECTED_MESSAGE, "code": "forbidden"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nope"),
        ("DELETE", "/echo"),
        ("GET", "/v1/models/other/predict"),
        ("GET", "/v1/models/gpu/predict"),
        ("GET", "/v1/models/gpu"),
        ("POST", "/"),
    ],
)
def test_without_a_key_known_and_unknown_routes_answer_alike(base_url: str, method: str, path: str) -> None:
    for key in (None, "wrong-key"):
        response = get(base_url, path, key=key, method=method)
        assert response.status_code == 403
        assert error_of(response) == {"error": API_KEY_REJECTED_MESSAGE, "code": "forbidden"}


@pytest.mark.parametrize("path", ["/nope", "/v1/models/other/predict", "/v2/models/gpu/versions/3/x"])
def test_unknown_path_with_a_key_is_the_catch_alls_404(base_url: str, path: str) -> None:
    response = get(base_url, path)
    assert response.status_code == 404
    assert error_of(response) == {"error": NO_SUCH_ROUTE_MESSAGE, "code": "not_found"}


@pytest.mark.parametrize(("method", "path"), [("DELETE", "/echo"), ("GET", "/v1/models/gpu/predict")])
def test_missing_method_on_a_known_path_is_403_even_with_a_key(base_url: str, method: str, path: str) -> None:
    response = get(base_url, path, method=method)
    assert response.status_code == 403  # API Gateway's MISSING_AUTHENTICATION_TOKEN, answered as a rejected key


def test_body_over_10_mb_is_413_from_the_gateway(base_url: str) -> None:
    response = get(base_url, "/echo", method="POST", content=b"x" * (10 * 1024 * 1024 + 1))
    assert response.status_code == 413
    assert error_of(response)["code"] == "payload_too_large"


def test_event_over_lambdas_6_mb_is_413(base_url: str) -> None:
    response = get(base_url, "/echo", method="POST", content=b"x" * (6 * 1024 * 1024))
    assert response.status_code == 413
    assert error_of(response) == json.loads(gateway_responses.LAMBDA_PAYLOAD_TOO_LARGE.response().body)


def test_non_ascii_body_is_sized_in_utf8_bytes_as_lambda_counts_it(base_url: str) -> None:
    # 2.38 MB of UTF-8 (2 bytes per Cyrillic letter): well inside Lambda's 6 MB, but 6.6 MB if every character
    # were counted as a \uXXXX escape
    text = "Привет, мир! Это длинный текст на русском языке для проверки размера запроса. " * 1125
    body = json.dumps({"instances": [text] * 15}, ensure_ascii=False).encode("utf-8")
    assert 2_300_000 < len(body) < 2_400_000 < 6 * 1024 * 1024 < len(json.dumps({"instances": [text] * 15}))
    response = get(base_url, "/size", method="POST", content=body, headers={"Content-Type": "application/json"})
    assert response.status_code == 200, response.text
    assert response.json() == {"chars": len(body.decode("utf-8")), "utf8_bytes": len(body)}


@pytest.mark.parametrize("path", ["/raise", "/malformed"])
def test_failed_function_or_malformed_response_is_502_and_the_next_request_works(base_url: str, path: str) -> None:
    response = get(base_url, path)
    assert response.status_code == 502
    assert error_of(response) == {"error": "Internal server error", "code": "internal_error"}
    assert get(base_url, "/echo").status_code == 200


def test_gpu_route_calls_invocations_with_the_operation_and_version(base_url: str) -> None:
    response = get(base_url, "/v2/models/gpu/versions/3/infer", method="POST", content=b'{"inputs": []}')
    assert response.status_code == 200
    seen = response.json()
    # versioned: a passthrough too, the route's own version a static part of the header
    assert seen["headers"][SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER.lower()] == "route=v2-infer;version=3"
    assert "content-type" not in seen["headers"]  # the caller sent none; the mapping forwards the caller's
    assert seen["body"] == '{"inputs": []}'
    route = model_routes("gpu", versions=GPU_VERSIONS)[1]  # GET metadata: a body of {} to /invocations
    metadata = get(base_url, route.path).json()
    assert metadata["headers"][SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER.lower()] == custom_attributes(route.operation)
    assert metadata["body"] == "{}"


def test_unversioned_gpu_post_passes_any_body_through_with_its_content_type(base_url: str) -> None:
    raw = b'{"inputs": []}\x00\x01'
    headers = {"Content-Type": "application/octet-stream"}
    response = get(base_url, "/v2/models/gpu/infer", method="POST", content=raw, headers=headers)
    assert response.status_code == 200
    seen = response.json()
    assert seen["headers"][SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER.lower()] == "route=v2-infer"
    assert seen["headers"]["content-type"] == "application/octet-stream"
    assert seen["body"] == raw.decode("utf-8", "replace")


def test_templated_gpu_routes_refuse_other_content_types_like_the_stack(base_url: str) -> None:
    for method, path in (("GET", "/v2/models/gpu/versions/3"), ("GET", "/v2/models/gpu")):
        response = get(base_url, path, method=method, content=b"x", headers={"Content-Type": "text/plain"})
        assert response.status_code == 415
        assert error_of(response)["code"] == "unsupported_media_type"


def test_gpu_container_errors_come_back_with_the_containers_status(base_url: str) -> None:
    json_error = get(base_url, "/v2/models/gpu/versions/9/ready")
    assert json_error.status_code == 404
    assert error_of(json_error) == {"error": "no version 9", "code": "version_not_found"}
    text_error = get(base_url, "/v2/models/gpu/versions/500/ready")
    assert text_error.status_code == 500
    assert error_of(text_error) == {"error": "plain failure", "code": "internal_error"}


def test_gpu_container_crash_is_503_and_a_new_container_serves_next(base_url: str) -> None:
    crashed = get(base_url, "/v2/models/gpu/versions/exit/ready")
    assert crashed.status_code == 503
    assert crashed.headers["retry-after"] == "5"
    assert error_of(crashed) == {"error": MODEL_ERROR_NO_ANSWER[1], "code": "model_unavailable"}
    assert get(base_url, "/v2/models/gpu/infer", method="POST", content=b"{}").status_code == 200


def test_gateway_refuses_a_route_without_an_integration() -> None:
    with pytest.raises(ValueError, match=CATALOG):
        Gateway(RouteTable.for_models({}), {}, api_key=None, port=1)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v2/models/gpu/versions/3%3Broute%3Dv1-predict/infer"),
        ("GET", "/v2/models/gpu/versions/3%3Broute%3Dopenapi"),
        ("GET", "/v2/models/gpu/versions/%C3%A9/ready"),
        ("POST", "/v2/models/gpu/versions/4/infer"),
    ],
)
def test_a_version_that_is_not_served_is_the_gateways_404_and_never_reaches_the_container(
    base_url: str, method: str, path: str
) -> None:
    response = get(base_url, path, method=method, content=b'{"instances": ["x"]}' if method == "POST" else None)
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert "retry-after" not in response.headers


def test_the_access_log_line_escapes_what_the_path_carries() -> None:
    output = io.StringIO()
    gateway = Gateway(RouteTable(ROUTES[:1]), {"fn": LambdaIntegration(None)}, api_key=None, port=1, output=output)  # type: ignore[arg-type]

    async def call() -> int:
        transport = httpx.ASGITransport(app=gateway)
        async with httpx.AsyncClient(transport=transport, base_url="http://gw") as client:
            return (await client.get("/nothing%0A[gateway] GET /forged -> 200%20\u00e9")).status_code

    assert asyncio.run(call()) == 404
    lines = output.getvalue().splitlines()
    assert len(lines) == 1
    assert "/nothing%0A%5Bgateway%5D%20GET%20/forged%20-%3E%20200%20%C3%A9 -> 404" in lines[0]

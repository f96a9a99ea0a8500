"""API Gateway event shapes as AWS writes them, through ``modelrail invoke``, for a CPU model and the GPU model.

Each shape follows a sample written by AWS tooling, with only the method, path and body changed: the REST API
(v1) proxy event of the Lambda developer guide and aws-lambda-go's ``events/testdata/apigw-request.json`` (no
``isBase64Encoded`` key, mixed-case headers, an authorizer, a ``{proxy+}`` resource), Powertools'
``apiGatewayProxyEventPathTrailingSlash.json`` (trailing slash, base64 body), and HTTP API payload 2.0 events
(``apiGatewayProxyV2Event.json``, aws-lambda-go's ``apigw-v2-request-{iam,lambda-authorizer}.json``: cookies,
JWT / Lambda / IAM authorizers, lower-case comma-joined headers, ``rawQueryString``). A custom domain's base path
mapping keeps its prefix in a REST event's ``path`` (``/prod/v2/...``) and never in a 2.0 event's ``rawPath``
(docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html).

Every shape must get the answer the plain event gets: same status, same body.
"""

from __future__ import annotations

import base64
import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from modelrail.constants import MODEL_VERSION_HEADER
from modelrail.local.deployment import LocalDeployment
from modelrail.local.invoke import invoke_event
from tests.support.bundled_deployment import BASE_PATH, CPU_MODEL, GPU_MODEL

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
API_DOMAIN = "a1b2c3d4e5.execute-api.us-east-1.amazonaws.com"
CUSTOM_DOMAIN = "api.example.com"

Event = dict[str, Any]


def body_of(model: str, kind: str) -> str:
    """The request body of the bundled ``events/<model>-<kind>.rest-v1.json``."""
    event = json.loads((ROOT / "events" / f"{model}-{kind}.rest-v1.json").read_text(encoding="utf-8"))
    return str(event["body"])


def routes(model: str) -> list[tuple[str, str, str | None]]:
    """(method, path, body) of the routes each shape is sent to."""
    return [
        ("POST", f"/v1/models/{model}/predict", body_of(model, "predict")),
        ("POST", f"/v2/models/{model}/infer", body_of(model, "infer")),
        ("POST", f"/v2/models/{model}/versions/1/infer", body_of(model, "infer")),
        ("GET", f"/v2/models/{model}", None),
        ("GET", f"/v2/models/{model}/versions/1/ready", None),
    ]


# --- REST API (v1) shapes --------------------------------------------------------------------------------------


def rest_v1(method: str, path: str, body: str | None) -> Event:
    """The REST API proxy event of the Lambda developer guide's sample (headers both single and multi-valued)."""
    headers = {
        "Accept": "application/json",
        "Content-Type": "application/json",
        "Host": API_DOMAIN,
        "User-Agent": "curl/8.5.0",
        "X-Amzn-Trace-Id": "Root=1-5e66d96f-7491f09xmpl79d18acf3d050",
        "X-Forwarded-For": "52.255.255.12",
        "X-Forwarded-Port": "443",
        "X-Forwarded-Proto": "https",
    }
    return {
        "resource": path,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {key: [value] for key, value in headers.items()},
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "pathParameters": None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": "2gxmpl",
            "resourcePath": path,
            "httpMethod": method,
            "extendedRequestId": "JJbxmplHYosFVYQ=",
            "requestTime": "10/Mar/2020:00:03:59 +0000",
            "path": f"/Prod{path}",
            "accountId": "123456789012",
            "protocol": "HTTP/1.1",
            "stage": "Prod",
            "domainPrefix": "a1b2c3d4e5",
            "requestTimeEpoch": 1583798639428,
            "requestId": "77375676-xmpl-4b79-853a-f982474efe18",
            "identity": {
                "cognitoIdentityPoolId": None,
                "accountId": None,
                "cognitoIdentityId": None,
                "caller": None,
                "sourceIp": "52.255.255.12",
                "principalOrgId": None,
                "accessKey": None,
                "cognitoAuthenticationType": None,
                "cognitoAuthenticationProvider": None,
                "userArn": None,
                "userAgent": "curl/8.5.0",
                "user": None,
            },
            "domainName": API_DOMAIN,
            "apiId": "a1b2c3d4e5",
        },
        "body": body,
        "isBase64Encoded": False,
    }


def rest_v1_base64(method: str, path: str, body: str | None) -> Event:
    """The same with the body base64-encoded, as API Gateway sends a body of a binary media type."""
    event = rest_v1(method, path, body)
    if body is not None:
        event["body"] = base64.b64encode(body.encode("utf-8")).decode("ascii")
        event["isBase64Encoded"] = True
    return event


def rest_v1_go_sample(method: str, path: str, body: str | None) -> Event:
    """aws-lambda-go's shape: a ``{proxy+}`` resource, no ``isBase64Encoded`` key, mixed-case and lower-case
    header names, a query string, stage variables and a custom authorizer's context."""
    event = rest_v1(method, path, body)
    del event["isBase64Encoded"]
    event["resource"] = event["requestContext"]["resourcePath"] = "/{proxy+}"
    event["pathParameters"] = {"proxy": path.lstrip("/")}
    event["stageVariables"] = {"stageVariableName": "stageVariableValue"}
    event["queryStringParameters"] = {"name": "me"}
    event["multiValueQueryStringParameters"] = {"name": ["me"]}
    headers = {"accept": "*/*", "cache-control": "no-cache", "CloudFront-Viewer-Country": "US",
               "CONTENT-TYPE": "application/json", "host": API_DOMAIN, "X-Forwarded-Proto": "https"}  # fmt: skip
    event["headers"] = headers
    event["multiValueHeaders"] = {key: [value] for key, value in headers.items()}
    event["requestContext"]["authorizer"] = {"principalId": "admin", "clientId": 1, "clientName": "Exata"}
    return event


def rest_v1_trailing_slash(method: str, path: str, body: str | None) -> Event:
    """Powertools' trailing-slash sample: ``path`` keeps the slash the caller sent, ``resource`` does not."""
    event = rest_v1_base64(method, path, body)
    event["path"] = f"{path}/"
    return event


def rest_v1_no_host_trailing_slash(method: str, path: str, body: str | None) -> Event:
    """A trailing slash and no Host header (Starlette's redirect pointed such calls at ``https://mangum:80``)."""
    event = rest_v1_trailing_slash(method, path, body)
    for key in ("headers", "multiValueHeaders"):
        event[key] = {k: v for k, v in event[key].items() if k.lower() != "host"}
    return event


def rest_v1_null_maps(method: str, path: str, body: str | None) -> Event:
    """Every optional map ``null``, as API Gateway sends them for a request without headers or query string."""
    event = rest_v1(method, path, body)
    if method == "GET":
        event["headers"] = event["multiValueHeaders"] = None
    event["requestContext"]["identity"] = {"sourceIp": "52.255.255.12", "userAgent": None}
    return event


def rest_v1_base_path(method: str, path: str, body: str | None) -> Event:
    """Through ``https://api.example.com/prod``: the custom domain's base path stays at the front of ``path``."""
    event = rest_v1(method, path, body)
    event["path"] = f"{BASE_PATH}{path}"
    event["requestContext"]["path"] = f"{BASE_PATH}{path}"
    event["requestContext"]["domainName"] = CUSTOM_DOMAIN
    event["headers"]["Host"] = CUSTOM_DOMAIN
    event["multiValueHeaders"]["Host"] = [CUSTOM_DOMAIN]
    return event


def rest_v1_base_path_trailing_slash(method: str, path: str, body: str | None) -> Event:
    """A base path and a trailing slash together."""
    event = rest_v1_base_path(method, path, body)
    event["path"] = f"{event['path']}/"
    return event


# --- HTTP API payload 2.0 shapes -------------------------------------------------------------------------------


def http_v2(method: str, path: str, body: str | None) -> Event:
    """Powertools' ``apiGatewayProxyV2Event.json`` shape: cookies, a JWT authorizer, lower-case headers."""
    return {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": path,
        "rawQueryString": "parameter1=value1&parameter1=value2&parameter2=value",
        "cookies": ["cookie1", "cookie2"],
        "headers": {
            "content-type": "application/json",
            "header1": "value1",
            "header2": "value1,value2",
            "host": API_DOMAIN,
        },
        "queryStringParameters": {"parameter1": "value1,value2", "parameter2": "value"},
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "api-id",
            "authorizer": {"jwt": {"claims": {"claim1": "value1", "claim2": "value2"}, "scopes": ["scope1", "scope2"]}},
            "domainName": API_DOMAIN,
            "domainPrefix": "id",
            "http": {
                "method": method,
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": "192.168.0.1/32",
                "userAgent": "agent",
            },
            "requestId": "id",
            "routeKey": "$default",
            "stage": "$default",
            "time": "12/Mar/2020:19:03:58 +0000",
            "timeEpoch": 1583348638390,
        },
        "body": body,
        "pathParameters": {"parameter1": "value1"},
        "isBase64Encoded": False,
        "stageVariables": {"stageVariable1": "value1", "stageVariable2": "value2"},
    }


def http_v2_lambda_authorizer(method: str, path: str, body: str | None) -> Event:
    """aws-lambda-go's Lambda-authorizer sample: mixed-case header names, ``authorizer.lambda``."""
    event = http_v2(method, path, body)
    event["headers"] = {"Content-Type": "application/json", "Header1": "value1", "Header2": "value2"}
    event["requestContext"]["authorizer"] = {"lambda": {"key": "value"}}
    event["requestContext"]["http"]["sourceIp"] = "IP"
    return event


def http_v2_iam_base64(method: str, path: str, body: str | None) -> Event:
    """aws-lambda-go's IAM sample, with a base64 body and no cookies."""
    event = http_v2(method, path, body)
    del event["cookies"]
    event["requestContext"]["authorizer"] = {
        "iam": {"accessKey": "ARIA2ZJZYVUEREEIHAKY", "accountId": "1234567890", "callerId": "AROA7ZJZYVRE7C3DUXHH6",
                "principalOrgId": "AwsOrgId", "userArn": "arn:aws:iam::1234567890:user/Admin",
                "userId": "AROA2ZJZYVRE7Y3TUXHH6"}
    }  # fmt: skip
    if body is not None:
        event["body"] = base64.b64encode(body.encode("utf-8")).decode("ascii")
        event["isBase64Encoded"] = True
    return event


def http_v2_trailing_slash(method: str, path: str, body: str | None) -> Event:
    """Powertools' ``apiGatewayProxyV2EventPathTrailingSlash.json``: the slash in ``rawPath`` and ``http.path``."""
    event = http_v2(method, path, body)
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"{path}/"
    return event


def http_v2_no_query_no_cookies(method: str, path: str, body: str | None) -> Event:
    """No query string and no cookies: ``rawQueryString`` empty, the optional keys absent."""
    event = http_v2(method, path, body)
    event["rawQueryString"] = ""
    for key in ("cookies", "queryStringParameters", "pathParameters", "stageVariables"):
        del event[key]
    if body is None:
        del event["body"]
    return event


SHAPES: dict[str, Callable[[str, str, str | None], Event]] = {
    "rest-v1-base64": rest_v1_base64,
    "rest-v1-aws-lambda-go": rest_v1_go_sample,
    "rest-v1-trailing-slash": rest_v1_trailing_slash,
    "rest-v1-no-host-trailing-slash": rest_v1_no_host_trailing_slash,
    "rest-v1-null-maps": rest_v1_null_maps,
    "rest-v1-base-path": rest_v1_base_path,
    "rest-v1-base-path-trailing-slash": rest_v1_base_path_trailing_slash,
    "http-v2-jwt-cookies": http_v2,
    "http-v2-lambda-authorizer": http_v2_lambda_authorizer,
    "http-v2-iam-base64": http_v2_iam_base64,
    "http-v2-trailing-slash": http_v2_trailing_slash,
    "http-v2-no-query-no-cookies": http_v2_no_query_no_cookies,
}


def answer(deployment: LocalDeployment, model: str, event: Event) -> tuple[int, Any]:
    """Status and decoded JSON body of one event through ``modelrail invoke``'s own code path."""
    document, failed = invoke_event(deployment, model, copy.deepcopy(event))
    assert not failed, document
    assert document["statusCode"] != 307, document["headers"]
    raw = base64.b64decode(document["body"]) if document.get("isBase64Encoded") else document["body"]
    return int(document["statusCode"]), json.loads(raw)


@pytest.mark.parametrize("shape", list(SHAPES))
@pytest.mark.parametrize("model", [CPU_MODEL, GPU_MODEL])
def test_every_aws_event_shape_gets_the_plain_events_answer(
    bundled_local: LocalDeployment, model: str, shape: str
) -> None:
    for method, path, body in routes(model):
        expected = answer(bundled_local, model, rest_v1(method, path, body))
        assert expected[0] == 200, (path, expected)
        got = answer(bundled_local, model, SHAPES[shape](method, path, body))
        assert got == expected, (shape, method, path)


@pytest.mark.parametrize("model", [CPU_MODEL, GPU_MODEL])
def test_an_http_api_event_is_routed_by_its_own_method_and_path(bundled_local: LocalDeployment, model: str) -> None:
    """Issue 19.4: a 2.0 event has no ``httpMethod``/``path``; reading those gave "GET / is not a route"."""
    method, path, body = routes(model)[1]
    event = http_v2(method, path, body)
    assert "httpMethod" not in event
    assert "path" not in event
    status, document = answer(bundled_local, model, event)
    assert status == 200
    assert document["model_name"] == model


@pytest.mark.parametrize("model", [CPU_MODEL, GPU_MODEL])
def test_a_path_outside_the_base_path_is_still_the_apis_404(bundled_local: LocalDeployment, model: str) -> None:
    """Only the configured base path is taken off: ``/production/...`` is no route, for the function or the gateway."""
    method, path, _ = routes(model)[3]
    event = rest_v1(method, f"/production{path}", None)
    if model == GPU_MODEL:  # API Gateway itself answers 404 before any integration; invoke says it is no route
        with pytest.raises(Exception, match="is not a route of model"):
            invoke_event(bundled_local, model, event)
        return
    status, document = answer(bundled_local, model, event)
    assert status == 404
    assert document["code"] == "not_found"


@pytest.mark.parametrize("model", [CPU_MODEL, GPU_MODEL])
def test_every_answer_names_its_version_in_a_header(bundled_local: LocalDeployment, model: str) -> None:
    """The Lambda function sets X-Modelrail-Model-Version itself; the GPU container's answer carries the version in
    its custom attributes, which the SageMaker integration maps to the same header."""
    for method, path, body in routes(model):
        document, failed = invoke_event(bundled_local, model, rest_v1(method, path, body))
        assert not failed, document
        headers = {name.lower(): value for name, value in (document.get("headers") or {}).items()}
        assert headers.get(MODEL_VERSION_HEADER.lower()) == "1", (path, headers)

"""REST API proxy events and Lambda proxy responses, as API Gateway builds and reads them."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest

from modelrail.binary_media import BINARY_MEDIA_TYPES, request_is_binary, response_is_binary
from modelrail.local.events import (
    HttpRequest,
    MalformedProxyResponseError,
    ProxyResponse,
    build_proxy_event,
    event_payload,
    parse_proxy_response,
    proxy_response_document,
    request_from_event,
)

ROOT = Path(__file__).resolve().parents[3]
EVENT_KEYS = {
    "resource",
    "path",
    "httpMethod",
    "headers",
    "multiValueHeaders",
    "queryStringParameters",
    "multiValueQueryStringParameters",
    "pathParameters",
    "stageVariables",
    "requestContext",
    "body",
    "isBase64Encoded",
}


def predict_request(**changes: object) -> HttpRequest:
    fields: dict[str, object] = {
        "method": "POST",
        "path": "/v1/models/minilm/predict",
        "query": [("a", "1"), ("a", "2"), ("b", "x y")],
        "headers": [
            ("Host", "127.0.0.1:3000"),
            ("Content-Type", "application/json"),
            ("X-Multi", "1"),
            ("X-Multi", "2"),
        ],
        "body": b'{"instances": ["hi"]}',
        "source_ip": "127.0.0.7",
    }
    fields.update(changes)
    return HttpRequest(**fields)  # type: ignore[arg-type]


def test_event_has_exactly_the_rest_proxy_keys_and_their_values() -> None:
    event = build_proxy_event(
        predict_request(), resource="/v1/models/minilm/predict", api_key="k", port=3123, request_id="r-1", now_s=0
    )
    assert set(event) == EVENT_KEYS
    assert event["httpMethod"] == "POST"
    assert event["path"] == "/v1/models/minilm/predict"
    assert event["pathParameters"] is None
    assert event["stageVariables"] is None
    assert base64.b64decode(event["body"]) == b'{"instances": ["hi"]}'  # binaryMediaTypes */*: every body
    assert event["isBase64Encoded"] is True
    assert event["queryStringParameters"] == {"a": "2", "b": "x y"}
    assert event["multiValueQueryStringParameters"] == {"a": ["1", "2"], "b": ["x y"]}
    assert event["headers"]["X-Multi"] == "2"
    assert event["multiValueHeaders"]["X-Multi"] == ["1", "2"]
    assert event["headers"]["X-Forwarded-Port"] == "3123"
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.7"
    context = event["requestContext"]
    assert context["requestId"] == "r-1"
    assert context["resourcePath"] == "/v1/models/minilm/predict"
    assert context["path"] == "/v1/models/minilm/predict"  # served at the root, as a custom domain
    assert context["identity"]["apiKey"] == "k"
    assert context["identity"]["sourceIp"] == "127.0.0.7"
    assert context["requestTime"] == "01/Jan/1970:00:00:00 +0000"
    json.dumps(event)  # an event is plain JSON


def test_versioned_route_carries_its_path_parameter_and_resource_template() -> None:
    request = HttpRequest("GET", "/v2/models/minilm/versions/7/ready")
    event = build_proxy_event(
        request, resource="/v2/models/minilm/versions/{version}/ready", path_parameters={"version": "7"}
    )
    assert event["resource"] == "/v2/models/minilm/versions/{version}/ready"
    assert event["pathParameters"] == {"version": "7"}
    assert event["body"] is None
    assert event["queryStringParameters"] is None


def test_octet_stream_body_arrives_base64_encoded_byte_exact() -> None:
    raw = bytes(range(256))
    request = predict_request(headers=[("Content-Type", "application/octet-stream")], body=raw)
    event = build_proxy_event(request, resource="/v2/models/digits/infer")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


def test_tritonclient_binary_body_without_content_type_arrives_byte_exact() -> None:
    """tritonclient sends the binary extension with no Content-Type (API Gateway: application/json); under the
    stack's ``*/*`` it still reaches the function base64-encoded, never decoded as UTF-8 text."""
    raw = b'{"inputs": []}\x00\xff\x80'
    event = build_proxy_event(predict_request(headers=[], body=raw), resource="/v2/models/digits/infer")
    assert event["isBase64Encoded"] is True
    assert base64.b64decode(event["body"]) == raw


@pytest.mark.parametrize(
    "content_type", ["application/octet-stream", "Application/Octet-Stream; charset=binary", "application/json", None]
)
def test_every_request_body_is_binary_under_the_stacks_types(content_type: str | None) -> None:
    assert request_is_binary(content_type, BINARY_MEDIA_TYPES)


def test_narrower_binary_media_types_match_as_api_gateway_matches() -> None:
    assert request_is_binary("image/png", ["image/*"])
    assert not request_is_binary("application/json", ["image/*"])
    assert not request_is_binary(None, ["application/octet-stream"])  # no Content-Type counts as JSON


@pytest.mark.parametrize(
    ("accept", "binary"),
    [
        ("application/octet-stream", True),
        ("*/*", True),
        ("application/json", True),  # */* covers every type: API Gateway decodes whatever isBase64Encoded says
        ("text/html,application/octet-stream", True),
        (None, False),  # no Accept: AWS documents no default, so no binary answer
        ("", False),
    ],
)
def test_binary_answers_follow_the_first_accept(accept: str | None, binary: bool) -> None:
    assert response_is_binary(accept) is binary


def test_request_from_event_inverts_build_proxy_event() -> None:
    request = predict_request(headers=[("Content-Type", "application/octet-stream")], body=b"\x00\xff")
    event = build_proxy_event(request, resource="/v1/models/minilm/predict")
    back = request_from_event(event)
    assert back.method == request.method
    assert back.path == request.path
    assert back.body == request.body
    assert sorted(back.query) == sorted(request.query)
    assert back.header("content-type") == "application/octet-stream"
    assert back.source_ip == request.source_ip


def test_shipped_event_files_parse_as_requests() -> None:
    for path in sorted((ROOT / "events").glob("*.rest-v1.json")):
        event = json.loads(path.read_text(encoding="utf-8"))
        request = request_from_event(event)
        assert request.path == event["path"], path.name
        assert request.method == event["httpMethod"], path.name


def test_shipped_http_api_events_parse_as_requests() -> None:
    """Payload 2.0 (HTTP API) events: method in requestContext.http, path in rawPath (issue 19.4)."""
    for path in sorted((ROOT / "events").glob("*.http-api-v2.json")):
        event = json.loads(path.read_text(encoding="utf-8"))
        request = request_from_event(event)
        assert request.method == event["requestContext"]["http"]["method"], path.name
        assert request.path == event["rawPath"], path.name
        assert request.body == (event.get("body") or "").encode(), path.name


def http_api_event(**changes: object) -> dict[str, object]:
    """The payload 2.0 shape of docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-
    lambda.html: lower-case headers with duplicates comma-joined, cookies apart, rawQueryString."""
    event: dict[str, object] = {
        "version": "2.0",
        "routeKey": "$default",
        "rawPath": "/v2/models/minilm-gpu/infer/",
        "rawQueryString": "a=1&a=2&b=",
        "cookies": ["c1=v1", "c2=v2"],
        "headers": {"content-type": "application/json", "x-many": "v1,v2"},
        "queryStringParameters": {"a": "1,2", "b": ""},
        "requestContext": {
            "authorizer": {"jwt": {"claims": {"sub": "x"}, "scopes": None}},
            "http": {"method": "POST", "path": "/v2/models/minilm-gpu/infer/", "sourceIp": "192.168.0.1/32"},
            "stage": "$default",
        },
        "body": base64.b64encode(b'{"inputs": []}').decode(),
        "isBase64Encoded": True,
    }
    event.update(changes)
    return event


def test_an_http_api_event_gives_its_method_path_query_cookies_and_decoded_body() -> None:
    request = request_from_event(http_api_event())
    assert (request.method, request.path) == ("POST", "/v2/models/minilm-gpu/infer/")
    assert request.query == [("a", "1"), ("a", "2"), ("b", "")]
    assert request.header("cookie") == "c1=v1; c2=v2"
    assert request.header("X-Many") == "v1,v2"
    assert request.body == b'{"inputs": []}'
    assert request.source_ip == "192.168.0.1"


def test_a_rest_event_with_null_maps_and_no_base64_flag_reads() -> None:
    event = {
        "resource": "/v2/models/digits",
        "path": "/v2/models/digits/",
        "httpMethod": "GET",
        "headers": None,
        "multiValueHeaders": None,
        "queryStringParameters": None,
        "multiValueQueryStringParameters": None,
        "requestContext": {},
        "body": None,
    }
    request = request_from_event(event)
    assert (request.method, request.path, request.headers, request.query, request.body) == (
        "GET",
        "/v2/models/digits/",
        [],
        [],
        b"",
    )


def test_a_base_path_leaves_rest_paths_but_never_http_api_raw_paths() -> None:
    rest = {"httpMethod": "GET", "path": "/prod/v2/models/digits", "requestContext": {}}
    assert request_from_event(rest, base_path="/prod").path == "/v2/models/digits"
    assert request_from_event({**rest, "path": "/production/v2"}, base_path="/prod").path == "/production/v2"
    assert request_from_event({**rest, "path": "/v2/models/digits"}, base_path="/prod").path == "/v2/models/digits"
    # rawPath never carries the API mapping (same AWS page), so it is taken as it is
    event = http_api_event(rawPath="/prod/x")
    assert request_from_event(event, base_path="/prod").path == "/prod/x"


def test_proxy_response_merges_headers_and_decodes_base64() -> None:
    payload = json.dumps(
        {
            "statusCode": 201,
            "headers": {"content-type": "application/octet-stream", "x-one": "a"},
            "multiValueHeaders": {"x-one": ["b", "c"]},
            "body": base64.b64encode(b"\x01\x02").decode(),
            "isBase64Encoded": True,
        }
    ).encode()
    response = parse_proxy_response(payload)
    assert response.status == 201
    assert response.body == b"\x01\x02"
    assert ("x-one", "b") in response.headers
    assert ("x-one", "c") in response.headers
    assert ("x-one", "a") not in response.headers


def test_base64_answer_stays_base64_text_when_the_callers_accept_is_not_binary() -> None:
    """What "Return binary media from a Lambda proxy integration" says the stack does: API Gateway decodes an
    isBase64Encoded body only for a caller whose first Accept is a binary media type."""
    encoded = base64.b64encode(b"\x01\x02").decode()
    payload = json.dumps({"statusCode": 200, "body": encoded, "isBase64Encoded": True}).encode()
    assert parse_proxy_response(payload, accept=None).body == encoded.encode()
    assert parse_proxy_response(payload, accept="application/octet-stream").body == b"\x01\x02"
    assert parse_proxy_response(payload, accept="image/png").body == b"\x01\x02"


def test_proxy_response_with_no_body_is_empty() -> None:
    assert parse_proxy_response(b'{"statusCode": 204}') == ProxyResponse(204, [], b"")


@pytest.mark.parametrize(
    "payload",
    [
        b"not json",
        b"[1, 2]",
        b'{"statusCode": "200"}',
        b'{"statusCode": true}',
        b'{"statusCode": 99}',
        b'{"body": "x"}',
        b'{"statusCode": 200, "body": 5}',
        b'{"statusCode": 200, "extra": 1}',
        b'{"statusCode": 200, "headers": []}',
        b'{"statusCode": 200, "multiValueHeaders": {"a": "b"}}',
        b'{"statusCode": 200, "headers": {"a": {"b": 1}}}',
        b'{"statusCode": 200, "body": "%%%", "isBase64Encoded": true}',
    ],
)
def test_malformed_proxy_responses_are_the_gateways_502(payload: bytes) -> None:
    with pytest.raises(MalformedProxyResponseError) as caught:
        parse_proxy_response(payload)
    assert caught.value.status == 502
    assert "malformed Lambda proxy response" in caught.value.message


def test_proxy_response_document_round_trips_text_and_binary() -> None:
    for body in (b'{"a": 1}', b"\xff\x00"):
        response = ProxyResponse(200, [("Content-Type", "x/y")], body)
        document = proxy_response_document(response)
        assert parse_proxy_response(json.dumps(document).encode()) == response


def test_event_payload_is_utf8_with_non_ascii_as_itself() -> None:
    # a text body, as in event files (the stack's */* makes every gateway body base64)
    text_only = ("application/octet-stream",)
    event = build_proxy_event(
        HttpRequest("POST", "/p", body="Привет".encode()), resource="/p", binary_media_types=text_only
    )
    payload = event_payload(event)
    assert '"body": "Привет"'.encode() in payload  # 12 bytes, not 36 as \\u escapes
    assert json.loads(payload) == event
    lone = {"body": "\ud800"}  # only an event file can hold one; UTF-8 cannot carry it, an escape can
    assert json.loads(event_payload(lone)) == lone


def test_a_body_that_is_not_utf8_reaches_the_function_byte_exact_never_repaired() -> None:
    sent = b'{"instances": ["caf\xe9"]}'
    request = HttpRequest("POST", "/v1/models/m/predict", headers=[("Content-Type", "application/json")], body=sent)
    event = build_proxy_event(request, resource="/v1/models/m/predict")
    assert "\ufffd" not in json.dumps(event)
    assert request_from_event(event).body == sent

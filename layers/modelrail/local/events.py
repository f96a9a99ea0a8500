"""API Gateway REST API (v1) proxy events and Lambda proxy responses, shaped as the cloud gateway shapes them.

The local gateway builds every event here, ``modelrail invoke`` reads the same shape from ``events/*.json`` (and
HTTP API payload 2.0 events too), and the Lambda handler cannot tell either from an event API Gateway sent.
"""

from __future__ import annotations

import base64
import json
import time
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, unquote

from modelrail.binary_media import BINARY_MEDIA_TYPES, request_is_binary, response_is_binary
from modelrail.errors import InternalError

LOCAL_ACCOUNT_ID = "123456789012"
"""The account id moto and ``sam local`` use."""
LOCAL_API_ID = "local"
LOCAL_STAGE = "local"

_PROXY_RESPONSE_KEYS = frozenset({"statusCode", "headers", "multiValueHeaders", "body", "isBase64Encoded"})


@dataclass(frozen=True)
class HttpRequest:
    """One HTTP request as the gateway received it (header case and order preserved)."""

    method: str
    path: str
    """Decoded path, no query string."""
    query: Sequence[tuple[str, str]] = ()
    headers: Sequence[tuple[str, str]] = ()
    body: bytes = b""
    source_ip: str = "127.0.0.1"

    def header(self, name: str) -> str | None:
        """The last value of a header, matched case-insensitively (as API Gateway's ``headers`` map keeps it)."""
        lowered = name.lower()
        found = None
        for key, value in self.headers:
            if key.lower() == lowered:
                found = value
        return found

    def first_header(self, name: str) -> str | None:
        """The first value of a header (API Gateway decides binary answers by the *first* Accept header)."""
        lowered = name.lower()
        return next((value for key, value in self.headers if key.lower() == lowered), None)


@dataclass(frozen=True)
class ProxyResponse:
    """A Lambda proxy integration response, decoded into what goes back on the wire."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""


class MalformedProxyResponseError(InternalError):
    """The function answered with something API Gateway cannot turn into an HTTP response (it answers 502)."""

    status = 502


def _single_and_multi(pairs: Iterable[tuple[str, str]]) -> tuple[dict[str, str] | None, dict[str, list[str]] | None]:
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for key, value in pairs:
        single[key] = value
        multi.setdefault(key, []).append(value)
    return (single or None), (multi or None)


def build_proxy_event(
    request: HttpRequest,
    *,
    resource: str,
    path_parameters: Mapping[str, str] | None = None,
    api_key: str | None = None,
    stage: str = LOCAL_STAGE,
    port: int = 3000,
    request_id: str | None = None,
    binary_media_types: Sequence[str] = BINARY_MEDIA_TYPES,
    now_s: float | None = None,
) -> dict[str, Any]:
    """The REST API proxy event API Gateway sends to a Lambda function for ``request`` on ``resource``."""
    now_s = time.time() if now_s is None else now_s
    request_id = request_id or str(uuid.uuid4())
    trace_id = f"Root=1-{int(now_s):08x}-{uuid.uuid4().hex[:24]}"
    forwarded = [
        ("X-Forwarded-For", request.source_ip),
        ("X-Forwarded-Port", str(port)),
        ("X-Forwarded-Proto", "http"),
        ("X-Amzn-Trace-Id", trace_id),
    ]
    own = {name.lower() for name, _ in forwarded}
    headers, multi_headers = _single_and_multi([(k, v) for k, v in request.headers if k.lower() not in own] + forwarded)
    query, multi_query = _single_and_multi(request.query)
    body: str | None
    if not request.body:
        body, encoded = None, False
    elif request_is_binary(request.header("content-type"), binary_media_types):
        body, encoded = base64.b64encode(request.body).decode("ascii"), True
    else:
        try:
            body, encoded = request.body.decode("utf-8"), False
        except UnicodeDecodeError:
            # Never repaired into U+FFFD (the function would answer for text nobody sent): the exact bytes
            # travel base64-encoded, and the function's strict UTF-8 JSON parser refuses them with a 400.
            body, encoded = base64.b64encode(request.body).decode("ascii"), True
    return {
        "resource": resource,
        "path": request.path,
        "httpMethod": request.method,
        "headers": headers,
        "multiValueHeaders": multi_headers,
        "queryStringParameters": query,
        "multiValueQueryStringParameters": multi_query,
        "pathParameters": dict(path_parameters) if path_parameters else None,
        "stageVariables": None,
        "requestContext": {
            "resourceId": resource_id(resource),
            "resourcePath": resource,
            "httpMethod": request.method,
            "extendedRequestId": request_id.replace("-", "")[:16] + "=",
            "requestTime": time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(now_s)),
            # The local gateway serves at its root, as a custom domain mapped without a base path does.
            "path": request.path,
            "accountId": LOCAL_ACCOUNT_ID,
            "protocol": "HTTP/1.1",
            "stage": stage,
            "domainPrefix": "localhost",
            "requestTimeEpoch": int(now_s * 1000),
            "requestId": request_id,
            "identity": _identity(request, api_key),
            "domainName": "localhost",
            "apiId": LOCAL_API_ID,
        },
        "body": body,
        "isBase64Encoded": encoded,
    }


def event_payload(event: Mapping[str, Any]) -> bytes:
    """An event as the bytes sent to Lambda: JSON in UTF-8 with non-ASCII characters as themselves.

    Lambda's limit is on the invocation payload's size ("For synchronous invocations, the maximum payload size
    is 6 MB", https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html), counted in bytes: AWS's own Python
    runtime stopped escaping non-ASCII because "a unicode character contributes 6 bytes to the response size ...
    instead of 2" (aws/aws-lambda-python-runtime-interface-client#87, fixed for python3.12). API Gateway's 10 MB
    payload limit is on the request's bytes too (https://docs.aws.amazon.com/apigateway/latest/developerguide/
    api-gateway-execution-service-limits-table.html). So a text body is sized as the UTF-8 it arrived as, never
    with ``\\uXXXX`` escapes; a string UTF-8 cannot carry (a lone surrogate, only from an event file) keeps its
    escape.
    """
    try:
        return json.dumps(event, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(event).encode("utf-8")


def _identity(request: HttpRequest, api_key: str | None) -> dict[str, Any]:
    return {
        "cognitoIdentityPoolId": None,
        "accountId": None,
        "cognitoIdentityId": None,
        "caller": None,
        "sourceIp": request.source_ip,
        "principalOrgId": None,
        "accessKey": None,
        "cognitoAuthenticationType": None,
        "cognitoAuthenticationProvider": None,
        "userArn": None,
        "userAgent": request.header("user-agent"),
        "user": None,
        "apiKey": api_key,
        "apiKeyId": resource_id(api_key) if api_key else None,
        "clientCert": None,
    }


def resource_id(text: str) -> str:
    """A stable 6-character id, as API Gateway gives each resource (and key) one."""
    return uuid.uuid5(uuid.NAMESPACE_URL, text).hex[:6]


def request_from_event(event: Mapping[str, Any], *, base_path: str | None = None) -> HttpRequest:
    """The HTTP request an API Gateway event describes (for events read from files).

    Reads both shapes Lambda gets from API Gateway: the REST API's (and the HTTP API's payload 1.0) ``httpMethod``,
    ``path``, ``headers`` + ``multiValueHeaders``, and the HTTP API's payload 2.0 ``requestContext.http.method``,
    ``rawPath``, ``rawQueryString``, ``cookies`` and comma-joined ``headers``
    (docs.aws.amazon.com/apigateway/latest/developerguide/http-api-develop-integrations-lambda.html). With
    ``base_path`` (a custom domain's mapping, ``routes.normalize_base_path``), a REST event's ``path`` loses that
    prefix, as API Gateway routes it; a 2.0 event's ``rawPath`` never has it ("rawPath won't provide the API
    mapping value", same page).
    """
    if str(event.get("version")) == "2.0":
        return _request_from_http_api_event(event)
    request = _request_from_rest_event(event)
    if base_path and (request.path == base_path or request.path.startswith(f"{base_path}/")):
        request = replace(request, path=request.path[len(base_path) :] or "/")
    return request


def _event_body(event: Mapping[str, Any]) -> bytes:
    raw = event.get("body") or ""
    return base64.b64decode(raw) if event.get("isBase64Encoded") else str(raw).encode("utf-8")


def _request_from_rest_event(event: Mapping[str, Any]) -> HttpRequest:
    headers: list[tuple[str, str]] = []
    multi = event.get("multiValueHeaders") or {}
    for key, value in (event.get("headers") or {}).items():
        headers += [(key, v) for v in multi.get(key, [value])]
    for key, values in multi.items():  # a name only in multiValueHeaders still counts
        if key not in (event.get("headers") or {}):
            headers += [(key, v) for v in values]
    query: list[tuple[str, str]] = []
    multi_query = event.get("multiValueQueryStringParameters") or {}
    for key, value in (event.get("queryStringParameters") or {}).items():
        query += [(key, v) for v in multi_query.get(key, [value])]
    identity = (event.get("requestContext") or {}).get("identity") or {}
    return HttpRequest(
        method=str(event.get("httpMethod", "GET")),
        path=str(event.get("path", "/")),
        query=query,
        headers=headers,
        body=_event_body(event),
        source_ip=str(identity.get("sourceIp") or "127.0.0.1"),
    )


def _request_from_http_api_event(event: Mapping[str, Any]) -> HttpRequest:
    http = (event.get("requestContext") or {}).get("http") or {}
    headers = [(str(key), str(value)) for key, value in (event.get("headers") or {}).items()]
    cookies = event.get("cookies") or []
    if cookies and not any(key.lower() == "cookie" for key, _ in headers):
        headers.append(("cookie", "; ".join(str(cookie) for cookie in cookies)))
    return HttpRequest(
        method=str(http.get("method") or "GET"),
        path=unquote(str(event.get("rawPath") or http.get("path") or "/")),
        query=parse_qsl(str(event.get("rawQueryString") or ""), keep_blank_values=True),
        headers=headers,
        body=_event_body(event),
        source_ip=str(http.get("sourceIp") or "127.0.0.1").split("/", 1)[0],
    )


def parse_proxy_response(payload: bytes, *, accept: str | None = "*/*") -> ProxyResponse:
    """Decode a function's proxy response the way API Gateway does; anything malformed is its 502.

    ``accept`` is the caller's Accept header: a base64 body is decoded to bytes only when its first media type
    is one of the API's binary media types; otherwise the caller gets the base64 text itself, as from the stack
    (``modelrail.binary_media``). Callers that stand for no HTTP client (``modelrail invoke``) keep ``*/*``.
    """
    try:
        document = json.loads(payload)
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise MalformedProxyResponseError("malformed Lambda proxy response: not JSON") from None
    if not isinstance(document, dict):
        raise MalformedProxyResponseError("malformed Lambda proxy response: not a JSON object")
    unknown = sorted(set(document) - _PROXY_RESPONSE_KEYS)
    if unknown:
        raise MalformedProxyResponseError(f"malformed Lambda proxy response: unexpected keys {unknown}")
    status = document.get("statusCode")
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise MalformedProxyResponseError("malformed Lambda proxy response: statusCode must be an HTTP status integer")
    headers = _response_headers(document.get("headers"), document.get("multiValueHeaders"))
    body = document.get("body")
    if body is None:
        data = b""
    elif not isinstance(body, str):
        raise MalformedProxyResponseError("malformed Lambda proxy response: body must be a string")
    elif document.get("isBase64Encoded") and not response_is_binary(accept):
        data = body.encode("utf-8")
    elif document.get("isBase64Encoded"):
        try:
            data = base64.b64decode(body, validate=True)
        except ValueError:
            raise MalformedProxyResponseError("malformed Lambda proxy response: body is not valid base64") from None
    else:
        data = body.encode("utf-8")
    return ProxyResponse(status=status, headers=headers, body=data)


def _response_headers(single: Any, multi: Any) -> list[tuple[str, str]]:
    if single is not None and not isinstance(single, dict):
        raise MalformedProxyResponseError("malformed Lambda proxy response: headers must be an object")
    if multi is not None and not isinstance(multi, dict):
        raise MalformedProxyResponseError("malformed Lambda proxy response: multiValueHeaders must be an object")
    merged: dict[str, list[str]] = {}
    # API Gateway merges both maps; a name in both keeps the multi-value list.
    for key, value in (single or {}).items():
        merged[str(key)] = [_header_value(value)]
    for key, values in (multi or {}).items():
        if not isinstance(values, list):
            raise MalformedProxyResponseError("malformed Lambda proxy response: multiValueHeaders values must be lists")
        merged[str(key)] = [_header_value(value) for value in values]
    return [(key, value) for key, values in merged.items() for value in values]


def _header_value(value: Any) -> str:
    if isinstance(value, str | int | float) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    raise MalformedProxyResponseError("malformed Lambda proxy response: header values must be strings")


def proxy_response_document(response: ProxyResponse) -> dict[str, Any]:
    """A ``ProxyResponse`` back in Lambda's proxy response JSON (what ``modelrail invoke`` prints for GPU models)."""
    headers, multi = _single_and_multi(response.headers)
    try:
        body, encoded = response.body.decode("utf-8"), False
    except UnicodeDecodeError:
        body, encoded = base64.b64encode(response.body).decode("ascii"), True
    return {
        "statusCode": response.status,
        "headers": headers or {},
        "multiValueHeaders": multi or {},
        "body": body,
        "isBase64Encoded": encoded,
    }


def http_date(now_s: float | None = None) -> str:
    """An RFC 7231 ``Date`` header value."""
    return formatdate(now_s, usegmt=True)

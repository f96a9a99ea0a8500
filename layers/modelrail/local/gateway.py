"""The local API gateway: an ASGI app doing what the stack's REST API does, in the order API Gateway does it.

Body size (413), then resource and method, then API key (403 for a missing or wrong one), then the route's
integration: a Lambda proxy event to the model's function, or InvokeEndpoint on its GPU container. As in the
stack's API-key mode, a method a known path lacks is MISSING_AUTHENTICATION_TOKEN and a path no route has goes to
the key-protected catch-all, so without a valid key both answer exactly as a rejected key does (403) and model
names cannot be probed; with one, the catch-all answers 404. Every answer carries ``x-amzn-RequestId``; one
access-log line per request goes to ``output``.
"""

from __future__ import annotations

import hmac
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import Any, Protocol, TextIO
from urllib.parse import parse_qsl, quote

import httpx

from modelrail.binary_media import media_type
from modelrail.constants import API_GATEWAY_MAX_REQUEST_BYTES, API_KEY_HEADER
from modelrail.local import gateway_responses as answers
from modelrail.local.events import HttpRequest, ProxyResponse
from modelrail.local.lambda_integration import RequestContext
from modelrail.local.routing import RouteMatch, RouteTable

_HOP_BY_HOP = frozenset({"content-length", "transfer-encoding", "connection", "keep-alive"})
"""Headers of a function's answer the gateway replaces with its own."""

Scope = dict[str, Any]
Message = dict[str, Any]


class Receive(Protocol):
    """ASGI receive."""

    async def __call__(self) -> Message: ...


class Send(Protocol):
    """ASGI send."""

    async def __call__(self, message: Message) -> None: ...


class Integration(Protocol):
    """What answers a matched route: a Lambda proxy integration or a SageMaker service integration."""

    async def __call__(self, request: HttpRequest, match: RouteMatch, context: RequestContext) -> ProxyResponse: ...


LOG_SAFE = "/;=:@!$&'()*+,-._~"
"""Characters a path keeps in the access log; anything else (controls, spaces, non-ASCII) is percent-encoded,
so a request can never start a line of its own there."""


def loggable(text: str) -> str:
    """A request value as it may appear in a log line: printable ASCII, percent-encoded, at most 1 KiB."""
    return quote(text[:1024], safe=LOG_SAFE)


class BodyTooLargeError(Exception):
    """The body passed its limit while it was being read."""


async def read_body(receive: Receive, max_bytes: int) -> bytes:
    """A request's whole body; ``BodyTooLargeError`` as soon as it passes ``max_bytes`` (nothing more is read)."""
    chunks: list[bytes] = []
    size = 0
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunk = message.get("body", b"")
        size += len(chunk)
        if size > max_bytes:
            raise BodyTooLargeError
        chunks.append(chunk)
        if not message.get("more_body", False):
            break
    return b"".join(chunks)


class HttpClientApp:
    """An ASGI app that calls functions and containers through one httpx client (one pool for its life, made on
    first use in the serving loop); its lifespan shutdown closes the client."""

    _client: httpx.AsyncClient | None = None

    @property
    def client(self) -> httpx.AsyncClient:
        """The HTTP client to functions and containers."""
        if self._client is None:
            self._client = httpx.AsyncClient(limits=httpx.Limits(max_connections=64, max_keepalive_connections=16))
        return self._client

    async def aclose(self) -> None:
        """Close the client."""
        if self._client is not None:
            await self._client.aclose()
            self._client = None

    async def lifespan(self, receive: Receive, send: Send) -> None:
        """ASGI lifespan: nothing to start; close the client at shutdown."""
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.aclose()
                await send({"type": "lifespan.shutdown.complete"})
                return


class Gateway(HttpClientApp):
    """The ASGI app; one instance serves every route of the local API."""

    def __init__(
        self,
        table: RouteTable,
        integrations: Mapping[str, Integration],
        *,
        api_key: str | Sequence[str] | None,
        port: int,
        output: TextIO | None = None,
        max_body_bytes: int = API_GATEWAY_MAX_REQUEST_BYTES,
    ) -> None:
        missing = sorted({compute for _, compute in table.routes} - set(integrations))
        if missing:
            raise ValueError(f"no integration for {', '.join(missing)}")
        self.table = table
        self.integrations = dict(integrations)
        keys = [api_key] if isinstance(api_key, str) else list(api_key or [])
        self.api_keys = tuple(keys)
        """The keys of the usage plan (a job belongs to the key that submitted it); none: no key required."""
        self.api_key = self.api_keys[0] if self.api_keys else None
        self.port = port
        self.output = output if output is not None else sys.stderr
        self.max_body_bytes = max_body_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Handle one ASGI call (HTTP only; lifespan closes the client at shutdown)."""
        if scope["type"] == "lifespan":
            await self.lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        started = time.perf_counter()
        request_id = str(uuid.uuid4())
        response, compute = await self._answer(scope, receive, request_id)
        headers = [(k, v) for k, v in response.headers if k.lower() not in _HOP_BY_HOP]
        headers += [("x-amzn-RequestId", request_id), ("Content-Length", str(len(response.body)))]
        await send(
            {
                "type": "http.response.start",
                "status": response.status,
                "headers": [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in headers],
            }
        )
        await send({"type": "http.response.body", "body": response.body if scope["method"] != "HEAD" else b""})
        elapsed_ms = (time.perf_counter() - started) * 1000
        request_line = f"{loggable(scope['method'])} {loggable(scope['path'])}"
        line = f"[gateway] {request_line} -> {response.status} ({elapsed_ms:.1f} ms, {compute})"
        print(line, file=self.output, flush=True)

    async def _answer(self, scope: Scope, receive: Receive, request_id: str) -> tuple[ProxyResponse, str]:
        headers = [(k.decode("latin-1"), v.decode("latin-1")) for k, v in scope["headers"]]
        declared = next((v for k, v in headers if k.lower() == "content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > self.max_body_bytes:
            return answers.REQUEST_TOO_LARGE.response(), "gateway"
        try:
            body = await read_body(receive, self.max_body_bytes)
        except BodyTooLargeError:
            return answers.REQUEST_TOO_LARGE.response(), "gateway"
        match = self.table.match(scope["method"], scope["path"])
        given = next((v for k, v in reversed(headers) if k.lower() == API_KEY_HEADER), None)
        key_ok = not self.api_keys or (
            given is not None and any(hmac.compare_digest(given.encode(), key.encode()) for key in self.api_keys)
        )
        if match is None:
            return self._no_route(scope["path"], headers, key_ok=key_ok), "gateway"
        if not key_ok:
            return answers.INVALID_API_KEY.response(), "gateway"
        client = scope.get("client") or ("127.0.0.1", 0)
        request = HttpRequest(
            method=scope["method"],
            path=scope["path"],
            query=parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True),
            headers=headers,
            body=body,
            source_ip=str(client[0]),
        )
        context = RequestContext(request_id=request_id, port=self.port, client=self.client, api_key=given)
        try:
            response = await self.integrations[match.compute](request, match, context)
        except Exception as exc:  # the gateway itself must never answer without the SPEC's body
            print(f"[gateway] {match.compute}: integration failed: {exc!r}", file=self.output, flush=True)
            return answers.INTEGRATION_FAILURE.response(), match.compute
        return response, match.compute

    def _no_route(self, path: str, headers: list[tuple[str, str]], *, key_ok: bool) -> ProxyResponse:
        if self.api_key is None:
            return answers.NO_SUCH_ROUTE.response()
        if self.table.has_resource(path):
            return answers.MISSING_AUTHENTICATION_TOKEN.response()
        if not key_ok:
            return answers.INVALID_API_KEY.response()
        # the catch-all's mock integration: strict passthrough with a JSON template only
        content_type = next((v for k, v in headers if k.lower() == "content-type"), None)
        if content_type and media_type(content_type) != "application/json":
            return answers.UNSUPPORTED_MEDIA_TYPE.response()
        return answers.NO_SUCH_ROUTE.response()

"""A loopback fake of the SageMaker runtime ``InvokeEndpoint`` API that answers with SageMaker's real shapes.

Which answer comes back is chosen by the endpoint name in the URL (``/endpoints/<name>/invocations``). The
shapes are those the service sends: ``x-amzn-ErrorType`` plus a JSON body; ModelError carries the
container's ``OriginalStatusCode`` / ``OriginalMessage``; throttling is a 400 whose message is null.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

LOG_STREAM = "arn:aws:logs:us-east-1:123456789012:log-group:/aws/sagemaker/Endpoints/x:log-stream:AllTraffic/i-0"


@dataclass(frozen=True)
class Canned:
    """One answer: HTTP status, error type header (or None for success) and JSON body."""

    status: int
    error_type: str | None
    body: dict[str, Any]


def model_error(original_status: int | None, original_message: str | None, message: str) -> Canned:
    """SageMaker's 424 ModelError; without an original status the container never answered."""
    body: dict[str, Any] = {"ErrorCode": "CLIENT_ERROR_FROM_MODEL", "LogStreamArn": LOG_STREAM, "Message": message}
    if original_status is not None:
        body |= {"OriginalStatusCode": original_status, "OriginalMessage": original_message}
    return Canned(424, "ModelError", body)


class _Handler(BaseHTTPRequestHandler):
    server: _Server

    def do_POST(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length)
        parts = self.path.strip("/").split("/")
        name = parts[1] if len(parts) == 3 and parts[0] == "endpoints" and parts[2] == "invocations" else ""
        self.server.received.append(
            {"endpoint": name, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body}
        )
        canned = self.server.answers.get(name)
        if canned is None:
            canned = Canned(400, "ValidationError", {"message": f"Endpoint {name} of account 123456789012 not found."})
        payload = json.dumps(canned.body).encode()
        self.send_response(canned.status)
        self.send_header("Content-Type", "application/json")
        self.send_header("x-amzn-RequestId", "00000000-0000-0000-0000-000000000000")
        if canned.error_type is not None:
            self.send_header(
                "x-amzn-ErrorType", f"{canned.error_type}:http://internal.amazon.com/coral/com.amazon.sagemaker/"
            )
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    def log_message(self, format: str, *args: Any) -> None:
        del format, args


class _Server(ThreadingHTTPServer):
    answers: dict[str, Canned]
    received: list[dict[str, Any]]


@contextmanager
def fake_sagemaker_runtime(answers: dict[str, Canned]) -> Iterator[tuple[str, list[dict[str, Any]]]]:
    """Serve ``answers`` on 127.0.0.1; yields the endpoint URL and the list of requests received."""
    server = _Server(("127.0.0.1", 0), _Handler)
    server.answers = answers
    server.received = []
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", server.received
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)

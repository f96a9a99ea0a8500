"""One Lambda execution environment on loopback: a handler behind the Runtime Interface Emulator's invoke API.

Run as ``python -m modelrail.local.lambda_runtime --handler functions/lambda_inference/handler.py:handler --fd N``
in a process whose environment is the function's. Like Lambda it imports the handler module once (the init
phase, timed), then runs one event at a time from ``POST /2015-03-31/functions/function/invocations``, answering
the handler's return value, or an error document with ``X-Amz-Function-Error: Unhandled``. It prints Lambda's
START / END / REPORT lines, and exits when its parent does.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import queue
import resource
import signal
import socket
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from dataclasses import dataclass, field
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import ModuleType
from typing import Any

from modelrail.local.events import LOCAL_ACCOUNT_ID
from modelrail.local.processes import exit_with_parent

INVOKE_PATH = "/2015-03-31/functions/function/invocations"
READY_MARKER = "MODELRAIL-RUNTIME-READY"
"""First stdout line of a runtime whose init phase is over; the parent waits for it."""
FUNCTION_ERROR_HEADER = "X-Amz-Function-Error"
MAX_RESPONSE_BYTES = 6 * 1024 * 1024 + 100
"""Lambda's synchronous response payload limit (6 MiB plus 100 bytes, as measured)."""
LOCAL_REGION = "us-east-1"

Handler = Callable[[Any, Any], Any]


@dataclass
class LambdaContext:
    """The context object Lambda's Python runtime passes as the handler's second argument."""

    function_name: str
    memory_limit_in_mb: int
    timeout_s: float
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    identity: Any = None
    client_context: Any = None
    _deadline: float = 0.0

    def __post_init__(self) -> None:
        self._deadline = time.monotonic() + self.timeout_s

    @property
    def invoked_function_arn(self) -> str:
        """The function's ARN, as Lambda reports it."""
        return f"arn:aws:lambda:{LOCAL_REGION}:{LOCAL_ACCOUNT_ID}:function:{self.function_name}"

    @property
    def log_group_name(self) -> str:
        """The function's CloudWatch log group name."""
        return f"/aws/lambda/{self.function_name}"

    @property
    def log_stream_name(self) -> str:
        """A log stream name in Lambda's format."""
        return time.strftime("%Y/%m/%d/[$LATEST]") + uuid.uuid5(uuid.NAMESPACE_URL, self.function_name).hex

    def get_remaining_time_in_millis(self) -> int:
        """Milliseconds left before the function's timeout."""
        return max(0, int((self._deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class HandlerSpec:
    """``path/to/module.py:function``: the code directory goes first on ``sys.path``, as Lambda's /var/task."""

    file: Path
    attribute: str

    @classmethod
    def parse(cls, text: str) -> HandlerSpec:
        """Read ``file.py:function``."""
        file, sep, attribute = text.rpartition(":")
        if not sep or not file.endswith(".py") or not attribute.isidentifier():
            raise ValueError(f"handler must look like path/to/module.py:function, got {text!r}")
        return cls(Path(file), attribute)


def load_attribute(spec: HandlerSpec) -> Handler:
    """Import a handler (or app) module from its file, with its own directory first on ``sys.path``."""
    sys.path.insert(0, str(spec.file.parent.resolve()))
    module_spec = importlib.util.spec_from_file_location(spec.file.stem, spec.file)
    if module_spec is None or module_spec.loader is None:
        raise ImportError(f"cannot import {spec.file}")
    module: ModuleType = importlib.util.module_from_spec(module_spec)
    sys.modules[spec.file.stem] = module
    module_spec.loader.exec_module(module)
    handler = getattr(module, spec.attribute, None)
    if not callable(handler):
        raise AttributeError(f"{spec.file} has no callable `{spec.attribute}`")
    return handler  # type: ignore[no-any-return]


def error_document(exc: BaseException, *, error_type: str | None = None) -> dict[str, Any]:
    """Lambda's JSON for an unhandled error."""
    return {
        "errorMessage": str(exc),
        "errorType": error_type or type(exc).__name__,
        "requestId": "",
        "stackTrace": traceback.format_tb(exc.__traceback__),
    }


class Runtime:
    """The handler and its per-environment state; invocations run one at a time, as in one Lambda environment."""

    def __init__(
        self,
        *,
        handler: Handler | None,
        init_error: dict[str, Any] | None,
        name: str,
        memory_mb: int,
        timeout_s: float,
        init_ms: float | None,
        restore_ms: float | None = None,
    ) -> None:
        self.handler = handler
        self.init_error = init_error
        self.name = name
        self.memory_mb = memory_mb
        self.timeout_s = timeout_s
        self.init_ms: float | None = init_ms
        self.restore_ms: float | None = restore_ms
        self._queue: queue.Queue[tuple[bytes, Future[tuple[bytes, str | None]]]] = queue.Queue()

    def invoke(self, payload: bytes) -> tuple[bytes, str | None]:
        """Hand one event to the main thread and wait for its answer (called from the HTTP server's threads)."""
        future: Future[tuple[bytes, str | None]] = Future()
        self._queue.put((payload, future))
        return future.result()

    def run_forever(self) -> None:
        """Run queued events one at a time on the main thread, where Lambda's runtime calls the handler too
        (Mangum and asyncio expect it)."""
        while True:
            payload, future = self._queue.get()
            try:
                future.set_result(self.run(payload))
            except BaseException as exc:
                future.set_exception(exc)
                raise

    def run(self, payload: bytes) -> tuple[bytes, str | None]:
        """Run one event; returns the response bytes and the function-error kind (None on success)."""
        try:
            event = json.loads(payload or b"{}")
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            document = {
                "errorMessage": f"could not parse request body into json: {exc}",
                "errorType": "InvalidRequestContent",
            }
            return json.dumps(document).encode(), "Unhandled"
        context = LambdaContext(function_name=self.name, memory_limit_in_mb=self.memory_mb, timeout_s=self.timeout_s)
        request_id = context.aws_request_id
        _log(f"START RequestId: {request_id} Version: $LATEST")
        started = time.perf_counter()
        error: str | None = None
        if self.handler is None:
            body = json.dumps({**(self.init_error or {}), "requestId": request_id}).encode()
            error = "Unhandled"
        else:
            try:
                body = _response_json(self.handler(event, context))
                if len(body) > MAX_RESPONSE_BYTES:
                    message = f"Response payload size ({len(body)} bytes) exceeded maximum allowed payload size"
                    body = json.dumps({"errorMessage": message, "errorType": "Function.ResponseSizeTooLarge"}).encode()
                    error = "Unhandled"
            except Exception as exc:
                traceback.print_exc(file=sys.stderr)
                body = json.dumps({**error_document(exc), "requestId": request_id}).encode()
                error = "Unhandled"
        duration_ms = (time.perf_counter() - started) * 1000
        _log(f"END RequestId: {request_id}")
        init = f"\tInit Duration: {self.init_ms:.2f} ms" if self.init_ms is not None else ""
        if self.restore_ms is not None:  # a SnapStart environment reports its restore instead
            init = f"\tRestore Duration: {self.restore_ms:.2f} ms"
        self.init_ms = self.restore_ms = None  # only the first invocation of an environment reports its init
        used_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
        _log(
            f"REPORT RequestId: {request_id}\tDuration: {duration_ms:.2f} ms\tBilled Duration: "
            f"{max(1, round(duration_ms))} ms\tMemory Size: {self.memory_mb} MB\t"
            f"Max Memory Used: {used_mb} MB{init}"
        )
        return body, error


def _response_json(result: Any) -> bytes:
    """The handler's return value as the python3.12 runtime sends it: UTF-8 JSON, non-ASCII unescaped, so the
    response limit counts UTF-8 bytes (awslambdaric's encoder sets ``ensure_ascii=False`` for
    ``AWS_Lambda_python3.12``: aws/aws-lambda-python-runtime-interface-client commit 80eefef)."""
    try:
        return json.dumps(result, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate: only an escape can carry it
        return json.dumps(result).encode("utf-8")


def _log(line: str) -> None:
    print(line, file=sys.stdout, flush=True)


def make_server(sock: socket.socket, runtime: Runtime) -> ThreadingHTTPServer:
    """An HTTP server on an already-bound socket answering the invoke API."""

    class InvokeHandler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        # Headers and body go out in two writes; with Nagle on, the body waits for a delayed ACK (~40 ms).
        disable_nagle_algorithm = True

        def do_POST(self) -> None:
            if self.path.split("?", 1)[0] != INVOKE_PATH:
                self._send(HTTPStatus.NOT_FOUND, b'{"message": "not found"}')
                return
            length = int(self.headers.get("Content-Length") or 0)
            body, error = runtime.invoke(self.rfile.read(length))
            self._send(HTTPStatus.OK, body, error)

        def _send(self, status: HTTPStatus, body: bytes, error: str | None = None) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            if error:
                self.send_header(FUNCTION_ERROR_HEADER, error)
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: Any) -> None:
            """Quiet: the START/END/REPORT lines are this runtime's log."""

    server = ThreadingHTTPServer(sock.getsockname()[:2], InvokeHandler, bind_and_activate=False)
    server.socket.close()
    server.socket = sock
    server.daemon_threads = True
    return server


def main(argv: Sequence[str] | None = None) -> int:
    """Init the handler, announce readiness on stdout, then serve invocations until told to stop."""
    parser = argparse.ArgumentParser(prog="python -m modelrail.local.lambda_runtime")
    parser.add_argument("--handler", required=True, help="path/to/module.py:function")
    parser.add_argument("--fd", type=int, help="an inherited, bound, listening TCP socket")
    parser.add_argument(
        "--snapshot-control-fd",
        type=int,
        help="SnapStart: init, run the before-snapshot hooks, then fork environments on request (local.snapshot)",
    )
    parser.add_argument("--function-name", required=True)
    parser.add_argument("--memory-mb", type=int, default=1024)
    parser.add_argument("--timeout-s", type=float, default=28.0)
    args = parser.parse_args(argv)

    if (args.fd is None) == (args.snapshot_control_fd is None):
        parser.error("give one of --fd and --snapshot-control-fd")
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    if args.snapshot_control_fd is None:
        exit_with_parent()  # a snapshot process starts no thread: it exits when its control socket closes
    started = time.perf_counter()
    handler: Handler | None = None
    init_error: dict[str, Any] | None = None
    try:
        handler = load_attribute(HandlerSpec.parse(args.handler))
    except Exception as exc:
        traceback.print_exc(file=sys.stderr)
        init_error = error_document(exc, error_type=f"Runtime.ImportModuleError: {type(exc).__name__}")
    init_ms: float | None = (time.perf_counter() - started) * 1000
    restore_ms: float | None = None
    if args.snapshot_control_fd is None:
        sock = socket.socket(fileno=args.fd)
        ready = f"init_ms={init_ms:.1f}"
    else:
        from modelrail.local.snapshot import snapshot_and_serve_restores

        control = socket.socket(fileno=args.snapshot_control_fd)
        restored = snapshot_and_serve_restores(control, init_ms=init_ms or 0.0, ok=handler is not None)
        sock, init_ms, restore_ms = restored.sock, None, restored.restore_ms
        ready = f"restore_ms={restore_ms:.1f} pid={os.getpid()}"
    runtime = Runtime(
        handler=handler,
        init_error=init_error,
        name=args.function_name,
        memory_mb=args.memory_mb,
        timeout_s=args.timeout_s,
        init_ms=init_ms,
        restore_ms=restore_ms,
    )
    server = make_server(sock, runtime)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    _log(f"{READY_MARKER} {ready} ok={handler is not None}")
    try:
        runtime.run_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.shutdown()
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

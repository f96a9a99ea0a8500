"""Real servers on loopback for functional tests: the app under uvicorn, moto's S3 server, built models."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parents[2]


@contextmanager
def serve(app: Any, *, lifespan: Literal["auto", "on", "off"] = "off") -> Iterator[str]:
    """Run an ASGI app under uvicorn on a free loopback port; yields its base URL and stops it after."""
    from modelrail.local.processes import bind_loopback
    from modelrail.local.threaded_server import ThreadedServer

    with ThreadedServer(app, bind_loopback(), lifespan=lifespan, name="uvicorn-test") as url:
        yield url


@contextmanager
def moto_s3() -> Iterator[str]:
    """moto's S3 in server mode on a free loopback port; yields its endpoint URL."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


def built_artifact(name: str) -> Path:
    """``build/models/<name>/<version>``, building it first (as CI does before tests) when it is missing."""
    from modelrail.constants import BUILD_DIR, MANIFEST_JSON, MANIFEST_YAML, MODELS_DIR
    from modelrail.manifest import load_manifest

    manifest = load_manifest(ROOT / MODELS_DIR / name / MANIFEST_YAML)
    directory = ROOT / BUILD_DIR / name / manifest.version
    if not (directory / MANIFEST_JSON).is_file():
        from modelrail.builder.pipeline import build_models

        build_models([name], models_dir=ROOT / MODELS_DIR, build_dir=ROOT / BUILD_DIR)
    return directory


class SlowS3Proxy:
    """A reverse proxy on loopback in front of an S3 server that can be made slow, as a real S3 sometimes is.

    ``hang_s``: every answer waits this long before its first byte (a hung S3). ``stall_paths``: for keys
    containing one of these, the headers and the first bytes of the body arrive, then the stream stalls for
    ``hang_s`` (a download that stops half-way, leaving a partial file behind if nothing cleans up).
    """

    def __init__(self, upstream: str) -> None:
        self.upstream = upstream
        self.hang_s = 0.0
        self.stall_paths: tuple[str, ...] = ()
        self.requests = 0
        self._server: Any = None
        self._thread: threading.Thread | None = None

    def __enter__(self) -> SlowS3Proxy:
        import http.server
        import urllib.request

        proxy = self

        class Handler(http.server.BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                del format, args

            def do_GET(self) -> None:
                proxy.requests += 1
                stall = any(part in self.path for part in proxy.stall_paths)
                if proxy.hang_s and not stall:
                    time.sleep(proxy.hang_s)
                request = urllib.request.Request(proxy.upstream + self.path, headers=dict(self.headers.items()))
                try:
                    with urllib.request.urlopen(request, timeout=30) as answer:
                        status, headers, body = answer.status, answer.getheaders(), answer.read()
                except urllib.error.HTTPError as error:
                    status, headers, body = error.code, error.headers.items(), error.read()
                self.send_response(status)
                for key, value in headers:
                    if key.lower() not in ("transfer-encoding", "connection", "content-length"):
                        self.send_header(key, value)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                try:
                    if stall and proxy.hang_s:
                        self.wfile.write(body[: max(1, len(body) // 2)])
                        self.wfile.flush()
                        time.sleep(proxy.hang_s)
                        self.close_connection = True
                        return
                    self.wfile.write(body)
                except OSError:
                    self.close_connection = True  # the client gave up on us, as it should

        self._server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    @property
    def url(self) -> str:
        """The proxy's endpoint URL."""
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

"""An ASGI app under uvicorn in a daemon thread of this process, on a loopback socket bound before the app serves.

The socket comes first, so a caller knows the URL before it builds the app (the gateway names its own port) or
before the server answers (a worker's environment names the local SageMaker Runtime). uvicorn installs no signal
handlers outside the main thread, so the process's own Ctrl-C handling stays as it is.
"""

from __future__ import annotations

import socket
import threading
import time
from types import TracebackType
from typing import Any, Literal

from modelrail.local.processes import LOOPBACK

START_TIMEOUT_S = 15.0


class ThreadedServer:
    """``start`` serves ``app`` on ``sock`` until ``stop``, which also closes the socket; a context manager too."""

    def __init__(
        self, app: Any, sock: socket.socket, *, lifespan: Literal["auto", "on", "off"] = "on", name: str = "asgi-server"
    ) -> None:
        import uvicorn

        self.sock = sock
        config = uvicorn.Config(app, access_log=False, log_level="warning", lifespan=lifespan)
        self._server = uvicorn.Server(config)
        self._thread = threading.Thread(target=self._server.run, kwargs={"sockets": [sock]}, name=name, daemon=True)

    @property
    def url(self) -> str:
        """``http://127.0.0.1:<port>``."""
        return f"http://{LOOPBACK}:{self.sock.getsockname()[1]}"

    def start(self, timeout_s: float = START_TIMEOUT_S) -> str:
        """Start serving and wait until the server answers; returns its URL."""
        self._thread.start()
        deadline = time.monotonic() + timeout_s
        while not self._server.started:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise RuntimeError(f"{self._thread.name} did not start within {timeout_s:.0f} s")
            time.sleep(0.02)
        return self.url

    def stop(self, timeout_s: float = 10.0) -> None:
        """Ask the server to exit (its lifespan shutdown runs), wait for the thread, close the socket."""
        if self._thread.is_alive():
            self._server.should_exit = True
            self._thread.join(timeout_s)
        self.sock.close()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()

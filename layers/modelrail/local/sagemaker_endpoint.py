"""A SageMaker endpoint in local mode: the GPU container app in its own process, called as InvokeEndpoint calls it.

Like SageMaker, the model data (the artifact's S3 prefix) is copied into the container's model directory
before it starts, the endpoint is in service once ``GET /ping`` answers 200, and a container answer other than
2xx comes back as a ``ModelError`` carrying the container's own status and body.
"""

from __future__ import annotations

import asyncio
import sys
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TextIO

import httpx

from modelrail.constants import SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER
from modelrail.local.processes import ChildProcess, bind_loopback, child_env

PING_TIMEOUT_S = 300.0
"""How long a container may take to answer /ping with 200 (model download, session build)."""
PING_INTERVAL_S = 0.25
MAX_PAYLOAD_BYTES = 6 * 1024 * 1024
"""InvokeEndpoint's request body limit."""


@dataclass(frozen=True)
class EndpointConfig:
    """What the stack fixes for one GPU model: the container's app and its environment."""

    name: str
    app: str
    """``path/to/module.py:attribute`` of the container's ASGI app."""
    env: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class EndpointAnswer:
    """What InvokeEndpoint returned: the container's answer, or a ``ModelError`` (``ok`` false)."""

    ok: bool
    status: int
    """The container's HTTP status (``OriginalStatusCode`` of a ModelError); 0 when it never answered."""
    body: bytes = b""
    content_type: str | None = None
    message: str = ""
    """SageMaker's own message for a ModelError without a container answer."""
    timed_out: bool = False
    """The caller's timeout passed first (API Gateway's 29 s is shorter than SageMaker's 60 s)."""
    custom_attributes: str | None = None
    """What the container set in its answer's custom attributes (``InvokeEndpoint``'s ``CustomAttributes``)."""

    @property
    def not_in_service(self) -> bool:
        """The container could not be started: SageMaker's 400 ValidationError, not a ModelError."""
        return self.status == 0 and self.message.startswith("Endpoint ")


class SageMakerEndpoint:
    """One container process: started, health-checked through ``/ping``, restarted if it dies."""

    def __init__(self, config: EndpointConfig, *, output: TextIO | None = None) -> None:
        self.config = config
        self.output = output if output is not None else sys.stderr
        sock = bind_loopback()
        argv = [sys.executable, "-m", "modelrail.local.sagemaker_host", "--app", config.app, "--fd", str(sock.fileno())]
        self._process = ChildProcess(config.name, argv, env=child_env(config.env), sock=sock, output=self.output)
        self._restart_lock = threading.Lock()

    @property
    def url(self) -> str:
        """The container's base URL."""
        return f"http://127.0.0.1:{self._process.port}"

    @property
    def pid(self) -> int | None:
        """The container's process id."""
        return self._process.pid

    def start(self) -> None:
        """Start the container process (returns at once; ``wait_in_service`` blocks until /ping answers 200)."""
        self._process.start()

    def wait_in_service(self, timeout_s: float = PING_TIMEOUT_S) -> float:
        """Poll ``GET /ping`` until 200, as SageMaker does before an endpoint goes InService; returns the wait in ms."""
        started = time.monotonic()
        last = "no answer"
        with httpx.Client(timeout=10) as client:
            while time.monotonic() - started < timeout_s:
                if not self._process.alive():
                    raise RuntimeError(
                        f"{self.config.name}: the container exited with status {self._process.returncode()} "
                        "before /ping answered 200 (see its log above)"
                    )
                try:
                    response = client.get(f"{self.url}/ping")
                except httpx.TransportError:
                    time.sleep(PING_INTERVAL_S)
                    continue
                if response.status_code == 200:
                    return (time.monotonic() - started) * 1000
                last = f"{response.status_code} {response.text[:300]}"
                time.sleep(PING_INTERVAL_S)
        raise RuntimeError(f"{self.config.name}: /ping did not answer 200 within {timeout_s:.0f} s (last: {last})")

    def _ensure_running(self) -> None:
        with self._restart_lock:
            if not self._process.alive():
                print(f"[{self.config.name}] the container stopped; starting a new one", file=self.output, flush=True)
                self._process.start()
                self.wait_in_service()

    async def invoke(
        self,
        body: bytes,
        *,
        custom_attributes: str,
        content_type: str | None,
        accept: str,
        client: httpx.AsyncClient,
        timeout_s: float,
    ) -> EndpointAnswer:
        """``InvokeEndpoint``: ``POST /invocations`` with the custom attributes header."""
        if not self._process.alive():
            try:
                await asyncio.to_thread(self._ensure_running)
            except RuntimeError as exc:
                return EndpointAnswer(False, 0, message=f"Endpoint {self.config.name} not in service: {exc}")
        headers = {SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER: custom_attributes, "Accept": accept}
        if content_type is not None:
            headers["Content-Type"] = content_type
        try:
            response = await client.post(f"{self.url}/invocations", content=body, headers=headers, timeout=timeout_s)
        except httpx.TimeoutException:
            return EndpointAnswer(False, 0, message="timed out waiting for the model", timed_out=True)
        except httpx.TransportError as exc:
            return EndpointAnswer(False, 0, message=f"the container failed without an answer ({type(exc).__name__})")
        ok = 200 <= response.status_code < 300
        return EndpointAnswer(
            ok,
            response.status_code,
            response.content,
            response.headers.get("content-type"),
            custom_attributes=response.headers.get(SAGEMAKER_CUSTOM_ATTRIBUTES_HEADER),
        )

    def stop(self) -> None:
        """Stop the container process."""
        self._process.stop()

    def close(self) -> None:
        """Stop the container and release its port."""
        self._process.close()

"""A Lambda function in local mode: one runtime process (``lambda_runtime``) and the invoke call to it.

Like Lambda, an environment that crashed or ran past its timeout is discarded and the next invocation gets a
fresh one, with its own cold start.
"""

from __future__ import annotations

import asyncio
import json
import sys
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, TextIO

import httpx

from modelrail.local.lambda_runtime import FUNCTION_ERROR_HEADER, INVOKE_PATH, READY_MARKER
from modelrail.local.processes import ChildProcess, bind_loopback, child_env

INIT_TIMEOUT_S = 120.0
"""How long a runtime may take to import its handler (Lambda allows 10 s; a first import here can take longer)."""


@dataclass(frozen=True)
class FunctionConfig:
    """What ``cdk deploy`` fixes for one function: its handler, environment, memory and timeout."""

    name: str
    handler: str
    """``path/to/module.py:function``."""
    env: Mapping[str, str] = field(default_factory=dict)
    memory_mb: int = 1024
    timeout_s: float = 28.0


@dataclass(frozen=True)
class Invocation:
    """What an invoke returned: the response payload, and Lambda's function-error kind when the handler failed."""

    payload: bytes
    function_error: str | None = None
    timed_out: bool = False


class LambdaFunction:
    """One function: a runtime process started on demand and restarted after a crash or a timeout."""

    def __init__(self, config: FunctionConfig, *, output: TextIO | None = None) -> None:
        self.config = config
        self.output = output if output is not None else sys.stderr
        self.init_ms: float | None = None
        sock = bind_loopback()
        argv = [
            sys.executable, "-m", "modelrail.local.lambda_runtime",
            "--handler", config.handler,
            "--fd", str(sock.fileno()),
            "--function-name", config.name,
            "--memory-mb", str(config.memory_mb),
            "--timeout-s", str(config.timeout_s),
        ]  # fmt: skip
        self._process = ChildProcess(
            config.name, argv, env=child_env(config.env), sock=sock, ready_marker=READY_MARKER, output=self.output
        )
        self._restart_lock = threading.Lock()

    @property
    def url(self) -> str:
        """The runtime's invoke URL."""
        return f"http://127.0.0.1:{self._process.port}{INVOKE_PATH}"

    @property
    def pid(self) -> int | None:
        """The runtime's process id."""
        return self._process.pid

    def start(self) -> None:
        """Start the runtime process (returns at once; ``wait_ready`` blocks until its init is over)."""
        self._process.start()

    def wait_ready(self, timeout_s: float = INIT_TIMEOUT_S) -> float:
        """Block until the handler module is imported; returns the init time in ms."""
        line = self._process.wait_ready(timeout_s)
        fields = dict(part.partition("=")[::2] for part in line.split()[1:])
        self.init_ms = float(fields.get("init_ms", "nan"))
        return self.init_ms

    def _ensure_running(self) -> None:
        with self._restart_lock:
            if not self._process.alive():
                print(f"[{self.config.name}] starting a new execution environment", file=self.output, flush=True)
                self._process.start()
                self.wait_ready()

    async def invoke(self, event: Any, *, client: httpx.AsyncClient, timeout_s: float | None = None) -> Invocation:
        """Run one event through the handler, as Lambda's synchronous Invoke does."""
        return await self.invoke_payload(_dump(event), client=client, timeout_s=timeout_s)

    async def invoke_payload(
        self, payload: bytes, *, client: httpx.AsyncClient, timeout_s: float | None = None
    ) -> Invocation:
        """Run one already-serialized event."""
        if not self._process.alive():
            await asyncio.to_thread(self._ensure_running)
        limit = self.config.timeout_s if timeout_s is None else min(timeout_s, self.config.timeout_s)
        try:
            response = await client.post(self.url, content=payload, timeout=limit)
        except httpx.TimeoutException:
            # Lambda ends an environment that runs past its timeout; the next event starts a fresh one.
            self._process.kill()
            message = f"Task timed out after {limit:.2f} seconds"
            return Invocation(_dump({"errorMessage": message, "errorType": "Sandbox.Timedout"}), "Unhandled", True)
        except httpx.TransportError as exc:
            self._process.kill()
            message = f"Runtime exited without providing a reason ({type(exc).__name__})"
            return Invocation(_dump({"errorMessage": message, "errorType": "Runtime.ExitError"}), "Unhandled")
        return Invocation(response.content, response.headers.get(FUNCTION_ERROR_HEADER))

    def stop(self) -> None:
        """Stop the runtime process (its socket stays bound until ``close``)."""
        self._process.stop()

    def close(self) -> None:
        """Stop the runtime and release its port."""
        self._process.close()


def _dump(document: Any) -> bytes:
    return json.dumps(document).encode("utf-8")

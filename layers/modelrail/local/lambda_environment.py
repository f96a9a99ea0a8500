"""One Lambda execution environment in local mode: a runtime process (``lambda_runtime``) with its own port and /tmp.

An environment runs one invocation at a time. Its timeout counts from when it takes the event; one that runs
past its timeout or crashes is ended (its process killed, its /tmp removed) and answers the event with
Lambda's error, and nothing else is affected: the function (``lambda_function``) starts another on demand.
"""

from __future__ import annotations

import asyncio
import json
import shutil
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import httpx

from modelrail.local.lambda_runtime import FUNCTION_ERROR_HEADER, INVOKE_PATH, READY_MARKER
from modelrail.local.processes import ChildProcess, bind_loopback, child_env

if TYPE_CHECKING:
    from modelrail.local.lambda_function import FunctionConfig
    from modelrail.local.snapshot import RestoredProcess, Snapshot

_READY_POLL_S = 0.01


@dataclass(frozen=True)
class Invocation:
    """What an invoke returned: the response payload, and Lambda's function-error kind when the handler failed."""

    payload: bytes
    function_error: str | None = None
    timed_out: bool = False
    environment_ended: bool = False
    """The environment timed out or crashed and is gone; the next event needs another."""


def runtime_exit(reason: str) -> Invocation:
    """Lambda's answer for an environment whose runtime died before answering."""
    document = {
        "errorMessage": f"Runtime exited without providing a reason ({reason})",
        "errorType": "Runtime.ExitError",
    }
    return Invocation(json.dumps(document).encode(), "Unhandled", environment_ended=True)


class ExecutionEnvironment:
    """One runtime process serving one event at a time on its own loopback socket."""

    def __init__(
        self,
        config: FunctionConfig,
        number: int,
        *,
        output: TextIO | None = None,
        snapshot: Snapshot | None = None,
    ) -> None:
        """``snapshot``: restore the environment from a SnapStart snapshot process instead of starting one."""
        self.config = config
        self.number = number
        self.init_ms: float | None = None
        self.restore_ms: float | None = None
        env = dict(config.env)
        self.tmp: Path | None = None
        if config.tmp_root is not None:
            # Each environment has its own /tmp, gone with it.
            self.tmp = config.tmp_root / f"env-{number}"
            self.tmp.mkdir(parents=True, exist_ok=True)
            env.update(dict.fromkeys(config.tmp_variables, str(self.tmp)))
        sock = bind_loopback()
        # Log lines of the first environment carry the function's name, later ones `name#N` (Lambda gives each
        # environment its own log stream).
        label = config.name if number == 1 else f"{config.name}#{number}"
        self._process: ChildProcess | RestoredProcess
        if snapshot is not None:
            self._process = snapshot.environment(label, env=env, sock=sock, output=output or sys.stderr)
            return
        argv = [
            sys.executable, "-m", "modelrail.local.lambda_runtime",
            "--handler", config.handler,
            "--fd", str(sock.fileno()),
            "--function-name", config.name,
            "--memory-mb", str(config.memory_mb),
            "--timeout-s", str(config.timeout_s),
        ]  # fmt: skip
        self._process = ChildProcess(
            label,
            argv,
            env=child_env(env),
            sock=sock,
            ready_marker=READY_MARKER,
            output=output if output is not None else sys.stderr,
        )

    @property
    def url(self) -> str:
        """The runtime's invoke URL."""
        return f"http://127.0.0.1:{self._process.port}{INVOKE_PATH}"

    @property
    def pid(self) -> int | None:
        """The runtime's process id."""
        return self._process.pid

    def alive(self) -> bool:
        """Whether the runtime process is running."""
        return self._process.alive()

    def start(self) -> None:
        """Start the runtime process (returns at once; its init runs in the background)."""
        self._process.start()

    def wait_ready(self, timeout_s: float) -> float:
        """Block until the handler module is imported; returns the init time in ms."""
        return self._record_init(self._process.wait_ready(timeout_s))

    async def wait_ready_async(self, timeout_s: float) -> float:
        """``wait_ready`` without holding a thread: an event loop may start many environments at once."""
        deadline = time.monotonic() + timeout_s
        while not self._process.ready():
            if not self._process.alive():
                raise RuntimeError(
                    f"{self.config.name} exited with status {self._process.returncode()} before it was ready "
                    "(see its log above)"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.config.name} was not ready after {timeout_s:.0f} s")
            await asyncio.sleep(_READY_POLL_S)
        return self._record_init(self._process.ready_line or "")

    def _record_init(self, line: str) -> float:
        """The init time (a restored environment: its restore time) from the ready line."""
        fields = dict(part.partition("=")[::2] for part in line.split()[1:])
        if "restore_ms" in fields:
            self.restore_ms = float(fields["restore_ms"])
            return self.restore_ms
        self.init_ms = float(fields.get("init_ms", "nan"))
        return self.init_ms

    async def invoke(self, payload: bytes, *, client: httpx.AsyncClient, timeout_s: float) -> Invocation:
        """Run one serialized event; the timeout starts now, when this environment takes it."""
        # No pool timeout: waiting for a free connection of the shared client is not the function's time.
        timeout = httpx.Timeout(timeout_s, pool=None)
        try:
            response = await client.post(self.url, content=payload, timeout=timeout)
        except httpx.TimeoutException:
            # Lambda ends an environment that runs past its timeout; the next event gets another.
            await asyncio.to_thread(self.kill)
            document = {
                "errorMessage": f"Task timed out after {timeout_s:.2f} seconds",
                "errorType": "Sandbox.Timedout",
            }
            return Invocation(json.dumps(document).encode(), "Unhandled", timed_out=True, environment_ended=True)
        except httpx.TransportError as exc:
            await asyncio.to_thread(self.kill)
            return runtime_exit(type(exc).__name__)
        return Invocation(response.content, response.headers.get(FUNCTION_ERROR_HEADER))

    def stop(self) -> None:
        """Stop the runtime process (SIGTERM, then SIGKILL)."""
        self._process.stop()

    def kill(self) -> None:
        """End the environment at once: kill its process, release its port, remove its /tmp."""
        self._process.kill()
        self._release()

    def close(self) -> None:
        """Stop the environment in order and release everything it held."""
        self._process.stop()
        self._release()

    def _release(self) -> None:
        self._process.sock.close()
        if self.tmp is not None:
            shutil.rmtree(self.tmp, ignore_errors=True)

"""A Lambda function in local mode: execution environments (``lambda_environment``) started on demand, up to the
function's concurrency, and the invoke call that hands each event to one of them.

As on Lambda (https://docs.aws.amazon.com/lambda/latest/dg/lambda-concurrency.html): an environment handles one
request at a time; an event goes to an idle environment, or to a new one (its own cold start and /tmp) while the
function runs fewer than its concurrency; the timeout counts from when an environment takes the event; a timeout
or a crash ends only that environment (https://docs.aws.amazon.com/lambda/latest/dg/lambda-runtime-environment.html,
"Failures during the invoke phase") and the next event gets another. Where Lambda would throttle an event beyond
the concurrency, local mode queues it until an environment is free (a laptop's burst is served, not refused); the
wait does not count against its timeout.
"""

from __future__ import annotations

import asyncio
import itertools
import sys
import threading
from collections import deque
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO, TypeAlias

import httpx

from modelrail.local.events import event_payload
from modelrail.local.lambda_environment import ExecutionEnvironment, Invocation, runtime_exit
from modelrail.local.snapshot import Snapshot

__all__ = ["DEFAULT_CONCURRENCY", "INIT_TIMEOUT_S", "FunctionConfig", "Invocation", "LambdaFunction"]

INIT_TIMEOUT_S = 120.0
"""How long a runtime may take to import its handler (Lambda allows 10 s; a first import here can take longer)."""
DEFAULT_CONCURRENCY = 4
"""Environments a function runs at most locally when its manifest sets no ``reserved_concurrency``: enough to
serve a few callers at once without starting a model copy per request on a laptop."""


@dataclass(frozen=True)
class FunctionConfig:
    """What ``cdk deploy`` fixes for one function: its handler, environment, memory, timeout and concurrency."""

    name: str
    handler: str
    """``path/to/module.py:function``."""
    env: Mapping[str, str] = field(default_factory=dict)
    memory_mb: int = 1024
    timeout_s: float = 28.0
    concurrency: int = DEFAULT_CONCURRENCY
    """Environments that may run at once."""
    tmp_root: Path | None = None
    """Where each environment gets its own /tmp directory (``env-N``); None: no private directory."""
    tmp_variables: tuple[str, ...] = ("TMPDIR",)
    """Variables set to the environment's /tmp directory."""
    snapstart: bool = False
    """SnapStart (zip packaging): init once in a snapshot process, restore every environment from it (``snapshot``)."""

    def __post_init__(self) -> None:
        if self.concurrency < 1:
            raise ValueError(f"{self.name}: concurrency must be at least 1, got {self.concurrency}")


class _Slot:
    """A waiter's permission to start a new environment (the function runs fewer than its concurrency)."""


_SLOT = _Slot()
_Token: TypeAlias = "ExecutionEnvironment | _Slot"  # noqa: S105 - a type, not a password
_Waiter: TypeAlias = "tuple[asyncio.AbstractEventLoop, asyncio.Future[_Token]]"


class LambdaFunction:
    """One function: a pool of execution environments, each started on demand and ended after a crash or timeout.

    Thread-safe across event loops (the gateway's, and ``asyncio.run`` calls at start-up and in tests): the state
    is guarded by a lock, and a waiting caller is woken in its own loop.
    """

    def __init__(self, config: FunctionConfig, *, output: TextIO | None = None) -> None:
        self.config = config
        self.output = output if output is not None else sys.stderr
        self.init_ms: float | None = None
        self._lock = threading.Lock()
        self._numbers = itertools.count(1)
        self._environments: list[ExecutionEnvironment] = []
        """Every live environment: starting, idle or busy."""
        self._idle: list[ExecutionEnvironment] = []
        self._slots = 0
        """Environments running or being started (at most ``config.concurrency``)."""
        self._waiters: deque[_Waiter] = deque()
        self._first: ExecutionEnvironment | None = None
        self._closed = False
        self.snapshot: Snapshot | None = Snapshot(config, output=self.output) if config.snapstart else None
        """The SnapStart snapshot environments are restored from (None: each environment runs its own init)."""

    @property
    def environments(self) -> list[ExecutionEnvironment]:
        """The live environments, oldest first."""
        with self._lock:
            return list(self._environments)

    @property
    def pid(self) -> int | None:
        """The oldest live environment's process id (None when none runs)."""
        environments = self.environments
        return environments[0].pid if environments else None

    def start(self) -> None:
        """Start the first environment (returns at once; ``wait_ready`` blocks until its init is over).

        With SnapStart, the snapshot's init starts first and the first environment is restored once it is done.
        """
        if self.snapshot is not None:
            self.snapshot.start()
        with self._lock:
            self._slots += 1
        self._first = self._new_environment()
        self._first.start()

    def wait_ready(self, timeout_s: float = INIT_TIMEOUT_S) -> float:
        """Block until the first environment's handler module is imported; returns the init time in ms."""
        environment = self._first
        if environment is None:
            raise RuntimeError(f"{self.config.name}: start() first")
        self._first = None
        try:
            if self.snapshot is not None:
                self.snapshot.wait_ready(timeout_s)
            self.init_ms = environment.wait_ready(timeout_s)
        except BaseException:
            self._end(environment)
            raise
        self._give_back(environment)
        return self.init_ms

    async def invoke(self, event: Any, *, client: httpx.AsyncClient, timeout_s: float | None = None) -> Invocation:
        """Run one event through the handler, as Lambda's synchronous Invoke does."""
        return await self.invoke_payload(event_payload(event), client=client, timeout_s=timeout_s)

    async def invoke_payload(
        self, payload: bytes, *, client: httpx.AsyncClient, timeout_s: float | None = None
    ) -> Invocation:
        """Run one already-serialized event in an idle environment, or a new one, or the next one free."""
        try:
            environment = await self._acquire()
        except RuntimeError as exc:  # a new environment died before it was ready
            print(f"[{self.config.name}] {exc}", file=self.output, flush=True)
            return runtime_exit("init failed")
        limit = self.config.timeout_s if timeout_s is None else min(timeout_s, self.config.timeout_s)
        try:
            invocation = await environment.invoke(payload, client=client, timeout_s=limit)
        except BaseException:
            # Cancelled mid-invoke: the handler may still be running, so the environment cannot serve another.
            self._end(environment)
            raise
        if invocation.environment_ended:
            self._end(environment)
        else:
            self._give_back(environment)
        return invocation

    async def _acquire(self) -> ExecutionEnvironment:
        loop = asyncio.get_running_loop()
        waiter: asyncio.Future[_Token] | None = None
        with self._lock:
            if self._closed:
                raise RuntimeError(f"{self.config.name} is stopped")
            if self._idle:
                return self._idle.pop()  # the most recently used: warm, as Lambda prefers
            if self._slots < self.config.concurrency:
                self._slots += 1
            else:
                waiter = loop.create_future()
                self._waiters.append((loop, waiter))
        if waiter is not None:
            try:
                token = await waiter
            except asyncio.CancelledError:
                self._abandon(waiter)
                raise
            if isinstance(token, ExecutionEnvironment):
                return token
        return await self._start_environment()

    async def _start_environment(self) -> ExecutionEnvironment:
        """Start a new environment on a slot already counted; the slot is given back if it fails."""
        try:
            environment = self._new_environment()
        except BaseException:
            self._give_back(_SLOT)
            raise
        with self._lock:
            others = self._slots - 1
        print(
            f"[{self.config.name}] starting execution environment {environment.number} "
            f"({others} already running or starting, at most {self.config.concurrency})",
            file=self.output,
            flush=True,
        )
        try:
            environment.start()
            self.init_ms = await environment.wait_ready_async(INIT_TIMEOUT_S)
        except BaseException:
            self._end(environment)
            raise
        return environment

    def _new_environment(self) -> ExecutionEnvironment:
        with self._lock:
            if self._closed:  # a waiter handed a free slot while the function was being closed
                raise RuntimeError(f"{self.config.name} is stopped")
            number = next(self._numbers)
        environment = ExecutionEnvironment(self.config, number, output=self.output, snapshot=self.snapshot)
        with self._lock:
            self._environments.append(environment)
            closed = self._closed
        if closed:
            environment.close()
            raise RuntimeError(f"{self.config.name} is stopped")
        return environment

    def _end(self, environment: ExecutionEnvironment) -> None:
        """Discard an environment (killed if still running) and free its slot for the next event."""
        environment.kill()
        with self._lock:
            if environment in self._environments:
                self._environments.remove(environment)
        self._give_back(_SLOT)

    def _give_back(self, token: _Token) -> None:
        """An idle environment or a free slot: to the longest waiting caller, else back to the pool."""
        with self._lock:
            waiter = self._next_waiter()
            if waiter is None:
                if isinstance(token, ExecutionEnvironment):
                    if not self._closed:
                        self._idle.append(token)
                        return
                else:
                    self._slots -= 1
                    return
        if waiter is None:  # an environment coming back after close
            assert isinstance(token, ExecutionEnvironment)
            token.close()
            return
        loop, future = waiter
        try:
            loop.call_soon_threadsafe(self._hand_over, future, token)
        except RuntimeError:  # that caller's loop is closed: it is gone
            self._give_back(token)

    def _next_waiter(self) -> _Waiter | None:
        while self._waiters:
            waiter = self._waiters.popleft()
            if not waiter[1].done():
                return waiter
        return None

    def _hand_over(self, future: asyncio.Future[_Token], token: _Token) -> None:
        """In the waiting caller's loop: give it the token, or take the token back if it stopped waiting."""
        if future.done():
            self._give_back(token)
        else:
            future.set_result(token)

    def _abandon(self, future: asyncio.Future[_Token]) -> None:
        """A waiting caller was cancelled: leave the queue, and pass on a token it was already given."""
        with self._lock:
            for waiter in self._waiters:
                if waiter[1] is future:
                    self._waiters.remove(waiter)
                    return
        if future.done() and not future.cancelled():
            self._give_back(future.result())
        # else a hand-over is scheduled in this loop and will find the future cancelled

    def stop(self) -> None:
        """Stop every environment's process (their sockets stay bound until ``close``)."""
        for environment in self.environments:
            environment.stop()

    def close(self) -> None:
        """Stop every environment and release its port and /tmp; later invokes fail."""
        with self._lock:
            self._closed = True
            environments, self._environments, self._idle = self._environments, [], []
        for environment in environments:
            environment.close()
        if self.snapshot is not None:
            self.snapshot.close()

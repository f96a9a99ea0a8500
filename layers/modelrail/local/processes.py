"""Child processes of local mode: each on a loopback socket the parent bound, its output prefixed and forwarded.

The parent binds every socket itself (port 0 picks a free one), so it knows each child's address before the
child runs and no two children can race for a port. Children run in their own session: Ctrl-C reaches only the
parent, which then stops them in order.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess  # nosec B404 # local mode starts its own function processes, argv only
import sys
import threading
import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TextIO

import modelrail

LOOPBACK = "127.0.0.1"
STOP_GRACE_S = 5.0
_INHERITED_ENV = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TMPDIR", "HOME", "SYSTEMROOT", "PYTHONUNBUFFERED")
"""The only variables a child inherits: a function's environment is its own, not the caller's shell."""


def bind_loopback(port: int = 0) -> socket.socket:
    """A listening TCP socket on 127.0.0.1 (``port=0``: any free port); ``OSError`` if the port is taken."""
    # An explicit IPPROTO_TCP: asyncio sets TCP_NODELAY on accepted sockets only when ``proto`` says TCP, and
    # without it every response waits ~40 ms for a delayed ACK (headers and body are separate writes).
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        if sys.platform == "linux":
            # Connections the gateway closed at its last stop linger in TIME-WAIT for a minute and, without this,
            # block the bind: `local up` right after a stop would say the port is in use. On Linux the flag never
            # lets two listeners share a port ("a socket may bind, except when there is an active listening
            # socket bound to the address", socket(7): https://man7.org/linux/man-pages/man7/socket.7.html), so a
            # port really in use still fails here with a clear message. Elsewhere (BSD, Windows) the flag is
            # looser, so it stays off there.
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((LOOPBACK, port))
        sock.listen(128)
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


def exit_with_parent(poll_s: float = 0.5) -> None:
    """In a child: exit as soon as the parent is gone, so nothing outlives ``modelrail local up`` (even a SIGKILL)."""
    parent = os.getppid()

    def watch() -> None:
        while os.getppid() == parent:
            time.sleep(poll_s)
        os._exit(0)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def child_env(extra: Mapping[str, str]) -> dict[str, str]:
    """A minimal environment: a few inherited basics plus ``extra``."""
    env = {name: os.environ[name] for name in _INHERITED_ENV if name in os.environ}
    env["PYTHONUNBUFFERED"] = "1"
    # Children import the very `modelrail` the parent runs, not whichever copy an editable install points at
    # (a second checkout of the repository would otherwise run the first one's handler code).
    env["PYTHONPATH"] = str(Path(modelrail.__file__).resolve().parent.parent)
    env.update(extra)
    return env


class ChildProcess:
    """One child process serving on an inherited socket, with its output forwarded line by line."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        *,
        env: Mapping[str, str],
        sock: socket.socket,
        ready_marker: str | None = None,
        output: TextIO | None = None,
    ) -> None:
        self.name = name
        self.argv = list(argv)
        self.env = dict(env)
        self.sock = sock
        self.ready_marker = ready_marker
        self.output = output if output is not None else sys.stderr
        self.ready_line: str | None = None
        self._ready = threading.Event()
        self._process: subprocess.Popen[str] | None = None
        self._reader: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The loopback port the child serves on."""
        return int(self.sock.getsockname()[1])

    @property
    def pid(self) -> int | None:
        """The child's process id, once started."""
        return self._process.pid if self._process else None

    def alive(self) -> bool:
        """Whether the child is running."""
        return self._process is not None and self._process.poll() is None

    def start(self) -> None:
        """Start the child (returns at once; see ``wait_ready``)."""
        if self._process is not None:
            self.kill()  # reaps an exited predecessor too
        self._ready.clear()
        self.ready_line = None
        self._process = subprocess.Popen(  # noqa: S603  # nosec B603 # argv is built by local mode, never from user text
            self.argv,
            env=self.env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            errors="replace",
            pass_fds=(self.sock.fileno(),),
            start_new_session=True,
        )
        self._reader = threading.Thread(target=self._forward, args=(self._process,), daemon=True)
        self._reader.start()

    def _forward(self, process: subprocess.Popen[str]) -> None:
        assert process.stdout is not None
        # The pipe or the output stream may be closed under us at shutdown; output is best effort then.
        with contextlib.suppress(ValueError, OSError):
            for line in process.stdout:
                text = line.rstrip("\n")
                if self.ready_marker and not self._ready.is_set() and text.startswith(self.ready_marker):
                    self.ready_line = text
                    self._ready.set()
                    continue
                print(f"[{self.name}] {text}", file=self.output, flush=True)

    def ready(self) -> bool:
        """Whether the child has printed its ready marker."""
        return self._ready.is_set()

    def wait_ready(self, timeout_s: float) -> str:
        """Block until the child prints its ready marker; raise ``RuntimeError`` if it exits or times out first."""
        deadline = time.monotonic() + timeout_s
        while not self._ready.wait(0.1):
            if not self.alive():
                raise RuntimeError(
                    f"{self.name} exited with status {self.returncode()} before it was ready (see its log above)"
                )
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} was not ready after {timeout_s:.0f} s")
        return self.ready_line or ""

    def returncode(self) -> int | None:
        """The exit status, once exited."""
        return self._process.poll() if self._process else None

    def stop(self, grace_s: float = STOP_GRACE_S) -> None:
        """SIGTERM, then SIGKILL after ``grace_s``; waits for the process and its output to end."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGTERM)
            try:
                process.wait(grace_s)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(process.pid, signal.SIGKILL)
                process.wait()
        self._reap(process)

    def kill(self) -> None:
        """Kill at once (a function that ran past its timeout); the next ``start`` is a fresh environment."""
        process = self._process
        if process is None:
            return
        if process.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        self._reap(process)

    def _reap(self, process: subprocess.Popen[str]) -> None:
        """Let the output thread drain what the exited process wrote, then close its pipe."""
        if self._reader is not None:
            self._reader.join(timeout=2)
        if process.stdout is not None:
            process.stdout.close()

    def close(self) -> None:
        """Stop the child and close its socket."""
        self.stop()
        self.sock.close()

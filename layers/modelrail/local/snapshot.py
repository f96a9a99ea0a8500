"""SnapStart in local mode: one initialized process stands for a version's snapshot, and each execution environment is
restored from it by ``os.fork()``.

On Lambda a SnapStart function's init runs once, when a version is published; the initialized environment is
snapshotted and every new environment resumes from that snapshot
(https://docs.aws.amazon.com/lambda/latest/dg/snapstart.html). Here the *snapshot process* (``lambda_runtime`` with
``--snapshot-control-fd``) runs the init with ``AWS_LAMBDA_INITIALIZATION_TYPE=snap-start``, then the before-snapshot
hooks, exactly as the Python runtime interface client does (aws/aws-lambda-python-runtime-interface-client,
``awslambdaric/bootstrap.py`` ``on_init_complete`` and ``lambda_runtime_hooks_runner.py``: before-snapshot hooks
in the reverse order of registration, after-restore hooks in order; a failing hook ends the process with status
64 or 65). It never answers an event: it waits on a control socket. Each restore request carries the environment's
listening socket and the write end of its log pipe; the snapshot process forks, and the child (the restored
environment, its own session) runs the after-restore hooks and serves, reporting ``restore_ms`` (request received
to hooks done) as Lambda reports a Restore Duration.

What a fork does not emulate: a Firecracker snapshot also keeps threads and is restored on another host, maybe days
later; only AWS can measure that restore's latency. The snapshot process starts no thread of its own, so nothing is
lost in the fork (the model's preload thread has finished before the snapshot: ``modelrail.snapstart``).
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, TextIO

from modelrail.constants import ENV_LAMBDA_INITIALIZATION_TYPE, SNAP_START_INITIALIZATION

if TYPE_CHECKING:
    from modelrail.local.lambda_function import FunctionConfig

SNAPSHOT_MARKER = "MODELRAIL-SNAPSHOT-READY"
"""First stdout line of a snapshot process whose init and before-snapshot hooks are done."""
BEFORE_SNAPSHOT_FAILED = 64
AFTER_RESTORE_FAILED = 65
"""Exit statuses of awslambdaric when a before-snapshot or after-restore hook raises."""
_KILL_WAIT_S = 2.0


# --- In the snapshot process ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Restored:
    """What a restored environment serves on, and how long its restore took."""

    sock: socket.socket
    restore_ms: float


def run_before_snapshot() -> None:
    """The registered before-snapshot hooks, last registered first (awslambdaric pops them)."""
    from snapshot_restore_py import get_before_snapshot

    hooks = get_before_snapshot()
    while hooks:
        func, args, kwargs = hooks.pop()
        func(*args, **kwargs)


def run_after_restore() -> None:
    """The registered after-restore hooks, in the order of registration."""
    from snapshot_restore_py import get_after_restore

    for func, args, kwargs in get_after_restore():
        func(*args, **kwargs)


def snapshot_and_serve_restores(control: socket.socket, *, init_ms: float, ok: bool) -> Restored:
    """Run the before-snapshot hooks, then fork one environment per restore request until the control socket
    closes (the parent is gone: exit). Returns only in a restored child, after its after-restore hooks ran."""
    try:
        run_before_snapshot()
    except Exception:
        traceback.print_exc(file=sys.stderr)
        sys.exit(BEFORE_SNAPSHOT_FAILED)
    # The kernel reaps the restored environments as they exit: they are the parent's to watch, not ours.
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)
    print(f"{SNAPSHOT_MARKER} init_ms={init_ms:.1f} ok={ok} pid={os.getpid()}", flush=True)
    while True:
        message, fds, _, _ = socket.recv_fds(control, 65536, 2)
        if not message:
            sys.exit(0)
        received = time.perf_counter()
        sys.stdout.flush()
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            return _restore(control, json.loads(message), fds, received)
        for fd in fds:
            os.close(fd)


def _restore(control: socket.socket, request: dict[str, dict[str, str]], fds: list[int], received: float) -> Restored:
    """In the forked child: become an environment of its own, run the after-restore hooks."""
    control.close()
    listening, log_pipe = fds
    os.dup2(log_pipe, 1)
    os.dup2(log_pipe, 2)
    os.close(log_pipe)
    signal.signal(signal.SIGCHLD, signal.SIG_DFL)
    # Lambda ends an environment without running its interpreter's exit; here that also spares the forked copy of
    # ONNX Runtime joining threads that exist only in the snapshot process.
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    os.setsid()  # its own process group: local mode ends one environment without touching the others
    os.environ.update(request["env"])  # its own /tmp
    tempfile.tempdir = None
    from modelrail.local.processes import exit_with_parent

    exit_with_parent()
    try:
        run_after_restore()
    except Exception:
        traceback.print_exc(file=sys.stderr)
        os._exit(AFTER_RESTORE_FAILED)
    return Restored(sock=socket.socket(fileno=listening), restore_ms=(time.perf_counter() - received) * 1000)


# --- In local mode ----------------------------------------------------------------------------------------------


class Snapshot:
    """A function version's snapshot: the snapshot process, and the control socket that asks it for environments."""

    def __init__(self, config: FunctionConfig, *, output: TextIO | None = None) -> None:
        from modelrail.local.processes import ChildProcess, child_env

        self.config = config
        self.output = output if output is not None else sys.stderr
        self.init_ms: float | None = None
        self.control, child_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        child_end.set_inheritable(True)
        env = {**config.env, ENV_LAMBDA_INITIALIZATION_TYPE: SNAP_START_INITIALIZATION}
        if config.tmp_root is not None:
            # The init's /tmp (the model's files among them) is the snapshot's disk, which restored environments keep.
            tmp = config.tmp_root / "snapshot"
            tmp.mkdir(parents=True, exist_ok=True)
            env.update(dict.fromkeys(config.tmp_variables, str(tmp)))
        argv = [
            sys.executable, "-m", "modelrail.local.lambda_runtime",
            "--handler", config.handler,
            "--snapshot-control-fd", str(child_end.fileno()),
            "--function-name", config.name,
            "--memory-mb", str(config.memory_mb),
            "--timeout-s", str(config.timeout_s),
        ]  # fmt: skip
        self._process = ChildProcess(
            f"{config.name} snapshot",
            argv,
            env=child_env(env),
            sock=child_end,
            ready_marker=SNAPSHOT_MARKER,
            output=self.output,
        )
        self._lock = threading.Lock()

    @property
    def pid(self) -> int | None:
        """The snapshot process's id."""
        return self._process.pid

    def alive(self) -> bool:
        """Whether the snapshot process runs."""
        return self._process.alive()

    def start(self) -> None:
        """Start the snapshot process's init (returns at once; restore requests wait for it)."""
        self._process.start()
        self._process.sock.close()  # the child's end: the snapshot process alone holds it now

    def wait_ready(self, timeout_s: float) -> float:
        """Block until the snapshot is taken; returns its init time in ms."""
        line = self._process.wait_ready(timeout_s)
        fields = dict(part.partition("=")[::2] for part in line.split()[1:])
        self.init_ms = float(fields.get("init_ms", "nan"))
        return self.init_ms

    def environment(
        self, label: str, *, env: Mapping[str, str], sock: socket.socket, output: TextIO
    ) -> RestoredProcess:
        """An environment to restore, serving on ``sock`` with the variables in ``env`` that are its own (/tmp)."""
        from modelrail.local.lambda_runtime import READY_MARKER

        own = {name: env[name] for name in self.config.tmp_variables if name in env}
        return RestoredProcess(label, snapshot=self, env=own, sock=sock, ready_marker=READY_MARKER, output=output)

    def restore(self, sock: socket.socket, env: Mapping[str, str]) -> int:
        """Ask for one environment serving on ``sock``; returns the read end of its log pipe."""
        read_end, write_end = os.pipe()
        try:
            with self._lock:  # one message, with its descriptors, at a time
                socket.send_fds(self.control, [json.dumps({"env": dict(env)}).encode()], [sock.fileno(), write_end])
        except OSError as exc:
            os.close(read_end)
            status = self._process.returncode()
            raise RuntimeError(
                f"{self.config.name}: no environment can be restored, the snapshot process has exited "
                f"({'status ' + str(status) if status is not None else type(exc).__name__}; see its log above)"
            ) from None
        finally:
            os.close(write_end)
        return read_end

    def returncode(self) -> int | None:
        """The snapshot process's exit status, once exited (64: a before-snapshot hook failed)."""
        return self._process.returncode()

    def close(self) -> None:
        """End the snapshot process (restored environments that are left exit with it)."""
        self.control.close()
        self._process.sock.close()  # already closed once started
        self._process.stop()


class RestoredProcess:
    """One restored environment, with ``ChildProcess``'s interface: forked by the snapshot process, not started here."""

    def __init__(
        self,
        name: str,
        *,
        snapshot: Snapshot,
        env: Mapping[str, str],
        sock: socket.socket,
        ready_marker: str,
        output: TextIO,
    ) -> None:
        self.name = name
        self.snapshot = snapshot
        self.env = dict(env)
        self.sock = sock
        self.ready_marker = ready_marker
        self.output = output
        self.ready_line: str | None = None
        self._pid: int | None = None
        self._ready = threading.Event()
        self._ended = threading.Event()
        self._reader: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The loopback port the environment serves on."""
        return int(self.sock.getsockname()[1])

    @property
    def pid(self) -> int | None:
        """The environment's process id, once it has said it is ready."""
        return self._pid

    def start(self) -> None:
        """Ask the snapshot process for the environment (returns at once; see ``wait_ready``)."""
        read_end = self.snapshot.restore(self.sock, self.env)
        self._reader = threading.Thread(target=self._forward, args=(read_end,), daemon=True)
        self._reader.start()

    def _forward(self, read_end: int) -> None:
        with contextlib.suppress(ValueError, OSError), open(read_end, encoding="utf-8", errors="replace") as stream:
            for line in stream:
                text = line.rstrip("\n")
                if not self._ready.is_set() and text.startswith(self.ready_marker):
                    fields = dict(part.partition("=")[::2] for part in text.split()[1:])
                    self._pid = int(fields["pid"]) if fields.get("pid", "").isdigit() else None
                    self.ready_line = text
                    self._ready.set()
                    continue
                print(f"[{self.name}] {text}", file=self.output, flush=True)
        self._ended.set()  # every copy of the pipe's write end is closed: the environment has exited

    def alive(self) -> bool:
        """Whether the environment runs (before it is ready: whether it still can be)."""
        if self._ended.is_set():
            return False
        if self._pid is None:
            return self.snapshot.alive()
        return _exists(self._pid)

    def ready(self) -> bool:
        """Whether the environment has said it is ready."""
        return self._ready.is_set()

    def wait_ready(self, timeout_s: float) -> str:
        """Block until the environment is ready; ``RuntimeError`` if it cannot be or takes longer."""
        deadline = time.monotonic() + timeout_s
        while not self._ready.wait(0.05):
            if not self.alive():
                raise RuntimeError(f"{self.name} ended before it was restored (see its log above)")
            if time.monotonic() > deadline:
                raise RuntimeError(f"{self.name} was not restored after {timeout_s:.0f} s")
        return self.ready_line or ""

    def returncode(self) -> int | None:
        """Not known here: the environment is the snapshot process's child."""
        return None

    def stop(self, grace_s: float = 5.0) -> None:
        """SIGTERM, then SIGKILL after ``grace_s``."""
        self._signal(signal.SIGTERM, grace_s)
        self._signal(signal.SIGKILL, _KILL_WAIT_S)

    def kill(self) -> None:
        """Kill at once."""
        self._signal(signal.SIGKILL, _KILL_WAIT_S)

    def _signal(self, signum: int, wait_s: float) -> None:
        pid = self._pid
        if pid is not None and _exists(pid):
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(pid, signum)
            deadline = time.monotonic() + wait_s
            while _exists(pid) and time.monotonic() < deadline:
                time.sleep(0.01)
        if self._reader is not None and not _exists(pid):
            self._reader.join(timeout=2)

    def close(self) -> None:
        """Stop the environment and close its socket."""
        self.stop()
        self.sock.close()


def _exists(pid: int | None) -> bool:
    if pid is None:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True

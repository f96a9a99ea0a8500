"""Local mode's processes: a clear answer for a taken port, and no child outlives its parent, even a SIGKILLed one."""

from __future__ import annotations

import errno
import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import httpx
import pytest

from modelrail.local.processes import bind_loopback
from modelrail.local.up import READY_PREFIX

ROOT = Path(__file__).resolve().parents[3]


def test_local_up_on_a_taken_port_says_so_and_exits_1() -> None:
    taken = bind_loopback()
    port = taken.getsockname()[1]
    try:
        result = subprocess.run(
            [sys.executable, "-m", "modelrail.cli", "local", "up", "--port", str(port)],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    finally:
        taken.close()
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr
    assert "--port" in result.stderr


def test_bind_loopback_listens_on_127_0_0_1_only_as_tcp() -> None:
    sock = bind_loopback()
    try:
        host, port = sock.getsockname()[:2]
        assert host == "127.0.0.1"
        # asyncio turns Nagle off on accepted sockets only for proto TCP; 0 would cost ~40 ms per response
        assert sock.proto == socket.IPPROTO_TCP
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            pass
    finally:
        sock.close()


def test_a_port_whose_last_connections_wait_in_time_wait_binds_again_at_once() -> None:
    listener = bind_loopback()
    port = listener.getsockname()[1]
    client = socket.create_connection(("127.0.0.1", port), timeout=2)
    served, _ = listener.accept()
    served.close()  # the server closes first, as the gateway does at a stop: its end waits in TIME-WAIT
    assert client.recv(1) == b""
    client.close()
    listener.close()
    again = bind_loopback(port)  # before: EADDRINUSE for about a minute
    again.close()


def test_a_port_with_a_listener_is_still_refused() -> None:
    taken = bind_loopback()
    try:
        with pytest.raises(OSError, match="already in use") as refused:
            bind_loopback(taken.getsockname()[1])
        assert refused.value.errno == errno.EADDRINUSE
    finally:
        taken.close()


def _wait_for_ready(process: subprocess.Popen[str], log: Path) -> bool:
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        if READY_PREFIX in log.read_text(encoding="utf-8", errors="replace"):
            return True
        if process.poll() is not None:
            return False
        time.sleep(0.2)
    pytest.fail(f"local up was not ready:\n{log.read_text()[-3000:]}")


@pytest.mark.slow
def test_local_up_starts_again_at_once_on_the_port_it_just_stopped(tmp_path: Path) -> None:
    probe = bind_loopback()
    port = probe.getsockname()[1]
    probe.close()
    command = [sys.executable, "-m", "modelrail.cli", "local", "up", "digits", "--no-warm", "--port", str(port)]
    for run in ("first", "again"):
        log = tmp_path / f"{run}.log"
        with log.open("w", encoding="utf-8") as sink:
            process = subprocess.Popen(command, cwd=ROOT, stdout=sink, stderr=subprocess.STDOUT, text=True)
        try:
            assert _wait_for_ready(process, log), f"{run}: {log.read_text()[-3000:]}"
            # A keep-alive connection open at the stop: the gateway closes it, and its end waits in TIME-WAIT.
            with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
                assert client.get("/v2/health/live").status_code == 200
                process.send_signal(signal.SIGINT)
                assert process.wait(60) == 0, log.read_text()[-3000:]
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.slow
def test_runtime_exits_when_its_parent_is_killed(standin_handler: str) -> None:
    parent_code = textwrap.dedent(
        f"""
        import time
        from modelrail.local.lambda_function import FunctionConfig, LambdaFunction
        function = LambdaFunction(FunctionConfig(name="orphan", handler={standin_handler!r}))
        function.start()
        function.wait_ready(30)
        print(function.pid, flush=True)
        time.sleep(120)
        """
    )
    parent = subprocess.Popen(
        [sys.executable, "-c", parent_code], stdout=subprocess.PIPE, text=True, start_new_session=True
    )
    try:
        assert parent.stdout is not None
        child = int(parent.stdout.readline())
        assert _alive(child)
        os.kill(parent.pid, signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not _alive(child), "the runtime outlived its killed parent"
    finally:
        if parent.poll() is None:
            parent.kill()
            parent.wait()
        if parent.stdout is not None:
            parent.stdout.close()

"""Local mode's processes: a clear answer for a taken port, and no child outlives its parent, even a SIGKILLed one."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

from modelrail.local.processes import bind_loopback

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

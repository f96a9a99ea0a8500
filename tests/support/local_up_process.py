"""``modelrail local up`` as a user runs it, in a child process: started, waited for, stopped with Ctrl-C (SIGINT)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from modelrail.local.up import READY_PREFIX

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_S = 900
"""Generous: local up builds any model that is missing (CI builds them before the tests)."""


@contextmanager
def local_up(*args: str, log: Path) -> Iterator[str]:
    """Run ``modelrail local up --port 0 ARGS`` from the repository root; yields its base URL once ready."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    with log.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            [sys.executable, "-m", "modelrail.cli", "local", "up", "--port", "0", *args],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        yield wait_ready(process, log)
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0, log.read_text()[-3000:]
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def wait_ready(process: subprocess.Popen[bytes], log: Path) -> str:
    """The base URL once ``local up``'s ready line is in its log; fails the test if it exits or takes too long."""
    deadline = time.monotonic() + START_TIMEOUT_S
    pattern = re.compile(re.escape(READY_PREFIX) + r" (http://127\.0\.0\.1:\d+)")
    while time.monotonic() < deadline:
        found = pattern.search(log.read_text(encoding="utf-8", errors="replace"))
        if found:
            return found.group(1)
        if process.poll() is not None:
            pytest.fail(f"modelrail local up exited with {process.returncode}:\n{log.read_text()[-5000:]}")
        time.sleep(0.5)
    pytest.fail(f"modelrail local up was not ready within {START_TIMEOUT_S} s:\n{log.read_text()[-5000:]}")

"""One ``modelrail local up`` for the whole e2e session, started as a user starts it, stopped with Ctrl-C (SIGINT).

The stop is checked too: exit status 0, the ``stopped`` line, and no process it started still running.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from tests.support.local_up_process import ROOT, wait_ready

API_KEY = "e2e-local-key"
OTHER_API_KEY = "e2e-other-key"
"""A second key of the same usage plan: it may call every route, but not see the first key's jobs."""
JOB_TIMEOUT_S = 30
"""The job workers' timeout here: a killed worker's message comes back within it (plus a margin)."""


@dataclass(frozen=True)
class LocalStack:
    """The running local mode: its base URL, API key and log file."""

    url: str
    api_key: str
    log: Path
    pid: int
    """``modelrail local up``'s process id."""

    @property
    def host_port(self) -> str:
        """``127.0.0.1:<port>`` for tritonclient."""
        return self.url.removeprefix("http://")

    def client(self, *, key: str | None = API_KEY) -> httpx.Client:
        """An HTTP client sending the key (or none)."""
        headers = {"x-api-key": key} if key is not None else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=60)


def _children(pid: int) -> set[int]:
    """Every process whose parent is ``pid``, read from /proc."""
    found = set()
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[1]) == pid:
            found.add(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LocalStack]:
    log = tmp_path_factory.mktemp("local-up") / "local-up.log"
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "MODELRAIL_LOCAL_JOB_TIMEOUT_S": str(JOB_TIMEOUT_S)}
    with log.open("w", encoding="utf-8") as sink:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "modelrail.cli",
                "local",
                "up",
                "--port",
                "0",
                "--api-key",
                API_KEY,
                "--api-key",
                OTHER_API_KEY,
            ],
            cwd=ROOT,
            stdout=sink,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        )
    try:
        url = wait_ready(process, log)
        children = _children(process.pid)
        assert len(children) >= 4, f"expected a process per model and the catalog, got {children}"
        yield LocalStack(url=url, api_key=API_KEY, log=log, pid=process.pid)
        children |= _children(process.pid)  # environments started on demand since
        process.send_signal(signal.SIGINT)
        assert process.wait(60) == 0, log.read_text()[-3000:]
        assert "[local] stopped" in log.read_text()
        deadline = time.monotonic() + 10
        while any(_alive(pid) for pid in children) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not [pid for pid in children if _alive(pid)], "processes outlived `modelrail local up`"
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()

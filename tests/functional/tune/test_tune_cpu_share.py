"""A cgroup CPU quota gives a process Lambda's fractional vCPU share, as tune relies on."""

from __future__ import annotations

import os
import sys
import time

import pytest

from modelrail.tune.cpu_share import CpuQuota, quota_available

pytestmark = pytest.mark.skipif(not quota_available(), reason="no writable cgroup CPU controller here (needs root)")

BUSY = "import time\nend = time.process_time() + {cpu}\nwhile time.process_time() < end:\n    pass\n"


def run_in_quota(share: float, args: list[str]) -> tuple[float, float]:
    """Wall seconds and CPU seconds of a child process run under ``share`` vCPUs."""
    with CpuQuota(share) as quota:
        started = time.perf_counter()
        child = quota.popen(args)
        _, status, usage = os.wait4(child.pid, 0)
        wall = time.perf_counter() - started
        child.returncode = os.waitstatus_to_exitcode(status)
        assert child.returncode == 0
        return wall, usage.ru_utime + usage.ru_stime


@pytest.mark.slow
def test_a_half_vcpu_quota_runs_cpu_bound_work_at_half_speed() -> None:
    # The model tune uses below one vCPU: wall = CPU time / share. The quota makes it a floor (never faster);
    # other load on the machine can only make it slower, so the closest of three tries is compared.
    attempts = [run_in_quota(0.5, [sys.executable, "-c", BUSY.format(cpu=0.6)]) for _ in range(3)]
    for wall, cpu in attempts:
        assert cpu / wall <= 0.5 * 1.25  # never more than its share (quota periods add a little jitter)
    wall, cpu = min(attempts, key=lambda attempt: abs(attempt[0] - attempt[1] / 0.5))
    assert wall == pytest.approx(cpu / 0.5, rel=0.25)


def test_the_quota_holds_the_children_a_process_starts() -> None:
    # ONNX Runtime's intra-op pool runs several threads: together they get the share, not each of them
    code = "import threading, time\n" + "\n".join(
        [
            "def burn():",
            "    end = time.process_time() + 0.4",
            "    while time.process_time() < end: pass",
            "threads = [threading.Thread(target=burn) for _ in range(2)]",
            "[t.start() for t in threads]; [t.join() for t in threads]",
        ]
    )
    wall, cpu = run_in_quota(0.3, [sys.executable, "-c", code])
    assert cpu / wall <= 0.3 * 1.3

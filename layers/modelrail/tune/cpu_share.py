"""Run a process with Lambda's CPU share: a cgroup CPU quota where the machine allows one.

Lambda gives a function CPU in proportion to its memory: one vCPU at 1,769 MB, up to six at 10,240 MB
(Lambda developer guide, "Configure Lambda function memory"). A CFS quota of ``share * period`` per period
reproduces a fractional share (0.29 vCPU at 512 MB) the way Lambda's own throttling does: the process runs at
full speed until its quota for the period is spent, then waits. Whole shares above the machine's cores cannot
be measured here; ``tune`` models those and says so.
"""

from __future__ import annotations

import contextlib
import os
import subprocess  # nosec B404 # runs the tune's own measuring process, argv only
import uuid
from collections.abc import Sequence
from pathlib import Path

CGROUP_ROOT = Path("/sys/fs/cgroup")
PERIOD_US = 100_000


class CpuQuotaUnavailableError(RuntimeError):
    """No writable cgroup CPU controller (not root, or a container without one)."""


class CpuQuota:
    """A cgroup whose processes together get at most ``share`` CPUs; v1 ``cpu`` controller or v2 ``cpu.max``."""

    def __init__(self, share: float, *, root: Path = CGROUP_ROOT) -> None:
        if share <= 0:
            raise ValueError("a CPU share must be positive")
        self.share = share
        name = f"modelrail-tune-{uuid.uuid4().hex[:8]}"
        v1 = root / "cpu"
        self.v2 = not (v1 / "cpu.cfs_quota_us").exists()
        self.path = (root / name) if self.v2 else (v1 / name)
        quota = str(max(1000, round(share * PERIOD_US)))
        try:
            self.path.mkdir()
            if self.v2:
                (self.path / "cpu.max").write_text(f"{quota} {PERIOD_US}", encoding="ascii")
            else:
                (self.path / "cpu.cfs_period_us").write_text(str(PERIOD_US), encoding="ascii")
                (self.path / "cpu.cfs_quota_us").write_text(quota, encoding="ascii")
        except OSError as exc:
            self._remove()
            raise CpuQuotaUnavailableError(f"cannot create a CPU-limited cgroup at {self.path}: {exc}") from None

    def popen(self, args: Sequence[str], **kwargs: object) -> subprocess.Popen[bytes]:
        """Start ``args`` inside the quota, before it runs a single instruction of its own."""
        procs = self.path / "cgroup.procs"

        # argv comes from measure.py (this interpreter and the tune's own script; no shell, no user text)
        def enter() -> None:  # runs in the child between fork and exec
            procs.write_text(str(os.getpid()), encoding="ascii")

        return subprocess.Popen(args, preexec_fn=enter, **kwargs)  # type: ignore[call-overload,no-any-return]  # noqa: PLW1509, S603  # nosec B603

    def throttled_periods(self) -> int:
        """How many scheduling periods the group was throttled in (0 when the quota never bit)."""
        for line in (self.path / "cpu.stat").read_text(encoding="ascii").splitlines():
            key, _, value = line.partition(" ")
            if key == "nr_throttled":
                return int(value)
        return 0

    def _remove(self) -> None:
        with contextlib.suppress(OSError):
            self.path.rmdir()

    def close(self) -> None:
        """Remove the group (its processes must have exited)."""
        self._remove()

    def __enter__(self) -> CpuQuota:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def quota_available(root: Path = CGROUP_ROOT) -> bool:
    """Whether a CPU quota can be set here."""
    try:
        CpuQuota(1.0, root=root).close()
    except CpuQuotaUnavailableError:
        return False
    return True

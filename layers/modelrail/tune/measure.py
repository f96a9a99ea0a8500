"""Measuring a built model the way Lambda would run it at each memory size, and SageMaker's throughput.

Each Lambda size runs the real handler in a fresh process (so its cold start is real too), with the thread count
the runtime itself picks for that memory and, where the machine allows, a cgroup CPU quota of that size's vCPU
share (``cpu_share.py``). Shares above this machine's cores cannot be run; they are modelled from the measured
ones with ``t(s) = a + b / s`` (a serial part and a part that divides over vCPUs), fitted by least squares to the
measured shares of 1 vCPU and more. Without any quota (no writable cgroup) every fractional share is modelled
as ``t(1 vCPU) / s`` (CFS throttling stretches CPU-bound work by 1/s), calibrated against runs pinned to 1 and
to all cores. Every row says whether it was measured or modelled.
"""

from __future__ import annotations

import json
import os
import subprocess  # nosec B404 # starts this interpreter on the tune's own measuring code, argv only
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from modelrail.settings import LAMBDA_MB_PER_VCPU
from modelrail.tune.cpu_share import CpuQuota, CpuQuotaUnavailableError
from modelrail.tune.instances import instances_by_batch

LAMBDA_MEMORY_SIZES = (512, 1024, 1769, 2048, 3008, 3538, 4096, 5308, 7076, 8192, 10240)
"""Memory sizes tuned by default: 1,769 MB steps are whole vCPUs (Lambda's 1 vCPU per 1,769 MB), the rest
common choices; 10,240 MB is Lambda's maximum (6 vCPUs)."""
LAMBDA_MAX_VCPUS = 6
LAMBDA_HANDLER = "functions/lambda_inference/handler.py"
SAGEMAKER_APP_DIR = "functions/sagemaker_inference"

Say = Callable[[str], None]


def vcpu_share(memory_mb: int) -> float:
    """Lambda's CPU share at ``memory_mb``: memory / 1,769 MB, at most 6 vCPUs."""
    return min(LAMBDA_MAX_VCPUS, memory_mb / LAMBDA_MB_PER_VCPU)


@dataclass
class LambdaRow:
    """One memory size: latency at each served batch size (ms) and the cold start."""

    memory_mb: int
    vcpus: float
    method: str
    """``measured (cgroup quota)``, ``measured (pinned cores)`` or ``modelled: ...``."""
    cold_ms: float
    batch: dict[int, dict[str, float]]
    """batch size -> {p50_ms, p99_ms, mean_ms}."""
    intra_op_threads: int | None = None


@dataclass
class Measurements:
    """What ``tune`` measured for one model."""

    model: str
    version: str
    machine_cores: int
    cpu_method: str
    rows: list[LambdaRow] = field(default_factory=list)
    sagemaker_rps: float | None = None
    """Requests (one instance each) per second the SageMaker container sustained on this machine's cores."""
    sagemaker_concurrency: int = 0


def _probe(
    artifact: Path,
    *,
    root: Path,
    memory_mb: int,
    sizes: Sequence[int],
    calls: int,
    instances: Path,
    quota: CpuQuota | None,
) -> dict[str, Any]:
    args = [
        sys.executable,
        "-m",
        "modelrail.tune.probe",
        "--artifact",
        str(artifact),
        "--handler",
        str(root / LAMBDA_HANDLER),
        "--memory-mb",
        str(memory_mb),
        "--batch-sizes",
        ",".join(map(str, sizes)),
        "--calls",
        str(calls),
        "--instances-file",
        str(instances),
    ]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(root / "layers"), os.environ.get("PYTHONPATH", "")])}
    if quota is not None:
        process = quota.popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    else:
        # argv: this interpreter, the tune's own script and numbers it formatted itself (no shell, no user text)
        process = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)  # noqa: S603  # nosec B603
    out, err = process.communicate(timeout=900)
    if process.returncode != 0:
        raise RuntimeError(f"measuring {memory_mb} MB failed: {err.decode(errors='replace')[-1500:]}")
    result: dict[str, Any] = json.loads(out.decode().strip().splitlines()[-1])
    return result


def _row(memory_mb: int, method: str, probe: dict[str, Any]) -> LambdaRow:
    return LambdaRow(
        memory_mb=memory_mb,
        vcpus=vcpu_share(memory_mb),
        method=method,
        cold_ms=float(probe["cold_ms"]),
        batch={int(size): values for size, values in probe["batch"].items()},
        intra_op_threads=probe.get("intra_op_threads"),
    )


def fit_serial_parallel(points: Sequence[tuple[float, float]]) -> tuple[float, float]:
    """Least-squares ``t = a + b / s`` over ``(share, t)`` points; with one point, all of it is ``b / s``."""
    if len(points) == 1:
        share, t = points[0]
        return 0.0, t * share
    xs = [1 / share for share, _ in points]
    ys = [t for _, t in points]
    mean_x, mean_y = sum(xs) / len(xs), sum(ys) / len(ys)
    var = sum((x - mean_x) ** 2 for x in xs)
    b = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys, strict=True)) / var if var else 0.0
    b = max(0.0, b)
    a = max(0.0, mean_y - b * mean_x)
    return a, b


def _modelled(memory_mb: int, measured: list[LambdaRow], sizes: Sequence[int]) -> LambdaRow:
    share = vcpu_share(memory_mb)
    whole = [row for row in measured if row.vcpus >= 1] or measured
    top = max(whole, key=lambda row: row.vcpus)
    batch = {}
    for size in sizes:
        a, b = fit_serial_parallel([(row.vcpus, row.batch[size]["p50_ms"]) for row in whole])
        p50 = a + b / share
        scale = p50 / top.batch[size]["p50_ms"]
        batch[size] = {
            "p50_ms": p50,
            "p99_ms": top.batch[size]["p99_ms"] * scale,
            "mean_ms": top.batch[size]["mean_ms"] * scale,
        }
    shares = ", ".join(f"{row.vcpus:.2f}" for row in whole)
    return LambdaRow(
        memory_mb=memory_mb,
        vcpus=share,
        method=f"modelled: t = a + b/vCPUs fitted to the measured {shares} vCPU rows; cold start as at {top.vcpus:.2f}",
        cold_ms=top.cold_ms,
        batch=batch,
        intra_op_threads=None,
    )


def measure_lambda(
    artifact: Path,
    *,
    root: Path,
    memory_sizes: Sequence[int] = LAMBDA_MEMORY_SIZES,
    batch_sizes: Sequence[int] = (1,),
    calls: int = 200,
    say: Say = print,
) -> tuple[list[LambdaRow], str]:
    """A row per memory size, and how CPU was limited."""
    cores = len(os.sched_getaffinity(0))
    sizes = sorted(set(batch_sizes))
    with tempfile.TemporaryDirectory(prefix="modelrail-tune-") as scratch:
        instances = Path(scratch) / "instances.json"
        instances.write_text(json.dumps(instances_by_batch(artifact, sizes)), encoding="utf-8")
        measured: list[LambdaRow] = []
        try:
            CpuQuota(1.0).close()
            method = "cgroup CPU quota"
        except CpuQuotaUnavailableError as exc:
            method = f"pinned cores + model (no CPU quota here: {exc})"
        pending = []
        for memory_mb in sorted(memory_sizes):
            share = vcpu_share(memory_mb)
            if share > cores + 1e-9 or (method != "cgroup CPU quota" and share not in (1.0, float(cores))):
                pending.append(memory_mb)
                continue
            say(f"measuring {memory_mb} MB ({share:.2f} vCPU) ...")
            started = time.perf_counter()
            if method == "cgroup CPU quota":
                with CpuQuota(share) as quota:
                    probe = _probe(
                        artifact,
                        root=root,
                        memory_mb=memory_mb,
                        sizes=sizes,
                        calls=calls,
                        instances=instances,
                        quota=quota,
                    )
                row = _row(memory_mb, "measured (cgroup quota)", probe)
            else:  # pragma: no cover - only where no cgroup can be made
                probe = _probe(
                    artifact, root=root, memory_mb=memory_mb, sizes=sizes, calls=calls, instances=instances, quota=None
                )
                row = _row(memory_mb, "measured (pinned cores)", probe)
            measured.append(row)
            say(
                f"  p50 {row.batch[sizes[0]]['p50_ms']:.2f} ms at batch {sizes[0]}, cold start "
                f"{row.cold_ms / 1000:.2f} s ({time.perf_counter() - started:.0f} s)"
            )
        if not measured:
            raise RuntimeError("no memory size could be measured on this machine")
        rows = measured + [_modelled(memory_mb, measured, sizes) for memory_mb in pending]
    return sorted(rows, key=lambda row: row.memory_mb), method


def measure_sagemaker_rps(
    artifact: Path, *, root: Path, requests: int = 300, concurrency: int | None = None, say: Say = print
) -> tuple[float, int]:
    """Requests per second the SageMaker container (real uvicorn on loopback) sustains with this machine's cores."""
    import httpx

    concurrency = concurrency or 2 * len(os.sched_getaffinity(0))
    manifest = json.loads((artifact / "manifest.json").read_text(encoding="utf-8"))
    body = json.dumps({"instances": instances_by_batch(artifact, [1])["1"]})
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(root / "layers"), os.environ.get("PYTHONPATH", "")]),
        "MODELRAIL_MODEL_DIR": str(artifact),
        "MODELRAIL_MODEL_NAME": manifest["name"],
        "MODELRAIL_MODEL_VERSION": manifest["version"],
        "MODELRAIL_LOG_LEVEL": "ERROR",
    }
    import socket

    with socket.socket() as probe_socket:
        probe_socket.bind(("127.0.0.1", 0))
        port = probe_socket.getsockname()[1]
    args = [sys.executable, "-m", "uvicorn", "--app-dir", str(root / SAGEMAKER_APP_DIR), "serve:app"]
    args += ["--host", "127.0.0.1", "--port", str(port), "--log-level", "warning", "--no-access-log"]
    # argv: this interpreter running uvicorn on the repository's own SageMaker app, on loopback (no shell)
    server = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603  # nosec B603
    url = f"http://127.0.0.1:{port}"
    headers = {"Content-Type": "application/json", "X-Amzn-SageMaker-Custom-Attributes": "route=v1-predict"}
    try:
        deadline = time.monotonic() + 120
        with httpx.Client(timeout=60) as client:
            while True:
                try:
                    if client.get(f"{url}/ping").status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                if server.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"the SageMaker container did not start: {server.stderr.read()[-1000:]!r}")  # type: ignore[union-attr]
                time.sleep(0.2)
            for _ in range(20):
                client.post(f"{url}/invocations", content=body, headers=headers).raise_for_status()
        say(f"measuring SageMaker container throughput: {requests} requests, {concurrency} at a time ...")
        from concurrent.futures import ThreadPoolExecutor

        with httpx.Client(timeout=60) as client, ThreadPoolExecutor(concurrency) as pool:

            def call(_: int) -> int:
                return client.post(f"{url}/invocations", content=body, headers=headers).status_code

            started = time.perf_counter()
            statuses = list(pool.map(call, range(requests)))
            elapsed = time.perf_counter() - started
        if any(status != 200 for status in statuses):
            raise RuntimeError(f"the SageMaker container answered {sorted(set(statuses))}")
        return requests / elapsed, concurrency
    finally:
        server.terminate()
        server.wait(timeout=30)

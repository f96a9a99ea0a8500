"""From measurements to a table: $ per 1M per memory size, SageMaker rows, and a recommendation."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from modelrail.tune.cost import (
    break_even_rps,
    lambda_cost_per_million,
    lambda_cost_per_request,
    sagemaker_cost_per_million,
    sagemaker_idle_per_month,
)
from modelrail.tune.measure import Measurements
from modelrail.tune.prices import Prices


@dataclass(frozen=True)
class SageMakerRow:
    """One instance type: its price, the throughput it is expected to sustain, and what that costs."""

    instance_type: str
    hourly: float
    vcpus: int
    gpu: bool
    throughput_rps: float | None
    """Scaled from this machine: measured rps x instance vCPUs / this machine's cores; None for GPUs (not measured)."""
    per_million_full: float | None
    per_million_at_utilisation: float | None
    idle_per_month: float
    break_even_rps: float | None
    """Above this request rate one instance costs less than Lambda at the recommended memory; None: never."""


@dataclass(frozen=True)
class Recommendation:
    """The cheapest Lambda memory meeting the p99 budget, and where SageMaker starts to pay."""

    memory_mb: int | None
    p99_budget_ms: float
    per_million: float | None
    cheapest_sagemaker: str | None
    break_even_rps: float | None


MEASURED_ARCH = "x86_64"


def arm64_note(prices: Prices) -> str | None:
    """What can be said of arm64 without running on it: how much slower it may be and still cost less."""
    if "arm64" not in prices.lambda_gb_second or MEASURED_ARCH not in prices.lambda_gb_second:
        return None
    ratio = prices.lambda_gb_second["arm64"] / prices.lambda_gb_second[MEASURED_ARCH]
    return (
        f"arm64 was not measured (no arm64 CPU here). Its GB-second costs {ratio:.2f}x x86_64's, so at the same "
        f"memory it is cheaper only if it runs at most {1 / ratio:.2f}x as long; time it on an arm64 machine."
    )


def lambda_table(measurements: Measurements, prices: Prices, *, batch: int = 1) -> list[dict[str, Any]]:
    """A row per memory size: latency at ``batch``, cold start, $ per 1M requests (billed on the mean duration)."""
    rows = []
    for row in measurements.rows:
        latency = row.batch[batch]
        rows.append(
            {
                "memory_mb": row.memory_mb,
                "vcpus": round(row.vcpus, 2),
                "intra_op_threads": row.intra_op_threads,
                "p50_ms": latency["p50_ms"],
                "p99_ms": latency["p99_ms"],
                "mean_ms": latency["mean_ms"],
                "cold_start_ms": row.cold_ms,
                # Measured on x86_64 only: an arm64 price needs an arm64 run (see arm64_note).
                "per_million": {
                    MEASURED_ARCH: lambda_cost_per_million(
                        latency["mean_ms"], row.memory_mb, prices, arch=MEASURED_ARCH
                    )
                },
                "batches": {str(size): values for size, values in row.batch.items()},
                "method": row.method,
            }
        )
    return rows


def sagemaker_table(
    measurements: Measurements, prices: Prices, *, gpu_model: bool, utilisation: float, lambda_cpr: float | None
) -> list[SageMakerRow]:
    """CPU instance types for CPU models, GPU ones for GPU models."""
    rows = []
    for instance in sorted(prices.sagemaker.values(), key=lambda i: i.hourly):
        if instance.gpu != gpu_model:
            continue
        rps = None
        if not instance.gpu and measurements.sagemaker_rps:
            rps = measurements.sagemaker_rps * instance.vcpus / measurements.machine_cores
        rows.append(
            SageMakerRow(
                instance_type=instance.name,
                hourly=instance.hourly,
                vcpus=instance.vcpus,
                gpu=instance.gpu,
                throughput_rps=rps,
                per_million_full=sagemaker_cost_per_million(instance, rps) if rps else None,
                per_million_at_utilisation=sagemaker_cost_per_million(instance, rps, utilisation=utilisation)
                if rps
                else None,
                idle_per_month=sagemaker_idle_per_month(instance),
                break_even_rps=break_even_rps(lambda_cpr, instance, rps) if rps and lambda_cpr else None,
            )
        )
    return rows


def recommend(
    lambda_rows: list[dict[str, Any]], sagemaker_rows: list[SageMakerRow], *, p99_budget_ms: float, arch: str
) -> Recommendation:
    """Cheapest memory whose p99 meets the budget; the lowest break-even among the SageMaker rows."""
    meeting = [row for row in lambda_rows if row["p99_ms"] <= p99_budget_ms]
    best = min(meeting, key=lambda row: (row["per_million"][arch], row["memory_mb"])) if meeting else None
    crossings = [row for row in sagemaker_rows if row.break_even_rps is not None]
    cheapest = min(crossings, key=lambda row: row.break_even_rps or 0) if crossings else None
    return Recommendation(
        memory_mb=None if best is None else best["memory_mb"],
        p99_budget_ms=p99_budget_ms,
        per_million=None if best is None else best["per_million"][arch],
        cheapest_sagemaker=None if cheapest is None else cheapest.instance_type,
        break_even_rps=None if cheapest is None else cheapest.break_even_rps,
    )


def lambda_cost_per_request_at(lambda_rows: list[dict[str, Any]], memory_mb: int, prices: Prices, arch: str) -> float:
    """$ per request at one memory size (for the break-even)."""
    row = next(row for row in lambda_rows if row["memory_mb"] == memory_mb)
    return lambda_cost_per_request(row["mean_ms"], memory_mb, prices, arch=arch)


def as_json(
    measurements: Measurements,
    prices: Prices,
    lambda_rows: list[dict[str, Any]],
    sagemaker_rows: list[SageMakerRow],
    recommendation: Recommendation,
    *,
    utilisation: float,
) -> dict[str, Any]:
    """Everything, for ``--json`` and the file written beside the build."""
    return {
        "model": measurements.model,
        "version": measurements.version,
        "machine_cores": measurements.machine_cores,
        "cpu_method": measurements.cpu_method,
        "prices": {"region": prices.region, "recorded": prices.recorded, "source": prices.source},
        "arm64_note": arm64_note(prices),
        "lambda": lambda_rows,
        "sagemaker": {
            "measured_rps_here": measurements.sagemaker_rps,
            "concurrency": measurements.sagemaker_concurrency,
            "scaling_rule": "instance rps = rps measured here x instance vCPUs / this machine's cores",
            "utilisation": utilisation,
            "rows": [asdict(row) for row in sagemaker_rows],
        },
        "recommendation": asdict(recommendation),
    }

"""``report.json``: what the build measured (sizes, latency, gate) next to what it had to meet."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from modelrail.builder.quantize import Precision
from modelrail.manifest import Bound, GraphOptimization


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SizeReport(_Record):
    """fp32 model bytes against served model bytes."""

    fp32_bytes: int
    served_bytes: int
    ratio: float = Field(description="served / fp32")


class LatencyReport(_Record):
    """p50 of single calls at batch 1, fp32 and served interleaved in the same run."""

    batch_size: int = 1
    threads: int
    provider: str
    runs: int
    input_shapes: dict[str, list[int]]
    fp32_p50_ms: float
    served_p50_ms: float
    ratio: float = Field(description="served p50 / fp32 p50; below 1 is faster")


class GateReport(_Record):
    """Gate metrics per batch size against the manifest's thresholds (or fp16's defaults on synthesized inputs)."""

    required: Literal[True] = True
    dataset: str = Field(description="The evaluation file, or `(synthesized from the graph's signature)`.")
    instances: int
    provider: str
    thresholds: dict[str, Bound]
    results: dict[str, dict[str, float]] = Field(description="batch size -> metric -> value")
    reference: dict[str, float] = Field(description="fp32's own numbers, e.g. its accuracy")
    failures: list[str]
    passed: bool
    warning: str | None = Field(default=None, description="Why this gate proves less than usual, if it does.")


class GateNotRequired(_Record):
    """No gate ran, and none was needed: the served model is the fp32 one."""

    required: Literal[False] = False
    reason: str


class TargetReport(_Record):
    """A product target for this precision (recorded, not enforced: timings vary with the machine)."""

    metric: str
    max: float
    actual: float
    met: bool


class BuildReport(_Record):
    """Everything one build measured."""

    format: int = 1
    name: str
    version: str
    precision: Precision
    preprocess: str | None
    sizes: SizeReport
    latency: LatencyReport
    gate: GateReport | GateNotRequired
    targets: list[TargetReport]
    serving_max_batch_size: int
    timings_s: dict[str, float]
    tools: dict[str, str]
    notes: list[str]
    built_at: str
    graph: GraphOptimization | None = Field(
        default=None,
        description="What was optimized ahead of time (the manifest's `graph`); gate and latency ran on it.",
    )


TARGETS: dict[str, dict[str, float]] = {
    "int8-dynamic": {"size_ratio": 0.30, "latency_ratio": 0.70},
    "int8-static": {"size_ratio": 0.30, "latency_ratio": 0.70},
    "fp16": {"size_ratio": 0.55},
}
"""Per precision: the largest served/fp32 size and p50 ratios we aim for (issue 2's int8 targets)."""


def targets_for(precision: str, *, size_ratio: float, latency_ratio: float) -> list[TargetReport]:
    """How this build compares with the targets of its precision."""
    actual = {"size_ratio": size_ratio, "latency_ratio": latency_ratio}
    return [
        TargetReport(metric=metric, max=limit, actual=round(actual[metric], 4), met=actual[metric] <= limit)
        for metric, limit in TARGETS.get(precision, {}).items()
    ]

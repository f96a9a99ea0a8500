"""The accuracy gate: the served model must answer like fp32 on the evaluation set, at every batch size it will see.

The reference is fp32 run one instance at a time: what an instance's answer should be with no batch-mates.
The served model runs the same instances in batches of each size in ``gate.batch_sizes`` (padded as the runtime
pads them), so an answer that shifts with its batch-mates, as dynamic int8's does, shows up as a failure.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from modelrail.builder import metrics
from modelrail.builder.inputs import Dataset
from modelrail.builder.sessions import run
from modelrail.manifest import GATE_METRICS, Bound, Gate


@dataclass(frozen=True)
class GateOutcome:
    """Metrics per batch size, the fp32 reference numbers, and every threshold that was missed."""

    results: dict[int, dict[str, float]]
    reference: dict[str, float]
    failures: list[str]

    @property
    def passed(self) -> bool:
        """Whether every threshold held at every batch size."""
        return not self.failures


def outputs_at(session: Any, dataset: Dataset, batch_size: int) -> np.ndarray:
    """All outputs for every instance, one row per instance (outputs flattened and concatenated)."""
    rows: list[np.ndarray] = []
    for _, feeds in dataset.batches(batch_size):
        outputs = run(session, feeds)
        count = len(next(iter(feeds.values())))
        rows.append(np.concatenate([output.reshape(count, -1) for output in outputs], axis=1))
    return np.concatenate(rows, axis=0).astype(np.float64)


def violation(metric: str, value: float, bound: Bound) -> str | None:
    """A one-line description of how ``value`` misses ``bound``, or None when it holds."""
    if bound.min is not None and value < bound.min:
        return f"{metric} {value:.4f} < min {bound.min}"
    if bound.max is not None and value > bound.max:
        return f"{metric} {value:.4f} > max {bound.max}"
    return None


def run_gate(gate: Gate, dataset: Dataset, *, reference_session: Any, served_session: Any) -> GateOutcome:
    """Measure ``served_session`` against ``reference_session`` on ``dataset`` at each of the gate's batch sizes."""
    wanted = set(gate.thresholds)
    reference = outputs_at(reference_session, dataset, 1)
    reference_numbers: dict[str, float] = {}
    if dataset.labels is not None:
        reference_numbers["accuracy"] = metrics.accuracy(reference, dataset.labels)
    results: dict[int, dict[str, float]] = {}
    failures = []
    for batch_size in sorted(set(gate.batch_sizes)):
        served = outputs_at(served_session, dataset, batch_size)
        values = metrics.compute(wanted, reference=reference, served=served, labels=dataset.labels)
        results[batch_size] = values
        for metric, bound in gate.thresholds.items():
            missed = violation(metric, values[metric], bound)
            if missed:
                failures.append(f"batch {batch_size}: {missed} ({GATE_METRICS[metric]})")
    return GateOutcome(results=results, reference=reference_numbers, failures=failures)

"""p50 latency of fp32 and the served model at batch 1, measured in the same process and interleaved.

Interleaving (fp32, served, fp32, served, ...) exposes both models to the same background load, so their
ratio stays meaningful on a shared machine even when absolute times drift.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

import numpy as np

from modelrail.builder.inputs import Dataset, Feeds

WARMUP_RUNS = 5
MAX_RUNS = 300
TIME_BUDGET_S = 8.0


@dataclass(frozen=True)
class Latency:
    """Median single-call times and how they were taken."""

    fp32_p50_ms: float
    served_p50_ms: float
    runs: int
    input_shapes: dict[str, list[int]]

    @property
    def ratio(self) -> float:
        """Served p50 over fp32 p50 (below 1 is faster)."""
        return self.served_p50_ms / self.fp32_p50_ms


def typical_instance(dataset: Dataset) -> Feeds:
    """The instance of median size (e.g. median token count), so the latency is that of a typical request."""
    sizes = [sum(array.size for array in sample.values()) for sample in dataset.samples]
    return dataset.samples[int(np.argsort(sizes, kind="stable")[len(sizes) // 2])]


def measure(fp32_session: Any, served_session: Any, feeds: Feeds) -> Latency:
    """Interleaved p50 of both sessions on ``feeds``, up to ``MAX_RUNS`` pairs or ``TIME_BUDGET_S``."""
    for _ in range(WARMUP_RUNS):
        fp32_session.run(None, feeds)
        served_session.run(None, feeds)
    fp32_times: list[float] = []
    served_times: list[float] = []
    deadline = time.perf_counter() + TIME_BUDGET_S
    while len(fp32_times) < MAX_RUNS and (len(fp32_times) < 20 or time.perf_counter() < deadline):
        for session, times in ((fp32_session, fp32_times), (served_session, served_times)):
            start = time.perf_counter()
            session.run(None, feeds)
            times.append(time.perf_counter() - start)
    return Latency(
        fp32_p50_ms=float(np.median(fp32_times)) * 1000,
        served_p50_ms=float(np.median(served_times)) * 1000,
        runs=len(fp32_times),
        input_shapes={name: list(array.shape) for name, array in feeds.items()},
    )

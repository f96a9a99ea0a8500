"""ONNX Runtime sessions as the build measures them: default graph optimizations, a fixed thread count."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from modelrail.builder.errors import BuildError
from modelrail.builder.inputs import Feeds, GraphInput
from modelrail.manifest import GraphOptimization, Target

CPU = "CPUExecutionProvider"
CUDA = "CUDAExecutionProvider"
MEASURE_THREADS = 1
"""Intra-op threads for the gate and latency: one vCPU, as a small Lambda function has, and steady timings."""


def providers_for(target: Target) -> list[str]:
    """Providers the gate runs on: CUDA for GPU models where this machine has it, else CPU."""
    import onnxruntime as ort

    if target is Target.GPU and CUDA in ort.get_available_providers():
        return [CUDA, CPU]
    return [CPU]


def open_session(
    path: Path,
    *,
    providers: list[str] | None = None,
    threads: int = MEASURE_THREADS,
    graph: GraphOptimization | None = None,
) -> Any:
    """An ``InferenceSession`` for ``path`` at the graph optimization level serving uses for it.

    That is ORT's default (full) optimization, or none for a graph the build pre-optimized for these providers
    with this onnxruntime (``modelrail.graph_options``), so the gate measures exactly what serving runs.
    """
    import onnxruntime as ort

    from modelrail.graph_options import level_for, ort_level

    chosen = providers or [CPU]
    options = ort.SessionOptions()
    options.graph_optimization_level = ort_level(
        level_for(graph, onnxruntime_version=ort.__version__, providers=chosen)[0]
    )
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.log_severity_level = 3  # warnings about unused initializers etc. are noise in build output
    try:
        return ort.InferenceSession(str(path), sess_options=options, providers=chosen)
    except Exception as exc:  # ORT raises its own Fail/InvalidGraph/... types, all plain Exceptions
        raise BuildError(f"ONNX Runtime cannot load {path}: {exc}") from None


def graph_inputs(session: Any) -> list[GraphInput]:
    """The session's inputs with their numpy dtypes."""
    dtypes = {
        "tensor(float)": np.float32,
        "tensor(float16)": np.float16,
        "tensor(double)": np.float64,
        "tensor(int64)": np.int64,
        "tensor(int32)": np.int32,
        "tensor(int8)": np.int8,
        "tensor(uint8)": np.uint8,
        "tensor(bool)": np.bool_,
    }
    found = []
    for spec in session.get_inputs():
        if spec.type not in dtypes:
            raise BuildError(f"model input `{spec.name}` has type {spec.type}, which the build cannot feed")
        found.append(GraphInput(name=spec.name, dtype=np.dtype(dtypes[spec.type])))
    return found


def run(session: Any, feeds: Feeds) -> list[np.ndarray]:
    """Every output of one session call, as numpy arrays."""
    return [np.asarray(output) for output in session.run(None, feeds)]

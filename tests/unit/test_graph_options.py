"""Which graph optimization level a session uses for an artifact: the one rule the gate and serving share."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from modelrail.graph_options import level_for
from modelrail.manifest import GraphOptimization

CPU, CUDA = "CPUExecutionProvider", "CUDAExecutionProvider"
PRE_OPTIMIZED = GraphOptimization(level="extended", onnxruntime="1.32.0", providers=[CPU])


def test_a_graph_pre_optimized_for_this_onnxruntime_and_provider_is_not_optimized_again() -> None:
    assert level_for(PRE_OPTIMIZED, onnxruntime_version="1.32.0", providers=[CPU]) == ("disabled", None)


@pytest.mark.parametrize("graph", [None, GraphOptimization()])
def test_an_artifact_without_a_pre_optimized_graph_is_optimized_at_session_build(graph: GraphOptimization) -> None:
    """Artifacts built before the record existed (no `graph`) load exactly as they were gated."""
    assert level_for(graph, onnxruntime_version="1.32.0", providers=[CPU]) == ("all", None)


def test_another_onnxruntime_version_falls_back_to_full_optimization_and_says_why() -> None:
    level, reason = level_for(PRE_OPTIMIZED, onnxruntime_version="1.31.1", providers=[CPU])
    assert level == "all"
    assert reason is not None
    assert "1.32.0" in reason
    assert "1.31.1" in reason


def test_a_cpu_optimized_graph_on_cuda_falls_back_to_full_optimization() -> None:
    """Extended optimizations are made for one provider: CUDA must not run a graph fused for the CPU as it is."""
    level, reason = level_for(PRE_OPTIMIZED, onnxruntime_version="1.32.0", providers=[CUDA, CPU])
    assert level == "all"
    assert reason is not None
    assert CUDA in reason


def test_a_pre_optimized_graph_must_record_its_onnxruntime_and_providers() -> None:
    with pytest.raises(ValidationError, match="records the onnxruntime version and providers"):
        GraphOptimization(level="extended", providers=[CPU])
    with pytest.raises(ValidationError, match="records the onnxruntime version and providers"):
        GraphOptimization(level="extended", onnxruntime="1.32.0")

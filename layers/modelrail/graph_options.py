"""Which ONNX Runtime graph optimization level a session uses for an artifact: one rule for the gate and serving.

``modelrail build`` saves a CPU model's graph as ONNX Runtime leaves it after its basic and extended optimizations
(``BuiltManifest.graph``, level ``extended``), so a cold start need not repeat them: the runtime then builds the
session with graph optimizations off. ONNX Runtime documents the limits of such an offline-optimized model
("Graph Optimizations in ONNX Runtime", https://onnxruntime.ai/docs/performance/model-optimizations/
graph-optimizations.html): extended optimizations run after graph partitioning and only on the nodes assigned to
the provider they were made for, so an offline model must be used with the same execution providers and options it
was saved with; layout optimizations (level "all") depend on the machine's instruction set, so the build never
bakes them in. The fused kernels it writes (e.g. ``DynamicQuantizeMatMul``, ``QLinearConv``) are what that
onnxruntime version's CPU provider picked.

So a pre-optimized graph is loaded with optimizations off only where the session runs on the provider it was made
for, with the onnxruntime version that made it. Anywhere else (another onnxruntime, CUDA asked for) the session
falls back to ORT's full optimization, as for an artifact without the record: the graph is still a valid ONNX model
(its ops are ONNX's and ONNX Runtime's own contrib ops), only the cold start gains nothing, and the fallback is
logged. The build gates the served bytes with exactly the level ``level_for`` gives on the build machine.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from modelrail.manifest import GraphOptimization

Level = Literal["all", "disabled"]
"""``all``: ORT_ENABLE_ALL (ONNX Runtime's default); ``disabled``: ORT_DISABLE_ALL (the graph is pre-optimized)."""

PRE_OPTIMIZED = "extended"


def level_for(
    graph: GraphOptimization | None, *, onnxruntime_version: str, providers: Sequence[str]
) -> tuple[Level, str | None]:
    """The level for a session on ``providers`` (in preference order), and why it fell back, if it did."""
    if graph is None or graph.level != PRE_OPTIMIZED:
        return "all", None
    if graph.onnxruntime != onnxruntime_version:
        return "all", (
            f"the graph was pre-optimized by onnxruntime {graph.onnxruntime} and this is {onnxruntime_version}: "
            "optimizing it again at session build (build the model with the onnxruntime that serves it)"
        )
    if not providers or providers[0] not in graph.providers:
        first = providers[0] if providers else "no provider"
        return "all", (
            f"the graph was pre-optimized for {', '.join(graph.providers)} and this session runs on {first}: "
            "optimizing it again at session build"
        )
    return "disabled", None


def ort_level(level: Level) -> object:
    """The ``onnxruntime.GraphOptimizationLevel`` for ``level``."""
    import onnxruntime as ort

    return (
        ort.GraphOptimizationLevel.ORT_DISABLE_ALL if level == "disabled" else ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    )

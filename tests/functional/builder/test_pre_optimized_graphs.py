"""Pre-optimized graphs: the build saves what ONNX Runtime would optimize at every cold start, and the runtime
loads it as it is; the gate measured exactly those bytes with exactly those options.

The bundled models build once per session into the repository's build/ (a no-op when `modelrail build` ran).
"""

from __future__ import annotations

import json
import logging
from collections import Counter
from pathlib import Path

import numpy as np
import onnx
import onnxruntime as ort
import pytest

from modelrail.builder import BuildResult, build_models, ensure_source
from modelrail.builder.fusion import fuse_bert, head_size_of, hidden_size_of
from modelrail.builder.inputs import AdapterContext, load_dataset
from modelrail.builder.sessions import graph_inputs, open_session
from modelrail.manifest import BuiltManifest, GraphOptimization
from modelrail.session import ModelSession

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
MODELS, BUILD = REPO / "models", REPO / "build" / "models"
CPU = "CPUExecutionProvider"


@pytest.fixture(scope="module")
def bundled() -> dict[str, BuildResult]:
    return {result.name: result for result in build_models(models_dir=MODELS, build_dir=BUILD)}


def artifact(bundled: dict[str, BuildResult], name: str) -> tuple[Path, BuiltManifest, dict[str, object]]:
    result = bundled[name]
    assert result.ok
    assert result.artifact_dir is not None
    manifest = BuiltManifest.model_validate_json((result.artifact_dir / "manifest.json").read_bytes())
    report = json.loads((result.artifact_dir / "report.json").read_text())
    return result.artifact_dir, manifest, report


def session(directory: Path, manifest: BuiltManifest, graph: GraphOptimization | None) -> ModelSession:
    return ModelSession(
        directory / manifest.model_file,
        providers=None,
        intra_op_threads=1,
        inter_op_threads=1,
        max_batch_size=manifest.serving.max_batch_size,
        graph=graph,
    )


def ops(path: Path) -> Counter[str]:
    return Counter(node.op_type for node in onnx.load(str(path)).graph.node)


def test_minilm_is_fused_before_quantization_and_saved_optimized_for_this_onnxruntime(
    bundled: dict[str, BuildResult],
) -> None:
    directory, manifest, report = artifact(bundled, "minilm")
    graph = manifest.graph
    assert graph is not None
    assert (graph.level, graph.onnxruntime, graph.providers) == ("extended", ort.__version__, [CPU])
    assert graph.fusions["Attention"] == 6  # one per encoder layer of all-MiniLM-L6-v2
    assert graph.fusions["SkipLayerNormalization"] == 12
    assert report["graph"] == graph.model_dump(mode="json")  # the gate and latency ran on this record's options
    found = ops(directory / manifest.model_file)
    # Quantized after fusing: int8 attention; saved after ORT's CPU fusions: no MatMulInteger left to fuse.
    assert found["QAttention"] == 6
    assert found["MatMulInteger"] == 0
    assert found["Softmax"] == 0
    assert report["gate"]["passed"] is True  # type: ignore[index]
    # The weights are external data beside the graph, recorded and verified like every artifact file.
    assert set(manifest.files) == {"model.onnx", "model.onnx.data", "report.json", "tokenizer.json"}
    assert manifest.files["model.onnx.data"].size > 20_000_000 > manifest.files["model.onnx"].size
    assert report["sizes"]["served_bytes"] == manifest.files["model.onnx"].size + manifest.files["model.onnx.data"].size  # type: ignore[index]


def test_the_runtime_loads_a_pre_optimized_graph_without_optimizing_it_and_answers_as_the_gate_measured(
    bundled: dict[str, BuildResult],
) -> None:
    directory, manifest, _ = artifact(bundled, "minilm")
    served = session(directory, manifest, manifest.graph)
    assert served.graph_optimization == "disabled"
    gated = open_session(directory / manifest.model_file, graph=manifest.graph)  # the build's gate session
    source = ensure_source("minilm", models_dir=MODELS, build_dir=BUILD)
    context = AdapterContext(manifest=manifest.model, inputs=graph_inputs(gated), find_file=source.find)
    sentences = load_dataset(MODELS / "minilm" / "eval_sentences.txt", context)
    for feeds in sentences.samples[:20]:
        np.testing.assert_array_equal(served.run(feeds)["sentence_embedding"], gated.run(None, feeds)[0])


def test_another_onnxruntime_falls_back_to_full_optimization_with_the_same_answers(
    bundled: dict[str, BuildResult], caplog: pytest.LogCaptureFixture
) -> None:
    directory, manifest, _ = artifact(bundled, "minilm")
    assert manifest.graph is not None
    other = manifest.graph.model_copy(update={"onnxruntime": "0.0.1"})
    with caplog.at_level(logging.WARNING, logger="modelrail.session"):
        fallback = session(directory, manifest, other)
    assert fallback.graph_optimization == "all"
    assert any("0.0.1" in str(getattr(record, "reason", "")) for record in caplog.records)
    served = session(directory, manifest, manifest.graph)
    feeds = {
        "input_ids": np.array([[101, 1037, 2158, 2003, 2652, 1037, 2858, 1012, 102]], dtype=np.int64),
        "attention_mask": np.ones((1, 9), dtype=np.int64),
        "token_type_ids": np.zeros((1, 9), dtype=np.int64),
    }
    np.testing.assert_allclose(
        fallback.run(feeds)["sentence_embedding"], served.run(feeds)["sentence_embedding"], atol=1e-6
    )


def test_digits_is_saved_optimized_but_not_fused(bundled: dict[str, BuildResult]) -> None:
    directory, manifest, _ = artifact(bundled, "digits")
    assert manifest.graph is not None
    assert (manifest.graph.level, manifest.graph.fusions) == ("extended", {})
    assert session(directory, manifest, manifest.graph).graph_optimization == "disabled"


def test_the_gpu_model_gets_no_cpu_specific_kernels(bundled: dict[str, BuildResult]) -> None:
    """A GPU model's graph is optimized by ONNX Runtime on its GPU at session build, never for the CPU here."""
    result = bundled.get("minilm-gpu")
    if result is None or result.status == "failed":
        pytest.skip("minilm-gpu is not built here")
    directory, manifest, _ = artifact(bundled, "minilm-gpu")
    assert manifest.graph == GraphOptimization(level="none")
    found = ops(directory / manifest.model_file)
    assert not {"DynamicQuantizeMatMul", "QAttention", "FusedMatMul", "FusedGemm", "QLinearConv"} & set(found)


def test_bert_dimensions_are_read_from_the_graph_and_a_cnn_is_not_fused(tmp_path: Path) -> None:
    minilm = onnx.load(str(ensure_source("minilm", models_dir=MODELS, build_dir=BUILD).fp32_model))
    assert (hidden_size_of(minilm), head_size_of(minilm)) == (384, 32)  # 12 heads of 32
    digits = ensure_source("digits", models_dir=MODELS, build_dir=BUILD).fp32_model
    assert fuse_bert(digits, tmp_path / "fused.onnx") is None
    assert not (tmp_path / "fused.onnx").exists()

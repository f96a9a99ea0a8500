"""The serving runtime's processors answer exactly as the build's gate measured: one convention, two sides.

Built artifacts go through the runtime's own artifact loader, session and task processor, and their answers
are compared with the build's input pipeline (``modelrail.builder.inputs``) on the same evaluation data.
"""

from __future__ import annotations

import base64
import io
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from modelrail.builder import build_models, ensure_source
from modelrail.builder.inputs import AdapterContext, load_dataset
from modelrail.builder.inputs.image import images_to_tensor
from modelrail.builder.sessions import graph_inputs, open_session
from modelrail.manifest import ImageProcessing

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[3]
MODELS, BUILD = REPO / "models", REPO / "build" / "models"


def runtime_processor(name: str) -> Any:
    from modelrail.processors.base import processor_for
    from modelrail.session import ModelSession
    from modelrail.store.local_dir import load_local_dir

    (result,) = build_models([name], models_dir=MODELS, build_dir=BUILD)
    assert result.artifact_dir is not None
    artifact = load_local_dir(result.artifact_dir, manifest_sha256=None)
    session = ModelSession(
        result.artifact_dir / artifact.manifest.model_file,
        providers=None,
        intra_op_threads=1,
        inter_op_threads=1,
        max_batch_size=artifact.manifest.serving.max_batch_size,
    )
    return processor_for(artifact, session), artifact.manifest


def png_base64(image: np.ndarray) -> str:
    from PIL import Image

    buffer = io.BytesIO()
    Image.fromarray(image, mode="L").save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode()


def test_digits_served_from_png_equals_build_pipeline() -> None:
    processor, manifest = runtime_processor("digits")
    heldout = np.load(ensure_source("digits", models_dir=MODELS, build_dir=BUILD).find("heldout.npz"))
    answers = processor.predict([png_base64(image) for image in heldout["images"]])
    served_labels = np.array([int(answer["label"]) for answer in answers])
    assert isinstance(manifest.model.processing, ImageProcessing)
    tensor = images_to_tensor(heldout["images"], manifest.model.processing)
    logits = open_session(BUILD / "digits" / manifest.version / "model.onnx").run(None, {"image": tensor})[0]
    np.testing.assert_array_equal(served_labels, logits.argmax(axis=1))
    assert float(np.mean(served_labels == heldout["labels"])) >= 0.97


def test_minilm_served_embeddings_equal_build_pipeline() -> None:
    processor, manifest = runtime_processor("minilm")
    source = ensure_source("minilm", models_dir=MODELS, build_dir=BUILD)
    session = open_session(BUILD / "minilm" / manifest.version / "model.onnx")
    context = AdapterContext(manifest=manifest.model, inputs=graph_inputs(session), find_file=source.find)
    sentences = load_dataset(MODELS / "minilm" / "eval_sentences.txt", context)
    expected = np.concatenate([session.run(None, feeds)[0] for feeds in sentences.samples])
    texts = [line for line in (MODELS / "minilm" / "eval_sentences.txt").read_text().splitlines() if line.strip()]
    served = np.asarray(processor.predict(texts), dtype=np.float32)
    assert served.shape == expected.shape
    np.testing.assert_allclose(served, expected, atol=1e-5)

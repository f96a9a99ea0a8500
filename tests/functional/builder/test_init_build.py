"""``modelrail init`` -> ``modelrail build`` -> serving, with no dataset anywhere (issue 12.1 and 12.3).

Graphs are built here with ``onnx.helper``; the build, the app and tritonclient are the real ones, and every
answer is compared exactly with a direct ONNX Runtime run of the original file.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import tritonclient.http as triton
from onnx import TensorProto, helper, numpy_helper

from modelrail.app import create_app
from modelrail.builder import build_models
from modelrail.builder.errors import BuildFailedError
from modelrail.cli import main
from modelrail.settings import Settings
from tests.support.serving_servers import serve

pytestmark = pytest.mark.slow


def embedding_graph() -> onnx.ModelProto:
    """ids INT64 [batch, seq] -> embeddings of a 5-word table, mean-pooled [batch, 4]; scale FP32 [batch, 1]."""
    table = np.arange(20, dtype=np.float32).reshape(5, 4) / 7
    graph = helper.make_graph(
        [
            helper.make_node("Gather", ["table", "ids"], ["vectors"]),
            helper.make_node("ReduceMean", ["vectors", "axis"], ["pooled"], keepdims=0),
            helper.make_node("Mul", ["pooled", "scale"], ["embedding"]),
        ],
        "embed",
        [
            helper.make_tensor_value_info("ids", TensorProto.INT64, ["batch", "seq"]),
            helper.make_tensor_value_info("scale", TensorProto.FLOAT, ["batch", 1]),
        ],
        [helper.make_tensor_value_info("embedding", TensorProto.FLOAT, ["batch", 4])],
        initializer=[
            numpy_helper.from_array(table, "table"),
            numpy_helper.from_array(np.array([1], dtype=np.int64), "axis"),
        ],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 18)])  # ReduceMean's axes as input
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model


@pytest.fixture
def initialized(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[Path, Path, str]:
    """``modelrail init embed --onnx exported.onnx``; returns (models dir, the original file, what it printed)."""
    source = tmp_path / "exported.onnx"
    onnx.save(embedding_graph(), str(source))
    models = tmp_path / "models"
    assert main(["init", "embed", "--onnx", str(source), "--models-dir", str(models)]) == 0
    return models, source, capsys.readouterr().out


def test_init_manifest_builds_and_serves_exact_answers(initialized: tuple[Path, Path, str], tmp_path: Path) -> None:
    models, source, printed = initialized
    (result,) = build_models(["embed"], models_dir=models, build_dir=tmp_path / "build")
    assert result.artifact_dir is not None
    report = json.loads((result.artifact_dir / "report.json").read_text())
    assert report["gate"] == {
        "required": False,
        "reason": "weights served unchanged (quantization: none): the served model is the fp32 one, "
        "so there is nothing to gate",
    }
    assert report["precision"] == "fp32"
    assert report["latency"]["input_shapes"] == {"ids": [1, 8], "scale": [1, 1]}  # synthesized from the graph
    built = json.loads((result.artifact_dir / "manifest.json").read_text())
    assert built["serving"]["max_batch_size"] == 32

    reference = ort.InferenceSession(str(source), providers=["CPUExecutionProvider"])
    app = create_app(Settings(model_dir=result.artifact_dir, model_name="embed"), preload=False)
    with serve(app) as url:
        # The call init printed, as printed.
        body = json.loads(re.search(r"-d '(\{.*\})'", printed).group(1))  # type: ignore[union-attr]
        answer = httpx.post(f"{url}/v2/models/embed/infer", json=body, timeout=30)
        assert answer.status_code == 200, answer.text
        feeds = {
            "ids": np.asarray(body["inputs"][0]["data"], dtype=np.int64),
            "scale": np.asarray(body["inputs"][1]["data"], dtype=np.float32),
        }
        (expected,) = reference.run(None, feeds)
        (output,) = answer.json()["outputs"]
        assert output["shape"] == [1, 4]
        assert np.array_equal(np.asarray(output["data"], dtype=np.float32).reshape(1, 4), expected)

        # tritonclient at batch 1 with other values, binary tensors.
        client = triton.InferenceServerClient(url.removeprefix("http://"), network_timeout=60)
        ids = np.array([[4, 1, 3, 0, 2]], dtype=np.int64)
        scale = np.array([[-2.5]], dtype=np.float32)
        tensors = [triton.InferInput("ids", [1, 5], "INT64"), triton.InferInput("scale", [1, 1], "FP32")]
        tensors[0].set_data_from_numpy(ids)
        tensors[1].set_data_from_numpy(scale)
        served = client.infer("embed", tensors).as_numpy("embedding")
        client.close()
    (expected,) = reference.run(None, {"ids": ids, "scale": scale})
    assert served is not None
    assert np.array_equal(served, expected)


def _rewrite(models: Path, old: str, new: str) -> None:
    path = models / "embed" / "model.yaml"
    text = path.read_text()
    assert old in text
    path.write_text(text.replace(old, new))


def test_int8_without_a_dataset_is_refused_naming_the_file_and_its_format(
    initialized: tuple[Path, Path, str], tmp_path: Path
) -> None:
    models, _, _ = initialized
    _rewrite(models, "quantization: none", "quantization: dynamic")
    with pytest.raises(BuildFailedError) as caught:
        build_models(["embed"], models_dir=models, build_dir=tmp_path / "build")
    message = str(caught.value)
    assert f"{models / 'embed' / 'model.yaml'}" in message
    assert "quantization `dynamic` needs a `gate:` with an evaluation dataset" in message
    assert "`gate: {dataset: eval.npz" in message
    assert "eval.npz holds one array per model input, named like it, with a leading instance dimension" in message
    assert not (tmp_path / "build" / "embed").exists()


def test_fp16_without_a_gate_is_compared_on_synthesized_inputs_with_a_warning(
    initialized: tuple[Path, Path, str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    models, _, _ = initialized
    _rewrite(models, "quantization: none", "quantization: fp16")
    (result,) = build_models(["embed"], models_dir=models, build_dir=tmp_path / "build")
    assert result.artifact_dir is not None
    assert "WARNING: no `gate:`: fp16 was compared with fp32 on inputs synthesized" in capsys.readouterr().err
    report = json.loads((result.artifact_dir / "report.json").read_text())
    gate = report["gate"]
    assert gate["required"] is True
    assert gate["dataset"] == "(synthesized from the graph's signature)"
    assert gate["passed"] is True
    assert set(gate["results"]) == {"1", "2", "4", "8"}
    assert gate["results"]["8"]["cosine_min"] >= 0.99
    assert "synthesized" in gate["warning"]
    assert report["precision"] == "fp16"
    assert json.loads((result.artifact_dir / "manifest.json").read_text())["serving"]["max_batch_size"] == 8

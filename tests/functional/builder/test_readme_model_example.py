"""README's "Add your own model" manifest is real: it validates, builds with its gate, and serves objects by feature."""

from __future__ import annotations

import re
import textwrap
from pathlib import Path

import numpy as np
from fastapi.testclient import TestClient
from onnx import TensorProto, helper, numpy_helper

from modelrail.app import create_app
from modelrail.builder import build_models, check_manifests
from modelrail.settings import Settings
from tests.support.serving_servers import ROOT
from tests.support.tiny_build_models import save_model


def readme_manifest() -> str:
    section = (ROOT / "README.md").read_text(encoding="utf-8").split("## Add your own model", 1)[1]
    match = re.search(r"```yaml\n(.*?)```", section, re.DOTALL)
    assert match, "README's 'Add your own model' section lost its model.yaml example"
    return textwrap.dedent(match.group(1))


def churn_folder(models_dir: Path) -> Path:
    """The README's folder: model.onnx (3 features -> 2 logits) and eval.npz (rows, fp32 labels, no near-ties)."""
    folder = models_dir / "churn"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(7)
    weights = rng.normal(0, 1, (3, 2)).astype(np.float32)
    bias = np.array([0.1, -0.1], dtype=np.float32)
    save_model(
        folder / "model.onnx",
        [helper.make_node("MatMul", ["x", "w"], ["xw"]), helper.make_node("Add", ["xw", "b"], ["logits"])],
        [helper.make_tensor_value_info("x", TensorProto.FLOAT, ["batch", 3])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["batch", 2])],
        [numpy_helper.from_array(weights, "w"), numpy_helper.from_array(bias, "b")],
    )
    rows = rng.normal(0, 1, (400, 3)).astype(np.float32)
    logits = rows @ weights + bias
    clear = np.abs(logits[:, 0] - logits[:, 1]) > 0.2  # no near-ties, whose label int8 rounding could flip
    np.savez(folder / "eval.npz", rows=rows[clear], labels=np.argmax(logits[clear], axis=1))
    (folder / "model.yaml").write_text(readme_manifest(), encoding="utf-8")
    return folder


def test_the_readme_manifest_builds_and_serves(tmp_path: Path) -> None:
    models_dir, build_dir = tmp_path / "models", tmp_path / "build"
    churn_folder(models_dir)
    assert list(check_manifests(models_dir=models_dir)) == ["churn"]

    [result] = build_models(["churn"], models_dir=models_dir, build_dir=build_dir)
    assert result.status == "built"

    app = create_app(Settings(model_dir=build_dir / "churn" / "1", intra_op_threads=1), preload=False)
    with TestClient(app) as client:
        instance = {"tenure_months": 0.5, "monthly_charges": -1.0, "support_calls": 2.0}
        response = client.post("/v1/models/churn/predict", json={"instances": [instance, [0.5, -1.0, 2.0]]})
    assert response.status_code == 200, response.text
    by_name, by_order = response.json()["predictions"]
    assert by_name == by_order
    assert set(by_name["scores"]) == {"stays", "churns"}

"""`modelrail build` records each tensor's batch axis in manifest.json and refuses an ambiguous graph up front."""

from __future__ import annotations

from pathlib import Path

from onnx import TensorProto, helper

from modelrail.builder import build_models
from modelrail.manifest import BuiltManifest
from tests.support.tiny_build_models import save_model, write_tiny_model


def test_the_built_manifest_records_each_specs_batch_axis(tmp_path: Path) -> None:
    models, build = tmp_path / "models", tmp_path / "build"
    write_tiny_model(models)
    (result,) = build_models(models_dir=models, build_dir=build)
    assert result.artifact_dir is not None
    built = BuiltManifest.model_validate_json((result.artifact_dir / "manifest.json").read_bytes())
    assert [(s.name, s.shape, s.batch_axis) for s in built.inputs + built.outputs] == [
        ("x", [-1, 8], 0),
        ("y", [-1, 16], 0),
    ]


def test_an_ambiguous_batch_axis_fails_before_any_work_naming_the_field(tmp_path: Path) -> None:
    models, build = tmp_path / "models", tmp_path / "build"
    folder = models / "state"
    folder.mkdir(parents=True)
    save_model(
        folder / "model.onnx",
        [helper.make_node("Identity", ["state"], ["next_state"])],
        [helper.make_tensor_value_info("state", TensorProto.FLOAT, [2, "B", "H"])],
        [helper.make_tensor_value_info("next_state", TensorProto.FLOAT, [2, "B", "H"])],
        [],
    )
    (folder / "model.yaml").write_text(
        "name: state\nversion: '1'\ntask: tensor\nsource: model.onnx\nquantization: none\n", encoding="utf-8"
    )
    (result,) = build_models(models_dir=models, build_dir=build, raise_on_failure=False)
    assert result.status == "failed"
    assert result.error is not None
    assert "`state` has shape [2, B, H]: its batch axis is ambiguous" in result.error
    assert "`processing.batch_axes`" in result.error
    assert not (build / "state").exists()

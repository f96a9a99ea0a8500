"""`modelrail build` end to end on a tiny real model: artifact layout, integrity, skips, and the gate's refusal."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelrail.builder import BuildFailedError, build_models
from modelrail.builder.hashing import sha256_file
from modelrail.cli import main
from modelrail.manifest import BuiltManifest
from tests.support.tiny_build_models import write_tiny_model


@pytest.fixture
def dirs(tmp_path: Path) -> tuple[Path, Path]:
    return tmp_path / "models", tmp_path / "build" / "models"


def snapshot(directory: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in sorted(directory.iterdir())}


def test_build_writes_a_verified_artifact(dirs: tuple[Path, Path]) -> None:
    models, build = dirs
    write_tiny_model(models)
    (result,) = build_models(models_dir=models, build_dir=build)
    assert result.status == "built"
    artifact = build / "tiny" / "1"
    assert result.artifact_dir == artifact
    assert sorted(path.name for path in artifact.iterdir()) == ["manifest.json", "model.onnx", "report.json"]
    built = BuiltManifest.model_validate_json((artifact / "manifest.json").read_text())
    assert set(built.files) == {"model.onnx", "report.json"}
    for name, entry in built.files.items():
        assert entry.sha256 == sha256_file(artifact / name)
        assert entry.size == (artifact / name).stat().st_size
    assert built.precision == "int8-dynamic"
    assert built.serving.max_batch_size == 1
    assert [(s.name, s.datatype, s.shape) for s in built.inputs] == [("x", "FP32", [-1, 8])]
    assert [(s.name, s.datatype, s.shape) for s in built.outputs] == [("y", "FP32", [-1, 16])]
    report = json.loads((artifact / "report.json").read_text())
    assert report["gate"]["passed"] is True
    assert report["gate"]["results"]["1"]["cosine_min"] >= 0.9
    assert report["sizes"]["fp32_bytes"] > 0
    assert report["latency"]["fp32_p50_ms"] > 0
    assert report["latency"]["served_p50_ms"] > 0
    assert not [p for p in artifact.parent.iterdir() if p.name.startswith(".")]


def test_second_build_is_a_no_op_and_force_rebuilds(dirs: tuple[Path, Path]) -> None:
    models, build = dirs
    write_tiny_model(models)
    build_models(models_dir=models, build_dir=build)
    manifest_json = build / "tiny" / "1" / "manifest.json"
    first = manifest_json.read_bytes()
    first_mtime = manifest_json.stat().st_mtime_ns
    (again,) = build_models(models_dir=models, build_dir=build)
    assert again.status == "up-to-date"
    assert manifest_json.stat().st_mtime_ns == first_mtime
    (forced,) = build_models(models_dir=models, build_dir=build, force=True)
    assert forced.status == "built"
    assert manifest_json.read_bytes() != first  # a new built_at and fresh latency numbers


def test_tampered_artifact_is_rebuilt(dirs: tuple[Path, Path]) -> None:
    models, build = dirs
    write_tiny_model(models)
    build_models(models_dir=models, build_dir=build)
    (build / "tiny" / "1" / "model.onnx").write_bytes(b"not a model")
    (result,) = build_models(models_dir=models, build_dir=build)
    assert result.status == "built"
    built = BuiltManifest.model_validate_json((build / "tiny" / "1" / "manifest.json").read_text())
    assert built.files["model.onnx"].sha256 == sha256_file(build / "tiny" / "1" / "model.onnx")


def test_harmful_quantization_is_refused_with_numbers(
    dirs: tuple[Path, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    models, build = dirs
    write_tiny_model(models, per_channel=False)
    code = main(["build", "--models-dir", str(models), "--build-dir", str(build)])
    output = capsys.readouterr()
    assert code == 1
    text = output.out + output.err
    assert "gate FAILED for dynamic quantization; nothing was published" in text
    assert "batch 1: cosine_mean 0." in text
    assert "< min 0.99" in text
    assert "hint: per-tensor weight scales lose accuracy" in text
    assert not (build / "tiny" / "1").exists()
    assert not [p for p in (build / "tiny").iterdir() if p.name.startswith(".")]


def test_failed_build_leaves_previous_good_build_intact(dirs: tuple[Path, Path]) -> None:
    models, build = dirs
    folder = write_tiny_model(models)
    build_models(models_dir=models, build_dir=build)
    artifact = build / "tiny" / "1"
    before = snapshot(artifact)
    yaml = folder / "model.yaml"
    yaml.write_text(yaml.read_text().replace("per_channel: true", "per_channel: false"))
    with pytest.raises(BuildFailedError, match=r"1 of 1 model\(s\) failed to build:\ntiny: gate FAILED") as caught:
        build_models(models_dir=models, build_dir=build)
    assert caught.value.results[0].status == "failed"
    assert snapshot(artifact) == before
    assert sorted(path.name for path in (build / "tiny").iterdir()) == ["1"]


def test_missing_gate_dataset_is_a_clear_failure(dirs: tuple[Path, Path]) -> None:
    models, build = dirs
    folder = write_tiny_model(models)
    (folder / "eval.npz").unlink()
    (result,) = build_models(models_dir=models, build_dir=build, raise_on_failure=False)
    assert result.status == "failed"
    assert result.error is not None
    assert "`eval.npz` is not in" in result.error
    assert not (build / "tiny" / "1").exists()


def test_only_named_models_are_built(dirs: tuple[Path, Path]) -> None:
    models, build = dirs
    write_tiny_model(models, "one")
    write_tiny_model(models, "two")
    results = build_models(["two"], models_dir=models, build_dir=build)
    assert [result.name for result in results] == ["two"]
    assert not (build / "one").exists()


def test_unloadable_source_model_fails_that_model_only(dirs: tuple[Path, Path]) -> None:
    models, build = dirs
    broken = write_tiny_model(models, "broken")
    (broken / "model.onnx").write_bytes(b"this is not an ONNX model")
    write_tiny_model(models, "fine")
    outcomes = build_models(models_dir=models, build_dir=build, raise_on_failure=False)
    results = {result.name: result for result in outcomes}
    assert results["broken"].status == "failed"
    assert results["broken"].error is not None
    assert "ONNX Runtime cannot load" in results["broken"].error
    assert results["fine"].status == "built"
    assert not (build / "broken" / "1").exists()

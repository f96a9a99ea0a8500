"""Local mode serves only artifacts current for their model.yaml (the check synth and push make), building a
missing, stale or damaged one first with progress, and stops with a clear message when a model cannot be built."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelrail.local.artifacts import resolve_models
from modelrail.local.deployment import DeploymentError
from tests.support.tiny_build_models import write_tiny_model


def test_a_missing_artifact_is_built_first_with_progress(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    write_tiny_model(tmp_path / "models")
    said: list[str] = []
    models = resolve_models([], models_dir=tmp_path / "models", build_dir=tmp_path / "build", say=said.append)
    assert [model.name for model in models] == ["tiny"]
    assert models[0].artifacts["1"].directory == tmp_path / "build" / "tiny" / "1"
    assert len(said) == 1
    assert said[0].startswith("model `tiny` version 1 is not built (")
    assert said[0].endswith("; run `modelrail build tiny`; building it now")
    assert "[tiny] built" in capsys.readouterr().err  # the build's own progress lines
    again = resolve_models(["tiny"], models_dir=tmp_path / "models", build_dir=tmp_path / "build", say=said.append)
    assert again[0].artifacts["1"].manifest_sha256 == models[0].artifacts["1"].manifest_sha256
    assert len(said) == 1  # nothing rebuilt


def test_a_model_that_fails_its_gate_stops_local_mode_with_the_reason(tmp_path: Path) -> None:
    write_tiny_model(tmp_path / "models", cosine_mean=1.01)
    with pytest.raises(DeploymentError) as caught:
        resolve_models([], models_dir=tmp_path / "models", build_dir=tmp_path / "build", say=lambda _: None)
    assert "build failed" in str(caught.value)
    assert "cosine_mean" in str(caught.value)
    assert not (tmp_path / "build" / "tiny" / "1").exists()


def test_an_artifact_changed_after_its_build_is_rebuilt_saying_why(tmp_path: Path) -> None:
    write_tiny_model(tmp_path / "models")
    resolve_models([], models_dir=tmp_path / "models", build_dir=tmp_path / "build", say=lambda _: None)
    (tmp_path / "build" / "tiny" / "1" / "model.onnx").write_bytes(b"changed")
    said: list[str] = []
    (model,) = resolve_models([], models_dir=tmp_path / "models", build_dir=tmp_path / "build", say=said.append)
    assert len(said) == 1
    assert "version 1 is damaged: " in said[0]
    assert "model.onnx has sha256" in said[0]
    assert model.artifacts["1"].path("model.onnx").read_bytes() != b"changed"


def test_unknown_names_and_empty_folders_are_clear(tmp_path: Path) -> None:
    with pytest.raises(DeploymentError, match="no models found"):
        resolve_models([], models_dir=tmp_path, build_dir=tmp_path / "build", say=lambda _: None)
    write_tiny_model(tmp_path / "models")
    with pytest.raises(DeploymentError, match="no model nope"):
        resolve_models(["nope"], models_dir=tmp_path / "models", build_dir=tmp_path / "build", say=lambda _: None)

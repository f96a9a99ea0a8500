"""Local-directory model source: the same sha256 checks as S3."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelrail.errors import ModelUnavailableError
from modelrail.settings import Settings
from modelrail.store import ArtifactIntegrityError, fetch_artifact
from modelrail.store.local_dir import load_local_dir
from tests.support.serving_artifacts import manifest_sha256, tensor_artifact


def test_a_built_artifact_loads_with_its_pinned_manifest(tmp_path: Path) -> None:
    directory = tensor_artifact(tmp_path / "a")
    artifact = load_local_dir(directory, manifest_sha256=manifest_sha256(directory))
    assert artifact.manifest.name == "tiny"
    assert artifact.path("model.onnx") == directory / "model.onnx"


def test_a_tampered_model_file_is_refused(tmp_path: Path) -> None:
    directory = tensor_artifact(tmp_path / "a")
    (directory / "model.onnx").write_bytes(b"\x00" * 10)
    with pytest.raises(ArtifactIntegrityError, match=r"model.onnx has sha256 [0-9a-f]{64} and 10 bytes"):
        load_local_dir(directory, manifest_sha256=None)


def test_a_manifest_other_than_the_pinned_one_is_refused(tmp_path: Path) -> None:
    directory = tensor_artifact(tmp_path / "a")
    with pytest.raises(ArtifactIntegrityError, match="deployment pins"):
        load_local_dir(directory, manifest_sha256="f" * 64)


def test_a_missing_directory_says_what_to_point_at(tmp_path: Path) -> None:
    with pytest.raises(ModelUnavailableError, match="point MODELRAIL_MODEL_DIR at a built artifact"):
        load_local_dir(tmp_path / "nowhere", manifest_sha256=None)


def test_an_invalid_manifest_is_a_503_naming_the_field(tmp_path: Path) -> None:
    directory = tensor_artifact(tmp_path / "a")
    document = json.loads((directory / "manifest.json").read_text())
    del document["serving"]
    (directory / "manifest.json").write_text(json.dumps(document))
    with pytest.raises(ModelUnavailableError, match="field `serving`"):
        load_local_dir(directory, manifest_sha256=None)


def test_file_names_that_escape_the_artifact_are_refused(tmp_path: Path) -> None:
    directory = tensor_artifact(tmp_path / "a")
    document = json.loads((directory / "manifest.json").read_text())
    document["files"]["../../etc/passwd"] = document["files"]["model.onnx"]
    (directory / "manifest.json").write_text(json.dumps(document))
    with pytest.raises(ModelUnavailableError, match="not a plain relative path"):
        load_local_dir(directory, manifest_sha256=None)


def test_no_source_configured_names_the_env_vars(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("MODELRAIL_MODEL_DIR", "MODELRAIL_MODEL_BUCKET", "MODELRAIL_MANIFEST_SHA256"):
        monkeypatch.delenv(name, raising=False)
    with pytest.raises(ModelUnavailableError, match=r"MODELRAIL_MODEL_DIR.*MODELRAIL_MODEL_BUCKET"):
        fetch_artifact(Settings())

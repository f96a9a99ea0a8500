"""The one artifact check: current (same model part, version and target) and intact, or why not and what to run."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from modelrail.manifest import Manifest, parse_manifest
from modelrail.store.current import ArtifactNotCurrentError, Staleness, current_artifact
from tests.support.serving_artifacts import manifest_sha256, tensor_artifact

TINY: dict[str, Any] = {
    "name": "tiny",
    "version": "1",
    "task": "tensor",
    "source": "model.onnx",
    "quantization": "none",
}
"""The model part ``tensor_artifact`` records, in short forms and with no ``deploy:`` block."""


def manifest(**changes: Any) -> Manifest:
    return parse_manifest({**TINY, **changes})


@pytest.fixture
def build_dir(tmp_path: Path) -> Path:
    tensor_artifact(tmp_path / "tiny" / "1")
    return tmp_path


def refused(build_dir: Path, wanted: Manifest) -> ArtifactNotCurrentError:
    with pytest.raises(ArtifactNotCurrentError) as caught:
        current_artifact(wanted, build_dir)
    assert caught.value.command == "modelrail build tiny"
    assert str(caught.value).endswith("; run `modelrail build tiny`")
    return caught.value


def test_a_current_intact_artifact_is_returned_verified(build_dir: Path) -> None:
    artifact = current_artifact(manifest(), build_dir)
    assert artifact.directory == build_dir / "tiny" / "1"
    assert artifact.manifest.model == manifest().model
    assert artifact.manifest_sha256 == manifest_sha256(artifact.directory)


def test_deployment_settings_never_make_it_stale(build_dir: Path) -> None:
    current_artifact(manifest(deploy={"memory_mb": 4096, "timeout_s": 5, "reserved_concurrency": 2}), build_dir)


def test_never_built_version_is_missing(build_dir: Path) -> None:
    error = refused(build_dir, manifest(version="2"))
    assert error.reason is Staleness.MISSING
    assert "model `tiny` version 2 is not built" in str(error)


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"gate": {"dataset": "eval.npz", "thresholds": {"max_abs_diff": {"max": 0.0}}}}, "`gate`"),
        ({"quantization": {"mode": "none", "per_channel": False}}, "`quantization`"),
        ({"labels": ["a", "b"]}, "`labels`"),
        ({"description": "now described"}, "`description`"),
        ({"deploy": {"target": "gpu"}}, "`deploy.target`"),
    ],
)
def test_a_changed_model_part_or_target_is_stale(build_dir: Path, changes: dict[str, Any], field: str) -> None:
    error = refused(build_dir, manifest(**changes))
    assert error.reason is Staleness.STALE
    built_from = f"{build_dir}/tiny/1/manifest.json was built from a different models/tiny/model.yaml"
    assert f"is stale: {built_from} ({field} changed since)" in str(error)


def test_a_changed_file_is_corrupt(build_dir: Path) -> None:
    (build_dir / "tiny" / "1" / "model.onnx").write_bytes(b"tampered")
    error = refused(build_dir, manifest())
    assert error.reason is Staleness.CORRUPT
    assert "model.onnx has sha256" in str(error)


def test_a_missing_file_is_corrupt(build_dir: Path) -> None:
    (build_dir / "tiny" / "1" / "model.onnx").unlink()
    assert refused(build_dir, manifest()).reason is Staleness.CORRUPT


def test_an_older_manifest_format_is_invalid(build_dir: Path) -> None:
    path = build_dir / "tiny" / "1" / "manifest.json"
    document = json.loads(path.read_text())
    document["format"] = 1
    document["manifest"] = document.pop("model")  # the format before the model/deploy split
    path.write_text(json.dumps(document))
    error = refused(build_dir, manifest())
    assert error.reason is Staleness.INVALID
    assert "is not a valid built manifest" in str(error)

"""Synth deploys only complete, current artifacts: every file checked against manifest.json."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from fake_repo import TINY, write_artifact, write_model

from infra.deployed_models import ArtifactError, load_deployed_models
from modelrail.constants import MANIFEST_JSON, MODEL_FILE
from modelrail.manifest import ManifestError


@pytest.fixture
def repo(tmp_path: Path) -> tuple[Path, Path]:
    models, build = tmp_path / "models", tmp_path / "build"
    write_model(models, TINY)
    write_artifact(build, TINY)
    return models, build


def test_complete_artifact_loads_with_every_hash(repo: tuple[Path, Path]) -> None:
    models, build = repo
    (model,) = load_deployed_models(models_dir=models, build_dir=build)
    artifact = build / "tiny" / "3"
    assert model.prefix == "models/tiny/3/"
    assert model.manifest_sha256 == hashlib.sha256((artifact / MANIFEST_JSON).read_bytes()).hexdigest()
    assert set(model.file_sha256) == {MANIFEST_JSON, MODEL_FILE}
    assert model.size_bytes == sum(p.stat().st_size for p in artifact.iterdir())


def test_unbuilt_model_names_the_build_command(repo: tuple[Path, Path], tmp_path: Path) -> None:
    models, _ = repo
    with pytest.raises(ArtifactError, match=r"model `tiny` version 3 is not built .*run `modelrail build tiny`"):
        load_deployed_models(models_dir=models, build_dir=tmp_path / "nothing")


def test_changed_file_is_refused(repo: tuple[Path, Path]) -> None:
    models, build = repo
    (build / "tiny" / "3" / MODEL_FILE).write_bytes(b"tampered")
    with pytest.raises(
        ArtifactError, match=r"version 3 is damaged: .*model\.onnx has sha256 .*; run `modelrail build tiny`"
    ):
        load_deployed_models(models_dir=models, build_dir=build)


def test_missing_file_is_refused(repo: tuple[Path, Path]) -> None:
    models, build = repo
    (build / "tiny" / "3" / MODEL_FILE).unlink()
    with pytest.raises(
        ArtifactError, match=r"version 3 is damaged: .*model\.onnx is missing; run `modelrail build tiny`"
    ):
        load_deployed_models(models_dir=models, build_dir=build)


def test_artifact_built_from_another_manifest_is_refused(repo: tuple[Path, Path]) -> None:
    models, build = repo
    write_model(models, {**TINY, "labels": ["a", "b"]})
    with pytest.raises(
        ArtifactError, match=r"built from a different models/tiny/model\.yaml \(`labels` changed since\)"
    ):
        load_deployed_models(models_dir=models, build_dir=build)


def test_deployment_settings_do_not_need_a_rebuild(repo: tuple[Path, Path]) -> None:
    models, build = repo
    write_model(models, {**TINY, "deploy": {"memory_mb": 4096, "timeout_s": 5, "reserved_concurrency": 9}})
    (model,) = load_deployed_models(models_dir=models, build_dir=build)
    assert model.manifest.cpu_deploy.memory_mb == 4096


def test_unknown_model_lists_the_known_ones(repo: tuple[Path, Path]) -> None:
    models, build = repo
    with pytest.raises(ArtifactError, match=r"unknown model.* nope: .* has tiny"):
        load_deployed_models(models_dir=models, build_dir=build, names=["nope"])


def test_invalid_manifest_names_file_and_field(repo: tuple[Path, Path]) -> None:
    models, build = repo
    write_model(models, {**TINY, "deploy": {"timeout_s": 60}})
    with pytest.raises(ManifestError, match=r"tiny/model.yaml: field `deploy.timeout_s`"):
        load_deployed_models(models_dir=models, build_dir=build)


def test_every_served_version_is_loaded_and_verified(tmp_path: Path) -> None:
    models, build = tmp_path / "models", tmp_path / "build"
    write_artifact(build, {**TINY, "version": "2"}, model_bytes=b"weights 2")
    releases = {"served": ["2", "3"], "live": "2", "canary": {"version": "3", "percent": 20}}
    write_model(models, {**TINY, "deploy": {**TINY["deploy"], "releases": releases}})
    write_artifact(build, TINY)
    (model,) = load_deployed_models(models_dir=models, build_dir=build)
    assert list(model.served) == ["2", "3"]
    assert model.served["2"].prefix == "models/tiny/2/"
    assert model.served["2"].file_sha256[MODEL_FILE] == hashlib.sha256(b"weights 2").hexdigest()
    assert (model.live_version, model.default_version, model.version) == ("2", "3", "3")
    assert model.served_bytes == model.served["2"].size_bytes + model.served["3"].size_bytes


def test_an_unbuilt_served_version_is_refused(repo: tuple[Path, Path]) -> None:
    models, build = repo
    write_model(models, {**TINY, "deploy": {"releases": {"served": ["2", "3"]}}})
    with pytest.raises(ArtifactError, match=r"served version 2 is not built .*`deploy\.releases\.served`"):
        load_deployed_models(models_dir=models, build_dir=build)

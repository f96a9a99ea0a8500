"""One check for "is this artifact current": synth, push and local up agree that a changed gate makes it stale.

A real build of a tiny model, then one gate threshold changed in its model.yaml: ``cdk synth``'s model loader
(``infra/deployed_models``) and ``modelrail push`` refuse it naming the model and the rebuild command, and
``modelrail local up`` says the same and rebuilds it, after which all three accept it.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.deployed_models import ArtifactError, load_deployed_models
from modelrail.builder import build_models
from modelrail.local.artifacts import resolve_models
from modelrail.push import PushError, resolve_artifacts
from tests.support.tiny_build_models import write_tiny_model

STALE = r"model `tiny` version 1 is stale: .* \(`gate` changed since\); run `modelrail build tiny`"


def test_a_changed_gate_threshold_is_stale_for_synth_push_and_local_up(tmp_path: Path) -> None:
    models, build = tmp_path / "models", tmp_path / "build"
    folder = write_tiny_model(models, cosine_mean=0.99)
    (built,) = build_models(models_dir=models, build_dir=build)
    assert built.status == "built"
    load_deployed_models(models_dir=models, build_dir=build)  # current: synth and push accept it
    resolve_artifacts(["tiny"], models_dir=models, build_dir=build)

    manifest = folder / "model.yaml"
    manifest.write_text(manifest.read_text().replace("cosine_mean: {min: 0.99}", "cosine_mean: {min: 0.95}"))

    with pytest.raises(ArtifactError, match=STALE):
        load_deployed_models(models_dir=models, build_dir=build)
    with pytest.raises(PushError, match=STALE):
        resolve_artifacts(["tiny"], models_dir=models, build_dir=build)
    said: list[str] = []
    (served,) = resolve_models(["tiny"], models_dir=models, build_dir=build, say=said.append)
    assert len(said) == 1
    assert said[0].endswith("; building it now")
    gate = served.artifact.manifest.model.gate
    assert gate is not None
    assert gate.thresholds["cosine_mean"].min == pytest.approx(0.95)

    (deployed,) = load_deployed_models(models_dir=models, build_dir=build)  # rebuilt: current for all three
    assert deployed.manifest_sha256 == served.artifact.manifest_sha256
    (pushed,) = resolve_artifacts(["tiny"], models_dir=models, build_dir=build)
    assert pushed.manifest_sha256 == served.artifact.manifest_sha256


def test_a_changed_deploy_block_needs_no_rebuild(tmp_path: Path) -> None:
    models, build = tmp_path / "models", tmp_path / "build"
    folder = write_tiny_model(models)
    build_models(models_dir=models, build_dir=build)
    manifest = folder / "model.yaml"
    manifest.write_text(manifest.read_text() + "deploy:\n  memory_mb: 4096\n  reserved_concurrency: 3\n")
    (deployed,) = load_deployed_models(models_dir=models, build_dir=build)
    assert deployed.manifest.cpu_deploy.memory_mb == 4096
    said: list[str] = []
    resolve_models(["tiny"], models_dir=models, build_dir=build, say=said.append)
    assert said == []
    (again,) = build_models(models_dir=models, build_dir=build)
    assert again.status == "up-to-date"

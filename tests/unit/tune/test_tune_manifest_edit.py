"""``tune --apply`` writes ``deploy.memory_mb`` into model.yaml, keeping comments, and never leaves it invalid."""

from __future__ import annotations

from pathlib import Path

import pytest

from modelrail.manifest import ManifestError, load_manifest
from modelrail.tune.manifest_edit import set_deploy_memory

MODEL = 'name: tiny\nversion: "1"\ntask: tensor\nsource: model.onnx  # the fp32 file\nquantization: none\n'


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "tiny" / "model.yaml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def test_a_manifest_without_deploy_gets_a_deploy_block(tmp_path: Path) -> None:
    path = write(tmp_path, MODEL)
    set_deploy_memory(path, 3008)
    assert load_manifest(path).cpu_deploy.memory_mb == 3008
    assert "# the fp32 file" in path.read_text()


def test_an_existing_memory_is_replaced_and_the_rest_kept(tmp_path: Path) -> None:
    path = write(tmp_path, MODEL + "deploy:\n  target: cpu\n  memory_mb: 512  # old\n  timeout_s: 10\n")
    set_deploy_memory(path, 1769)
    deploy = load_manifest(path).cpu_deploy
    assert (deploy.memory_mb, deploy.timeout_s) == (1769, 10)


def test_a_gpu_manifest_is_left_as_it_was(tmp_path: Path) -> None:
    text = MODEL + "deploy:\n  target: gpu\n"
    path = write(tmp_path, text)
    with pytest.raises(ManifestError, match=r"does not apply to `deploy\.target: gpu`"):
        set_deploy_memory(path, 1024)
    assert path.read_text() == text

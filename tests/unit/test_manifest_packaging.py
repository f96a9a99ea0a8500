"""`deploy.packaging`: image by default, zip on request; a manifest's own choice beats the stage's default."""

from __future__ import annotations

from typing import Any

import pytest

from modelrail.manifest import ManifestError, Packaging, parse_manifest

BASE: dict[str, Any] = {"name": "m", "version": "1", "task": "tensor", "source": "model.onnx", "quantization": "none"}


def deploy(**fields: Any) -> Any:
    return parse_manifest({**BASE, "deploy": fields} if fields else BASE).cpu_deploy


def test_image_is_the_default_and_the_stage_default_fills_an_unset_field() -> None:
    assert deploy().packaging is Packaging.IMAGE
    assert deploy().packaging_or(Packaging.ZIP) is Packaging.ZIP
    assert deploy(memory_mb=1024).packaging_or(Packaging.ZIP) is Packaging.ZIP


@pytest.mark.parametrize("own", list(Packaging))
@pytest.mark.parametrize("stage", list(Packaging))
def test_a_manifests_own_packaging_beats_the_stage_default(own: Packaging, stage: Packaging) -> None:
    assert deploy(packaging=own.value).packaging_or(stage) is own


def test_zip_refuses_provisioned_concurrency_which_snapstart_does_not_support() -> None:
    with pytest.raises(ManifestError, match=r"deploy.*provisioned_concurrency.*SnapStart does not support"):
        deploy(packaging="zip", provisioned_concurrency=1)
    assert deploy(provisioned_concurrency=1).snapstart_conflict() is not None  # infra checks it for a stage default
    assert deploy(packaging="zip").snapstart_conflict() is None


def test_an_unknown_packaging_names_the_choices() -> None:
    with pytest.raises(ManifestError, match=r"packaging.*'image' or 'zip'"):
        deploy(packaging="layer")

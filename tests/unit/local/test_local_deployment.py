"""What local mode takes from a manifest to run a model's function."""

from __future__ import annotations

from pathlib import Path

from modelrail.local.deployment import function_concurrency
from modelrail.local.lambda_function import DEFAULT_CONCURRENCY
from modelrail.manifest import Manifest, load_manifest

ROOT = Path(__file__).resolve().parents[3]


def test_concurrency_is_the_manifests_reserved_concurrency_else_the_local_default() -> None:
    manifest = load_manifest(ROOT / "models" / "minilm" / "model.yaml")

    def with_reserved(value: int | None) -> Manifest:
        deploy = manifest.cpu_deploy.model_copy(update={"reserved_concurrency": value})
        return manifest.model_copy(update={"deploy": deploy})

    assert function_concurrency(with_reserved(None)) == DEFAULT_CONCURRENCY
    assert function_concurrency(with_reserved(7)) == 7

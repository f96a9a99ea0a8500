"""One in-process local deployment of bundled models (a CPU and the GPU one) plus the catalog, for functional tests.

It is the deployment ``modelrail local up`` runs: the real Lambda handler under its runtime process, the GPU
container app, the catalog function, the embedded S3. Tests that need the built models skip, saying so, when
``build/models`` lacks them (CI builds them before the tests).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from modelrail.constants import BUILD_DIR, MANIFEST_JSON, MODELS_DIR
from modelrail.local.artifacts import load_manifests, resolve_models
from modelrail.local.deployment import LocalDeployment

ROOT = Path(__file__).resolve().parents[2]
CPU_MODEL = "digits"
GPU_MODEL = "minilm-gpu"
BASE_PATH = "/prod"
"""The custom domain base path the deployment is told, as `--context base_path=prod` tells the stack's."""


def skip_unless_built(*names: str) -> None:
    """Skip the test when a bundled model is not built."""
    for name in names:
        if not any((ROOT / BUILD_DIR / name).glob(f"*/{MANIFEST_JSON}")):
            pytest.skip(f"{name} is not built (run `modelrail build {name}` first)")


@contextmanager
def bundled_deployment(names: tuple[str, ...] = (CPU_MODEL, GPU_MODEL)) -> Iterator[LocalDeployment]:
    """Start the models' functions and containers and the catalog (models warm), stop them after."""
    skip_unless_built(*names)
    models = resolve_models(list(names), models_dir=ROOT / MODELS_DIR, build_dir=ROOT / BUILD_DIR, say=print)
    manifests = load_manifests(list(names), models_dir=ROOT / MODELS_DIR)
    deployment = LocalDeployment(
        models, root=ROOT, catalog_manifests=manifests, output=io.StringIO(), base_path=BASE_PATH
    )
    deployment.start(warm=True)
    try:
        yield deployment
    finally:
        deployment.stop()

"""Shared fixtures for the CDK tests: a fake repository (placeholder Dockerfiles, catalog handler, runtime
package) with tiny built artifacts, and one synthesized stack per shape, shared by every test module."""

from __future__ import annotations

import os

# The jsii Node process prints a Node-version banner unless told not to; set before aws_cdk is imported.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")


import pytest
from fake_repo import FakeRepo, SynthResult, make_fake_repo, synth


@pytest.fixture(scope="session")
def fake_repo(tmp_path_factory: pytest.TempPathFactory) -> FakeRepo:
    """A repository with two CPU models (`tiny`, `tiny-b`) and a GPU model (`tiny-gpu`), all built."""
    return make_fake_repo(tmp_path_factory.mktemp("repo"))


@pytest.fixture(scope="session")
def cpu_only(fake_repo: FakeRepo) -> SynthResult:
    """Default settings (dev, api-key), CPU model only."""
    return synth(fake_repo, models=["tiny"])


@pytest.fixture(scope="session")
def with_gpu(fake_repo: FakeRepo) -> SynthResult:
    """Default settings (dev, api-key), two CPU models and a GPU model."""
    return synth(fake_repo, models=["tiny", "tiny-b", "tiny-gpu"], context={"gpu_models": "true"})


@pytest.fixture(scope="session")
def iam_prod(fake_repo: FakeRepo) -> SynthResult:
    """Stage prod, IAM auth, CORS on, both models: data retained."""
    return synth(
        fake_repo,
        models=["tiny", "tiny-gpu"],
        context={"stage": "prod", "auth": "iam", "cors_origin": "https://app.example.com", "gpu_models": "true"},
    )


@pytest.fixture(params=["cpu_only", "with_gpu", "iam_prod"])
def any_stack(request: pytest.FixtureRequest) -> SynthResult:
    """Each stack shape in turn."""
    result: SynthResult = request.getfixturevalue(request.param)
    return result

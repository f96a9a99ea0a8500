"""Fixtures shared by functional tiers: one local deployment of a bundled CPU model and the GPU model."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from modelrail.local.deployment import LocalDeployment
from tests.support.bundled_deployment import bundled_deployment


@pytest.fixture(scope="session")
def bundled_local() -> Iterator[LocalDeployment]:
    """digits (a Lambda function) + minilm-gpu (a SageMaker container) + the catalog, told base path ``/prod``."""
    with bundled_deployment() as deployment:
        yield deployment

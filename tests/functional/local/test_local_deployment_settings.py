"""Local functions get the settings the stack gives their cloud twins (memory fixes the vCPU share, hence threads)."""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from infra.constructs import catalog_function, inference_api
from modelrail.local import deployment, events


def test_binary_media_types_match_the_stack() -> None:
    assert events.BINARY_MEDIA_TYPES == inference_api.BINARY_MEDIA_TYPES


def test_handler_and_catalog_code_paths_match_the_stack() -> None:
    assert deployment.CATALOG_HANDLER.partition(":")[0] == f"{catalog_function.HANDLER_DIR}/handler.py"

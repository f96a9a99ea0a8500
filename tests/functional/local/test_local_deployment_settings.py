"""Local functions get the settings the stack gives their cloud twins (memory fixes the vCPU share, hence threads)."""

from __future__ import annotations

import os

os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from pathlib import Path

from infra.constructs import inference_api
from modelrail.contract import functions
from modelrail.local import events

ROOT = Path(__file__).resolve().parents[3]


def test_binary_media_types_match_the_stack() -> None:
    assert events.BINARY_MEDIA_TYPES == inference_api.BINARY_MEDIA_TYPES


def test_catalog_handler_is_the_file_lambda_runs() -> None:
    module, _, function = functions.CATALOG_HANDLER.partition(".")
    assert f"{functions.CATALOG_CODE_DIR}/{module}.py:{function}" == functions.CATALOG_HANDLER_FILE
    assert (ROOT / functions.CATALOG_CODE_DIR / f"{module}.py").is_file()

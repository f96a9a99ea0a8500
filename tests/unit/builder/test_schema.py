"""The committed editor schema matches the manifest model, and every bundled model.yaml uses it and validates."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from modelrail.builder.cli import SCHEMA_FILE, write_schema
from modelrail.manifest import discover_manifests, load_manifest, manifest_json_schema

MODELS = Path(__file__).resolve().parents[3] / "models"


def test_committed_schema_equals_manifest_schema() -> None:
    committed = json.loads((MODELS / SCHEMA_FILE).read_text(encoding="utf-8"))
    assert committed == manifest_json_schema(), "run `modelrail build --write-schema` and commit the result"


def test_write_schema_writes_the_manifest_schema(tmp_path: Path) -> None:
    path = write_schema(tmp_path)
    assert json.loads(path.read_text(encoding="utf-8")) == manifest_json_schema()


@pytest.mark.parametrize("name", sorted(discover_manifests(MODELS)))
def test_bundled_manifest_references_schema_and_validates(name: str) -> None:
    path = MODELS / name / "model.yaml"
    assert path.read_text(encoding="utf-8").startswith("# yaml-language-server: $schema=../model.schema.json\n")
    assert load_manifest(path).name == name


def test_bundled_models_cover_every_build_path() -> None:
    modes = {load_manifest(path).quantization.mode.value for path in discover_manifests(MODELS).values()}
    targets = {load_manifest(path).deploy.target.value for path in discover_manifests(MODELS).values()}
    assert {"dynamic", "static", "fp16"} <= modes
    assert targets == {"cpu", "gpu"}

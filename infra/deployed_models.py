"""The models a stack deploys: each manifest joined with its verified build artifact.

Synth refuses to deploy what ``modelrail build`` has not finished: a missing, incomplete, tampered or stale
artifact fails with the exact command that fixes it, so nothing half-written is ever uploaded.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from pydantic import ValidationError

from modelrail.constants import MANIFEST_JSON, artifact_prefix
from modelrail.manifest import BuiltManifest, Manifest, discover_manifests, format_validation_error, load_manifest

ARTIFACT_FIELDS = ("task", "target", "source", "quantization", "processing", "labels")
"""Manifest fields the artifact depends on; the others (memory, concurrency, ...) are deployment settings."""


class ArtifactError(ValueError):
    """A model selected for deployment has no complete, current build artifact."""


@dataclass(frozen=True)
class DeployedModel:
    """One model as the stack deploys it."""

    manifest: Manifest
    artifact_dir: Path
    manifest_sha256: str
    """sha256 of ``manifest.json``: the one hash the function pins (the manifest pins every other file)."""
    file_sha256: dict[str, str]
    """Every uploaded file -> its sha256, ``manifest.json`` included; recorded in the template."""
    size_bytes: int

    @property
    def name(self) -> str:
        """The model's name."""
        return self.manifest.name

    @property
    def version(self) -> str:
        """The deployed artifact version."""
        return self.manifest.version

    @property
    def prefix(self) -> str:
        """The artifact's S3 key prefix, ``models/<name>/<version>/``."""
        return artifact_prefix(self.name, self.version)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as stream:
        for chunk in iter(lambda: stream.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _read_built(manifest: Manifest, artifact_dir: Path, build_command: str) -> BuiltManifest:
    manifest_path = artifact_dir / MANIFEST_JSON
    if not manifest_path.is_file():
        raise ArtifactError(
            f"model `{manifest.name}` version {manifest.version} is not built ({manifest_path} is missing); "
            f"run `{build_command} {manifest.name}`"
        )
    try:
        built = BuiltManifest.model_validate_json(manifest_path.read_bytes())
    except ValidationError as exc:
        raise ArtifactError(
            f"{format_validation_error(manifest_path, exc)}\nrebuild it: `{build_command} {manifest.name} --force`"
        ) from None
    current = manifest.model_dump(include=set(ARTIFACT_FIELDS))
    if (built.name, built.version) != (manifest.name, manifest.version) or built.manifest.model_dump(
        include=set(ARTIFACT_FIELDS)
    ) != current:
        raise ArtifactError(
            f"{manifest_path} was built from a different model.yaml than models/{manifest.name}/model.yaml "
            f"(fields {', '.join(ARTIFACT_FIELDS)} or the version differ); run `{build_command} {manifest.name}`"
        )
    return built


def load_deployed_model(
    manifest_path: Path, *, build_dir: Path, build_command: str = "modelrail build"
) -> DeployedModel:
    """Validate one manifest and verify every file of its artifact against ``manifest.json``."""
    manifest = load_manifest(manifest_path)
    artifact_dir = build_dir / manifest.name / manifest.version
    built = _read_built(manifest, artifact_dir, build_command)
    hashes = {MANIFEST_JSON: _sha256(artifact_dir / MANIFEST_JSON)}
    size = (artifact_dir / MANIFEST_JSON).stat().st_size
    for file_name, entry in sorted(built.files.items()):
        path = artifact_dir / file_name
        actual = _sha256(path) if path.is_file() else None
        if actual != entry.sha256 or path.stat().st_size != entry.size:
            state = "is missing" if actual is None else "does not match the sha256/size manifest.json records"
            raise ArtifactError(
                f"{path} {state}: the artifact is incomplete or was changed after the build; "
                f"run `{build_command} {manifest.name} --force`"
            )
        hashes[file_name] = actual
        size += entry.size
    return DeployedModel(
        manifest=manifest,
        artifact_dir=artifact_dir,
        manifest_sha256=hashes[MANIFEST_JSON],
        file_sha256=hashes,
        size_bytes=size,
    )


def load_deployed_models(
    *, models_dir: Path, build_dir: Path, names: Sequence[str] | None = None, build_command: str = "modelrail build"
) -> list[DeployedModel]:
    """The models to deploy, sorted by name: all of ``models_dir``, or only ``names``."""
    found = discover_manifests(models_dir)
    if not found:
        raise ArtifactError(f"no models found: {models_dir} has no <name>/model.yaml")
    selected = sorted(found) if names is None else list(dict.fromkeys(names))
    unknown = [name for name in selected if name not in found]
    if unknown:
        raise ArtifactError(f"unknown model(s) {', '.join(unknown)}: {models_dir} has {', '.join(sorted(found))}")
    return [load_deployed_model(found[name], build_dir=build_dir, build_command=build_command) for name in selected]

"""The models a stack deploys: each manifest joined with its verified build artifact.

Synth refuses to deploy what ``modelrail build`` has not finished: a missing, incomplete, tampered or stale
artifact fails with the exact command that fixes it, so nothing half-written is ever uploaded. The check is
``modelrail.store.current.current_artifact``, the one ``modelrail push`` and ``modelrail local up`` make too.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from modelrail.constants import MANIFEST_JSON, artifact_prefix
from modelrail.manifest import Manifest, discover_manifests, load_manifest
from modelrail.store.current import ArtifactNotCurrentError, current_artifact


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


def load_deployed_model(
    manifest: Manifest, *, build_dir: Path, build_command: str = "modelrail build"
) -> DeployedModel:
    """Verify one model's artifact with the check push and local mode use too."""
    try:
        artifact = current_artifact(manifest, build_dir, build_command=build_command)
    except ArtifactNotCurrentError as exc:
        raise ArtifactError(str(exc)) from None
    files = artifact.manifest.files
    hashes = {MANIFEST_JSON: artifact.manifest_sha256} | {name: files[name].sha256 for name in sorted(files)}
    size = artifact.path(MANIFEST_JSON).stat().st_size + sum(entry.size for entry in files.values())
    return DeployedModel(
        manifest=manifest,
        artifact_dir=artifact.directory,
        manifest_sha256=artifact.manifest_sha256,
        file_sha256=hashes,
        size_bytes=size,
    )


def selected_manifests(*, models_dir: Path, names: Sequence[str] | None = None) -> list[Manifest]:
    """The validated manifests of the models to deploy, sorted by name: all of ``models_dir``, or only ``names``."""
    found = discover_manifests(models_dir)
    if not found:
        raise ArtifactError(f"no models found: {models_dir} has no <name>/model.yaml")
    selected = sorted(found) if names is None else list(dict.fromkeys(names))
    unknown = [name for name in selected if name not in found]
    if unknown:
        raise ArtifactError(f"unknown model(s) {', '.join(unknown)}: {models_dir} has {', '.join(sorted(found))}")
    return [load_manifest(found[name]) for name in selected]


def load_deployed_models(
    *, models_dir: Path, build_dir: Path, names: Sequence[str] | None = None, build_command: str = "modelrail build"
) -> list[DeployedModel]:
    """The models to deploy, sorted by name, each with its verified artifact."""
    return [
        load_deployed_model(manifest, build_dir=build_dir, build_command=build_command)
        for manifest in selected_manifests(models_dir=models_dir, names=names)
    ]

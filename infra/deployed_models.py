"""The models a stack deploys: each manifest joined with the verified artifact of every version it serves.

Synth refuses to deploy what ``modelrail build`` has not finished: a missing, incomplete, tampered or stale
artifact fails with the exact command that fixes it, so nothing half-written is ever uploaded. The check is
``modelrail.store.current.served_artifacts`` (the manifest's own version through ``current_artifact``, the one
``modelrail push`` and ``modelrail local up`` make too; older served versions by identity, target and file hashes).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from modelrail.constants import MANIFEST_JSON, artifact_prefix
from modelrail.contract.releases import ReleasePlan, release_plan
from modelrail.manifest import Canary, Manifest, discover_manifests, load_manifest
from modelrail.store.artifact import Artifact
from modelrail.store.current import ArtifactNotCurrentError, served_artifacts


class ArtifactError(ValueError):
    """A model selected for deployment has no complete, current build artifact."""


@dataclass(frozen=True)
class ServedVersion:
    """One served version's verified artifact, as uploaded to ``models/<name>/<version>/``."""

    name: str
    version: str
    artifact_dir: Path
    manifest_sha256: str
    """sha256 of ``manifest.json``: the one hash the runtime pins (the manifest pins every other file)."""
    file_sha256: dict[str, str]
    """Every uploaded file -> its sha256, ``manifest.json`` included; recorded in the template."""
    size_bytes: int

    @property
    def prefix(self) -> str:
        """The artifact's S3 key prefix, ``models/<name>/<version>/``."""
        return artifact_prefix(self.name, self.version)


def _served_version(name: str, version: str, artifact: Artifact) -> ServedVersion:
    files = artifact.manifest.files
    hashes = {MANIFEST_JSON: artifact.manifest_sha256} | {file: files[file].sha256 for file in sorted(files)}
    size = artifact.path(MANIFEST_JSON).stat().st_size + sum(entry.size for entry in files.values())
    return ServedVersion(
        name=name,
        version=version,
        artifact_dir=artifact.directory,
        manifest_sha256=artifact.manifest_sha256,
        file_sha256=hashes,
        size_bytes=size,
    )


@dataclass(frozen=True)
class DeployedModel:
    """One model as the stack deploys it: every served version, which one is live, and the canary if any.

    ``prefix``, ``manifest_sha256``, ``file_sha256``, ``artifact_dir`` and ``size_bytes`` describe the manifest's
    own ``version`` (the one ``modelrail build`` builds); ``served`` holds every served version, in the manifest's
    order.
    """

    manifest: Manifest
    served: dict[str, ServedVersion]

    @property
    def name(self) -> str:
        """The model's name."""
        return self.manifest.name

    @property
    def version(self) -> str:
        """The manifest's own (most recently built) version."""
        return self.manifest.version

    @property
    def live_version(self) -> str:
        """The version unversioned routes answer from, outside a canary's share."""
        return self.manifest.live_version

    @property
    def canary(self) -> Canary | None:
        """The canary, if the manifest sets one (a 0% canary is reachable on its pinned routes only)."""
        return self.manifest.canary

    @property
    def plan(self) -> ReleasePlan:
        """The split of unversioned traffic (``modelrail.contract.releases``, the rule local mode follows too)."""
        return release_plan(self.manifest)

    @property
    def rollout(self) -> Canary | None:
        """The canary when it takes a share (percent > 0) of unversioned traffic: what CodeDeploy shifts."""
        return self.manifest.canary if self.plan.splits else None

    @property
    def default_version(self) -> str:
        """What the function's current configuration answers unversioned routes with: the rolling-out canary's
        version, else the live version (see ``infra/constructs/onnx_function.py`` for why)."""
        return self.plan.current_default

    @property
    def own(self) -> ServedVersion:
        """The manifest's own version's artifact."""
        return self.served[self.version]

    @property
    def prefix(self) -> str:
        """The manifest's own version's S3 key prefix, ``models/<name>/<version>/``."""
        return self.own.prefix

    @property
    def manifest_sha256(self) -> str:
        """sha256 of the manifest's own version's ``manifest.json``."""
        return self.own.manifest_sha256

    @property
    def file_sha256(self) -> dict[str, str]:
        """The manifest's own version's files -> sha256."""
        return self.own.file_sha256

    @property
    def artifact_dir(self) -> Path:
        """The manifest's own version's build directory."""
        return self.own.artifact_dir

    @property
    def size_bytes(self) -> int:
        """Size of the manifest's own version's artifact."""
        return self.own.size_bytes

    @property
    def served_bytes(self) -> int:
        """Size of every served version's artifact together (a function may hold them all in ``/tmp``)."""
        return sum(served.size_bytes for served in self.served.values())


def load_deployed_model(
    manifest: Manifest, *, build_dir: Path, build_command: str = "modelrail build"
) -> DeployedModel:
    """Verify every served version's artifact with the check push and local mode use too."""
    try:
        artifacts = served_artifacts(manifest, build_dir, build_command=build_command)
    except ArtifactNotCurrentError as exc:
        raise ArtifactError(str(exc)) from None
    return DeployedModel(
        manifest=manifest,
        served={version: _served_version(manifest.name, version, art) for version, art in artifacts.items()},
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

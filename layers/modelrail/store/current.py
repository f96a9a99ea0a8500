"""The one answer to "is this built artifact current and intact for this manifest?".

``modelrail build`` (whether to skip), ``modelrail push``, ``cdk synth`` (``infra/deployed_models.py``) and
``modelrail local up`` all ask it here, so an artifact built from an older ``model.yaml`` is stale for every one
of them. Current means: ``build/models/<name>/<version>/manifest.json`` exists and is valid, it was built from
the same model part of ``model.yaml`` (``Manifest.model``, version included) for the same ``deploy.target``,
and every file it lists has its recorded sha256 and size. Deployment settings (memory, concurrency, instance
type, ...) are not part of the artifact, so changing them never makes it stale.
"""

from __future__ import annotations

from collections.abc import Callable
from enum import StrEnum
from pathlib import Path
from typing import Any

from modelrail.constants import MANIFEST_JSON, MANIFEST_YAML
from modelrail.errors import ModelUnavailableError
from modelrail.manifest import BuiltManifest, Manifest
from modelrail.store.artifact import Artifact, check_manifest_sha256, parse_built_manifest, verify_file

BUILD_COMMAND = "modelrail build"


class Staleness(StrEnum):
    """Why an artifact cannot be used as it is."""

    MISSING = "missing"
    """Never built at this version."""
    INVALID = "invalid"
    """``manifest.json`` is unreadable or of an older format."""
    STALE = "stale"
    """Built from a different model part of ``model.yaml``, or for another target."""
    CORRUPT = "corrupt"
    """A file is missing or differs from the sha256/size ``manifest.json`` records."""


class ArtifactNotCurrentError(Exception):
    """The artifact is missing, stale or damaged; the message names the model and the command that rebuilds it."""

    def __init__(self, message: str, *, reason: Staleness, name: str, command: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.name = name
        self.command = command


def _differences(built: BuiltManifest, manifest: Manifest) -> list[str]:
    """The model fields (and target) that differ between the artifact and ``model.yaml``."""
    was: dict[str, Any] = built.model.model_dump(mode="json")
    now: dict[str, Any] = manifest.model.model_dump(mode="json")
    fields = [key for key in now if was.get(key) != now[key]]
    if built.target is not manifest.deploy.target:
        fields.append("deploy.target")
    return fields


def current_artifact(manifest: Manifest, build_dir: Path, *, build_command: str = BUILD_COMMAND) -> Artifact:
    """The verified artifact at ``build_dir/<name>/<version>/``, if it is current and intact for ``manifest``.

    Raises:
        ArtifactNotCurrentError: with the reason and the exact command that makes it current.
    """
    name, version = manifest.name, manifest.version
    directory = build_dir / name / version
    manifest_path = directory / MANIFEST_JSON
    command = f"{build_command} {name}"

    def refuse(reason: Staleness, detail: str) -> ArtifactNotCurrentError:
        return ArtifactNotCurrentError(
            f"model `{name}` version {version} {detail}; run `{command}`", reason=reason, name=name, command=command
        )

    def stale_because(built: BuiltManifest) -> str | None:
        changed = _differences(built, manifest)
        if not changed:
            return None
        return (
            f"is stale: {manifest_path} was built from a different models/{name}/{MANIFEST_YAML} "
            f"({', '.join(f'`{field}`' for field in changed)} changed since)"
        )

    return _verified_artifact(directory, name, version, refuse, mismatch="is stale", stale_because=stale_because)


def served_artifacts(manifest: Manifest, build_dir: Path, *, build_command: str = BUILD_COMMAND) -> dict[str, Artifact]:
    """Every version ``deploy.releases.served`` lists -> its verified artifact, in the manifest's order.

    The manifest's own ``version`` must be current (``current_artifact``). An older served version was built from
    an earlier ``model.yaml``, so it is checked for what can still be checked: it exists at
    ``build_dir/<name>/<version>/``, names this model and version, was built for this ``deploy.target``, and every
    file matches its recorded sha256 and size. (Versions are immutable: ``modelrail push`` refuses other bytes
    under a version already in the bucket.)
    """
    found: dict[str, Artifact] = {}
    for version in manifest.served_versions:
        if version == manifest.version:
            found[version] = current_artifact(manifest, build_dir, build_command=build_command)
            continue
        found[version] = _older_artifact(manifest, version, build_dir)
    return found


def _older_artifact(manifest: Manifest, version: str, build_dir: Path) -> Artifact:
    name = manifest.name
    directory = build_dir / name / version
    command = (
        f"set `version: {version}` in models/{name}/{MANIFEST_YAML} as it was built, and run `{BUILD_COMMAND} {name}`"
    )

    def refuse(reason: Staleness, detail: str) -> ArtifactNotCurrentError:
        return ArtifactNotCurrentError(
            f"model `{name}` served version {version} {detail} (it is listed in `deploy.releases.served`); "
            f"build it again ({command}) or remove it from `served`",
            reason=reason,
            name=name,
            command=command,
        )

    def stale_because(built: BuiltManifest) -> str | None:
        if built.target is manifest.deploy.target and built.task is manifest.task:
            return None
        return (
            f"was built as a {built.task.value} model for `{built.target.value}`, not {manifest.task.value} for "
            f"`{manifest.deploy.target.value}`"
        )

    return _verified_artifact(directory, name, version, refuse, mismatch="is wrong", stale_because=stale_because)


def _verified_artifact(
    directory: Path,
    name: str,
    version: str,
    refuse: Callable[[Staleness, str], ArtifactNotCurrentError],
    *,
    mismatch: str,
    stale_because: Callable[[BuiltManifest], str | None],
) -> Artifact:
    """Read ``directory``'s manifest.json, check it names ``name`` ``version`` and passes ``stale_because``, and
    verify every file it lists; each failure is ``refuse(reason, detail)``."""
    manifest_path = directory / MANIFEST_JSON
    try:
        data = manifest_path.read_bytes()
    except FileNotFoundError:
        raise refuse(Staleness.MISSING, f"is not built ({manifest_path} is missing)") from None
    except OSError as exc:
        raise refuse(Staleness.INVALID, f"cannot be read: {manifest_path}: {exc.strerror}") from None
    sha256 = check_manifest_sha256(data, expected=None, where=str(manifest_path))
    try:
        built = parse_built_manifest(data, where=str(manifest_path))
    except ModelUnavailableError as exc:
        raise refuse(Staleness.INVALID, f"is unusable: {exc.message.partition('; rebuild')[0]}") from None
    if (built.name, built.version) != (name, version):
        raise refuse(Staleness.STALE, f"{mismatch}: {manifest_path} holds {built.name} version {built.version}")
    detail = stale_because(built)
    if detail is not None:
        raise refuse(Staleness.STALE, detail)
    for file_name, entry in sorted(built.files.items()):
        try:
            verify_file(directory / file_name, entry, where=str(directory / file_name))
        except ModelUnavailableError as exc:
            raise refuse(Staleness.CORRUPT, f"is damaged: {exc.message.partition(';')[0]}") from None
    return Artifact(directory=directory, manifest=built, manifest_sha256=sha256, location=str(directory))

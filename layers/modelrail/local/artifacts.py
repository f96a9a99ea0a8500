"""The models local mode serves: each ``model.yaml`` with a current, verified build, (re)building the others first.

Current means what ``cdk synth`` and ``modelrail push`` mean (``modelrail.store.current``): an artifact built
from an older ``model.yaml`` is never served. Older versions that ``deploy.releases.served`` lists are served as
they were built, once verified (``served_artifacts``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from modelrail import constants as c
from modelrail.local.deployment import DeploymentError, LocalModel
from modelrail.manifest import Manifest, ManifestError, discover_manifests, load_manifest
from modelrail.store.current import ArtifactNotCurrentError, current_artifact, served_artifacts


def load_manifests(names: Sequence[str], *, models_dir: Path) -> list[Manifest]:
    """The named models' manifests (all of ``models_dir`` when none are named), sorted by name."""
    found = discover_manifests(models_dir)
    if not found:
        raise DeploymentError(f"no models found: {models_dir} has no */{c.MANIFEST_YAML}")
    unknown = [name for name in names if name not in found]
    if unknown:
        raise DeploymentError(f"no model {', '.join(unknown)} in {models_dir}; models there: {', '.join(found)}")
    try:
        return [load_manifest(found[name]) for name in (sorted(set(names)) if names else found)]
    except ManifestError as exc:
        raise DeploymentError(str(exc)) from None


def _check(manifests: Sequence[Manifest], build_dir: Path) -> dict[str, ArtifactNotCurrentError]:
    """Model name -> why its artifact cannot be served as it is, for each that is not current and intact."""
    found: dict[str, ArtifactNotCurrentError] = {}
    for manifest in manifests:
        try:
            current_artifact(manifest, build_dir)
        except ArtifactNotCurrentError as exc:
            found[manifest.name] = exc
    return found


def build_stale(
    manifests: Sequence[Manifest], *, models_dir: Path, build_dir: Path, say: Callable[[str], None]
) -> None:
    """Rebuild every model whose artifact is missing, stale or damaged (the check synth and push make too).

    Each one gets a line saying why, with the command that would do the same by hand; the build's own progress
    lines follow.
    """
    not_current = _check(manifests, build_dir)
    if not not_current:
        return
    for exc in not_current.values():
        say(f"{exc}; building it now")
    try:
        from modelrail.builder import BuildError, build_models
    except ModuleNotFoundError as exc:
        reasons = "\n".join(str(reason) for reason in not_current.values())
        raise DeploymentError(
            f"{reasons}\nbuilding needs the `build` extra ({exc.name} is missing): pip install -e 'layers[build]', "
            f"or build elsewhere and copy {build_dir}"
        ) from None
    try:
        build_models(list(not_current), models_dir=models_dir, build_dir=build_dir)
    except (BuildError, ManifestError) as exc:
        raise DeploymentError(f"build failed:\n{exc}") from None


def resolve_models(
    names: Sequence[str], *, models_dir: Path, build_dir: Path, say: Callable[[str], None]
) -> list[LocalModel]:
    """Manifests plus the artifacts of every version they serve, current and intact, (re)building the others first."""
    manifests = load_manifests(names, models_dir=models_dir)
    build_stale(manifests, models_dir=models_dir, build_dir=build_dir, say=say)
    models = []
    for manifest in manifests:
        try:
            artifacts = served_artifacts(manifest, build_dir)
        except ArtifactNotCurrentError as exc:  # e.g. changed again while it was being built, or an old one gone
            raise DeploymentError(str(exc)) from None
        models.append(LocalModel(manifest=manifest, artifacts=artifacts))
    return models

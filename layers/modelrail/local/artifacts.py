"""The models local mode serves: each ``model.yaml`` with its verified build, building what is missing first."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from modelrail import constants as c
from modelrail.errors import ModelrailError
from modelrail.local.deployment import DeploymentError, LocalModel
from modelrail.manifest import Manifest, ManifestError, discover_manifests, load_manifest


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


def build_missing(
    manifests: Sequence[Manifest], *, models_dir: Path, build_dir: Path, say: Callable[[str], None]
) -> None:
    """Run ``modelrail build`` for every model whose current version has no artifact yet (its progress shows)."""
    missing = [m.name for m in manifests if not (build_dir / m.name / m.version / c.MANIFEST_JSON).is_file()]
    if not missing:
        return
    say(f"not built yet: {', '.join(missing)}; building them first (modelrail build {' '.join(missing)})")
    try:
        from modelrail.builder import BuildError, build_models
    except ModuleNotFoundError as exc:
        raise DeploymentError(
            f"building needs the `build` extra ({exc.name} is missing): pip install -e 'layers[build]', "
            f"or build elsewhere and copy {build_dir}"
        ) from None
    try:
        build_models(missing, models_dir=models_dir, build_dir=build_dir)
    except (BuildError, ManifestError) as exc:
        raise DeploymentError(f"build failed:\n{exc}") from None


def resolve_models(
    names: Sequence[str], *, models_dir: Path, build_dir: Path, say: Callable[[str], None]
) -> list[LocalModel]:
    """Manifests plus verified artifacts, building missing ones first."""
    from modelrail.store.local_dir import load_local_dir

    manifests = load_manifests(names, models_dir=models_dir)
    build_missing(manifests, models_dir=models_dir, build_dir=build_dir, say=say)
    models = []
    for manifest in manifests:
        directory = build_dir / manifest.name / manifest.version
        try:
            artifact = load_local_dir(directory, manifest_sha256=None)
        except ModelrailError as exc:
            raise DeploymentError(f"{exc.message}; rebuild it: modelrail build {manifest.name} --force") from None
        models.append(LocalModel(manifest=manifest, artifact=artifact))
    return models

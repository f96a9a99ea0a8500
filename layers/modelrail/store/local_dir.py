"""Artifact source: a local directory (local mode, tests, SageMaker's /opt/ml/model)."""

from __future__ import annotations

from pathlib import Path

from modelrail.constants import MANIFEST_JSON
from modelrail.errors import ModelUnavailableError
from modelrail.store.artifact import Artifact, check_manifest_sha256, parse_built_manifest, verify_file


def load_local_dir(directory: Path, *, manifest_sha256: str | None) -> Artifact:
    """Verify a built artifact directory in place: the manifest (against a pinned sha256, if any), then every file."""
    manifest_path = directory / MANIFEST_JSON
    try:
        data = manifest_path.read_bytes()
    except FileNotFoundError:
        raise ModelUnavailableError(
            f"{manifest_path} does not exist; point MODELRAIL_MODEL_DIR at a built artifact "
            "(build/models/<name>/<version>, made by `modelrail build`)"
        ) from None
    except OSError as exc:
        raise ModelUnavailableError(f"{manifest_path} cannot be read: {exc.strerror}") from None
    sha = check_manifest_sha256(data, expected=manifest_sha256, where=str(manifest_path))
    manifest = parse_built_manifest(data, where=str(manifest_path))
    for name, entry in sorted(manifest.files.items()):
        verify_file(directory / name, entry, where=str(directory / name))
    return Artifact(directory=directory, manifest=manifest, manifest_sha256=sha, location=str(directory))

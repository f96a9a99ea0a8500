"""The model store: where an artifact comes from (S3 or a local directory) and how it is verified."""

from __future__ import annotations

from typing import TYPE_CHECKING

from modelrail.constants import ENV_MANIFEST_SHA256, ENV_MODEL_BUCKET, ENV_MODEL_DIR, ENV_MODEL_PREFIX
from modelrail.deadline import Deadline
from modelrail.errors import ModelUnavailableError
from modelrail.settings import Settings
from modelrail.store.artifact import Artifact, ArtifactIntegrityError
from modelrail.store.local_dir import load_local_dir
from modelrail.store.s3 import RetryPolicy, S3ArtifactSource

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["Artifact", "ArtifactIntegrityError", "RetryPolicy", "S3ArtifactSource", "fetch_artifact"]


def fetch_artifact(
    settings: Settings, *, s3_client: S3Client | None = None, deadline: Deadline | None = None
) -> Artifact:
    """Fetch and verify the artifact the settings name: a local directory if set, else S3 (through ``s3_client``),
    giving up at ``deadline`` (default: the settings' fetch budget from now)."""
    if settings.model_dir is not None:
        return load_local_dir(settings.model_dir, manifest_sha256=settings.manifest_sha256)
    prefix = settings.resolved_prefix
    if settings.model_bucket and prefix and settings.manifest_sha256:
        source = S3ArtifactSource(
            bucket=settings.model_bucket,
            prefix=prefix,
            manifest_sha256=settings.manifest_sha256,
            cache_dir=settings.cache_dir,
            client=s3_client,
            budget_s=settings.resolved_fetch_budget_s,
        )
        return source.fetch(deadline)
    raise ModelUnavailableError(
        f"no model source configured: set {ENV_MODEL_DIR} (a built artifact directory), or {ENV_MODEL_BUCKET} + "
        f"{ENV_MANIFEST_SHA256} (+ {ENV_MODEL_PREFIX}, default models/<name>/<version>/)"
    )

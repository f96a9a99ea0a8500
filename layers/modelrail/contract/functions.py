"""What each piece of compute gets, in the cloud and in local mode alike: code path, memory, timeout, environment.

``infra/constructs`` sets these on the Lambda functions and the SageMaker model; ``modelrail.local.deployment``
starts the same handlers with the same environment. Local mode adds only what the cloud provides by itself
(Lambda's own variables, a scratch ``/tmp``, the embedded S3's endpoint).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from typing import Final, Protocol

from modelrail import constants as c
from modelrail.contract.auth import AuthMode

LAMBDA_HANDLER: Final = "functions/lambda_inference/handler.py:handler"
"""The model function's handler (its image's ``CMD``, ``functions/lambda_inference/Dockerfile``)."""
LAMBDA_ZIP_HANDLER: Final = LAMBDA_HANDLER.rsplit("/", 1)[1].replace(".py:", ".")
"""The same handler in Lambda's ``module.function`` form, at the root of a zip package (``modelrail.lambda_zip``)."""
SAGEMAKER_APP: Final = "functions/sagemaker_inference/serve.py:app"
"""The GPU container's ASGI app (its image's ``ENTRYPOINT``)."""
CATALOG_CODE_DIR: Final = "functions/catalog"
"""The catalog function's zip code, from the repository root."""
CATALOG_HANDLER: Final = "handler.handler"
"""The catalog function's handler in Lambda's ``module.function`` form, inside ``CATALOG_CODE_DIR``."""
CATALOG_HANDLER_FILE: Final = f"{CATALOG_CODE_DIR}/{CATALOG_HANDLER.replace('.', '.py:')}"
"""The same handler as ``file:function`` (how local mode names a handler)."""
CATALOG_MEMORY_MB: Final = 256
CATALOG_TIMEOUT_S: Final = 10
GPU_PROVIDERS: Final = "CUDAExecutionProvider,CPUExecutionProvider"
"""ONNX Runtime providers of a GPU container; it falls back to the CPU provider where no GPU exists."""


class BuiltArtifact(Protocol):
    """One artifact in the model bucket (the stack's ``DeployedModel``, local mode's ``PushedArtifact``)."""

    @property
    def name(self) -> str:
        """The model's name."""

    @property
    def version(self) -> str:
        """The model's version."""

    @property
    def prefix(self) -> str:
        """The artifact's S3 key prefix."""

    @property
    def manifest_sha256(self) -> str:
        """sha256 of its ``manifest.json``, which pins every other file."""


def _model_env(artifact: BuiltArtifact, metrics_namespace: str) -> dict[str, str]:
    return {
        c.ENV_MODEL_NAME: artifact.name,
        c.ENV_MODEL_VERSION: artifact.version,
        c.ENV_MANIFEST_SHA256: artifact.manifest_sha256,
        c.ENV_METRICS_NAMESPACE: metrics_namespace,
    }


def served_versions_env(artifacts: Sequence[BuiltArtifact]) -> str:
    """``MODELRAIL_SERVED_VERSIONS``: version -> its artifact's prefix and manifest sha256, as compact JSON."""
    document = {
        artifact.version: {"prefix": artifact.prefix, "manifest_sha256": artifact.manifest_sha256}
        for artifact in artifacts
    }
    return json.dumps(document, separators=(",", ":"))


def model_function_env(
    artifacts: Sequence[BuiltArtifact], *, default_version: str, bucket: str, metrics_namespace: str, timeout_s: int
) -> dict[str, str]:
    """The environment of a CPU model's Lambda function: every served version's artifact (pinned routes), the one
    unversioned routes answer from (``default_version``), and its limits.

    ``MODELRAIL_MODEL_VERSION``, ``MODELRAIL_MODEL_PREFIX`` and ``MODELRAIL_MANIFEST_SHA256`` name the default
    version; ``MODELRAIL_SERVED_VERSIONS`` all of them (``served_versions_env``). A function version whose default
    is the canary's version differs from the live one in those three variables only.

    Raises:
        ValueError: no artifacts, artifacts of several models, a version twice, or a default that is not served.
    """
    by_version = {artifact.version: artifact for artifact in artifacts}
    names = {artifact.name for artifact in artifacts}
    if len(names) != 1 or len(by_version) != len(artifacts):
        raise ValueError(f"one model's artifacts, each version once, are needed; got {sorted(by_version)} of {names}")
    default = by_version.get(default_version)
    if default is None:
        raise ValueError(f"default version {default_version!r} is not among the served {sorted(by_version)}")
    return {
        **_model_env(default, metrics_namespace),
        c.ENV_MODEL_BUCKET: bucket,
        c.ENV_MODEL_PREFIX: default.prefix,
        c.ENV_SERVED_VERSIONS: served_versions_env(artifacts),
        c.ENV_MAX_REQUEST_BYTES: str(c.LAMBDA_MAX_REQUEST_BYTES),
        # Lambda does not tell a function its own timeout; the model fetch's deadline is derived from it.
        c.ENV_FUNCTION_TIMEOUT_S: str(timeout_s),
    }


def gpu_container_env(
    artifact: BuiltArtifact, *, model_dir: str, metrics_namespace: str, require_cuda: bool
) -> dict[str, str]:
    """The environment of a GPU model's SageMaker container, one model version per container (a production variant
    per served version); SageMaker copies the artifact to ``model_dir``.

    ``require_cuda``: fail closed, a CUDA provider that cannot start fails ``/ping`` (unless the manifest opts in
    to ``cpu_fallback``; local mode runs the container on the CPU provider by design).
    """
    return {
        **_model_env(artifact, metrics_namespace),
        c.ENV_MODEL_DIR: model_dir,
        c.ENV_PROVIDERS: GPU_PROVIDERS,
        c.ENV_REQUIRE_CUDA: "true" if require_cuda else "false",
    }


def catalog_key(revision: str) -> str:
    """The model list's key in the model bucket; ``revision`` changes whenever the list does."""
    return f"{c.CATALOG_KEY_PREFIX}models-{revision}.json"


def catalog_revision(document: object) -> str:
    """A short hash of the model list as the deployer writes it (in the stack: its template form)."""
    text = json.dumps(document, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def catalog_env(*, bucket: str, key: str, auth: AuthMode) -> dict[str, str]:
    """The catalog function's environment: where the deployed-model list is (JSON of ``catalog_entry`` dicts, in
    the model bucket) and the auth mode."""
    return {c.ENV_CATALOG_BUCKET: bucket, c.ENV_CATALOG_KEY: key, c.ENV_API_AUTH: auth.value}

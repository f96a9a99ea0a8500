"""The serving process's configuration: one typed object, read from the environment once.

Env names come from ``constants.py`` (the CDK stacks set the same names). An explicit keyword argument
beats the environment: ``Settings(model_dir="build/models/digits/1")``. A plain pydantic model reads the
few variables itself: pydantic-settings cost a cold start 20 to 80 ms of imports for the same result.
"""

from __future__ import annotations

import json
import math
import os
from functools import cache
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, field_validator, model_validator

from modelrail import constants as c
from modelrail.routes import SERVED_VERSION, normalize_base_path

LAMBDA_MB_PER_VCPU = 1769
"""Lambda allots one vCPU per 1,769 MB of memory (up to 6 vCPUs at 10,240 MB)."""


class ServedVersion(BaseModel):
    """Where one served version's artifact is and the sha256 that pins it (``MODELRAIL_SERVED_VERSIONS``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    prefix: str = Field(min_length=1)
    manifest_sha256: str = Field(pattern=r"^[0-9a-f]{64}$")


def _env(name: str, field: str) -> AliasChoices:
    # The env name for reading the environment; the field name so `Settings(model_dir=...)` works too.
    return AliasChoices(name, field)


class Settings(BaseModel):
    """Everything a serving process reads from its environment."""

    model_config = ConfigDict(extra="ignore", frozen=True, populate_by_name=True)

    model_name: str | None = Field(default=None, validation_alias=_env(c.ENV_MODEL_NAME, "model_name"))
    model_version: str | None = Field(default=None, validation_alias=_env(c.ENV_MODEL_VERSION, "model_version"))
    model_bucket: str | None = Field(default=None, validation_alias=_env(c.ENV_MODEL_BUCKET, "model_bucket"))
    model_prefix: str | None = Field(default=None, validation_alias=_env(c.ENV_MODEL_PREFIX, "model_prefix"))
    manifest_sha256: str | None = Field(
        default=None, pattern=r"^[0-9a-f]{64}$", validation_alias=_env(c.ENV_MANIFEST_SHA256, "manifest_sha256")
    )
    served_versions: dict[Annotated[str, Field(pattern=SERVED_VERSION.pattern)], ServedVersion] | None = Field(
        default=None, validation_alias=_env(c.ENV_SERVED_VERSIONS, "served_versions")
    )
    """Every version the pinned routes answer (``contract.functions.served_versions_env``); None: the default alone."""
    model_dir: Path | None = Field(default=None, validation_alias=_env(c.ENV_MODEL_DIR, "model_dir"))
    cache_dir: Path = Field(default=Path(c.DEFAULT_CACHE_DIR), validation_alias=_env(c.ENV_CACHE_DIR, "cache_dir"))
    intra_op_threads: int | None = Field(
        default=None, ge=1, le=256, validation_alias=_env(c.ENV_INTRA_OP_THREADS, "intra_op_threads")
    )
    inter_op_threads: int = Field(
        default=1, ge=1, le=64, validation_alias=_env(c.ENV_INTER_OP_THREADS, "inter_op_threads")
    )
    providers: list[str] | None = Field(default=None, validation_alias=_env(c.ENV_PROVIDERS, "providers"))
    require_cuda: bool = Field(default=False, validation_alias=_env(c.ENV_REQUIRE_CUDA, "require_cuda"))
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", validation_alias=_env(c.ENV_LOG_LEVEL, "log_level")
    )
    metrics_namespace: str = Field(
        default=c.DEFAULT_METRICS_NAMESPACE, validation_alias=_env(c.ENV_METRICS_NAMESPACE, "metrics_namespace")
    )
    cors_origin: str | None = Field(default=None, validation_alias=_env(c.ENV_CORS_ORIGIN, "cors_origin"))
    api_base_path: str | None = Field(default=None, validation_alias=_env(c.ENV_API_BASE_PATH, "api_base_path"))
    """``/prod`` when a custom domain maps this API under ``prod`` (``routes.normalize_base_path``)."""
    max_request_bytes: int = Field(
        default=c.LAMBDA_MAX_REQUEST_BYTES, ge=1, validation_alias=_env(c.ENV_MAX_REQUEST_BYTES, "max_request_bytes")
    )
    function_timeout_s: float | None = Field(
        default=None, gt=0, le=900, validation_alias=_env(c.ENV_FUNCTION_TIMEOUT_S, "function_timeout_s")
    )
    fetch_budget_s: float | None = Field(
        default=None, gt=0, le=900, validation_alias=_env(c.ENV_FETCH_BUDGET_S, "fetch_budget_s")
    )
    lambda_memory_mb: int | None = Field(
        default=None, ge=128, validation_alias=_env(c.ENV_LAMBDA_FUNCTION_MEMORY_SIZE, "lambda_memory_mb")
    )
    lambda_function_name: str | None = Field(
        default=None, validation_alias=_env(c.ENV_LAMBDA_FUNCTION_NAME, "lambda_function_name")
    )

    @model_validator(mode="before")
    @classmethod
    def _read_environment(cls, data: Any) -> Any:
        # Explicit arguments (by field or env name) first, then the environment, then the defaults; values
        # keyed by env name, so a validation error names the variable to fix.
        if not isinstance(data, dict):
            return data
        merged = dict(data)
        for name, field in cls.model_fields.items():
            env_name = _env_name(field.validation_alias)
            if env_name is not None and name not in data and env_name not in data and env_name in os.environ:
                merged[env_name] = os.environ[env_name]
        return merged

    @field_validator("providers", mode="before")
    @classmethod
    def _split_providers(cls, value: object) -> object:
        if isinstance(value, str):
            return [part.strip() for part in value.split(",") if part.strip()] or None
        return value

    @field_validator("served_versions", mode="before")
    @classmethod
    def _parse_served_versions(cls, value: object) -> object:
        if isinstance(value, str):
            try:
                return json.loads(value) if value.strip() else None
            except json.JSONDecodeError as exc:
                raise ValueError(f"not JSON: {exc}") from None
        return value

    @model_validator(mode="after")
    def _default_is_served(self) -> Settings:
        if self.served_versions is not None and self.model_version not in self.served_versions:
            raise ValueError(
                f"{c.ENV_MODEL_VERSION} ({self.model_version}) must be one of the versions in {c.ENV_SERVED_VERSIONS} "
                f"({', '.join(self.served_versions)})"
            )
        return self

    @field_validator("api_base_path", mode="before")
    @classmethod
    def _base_path(cls, value: object) -> object:
        return normalize_base_path(value) if isinstance(value, str) else value

    @field_validator("log_level", mode="before")
    @classmethod
    def _upper_level(cls, value: object) -> object:
        return value.upper() if isinstance(value, str) else value

    @property
    def on_lambda(self) -> bool:
        """Whether this process is a Lambda function."""
        return self.lambda_function_name is not None

    @property
    def resolved_prefix(self) -> str | None:
        """The S3 prefix of the artifact: explicit, else ``models/<name>/<version>/``."""
        if self.model_prefix:
            return self.model_prefix if self.model_prefix.endswith("/") else self.model_prefix + "/"
        if self.model_name and self.model_version:
            return c.artifact_prefix(self.model_name, self.model_version)
        return None

    @property
    def versions(self) -> list[str] | None:
        """The versions this process serves on pinned routes, in the deployment's order; None when it is not told (a
        model directory alone: the artifact's own version is the one)."""
        if self.served_versions is not None:
            return list(self.served_versions)
        return [self.model_version] if self.model_version is not None else None

    def for_version(self, version: str) -> Settings:
        """These settings for another served version: its artifact location and pinned sha256."""
        if self.served_versions is None or version not in self.served_versions:
            raise KeyError(version)
        served = self.served_versions[version]
        return self.model_copy(
            update={"model_version": version, "model_prefix": served.prefix, "manifest_sha256": served.manifest_sha256}
        )

    @property
    def resolved_fetch_budget_s(self) -> float:
        """Seconds one request may spend fetching the model: explicit, else derived from the function timeout."""
        from modelrail.deadline import fetch_budget_s

        return self.fetch_budget_s or fetch_budget_s(self.function_timeout_s)

    @property
    def after_fetch_reserve_s(self) -> float:
        """Seconds a request keeps for what follows the fetch (session build, inference, answer)."""
        from modelrail.deadline import after_fetch_reserve_s

        return after_fetch_reserve_s(self.function_timeout_s) if self.function_timeout_s else 0.0

    @property
    def resolved_intra_op_threads(self) -> int:
        """Intra-op threads: the explicit setting, else the vCPUs this process may really use."""
        return self.intra_op_threads or available_vcpus(lambda_memory_mb=self.lambda_memory_mb)


def _env_name(alias: object) -> str | None:
    if isinstance(alias, AliasChoices) and isinstance(alias.choices[0], str):
        return alias.choices[0]
    return None


def _cgroup_cpu_limit(path: Path = Path("/sys/fs/cgroup/cpu.max")) -> float | None:
    """CPUs allowed by a cgroup v2 quota (containers, SageMaker), or None when unlimited or unknown."""
    try:
        quota, period = path.read_text(encoding="ascii").split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    try:
        return int(quota) / int(period)
    except (ValueError, ZeroDivisionError):
        return None


def available_vcpus(*, lambda_memory_mb: int | None) -> int:
    """vCPUs this process can use: Lambda's memory-based share, the CPU affinity and any cgroup quota.

    Lambda shows two cores to small functions but throttles them to ``memory / 1769`` vCPUs, so more
    threads than that only contend; the host's core count is never used on its own.
    """
    limits = [len(os.sched_getaffinity(0))]
    if lambda_memory_mb is not None:
        limits.append(max(1, round(lambda_memory_mb / LAMBDA_MB_PER_VCPU)))
    quota = _cgroup_cpu_limit()
    if quota is not None:
        limits.append(max(1, math.floor(quota)))
    return max(1, min(limits))


@cache
def get_settings() -> Settings:
    """The process-wide settings, read from the environment on first use."""
    return Settings()

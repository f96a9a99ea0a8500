"""The CDK app: the only place that reads context and environment.

``npx cdk synth`` runs this (see ``cdk.json``). Every setting has a default in ``cdk.json``; a missing or bad
one fails with the exact ``--context key=value`` that fixes it, and an invalid manifest or unbuilt model
fails with its own message, before any construct is made.
"""

from __future__ import annotations

import os
import sys

# jsii's Node process prints a banner about the Node version on start; silence it before it starts.
os.environ.setdefault("JSII_SILENCE_WARNING_DEPRECATED_NODE_VERSION", "1")
os.environ.setdefault("JSII_SILENCE_WARNING_END_OF_LIFE_NODE_VERSION", "20")

from collections.abc import Callable
from pathlib import Path
from typing import Any

import aws_cdk as cdk
from cdk_nag import AwsSolutionsChecks

from infra.constructs.custom_domain import CustomDomainSettings
from infra.constructs.inference_api import ApiLimits
from infra.constructs.jobs_api import JobEnvironmentError
from infra.constructs.onnx_function import PackagingError
from infra.deployed_models import ArtifactError, load_deployed_model, selected_manifests
from infra.releases import ReleaseNameError, ReleaseSettingError
from infra.stacks.modelrail_stack import (
    API_RESOURCES_QUOTA,
    RETENTION_CHOICES,
    ModelrailStack,
    ScaleLimitError,
    StageSettings,
)
from modelrail.constants import BUILD_DIR, DEFAULT_METRICS_NAMESPACE, MODELS_DIR
from modelrail.contract.auth import AuthMode
from modelrail.contract.stack import DEFAULT_STAGE, stack_name
from modelrail.lambda_zip import LambdaPlatform, PackageTooLargeError, ZipPackageError
from modelrail.manifest import Manifest, ManifestError, Packaging, Target, is_valid_name
from modelrail.routes import BasePathError, normalize_base_path

REPO_ROOT = Path(__file__).resolve().parent.parent
DEV_STAGE = DEFAULT_STAGE


class ContextError(ValueError):
    """A context value is missing or invalid; the message has the ``--context`` that fixes it."""


class Context:
    """Typed reads of ``cdk.json`` / ``--context`` values."""

    def __init__(self, app: cdk.App) -> None:
        self._node = app.node

    def raw(self, key: str) -> str | None:
        """The value as text, or ``None`` when unset or empty."""
        value: Any = self._node.try_get_context(key)
        return None if value is None or str(value).strip() == "" else str(value).strip()

    def required(self, key: str, example: str) -> str:
        """A value that must be set."""
        value = self.raw(key)
        if value is None:
            raise ContextError(
                f'missing context value `{key}`: pass `--context {key}={example}` or set it under "context" in cdk.json'
            )
        return value

    def parsed(self, key: str, example: str, parse: Callable[[str], Any], expected: str) -> Any:
        """A required value converted by ``parse``; a failure names the key, the value and what is expected."""
        value = self.required(key, example)
        try:
            return parse(value)
        except ValueError:
            raise ContextError(
                f"context value `{key}={value}` is not {expected}: pass e.g. `--context {key}={example}`"
            ) from None


def _flag(value: str) -> bool:
    lowered = value.lower()
    if lowered not in {"true", "false"}:
        raise ValueError(value)
    return lowered == "true"


def _stage(value: str) -> str:
    if not is_valid_name(value):
        raise ValueError(value)
    return value


def _retention(value: str) -> int:
    days = int(value)
    if days not in RETENTION_CHOICES:
        raise ValueError(value)
    return days


def _base_path(value: str) -> str:
    try:
        base = normalize_base_path(value)
    except BasePathError as exc:
        raise ValueError(str(exc)) from None
    if base is None:
        raise ValueError(value)
    return base


def _custom_domain(context: Context) -> CustomDomainSettings | None:
    """``domain_name`` + ``certificate_arn`` (+ ``base_path``): a custom domain the stack maps to its stage."""
    base_path = (
        context.parsed("base_path", "prod", _base_path, "a base path such as `prod` or `prod/api` (not v1 or v2)")
        if context.raw("base_path") is not None
        else None
    )
    domain_name = context.raw("domain_name")
    if domain_name is None:
        return (
            None
            if base_path is None
            else CustomDomainSettings(domain_name=None, certificate_arn=None, base_path=base_path)
        )
    certificate_arn = context.required("certificate_arn", "arn:aws:acm:<region>:<account>:certificate/<id>")
    return CustomDomainSettings(domain_name=domain_name, certificate_arn=certificate_arn, base_path=base_path)


def _positive(kind: Callable[[str], Any]) -> Callable[[str], Any]:
    def parse(value: str) -> Any:
        number = kind(value)
        if number <= 0:
            raise ValueError(value)
        return number

    return parse


def read_settings(app: cdk.App, *, source_root: Path = REPO_ROOT) -> tuple[StageSettings, list[str] | None, Path, Path]:
    """Settings, the selected model names (``None`` = all), the models folder and the build folder."""
    context = Context(app)
    stage = context.parsed("stage", DEV_STAGE, _stage, "a dns-safe stage name")
    auth = context.parsed("auth", AuthMode.API_KEY.value, AuthMode, f"one of {', '.join(m.value for m in AuthMode)}")
    selection = context.required("models", "all")
    names = None if selection == "all" else [name.strip() for name in selection.split(",") if name.strip()]
    retain = context.raw("retain_data")
    account_role = context.raw("api_gateway_account_role")
    settings = StageSettings(
        stage=stage,
        auth=auth,
        limits=ApiLimits(
            rate_per_s=context.parsed("throttle_rate", "50", _positive(float), "a positive number"),
            burst=context.parsed("throttle_burst", "100", _positive(int), "a positive integer"),
            quota_per_day=context.parsed("quota_per_day", "100000", _positive(int), "a positive integer"),
        ),
        # Data outlives the stack everywhere but dev, unless told otherwise.
        retain_data=stage != DEV_STAGE
        if retain is None
        else context.parsed("retain_data", "true", _flag, "true or false"),
        log_retention_days=context.parsed(
            "log_retention_days", "30", _retention, f"one of {', '.join(map(str, RETENTION_CHOICES))}"
        ),
        metrics_namespace=context.raw("metrics_namespace") or DEFAULT_METRICS_NAMESPACE,
        source_root=source_root,
        cors_origin=context.raw("cors_origin"),
        alarm_topic_arn=context.raw("alarm_topic_arn"),
        api_gateway_account_role=account_role is not None
        and context.parsed("api_gateway_account_role", "true", _flag, "true or false"),
        custom_domain=_custom_domain(context),
        tags={"project": "modelrail", "stage": stage},
        api_resources_quota=context.parsed("api_resources_quota", "300", _positive(int), "a positive integer")
        if context.raw("api_resources_quota") is not None
        else API_RESOURCES_QUOTA,
        # A model's own `deploy.packaging` wins when its manifest sets it; this is the default for the others.
        packaging=context.parsed(
            "packaging", Packaging.IMAGE.value, Packaging, f"one of {', '.join(p.value for p in Packaging)}"
        )
        if context.raw("packaging") is not None
        else Packaging.IMAGE,
        zip_architecture=context.parsed(
            "zip_architecture", LambdaPlatform.ARM64.value, LambdaPlatform, "x86_64 or arm64"
        )
        if context.raw("zip_architecture") is not None
        else LambdaPlatform.X86_64,
    )
    models_dir = source_root / (context.raw("models_dir") or MODELS_DIR)
    build_dir = source_root / (context.raw("build_dir") or BUILD_DIR)
    return settings, names, models_dir, build_dir


GPU_OPT_IN = "gpu_models"
"""Context flag: deploy ``target: gpu`` models (SageMaker endpoints billed per instance-hour while they exist)."""


def gpu_models_enabled(app: cdk.App) -> bool:
    """Whether this stage deploys GPU models (``--context gpu_models=true``); off by default in cdk.json."""
    return bool(Context(app).parsed(GPU_OPT_IN, "true", _flag, "true or false"))


def select_gpu_models(manifests: list[Manifest], *, enabled: bool, explicit: bool) -> list[Manifest]:
    """Drop GPU models unless the stage opted in: a first ``cdk deploy`` must not start an hourly-billed
    endpoint by surprise, nor fail in a new account whose SageMaker endpoint quota for the type is 0. Done before
    any artifact is verified, so a GPU model a stage does not deploy need not be built."""
    gpu = [m.name for m in manifests if m.deploy.target is Target.GPU]
    if enabled or not gpu:
        return manifests
    if explicit:
        raise ContextError(
            f"GPU model(s) {', '.join(gpu)} selected, but GPU models are opt-in per stage (each is a SageMaker "
            f"endpoint billed per instance-hour): pass `--context {GPU_OPT_IN}=true`, or leave them out of `models`"
        )
    print(
        f"modelrail: not deploying GPU model(s) {', '.join(gpu)}: GPU models are opt-in per stage (each is a "
        f"SageMaker endpoint billed per instance-hour); pass `--context {GPU_OPT_IN}=true` to deploy them",
        file=sys.stderr,
    )
    return [m for m in manifests if m.deploy.target is not Target.GPU]


def build_app(app: cdk.App, *, source_root: Path = REPO_ROOT) -> ModelrailStack:
    """Read the context, load the models and add the stage's stack (and the cdk-nag checks) to ``app``."""
    settings, names, models_dir, build_dir = read_settings(app, source_root=source_root)
    manifests = select_gpu_models(
        selected_manifests(models_dir=models_dir, names=names),
        enabled=gpu_models_enabled(app),
        explicit=names is not None,
    )
    models = [load_deployed_model(manifest, build_dir=build_dir) for manifest in manifests]
    account, region = os.environ.get("CDK_DEFAULT_ACCOUNT"), os.environ.get("CDK_DEFAULT_REGION")
    stack = ModelrailStack(
        app,
        stack_name(settings.stage),
        settings=settings,
        models=models,
        env=cdk.Environment(account=account, region=region) if account and region else None,
        description=f"modelrail inference API, stage {settings.stage}",
    )
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return stack


def main() -> int:
    """Synthesize, or print why not (no traceback for a configuration mistake)."""
    app = cdk.App()
    try:
        build_app(app)
    except (
        ContextError,
        ManifestError,
        ArtifactError,
        ScaleLimitError,
        ReleaseNameError,
        ReleaseSettingError,
        PackagingError,
        PackageTooLargeError,
        ZipPackageError,
        JobEnvironmentError,
    ) as exc:
        print(f"modelrail: {exc}", file=sys.stderr)
        return 1
    app.synth()
    return 0


if __name__ == "__main__":
    sys.exit(main())

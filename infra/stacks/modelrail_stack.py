"""The whole deployment of one stage: bucket, API, one compute per model, catalog, observability."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from infra.constructs.catalog_function import CatalogFunction
from infra.constructs.custom_domain import CustomDomain, CustomDomainSettings
from infra.constructs.gpu_endpoint import GpuEndpoint
from infra.constructs.inference_api import ApiLimits, InferenceApi
from infra.constructs.job_bucket import JobBucket
from infra.constructs.job_queue import queue_name
from infra.constructs.job_worker import image_cmd
from infra.constructs.jobs_api import JobsApi
from infra.constructs.model_bucket import ModelBucket
from infra.constructs.observability import Observability
from infra.constructs.onnx_function import OnnxFunction
from infra.deployed_models import DeployedModel
from infra.nag import acknowledge, bucket_objects_finding
from infra.releases import LIVE_ALIAS, output_id, pinned_aliases, release_summary
from infra.scanners import allow_cfripper, skip_lambda_checks
from infra.stacks.model_stack import ModelStack
from modelrail import constants
from modelrail.contract import stack as outputs
from modelrail.contract.auth import AuthMode
from modelrail.contract.jobs import JOB_WORKER_HANDLER
from modelrail.lambda_zip import LambdaPlatform, ZipPackage, build_zip_package
from modelrail.manifest import Packaging, Target
from modelrail.routes import CATALOG_ROUTES, JOB_ROUTES

API_RESOURCES_QUOTA = 300
"""API Gateway's default "Resources per API" quota for a REST API, which can be increased ("Quotas for configuring
and running a REST API in API Gateway"). Each model has nine resources, and three more per further served version
(its literal-version routes), one more when it takes jobs (``/v1/models/<name>/jobs``); the jobs routes add two more
to the stage (``/v1/jobs/{job_id}``)."""
BASIC_EXECUTION_POLICY = "AWSLambdaBasicExecutionRole"
CDK_ASSET_BUCKET = "cdk-hnb659fds-assets-<AWS::AccountId>-<AWS::Region>"
"""The default bootstrap's file-asset bucket, as cdk-nag prints it."""
LAMBDA_DOCKERFILE = "functions/lambda_inference/Dockerfile"
ZIP_CACHE_DIR = Path("build/lambda-zip")
"""Where built zip packages are cached (ignored by git, like the rest of ``build/``), under the source root."""
GPU_DOCKERFILE = "functions/sagemaker_inference/Dockerfile"
IMAGE_EXCLUDES = (
    ".git",
    ".venv",
    "node_modules",
    "cdk.out",
    "build",
    "models",
    "tests",
    "docs",
    "bench",
    "events",
    "**/__pycache__",
    "**/*.onnx",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
)
"""Kept out of image asset hashing and staging (the build context is the repository root), so synth stays fast
and models never end up baked into an image: functions fetch them from the bucket."""


@dataclass(frozen=True)
class StageSettings:
    """Everything ``infra/app.py`` reads from context and environment, typed."""

    stage: str
    auth: AuthMode
    limits: ApiLimits
    retain_data: bool
    """Keep the bucket and logs when the stack is deleted (always outside dev)."""
    log_retention_days: int
    metrics_namespace: str
    source_root: Path
    """The repository root: Docker build context and home of ``functions/`` and ``layers/``."""
    cors_origin: str | None = None
    alarm_topic_arn: str | None = None
    api_gateway_account_role: bool = False
    """Create the Region-wide API Gateway CloudWatch logging role that access logs need (once per account)."""
    custom_domain: CustomDomainSettings | None = None
    """A custom domain (and base path mapping) for the stage; functions strip its base path from event paths."""
    tags: dict[str, str] = field(default_factory=dict)
    api_resources_quota: int = API_RESOURCES_QUOTA
    """This account's "Resources per API" quota for REST APIs (300 unless raised through Service Quotas)."""
    packaging: Packaging = Packaging.IMAGE
    """CPU models' packaging where their manifest sets none (context ``packaging``)."""
    zip_architecture: LambdaPlatform = LambdaPlatform.X86_64
    """The instruction set of zip functions and their package (context ``zip_architecture``); images are x86_64."""


class ScaleLimitError(ValueError):
    """The stage needs more of a quota than the account has; the message says how many and what to do."""


class ModelrailStack(cdk.Stack):
    """One stage of the modelrail API."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        settings: StageSettings,
        models: Sequence[DeployedModel],
        **kwargs: object,
    ) -> None:
        super().__init__(scope, construct_id, **kwargs)  # type: ignore[arg-type]
        self.settings = settings
        removal = cdk.RemovalPolicy.RETAIN if settings.retain_data else cdk.RemovalPolicy.DESTROY
        retention: logs.RetentionDays = getattr(logs.RetentionDays, _RETENTION_NAMES[settings.log_retention_days])

        self.model_bucket = ModelBucket(self, "ModelBucket", models=models, retain=settings.retain_data)
        # Jobs (SPEC "Cloud topology"): every model takes them, through its own queue and worker (a GPU model's
        # worker invokes its endpoint).
        job_models = list(models)
        self.job_bucket: JobBucket | None = None
        if job_models:
            self.job_bucket = JobBucket(
                self,
                "JobBucket",
                access_logs=self.model_bucket.access_logs,
                retain=settings.retain_data,
                cors_origin=settings.cors_origin,
            )
        self.job_queue_names = {m.name: queue_name(self.stack_name, m.name) for m in job_models}
        self.api = InferenceApi(
            self,
            "InferenceApi",
            stage=settings.stage,
            auth=settings.auth,
            limits=settings.limits,
            cors_origin=settings.cors_origin,
            log_retention=retention,
            removal_policy=removal,
            account_logging_role=settings.api_gateway_account_role,
        )
        self.observability = Observability(
            self,
            "Observability",
            stage=settings.stage,
            api=self.api.api,
            metrics_namespace=settings.metrics_namespace,
            alarm_topic_arn=settings.alarm_topic_arn,
        )
        self.functions: dict[str, OnnxFunction] = {}
        self.endpoints: dict[str, GpuEndpoint] = {}
        self.model_stacks: dict[str, ModelStack] = {}
        cpu_models = [m for m in models if m.manifest.deploy.target is Target.CPU]
        gpu_models = [m for m in models if m.manifest.deploy.target is Target.GPU]
        if cpu_models:
            self._add_cpu_models(cpu_models, retention, removal)
        if gpu_models:
            self._add_gpu_models(gpu_models, retention, removal)
        self.catalog = CatalogFunction(
            self,
            "Catalog",
            source_root=settings.source_root,
            models=models,
            bucket=self.model_bucket.bucket,
            endpoints={name: (ep.endpoint_name, ep.endpoint_arn) for name, ep in self.endpoints.items()},
            auth=settings.auth,
            log_retention=retention,
            removal_policy=removal,
        )
        self._allow_origin(self.catalog.function)
        self._base_path(self.catalog.function)
        catalog_integration = apigw.LambdaIntegration(self.catalog.function, allow_test_invoke=False)
        for route in CATALOG_ROUTES:
            self.api.add_route(route, catalog_integration)
        self.jobs: JobsApi | None = None
        if self.job_bucket is not None:
            self.jobs = self._add_jobs_api(self.job_bucket, retention, removal)
        self.custom_domain: CustomDomain | None = None
        domain = settings.custom_domain
        if domain is not None and domain.domain_name is not None and domain.certificate_arn is not None:
            self.custom_domain = CustomDomain(
                self,
                "CustomDomain",
                api=self.api.api,
                domain_name=domain.domain_name,
                certificate_arn=domain.certificate_arn,
                base_path=domain.base_path,
            )
        self._check_api_resources()
        self._outputs()
        self._acknowledge_cdk_handlers()
        for key, value in settings.tags.items():
            cdk.Tags.of(self).add(key, value)

    def _add_cpu_models(
        self, models: Sequence[DeployedModel], retention: logs.RetentionDays, removal: cdk.RemovalPolicy
    ) -> None:
        packaging = {m.name: m.manifest.cpu_deploy.packaging_or(self.settings.packaging) for m in models}
        root = self.settings.source_root
        # Same directory, Dockerfile and excludes for every function: one asset hash, one image, pushed once.
        code = (
            lambda_.DockerImageCode.from_image_asset(
                str(root),
                file=LAMBDA_DOCKERFILE,
                exclude=list(IMAGE_EXCLUDES),
                platform=ecr_assets.Platform.LINUX_AMD64,
            )
            if Packaging.IMAGE in packaging.values()
            else None
        )
        # One package for every zip model too (the model comes from S3): built once, or taken from the cache.
        package: ZipPackage | None = (
            build_zip_package(root, root / ZIP_CACHE_DIR, platform=self.settings.zip_architecture)
            if Packaging.ZIP in packaging.values()
            else None
        )
        # The same image with the job worker's handler as its CMD (an image config on each worker function): the
        # asset, hence the image pushed, is the one above. A zip model's worker runs from the same zip package.
        worker_code = self._worker_image_code() if code is not None else None
        for model in models:
            zipped = packaging[model.name] is Packaging.ZIP
            nested = self._model_stack(model)
            function = nested.add_cpu(
                api=self.api,
                observability=self.observability,
                code=None if zipped else code,
                bucket=self.model_bucket.bucket,
                log_retention=retention,
                removal_policy=removal,
                metrics_namespace=self.settings.metrics_namespace,
                zip_package=package if zipped else None,
            )
            self._allow_origin(function.function)
            self._base_path(function.function)
            self.functions[model.name] = function
            if self.job_bucket is not None and model.name in self.job_queue_names:
                nested.add_jobs(
                    observability=self.observability,
                    code=None if zipped else worker_code,
                    zip_package=package if zipped else None,
                    bucket=self.model_bucket.bucket,
                    job_bucket=self.job_bucket.bucket,
                    queue_name=self.job_queue_names[model.name],
                    log_retention=retention,
                    removal_policy=removal,
                    metrics_namespace=self.settings.metrics_namespace,
                )

    def _worker_image_code(self) -> lambda_.DockerImageCode:
        """The CPU Lambda image (the same directory, Dockerfile and excludes as the model functions': one asset, one
        image) with the job worker's handler as its ``CMD``."""
        return lambda_.DockerImageCode.from_image_asset(
            str(self.settings.source_root),
            file=LAMBDA_DOCKERFILE,
            exclude=list(IMAGE_EXCLUDES),
            platform=ecr_assets.Platform.LINUX_AMD64,
            cmd=image_cmd(JOB_WORKER_HANDLER),
        )

    def _add_gpu_models(
        self, models: Sequence[DeployedModel], retention: logs.RetentionDays, removal: cdk.RemovalPolicy
    ) -> None:
        image = ecr_assets.DockerImageAsset(
            self,
            "GpuImage",
            directory=str(self.settings.source_root),
            file=GPU_DOCKERFILE,
            exclude=list(IMAGE_EXCLUDES),
            platform=ecr_assets.Platform.LINUX_AMD64,
        )
        # A GPU model's job worker is the CPU Lambda image with the worker's CMD, invoking the model's endpoint
        # (docs/deploy.md, "Jobs"); in a stage of GPU models only this is the one use of that image.
        worker_code = self._worker_image_code()
        for model in models:
            nested = self._model_stack(model)
            self.endpoints[model.name] = nested.add_gpu(
                api=self.api,
                observability=self.observability,
                image=image,
                bucket=self.model_bucket.bucket,
                metrics_namespace=self.settings.metrics_namespace,
                cors_origin=self.settings.cors_origin,
            )
            if self.job_bucket is not None and model.name in self.job_queue_names:
                nested.add_gpu_jobs(
                    observability=self.observability,
                    code=worker_code,
                    job_bucket=self.job_bucket.bucket,
                    queue_name=self.job_queue_names[model.name],
                    log_retention=retention,
                    removal_policy=removal,
                )

    def _add_jobs_api(
        self, job_bucket: JobBucket, retention: logs.RetentionDays, removal: cdk.RemovalPolicy
    ) -> JobsApi:
        """The jobs function, its routes (``/v1/jobs/{job_id}`` here, each model's submit route in its own nested
        stack) and the one permission that lets the stage invoke it from every submit route."""
        jobs = JobsApi(
            self,
            "Jobs",
            source_root=self.settings.source_root,
            layer=self.catalog.layer,
            job_bucket=job_bucket.bucket,
            queue_names=self.job_queue_names,
            auth=self.settings.auth,
            log_retention=retention,
            removal_policy=removal,
            extra_environment=self._http_environment(),
        )
        integration = apigw.LambdaIntegration(jobs.function, allow_test_invoke=False)
        for route in JOB_ROUTES:
            self.api.add_route(route, integration)
        for nested in self.model_stacks.values():
            if nested.job_worker is not None:
                nested.add_job_route(api=self.api, jobs_function=jobs.function)
        # One permission for every model's submit route (its methods live in the models' nested stacks): a
        # permission per method would grow the function's resource-based policy with the models, and that policy
        # is capped at 20 KB ("Lambda quotas").
        jobs.function.add_permission(
            "InvokeSubmit",
            principal=iam.ServicePrincipal("apigateway.amazonaws.com"),
            source_arn=self.api.api.arn_for_execute_api("POST", "/v1/models/*/jobs", self.api.stage_name),
        )
        return jobs

    def _model_stack(self, model: DeployedModel) -> ModelStack:
        """The model's nested stack, created after every served artifact is in the bucket (so no alias or SageMaker
        model ever points at files that are not there yet) and before the stage's deployment (which must
        include its methods)."""
        nested = ModelStack(self, f"Model-{model.name}", model=model)
        nested.node.add_dependency(*self.model_bucket.uploads[model.name])
        self.api.api.latest_deployment.node.add_dependency(nested)  # type: ignore[union-attr]
        self.model_stacks[model.name] = nested
        return nested

    def _check_api_resources(self) -> None:
        """Refuse at synth a stage whose REST API needs more resources than the account's quota allows."""
        count = sum(isinstance(c, apigw.CfnResource) for c in self.node.find_all())
        quota = self.settings.api_resources_quota
        if count > quota:
            raise ScaleLimitError(
                f"this stage's REST API needs {count} API resources (nine per model, three more per further served "
                f"version, one more with jobs), over the {quota} of API Gateway's 'Resources per API' quota: request "
                "an increase in Service Quotas (API Gateway, 'Resources per API') and pass the granted value as "
                "`--context api_resources_quota=<n>`, or deploy fewer models per stage (`--context models=a,b,...`)"
            )

    def _http_environment(self) -> dict[str, str]:
        """What ``_allow_origin`` and ``_base_path`` add to a function, as a mapping."""
        env = {}
        if self.settings.cors_origin:
            env[constants.ENV_CORS_ORIGIN] = self.settings.cors_origin
        domain = self.settings.custom_domain
        if domain is not None and domain.base_path:
            env[constants.ENV_API_BASE_PATH] = domain.base_path
        return env

    def _allow_origin(self, function: lambda_.Function) -> None:
        """With ``cors_origin`` set, the function's answers carry it too (API Gateway adds it only to its own)."""
        if self.settings.cors_origin:
            function.add_environment(constants.ENV_CORS_ORIGIN, self.settings.cors_origin)

    def _base_path(self, function: lambda_.Function) -> None:
        """With a custom domain's base path mapping, event paths through that domain start with it."""
        domain = self.settings.custom_domain
        if domain is not None and domain.base_path:
            function.add_environment(constants.ENV_API_BASE_PATH, domain.base_path)

    def _outputs(self) -> None:
        cdk.CfnOutput(self, outputs.OUTPUT_API_URL, value=self.api.api.url, description="Base URL of the inference API")
        if self.custom_domain is not None:
            domain = self.custom_domain.domain
            base = self.settings.custom_domain.base_path if self.settings.custom_domain else None
            cdk.CfnOutput(
                self,
                outputs.OUTPUT_CUSTOM_DOMAIN_URL,
                value=f"https://{domain.domain_name}{base or ''}/",
                description="Base URL of the API through its custom domain",
            )
            cdk.CfnOutput(
                self,
                outputs.OUTPUT_CUSTOM_DOMAIN_TARGET,
                value=domain.domain_name_alias_domain_name,
                description="Point the domain's DNS record (CNAME or alias) at this name",
            )
        cdk.CfnOutput(self, outputs.OUTPUT_MODEL_BUCKET, value=self.model_bucket.bucket.bucket_name)
        if self.job_bucket is not None:
            cdk.CfnOutput(
                self,
                outputs.OUTPUT_JOB_BUCKET,
                value=self.job_bucket.bucket.bucket_name,
                description="Each job's input, state and results (jobs/<job id>/), expired after a week",
            )
        cdk.CfnOutput(self, outputs.OUTPUT_DASHBOARD, value=self.observability.dashboard.dashboard_name)
        if self.api.api_key is not None:
            cdk.CfnOutput(
                self,
                outputs.OUTPUT_API_KEY_ID,
                value=self.api.api_key.key_id,
                description="Read the key with: aws apigateway get-api-key --include-value --api-key <this id>",
            )
        taken: list[str] = []
        for name, nested in self.model_stacks.items():
            taken.append(output_id(name, taken))
            cdk.CfnOutput(
                self,
                taken[-1],
                # json.dumps, not to_json_string: a key without a value stays, as null. The only deploy-time values
                # (function, CodeDeploy names) are plain names that need no JSON escaping.
                value=json.dumps(
                    release_summary(nested.model, **self._release_resources(nested)), separators=(",", ":")
                ),
                description=f"modelrail release of model {name} (JSON): served, live and canary versions, weights, "
                "and the AWS resources that carry them",
            )

    def _release_resources(self, nested: ModelStack) -> dict[str, object]:
        """The AWS names ``modelrail status`` looks up for one model's rollout."""
        if nested.function is not None:
            function = nested.function
            return {
                "function": function.function.function_name,
                "live_alias": LIVE_ALIAS,
                "pinned_aliases": pinned_aliases(nested.model),
                "codedeploy_application": function.application.application_name if function.application else None,
                "deployment_group": function.deployment_group.deployment_group_name
                if function.deployment_group
                else None,
            }
        assert nested.endpoint is not None
        return {"endpoint": nested.endpoint.endpoint_name, "variants": nested.endpoint.variants}

    def _acknowledge_cdk_handlers(self) -> None:
        """CDK's own BucketDeployment handler is not ours to reshape; each of its findings is named."""
        reason = (
            "CDK's BucketDeployment handler copies the built artifacts from the CDK asset bucket to the model "
            "bucket: CDK gives its role the AWS managed basic-execution policy and its grant helpers' "
            "s3:GetObject*/GetBucket*/List*/DeleteObject*/Abort* actions on those two buckets only."
        )
        findings = (
            f"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{BASIC_EXECUTION_POLICY}",
            *(f"Action::s3:{action}*" for action in ("GetObject", "GetBucket", "List", "DeleteObject", "Abort")),
            f"Resource::arn:<AWS::Partition>:s3:::{CDK_ASSET_BUCKET}/*",
            bucket_objects_finding(self.model_bucket.bucket, ""),
        )
        for child in self.node.children:
            if child.node.id.startswith("Custom::CDKBucketDeployment"):
                acknowledge(child, "IAM4", reason, findings=findings[:1])
                acknowledge(child, "IAM5", reason, findings=findings[1:])
                acknowledge(child, "L1", f"{reason} CDK pins the handler's Python runtime to one it has tested.")
                skip_lambda_checks(child)
                policy = child.node.try_find_child("ServiceRole")
                policy = policy.node.try_find_child("DefaultPolicy") if policy is not None else None
                if policy is not None:
                    allow_cfripper(policy, "GenericResourceWildcardPolicyRule", reason)
            elif child.node.id.startswith("Custom::S3AutoDeleteObjects"):
                handler = child.node.try_find_child("Handler")
                if handler is not None:  # CDK's dev-only handler that empties the buckets on stack deletion
                    skip_lambda_checks(handler)


_RETENTION_NAMES = {
    1: "ONE_DAY",
    3: "THREE_DAYS",
    5: "FIVE_DAYS",
    7: "ONE_WEEK",
    14: "TWO_WEEKS",
    30: "ONE_MONTH",
    60: "TWO_MONTHS",
    90: "THREE_MONTHS",
    180: "SIX_MONTHS",
    365: "ONE_YEAR",
}


RETENTION_CHOICES = tuple(_RETENTION_NAMES)

"""One model's share of a stage, as a nested stack: its compute, its API resources and methods, its alarms.

A stage's resources grow with its models (a function, role, log group, alias, alarms and nine API resources per
CPU model; an endpoint and its routes, each with the VTL of every SageMaker answer, per GPU model). In one stack
that reaches CloudFormation's 500-resources-per-stack quota at about a dozen models; as a nested stack each model
counts once against the stage's stack (AWS::CloudFormation::Stack) and has a template of its own
("CloudFormation quotas": 500 resources per stack, 1 MB template body from S3; "Nested stacks" in the
CloudFormation user guide). The shared parts (bucket, REST API and its ``/v1/models`` and ``/v2/models``
resources, stage, usage plan, catalog, dashboard) stay in the stage's stack, which passes references in as
parameters (CDK does that for every cross-stack reference).
"""

from __future__ import annotations

import json

import aws_cdk as cdk
from aws_cdk import aws_apigateway as apigw
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.gpu_endpoint import GpuEndpoint
from infra.constructs.inference_api import InferenceApi
from infra.constructs.job_queue import QUEUE_URL_MAX_BYTES, JobQueue
from infra.constructs.job_worker import WORKER_TIMEOUT_S, JobWorker
from infra.constructs.observability import Observability
from infra.constructs.onnx_function import (
    LAMBDA_ENVIRONMENT_BYTES,
    UNRESOLVED_VALUE_BYTES,
    OnnxFunction,
    environment_bytes,
    ephemeral_storage_mib,
)
from infra.constructs.sagemaker_routes import SageMakerRoutes
from infra.deployed_models import DeployedModel
from infra.releases import ReleaseSettingError
from modelrail import constants
from modelrail.contract import jobs
from modelrail.contract.functions import model_function_env
from modelrail.lambda_zip import ZipPackage
from modelrail.routes import job_submit_route, model_routes

GPU_WORKER_MEMORY_MB = jobs.ENDPOINT_WORKER_MEMORY_MB
"""A GPU model's job worker holds no model: Python, boto3 and one chunk of instances and answers at a time."""
GPU_WORKER_EPHEMERAL_MIB = 512
"""Lambda's default ``/tmp``: a GPU model's worker writes nothing there."""


def endpoint_batch_size(model: DeployedModel) -> int:
    """Instances per ``InvokeEndpoint`` call of a GPU model's worker: the live artifact's ``serving.max_batch_size``
    (``manifest.json``), the largest batch its container runs in one session call."""
    path = model.served[model.live_version].artifact_dir / constants.MANIFEST_JSON
    manifest = json.loads(path.read_text(encoding="utf-8"))
    return int(manifest["serving"]["max_batch_size"])


class ModelStack(cdk.NestedStack):
    """The nested stack of one model; ``function`` (CPU) or ``endpoint`` (GPU) is what it serves with."""

    def __init__(self, scope: Construct, construct_id: str, *, model: DeployedModel) -> None:
        served = ", ".join(model.served)
        super().__init__(
            scope,
            construct_id,
            description=f"modelrail model {model.name}, live {model.live_version} (serves {served})",
        )
        self.model = model
        self.function: OnnxFunction | None = None
        self.endpoint: GpuEndpoint | None = None
        self.job_queue: JobQueue | None = None
        self.job_worker: JobWorker | None = None
        self._route_scope: Construct = self
        """Where the model's API resources live (``InferenceApi.resource_for`` keys them by scope): the job route
        must share ``/v1/models/<name>`` with the model's other routes, not create it a second time."""

    def add_cpu(
        self,
        *,
        api: InferenceApi,
        observability: Observability,
        code: lambda_.DockerImageCode | None,
        bucket: s3.IBucket,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        metrics_namespace: str,
        zip_package: ZipPackage | None = None,
    ) -> OnnxFunction:
        """The model's Lambda function and alias, a method per route on the alias, and its alarms."""
        model = self.model
        self.function = OnnxFunction(
            self,
            f"Model-{model.name}",
            model=model,
            code=code,
            bucket=bucket,
            log_retention=log_retention,
            removal_policy=removal_policy,
            metrics_namespace=metrics_namespace,
            zip_package=zip_package,
        )
        # LambdaIntegration's own permission names the stage by reference (a Ref to the stage's stack's Stage),
        # and the stage's Deployment must wait for this stack: a cycle. The same proxy integration and one
        # permission per method, with the stage by name, keep each permission scoped to its method and alias.
        # Unversioned routes invoke `live` (which CodeDeploy shifts during a canary); each version's pinned routes
        # invoke its own alias on the current function version, which serves every served version.
        integrations: dict[str, apigw.AwsIntegration] = {}
        for route in model_routes(model.name, versions=list(model.served)):
            alias = self.function.alias_for(route)
            if alias.alias_name not in integrations:
                integrations[alias.alias_name] = apigw.AwsIntegration(
                    service="lambda", proxy=True, path=f"2015-03-31/functions/{alias.function_arn}/invocations"
                )
            method = api.add_route(route, integrations[alias.alias_name], scope=self)
            alias.add_permission(
                f"Invoke-{route.method}-{route.path.strip('/').replace('/', '-')}",
                principal=iam.ServicePrincipal("apigateway.amazonaws.com"),
                source_arn=api.api.arn_for_execute_api(route.method, route.path, api.stage_name),
                scope=method,
            )
        observability.add_function(model.name, self.function.function, scope=self)
        return self.function

    def add_gpu(
        self,
        *,
        api: InferenceApi,
        observability: Observability,
        image: ecr_assets.DockerImageAsset,
        bucket: s3.IBucket,
        metrics_namespace: str,
        cors_origin: str | None,
    ) -> GpuEndpoint:
        """The model's SageMaker endpoint, its routes (API Gateway straight to InvokeEndpoint) and its alarm."""
        model = self.model
        self.endpoint = GpuEndpoint(
            self,
            f"Model-{model.name}",
            model=model,
            image=image,
            bucket=bucket,
            metrics_namespace=metrics_namespace,
        )
        self._route_scope = SageMakerRoutes(
            self,
            f"Routes-{model.name}",
            api=api,
            model_name=model.name,
            variants=self.endpoint.variants,
            endpoint_name=self.endpoint.endpoint_name,
            endpoint_arn=self.endpoint.endpoint_arn,
            cors_origin=cors_origin,
        )
        observability.add_endpoint(
            model.name, self.endpoint.endpoint_name, variants=list(self.endpoint.variants.values()), scope=self
        )
        return self.endpoint

    def add_jobs(
        self,
        *,
        observability: Observability,
        code: lambda_.DockerImageCode | None,
        bucket: s3.IBucket,
        job_bucket: s3.IBucket,
        queue_name: str,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        metrics_namespace: str,
        zip_package: ZipPackage | None = None,
    ) -> JobWorker:
        """The model's job queue (+ dead-letter queue), its worker (``code``: the model image with the worker's
        ``CMD``; or the model's ``zip_package`` with the worker's handler) and their alarms. Its submit route is
        added by ``add_job_route`` once the jobs function exists."""
        model = self.model
        deploy = model.manifest.cpu_deploy
        timeout = cdk.Duration.seconds(WORKER_TIMEOUT_S)
        self.job_queue = JobQueue(self, f"Jobs-{model.name}", name=queue_name, worker_timeout=timeout)
        # Jobs run on the live version: a canary's share is of synchronous traffic (CodeDeploy shifts the model
        # function's `live` alias); the worker is a plain function that a release updates in place.
        environment = {
            **model_function_env(
                list(model.served.values()),
                default_version=model.live_version,
                bucket=bucket.bucket_name,
                metrics_namespace=metrics_namespace,
                timeout_s=WORKER_TIMEOUT_S,
            ),
            jobs.ENV_JOB_BUCKET: job_bucket.bucket_name,
            jobs.ENV_JOB_QUEUE_URL: self.job_queue.queue.queue_url,
        }
        # The queue URL is a token at synth; it can be as long as the longest URL prefix plus an 80-character name.
        size = environment_bytes(environment) - UNRESOLVED_VALUE_BYTES + QUEUE_URL_MAX_BYTES
        if size > LAMBDA_ENVIRONMENT_BYTES:
            raise ReleaseSettingError(
                f"models/{model.name}/model.yaml: field `deploy.releases.served` lists {len(model.served)} versions; "
                f"the job worker's environment would take {size} bytes, over Lambda's {LAMBDA_ENVIRONMENT_BYTES}: "
                "serve fewer versions at once"
            )
        self.job_worker = JobWorker(
            self,
            f"Worker-{model.name}",
            model_name=model.name,
            description=f"modelrail {model.name} {model.live_version} job worker ({model.manifest.task.value})",
            code=code,
            memory_mb=deploy.memory_mb,
            ephemeral_storage_mib=ephemeral_storage_mib(model),
            environment=environment,
            model_bucket=bucket,
            model_prefixes=[served.prefix for served in model.served.values()],
            job_bucket=job_bucket,
            queue=self.job_queue.queue,
            log_retention=log_retention,
            removal_policy=removal_policy,
            zip_package=zip_package,
        )
        observability.add_job_queue(model.name, self.job_queue.queue, self.job_queue.dead_letters, scope=self)
        return self.job_worker

    def add_gpu_jobs(
        self,
        *,
        observability: Observability,
        code: lambda_.DockerImageCode,
        job_bucket: s3.IBucket,
        queue_name: str,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> JobWorker:
        """A GPU model's job queue (+ dead-letter queue), worker and alarms, after ``add_gpu``: the same queue layout
        and worker code as a CPU model's, the worker being the CPU Lambda image (``code``, the worker's ``CMD``)
        that sends each batch to this model's endpoint (``jobs.ENV_JOB_ENDPOINT_NAME``) instead of loading the
        model. It may invoke that endpoint and reads no artifact. Its submit route comes from ``add_job_route``."""
        model = self.model
        assert self.endpoint is not None, "add_gpu first: the worker invokes the model's endpoint"
        self.job_queue = JobQueue(
            self, f"Jobs-{model.name}", name=queue_name, worker_timeout=cdk.Duration.seconds(WORKER_TIMEOUT_S)
        )
        environment = jobs.endpoint_worker_env(
            model=model.name,
            version=model.live_version,
            bucket=job_bucket.bucket_name,
            queue_url=self.job_queue.queue.queue_url,
            endpoint_name=self.endpoint.endpoint_name,
            batch_size=endpoint_batch_size(model),
        )
        self.job_worker = JobWorker(
            self,
            f"Worker-{model.name}",
            model_name=model.name,
            description=f"modelrail {model.name} {model.live_version} job worker (SageMaker endpoint)",
            code=code,
            memory_mb=GPU_WORKER_MEMORY_MB,
            ephemeral_storage_mib=GPU_WORKER_EPHEMERAL_MIB,
            environment=environment,
            model_bucket=None,
            model_prefixes=[],
            job_bucket=job_bucket,
            queue=self.job_queue.queue,
            log_retention=log_retention,
            removal_policy=removal_policy,
            endpoint_arn=self.endpoint.endpoint_arn,
        )
        observability.add_job_queue(model.name, self.job_queue.queue, self.job_queue.dead_letters, scope=self)
        return self.job_worker

    def add_job_route(self, *, api: InferenceApi, jobs_function: lambda_.IFunction) -> apigw.Method:
        """``POST /v1/models/<name>/jobs`` in this stack, proxied to the stage's jobs function (whose one permission
        for every model's submit route the stage's stack holds: ``JobsApi``)."""
        integration = apigw.AwsIntegration(
            service="lambda", proxy=True, path=f"2015-03-31/functions/{jobs_function.function_arn}/invocations"
        )
        return api.add_route(job_submit_route(self.model.name), integration, scope=self._route_scope)

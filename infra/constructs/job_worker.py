"""A model's job worker: the CPU Lambda image (or a zip model's package) with the worker handler, fed by the
model's job queue. A CPU model's worker runs its model in process; a GPU model's sends each batch to the model's
SageMaker endpoint (``contract.jobs.ENV_JOB_ENDPOINT_NAME``), so it may invoke that endpoint and reads no artifact.

One message is one slice of one job: the worker runs instances at the model's batch size, writes a result part
and a checkpoint per chunk, and before its time runs out sends itself a continuation message and returns. A
retried message (crash, timeout) resumes from the last checkpoint (``modelrail.contract.jobs``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import PurePosixPath
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_lambda_event_sources as event_sources
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from infra.constructs.onnx_function import SAM_RESOURCE_ID, ZIP_RUNTIME_REASON
from infra.grants import grant_prefixes
from infra.nag import XRAY_FINDING, XRAY_REASON, acknowledge, bucket_objects_finding
from infra.scanners import skip_checkov, skip_lambda_checks, skip_log_group_kms
from modelrail.contract import jobs
from modelrail.lambda_zip import LambdaPlatform, ZipPackage

WORKER_TIMEOUT_S = jobs.WORKER_TIMEOUT_S
"""Lambda's maximum ("Lambda quotas": function timeout 900 seconds): the longest slice of a job between
checkpointed continuations, so a long job pays the fewest cold starts. The queue's visibility timeout is six times
this (``job_queue.VISIBILITY_FACTOR``)."""
MAX_CONCURRENCY = 10
"""Concurrent workers per model (the event source's ``ScalingConfig.MaximumConcurrency``, 2 to 1000: "Limits the
number of concurrent instances that the Amazon SQS event source can invoke", Lambda API reference): one job runs
on one worker at a time, so this is the number of a model's jobs that run at once; the others wait in the queue.
It bounds the account concurrency jobs can take from the synchronous API without a reservation."""
BATCH_SIZE = 1
"""One message (one slice of one job) per invocation: a failure retries only that job."""
JOB_DLQ_REASON = (
    "The worker is invoked synchronously by its SQS event source mapping; a Lambda dead-letter queue only receives "
    "failed asynchronous invocations (Lambda guide, 'Asynchronous invocation'). Failed job messages move to the job "
    "queue's own dead-letter queue by its redrive policy, and an alarm watches that queue."
)
JOB_CONCURRENCY_REASON = (
    "No reservation: the event source's maximum concurrency bounds how many workers a model's jobs run at once "
    "without taking concurrency away from every other function in the account, as a reservation would."
)


def sam_resource_id(model_name: str) -> str:
    """The worker's name for SAM CLI (``SamResourceId``), beside its model function's ``<model>``."""
    return f"{model_name}-jobs"


def image_cmd(handler: str) -> list[str]:
    """The image ``CMD`` (Lambda's ``module.function``) for a handler given as ``functions/<dir>/<file>.py:<fn>``."""
    path, _, function = handler.partition(":")
    return [f"{PurePosixPath(path).stem}.{function}"]


class JobWorker(Construct):
    """The worker function, its log group, its least-privilege role and its SQS event source.

    ``zip_package`` set (a ``deploy.packaging: zip`` model): a zip function from the model function's package, whose
    root holds every ``functions/lambda_inference/*.py`` (``modelrail.lambda_zip``), on the same runtime; without
    SnapStart, which needs a published version behind an alias, for a function whose cold start is a small part of
    a slice of up to 15 minutes. Else the container image ``code``.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model_name: str,
        description: str,
        code: lambda_.DockerImageCode | None,
        memory_mb: int,
        ephemeral_storage_mib: int,
        environment: Mapping[str, str],
        model_bucket: s3.IBucket | None,
        model_prefixes: Sequence[str],
        job_bucket: s3.IBucket,
        queue: sqs.IQueue,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        zip_package: ZipPackage | None = None,
        endpoint_arn: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=removal_policy)
        skip_log_group_kms(self.log_group)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"modelrail job worker for model {model_name}: "
            + ("its endpoint" if endpoint_arn is not None else "its artifact")
            + ", job objects and its own queue",
        )
        self.log_group.grant_write(self.role)
        self._grant(model_bucket, model_prefixes, job_bucket, queue)
        if endpoint_arn is not None:
            # A GPU model's worker: InvokeEndpoint on the model's own endpoint only, the action and resource the
            # model's API routes use (SageMakerRoutes).
            self.role.add_to_policy(iam.PolicyStatement(actions=["sagemaker:InvokeEndpoint"], resources=[endpoint_arn]))
        common: dict[str, Any] = {
            "description": description,
            "role": self.role,
            "log_group": self.log_group,
            "memory_size": memory_mb,
            "timeout": cdk.Duration.seconds(WORKER_TIMEOUT_S),
            "ephemeral_storage_size": cdk.Size.mebibytes(ephemeral_storage_mib),
            "tracing": lambda_.Tracing.ACTIVE,
            "environment": dict(environment),
        }
        if zip_package is not None:
            self.function: lambda_.Function = lambda_.Function(
                self,
                "Function",
                runtime=lambda_.Runtime.PYTHON_3_12,
                handler=image_cmd(jobs.JOB_WORKER_HANDLER)[0],
                code=lambda_.Code.from_asset(
                    str(zip_package.path), asset_hash=zip_package.key, asset_hash_type=cdk.AssetHashType.CUSTOM
                ),
                architecture=lambda_.Architecture.ARM_64
                if zip_package.platform is LambdaPlatform.ARM64
                else lambda_.Architecture.X86_64,
                **common,
            )
            acknowledge(self.function, "L1", ZIP_RUNTIME_REASON)
        else:
            assert code is not None  # the stack passes the image code whenever it passes no zip package
            self.function = lambda_.DockerImageFunction(
                self, "Function", code=code, architecture=lambda_.Architecture.X86_64, **common
            )
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, cdk.CfnResource)
        cfn_function.add_metadata(SAM_RESOURCE_ID, sam_resource_id(model_name))  # `sam local invoke <model>-jobs`
        acknowledge(self.role, "IAM5", XRAY_REASON, findings=(XRAY_FINDING,))
        skip_lambda_checks(self.function)
        skip_checkov(self.function, "CKV_AWS_116", JOB_DLQ_REASON)
        skip_checkov(self.function, "CKV_AWS_115", JOB_CONCURRENCY_REASON)
        # Partial batch responses: the worker names a failed message instead of raising, so Lambda returns only
        # that one to the queue (Lambda guide, "Handling errors for an SQS event source": ReportBatchItemFailures).
        # CDK grants the role the consume actions (ReceiveMessage, DeleteMessage, ChangeMessageVisibility,
        # GetQueueAttributes) on this queue only.
        self.event_source = event_sources.SqsEventSource(
            queue,
            batch_size=BATCH_SIZE,
            report_batch_item_failures=True,
            max_concurrency=MAX_CONCURRENCY,
        )
        self.function.add_event_source(self.event_source)

    def _grant(
        self, model_bucket: s3.IBucket | None, prefixes: Sequence[str], job_bucket: s3.IBucket, queue: sqs.IQueue
    ) -> None:
        # The model's own artifact(s), read-only, as the model function reads them (OnnxFunction); ListBucket on
        # those prefixes so a missing key is 404 NoSuchKey, not 403 (S3 API reference, GetObject). None for a GPU
        # model's worker, which never loads the model.
        if model_bucket is not None and prefixes:
            grant_prefixes(self.role, model_bucket, prefixes, ["s3:GetObject"])
        # Job objects: read the input and state, write parts, checkpoints and results. The key layout has no model
        # segment (jobs/<id>/...), so the prefix is every job's; a worker only touches the job its message names,
        # and only the jobs API function (which checks the caller owns the job) sends those messages. results.jsonl
        # is a multipart upload: s3:PutObject covers CreateMultipartUpload, UploadPart and CompleteMultipartUpload,
        # AbortMultipartUpload (an upload cut short) is its own action (S3 user guide, "Multipart upload API and
        # permissions").
        grant_prefixes(
            self.role, job_bucket, [jobs.KEY_PREFIX], ["s3:GetObject", "s3:PutObject", "s3:AbortMultipartUpload"]
        )
        # Continuation: the worker re-enqueues its own job before its time runs out.
        queue.grant_send_messages(self.role)
        model_findings = (
            [bucket_objects_finding(model_bucket, p, self.role) for p in prefixes] if model_bucket is not None else []
        )
        acknowledge(
            self.role,
            "IAM5",
            "Object keys under the model's own artifact prefix (file names come from its manifest.json) and under "
            "the job bucket's jobs/ prefix (job ids are random, created per request).",
            findings=(*model_findings, bucket_objects_finding(job_bucket, jobs.KEY_PREFIX, self.role)),
        )

"""The jobs API function: one small zip function per stage answering every job route, for every model that takes
jobs (``routes.JOB_ROUTES``, ``routes.job_submit_route(name)``).

It writes a job's input and state to the job bucket, signs presigned URLs (PUT of the input, GET of the results)
and sends one message to the model's job queue. Like the catalog it runs on the Python managed runtime with the
runtime package as a layer (stdlib + boto3).

A presigned URL is signed with the function's role credentials, which are temporary: "If you created a presigned
URL using a temporary token, then the URL expires when the token expires, even if the URL was created with a later
expiration time" (S3 user guide, "Sharing objects with presigned URLs"). The URL's own expiry is what the jobs API
states, and only AWS can say how much of it the role session leaves.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from pathlib import Path, PurePosixPath

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.catalog_function import RUNTIME
from infra.constructs.job_queue import queue_arn, queue_url
from infra.grants import grant_prefixes
from infra.nag import XRAY_FINDING, XRAY_REASON, acknowledge, bucket_objects_finding
from infra.scanners import skip_lambda_checks, skip_log_group_kms
from modelrail.constants import ENV_API_AUTH
from modelrail.contract import jobs
from modelrail.contract.auth import AuthMode

MEMORY_MB = 256
TIMEOUT_S = 29
"""API Gateway's default integration timeout for a REST API: the function never needs longer, and a submit with
inline instances is at most the synchronous request size."""
LAMBDA_ENV_BYTES = 4 * 1024
"""'Function environment variables: 4 KB, for all environment variables associated with the function, in
aggregate' (Lambda quotas)."""
WORST_CASE_PSEUDO = {"region": "x" * 14, "url_suffix": "amazonaws.com.cn", "account": "0" * 12}
"""Longest values of the pseudo parameters a queue URL holds (Region codes such as ``ap-southeast-5`` or
``cn-northwest-1`` are 14 characters; the China partitions' URL suffix is ``amazonaws.com.cn``), for measuring the
environment at synth."""
S3_BUCKET_NAME_MAX = 63


class JobEnvironmentError(ValueError):
    """The jobs function's environment would pass Lambda's 4 KB; the message says how big and what to do."""


def code_dir(handler: str = jobs.JOB_API_HANDLER) -> str:
    """The directory zipped as the function's code, from the repository root (``functions/jobs``)."""
    return str(PurePosixPath(handler.partition(":")[0]).parent)


def lambda_handler(handler: str = jobs.JOB_API_HANDLER) -> str:
    """Lambda's ``module.function`` form of the handler, inside ``code_dir`` (``handler.handler``)."""
    path, _, function = handler.partition(":")
    return f"{PurePosixPath(path).stem}.{function}"


def job_api_env(
    *,
    bucket: str,
    queue_url_prefix: str,
    queues: Mapping[str, str],
    auth: AuthMode,
    extra: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """The jobs function's environment: the job bucket, the queues' URL prefix and each model's queue name (JSON;
    ``modelrail.jobs.handler.read_queues`` joins them), the auth mode (who owns a job: the API key id or the IAM
    caller), and ``extra`` (the stage's CORS origin and base path, as every function that answers HTTP gets them)."""
    return {
        jobs.ENV_JOB_BUCKET: bucket,
        jobs.ENV_JOB_QUEUE_URL_PREFIX: queue_url_prefix,
        jobs.ENV_JOB_QUEUES: json.dumps(dict(sorted(queues.items())), separators=(",", ":")),
        ENV_API_AUTH: auth.value,
        **(extra or {}),
    }


def env_bytes(environment: Mapping[str, str]) -> int:
    """Size of an environment as Lambda counts it (keys and values)."""
    return sum(len(key.encode()) + len(value.encode()) for key, value in environment.items())


def check_env_size(queue_names: Mapping[str, str], auth: AuthMode, extra: Mapping[str, str] | None = None) -> int:
    """The jobs function's environment size in the worst case (longest Region, URL suffix and bucket name), or
    ``JobEnvironmentError`` when that passes 4 KB."""
    prefix = "https://sqs.{region}.{url_suffix}/{account}/".format(**WORST_CASE_PSEUDO)
    size = env_bytes(
        job_api_env(
            bucket="x" * S3_BUCKET_NAME_MAX, queue_url_prefix=prefix, queues=queue_names, auth=auth, extra=extra
        )
    )
    if size > LAMBDA_ENV_BYTES:
        raise JobEnvironmentError(
            f"the jobs API function's environment would be up to {size} bytes with {len(queue_names)} models taking "
            f"jobs, over Lambda's {LAMBDA_ENV_BYTES}-byte limit for a function's environment: deploy fewer models "
            "per stage (`--context models=a,b,...`)"
        )
    return size


class JobsApi(Construct):
    """The jobs function, its log group and its role: job objects, presigning, and SendMessage to the job queues."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source_root: Path,
        layer: lambda_.ILayerVersion,
        job_bucket: s3.IBucket,
        queue_names: Mapping[str, str],
        auth: AuthMode,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        extra_environment: Mapping[str, str] | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        self.env_bytes = check_env_size(queue_names, auth, extra_environment)
        """The environment's size in the worst case, for the scale test's margins."""
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=removal_policy)
        skip_log_group_kms(self.log_group)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="modelrail jobs API function: job objects and the models' job queues only",
        )
        self.log_group.grant_write(self.role)
        # A presigned URL carries the signer's permissions: PutObject lets a caller upload the input, GetObject lets
        # them download the results; the function itself reads and writes job.json and input.jsonl.
        grant_prefixes(self.role, job_bucket, [jobs.KEY_PREFIX], ["s3:GetObject", "s3:PutObject"])
        if queue_names:
            self.role.add_to_policy(
                iam.PolicyStatement(
                    actions=["sqs:SendMessage"],
                    resources=[queue_arn(self, name) for _, name in sorted(queue_names.items())],
                )
            )
        acknowledge(
            self.role,
            "IAM5",
            "Object keys under the job bucket's jobs/ prefix: job ids are random and created per request.",
            findings=(bucket_objects_finding(job_bucket, jobs.KEY_PREFIX, self.role),),
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description="modelrail jobs API: /v1/models/{name}/jobs, /v1/jobs/{job_id}",
            runtime=RUNTIME,
            handler=lambda_handler(),
            code=lambda_.Code.from_asset(str(source_root / code_dir()), exclude=["__pycache__", "*.pyc"]),
            layers=[layer],
            role=self.role,
            log_group=self.log_group,
            memory_size=MEMORY_MB,
            timeout=cdk.Duration.seconds(TIMEOUT_S),
            tracing=lambda_.Tracing.ACTIVE,
            environment=job_api_env(
                bucket=job_bucket.bucket_name,
                queue_url_prefix=queue_url(self, ""),
                queues=queue_names,
                auth=auth,
                extra=extra_environment,
            ),
        )
        acknowledge(self.role, "IAM5", XRAY_REASON, findings=(XRAY_FINDING,))
        skip_lambda_checks(self.function)

"""One Lambda container function serving one CPU model from the shared image."""

from __future__ import annotations

import math

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.deployed_models import DeployedModel
from infra.nag import XRAY_FINDING, XRAY_REASON, acknowledge, bucket_objects_finding
from infra.scanners import skip_lambda_checks, skip_log_group_kms
from modelrail.contract.functions import model_function_env

MiB = 1024 * 1024
LIVE_ALIAS = "live"


def ephemeral_storage_mib(model: DeployedModel) -> int:
    """``/tmp`` for the artifact twice over (download + verified copy) plus headroom, within Lambda's bounds."""
    return min(10240, max(512, math.ceil(2 * model.size_bytes / MiB) + 256))


class OnnxFunction(Construct):
    """The function, its ``live`` alias (the API's target), its log group and its least-privilege role."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: DeployedModel,
        code: lambda_.DockerImageCode,
        bucket: s3.IBucket,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        metrics_namespace: str,
    ) -> None:
        super().__init__(scope, construct_id)
        manifest = model.manifest
        deploy = manifest.cpu_deploy  # memory, timeout and concurrency, defaults resolved by the schema
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=removal_policy)
        skip_log_group_kms(self.log_group)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"modelrail function for model {model.name}: its own logs and its own artifact only",
        )
        self.log_group.grant_write(self.role)
        # GetObject on this model version's keys only; the runtime reads manifest.json, then each file it lists.
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[bucket.arn_for_objects(f"{model.prefix}*")])
        )
        # Listing its own prefix only: without s3:ListBucket, S3 answers a missing key with 403 AccessDenied
        # instead of 404 NoSuchKey (S3 API reference, GetObject: "If you don't have the s3:ListBucket
        # permission, Amazon S3 returns an HTTP status code 403"), and the runtime would report "access
        # denied" for an artifact that simply is not there.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{model.prefix}*"]}},
            )
        )
        acknowledge(
            self.role,
            "IAM5",
            "Object keys under this model version's own artifact prefix, read-only: the artifact's file names "
            "come from its manifest.json, so they cannot be listed one by one in the policy.",
            findings=(bucket_objects_finding(bucket, model.prefix, self.role),),
        )
        self.function = lambda_.DockerImageFunction(
            self,
            "Function",
            code=code,
            description=f"modelrail {model.name} {model.version} ({manifest.task.value})",
            role=self.role,
            log_group=self.log_group,
            memory_size=deploy.memory_mb,
            timeout=cdk.Duration.seconds(deploy.timeout_s),
            ephemeral_storage_size=cdk.Size.mebibytes(ephemeral_storage_mib(model)),
            reserved_concurrent_executions=deploy.reserved_concurrency,
            tracing=lambda_.Tracing.ACTIVE,  # SPEC "Tracing"; CDK grants the role X-Ray's write actions
            architecture=lambda_.Architecture.X86_64,
            environment=model_function_env(
                model, bucket=bucket.bucket_name, metrics_namespace=metrics_namespace, timeout_s=deploy.timeout_s
            ),
        )
        acknowledge(self.role, "IAM5", XRAY_REASON, findings=(XRAY_FINDING,))
        skip_lambda_checks(self.function, reserved=deploy.reserved_concurrency is not None)
        # Recorded in the template so a deployment says exactly which bytes it serves.
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, cdk.CfnResource)
        cfn_function.add_metadata("modelrail:artifact", {"prefix": model.prefix, "sha256": model.file_sha256})
        self.alias = lambda_.Alias(
            self,
            "Live",
            alias_name=LIVE_ALIAS,
            version=self.function.current_version,
            provisioned_concurrent_executions=deploy.provisioned_concurrency,
        )

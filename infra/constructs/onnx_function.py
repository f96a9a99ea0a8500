"""One Lambda function serving one CPU model, with its releases: from the shared container image, or from the shared
zip package on the Python 3.12 managed runtime with SnapStart on published versions (``deploy.packaging: zip``).

Releases (``deploy.releases``): CloudFormation cannot re-create an *old* Lambda function version
(``AWS::Lambda::Version`` publishes the function's configuration as it is when the version resource is created), so
one function version per model version cannot be synthesized for versions whose configuration is not the current
one. Instead every function version serves every served model version on its pinned routes (artifacts are
immutable: ``/versions/1/...`` answers from exactly version 1's bytes on any function version), and function versions
differ in their *default* version (``MODELRAIL_MODEL_VERSION``, what unversioned routes answer): the current
configuration's default is the canary's version while a canary takes a share (percent > 0), else the live version.

- ``live`` alias (unversioned routes) on the current function version. With a canary of percent > 0, CodeDeploy
  shifts it from the previous function version (default = live) to the current one (default = canary): the
  canary's percent for ``bake_minutes``, then all of it, and rolls it back when the new version's alarms fire.
- one alias per served version (``v-<version>``, pinned routes) on the current function version, which knows every
  served version, so pinned routes answer during a canary too and CloudWatch shows pinned traffic per version.
- A fresh stack has no previous function version: CloudFormation creates ``live`` on the current version directly
  (the ``CodeDeployLambdaAliasUpdate`` update policy applies to updates). Deploy the live version first, then add
  the canary in a later deploy (docs/deploy.md, "Releases and canaries").
"""

from __future__ import annotations

import math
from typing import Any

import aws_cdk as cdk
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_codedeploy as codedeploy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.deployed_models import DeployedModel
from infra.grants import grant_prefixes
from infra.nag import XRAY_FINDING, XRAY_REASON, acknowledge, bucket_objects_finding
from infra.releases import LIVE_ALIAS, ReleaseSettingError, pinned_aliases
from infra.scanners import skip_lambda_checks, skip_log_group_kms
from modelrail.contract.functions import LAMBDA_ZIP_HANDLER, model_function_env
from modelrail.lambda_zip import LambdaPlatform, ZipPackage
from modelrail.routes import Route

__all__ = [
    "LIVE_ALIAS",
    "SNAPSTART_MAX_EPHEMERAL_MIB",
    "OnnxFunction",
    "PackagingError",
    "check_snapstart",
    "ephemeral_storage_mib",
]

MiB = 1024 * 1024
CANARY_PERIOD = cdk.Duration.minutes(1)
"""Canary alarms look at one-minute periods: a bake can be as short as one minute (``Canary.bake_minutes``)."""
CANARY_ERRORS_THRESHOLD = 1
"""Function errors (crashes, timeouts, out-of-memory) of the new version on ``live`` in one minute before rolling
back: the app answers bad input with a 4xx response, which Lambda counts as a success, so an error is a defect."""
CANARY_LATENCY_PERIODS = 2
"""Minutes in a row the new version's p99 duration must stay at or over the threshold: one slow minute of cold
starts of the fresh version alone does not roll it back."""
CANARY_LATENCY_SHARE = 0.8
"""p99 duration threshold as a share of the function's timeout (capped at the stage's p99 alarm, 10 s)."""
STAGE_LATENCY_P99_MS = 10_000
LAMBDA_ENVIRONMENT_BYTES = 4096
"""Lambda's limit on a function's environment variables, all together ("Lambda quotas": 4 KB)."""
UNRESOLVED_VALUE_BYTES = 63
"""What a value synth cannot know counts for: the bucket name, at most 63 characters (S3 bucket naming rules)."""
CODEDEPLOY_LAMBDA_POLICY = "AWSCodeDeployRoleForLambdaLimited"
SNAPSTART_MAX_EPHEMERAL_MIB = 512
"""'SnapStart does not support provisioned concurrency, Amazon Elastic File System (Amazon EFS), or ephemeral
storage greater than 512 MB.' ("Improving startup performance with Lambda SnapStart", Lambda developer guide)."""
SAM_RESOURCE_ID = "SamResourceId"
"""The metadata key SAM CLI takes a function's id from before anything else (its ``ResourceMetadataNormalizer``
prefers it to the CDK path, whose last part is ``Function`` for every model), so ``sam local invoke <model>``
names the model; SAM finds a function in a nested stack by its id alone ("Locally testing AWS CDK applications
with AWS SAM")."""


ZIP_RUNTIME_REASON = (
    "Python 3.12 on purpose, not the newest runtime: the zip package's wheels are installed for exactly this "
    "Python (functions/lambda_inference/requirements.txt, pip --python-version 3.12), the same Python as the "
    "container image, and 3.12 is the first Python runtime with SnapStart."
)


class PackagingError(ValueError):
    """A model cannot be deployed with the packaging it asks for; the message says why and what to change."""


def ephemeral_storage_mib(model: DeployedModel) -> int:
    """``/tmp`` for every served artifact twice over (download + verified copy) plus headroom, within Lambda's
    bounds: any environment may load every served version (the default at start, the others on their first pinned
    request)."""
    return min(10240, max(512, math.ceil(2 * model.served_bytes / MiB) + 256))


def environment_bytes(environment: dict[str, str]) -> int:
    """The size Lambda counts for an environment, with each deploy-time value at its longest."""
    return sum(
        len(key.encode()) + (UNRESOLVED_VALUE_BYTES if cdk.Token.is_unresolved(value) else len(value.encode()))
        for key, value in environment.items()
    )


def canary_latency_threshold_ms(timeout_s: int) -> int:
    """The p99 duration (ms) at which a canary rolls back."""
    return min(STAGE_LATENCY_P99_MS, int(timeout_s * 1000 * CANARY_LATENCY_SHARE))


def check_snapstart(model: DeployedModel, ephemeral_mib: int) -> None:
    """Refuse at synth what SnapStart does not support, rather than fail at deploy."""
    conflict = model.manifest.cpu_deploy.snapstart_conflict()
    if conflict is not None:
        raise PackagingError(f"model {model.name}: {conflict}")
    if ephemeral_mib > SNAPSTART_MAX_EPHEMERAL_MIB:
        raise PackagingError(
            f"model {model.name}: its served artifacts ({model.served_bytes / MiB:.0f} MiB) need {ephemeral_mib} MiB "
            f"of /tmp (twice their size plus 256 MiB), but Lambda SnapStart supports at most "
            f"{SNAPSTART_MAX_EPHEMERAL_MIB} MB of ephemeral storage, so it cannot be a zip function: set "
            "`deploy.packaging: image` in its model.yaml"
        )


class OnnxFunction(Construct):
    """The function, its ``live`` alias (the API's target), its log group and its least-privilege role."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: DeployedModel,
        code: lambda_.DockerImageCode | None,
        bucket: s3.IBucket,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
        metrics_namespace: str,
        zip_package: ZipPackage | None = None,
    ) -> None:
        """``zip_package`` set: the zip function with SnapStart; else the container image ``code``."""
        super().__init__(scope, construct_id)
        manifest = model.manifest
        deploy = manifest.cpu_deploy  # memory, timeout and concurrency, defaults resolved by the schema
        ephemeral_mib = ephemeral_storage_mib(model)
        if zip_package is not None:
            check_snapstart(model, ephemeral_mib)
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=removal_policy)
        skip_log_group_kms(self.log_group)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"modelrail function for model {model.name}: its own logs and its served artifacts only",
        )
        self.log_group.grant_write(self.role)
        prefixes = [served.prefix for served in model.served.values()]
        # GetObject on the served versions' keys only (the runtime reads manifest.json, then each file it lists),
        # and listing those prefixes only, so a missing artifact is "not found", not "access denied".
        grant_prefixes(self.role, bucket, prefixes, ["s3:GetObject"])
        acknowledge(
            self.role,
            "IAM5",
            "Object keys under the served versions' own artifact prefixes, read-only: an artifact's file names "
            "come from its manifest.json, so they cannot be listed one by one in the policy.",
            findings=tuple(bucket_objects_finding(bucket, prefix, self.role) for prefix in prefixes),
        )
        environment = model_function_env(
            list(model.served.values()),
            default_version=model.default_version,
            bucket=bucket.bucket_name,
            metrics_namespace=metrics_namespace,
            timeout_s=deploy.timeout_s,
        )
        size = environment_bytes(environment)
        if size > LAMBDA_ENVIRONMENT_BYTES:  # refused here rather than by CloudFormation halfway through a deploy
            raise ReleaseSettingError(
                f"models/{model.name}/model.yaml: field `deploy.releases.served` lists {len(model.served)} versions; "
                f"the function's environment would take {size} bytes, over Lambda's {LAMBDA_ENVIRONMENT_BYTES}: "
                "serve fewer versions at once"
            )
        common: dict[str, Any] = {
            "description": f"modelrail {model.name} {model.default_version} ({manifest.task.value})",
            "role": self.role,
            "log_group": self.log_group,
            "memory_size": deploy.memory_mb,
            "timeout": cdk.Duration.seconds(deploy.timeout_s),
            "ephemeral_storage_size": cdk.Size.mebibytes(ephemeral_mib),
            "reserved_concurrent_executions": deploy.reserved_concurrency,
            "tracing": lambda_.Tracing.ACTIVE,  # SPEC "Tracing"; CDK grants the role X-Ray's write actions
            "architecture": lambda_.Architecture.ARM_64
            if zip_package is not None and zip_package.platform is LambdaPlatform.ARM64
            else lambda_.Architecture.X86_64,
            "environment": environment,
        }
        if zip_package is not None:
            self.function: lambda_.Function = lambda_.Function(
                self,
                "Function",
                runtime=lambda_.Runtime.PYTHON_3_12,
                handler=LAMBDA_ZIP_HANDLER,
                # The folder's own hash would read 200 MB at every synth; the package key already hashes every
                # input, and an unchanged key is an unchanged asset (no re-upload, no new version).
                code=lambda_.Code.from_asset(
                    str(zip_package.path), asset_hash=zip_package.key, asset_hash_type=cdk.AssetHashType.CUSTOM
                ),
                # Lambda initializes the function (imports, model fetch, session) when a version is published and
                # restores new environments from that snapshot; the alias below points at a published version.
                snap_start=lambda_.SnapStartConf.ON_PUBLISHED_VERSIONS,
                **common,
            )
            acknowledge(self.function, "L1", ZIP_RUNTIME_REASON)
        else:
            assert code is not None  # the stack passes the image code whenever it passes no zip package
            self.function = lambda_.DockerImageFunction(self, "Function", code=code, **common)
        acknowledge(self.role, "IAM5", XRAY_REASON, findings=(XRAY_FINDING,))
        skip_lambda_checks(self.function, reserved=deploy.reserved_concurrency is not None)
        # Recorded in the template so a deployment says exactly which bytes it serves.
        cfn_function = self.function.node.default_child
        assert isinstance(cfn_function, cdk.CfnResource)
        cfn_function.add_metadata(
            "modelrail:artifacts",
            {version: {"prefix": s.prefix, "sha256": s.file_sha256} for version, s in model.served.items()},
        )
        cfn_function.add_metadata(SAM_RESOURCE_ID, model.name)
        version = self.function.current_version
        self.alias = lambda_.Alias(
            self,
            "Live",
            alias_name=LIVE_ALIAS,
            version=version,
            provisioned_concurrent_executions=deploy.provisioned_concurrency,
        )
        # Pinned routes run on demand: provisioned concurrency stays on `live`, the alias that takes the traffic.
        self.pinned: dict[str, lambda_.Alias] = {
            served: lambda_.Alias(self, f"Pinned-{alias}", alias_name=alias, version=version)
            for served, alias in pinned_aliases(model).items()
        }
        self.canary_alarms: list[cw.Alarm] = []
        self.application: codedeploy.LambdaApplication | None = None
        self.deployment_group: codedeploy.LambdaDeploymentGroup | None = None
        if model.rollout is not None:
            self._rollout(model, deploy.timeout_s)

    def alias_for(self, route: Route) -> lambda_.Alias:
        """The alias a route invokes: its version's pinned alias, or ``live`` for an unversioned route."""
        return self.alias if route.version is None else self.pinned[route.version]

    def _new_version_metric(self, metric_name: str, statistic: str) -> cw.Metric:
        """A metric of the current function version's invocations through ``live`` only.

        Lambda's ``ExecutedVersion`` dimension is "a combination of alias and version. Use the ExecutedVersion
        dimension to compare error rates for two versions of a function that are both targets of a weighted alias"
        (Lambda developer guide, "Working with Lambda function metrics"; ``Resource`` is ``<function>:<alias>``).
        During a CodeDeploy canary ``live`` is exactly such a weighted alias; pinned aliases are left out.
        """
        name = self.function.function_name
        return cw.Metric(
            namespace="AWS/Lambda",
            metric_name=metric_name,
            dimensions_map={
                "FunctionName": name,
                "Resource": f"{name}:{LIVE_ALIAS}",
                "ExecutedVersion": self.function.current_version.version,
            },
            statistic=statistic,
            period=CANARY_PERIOD,
        )

    def _rollout(self, model: DeployedModel, timeout_s: int) -> None:
        """CodeDeploy shifts ``live`` to the current function version: ``percent`` for ``bake_minutes``, then all;
        it rolls back when the deployment fails or an alarm on the new version fires.

        The ``CodeDeployLambdaAliasUpdate`` update policy CDK sets on ``live`` makes CloudFormation hand the alias's
        version change to this deployment group ("To perform an CodeDeploy deployment when the version changes on an
        AWS::Lambda::Alias resource, use the CodeDeployLambdaAliasUpdate update policy", CloudFormation user guide,
        UpdatePolicy attribute). The group's ``AutoRollbackConfiguration`` lists ``DEPLOYMENT_FAILURE`` and
        ``DEPLOYMENT_STOP_ON_ALARM`` (CloudFormation, AWS::CodeDeploy::DeploymentGroup AutoRollbackConfiguration).
        SnapStart (zip packaging) is compatible: it applies to published versions, and both aliases point at one.
        """
        rollout = model.rollout
        assert rollout is not None
        latency_ms = canary_latency_threshold_ms(timeout_s)
        self.canary_alarms = [
            self._new_version_metric("Errors", "Sum").create_alarm(
                self,
                "CanaryErrors",
                alarm_description=f"model {model.name}: the new function version (default {rollout.version}) "
                "failed invocations on `live` during its canary; CodeDeploy rolls it back",
                threshold=CANARY_ERRORS_THRESHOLD,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            ),
            self._new_version_metric("Duration", "p99").create_alarm(
                self,
                "CanaryLatencyP99",
                alarm_description=f"model {model.name}: the new function version's p99 duration on `live` is at "
                f"or over {latency_ms} ms during its canary; CodeDeploy rolls it back",
                threshold=latency_ms,
                evaluation_periods=CANARY_LATENCY_PERIODS,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            ),
        ]
        self.application = codedeploy.LambdaApplication(self, "Releases")
        config = codedeploy.LambdaDeploymentConfig(
            self,
            "Canary",
            traffic_routing=codedeploy.TimeBasedCanaryTrafficRouting(
                interval=cdk.Duration.minutes(rollout.bake_minutes), percentage=rollout.percent
            ),
        )
        self.deployment_group = codedeploy.LambdaDeploymentGroup(
            self,
            "Rollout",
            application=self.application,
            alias=self.alias,
            deployment_config=config,
            alarms=self.canary_alarms,
            auto_rollback=codedeploy.AutoRollbackConfig(
                failed_deployment=True, deployment_in_alarm=True, stopped_deployment=True
            ),
        )
        acknowledge(
            self.deployment_group,
            "IAM4",
            "CodeDeploy's service role for Lambda deployments: the AWS managed AWSCodeDeployRoleForLambdaLimited "
            "policy is what the CodeDeploy user guide gives for it (update aliases, read alarms, invoke hooks) and "
            "CDK attaches it; it grants no access to data.",
            findings=(f"Policy::arn:<AWS::Partition>:iam::aws:policy/service-role/{CODEDEPLOY_LAMBDA_POLICY}",),
        )

"""A SageMaker real-time endpoint serving one GPU model: a production variant per served version, weighted by the
release (``infra/releases.py``), target-tracking autoscaling per variant, and blue/green updates that roll back on
alarms.

Each served version is its own SageMaker Model (the GPU image, that version's artifact prefix as model data, an
environment naming exactly that version) behind its own variant, so a pinned route reaches exactly its version by
``TargetVariant`` and unversioned traffic is split by the variant weights (live ``100 - p``, canary ``p``, other
served versions 0).

Updates: SageMaker updates an endpoint blue/green, and its deployment guardrails (traffic shifting with a baking
period, auto-rollback alarms) need the new endpoint configuration to keep "the same variant name as the old endpoint
configuration" (SageMaker developer guide, "Deployment guardrails" > "Exclusions"). So the set of variants (the
served versions) and the instance type are part of the endpoint's identity: changing either creates a new endpoint
(CloudFormation creates it, the API is cut over once it is InService, the old one is deleted in clean-up); every
other change (weights: a canary's percent, a new live version among the served ones; the image; scaling) is an
UpdateEndpoint with the guardrails below.
"""

from __future__ import annotations

import hashlib
import json

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_cloudwatch as cw
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from infra.deployed_models import DeployedModel
from infra.grants import grant_prefixes
from infra.nag import SAGEMAKER_LOGS, acknowledge, bucket_objects_finding
from infra.releases import ReleaseSettingError, variant_names, variant_weights
from modelrail.constants import SAGEMAKER_MODEL_DIR
from modelrail.contract.functions import gpu_container_env
from modelrail.gpu_platform import GpuPlatformError, check_variant

SAGEMAKER_INSTANCE_METRICS = "/aws/sagemaker/Endpoints"
"""Namespace of the per-instance metrics (CPU, GPU, memory, disk) SageMaker publishes for an endpoint."""
MAX_BAKE_S = 3600
"""SageMaker's longest baking period (TrafficRoutingConfig ``WaitIntervalInSeconds``: 0..3600)."""
DEFAULT_BAKE_S = 600
"""Baking period of an update without a canary: the manifest's default ``bake_minutes`` (10)."""
PROVISIONING_ALLOWANCE_S = 3600
"""Time allowed on top of the bake for the new fleet to start (``MaximumExecutionTimeoutInSeconds``: 600..28800)."""
ROLLBACK_5XX_THRESHOLD = 1
LATENCY_P99_MS = 10_000
"""The stage's p99 latency alarm (``infra/constructs/observability.py``), in SageMaker's microseconds below."""
ENDPOINT_NAME_MAX = 63


def endpoint_identity(stage_stack: str, model: DeployedModel, variants: dict[str, str]) -> str:
    """What makes a new endpoint rather than an update: stage, model, instance type and the set of variants."""
    document = [stage_stack, model.name, model.manifest.gpu_deploy.instance_type, sorted(variants.values())]
    return hashlib.sha256(json.dumps(document).encode()).hexdigest()[:12]


def bake_seconds(model: DeployedModel) -> int:
    """The baking period of an endpoint update: the canary's ``bake_minutes`` (at most 60), else the default."""
    rollout = model.rollout
    if rollout is None:
        return DEFAULT_BAKE_S
    seconds = rollout.bake_minutes * 60
    if seconds > MAX_BAKE_S:
        raise ReleaseSettingError(
            f"models/{model.name}/model.yaml: field `deploy.releases.canary.bake_minutes` is {rollout.bake_minutes}, "
            f"but a SageMaker endpoint bakes an update for at most {MAX_BAKE_S // 60} minutes "
            "(TrafficRoutingConfig WaitIntervalInSeconds): use 60 or less"
        )
    return seconds


class GpuEndpoint(Construct):
    """Model (GPU image + the artifact prefix as uncompressed model data), EndpointConfig, Endpoint, scaling."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        model: DeployedModel,
        image: ecr_assets.DockerImageAsset,
        bucket: s3.IBucket,
        metrics_namespace: str,
    ) -> None:
        super().__init__(scope, construct_id)
        deploy = model.manifest.gpu_deploy
        scaling = deploy.autoscaling
        try:  # the NVIDIA driver comes with the AMI: refuse a pairing AWS does not list or the image cannot run on
            ami = check_variant(deploy.instance_type, deploy.inference_ami_version)
        except GpuPlatformError as exc:
            raise GpuPlatformError(f"models/{model.name}/model.yaml: {exc}") from None
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("sagemaker.amazonaws.com"),
            description=f"modelrail SageMaker model {model.name}: its served artifacts, image and logs only",
        )
        self._grant(model, image, bucket, metrics_namespace)
        self.variants = variant_names(model)
        """Served version -> its production variant name."""
        weights = variant_weights(model)
        bake_s = bake_seconds(model)
        # SageMaker copies the S3 prefix to /opt/ml/model before the container starts; the runtime still
        # verifies every file against manifest.json, whose sha256 is pinned here. The container serves from that
        # directory (MODELRAIL_MODEL_DIR, no bucket) and writes metrics as log lines, so it makes no network calls:
        # network isolation ("no inbound or outbound network calls can be made to or from the model container",
        # SageMaker API CreateModel EnableNetworkIsolation) leaves the platform's model download and image pull.
        self.models: dict[str, sagemaker.CfnModel] = {}
        for version, served in model.served.items():
            cfn_model = sagemaker.CfnModel(
                self,
                f"Model-{self.variants[version]}",
                execution_role_arn=self.role.role_arn,
                enable_network_isolation=True,
                primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                    image=image.image_uri,
                    model_data_source=sagemaker.CfnModel.ModelDataSourceProperty(
                        s3_data_source=sagemaker.CfnModel.S3DataSourceProperty(
                            s3_uri=f"s3://{bucket.bucket_name}/{served.prefix}",
                            s3_data_type="S3Prefix",
                            compression_type="None",
                        )
                    ),
                    environment=gpu_container_env(
                        served,
                        model_dir=SAGEMAKER_MODEL_DIR,
                        metrics_namespace=metrics_namespace,
                        require_cuda=not deploy.cpu_fallback,
                    ),
                ),
            )
            cfn_model.node.add_dependency(self.role)
            cfn_model.add_metadata("modelrail:artifact", {"prefix": served.prefix, "sha256": served.file_sha256})
            self.models[version] = cfn_model
        self.model = self.models[model.live_version]
        self.config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=self.variants[version],
                    model_name=self.models[version].attr_model_name,
                    initial_instance_count=scaling.min_instances,
                    instance_type=deploy.instance_type,
                    initial_variant_weight=weights[version],
                    inference_ami_version=ami.version,
                )
                for version in model.served
            ],
        )
        acknowledge(
            self.config,
            "SM2",
            "GPU instance types (g4dn, g5, ...) have NVMe instance storage, which is hardware-encrypted; SageMaker "
            "rejects a KmsKeyId for them, so there is no volume key to set.",
        )
        # SageMaker refuses an UpdateEndpoint that changes the instance type of a variant registered for auto
        # scaling ("Update endpoints that use auto scaling"), and its guardrails need the same variant names (see
        # the module docstring): both are part of the endpoint's identity, in its logical id and its name. Any other
        # change is an update that keeps each variant's current instance count (RetainAllVariantProperties:
        # "production variants with the same name are updated with the most recent DesiredInstanceCount ...
        # regardless of the values of the InitialInstanceCount field in the new EndpointConfig"), so a deploy never
        # scales a busy endpoint down, but takes the new weights from the template ("DesiredWeight: Overrides the
        # existing variant weights using the InitialVariantWeight values", SageMaker API, VariantProperty).
        stage_stack = _stage_stack(self).stack_name
        identity = endpoint_identity(stage_stack, model, self.variants)
        self.endpoint_name = f"{model.name}-{identity}"[:ENDPOINT_NAME_MAX]
        # The rollback alarms name the endpoint by its literal name, and the endpoint names them: neither refers to
        # the other's resource, so the alarms exist before the endpoint that lists them.
        self.rollback_alarms = self._rollback_alarms(model, stage_stack)
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            f"Endpoint-{deploy.instance_type.replace('.', '-')}-{identity}",
            endpoint_name=self.endpoint_name,
            endpoint_config_name=self.config.attr_endpoint_config_name,
            retain_all_variant_properties=True,
            exclude_retained_variant_properties=[
                sagemaker.CfnEndpoint.VariantPropertyProperty(variant_property_type="DesiredWeight")
            ],
            # Blue/green with a baking period: if an alarm fires while the new fleet bakes, "all endpoint traffic
            # rolls back to the blue fleet" (SageMaker developer guide, "Blue/Green Deployments"). All at once, not
            # canary: a canary step is counted in instances, "less than or equal to 50% of the variant's total
            # instance count" (TrafficRoutingConfig CanarySize), which a one-instance variant cannot have; the
            # manifest's canary share is the variant weight instead.
            deployment_config=sagemaker.CfnEndpoint.DeploymentConfigProperty(
                blue_green_update_policy=sagemaker.CfnEndpoint.BlueGreenUpdatePolicyProperty(
                    traffic_routing_configuration=sagemaker.CfnEndpoint.TrafficRoutingConfigProperty(
                        type="ALL_AT_ONCE", wait_interval_in_seconds=bake_s
                    ),
                    maximum_execution_timeout_in_seconds=bake_s + PROVISIONING_ALLOWANCE_S,
                ),
                auto_rollback_configuration=sagemaker.CfnEndpoint.AutoRollbackConfigProperty(
                    alarms=[
                        sagemaker.CfnEndpoint.AlarmProperty(alarm_name=alarm.alarm_name)
                        for alarm in self.rollback_alarms
                    ]
                ),
            ),
        )
        for alarm in self.rollback_alarms:
            self.endpoint.node.add_dependency(alarm)
        self.endpoint_arn = self.endpoint.ref
        for variant in self.variants.values():
            target = appscaling.ScalableTarget(
                self,
                f"Scaling-{variant}",
                service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
                resource_id=f"endpoint/{self.endpoint_name}/variant/{variant}",
                scalable_dimension="sagemaker:variant:DesiredInstanceCount",
                min_capacity=scaling.min_instances,
                max_capacity=scaling.max_instances,
            )
            target.node.add_dependency(self.endpoint)
            target.scale_to_track_metric(
                "InvocationsPerInstance",
                predefined_metric=appscaling.PredefinedMetric.SAGEMAKER_VARIANT_INVOCATIONS_PER_INSTANCE,
                target_value=scaling.target_invocations_per_instance,
                scale_in_cooldown=cdk.Duration.minutes(5),
                scale_out_cooldown=cdk.Duration.minutes(1),
            )

    def _variant_metrics(self, metric_name: str, statistic: str) -> dict[str, cw.IMetric]:
        return {
            f"v{index}": cw.Metric(
                namespace="AWS/SageMaker",
                metric_name=metric_name,
                dimensions_map={"EndpointName": self.endpoint_name, "VariantName": variant},
                statistic=statistic,
                period=cdk.Duration.minutes(1),
            )
            for index, variant in enumerate(self.variants.values())
        }

    def _rollback_alarms(self, model: DeployedModel, stage_stack: str) -> list[cw.Alarm]:
        """5xx answers and p99 model latency of the endpoint's variants, watched while an update bakes."""
        errors = cw.MathExpression(
            expression="SUM(METRICS())",
            using_metrics=self._variant_metrics("Invocation5XXErrors", "Sum"),
            period=cdk.Duration.minutes(1),
            label="5xx answers, all variants",
        )
        latency = cw.MathExpression(
            expression="MAX(METRICS())",
            using_metrics=self._variant_metrics("ModelLatency", "p99"),
            period=cdk.Duration.minutes(1),
            label="p99 model latency (microseconds), slowest variant",
        )
        name = f"{stage_stack}-{self.endpoint_name}"
        return [
            errors.create_alarm(
                self,
                "Rollback5xx",
                alarm_name=f"{name}-rollback-5xx",
                alarm_description=f"model {model.name}: the endpoint answered 5xx while an update baked; SageMaker "
                "rolls the update back",
                threshold=ROLLBACK_5XX_THRESHOLD,
                evaluation_periods=1,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            ),
            latency.create_alarm(
                self,
                "RollbackLatencyP99",
                alarm_name=f"{name}-rollback-latency-p99",
                alarm_description=f"model {model.name}: p99 model latency at or over {LATENCY_P99_MS} ms while an "
                "update baked; SageMaker rolls the update back",
                threshold=LATENCY_P99_MS * 1000,
                evaluation_periods=2,
                comparison_operator=cw.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
                treat_missing_data=cw.TreatMissingData.NOT_BREACHING,
            ),
        ]

    def _grant(
        self, model: DeployedModel, image: ecr_assets.DockerImageAsset, bucket: s3.IBucket, metrics_namespace: str
    ) -> None:
        stack = cdk.Stack.of(self)
        prefixes = [served.prefix for served in model.served.values()]
        grant_prefixes(self.role, bucket, prefixes, ["s3:GetObject"])
        image.repository.grant_pull(self.role)
        # SageMaker's execution role publishes the endpoint's metrics ("SageMaker needs your permission to ...
        # publish metrics to Amazon CloudWatch"; CreateModel API execution role permissions). PutMetricData has
        # no resource-level permissions, so it is bounded by namespace instead: SageMaker's per-instance metrics
        # and the runtime's own.
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": [SAGEMAKER_INSTANCE_METRICS, metrics_namespace]}},
            )
        )
        endpoint_logs = stack.format_arn(
            service="logs",
            resource="log-group",
            resource_name="/aws/sagemaker/Endpoints/*",
            arn_format=cdk.ArnFormat.COLON_RESOURCE_NAME,
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogGroup", "logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
                resources=[endpoint_logs],
            )
        )
        acknowledge(
            self.role,
            "IAM5",
            "Object keys under the served versions' own prefixes, and SageMaker's endpoint log groups, which are named "
            "after an endpoint that does not exist yet when the role is made; ECR GetAuthorizationToken is "
            "account-wide by design, and CloudWatch PutMetricData has no resource-level permissions either (it is "
            "bounded by cloudwatch:namespace instead).",
            findings=(
                *(bucket_objects_finding(bucket, prefix, self.role) for prefix in prefixes),
                f"Resource::{SAGEMAKER_LOGS}",
                "Resource::*",
            ),
        )


def _stage_stack(scope: Construct) -> cdk.Stack:
    """The stage's top-level stack (a model's resources live in its nested stack)."""
    stack = cdk.Stack.of(scope)
    while stack.nested_stack_parent is not None:
        stack = stack.nested_stack_parent
    return stack

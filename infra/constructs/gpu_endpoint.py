"""A SageMaker real-time endpoint serving one GPU model, with target-tracking autoscaling."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_applicationautoscaling as appscaling
from aws_cdk import aws_ecr_assets as ecr_assets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sagemaker as sagemaker
from constructs import Construct

from infra.deployed_models import DeployedModel
from infra.nag import SAGEMAKER_LOGS, acknowledge, bucket_objects_finding
from modelrail.constants import SAGEMAKER_MODEL_DIR
from modelrail.contract.functions import gpu_container_env
from modelrail.gpu_platform import GpuPlatformError, check_variant

VARIANT_NAME = "AllTraffic"
SAGEMAKER_INSTANCE_METRICS = "/aws/sagemaker/Endpoints"
"""Namespace of the per-instance metrics (CPU, GPU, memory, disk) SageMaker publishes for an endpoint."""


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
            description=f"modelrail SageMaker model {model.name}: its own artifact, image and logs only",
        )
        self._grant(model, image, bucket, metrics_namespace)
        # SageMaker copies the S3 prefix to /opt/ml/model before the container starts; the runtime still
        # verifies every file against manifest.json, whose sha256 is pinned here. The container serves from that
        # directory (MODELRAIL_MODEL_DIR, no bucket) and writes metrics as log lines, so it makes no network calls:
        # network isolation ("no inbound or outbound network calls can be made to or from the model container",
        # SageMaker API CreateModel EnableNetworkIsolation) leaves the platform's model download and image pull.
        self.model = sagemaker.CfnModel(
            self,
            "Model",
            execution_role_arn=self.role.role_arn,
            enable_network_isolation=True,
            primary_container=sagemaker.CfnModel.ContainerDefinitionProperty(
                image=image.image_uri,
                model_data_source=sagemaker.CfnModel.ModelDataSourceProperty(
                    s3_data_source=sagemaker.CfnModel.S3DataSourceProperty(
                        s3_uri=f"s3://{bucket.bucket_name}/{model.prefix}",
                        s3_data_type="S3Prefix",
                        compression_type="None",
                    )
                ),
                environment=gpu_container_env(
                    model,
                    model_dir=SAGEMAKER_MODEL_DIR,
                    metrics_namespace=metrics_namespace,
                    require_cuda=not deploy.cpu_fallback,
                ),
            ),
        )
        self.model.node.add_dependency(self.role)
        self.model.add_metadata("modelrail:artifact", {"prefix": model.prefix, "sha256": model.file_sha256})
        self.config = sagemaker.CfnEndpointConfig(
            self,
            "Config",
            production_variants=[
                sagemaker.CfnEndpointConfig.ProductionVariantProperty(
                    variant_name=VARIANT_NAME,
                    model_name=self.model.attr_model_name,
                    initial_instance_count=scaling.min_instances,
                    instance_type=deploy.instance_type,
                    initial_variant_weight=1,
                    inference_ami_version=ami.version,
                )
            ],
        )
        acknowledge(
            self.config,
            "SM2",
            "GPU instance types (g4dn, g5, ...) have NVMe instance storage, which is hardware-encrypted; SageMaker "
            "rejects a KmsKeyId for them, so there is no volume key to set.",
        )
        # SageMaker refuses an UpdateEndpoint that changes the instance type of a variant registered for auto
        # scaling ("Update endpoints that use auto scaling"). The instance type is therefore part of the endpoint's
        # identity: changing it creates a new endpoint (and scalable target), the API is cut over to it once it is
        # InService, and CloudFormation deletes the old one in its clean-up phase. Any other change is an update
        # that keeps the variant's current instance count (RetainAllVariantProperties: "production variants with
        # the same name are updated with the most recent DesiredInstanceCount ... regardless of the values of the
        # InitialInstanceCount field in the new EndpointConfig"), so a deploy never scales a busy endpoint down.
        self.endpoint = sagemaker.CfnEndpoint(
            self,
            f"Endpoint-{deploy.instance_type.replace('.', '-')}",
            endpoint_config_name=self.config.attr_endpoint_config_name,
            retain_all_variant_properties=True,
        )
        self.endpoint_name = self.endpoint.attr_endpoint_name
        self.endpoint_arn = self.endpoint.ref
        target = appscaling.ScalableTarget(
            self,
            "Scaling",
            service_namespace=appscaling.ServiceNamespace.SAGEMAKER,
            resource_id=f"endpoint/{self.endpoint_name}/variant/{VARIANT_NAME}",
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

    def _grant(
        self, model: DeployedModel, image: ecr_assets.DockerImageAsset, bucket: s3.IBucket, metrics_namespace: str
    ) -> None:
        stack = cdk.Stack.of(self)
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[bucket.arn_for_objects(f"{model.prefix}*")])
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["s3:ListBucket"],
                resources=[bucket.bucket_arn],
                conditions={"StringLike": {"s3:prefix": [f"{model.prefix}*"]}},
            )
        )
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
            "Object keys under this model version's own prefix, and SageMaker's endpoint log groups, which are named "
            "after an endpoint that does not exist yet when the role is made; ECR GetAuthorizationToken is "
            "account-wide by design, and CloudWatch PutMetricData has no resource-level permissions either (it is "
            "bounded by cloudwatch:namespace instead).",
            findings=(
                bucket_objects_finding(bucket, model.prefix, self.role),
                f"Resource::{SAGEMAKER_LOGS}",
                "Resource::*",
            ),
        )

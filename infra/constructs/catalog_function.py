"""The catalog: a small zip function answering ``routes.CATALOG_ROUTES`` from the deployed-model list.

The list is a JSON object in the model bucket (``catalog/models-<revision>.json``, uploaded by a
BucketDeployment whose JSON source resolves the GPU models' endpoint names at deploy time), which the function
reads once per cold start with ``s3:GetObject`` on that one key: the list no longer grows the function's
environment, which Lambda caps at 4 KB ("Lambda quotas").

It imports only the stdlib modules of the ``modelrail`` package, which it gets as a published LayerVersion
built from ``layers/``. The layer is prepared at synth by copying the package into ``python/`` (no Docker, no
network); Docker bundling stays as CDK's fallback and does the same with pip.
"""

from __future__ import annotations

import shutil
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import jsii
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.deployed_models import DeployedModel
from infra.nag import XRAY_FINDING, XRAY_REASON, acknowledge
from infra.scanners import skip_lambda_checks, skip_log_group_kms
from modelrail.contract import functions
from modelrail.contract.auth import AuthMode
from modelrail.contract.catalog_entry import CatalogEntry

RUNTIME = lambda_.Runtime.PYTHON_3_14
PACKAGE = "modelrail"
LAYER_SOURCE = Path("layers")


def catalog_entries(models: Sequence[DeployedModel], endpoints: Mapping[str, str]) -> list[dict[str, str]]:
    """What ``GET /v1/models`` lists; GPU models name their endpoint so the catalog can report readiness."""
    return [
        CatalogEntry(
            model.name,
            model.live_version,
            model.manifest.task.value,
            model.manifest.deploy.target.value,
            endpoints.get(model.name),
        ).as_json()
        for model in models
    ]


@jsii.implements(cdk.ILocalBundling)
class CopyPackage:
    """Local bundling: copy the pure-Python package into the layer's ``python/`` folder."""

    def __init__(self, source: Path) -> None:
        self.source = source

    def try_bundle(self, output_dir: str, *_args: Any, **_options: Any) -> bool:
        """Copy the package; ``True`` tells CDK no Docker bundling is needed."""
        shutil.copytree(
            self.source / PACKAGE,
            Path(output_dir) / "python" / PACKAGE,
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
            dirs_exist_ok=True,
        )
        return True


class CatalogFunction(Construct):
    """The runtime layer and the catalog function."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        source_root: Path,
        models: Sequence[DeployedModel],
        bucket: s3.IBucket,
        endpoints: Mapping[str, tuple[str, str]],
        auth: AuthMode,
        log_retention: logs.RetentionDays,
        removal_policy: cdk.RemovalPolicy,
    ) -> None:
        super().__init__(scope, construct_id)
        layer_source = source_root / LAYER_SOURCE
        self.layer = lambda_.LayerVersion(
            self,
            "RuntimeLayer",
            description="modelrail runtime package (stdlib modules usable without its dependencies)",
            compatible_runtimes=[RUNTIME],
            code=lambda_.Code.from_asset(
                str(layer_source),
                asset_hash_type=cdk.AssetHashType.SOURCE,
                exclude=["**/__pycache__", "*.egg-info", "build", "dist"],
                bundling=cdk.BundlingOptions(
                    image=RUNTIME.bundling_image,
                    local=CopyPackage(layer_source),
                    command=[
                        "bash",
                        "-c",
                        "pip install --no-deps --no-compile --target /asset-output/python /asset-input",
                    ],
                ),
            ),
        )
        self.log_group = logs.LogGroup(self, "Logs", retention=log_retention, removal_policy=removal_policy)
        skip_log_group_kms(self.log_group)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="modelrail catalog function: its own logs and the deployed-model list only",
        )
        self.log_group.grant_write(self.role)
        if endpoints:  # readiness of GPU models: DescribeEndpoint on their endpoints only
            self.role.add_to_policy(
                iam.PolicyStatement(
                    actions=["sagemaker:DescribeEndpoint"], resources=[arn for _, arn in endpoints.values()]
                )
            )
        entries = catalog_entries(models, {name: endpoint for name, (endpoint, _) in endpoints.items()})
        # The revision hashes the list's template form (endpoint names as references), so any change to the
        # models, their versions or their endpoints is a new key, hence a new function configuration.
        self.catalog_key = functions.catalog_key(functions.catalog_revision(cdk.Stack.of(self).resolve(entries)))
        self.upload = s3deploy.BucketDeployment(
            self,
            "Upload",
            destination_bucket=bucket,
            sources=[s3deploy.Source.json_data(self.catalog_key, entries)],
            prune=False,  # older lists stay: a deploy never deletes what a running function may still read
            retain_on_delete=True,
        )
        self.role.add_to_policy(
            iam.PolicyStatement(actions=["s3:GetObject"], resources=[bucket.arn_for_objects(self.catalog_key)])
        )
        self.function = lambda_.Function(
            self,
            "Function",
            description="modelrail catalog: /v1/models, /v2/health/*, /openapi.json",
            runtime=RUNTIME,
            handler=functions.CATALOG_HANDLER,
            code=lambda_.Code.from_asset(
                str(source_root / functions.CATALOG_CODE_DIR), exclude=["__pycache__", "*.pyc"]
            ),
            layers=[self.layer],
            role=self.role,
            log_group=self.log_group,
            memory_size=functions.CATALOG_MEMORY_MB,
            timeout=cdk.Duration.seconds(functions.CATALOG_TIMEOUT_S),
            tracing=lambda_.Tracing.ACTIVE,  # SPEC "Tracing"; CDK grants the role X-Ray's write actions
            environment=functions.catalog_env(bucket=bucket.bucket_name, key=self.catalog_key, auth=auth),
        )
        self.function.node.add_dependency(self.upload)  # the list is in the bucket before the function reads it
        acknowledge(self.role, "IAM5", XRAY_REASON, findings=(XRAY_FINDING,))
        skip_lambda_checks(self.function)

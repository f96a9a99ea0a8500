"""The model bucket and the upload of every served version's artifact to ``models/<name>/<version>/``."""

from __future__ import annotations

from collections.abc import Sequence

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_s3_deployment as s3deploy
from constructs import Construct

from infra.deployed_models import DeployedModel, ServedVersion
from infra.nag import acknowledge
from infra.scanners import allow_cfripper, skip_checkov

MiB = 1024 * 1024
NONCURRENT_DAYS = 30
"""How long an overwritten or deleted object version is kept before S3 removes it (lifecycle
``NoncurrentVersionExpiration``, S3 user guide "Managing the lifecycle of objects"): long enough to restore an
artifact a deploy replaced, short enough that the versioned buckets do not grow without bound. Current versions,
which every deployed model version reads, are never expired."""
ABORT_MULTIPART_DAYS = 7
"""Parts of an upload that never completed are removed after this many days (``AbortIncompleteMultipartUpload``)."""
ACCESS_LOG_DAYS = 365
TLS_DENY_REASON = (
    "The wildcard is the TLS-only statement: Deny s3:* when aws:SecureTransport is false, the form the S3 user "
    "guide gives for enforcing HTTPS; any other statement here is CDK's own (server access log delivery, and in "
    "dev the auto-delete handler's List/Get/Delete on this bucket only)."
)


class ModelBucket(Construct):
    """Encrypted, versioned, private, TLS-only bucket holding every deployed artifact."""

    def __init__(self, scope: Construct, construct_id: str, *, models: Sequence[DeployedModel], retain: bool) -> None:
        super().__init__(scope, construct_id)
        removal = cdk.RemovalPolicy.RETAIN if retain else cdk.RemovalPolicy.DESTROY
        self.access_logs = s3.Bucket(
            self,
            "AccessLogs",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=True,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-access-logs",
                    expiration=cdk.Duration.days(ACCESS_LOG_DAYS),
                    noncurrent_version_expiration=cdk.Duration.days(NONCURRENT_DAYS),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(ABORT_MULTIPART_DAYS),
                )
            ],
            removal_policy=removal,
            auto_delete_objects=not retain,
        )
        no_self_logging = "This is the server access log bucket; logging it to itself would loop."
        acknowledge(self.access_logs, "S1", no_self_logging)
        skip_checkov(self.access_logs, "CKV_AWS_18", no_self_logging)
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            server_access_logs_bucket=self.access_logs,
            server_access_logs_prefix="model-bucket/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-noncurrent-versions",
                    noncurrent_version_expiration=cdk.Duration.days(NONCURRENT_DAYS),
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(ABORT_MULTIPART_DAYS),
                )
            ],
            removal_policy=removal,
            auto_delete_objects=not retain,
        )
        for bucket in (self.access_logs, self.bucket):
            if bucket.policy is not None:
                allow_cfripper(bucket.policy, "GenericResourceWildcardPolicyRule", TLS_DENY_REASON)
        # Every served version is uploaded, each to its own prefix: a model's function or endpoint reads them all.
        self.uploads: dict[str, list[s3deploy.BucketDeployment]] = {
            model.name: [self._upload(served) for served in model.served.values()] for model in models
        }

    def _upload(self, served: ServedVersion) -> s3deploy.BucketDeployment:
        # The handler unzips the artifact in /tmp; give it room for the zip and the files.
        storage_mib = min(10240, max(512, 2 * served.size_bytes // MiB + 256))
        return s3deploy.BucketDeployment(
            self,
            f"Upload-{served.name}-{served.version}",
            destination_bucket=self.bucket,
            destination_key_prefix=served.prefix,
            sources=[s3deploy.Source.asset(str(served.artifact_dir))],
            prune=False,  # other versions of the model stay where they are
            # Never delete a deployed version's files: with retain_on_delete=False, a version dropped from
            # `served` (its upload leaves the template) would delete its prefix while the `live` alias's previous
            # function version, or a rollback to it, may still read it. CDK's s3-deployment docs recommend
            # retainOnDelete plus the bucket's autoDeleteObjects (set above outside retained stages) for tearing a
            # stack down.
            retain_on_delete=True,
            memory_limit=1024,
            ephemeral_storage_size=cdk.Size.mebibytes(storage_mib),
        )

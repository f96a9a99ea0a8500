"""The job bucket: each job's input, state, result parts and results, under ``jobs/<job_id>/``
(``modelrail.contract.jobs``), expired after ``JOB_EXPIRY_DAYS``.

Encryption is SSE-S3, as on the model bucket. SSE-KMS would add nothing a job needs here and would cost on
every call: a presigned PUT or GET of an SSE-KMS object needs ``kms:GenerateDataKey`` / ``kms:Decrypt`` on the
key for the principal that signed it (S3 user guide, "Using server-side encryption with AWS KMS keys": "To upload
or download an object encrypted with an AWS KMS key ... you need kms:GenerateDataKey and kms:Decrypt permissions
on the key"), and every checkpoint and part write would be a KMS request. Bucket default encryption applies to
presigned uploads too, so every object is encrypted whoever writes it.

Versioning is off: a job's ``job.json`` is rewritten at every checkpoint and its objects live for days, so old
versions would only be kept copies of transient state. The SPEC's versioned bucket is the model bucket, whose
artifacts are what a deployment serves.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_s3 as s3
from constructs import Construct

from infra.constructs.model_bucket import TLS_DENY_REASON
from infra.scanners import allow_cfripper, skip_checkov
from modelrail.contract import jobs

JOB_EXPIRY_DAYS = jobs.EXPIRY_DAYS
"""Days after its last write that S3 removes a job object (lifecycle ``Expiration`` on ``jobs/``). S3 adds the
days to the object's creation time and rounds up to the next midnight UTC (S3 user guide, "Lifecycle
configuration elements"), so an object lives between 7 and 8 days. ``job.json`` is rewritten at every
checkpoint, so a job's state outlives its input by the time it ran."""
ABORT_MULTIPART_DAYS = 1
"""Parts of an upload that never completed (a large presigned or worker upload cut off) are removed after a day."""
ACCESS_LOG_PREFIX = "job-bucket/"
CORS_MAX_AGE_S = 3000
VERSIONING_REASON = (
    "Job objects are transient (input, state rewritten at every checkpoint, result parts) and expire after "
    f"{JOB_EXPIRY_DAYS} days; versioning would keep a copy of every checkpoint. The versioned bucket is the model "
    "bucket, which holds what a deployment serves."
)


class JobBucket(Construct):
    """Encrypted (SSE-S3), private, TLS-only bucket whose ``jobs/`` objects expire; access-logged next to the
    model bucket."""

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        access_logs: s3.IBucket,
        retain: bool,
        cors_origin: str | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        removal = cdk.RemovalPolicy.RETAIN if retain else cdk.RemovalPolicy.DESTROY
        # Presigned URLs are fetched by the caller's own client; a browser app (the stage's `cors_origin`) needs
        # CORS on the bucket as well as on the API to PUT its input and GET its results.
        cors = (
            [
                s3.CorsRule(
                    allowed_methods=[s3.HttpMethods.GET, s3.HttpMethods.PUT],
                    allowed_origins=[cors_origin],
                    allowed_headers=["Content-Type"],
                    max_age=CORS_MAX_AGE_S,
                )
            ]
            if cors_origin
            else None
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            versioned=False,
            server_access_logs_bucket=access_logs,
            server_access_logs_prefix=ACCESS_LOG_PREFIX,
            cors=cors,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="expire-jobs",
                    prefix=jobs.KEY_PREFIX,
                    expiration=cdk.Duration.days(JOB_EXPIRY_DAYS),
                ),
                s3.LifecycleRule(
                    id="abort-incomplete-uploads",
                    abort_incomplete_multipart_upload_after=cdk.Duration.days(ABORT_MULTIPART_DAYS),
                ),
            ],
            removal_policy=removal,
            auto_delete_objects=not retain,
        )
        skip_checkov(self.bucket, "CKV_AWS_21", VERSIONING_REASON)
        allow_cfripper(self.bucket, "S3ObjectVersioningRule", VERSIONING_REASON)
        if self.bucket.policy is not None:
            allow_cfripper(self.bucket.policy, "GenericResourceWildcardPolicyRule", TLS_DENY_REASON)

    def objects_arn(self) -> str:
        """Every job object: ``<bucket ARN>/jobs/*``."""
        return self.bucket.arn_for_objects(f"{jobs.KEY_PREFIX}*")

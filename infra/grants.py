"""Least-privilege S3 access by key prefix, as every role in the stack gets it."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3


def grant_prefixes(role: iam.Role, bucket: s3.IBucket, prefixes: Sequence[str], actions: Sequence[str]) -> None:
    """``actions`` on the objects under each prefix, and ``s3:ListBucket`` limited to those prefixes.

    The listing right is what makes a missing key a 404 NoSuchKey rather than a 403 AccessDenied (S3 API reference,
    GetObject: "If you don't have the s3:ListBucket permission, Amazon S3 returns an HTTP status code 403"), so a
    file that simply is not there is reported as missing, not as denied.
    """
    role.add_to_policy(
        iam.PolicyStatement(actions=list(actions), resources=[bucket.arn_for_objects(f"{p}*") for p in prefixes])
    )
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["s3:ListBucket"],
            resources=[bucket.bucket_arn],
            conditions={"StringLike": {"s3:prefix": [f"{p}*" for p in prefixes]}},
        )
    )

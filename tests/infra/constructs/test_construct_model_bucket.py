"""Model bucket: encrypted, versioned, private, TLS-only, logged; one upload per model to its own prefix."""

from __future__ import annotations

from aws_cdk.assertions import Match
from fake_repo import SynthResult


def test_bucket_is_encrypted_versioned_private_and_logged(cpu_only: SynthResult) -> None:
    cpu_only.template.has_resource_properties(
        "AWS::S3::Bucket",
        {
            "BucketEncryption": {
                "ServerSideEncryptionConfiguration": [{"ServerSideEncryptionByDefault": {"SSEAlgorithm": "AES256"}}]
            },
            "VersioningConfiguration": {"Status": "Enabled"},
            "PublicAccessBlockConfiguration": {
                "BlockPublicAcls": True,
                "BlockPublicPolicy": True,
                "IgnorePublicAcls": True,
                "RestrictPublicBuckets": True,
            },
            "LoggingConfiguration": {"LogFilePrefix": "model-bucket/", "DestinationBucketName": Match.any_value()},
        },
    )


def test_every_bucket_refuses_plain_http(cpu_only: SynthResult) -> None:
    buckets = cpu_only.of_type("AWS::S3::Bucket")
    policies = cpu_only.of_type("AWS::S3::BucketPolicy")
    assert len(policies) == len(buckets) == 3  # access logs, models, jobs
    for policy in policies.values():
        statements = policy["Properties"]["PolicyDocument"]["Statement"]
        assert any(
            s["Effect"] == "Deny" and s["Condition"] == {"Bool": {"aws:SecureTransport": "false"}} for s in statements
        )


def test_each_model_artifact_goes_to_its_own_prefix_and_old_versions_stay(with_gpu: SynthResult) -> None:
    uploads = with_gpu.of_type("Custom::CDKBucketDeployment")
    # One per artifact, and the catalog's model list (catalog/models-<revision>.json, at the bucket's root).
    prefixes = sorted(u["Properties"].get("DestinationBucketKeyPrefix", "") for u in uploads.values())
    assert prefixes == ["", "models/tiny-b/1/", "models/tiny-gpu/1/", "models/tiny/3/"]
    assert {u["Properties"]["Prune"] for u in uploads.values()} == {False}


def test_a_deploy_never_deletes_a_deployed_versions_files(cpu_only: SynthResult, iam_prod: SynthResult) -> None:
    # Dev stacks too: a version bump must not delete the old prefix while the live alias still reads it.
    for result in (cpu_only, iam_prod):
        uploads = result.of_type("Custom::CDKBucketDeployment")
        assert uploads
        assert {u["Properties"]["RetainOnDelete"] for u in uploads.values()} == {True}

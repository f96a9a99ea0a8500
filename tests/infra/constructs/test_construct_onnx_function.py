"""A CPU model's Lambda function: sizing from the manifest, env naming its artifact, least privilege."""

from __future__ import annotations

import hashlib
from typing import Any

from aws_cdk.assertions import Match
from fake_repo import TINY, FakeRepo, SynthResult

from modelrail import constants
from modelrail.manifest import CpuDeploy

API_GATEWAY_TIMEOUT_S = 29


def function_of(result: SynthResult, model: str) -> dict[str, Any]:
    (function,) = result.template.find_resources(
        "AWS::Lambda::Function",
        {
            "Properties": {
                "Environment": {"Variables": {constants.ENV_MODEL_NAME: model}},
                "ImageConfig": Match.absent(),
            }
        },
    ).values()
    return function


def test_function_is_sized_from_the_manifest(cpu_only: SynthResult) -> None:
    props = function_of(cpu_only, "tiny")["Properties"]
    assert props["PackageType"] == "Image"
    assert props["MemorySize"] == TINY["deploy"]["memory_mb"]
    assert props["Timeout"] == TINY["deploy"]["timeout_s"] < API_GATEWAY_TIMEOUT_S
    assert props["ReservedConcurrentExecutions"] == TINY["deploy"]["reserved_concurrency"]
    assert props["EphemeralStorage"] == {"Size": 512}  # a few bytes of model: Lambda's minimum


def test_schema_defaults_stay_below_the_api_timeout(with_gpu: SynthResult) -> None:
    props = function_of(with_gpu, "tiny-b")["Properties"]  # no `deploy:` block
    assert props["MemorySize"] == CpuDeploy().memory_mb == 2048
    assert props["Timeout"] == CpuDeploy().timeout_s == 20 < API_GATEWAY_TIMEOUT_S
    assert "ReservedConcurrentExecutions" not in props


def test_env_names_the_artifact_and_pins_its_manifest_hash(cpu_only: SynthResult, fake_repo: FakeRepo) -> None:
    env = function_of(cpu_only, "tiny")["Properties"]["Environment"]["Variables"]
    manifest_json = fake_repo.build_dir / "tiny" / "3" / constants.MANIFEST_JSON
    assert env[constants.ENV_MODEL_VERSION] == "3"
    assert env[constants.ENV_MODEL_PREFIX] == constants.artifact_prefix("tiny", "3")
    assert env[constants.ENV_MANIFEST_SHA256] == hashlib.sha256(manifest_json.read_bytes()).hexdigest()
    assert env[constants.ENV_MODEL_BUCKET] == cpu_only.stack.resolve(cpu_only.stack.model_bucket.bucket.bucket_name)
    assert env[constants.ENV_MAX_REQUEST_BYTES] == str(constants.LAMBDA_MAX_REQUEST_BYTES)
    # The function's own timeout (12 s in tiny's manifest): the model fetch's deadline is derived from it.
    assert env[constants.ENV_FUNCTION_TIMEOUT_S] == "12"


def test_every_file_hash_is_recorded_in_the_template(cpu_only: SynthResult, fake_repo: FakeRepo) -> None:
    (recorded,) = function_of(cpu_only, "tiny")["Metadata"]["modelrail:artifacts"].values()
    artifact = fake_repo.build_dir / "tiny" / "3"
    assert recorded["prefix"] == "models/tiny/3/"
    assert recorded["sha256"] == {
        path.name: hashlib.sha256(path.read_bytes()).hexdigest() for path in artifact.iterdir()
    }


def test_api_calls_the_live_alias_with_provisioned_concurrency(cpu_only: SynthResult) -> None:
    cpu_only.template.has_resource_properties(
        "AWS::Lambda::Alias",
        {
            "Name": "live",
            "ProvisionedConcurrencyConfig": {
                "ProvisionedConcurrentExecutions": TINY["deploy"]["provisioned_concurrency"]
            },
        },
    )


def test_role_reads_only_its_own_prefix_and_writes_only_its_own_logs(cpu_only: SynthResult) -> None:
    role_ref = function_of(cpu_only, "tiny")["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = (
        p for p in cpu_only.of_type("AWS::IAM::Policy").values() if p["Properties"]["Roles"] == [{"Ref": role_ref}]
    )
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    by_action = {str(s["Action"]): s["Resource"] for s in statements}
    xray = "['xray:PutTelemetryRecords', 'xray:PutTraceSegments']"  # active tracing; X-Ray has no resource ARNs
    assert set(by_action) == {"['logs:CreateLogStream', 'logs:PutLogEvents']", "s3:GetObject", "s3:ListBucket", xray}
    assert by_action[xray] == "*"
    assert by_action["s3:GetObject"]["Fn::Join"][1][1] == "/models/tiny/3/*"
    # Listing only its own prefix: a missing artifact is S3's 404 NoSuchKey, not a 403 that reads as a policy bug.
    (listing,) = (s for s in statements if s["Action"] == "s3:ListBucket")
    assert listing["Condition"] == {"StringLike": {"s3:prefix": ["models/tiny/3/*"]}}
    assert "Fn::GetAtt" in listing["Resource"]  # the bucket itself, not its objects
    role = cpu_only.resources[role_ref]["Properties"]
    assert "ManagedPolicyArns" not in role

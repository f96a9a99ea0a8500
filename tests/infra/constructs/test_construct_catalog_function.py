"""The catalog: a zip function with the runtime layer, the model list in the bucket, readiness for GPU models."""

from __future__ import annotations

import json

from aws_cdk.assertions import Match
from fake_repo import SynthResult

from infra.constructs.catalog_function import RUNTIME
from modelrail import constants


def catalog(result: SynthResult) -> dict:  # type: ignore[type-arg]
    (function,) = result.template.find_resources(
        "AWS::Lambda::Function",
        {"Properties": {"Handler": "handler.handler", "Description": Match.string_like_regexp("^modelrail catalog")}},
    ).values()
    return function


def test_catalog_runs_on_the_runtime_layer(cpu_only: SynthResult) -> None:
    props = catalog(cpu_only)["Properties"]
    assert props["Runtime"] == RUNTIME.name
    (layer_ref,) = props["Layers"]
    layer = cpu_only.resources[layer_ref["Ref"]]
    assert layer["Properties"]["CompatibleRuntimes"] == [RUNTIME.name]
    layer_dir = cpu_only.outdir / layer["Metadata"]["aws:asset:path"]
    assert (layer_dir / "python" / "modelrail" / "__init__.py").is_file()  # importable on the Lambda path


def test_catalog_reads_the_deployed_models_from_one_key_in_the_bucket(with_gpu: SynthResult) -> None:
    env = catalog(with_gpu)["Properties"]["Environment"]["Variables"]
    assert env[constants.ENV_API_AUTH] == "api-key"
    assert constants.ENV_CATALOG not in env  # the list no longer grows the function's 4 KB environment
    key = env[constants.ENV_CATALOG_KEY]
    assert key.startswith(constants.CATALOG_KEY_PREFIX)
    (bucket_id,) = [
        k
        for k, v in with_gpu.of_type("AWS::S3::Bucket").items()
        if v["Properties"].get("LoggingConfiguration", {}).get("LogFilePrefix") == "model-bucket/"
    ]
    assert env[constants.ENV_CATALOG_BUCKET] == {"Ref": bucket_id}
    # The object the stack uploads: the list, naming the GPU model's endpoint (a name synth derives, so it is
    # written as it is: no deploy-time marker).
    (listed,) = with_gpu.outdir.glob(f"asset.*/{key}")
    uploads = [
        u
        for u in with_gpu.of_type("Custom::CDKBucketDeployment").values()
        if "DestinationBucketKeyPrefix" not in u["Properties"]
    ]
    (upload,) = uploads
    assert upload["Properties"]["DestinationBucketName"] == {"Ref": bucket_id}
    (endpoint,) = with_gpu.of_type("AWS::SageMaker::Endpoint").values()
    entries = json.loads(listed.read_text())
    assert [(e["name"], e["target"], e.get("endpoint")) for e in entries] == [
        ("tiny", "cpu", None),
        ("tiny-b", "cpu", None),
        ("tiny-gpu", "gpu", endpoint["Properties"]["EndpointName"]),
    ]
    # The function may read that one key and no other object.
    role = catalog(with_gpu)["Properties"]["Role"]["Fn::GetAtt"][0]
    reads = [
        s
        for p in with_gpu.of_type("AWS::IAM::Policy").values()
        if {"Ref": role} in p["Properties"]["Roles"]
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if "s3:GetObject" in json.dumps(s["Action"])
    ]
    assert [s["Resource"] for s in reads] == [{"Fn::Join": ["", [{"Fn::GetAtt": [bucket_id, "Arn"]}, f"/{key}"]]}]


def test_catalog_may_describe_only_the_gpu_endpoints(with_gpu: SynthResult, cpu_only: SynthResult) -> None:
    (endpoint_id,) = with_gpu.of_type("AWS::SageMaker::Endpoint")
    describe = [
        s
        for p in with_gpu.of_type("AWS::IAM::Policy").values()
        for s in p["Properties"]["PolicyDocument"]["Statement"]
        if s["Action"] == "sagemaker:DescribeEndpoint"
    ]
    assert [s["Resource"] for s in describe] == [{"Ref": endpoint_id}]
    assert "sagemaker:DescribeEndpoint" not in json.dumps(cpu_only.of_type("AWS::IAM::Policy"))

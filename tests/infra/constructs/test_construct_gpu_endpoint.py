"""A GPU model's SageMaker endpoint: image + artifact prefix, instance type, autoscaling, scoped role."""

from __future__ import annotations

import json
from pathlib import Path

from fake_repo import TINY_GPU, FakeRepo, SynthResult, make_fake_repo, synth, write_model

from modelrail import constants


def test_model_reads_the_artifact_prefix_uncompressed(with_gpu: SynthResult) -> None:
    (model,) = with_gpu.of_type("AWS::SageMaker::Model").values()
    container = model["Properties"]["PrimaryContainer"]
    source = container["ModelDataSource"]["S3DataSource"]
    assert source["S3DataType"] == "S3Prefix"
    assert source["CompressionType"] == "None"
    assert source["S3Uri"]["Fn::Join"][1][-1] == "/models/tiny-gpu/1/"
    env = container["Environment"]
    assert env[constants.ENV_MODEL_DIR] == constants.SAGEMAKER_MODEL_DIR
    assert env[constants.ENV_MODEL_NAME] == "tiny-gpu"
    assert len(env[constants.ENV_MANIFEST_SHA256]) == 64


def test_endpoint_config_uses_the_manifest_instance_type(with_gpu: SynthResult) -> None:
    (config,) = with_gpu.of_type("AWS::SageMaker::EndpointConfig").values()
    (variant,) = config["Properties"]["ProductionVariants"]
    assert variant["InstanceType"] == TINY_GPU["instance_type"]
    assert variant["InitialInstanceCount"] == TINY_GPU["autoscaling"]["min_instances"]


def test_target_tracking_autoscaling_from_the_manifest(with_gpu: SynthResult) -> None:
    scaling = TINY_GPU["autoscaling"]
    with_gpu.template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalableTarget",
        {
            "ServiceNamespace": "sagemaker",
            "ScalableDimension": "sagemaker:variant:DesiredInstanceCount",
            "MinCapacity": scaling["min_instances"],
            "MaxCapacity": scaling["max_instances"],
        },
    )
    with_gpu.template.has_resource_properties(
        "AWS::ApplicationAutoScaling::ScalingPolicy",
        {
            "PolicyType": "TargetTrackingScaling",
            "TargetTrackingScalingPolicyConfiguration": {
                "PredefinedMetricSpecification": {"PredefinedMetricType": "SageMakerVariantInvocationsPerInstance"},
                "TargetValue": scaling["target_invocations_per_instance"],
            },
        },
    )


def test_sagemaker_role_lists_only_its_own_prefix(with_gpu: SynthResult) -> None:
    (model,) = with_gpu.of_type("AWS::SageMaker::Model").values()
    role_ref = model["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
    (policy,) = (
        p for p in with_gpu.of_type("AWS::IAM::Policy").values() if p["Properties"]["Roles"] == [{"Ref": role_ref}]
    )
    statements = {str(s["Action"]): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    assert statements["s3:ListBucket"]["Condition"] == {"StringLike": {"s3:prefix": ["models/tiny-gpu/1/*"]}}
    assert statements["s3:GetObject"]["Resource"]["Fn::Join"][1][1] == "/models/tiny-gpu/1/*"


def test_sagemaker_role_publishes_metrics_only_to_its_namespaces(with_gpu: SynthResult) -> None:
    (model,) = with_gpu.of_type("AWS::SageMaker::Model").values()
    role_ref = model["Properties"]["ExecutionRoleArn"]["Fn::GetAtt"][0]
    (policy,) = (
        p for p in with_gpu.of_type("AWS::IAM::Policy").values() if p["Properties"]["Roles"] == [{"Ref": role_ref}]
    )
    statements = {str(s["Action"]): s for s in policy["Properties"]["PolicyDocument"]["Statement"]}
    put = statements["cloudwatch:PutMetricData"]
    assert put["Condition"] == {"StringEquals": {"cloudwatch:namespace": ["/aws/sagemaker/Endpoints", "modelrail"]}}


def test_a_deploy_keeps_the_endpoints_current_scale(with_gpu: SynthResult) -> None:
    (endpoint,) = with_gpu.of_type("AWS::SageMaker::Endpoint").values()
    assert endpoint["Properties"]["RetainAllVariantProperties"] is True


def test_an_instance_type_change_is_a_new_endpoint_not_an_update(fake_repo: FakeRepo, tmp_path: Path) -> None:
    # UpdateEndpoint fails when it changes the instance type of an autoscaled variant; a new logical id makes
    # CloudFormation create a new endpoint (and scalable target), cut the API over, then delete the old one.
    def endpoint_id(repo: FakeRepo) -> str:
        result = synth(repo, models=["tiny-gpu"], context={"gpu_models": "true"})
        (logical_id,) = result.of_type("AWS::SageMaker::Endpoint")
        (target,) = result.of_type("AWS::ApplicationAutoScaling::ScalableTarget").values()
        assert logical_id in json.dumps(target["Properties"]["ResourceId"])
        return logical_id

    before = endpoint_id(fake_repo)
    changed = make_fake_repo(tmp_path)
    write_model(changed.models_dir, {**TINY_GPU, "instance_type": "ml.g4dn.2xlarge"})
    assert endpoint_id(changed) != before

"""A GPU model's SageMaker endpoint: image + artifact prefix, instance type, autoscaling, scoped role."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from fake_repo import TINY_GPU, FakeRepo, SynthResult, make_fake_repo, synth, write_artifact, write_model

from modelrail import constants
from modelrail.gpu_platform import DEFAULT_INFERENCE_AMI, GpuPlatformError

GPU_ON = {"gpu_models": "true"}


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
    assert variant["InstanceType"] == TINY_GPU["deploy"]["instance_type"]
    assert variant["InitialInstanceCount"] == TINY_GPU["deploy"]["autoscaling"]["min_instances"]


def test_target_tracking_autoscaling_from_the_manifest(with_gpu: SynthResult) -> None:
    scaling = TINY_GPU["deploy"]["autoscaling"]
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
    # UpdateEndpoint fails when it changes the instance type of an autoscaled variant; a new logical id and name
    # make CloudFormation create a new endpoint (and scalable target), cut the API over, then delete the old one.
    def endpoint_id(repo: FakeRepo) -> tuple[str, str]:
        result = synth(repo, models=["tiny-gpu"], context={"gpu_models": "true"})
        ((logical_id, endpoint),) = result.of_type("AWS::SageMaker::Endpoint").items()
        name = endpoint["Properties"]["EndpointName"]
        (target,) = result.of_type("AWS::ApplicationAutoScaling::ScalableTarget").values()
        assert target["Properties"]["ResourceId"] == f"endpoint/{name}/variant/v-1"
        assert logical_id in json.dumps(target["DependsOn"])
        return logical_id, name

    before = endpoint_id(fake_repo)
    changed = make_fake_repo(tmp_path)
    write_model(changed.models_dir, {**TINY_GPU, "deploy": {**TINY_GPU["deploy"], "instance_type": "ml.g4dn.2xlarge"}})
    after = endpoint_id(changed)
    assert after[0] != before[0]
    assert after[1] != before[1]


def test_every_variant_names_its_ami_and_requires_cuda(with_gpu: SynthResult) -> None:
    (config,) = with_gpu.of_type("AWS::SageMaker::EndpointConfig").values()
    (variant,) = config["Properties"]["ProductionVariants"]
    assert variant["InferenceAmiVersion"] == DEFAULT_INFERENCE_AMI  # driver 535: runs the CUDA 12 image
    (model,) = with_gpu.of_type("AWS::SageMaker::Model").values()
    assert model["Properties"]["PrimaryContainer"]["Environment"][constants.ENV_REQUIRE_CUDA] == "true"


def gpu_repo(tmp_path: Path, **fields: Any) -> FakeRepo:
    """The fake repository with `tiny-gpu`'s deploy settings changed (and rebuilt, as `modelrail build` would)."""
    repo = make_fake_repo(tmp_path / "repo")
    changed = {**TINY_GPU, "deploy": {**TINY_GPU["deploy"], **fields}}
    write_model(repo.models_dir, changed)
    write_artifact(repo.build_dir, changed)
    return repo


def test_synth_refuses_an_instance_type_the_ami_does_not_list(tmp_path: Path) -> None:
    repo = gpu_repo(
        tmp_path, instance_type="ml.g4dn.xlarge", inference_ami_version="al2-ami-sagemaker-inference-gpu-3-1"
    )
    with pytest.raises(GpuPlatformError) as error:
        synth(repo, models=["tiny-gpu"], context=GPU_ON)
    message = str(error.value)
    assert message.startswith("models/tiny-gpu/model.yaml: AWS does not list `ml.g4dn.xlarge` for ")
    fix = (
        "set `deploy.inference_ami_version` to al2-ami-sagemaker-inference-gpu-2 or al2-ami-sagemaker-inference-gpu-2-1"
    )
    assert fix in message


def test_synth_refuses_a_cpu_instance_type_for_a_gpu_model(tmp_path: Path) -> None:
    with pytest.raises(GpuPlatformError, match=r"AWS does not list `ml\.c5\.xlarge` .* pick an instance type it lists"):
        synth(gpu_repo(tmp_path, instance_type="ml.c5.xlarge"), models=["tiny-gpu"], context=GPU_ON)


def test_an_explicit_ami_and_the_cpu_fallback_opt_in(tmp_path: Path) -> None:
    repo = gpu_repo(tmp_path, inference_ami_version="al2-ami-sagemaker-inference-gpu-2", cpu_fallback=True)
    result = synth(repo, models=["tiny-gpu"], context=GPU_ON)
    (config,) = result.of_type("AWS::SageMaker::EndpointConfig").values()
    assert config["Properties"]["ProductionVariants"][0]["InferenceAmiVersion"] == "al2-ami-sagemaker-inference-gpu-2"
    (model,) = result.of_type("AWS::SageMaker::Model").values()
    assert model["Properties"]["PrimaryContainer"]["Environment"][constants.ENV_REQUIRE_CUDA] == "false"

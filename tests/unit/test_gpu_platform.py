"""The SageMaker AMI table and the instance-type/AMI check synth runs for every GPU variant."""

from __future__ import annotations

from typing import get_args

import pytest

from modelrail.gpu_platform import (
    DEFAULT_INFERENCE_AMI,
    GPU_IMAGE,
    INFERENCE_AMIS,
    AmiVersion,
    GpuPlatformError,
    ImageNeeds,
    check_variant,
)


def test_the_manifest_choices_are_the_table() -> None:
    assert set(get_args(AmiVersion)) == set(INFERENCE_AMIS)
    assert DEFAULT_INFERENCE_AMI in INFERENCE_AMIS


@pytest.mark.parametrize("instance_type", ["ml.g4dn.xlarge", "ml.g5.2xlarge", "ml.g6.xlarge", "ml.p4d.24xlarge"])
def test_the_default_ami_runs_the_image_on_the_usual_gpu_families(instance_type: str) -> None:
    ami = check_variant(instance_type, DEFAULT_INFERENCE_AMI)
    assert ami.driver >= GPU_IMAGE.min_driver
    assert not ami.cuda_compat_mounting  # the image relies on minor version compatibility, not forward compat


def test_an_unlisted_pair_is_refused_with_the_amis_that_list_the_family() -> None:
    with pytest.raises(GpuPlatformError) as error:
        check_variant("ml.g4dn.xlarge", "al2-ami-sagemaker-inference-gpu-3-1")
    message = str(error.value)
    assert "AWS does not list `ml.g4dn.xlarge` for `al2-ami-sagemaker-inference-gpu-3-1`" in message
    fix = (
        "set `deploy.inference_ami_version` to al2-ami-sagemaker-inference-gpu-2 or al2-ami-sagemaker-inference-gpu-2-1"
    )
    assert fix in message
    assert "docs.aws.amazon.com" in message


def test_a_cpu_instance_type_is_refused_with_the_families_the_ami_lists() -> None:
    with pytest.raises(GpuPlatformError, match=r"pick an instance type it lists \(ml\.g4dn\.\*, ml\.g5\.\*"):
        check_variant("ml.c5.xlarge", DEFAULT_INFERENCE_AMI)


def test_an_ami_without_listed_families_is_refused() -> None:
    with pytest.raises(GpuPlatformError, match="no instance families yet"):
        check_variant("ml.g5.xlarge", "al2023-ami-sagemaker-inference-gpu-4-1")


def test_a_driver_older_than_the_image_needs_is_refused() -> None:
    cuda13 = ImageNeeds(onnxruntime_gpu="1.31.1", cuda="13.0", min_driver=580)
    with pytest.raises(GpuPlatformError) as error:
        check_variant("ml.g5.xlarge", DEFAULT_INFERENCE_AMI, image=cuda13)
    assert "NVIDIA driver 535 (CUDA 12.2), older than the 580 the GPU image needs for CUDA 13.0" in str(error.value)


@pytest.mark.parametrize("value", ["al2-ami-sagemaker-inference-neuron-2", "gpu-2"])
def test_unknown_amis_name_the_known_ones(value: str) -> None:
    with pytest.raises(GpuPlatformError, match="use one of: al2-ami-sagemaker-inference-gpu-2, "):
        check_variant("ml.g5.xlarge", value)

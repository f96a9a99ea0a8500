"""What the SageMaker GPU image needs from its host, which SageMaker inference AMIs provide it, and the check.

SageMaker picks the host's NVIDIA driver through the production variant's ``InferenceAmiVersion``; without one,
g4dn/g5/p4d instances get driver 470 (CUDA 11.4), on which a CUDA 12 image cannot start its CUDA provider. So every
variant names its AMI, and synth refuses an instance type the AMI does not list or an AMI whose driver is older
than the image needs. Importable without CDK: the manifest and the stack both use it.

The table is taken from AWS's documentation, read on ``TABLE_DATE``:

- "Best practices to minimize interruptions during GPU driver upgrades" (``AMI_DOC_URL``): real-time inference
  drivers 470 / CUDA 11.4 (no AMI version; default on ml.g4dn, ml.g5, ml.p4d, ml.p4de), 535 / CUDA 12.2
  (``al2-ami-sagemaker-inference-gpu-2`` and ``-2-1``, default on ml.g6, ml.p5) and 550 / CUDA 12.4
  (``al2-ami-sagemaker-inference-gpu-3-1``, default on ml.p5e, ml.p5en).
- The ``InferenceAmiVersion`` field of ``ProductionVariant`` (``API_DOC_URL``; the same text ships in botocore's
  service model): the driver and CUDA version of each AMI, that ``-2-1``, ``-3-1`` and ``-4-1`` run the NVIDIA
  Container Toolkit with CUDA-compat mounting disabled, and ``al2023-ami-sagemaker-inference-gpu-4-1`` (driver 580,
  CUDA 13.0). Its February 2025 text lists ``al2-ami-sagemaker-inference-gpu-2``'s instance types: ml.g4dn, ml.g5,
  ml.g6, ml.p3, ml.p4d, ml.p4de, ml.p5. CloudFormation's ``AWS::SageMaker::EndpointConfig`` accepts the same names.

Instance families are listed only where those pages list them; an AMI with none listed here (``-4-1``) is refused
until someone adds its families from the page, with the date they read it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

TABLE_DATE = "2026-12-01"
"""When the AWS pages below were read for this table."""
AMI_DOC_URL = "https://docs.aws.amazon.com/sagemaker/latest/dg/inference-gpu-drivers.html"
API_DOC_URL = "https://docs.aws.amazon.com/sagemaker/latest/APIReference/API_ProductionVariant.html"


@dataclass(frozen=True)
class InferenceAmi:
    """One SageMaker real-time inference AMI version: its NVIDIA driver and where AWS says it runs."""

    version: str
    driver: int
    """NVIDIA driver branch (535 = 535.x)."""
    cuda: str
    """The newest CUDA version the driver supports."""
    cuda_compat_mounting: bool
    """False where AWS runs the NVIDIA Container Toolkit with CUDA-compat mounting disabled: no forward
    compatibility, the container uses the host's driver as it is."""
    instance_families: tuple[str, ...]
    """``ml.<family>.*`` instance types AWS lists for this AMI."""


AmiVersion = Literal[
    "al2-ami-sagemaker-inference-gpu-2",
    "al2-ami-sagemaker-inference-gpu-2-1",
    "al2-ami-sagemaker-inference-gpu-3-1",
    "al2023-ami-sagemaker-inference-gpu-4-1",
]
"""The GPU values of ``InferenceAmiVersion`` (the manifest's ``deploy.inference_ami_version``); the table's keys."""

_AMI_2_FAMILIES = ("g4dn", "g5", "g6", "p3", "p4d", "p4de", "p5")

INFERENCE_AMIS: dict[str, InferenceAmi] = {
    ami.version: ami
    for ami in (
        InferenceAmi("al2-ami-sagemaker-inference-gpu-2", 535, "12.2", True, _AMI_2_FAMILIES),
        # The driver page lists -2 and -2-1 in one row (same driver, same instance families).
        InferenceAmi("al2-ami-sagemaker-inference-gpu-2-1", 535, "12.2", False, _AMI_2_FAMILIES),
        InferenceAmi("al2-ami-sagemaker-inference-gpu-3-1", 550, "12.4", False, ("p5e", "p5en")),
        InferenceAmi("al2023-ami-sagemaker-inference-gpu-4-1", 580, "13.0", False, ()),
    )
}

DEFAULT_INFERENCE_AMI: AmiVersion = "al2-ami-sagemaker-inference-gpu-2-1"
"""Driver 535 on every family the GPU path uses (g4dn, g5, g6, p4d, p5), and no CUDA-compat mounting: the image
runs on the host's own driver through CUDA minor version compatibility, nothing else."""


@dataclass(frozen=True)
class ImageNeeds:
    """What ``functions/sagemaker_inference/Dockerfile`` needs from the host driver."""

    onnxruntime_gpu: str
    cuda: str
    """CUDA the image's libraries (and onnxruntime-gpu's build) are."""
    min_driver: int
    """NVIDIA: CUDA 12.x applications run on drivers >= 525 through minor version compatibility
    (https://docs.nvidia.com/deploy/cuda-compatibility/minor-version-compatibility.html); 13.x needs >= 580."""


GPU_IMAGE = ImageNeeds(onnxruntime_gpu="1.26.0", cuda="12.8", min_driver=525)
"""onnxruntime-gpu 1.26.0 is the newest PyPI release built for CUDA 12 (its `cuda` extra names the -cu12 wheels;
1.27.0 onwards name CUDA 13), built with CUDA 12.8 and cuDNN 9 for sm_75 to sm_90 (T4, A10G, L4, A100, H100)."""


class GpuPlatformError(ValueError):
    """An instance type and AMI pairing that AWS does not list, or whose driver cannot run the image."""


def instance_family(instance_type: str) -> str:
    """``ml.g4dn.xlarge`` -> ``g4dn``."""
    parts = instance_type.split(".")
    if len(parts) != 3 or parts[0] != "ml":
        raise GpuPlatformError(f"`{instance_type}` is not a SageMaker instance type (ml.<family>.<size>)")
    return parts[1]


def amis_for(family: str) -> list[str]:
    """AMI versions this table lists for an instance family."""
    return [ami.version for ami in INFERENCE_AMIS.values() if family in ami.instance_families]


def check_variant(instance_type: str, ami_version: str, image: ImageNeeds = GPU_IMAGE) -> InferenceAmi:
    """The AMI for this production variant, or a ``GpuPlatformError`` that says how to fix the manifest."""
    source = f"(AWS docs read {TABLE_DATE}: {AMI_DOC_URL})"
    ami = INFERENCE_AMIS.get(ami_version)
    if ami is None:
        known = ", ".join(INFERENCE_AMIS)
        raise GpuPlatformError(
            f"`deploy.inference_ami_version: {ami_version}` is not a SageMaker GPU inference AMI this project knows; "
            f"use one of: {known} {source}"
        )
    family = instance_family(instance_type)
    if family not in ami.instance_families:
        others = amis_for(family)
        listed = ", ".join(f"ml.{name}.*" for name in ami.instance_families) or "no instance families yet"
        fix = (
            f"set `deploy.inference_ami_version` to {' or '.join(others)}"
            if others
            else f"pick an instance type it lists ({listed})"
        )
        raise GpuPlatformError(
            f"AWS does not list `{instance_type}` for `{ami_version}` (this table has {listed}); {fix} {source}"
        )
    if ami.driver < image.min_driver:
        raise GpuPlatformError(
            f"`{ami_version}` has NVIDIA driver {ami.driver} (CUDA {ami.cuda}), older than the {image.min_driver} "
            f"the GPU image needs for CUDA {image.cuda} (onnxruntime-gpu {image.onnxruntime_gpu}); use one of: "
            f"{', '.join(v for v, a in INFERENCE_AMIS.items() if a.driver >= image.min_driver)} {source}"
        )
    return ami

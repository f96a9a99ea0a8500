"""``modelrail build``: export, quantize, accuracy-gate and package models (needs the ``build`` extra).

Importing this package is cheap; torch, onnx and ONNX Runtime load only inside the steps that use them.
"""

from modelrail.builder.errors import BuildError, BuildFailedError, DatasetError, GateFailedError, SourceError
from modelrail.builder.pipeline import BuildResult, build_models, check_manifests, ensure_source
from modelrail.builder.sources import ModelSource

__all__ = [
    "BuildError",
    "BuildFailedError",
    "BuildResult",
    "DatasetError",
    "GateFailedError",
    "ModelSource",
    "SourceError",
    "build_models",
    "check_manifests",
    "ensure_source",
]

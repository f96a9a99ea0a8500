"""The model manifest (``models/<name>/model.yaml``) and the built artifact's ``manifest.json``.

A manifest has two parts: what the model is (``Model``: everything its artifact is built from) and how it is
deployed (``deploy:``, a ``CpuDeploy`` or a ``GpuDeploy`` picked by ``deploy.target``). Every default lives
here, so ``--check``, the JSON schema, synth and local mode see the same values. ``modelrail build``
validates the YAML, ``cdk synth`` and local mode read the deploy part, and the runtime reads the model part
that ``manifest.json`` embeds. Unknown keys are errors everywhere, so a typo never silently falls back to a
default.
"""

from __future__ import annotations

import json
import re
from enum import StrEnum
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Discriminator,
    Field,
    Tag,
    ValidationError,
    field_validator,
    model_validator,
)
from pydantic_core import ErrorDetails, PydanticCustomError

from modelrail.constants import MANIFEST_YAML
from modelrail.gpu_platform import DEFAULT_INFERENCE_AMI, AmiVersion

NAME_PATTERN = r"^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$"
"""dns-safe: lower-case letters, digits and inner hyphens, at most 40 characters (it ends up in
function, endpoint and route names, which have their own length limits)."""
VERSION_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,31}$"


class Task(StrEnum):
    """What a model does, which picks the processor that turns instances into tensors and back."""

    TENSOR = "tensor"
    TEXT_EMBEDDING = "text-embedding"
    TEXT_CLASSIFICATION = "text-classification"
    IMAGE_CLASSIFICATION = "image-classification"
    TABULAR = "tabular"


class Target(StrEnum):
    """Where a model runs: ``cpu`` on Lambda, ``gpu`` on a SageMaker endpoint."""

    CPU = "cpu"
    GPU = "gpu"


class QuantizationMode(StrEnum):
    """How the fp32 model is turned into the served one."""

    DYNAMIC = "dynamic"
    """int8 weights, activation scales computed per call over the whole input tensor."""
    STATIC = "static"
    """int8 weights and activations (QDQ), scales fixed from a calibration set."""
    FP16 = "fp16"
    """float16 weights and compute with fp32 inputs/outputs; for ``target: gpu``."""
    NONE = "none"
    """Serve the fp32 model as it is."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, use_enum_values=False)


class Source(_Strict):
    """Where the fp32 ONNX model comes from: a file, or a script that writes it."""

    path: str | None = Field(default=None, description="fp32 ONNX file, relative to the model folder.")
    script: str | None = Field(
        default=None,
        description=(
            "Python script, relative to the model folder, run as `python <script> --output <dir>`. "
            "It must write `model.onnx` (fp32) and any assets and datasets the manifest names into <dir>."
        ),
    )
    assets: list[str] = Field(
        default_factory=list,
        description="Extra files shipped with the model (e.g. tokenizer.json), from the script's output or the folder.",
    )

    @model_validator(mode="after")
    def _exactly_one(self) -> Source:
        if (self.path is None) == (self.script is None):
            raise ValueError("give exactly one of `path` (an fp32 .onnx file) or `script` (a build script)")
        return self


class Calibration(_Strict):
    """Inputs that fix static int8 activation scales."""

    dataset: str = Field(description="File of representative inputs (same formats as the gate's dataset).")
    max_samples: int = Field(default=256, ge=1, le=100_000)
    method: Literal["minmax", "entropy", "percentile"] = "minmax"


class Quantization(_Strict):
    """How to shrink the model; the gate decides whether the result may ship."""

    mode: QuantizationMode = QuantizationMode.DYNAMIC
    per_channel: bool = Field(default=True, description="Per-channel weight scales (per-tensor loses accuracy).")
    reduce_range: bool = Field(default=False, description="7-bit weights, for CPUs without VNNI.")
    preprocess: bool = Field(default=True, description="Run ONNX Runtime's quantization pre-processing first.")
    calibration: Calibration | None = None
    op_types: list[str] | None = Field(default=None, description="Only quantize these op types (default: ORT's).")
    exclude_nodes: list[str] = Field(
        default_factory=list,
        description="Keep these graph nodes (by node name) in full precision, e.g. small, sensitive embedding tables.",
    )

    @model_validator(mode="after")
    def _calibration_for_static(self) -> Quantization:
        if self.mode is QuantizationMode.STATIC and self.calibration is None:
            raise ValueError(
                "`mode: static` needs a `calibration:` block with a `dataset:` of representative inputs in the model "
                "folder (same formats as the gate's dataset: docs/build.md, Datasets)"
            )
        if self.mode is not QuantizationMode.STATIC and self.calibration is not None:
            raise ValueError(f"`calibration` only applies to `mode: static` (mode is {self.mode.value})")
        return self


class Bound(_Strict):
    """A gate threshold: the metric must be >= min and/or <= max."""

    min: float | None = None
    max: float | None = None

    @model_validator(mode="after")
    def _one_side(self) -> Bound:
        if self.min is None and self.max is None:
            raise ValueError("a threshold needs `min:` and/or `max:`")
        return self


GATE_METRICS: dict[str, str] = {
    "cosine_mean": "mean cosine similarity of outputs vs fp32",
    "cosine_min": "lowest cosine similarity of any output vs fp32",
    "spearman": "Spearman correlation of all pairwise similarities vs fp32",
    "accuracy": "top-1 accuracy on the labelled evaluation set",
    "accuracy_drop": "fp32 accuracy minus served-model accuracy, in points (0.5 = half a percent)",
    "max_abs_diff": "largest absolute difference of any output element vs fp32",
}
"""Metrics a gate may bound; the build computes the ones a manifest names."""


class Gate(_Strict):
    """What the served model must achieve against fp32 on an evaluation set, or the build fails."""

    dataset: str = Field(description="Evaluation inputs (from the source script's output or the model folder).")
    batch_sizes: list[Annotated[int, Field(ge=1, le=1024)]] = Field(
        default_factory=lambda: [1], description="Also measure at these batch shapes (the ones the runtime will use)."
    )
    thresholds: dict[str, Bound] = Field(description="metric -> bound, e.g. `cosine_mean: {min: 0.99}`.")

    @field_validator("thresholds")
    @classmethod
    def _known_metrics(cls, value: dict[str, Bound]) -> dict[str, Bound]:
        unknown = sorted(set(value) - set(GATE_METRICS))
        if unknown:
            raise ValueError(f"unknown gate metric(s) {unknown}; use some of {sorted(GATE_METRICS)}")
        if not value:
            raise ValueError("a gate needs at least one threshold")
        return value


class TextProcessing(_Strict):
    """Tokenization for text tasks."""

    tokenizer: str = Field(default="tokenizer.json", description="Hugging Face tokenizers file among the assets.")
    max_length: int = Field(default=256, ge=1, le=8192, description="Truncate to this many word-pieces.")
    max_chars: int = Field(default=100_000, ge=1, description="Refuse longer texts (422) before tokenizing.")


class ImageProcessing(_Strict):
    """How an uploaded image becomes the model's input tensor; also returned by model metadata."""

    width: int = Field(ge=1, le=4096)
    height: int = Field(ge=1, le=4096)
    color: Literal["grayscale", "rgb"] = "rgb"
    ink: Literal["dark", "light"] | None = Field(
        default=None, description="For drawings: which polarity is ink in the images callers send."
    )
    scale: float = Field(default=1 / 255, description="Pixel values (0-255) are multiplied by this first.")
    mean: list[float] = Field(default_factory=lambda: [0.0])
    std: list[float] = Field(default_factory=lambda: [1.0])
    layout: Literal["NCHW", "NHWC"] = "NCHW"


class TabularProcessing(_Strict):
    """Feature order for tabular models: instances may be objects keyed by these names, or rows in this order."""

    features: list[str] = Field(min_length=1)


class TensorProcessing(_Strict):
    """The ``tensor`` task takes raw named tensors; which axis of each is its batch axis (``batch_axes.py``)."""

    batch_axes: dict[str, Annotated[int, Field(ge=0)] | None] = Field(
        default_factory=dict,
        description=(
            "Input or output name -> its batch axis, or `null` when the whole batch shares it (a 0-d sample rate, "
            "a lookup table). Tensors not named default from the graph: none for 0-d, the only symbolic "
            "dimension, else the first axis when it is symbolic; e.g. `{state: 1, sr: null}` for a recurrent "
            "state `[2, B, 128]`."
        ),
    )


_PROCESSING_BY_TASK: dict[Task, type[_Strict]] = {
    Task.TENSOR: TensorProcessing,
    Task.TEXT_EMBEDDING: TextProcessing,
    Task.TEXT_CLASSIFICATION: TextProcessing,
    Task.IMAGE_CLASSIFICATION: ImageProcessing,
    Task.TABULAR: TabularProcessing,
}


class Autoscaling(_Strict):
    """SageMaker endpoint instance bounds and the target-tracking goal."""

    min_instances: int = Field(default=1, ge=1)
    max_instances: int = Field(default=2, ge=1)
    target_invocations_per_instance: int = Field(default=100, ge=1, description="Per minute.")

    @model_validator(mode="after")
    def _ordered(self) -> Autoscaling:
        if self.max_instances < self.min_instances:
            raise ValueError("`max_instances` must be >= `min_instances`")
        return self


Processing = TextProcessing | ImageProcessing | TabularProcessing | TensorProcessing


DATASET_EXAMPLE: dict[Task, str] = {
    Task.TENSOR: "eval.npz",
    Task.TABULAR: "eval.npz",
    Task.IMAGE_CLASSIFICATION: "eval.npz",
    Task.TEXT_EMBEDDING: "eval.txt",
    Task.TEXT_CLASSIFICATION: "eval.jsonl",
}
DATASET_FORMAT: dict[Task, str] = {
    Task.TENSOR: "one array per model input, named like it, with a leading instance dimension",
    Task.TABULAR: "`rows`: [n, features] in `processing.features` order, optional `labels`",
    Task.IMAGE_CLASSIFICATION: "`images`: uint8 [n, h, w] or [n, h, w, 3] as callers send them, optional `labels`",
    Task.TEXT_EMBEDDING: "one text per non-blank line",
    Task.TEXT_CLASSIFICATION: 'one {"text": ..., "label": ...} object per line',
}
"""Per task, an example evaluation file name and what it holds (the table in docs/build.md, Datasets)."""


def _source_short_form(value: Any) -> Any:
    # `source: model.onnx` is `source: {path: model.onnx}`.
    return {"path": value} if isinstance(value, str) else value


def _quantization_short_form(value: Any) -> Any:
    # `quantization: none` is `quantization: {mode: none}`.
    return {"mode": value} if isinstance(value, str) else value


class Model(_Strict):
    """What the model is: everything its build artifact depends on. ``manifest.json`` embeds exactly this."""

    name: str = Field(pattern=NAME_PATTERN, description="dns-safe; must match the model's folder name.")
    version: str = Field(pattern=VERSION_PATTERN, description="Artifact version, e.g. `1` or `2024-06-01`.")
    task: Task
    source: Annotated[
        Source, BeforeValidator(_source_short_form, json_schema_input_type=Annotated[str, Field(min_length=1)] | Source)
    ] = Field(
        description="An fp32 ONNX file (`source: model.onnx` is short for `source: {path: model.onnx}`) or a script."
    )
    description: str = ""
    quantization: Annotated[
        Quantization, BeforeValidator(_quantization_short_form, json_schema_input_type=QuantizationMode | Quantization)
    ] = Field(
        default_factory=Quantization,
        description="How the served model is made; `quantization: none` is short for `quantization: {mode: none}`.",
    )
    gate: Gate | None = Field(
        default=None,
        description=(
            "Required for int8 (`dynamic`, `static`). Without one, `none` is recorded as not gated (weights "
            "unchanged) and `fp16` is compared with fp32 on inputs synthesized from the graph's signature."
        ),
    )
    processing: Processing = Field(default_factory=TensorProcessing)
    labels: list[str] | None = Field(default=None, description="Class names, index-aligned with the model's output.")

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        # YAML reads `version: 1` as an int; a version is a label, not a number.
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value

    @model_validator(mode="before")
    @classmethod
    def _processing_for_task(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        try:
            model = _PROCESSING_BY_TASK[Task(str(data.get("task")))]
        except ValueError:
            return data  # the task field reports its own error
        raw = data.get("processing")
        if raw is None or isinstance(raw, dict):
            try:
                data = {**data, "processing": model.model_validate(raw or {})}
            except ValidationError as exc:  # re-raise under the `processing.` prefix so messages name the field
                details = [
                    {"type": e["type"], "loc": ("processing", *e["loc"]), "input": e["input"], "ctx": e.get("ctx", {})}
                    for e in exc.errors()
                ]
                raise ValidationError.from_exception_data(cls.__name__, details) from None  # type: ignore[arg-type]
        return data

    @model_validator(mode="after")
    def _gate_for_int8(self) -> Model:
        # `none` serves the fp32 weights unchanged; `fp16` without a gate is compared with fp32 on inputs
        # synthesized from the graph (with a warning). int8 changes answers in ways only real data shows.
        if self.quantization.mode in (QuantizationMode.DYNAMIC, QuantizationMode.STATIC) and self.gate is None:
            raise ValueError(
                f"quantization `{self.quantization.mode.value}` needs a `gate:` with an evaluation dataset in the "
                "model folder, so an int8 model that answers differently from fp32 is never shipped, e.g. "
                "`gate: {dataset: " + DATASET_EXAMPLE[self.task] + ", thresholds: {cosine_min: {min: 0.99}}}` "
                f"where {DATASET_EXAMPLE[self.task]} holds {DATASET_FORMAT[self.task]} (docs/build.md, Datasets); "
                "or set `quantization: none` to serve the fp32 model unchanged"
            )
        return self


def declared_batch_axes(model: Model) -> dict[str, int | None]:
    """``processing.batch_axes`` of a ``tensor`` model; other tasks declare none (their graphs batch on axis 0)."""
    return dict(model.processing.batch_axes) if isinstance(model.processing, TensorProcessing) else {}


# --- How a model is deployed --------------------------------------------------------------------------------


class Packaging(StrEnum):
    """How a CPU model's function is packaged; the model itself always comes from S3."""

    IMAGE = "image"
    """A Lambda container image with the runtime layer (``cdk deploy`` builds it with Docker)."""
    ZIP = "zip"
    """A .zip package for the Python 3.12 managed runtime, built with pip's platform wheels (no Docker), with
    SnapStart on published versions: the snapshot holds the loaded model."""


class Canary(_Strict):
    """A version taking a share of the unversioned traffic while it bakes, before it becomes live."""

    version: str = Field(pattern=VERSION_PATTERN, description="A served version other than `live`.")
    percent: int = Field(
        ge=0,
        le=99,
        description="Share of unversioned requests it answers while baking; 0 = reachable only by its pinned routes.",
    )
    bake_minutes: int = Field(
        default=10, ge=1, le=2880, description="How long it serves `percent` before taking all traffic."
    )

    @field_validator("version", mode="before")
    @classmethod
    def _version_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


class Releases(_Strict):
    """Which built versions are served, which one answers unversioned routes, and an optional canary.

    Every served version keeps its artifact at ``models/<name>/<version>/`` and its pinned routes
    (``/v2/models/<name>/versions/<v>/...``). Omitted, it is the manifest's own ``version`` alone, live.
    """

    served: list[Annotated[str, Field(pattern=VERSION_PATTERN)]] | None = Field(
        default=None, min_length=1, description="Built versions served side by side; default: `[version]`."
    )
    live: str | None = Field(
        default=None,
        pattern=VERSION_PATTERN,
        description="The version unversioned routes answer from; default: `version`.",
    )
    canary: Canary | None = None

    @field_validator("served", mode="before")
    @classmethod
    def _versions_as_text(cls, value: Any) -> Any:
        if isinstance(value, list):
            return [str(v) if isinstance(v, int | float) and not isinstance(v, bool) else v for v in value]
        return value

    @field_validator("live", mode="before")
    @classmethod
    def _live_as_text(cls, value: Any) -> Any:
        return str(value) if isinstance(value, int | float) and not isinstance(value, bool) else value


class CpuDeploy(_Strict):
    """``deploy.target: cpu``: a Lambda function behind API Gateway."""

    target: Literal[Target.CPU] = Field(default=Target.CPU, description="`cpu` -> AWS Lambda (the default).")
    memory_mb: int = Field(
        default=2048,
        ge=128,
        le=10240,
        description=(
            "Lambda memory; vCPUs follow it (about one per 1769 MB), so the default's two vCPUs keep "
            "ONNX Runtime's intra-op threads busy."
        ),
    )
    timeout_s: int = Field(
        default=20,
        ge=1,
        le=28,
        description="Below API Gateway's 29 s integration timeout, so the function's own error reaches the caller.",
    )
    reserved_concurrency: int | None = Field(default=None, ge=1, description="Cap on concurrent environments.")
    provisioned_concurrency: int | None = Field(
        default=None, ge=1, description="Environments kept initialized on the live alias."
    )
    packaging: Packaging = Field(
        default=Packaging.IMAGE,
        description=(
            "`image`: a container image (Docker at deploy). `zip`: a Python 3.12 zip package with SnapStart, no "
            "Docker needed; no provisioned concurrency, and the artifact must fit SnapStart's 512 MB of /tmp. "
            "Unset, the stage's `packaging` context value decides (`image` unless set)."
        ),
    )
    releases: Releases = Field(default_factory=Releases)

    def packaging_or(self, stage_default: Packaging) -> Packaging:
        """The packaging this model deploys with: its own ``deploy.packaging`` when the manifest sets it, else
        the stage's default (cdk context ``packaging``)."""
        return self.packaging if "packaging" in self.model_fields_set else stage_default

    def snapstart_conflict(self) -> str | None:
        """Why this deploy block cannot run as a zip function with SnapStart, or ``None``."""
        if self.provisioned_concurrency is not None:
            # "SnapStart does not support provisioned concurrency, Amazon Elastic File System (Amazon EFS), or
            # ephemeral storage greater than 512 MB." ("Improving startup performance with Lambda SnapStart")
            return (
                "`deploy.provisioned_concurrency` cannot be used with `packaging: zip`: Lambda SnapStart does not "
                "support provisioned concurrency; remove it (SnapStart restores initialized environments on demand) "
                "or set `deploy.packaging: image`"
            )
        return None

    @model_validator(mode="after")
    def _zip_supports_snapstart(self) -> CpuDeploy:
        conflict = self.snapstart_conflict() if self.packaging is Packaging.ZIP else None
        if conflict is not None:
            raise ValueError(conflict)
        return self

    @model_validator(mode="after")
    def _provisioned_within_reserved(self) -> CpuDeploy:
        if (
            self.provisioned_concurrency is not None
            and self.reserved_concurrency is not None
            and self.provisioned_concurrency > self.reserved_concurrency
        ):
            raise ValueError("`deploy.provisioned_concurrency` cannot exceed `deploy.reserved_concurrency`")
        return self


class GpuDeploy(_Strict):
    """``deploy.target: gpu``: a SageMaker real-time endpoint."""

    target: Literal[Target.GPU] = Field(description="`gpu` -> a SageMaker endpoint.")
    instance_type: str = Field(
        default="ml.g4dn.xlarge",
        pattern=r"^ml\.[a-z0-9]+\.[a-z0-9]+$",
        description="The smallest current NVIDIA T4 instance by default.",
    )
    inference_ami_version: AmiVersion = Field(
        default=DEFAULT_INFERENCE_AMI,
        description="SageMaker's host AMI, which fixes the NVIDIA driver (the default has driver 535); synth refuses "
        "a pairing with `instance_type` that AWS does not list (modelrail/gpu_platform.py).",
    )
    cpu_fallback: bool = Field(
        default=False,
        description="`true`: serve on the CPU provider when CUDA cannot start. Default `false`: the endpoint's "
        "/ping fails, so the deployment rolls back instead of serving on CPU at GPU prices.",
    )
    autoscaling: Autoscaling = Field(default_factory=Autoscaling)
    releases: Releases = Field(default_factory=Releases)


def _deploy_target(value: Any) -> str:
    # No `target:` means cpu, like no `deploy:` at all.
    raw = value.get("target", Target.CPU.value) if isinstance(value, dict) else getattr(value, "target", None)
    return str(raw.value if isinstance(raw, Target) else raw)


Deploy = Annotated[
    Annotated[CpuDeploy, Tag(Target.CPU.value)] | Annotated[GpuDeploy, Tag(Target.GPU.value)],
    Discriminator(
        _deploy_target,
        custom_error_type="invalid_target",
        custom_error_message="`deploy.target` must be `cpu` or `gpu`",
    ),
]
DEPLOY_FIELDS = frozenset(CpuDeploy.model_fields) | frozenset(GpuDeploy.model_fields)
"""Every key a ``deploy:`` block may hold; at the top level of a manifest each one is an error that says to move it."""


class Manifest(Model):
    """``models/<name>/model.yaml``: what the model is, then how it is deployed (``deploy:``)."""

    deploy: Deploy = Field(
        default_factory=CpuDeploy, description="Where and how it runs; no `deploy:` is a CPU deploy with defaults."
    )

    @model_validator(mode="before")
    @classmethod
    def _deploy_settings_under_deploy(cls, data: Any) -> Any:
        if not isinstance(data, dict):
            return data
        moved = [key for key in data if key in DEPLOY_FIELDS]
        if moved:
            error = PydanticCustomError("moved_to_deploy", "deployment settings live under `deploy:`")
            raise ValidationError.from_exception_data(
                cls.__name__, [{"type": error, "loc": (key,), "input": data[key]} for key in moved]
            )
        return data

    @model_validator(mode="after")
    def _releases_consistent(self) -> Manifest:
        releases = self.deploy.releases
        served = self.served_versions
        if len(set(served)) != len(served):
            raise ValueError("`deploy.releases.served` lists a version twice")
        if self.version not in served:
            raise ValueError(
                f"`deploy.releases.served` must include this manifest's `version` ({self.version}), the one "
                "`modelrail build` builds"
            )
        if self.live_version not in served:
            raise ValueError(f"`deploy.releases.live` ({self.live_version}) is not in `deploy.releases.served`")
        canary = releases.canary
        if canary is not None:
            if canary.version not in served:
                raise ValueError(f"`deploy.releases.canary.version` ({canary.version}) is not in `served`")
            if canary.version == self.live_version:
                raise ValueError("`deploy.releases.canary.version` must differ from the live version")
        return self

    @property
    def served_versions(self) -> list[str]:
        """Every version served side by side, in the manifest's order (default: this manifest's version)."""
        return list(self.deploy.releases.served or [self.version])

    @property
    def live_version(self) -> str:
        """The version unversioned routes answer from (outside a canary's share)."""
        return self.deploy.releases.live or self.version

    @property
    def canary(self) -> Canary | None:
        """The version baking on a share of unversioned traffic, if any."""
        return self.deploy.releases.canary

    @property
    def model(self) -> Model:
        """The model part alone (what the artifact is built from)."""
        return Model.model_validate(self.model_dump(exclude={"deploy"}))

    @property
    def cpu_deploy(self) -> CpuDeploy:
        """The Lambda settings of a ``deploy.target: cpu`` model."""
        if not isinstance(self.deploy, CpuDeploy):
            raise TypeError(f"model `{self.name}` has `deploy.target: {self.deploy.target.value}`, not cpu")
        return self.deploy

    @property
    def gpu_deploy(self) -> GpuDeploy:
        """The SageMaker settings of a ``deploy.target: gpu`` model."""
        if not isinstance(self.deploy, GpuDeploy):
            raise TypeError(f"model `{self.name}` has `deploy.target: {self.deploy.target.value}`, not gpu")
        return self.deploy


# --- The built artifact --------------------------------------------------------------------------------


class TensorSpec(_Strict):
    """One model input or output as Open Inference Protocol metadata reports it."""

    name: str
    datatype: str = Field(description="OIP datatype: FP32, FP16, INT64, INT32, INT8, UINT8, BOOL, BYTES, ...")
    shape: list[int] = Field(description="-1 for a dynamic dimension.")
    batch_axis: int | None = Field(
        default=None,
        description="The axis instances are stacked along; null: none (shared by the whole batch, e.g. 0-d).",
    )


class FileEntry(_Strict):
    """Integrity record of one artifact file."""

    sha256: str = Field(pattern=r"^[0-9a-f]{64}$")
    size: int = Field(ge=0)


class ServingHints(_Strict):
    """What the build measured that the runtime must respect."""

    max_batch_size: int = Field(
        ge=1,
        description=(
            "Largest batch the runtime may run in one session call. 1 for dynamic int8, whose activation "
            "scales span the whole batch tensor, so an instance's answer would depend on its batch-mates."
        ),
    )


class GraphOptimization(_Strict):
    """How the build optimized ``model.onnx`` ahead of time, so sessions need not repeat it (``graph_options``)."""

    level: Literal["none", "extended"] = Field(
        default="none",
        description=(
            "`extended`: saved by ONNX Runtime after its basic and extended graph optimizations for `providers`; "
            "the runtime then builds sessions with graph optimizations off, where its onnxruntime version and "
            "execution provider match. `none`: the graph is optimized at every session build."
        ),
    )
    onnxruntime: str | None = Field(default=None, description="The onnxruntime version that optimized it.")
    providers: list[str] = Field(default_factory=list, description="The execution providers it was optimized for.")
    fusions: dict[str, int] = Field(
        default_factory=dict,
        description="Transformer fusions applied before quantization (fused operator -> count); empty if none.",
    )

    @model_validator(mode="after")
    def _pinned(self) -> GraphOptimization:
        if self.level != "none" and (not self.onnxruntime or not self.providers):
            raise ValueError(f"a `{self.level}` graph records the onnxruntime version and providers it was made for")
        return self


class BuiltManifest(_Strict):
    """``build/models/<name>/<version>/manifest.json``: everything needed to serve and verify an artifact.

    It holds the model part of ``model.yaml`` (``model``), never the deployment settings: changing memory or
    concurrency does not change the artifact.
    """

    format: Literal[2] = Field(default=2, description="2: `model` holds the model part of model.yaml.")
    name: str
    version: str
    task: Task
    target: Target = Field(description="The target it was built and gated for (its execution providers).")
    precision: Literal["fp32", "fp16", "int8-dynamic", "int8-static"]
    model_file: str
    inputs: list[TensorSpec]
    outputs: list[TensorSpec]
    files: dict[str, FileEntry] = Field(description="Every artifact file except manifest.json itself.")
    serving: ServingHints
    model: Model = Field(description="The model part of the model.yaml it was built from, defaults resolved.")
    input_hash: str = Field(description="Content hash of everything the build read; unchanged inputs skip a rebuild.")
    built_at: str
    graph: GraphOptimization | None = Field(
        default=None,
        description=(
            "What the build optimized ahead of time. Absent in artifacts built before it was recorded: their "
            "sessions optimize the graph at every build, with the options they were gated with."
        ),
    )


# --- Loading and error messages --------------------------------------------------------------------------


class ManifestError(ValueError):
    """An invalid manifest; the message names the file, the field and the fix."""


_FIXES: dict[str, str] = {
    "value_error": "",  # our own validators already say how to fix it
    "missing": "add it",
    "extra_forbidden": "remove it (unknown key; check its spelling)",
    "invalid_target": "use one of 'cpu', 'gpu'",
}


def _fix_for(error: ErrorDetails, loc: tuple[str, ...]) -> str:
    kind = error["type"]
    ctx = error.get("ctx", {})
    if kind == "moved_to_deploy":
        return f"move it into the `deploy:` block, e.g. `deploy: {{{loc[-1]}: {json.dumps(error.get('input'))}}}`"
    if kind == "extra_forbidden" and len(loc) == 2 and loc[0] == "deploy" and loc[1] in DEPLOY_FIELDS:
        target = next((str(part) for part in error["loc"] if str(part) in {t.value for t in Target}), "")
        return f"remove it: it does not apply to `deploy.target: {target}`"
    if kind in {"enum", "literal_error"}:
        return f"use one of {ctx.get('expected', '')}"
    if kind == "string_pattern_mismatch":
        return f"it must match {ctx.get('pattern', '')}"
    return _FIXES.get(kind, "give a value of the expected type")


def _field_path(loc: tuple[int | str, ...]) -> tuple[str, ...]:
    """The YAML path of an error: without pydantic's validator names and the ``deploy`` union's tag."""
    parts: list[str] = []
    for part in loc:
        text = str(part)
        if text.startswith("function-") or (parts[-1:] == ["deploy"] and text in {t.value for t in Target}):
            continue
        parts.append(text)
    return tuple(parts)


def format_validation_error(path: Path | str, exc: ValidationError) -> str:
    """One line per problem: ``<file>: field `<a.b>`: <what is wrong> (got <value>); fix: <how>``."""
    lines = []
    for error in exc.errors():
        parts = _field_path(error["loc"])
        loc = ".".join(parts)
        message = error["msg"].removeprefix("Value error, ")
        if not loc:  # a rule across fields: the message names them
            lines.append(f"{path}: {message}")
            continue
        got = "" if error["type"] == "missing" else f" (got {json.dumps(error.get('input'), default=str)[:80]})"
        fix = _fix_for(error, parts)
        lines.append(f"{path}: field `{loc}`: {message}{got}" + (f"; fix: {fix}" if fix else ""))
    return "\n".join(lines)


def parse_manifest(data: Any, *, path: Path | str = MANIFEST_YAML) -> Manifest:
    """Validate already-loaded manifest data, raising ``ManifestError`` with file/field/fix messages."""
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: expected a mapping of manifest fields, got {type(data).__name__}")
    try:
        return Manifest.model_validate(data)
    except ValidationError as exc:
        raise ManifestError(format_validation_error(path, exc)) from None


def load_manifest(path: Path) -> Manifest:
    """Read and validate ``models/<name>/model.yaml``; the ``name`` must equal the folder's name."""
    import yaml  # build/infra-time only: the serving runtime reads manifest.json

    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ManifestError(f"{path}: no such file; every model folder needs a {MANIFEST_YAML}") from None
    except yaml.YAMLError as exc:
        raise ManifestError(f"{path}: not valid YAML: {exc}") from None
    manifest = parse_manifest(data, path=path)
    folder = path.parent.name
    if manifest.name != folder:
        raise ManifestError(
            f"{path}: field `name`: `{manifest.name}` differs from its folder `{folder}`; fix: rename one to match"
        )
    return manifest


def discover_manifests(models_dir: Path) -> dict[str, Path]:
    """Map model name -> manifest path for every ``<models_dir>/<name>/model.yaml``, sorted by name."""
    found = sorted(models_dir.glob(f"*/{MANIFEST_YAML}"))
    return {path.parent.name: path for path in found}


def manifest_json_schema() -> dict[str, Any]:
    """The JSON schema of ``model.yaml``, for editors (YAML language server)."""
    schema = Manifest.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "modelrail model manifest (models/<name>/model.yaml)"
    return schema


def is_valid_name(name: str) -> bool:
    """Whether ``name`` is a valid dns-safe model name."""
    return re.fullmatch(NAME_PATTERN, name) is not None

"""Turn the fp32 model into the served one, as the manifest's ``quantization.mode`` says."""

from __future__ import annotations

import shutil
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from modelrail.builder.inputs import Feeds
from modelrail.manifest import Quantization, QuantizationMode

Precision = Literal["fp32", "fp16", "int8-dynamic", "int8-static"]

PRECISION_BY_MODE: dict[QuantizationMode, Precision] = {
    QuantizationMode.DYNAMIC: "int8-dynamic",
    QuantizationMode.STATIC: "int8-static",
    QuantizationMode.FP16: "fp16",
    QuantizationMode.NONE: "fp32",
}


@dataclass
class QuantizeOutcome:
    """What was produced and how, for the report."""

    precision: Precision
    preprocess: str | None = None
    notes: list[str] = field(default_factory=list)


def quantize(
    fp32_model: Path,
    destination: Path,
    quantization: Quantization,
    *,
    scratch: Path,
    calibration: Callable[[], Sequence[Feeds]] | None = None,
) -> QuantizeOutcome:
    """Write the served model to ``destination``; ``calibration`` supplies static mode's representative feeds."""
    from modelrail.builder import float16, int8

    mode = quantization.mode
    outcome = QuantizeOutcome(precision=PRECISION_BY_MODE[mode])
    if mode is QuantizationMode.NONE:
        shutil.copyfile(fp32_model, destination)
        return outcome
    if mode is QuantizationMode.FP16:
        outcome.notes = float16.convert_to_float16(fp32_model, destination, exclude_nodes=quantization.exclude_nodes)
        return outcome
    source = fp32_model
    if quantization.preprocess:
        source = scratch / "preprocessed.onnx"
        outcome.preprocess = int8.preprocess(fp32_model, source)
    if mode is QuantizationMode.DYNAMIC:
        int8.quantize_dynamic_int8(source, destination, quantization)
    else:
        assert calibration is not None  # the pipeline always passes it for static mode
        int8.quantize_static_int8(source, destination, quantization, calibration())
    return outcome

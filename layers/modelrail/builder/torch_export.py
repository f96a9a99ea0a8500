"""Export a torch module to a single-file fp32 ONNX model (for model source scripts; needs torch)."""

from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

OPSET = 17
"""Opset 17 has LayerNormalization as one op, which ORT's quantizer and fp16 converter both handle."""


def export_onnx(
    module: torch.nn.Module,
    example_inputs: tuple[torch.Tensor, ...],
    path: Path,
    *,
    input_names: Sequence[str],
    output_names: Sequence[str],
    dynamic_axes: dict[str, dict[int, str]],
) -> Path:
    """Trace ``module`` in eval mode and write it to ``path`` as one ONNX file (no external data).

    This uses torch's TorchScript exporter rather than the newer ``torch.export`` one on purpose: for BERT-style
    graphs the latter emits shape arithmetic (Min/Expand over position ids and masks) that ONNX Runtime's
    symbolic shape inference cannot follow, which disables the quantization pre-processing the gate relies on.
    """
    import torch

    module.eval()
    with warnings.catch_warnings():
        # The TorchScript exporter announces its own deprecation, and tracing warns about Python-level shape
        # checks it freezes; the build's gate and the fp32 equivalence check are what vouch for the graph.
        warnings.simplefilter("ignore", DeprecationWarning)
        warnings.simplefilter("ignore", torch.jit.TracerWarning)  # type: ignore[attr-defined]  # not re-exported
        warnings.filterwarnings("ignore", message=".*aten::index.*", category=UserWarning)
        with torch.no_grad():
            torch.onnx.export(
                module,
                example_inputs,
                str(path),
                input_names=list(input_names),
                output_names=list(output_names),
                dynamic_axes=dynamic_axes,
                opset_version=OPSET,
                dynamo=False,
            )
    return path

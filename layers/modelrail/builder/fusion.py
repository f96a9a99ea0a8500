"""Transformer fusions before quantization: BERT-like graphs get ONNX Runtime's fused attention and layer norms.

ONNX Runtime fuses a BERT encoder's attention, GELU and layer normalizations itself when it builds a session on an
fp32 graph, but not on a dynamically quantized one (each MatMul is split into DynamicQuantizeLinear + MatMulInteger
first, which hides the patterns). Fusing the fp32 graph first with ONNX Runtime's transformer optimizer
(``onnxruntime.transformers.optimizer``, model type ``bert``) lets quantization turn each fused ``Attention`` into a
``QAttention``, and leaves fewer nodes for every session build. Only the optimizer's own graph rewrites run here
(``opt_level=0``): nothing provider-specific is written.

The optimizer needs the head count and hidden size. Both are read from the graph: the hidden size from the first
``LayerNormalization``'s scale, the head size from the constant that scales the attention scores before their
``Softmax`` (1/sqrt(head size), as a Div or a Mul). Where that cannot be read, the optimizer's own detection (from
the graph's Reshape shapes) is used, and every fused ``Attention`` must then agree with the hidden size.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from modelrail.builder.errors import BuildError
from modelrail.builder.int8 import quiet_ort_logging


@dataclass(frozen=True)
class Fused:
    """A fused graph's statistics, for the manifest and the report."""

    fusions: dict[str, int]
    num_heads: int
    hidden_size: int

    def describe(self) -> str:
        """One line for the build output and report."""
        counts = ", ".join(f"{name} {count}" for name, count in sorted(self.fusions.items()))
        return f"transformer fusions (bert, {self.num_heads} heads, hidden size {self.hidden_size}): {counts}"


def is_bert_like(model: Any) -> bool:
    """Whether the graph has an encoder's building blocks: attention scores (Softmax) and layer normalizations."""
    ops = {node.op_type for node in model.graph.node}
    return "Softmax" in ops and "LayerNormalization" in ops and "MatMul" in ops


def _constant_values(model: Any) -> dict[str, Any]:
    from onnx import numpy_helper

    values = {init.name: numpy_helper.to_array(init) for init in model.graph.initializer}
    for node in model.graph.node:
        if node.op_type == "Constant":
            for attribute in node.attribute:
                if attribute.name == "value":
                    values[node.output[0]] = numpy_helper.to_array(attribute.t)
    return values


def hidden_size_of(model: Any) -> int | None:
    """The size of the first LayerNormalization's scale (the embeddings' layer norm in a BERT encoder)."""
    values = _constant_values(model)
    for node in model.graph.node:
        if node.op_type == "LayerNormalization" and len(node.input) > 1 and node.input[1] in values:
            return int(values[node.input[1]].size)
    return None


def head_size_of(model: Any) -> int | None:
    """The attention head size from the score scaling before the first Softmax: x / sqrt(d) or x * (1/sqrt(d))."""
    values = _constant_values(model)
    producers = {output: node for node in model.graph.node for output in node.output}
    for softmax in (node for node in model.graph.node if node.op_type == "Softmax"):
        node = producers.get(softmax.input[0])
        for _ in range(3):  # Softmax <- Add (mask) <- Div/Mul (scale), possibly with a Where or Cast between
            if node is None:
                break
            if node.op_type in {"Div", "Mul"}:
                scale = next((values[name] for name in node.input if name in values and values[name].size == 1), None)
                if scale is not None and float(scale.reshape(())) > 0:
                    factor = float(scale.reshape(()))
                    square = factor**2 if node.op_type == "Div" else 1 / factor**2
                    if abs(square - round(square)) < 1e-3 and round(square) >= 1:
                        return round(square)
            node = producers.get(node.input[0])
    return None


def fuse_bert(source: Path, destination: Path) -> Fused | None:
    """Write the fused graph of a BERT-like ``source`` to ``destination``; None when it is not one (or nothing fused).

    Raises:
        BuildError: the fused attention disagrees with the graph's hidden size.
    """
    import onnx
    from onnxruntime.transformers.fusion_options import FusionOptions
    from onnxruntime.transformers.optimizer import optimize_model

    model = onnx.load(str(source))
    if not is_bert_like(model):
        return None
    hidden_size = hidden_size_of(model)
    head_size = head_size_of(model)
    if hidden_size is None:
        return None
    num_heads = hidden_size // head_size if head_size and hidden_size % head_size == 0 else 0
    with quiet_ort_logging():
        optimized = optimize_model(
            model,
            model_type="bert",
            num_heads=num_heads,
            hidden_size=hidden_size if num_heads else 0,
            optimization_options=FusionOptions("bert"),
            opt_level=0,  # the optimizer's Python fusions only: ORT's own (provider-specific) ones run later
            use_gpu=False,
        )
    statistics = {name: int(count) for name, count in optimized.get_fused_operator_statistics().items() if count}
    if not statistics.get("Attention"):
        return None
    heads = {_int_attribute(node, "num_heads") for node in optimized.model.graph.node if node.op_type == "Attention"}
    if len(heads) != 1 or (num_heads and heads != {num_heads}):
        raise BuildError(
            f"transformer fusion found attention with {sorted(heads)} heads, but the graph's hidden size "
            f"{hidden_size} and head size {head_size} give {num_heads}"
        )
    fused_heads = heads.pop()
    if fused_heads <= 0 or hidden_size % fused_heads:
        raise BuildError(f"transformer fusion found {fused_heads} heads, which do not divide hidden size {hidden_size}")
    optimized.save_model_to_file(str(destination))
    return Fused(fusions=statistics, num_heads=fused_heads, hidden_size=hidden_size)


def _int_attribute(node: Any, name: str) -> int:
    for attribute in node.attribute:
        if attribute.name == name:
            return int(attribute.i)
    return 0

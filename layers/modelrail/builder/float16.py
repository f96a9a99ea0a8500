"""fp16 conversion for GPU models: float16 weights and compute, fp32 inputs and outputs."""

from __future__ import annotations

import warnings
from pathlib import Path

from modelrail.builder.int8 import check_node_names

FLOAT, FLOAT16 = 1, 10  # onnx.TensorProto.FLOAT / FLOAT16


def _retarget_float_casts(model: object) -> int:
    """Make ``Cast(to=float)`` nodes whose output the converter retyped to float16 cast to float16.

    onnxconverter-common 1.15+ retypes such outputs without updating the node, which ONNX Runtime refuses to
    load (microsoft/onnxconverter-common#320, fix pending in #328). Returns how many nodes it changed.
    """
    graph = model.graph  # type: ignore[attr-defined]
    float16_values = {value.name for value in graph.value_info if value.type.tensor_type.elem_type == FLOAT16}
    changed = 0
    for node in graph.node:
        if node.op_type != "Cast" or node.output[0] not in float16_values:
            continue
        for attribute in node.attribute:
            if attribute.name == "to" and attribute.i == FLOAT:
                attribute.i = FLOAT16
                changed += 1
    return changed


def convert_to_float16(source: Path, destination: Path, *, exclude_nodes: list[str]) -> list[str]:
    """Convert ``source`` to fp16 keeping graph inputs/outputs fp32; returns notes for the build report.

    ONNX Runtime's CPU provider has no fp16 kernels for most ops and inserts casts around them, so the same
    file loads and runs on CPU (local mode, this gate) and runs in fp16 on CUDA.
    """
    import onnx
    from onnxconverter_common import float16

    check_node_names(source, exclude_nodes)
    model = onnx.load(str(source))
    with warnings.catch_warnings(record=True) as caught:
        # The converter warns once per initializer it clamps into fp16's range; the report counts them instead.
        warnings.simplefilter("always")
        converted = float16.convert_float_to_float16(
            model, keep_io_types=True, node_block_list=exclude_nodes or None, disable_shape_infer=False
        )
    retargeted = _retarget_float_casts(converted)
    onnx.save(converted, str(destination))
    notes = []
    if caught:
        notes.append(f"fp16 conversion: {len(caught)} warning(s), e.g. {str(caught[0].message)[:160]}")
    if retargeted:
        notes.append(f"fp16 conversion: retargeted {retargeted} Cast(to=float) node(s) to float16")
    return notes

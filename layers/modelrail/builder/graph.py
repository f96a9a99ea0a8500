"""Tensor specs read from an ONNX graph, in Open Inference Protocol terms."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from modelrail.batch_axes import Dim, resolve_batch_axes
from modelrail.manifest import TensorSpec

_OIP_BY_ONNX = {
    "FLOAT": "FP32",
    "FLOAT16": "FP16",
    "BFLOAT16": "BF16",
    "DOUBLE": "FP64",
    "INT8": "INT8",
    "INT16": "INT16",
    "INT32": "INT32",
    "INT64": "INT64",
    "UINT8": "UINT8",
    "UINT16": "UINT16",
    "UINT32": "UINT32",
    "UINT64": "UINT64",
    "BOOL": "BOOL",
    "STRING": "BYTES",
}


def tensor_specs(
    model_path: Path, batch_axes: Mapping[str, int | None] | None = None
) -> tuple[list[TensorSpec], list[TensorSpec]]:
    """The graph's inputs (initializers excluded) and outputs; ``-1`` marks a dynamic dimension.

    Each spec records its batch axis: ``batch_axes`` (declared) or the graph's default (``modelrail.batch_axes``).
    """
    import onnx

    graph = onnx.load(str(model_path), load_external_data=False).graph
    initializers = {init.name for init in graph.initializer}

    def spec(value: onnx.ValueInfoProto) -> TensorSpec:
        tensor_type = value.type.tensor_type
        onnx_name = onnx.TensorProto.DataType.Name(tensor_type.elem_type)
        if onnx_name not in _OIP_BY_ONNX:
            raise ValueError(f"tensor `{value.name}` has ONNX type {onnx_name}, which has no OIP datatype")
        shape = [dim.dim_value if dim.HasField("dim_value") else -1 for dim in tensor_type.shape.dim]
        return TensorSpec(name=value.name, datatype=_OIP_BY_ONNX[onnx_name], shape=shape)

    def dims(value: onnx.ValueInfoProto) -> list[Dim]:
        return [
            dim.dim_value if dim.HasField("dim_value") else (dim.dim_param or None)
            for dim in value.type.tensor_type.shape.dim
        ]

    graph_inputs = [value for value in graph.input if value.name not in initializers]
    input_axes, output_axes = resolve_batch_axes(
        [(value.name, dims(value)) for value in graph_inputs],
        [(value.name, dims(value)) for value in graph.output],
        batch_axes or {},
    )
    inputs = [spec(value).model_copy(update={"batch_axis": input_axes[value.name]}) for value in graph_inputs]
    return inputs, [spec(value).model_copy(update={"batch_axis": output_axes[value.name]}) for value in graph.output]

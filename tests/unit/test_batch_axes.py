"""Batch axes: declared ones checked against the graph, defaults read from it, ambiguity refused by name."""

from __future__ import annotations

from pathlib import Path

import onnx
import pytest
from onnx import TensorProto, helper

from modelrail.batch_axes import BatchAxisError, resolve_batch_axes
from modelrail.builder.graph import tensor_specs
from modelrail.errors import ModelUnavailableError
from modelrail.session import ModelSession


def test_defaults_read_from_the_graph() -> None:
    inputs, outputs = resolve_batch_axes(
        [("x", ["B", 4]), ("state", [2, "B", 128]), ("sr", []), ("tokens", ["B", "T"]), ("fixed", [1, 3])],
        [("y", [2, "T", "B"]), ("rate", []), ("anon", [None, 4])],
        {},
    )
    assert inputs == {"x": 0, "state": 1, "sr": None, "tokens": 0, "fixed": 0}
    assert outputs == {"y": 2, "rate": None, "anon": 0}


def test_declared_axes_win_and_are_checked() -> None:
    inputs, _ = resolve_batch_axes([("state", [2, None, None]), ("table", [10, 4])], [], {"state": 1, "table": None})
    assert inputs == {"state": 1, "table": None}
    with pytest.raises(
        BatchAxisError, match=r"`processing.batch_axes.state` is 3, but `state` has shape \[2, \?, \?\]"
    ):
        resolve_batch_axes([("state", [2, None, None])], [], {"state": 3})
    with pytest.raises(BatchAxisError, match=r"names \['nope'\], which the graph does not have"):
        resolve_batch_axes([("x", ["B"])], [], {"nope": 0})


def test_an_ambiguous_graph_must_declare_it() -> None:
    with pytest.raises(
        BatchAxisError, match=r"`state` has shape \[2, \?, \?\]: its batch axis is ambiguous.*batch_axes"
    ):
        resolve_batch_axes([("state", [2, None, None])], [], {})


def _state_graph(path: Path, dims: list[object]) -> Path:
    graph = helper.make_graph(
        [helper.make_node("Identity", ["state"], ["next_state"])],
        "g",
        [helper.make_tensor_value_info("state", TensorProto.FLOAT, dims)],
        [helper.make_tensor_value_info("next_state", TensorProto.FLOAT, dims)],
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    onnx.save(model, str(path))
    return path


def test_the_build_records_each_specs_batch_axis(tmp_path: Path) -> None:
    inputs, outputs = tensor_specs(_state_graph(tmp_path / "m.onnx", [2, "B", 128]))
    assert [(s.name, s.shape, s.batch_axis) for s in inputs + outputs] == [
        ("state", [2, -1, 128], 1),
        ("next_state", [2, -1, 128], 1),
    ]
    with pytest.raises(BatchAxisError, match="ambiguous"):
        tensor_specs(_state_graph(tmp_path / "n.onnx", [2, "B", "H"]))
    inputs, _ = tensor_specs(tmp_path / "n.onnx", {"state": 1, "next_state": 1})
    assert inputs[0].batch_axis == 1


def test_the_runtime_refuses_an_ambiguous_graph_naming_the_field(tmp_path: Path) -> None:
    path = _state_graph(tmp_path / "m.onnx", [2, "B", "H"])
    with pytest.raises(ModelUnavailableError, match=r"m.onnx: `state` has shape \[2, B, H\].*declare it under"):
        ModelSession(path, providers=None, intra_op_threads=1, inter_op_threads=1, max_batch_size=4)
    session = ModelSession(
        path, providers=None, intra_op_threads=1, inter_op_threads=1, max_batch_size=4, batch_axes={"state": 1}
    )
    assert [spec.batch_axis for spec in session.inputs + session.outputs] == [1, 1]

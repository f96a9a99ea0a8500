"""fp16 conversion keeps fp32 I/O, loads on ONNX Runtime's CPU provider, and works around the Cast bug."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import onnx
import pytest

from modelrail.builder.errors import BuildError
from modelrail.builder.float16 import convert_to_float16
from modelrail.builder.graph import tensor_specs
from modelrail.builder.sessions import open_session
from tests.support.tiny_build_models import cast_to_float_model


def test_cast_to_float_is_retargeted_and_model_runs_on_cpu(tmp_path: Path) -> None:
    fp32 = cast_to_float_model(tmp_path / "fp32.onnx")
    fp16 = tmp_path / "fp16.onnx"
    notes = convert_to_float16(fp32, fp16, exclude_nodes=[])
    assert any("retargeted 1 Cast" in note for note in notes)
    ids = np.array([[1, 2, 3, 4]], dtype=np.int64)
    expected = open_session(fp32).run(None, {"ids": ids})[0]
    actual = open_session(fp16).run(None, {"ids": ids})[0]
    assert actual.dtype == np.float32
    np.testing.assert_allclose(actual, expected, rtol=1e-3)
    inputs, outputs = tensor_specs(fp16)
    assert [(spec.datatype, spec.shape) for spec in inputs + outputs] == [("INT64", [-1, 4]), ("FP32", [-1, 4])]
    weights = {init.name: init.data_type for init in onnx.load(str(fp16)).graph.initializer}
    assert onnx.TensorProto.FLOAT16 in weights.values()


def test_unknown_excluded_node_is_an_error(tmp_path: Path) -> None:
    fp32 = cast_to_float_model(tmp_path / "fp32.onnx")
    with pytest.raises(BuildError, match=r"no node named \['scal'\]"):
        convert_to_float16(fp32, tmp_path / "fp16.onnx", exclude_nodes=["scal"])

"""Open Inference Protocol typing of metadata: parameters hold only strings, numbers and booleans."""

from __future__ import annotations

import json

from modelrail.operations import PLATFORM, protocol_parameters


def test_platform_is_the_protocols_name_for_onnx_runtime_models() -> None:
    assert PLATFORM == "onnx_onnxv1"  # inference_rest.md, "Platforms"


def test_objects_and_arrays_become_json_text_and_none_is_left_out() -> None:
    processing = {"width": 8, "mean": [0.5], "labels": ["0", "1,2"], "nested": {"a": None}}
    parameters = protocol_parameters(
        {"task": "image-classification", "max_batch_size": 64, "half": 0.5, "gpu": False, "precision": None,
         "processing": processing}
    )  # fmt: skip
    assert parameters["task"] == "image-classification"
    assert (parameters["max_batch_size"], parameters["half"], parameters["gpu"]) == (64, 0.5, False)
    assert "precision" not in parameters
    assert isinstance(parameters["processing"], str)
    assert json.loads(parameters["processing"]) == processing  # nothing lost, commas in labels included
    assert all(isinstance(value, str | int | float | bool) for value in parameters.values())

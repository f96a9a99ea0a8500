"""Open Inference Protocol JSON tensors: decode what clients send, encode what they read."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest

from modelrail import codecs
from modelrail.codecs import InferResponse, NamedTensor, V2JsonCodec
from modelrail.errors import InvalidInputError, UnsupportedMediaTypeError

CODEC = V2JsonCodec()


def body(document: Any) -> bytes:
    return json.dumps(document).encode()


@pytest.mark.parametrize(
    ("datatype", "data", "dtype"),
    [
        ("FP32", [[1.5, 2.0], [3.0, -4.25]], np.float32),
        ("FP64", [1.0, 2.0, 3.0, 4.0], np.float64),
        ("FP16", [0.5, 1.0, 2.0, 4.0], np.float16),
        ("INT64", [1, -2, 3, 2**40], np.int64),
        ("INT8", [1, -2, 3, 127], np.int8),
        ("UINT8", [0, 1, 2, 255], np.uint8),
        ("BOOL", [True, False, True, True], np.bool_),
        ("BYTES", ["a", "bé", "", "d"], np.object_),
    ],
)
def test_json_tensors_round_trip(datatype: str, data: list[Any], dtype: type) -> None:
    request = CODEC.decode(
        body({"id": "r1", "inputs": [{"name": "t", "datatype": datatype, "shape": [2, 2], "data": data}]}), {}
    )
    [tensor] = request.inputs
    assert (request.id, tensor.name, tensor.datatype, tensor.data.shape, tensor.data.dtype) == (
        "r1",
        "t",
        datatype,
        (2, 2),
        np.dtype(dtype),
    )
    response = InferResponse(
        model_name="m", model_version="1", id="r1", outputs=[NamedTensor("t", datatype, tensor.data)]
    )
    encoded = CODEC.encode(response)
    document = json.loads(encoded.body)
    assert encoded.media_type == "application/json"
    assert document == {
        "model_name": "m",
        "model_version": "1",
        "id": "r1",
        "outputs": [
            {"name": "t", "datatype": datatype, "shape": [2, 2], "data": np.asarray(data).reshape(-1).tolist()}
        ],
    }


def test_requested_outputs_and_binary_flags_are_read() -> None:
    request = CODEC.decode(
        body(
            {
                "inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}],
                "outputs": [{"name": "a", "parameters": {"binary_data": True}}, {"name": "b"}],
                "parameters": {"binary_data_output": False},
            }
        ),
        {},
    )
    assert [(o.name, o.binary) for o in request.outputs or []] == [("a", True), ("b", None)]
    assert request.binary_output is False


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "an infer request must be a JSON object with an `inputs` list"),
        ({"inputs": []}, "`inputs` must be a non-empty list"),
        ({"inputs": [5]}, r"inputs\[0\] must be an object"),
        (
            {"inputs": [{"datatype": "FP32", "shape": [1], "data": [1]}]},
            r"inputs\[0\]: `name` must be a non-empty string",
        ),
        (
            {"inputs": [{"name": "x", "datatype": "FLOAT", "shape": [1], "data": [1]}]},
            "input `x`: unknown datatype 'FLOAT'",
        ),
        (
            {"inputs": [{"name": "x", "datatype": "FP32", "shape": [-1], "data": [1]}]},
            "input `x`: `shape` must be a list of non-negative",
        ),
        (
            {"inputs": [{"name": "x", "datatype": "FP32", "shape": [2, 2], "data": [1, 2, 3]}]},
            r"input `x`: shape \[2, 2\] needs 4 values, got 3",
        ),
        (
            {"inputs": [{"name": "x", "datatype": "INT64", "shape": [2], "data": [1, 2.5]}]},
            "input `x`: expected integers for datatype INT64, got floating-point",
        ),
        (
            {"inputs": [{"name": "x", "datatype": "UINT8", "shape": [1], "data": [256]}]},
            r"outside the UINT8 range \[0, 255\]",
        ),
        ({"inputs": [{"name": "x", "datatype": "FP32", "shape": [1]}]}, "input `x`: `data` is missing"),
        (
            {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}] * 2},
            r"input\(s\) \['x'\] given more than once",
        ),
        (
            {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}], "outputs": "y"},
            "`outputs` must be a list",
        ),
        (
            {
                "inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [1]}],
                "parameters": {"binary_data_output": "yes"},
            },
            "parameter `binary_data_output` must be true or false",
        ),
    ],
)
def test_malformed_requests_name_what_is_wrong(document: Any, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        CODEC.decode(body(document), {})


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (b"{not json", r"request body is not valid JSON: unexpected character.* at line 1 column 2"),
        (b"\x80abc", "request body is not UTF-8 text"),
        # orjson's own wording varies between its releases; what we promise is a 400 that says why and where
        (b"[" * 100_000 + b"]" * 100_000, "request body is not valid JSON: .*(recursion|depth).* at line 1 column"),
        (b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1], "data": [NaN]}]}', "not valid JSON"),
        (b"1" * 5000, "not valid JSON: number is infinity"),
    ],
)
def test_unreadable_bodies_are_400s(raw: bytes, message: str) -> None:
    with pytest.raises(InvalidInputError, match=message):
        CODEC.decode(raw, {})


def test_no_content_type_means_json_and_other_types_are_415() -> None:
    assert codecs.infer_codec({}) is codecs.V2_JSON
    assert codecs.infer_codec({"content-type": "application/json; charset=utf-8"}) is codecs.V2_JSON
    assert codecs.infer_codec({"inference-header-content-length": "10"}) is codecs.V2_BINARY
    with pytest.raises(UnsupportedMediaTypeError, match="Content-Type text/csv is not supported here"):
        codecs.infer_codec({"content-type": "text/csv"})

"""The binary tensor data extension, checked against tritonclient's own encoder and decoder."""

from __future__ import annotations

import json

import numpy as np
import pytest
import tritonclient.http as triton

from modelrail.codecs import InferResponse, NamedTensor, V2BinaryCodec
from modelrail.errors import InvalidInputError

CODEC = V2BinaryCodec()
ARRAYS = {
    "FP32": np.arange(6, dtype=np.float32).reshape(2, 3) / 7,
    "FP16": np.arange(6, dtype=np.float16).reshape(2, 3),
    "INT64": np.array([[1, -2, 3], [2**40, 0, -1]], dtype=np.int64),
    "INT32": np.array([[1, -2, 3], [4, 5, 6]], dtype=np.int32),
    "UINT8": np.array([[0, 1, 2], [253, 254, 255]], dtype=np.uint8),
    "BOOL": np.array([[True, False, True], [False, False, True]]),
    "BYTES": np.array([[b"a", b"bc", b""], ["d\u00e9".encode(), b"e", b"f"]], dtype=np.object_),
}


def triton_request(name: str, array: np.ndarray, datatype: str, *, binary: bool = True) -> tuple[bytes, dict[str, str]]:
    tensor = triton.InferInput(name, list(array.shape), datatype)
    tensor.set_data_from_numpy(array, binary_data=binary)
    body, json_size = triton.InferenceServerClient.generate_request_body(
        [tensor], outputs=[triton.InferRequestedOutput("out", binary_data=True)]
    )
    headers = {} if json_size is None else {"inference-header-content-length": str(json_size)}
    return body, headers


@pytest.mark.parametrize("datatype", sorted(ARRAYS))
def test_tritonclient_requests_decode_exactly(datatype: str) -> None:
    array = ARRAYS[datatype]
    body, headers = triton_request("t", array, datatype)
    request = CODEC.decode(body, headers)
    [tensor] = request.inputs
    expected = np.vectorize(bytes.decode, otypes=[object])(array) if datatype == "BYTES" else array
    assert tensor.data.shape == array.shape
    np.testing.assert_array_equal(tensor.data, expected)
    assert [(o.name, o.binary) for o in request.outputs or []] == [("out", True)]


@pytest.mark.parametrize("datatype", sorted(ARRAYS))
def test_binary_outputs_read_back_with_tritonclient(datatype: str) -> None:
    array = ARRAYS[datatype]
    response = InferResponse(
        model_name="m",
        model_version="1",
        outputs=[NamedTensor("out", datatype, array), NamedTensor("json", "FP32", ARRAYS["FP32"])],
        binary_outputs=frozenset({"out"}),
    )
    encoded = CODEC.encode(response)
    assert encoded.media_type == "application/octet-stream"
    result = triton.InferResult.from_response_body(
        encoded.body, header_length=int(encoded.headers["Inference-Header-Content-Length"])
    )
    np.testing.assert_array_equal(result.as_numpy("out"), array)
    np.testing.assert_allclose(result.as_numpy("json"), ARRAYS["FP32"])  # a JSON output alongside a binary one
    assert result.get_response()["model_name"] == "m"


def test_json_and_binary_inputs_mix_in_one_request() -> None:
    json_input = triton.InferInput("a", [2], "INT64")
    json_input.set_data_from_numpy(np.array([1, 2], np.int64), binary_data=False)
    binary_input = triton.InferInput("b", [2], "FP32")
    binary_input.set_data_from_numpy(np.array([0.5, 1.5], np.float32), binary_data=True)
    body, json_size = triton.InferenceServerClient.generate_request_body([json_input, binary_input])
    request = CODEC.decode(body, {"inference-header-content-length": str(json_size)})
    assert {t.name: t.data.tolist() for t in request.inputs} == {"a": [1, 2], "b": [0.5, 1.5]}


def _header(inputs: list[dict[str, object]]) -> bytes:
    return json.dumps({"inputs": inputs}).encode()


@pytest.mark.parametrize(
    ("body", "length", "message"),
    [
        (b"{}", "ten", "Inference-Header-Content-Length must be an integer, got 'ten'"),
        (b"{}", "50", "Inference-Header-Content-Length is 50 but the body has 2 bytes"),
        (
            _header([{"name": "x", "datatype": "FP32", "shape": [2], "parameters": {"binary_data_size": 8}}])
            + b"\x00" * 4,
            None,
            "binary_data_size 8 does not fit the 4-byte binary part",
        ),
        (
            _header([{"name": "x", "datatype": "FP32", "shape": [3], "parameters": {"binary_data_size": 8}}])
            + b"\x00" * 8,
            None,
            "input `x`: 3 FP32 values need 12 bytes, binary_data_size is 8",
        ),
        (
            _header([{"name": "x", "datatype": "FP32", "shape": [1], "parameters": {"binary_data_size": 4}}])
            + b"\x00" * 8,
            None,
            "the binary part has 8 bytes but the inputs' binary_data_size add up to 4",
        ),
        (
            _header([{"name": "x", "datatype": "BYTES", "shape": [1], "parameters": {"binary_data_size": 6}}])
            + b"\x09\x00\x00\x00ab",
            None,
            "a BYTES element of 9 bytes runs past the end",
        ),
        (
            _header([{"name": "x", "datatype": "BOOL", "shape": [1], "parameters": {"binary_data_size": 1}}]) + b"\x07",
            None,
            "BOOL bytes must be 0 or 1",
        ),
        (
            _header([{"name": "x", "datatype": "FP32", "shape": [1], "parameters": {"binary_data_size": 4}}])
            + np.float32("nan").tobytes(),
            None,
            "values must be finite numbers",
        ),
    ],
)
def test_malformed_binary_requests_are_400s(body: bytes, length: str | None, message: str) -> None:
    header_length = length if length is not None else str(body.index(b"}]}") + 3)
    with pytest.raises(InvalidInputError, match=message):
        CODEC.decode(body, {"inference-header-content-length": header_length})

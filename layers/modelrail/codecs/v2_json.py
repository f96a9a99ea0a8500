"""Open Inference Protocol v2 REST with JSON tensor data."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np

from modelrail.codecs.base import (
    JSON_MEDIA_TYPE,
    Encoded,
    InferRequest,
    InferResponse,
    NamedTensor,
    RequestedOutput,
    dump_json,
    parse_json,
)
from modelrail.codecs.tensor_bytes import decode_tensor
from modelrail.datatypes import array_from_json, numpy_dtype
from modelrail.errors import InvalidInputError


class V2JsonCodec:
    """``{"inputs": [{"name", "datatype", "shape", "data"}], "outputs": [...]}`` both ways."""

    name = "v2-json"

    def decode(self, body: bytes, headers: Mapping[str, str]) -> InferRequest:
        """Parse a JSON infer request; every tensor's data must be inline."""
        del headers
        return parse_infer_header(parse_json(body), binary=b"")

    def encode(self, response: InferResponse) -> Encoded:
        """Every output as JSON data."""
        return Encoded(dump_json(response_header(response, binary_sizes={})), JSON_MEDIA_TYPE)


def parse_infer_header(document: Any, *, binary: bytes) -> InferRequest:
    """Parse the JSON part of an infer request; inputs with ``binary_data_size`` read from ``binary`` in order."""
    if not isinstance(document, dict):
        raise InvalidInputError("an infer request must be a JSON object with an `inputs` list")
    inputs = document.get("inputs")
    if not isinstance(inputs, list) or not inputs:
        raise InvalidInputError("`inputs` must be a non-empty list of {name, datatype, shape, data} objects")
    offset = 0
    tensors: list[NamedTensor] = []
    for index, raw in enumerate(inputs):
        tensor, used = _parse_input(index, raw, binary, offset)
        offset += used
        tensors.append(tensor)
    if offset != len(binary):
        raise InvalidInputError(
            f"the binary part has {len(binary)} bytes but the inputs' binary_data_size add up to {offset}"
        )
    names = [tensor.name for tensor in tensors]
    duplicates = sorted({name for name in names if names.count(name) > 1})
    if duplicates:
        raise InvalidInputError(f"input(s) {duplicates} given more than once")
    request_id = document.get("id")
    if request_id is not None and not isinstance(request_id, str):
        raise InvalidInputError("`id` must be a string")
    parameters = _parameters(document.get("parameters"), where="request")
    return InferRequest(
        inputs=tensors,
        outputs=_parse_outputs(document.get("outputs")),
        id=request_id,
        binary_output=_flag(parameters, "binary_data_output", where="request"),
    )


def _parse_input(index: int, raw: Any, binary: bytes, offset: int) -> tuple[NamedTensor, int]:
    if not isinstance(raw, dict):
        raise InvalidInputError(f"inputs[{index}] must be an object with name, datatype, shape and data")
    name = raw.get("name")
    if not isinstance(name, str) or not name:
        raise InvalidInputError(f"inputs[{index}]: `name` must be a non-empty string")
    where = f"input `{name}`"
    datatype = raw.get("datatype")
    dtype = numpy_dtype(datatype, where=where) if isinstance(datatype, str) else None
    if dtype is None or not isinstance(datatype, str):
        raise InvalidInputError(f"{where}: `datatype` must be a string such as FP32 or INT64")
    shape = raw.get("shape")
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0 for d in shape):
        raise InvalidInputError(f"{where}: `shape` must be a list of non-negative integers, got {shape!r}")
    count = math.prod(shape)
    parameters = _parameters(raw.get("parameters"), where=where)
    size = parameters.get("binary_data_size")
    if size is not None:
        if not isinstance(size, int) or isinstance(size, bool) or size < 0 or offset + size > len(binary):
            raise InvalidInputError(
                f"{where}: binary_data_size {size!r} does not fit the {len(binary)}-byte binary part"
            )
        if "data" in raw:
            raise InvalidInputError(f"{where}: give either `data` or binary_data_size, not both")
        array = decode_tensor(binary[offset : offset + size], datatype, count, where=where)
        return NamedTensor(name, datatype, array.reshape(shape)), size
    if "data" not in raw:
        raise InvalidInputError(f"{where}: `data` is missing")
    array = array_from_json(raw["data"], datatype, where=where)
    if array.size != count:
        raise InvalidInputError(f"{where}: shape {shape} needs {count} values, got {array.size}")
    return NamedTensor(name, datatype, array.reshape(shape)), 0


def _parse_outputs(raw: Any) -> list[RequestedOutput] | None:
    if raw is None:
        return None
    if not isinstance(raw, list):
        raise InvalidInputError("`outputs` must be a list of {name, parameters} objects")
    outputs = []
    for index, item in enumerate(raw):
        if not isinstance(item, dict) or not isinstance(item.get("name"), str):
            raise InvalidInputError(f"outputs[{index}] must be an object with a string `name`")
        where = f"output `{item['name']}`"
        parameters = _parameters(item.get("parameters"), where=where)
        binary = _flag(parameters, "binary_data", where=where) if "binary_data" in parameters else None
        outputs.append(RequestedOutput(item["name"], binary))
    return outputs


def _parameters(raw: Any, *, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise InvalidInputError(f"{where}: `parameters` must be an object")
    return raw


def _flag(parameters: dict[str, Any], key: str, *, where: str) -> bool:
    value = parameters.get(key, False)
    if not isinstance(value, bool):
        raise InvalidInputError(f"{where}: parameter `{key}` must be true or false, got {value!r}")
    return value


def response_header(response: InferResponse, *, binary_sizes: dict[str, int]) -> dict[str, Any]:
    """The JSON part of an infer response; outputs in ``binary_sizes`` carry a size instead of data."""
    outputs = []
    for tensor in response.outputs:
        entry: dict[str, Any] = {"name": tensor.name, "datatype": tensor.datatype, "shape": list(tensor.data.shape)}
        if tensor.name in binary_sizes:
            entry["parameters"] = {"binary_data_size": binary_sizes[tensor.name]}
        else:
            entry["data"] = _json_data(tensor)
        outputs.append(entry)
    header: dict[str, Any] = {"model_name": response.model_name, "model_version": response.model_version}
    if response.id is not None:
        header["id"] = response.id
    header["outputs"] = outputs
    return header


def _json_data(tensor: NamedTensor) -> list[Any]:
    flat = tensor.data.reshape(-1)
    if tensor.datatype == "BYTES":
        return [item.decode("utf-8", "replace") if isinstance(item, bytes) else str(item) for item in flat]
    if flat.dtype == np.float16:
        flat = flat.astype(np.float32)
    return list(flat.tolist())

"""Tensor models whose batch axis is not the first, 0-d shared inputs, state in/out, several outputs and every
datatype ONNX Runtime serves: each served by the app on loopback, at batch 1 to 3, and compared EXACTLY with a
direct ONNX Runtime run, through a real tritonclient with JSON and binary tensors and through the task API.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import ExitStack
from typing import Any

import httpx
import numpy as np
import onnx
import onnxruntime as ort
import pytest
import tritonclient.http as triton
from onnx import TensorProto, helper
from tritonclient.utils import InferenceServerException

from modelrail.app import create_app
from modelrail.settings import Settings
from tests.support.serving_artifacts import write_artifact
from tests.support.serving_servers import serve

OPSET = [helper.make_opsetid("", 17)]
BATCHES = [1, 2, 3]
WIRES = [(False, False), (True, True), (False, True), (True, False)]
"""(binary inputs, binary outputs)."""


def _model(nodes: list[Any], inputs: list[Any], outputs: list[Any], initializers: list[Any] | None = None) -> bytes:
    graph = helper.make_graph(nodes, "tensorio", inputs, outputs, initializer=initializers or [])
    model = helper.make_model(graph, opset_imports=OPSET, producer_name="modelrail-tests")
    model.ir_version = 8
    onnx.checker.check_model(model)
    return model.SerializeToString()


def recurrent_model(state_dims: list[Any]) -> bytes:
    """x FP32 [B, 4], state FP32 ``state_dims`` ([2, B, 4]), sr INT64 0-d (shared) ->
    y = x * sr [B, 4], next_state = state + y [2, B, 4], rate = sr (0-d, shared by the batch).

    Element-wise only, so a row's answer is bit-identical whatever batch it runs in.
    """
    return _model(
        [
            helper.make_node("Cast", ["sr"], ["srf"], to=TensorProto.FLOAT),
            helper.make_node("Mul", ["x", "srf"], ["y"]),
            helper.make_node("Unsqueeze", ["y", "zero"], ["y3"]),
            helper.make_node("Add", ["state", "y3"], ["next_state"]),
            helper.make_node("Identity", ["sr"], ["rate"]),
        ],
        [
            helper.make_tensor_value_info("x", TensorProto.FLOAT, ["B", 4]),
            helper.make_tensor_value_info("state", TensorProto.FLOAT, state_dims),
            helper.make_tensor_value_info("sr", TensorProto.INT64, []),
        ],
        [
            helper.make_tensor_value_info("y", TensorProto.FLOAT, ["B", 4]),
            helper.make_tensor_value_info("next_state", TensorProto.FLOAT, state_dims),
            helper.make_tensor_value_info("rate", TensorProto.INT64, []),
        ],
        [onnx.numpy_helper.from_array(np.array([0], np.int64), "zero")],
    )


DATATYPES: dict[str, tuple[int, Any]] = {
    "BOOL": (TensorProto.BOOL, np.bool_),
    "INT8": (TensorProto.INT8, np.int8),
    "INT16": (TensorProto.INT16, np.int16),
    "INT32": (TensorProto.INT32, np.int32),
    "INT64": (TensorProto.INT64, np.int64),
    "UINT8": (TensorProto.UINT8, np.uint8),
    "UINT16": (TensorProto.UINT16, np.uint16),
    "UINT32": (TensorProto.UINT32, np.uint32),
    "UINT64": (TensorProto.UINT64, np.uint64),
    "FP16": (TensorProto.FLOAT16, np.float16),
    "FP32": (TensorProto.FLOAT, np.float32),
    "FP64": (TensorProto.DOUBLE, np.float64),
    "BYTES": (TensorProto.STRING, np.object_),
}


def datatypes_model() -> bytes:
    """One input `in_<T>` [B, 3] and one output `out_<T>` = Identity per OIP datatype; strings are a graph's BYTES."""
    return _model(
        [helper.make_node("Identity", [f"in_{name}"], [f"out_{name}"]) for name in DATATYPES],
        [
            helper.make_tensor_value_info(f"in_{name}", onnx_type, ["B", 3])
            for name, (onnx_type, _) in DATATYPES.items()
        ],
        [
            helper.make_tensor_value_info(f"out_{name}", onnx_type, ["B", 3])
            for name, (onnx_type, _) in DATATYPES.items()
        ],
    )


def datatype_values(name: str, batch: int) -> np.ndarray:
    """Each datatype's edge values (its range's ends, zero, subnormal and largest floats, unicode and empty text)."""
    dtype = DATATYPES[name][1]
    if name == "BYTES":
        pool: list[Any] = ["", "héllo wörld", "a\nb", "日本語", "0", " x "]
    elif name == "BOOL":
        pool = [True, False, True, True, False, False]
    elif np.dtype(dtype).kind in "iu":
        info = np.iinfo(dtype)
        pool = [info.min, info.max, 0, 1, info.max - 1, info.min + 1]
    else:
        info_f = np.finfo(dtype)
        pool = [float(info_f.max), float(info_f.min), float(info_f.smallest_subnormal), -0.0, 0.1, 1 / 3]
    flat = [pool[(i * 5 + 1) % len(pool)] for i in range(batch * 3)]
    array = np.empty(batch * 3, dtype=np.object_) if name == "BYTES" else np.array(flat, dtype=dtype)
    if name == "BYTES":
        array[:] = flat
    return array.reshape(batch, 3)


def same(got: np.ndarray, want: np.ndarray) -> None:
    """Exactly equal: same dtype and shape, bit-identical values (-0.0 is not 0.0), text compared as text."""
    if want.dtype == np.object_:
        decoded = [item.decode() if isinstance(item, bytes) else item for item in got.reshape(-1)]
        assert got.shape == want.shape
        assert decoded == list(want.reshape(-1))
        return
    assert got.dtype == want.dtype
    assert got.shape == want.shape
    assert got.tobytes() == want.tobytes()


def direct(model: bytes, feeds: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    session = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    names = [output.name for output in session.get_outputs()]
    return dict(zip(names, session.run(names, feeds), strict=True))


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, Any]]:
    """Three models on one app each: the recurrent one with its axes read from the graph, the same graph with
    unnamed state dimensions and declared axes (batches capped at 2, so batch 3 runs in two calls), every datatype.
    """
    root = tmp_path_factory.mktemp("tensorio")
    models = {
        "recurrent": (recurrent_model([2, "B", 4]), {}, 8),
        "declared": (recurrent_model([2, None, None]), {"batch_axes": {"state": 1, "next_state": 1, "sr": None}}, 2),
        "dtypes": (datatypes_model(), {}, 8),
    }
    urls: dict[str, Any] = {}
    with ExitStack() as stack:
        for name, (model, processing, limit) in models.items():
            artifact = write_artifact(
                root / name, name=name, task="tensor", model=model, processing=processing, max_batch_size=limit
            )
            app = create_app(Settings(model_dir=artifact, model_name=name), preload=False)
            url = stack.enter_context(serve(app))
            client = triton.InferenceServerClient(
                url.removeprefix("http://"), connection_timeout=30, network_timeout=60
            )
            stack.callback(client.close)
            urls[name] = {"url": url, "client": client, "model": model}
        yield urls


def infer(
    client: triton.InferenceServerClient, name: str, feeds: dict[str, np.ndarray], wire: tuple[bool, bool]
) -> Any:
    binary_in, binary_out = wire
    tensors = []
    for input_name, array in feeds.items():
        tensor = triton.InferInput(input_name, list(array.shape), datatype_of(array))
        tensor.set_data_from_numpy(array, binary_data=binary_in)
        tensors.append(tensor)
    names = [output["name"] for output in client.get_model_metadata(name)["outputs"]]
    return client.infer(name, tensors, outputs=[triton.InferRequestedOutput(n, binary_data=binary_out) for n in names])


def datatype_of(array: np.ndarray) -> str:
    from tritonclient.utils import np_to_triton_dtype

    return str(np_to_triton_dtype(array.dtype))


def recurrent_feeds(batch: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(batch)
    return {
        "x": rng.normal(size=(batch, 4)).astype(np.float32),
        "state": rng.normal(size=(2, batch, 4)).astype(np.float32),
        "sr": np.array(16000, dtype=np.int64),
    }


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("name", ["recurrent", "declared"])
def test_state_and_shared_inputs_answer_exactly_as_onnx_runtime(
    served: dict[str, Any], name: str, batch: int, wire: tuple[bool, bool]
) -> None:
    feeds = recurrent_feeds(batch)
    result = infer(served[name]["client"], name, feeds, wire)
    for output, want in direct(served[name]["model"], feeds).items():
        same(result.as_numpy(output), want)


@pytest.mark.parametrize("wire", WIRES)
@pytest.mark.parametrize("batch", BATCHES)
def test_every_datatype_round_trips_exactly(served: dict[str, Any], batch: int, wire: tuple[bool, bool]) -> None:
    feeds = {f"in_{name}": datatype_values(name, batch) for name in DATATYPES}
    result = infer(served["dtypes"]["client"], "dtypes", feeds, wire)
    want = direct(served["dtypes"]["model"], feeds)
    for name in DATATYPES:
        same(result.as_numpy(f"out_{name}"), want[f"out_{name}"])
        same(result.as_numpy(f"out_{name}"), feeds[f"in_{name}"])


def test_metadata_shows_each_tensors_batch_axis(served: dict[str, Any]) -> None:
    for name in ["recurrent", "declared"]:
        metadata = httpx.get(f"{served[name]['url']}/v2/models/{name}").json()
        axes = {t["name"]: t["parameters"] for t in metadata["inputs"] + metadata["outputs"]}
        assert axes == {
            "x": {"batch_axis": 0},
            "state": {"batch_axis": 1},
            "sr": {"shared": True},
            "y": {"batch_axis": 0},
            "next_state": {"batch_axis": 1},
            "rate": {"shared": True},
        }
    limits = [httpx.get(f"{served[n]['url']}/v2/models/{n}").json()["parameters"]["max_batch_size"] for n in served]
    assert limits == [8, 2, 8]


@pytest.mark.parametrize("batch", BATCHES)
@pytest.mark.parametrize("name", ["recurrent", "declared"])
def test_task_api_instances_hold_per_instance_inputs_and_shared_ones_once(
    served: dict[str, Any], name: str, batch: int
) -> None:
    feeds = recurrent_feeds(batch)
    instances = [{"x": feeds["x"][i].tolist(), "state": feeds["state"][:, i].tolist()} for i in range(batch)]
    answer = httpx.post(
        f"{served[name]['url']}/v1/models/{name}/predict", json={"instances": instances, "shared": {"sr": 16000}}
    )
    assert answer.status_code == 200, answer.text
    want = direct(served[name]["model"], feeds)
    for i, prediction in enumerate(answer.json()["predictions"]):
        same(np.array(prediction["y"], np.float32), want["y"][i])
        same(np.array(prediction["next_state"], np.float32), want["next_state"][:, i])
        assert prediction["rate"] == 16000


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"instances": [{"x": [0, 0, 0, 0], "state": [[0] * 4] * 2}]}, "shared input `sr` is missing"),
        (
            {"instances": [{"x": [0] * 4, "state": [[0] * 4] * 2, "sr": 1}], "shared": {"sr": 1}},
            r"unknown input\(s\) \['sr'\].*give them once, in `shared`",
        ),
        ({"instances": [{"x": [0] * 4, "state": [0] * 4}], "shared": {"sr": 1}}, r"expected shape \[2, 4\]"),
        ({"instances": [{"x": [0] * 4, "state": [[0] * 4] * 2}], "shared": {"sr": [1]}}, r"expected shape \[\]"),
        ({"instances": [{"x": [0] * 4, "state": [[0] * 4] * 2}], "shared": {"nope": 1}}, "not inputs shared"),
    ],
)
def test_task_api_refuses_misplaced_inputs_clearly(served: dict[str, Any], body: Any, message: str) -> None:
    answer = httpx.post(f"{served['recurrent']['url']}/v1/models/recurrent/predict", json=body)
    assert answer.status_code == 400
    assert re.search(message, str(answer.json()["error"])), answer.text


def test_inputs_that_disagree_on_the_batch_size_are_refused(served: dict[str, Any]) -> None:
    feeds = recurrent_feeds(3)
    feeds["state"] = feeds["state"][:, :2]
    with pytest.raises(
        InferenceServerException, match=r"disagree on the batch size: `x` has 3 along axis 0, `state` has 2"
    ):
        infer(served["recurrent"]["client"], "recurrent", feeds, (True, True))

"""The GPU container's SageMaker contract over real loopback HTTP, on the CPU provider (no GPU here)."""

from __future__ import annotations

import base64
import importlib.util
import io
import json
import logging
import shutil
import struct
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import onnxruntime
import pytest
from PIL import Image

from modelrail.gpu_platform import GPU_IMAGE
from modelrail.routes import Operation, custom_attributes
from modelrail.sagemaker import create_sagemaker_app, json_header_length, sagemaker_settings
from modelrail.settings import Settings
from tests.support.serving_artifacts import image_artifact
from tests.support.serving_servers import ROOT, built_artifact, serve

HEADER = "X-Amzn-SageMaker-Custom-Attributes"
CUDA, CPU = "CUDAExecutionProvider", "CPUExecutionProvider"
PLATFORM_FIELDS = ("nvidia_driver", "cuda_driver", "cuda_runtime", "onnxruntime", "onnxruntime_cuda")


@pytest.fixture(scope="module")
def opt_ml_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """SageMaker unpacks the model data here: the built minilm-gpu artifact (fp16), as the endpoint would get it."""
    target = tmp_path_factory.mktemp("opt-ml") / "model"
    shutil.copytree(built_artifact("minilm-gpu"), target)
    return target


@pytest.fixture(scope="module")
def endpoint(opt_ml_model: Path) -> Iterator[str]:
    settings = Settings(providers=["CUDAExecutionProvider", "CPUExecutionProvider"], intra_op_threads=2)
    app = create_sagemaker_app(settings, model_dir=opt_ml_model, preload=False)
    with serve(app) as url:
        yield url


def post(url: str, body: Any, attributes: str | None = None, **headers: str) -> httpx.Response:
    if attributes is not None:
        headers[HEADER] = attributes
    return httpx.post(f"{url}/invocations", content=json.dumps(body), headers=headers, timeout=60)


def test_ping_is_200_once_the_model_loads(endpoint: str) -> None:
    assert httpx.get(f"{endpoint}/ping", timeout=60).status_code == 200


def test_v1_predict_by_header_and_by_body_match_the_lambda_route(endpoint: str) -> None:
    body = {"instances": ["The GPU path answers like the CPU path."]}
    by_header = post(endpoint, body, custom_attributes(Operation.V1_PREDICT))
    by_body = post(endpoint, body)
    direct = httpx.post(f"{endpoint}/v1/models/minilm-gpu/predict", json=body, timeout=60)
    assert by_header.status_code == by_body.status_code == direct.status_code == 200
    assert by_header.content == by_body.content == direct.content  # the very bytes the Lambda route sends
    document = by_header.json()
    assert (document["model"], len(document["predictions"][0])) == ("minilm-gpu", 384)


def test_v2_infer_by_header_and_by_body(endpoint: str) -> None:
    body = {
        "inputs": [
            {"name": "input_ids", "datatype": "INT64", "shape": [1, 4], "data": [101, 7592, 2088, 102]},
            {"name": "attention_mask", "datatype": "INT64", "shape": [1, 4], "data": [1, 1, 1, 1]},
            {"name": "token_type_ids", "datatype": "INT64", "shape": [1, 4], "data": [0, 0, 0, 0]},
        ]
    }
    by_header = post(endpoint, body, custom_attributes(Operation.V2_INFER))
    by_body = post(endpoint, body)
    assert by_header.status_code == by_body.status_code == 200
    assert by_header.content == by_body.content
    assert by_header.json()["outputs"][0]["shape"] == [1, 384]
    # InvokeEndpoint passes on only the custom attributes: the container names the version that answered there.
    assert by_header.headers[HEADER] == by_header.json()["model_version"]


TOKENS = {"input_ids": [101, 7592, 2088, 102], "attention_mask": [1, 1, 1, 1], "token_type_ids": [0, 0, 0, 0]}


def binary_infer_body(*, binary_output: bool) -> bytes:
    """A binary-extension request as tritonclient builds it: a JSON header, then each input's raw INT64 bytes."""
    header = {
        "inputs": [
            {"name": name, "datatype": "INT64", "shape": [1, 4], "parameters": {"binary_data_size": 32}}
            for name in TOKENS
        ],
        "parameters": {"binary_data_output": binary_output},
    }
    raw = b"".join(struct.pack("<4q", *values) for values in TOKENS.values())
    return json.dumps(header).encode() + raw


def test_binary_request_without_its_header_length_is_read_by_finding_the_json_header(endpoint: str) -> None:
    """SageMaker forwards no Inference-Header-Content-Length: the container finds where the JSON header ends."""
    json_body = {"inputs": [{"name": n, "datatype": "INT64", "shape": [1, 4], "data": v} for n, v in TOKENS.items()]}
    expected = post(endpoint, json_body, custom_attributes(Operation.V2_INFER)).json()["outputs"]
    response = httpx.post(
        f"{endpoint}/invocations",
        content=binary_infer_body(binary_output=False),
        headers={HEADER: custom_attributes(Operation.V2_INFER)},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["outputs"] == expected


def test_base64_body_from_a_versioned_route_is_decoded(endpoint: str) -> None:
    response = httpx.post(
        f"{endpoint}/invocations",
        content=base64.b64encode(binary_infer_body(binary_output=False)),
        headers={HEADER: custom_attributes(Operation.V2_INFER, version="1", body="base64")},
        timeout=60,
    )
    assert response.status_code == 200, response.text
    assert response.json()["outputs"][0]["shape"] == [1, 384]
    bad = httpx.post(
        f"{endpoint}/invocations",
        content=b"{not base64",
        headers={HEADER: custom_attributes(Operation.V2_INFER, body="base64")},
        timeout=60,
    )
    assert (bad.status_code, bad.json()["code"]) == (400, "invalid_input")


def test_outputs_asked_for_as_binary_come_back_as_json_data(endpoint: str) -> None:
    """InvokeEndpoint drops every container header but Content-Type and the custom attributes, so a binary
    answer's Inference-Header-Content-Length could not reach the caller: the outputs come back as JSON."""
    response = httpx.post(
        f"{endpoint}/invocations",
        content=binary_infer_body(binary_output=True),
        headers={HEADER: custom_attributes(Operation.V2_INFER)},
        timeout=60,
    )
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    assert "inference-header-content-length" not in response.headers
    assert len(response.json()["outputs"][0]["data"]) == 384


def test_trailing_bytes_after_a_json_body_are_refused(endpoint: str) -> None:
    body = json.dumps(
        {"inputs": [{"name": n, "datatype": "INT64", "shape": [1, 4], "data": v} for n, v in TOKENS.items()]}
    )
    response = httpx.post(
        f"{endpoint}/invocations",
        content=body.encode() + b"junk",
        headers={HEADER: custom_attributes(Operation.V2_INFER)},
        timeout=60,
    )
    assert (response.status_code, response.json()["code"]) == (400, "invalid_input")


@pytest.mark.parametrize(
    ("body", "length"),
    [
        (b'{"a": 1}', None),
        (b'  {"a": 1}  \n', None),
        (b'{"a": "caf\xc3\xa9"}\x00\x01', len(b'{"a": "caf\xc3\xa9"}')),
        (b'{"a": [1, 2]}{', len(b'{"a": [1, 2]}')),
        (b"\x00\x01", None),
    ],
)
def test_json_header_length(body: bytes, length: int | None) -> None:
    assert json_header_length(body) == length


def test_metadata_says_the_cpu_fallback_serves(endpoint: str) -> None:
    response = post(endpoint, {}, custom_attributes(Operation.V2_MODEL_METADATA))
    parameters = response.json()["parameters"]
    assert response.status_code == 200
    assert parameters["provider"] == "CPUExecutionProvider"  # CUDA was asked for; none here
    assert parameters["precision"] == "fp16"
    assert parameters["target"] == "gpu"
    # what the process saw of the GPU stack, as flat strings (OIP parameters hold no objects)
    assert parameters["onnxruntime"] == onnxruntime.__version__
    for name in PLATFORM_FIELDS:
        assert isinstance(parameters[name], str)
    assert parameters["nvidia_driver"] == "unavailable"  # no NVIDIA driver on this machine


def log_lines(caplog: pytest.LogCaptureFixture, message: str) -> list[dict[str, Any]]:
    """The records logged with this message, as the JSON log line's fields (``extra=`` values are top-level)."""
    return [vars(record) for record in caplog.records if record.getMessage().startswith(message)]


def test_one_start_up_line_names_the_provider_and_the_gpu_stack(
    opt_ml_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="modelrail")
    settings = Settings(providers=[CUDA, CPU], intra_op_threads=2)
    with serve(create_sagemaker_app(settings, model_dir=opt_ml_model, preload=False)) as url:
        assert httpx.get(f"{url}/ping", timeout=60).status_code == 200
    (line,) = log_lines(caplog, "session ready")
    assert line["provider"] == CPU
    assert line["providers"] == [CPU]  # CUDA is not in this onnxruntime build: skipped, CPU serves
    assert line["onnxruntime"] == onnxruntime.__version__
    assert set(PLATFORM_FIELDS) <= set(line)


def test_ping_is_503_when_cuda_is_required_and_cannot_start(
    opt_ml_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # What the stack sets on a SageMaker variant (MODELRAIL_REQUIRE_CUDA=true); this machine has no CUDA provider.
    settings = Settings(providers=[CUDA, CPU], require_cuda=True, intra_op_threads=2)
    with serve(create_sagemaker_app(settings, model_dir=opt_ml_model, preload=False)) as url:
        ping = httpx.get(f"{url}/ping", timeout=60)
        invocation = post(url, {"instances": ["never served on CPU"]})
    assert ping.status_code == 503  # SageMaker's health check fails: the deployment fails and rolls back
    assert ping.json()["code"] == "model_unavailable"
    # The answer speaks in the caller's terms; the operator's story is in the log under the same request id.
    assert "could not be loaded" in ping.json()["error"]
    failure = log_lines(caplog, "model load failed")[0]
    error = failure["error"]
    assert "MODELRAIL_REQUIRE_CUDA is true but model.onnx would run on CPUExecutionProvider" in error
    assert f"onnxruntime {onnxruntime.__version__}" in error
    assert "NVIDIA driver unavailable, CUDA driver unavailable, CUDA runtime unavailable" in error
    assert "`deploy.cpu_fallback: true`" in error
    assert invocation.status_code == 503
    refusal = log_lines(caplog, "CUDA execution provider required but not started")[0]
    assert refusal["levelname"] == "ERROR"
    assert refusal["provider"] == CPU
    assert refusal["onnxruntime"] == onnxruntime.__version__
    assert set(PLATFORM_FIELDS) <= set(refusal)


def test_cuda_required_but_not_asked_for_is_a_configuration_error(
    opt_ml_model: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(providers=[CPU], require_cuda=True)
    with serve(create_sagemaker_app(settings, model_dir=opt_ml_model, preload=False)) as url:
        ping = httpx.get(f"{url}/ping", timeout=60)
    assert ping.status_code == 503
    # The operator's story is in the log; the answer stays in the caller's terms.
    failure = log_lines(caplog, "model load failed")[0]
    assert "MODELRAIL_PROVIDERS (CPUExecutionProvider) does not name CUDAExecutionProvider" in failure["error"]
    assert "MODELRAIL_PROVIDERS" not in ping.json()["error"]


def test_versioned_routes_check_the_version(endpoint: str) -> None:
    ready = post(endpoint, {}, custom_attributes(Operation.V2_MODEL_READY, version="1"))
    wrong = post(endpoint, {}, custom_attributes(Operation.V2_MODEL_READY, version="9"))
    assert (ready.status_code, ready.json()) == (200, {"name": "minilm-gpu", "ready": True})
    assert (wrong.status_code, wrong.json()["code"]) == (404, "version_not_found")


@pytest.mark.parametrize(
    ("body", "attributes", "message"),
    [
        ({"something": 1}, None, 'the body must be {"inputs": [...]} (v2 infer) or {"instances": [...]}'),
        ({}, "route=v9-everything", "names an unknown route"),
        ({"instances": []}, "route=v1-predict", "`instances` must be a non-empty list"),
    ],
)
def test_unroutable_or_bad_bodies_are_400s(endpoint: str, body: Any, attributes: str | None, message: str) -> None:
    response = post(endpoint, body, attributes)
    assert response.status_code == 400
    assert response.json()["code"] == "invalid_input"
    assert message in response.json()["error"]


def test_ping_is_503_when_the_model_cannot_load(tmp_path: Path) -> None:
    broken = image_artifact(tmp_path / "model")
    (broken / "model.onnx").write_bytes(b"truncated")
    app = create_sagemaker_app(Settings(), model_dir=broken, preload=False)
    with serve(app) as url:
        response = httpx.get(f"{url}/ping", timeout=30)
    assert response.status_code == 503
    assert response.json()["code"] == "model_unavailable"
    assert response.headers["retry-after"] == "5"


def test_opt_ml_model_is_used_only_when_no_other_source_is_set(tmp_path: Path) -> None:
    image_artifact(tmp_path)
    assert sagemaker_settings(Settings(), model_dir=tmp_path).model_dir == tmp_path
    assert sagemaker_settings(Settings(model_bucket="b"), model_dir=tmp_path).model_dir is None
    assert sagemaker_settings(Settings(), model_dir=tmp_path / "empty").model_dir is None


def test_image_model_through_invocations(tmp_path: Path) -> None:
    image = io.BytesIO()
    Image.new("L", (8, 8), 255).save(image, "PNG")
    app = create_sagemaker_app(Settings(), model_dir=image_artifact(tmp_path), preload=False)
    with serve(app) as url:
        response = post(url, {"instances": [base64.b64encode(image.getvalue()).decode()]})
    assert response.status_code == 200
    assert response.json()["predictions"][0]["label"] in {"dark", "light", "none"}


def test_serve_entry_point_refuses_unknown_arguments() -> None:
    spec = importlib.util.spec_from_file_location(
        "sagemaker_serve", ROOT / "functions" / "sagemaker_inference" / "serve.py"
    )
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.main(["train"]) == 2


def test_fp16_answers_do_not_depend_on_batch_mates(endpoint: str) -> None:
    # fp16 MiniLM serves 8 texts per call; padding a short text to a long one's length would move its
    # embedding by ~7e-5, so texts are batched only with texts of the same token count.
    texts = ["tiny", "a man plays a guitar", " ".join(["long words here"] * 60), "the cat sat", "stocks fell"]
    together = post(endpoint, {"instances": texts}).json()["predictions"]
    for text, vector in zip(texts, together, strict=True):
        alone = post(endpoint, {"instances": [text]}).json()["predictions"][0]
        assert max(abs(a - b) for a, b in zip(vector, alone, strict=True)) <= 1e-5


def pinned(requirements: Path) -> dict[str, str]:
    lines = requirements.read_text(encoding="utf-8").splitlines()
    pins = (line.split("==") for line in lines if line and not line.startswith("#"))
    return {name.lower(): version for name, version in pins}


def test_gpu_image_pins_are_the_lambda_pins_with_the_gpu_runtime_and_a_server() -> None:
    """The two images serve with the same packages: a pin bumped in one file only would split their behaviour.

    ONNX Runtime itself is the exception: the GPU image holds the newest onnxruntime-gpu built for CUDA 12, which
    SageMaker's drivers run (``gpu_platform.GPU_IMAGE``), while the Lambda image follows the CPU releases.
    """
    lambda_pins = pinned(ROOT / "functions" / "lambda_inference" / "requirements.txt")
    gpu_pins = pinned(ROOT / "functions" / "sagemaker_inference" / "requirements.txt")
    assert gpu_pins.pop("onnxruntime-gpu") == GPU_IMAGE.onnxruntime_gpu
    lambda_pins.pop("onnxruntime")
    gpu_pins.pop("uvicorn")  # the container serves /invocations itself; KeyError if it is missing
    assert gpu_pins == lambda_pins


def test_gpu_image_base_is_the_cuda_the_runtime_was_built_for() -> None:
    dockerfile = (ROOT / "functions" / "sagemaker_inference" / "Dockerfile").read_text(encoding="utf-8")
    (base,) = [line.split()[1] for line in dockerfile.splitlines() if line.startswith("FROM ")]
    assert base.startswith(f"nvidia/cuda:{GPU_IMAGE.cuda}.")
    assert "-cudnn-runtime-" in base  # onnxruntime-gpu's CUDA provider links libcudnn.so.9
    assert int(GPU_IMAGE.cuda.split(".")[0]) == 12  # the CUDA major that drivers 535 and 550 run

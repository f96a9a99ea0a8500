"""The Lambda handler fed the real API Gateway events in events/ (REST v1 and HTTP API v2), with real models."""

from __future__ import annotations

import base64
import copy
import json
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import tritonclient.http as triton

from modelrail.constants import LAMBDA_MAX_REQUEST_BYTES
from tests.functional.functions.lambda_inference.conftest import event, lambda_context
from tests.support.serving_servers import built_artifact

LoadHandler = Callable[..., types.ModuleType]


@pytest.fixture(scope="module")
def minilm_dir() -> Path:
    return built_artifact("minilm")


@pytest.fixture(scope="module")
def digits_dir() -> Path:
    return built_artifact("digits")


@pytest.fixture
def minilm(load_handler: LoadHandler, minilm_dir: Path) -> types.ModuleType:
    return load_handler(MODELRAIL_MODEL_DIR=minilm_dir, MODELRAIL_MODEL_NAME="minilm", MODELRAIL_MODEL_VERSION="1")


@pytest.fixture
def digits(load_handler: LoadHandler, digits_dir: Path) -> types.ModuleType:
    return load_handler(MODELRAIL_MODEL_DIR=digits_dir, MODELRAIL_MODEL_NAME="digits", MODELRAIL_MODEL_VERSION="1")


def invoke(module: types.ModuleType, request: dict[str, Any]) -> tuple[int, dict[str, str], bytes]:
    response = module.handler(request, lambda_context())
    body = response.get("body", "")
    raw = base64.b64decode(body) if response.get("isBase64Encoded") else body.encode()
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    return response["statusCode"], headers, raw


def embeddings(module: types.ModuleType, name: str) -> list[list[float]]:
    status, headers, body = invoke(module, event(name))
    assert status == 200, body
    assert headers["content-type"] == "application/json"
    document = json.loads(body)
    assert (document["model"], document["version"]) == ("minilm", "1")
    return list(document["predictions"])


def test_minilm_rest_event_answers_unit_embeddings_that_rank_meaning(minilm: types.ModuleType) -> None:
    guitar, instrument, stocks = (np.asarray(v) for v in embeddings(minilm, "minilm-predict.rest-v1.json"))
    for vector in (guitar, instrument, stocks):
        assert vector.shape == (384,)
        assert abs(np.linalg.norm(vector) - 1) < 1e-3
    assert guitar @ instrument > guitar @ stocks + 0.3


def test_minilm_answers_do_not_depend_on_batch_mates(minilm: types.ModuleType) -> None:
    together = embeddings(minilm, "minilm-predict.rest-v1.json")
    texts = json.loads(event("minilm-predict.rest-v1.json")["body"])["instances"]
    for text, vector in zip(texts, together, strict=True):
        alone = event("minilm-predict.http-api-v2.json")
        alone["body"] = json.dumps({"instances": [text]})
        np.testing.assert_allclose(vector, embeddings_from(minilm, alone)[0], atol=1e-5, rtol=0)


def embeddings_from(module: types.ModuleType, request: dict[str, Any]) -> list[list[float]]:
    status, _, body = invoke(module, request)
    assert status == 200, body
    return list(json.loads(body)["predictions"])


def test_minilm_http_api_event_matches_the_rest_event(minilm: types.ModuleType) -> None:
    [one] = embeddings(minilm, "minilm-predict.http-api-v2.json")
    first = embeddings(minilm, "minilm-predict.rest-v1.json")[0]
    assert one == first  # same text, same bytes, whichever API Gateway flavour carried it


def test_minilm_metadata_and_raw_infer(minilm: types.ModuleType) -> None:
    status, _, body = invoke(minilm, event("minilm-metadata.rest-v1.json"))
    metadata = json.loads(body)
    assert status == 200
    assert metadata["platform"] == "onnx_onnxv1"
    assert [i["name"] for i in metadata["inputs"]] == ["input_ids", "attention_mask", "token_type_ids"]
    assert metadata["parameters"]["provider"] == "CPUExecutionProvider"
    assert metadata["parameters"]["max_batch_size"] == 1

    status, _, body = invoke(minilm, event("minilm-infer.rest-v1.json"))
    answer = json.loads(body)
    assert status == 200
    assert answer["id"] == "ids-1"
    assert answer["outputs"][0]["shape"] == [1, 384]


@pytest.mark.parametrize("name", ["digits-predict.rest-v1.json", "digits-predict.http-api-v2.json"])
def test_digits_reads_the_handwritten_three(digits: types.ModuleType, name: str) -> None:
    status, _, body = invoke(digits, event(name))
    [prediction] = json.loads(body)["predictions"]
    assert status == 200
    assert prediction["label"] == "3"
    assert list(prediction["scores"]) == [str(i) for i in range(10)]


def test_digits_metadata_describes_the_image_callers_send(digits: types.ModuleType) -> None:
    status, _, body = invoke(digits, event("digits-metadata.http-api-v2.json"))
    processing = json.loads(json.loads(body)["parameters"]["processing"])  # a JSON object encoded as a string
    assert status == 200
    assert (processing["width"], processing["height"], processing["color"], processing["ink"]) == (
        8,
        8,
        "grayscale",
        "dark",
    )


def test_digits_binary_infer_event_round_trips_through_base64(digits: types.ModuleType) -> None:
    status, headers, body = invoke(digits, event("digits-infer-binary.rest-v1.json"))
    assert status == 200
    assert headers["content-type"] == "application/octet-stream"
    result = triton.InferResult.from_response_body(body, header_length=int(headers["inference-header-content-length"]))
    logits = result.as_numpy("logits")
    assert logits.shape == (1, 10)
    assert int(logits.argmax()) == 3


def test_binary_outputs_come_back_as_json_data_to_a_caller_without_accept(digits: types.ModuleType) -> None:
    """API Gateway turns a base64 body into bytes only for a caller whose first Accept is a binary media type; a
    caller that sends none (tritonclient) gets its outputs as JSON data, which it reads as well as binary."""
    request = event("digits-infer-binary.rest-v1.json")
    for headers in (request["headers"], request.get("multiValueHeaders") or {}):
        headers.pop("Accept", None)
    status, headers, body = invoke(digits, request)
    assert status == 200
    assert headers["content-type"] == "application/json"
    assert "inference-header-content-length" not in headers
    result = triton.InferResult.from_response_body(body)
    assert int(result.as_numpy("logits").argmax()) == 3


def _mutated(name: str, **changes: Any) -> dict[str, Any]:
    request = copy.deepcopy(event(name))
    request.update(changes)
    return request


def _http_api_path(name: str, path: str) -> dict[str, Any]:
    request = copy.deepcopy(event(name))
    request["rawPath"] = request["requestContext"]["http"]["path"] = path
    return request


@pytest.mark.parametrize(
    ("request_event", "status", "code"),
    [
        (_mutated("digits-predict.rest-v1.json", body="{not json"), 400, "invalid_input"),
        (_mutated("digits-predict.rest-v1.json", body='{"instances": ["AAAA"]}'), 422, "unprocessable_input"),
        (_mutated("digits-predict.rest-v1.json", body='{"instances": [1]}'), 400, "invalid_input"),
        (_mutated("digits-predict.rest-v1.json", path="/v1/models/minilm/predict"), 404, "model_not_found"),
        (_http_api_path("digits-metadata.http-api-v2.json", "/v2/models/digits/versions/7"), 404, "version_not_found"),
        (_mutated("digits-predict.rest-v1.json", path="/v3/nothing"), 404, "not_found"),
        (
            _mutated("digits-predict.rest-v1.json", headers={"Content-Type": "text/csv"}, multiValueHeaders={}),
            415,
            "unsupported_media_type",
        ),
        (_mutated("digits-predict.rest-v1.json", body="x" * (LAMBDA_MAX_REQUEST_BYTES + 1)), 413, "payload_too_large"),
    ],
)
def test_bad_requests_get_the_json_error_body(
    digits: types.ModuleType, request_event: dict[str, Any], status: int, code: str
) -> None:
    got_status, headers, body = invoke(digits, request_event)
    document = json.loads(body)
    assert (got_status, document["code"]) == (status, code)
    assert set(document) == {"error", "code", "request_id"}
    assert document["request_id"] == request_event["requestContext"]["requestId"]
    assert headers["content-type"] == "application/json"


def test_logs_are_json_with_the_request_id_and_never_the_payload(
    digits: types.ModuleType, capsys: pytest.CaptureFixture[str]
) -> None:
    capsys.readouterr()
    invoke(digits, event("digits-predict.rest-v1.json"))
    invoke(digits, event("digits-predict.rest-v1.json"))
    lines = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    requests = [line for line in lines if line.get("message") == "request"]
    assert len(requests) == 2
    # The id the caller sees (API Gateway's), and the Lambda invocation's for its START/REPORT lines.
    assert requests[0]["request_id"] == event("digits-predict.rest-v1.json")["requestContext"]["requestId"]
    assert requests[0]["lambda_request_id"] == "8f5c7a52-1d3e-4c55-9e1a-0b2c3d4e5f60"
    assert (requests[0]["model"], requests[0]["version"], requests[0]["status"]) == ("digits", "1", 200)
    assert requests[0]["duration_ms"] > 0
    assert requests[0]["inference_ms"] > 0
    image = json.loads(event("digits-predict.rest-v1.json")["body"])["instances"][0]
    assert all(image[:40] not in json.dumps(line) for line in lines)
    cold = [line for line in lines if "cold_start" in line]
    assert len(cold) <= 1  # the first invocation of this process emitted it (possibly before capture)
    emf = [line for line in lines if "inference_ms" in line and "_aws" in line]
    assert emf
    assert emf[0]["_aws"]["CloudWatchMetrics"][0]["Namespace"] == "modelrail"


def test_a_trailing_slash_without_a_host_header_is_answered_not_redirected(digits: types.ModuleType) -> None:
    """Issue 19.2: Starlette's redirect_slashes answered 307 to ``https://mangum:80/...`` here."""
    request = event("digits-metadata.rest-v1.json")
    request["path"] += "/"
    request["headers"] = {k: v for k, v in request["headers"].items() if k.lower() != "host"}
    request["multiValueHeaders"] = {k: v for k, v in request["multiValueHeaders"].items() if k.lower() != "host"}
    status, headers, body = invoke(digits, request)
    assert (status, "location" in headers) == (200, False)
    assert json.loads(body)["name"] == "digits"


def test_a_custom_domains_base_path_is_taken_off_the_path(load_handler: LoadHandler, digits_dir: Path) -> None:
    """Issue 19.5: through ``https://<domain>/prod`` the REST event's path is ``/prod/v2/...``."""
    module = load_handler(MODELRAIL_MODEL_DIR=digits_dir, MODELRAIL_MODEL_NAME="digits", MODELRAIL_MODEL_VERSION="1",
                          MODELRAIL_API_BASE_PATH="prod")  # fmt: skip
    request = event("digits-metadata.rest-v1.json")
    request["path"] = "/prod" + request["path"]
    status, _, body = invoke(module, request)
    assert status == 200, body
    assert json.loads(body)["name"] == "digits"
    direct = event("digits-metadata.rest-v1.json")  # the API's own URL still works
    assert invoke(module, direct)[0] == 200

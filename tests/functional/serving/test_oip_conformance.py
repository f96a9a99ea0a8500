"""Every Open Inference Protocol endpoint, through local mode's gateway, checked against the protocol's rules.

The rules are the KServe Open Inference Protocol REST specification's, restated in our own words with the section
of ``specification/protocol/inference_rest.md`` (github.com/kserve/open-inference-protocol) each comes from; its
OpenAPI file (``open_inference_rest.yaml``) names the same required fields. One CPU model (``digits``, the real
Lambda handler under Mangum) and the GPU model (``minilm-gpu``, the SageMaker container app) answer, and the
catalog function answers the server-wide endpoints. Every path is asked with and without a trailing slash: the
spec's own OpenAPI file spells server metadata ``/v2/``, and API Gateway routes both forms alike.
"""

from __future__ import annotations

import io
import json
import math
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from modelrail.local.deployment import LocalDeployment
from modelrail.local.gateway import Gateway
from tests.support.bundled_deployment import CPU_MODEL, GPU_MODEL
from tests.support.serving_servers import serve

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[3]
MODELS = (CPU_MODEL, GPU_MODEL)
SLASHES = ("", "/")

DATATYPES = {"BOOL", "UINT8", "UINT16", "UINT32", "UINT64", "INT8", "INT16", "INT32", "INT64", "FP16", "FP32"}
DATATYPES |= {"FP64", "BYTES"}
"""Section "Tensor Data Types": the only datatype names a tensor may carry."""
PLATFORMS = {
    "tensorrt_plan",
    "tensorflow_graphdef",
    "tensorflow_savedmodel",
    "onnx_onnxv1",
    "pytorch_torchscript",
    "mxnet_mxnet",
    "caffe2_netdef",
}
"""Section "Platforms": the allowed platform names (``<project>_<format>``)."""


def infer_body(model: str) -> dict[str, Any]:
    """The bundled event's infer request for the model (it carries an ``id``)."""
    event = json.loads((ROOT / "events" / f"{model}-infer.rest-v1.json").read_text(encoding="utf-8"))
    body: dict[str, Any] = json.loads(event["body"])
    return body


@pytest.fixture(scope="module")
def api(bundled_local: LocalDeployment) -> Iterator[httpx.Client]:
    """The local gateway (no API key) over the bundled deployment, on loopback."""
    gateway = Gateway(bundled_local.route_table(), bundled_local.integrations(), api_key=None, port=0,
                      output=io.StringIO())  # fmt: skip
    with serve(gateway, lifespan="on") as url, httpx.Client(base_url=url, timeout=120) as client:
        yield client


# --- the rules ---------------------------------------------------------------------------------------------------


def check_json(response: httpx.Response) -> Any:
    """Section "HTTP/REST": the API uses JSON; every answer here is a JSON body, never a redirect."""
    assert response.status_code != 307, response.headers.get("location")
    assert response.headers["content-type"].split(";")[0] == "application/json", response.headers
    return response.json()


def check_parameters(parameters: Any) -> None:
    """Section "Parameters": an object of name -> value where each value is a string, a number or a boolean."""
    assert isinstance(parameters, dict)
    for name, value in parameters.items():
        assert isinstance(name, str)
        assert isinstance(value, str | int | float | bool), f"parameter {name} is {type(value).__name__}"


def check_error(response: httpx.Response) -> None:
    """Sections "... Response JSON Error Object": a failure has an HTTP error status and ``{"error": $string}``."""
    assert 400 <= response.status_code < 600
    body = check_json(response)
    assert isinstance(body["error"], str)
    assert body["error"]


def check_metadata_tensor(tensor: Any) -> None:
    """Section "Model Metadata Response JSON Object", ``$metadata_tensor``: name, datatype and shape, where a
    variable-size dimension is -1."""
    assert isinstance(tensor["name"], str)
    assert tensor["datatype"] in DATATYPES
    assert isinstance(tensor["shape"], list)
    assert all(isinstance(d, int) and not isinstance(d, bool) and d >= -1 for d in tensor["shape"])


def count_elements(data: Any) -> int:
    """Section "Tensor Data": row-major, nested in the tensor's natural shape or flattened."""
    if isinstance(data, list):
        return sum(count_elements(item) for item in data)
    assert isinstance(data, int | float | str | bool)
    return 1


# --- server-wide endpoints (the catalog) -------------------------------------------------------------------------


@pytest.mark.parametrize("slash", SLASHES)
def test_server_metadata(api: httpx.Client, slash: str) -> None:
    """Section "Server Metadata": 200 and ``{"name": $string, "version": $string, "extensions": [$string]}``."""
    response = api.get(f"/v2{slash}")
    assert response.status_code == 200
    body = check_json(response)
    assert set(body) >= {"name", "version", "extensions"}
    assert isinstance(body["name"], str)
    assert isinstance(body["version"], str)
    assert all(isinstance(extension, str) for extension in body["extensions"])
    assert "binary_tensor_data" in body["extensions"]  # ours: the extension tritonclient's binary calls rely on


@pytest.mark.parametrize("slash", SLASHES)
def test_server_live(api: httpx.Client, slash: str) -> None:
    """Section "Server Live": 200 means live; the body is ``{"live": $bool}``."""
    response = api.get(f"/v2/health/live{slash}")
    assert response.status_code == 200
    assert check_json(response) == {"live": True}


@pytest.mark.parametrize("slash", SLASHES)
def test_server_ready(api: httpx.Client, slash: str) -> None:
    """Section "Server Ready": 200 when every model can infer (the Kubernetes readinessProbe reads the status).

    The section's object spells the field ``live``, a slip the protocol's OpenAPI file does not repeat (it gives
    no body); we answer ``{"ready": true}``, as KServe's own server does.
    """
    response = api.get(f"/v2/health/ready{slash}")
    assert response.status_code == 200
    body = check_json(response)
    assert body == {"ready": True}


# --- per-model endpoints -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("slash", SLASHES)
@pytest.mark.parametrize("versioned", [False, True])
@pytest.mark.parametrize("model", MODELS)
def test_model_ready(api: httpx.Client, model: str, versioned: bool, slash: str) -> None:
    """Section "Model Ready": 200 and ``{"name": $string, "ready": $bool}`` naming the model in the URL."""
    path = f"/v2/models/{model}{'/versions/1' if versioned else ''}/ready{slash}"
    response = api.get(path)
    assert response.status_code == 200
    assert check_json(response) == {"name": model, "ready": True}


@pytest.mark.parametrize("slash", SLASHES)
@pytest.mark.parametrize("versioned", [False, True])
@pytest.mark.parametrize("model", MODELS)
def test_model_metadata(api: httpx.Client, model: str, versioned: bool, slash: str) -> None:
    """Section "Model Metadata": 200 and name, versions (strings, optional), platform (an allowed name), inputs and
    outputs as ``$metadata_tensor``; our extra ``parameters`` follow section "Parameters"."""
    response = api.get(f"/v2/models/{model}{'/versions/1' if versioned else ''}{slash}")
    assert response.status_code == 200
    body = check_json(response)
    assert body["name"] == model
    assert all(isinstance(version, str) for version in body.get("versions", []))
    assert "1" in body["versions"]
    assert body["platform"] in PLATFORMS
    assert body["platform"] == "onnx_onnxv1"
    assert body["inputs"]
    assert body["outputs"]
    for tensor in [*body["inputs"], *body["outputs"]]:
        check_metadata_tensor(tensor)
    check_parameters(body["parameters"])
    assert json.loads(body["parameters"]["processing"])["instances"]  # an object, encoded as the spec allows


@pytest.mark.parametrize("slash", SLASHES)
@pytest.mark.parametrize("versioned", [False, True])
@pytest.mark.parametrize("model", MODELS)
def test_infer(api: httpx.Client, model: str, versioned: bool, slash: str) -> None:
    """Section "Inference Response JSON Object": 200, ``model_name``, ``model_version`` (optional string), the
    request's ``id`` returned, ``outputs`` as ``$response_output`` (name, shape, datatype, data) with as many
    elements as the shape says, and typed ``parameters`` wherever they appear."""
    request = infer_body(model)
    path = f"/v2/models/{model}{'/versions/1' if versioned else ''}/infer{slash}"
    response = api.post(path, json=request)
    assert response.status_code == 200, response.text
    body = check_json(response)
    assert body["model_name"] == model
    assert isinstance(body.get("model_version", ""), str)
    assert body["id"] == request["id"]
    check_parameters(body.get("parameters", {}))
    assert body["outputs"]
    for output in body["outputs"]:
        assert isinstance(output["name"], str)
        assert output["datatype"] in DATATYPES
        assert all(isinstance(d, int) and d >= 0 for d in output["shape"])  # section "Response Output": unsigned
        assert count_elements(output["data"]) == math.prod(output["shape"])
        check_parameters(output.get("parameters", {}))


@pytest.mark.parametrize("model", MODELS)
def test_infer_returns_only_the_requested_outputs(api: httpx.Client, model: str) -> None:
    """Section "Inference Request JSON Object": with ``outputs`` given, the server returns those outputs."""
    metadata = api.get(f"/v2/models/{model}").json()
    wanted = metadata["outputs"][-1]["name"]
    response = api.post(f"/v2/models/{model}/infer", json={**infer_body(model), "outputs": [{"name": wanted}]})
    assert response.status_code == 200
    assert [output["name"] for output in check_json(response)["outputs"]] == [wanted]


@pytest.mark.parametrize("model", MODELS)
def test_failures_carry_an_error_status_and_an_error_string(api: httpx.Client, model: str) -> None:
    """Sections "Model Metadata Response JSON Error Object", "Inference Response JSON Error Object": an HTTP error
    status and ``{"error": $string}``, for a wrong version, a wrong datatype and a body that is not JSON."""
    check_error(api.get(f"/v2/models/{model}/versions/999"))
    check_error(api.get(f"/v2/models/{model}/versions/999/ready"))
    request = infer_body(model)
    request["inputs"][0] = {**request["inputs"][0], "datatype": "BYTES"}
    wrong = api.post(f"/v2/models/{model}/infer", json=request)
    assert wrong.status_code == 400
    check_error(wrong)
    check_error(
        api.post(f"/v2/models/{model}/infer/", content=b"{not json", headers={"content-type": "application/json"})
    )


def test_an_unknown_model_is_an_error_object_too(api: httpx.Client) -> None:
    """Section "Model Metadata": the name in the URL must be served; else an error status and ``error``."""
    for path in ("/v2/models/nope", "/v2/models/nope/", "/v2/models/nope/ready"):
        check_error(api.get(path))


@pytest.mark.parametrize(
    "path",
    [
        "/v2",
        "/v2/health/live",
        "/v2/health/ready",
        *(f"/v2/models/{model}{suffix}" for model in MODELS for suffix in ("", "/ready", "/versions/1/ready")),
    ],
)
def test_a_trailing_slash_gets_the_same_answer_never_a_redirect(api: httpx.Client, path: str) -> None:
    """Issue 19.2: the same status and body with or without one trailing slash."""
    plain, slashed = api.get(path), api.get(f"{path}/")
    assert slashed.status_code == plain.status_code == 200
    assert slashed.json() == plain.json()

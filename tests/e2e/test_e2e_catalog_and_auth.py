"""The catalog, health and OpenAPI routes, the API key, unknown routes, and a burst of bad requests."""

from __future__ import annotations

import base64
import json
from urllib.parse import quote

import httpx
import pytest

from modelrail.errors import API_KEY_REJECTED_MESSAGE, NO_SUCH_ROUTE_MESSAGE
from tests.e2e.conftest import LocalStack

pytestmark = pytest.mark.e2e

MODELS = {
    "minilm": ("text-embedding", "cpu"),
    "digits": ("image-classification", "cpu"),
    "minilm-gpu": ("text-embedding", "gpu"),
}


def error_of(response: httpx.Response) -> dict[str, str]:
    assert response.headers["content-type"].startswith("application/json")
    document: dict[str, str] = response.json()
    # The functions' and containers' errors also carry the request id their logs use.
    assert set(document) in ({"error", "code"}, {"error", "code", "request_id"})
    return document


def test_catalog_lists_every_bundled_model_ready(local_stack: LocalStack) -> None:
    with local_stack.client() as client:
        listed = client.get("/v1/models").json()["models"]
    assert {m["name"]: (m["task"], m["target"]) for m in listed} == MODELS
    assert all(m["ready"] for m in listed)
    assert all(m["version"] == "1" for m in listed)


def test_health_routes(local_stack: LocalStack) -> None:
    with local_stack.client() as client:
        assert client.get("/v2/health/live").json() == {"live": True}
        assert client.get("/v2/health/ready").json() == {"ready": True}


def test_openapi_describes_the_deployed_api(local_stack: LocalStack) -> None:
    with local_stack.client() as client:
        document = client.get("/openapi.json", headers={"Host": "evil.example"}).json()
    # The local gateway serves at its root: no servers entry (OpenAPI's default "/", relative to the document),
    # and never the Host header a caller sent.
    assert "servers" not in document
    assert "evil.example" not in json.dumps(document)
    predict = document["paths"]["/v1/models/{name}/predict"]["post"]
    assert sorted(next(p for p in predict["parameters"] if p["name"] == "name")["schema"]["enum"]) == sorted(MODELS)
    assert document["components"]["securitySchemes"]["apiKey"]["name"] == "x-api-key"


KNOWN_AND_UNKNOWN = [
    ("GET", "/v1/models"),
    ("POST", "/v1/models/minilm/predict"),
    ("GET", "/v2/health/live"),
    ("GET", "/v1/models/minilm/predict"),
    ("GET", "/v1/models/minilm"),
    ("POST", "/v1/models/no-such-model/predict"),
    ("GET", "/v2/models/no-such-model"),
    ("POST", "/v2/models/no-such-model/infer"),
    ("GET", "/nothing/here"),
    ("GET", "/"),
]


@pytest.mark.parametrize("key", [None, "wrong-key"])
@pytest.mark.parametrize(("method", "path"), KNOWN_AND_UNKNOWN)
def test_without_a_valid_key_known_and_unknown_routes_answer_alike_403(
    local_stack: LocalStack, key: str | None, method: str, path: str
) -> None:
    """Issue 11.4: no model name can be probed without a key (the stack's key-protected catch-all)."""
    with local_stack.client(key=key) as client:
        response = client.request(method, path, json={"instances": ["x"]} if method == "POST" else None)
    assert response.status_code == 403
    assert error_of(response) == {"error": API_KEY_REJECTED_MESSAGE, "code": "forbidden"}


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("POST", "/v1/models/no-such-model/predict"),
        ("GET", "/v2/models/no-such-model"),
        ("POST", "/v2/models/no-such-model/infer"),
        ("GET", "/nothing/here"),
    ],
)
def test_unknown_route_with_a_key_is_404_json(local_stack: LocalStack, method: str, path: str) -> None:
    with local_stack.client() as client:
        response = client.request(method, path)
    assert response.status_code == 404
    assert error_of(response) == {"error": NO_SUCH_ROUTE_MESSAGE, "code": "not_found"}


@pytest.mark.parametrize("version", ["999", "1;route=v1-predict", "1;route=openapi", "caf\u00e9"])
def test_a_version_that_is_not_served_is_the_gateways_404_on_every_route(local_stack: LocalStack, version: str) -> None:
    """Only served versions are routes: no request value reaches a function or a container as a version."""
    for model in MODELS:
        with local_stack.client() as client:
            ready = client.get(f"/v2/models/{model}/versions/{quote(version)}/ready")
            infer = client.post(f"/v2/models/{model}/versions/{quote(version)}/infer", json={"instances": ["x"]})
        for response in (ready, infer):
            assert response.status_code == 404, (model, version)
            assert "retry-after" not in response.headers
            assert error_of(response) == {"error": NO_SUCH_ROUTE_MESSAGE, "code": "not_found"}


OCTETS = {"Content-Type": "application/octet-stream"}


def tensor_body(name: str, shape: list[int], data: list[object]) -> bytes:
    return json.dumps({"inputs": [{"name": name, "datatype": "FP32", "shape": shape, "data": data}]}).encode()


BAD_REQUESTS: list[tuple[str, str, bytes, dict[str, str], set[int]]] = [
    ("POST", "/v1/models/minilm/predict", b"{not json", {"Content-Type": "application/json"}, {400}),
    ("POST", "/v1/models/minilm/predict", b'{"instances": []}', {}, {400, 422}),
    ("POST", "/v1/models/minilm/predict", b'{"instances": [42, null]}', {}, {400, 422}),
    ("POST", "/v1/models/minilm/predict", b'{"instances": ["x"]}', {"Content-Type": "text/plain"}, {415}),
    ("POST", "/v1/models/minilm/predict", json.dumps({"instances": ["a" * 200_000]}).encode(), {}, {413, 422}),
    ("POST", "/v1/models/digits/predict", b'{"instances": ["bm90IGFuIGltYWdl"]}', {}, {400, 422}),
    ("POST", "/v1/models/digits/predict", b'{"instances": [[1, 2, 3]]}', {}, {400, 422}),
    ("POST", "/v2/models/digits/infer", tensor_body("image", [1, 3], [1, 2, 3]), {}, {400}),
    ("POST", "/v2/models/digits/infer", tensor_body("nope", [1], [1]), {}, {400}),
    ("POST", "/v2/models/digits/infer", tensor_body("image", [1, 1, 8, 8], ["a"] * 64), {}, {400}),
    ("POST", "/v2/models/minilm/infer", b"\x00\x01\x02garbage", OCTETS, {400, 415}),
    ("POST", "/v2/models/minilm/infer", b"{}", {**OCTETS, "Inference-Header-Content-Length": "999"}, {400}),
    ("POST", "/v2/models/minilm/infer", b"{}" + b"\x00" * 8, {**OCTETS, "Inference-Header-Content-Length": "2"}, {400}),
    ("POST", "/v2/models/minilm-gpu/infer", b"\x00\x01", OCTETS, {415}),
    ("POST", "/v2/models/minilm-gpu/infer", b"[1, 2", {}, {400}),
    ("POST", "/v1/models/minilm-gpu/predict", b'{"instances": "x"}', {}, {400, 422}),
    ("POST", "/v1/models/minilm/predict", b"x" * (10 * 1024 * 1024 + 10), {}, {413}),
    ("DELETE", "/v1/models", b"", {}, {403}),
]  # fmt: skip


def test_server_keeps_answering_correctly_after_a_burst_of_bad_requests(local_stack: LocalStack) -> None:
    probe = {"instances": ["The quick brown fox jumps over the lazy dog."]}
    with local_stack.client() as client:
        before = {m: client.post(f"/v1/models/{m}/predict", json=probe).json() for m in ("minilm", "minilm-gpu")}
        for _ in range(3):
            for method, path, body, headers, statuses in BAD_REQUESTS:
                response = client.request(method, path, content=body, headers=headers)
                assert response.status_code in statuses, (path, body[:80], response.status_code, response.text[:300])
                assert error_of(response)["error"]
        after = {m: client.post(f"/v1/models/{m}/predict", json=probe).json() for m in ("minilm", "minilm-gpu")}
        assert after == before
        assert client.get("/v1/models").json()["models"][0]["ready"] is True
        assert client.get("/v2/health/ready").json() == {"ready": True}


def test_base64_png_of_a_non_digit_is_still_answered(local_stack: LocalStack) -> None:
    from io import BytesIO

    from PIL import Image

    buffer = BytesIO()
    Image.new("RGB", (50, 20), "white").save(buffer, format="PNG")
    with local_stack.client() as client:
        response = client.post(
            "/v1/models/digits/predict", json={"instances": [base64.b64encode(buffer.getvalue()).decode()]}
        )
    assert response.status_code == 200
    assert len(response.json()["predictions"]) == 1

"""The app under uvicorn on loopback: errors as JSON for any input, limits, retries after failures, concurrency."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import pytest

from modelrail.app import create_app
from modelrail.settings import Settings
from modelrail.store.artifact import sha256_file
from tests.support.serving_artifacts import read_json, tensor_artifact, text_artifact
from tests.support.serving_servers import serve


@pytest.fixture(scope="module")
def artifact(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tensor_artifact(tmp_path_factory.mktemp("tiny"))


@pytest.fixture(scope="module")
def url(artifact: Path) -> Iterator[str]:
    app = create_app(Settings(model_dir=artifact, model_name="tiny", max_request_bytes=64_000), preload=False)
    with serve(app) as base:
        yield base


def test_health_catalog_and_readiness(url: str) -> None:
    assert httpx.get(f"{url}/v2/health/live").json() == {"live": True}
    assert httpx.get(f"{url}/v2/health/ready").json() == {"ready": True}
    assert httpx.get(f"{url}/v2/models/tiny/ready").json() == {"name": "tiny", "ready": True}
    assert httpx.get(f"{url}/v1/models").json() == {
        "models": [{"name": "tiny", "version": "1", "task": "tensor", "target": "cpu", "ready": True}]
    }


def test_predict_and_versioned_infer(url: str) -> None:
    predicted = httpx.post(f"{url}/v1/models/tiny/predict", json={"instances": [{"x": [1, 2, 3]}]})
    assert predicted.json()["predictions"][0]["doubled"] == [2.0, 4.0, 6.0]
    inferred = httpx.post(
        f"{url}/v2/models/tiny/versions/1/infer",
        content=json.dumps(
            {
                "inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3], "data": [1, 2, 3]}],
                "outputs": [{"name": "doubled"}],
            }
        ),
    )  # no Content-Type, as tritonclient sends: read as JSON
    assert inferred.status_code == 200
    assert [o["name"] for o in inferred.json()["outputs"]] == ["doubled"]


BAD_REQUESTS: list[tuple[str, str, Any, dict[str, str], int, str]] = [
    ("POST", "/v1/models/tiny/predict", b"", {}, 400, "invalid_input"),
    ("POST", "/v1/models/tiny/predict", b"null", {}, 400, "invalid_input"),
    ("POST", "/v1/models/tiny/predict", b'{"instances": [[[[[]]]]]}', {}, 400, "invalid_input"),
    ("POST", "/v1/models/tiny/predict", b'{"instances": [{"x": [1e309, 0, 0]}]}', {}, 400, "invalid_input"),
    ("POST", "/v1/models/tiny/predict", b'{"instances": [{"x": "abc"}]}', {}, 400, "invalid_input"),
    (
        "POST",
        "/v1/models/tiny/predict",
        b'{"instances": [{"x": [1, 2, 3]}]}',
        {"content-type": "text/plain"},
        415,
        "unsupported_media_type",
    ),
    (
        "POST",
        "/v2/models/tiny/infer",
        b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [1, 2, 3, 4]}]}',
        {},
        400,
        "invalid_input",
    ),
    (
        "POST",
        "/v2/models/tiny/infer",
        b'{"inputs": [{"name": "x", "datatype": "INT64", "shape": [1, 3], "data": [1, 2, 3]}]}',
        {},
        400,
        "invalid_input",
    ),
    (
        "POST",
        "/v2/models/tiny/infer",
        b'{"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3], "data": [1, 2, 3]}], '
        b'"outputs": [{"name": "nope"}]}',
        {},
        400,
        "invalid_input",
    ),
    ("POST", "/v2/models/tiny/infer", b"\x00\x01\x02", {"inference-header-content-length": "2"}, 400, "invalid_input"),
    ("POST", "/v2/models/tiny/infer", b"{}", {"inference-header-content-length": "-1"}, 400, "invalid_input"),
    ("POST", "/v2/models/other/infer", b"{}", {}, 404, "model_not_found"),
    ("GET", "/v2/models/tiny/versions/2", b"", {}, 404, "version_not_found"),
    ("GET", "/v2/models/tiny/infer", b"", {}, 404, "not_found"),
    ("PUT", "/v1/models", b"", {}, 404, "not_found"),
    ("GET", "/admin", b"", {}, 404, "not_found"),
    ("POST", "/v1/models/tiny/predict", b"x" * 64_001, {}, 413, "payload_too_large"),
]


@pytest.mark.parametrize(("method", "path", "body", "headers", "status", "code"), BAD_REQUESTS)
def test_bad_input_is_a_json_4xx_never_a_500(
    url: str, method: str, path: str, body: bytes, headers: dict[str, str], status: int, code: str
) -> None:
    response = httpx.request(method, f"{url}{path}", content=body, headers=headers)
    assert (response.status_code, response.json()["code"]) == (status, code), response.text
    assert response.headers["content-type"] == "application/json"
    assert response.json()["error"]


def test_a_streamed_body_over_the_limit_is_a_413(url: str) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(100):
            yield b"x" * 1000  # no Content-Length: the limit is enforced while reading

    response = httpx.post(f"{url}/v1/models/tiny/predict", content=chunks())
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")


def test_concurrent_requests_each_get_their_own_answer(url: str) -> None:
    def ask(i: int) -> list[float]:
        response = httpx.post(
            f"{url}/v1/models/tiny/predict", json={"instances": [{"x": [i, i + 1, i + 2]}]}, timeout=30
        )
        return list(response.json()["predictions"][0]["doubled"])

    with ThreadPoolExecutor(max_workers=16) as pool:
        answers = list(pool.map(ask, range(64)))
    assert answers == [[2.0 * i, 2.0 * i + 2, 2.0 * i + 4] for i in range(64)]


def test_a_bad_artifact_is_a_503_and_never_cached(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tensor_artifact(tmp_path / "good")
    served = shutil.copytree(good, tmp_path / "served")
    (served / "model.onnx").write_bytes(b"corrupted")
    app = create_app(Settings(model_dir=served), preload=False)
    with serve(app) as base:
        first = httpx.post(f"{base}/v1/models/tiny/predict", json={"instances": [{"x": [1, 2, 3]}]})
        assert (first.status_code, first.json()["code"]) == (503, "model_unavailable")
        assert first.headers["retry-after"] == "5"
        # The caller's terms and a request id; the path and the checksums go to the log under that id.
        refused = first.json()
        assert "failed verification" in refused["error"]
        assert str(served) not in refused["error"]
        assert "sha256" not in refused["error"]
        logged = [json.loads(line) for line in capsys.readouterr().out.splitlines() if line.startswith("{")]
        failure = next(line for line in logged if line.get("message") == "model load failed")
        assert "refusing to serve" in failure["error"]
        assert str(served) in failure["error"]
        assert failure["request_id"] == refused["request_id"]
        shutil.copy(good / "model.onnx", served / "model.onnx")  # fixed: the next request loads it
        second = httpx.post(f"{base}/v1/models/tiny/predict", json={"instances": [{"x": [1, 2, 3]}]})
        assert second.status_code == 200
    assert sha256_file(served / "model.onnx")[0] == read_json(served / "manifest.json")["files"]["model.onnx"]["sha256"]


def test_openapi_describes_every_route(url: str) -> None:
    spec = httpx.get(f"{url}/openapi.json").json()
    for path in (
        "/v1/models/{name}/predict",
        "/v2/models/{name}/infer",
        "/v2/models/{name}/versions/{version}/infer",
        "/v2/models/{name}",
        "/v1/models",
        "/v2/health/ready",
    ):
        assert path in spec["paths"], path
    infer = spec["paths"]["/v2/models/{name}/infer"]["post"]
    assert infer["requestBody"]["content"]["application/json"]["schema"] == {
        "$ref": "#/components/schemas/V2InferRequest"
    }
    assert "application/octet-stream" in infer["requestBody"]["content"]
    assert {"V2InferRequest", "V1TextRequest", "V1ImageRequest", "ErrorBody"} <= set(spec["components"]["schemas"])


def test_text_model_over_http_matches_in_process_answers(tmp_path: Path) -> None:
    app = create_app(Settings(model_dir=text_artifact(tmp_path / "t")), preload=False)
    texts = ["one", "two words", " ".join(["long"] * 300)]
    with serve(app) as base:
        together = httpx.post(f"{base}/v1/models/words/predict", json={"instances": texts}).json()["predictions"]
        alone = [
            httpx.post(f"{base}/v1/models/words/predict", json={"instances": [t]}).json()["predictions"][0]
            for t in texts
        ]
    np.testing.assert_allclose(together, alone, atol=1e-5)


def test_an_input_the_graph_rejects_at_run_time_is_a_422(tmp_path: Path) -> None:
    app = create_app(Settings(model_dir=text_artifact(tmp_path / "t")), preload=False)
    tensors = [
        {"name": name, "datatype": "INT64", "shape": [1, 2], "data": data}
        for name, data in (("input_ids", [101, 10**9]), ("attention_mask", [1, 1]), ("token_type_ids", [0, 0]))
    ]
    with serve(app) as base:
        response = httpx.post(f"{base}/v2/models/words/infer", json={"inputs": tensors})
    assert (response.status_code, response.json()["code"]) == (422, "unprocessable_input")
    assert "input_ids" in response.json()["error"]


def test_a_bug_is_a_json_500_and_the_function_keeps_serving(artifact: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from modelrail import operations

    app = create_app(Settings(model_dir=artifact), preload=False)
    body = {"instances": [{"x": [1, 2, 3]}]}
    with serve(app) as base:
        with monkeypatch.context() as patched:
            patched.setattr(operations, "predict", lambda *_: 1 / 0)
            broken = httpx.post(f"{base}/v1/models/tiny/predict", json=body)
        healthy = httpx.post(f"{base}/v1/models/tiny/predict", json=body)
    assert broken.status_code == 500
    assert broken.json() == {
        "error": "internal error; it has been logged",
        "code": "internal_error",
        "request_id": broken.json()["request_id"],
    }
    assert healthy.status_code == 200


def test_cors_origin_is_on_every_answer_only_when_configured(artifact: Path, url: str) -> None:
    origin = "https://app.example.com"
    app = create_app(Settings(model_dir=artifact, cors_origin=origin, max_request_bytes=1_000), preload=False)
    with serve(app) as base:
        answers = [
            httpx.post(f"{base}/v1/models/tiny/predict", json={"instances": [{"x": [1, 2, 3]}]}),  # 200
            httpx.post(f"{base}/v1/models/tiny/predict", json={"instances": [{"x": "a"}]}),  # 400
            httpx.get(f"{base}/v2/models/other"),  # 404
            httpx.post(f"{base}/v1/models/tiny/predict", content=b"x" * 2_000),  # 413, before any route
        ]
    assert [answer.status_code for answer in answers] == [200, 400, 404, 413]
    assert [answer.headers.get("access-control-allow-origin") for answer in answers] == [origin] * 4
    assert "access-control-allow-origin" not in httpx.get(f"{url}/v2/health/live").headers


def _token_tensors(**overrides: list[int]) -> list[dict[str, Any]]:
    values = {"input_ids": [101, 7592, 102], "attention_mask": [1, 1, 1], "token_type_ids": [0, 0, 0], **overrides}
    return [{"name": name, "datatype": "INT64", "shape": [1, 3], "data": data} for name, data in values.items()]


@pytest.fixture(scope="module")
def words_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    app = create_app(Settings(model_dir=text_artifact(tmp_path_factory.mktemp("words"))), preload=False)
    with serve(app) as base:
        yield base


@pytest.mark.parametrize(
    ("name", "data", "bad"),
    [
        ("input_ids", [101, -1, 102], "-1"),  # ONNX Gather would read row 30521 (it wraps negative indices)
        ("input_ids", [101, 30522, 102], "30522"),
        ("token_type_ids", [0, 2, 0], "2"),
        ("attention_mask", [1, -1, 1], "-1"),
    ],
)
def test_token_ids_outside_the_vocabulary_are_refused_not_wrapped(
    words_url: str, name: str, data: list[int], bad: str
) -> None:
    response = httpx.post(f"{words_url}/v2/models/words/infer", json={"inputs": _token_tensors(**{name: data})})
    assert (response.status_code, response.json()["code"]) == (422, "unprocessable_input")
    assert f"input `{name}`: value {bad} is outside" in response.json()["error"]
    assert httpx.post(f"{words_url}/v2/models/words/infer", json={"inputs": _token_tensors()}).status_code == 200


@pytest.mark.parametrize("path", ["/v1/models/words/predict", "/v2/models/words/infer"])
def test_invalid_utf8_is_refused_never_repaired(words_url: str, path: str) -> None:
    body = b'{"instances": ["caf\xe9"]}' if "predict" in path else b'{"inputs": [{"name": "caf\xe9"}]}'
    response = httpx.post(f"{words_url}{path}", content=body, headers={"Content-Type": "application/json"})
    assert (response.status_code, response.json()["code"]) == (400, "invalid_input")
    assert "UTF-8" in response.json()["error"]


def test_content_encoding_is_decoded_or_refused_never_ignored(words_url: str) -> None:
    import gzip

    plain = json.dumps({"instances": ["hello"]}).encode()
    expected = httpx.post(f"{words_url}/v1/models/words/predict", content=plain).json()
    gzipped = httpx.post(
        f"{words_url}/v1/models/words/predict", content=gzip.compress(plain), headers={"Content-Encoding": "gzip"}
    )
    assert gzipped.status_code == 200
    assert gzipped.json() == expected
    for encoding, body in (("gzip", plain), ("br", plain), ("deflate", plain), ("gzip", gzip.compress(plain)[:-6])):
        refused = httpx.post(
            f"{words_url}/v1/models/words/predict", content=body, headers={"Content-Encoding": encoding}
        )
        assert (refused.status_code, refused.json()["code"]) == (415, "unsupported_media_type"), encoding


def test_a_gzip_bomb_is_a_413(url: str) -> None:
    import gzip

    bomb = gzip.compress(b'{"instances": ["' + b"a" * 200_000 + b'"]}')
    response = httpx.post(f"{url}/v1/models/tiny/predict", content=bomb, headers={"Content-Encoding": "gzip"})
    assert (response.status_code, response.json()["code"]) == (413, "payload_too_large")

"""One function serving two model versions from moto's S3 server, configured by ``model_function_env``: unversioned
routes answer from the default version, pinned routes from exactly their version (loaded on first use and
verified), an unknown version is a 404, and every answer names its version."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import boto3
import httpx
import pytest

from modelrail.app import create_app
from modelrail.constants import MODEL_VERSION_HEADER, artifact_prefix
from modelrail.contract.functions import model_function_env
from modelrail.settings import Settings
from tests.support.fake_aws import fake_credentials
from tests.support.serving_artifacts import batch_coupled_model, manifest_sha256, tensor_artifact, write_artifact
from tests.support.serving_servers import moto_s3, serve

BUCKET = "modelrail-versions"
X = [1.0, 2.0, 4.0]


@dataclass(frozen=True)
class Uploaded:
    name: str
    version: str
    prefix: str
    manifest_sha256: str


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    fake_credentials(monkeypatch, unset=())
    with moto_s3() as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", url)
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield url


def upload(directory: Path, version: str) -> Uploaded:
    client = boto3.client("s3")
    prefix = artifact_prefix("tiny", version)
    for path in directory.iterdir():
        client.put_object(Bucket=BUCKET, Key=prefix + path.name, Body=path.read_bytes())
    return Uploaded("tiny", version, prefix, manifest_sha256(directory))


@pytest.fixture
def versions(s3: str, tmp_path: Path) -> tuple[Uploaded, Uploaded]:
    del s3
    one = tensor_artifact(tmp_path / "v1", version="1")  # y = x @ W + b, doubled = 2x
    two = write_artifact(tmp_path / "v2", name="tiny", task="tensor", model=batch_coupled_model(), version="2")
    return upload(one, "1"), upload(two, "2")


def settings(artifacts: tuple[Uploaded, ...], default: str, tmp_path: Path, **extra: str) -> Settings:
    env = model_function_env(artifacts, default_version=default, bucket=BUCKET, metrics_namespace="test", timeout_s=10)
    return Settings(**env, **extra, cache_dir=tmp_path / "cache")


def predict(url: str, path: str = "") -> httpx.Response:
    return httpx.post(f"{url}/v1/models/tiny{path}/predict", json={"instances": [{"x": X}]})


def infer(url: str, path: str = "") -> httpx.Response:
    body = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 3], "data": X}]}
    return httpx.post(f"{url}/v2/models/tiny{path}/infer", json=body)


def test_unversioned_routes_answer_from_the_default_and_pinned_ones_from_their_own_version(
    versions: tuple[Uploaded, Uploaded], tmp_path: Path
) -> None:
    app = create_app(settings(versions, "2", tmp_path), preload=False)
    with serve(app) as url:
        default = infer(url)
        assert default.status_code == 200, default.text
        assert default.json()["model_version"] == "2"
        assert default.headers[MODEL_VERSION_HEADER] == "2"
        assert [output["name"] for output in default.json()["outputs"]] == ["y"]  # the batch-centring model

        pinned = infer(url, "/versions/1")
        assert pinned.status_code == 200, pinned.text
        assert (pinned.json()["model_version"], pinned.headers[MODEL_VERSION_HEADER]) == ("1", "1")
        outputs = {output["name"]: output["data"] for output in pinned.json()["outputs"]}
        assert outputs["doubled"] == [2.0, 4.0, 8.0]

        assert infer(url, "/versions/2").json()["model_version"] == "2"
        wrong = {"inputs": [{"name": "x", "datatype": "FP32", "shape": [1, 4], "data": [*X, 0.0]}]}
        refused = httpx.post(f"{url}/v2/models/tiny/versions/1/infer", json=wrong)
        assert refused.status_code == 400, refused.text
        assert refused.headers[MODEL_VERSION_HEADER] == "1"  # that version refused it


def test_the_task_api_and_metadata_name_the_version(versions: tuple[Uploaded, Uploaded], tmp_path: Path) -> None:
    app = create_app(settings(versions, "1", tmp_path), preload=False)
    with serve(app) as url:
        default = predict(url)
        assert (default.json()["version"], default.headers[MODEL_VERSION_HEADER]) == ("1", "1")
        assert default.json()["predictions"][0]["doubled"] == [2.0, 4.0, 8.0]
        metadata = httpx.get(f"{url}/v2/models/tiny/versions/2")
        assert metadata.status_code == 200
        assert metadata.json()["versions"] == ["1", "2"]
        assert metadata.headers[MODEL_VERSION_HEADER] == "2"
        assert [spec["name"] for spec in metadata.json()["outputs"]] == ["y"]
        ready = httpx.get(f"{url}/v2/models/tiny/versions/2/ready")
        assert (ready.status_code, ready.headers[MODEL_VERSION_HEADER]) == (200, "2")


def test_an_unknown_version_is_404_naming_the_served_ones(versions: tuple[Uploaded, Uploaded], tmp_path: Path) -> None:
    app = create_app(settings(versions, "2", tmp_path), preload=False)
    with serve(app) as url:
        for path in (
            "/v2/models/tiny/versions/3/infer",
            "/v2/models/tiny/versions/3",
            "/v2/models/tiny/versions/3/ready",
        ):
            method = httpx.post if path.endswith("infer") else httpx.get
            answer = method(f"{url}{path}")
            assert answer.status_code == 404, answer.text
            assert answer.json()["code"] == "version_not_found"
            assert "served versions: `1`, `2`" in answer.json()["error"]
            assert MODEL_VERSION_HEADER not in answer.headers
        odd = httpx.get(f"{url}/v2/models/tiny/versions/%3Cscript%3E")
        assert odd.status_code == 404
        assert "<script>" not in odd.text


def test_another_version_is_fetched_only_on_its_first_pinned_request_and_verified(
    versions: tuple[Uploaded, Uploaded], tmp_path: Path
) -> None:
    one, two = versions
    boto3.client("s3").put_object(Bucket=BUCKET, Key=one.prefix + "model.onnx", Body=b"tampered")
    app = create_app(settings(versions, "2", tmp_path), preload=False)
    with serve(app) as url:
        assert infer(url).status_code == 200
        assert sorted(path.name for path in (tmp_path / "cache").iterdir()) == [two.manifest_sha256]
        refused = infer(url, "/versions/1")
        assert (refused.status_code, refused.json()["code"]) == (503, "model_unavailable")
        assert "failed verification" in refused.json()["error"]
        assert infer(url).json()["model_version"] == "2"  # the default keeps serving


def test_a_single_version_function_still_serves_as_before(versions: tuple[Uploaded, Uploaded], tmp_path: Path) -> None:
    one, _ = versions
    app = create_app(settings((one,), "1", tmp_path), preload=False)
    with serve(app) as url:
        assert infer(url, "/versions/1").json()["model_version"] == "1"
        missing = infer(url, "/versions/2")
        assert (missing.status_code, missing.json()["code"]) == (404, "version_not_found")


def test_with_cors_on_a_browser_may_read_the_version_header(
    versions: tuple[Uploaded, Uploaded], tmp_path: Path
) -> None:
    app = create_app(settings(versions, "2", tmp_path, cors_origin="https://app.example"), preload=False)
    with serve(app) as url:
        answer = infer(url)
        assert answer.headers["access-control-allow-origin"] == "https://app.example"
        assert answer.headers["access-control-expose-headers"] == MODEL_VERSION_HEADER


def test_the_default_version_must_be_served(versions: tuple[Uploaded, Uploaded]) -> None:
    with pytest.raises(ValueError, match="default version '3' is not among the served"):
        model_function_env(versions, default_version="3", bucket=BUCKET, metrics_namespace="test", timeout_s=10)

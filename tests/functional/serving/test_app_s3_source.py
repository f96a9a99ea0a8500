"""The app fetching its model from moto's S3 server (as local mode's embedded S3), via AWS_ENDPOINT_URL_S3."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import boto3
import httpx
import pytest

from modelrail.app import create_app
from modelrail.settings import Settings
from tests.support.serving_artifacts import manifest_sha256, tensor_artifact
from tests.support.serving_servers import moto_s3, serve

BUCKET = "modelrail-local"


@pytest.fixture
def endpoint(monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with moto_s3() as url:
        monkeypatch.setenv("AWS_ENDPOINT_URL_S3", url)
        boto3.client("s3").create_bucket(Bucket=BUCKET)
        yield url


def upload(directory: Path) -> None:
    s3 = boto3.client("s3")
    for path in directory.iterdir():
        s3.put_object(Bucket=BUCKET, Key=f"models/tiny/1/{path.name}", Body=path.read_bytes())


def test_fetches_verifies_and_serves_then_recovers_from_a_bad_upload(endpoint: str, tmp_path: Path) -> None:
    del endpoint
    artifact = tensor_artifact(tmp_path / "artifact")
    upload(artifact)
    boto3.client("s3").put_object(Bucket=BUCKET, Key="models/tiny/1/model.onnx", Body=b"half an upload")
    settings = Settings(
        model_name="tiny",
        model_version="1",
        model_bucket=BUCKET,
        manifest_sha256=manifest_sha256(artifact),
        cache_dir=tmp_path / "cache",
    )
    app = create_app(settings, preload=False)
    with serve(app) as url:
        refused = httpx.post(f"{url}/v1/models/tiny/predict", json={"instances": [{"x": [1, 2, 3]}]})
        assert (refused.status_code, refused.json()["code"]) == (503, "model_unavailable")
        assert "failed verification" in refused.json()["error"]
        assert not any(leak in refused.text for leak in ("s3://", "modelrail-local", "sha256", str(tmp_path)))
        upload(artifact)
        served = httpx.post(f"{url}/v1/models/tiny/predict", json={"instances": [{"x": [1, 2, 3]}]})
        assert served.status_code == 200
        assert served.json()["predictions"][0]["doubled"] == [2.0, 4.0, 6.0]


def settings_for(artifact: Path, tmp_path: Path) -> Settings:
    return Settings(
        model_name="tiny",
        model_version="1",
        model_bucket=BUCKET,
        manifest_sha256=manifest_sha256(artifact),
        cache_dir=tmp_path / "cache",
    )


def test_preload_fetches_in_the_background_before_the_first_request(endpoint: str, tmp_path: Path) -> None:
    del endpoint
    artifact = tensor_artifact(tmp_path / "artifact")
    upload(artifact)

    app = create_app(settings_for(artifact, tmp_path), preload=True)

    deadline = time.monotonic() + 30
    while app.state.loader.loaded is None and time.monotonic() < deadline:
        time.sleep(0.01)
    loaded = app.state.loader.loaded
    assert loaded is not None, "the background load did not finish"
    assert (loaded.artifact.directory / "model.onnx").read_bytes() == (artifact / "model.onnx").read_bytes()
    with serve(app) as url:
        served = httpx.post(f"{url}/v1/models/tiny/predict", json={"instances": [{"x": [1, 2, 3]}]})
    assert served.json()["predictions"][0]["doubled"] == [2.0, 4.0, 6.0]


def test_an_s3_client_that_cannot_be_made_is_a_503_on_request_not_a_failed_start(
    endpoint: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    del endpoint
    import modelrail.store.s3 as s3_module

    def no_client() -> None:
        raise RuntimeError("no credentials provider answered")

    monkeypatch.setattr(s3_module, "make_s3_client", no_client)
    artifact = tensor_artifact(tmp_path / "artifact")
    upload(artifact)

    app = create_app(settings_for(artifact, tmp_path), preload=True)  # must not raise: the process serves errors

    with serve(app) as url:
        refused = httpx.post(f"{url}/v1/models/tiny/predict", json={"instances": [{"x": [1, 2, 3]}]})
    assert (refused.status_code, refused.json()["code"]) == (503, "model_unavailable")
    assert refused.json()["error"] == (
        "model `tiny` could not be loaded; retry shortly (the cause is logged under this request id)"
    )
